"""Benchmark: index build time and search/ask latency on the seeds.

Prints a table; every figure is measured in this run, after warm-up, the
latencies as medians (p50) and 95th percentiles over all eval questions,
repeated `--repeat` times. Usage:

    .venv/bin/python benchmarks/bench_search.py [--repeat 3] [--paths seeds]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import Config  # noqa: E402
from rag.pipeline import Renvoi  # noqa: E402


def percentiles(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", nargs="*", type=Path, default=[ROOT / "seeds"])
    ap.add_argument("--questions", type=Path, default=ROOT / "eval" / "questions.jsonl")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--builds", type=int, default=3, help="index builds to time (median)")
    args = ap.parse_args()

    questions = [json.loads(l)["question"] for l in args.questions.read_text("utf-8").splitlines() if l.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(index_dir=Path(tmp) / "index")
        t0 = time.perf_counter()
        r = Renvoi.open(config, args.paths, progress=False, notify=lambda m: None, force=True)
        first_build = time.perf_counter() - t0  # includes loading (and maybe converting) the model
        builds = []
        for _ in range(args.builds):
            t0 = time.perf_counter()
            Renvoi.open(config, args.paths, progress=False, notify=lambda m: None, force=True)
            builds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        Renvoi.open(config, args.paths, progress=False)
        reload_s = time.perf_counter() - t0
        m = r.index.manifest

        for q in questions[:10]:  # warm-up
            r.search(q)
            r.ask(q)
        search_ms, ask_ms = [], []
        # Separate loops: ask reuses the embedding of the question it just searched,
        # which would hide the cost of embedding the query.
        for _ in range(args.repeat):
            for q in questions:
                t0 = time.perf_counter()
                r.search(q)
                search_ms.append((time.perf_counter() - t0) * 1000)
            for q in questions:
                t0 = time.perf_counter()
                r.ask(q)
                ask_ms.append((time.perf_counter() - t0) * 1000)

    s50, s95 = percentiles(search_ms)
    a50, a95 = percentiles(ask_ms)
    print(f"corpus: {m.n_documents} documents, {m.n_passages} passages, {m.n_sentences} sentences; model {m.model_id}")
    print(f"{'figure':<44}{'value':>12}")
    print(f"{'first build incl. model load (s)':<44}{first_build:>12.2f}")
    print(f"{'index build, model loaded (s, median of ' + str(args.builds) + ')':<44}{statistics.median(builds):>12.2f}")
    print(f"{'index build throughput (passages+sentences/s)':<44}{(m.n_passages + m.n_sentences) / statistics.median(builds):>12.1f}")
    print(f"{'reload of an unchanged index (s)':<44}{reload_s:>12.3f}")
    print(f"{'search p50 (ms)':<44}{s50:>12.1f}")
    print(f"{'search p95 (ms)':<44}{s95:>12.1f}")
    print(f"{'ask p50 (ms)':<44}{a50:>12.1f}")
    print(f"{'ask p95 (ms)':<44}{a95:>12.1f}")
    print(f"({len(questions)} questions x {args.repeat} runs after warm-up)")


if __name__ == "__main__":
    main()
