"""Rich text from admins (services.text.sanitize_html, nh3): formatting stays, code never shows."""
from __future__ import annotations

import pytest

from services.text import sanitize_html


@pytest.mark.parametrize("dirty,clean", [
    ("<p>Any <b>film</b></p><script>alert(1)</script>", "<p>Any <b>film</b></p>"),
    ("<style>body{display:none}</style><em>kept</em>", "<em>kept</em>"),
    ('<p onclick="steal()">text</p><!-- note -->', "<p>text</p>"),
    ("<iframe src='https://evil.example'></iframe><u>u</u>", "<u>u</u>"),
])
def test_scripts_styles_handlers_and_unknown_tags_go_with_their_code(dirty, clean):
    assert sanitize_html(dirty) == clean


def test_links_keep_safe_schemes_only_and_open_apart():
    out = sanitize_html('<a href="https://shop.example/x">ok</a> <a href="javascript:alert(1)">bad</a>')
    assert 'href="https://shop.example/x"' in out and "javascript" not in out
    assert out.count('rel="noopener noreferrer nofollow"') == 2 and 'target="_blank"' in out
