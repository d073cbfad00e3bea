"""Load benchmark of the HTTP API (`renvoi serve`) and of the chat page (`renvoi chat`), loopback only.

Builds (or reuses) an index of --paths, computes the reference answers with
`renvoi ask --jsonl` over the eval questions, then, for each server in turn (a
subprocess on a free loopback port):

- 20 clients (threads, each with its own HTTP client) ask --questions questions
  each, from their own offsets in the question list: failed requests, latency
  percentiles, and whether every answer is exactly the object `ask --jsonl`
  printed for the same question (every field but `timings_ms`);
- throughput with 1 client and with 8 concurrent clients over the same
  --scaling-requests questions, interleaved over --rounds rounds (medians shown),
  and their ratio.

The API is called on `POST /v1/ask`; the page through its `/answer` endpoint
with `gradio_client` (the page's own HTTP API when gradio_client is missing).
Bounded by --timeout; exit code 0 when every request succeeded and matched.

Usage:

    .venv/bin/python benchmarks/bench_serve.py [--paths seeds] [--index-dir DIR] [--clients 20]
        [--questions 10] [--scaling-requests 64] [--rounds 2] [--only api|chat] [--timeout 1500]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import free_port, question_texts, renvoi, stop  # noqa: E402

Ask = Callable[[str], dict]  # one client's way of asking a question


@dataclass(frozen=True)
class Request:
    question: int
    seconds: float
    error: str | None
    answer: dict | None


def comparable(answer: dict) -> dict:
    """The answer without its timings: what must be identical to `ask --jsonl`'s."""
    return {k: v for k, v in answer.items() if k != "timings_ms"}


def reference_answers(questions: list[str], index_dir: Path, env: dict) -> list[dict]:
    proc = subprocess.run(renvoi("ask", "--jsonl", "--index-dir", str(index_dir)), input="\n".join(questions) + "\n",
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"renvoi ask --jsonl failed ({proc.returncode}): {proc.stderr.strip()}")
    answers = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if len(answers) != len(questions):
        raise SystemExit(f"renvoi ask --jsonl gave {len(answers)} answers for {len(questions)} questions")
    return answers


# ---------------------------------------------------------------- the servers


def start(argv: list[str], ready: Callable[[], bool], env: dict, timeout: float) -> subprocess.Popen:
    """Start a server and wait until `ready()`; SystemExit when it stops or is not ready in time."""
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{' '.join(argv[2:4])} stopped ({proc.returncode}): {proc.stderr.read().strip()}")
        try:
            if ready():
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    stop(proc)
    raise SystemExit(f"{' '.join(argv[2:4])} was not ready within {timeout:.0f} s")


def api_client(url: str, timeout: float) -> Callable[[], Ask]:
    def make() -> Ask:
        client = httpx.Client(base_url=url, timeout=timeout)

        def ask(question: str) -> dict:
            r = client.post("/v1/ask", json={"question": question})
            body = r.json()
            if r.status_code != 200:
                raise RuntimeError(f"HTTP {r.status_code}: {body.get('error')}")
            return body

        return ask

    return make


def page_client(url: str, timeout: float) -> tuple[Callable[[], Ask], str]:
    """A factory of page clients (gradio_client, else the page's HTTP API), and which one."""
    try:
        from gradio_client import Client
    except ImportError:
        Client = None

    if Client is not None:
        def make() -> Ask:
            client = Client(url, verbose=False, analytics_enabled=False, download_files=False)

            def ask(question: str) -> dict:
                answer = client.submit(question=question, k=5, api_name="/answer").result(timeout=timeout)
                if not isinstance(answer, dict) or "error" in answer:
                    raise RuntimeError(f"page error: {answer!r:.120}")
                return answer

            return ask

        return make, "gradio_client"

    def make_http() -> Ask:  # Gradio's HTTP API: post the call, then read its result as server-sent events
        client = httpx.Client(base_url=url, timeout=timeout)

        def ask(question: str) -> dict:
            event = client.post("/gradio_api/call/answer", json={"data": [question, 5]}).json()["event_id"]
            with client.stream("GET", f"/gradio_api/call/answer/{event}") as r:
                kind = None
                for line in r.iter_lines():
                    if line.startswith("event:"):
                        kind = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and kind in ("complete", "error"):
                        data = json.loads(line[5:])
                        if kind == "error" or not isinstance(data, list) or "error" in data[0]:
                            raise RuntimeError(f"page error: {data!r:.120}")
                        return data[0]
            raise RuntimeError("the page closed the stream without a result")

        return ask

    return make_http, "HTTP API (gradio_client not installed)"


