"""Zones of a page: the article, and the notes, author biography and reader comments
that headings, labels, note numbering or HTML hints mark off."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .blocks import NOTE_ITEM, URL, Block, title_text


_NOTES_TITLE = re.compile(
    r"^(?:notes?(?: et références| and references| de bas de page)?|références|references|sources|footnotes"
    r"|endnotes|bibliographie|bibliography|renvois)\s*:?$", re.I
)  # fmt: skip
_BIO_TITLE = re.compile(
    r"^(?:p\.?\s?-?\s?s\.?|post-?scriptum|à propos de l'auteur(?:e)?|a propos de l'auteur(?:e)?|l'auteur(?:e)?"
    r"|les auteurs|about the authors?|the authors?|biographie|biography|bio|auteur|author)\s*:?$", re.I
)  # fmt: skip
_COMMENTS_TITLE = re.compile(
    r"^(?:\d+\s+)?(?:commentaires?|comments?|réactions?|reactions?|responses?|discussion)(?:\s*\(\d+\))?\s*:?$", re.I
)  # fmt: skip


def block_zones(blocks: Sequence[Block]) -> list[str]:
    """Per block: 'main', 'notes', 'bio', 'comments', or '<zone>-label' for the heading that opens a zone."""
    zone = ["main"] * len(blocks)
    seen_prose = False
    i = 0
    while i < len(blocks):
        b = blocks[i]
        text = title_text(b)
        short = b.n_words <= 6
        kind = None
        if short and (b.heading or "comment" in b.hints or seen_prose) and _COMMENTS_TITLE.match(text):
            kind = "comments"
        elif short and _NOTES_TITLE.match(text) and (
            b.heading or (i + 1 < len(blocks) and NOTE_ITEM.match(blocks[i + 1].raw or blocks[i + 1].text))
        ):
            kind = "notes"
        elif short and b.heading and _BIO_TITLE.match(text):
            kind = "bio"
        elif short and not b.heading and _BIO_TITLE.match(text) and i + 1 < len(blocks) and seen_prose:
            kind = "bio"
        if kind:
            zone[i] = f"{kind}-label"
            j = i + 1
            # A block the page marks as a reader comment ends a notes or biography zone.
            while j < len(blocks) and not _zone_ends(blocks, i, j, kind) and (
                kind == "comments" or "comment" not in blocks[j].hints
            ):
                zone[j] = kind
                j += 1
            i = j
            continue
        if seen_prose and _is_note_start(b):
            j = i
            while j < len(blocks) and (_is_note_start(blocks[j]) or NOTE_ITEM.match(blocks[j].raw or blocks[j].text)
                                       or _is_url_line(blocks[j])):  # fmt: skip
                zone[j] = "notes"
                j += 1
            i = j
            continue
        if (b.raw or "").lstrip().startswith("[^") and re.match(r"^\s*\[\^\d{1,3}\]:", b.raw):
            zone[i] = "notes"  # a markdown footnote definition, wherever it stands
        if "comment" in b.hints and not b.heading:
            zone[i] = "comments"
        if b.n_words >= 25:
            seen_prose = True
        i += 1
    return zone


def _is_note_start(b: Block) -> bool:
    return bool(re.match(r"^\s*\[\^?1\]:?\s", b.raw or b.text))


def _is_url_line(b: Block) -> bool:
    return bool(URL.search(b.text)) and len(URL.sub("", b.text).split()) <= 2


def _zone_ends(blocks: Sequence[Block], start: int, j: int, kind: str) -> bool:
    b, opener = blocks[j], blocks[start]
    if opener.heading:
        return bool(b.heading) and b.heading <= max(opener.heading, 2) or (kind == "comments" and bool(b.heading))
    if kind == "bio":
        return j > start + 1
    if kind == "notes":
        return not (NOTE_ITEM.match(b.raw or b.text) or _is_url_line(b) or re.match(r"^\d{1,3}[.)]\s", b.text))
    return False  # comments opened by a plain label run to the end of the page
