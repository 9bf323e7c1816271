"""The TLS client context for mail (SMTP_SECURITY=starttls or tls) and https webhooks."""

from __future__ import annotations

import functools
import ssl


@functools.cache
def system_tls_context() -> ssl.SSLContext:
    """The system's trusted certificate authorities, loaded once per process: creating a context
    reads and parses the whole CA bundle (~30 ms of CPU), which every message and every webhook
    call paid. A context is safe to share between threads; a changed CA bundle is read at the
    next start, as by most clients."""
    return ssl.create_default_context()
