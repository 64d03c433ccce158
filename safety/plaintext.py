"""Text from the data made safe to draw: every output format (SVG, typst, HTML, plotly labels)
takes stored text through here, so a control character typed into a form (\\x0b in a community
name) neither breaks a PDF nor reaches a page, and HTML special characters are shown, not run."""

from __future__ import annotations

import html
import re

# C0 and C1 controls, line and paragraph separators, and what XML cannot hold at all.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff\ud800-\udfff]")
_CONTROL_NOT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff\ud800-\udfff]")


def printable(text, newlines: bool = False) -> str:
    """The text with every control character a space (line breaks kept if newlines)."""
    if text is None:
        return ""
    return (_CONTROL_NOT_NEWLINE if newlines else _CONTROL).sub(" ", str(text).replace("\r\n", "\n"))


def html_text(text) -> str:
    """printable text escaped for HTML (and for plotly's labels, which read HTML entities)."""
    return html.escape(printable(text))


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def markdown_text(text) -> str:
    """printable text for st.markdown and the like: markdown, HTML and $…$ (formulas) shown as
    typed, so a compound named "[点此](http://…)" is no link."""
    return _MARKDOWN.sub(r"\\\1", printable(text))
