"""Every kind of event, named once: audit actions, outbox topics and the timeline use these.

A value is stored in `audit_events.action` and `outbox_messages.topic` and is hashed into the
audit chain, so a member's value never changes once released (add members, never rename).

`TASK_ROUTES` says which worker tasks an outbox message of each type is published to, by task
name only: the web service publishes without importing worker/ (and Celery stays out of shared/).
worker/tasks/registry.py checks at start-up that every name here is a registered task.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import NamedTuple


class EventType(enum.StrEnum):
    INCIDENT_CREATED = "incident.created"
    INCIDENT_STATUS_CHANGED = "incident.status_changed"
    INCIDENT_ASSIGNED = "incident.assigned"
    INCIDENT_PRIORITY_CHANGED = "incident.priority_changed"
    INCIDENT_EDITED = "incident.edited"
    INCIDENT_COMMENTED = "incident.commented"
    INCIDENT_COMMENT_REDACTED = "incident.comment_redacted"
    INCIDENT_WATCHED = "incident.watched"
    INCIDENT_UNWATCHED = "incident.unwatched"

    # Follow-ups (audit only; giving one to someone also writes a follow_up.assigned message,
    # below, which mails them). Each event's data holds the
    # follow-up's id and its title at that moment, so the timeline reads after a delete too.
    FOLLOW_UP_CREATED = "follow_up.created"
    FOLLOW_UP_COMPLETED = "follow_up.completed"
    FOLLOW_UP_REOPENED = "follow_up.reopened"
    FOLLOW_UP_UPDATED = "follow_up.updated"  # title, owner, due date: each change from -> to
    FOLLOW_UP_DELETED = "follow_up.deleted"

    EVIDENCE_UPLOADED = "evidence.uploaded"
    EVIDENCE_VERDICT = "evidence.verdict"  # audit: clean, infected, rejected, error, not scanned
    EVIDENCE_PROCESSED = "evidence.processed"  # outbox: a verdict was recorded (notifications)
    EVIDENCE_DOWNLOADED = "evidence.downloaded"
    EVIDENCE_LEGAL_HOLD_CHANGED = "evidence.legal_hold_changed"
    EVIDENCE_RETRIED = "evidence.retried"

    USER_CREATED = "user.created"
    USER_ROLE_CHANGED = "user.role_changed"
    USER_ENABLED = "user.enabled"
    USER_DISABLED = "user.disabled"
    USER_PASSWORD_CHANGED = "user.password_changed"  # noqa: S105 - by its owner, on the profile page
    USER_PASSWORD_RESET = "user.password_reset"  # noqa: S105 - by an admin or the CLI
    # Someone asked for a link to choose a new password (the mail holds it; nothing else does).
    USER_PASSWORD_RESET_REQUESTED = "user.password_reset_requested"  # noqa: S105 - an event name
    USER_INVITED = "user.invited"  # outbox: mail a new account's owner a link to choose a password
    # An admin (the Webhooks page's Email section) or the operator (`mail test`) sent a test email:
    # to whom, through what, and the outcome (the mail server's answer in words when it failed).
    USER_TEST_EMAIL_SENT = "user.test_email_sent"

    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_UPDATED = "webhook.updated"  # url, events, description, format, enabled/disabled
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated"  # noqa: S105 - an event name, not a secret
    WEBHOOK_DELETED = "webhook.deleted"
    # outbox: send one webhook delivery now ("Send test event", "Redeliver"); payload: delivery_id
    WEBHOOK_DELIVERY_REQUESTED = "webhook.delivery_requested"
    # An admin (or `users resend-invite`) mailed an invited person a new link; the earlier ones end.
    # Audit only: the mail goes out as the first one did, through a user.invited outbox message.
    USER_INVITE_RESENT = "user.invite_resent"
    # outbox: a follow-up was given to someone other than who gave it (added with them as its
    # owner, or reassigned to them): they are mailed. Payload: incident_id, follow_up_id,
    # owner_id, actor_id (and event_id, the follow_up.created/updated event it goes with);
    # previous_owner_id when it was taken from someone else, who is mailed too (owner_id may
    # then be None: given back to nobody).
    FOLLOW_UP_ASSIGNED = "follow_up.assigned"


class Route(NamedTuple):
    """One task an event's outbox message starts. With `keys`, the task gets only those payload
    entries as keyword arguments (`process(evidence_id)`); without, the whole payload plus
    `message_id` (a task that wants to recognise a second delivery)."""

    task: str
    keys: tuple[str, ...] | None = None

    def kwargs(self, payload: Mapping, message_id: str) -> dict:
        if self.keys is None:
            return {**payload, "message_id": message_id}
        return {key: payload.get(key) for key in self.keys}


# Event type -> the tasks its outbox message is published to (one message per task). A plain
# task name is a Route without keys. A type with no entry needs no worker: its message is
# marked published by the sweep.
EVIDENCE_PROCESS_TASK = "incident_tracker.evidence.process"
EVIDENCE_RETAG_TASK = "incident_tracker.evidence.retag"
# Notifications: one fan-out task per event type (the task must know which event it is, and a
# route passes only the payload), named after it: "incident_tracker.notifications.on.incident.created".
NOTIFY_TASK_PREFIX = "incident_tracker.notifications.on."
NOTIFIED_EVENTS: tuple[EventType, ...] = (
    EventType.INCIDENT_CREATED,
    EventType.INCIDENT_STATUS_CHANGED,
    EventType.INCIDENT_ASSIGNED,
    EventType.INCIDENT_PRIORITY_CHANGED,
    EventType.INCIDENT_EDITED,
    EventType.INCIDENT_COMMENTED,
    EventType.EVIDENCE_PROCESSED,
    # A security notice to the account's owner (email only, whatever their preference).
    EventType.USER_PASSWORD_CHANGED,
    EventType.USER_PASSWORD_RESET,
    EventType.USER_PASSWORD_RESET_REQUESTED,
    EventType.USER_INVITED,
    EventType.FOLLOW_UP_ASSIGNED,  # email only: no webhook event type for follow-ups
)
WEBHOOK_DELIVER_TASK = "incident_tracker.notifications.deliver_webhook"


def notify_task(topic: str) -> str:
    """The fan-out task of an event type."""
    return NOTIFY_TASK_PREFIX + topic


TASK_ROUTES: Mapping[str, tuple[Route | str, ...]] = {
    EventType.EVIDENCE_UPLOADED: (Route(EVIDENCE_PROCESS_TASK, ("evidence_id",)),),
    EventType.EVIDENCE_RETRIED: (Route(EVIDENCE_PROCESS_TASK, ("evidence_id",)),),
    # Retention tags follow the incident: closing, reopening or a legal-hold change re-tags its
    # evidence (the task merges tags, so a status change that keeps the class changes nothing).
    EventType.EVIDENCE_LEGAL_HOLD_CHANGED: (Route(EVIDENCE_RETAG_TASK, ("incident_id",)),),
    EventType.INCIDENT_STATUS_CHANGED: (
        Route(EVIDENCE_RETAG_TASK, ("incident_id",)),
        notify_task(EventType.INCIDENT_STATUS_CHANGED),
    ),
    # Notifications (email and webhooks): the whole payload, plus message_id for the event id.
    EventType.INCIDENT_CREATED: (notify_task(EventType.INCIDENT_CREATED),),
    EventType.INCIDENT_ASSIGNED: (notify_task(EventType.INCIDENT_ASSIGNED),),
    EventType.INCIDENT_PRIORITY_CHANGED: (notify_task(EventType.INCIDENT_PRIORITY_CHANGED),),
    EventType.INCIDENT_EDITED: (notify_task(EventType.INCIDENT_EDITED),),
    EventType.INCIDENT_COMMENTED: (notify_task(EventType.INCIDENT_COMMENTED),),
    EventType.EVIDENCE_PROCESSED: (notify_task(EventType.EVIDENCE_PROCESSED),),
    EventType.USER_PASSWORD_CHANGED: (notify_task(EventType.USER_PASSWORD_CHANGED),),
    EventType.USER_PASSWORD_RESET: (notify_task(EventType.USER_PASSWORD_RESET),),
    EventType.USER_PASSWORD_RESET_REQUESTED: (notify_task(EventType.USER_PASSWORD_RESET_REQUESTED),),
    EventType.USER_INVITED: (notify_task(EventType.USER_INVITED),),
    EventType.FOLLOW_UP_ASSIGNED: (notify_task(EventType.FOLLOW_UP_ASSIGNED),),
    EventType.WEBHOOK_DELIVERY_REQUESTED: (Route(WEBHOOK_DELIVER_TASK, ("delivery_id",)),),
}


def tasks_for(topic: str, routes: Mapping[str, Iterable[Route | str]] | None = None) -> tuple[Route, ...]:
    """The routes of an outbox message with this topic (none for an unknown topic)."""
    table = TASK_ROUTES if routes is None else routes
    return tuple(Route(r) if isinstance(r, str) else r for r in table.get(topic, ()))