# ---------------------------------------------------------------- load


def run_clients(make: Callable[[], Ask], plans: list[list[int]], questions: list[str],
                deadline: float) -> tuple[list[Request], float]:
    """Each plan asked in order by its own client thread, all at once; the requests and the wall time."""
    results: list[list[Request]] = [[] for _ in plans]

    def loop(c: int) -> None:
        try:
            ask = make()
        except Exception as e:
            results[c] = [Request(q, 0.0, f"connect: {type(e).__name__}: {e}", None) for q in plans[c]]
            return
        for q in plans[c]:
            if time.monotonic() > deadline:
                results[c].append(Request(q, 0.0, "not sent: overall timeout", None))
                continue
            t = time.perf_counter()
            try:
                answer, error = ask(questions[q]), None
            except Exception as e:
                answer, error = None, f"{type(e).__name__}: {str(e)[:160]}"
            results[c].append(Request(q, time.perf_counter() - t, error, answer))

    threads = [threading.Thread(target=loop, args=(c,), daemon=True) for c in range(len(plans))]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=max(1.0, deadline - time.monotonic()) + 5)
    wall = time.perf_counter() - t0
    done = [r for part in results for r in part]
    missing = sum(len(p) for p in plans) - len(done)
    done += [Request(-1, 0.0, "client thread still running at the deadline", None)] * missing
    return done, wall


def throughput(make: Callable[[], Ask], clients: int, picks: list[int], questions: list[str],
               deadline: float) -> tuple[float, int]:
    """Answers per second over `picks` shared by `clients` threads taking the next question when free."""
    todo: queue.Queue[int] = queue.Queue()
    for q in picks:
        todo.put(q)
    errors = [0] * clients
    asks = [make() for _ in range(clients)]
    # the clients are made (a page client fetches the page's config) before the clock starts

    def loop(c: int) -> None:
        while time.monotonic() < deadline:
            try:
                q = todo.get_nowait()
            except queue.Empty:
                return
            try:
                asks[c](questions[q])
            except Exception:
                errors[c] += 1

    threads = [threading.Thread(target=loop, args=(c,), daemon=True) for c in range(clients)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=max(1.0, deadline - time.monotonic()) + 5)
    wall = time.perf_counter() - t0
    return (len(picks) - todo.qsize() - sum(errors)) / wall, sum(errors) + todo.qsize()


