"""Load test of the chat page: concurrent `gradio_client` users against a running `renvoi chat`.

Builds (or reuses) an index of --paths, computes the reference answers with
`renvoi ask --jsonl`, then starts `renvoi chat` on a free loopback port (a
subprocess) and runs --clients threads, each with its own `gradio_client.Client`,
asking --questions questions taken in turn from eval/questions.jsonl (each client
from its own offset) through the page's `/answer` endpoint, which returns the
object `renvoi ask --json` prints. It reports throughput, latency percentiles
(p50/p95/p99, per request, queueing included), failed requests, and whether every
answer equals the reference for the same question (answer text, abstention and
cited passage ids, in order). It stops by itself; --timeout bounds the whole run.
Exit code 0 when every request succeeded and matched, 1 otherwise.

Usage:

    .venv/bin/python benchmarks/load_chat.py [--clients 20] [--questions 25] [--paths seeds]
        [--index-dir DIR] [--timeout 1200] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _common import free_port, question_texts, renvoi, stop  # noqa: E402

from ui.app import ASK_CONCURRENCY, QUEUE_MAX_SIZE  # noqa: E402  (light: gradio is imported only to build the page)


@dataclass(frozen=True)
class Request:
    client: int
    question: int  # index into the question list
    start: float  # seconds since the load began
    seconds: float
    error: str | None
    answer: dict | None


def signature(answer: dict) -> tuple:
    """What must agree between the page and the command line for one question."""
    return (answer["answer"], answer["abstained"], tuple(c["passage_id"] for c in answer["citations"]))


def reference_answers(questions: list[str], index_dir: Path, env: dict) -> list[dict]:
    """`renvoi ask --jsonl` over the questions, in order."""
    proc = subprocess.run(renvoi("ask", "--jsonl", "--index-dir", str(index_dir)), input="\n".join(questions) + "\n",
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"renvoi ask --jsonl failed ({proc.returncode}): {proc.stderr.strip()}")
    answers = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if len(answers) != len(questions):
        raise SystemExit(f"renvoi ask --jsonl gave {len(answers)} answers for {len(questions)} questions")
    return answers


def start_chat(index_dir: Path, port: int, env: dict, timeout: float) -> subprocess.Popen:
    proc = subprocess.Popen(renvoi("chat", "--port", str(port), "--index-dir", str(index_dir)), cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if "chat page at" in line:
                return proc
        if proc.poll() is not None:
            raise SystemExit(f"renvoi chat stopped ({proc.returncode}): {proc.stderr.read().strip()}")
    stop(proc)
    raise SystemExit(f"renvoi chat did not start within {timeout:.0f} s")


def client_loop(n: int, url: str, plan: list[int], questions: list[str], t0: float, deadline: float,
                request_timeout: float, out: list[Request]) -> None:
    from gradio_client import Client

    try:
        client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    except Exception as e:  # counted as failures of every planned request
        out.extend(Request(n, q, time.perf_counter() - t0, 0.0, f"connect: {type(e).__name__}: {e}", None) for q in plan)
        return
    for q in plan:
        if time.perf_counter() > deadline:
            out.append(Request(n, q, time.perf_counter() - t0, 0.0, "not sent: overall timeout", None))
            continue
        start = time.perf_counter()
        try:
            job = client.submit(question=questions[q], k=5, api_name="/answer")
            answer = job.result(timeout=max(1.0, min(request_timeout, deadline - start)))
            error = answer.get("error") if isinstance(answer, dict) else f"unexpected result {answer!r:.80}"
        except Exception as e:
            answer, error = None, f"{type(e).__name__}: {str(e)[:200]}"
        out.append(Request(n, q, start - t0, time.perf_counter() - start, error, answer))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20, help="concurrent clients (threads)")
    ap.add_argument("--questions", type=int, default=25, help="questions each client asks")
    ap.add_argument("--question-file", type=Path, default=ROOT / "eval" / "questions.jsonl")
    ap.add_argument("--paths", nargs="*", type=Path, default=[ROOT / "seeds"], help="what to index")
    ap.add_argument("--index-dir", type=Path, default=None, help="index folder (default: a temporary one)")
    ap.add_argument("--timeout", type=float, default=1200.0, help="bound on the whole run, in seconds")
    ap.add_argument("--request-timeout", type=float, default=300.0, help="bound on one request, in seconds")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures and every request here")
    args = ap.parse_args()
    if args.clients < 1 or args.questions < 1:
        raise SystemExit("--clients and --questions must be at least 1")
    if args.clients > QUEUE_MAX_SIZE:
        print(f"warning: {args.clients} clients exceed the page's queue ({QUEUE_MAX_SIZE}); "
              "requests beyond it are refused by design", file=sys.stderr)
    began = time.monotonic()
    hard_deadline = began + args.timeout
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT)}
    questions = question_texts(args.question_file)

    with tempfile.TemporaryDirectory(prefix="renvoi-load-") as tmp:
        index_dir = args.index_dir or Path(tmp) / "index"
        t = time.perf_counter()
        subprocess.run(renvoi("index", *map(str, args.paths), "--index-dir", str(index_dir)), cwd=ROOT, env=env,
                       check=True, capture_output=True, text=True)
        index_s = time.perf_counter() - t
        # Each client starts at its own offset, so together they cover the whole question set.
        step = max(1, len(questions) // args.clients)
        plans = [[(c * step + j) % len(questions) for j in range(args.questions)] for c in range(args.clients)]
        used = sorted({q for plan in plans for q in plan})
        t = time.perf_counter()
        reference = dict(zip(used, reference_answers([questions[q] for q in used], index_dir, env)))
        reference_s = time.perf_counter() - t

        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        server = start_chat(index_dir, port, env, timeout=max(10.0, hard_deadline - time.monotonic()))
        try:
            from gradio_client import Client

            warm = Client(url, verbose=False, analytics_enabled=False, download_files=False)
            warm.predict(question=questions[0], k=5, api_name="/answer")
            results: list[Request] = []
            per_client: list[list[Request]] = [[] for _ in range(args.clients)]  # one list per thread
            t0 = time.perf_counter()
            deadline = t0 + max(1.0, hard_deadline - time.monotonic())
            threads = [threading.Thread(target=client_loop, daemon=True,
                                        args=(c, url, plans[c], questions, t0, deadline, args.request_timeout,
                                              per_client[c]))
                       for c in range(args.clients)]
            for th in threads:
                th.start()
            for th in threads:
                th.join(timeout=max(0.0, deadline - time.perf_counter()) + args.request_timeout)
            wall = time.perf_counter() - t0
            hung = sum(th.is_alive() for th in threads)
            for part in per_client:
                results.extend(list(part))
        finally:
            stop(server)

    expected = args.clients * args.questions
    done = [r for r in results if r.error is None]
    failed = [r for r in results if r.error is not None]
    missing = expected - len(results)
    mismatched = [r for r in done if signature(r.answer) != signature(reference[r.question])]
    latencies = np.array([r.seconds for r in done]) * 1000
    figures = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "clients": args.clients,
        "questions_per_client": args.questions,
        "distinct_questions": len(used),
        "requests": expected,
        "succeeded": len(done),
        "failed": len(failed),
        "missing": missing,
        "threads_still_running": hung,
        "wall_s": round(wall, 2),
        "throughput_rps": round(len(done) / wall, 3) if wall else None,
        "latency_ms": {p: round(float(np.percentile(latencies, int(p[1:]))), 1) for p in ("p50", "p95", "p99")}
        if len(latencies) else {},
        "latency_max_ms": round(float(latencies.max()), 1) if len(latencies) else None,
        "mean_service_ms": round(wall * 1000 / len(done), 1) if done else None,
        "answers_equal_to_ask_jsonl": len(done) - len(mismatched),
        "answers_differing": len(mismatched),
        "ask_concurrency": ASK_CONCURRENCY,
        "queue_max_size": QUEUE_MAX_SIZE,
        "index_build_s": round(index_s, 1),
        "reference_s": round(reference_s, 1),
        "cpu_count": os.cpu_count(),
    }
    print(f"renvoi chat under load: {args.clients} clients x {args.questions} questions "
          f"({len(used)} distinct, from {args.question_file.name})")
    print(f"  requests     {len(done)}/{expected} succeeded, {len(failed)} failed, {missing} not run")
    print(f"  wall time    {wall:.1f} s, throughput {figures['throughput_rps']} answers/s "
          f"(about {figures['mean_service_ms']} ms of server time each, {ASK_CONCURRENCY} at a time)")
    if len(latencies):
        lat = figures["latency_ms"]
        print(f"  latency      p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms, p99 {lat['p99']:.0f} ms, "
              f"max {figures['latency_max_ms']:.0f} ms (queueing included)")
    print(f"  answers      {figures['answers_equal_to_ask_jsonl']}/{len(done)} equal to `renvoi ask --jsonl` "
          "(text, abstention, cited passage ids)")
    for r in failed[:5]:
        print(f"  failure      client {r.client}, question {r.question}: {r.error}")
    for r in mismatched[:5]:
        print(f"  differs      question {r.question}: {questions[r.question][:70]!r}")
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "requests": [
            {**asdict(r), "answer": signature(r.answer) if r.answer else None} for r in results]},
            ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if not failed and not missing and not mismatched and not hung else 1


if __name__ == "__main__":
    sys.exit(main())
