"""Markdown of answers and conversations, to take away, and of a source's reference.

`conversation_markdown` writes a conversation (a sequence of `Answer`s) as one
Markdown file; `answer_markdown` one answer (`renvoi ask --format markdown`).
Each answer is its question as a heading, then the answer as the reader saw it,
then its references and the documents' notes as Markdown footnotes:

- every answer keeps its markers: the marker `[n]` is the footnote reference
  `[^n]` (`[^t.n]` for the t-th answer when there are several, since footnote
  labels are shared by the whole file), defined right after the answer by the
  reference of the passage it cites (`reference_line`, the same as
  `renvoi cite --style markdown`);
- a note the document calls inside a quote (its "[3]") becomes a footnote
  reference to that note, found by the call's offsets in the passage; the
  notes a citation carries without the answer's text calling them (a generated
  answer's words) are referenced from its reference; each note is defined
  once, after the first answer that calls it, so every reference has its
  definition and every definition is referenced;
- every piece of text from a document, a question or a model is escaped, so it
  is never read as Markdown or HTML; only http(s) URLs become links.

Markdown viewers number footnotes in order of appearance; the labels in the
file are the answer's markers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..messages import words
from ..records import Answer, Citation, Claim, Document, Footnote
from .html import safe_url
from .text import (RELATED, authors_words, citation_of, date_words, locator, notes_as_words, place_name, who,
                   with_markers)

# ASCII punctuation that could start Markdown or HTML syntax inline; escaping any
# ASCII punctuation with a backslash is always allowed (CommonMark), so it is safe.
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~^]|&(?=#?\w+;))")
# What makes a line a list item or a heading underline when it starts it.
_LINE_START = re.compile(r"^(\d+)([.)])|^([-+=])")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")


def md_escape(text: str) -> str:
    """`text` on one line, as Markdown that reads as exactly that text."""
    text = _escape(text).strip()
    return _LINE_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text, count=1)


def _escape(text: str) -> str:
    """`text` on one line with its inline syntax escaped (spaces at its ends kept)."""
    return _SPECIAL.sub(r"\\\1", _NEWLINES.sub(" ", text))


def md_with_url(text: str, url: str | None) -> str:
    """Escaped `text` with `url` as a link: where it occurs in the text, else after it."""
    safe = safe_url(url)
    if safe and safe in text:
        i = text.index(safe)
        return f"{_escape(text[:i])}<{safe}>{_escape(text[i + len(safe):])}".strip()
    if safe:
        return f"{md_escape(text)} <{safe}>".strip()
    return md_escape(text)


def reference_line(citation: Citation, lang: str) -> str:
    """The source of a citation on one line: authors, « title » (linked to the document's
    URL when known), *site*, date, where in the document (section, ¶ n, or page)."""
    d, w = citation.document, words(lang)
    title = md_escape(d.title)
    if safe_url(d.url):
        title = f"[{title}](<{safe_url(d.url)}>)"
    parts = [md_escape(authors_words(d.authors, lang)), w["quoted"].format(title),
             f"*{md_escape(d.site)}*" if d.site else "", md_escape(date_words(d.date, lang)),
             md_escape(locator(citation.passage, d, lang))]
    return ", ".join(p for p in parts if p) + "."


def note_line(note: Footnote, lang: str, document: Document | None = None) -> str:
    """'Note 3: text <url>' ('Note 3 (title): …' naming its `document`)."""
    w = words(lang)
    source = f" ({md_escape(document.title)})" if document is not None else ""
    return (f"{w['note'].capitalize()} {note.number}{source}{w['colon']} "
            f"{md_with_url(note.text or '', note.url)}").rstrip()


@dataclass
class _Notes:
    """The documents' notes of one Markdown file: their labels, and which are defined."""

    documents: tuple[str, ...]  # ids of the documents whose notes are cited, in order
    defined: set[tuple[str, int]] = field(default_factory=set)
    pending: list[tuple[Document, Footnote]] = field(default_factory=list)  # referenced, to define

    def ref(self, document: Document, note: Footnote) -> str:
        """A reference to `note` of `document`; its definition follows the current answer."""
        key = (document.id, note.number)
        if key not in self.defined:
            self.defined.add(key)
            self.pending.append((document, note))
        return f"[^{self.label(document.id, note.number)}]"

    def label(self, doc_id: str, number: int) -> str:
        if len(self.documents) <= 1:
            return f"note-{number}"
        return f"note-{self.documents.index(doc_id) + 1}-{number}"

    def definitions(self, lang: str) -> list[str]:
        """The definitions of the notes referenced since the last call."""
        several = len(self.documents) > 1
        out = [f"[^{self.label(d.id, note.number)}]: {note_line(note, lang, d if several else None)}"
               for d, note in self.pending]
        self.pending.clear()
        return out


