"""The extractive composer's settings over every corpus's questions, to choose them.

    .venv/bin/python eval/tune_compose.py [--grid small|wide]

Retrieval does not depend on the composer's settings, so each question is
understood, searched and gathered once; every setting of the grid then composes
the same evidence. Prints, per setting, the answer metrics of the tune split of
each corpus and their mean; the held-out split is printed apart, for the chosen
setting only (the default, and the best on the tune mean), so it stays out of the
choice.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.compose import extractive  # noqa: E402
from rag.config import ComposeConfig, Config  # noqa: E402
from rag.corpora import corpora  # noqa: E402
from rag.evaluate import (  # noqa: E402
    answer_record,
    citation_precision,
    citation_recall,
    key_fact_coverage,
    load_questions,
    resolve_gold,
)
from rag.pipeline import Renvoi  # noqa: E402

GRIDS = {
    "small": {"max_sentences": (1, 2), "relative_floor": (0.97, 0.99), "first_hit_bonus": (0.02, 0.05)},
    "wide": {"max_sentences": (1, 2), "relative_floor": (0.95, 0.97, 0.99), "first_hit_bonus": (0.0, 0.02, 0.05, 0.1),
             "lexical_weight": (0.05, 0.1, 0.2)},
}


def prepared(name, corpus):
    """Each question with its query, hits and evidence (follow-ups with the default answers as history)."""
    config = Config().with_(index_dir=ROOT / ".renvoi" / "eval" / name)
    r = Renvoi.open(config, [corpus.docs], progress=False, notify=lambda m: None)
    questions = load_questions(corpus.questions)
    gold, _errors = resolve_gold(questions, r.passages, r.documents)
    history: dict[str, list] = {}
    out = []
    for q in questions:
        turns = history.get(q.followup_of, []) if q.followup_of else []
        query = r.understand(q.question, turns)
        if query.small_talk:
            continue
        hits = r.search(query)
        evidence = r.retriever.gather(query, hits)
        history[q.id] = [*turns, r.turn(extractive.compose(query, evidence, hits, config.compose))]
        out.append((q, query, hits, evidence, gold.get(q.id, ())))
    return r, out


def metrics(r, items, settings: ComposeConfig) -> dict[str, float]:
    kf, cited, prec, un_abs, an_abs = [], [], [], [], []
    for q, query, hits, evidence, gold in items:
        a = extractive.compose(query, evidence, hits, settings)
        rec = answer_record(a, r.documents)
        ids = [c.passage_id for c in rec.citations]
        if not q.answerable:
            un_abs.append(rec.abstained)
            continue
        an_abs.append(rec.abstained)
        if (c := key_fact_coverage(rec, q.key_facts)) is not None:
            kf.append(c)
        if not rec.abstained and gold:
            prec.append(citation_precision(ids, gold))
            cited.append(citation_recall(ids, gold))
    mean = lambda xs: statistics.mean(xs) if xs else float("nan")  # noqa: E731
    return {"kf": mean(kf), "cited": mean(cited), "prec": mean(prec), "abst": mean(un_abs), "wrong": mean(an_abs)}


def row(label: str, per: dict[str, dict[str, float]]) -> str:
    cells = "  ".join(f"{m['kf']:.2f}/{m['cited']:.2f}/{m['prec']:.2f}/{m['abst']:.2f}/{m['wrong']:.2f}"
                      for m in per.values())
    return f"{label:<60} {cells}  mean kf+prec {score(per):.3f}"


def score(per: dict[str, dict[str, float]]) -> float:
    return statistics.mean(m["kf"] + m["prec"] for m in per.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grid", default="small", choices=tuple(GRIDS))
    args = ap.parse_args()
    data = {name: prepared(name, c) for name, c in corpora(ROOT).items()}
    base = ComposeConfig()
    grid = GRIDS[args.grid]
    print("per corpus (" + ", ".join(data) + "): key facts / cited paragraph / precision / "
          "unanswerable abstained / answerable abstained")
    print("tune split")
    results = []
    for values in itertools.product(*grid.values()):
        settings = replace(base, **dict(zip(grid, values)))
        per = {n: metrics(r, [x for x in items if x[0].split == "tune"], settings) for n, (r, items) in data.items()}
        results.append((score(per), settings, values))
        print(row(" ".join(f"{k}={v}" for k, v in zip(grid, values)), per))
    best = max(results, key=lambda x: x[0])
    print("held-out split")
    for label, settings in (("default", base), ("best on tune: " + " ".join(
            f"{k}={v}" for k, v in zip(grid, best[2])), best[1])):
        per = {n: metrics(r, [x for x in items if x[0].split == "heldout"], settings) for n, (r, items) in data.items()}
        print(row(label, per))
    return 0


if __name__ == "__main__":
    sys.exit(main())
