"""Template filters: safe Markdown, times, labels."""

from __future__ import annotations

from datetime import datetime

import nh3
from flask import Flask
from markdown_it import MarkdownIt
from markupsafe import Markup

from shared.incidents.lifecycle import STATUS_LABELS, Status
from shared.timeutil import as_utc
from web import markdown_cache

# Raw HTML in Markdown is disabled, and nh3 sanitises what the renderer produces anyway.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")
ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
# Part of the rendered-HTML cache key: bump it whenever the output of render_markdown changes
# (options, plugins, allowed tags, sanitiser settings), so no page shows HTML from the old renderer.
RENDERER_VERSION = "1"


@markdown_cache.memoize(RENDERER_VERSION)
def render_markdown(source: str | None) -> Markup:
    html = _markdown.render(source or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


def format_time(value: datetime | None) -> str:
    value = as_utc(value)
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def status_label(value: str) -> str:
    try:
        return STATUS_LABELS[Status(value)]
    except ValueError:
        return value


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["time"] = format_time
    app.jinja_env.filters["status_label"] = status_label
    app.jinja_env.filters["isotime"] = lambda v: as_utc(v).isoformat() if v else ""
