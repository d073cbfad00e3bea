"""The article's apparatus: notes parsed into `Footnote`s, reader comments into `Comment`s.

Also finds again a notes section that an HTML extractor left out (`missing_notes`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from ..records import Comment, Footnote
from ..text import note_numbers, words
from .blocks import NOTE_ITEM, Block, first_url, markdown_to_text
from .dates import find_date
from .furniture import is_strong_furniture
from .zones import block_zones


def parse_notes(blocks: Sequence[Block]) -> list[Footnote]:
    """Footnotes of a notes zone: a block that starts "[3]", "[^3]:" or "3." opens a note, the others continue it."""
    notes: list[list] = []  # [number, texts, url]
    for b in blocks:
        raw = b.raw or b.text
        m = NOTE_ITEM.match(raw) or re.match(r"^\s*(\d{1,3})[.)]\s+(.*)$", raw)
        if m:
            text, _ = markdown_to_text(m.group(2))
            notes.append([int(m.group(1)), [text] if text else [], first_url(m.group(2))])
        elif notes:
            notes[-1][1].append(b.text)  # continuation: further sources of the same note
            notes[-1][2] = notes[-1][2] or first_url(raw)
    return [Footnote(n, " ".join(texts).strip(), url) for n, texts, url in notes]


def missing_notes(main: Sequence[Block], page_blocks: Sequence[Block], linked: Sequence[Footnote]) -> list[Block]:
    """A notes section of the page that trafilatura left out, when the kept text calls notes found nowhere else."""
    called = {n for b in main for n in note_numbers(b.text)} - {f.number for f in linked}
    if not called or "notes" in block_zones(main):
        return []
    zones = block_zones(page_blocks)
    numbers = {f.number for f in parse_notes([b for b, z in zip(page_blocks, zones) if z == "notes"])}
    if not numbers & called:
        return []
    return [replace(b, text=b.text.rstrip(" ↩↑"), raw=b.raw.rstrip(" ↩↑"), hints=frozenset())
            for b, z in zip(page_blocks, zones) if z in ("notes", "notes-label")]  # fmt: skip


def parse_comments(doc_id: str, blocks: Sequence[Block]) -> tuple[list[Comment], set[int]]:
    """Comments as author line, date line, text lines; returns them and the block indices used."""
    metas: list[int] = []
    for j, b in enumerate(blocks):
        d = find_date(b.text)
        if d and b.n_words <= 12:
            rest = (b.text[: d.start] + " " + b.text[d.end :]).strip(" -–—|,")
            if len(words(rest)) <= 4:
                metas.append(j)
    comments: list[Comment] = []
    used: set[int] = set()
    starts: list[tuple[int, int, str | None, str]] = []  # (first block, meta block, author, date)
    for j in metas:
        d = find_date(blocks[j].text)
        rest = re.sub(r"^(?:le|on|posted|publié)\s+|\s+(?:le|on|à|at|a écrit|wrote|said)\s*:?$", "",
                      (blocks[j].text[: d.start] + " " + blocks[j].text[d.end :]).strip(" -–—|,:"), flags=re.I)  # fmt: skip
        rest = re.sub(r"^\s*(?:à|at|-)?\s*\d{1,2}[:h]\d{2}\s*", "", rest).strip(" -–—|,:")
        author, first = (rest or None), j
        if not author and j > 0 and j - 1 not in metas:
            prev = blocks[j - 1].text.strip()
            if 1 <= len(words(prev)) <= 4 and not re.search(r"[!?:;»]\s*$", prev) and not is_strong_furniture(prev):
                author, first = prev, j - 1
        starts.append((first, j, author, d.iso))
    for k, (first, j, author, date) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(blocks)
        lines = []
        for q in range(j + 1, end):
            if is_strong_furniture(blocks[q].text):
                break
            lines.append(blocks[q].text)
        if not lines:
            continue
        used.update(range(first, j + 1 + len(lines)))
        comments.append(Comment(id=f"{doc_id}:c{len(comments) + 1}", text="\n".join(lines), author=author, date=date))
    return comments, used


def undated_comments(doc_id: str, blocks: Sequence[Block]) -> tuple[list[Comment], set[int]]:
    """Comments of an HTML page that dates none: every sentence-like block in a comment element, after a name line.

    Only blocks the page marks as comments (the "comment" hint) count, so a text
    file's "Comments" zone -- which holds the comment form as much as comments -- gives none.
    """
    comments: list[Comment] = []
    used: set[int] = set()
    author: tuple[int, str] | None = None
    for j, b in enumerate(blocks):
        if "comment" not in b.hints or b.hints & {"form", "nav", "footer"} or b.heading or is_strong_furniture(b.text):
            author = None
            continue
        ends = re.search(r"[.!?:;…»]\s*$", b.text) and not re.search(r"\b[A-Z]\.\s*$", b.text)  # "Luc B." is a name
        name_like = b.n_words <= 4 and not ends and b.text[:1].isupper()
        if name_like:
            author = (j, b.text.strip())
            continue
        if b.n_words < 3:
            author = None
            continue
        used.add(j)
        if author:
            used.add(author[0])
        comments.append(Comment(id=f"{doc_id}:c{len(comments) + 1}", text=b.text, author=author[1] if author else None))
        author = None
    return comments, used
