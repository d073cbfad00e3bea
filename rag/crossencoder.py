"""Cross-encoders: models that read two texts together, loaded from a folder or a hub name.

The reranker (`rag.rerank`) and the claim verifier (`rag.compose.nli`) are
sentence-transformers `CrossEncoder`s. `load_cross_encoder` loads one from a
model folder, else from the Hugging Face cache, else from the hub, and from
the hub only when it can be reached (otherwise the hub client retries for most
of a minute before failing). A model that cannot be had is a ValueError of one
line naming its role and name, never a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_HUB_NAME = re.compile(r"^[\w.-]+/[\w.-]+$")


class _NotLoadable(ValueError):
    """The model's files could not be found or read."""


def load_cross_encoder(name: str, role: str, device: str | None = None) -> Any:
    """The CrossEncoder in folder `name`, or hub model `name` (cached, else downloaded when
    the hub is reachable); `role` ("reranker", "verifier") names it in errors."""
    if not name or not name.strip():
        raise ValueError(f"the {role} needs a model folder or a hub name")
    path = Path(name).expanduser()
    if path.is_dir():
        return _load(str(path), name, role, device, {})
    if path.exists():
        raise ValueError(f"{role} {name!r} is a file; give a cross-encoder model folder or a hub name")
    unknown = (f"cannot load {role} {name!r}: not a model folder, and not a model in the Hugging Face cache "
               "or on the hub (give a folder with config.json and a tokenizer, or a hub name on a machine "
               "that can download it)")
    if not _HUB_NAME.match(name) or name.startswith((".", "/", "~")):
        raise ValueError(unknown)
    cached = _hub_cache_folder(name)
    if cached is not None:
        return _load(cached, name, role, device, {})
    from .embed import hub_reachable

    if not hub_reachable():
        raise ValueError(unknown + "; the hub cannot be reached from this machine")
    try:
        return _load(name, name, role, device, {})
    except _NotLoadable as e:
        raise ValueError(unknown) from e


def _hub_cache_folder(name: str) -> str | None:
    """The folder of hub model `name` in the Hugging Face cache, or None. Looked up
    without the hub client's loaders, which reach the network even when told to use
    local files only."""
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(name, local_files_only=True)
    except Exception:  # not cached, or not a valid repository id
        return None


def _load(source: str, name: str, role: str, device: str | None, options: dict) -> Any:
    import torch
    from sentence_transformers import CrossEncoder
    from transformers.utils import logging as hf_logging

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # the command line reports progress its own way
    try:
        model = CrossEncoder(source, device=device, **options)
    except Exception as e:  # any loading failure is the reader's choice of model
        raise _NotLoadable(f"cannot load {role} {name!r}: {' '.join(str(e).split())}") from e
    finally:
        if bar:
            hf_logging.enable_progress_bar()
    # A tokenizer that states no limit would let a long passage overrun the model's positions.
    positions = getattr(model.config, "max_position_embeddings", None)
    limit = getattr(model, "max_seq_length", None)
    if positions and (not limit or limit > positions):
        model.max_seq_length = int(positions)
    return model


def one_line(value: object) -> str:
    return " ".join(str(value).split())
