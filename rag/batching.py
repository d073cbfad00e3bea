"""Questions embedded together when several are asked at once (the HTTP API, the chat page).

`QueryBatcher` wraps a loaded embedder for a pipeline shared between threads.
When the embedder gives every text the same vector in a batch as alone
(`batch_invariant`, checked on probe questions when the batcher is made), one
worker thread embeds the questions: those that arrive while it is busy, or
within `wait_ms` of the first, go to the model as one batch of at most
`max_batch`. When it does not — the int8 ONNX export quantizes its activations
with one scale per batch, so a question's vector, and about one answer in six of
the eval set, would depend on which questions it was batched with — questions
are embedded one by one, concurrently where the backend's runtime is safe to
call from several threads (ONNX Runtime) and one at a time otherwise: an answer
never depends on the load. The batcher keeps state (its queue and worker), hence
a class; it neither ranks nor composes.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

# Backends whose runtime may embed from several threads at once: ONNX Runtime's
# `InferenceSession.run` is thread-safe and the tokenizer is only read. The others
# (a C engine, a torch model behind a tokenizer that reconfigures itself on each
# call) are called from one thread at a time.
CONCURRENT_BACKENDS = ("onnx-int8",)
MAX_BATCH = 16
WAIT_MS = 2.0
# Questions of different lengths, so that a batch pads some of them.
PROBES = (
    "Qui a écrit cet article ?",
    "Which countries joined NATO in 1999, and what did Russia say about the enlargement at the time?",
    "Pourquoi ?",
)


def batch_invariant(embedder, probes: Sequence[str] = PROBES) -> bool:
    """Whether `embedder` gives each probe exactly the same query vector in one batch as alone."""
    alone = np.concatenate([np.asarray(embedder.embed_queries([p]), np.float32) for p in probes])
    together = np.asarray(embedder.embed_queries(list(probes)), np.float32)
    return alone.shape == together.shape and bool(np.array_equal(alone, together))


@dataclass(eq=False)
class _Job:
    texts: list[str]
    future: Future = field(default_factory=Future)
    batch_size: int | None = None  # set for passages: embedded alone, never batched with questions


class QueryBatcher:
    """An embedder shared by threads: concurrent questions batched where that changes no vector."""

    def __init__(self, embedder, *, max_batch: int = MAX_BATCH, wait_ms: float = WAIT_MS,
                 batched: bool | None = None):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if wait_ms < 0:
            raise ValueError(f"wait_ms must be zero or more, got {wait_ms}")
        self.embedder = embedder
        self.max_batch = max_batch
        self.wait_s = wait_ms / 1000
        self.batched = batch_invariant(embedder) if batched is None else batched
        self.concurrent = getattr(embedder, "backend", None) in CONCURRENT_BACKENDS
        self.batch_sizes: Counter[int] = Counter()  # how many batches of each size were embedded
        self._lock = threading.Lock()  # one call at a time into a runtime that is not thread-safe
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        if self.batched:
            self._worker = threading.Thread(target=self._work, name="renvoi-embed", daemon=True)
            self._worker.start()

    def __getattr__(self, name: str):
        # model_id, dim, backend…: what the wrapped embedder says about itself
        embedder = self.__dict__.get("embedder")
        if embedder is None:
            raise AttributeError(name)
        return getattr(embedder, name)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Questions -> (n, dim) unit rows, as the wrapped embedder gives them alone."""
        if self.batched:
            return self._submit(_Job(list(texts)))
        if self.concurrent:
            return self.embedder.embed_queries(texts)
        with self._lock:
            return self.embedder.embed_queries(texts)

    def embed_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if self.batched:
            return self._submit(_Job(list(texts), batch_size=batch_size))
        if self.concurrent:
            return self.embedder.embed_passages(texts, batch_size=batch_size, progress=progress)
        with self._lock:
            return self.embedder.embed_passages(texts, batch_size=batch_size, progress=progress)

    def close(self) -> None:
        """Stop the worker (questions still queued are embedded first)."""
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join()
            self._worker = None

    # -------------------------------------------------------- the worker

    def _submit(self, job: _Job) -> np.ndarray:
        if self._worker is None:
            raise RuntimeError("the question batcher is closed")
        self._queue.put(job)
        return job.future.result()

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if job.batch_size is not None:
                self._run_alone(job)
                continue
            batch, stop = [job], False
            deadline = time.monotonic() + self.wait_s
            while sum(len(j.texts) for j in batch) < self.max_batch:
                try:
                    nxt = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                if nxt.batch_size is not None:
                    self._run_alone(nxt)
                    continue
                batch.append(nxt)
            self._run_batch(batch)
            if stop:
                return

    def _run_alone(self, job: _Job) -> None:
        try:
            job.future.set_result(self.embedder.embed_passages(job.texts, batch_size=job.batch_size))
        except BaseException as e:  # the caller's thread raises it
            job.future.set_exception(e)

    def _run_batch(self, batch: list[_Job]) -> None:
        texts = [t for j in batch for t in j.texts]
        try:
            vectors = np.asarray(self.embedder.embed_queries(texts), np.float32)
        except BaseException:
            for j in batch:  # one bad question must not fail the others: each alone says what failed
                self._embed_alone(j)
            return
        self.batch_sizes[len(texts)] += 1
        at = 0
        for j in batch:
            j.future.set_result(vectors[at: at + len(j.texts)])
            at += len(j.texts)

    def _embed_alone(self, job: _Job) -> None:
        try:
            job.future.set_result(np.asarray(self.embedder.embed_queries(job.texts), np.float32))
        except BaseException as e:  # the caller's thread raises it
            job.future.set_exception(e)
