"""The markdown filter keeps formatting and drops everything executable."""
from __future__ import annotations

import pytest

from rlhf_app.common.markdown import render_markdown

HOSTILE = {
    "script tag": "<script>alert(1)</script>",
    "img onerror": '<img src=x onerror="alert(1)">',
    "javascript link": "[click](javascript:alert(1))",
    "data link": "[click](data:text/html;base64,PHNjcmlwdD4=)",
    "raw iframe": '<iframe src="https://evil.example"></iframe>',
    "event on allowed tag": '<a href="https://ok.example" onclick="alert(1)">x</a>',
    "style tag": "<style>body{display:none}</style>",
    "svg": "<svg onload=alert(1)></svg>",
}


@pytest.mark.parametrize("source", HOSTILE.values(), ids=list(HOSTILE))
def test_hostile_markup_renders_inert(source):
    html = render_markdown(source).lower()
    for needle in ("<script", "onerror", "onclick", "onload", "javascript:", "data:", "<iframe", "<style", "<svg", "<img"):
        assert needle not in html


def test_tables_code_and_safe_links_survive():
    html = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n\n```\nx = 1\n```\n\n[docs](https://example.com) **bold**")
    assert "<table>" in html and "<td>1</td>" in html
    assert "<pre><code>x = 1" in html
    assert 'href="https://example.com"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "<strong>bold</strong>" in html
