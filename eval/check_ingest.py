"""How much of each evaluation corpus survives ingestion, read as a reader cites it.

    .venv/bin/python eval/check_ingest.py [CORPUS …] [--show N]

Prints, per corpus: gold quotes found verbatim in one passage, content sentences
kept (from labels.jsonl), furniture blocks leaked into passages; with --show, the
first N of each kind of loss. `renvoi eval` reports the same figures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.corpora import corpora, ingestion_scores, load_labels  # noqa: E402
from rag.evaluate import load_questions, normalise  # noqa: E402
from rag.ingest import citable_passages, ingest_paths  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="Corpora (default: all).")
    ap.add_argument("--show", type=int, default=0, help="Show the first N losses of each kind.")
    args = ap.parse_args()
    found = corpora(ROOT)
    for name in args.names or list(found):
        c = found[name]
        corpus = ingest_paths([c.docs])
        for issue in corpus.issues:
            print(f"  {issue.path}: {issue.message}")
        documents = {d.id: d for d in corpus.documents}
        passages = [p for d in corpus.documents for p in citable_passages(d)]
        questions = load_questions(c.questions)
        labels = load_labels(c.labels) if c.labels else None
        # the held-out questions' quotes are counted, never shown: ingestion is not tuned on them
        held = ingestion_scores(documents, passages, [(g.doc_id, g.quote) for q in questions if q.split == "heldout"
                                                      for g in q.gold], None, normalise)
        s = ingestion_scores(documents, passages, [(g.doc_id, g.quote) for q in questions if q.split == "tune"
                                                   for g in q.gold], labels, normalise)
        rates = s.rates()
        line = (f"{name:12} quotes tune {s.quotes_found}/{s.quotes} ({rates['gold_quotes_in_one_passage']:.3f})"
                f" held-out {held.quotes_found}/{held.quotes}")
        if labels is not None:
            line += (f"  content {s.content_kept}/{s.content_sentences} ({rates['content_sentences_kept']:.3f})"
                     f"  furniture leaked {s.furniture_leaked}/{s.furniture_blocks}"
                     f" ({rates['furniture_blocks_leaked']:.3f})")
        print(line)
        for title, items in (("lost quotes", s.lost_quotes), ("lost content", s.lost_content),
                             ("leaked furniture", s.leaked_furniture)):
            for item in items[: args.show]:
                print(f"    {title}: {item[:140]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
