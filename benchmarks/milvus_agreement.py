"""Milvus against FAISS on the seeds: the same first citation for the eval questions?

Indexes the seeds twice with the default model and backend, once in an index
folder (`--store faiss`) and once in Milvus Lite (`--store milvus:<tmp>/m.db`),
then asks every question of eval/questions.jsonl of both (a follow-up with the
conversation so far, as `renvoi eval` does) and counts the questions whose
answers cite the same passage first (an abstention on both sides counts as the
same). Also prints, side by side: the top hybrid hit agreeing, build and load
times, and search p50/p95.

    .venv/bin/python benchmarks/milvus_agreement.py [--out benchmarks/results/milvus_agreement.txt]

Numbers depend on the machine and on what else runs on it; this asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _common import p50_p95  # noqa: E402

from rag.config import Config  # noqa: E402
from rag.evaluate import load_questions  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.pipeline import Renvoi  # noqa: E402
from rag.store import close_clients  # noqa: E402


def first_citation(answer) -> str:
    return answer.citations[0].passage.id if answer.citations else "(none)"


def run(r: Renvoi, questions) -> tuple[list[str], list[str], list[float]]:
    """First citation and top hybrid hit of each question, and the search latencies (ms)."""
    cited, top, ms = [], [], []
    turns: dict[str, tuple] = {}
    for q in questions:
        history = turns.get(q.followup_of, ()) if q.followup_of else ()
        answer = r.ask(q.question, history=history)
        turns[q.id] = (*history, r.turn(answer))
        cited.append(first_citation(answer))
        t0 = time.perf_counter()
        hits = r.search(q.question, k=5)
        ms.append((time.perf_counter() - t0) * 1000)
        top.append(hits[0].passage.id if hits else "(none)")
    return cited, top, ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "questions.jsonl")
    parser.add_argument("--docs", type=Path, default=ROOT / "seeds")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "milvus_agreement.txt")
    args = parser.parse_args()
    questions = load_questions(args.questions)
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    with tempfile.TemporaryDirectory(prefix="renvoi-milvus-") as tmp:
        stores = {"faiss": "faiss", "milvus": f"milvus:{Path(tmp) / 'm.db'}"}
        results, timing, vectors = {}, {}, {}
        for name, store in stores.items():
            config = Config(index_dir=Path(tmp) / f"index-{name}").with_(store=store)
            t0 = time.perf_counter()
            Renvoi.open(config, [args.docs], progress=False, notify=lambda m: None)
            built = time.perf_counter() - t0
            t0 = time.perf_counter()
            r = Renvoi(config, Index.load(config.index_dir))
            loaded = time.perf_counter() - t0
            vectors[name] = r.index.sentence_vectors
            results[name] = run(r, questions)
            timing[name] = (built, loaded, *p50_p95(results[name][2]))
        close_clients()

    n = len(questions)
    same_cited = sum(a == b for a, b in zip(results["faiss"][0], results["milvus"][0]))
    same_top = sum(a == b for a, b in zip(results["faiss"][1], results["milvus"][1]))
    say(f"corpus {args.docs.name}, {n} questions ({args.questions})")
    say(f"vectors identical in both stores: {bool(np.array_equal(vectors['faiss'], vectors['milvus']))}")
    say(f"same first citation, milvus vs faiss: {same_cited}/{n} = {same_cited / n:.1%}")
    say(f"same top hybrid hit, milvus vs faiss: {same_top}/{n} = {same_top / n:.1%}")
    say(f"{'store':8} {'build s':>8} {'load s':>8} {'search p50 ms':>14} {'p95 ms':>8}")
    for name, (built, loaded, p50, p95) in timing.items():
        say(f"{name:8} {built:8.1f} {loaded:8.2f} {p50:14.1f} {p95:8.1f}")
    for q, a, b in zip(questions, results["faiss"][0], results["milvus"][0]):
        if a != b:
            say(f"differs: {q.id}: faiss {a}, milvus {b}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"saved to {args.out}")


if __name__ == "__main__":
    main()
