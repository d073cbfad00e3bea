"""JSON of answers, hits, passages and documents: the records' data plus the text a reader sees.

`ask --json`, `ask --jsonl` and the HTTP API print `answer_json`; `search --json`
and the API's search print `hits_json`; the API shows a passage in its context
with `passage_json` and lists the corpus with `document_json`. Field names are a
contract: fields are added, never removed; they are the citations' names
(`passage_id`, `doc_id`, `title`, `authors`, `date`, `section`, `paragraph`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict

from ..records import Answer, Document, Hit, Paragraph
from .html import neighbours
from .text import answer_text


def answer_json(answer: Answer, documents: Mapping[str, Document]) -> dict:
    """The answer's data (`Answer.to_dict`) with its text under "answer"."""
    data = answer.to_dict()
    return {"question": data.pop("question"), "answer": answer_text(answer, documents), **data}


def hits_json(hits: Sequence[Hit]) -> list[dict]:
    return [h.to_dict() for h in hits]


def _place(p: Paragraph) -> dict:
    return {"passage_id": p.id, "kind": p.kind, "section": p.section, "paragraph": p.n, "page": p.page,
            "speaker": p.speaker, "text": p.text}


def passage_json(passage: Paragraph, document: Document) -> dict:
    """A passage in its context: where it stands in its document, its text, the body
    paragraphs before and after it (null at the edges and outside the body), and the notes it calls."""
    before, after = neighbours(passage, document)
    return {
        **_place(passage),
        "doc_id": document.id,
        "title": document.title,
        "authors": list(document.authors),
        "date": document.date,
        "site": document.site,
        "url": document.url,
        "language": passage.language or document.language,
        "footnotes": [asdict(f) for n in passage.footnotes if (f := document.footnote(n)) is not None],
        "before": _place(before) if before is not None else None,
        "after": _place(after) if after is not None else None,
    }


def document_json(document: Document, n_passages: int) -> dict:
    """What identifies a document of the corpus, without its text (`n_passages`: its citable passages)."""
    d = document
    return {"doc_id": d.id, "title": d.title, "authors": list(d.authors), "date": d.date, "site": d.site,
            "url": d.url, "language": d.language, "format": d.format,
            "sections": [s.title for s in d.sections], "n_paragraphs": len(d.paragraphs),
            "n_passages": n_passages, "n_footnotes": len(d.footnotes)}
