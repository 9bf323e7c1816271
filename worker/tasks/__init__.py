"""Celery tasks: a few lines each, calling shared/ services and worker/processing with ids.

Every task has an explicit name `incident_tracker.<domain>.<action>`; the outbox publishes by
that name, so renaming a module never strands a queued message.
"""
