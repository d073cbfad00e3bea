"""Embedding throughput: the int8 ONNX path as it ran before issue 19 and as it
runs now, side by side in one run, with the agreement of their vectors.

- old path: the int8 export as `rag/embed.py` ran it at main 7dd9dd5 (copied
  below, `old_embed`): ONNX Runtime's default intra-op threads with spinning,
  batches of 32 texts sorted by length, every text embedded even when repeated;
- new path: `rag.embed.OnnxEmbedder` today: one intra-op thread per core that
  sleeps rather than spins, each distinct text embedded once, length-sorted
  batches capped in padded tokens, and, for a large build, one worker process
  per core (`workers`; started inside the timed region, so its start-up counts).

Corpora (what `Index.build` embeds: every passage's searchable text, then its
sentences):

- seeds: `seeds/*.txt`, all of it;
- corpus1000: a synthetic but realistic 1,000-document corpus made from the
  real corpora under `eval/corpora/*/docs` (HTML, Markdown, text and Word files;
  PDFs left out to bound ingestion time): their passages in reading order are
  dealt into 1,000 documents of `--per-doc` consecutive passages, going round
  the list again when it runs out (so some passages recur, as boilerplate does
  in a real archive); `--limit` texts are drawn from it at random (seeded) and
  embedded, which bounds the run.

Each corpus's texts are cut in two halves, run old, new, new, old (ABBA), so a
change of load on this shared machine weighs on both paths alike; texts/s is all
texts over the summed time of each path (the vectors are made once per path).
CPU: texts per CPU second of the process and its worker processes (on a
machine whose cores other jobs share, wall time is mostly their doing).
Agreement: cosine of each text's old and new vectors (min, mean), and of each
with the float model (sentence-transformers, float32) on `--reference` texts.

    .venv/bin/python benchmarks/bench_embed.py [--limit 400] [--reference 48] [--workers N]

Numbers depend on the machine and on what else runs on it; this asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import embed  # noqa: E402
from rag.config import Config  # noqa: E402
from rag.embed.base import E5_PROMPTS, _check_texts, _combine, _fit_unsplit, _normalize_rows, split_windows  # noqa: E402

CORPORA = ROOT / "eval" / "corpora"


# ---------------------------------------------------------------- the old path (main 7dd9dd5)


class OldOnnx:
    """The int8 export run as before issue 19 (rag/embed.py, OnnxEmbedder.load/_encode/_run)."""

    def __init__(self, config: Config):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = embed.ensure_onnx_model(config.cache_dir)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(folder / embed.ONNX_NAME), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        self.max_tokens = 512

    def embed_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        texts, prompt = _check_texts(texts), E5_PROMPTS["passage"]
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        if _fit_unsplit(prompt, texts, self.max_tokens):
            return self._run([prompt + t for t in texts], batch_size)
        enc = self._tokenizer.encode_batch([prompt + t for t in texts], add_special_tokens=False)
        limit = self.max_tokens - 2 - 4
        windows = split_windows([(len(t), list(e.offsets)) for t, e in zip(texts, enc)], len(prompt), limit)
        pieces = [(prompt if w.first else "") + texts[w.owner][w.start : w.end] for w in windows]
        vecs = self._run(pieces, batch_size)
        if len(windows) == len(texts):
            return vecs
        return _combine(windows, vecs, len(texts))

    def _run(self, texts: list[str], batch_size: int) -> np.ndarray:
        enc = self._tokenizer.encode_batch(texts)
        ids = [e.ids[: self.max_tokens] for e in enc]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.empty((len(ids), self.dim), np.float32)
        for a in range(0, len(order), batch_size):
            rows = order[a : a + batch_size]
            width = max(len(ids[i]) for i in rows)
            input_ids = np.ones((len(rows), width), np.int64)
            mask = np.zeros((len(rows), width), np.int64)
            for j, i in enumerate(rows):
                input_ids[j, : len(ids[i])] = ids[i]
                mask[j, : len(ids[i])] = 1
            feed = {"input_ids": input_ids, "attention_mask": mask}
            out[rows] = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        return _normalize_rows(out)


# ---------------------------------------------------------------- corpora


def index_texts(passages, docs) -> list[list[str]]:
    """Per passage: its searchable text, then its sentences (what Index.build embeds)."""
    from rag.index import passage_sentences, searchable_text

    sentences, owner = passage_sentences(passages, {d.id: d for d in docs})
    out = [[searchable_text(p)] for p in passages]
    for s, i in zip(sentences, owner):
        out[i].append(s)
    return out


def seeds_texts() -> list[str]:
    from rag.ingest import citable_passages, ingest_paths

    docs = ingest_paths([ROOT / "seeds"]).documents
    passages = [p for d in docs for p in citable_passages(d)]
    return [t for group in index_texts(passages, docs) for t in group]


def corpus_texts(n_docs: int, per_doc: int, limit: int, seed: int) -> tuple[list[str], str]:
    from rag.ingest import citable_passages, ingest_paths

    files = sorted(p for p in CORPORA.glob("*/docs/**/*") if p.is_file() and p.suffix.lower() != ".pdf")
    docs = ingest_paths(files).documents
    passages = [p for d in docs for p in citable_passages(d)]
    groups = index_texts(passages, docs)
    corpus = [[t for k in range(per_doc) for t in groups[(d * per_doc + k) % len(groups)]] for d in range(n_docs)]
    texts = [t for doc in corpus for t in doc]
    drawn = random.Random(seed).sample(texts, min(limit, len(texts)))
    note = (f"{len(files)} files -> {len(docs)} documents, {len(passages)} passages; {n_docs} documents of "
            f"{per_doc} passages = {len(texts)} texts ({len(set(texts))} distinct); {len(drawn)} drawn")
    return drawn, note


# ---------------------------------------------------------------- measuring


def cpu_s() -> float:
    """CPU seconds used so far by this process and its ended child processes (the
    new path's workers end with each call and are waited for)."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(embedder, texts: list[str]) -> tuple[np.ndarray, float, float]:
    """Vectors, wall seconds, CPU seconds (workers included)."""
    c, t = cpu_s(), time.perf_counter()
    v = embedder.embed_passages(texts)
    return v, time.perf_counter() - t, cpu_s() - c


def compare(name: str, texts: list[str], old: OldOnnx, new, reference, n_ref: int, rows: list) -> None:
    half = len(texts) // 2
    parts = [texts[:half], texts[half:]]
    old_v, new_v = [None, None], [None, None]
    old_s = new_s = old_cpu = new_cpu = 0.0
    for path, k in (("old", 0), ("new", 0), ("new", 1), ("old", 1)):  # ABBA
        if path == "old":
            old_v[k], s, c = timed(old, parts[k])
            old_s, old_cpu = old_s + s, old_cpu + c
        else:
            new_v[k], s, c = timed(new, parts[k])
            new_s, new_cpu = new_s + s, new_cpu + c
        print(f"  {name}: {path} path, half {k + 1}: {len(parts[k])} texts in {s:.1f} s ({c:.1f} CPU s)", flush=True)
    o, n = np.vstack(old_v), np.vstack(new_v)
    cos = np.sum(o * n, axis=1)
    sample = random.Random(1).sample(range(len(texts)), min(n_ref, len(texts)))
    ref = reference.embed_passages([texts[i] for i in sample]) if reference is not None and sample else None
    ref_old = np.sum(o[sample] * ref, axis=1) if ref is not None else None
    ref_new = np.sum(n[sample] * ref, axis=1) if ref is not None else None
    rows.append((name, len(texts), len(set(texts)), len(texts) / old_s, len(texts) / new_s, old_s / new_s,
                 len(texts) / old_cpu, len(texts) / new_cpu, float(cos.min()), float(cos.mean()), ref_old, ref_new))


def load_avg() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=400, help="texts drawn from the 1,000-document corpus (default 400)")
    ap.add_argument("--docs", type=int, default=1000, help="documents in the synthetic corpus (default 1000)")
    ap.add_argument("--per-doc", type=int, default=4, help="passages per synthetic document (default 4)")
    ap.add_argument("--reference", type=int, default=48,
                    help="texts per corpus also embedded by the float model for agreement (0: none; default 48)")
    ap.add_argument("--workers", type=int, default=None,
                    help="worker processes of the new path on the 1,000-document corpus (default: one per core)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for flag in ("limit", "docs", "per_doc"):
        if getattr(args, flag) < 1:
            ap.error(f"--{flag.replace('_', '-')} must be at least 1")

    import onnxruntime

    config = Config()
    print(f"bench_embed: {platform.python_version()}, onnxruntime {onnxruntime.__version__}, "
          f"{embed.cores()} cores, load average {load_avg()} at start", flush=True)
    t0 = time.perf_counter()
    seeds = seeds_texts()
    corpus, note = corpus_texts(args.docs, args.per_doc, args.limit, args.seed)
    print(f"corpus1000: {note} (read in {time.perf_counter() - t0:.0f} s)", flush=True)

    old = OldOnnx(config)
    # A real build decides workers by its size (PARALLEL_MIN_TEXTS); the seeds are
    # below it, a 1,000-document build above it, however few texts are drawn here.
    new_small = embed.OnnxEmbedder.load(config, check=False)
    new_large = embed.OnnxEmbedder.load(config, check=False, workers=args.workers or embed.cores())
    reference = embed.Embedder.load(config) if args.reference else None
    for e in (old, new_small):  # warm-up, untimed
        e.embed_passages(seeds[:16])

    rows: list = []
    compare("seeds", seeds, old, new_small, reference, args.reference, rows)
    compare("corpus1000", corpus, old, new_large, reference, args.reference, rows)
    new_large.close()

    print(f"\nload average {load_avg()} at end; total {time.perf_counter() - t0:.0f} s; "
          f"new path on corpus1000: {new_large._workers} worker processes\n")
    print("| corpus | texts (distinct) | old texts/s | new texts/s | new / old | old texts/CPU s | new texts/CPU s "
          "| cos old-new min / mean | cos float-old min / mean | cos float-new min / mean |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, n, distinct, old_r, new_r, ratio, old_c, new_c, cmin, cmean, ro, rn in rows:
        fo = f"{ro.min():.4f} / {ro.mean():.4f}" if ro is not None else "-"
        fn = f"{rn.min():.4f} / {rn.mean():.4f}" if rn is not None else "-"
        print(f"| {name} | {n} ({distinct}) | {old_r:.1f} | {new_r:.1f} | {ratio:.2f}x | {old_c:.1f} | {new_c:.1f} "
              f"| {cmin:.4f} / {cmean:.4f} "
              f"| {fo} | {fn} |")


if __name__ == "__main__":
    main()
