"""Features of the abstention decision over every corpus's questions, to set its bar.

    .venv/bin/python eval/calibrate.py [--split tune] [--out /tmp/abstention.jsonl]

For each question (of the chosen split only: the held-out questions are kept out
of calibration and checked afterwards), the evidence renvoi gathers is scored as
the extractive composer scores it; the script writes one JSON line per question
(corpus, id, answerable, language, the best candidate's support, its dense
similarity, the question's background similarity and spread, the resulting
standing) and prints, for candidate bars, abstention recall and the share of
answerable questions abstained, per corpus and overall.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.compose.extractive import candidates, prefer_first_hit, standing  # noqa: E402
from rag.config import Config  # noqa: E402
from rag.corpora import corpora  # noqa: E402
from rag.evaluate import load_questions  # noqa: E402
from rag.pipeline import Renvoi  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="tune", choices=("tune", "heldout", "all"))
    ap.add_argument("--out", type=Path, default=Path("/tmp/abstention.jsonl"))
    ap.add_argument("--bars", type=float, nargs="+", default=[x / 2 for x in range(0, 13)])
    args = ap.parse_args()
    rows = []
    for name, c in corpora(ROOT).items():
        config = Config().with_(index_dir=ROOT / ".renvoi" / "eval" / name)
        r = Renvoi.open(config, [c.docs], progress=False, notify=lambda m: None)
        history: dict[str, list] = {}
        for q in load_questions(c.questions):
            turns = history.get(q.followup_of, []) if q.followup_of else []
            query = r.understand(q.question, turns)
            answer = r.ask(q.question, history=turns)
            history[q.id] = [*turns, r.turn(answer)]
            if args.split != "all" and q.split != args.split or query.small_talk:
                continue
            hits = r.search(query)
            pool = candidates(query, r.retriever.gather(query, hits), config.compose)
            best = max(prefer_first_hit(pool, config.compose), key=lambda x: x.support, default=None)
            rows.append({"corpus": name, "id": q.id, "answerable": q.answerable, "lang": q.lang,
                         "support": best.support if best else None, "dense": best.dense if best else None,
                         "background": query.background, "standing": standing(best, query) if best else None,
                         "unknown_years": bool(query.unknown_years)})
    args.out.write_text("".join(json.dumps(x) + "\n" for x in rows), encoding="utf-8")
    print(f"{len(rows)} questions -> {args.out}")
    names = sorted({x["corpus"] for x in rows})
    print("bar    " + "  ".join(f"{n[:11]:>11} rec/abs" for n in [*names, "all"]))
    for bar in args.bars:
        cells = []
        for n in [*names, "all"]:
            sel = [x for x in rows if n == "all" or x["corpus"] == n]
            un = [x for x in sel if not x["answerable"]]
            an = [x for x in sel if x["answerable"]]
            abstains = lambda x: x["standing"] is None or x["standing"] < bar or x["unknown_years"]  # noqa: E731
            rec = sum(map(abstains, un)) / len(un) if un else float("nan")
            wrong = sum(map(abstains, an)) / len(an) if an else float("nan")
            cells.append(f"{rec:11.2f}/{wrong:4.2f}")
        print(f"{bar:5.2f}  " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
