"""Documents whose structure the format states: the parts a reader extracts, and their assembly.

Markdown, DOCX, PDF, plain text and the block structure of an HTML page all say
what is a heading, a paragraph, a list item, a table row, a code block, a note.
Their readers (one module per format) turn a file into a `Parsed`: its `Part`s
in reading order, its notes by number, its metadata, and what they left out
and why. `assemble` turns a `Parsed` into a `Document`: sections from the
headings, one passage per paragraph-like part with its context (a list item's
lead-in, a table row's header, a definition's term) and its page, note calls
by offset, the language of each passage, and the document's own language.
The web-page heuristics of `rag.ingest.assembly` (zones, furniture, roles) are
not applied here: a reader that meets page furniture (running headers, a
navigation bar) drops it itself, saying why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..records import Document, Dropped, Footnote, Paragraph, Section
from ..text import document_language, note_calls, note_numbers, passage_language

PART_KINDS = ("heading", "paragraph", "item", "row", "code", "quote", "term", "definition")
# Parts that become passages; headings make sections, terms are context.
_PASSAGE_KINDS = ("paragraph", "item", "row", "code", "quote", "definition")


@dataclass(frozen=True)
class Part:
    """A block of a document as its format states it.

    `text` is plain text (markup removed, link text kept, note calls written
    "[n]"); `context` is what a reader needs to understand it that is not part
    of it (a list's lead-in for an item, the header for a table row, the term
    for a definition); `page` is where it starts in a paged document."""

    kind: str
    text: str
    level: int = 0  # heading level (1 = title level)
    context: str | None = None
    page: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in PART_KINDS:
            raise ValueError(f"unknown part kind {self.kind!r}; allowed: {', '.join(PART_KINDS)}")


@dataclass(frozen=True)
class Meta:
    """What a document says about itself (its properties, head or front matter)."""

    title: str | None = None
    authors: tuple[str, ...] = ()
    date: str | None = None  # ISO 8601 (YYYY-MM-DD)
    site: str | None = None
    language: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Parsed:
    """A file as its reader understood it."""

    format: str  # "markdown", "text", "pdf", "docx", "html"
    parts: tuple[Part, ...]
    notes: tuple[Footnote, ...] = ()
    meta: Meta = field(default_factory=Meta)
    dropped: tuple[Dropped, ...] = ()


def assemble(doc_id: str, source: str, parsed: Parsed) -> Document:
    """The `Document` of a parsed file (see the module docstring); ValueError when it holds no text."""
    parts = [p for p in parsed.parts if p.text.strip()]
    title = parsed.meta.title
    # The first top-level heading is the title when the document states none.
    first = next((i for i, p in enumerate(parts) if p.kind == "heading"), None)
    top = min((p.level for p in parts if p.kind == "heading"), default=0)
    if first is not None and parts[first].level == top and all(p.kind == "heading" for p in parts[:first]):
        if title is None or _same(title, parts[first].text):
            title = title or parts[first].text
            parts = parts[:first] + parts[first + 1:]
    sections: list[Section] = []
    paragraphs: list[Paragraph] = []
    stack: list[tuple[int, str]] = []  # open headings (level, title)
    for k, part in enumerate(parts):
        if part.kind == "heading":
            stack = [(lvl, t) for lvl, t in stack if lvl < part.level] + [(part.level, part.text)]
            # a heading with no text under it before the next one of its rank is not a section
            if _heads_text(parts, k):
                sections.append(Section(len(sections) + 1, part.text))
            continue
        if part.kind == "term":
            continue  # the context of the definitions that follow it
        n = len(paragraphs) + 1
        paragraphs.append(Paragraph(
            id=f"{doc_id}:p{n}", doc_id=doc_id, text=part.text, kind="text", n=n,
            section=stack[-1][1] if stack else None, footnotes=note_numbers(part.text), calls=note_calls(part.text),
            page=part.page, context=part.context,
        ))  # fmt: skip
    if not paragraphs:
        raise ValueError("no paragraph of text found")
    language = parsed.meta.language or document_language(" ".join(p.text for p in paragraphs[:200]))
    paragraphs = [replace(p, language=passage_language(p.text, default=language)) for p in paragraphs]
    notes = tuple(sorted(parsed.notes, key=lambda f: f.number))
    return Document(
        id=doc_id, title=title or doc_id, source=source, authors=parsed.meta.authors, date=parsed.meta.date,
        site=parsed.meta.site, language=language, sections=tuple(sections), paragraphs=tuple(paragraphs),
        footnotes=notes, dropped=parsed.dropped, format=parsed.format, url=parsed.meta.url,
    )


def _heads_text(parts: Sequence[Part], k: int) -> bool:
    level = parts[k].level
    for p in parts[k + 1:]:
        if p.kind != "heading":
            return True
        if p.level <= level:
            return False
    return False


def _same(a: str, b: str) -> bool:
    squash = lambda s: re.sub(r"\W+", " ", s).strip().lower()  # noqa: E731
    return squash(a) == squash(b)
