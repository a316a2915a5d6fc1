"""Product descriptions (Shopify-style HTML or plain text) made safe to show."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

from markupsafe import Markup


class _DescriptionCleaner(HTMLParser):
    """Keeps text and a small allow-list of formatting tags, without any attribute.

    Everything else is dropped: unknown tags lose their markup but keep their text, and the
    content of script-like elements is dropped entirely.  Text is always escaped.
    """

    KEEP = {"p", "br", "ul", "ol", "li", "strong", "b", "em", "i", "u", "blockquote", "h3", "h4", "h5", "h6"}
    RENAME = {"h1": "h3", "h2": "h3", "div": "p"}
    DROP_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript", "svg", "math", "head", "title", "textarea", "select"}
    VOID = {"br"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping = 0

    def _tag(self, tag: str) -> str | None:
        tag = self.RENAME.get(tag, tag)
        return tag if tag in self.KEEP else None

    def handle_starttag(self, tag, attrs):
        if tag in self.DROP_CONTENT:
            self.dropping += 1
            return
        if self.dropping:
            return
        kept = self._tag(tag)
        if kept is None:
            return
        self.out.append(f"<{kept}>")
        if kept not in self.VOID:
            self.open.append(kept)

    def handle_startendtag(self, tag, attrs):
        if tag in self.DROP_CONTENT:
            return
        self.handle_starttag(tag, attrs)
        kept = self._tag(tag)
        if kept and kept not in self.VOID and self.open and self.open[-1] == kept:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in self.DROP_CONTENT:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping:
            return
        kept = self._tag(tag)
        if kept is None or kept in self.VOID or kept not in self.open:
            return
        while self.open:  # close whatever was left open inside it
            inner = self.open.pop()
            self.out.append(f"</{inner}>")
            if inner == kept:
                break

    def handle_data(self, data):
        if not self.dropping:
            self.out.append(escape(data, quote=False))

    def result(self) -> str:
        self.close()
        self.out.extend(f"</{tag}>" for tag in reversed(self.open))
        self.open = []
        return "".join(self.out)


def clean_description(text: str | None) -> Markup:
    """A product description (Shopify-style HTML or plain text) as safe markup.

    Only a few formatting tags survive, with no attributes at all (no links, styles, handlers
    or images); plain text with blank lines becomes paragraphs.
    """
    text = (text or "").strip()
    if not text:
        return Markup("")
    if "<" not in text:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        return Markup("".join("<p>" + escape(p, quote=False).replace("\n", "<br>") + "</p>" for p in paragraphs))
    cleaner = _DescriptionCleaner()
    cleaner.feed(text)
    return Markup(cleaner.result())
