"""Template filters: safe Markdown, times, labels."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import nh3
from flask import Flask
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

from shared.incidents import timers
from shared.incidents.lifecycle import STATUS_LABELS, Status
from shared.timeutil import as_utc
from web import markdown_cache
from web.insights.charts import duration_text

# Raw HTML in Markdown is disabled, and nh3 sanitises what the renderer produces anyway.
_markdown = (
    MarkdownIt("commonmark", {"html": False, "linkify": True}).enable("table").enable("strikethrough").enable("linkify")
)
# Bare URLs become links, as on GitHub: only those that name http://, https:// or mailto:.
# No guessing at scheme-less names ("setup.py", "db-1.internal", user@host in a pasted log
# would all turn into links), and no ftp:// or protocol-relative //host links.
if _markdown.linkify is None:  # markdown-it-py made none: linkify-it-py is missing (requirements.txt)
    raise RuntimeError("Markdown needs linkify-it-py to turn bare URLs into links: install requirements.txt.")
_markdown.linkify.set({"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False}).add("ftp:", None).add("//", None)
ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "span",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
# Only the classes the renderer itself adds (task lists, the new-tab hint); raw HTML cannot reach nh3 anyway.
ALLOWED_CLASSES = {"li": {"task-item", "done"}, "span": {"visually-hidden"}}
# Rendered Markdown sits under the page's h1 (the incident) and an h2 ("Description",
# "Timeline"): its "#" becomes h3, so a description cannot add page-level headings.
HEADING_SHIFT = 2
TASK_RE = re.compile(r"^\[([ xX])\]\s+")
# A link to another site opens in a new tab (the live incident page stays open); its name says so.
NEW_TAB_SCHEMES = {"http", "https"}
NEW_TAB_HINT = '<span class="visually-hidden"> (opens in a new tab)</span>'


def _shift_headings(state) -> None:
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + HEADING_SHIFT)}"


def _task_lists(state) -> None:
    """ "- [x] done" / "- [ ] to do" (GitHub task lists) as a marked item whose state is in
    words for screen readers ("Done: ", "To do: ") and drawn as a box by the stylesheet."""
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type != "list_item_open" or index + 2 >= len(tokens):
            continue
        inline = tokens[index + 2]
        if inline.type != "inline" or not inline.children or inline.children[0].type != "text":
            continue
        match = TASK_RE.match(inline.children[0].content)
        if not match:
            continue
        done = match.group(1) != " "
        token.attrSet("class", "task-item done" if done else "task-item")
        inline.children[0].content = inline.children[0].content[match.end() :]
        label = Token("html_inline", "", 0)
        label.content = f'<span class="visually-hidden">{"Done" if done else "To do"}: </span>'
        inline.children.insert(0, label)


def _new_tab_links(state) -> None:
    """http(s) links (typed or bare) open in a new tab, and a screen reader hears "(opens in a
    new tab)" as part of the link's name. rel="noopener noreferrer nofollow" is nh3's."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children, in_new_tab_link = [], False
        for token in block.children:
            if (
                token.type == "link_open"
                and urlsplit(str(token.attrGet("href") or "")).scheme.lower() in NEW_TAB_SCHEMES
            ):
                token.attrSet("target", "_blank")
                in_new_tab_link = True
            elif token.type == "link_close" and in_new_tab_link:
                hint = Token("html_inline", "", 0)
                hint.content = NEW_TAB_HINT
                children.append(hint)
                in_new_tab_link = False
            children.append(token)
        block.children = children


_markdown.core.ruler.push("shift_headings", _shift_headings)
_markdown.core.ruler.push("task_lists", _task_lists)
_markdown.core.ruler.push("new_tab_links", _new_tab_links)
# Part of the rendered-HTML cache key: bump it whenever the output of render_markdown changes
# (options, plugins, allowed tags, sanitiser settings), so no page shows HTML from the old renderer.
RENDERER_VERSION = "5"


@markdown_cache.memoize(RENDERER_VERSION)
def render_markdown(source: str | None) -> Markup:
    html = _markdown.render(source or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        # Only the renderer sets target (raw HTML is off), and only to open a new tab.
        tag_attribute_values={"a": {"target": {"_blank"}}},
        allowed_classes=ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    # A code block wider than a phone scrolls sideways: focusable, so a keyboard can scroll it
    # too (axe: scrollable-region-focusable). nh3 writes every <pre> as exactly this tag.
    clean = clean.replace("<pre>", '<pre tabindex="0">')
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


def format_time(value: datetime | None) -> str:
    value = as_utc(value)
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def time_tag(value: datetime | None) -> Markup:
    """A moment as <time>: UTC in the page, put into the reader's time zone by app.js (which
    keeps the UTC text as a hover title)."""
    value = as_utc(value)
    if value is None:
        return Markup("—")
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), format_time(value))


def duration(value: timedelta | float | None) -> str:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    return duration_text(value)


def status_label(value: str) -> str:
    try:
        return STATUS_LABELS[Status(value)]
    except ValueError:
        return value


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["time"] = format_time
    app.jinja_env.filters["status_label"] = status_label
    app.jinja_env.filters["timetag"] = time_tag
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.globals["is_overdue"] = timers.is_overdue
    app.jinja_env.globals["time_to_acknowledge"] = timers.time_to_acknowledge
    app.jinja_env.globals["time_to_resolve"] = timers.time_to_resolve
    app.jinja_env.filters["isotime"] = lambda v: as_utc(v).isoformat() if v else ""
