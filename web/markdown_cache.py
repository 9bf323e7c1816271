"""A bounded in-process cache of rendered Markdown, so the incident page does not run
markdown-it and nh3 over the description and every comment on every view.

Keyed by the renderer's version, what else the output depends on (the app's origin: links to
it stay in the tab) and a SHA-256 of the source: stored text never changes under
a key, and a renderer change (bump RENDERER_VERSION in web/filters.py, or a new markdown-it-py /
linkify-it-py / nh3 release) makes every old entry unreachable. Per process and bounded by
size, so a worker never grows past CACHE_BYTES and nothing a request needs lives only here (a
miss just renders).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from importlib.metadata import version

from markupsafe import Markup

CACHE_BYTES = 32 * 1024 * 1024
_LIBRARIES = ", ".join(f"{name} {version(name)}" for name in ("markdown-it-py", "linkify-it-py", "nh3"))


class RenderCache:
    def __init__(self, limit_bytes: int = CACHE_BYTES):
        self.limit = limit_bytes
        self.size = 0
        self.hits = self.misses = 0
        self._entries: OrderedDict[Hashable, Markup] = OrderedDict()
        self._lock = threading.Lock()  # gunicorn runs several threads per worker
        self._token_slot = f"token-slot-{secrets.token_hex(16)}"

    def get_or_render(self, key: Hashable, render: Callable[[], Markup]) -> Markup:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
        html = render()
        with self._lock:
            self.misses += 1
            if key not in self._entries and len(html) <= self.limit:
                self._entries[key] = html
                self.size += len(html)
                while self.size > self.limit:
                    _, evicted = self._entries.popitem(last=False)
                    self.size -= len(evicted)
        return html

    def get_or_render_for_viewer(self, key: Hashable, render: Callable[[], str], token: str) -> Markup:
        """get_or_render for HTML that carries this viewer's token (the CSRF token of its forms):
        the cache keeps the HTML with a slot where the token was, never the token, and each
        viewer gets the cached HTML with their own token put back in. The slot is random per
        process, so no stored text (a title, a comment) can spell it."""

        def render_without_token() -> Markup:
            html = render()
            return Markup(html.replace(token, self._token_slot) if token else html)  # noqa: S704 - rendered HTML

        cached = self.get_or_render(key, render_without_token)
        return Markup(cached.replace(self._token_slot, token))  # noqa: S704 - rendered HTML


def memoize(renderer_version: str, cache: RenderCache | None = None):
    """Decorate THE render function (source, *context -> Markup) with the cache, under this
    version; each context string (the app's origin) is part of the key."""
    cache = cache or RenderCache()
    prefix = f"{renderer_version}\x00{_LIBRARIES}\x00".encode()

    def decorate(render: Callable[..., Markup]) -> Callable[..., Markup]:
        def cached(source: str | None, *context: str) -> Markup:
            if not source:
                return render(source, *context)
            variant = "".join(f"{part}\x00" for part in context).encode("utf-8")
            key = hashlib.sha256(prefix + variant + b"\x01" + source.encode("utf-8")).digest()
            return cache.get_or_render(key, lambda: render(source, *context))

        cached.cache = cache  # type: ignore[attr-defined]
        cached.uncached = render  # type: ignore[attr-defined]
        cached.__doc__ = render.__doc__
        return cached

    return decorate
