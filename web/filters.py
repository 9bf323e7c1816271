"""Template filters: safe Markdown, times, labels."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import nh3
from flask import Flask, current_app, has_app_context, has_request_context, url_for
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

from shared.incidents import timers
from shared.incidents.lifecycle import STATUS_LABELS, Status
from shared.timeutil import as_utc
from web import markdown_cache
from web.insights.charts import duration_text
from web.reader import reader_today

# Raw HTML in Markdown is disabled, and nh3 sanitises what the renderer produces anyway. A line
# break is a line break ("breaks"), as in GitHub's and GitLab's comments: a pasted log or a list of
# steps without blank lines kept its lines only in a code block (found in QA).
_markdown = (
    MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True})
    .enable("table")
    .enable("strikethrough")
    .enable("linkify")
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
# Only the classes the renderer itself adds (task lists, hints, links whose address print.css
# shows); raw HTML cannot reach nh3 anyway.
ALLOWED_CLASSES = {"li": {"task-item", "done"}, "span": {"visually-hidden"}, "a": {"shows-href"}}
# Rendered Markdown sits under the page's h1 (the incident) and an h2 ("Description",
# "Timeline"): its top heading level becomes h3, so a description cannot add page-level
# headings, and the levels it uses follow on without gaps (a description starting at "##",
# or going from "#" to "###", skipped levels under the page's h2: axe heading-order).
FIRST_HEADING_LEVEL = 3
TASK_RE = re.compile(r"^\[([ xX])\]\s+")
# A link to another site opens in a new tab (the live incident page stays open). A screen reader
# hears so as the link's description: aria-describedby names the one hidden "Opens in a new tab"
# that every page has (base.html), so nothing is added to the link's text (copying a comment
# copies the address as typed, and the link's name stays its text).
NEW_TAB_SCHEMES = {"http", "https"}
NEW_TAB_HINT_ID = "new-tab-hint"
# Printed, a link's address follows it (print.css), unless its text already is the address.
PRINTED_SCHEMES = {"http", "https", "mailto"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an http(s) URL, the port filled in; None for anything else."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number
        return None
    if scheme not in NEW_TAB_SCHEMES or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port


def _shift_headings(state) -> None:
    headings = [token for token in state.tokens if token.type in ("heading_open", "heading_close")]
    levels = sorted({int(token.tag[1]) for token in headings})
    placed = {level: min(6, FIRST_HEADING_LEVEL + rank) for rank, level in enumerate(levels)}
    for token in headings:
        token.tag = f"h{placed[int(token.tag[1])]}"


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


def _link_text(children: list[Token], start: int) -> str:
    """The visible text of the link whose link_open is children[start]."""
    text, depth = [], 0
    for token in children[start + 1 :]:
        if token.type == "link_open":
            depth += 1
        elif token.type == "link_close":
            if depth == 0:
                break
            depth -= 1
        elif token.type in ("text", "code_inline"):
            text.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            text.append(" ")
    return "".join(text).strip()


def _shows_address(token: Token, href: str, text: str) -> bool:
    """Whether a printed link needs its address after it: not when its text already is it
    (a bare URL, <https://…>, or [https://…](https://…), mailto: with or without the scheme)."""
    if token.markup in ("linkify", "autolink"):
        return False
    addresses = {href, _markdown.normalizeLinkText(href)}
    if href.lower().startswith("mailto:"):
        addresses |= {address[len("mailto:") :] for address in addresses}
    return text not in addresses


def _network_path_resolved(href: str, own: tuple[str, str, int | None] | None) -> str:
    """A scheme-relative href ("//other.example/x") as the absolute URL a browser follows from
    this app's pages: it leads to another site and must be told as one, not taken for one of
    the app's own paths (found by a security review). A typed backslash arrives as %5C, a path."""
    return f"{own[0] if own else 'https'}:{href}" if href.startswith("//") else href


def _new_tab_links(state) -> None:
    """http(s) links (typed or bare) to another site than the app's own (env["origin"]) open
    in a new tab, described as doing so; a link whose text is not its address is marked for
    print.css. rel="noopener noreferrer nofollow" is nh3's."""
    own = state.env.get("origin") if isinstance(state.env, dict) else None
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        for index, token in enumerate(block.children):
            if token.type != "link_open":
                continue
            href = _network_path_resolved(str(token.attrGet("href") or ""), own)
            scheme = urlsplit(href).scheme.lower()
            if scheme in NEW_TAB_SCHEMES and (own is None or origin_of(href) != own):
                token.attrSet("target", "_blank")
                token.attrSet("aria-describedby", NEW_TAB_HINT_ID)
            if scheme in PRINTED_SCHEMES and _shows_address(token, href, _link_text(block.children, index)):
                token.attrSet("class", "shows-href")


# An incident's key as Incident.key stores it ("INC-" and the id: no leading zero), as a word of
# its own: not in "XINC-12" nor "INC-12abc", nor in an address (oncall+INC-12@example.com).
INCIDENT_KEY_RE = re.compile(r"(?<![\w@])INC-[1-9][0-9]*(?![\w@])")
# What url_for writes for the incident page, with this key in place of the one to link to. No
# incident has id 0, and it needs no escaping in a URL.
INCIDENT_URL_KEY_SLOT = "INC-0"


def _neighbour_char(children: list[Token], index: int, last: bool) -> str:
    """The character of children[index] next to a text token ("" where a word cannot run on:
    none, a line break, code, a link or emphasis mark)."""
    if not 0 <= index < len(children) or children[index].type not in ("text", "text_special"):
        return ""
    content = children[index].content
    return content[-1:] if last else content[:1]


def _key_links(token: Token, before: str, after: str, url_template: str) -> list[Token]:
    """token (text) as text and links, one link per incident key in it."""
    text, start = token.content, len(before)
    padded = before + text + after
    head, _, tail = url_template.rpartition(INCIDENT_URL_KEY_SLOT)
    pieces: list[Token] = []
    position = 0
    for match in INCIDENT_KEY_RE.finditer(padded, start):
        if match.end() > start + len(text):
            break
        key = match.group()
        if match.start() - start > position:
            pieces.append(_text_token(text[position : match.start() - start], token.level))
        link_open = Token("link_open", "a", 1)
        link_open.attrSet("href", head + key + tail)
        link_open.markup, link_open.level = "incident_key", token.level
        link_close = Token("link_close", "a", -1)
        link_close.markup, link_close.level = "incident_key", token.level
        pieces += [link_open, _text_token(key, token.level + 1), link_close]
        position = match.end() - start
    if not pieces:
        return [token]
    if position < len(text):
        pieces.append(_text_token(text[position:], token.level))
    return pieces


def _text_token(content: str, level: int) -> Token:
    token = Token("text", "", 0)
    token.content, token.level = content, level
    return token


def _incident_keys(state) -> None:
    """A bare incident key ("INC-12") links to that incident's page (env["incident_url"], made
    by url_for with INCIDENT_URL_KEY_SLOT as the key), whether or not it exists: the rendered
    HTML (and its cache) must not depend on which incidents there are, and everyone who can
    sign in may view every incident anyway. Not in code, nor in a link's text or address. Runs
    before text_join, so an escaped "INC\\-12" stays text, as an escaped URL does for linkify."""
    url_template = state.env.get("incident_url") if isinstance(state.env, dict) else None
    if not url_template:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children, link_depth = block.children, 0
        rewritten: list[Token] = []
        for index, token in enumerate(children):
            if token.type == "link_open":
                link_depth += 1
            elif token.type == "link_close":
                link_depth -= 1
            if token.type != "text" or link_depth or "INC-" not in token.content:
                rewritten.append(token)
                continue
            before = _neighbour_char(children, index - 1, last=True)
            after = _neighbour_char(children, index + 1, last=False)
            rewritten += _key_links(token, before, after, url_template)
        block.children = rewritten


_markdown.core.ruler.before("text_join", "incident_keys", _incident_keys)
_markdown.core.ruler.push("shift_headings", _shift_headings)
_markdown.core.ruler.push("task_lists", _task_lists)
_markdown.core.ruler.push("new_tab_links", _new_tab_links)
# Part of the rendered-HTML cache key: bump it whenever the output of render_markdown changes
# (options, plugins, allowed tags, sanitiser settings), so no page shows HTML from the old renderer.
RENDERER_VERSION = "10"


def app_origin() -> str:
    """The origin of the app's own pages (settings.base_url) as "scheme://host:port", or ""
    outside an app (then every http(s) link counts as another site's)."""
    settings = current_app.config.get("SETTINGS") if has_app_context() else None
    found = origin_of(str(getattr(settings, "base_url", "") or ""))
    return f"{found[0]}://{found[1]}:{found[2]}" if found else ""


def incident_url_template() -> str:
    """The incident page's path with INCIDENT_URL_KEY_SLOT as the key (under the app's URL
    root), or "" outside a request (then incident keys stay text)."""
    return url_for("incidents.detail", key=INCIDENT_URL_KEY_SLOT) if has_request_context() else ""


def render_markdown(source: str | None) -> Markup:
    """Typed Markdown as sanitised HTML; links to this app's own origin stay in the tab, and
    incident keys link to their incident."""
    return _render_markdown(source, app_origin(), incident_url_template())


# The origin and the incident page's path are part of the cache key: the same text renders
# differently under another base URL or URL root.
@markdown_cache.memoize(RENDERER_VERSION)
def _render_markdown(source: str | None, origin: str = "", incident_url: str = "") -> Markup:
    own = origin_of(origin) if origin else None
    html = _markdown.render(source or "", {"origin": own, "incident_url": incident_url})
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        # Only the renderer sets target and aria-describedby (raw HTML is off): a new tab, so described.
        tag_attribute_values={"a": {"target": {"_blank"}, "aria-describedby": {NEW_TAB_HINT_ID}}},
        allowed_classes=ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    # A code block wider than a phone scrolls sideways: focusable, so a keyboard can scroll it
    # too (axe: scrollable-region-focusable). nh3 writes every <pre> as exactly this tag.
    clean = clean.replace("<pre>", '<pre tabindex="0">')
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


render_markdown.cache = _render_markdown.cache  # type: ignore[attr-defined]


def format_time(value: datetime | None) -> str:
    value = as_utc(value)
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def format_time_seconds(value: datetime | None) -> str:
    """`format_time` to the second: the incident timeline, where a postmortem orders events a
    few seconds apart (app.js shows the reader's zone; without it this text stays)."""
    value = as_utc(value)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


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


def person_name(user) -> str:
    """A person as the pages name them: "Dana Dev", or "Dana Dev (disabled)" for an account that
    is disabled (its work is nobody's until it is given to someone)."""
    return user.name if user.is_active else f"{user.name} (disabled)"


def status_label(value: str) -> str:
    try:
        return STATUS_LABELS[Status(value)]
    except ValueError:
        return value


def register_filters(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["time"] = format_time
    app.jinja_env.filters["time_seconds"] = format_time_seconds
    app.jinja_env.filters["status_label"] = status_label
    app.jinja_env.filters["person"] = person_name
    app.jinja_env.filters["timetag"] = time_tag
    app.jinja_env.filters["duration"] = duration
    # Overdue once the due day is over where the reader is (web.reader).
    app.jinja_env.globals["is_overdue"] = lambda incident: timers.is_overdue(incident, on=reader_today())
    app.jinja_env.globals["time_to_acknowledge"] = timers.time_to_acknowledge
    app.jinja_env.globals["time_to_resolve"] = timers.time_to_resolve
    app.jinja_env.filters["isotime"] = lambda v: as_utc(v).isoformat() if v else ""
