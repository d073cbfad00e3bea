"""Re-derive the `gold_ids` of eval/questions.jsonl from the gold quotes.

Run after a change of segmentation: every quote is looked up in the current
passages (as `renvoi eval` does); a quote found in no passage but taken from
the document's byline or citation line maps to the document's metadata card
(`<doc_id>:meta`). The file is rewritten in place, atomically, one object per
line, fields in their original order.

    .venv/bin/python eval/derive_ids.py [eval/questions.jsonl]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.evaluate import load_questions, resolve_gold  # noqa: E402
from rag.pipeline import ingest_for_index  # noqa: E402


def main(path: Path) -> None:
    documents, passages = ingest_for_index([ROOT / "seeds"])
    questions = load_questions(path)
    # Derive from the quotes alone: ids already in the file must not vouch for themselves.
    from dataclasses import replace

    gold, errors = resolve_gold([replace(q, gold_ids=None) for q in questions], passages,
                                {d.id: d for d in documents})
    meta_for = {q_id for q_id in {e.question_id for e in errors if "metadata?" in e.message}}
    lines = path.read_text("utf-8").splitlines()
    out = []
    for line, q in zip((l for l in lines if l.strip()), questions, strict=True):
        obj = json.loads(line)
        if q.answerable:
            ids = [i for group in gold.get(q.id, ()) for i in group]
            if q.id in meta_for:
                ids += [f"{g.doc_id}:meta" for g in q.gold if f"{g.doc_id}:meta" not in ids]
            obj["gold_ids"] = ids
        out.append(json.dumps(obj, ensure_ascii=False))
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("\n".join(out) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    for e in errors:
        if "metadata?" not in e.message:
            print(f"{e.severity}: {e.question_id}: {e.message}")
    print(f"gold_ids written for {sum(q.answerable for q in questions)} questions in {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "eval" / "questions.jsonl")
