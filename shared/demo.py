"""Demo data for the embedded default: three users (one per role) and ~30 incidents."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.accounts import service as accounts
from shared.accounts.models import Role, User
from shared.accounts.passwords import verify_password
from shared.db import clock_at, utcnow
from shared.incidents import service as incidents
from shared.outbox import service as outbox
from shared.permissions import SYSTEM

# Printed by `make run` for the demo users; DEMO_PASSWORD overrides it. Never used outside the demo seed.
DEFAULT_DEMO_PASSWORD = "incident-demo-2026"  # noqa: S105

DEMO_USERS = (
    ("admin@example.com", "Ada Admin", "admin"),
    ("lead@example.com", "Lee Lead", "lead"),
    ("member@example.com", "Mo Member", "member"),
)

# (title, component, environment, priority, description)
DEMO_INCIDENTS = (
    (
        "RDS primary CPU pinned at 100%",
        "rds",
        "prod",
        "P1",
        "Writer instance CPU at 100% since 09:12 UTC; p99 latency x8.",
    ),
    (
        "Disk full on log shipper",
        "logging",
        "prod",
        "P2",
        "`/var/log` at 100% on shipper-2; fluent-bit dropping records.",
    ),
    ("ALB 5xx spike after deploy", "alb", "prod", "P1", "5xx rate 12% right after `sha-3f2a9c1` went out."),
    ("Redis evictions on session cache", "redis", "prod", "P2", "`evicted_keys` climbing; users logged out at random."),
    ("Terraform state lock stuck", "terraform", "staging", "P3", "DynamoDB lock held by a cancelled CI run."),
    ("NAT gateway cost doubled", "network", "prod", "P3", "Cross-AZ traffic through NAT; see Cost Explorer."),
    ("Certificate for api.example.com expires in 7 days", "acm", "prod", "P2", "ACM renewal pending DNS validation."),
    ("ECS task OOM-killed in worker service", "ecs", "prod", "P2", "Exit code 137 on thumbnails of large PNGs."),
    ("S3 bucket policy drift detected", "s3", "staging", "P3", "Config rule flagged a policy change made by hand."),
    ("Slow queries on incident search", "rds", "staging", "P3", "Seq scan on `incidents`; missing GIN index?"),
    ("GitHub Actions runner out of disk", "ci", "dev", "P4", "Docker layer cache fills the runner."),
    ("CloudWatch alarm flapping: TargetResponseTime", "monitoring", "prod", "P3", "Threshold too tight at p99."),
    (
        "DNS resolution failures in private subnets",
        "network",
        "prod",
        "P1",
        "Intermittent SERVFAIL from Route 53 resolver.",
    ),
    ("Backup job failed: nightly RDS snapshot", "rds", "prod", "P2", "Snapshot quota reached in eu-west-1."),
    ("IAM role too broad for deploy pipeline", "iam", "prod", "P3", "Deploy role has `iam:*`; tighten."),
    ("Kafka consumer lag on billing topic", "kafka", "prod", "P2", "Lag 1.2M messages and growing."),
    ("Preview environment pr-118 not tearing down", "ecs", "preview", "P4", "Teardown workflow timed out."),
    ("VPN tunnel to office flapping", "network", "shared", "P3", "Tunnel 2 down every ~40 min."),
    ("Elevated latency on checkout API", "api-gateway", "prod", "P2", "p95 from 180 ms to 900 ms."),
    ("Secrets rotation broke worker start-up", "secrets", "staging", "P2", "Worker can't read new DB password."),
    ("Grafana dashboards empty after upgrade", "monitoring", "dev", "P4", "Datasource UID changed."),
    ("ElastiCache failover took 4 minutes", "redis", "prod", "P2", "Expected < 60 s with Multi-AZ."),
    ("Unpatched CVE in base image", "docker", "prod", "P2", "openssl CVE in python:3.11-slim layer."),
    ("Cron job duplicated after scaling", "ecs", "prod", "P3", "Beat running in two tasks."),
    (
        "Flow logs missing for private subnets",
        "network",
        "staging",
        "P4",
        "Log group retention set to 1 day by mistake.",
    ),
    ("Database connections exhausted", "rds", "prod", "P1", "`max_connections` hit; pool sizing wrong."),
    ("Load balancer health checks failing intermittently", "alb", "staging", "P3", "/healthz timing out under load."),
    ("Quarantine bucket growing unexpectedly", "s3", "prod", "P4", "Lifecycle expiry on quarantine/ not applied."),
    ("Disk latency on bastion host", "bastion", "shared", "P4", "gp2 burst balance exhausted."),
    ("Rollback needed for migration 0042", "rds", "staging", "P2", "Migration locked `incidents` for 3 minutes."),
)


# How long after filing the demo's incidents were picked up and resolved, by priority (the
# shortest and the longest), so that the dashboard's ages and /insights tell a story.
TIME_TO_ACKNOWLEDGE = {
    "P1": (timedelta(minutes=3), timedelta(minutes=15)),
    "P2": (timedelta(minutes=10), timedelta(hours=1)),
    "P3": (timedelta(hours=1), timedelta(hours=6)),
    "P4": (timedelta(hours=4), timedelta(days=1)),
}
TIME_TO_RESOLVE = {
    "P1": (timedelta(hours=1), timedelta(hours=8)),
    "P2": (timedelta(hours=4), timedelta(days=1)),
    "P3": (timedelta(days=1), timedelta(days=3)),
    "P4": (timedelta(days=2), timedelta(days=6)),
}
# Incidents still Open were filed in the last two days; the others over the last four weeks.
RECENT = (timedelta(minutes=20), timedelta(days=2))
SPREAD_PER_INCIDENT = timedelta(hours=22)

WALKS: list[list[tuple[str, str | None]]] = [
    [],
    [("in_progress", None)],
    [("in_progress", None), ("blocked", "Waiting on AWS support case")],
    [("in_progress", None), ("resolved", "Scaled up and added an alarm.")],
    [("in_progress", None), ("resolved", "Fixed by config change."), ("closed", None)],
]


def seed(*, session: Session, password: str, rng: random.Random | None = None) -> bool:
    """Create the demo users and incidents once; returns False when data is already there.

    Each incident's history is written through the services at the moments it happened
    (`clock_at`): filed over the last four weeks, assigned, picked up and resolved as fast as
    its priority usually is, so ages, times in status, MTTA/MTTR and the open-incident chart
    show something from the first `make run`."""
    if session.scalar(select(func.count(User.id))):
        return False
    rng = rng or random.Random(42)
    now = utcnow()
    with clock_at(now - SPREAD_PER_INCIDENT * (len(DEMO_INCIDENTS) + 2)):  # before every incident
        users = {
            role: accounts.create_user(
                session=session, actor=SYSTEM, email=email, name=name, role=role, password=password
            )
            for email, name, role in DEMO_USERS
        }
        session.flush()
    lead, member = users["lead"], users["member"]
    for index, (title, component, environment, priority, description) in enumerate(DEMO_INCIDENTS):
        reporter = rng.choice([member, lead, users["admin"]])
        owner = rng.choice([member, lead, None])
        walk = WALKS[index % len(WALKS)]
        moves = _moments(rng, priority, walk)
        story = moves[-1] if moves else timedelta(0)
        if walk:
            age = max(SPREAD_PER_INCIDENT * index, story) + _between(rng, (timedelta(minutes=10), timedelta(hours=20)))
        else:
            age = _between(rng, RECENT)
        filed = now - age
        with clock_at(filed):
            incident = incidents.create_incident(
                session=session,
                actor=reporter,
                title=title,
                description=description,
                priority=priority,
                component=component,
                environment=environment,
            )
            session.flush()
        if owner is not None:
            with clock_at(filed + (moves[0] / 2 if moves else timedelta(minutes=2))):
                incidents.assign(session=session, incident_id=incident.id, actor=lead, owner_id=owner.id)
                session.flush()
        for (target, reason), after in zip(walk, moves, strict=True):
            with clock_at(filed + after):
                incidents.transition(session=session, incident_id=incident.id, actor=lead, to=target, reason=reason)
                session.flush()  # column defaults (utcnow) are taken at flush: inside the moment
    outbox.settle_new_as_history(session=session)
    return True


@dataclass(frozen=True)
class DemoAccounts:
    """The demo accounts as `make run` starts (see `secure_at_start`)."""

    offered: tuple[str, ...]  # enabled, with the published password: the start-up banner offers them
    disabled: tuple[str, ...]  # disabled by this start
    own_admin: str | None  # an enabled admin who is not a demo account (the first one made)
    accounts: int  # accounts in the database (0: nobody can sign in yet)


def secure_at_start(*, session: Session, passwords: Iterable[str]) -> DemoAccounts:
    """Disable the demo accounts once the database has an admin of its own; say which are left.

    A demo account whose password is still a published one (`passwords`: DEMO_PASSWORD and the
    default, printed by `make run`, in the README) lets anyone in. It stays enabled while the
    demo admin is the only admin (that is how the first real accounts are made in the browser);
    once an enabled admin who is not a demo account can sign in (an invited one once they chose
    their password), every such demo account is disabled (on the audit trail, by the system; its
    sessions end). One that got a password of its own (`users set-password`) is left as it is,
    and so stays enabled once enabled again."""
    emails = [email for email, _name, _role in DEMO_USERS]
    published = tuple(dict.fromkeys(password for password in passwords if password))
    own_admin = session.scalar(
        select(User.email)
        .where(User.role == Role.ADMIN.value, User.is_active.is_(True), User.invited_at.is_(None))
        .where(User.email.not_in(emails))
        .order_by(User.id)
        .limit(1)
    )
    offered: list[str] = []
    disabled: list[str] = []
    for user in session.scalars(select(User).where(User.email.in_(emails), User.is_active.is_(True))):
        if not any(verify_password(user.password_hash, password) for password in published):
            continue  # a password of its own: not the demo's to manage any more
        if own_admin is None:
            offered.append(user.email)
        else:
            accounts.set_active(session=session, actor=SYSTEM, user_id=user.id, active=False)
            disabled.append(user.email)
    return DemoAccounts(
        offered=tuple(sorted(offered, key=emails.index)),
        disabled=tuple(sorted(disabled, key=emails.index)),
        own_admin=own_admin,
        accounts=accounts.count_users(session=session),
    )


def _between(rng: random.Random, span: tuple[timedelta, timedelta]) -> timedelta:
    low, high = span
    return low + (high - low) * rng.random()


def _moments(rng: random.Random, priority: str, walk: list[tuple[str, str | None]]) -> list[timedelta]:
    """When after filing each move of `walk` happened: picked up, then blocked a few hours
    later, or resolved, then closed a day or two after that."""
    moments: list[timedelta] = []
    for target, _reason in walk:
        if target == "in_progress":
            moments.append(_between(rng, TIME_TO_ACKNOWLEDGE[priority]))
        elif target == "blocked":
            moments.append(moments[-1] + _between(rng, (timedelta(hours=1), timedelta(hours=8))))
        elif target == "resolved":
            moments.append(max(moments[-1] + timedelta(minutes=20), _between(rng, TIME_TO_RESOLVE[priority])))
        else:  # closed
            moments.append(moments[-1] + _between(rng, (timedelta(hours=2), timedelta(days=2))))
    return moments
