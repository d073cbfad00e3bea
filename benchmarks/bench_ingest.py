"""Ingestion cost against the size of a file: seconds and peak memory per MB of input.

Builds text files of 1, 4 and 16 MB (by default) from paragraphs of the
evaluation corpora's Markdown documents (real prose, shuffled, numbered so that
no two paragraphs repeat), then runs `renvoi inspect` on each in its own
process and prints wall time and peak RSS, per MB. Ingestion is linear when the
seconds per MB stay flat as the file grows.

    .venv/bin/python benchmarks/bench_ingest.py [--sizes 1 4 16] [--work /tmp/renvoi-ingest]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEASURE = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
    "print(json.dumps({'code': p.returncode, 'wall_s': time.perf_counter() - t, 'err': p.stderr[-300:],\n"
    "                  'rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n"
)


def paragraphs() -> list[str]:
    out = []
    for f in sorted((ROOT / "eval" / "corpora").rglob("*.md")):
        out += [p.strip() for p in f.read_text(encoding="utf-8").split("\n\n")
                if len(p.strip()) > 80 and not p.lstrip().startswith(("#", "|", "```", "[^", "-", "*"))]
    return out


def write_text(path: Path, mb: float, source: list[str], seed: int = 0) -> None:
    """A hard-wrapped-free text file of about `mb` MB: a title, then sections of paragraphs."""
    rng = random.Random(seed)
    parts, size, i = ["A long document assembled for the ingestion benchmark\n"], 0, 0
    while size < mb * 1e6:
        if i % 25 == 0:
            parts.append(f"\nPart {i // 25 + 1}\n")
        text = f"{rng.choice(source)} (paragraph {i + 1})"
        parts.append(f"\n{text}\n")
        size += len(text.encode()) + 2
        i += 1
    path.write_text("".join(parts), encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[1, 4, 16], help="File sizes in MB.")
    ap.add_argument("--work", type=Path, default=Path("/tmp/renvoi-ingest"))
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    source = paragraphs()
    rows = []
    for mb in args.sizes:
        path = args.work / f"text-{mb:g}mb.txt"
        write_text(path, mb, source)
        real_mb = path.stat().st_size / 1e6
        cmd = [sys.executable, "-m", "rag", "inspect", str(path), "--max-file-mb", str(real_mb + 1)]
        run = json.loads(subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True,
                                        cwd=ROOT, check=True).stdout)
        if run["code"] != 0:
            raise SystemExit(f"inspect failed on {path}: {run['err']}")
        rows.append((real_mb, run["wall_s"], run["rss_mb"]))
    base = rows[0][1] / rows[0][0]
    print(f"{'size MB':>8} {'seconds':>8} {'s per MB':>9} {'vs first':>9} {'peak RSS MB':>12} {'RSS MB per MB':>14}")
    for mb, s, rss in rows:
        print(f"{mb:8.2f} {s:8.1f} {s / mb:9.2f} {s / mb / base:8.2f}x {rss:12.0f} {rss / mb:14.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
