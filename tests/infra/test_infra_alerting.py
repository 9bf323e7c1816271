"""Where the platform's own events go: everything that pages goes to the one alarm topic.

The monitoring module's tests (terraform/modules/monitoring/tests) plan the topic's
subscriptions and the database's event subscription; what is left here is the platform's wiring
of the other modules to that topic, offline with python-hcl2 (tfcheck.py).
"""

from __future__ import annotations

from pathlib import Path

import tfcheck


def test_redis_events_go_to_the_alarm_topic(terraform_root: Path) -> None:
    """ElastiCache's failovers and node replacements, which no metric alarm reports."""
    platform = tfcheck.TfDir.load(terraform_root / "modules" / "platform", terraform_root)
    _, redis = platform.modules["redis"]
    assert redis.get("notification_topic_arn") == "${module.monitoring.sns_topic_arn}", (
        "modules/platform: the redis module's notification_topic_arn must be the alarm topic"
    )


def test_every_root_can_page_an_on_call_service(terraform_root: Path) -> None:
    for root in ("dev", "staging", "prod", "preview-base"):
        tfdir = tfcheck.TfDir.load(terraform_root / "envs" / root, terraform_root)
        _, platform = tfdir.modules["platform"]
        assert platform.get("alarm_https_endpoint_secret_arn") == "${var.alarm_https_endpoint_secret_arn}", (
            f"envs/{root}: the platform gets no alarm_https_endpoint_secret_arn"
        )
