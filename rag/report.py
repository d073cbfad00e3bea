"""Human-readable reports printed by the command line, with rich.

`print_inspect` shows how each document was parsed: metadata, sections,
paragraph counts by kind, footnotes, reader comments and how many page blocks
were dropped as furniture. This module formats only; it computes nothing the
records do not already hold, and machine-readable output (--json) is the
command line's job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .records import Document


def _clip(text: str | None, limit: int) -> str:
    if not text:
        return "—"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _inspect_panel(doc: Document) -> Panel:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")
    kinds = Counter(p.kind for p in doc.paragraphs)
    by_kind = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    facts.add_row("title", doc.title)
    facts.add_row("authors", ", ".join(doc.authors) or "—")
    facts.add_row("date", doc.date or "—")
    facts.add_row("site", doc.site or "—")
    facts.add_row("language", doc.language)
    facts.add_row("source", doc.source)
    facts.add_row("lead", _clip(doc.lead, 160))
    facts.add_row("biography", _clip(doc.biography, 160))
    facts.add_row("paragraphs", f"{len(doc.paragraphs)} ({by_kind})")
    facts.add_row("footnotes", str(len(doc.footnotes)))
    facts.add_row("comments", str(len(doc.comments)))
    facts.add_row("furniture dropped", f"{doc.dropped} blocks")
    parts: list = [facts]

    if doc.sections:
        per_section = Counter(p.section for p in doc.paragraphs)
        sections = Table(title="sections", title_justify="left", show_edge=False, expand=True)
        sections.add_column("#", justify="right", no_wrap=True)
        sections.add_column("title", overflow="fold")
        sections.add_column("paragraphs", justify="right", no_wrap=True)
        for s in doc.sections:
            sections.add_row(str(s.n), s.title, str(per_section.get(s.title, 0)))
        parts += [Text(""), sections]

    if doc.footnotes:
        notes = Table(title="footnotes", title_justify="left", show_edge=False, expand=True)
        notes.add_column("#", justify="right", no_wrap=True)
        notes.add_column("url", overflow="fold")
        for f in doc.footnotes:
            notes.add_row(str(f.number), f.url or _clip(f.text, 120))
        parts += [Text(""), notes]

    if doc.comments:
        comments = Table(title="comments", title_justify="left", show_edge=False, expand=True)
        comments.add_column("id", no_wrap=True)
        comments.add_column("author", no_wrap=True)
        comments.add_column("date", no_wrap=True)
        comments.add_column("text", overflow="fold")
        for c in doc.comments:
            comments.add_row(c.id.rsplit(":", 1)[-1], c.author or "—", c.date or "—", _clip(c.text, 100))
        parts += [Text(""), comments]

    return Panel(Group(*parts), title=f"[bold]{doc.id}[/bold]", title_align="left")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def print_inspect(documents: Sequence[Document], console: Console | None = None) -> None:
    """Print one panel per document, then a one-line total (nothing when there is no document)."""
    if not documents:
        return
    console = console or Console()
    for doc in documents:
        console.print(_inspect_panel(doc))
    paragraphs = sum(len(d.paragraphs) for d in documents)
    dropped = sum(d.dropped for d in documents)
    console.print(
        f"{_count(len(documents), 'document')}, {_count(paragraphs, 'paragraph')}, "
        f"{_count(dropped, 'block')} dropped as page furniture"
    )
