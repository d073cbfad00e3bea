"""Processes that embed a large build beside the parent, one per core: each runs
the int8 export on one ONNX Runtime thread and embeds the padded batches the
parent sends it. Operators on small batches share poorly across threads; whole
batches share across processes without any waiting between operators.

Run as a file (`python -P workers.py MODEL`), not as `-m rag.embed.workers`: a
worker imports numpy and ONNX Runtime only, not renvoi (-P: nor this folder's
modules in place of others).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np


def open_session(path: Path | str, threads: int) -> Any:
    """An ONNX Runtime session of the model file at `path` on `threads` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # the CPU provider warns about every unused fused kernel otherwise
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = threads
    # ONNX Runtime's threads spin between operators (its default): stopping them costs
    # about a tenth of an index build on an idle machine (benchmarks/bench_embed.py);
    # the one-thread sessions that answer questions in parallel (`Renvoi.share`) never spin.
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def infer(session: Any, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The model's output rows for one padded batch."""
    names = {i.name for i in session.get_inputs()}
    feed = {"input_ids": input_ids, "attention_mask": mask}
    return session.run(None, {k: v for k, v in feed.items() if k in names})[0]


class WorkerPool:
    """`n` worker processes on the model file `model_path`, started at once and kept
    until `close` (state: the processes)."""

    def __init__(self, model_path: Path, n: int):
        if n < 1:
            raise ValueError(f"a worker pool needs at least one process, got {n}")
        self.size = n
        self._procs = [
            # A session of their own: Ctrl-C reaches the parent alone, which reports it
            # in one line and closes the pool (a worker ends when its input closes).
            subprocess.Popen([sys.executable, "-P", str(Path(__file__)), str(model_path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
            for _ in range(n)
        ]  # fmt: skip

    def run(self, batches: Sequence[tuple[np.ndarray, np.ndarray]], done: Any = None) -> list[np.ndarray]:
        """The output of each (input_ids, mask) batch, in the order given; batches are
        handed out in that order to whichever worker is free. `done(i)` is called as
        batch `i` comes back (the progress bar)."""
        out: list[Any] = [None] * len(batches)
        lock = threading.Lock()
        pending = iter(range(len(batches)))
        errors: list[BaseException] = []

        def serve(proc: subprocess.Popen) -> None:
            try:
                while not errors:
                    with lock:
                        i = next(pending, None)
                    if i is None:
                        return
                    pickle.dump(batches[i], proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                    proc.stdin.flush()
                    out[i] = pickle.load(proc.stdout)
                    if done is not None:
                        with lock:
                            done(i)
            except BaseException as e:  # a dead worker: the parent raises it
                errors.append(e)

        threads = [threading.Thread(target=serve, args=(p,), daemon=True) for p in self._procs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise RuntimeError(f"an embedding worker process failed: {errors[0]!r}")
        return out

    def close(self) -> None:
        """End the workers: their input closed, they exit; killed if they do not."""
        for p in self._procs:
            try:
                p.stdin.close()
            except OSError:
                pass
        for p in self._procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            p.stdout.close()
        self._procs = []


def _serve(model_path: str, stdin: BinaryIO, stdout: BinaryIO) -> None:
    session = open_session(model_path, 1)
    while True:
        try:
            input_ids, mask = pickle.load(stdin)
        except EOFError:  # the parent closed the pool
            return
        pickle.dump(infer(session, input_ids, mask), stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.stdin.buffer, sys.stdout.buffer)
