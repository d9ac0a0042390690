"""Readable plain text from a mail's HTML (the HTML itself is kept for the sanitised view)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

_MAX_HTML = 2_000_000
_SKIP = {"script", "style", "head", "title", "noscript", "template", "svg", "object"}
_BLOCK = {"p", "div", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
          "header", "footer", "form", "pre", "address", "center", "dl", "dt", "dd", "fieldset", "hr"}
_SPACE = re.compile(r"[ \t\r\n\f\u00a0\u200b]+")


class _TextBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.skip = 0
        self.pre = 0
        self.quote = 0
        self.line_quote = 0
        self.href: list[str | None] = []
        self.link_text: list[list[str]] = []

    def newline(self) -> None:
        text = "".join(self.line).strip() if not self.pre else "".join(self.line).rstrip()
        prefix = "> " * self.line_quote
        if not text and self.lines and self.lines[-1].strip(" >") == "":
            self.line = []
            return
        self.lines.append(f"{prefix}{text}" if text or not prefix else prefix.rstrip())
        self.line = []
        self.line_quote = self.quote

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.newline()
        elif tag == "li":
            if "".join(self.line).strip():
                self.newline()
            self.line.append("- ")
        elif tag == "blockquote":
            self.newline()
            self.quote += 1
            self.line_quote = self.quote
        elif tag in _BLOCK:
            self.newline()
            self.pre += tag == "pre"
        elif tag in ("td", "th"):
            self.line.append(" ")
        elif tag == "a":
            self.href.append(dict(attrs).get("href"))
            self.link_text.append([])
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt and not self.skip:
                self.handle_data(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.newline()
            self.quote = max(0, self.quote - 1)
            self.line_quote = self.quote
        elif tag in _BLOCK or tag == "li":
            self.pre -= tag == "pre" and self.pre > 0
            self.newline()
        elif tag == "a" and self.href:
            href, text = self.href.pop(), "".join(self.link_text.pop()).strip()
            if href and href.startswith(("http://", "https://")) and href.rstrip("/") != text.rstrip("/"):
                self.line.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self.pre:
            data = _SPACE.sub(" ", data)
            if not self.line or "".join(self.line).endswith(" "):
                data = data.lstrip(" ")
        self.line.append(data)
        for chunk in self.link_text:
            chunk.append(data)


def html_to_text(html: str) -> str:
    """Block elements become lines, `<blockquote>` lines get `> `, links keep their address."""
    builder = _TextBuilder()
    try:
        builder.feed(html[:_MAX_HTML])
        builder.close()
    except (AssertionError, ValueError):  # html.parser gives up on some broken markup
        pass
    builder.newline()
    text = "\n".join(line.rstrip() for line in builder.lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
