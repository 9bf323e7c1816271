"""The app of a test file, built once per settings and handed to every test that asks for the same.

`create_app` costs ~40 ms (werkzeug compiles two Python functions per URL rule, ~77 rules; the
API registers its schemas), and a new app compiles each template again on first render (~20 ms
a template). Most web and API tests spent more on their app than on what they test: in
tests/web/test_web_access.py, 107 of 240 ms per case went to `create_app` under the profiler.

An app handed out again is given back what a new one has: its configuration as built, the
root logger configured for it, the process's one rate limiter pointed at its own storage and
emptied. Its engine's connections are released after each test as before. Kept per test file
(loadfile runs a file on one worker, in order), so anything a test could still leave in an app
only reaches the later tests of the same file, the same way on every run.

Not reused: apps with a broker (the publisher remembers a broker that was down, the limiter
counts in Redis) and apps a test changes itself (`make_app(fresh=True)`: one that adds a
route, say) — those are built new, as before.

Every app of the test process, reused or new, shares one cache of compiled templates
(`TEMPLATE_CODE`): Jinja's own bytecode cache, kept in memory. A template is compiled once per
process instead of once per app; an app still loads its templates from disk and takes the
cached code only for a source whose checksum matches, as Jinja's file cache does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

from shared.config import Settings
from web import logs
from web.extensions import limiter


class _TemplateCodeInMemory(BytecodeCache):
    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)  # ignored (compiled anew) when the checksum differs

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = _TemplateCodeInMemory()
# Flask passes jinja_options to every app's Environment; create_app sets none of its own.
Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": TEMPLATE_CODE}


@dataclass
class _Built:
    app: Flask
    settings: Settings
    csrf: bool
    config: dict[str, Any] = field(default_factory=dict)
    limiter_state: dict[str, Any] = field(default_factory=dict)

    def hand_out(self) -> Flask:
        self.app.config.clear()
        self.app.config.update(self.config)
        logs.configure_logging(self.settings.effective_log_format, self.settings.log_level)
        # One Limiter per process: each create_app points it at the new app's storage, and a
        # test app built since may have pointed it elsewhere.
        limiter.__dict__.update(self.limiter_state)
        limiter.reset()
        return self.app


class ReusedApps:
    def __init__(self) -> None:
        self._built: list[_Built] = []

    @staticmethod
    def reusable(settings: Settings) -> bool:
        return not (settings.redis_url or settings.celery_broker_url)

    def get(self, settings: Settings, *, csrf: bool, build: Callable[[], Flask]) -> Flask:
        """The app built earlier in this file for equal settings and CSRF, or a new one."""
        if not self.reusable(settings):
            return build()
        for built in self._built:
            if built.csrf == csrf and built.settings == settings:
                return built.hand_out()
        app = build()
        self._built.append(_Built(app, settings, csrf, dict(app.config), dict(limiter.__dict__)))
        return app

    def dispose(self) -> None:
        for built in self._built:
            built.app.extensions["db_engine"].dispose()
        self._built.clear()
