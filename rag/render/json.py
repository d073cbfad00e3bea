"""JSON of answers and hits: the records' data plus the text a reader sees.

`ask --json`, `ask --jsonl` and the HTTP API print `answer_json`; `search --json`
prints `hits_json`. Field names are a contract: fields are added, never removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..records import Answer, Document, Hit
from .text import answer_text


def answer_json(answer: Answer, documents: Mapping[str, Document]) -> dict:
    """The answer's data (`Answer.to_dict`) with its text under "answer"."""
    data = answer.to_dict()
    return {"question": data.pop("question"), "answer": answer_text(answer, documents), **data}


def hits_json(hits: Sequence[Hit]) -> list[dict]:
    return [h.to_dict() for h in hits]
