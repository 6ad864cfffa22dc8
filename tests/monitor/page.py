"""Reading a built monitor page without a browser: what its elements say, as text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"meta", "input", "br", "img", "link", "hr", "col", "area", "base", "wbr", "source"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    cells: dict[str, str] = field(default_factory=dict)  # a row's cells, by class


class Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            element = self._open.pop()
            if element.tag == "td" and "class" in element.attrs:
                row = next((e for e in reversed(self._open) if e.tag == "tr"), None)
                if row is not None:
                    for name in element.attrs["class"].split():
                        row.cells[name] = element.text.strip()
            if element.tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def by_id(self, element_id: str) -> Element:
        return next(e for e in self.elements if e.attrs.get("id") == element_id)

    def all(self, tag: str, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag == tag and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def table_rows(self, table_id: str) -> list[Element]:
        """The body rows of one table, in order."""
        inside, rows = False, []
        for element in self.elements:
            if element.tag == "table":
                inside = element.attrs.get("id") == table_id
            elif inside and element.tag == "tr" and element.cells:
                rows.append(element)
        return rows

    def rows(self, attribute: str) -> dict[str, Element]:
        """Table rows that carry ``attribute`` (``data-run``…), by its value."""
        return {
            e.attrs[attribute]: e for e in self.elements if e.tag == "tr" and attribute in e.attrs
        }
