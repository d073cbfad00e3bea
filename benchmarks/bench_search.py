"""Benchmark: index build, search and ask latency, cold start, chat start, memory.

Every figure is measured in this run, after warm-up, as the median of several
runs (latencies: p50 and p95 over every eval question, `--repeat` times):

- index throughput: `Renvoi.open(force=True)` on the seeds in this process,
  model loaded (passages/s and embedded texts/s), and `renvoi index --force`
  from a new process;
- search and ask p50/p95 in this process (ask embeds its question);
- cold start: `renvoi ask "…"` and `renvoi search "…"` from a new process, the
  index already built, with the default backends and, side by side, with the
  sentence-transformers backend for questions (the default before);
- chat: time from starting `renvoi chat` to its first answer through the
  page's `/answer` API (gradio_client), and the page's memory then;
- peak RSS of each subprocess (a lean intermediate process reports
  `ru_maxrss` of its child, which Linux would otherwise inflate with the
  parent's own peak) and of the chat process (VmHWM).

    .venv/bin/python benchmarks/bench_search.py [--repeat 3] [--cold 5] [--chat 3] [--paths seeds]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _common import free_port, p50_p95, peak_rss_mb, question_texts, stop  # noqa: E402

QUESTION = "Pourquoi les affinités entre Trump et Poutine ne font-elles pas une alliance ?"
# Runs a command and prints its wall time and peak RSS; being small, it does
# not lend its own peak to the child's ru_maxrss.
MEASURE = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
    "wall = time.perf_counter() - t\n"
    "print(json.dumps({'code': p.returncode, 'wall_s': wall, 'err': p.stderr[-500:],\n"
    "                  'rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n"
)
# `python -m rag` with questions embedded by sentence-transformers, as before the engine became the default.
ST_QUERIES = (
    "import sys, rag.pipeline as p, rag.embed as e\n"
    "p._load_embedder = lambda c: e.load_embedder(c, 'sentence-transformers')\n"
    "from rag.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def measured(cmd: list[str], env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, env=env, cwd=ROOT)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result['err']}")
    return result


def chat_first_answer(index_dir: Path, env: dict, timeout_s: float = 300) -> dict:
    """Start `renvoi chat`; seconds until `/answer` returns its first answer, and its memory then."""
    from gradio_client import Client

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "rag", "chat", "--port", str(port), "--index-dir", str(index_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)  # fmt: skip
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"renvoi chat exited: {proc.stderr.read().decode()[-500:]}")
            if time.perf_counter() - t0 > timeout_s:
                raise RuntimeError("renvoi chat did not answer in time")
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        up = time.perf_counter() - t0
        client = Client(url, verbose=False)
        answer = client.predict(QUESTION, api_name="/answer")
        first = time.perf_counter() - t0
        if not isinstance(answer, dict) or "answer" not in answer:
            raise RuntimeError(f"unexpected /answer result: {str(answer)[:200]}")
        return {"page_up_s": up, "first_answer_s": first, "rss_mb": peak_rss_mb(proc.pid)}
    finally:
        stop(proc, signal.SIGTERM)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", nargs="*", type=Path, default=[ROOT / "seeds"])
    ap.add_argument("--questions", type=Path, default=ROOT / "eval" / "questions.jsonl")
    ap.add_argument("--repeat", type=int, default=3, help="Passes over the questions for search/ask latency.")
    ap.add_argument("--builds", type=int, default=3, help="Index builds to time (median).")
    ap.add_argument("--cold", type=int, default=5, help="Cold starts of each command (median).")
    ap.add_argument("--chat", type=int, default=3, help="Chat starts (median).")
    ap.add_argument("--json", type=Path, help="Write the figures here too.")
    args = ap.parse_args()

    from rag.config import Config
    from rag.pipeline import Renvoi

    questions = question_texts(args.questions)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    fig: dict[str, float | str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        paths = [str(p) for p in args.paths]
        # Subprocesses first, while this process is small.
        builds = [measured([sys.executable, "-m", "rag", "index", *paths, "--index-dir", str(index_dir), "--force"], env)
                  for _ in range(args.builds)]  # fmt: skip
        fig["renvoi index --force, new process (s)"] = statistics.median(b["wall_s"] for b in builds)
        fig["renvoi index --force, peak RSS (MB)"] = statistics.median(b["rss_mb"] for b in builds)
        ask = [sys.executable, "-m", "rag", "ask", QUESTION, "--index-dir", str(index_dir)]
        search = [sys.executable, "-m", "rag", "search", QUESTION, "--index-dir", str(index_dir)]
        st_ask = [sys.executable, "-c", ST_QUERIES, "ask", QUESTION, "--index-dir", str(index_dir)]
        cold: dict[str, list[dict]] = {"ask": [], "search": [], "ask, sentence-transformers questions": []}
        measured(ask, env)  # warm the page cache once, as for any repeated start
        for _ in range(args.cold):  # interleaved: a slow spell on the machine hits all three alike
            cold["ask"].append(measured(ask, env))
            cold["search"].append(measured(search, env))
            cold["ask, sentence-transformers questions"].append(measured(st_ask, env))
        for name, runs in cold.items():
            fig[f"renvoi {name}: cold start (s)"] = statistics.median(r["wall_s"] for r in runs)
            fig[f"renvoi {name}: peak RSS (MB)"] = statistics.median(r["rss_mb"] for r in runs)
        chats = [chat_first_answer(index_dir, env) for _ in range(args.chat)]
        fig["renvoi chat: page up (s)"] = statistics.median(c["page_up_s"] for c in chats)
        fig["renvoi chat: first answer (s)"] = statistics.median(c["first_answer_s"] for c in chats)
        fig["renvoi chat: RSS after first answer (MB)"] = statistics.median(c["rss_mb"] for c in chats)

        # In this process: builds with the model loaded, then latencies.
        config = Config(index_dir=index_dir)
        Renvoi.open(config, args.paths, progress=False, notify=lambda m: None, force=True)  # loads the model
        build_s = []
        for _ in range(args.builds):
            t0 = time.perf_counter()
            built = Renvoi.open(config, args.paths, progress=False, notify=lambda m: None, force=True)
            build_s.append(time.perf_counter() - t0)
        m = built.index.manifest
        build = statistics.median(build_s)
        fig["index build, model loaded (s)"] = build
        fig["index throughput (passages/s)"] = m.n_passages / build
        fig["index throughput (passages+sentences embedded/s)"] = (m.n_passages + m.n_sentences) / build
        # Questions are embedded by the backend that embedded the index (the int8 ONNX
        # export by default), in every process: one setup.
        one_shot = Renvoi.open(config, None, progress=False)
        setups = {f"questions on {one_shot.embedded_by}": one_shot}
        times: dict[tuple[str, str], list[float]] = {}
        for r in setups.values():
            for q in questions[:10]:  # warm-up
                r.search(q)
                r.ask(q)
        for _ in range(args.repeat):  # passes interleaved: a slow spell hits both alike
            for name, r in setups.items():
                for call in ("search", "ask"):
                    fn = getattr(r, call)
                    for q in questions:
                        t0 = time.perf_counter()
                        fn(q)
                        times.setdefault((call, name), []).append((time.perf_counter() - t0) * 1000)
        for (call, name), ms in times.items():
            fig[f"{call} p50 (ms), {name}"], fig[f"{call} p95 (ms), {name}"] = p50_p95(ms)
        embedder = type(one_shot.embedder).__name__

    print(f"corpus: {m.n_documents} documents, {m.n_passages} passages, {m.n_sentences} sentences; "
          f"model {m.model_id} ({embedder}); vectors {m.vector_index.get('passages', {}).get('type', 'flat')}")
    print(f"{len(questions)} questions x {args.repeat} passes; {args.cold} cold starts; {args.chat} chat starts; "
          f"{args.builds} builds (medians)")
    width = max(map(len, fig)) + 2
    for name, value in fig.items():
        print(f"{name:<{width}}{value:>10.2f}")
    if args.json:
        args.json.write_text(json.dumps(fig, indent=2) + "\n")


if __name__ == "__main__":
    main()
