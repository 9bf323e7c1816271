"""bench/faultlib/receiver.py: the fault run's webhook receiver counts what a deduping receiver drops."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import requests
from standardwebhooks.webhooks import Webhook

from bench.faultlib.receiver import Receiver
from tests.servers import free_port

SECRET = "whsec_" + base64.b64encode(b"fault-receiver-test-secret-32by").decode()


def post(receiver: Receiver, webhook_id: str, key: str, secret: str = SECRET) -> int:
    body = json.dumps({"type": "incident.created", "data": {"incident": {"key": key}}})
    now = datetime.now(UTC)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
        "Content-Type": "application/json",
    }
    return requests.post(receiver.url, data=body, headers=headers, timeout=10).status_code


def test_repeats_and_bad_signatures_are_counted_across_a_restart(tmp_path):
    receiver = Receiver(tmp_path, free_port(), SECRET)
    receiver.start()
    try:
        assert post(receiver, "msg_1", "INC-1") == 204
        receiver.stop()
        receiver.start()  # same port, same file: what arrived before the stop still counts
        assert post(receiver, "msg_1", "INC-1") == 204  # acknowledged, but a repeat
        assert post(receiver, "msg_2", "INC-2") == 204
        assert post(receiver, "msg_3", "INC-2") == 204  # one incident under a second id
        other = "whsec_" + base64.b64encode(b"someone-else-s-secret-32-bytes!").decode()
        assert post(receiver, "msg_4", "INC-3", secret=other) == 400
    finally:
        receiver.stop()

    arrivals = receiver.arrivals()
    assert arrivals.repeats == 1
    assert arrivals.double_fan_out == 1
    assert arrivals.bad_signatures == 1
    assert set(arrivals.by_key) == {"INC-1", "INC-2"}
