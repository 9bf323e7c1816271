"""Real servers on 127.0.0.1 for the notification tests: webhook receivers and a test certificate."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from notification_servers import CertificateFiles, Inbox, Receiver, serving, smtp_serving


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as running:
        yield running


@pytest.fixture
def second_receiver() -> Iterator[Receiver]:
    """Another receiver, standing for an internal service a redirect points at."""
    with serving() as running:
        yield running


@pytest.fixture
def tls_receiver(test_certificate) -> Iterator[Receiver]:
    """A receiver speaking HTTPS with the certificate for hooks.test."""
    with serving(test_certificate) as running:
        yield running


@pytest.fixture(scope="session")
def test_certificate(tmp_path_factory) -> CertificateFiles:
    """A self-signed certificate for hooks.test and 127.0.0.1 (the openssl CLI is part of the base image)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=hooks.test",
            "-addext",
            "subjectAltName=DNS:hooks.test,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return CertificateFiles(cert=cert, key=key, hostname="hooks.test")


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 without TLS; what it receives lands in inbox.messages."""
    with smtp_serving() as running:
        yield running


@pytest.fixture
def smtp_server_factory(test_certificate):
    """Start SMTP servers with options (starttls, tls, auth) for one test; all stopped after it."""
    with ExitStack() as stack:

        def start(**options) -> Inbox:
            return stack.enter_context(smtp_serving(certificate=test_certificate, **options))

        yield start
