"""What the command line prints for people, with rich.

`print_inspect` shows how each document was parsed: metadata, sections,
paragraph counts by kind, footnotes, reader comments and what was dropped and
why. `print_hits` shows ranked passages with their scores and the notes their
best sentence calls; `print_answer` an answer with its numbered sources. This
module formats records only; machine-readable output is `rag.render.json`'s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..messages import words
from ..records import Answer, Document, Hit, Paragraph
from .text import answer_text, calls_in, place_name


def _clip(text: str | None, limit: int) -> str:
    if not text:
        return "—"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _inspect_panel(doc: Document, show_dropped: bool = False) -> Panel:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")
    kinds = Counter(p.kind for p in doc.paragraphs)
    by_kind = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    facts.add_row("title", doc.title)
    facts.add_row("authors", ", ".join(doc.authors) or "—")
    facts.add_row("date", doc.date or "—")
    if doc.datelines:
        facts.add_row("also dated", "; ".join(doc.datelines))
    facts.add_row("site", doc.site or "—")
    facts.add_row("language", doc.language)
    facts.add_row("source", doc.source)
    facts.add_row("lead", _clip(doc.lead, 160))
    facts.add_row("biography", _clip(doc.biography, 160))
    facts.add_row("paragraphs", f"{len(doc.paragraphs)} ({by_kind})")
    facts.add_row("footnotes", str(len(doc.footnotes)))
    facts.add_row("comments", str(len(doc.comments)))
    reasons = Counter(d.reason.split(":")[0] for d in doc.dropped)
    summary = ", ".join(f"{n} {r}" for r, n in reasons.most_common())
    facts.add_row("dropped", f"{_count(len(doc.dropped), 'block')}" + (f" ({summary})" if summary else "")
                  + ("" if show_dropped or not doc.dropped else " — --dropped lists them"))
    parts: list = [facts]
    if show_dropped and doc.dropped:
        dropped = Table(title="dropped", title_justify="left", show_edge=False, expand=True)
        dropped.add_column("text", overflow="fold", ratio=3)
        dropped.add_column("why", overflow="fold", ratio=2)
        for d in doc.dropped:
            dropped.add_row(_clip(d.text, 120), d.reason)
        parts += [Text(""), dropped]

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


def print_inspect(documents: Sequence[Document], console: Console | None = None, show_dropped: bool = False) -> None:
    """Print one panel per document (with every dropped block and why, under `show_dropped`),
    then a one-line total (nothing when there is no document)."""
    if not documents:
        return
    console = console or Console()
    for doc in documents:
        console.print(_inspect_panel(doc, show_dropped))
    paragraphs = sum(len(d.paragraphs) for d in documents)
    dropped = sum(len(d.dropped) for d in documents)
    console.print(
        f"{_count(len(documents), 'document')}, {_count(paragraphs, 'paragraph')}, "
        f"{_count(dropped, 'block')} dropped"
    )



def _where(doc: Document | None, passage: Paragraph) -> str:
    parts = [doc.title if doc else "?"]
    if passage.section:
        parts.append(passage.section)
    parts.append(place_name(passage, "en"))
    return " — ".join(parts)


def print_hits(hits: Sequence[Hit], documents: dict[str, Document], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(show_lines=True, expand=True)
    for col, kw in (("#", {"justify": "right", "no_wrap": True}), ("passage", {"no_wrap": True}),
                    ("where / best sentence", {"ratio": 1}), ("fused", {"justify": "right"}),
                    ("dense", {"justify": "right"}), ("bm25", {"justify": "right"})):
        table.add_column(col, **kw)
    for h in hits:
        p = h.passage
        doc = documents.get(p.doc_id)
        cell = Text(_where(doc, p) + "\n", style="dim")
        cell.append(h.best_sentence)
        # the article's notes the best sentence calls: what a citation of it would carry
        for note in calls_in(h.best_sentence, p, doc):
            cell.append(f"\nnote {note.number}: {note.url or note.text}", style="blue")
        table.add_row(str(h.rank), p.id, cell, f"{h.score:.4f}", f"{h.dense_score:.3f}", f"{h.bm25_score:.2f}")
    console.print(table)


def print_answer(answer: Answer, documents: dict[str, Document], console: Console | None = None) -> None:
    console = console or Console()
    if answer.composer == "extractive-fallback":  # the model's answer is not what is shown: say so
        console.print(Text(words(answer.language)["page.fallback"], style="dim"))
    console.print(Text(answer_text(answer, documents)), style="yellow" if answer.abstained else None)
    if not answer.citations:
        return
    console.print()
    console.print(Text("Sources", style="bold"))
    for c in answer.citations:
        d, p = c.document, c.passage
        head = Text(f"[{c.marker}] ", style="bold cyan")
        head.append(f"{d.title}", style="bold")
        head.append(f" — {', '.join(d.authors) or d.site or '?'}, {d.date or 's.d.'}")
        head.append(f" — {p.section + ', ' if p.section else ''}{place_name(p, 'en')}  ({p.id})", style="dim")
        console.print(head)
        console.print(Text(f"    « {c.quote} »", style="italic"))
        for f in c.footnotes:
            console.print(Text(f"    note {f.number}: {f.url or f.text}", style="blue"))
