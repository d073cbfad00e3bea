"""Shared test helpers: a tiny deterministic embedder and hand-made documents.

The hashing embedder stands in for the real model where a test is about the
index or the ranking logic, not about embedding quality; tests that need the
real model are marked `model`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag import embed
from rag.config import Config
from rag.records import Document, Paragraph
from rag.text import LANGUAGES, terms


# A small article in the format of the seeds, shared by the end-to-end tests.
GLACIERS_ARTICLE = """\
# Les glaciers des Alpes fondent plus vite que prévu

Par Jeanne Martin, 2 janvier 2020

Le glacier du Rhône a perdu un tiers de sa masse depuis 1900, selon les relevés que les glaciologues suisses mènent chaque année depuis plus d'un siècle [1].

Les touristes viennent le voir fondre en été, et des bâches blanches couvrent désormais la grotte de glace creusée pour eux afin de ralentir la fonte.

Les scientifiques estiment que la moitié des glaciers alpins aura disparu avant la fin du siècle si les émissions de gaz à effet de serre continuent au rythme actuel.

## Notes

[1]: Relevés glaciologiques suisses, https://example.org/glamos
"""


class HashEmbedder:
    """Bag of stemmed terms hashed into `dim` buckets, L2-normalised."""

    model_id = "test/hash-embedder"

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.calls = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for t in terms(text, LANGUAGES):
            v[int(hashlib.md5(t.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        self.calls += 1
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.embed_passages(texts)


def make_document(doc_id: str, paragraphs: list[str], title: str = "Un article") -> Document:
    body = tuple(
        Paragraph(id=f"{doc_id}:p{i}", doc_id=doc_id, text=t, n=i, section="I. Première partie")
        for i, t in enumerate(paragraphs, start=1)
    )
    return Document(id=doc_id, title=title, source=f"{doc_id}.txt", authors=("Jeanne Martin",),
                    date="2020-01-02", site="Exemple.fr", paragraphs=body)


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def small_docs() -> list[Document]:
    return [
        make_document("a", [
            "Le port de Marseille accueille des cargos venus d'Asie. La pêche y recule depuis 1990.",
            "Les vignobles de Bordeaux exportent vers la Chine. Les vendanges commencent en septembre.",
            "La ville de Lyon est connue pour sa gastronomie et ses traboules.",
        ]),
        make_document("b", [
            "Le glacier du Rhône a perdu un tiers de sa masse. Les touristes viennent le voir fondre.",
            "Les trains de nuit reviennent en Europe: Paris-Vienne rouvre en 2021.",
        ], title="Un autre article"),
    ]


# ---------------------------------------------------------------- the real model, prepared once a session


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """A model cache holding the converted bundled model (converted once per test session)."""
    cache = tmp_path_factory.getbasetemp() / "renvoi-model-cache"
    embed.ensure_bundled_model(cache)
    return cache


def copy_cached_model(src: Path, dest: Path, linked: tuple[str, ...] = ()) -> Path:
    """Publish into the cache folder `dest` a copy of the current generation of the cache
    folder `src`, as renvoi publishes: files named in `linked` hard-linked (the cache only
    ever reads them, and replaces rather than writes through), the others copied with
    their mtimes. Returns the new generation."""
    import os
    import shutil

    from rag import storage

    source = storage.current(src)

    def copy(a: str, b: str) -> None:
        if Path(a).name in linked:
            try:
                os.link(a, b)
                return
            except OSError:  # another file system
                pass
        shutil.copy2(a, b)

    return storage.publish(dest, "model", lambda tmp: shutil.copytree(source, tmp, copy_function=copy,
                                                                     dirs_exist_ok=True))


@pytest.fixture(scope="session")
def onnx_cache(model_cache) -> Path:
    """`model_cache` with the int8 ONNX export too: linked from the user's cache when
    a valid one is there (scripts/setup.sh makes it), else made (about a minute)."""
    mine, theirs = embed.onnx_model_dir(Config().cache_dir), embed.onnx_model_dir(model_cache)
    if embed.onnx_problem(mine) is None and embed.onnx_problem(theirs) is not None:
        copy_cached_model(mine, theirs, linked=(embed.ONNX_NAME, "tokenizer.json", embed.MANIFEST_NAME))
    embed.ensure_onnx_model(model_cache)
    return model_cache


@pytest.fixture(scope="session")
def real_embedder(onnx_cache):
    """The bundled model on its default backend (the int8 ONNX export)."""
    return embed.load_embedder(Config(cache_dir=onnx_cache))


def ingest_text(folder: Path, name: str, text: str) -> Document:
    """Ingest `text` as the file `name` in `folder`, as a user's file would be read."""
    from rag.ingest import ingest_file

    path = folder / name
    path.write_text(text, encoding="utf-8")
    return ingest_file(path)


def texts(doc: Document) -> list[str]:
    """The body paragraphs' texts, in order."""
    return [p.text for p in doc.paragraphs]

