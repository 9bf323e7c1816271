"""A webhook to a private address: the refusal names the setting that allows one (an admin reads
it, often a developer with a receiver on their machine), and the form's hint says which receivers
the setting allows here instead of "refused" (found by an integrator)."""

from __future__ import annotations

import re

import pytest
from web_helpers import sign_in

from shared.notifications.ssrf import WebhookPolicy, WebhookUrlError, validate_webhook_url

HINT = re.compile(r'<span id="webhook-url-help" class="muted">(.*?)</span>', re.S)
URL_ERROR = re.compile(r'<span id="webhook-url-error" class="field-error">([^<]*)</span>')
FORM = {"url": "http://127.0.0.1:9103/hook", "events": ["incident.created"], "payload_format": "standard"}


def test_adding_a_loopback_receiver_is_refused_naming_the_setting_and_the_pair(make_app, db, users):
    client = make_app(webhook_allow_http=True).test_client()
    sign_in(client, users["admin"])
    refused = client.post("/admin/webhooks", data=FORM)
    assert refused.status_code == 422
    assert URL_ERROR.search(refused.get_data(as_text=True)).group(1) == (
        "127.0.0.1 is a loopback address; webhooks may only go to public addresses. To allow a receiver you run "
        "there (local development, an internal service), the server&#39;s WEBHOOK_ALLOW_PRIVATE_HOSTS setting "
        "must name it: 127.0.0.1:9103."
    )


@pytest.mark.parametrize(
    ("url", "pair"),
    [("https://10.1.2.3/hook", "10.1.2.3:443"), ("https://[fd00::5]:8443/hook", "[fd00::5]:8443")],
    ids=["private-v4", "private-v6"],
)
def test_a_private_address_is_refused_with_the_pair_to_allow(url, pair):
    with pytest.raises(WebhookUrlError) as refused:
        validate_webhook_url(url, policy=WebhookPolicy())
    assert str(refused.value).endswith(f"WEBHOOK_ALLOW_PRIVATE_HOSTS setting must name it: {pair}.")


@pytest.mark.parametrize(
    ("url", "policy"),
    [
        ("http://169.254.169.254/latest/meta-data/", WebhookPolicy(allow_http=True)),
        ("https://127.0.0.1:9103/hook", WebhookPolicy(exempt_loopback=False)),
    ],
    ids=["metadata", "loopback-in-production"],
)
def test_an_address_the_setting_cannot_allow_does_not_name_it(url, policy):
    with pytest.raises(WebhookUrlError) as refused:
        validate_webhook_url(url, policy=policy)
    assert "WEBHOOK_ALLOW_PRIVATE_HOSTS" not in str(refused.value)


def test_the_hint_names_the_receivers_the_setting_allows(make_app, db, users):
    client = make_app(webhook_allow_http=True, webhook_allow_private_hosts="127.0.0.1:9103,[::1]:8080").test_client()
    sign_in(client, users["admin"])
    hint = HINT.search(client.get("/admin/webhooks").get_data(as_text=True)).group(1)
    assert hint == (
        "https:// only (http:// is allowed here: WEBHOOK_ALLOW_HTTP); addresses inside the network (private, "
        "loopback, link-local, metadata) are refused, except 127.0.0.1:9103, [::1]:8080, which "
        "WEBHOOK_ALLOW_PRIVATE_HOSTS allows here."
    )
    added = client.post("/admin/webhooks", data=FORM)
    assert added.status_code == 201


def test_without_the_setting_the_hint_says_they_are_refused(client, db, users):
    sign_in(client, users["admin"])
    hint = HINT.search(client.get("/admin/webhooks").get_data(as_text=True)).group(1)
    assert hint.endswith("addresses inside the network (private, loopback, link-local, metadata) are refused.")
