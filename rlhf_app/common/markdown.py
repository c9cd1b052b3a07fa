"""Markdown rendering for untrusted text: Python-Markdown, then the nh3 sanitiser.

Python-Markdown passes raw HTML through, so its output is never trusted: nh3 keeps a small set of
formatting tags, drops script/style contents and event handlers, and allows http, https and
mailto links only.
"""
from __future__ import annotations

import threading
from functools import lru_cache

import markdown as md
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
EXTENSIONS = ["tables", "fenced_code", "sane_lists"]


_converters = threading.local()


@lru_cache(maxsize=8192)
def render_markdown(text: str) -> str:
    """Markdown to sanitised HTML, safe to insert into a page."""
    return sanitize_html(_converter().reset().convert(text or ""))


def _converter() -> md.Markdown:
    """One Markdown instance per thread, reset between texts: building one (extensions, processors)
    costs a third of converting a 700-word answer, and an instance is not safe across threads."""
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = _converters.markdown = md.Markdown(extensions=EXTENSIONS, output_format="html")
    return converter


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow", strip_comments=True,
    )
