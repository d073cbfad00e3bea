"""Baseline: the naive pipeline the retrieval issue compares against, on our questions.

Naive = the seed files split on blank lines (page furniture included, no
cleaning), each block embedded with multilingual-e5-small alone, ranked by
cosine; "naive + BM25" adds bm25s over the same blocks by reciprocal-rank
fusion. A block counts as gold when it contains a gold quote of the question
(quotes are verbatim, so this needs no passage ids). renvoi's own figures on
the same questions come from `renvoi eval`, printed last for comparison.

    .venv/bin/python benchmarks/baseline_naive.py
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import Config  # noqa: E402
from rag.embed import load_embedder  # noqa: E402
from rag.evaluate import normalise  # noqa: E402
from rag.text import LANGUAGES, terms  # noqa: E402


def strip_markdown(text: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return text.replace("**", "").replace("*", "").replace("\\_", "_")


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {
        "Hit@1": sum(r == 1 for r in ranks) / n,
        "Hit@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "MRR@10": sum(1 / r for r in ranks if r is not None and r <= 10) / n,
    }


def main() -> None:
    blocks: list[tuple[str, str]] = []
    for f in sorted((ROOT / "seeds").glob("*.txt")):
        for b in re.split(r"\n\s*\n", f.read_text("utf-8")):
            if b.strip():
                blocks.append((f.stem, b.strip()))
    questions = [json.loads(l) for l in (ROOT / "eval" / "questions.jsonl").read_text("utf-8").splitlines() if l.strip()]
    by_id = {q["id"]: q for q in questions}
    embedder = load_embedder(Config())
    vectors = embedder.embed_passages([b for _, b in blocks])
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index([terms(b, ("fr",)) or [""] for _, b in blocks], show_progress=False)
    normed = [normalise(strip_markdown(b)) for _, b in blocks]

    dense_ranks, fused_ranks = [], []
    for q in questions:
        if not q["answerable"] or not q["gold"]:
            continue
        text = q["question"]
        if q.get("followup_of"):
            text = by_id[q["followup_of"]]["question"] + " " + text
        gold = {i for g in q["gold"] for i, ((doc, _), nb) in enumerate(zip(blocks, normed))
                if doc == g["doc_id"] and normalise(g["quote"]) in nb}
        if not gold:
            continue  # quote only in a metadata card or a note
        dense = vectors @ embedder.embed_queries([text])[0]
        q_terms = [t for t in terms(text, LANGUAGES) if t in bm25.vocab_dict]
        lexical = bm25.get_scores(q_terms) if q_terms else np.zeros(len(blocks))
        order_d = np.argsort(-dense, kind="stable")
        order_b = np.argsort(-lexical, kind="stable")
        rrf = np.zeros(len(blocks))
        rrf[order_d] += 1 / (60 + np.arange(1, len(blocks) + 1))
        rrf[order_b] += 1 / (60 + np.arange(1, len(blocks) + 1))
        order_f = np.argsort(-rrf, kind="stable")
        for order, out in ((order_d, dense_ranks), (order_f, fused_ranks)):
            out.append(next((r + 1 for r, i in enumerate(order) if i in gold), None))

    print(f"naive baseline on {len(dense_ranks)} answerable questions with a quotable gold block "
          f"({len(blocks)} blank-line blocks, furniture included)")
    print(f"{'pipeline':<26}{'Hit@1':>8}{'Hit@5':>8}{'MRR@10':>8}")
    for name, ranks in (("naive e5 only", dense_ranks), ("naive e5 + BM25 (RRF)", fused_ranks)):
        m = metrics(ranks)
        print(f"{name:<26}{m['Hit@1']:>8.3f}{m['Hit@5']:>8.3f}{m['MRR@10']:>8.3f}")
    print("renvoi hybrid on the same file: see `renvoi eval` (retrieval table, split 'all').")


if __name__ == "__main__":
    main()
