"""Plain text of answers and places, in the reader's language.

`answer_text` writes an `Answer` as a reader sees it on a terminal or in
`ask --json`'s "answer" field: a lead-in, one line per quoted claim with its
marker, the notes of the cited passages when the question asks for sources; an
abstention with the closest passages, marked as not cited. The other renderers
share the small pieces here (`place_name`, `where`, `who`, `calls_in`, and for
references `locator`, `date_words`, `authors_words`).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..messages import FALLBACK, SPOKEN, language_name, say, words
from ..records import Answer, Citation, Claim, Document, Footnote, Hit, Paragraph

RELATED = 3  # closest passages listed with an abstention
_CLOSING = re.compile(r"[.!?…]+[»\"')]*$")


def place_name(passage: Paragraph, lang: str) -> str:
    """Where a passage stands in its document: '¶ 12' (', p. 3' for a page), or a part's name."""
    w = words(lang)
    if passage.n is not None:
        place = f"{w['paragraph']} {passage.n}"
    else:
        place = w.get(f"place.{passage.kind}", passage.kind)
    page = getattr(passage, "page", None)
    return f"{place}, {w['page']} {page}" if page is not None else place


def where(passage: Paragraph, lang: str) -> str:
    """'section, ¶ n' for a body paragraph; the part's name otherwise."""
    place = place_name(passage, lang)
    return f"{passage.section}, {place}" if passage.section else place


def locator(passage: Paragraph, document: Document, lang: str) -> str:
    """Where a reference points in its document: 'section, ¶ n'; 'section, p. n' in a PDF,
    whose pages are what a reader finds (its paragraph numbers are renvoi's own)."""
    if document.format == "pdf" and passage.page is not None:
        place = f"{words(lang)['page']} {passage.page}"
        return f"{passage.section}, {place}" if passage.section else place
    return where(replace(passage, page=None), lang)


def date_words(date: str | None, lang: str) -> str:
    """An ISO date ('2016-11-11', '2016-11', '2016') as `lang` writes it (Babel), or 'n.d.'."""
    from babel.dates import format_date, format_skeleton  # loaded only when a date is written

    if not date:
        return words(lang)["no_date"]
    lang = spoken(lang)
    try:
        parts = [int(x) for x in date.split("-")]
        if len(parts) == 3:
            return format_date(datetime.date(*parts), format="long", locale=lang)
        if len(parts) == 2:
            return format_skeleton("yMMMM", datetime.date(parts[0], parts[1], 1), locale=lang)
    except ValueError:  # not ISO: shown as the document gave it
        return date
    return date


def authors_words(authors: Sequence[str], lang: str) -> str:
    """'A', 'A et B', 'A, B und C': a list of names as `lang` joins them (Babel)."""
    from babel.lists import format_list

    return format_list(list(authors), locale=spoken(lang)) if authors else ""


def spoken(lang: str) -> str:
    """`lang` when renvoi has words in it, else English: dates and lists are written in
    the language of the words around them."""
    return lang if lang in SPOKEN else FALLBACK


def who(claim: Claim, citation: Citation | None, lang: str) -> str:
    """Whom a quoted claim is attributed to, as the answer line says it ("Cyrille Bret écrit",
    "X répond"); a part of the document that nobody signs is named as what it is (the
    document details, the author biography, the lead); anything else stands alone."""
    w = words(lang)
    kind = citation.passage.kind if citation is not None else None
    if kind in ("meta", "bio", "lead"):
        return w[f"place.{kind}"].capitalize()
    a = claim.attribution
    if a is None:
        return ""
    if a.role == "speaker":
        return f"{a.name} {w['asks'] if a.asks else w['answers']}"
    return f"{a.name} {w['says']}"


def quotes_language(answer: Answer) -> str | None:
    """The language the cited passages are written in, when they share one."""
    langs = {c.passage.language or c.document.language for c in answer.citations}
    return langs.pop() if len(langs) == 1 else None