def corpus_folder(tmp_path: Path, texts: dict[str, str]) -> Path:
    """`tmp_path/corpus` holding one file per name of `texts`."""
    folder = tmp_path / "corpus"
    folder.mkdir(exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def line_ingest(files) -> tuple[list[Document], list[Paragraph]]:
    """An ingest for the index update: one document per file (`SourceFile`s), one passage per non-empty line."""
    docs = []
    for f in files:
        lines = [line for line in f.path.read_text(encoding="utf-8").splitlines() if line.strip()]
        docs.append(replace(make_document(f.doc_id, lines), source=str(f.path)))
    return docs, [p for d in docs for p in d.paragraphs]


def counting_factory(make: Callable[[], object] | None = None) -> tuple[list, Callable[..., object]]:
    """A model factory that records what it makes (a fresh HashEmbedder by default):
    one entry per load, so a test can tell a reload from a rebuild."""
    made: list = []

    def factory(*_args, **_kwargs):
        made.append((make or HashEmbedder)())
        return made[-1]

    return made, factory


# ---------------------------------------------------------------- renvoi's promises on an answer

def check_answer(a, documents: dict[str, Document], label: str = "") -> None:
    """What every answer must satisfy, read from its claims: an abstention cites
    nothing; otherwise every claim's spans are verbatim pieces of the passages
    they name (the text at the offsets is the quote), a quoted claim is its span,
    every marker resolves to a citation of the span's passage, every citation is
    used, markers are numbered from 1 by first use, and every footnote exists in
    its document."""
    by_marker = {c.marker: c for c in a.citations}
    if a.abstained:
        assert not a.citations and not a.claims, label
        return
    assert a.claims, f"{label}: an answer has claims"
    used = []
    for claim in a.claims:
        assert claim.markers, f"{label}: every claim carries a marker"
        for span in claim.spans:
            passage = next(c.passage for c in a.citations if c.passage.id == span.passage_id)
            assert passage.text[span.start:span.end] == span.text, f"{label}: span offsets are not the quote"
        if claim.quoted:
            assert len(claim.spans) == 1 and claim.spans[0].text == claim.text, f"{label}: a quote is its span"
        for n, span in zip(claim.markers, claim.spans):
            assert n in by_marker, f"{label}: marker [{n}] resolves to no citation"
            assert by_marker[n].passage.id == span.passage_id, f"{label}: [{n}] cites another passage"
        used += claim.markers
    assert set(used) == set(by_marker), f"{label}: a listed citation is not used"
    first_use = list(dict.fromkeys(used))
    assert first_use == list(range(1, len(first_use) + 1)), f"{label}: markers not numbered by first use"
    for c in a.citations:
        doc = documents[c.passage.doc_id]
        assert c.document.id == doc.id
        assert c.quote == " … ".join(s.text for s in c.spans) and all(
            c.passage.text[s.start:s.end] == s.text for s in c.spans), f"{label}: citation spans"
        for f in c.footnotes:
            assert doc.footnote(f.number) == f, f"{label}: note {f.number} not in {doc.id}"


# ---------------------------------------------------------------- the network guard


def is_loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def refuse_outside_connections(patch: Callable[[object, str, object], None], report: Callable[[str], None]) -> None:
    """Refuse, and report, every connection or name lookup that leaves the machine.

    `patch(owner, name, value)` installs a replacement (monkeypatch.setattr, or setattr
    in a subprocess); loopback and Unix sockets pass.
    """
    real_connect, real_connect_ex, real_getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def check(sock, address) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            report(f"connect {address[0]}:{address[1]}")
            raise ConnectionRefusedError(f"test: no connection outside this machine ({address[0]})")

    def connect(self, address):
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self, address):
        check(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not is_loopback(host):
            report(f"resolve {host}")
            raise socket.gaierror(socket.EAI_NONAME, f"test: no name lookup ({host})")
        return real_getaddrinfo(host, *args, **kwargs)

    patch(socket.socket, "connect", connect)
    patch(socket.socket, "connect_ex", connect_ex)
    patch(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def no_network(monkeypatch) -> list[str]:
    attempts: list[str] = []
    refuse_outside_connections(monkeypatch.setattr, attempts.append)
    return attempts


# ---------------------------------------------------------------- tiny cross-encoders, built offline


def tiny_cross_encoder(folder: Path, labels: list[str], words: dict[str, dict[str, float]],
                       bias: dict[str, float] | None = None) -> Path:
    """A one-layer BERT cross-encoder with weights set by hand, saved in `folder` with a
    word-level tokenizer of a few words (a sentence-transformers CrossEncoder loads it as
    any model folder). Each word of `words` lights one dimension: uniform attention
    averages the pair's words into the pooled output, so output `label` (named in
    `id2label` in the order of `labels`) is `bias[label]` plus `words[word][label]` for
    the words present, and only the bias when none is."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    vocab = [*specials, *words]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", model_max_length=128)
    hidden = max(4, len(words) + 2)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=1, num_attention_heads=1,
                        intermediate_size=4, max_position_embeddings=128, num_labels=len(labels),
                        id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)})
    model = BertForSequenceClassification(config)
    layer = model.bert.encoder.layer[0]
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.fill_(1.0 if "LayerNorm.weight" in name else 0.0)
        for d, word in enumerate(words):  # a word lights its own dimension; other words light none
            model.bert.embeddings.word_embeddings.weight[vocab.index(word), d] = 1.0
        eye = torch.eye(hidden)
        layer.attention.self.value.weight.copy_(eye)  # zero queries and keys: every token attends to all alike
        layer.attention.output.dense.weight.copy_(eye)
        model.bert.pooler.dense.weight.copy_(eye)
        for i, label in enumerate(labels):
            model.classifier.bias[i] = (bias or {}).get(label, 0.0)
            for d, word in enumerate(words):
                model.classifier.weight[i, d] = words[word].get(label, 0.0)
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder
