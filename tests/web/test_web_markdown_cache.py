"""Rendered Markdown is cached: the same text renders once per renderer version, and a new
renderer version (or new text) renders afresh."""

from __future__ import annotations

from markupsafe import Markup

from web import markdown_cache
from web.filters import render_markdown


def counting_renderer(calls: list[str]):
    def render(source: str | None) -> Markup:
        calls.append(source or "")
        return Markup(f"<p>{len(calls)}:{source}</p>")  # noqa: S704 - test double

    return render


def test_the_same_text_renders_once():
    calls: list[str] = []
    render = markdown_cache.memoize("1", markdown_cache.RenderCache())(counting_renderer(calls))
    assert render("**hi**") == render("**hi**") == Markup("<p>1:**hi**</p>")
    assert calls == ["**hi**"]
    render("edited")
    assert calls == ["**hi**", "edited"]


def test_a_new_renderer_version_never_serves_the_old_html():
    calls: list[str] = []
    cache = markdown_cache.RenderCache()
    old = markdown_cache.memoize("1", cache)(counting_renderer(calls))
    new = markdown_cache.memoize("2", cache)(counting_renderer(calls))
    assert old("# Title") != new("# Title")
    assert len(calls) == 2


def test_the_cache_stays_within_its_size():
    calls: list[str] = []
    cache = markdown_cache.RenderCache(limit_bytes=100)
    render = markdown_cache.memoize("1", cache)(counting_renderer(calls))
    for n in range(50):
        render(f"comment {n}")
    assert cache.size <= 100
    render("comment 49")  # the newest is still there
    assert calls.count("comment 49") == 1
    render("comment 0")  # the oldest was evicted: rendered again
    assert calls.count("comment 0") == 2


def test_the_page_filter_is_the_cached_renderer_and_still_sanitises():
    html = render_markdown("<script>alert(1)</script> **ok**")
    assert "<script>" not in html
    assert "<strong>ok</strong>" in html
    hits = render_markdown.cache.hits
    assert render_markdown("<script>alert(1)</script> **ok**") == html
    assert render_markdown.cache.hits == hits + 1