def _quote_with_notes(claim: Claim, citation: Citation | None, notes: _Notes) -> tuple[str, set[int]]:
    """A quoted claim as Markdown, each note call it contains a reference to the note,
    and the numbers of the notes so called."""
    if citation is None or len(claim.spans) != 1 or claim.spans[0].passage_id != citation.passage.id:
        return md_escape(claim.text), set()
    span, passage, document = claim.spans[0], citation.passage, citation.document
    out, cursor, called = [], span.start, set()
    for call in passage.calls:
        note = document.footnote(call.number)
        if note is None or not (span.start <= call.start and call.end <= span.end):
            continue
        out += [_escape(passage.text[cursor:call.start]), notes.ref(document, note)]
        called.add(call.number)
        cursor = call.end
    out.append(_escape(passage.text[cursor:span.end]))
    return "".join(out).strip(), called


def _answer_body(answer: Answer, documents: Mapping[str, Document], prefix: str, notes: _Notes
                 ) -> tuple[list[str], dict[int, set[int]]]:
    """The answer's paragraphs, and for each marker the notes its text already calls."""
    lang, w = answer.language, words(answer.language)
    called: dict[int, set[int]] = {}

    def refs(claim: Claim) -> str:
        return "".join(f"[^{prefix}{n}]" for n in claim.markers)

    if answer.status == "small_talk":
        return [md_escape(w["small_talk"])], called
    if answer.status == "abstained":
        blocks = [md_escape(w["abstain"])]
        related = []
        for h in answer.hits[:RELATED]:
            d = documents.get(h.passage.doc_id)
            sentence = notes_as_words(h.best_sentence, h.passage, lang)
            related.append(f"- *{md_escape(d.title if d else h.passage.doc_id)}*, "
                           f"{md_escape(place_name(h.passage, lang))}{w['colon']} {md_escape(sentence)}")
        if related:
            blocks.append(f"{md_escape(w['related'])}\n\n" + "\n".join(related))
        return blocks, called
    blocks = [f"*{md_escape(w['page.fallback'])}*"] if answer.composer == "extractive-fallback" else []
    if any(not c.quoted for c in answer.claims):
        blocks.append(f"*{md_escape(w['page.generated'])}*")
        paragraphs: dict[int, list[str]] = {}
        for claim in answer.claims:
            marks = refs(claim) or ("\\[?\\]" if claim.support == "unsupported" else "")
            paragraphs.setdefault(claim.block, []).append(with_markers(md_escape(claim.text), marks))
        blocks += [" ".join(sentences) for _, sentences in sorted(paragraphs.items())]
        return blocks, called
    lines = []
    for claim in answer.claims:
        citation = citation_of(answer, claim.markers[0]) if claim.markers else None
        quote, in_quote = _quote_with_notes(claim, citation, notes)
        for n in claim.markers:
            called.setdefault(n, set()).update(in_quote)
        head = who(claim, citation, lang)
        head = f"{md_escape(head)}{w['colon']} " if head else ""
        lines.append(f"- {head}{w['quoted'].format(quote)} {refs(claim)}".rstrip())
    blocks += [md_escape(w["answer"]), "\n".join(lines)]
    return blocks, called


def _answer_markdown(answer: Answer, documents: Mapping[str, Document], prefix: str, notes: _Notes) -> str:
    lang = answer.language
    body, called = _answer_body(answer, documents, prefix, notes)
    generated = any(not c.quoted for c in answer.claims)
    definitions = []
    for c in answer.citations:
        line = reference_line(c, lang)
        if generated:  # the answer's words are the model's: the reference shows what it rests on
            line += f" {words(lang)['quoted'].format(md_escape(c.quote))}"
        uncalled = [f for f in c.footnotes if f.number not in called.get(c.marker, set())]
        if uncalled:
            line += " " + ", ".join(f"{words(lang)['note']} {f.number}{notes.ref(c.document, f)}" for f in uncalled)
        definitions.append(f"[^{prefix}{c.marker}]: {line}")
    definitions += notes.definitions(lang)
    parts = [f"## {md_escape(answer.question)}", *body]
    parts += definitions  # a blank line between definitions: every reader ends one there
    return "\n\n".join(parts)


def conversation_markdown(answers: Sequence[Answer], documents: Mapping[str, Document],
                          title: str | None = None) -> str:
    """A conversation as one Markdown file: each answer with its markers, references and
    notes as footnotes that resolve (labels `[^t.n]` when there are several answers)."""
    cited = [c.document.id for a in answers for c in a.citations if c.footnotes or c.passage.calls]
    notes = _Notes(tuple(dict.fromkeys(cited)))
    parts = [f"# {md_escape(title)}"] if title else []
    for t, answer in enumerate(answers, start=1):
        parts.append(_answer_markdown(answer, documents, f"{t}." if len(answers) > 1 else "", notes))
    return "\n\n".join(parts) + "\n"


def answer_markdown(answer: Answer, documents: Mapping[str, Document]) -> str:
    """One answer as Markdown (`renvoi ask --format markdown`): markers `[^n]`."""
    return conversation_markdown([answer], documents)