def measure(name: str, make: Callable[[], Ask], questions: list[str], reference: dict[int, dict],
            args: argparse.Namespace, deadline: float) -> dict:
    make()(questions[0])  # warm-up: the models are loaded and the first answer made
    step = max(1, len(questions) // args.clients)
    plans = [[(c * step + j) % len(questions) for j in range(args.questions)] for c in range(args.clients)]
    results, wall = run_clients(make, plans, questions, deadline)
    done = [r for r in results if r.error is None]
    failed = [r for r in results if r.error is not None]
    differing = [r for r in done if comparable(r.answer) != comparable(reference[r.question])]
    lat = np.array([r.seconds for r in done]) * 1000

    picks = [j % len(questions) for j in range(args.scaling_requests)]
    rates: dict[int, list[float]] = {1: [], 8: []}
    scaling_failures = 0
    for _ in range(args.rounds):
        for clients in (1, 8):  # interleaved: a change of load on the machine touches both
            rate, bad = throughput(make, clients, picks, questions, deadline)
            rates[clients].append(rate)
            scaling_failures += bad
    one, eight = statistics.median(rates[1]), statistics.median(rates[8])
    figures = {
        "server": name, "clients": args.clients, "requests": len(results), "succeeded": len(done),
        "failed": len(failed), "answers_identical_to_ask_jsonl": len(done) - len(differing),
        "answers_differing": len(differing), "wall_s": round(wall, 2),
        "throughput_20_clients_rps": round(len(done) / wall, 1) if wall else None,
        "latency_ms": {p: round(float(np.percentile(lat, p)), 1) for p in (50, 95, 99)} if len(lat) else {},
        "throughput_1_client_rps": round(one, 1), "throughput_8_clients_rps": round(eight, 1),
        "speedup_8_vs_1": round(eight / one, 2) if one else None, "rounds": {k: [round(x, 1) for x in v]
                                                                              for k, v in rates.items()},
        "scaling_failures": scaling_failures, "load_average_after": round(os.getloadavg()[0], 1),
    }
    print(f"\n{name}")
    print(f"  {args.clients} clients x {args.questions} questions: {len(done)}/{len(results)} succeeded, "
          f"{len(failed)} failed; {figures['throughput_20_clients_rps']} answers/s; latency p50 "
          f"{figures['latency_ms'].get(50, float('nan')):.0f} ms, p95 {figures['latency_ms'].get(95, float('nan')):.0f} ms, "
          f"p99 {figures['latency_ms'].get(99, float('nan')):.0f} ms")
    print(f"  answers identical to `renvoi ask --jsonl` (all fields but timings_ms): "
          f"{figures['answers_identical_to_ask_jsonl']}/{len(done)}")
    print(f"  throughput over {args.scaling_requests} questions, median of {args.rounds} interleaved rounds: "
          f"1 client {one:.1f} answers/s, 8 clients {eight:.1f} answers/s -> {figures['speedup_8_vs_1']}x "
          f"(rounds: 1 client {figures['rounds'][1]}, 8 clients {figures['rounds'][8]}; "
          f"{scaling_failures} failed; load average {figures['load_average_after']} on {os.cpu_count()} cores)")
    for r in failed[:5]:
        print(f"  failure      question {r.question}: {r.error}")
    for r in differing[:5]:
        print(f"  differs      question {r.question}: {questions[r.question][:70]!r}")
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", nargs="*", type=Path, default=[ROOT / "seeds"], help="what to index")
    ap.add_argument("--index-dir", type=Path, default=None, help="index folder (default: a temporary one)")
    ap.add_argument("--clients", type=int, default=20, help="concurrent clients of the load phase")
    ap.add_argument("--questions", type=int, default=10, help="questions each client asks in the load phase")
    ap.add_argument("--scaling-requests", type=int, default=64, help="questions of each throughput measurement")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds of the 1 vs 8 clients comparison")
    ap.add_argument("--only", choices=("api", "chat"), default=None, help="measure one server only")
    ap.add_argument("--timeout", type=float, default=1500.0, help="bound on the whole run, in seconds")
    ap.add_argument("--request-timeout", type=float, default=120.0, help="bound on one request, in seconds")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    if min(args.clients, args.questions, args.scaling_requests, args.rounds) < 1:
        raise SystemExit("--clients, --questions, --scaling-requests and --rounds must be at least 1")
    deadline = time.monotonic() + args.timeout
    env = {k: v for k, v in os.environ.items() if k != "RENVOI_API_KEY"}
    env.update(GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(ROOT))
    questions = question_texts()
    print(f"bench_serve: {len(questions)} eval questions, index of {', '.join(str(p) for p in args.paths)}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    print(f"  {' '.join([Path(sys.executable).name, *sys.argv])}")
    all_figures = []
    with tempfile.TemporaryDirectory(prefix="renvoi-bench-serve-") as tmp:
        index_dir = args.index_dir or Path(tmp) / "index"
        subprocess.run(renvoi("index", *map(str, args.paths), "--index-dir", str(index_dir)), cwd=ROOT, env=env,
                       check=True, capture_output=True, text=True)
        t = time.perf_counter()
        reference = dict(enumerate(reference_answers(questions, index_dir, env)))
        print(f"  reference: `renvoi ask --jsonl` over the {len(questions)} questions in "
              f"{time.perf_counter() - t:.1f} s (one process, model load included)")
        if args.only in (None, "api"):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            server = start(renvoi("serve", "--port", str(port), "--index-dir", str(index_dir)),
                           lambda: httpx.get(f"{url}/v1/health", timeout=2).status_code == 200, env,
                           max(10.0, deadline - time.monotonic()))
            try:
                all_figures.append(measure("renvoi serve (POST /v1/ask)", api_client(url, args.request_timeout),
                                           questions, reference, args, deadline))
            finally:
                stop(server)
        if args.only in (None, "chat"):
            port = free_port()
            url = f"http://127.0.0.1:{port}/"
            server = start(renvoi("chat", "--port", str(port), "--index-dir", str(index_dir)),
                           lambda: httpx.get(url, timeout=2).status_code == 200, env,
                           max(10.0, deadline - time.monotonic()))
            try:
                from ui.app import ASK_CONCURRENCY

                make, how = page_client(url, args.request_timeout)
                all_figures.append(measure(f"renvoi chat (the page's /answer through {how}; "
                                           f"{ASK_CONCURRENCY} answers at a time)", make, questions, reference,
                                           args, deadline))
            finally:
                stop(server)
    if args.json:
        args.json.write_text(json.dumps(all_figures, indent=1), encoding="utf-8")
    ok = all(f["failed"] == 0 and f["answers_differing"] == 0 and f["scaling_failures"] == 0 for f in all_figures)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
