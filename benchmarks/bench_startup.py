"""Benchmark: cold starts from a new process, with the index already built.

Prints, as medians over `--runs` runs (after one warm-up run that also builds
the index and the converted model cache):
- `renvoi ask "…"`: wall time of the whole process, and its peak RSS;
- `renvoi chat`: time from starting the process until the page has answered
  its first question through the `/answer` API (polled with gradio_client),
  and the server's peak RSS.

    .venv/bin/python benchmarks/bench_startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RENVOI = [sys.executable, "-m", "rag"]
QUESTION = "Quels pays ont rejoint l'OTAN en 1999 ?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    """Peak RSS (VmHWM) of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def time_ask(index_dir: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run([*RENVOI, "ask", QUESTION, "--index-dir", str(index_dir)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # max over children so far
    return elapsed, max(before, after) / 1024


def time_chat(index_dir: Path, timeout: float = 180.0) -> tuple[float, float]:
    from gradio_client import Client

    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([*RENVOI, "chat", "--port", str(port), "--index-dir", str(index_dir)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        while True:
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError("the chat page did not answer in time")
            if proc.poll() is not None:
                raise RuntimeError(f"renvoi chat exited with {proc.returncode}")
            try:
                client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
                result = client.predict(question=QUESTION, k=5, api_name="/answer")
                break
            except Exception:  # not listening yet
                time.sleep(0.1)
        elapsed = time.perf_counter() - t0
        if not result.get("citations"):
            raise RuntimeError(f"unexpected first answer: {result}")
        return elapsed, peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        subprocess.run([*RENVOI, "index", "seeds", "--index-dir", str(index_dir)], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time_ask(index_dir)  # warm-up: file cache, converted model
        asks = [time_ask(index_dir) for _ in range(args.runs)]
        chats = [time_chat(index_dir) for _ in range(args.runs)]
    print(f"cold starts on the seeds, index built; median of {args.runs} runs "
          f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'default')})")
    print(f"{'figure':<52}{'value':>10}")
    print(f"{'renvoi ask, whole process (s)':<52}{statistics.median(a for a, _ in asks):>10.2f}")
    print(f"{'renvoi ask, peak RSS (MB)':<52}{max(r for _, r in asks):>10.0f}")
    print(f"{'renvoi chat, start to first answer (s)':<52}{statistics.median(c for c, _ in chats):>10.2f}")
    print(f"{'renvoi chat, peak RSS of the server (MB)':<52}{statistics.median(r for _, r in chats):>10.0f}")


if __name__ == "__main__":
    main()
