"""Benchmark: adding one document to an index against rebuilding it, side by side.

The corpus is every supported file of some eval corpora (python-docs and
gimp-help by default: 24 documents); the added document is a Markdown page of
another corpus. Each round, interleaved so that a slow spell of the shared
machine hits every operation alike:

1. full build of the corpus (`--force`), the model already loaded;
2. add the document: an update reads and embeds it alone;
3. full rebuild of the corpus with the document (`--force`): what adding cost before;
4. change the document (one paragraph appended): an update re-embeds it alone;
5. remove it: an update embeds nothing.

Every operation is `rag.index.update_index` as `renvoi index` runs it (discovery
and hashing, reading, embedding, BM25, FAISS, writing and syncing the new
generation), with one embedding model loaded once for all (the default backend,
int8 ONNX); `--cli` also times `renvoi index` from a new process (model load
included) for the add and the full rebuild. Medians over `--rounds`.

    .venv/bin/python benchmarks/bench_incremental.py [--rounds 3] [--cli 1] [--corpora python-docs gimp-help]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mb  # noqa: E402

ADDED = ROOT / "eval" / "corpora" / "maint-guide" / "docs" / "de-first-workflow.md"
APPENDED = "\n\nDieser Absatz wurde für den Benchmark angehängt, um eine Änderung des Dokuments zu messen.\n"


def copy_corpus(names: list[str], target: Path) -> int:
    """Copy the supported files of the named eval corpora into `target`; how many."""
    from rag.files import discover

    target.mkdir(parents=True)
    n = 0
    for name in names:
        for f in discover([ROOT / "eval" / "corpora" / name / "docs"]).files:
            shutil.copy2(f.path, target / f"{name}-{f.path.name}")
            n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", nargs="+", default=["python-docs", "gimp-help"])
    ap.add_argument("--add", type=Path, default=ADDED, help="The document added, changed and removed.")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cli", type=int, default=1, help="Rounds of `renvoi index` in a new process (0: none).")
    ap.add_argument("--json", type=Path, help="Write the figures here too.")
    args = ap.parse_args()

    from rag.config import Config
    from rag.embed import load_embedder
    from rag.index import update_index
    from rag.pipeline import read_for_index

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        n_docs = copy_corpus(args.corpora, corpus)
        config = Config(index_dir=Path(tmp) / "index")
        t0 = time.perf_counter()
        embedder = load_embedder(config)
        load_s = time.perf_counter() - t0
        embedded: dict[str, int] = {}

        class Counting:
            """The loaded model, counting what it embeds for the current operation."""

            model_id, dim, backend = embedder.model_id, embedder.dim, getattr(embedder, "backend", "")

            def embed_passages(self, texts, batch_size=32, progress=False):
                embedded["texts"] = embedded.get("texts", 0) + len(texts)
                return embedder.embed_passages(texts, batch_size=batch_size)

        def timed(force: bool = False) -> tuple[float, int, object]:
            embedded.clear()
            t = time.perf_counter()
            index, changes = update_index([corpus], config, Counting, lambda files: read_for_index(files, print),
                                          force=force)
            return time.perf_counter() - t, embedded.get("texts", 0), (index, changes)

        added = corpus / f"added-{args.add.name}"
        ops = ["full build", "add one", "full rebuild with it", "change it", "remove it"]
        times: dict[str, list[float]] = {op: [] for op in ops}
        texts: dict[str, int] = {}
        sizes: dict[str, int] = {}
        timed(force=True)  # warm-up: first use of the model, the parser and the page cache
        for r in range(args.rounds):
            added.unlink(missing_ok=True)
            for op in ops:
                if op == "add one":
                    shutil.copy2(args.add, added)
                elif op == "change it":
                    added.write_text(added.read_text(encoding="utf-8") + APPENDED, encoding="utf-8")
                elif op == "remove it":
                    added.unlink()
                s, n, (index, changes) = timed(force=op.startswith("full"))
                times[op].append(s)
                texts[op] = n
                sizes[op] = index.manifest.n_passages
                if op in ("add one", "change it", "remove it"):
                    assert changes.rebuilt is None and len(changes.unchanged) == n_docs, changes
            print(f"round {r + 1}: " + ", ".join(f"{op} {times[op][-1]:.2f} s" for op in ops), file=sys.stderr)

        cli: dict[str, list[float]] = {"renvoi index (add one), new process": [],
                                       "renvoi index --force (full rebuild), new process": []}
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for _ in range(args.cli):
            added.unlink(missing_ok=True)
            subprocess.run([sys.executable, "-m", "rag", "index", str(corpus), "--index-dir", str(config.index_dir)],
                           check=True, capture_output=True, env=env, cwd=ROOT)
            shutil.copy2(args.add, added)
            for name, extra in zip(cli, ([], ["--force"])):
                t = time.perf_counter()
                subprocess.run([sys.executable, "-m", "rag", "index", str(corpus), "--index-dir",
                                str(config.index_dir), *extra], check=True, capture_output=True, env=env, cwd=ROOT)
                cli[name].append(time.perf_counter() - t)

    med = {op: statistics.median(v) for op, v in times.items()}
    full = med["full rebuild with it"]
    print(f"\ncorpus: {n_docs} documents of {', '.join(args.corpora)} (+ {args.add.name}); model loaded once "
          f"({embedder.model_id}, {getattr(embedder, 'backend', '')}, {load_s:.1f} s); "
          f"medians of {args.rounds} rounds; peak RSS {peak_rss_mb():.0f} MB\n")
    print("| operation | passages in the index | texts embedded | seconds | share of a full rebuild |")
    print("| --- | --- | --- | --- | --- |")
    for op in ops:
        print(f"| {op} | {sizes[op]} | {texts[op]} | {med[op]:.2f} | {med[op] / full:.0%} |")
    for name, values in cli.items():
        if values:
            print(f"| {name} | {sizes['full rebuild with it']} | | {statistics.median(values):.2f} | |")
    verdict = "met" if med["add one"] < 0.4 * full else "NOT met"
    print(f"\nadding one document: {med['add one'] / full:.0%} of a full rebuild (target < 40%: {verdict})")
    if args.json:
        args.json.write_text(json.dumps({"seconds": med, "texts": texts, "passages": sizes, "documents": n_docs,
                                         "cli_seconds": {k: statistics.median(v) for k, v in cli.items() if v}},
                                        indent=2) + "\n")


if __name__ == "__main__":
    main()
