"""Demo data for the embedded default: three users (one per role) and ~30 incidents."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.db import utcnow
from shared.incidents import service as incidents
from shared.incidents.models import Incident
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


def seed(*, session: Session, password: str, rng: random.Random | None = None) -> bool:
    """Create the demo users and incidents once; returns False when data is already there."""
    if session.scalar(select(func.count(User.id))):
        return False
    rng = rng or random.Random(42)
    users = {
        role: accounts.create_user(session=session, actor=SYSTEM, email=email, name=name, role=role, password=password)
        for email, name, role in DEMO_USERS
    }
    lead, member = users["lead"], users["member"]
    now = utcnow()
    for index, (title, component, environment, priority, description) in enumerate(DEMO_INCIDENTS):
        reporter = rng.choice([member, lead, users["admin"]])
        owner = rng.choice([member, lead, None])
        incident = incidents.create_incident(
            session=session,
            actor=reporter,
            title=title,
            description=description,
            priority=priority,
            component=component,
            environment=environment,
        )
        if owner is not None:
            incidents.assign(session=session, incident_id=incident.id, actor=lead, owner_id=owner.id)
        _walk_lifecycle(session, incident, lead, index)
        # Spread the demo over the last weeks so "recent" sorting means something.
        incident.updated_at = now - timedelta(hours=index * 7 + rng.randint(0, 6))
    outbox.settle_new_as_history(session=session)
    return True


def _walk_lifecycle(session: Session, incident: Incident, actor: User, index: int) -> None:
    walks: list[list[tuple[str, str | None]]] = [
        [],
        [("in_progress", None)],
        [("in_progress", None), ("blocked", "Waiting on AWS support case")],
        [("in_progress", None), ("resolved", "Scaled up and added an alarm.")],
        [("in_progress", None), ("resolved", "Fixed by config change."), ("closed", None)],
    ]
    for target, reason in walks[index % 5]:
        incidents.transition(session=session, incident_id=incident.id, actor=actor, to=target, reason=reason)
