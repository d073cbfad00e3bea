"""The persisted index: passages, their vectors, FAISS and BM25, with a manifest.

An index folder holds everything `search` needs without re-reading the corpus:
the documents (metadata, footnotes) and citable passages, the L2-normalised
vectors of every passage and of every sentence of every passage, FAISS
inner-product indices over both, and a bm25s index of stemmed terms. The
manifest records the format version, the model id, the dimension, a hash of
the corpus files, the settings, and a checksum of every file, so that an
unchanged corpus reloads, a change rebuilds, and a damaged file is noticed.

Writes go to a temporary sibling folder that is swapped into place only when
complete: a build killed at any point leaves the previous index usable.
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

from .config import Config
from .records import Document, Paragraph
from .text import split_sentences, terms

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm")


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

    @classmethod
    def read(cls, folder: Path) -> "Manifest":
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if data.get("format_version") != FORMAT_VERSION:
            raise IndexError_(f"index format {data.get('format_version')!r} is not {FORMAT_VERSION}")
        return cls(**data)


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
    """Hash of the corpus as files (name and bytes), cheap enough to check at every start."""
    h = hashlib.sha256()
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
        self.faiss_passages = faiss_passages if faiss_passages is not None else _faiss_flat(passage_vectors)
        self.faiss_sentences = faiss_sentences if faiss_sentences is not None else _faiss_flat(sentence_vectors)
        self.row = {p.id: i for i, p in enumerate(passages)}

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
        sentences: list[str] = []
        owner: list[int] = []
        for i, p in enumerate(passages):
            lang = docs[p.doc_id].language if p.doc_id in docs else "fr"
            for s in split_sentences(p.text, lang if lang in ("fr", "en") else "fr") or [p.text]:
                sentences.append(s)
                owner.append(i)
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
        )
        return cls(manifest, docs, list(passages), sentences, np.asarray(owner, dtype=np.int64),
                   passage_vectors, sentence_vectors, bm25)

    # -------------------------------------------------------- save / load

    def save(self, folder: Path) -> None:
        """Write the index to `folder` atomically (temporary sibling, then swap)."""
        import faiss

        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
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
        import bm25s
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
            passage_vectors = np.load(folder / "passage_vectors.npy")
            sentence_vectors = np.load(folder / "sentence_vectors.npy")
            bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False, verbosity=0)
            faiss_passages = faiss.read_index(str(folder / "passages.faiss"))
            faiss_sentences = faiss.read_index(str(folder / "sentences.faiss"))
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
    seeds/ when there is none). A damaged index is rebuilt with a notice.
    """
    folder = Path(config.index_dir)
    existing: Index | None = None
    try:
        existing = Index.load(folder)
    except IndexError_ as e:
        if (folder / MANIFEST).exists() or folder.exists():
            notify(f"{e}; rebuilding")
    if paths is None:
        paths = [Path(s) for s in existing.manifest.sources] if existing else [Path("seeds")]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ValueError(f"no such file or folder: {', '.join(missing)}")
    digest = corpus_hash(paths)
    if existing is not None and not force and existing.is_current(config, digest):
        return existing
    if existing is not None:
        notify("corpus or settings changed; rebuilding the index")
    documents, passages = ingest(paths)
    index = Index.build(documents, passages, embedder_factory(), config, sources=paths, digest=digest, progress=progress)
    try:
        index.save(folder)
    except OSError as e:
        raise OSError(e.errno, f"cannot write the index folder ({e.strerror})", str(folder)) from e
    return index


# ---------------------------------------------------------------- helpers


def _faiss_flat(vectors: np.ndarray):
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def _bm25_index(passages: Sequence[Paragraph], docs: dict[str, Document]):
    import bm25s

    corpus = []
    for p in passages:
        lang = docs[p.doc_id].language if p.doc_id in docs else "fr"
        corpus.append(terms(p.text, (lang if lang in ("fr", "en") else "fr",)) or [""])
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
