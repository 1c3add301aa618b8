"""A model's description, written in Markdown, as sanitised HTML for its public page.

Rendered on the server so that the page needs no script to show it: markdown-it-py turns the text into
HTML with raw HTML off, and nh3 (ammonia) keeps only the tags and attributes of plain prose, the way the
answers' DOMPurify allowlist does in the browser (static/arena/markdown.js).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

_TAGS: Final = frozenset(
    {
        *("p", "br", "hr", "a", "strong", "em", "del", "s", "code", "pre", "blockquote"),
        *("ul", "ol", "li", "h3", "h4", "h5", "h6"),
        *("table", "thead", "tbody", "tr", "th", "td"),
    }
)
_ATTRIBUTES: Final = {"a": {"href", "title"}, "ol": {"start"}}
_SCHEMES: Final = frozenset({"http", "https", "mailto"})
# The description sits under the page's h2 "About": its headings start one level below, and never skip
# one, so that the page's outline stays whole whatever levels the author wrote.
_FIRST_HEADING: Final = 3
_LAST_HEADING: Final = 6

_markdown = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def _image_as_link(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # Images become links to them: no description makes a visitor's browser fetch from a server of
    # the author's choosing (which would learn who reads the page, and when).
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env) or "image"
    return f'<a href="{escapeHtml(str(token.attrGet("src") or ""))}">{escapeHtml(alt)}</a>'


_markdown.add_render_rule("image", _image_as_link)


def _headings_shift(tokens: list[Token]) -> None:
    previous = _FIRST_HEADING - 1
    for token in tokens:
        if token.type not in ("heading_open", "heading_close"):
            continue
        written = int(token.tag[1])
        if token.type == "heading_open":
            level = max(_FIRST_HEADING, min(written + _FIRST_HEADING - 1, previous + 1, _LAST_HEADING))
            previous = level
        token.tag = f"h{previous}"


def description_html(*, text: str) -> str:
    """`text` (Markdown) as HTML safe to put in a page: only prose tags, only http(s)/mailto links."""
    if not text.strip():
        return ""
    tokens = _markdown.parse(text)
    _headings_shift(tokens)
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    return nh3.clean(
        html,
        tags=set(_TAGS),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        url_schemes=set(_SCHEMES),
        link_rel="noopener noreferrer nofollow",
    )