def lead_in(answer: Answer) -> str:
    """"According to the documents:", naming the quotes' language when it is not the question's."""
    quoted = quotes_language(answer)
    if quoted and quoted != answer.language:
        return say(answer.language, "answer.quoted", language=language_name(quoted, answer.language))
    return say(answer.language, "answer")


def calls_in(text: str, passage: Paragraph, document: Document | None) -> tuple[Footnote, ...]:
    """The notes `passage` calls inside `text`, one of its sentences."""
    at = passage.text.find(text)
    if at < 0 or document is None:
        return ()
    end = at + len(text)
    numbers = sorted({c.number for c in passage.calls if at <= c.start and c.end <= end})
    return tuple(f for n in numbers if (f := document.footnote(n)) is not None)


def notes_as_words(text: str, passage: Paragraph, lang: str) -> str:
    """`text` (a sentence of `passage`) with its note calls written "(note n)": where
    nothing is cited, a call must not read as a citation marker."""
    at = passage.text.find(text)
    if at < 0:
        return text
    out, cursor = [], 0
    for c in passage.calls:
        if at <= c.start and c.end <= at + len(text):
            out += [text[cursor:c.start - at], f"({words(lang)['note']} {c.number})"]
            cursor = c.end - at
    return "".join(out) + text[cursor:]


def citation_of(answer: Answer, marker: int) -> Citation | None:
    return next((c for c in answer.citations if c.marker == marker), None)


def answer_text(answer: Answer, documents: Mapping[str, Document]) -> str:
    """The answer as plain text, markers `[n]` included."""
    w = words(answer.language)
    if answer.status == "small_talk":
        return w["small_talk"]
    if answer.status == "abstained":
        return "\n".join([w["abstain"], *related_lines(answer.hits, documents, answer.language)])
    if any(not c.quoted for c in answer.claims):
        return generated_text(answer)
    lines = [lead_in(answer)]
    for claim in answer.claims:
        citation = citation_of(answer, claim.markers[0]) if claim.markers else None
        marks = "".join(f"[{n}]" for n in claim.markers)
        label = who(claim, citation, answer.language)
        lines.append(f"- {label}{w['colon']} « {claim.text} » {marks}" if label else f"- « {claim.text} » {marks}")
    if answer.show_notes:
        for c in answer.citations:
            for f in c.footnotes:
                lines.append(f"  [{c.marker}] {w['note']} {f.number}{w['colon']} {f.url or f.text}")
    return "\n".join(lines)


def generated_text(answer: Answer) -> str:
    """A generated answer: its paragraphs, each claim followed by its markers ("[?]" for
    a sentence kept unsupported)."""
    blocks: dict[int, list[str]] = {}
    for claim in answer.claims:
        marks = "".join(f"[{n}]" for n in claim.markers) or ("[?]" if claim.support == "unsupported" else "")
        blocks.setdefault(claim.block, []).append(with_markers(claim.text, marks))
    return "\n".join(" ".join(sentences) for _, sentences in sorted(blocks.items()))


def with_markers(sentence: str, marks: str) -> str:
    """`sentence` with `marks` written before its closing punctuation ("… 1999 [1].")."""
    if not marks:
        return sentence
    m = _CLOSING.search(sentence)
    return f"{sentence[: m.start()].rstrip()} {marks}{sentence[m.start():]}" if m else f"{sentence} {marks}"


def related_lines(hits: Sequence[Hit], documents: Mapping[str, Document], lang: str) -> list[str]:
    """The closest passages of an abstention, marked as not cited."""
    if not hits:
        return []
    w = words(lang)
    lines = [w["related"]]
    for h in hits[:RELATED]:
        d = documents.get(h.passage.doc_id)
        sentence = notes_as_words(h.best_sentence, h.passage, lang)
        lines.append(f"- {d.title if d else h.passage.doc_id}, {place_name(h.passage, lang)}{w['colon']} {sentence}")
    return lines
