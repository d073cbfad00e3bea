"""Helpers the benchmark scripts share: question lists, percentiles, peak memory,
free loopback ports and stopping a server. Measurement only; nothing here is
part of renvoi.
"""

from __future__ import annotations

import json
import signal
import sys
import socket
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "eval" / "questions.jsonl"


def question_texts(path: Path = QUESTIONS) -> list[str]:
    """The "question" of every line of a JSONL file (the eval set by default)."""
    questions = [json.loads(line)["question"] for line in Path(path).read_text("utf-8").splitlines() if line.strip()]
    if not questions:
        raise SystemExit(f"no question in {path}")
    return questions


def p50_p95(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def peak_rss_mb(pid: int | str = "self") -> float:
    """Peak RSS of a process in MB. VmHWM, not ru_maxrss: Linux carries ru_maxrss
    over exec from the parent, whose own peak would then count."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    """Stop a server as Ctrl+C would; kill it if it has not stopped after 20 s."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def renvoi(*args: str) -> list[str]:
    """The command line of `renvoi ARGS…` run by this interpreter (this checkout's rag on its path)."""
    return [sys.executable, "-m", "rag", *args]
