"""The engine's SentencePiece (XLM-R unigram) tokenizer rebuilt as a
`tokenizers` pipeline that gives the same tokens: a per-code-point map as a
precompiled charsmap, space collapsing, metaspace, one unknown token per
unknown character."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from .q4 import Q4Model


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
