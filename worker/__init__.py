"""The worker service: Celery app, tasks and the machinery that handles untrusted files."""
