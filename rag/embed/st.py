"""The sentence-transformers backend (torch): the bundled model from its
converted folder in the cache, or any sentence-transformers model by folder
or hub name. The only backend for models other than the bundled one."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from .base import (
    BUNDLED_MODEL,
    Window,
    _check_batch_size,
    _check_bundled_name,
    _check_texts,
    _combine,
    _fit_unsplit,
    _normalize_rows,
    _one_line,
    embed_distinct,
    is_bundled,
    model_prompts,
    split_windows,
)
from .convert import ensure_bundled_model
from .q4 import bundled_model_id

_HUB_NAME = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


class Embedder:
    """A loaded sentence-transformers model with the prompts it expects."""

    backend = "sentence-transformers"  # what embeds: recorded in the index manifest

    def __init__(self, model: Any, model_id: str, query_prompt: str = "", passage_prompt: str = ""):
        self._model = model
        self.model_id = model_id
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.dim = _st_dimension(model)

    @classmethod
    def load(cls, config: Config) -> Embedder:
        """Load `config.index.model`: the bundled model (converted once into the cache), a folder or a hub name."""
        name = config.index.model
        _check_bundled_name(name)
        if is_bundled(name):
            folder = ensure_bundled_model(config.cache_dir)
            model = _load_sentence_transformer(str(folder), name)
            model_id = bundled_model_id()
        else:
            model, model_id = _load_named_model(name)
        query, passage = model_prompts(name, getattr(model, "prompts", None))
        return cls(model, model_id, query, passage)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Questions -> (n, dim) float32 unit rows, with the model's query prompt."""
        texts = _check_texts(texts)
        return embed_distinct(texts, lambda distinct: self._encode(distinct, self.query_prompt, 32, False))

    def embed_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Passages -> (n, dim) float32 unit rows, with the model's passage prompt."""
        texts = _check_texts(texts)
        _check_batch_size(batch_size)
        return embed_distinct(texts, lambda distinct: self._encode(distinct, self.passage_prompt, batch_size, progress))

    def _encode(self, texts: list[str], prompt: str, batch_size: int, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        windows = self._windows(texts, prompt)
        if len(windows) == len(texts):
            return self._run(texts, prompt, batch_size, progress)
        heads = [w for w in windows if w.first]
        tails = [w for w in windows if not w.first]
        vecs = np.empty((len(windows), self.dim), np.float32)
        vecs[: len(heads)] = self._run([texts[w.owner][w.start : w.end] for w in heads], prompt, batch_size, progress)
        vecs[len(heads) :] = self._run([texts[w.owner][w.start : w.end] for w in tails], "", batch_size, progress)
        return _combine(heads + tails, vecs, len(texts))

    def _run(self, texts: list[str], prompt: str, batch_size: int, progress: bool) -> np.ndarray:
        vecs = self._model.encode(
            texts,
            prompt=prompt,
            batch_size=batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return _normalize_rows(vecs)

    def _windows(self, texts: list[str], prompt: str) -> list[Window]:
        """Windows of texts longer than the model's input (one per text otherwise)."""
        tokenizer = getattr(self._model, "tokenizer", None)
        max_len = getattr(self._model, "max_seq_length", None)
        whole = [Window(i, 0, len(t), 1, True) for i, t in enumerate(texts)]
        if tokenizer is None or not max_len or not getattr(tokenizer, "is_fast", False):
            return whole  # no offsets to cut at: the model truncates
        if _fit_unsplit(prompt, texts, max_len):
            return whole
        specials = tokenizer.num_special_tokens_to_add(False)
        # A slice re-tokenized alone may come out a token or two longer.
        limit = max_len - specials - 4
        enc = tokenizer(
            [prompt + t for t in texts], add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        return split_windows(
            [(len(t), [tuple(o) for o in offs]) for t, offs in zip(texts, enc["offset_mapping"])],
            len(prompt),
            limit,
        )


def _st_dimension(model: Any) -> int:
    for attr in ("get_embedding_dimension", "get_sentence_embedding_dimension"):
        fn = getattr(model, attr, None)
        if fn is not None:
            dim = fn()
            if dim:
                return int(dim)
    return int(model.encode(["dimension"], convert_to_numpy=True).shape[1])


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _load_sentence_transformer(path_or_name: str, shown: str, **kwargs: Any) -> Any:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # transformers draws a "Loading weights" bar on every load; the command
    # line has its own progress reporting.
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(path_or_name, device=_device(), **kwargs)
    except Exception as e:  # any loading failure is the user's model choice
        raise ValueError(f"cannot load embedding model {shown!r}: {_one_line(e)}") from e
    finally:
        if bar:
            hf_logging.enable_progress_bar()


def _load_named_model(name: str) -> tuple[Any, str]:
    """A model folder or hub name -> (model, stable id)."""
    path = Path(name).expanduser()
    if path.is_dir():
        return _load_sentence_transformer(str(path), name), str(path.resolve())
    if path.exists():
        raise ValueError(f"embedding model {name!r} is a file; give a sentence-transformers model folder or name")
    unknown = (
        f"unknown embedding model {name!r}: not a folder, and not a model in the Hugging Face cache "
        f"or on the hub (use {BUNDLED_MODEL!r}, a sentence-transformers model folder, "
        "or a hub name on a machine that can download it)"
    )
    if not _HUB_NAME.match(name) or name.startswith((".", "/", "~")):
        raise ValueError(unknown)
    if _in_hub_cache(name):
        return _load_sentence_transformer(name, name, local_files_only=True), name
    if not hub_reachable():
        raise ValueError(unknown)
    try:
        return _load_sentence_transformer(name, name), name
    except ValueError as e:
        raise ValueError(unknown) from e


def _in_hub_cache(name: str) -> bool:
    """Whether a hub model is already downloaded (checked without importing torch)."""
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(name, local_files_only=True)
    except Exception:  # not cached, or not a valid repository id
        return False
    return True


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether downloading from the Hugging Face hub can work at all here.

    Without this, an offline machine spends over a minute in the hub
    client's retries (with a log line each) before failing.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # only the proxy knows; let the download try
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout_s).close()
    except OSError:
        return False
    return True
