"""Where an index's passages, sentences and vectors live, and how the nearest are found.

`rag.index.Index` asks its store one thing at query time, `nearest(name, query, k)`:
the rows of the (about) k passages or sentences nearest to a query vector. Two
stores answer it:

- `FaissStore`, the default (`--store faiss`): FAISS structures over the vectors
  of the index folder, built, saved and read by `rag.index` as before.
- `MilvusStore` (`--store milvus:URI`): Milvus collections reached through
  pymilvus' `MilvusClient`, where URI is what that client takes: a path ending in
  .db runs the embedded Milvus Lite on that file, http://HOST:19530 reaches a
  Milvus server or cluster. Only the URI differs between the two.

With Milvus, each build writes two new collections (passages and sentences: row,
text or passage record, vector), named after the index folder with a generation
suffix. The index folder then holds only the manifest, which names the URI and
the collections, the documents and the BM25 index, published as a new
generation by `rag.storage`: the manifest switch is that generation's atomic
rename, so a build killed before it leaves the previous collections answering,
and collections no kept generation names are dropped after it.

BM25 stays renvoi's bm25s index in the index folder, not Milvus's sparse vectors
or full-text search, so that hybrid search gives the same answers as with FAISS:
renvoi's fusion standardises the BM25 score of every candidate, including those
only the dense search found, over terms its own analyzer stemmed in several
languages; Milvus returns scores for its own top hits only, from its own
analyzer and statistics. The BM25 matrix is a few bytes per term occurrence, far
smaller than the vectors, and scoring it stays a numpy sum (`rag.bm25`).

The query process holds the passages, sentences and vectors it reads from the
collections at load (the retriever rescores candidates exactly, as with FAISS,
which needs their vectors); Milvus finds the candidates.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

PASSAGES, SENTENCES = "passages", "sentences"
FLAT = {"type": "flat"}
# Milvus's bounds: results of one search, bytes of a VARCHAR field.
SEARCH_LIMIT = 16_384
MAX_VARCHAR = 65_535
# Rows per insert or query: well under gRPC's 64 MB message with 384-d vectors and
# paragraph-long texts.
BATCH_ROWS = 1_000
# A token for a server that asks for one ("user:password" or an API key); never recorded.
TOKEN_ENV = "RENVOI_MILVUS_TOKEN"


class StoreUnavailable(OSError):
    """The vector engine cannot be reached; the message names its URI. Not a damaged
    index: nothing is rebuilt elsewhere because a server is down."""


class VectorStore(Protocol):
    kind: str

    def nearest(self, name: str, query: np.ndarray, k: int) -> np.ndarray:
        """Rows of the (about) k `name` rows ("passages" or "sentences") nearest to `query`, best first."""
        ...


def store_kind(store: str | None) -> str:
    """"faiss" or "milvus" for a canonical store string (`rag.config.check_store`); None is faiss."""
    return "faiss" if store in (None, "faiss") else store.partition(":")[0]


# ---------------------------------------------------------------- FAISS


class FaissStore:
    """FAISS structures over the index folder's vectors (state). `search` is
    `rag.index.search_vectors`, which also knows how IVF-PQ candidates are refined."""

    kind = "faiss"

    def __init__(self, structures: dict, vectors: dict[str, np.ndarray], specs: dict,
                 search: Callable[..., tuple[np.ndarray, np.ndarray]]):
        self.structures = structures
        self.vectors = vectors
        self.specs = specs
        self._search = search

    def nearest(self, name: str, query: np.ndarray, k: int) -> np.ndarray:
        rows = self._search(self.structures[name], self.vectors[name], query, k, self.specs.get(name, FLAT))[1][0]
        return rows[rows >= 0]


# ---------------------------------------------------------------- Milvus


_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def milvus_client(store: str):
    """The process's one MilvusClient for `store` ("milvus:URI"); Milvus Lite allows one per file."""
    uri = store.removeprefix("milvus:")
    with _clients_lock:
        client = _clients.get(uri)
        if client is None:
            from pymilvus import MilvusClient

            # pymilvus logs retries and fallbacks as warnings on stderr; failures raise anyway.
            logging.getLogger("pymilvus").setLevel(logging.ERROR)
            # Milvus Lite serves gRPC inside this process and logs, with a traceback, each call
            # it does not implement (pymilvus asks for a timestamp while an index is built and
            # does without): Python would print those on stderr.
            logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
            # It also logs its own failure to start with a traceback; pymilvus raises it anyway.
            logging.getLogger("milvus_lite").setLevel(logging.CRITICAL)
            if not uri.startswith(("http://", "https://")):
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
            try:
                client = MilvusClient(uri=uri, token=os.environ.get(TOKEN_ENV, ""))
            except Exception as e:  # pymilvus raises its own MilvusException, or gRPC's errors
                hint = "" if uri.startswith(("http://", "https://")) else \
                    " (a Milvus Lite file serves one process at a time: is another one using it?)"
                raise StoreUnavailable(f"cannot reach Milvus at {uri}: {_reason(e)}{hint}") from e
            _clients[uri] = client
    return client


def close_clients() -> None:
    """Close every client this process opened (stops the Milvus Lite servers it started)."""
    with _clients_lock:
        for client in _clients.values():
            try:
                client.close()
            except Exception:
                pass
        _clients.clear()


def collection_base(folder: Path) -> str:
    """The prefix of an index folder's collections: its name and a hash of its absolute
    path, so that two index folders never share collections on one server."""
    folder = Path(folder).resolve()
    slug = re.sub(r"[^A-Za-z0-9]+", "_", folder.name).strip("_")[:40] or "index"
    return f"renvoi_{slug}_{hashlib.sha256(str(folder).encode()).hexdigest()[:10]}"


class MilvusStore:
    """An index's collections in one Milvus (state: the client, the collections'
    names, and the vectors read or written, which rescoring reads)."""

    kind = "milvus"

    def __init__(self, store: str, collections: dict[str, str] | None = None, specs: dict | None = None):
        self.store = store
        self.uri = store.removeprefix("milvus:")
        self.collections = dict(collections or {})
        self.specs = dict(specs or {})
        self.vectors: dict[str, np.ndarray] = {}

    @classmethod
    def described(cls, description: dict, specs: dict) -> "MilvusStore":
        """The store a manifest describes ({"uri": …, "collections": {…}}); ValueError when malformed."""
        uri, collections = description.get("uri"), description.get("collections")
        if not isinstance(uri, str) or store_kind(uri) != "milvus" or not isinstance(collections, dict) \
                or set(collections) != {PASSAGES, SENTENCES}:
            raise ValueError(f"the manifest's store is not a Milvus store description: {description!r}")
        return cls(uri, collections, specs)

    def describe(self) -> dict:
        return {"uri": self.store, "collections": dict(self.collections)}

    @property
    def client(self):
        return milvus_client(self.store)

    # -------------------------------------------------------- write

    def write(self, base: str, passage_records: list[str], passage_vectors: np.ndarray,
              sentences: list[str], owner: np.ndarray, sentence_vectors: np.ndarray) -> dict:
        """Write a new generation of collections named `base`_g<time>_…; return their description.
        If anything fails, the collections made so far are dropped and nothing else changes."""
        stamp = f"g{time.time_ns()}"
        names = {PASSAGES: f"{base}_{stamp}_{PASSAGES}", SENTENCES: f"{base}_{stamp}_{SENTENCES}"}
        dim = int(passage_vectors.shape[1])
        client = self.client
        try:
            self._create(names[PASSAGES], dim, {"record": MAX_VARCHAR}, self.specs.get(PASSAGES, FLAT))
            self._insert(names[PASSAGES], ({"row": i, "record": r, "vector": v}
                                           for i, (r, v) in enumerate(zip(passage_records, passage_vectors))))
            self._create(names[SENTENCES], dim, {"text": MAX_VARCHAR}, self.specs.get(SENTENCES, FLAT), owner=True)
            self._insert(names[SENTENCES], ({"row": i, "owner": int(o), "text": s, "vector": v}
                                            for i, (s, o, v) in enumerate(zip(sentences, owner, sentence_vectors))))
            for name in names.values():
                client.flush(name)
                client.load_collection(name)
        except BaseException:  # also KeyboardInterrupt: leave no half-written collection behind
            for name in names.values():
                try:
                    client.drop_collection(name)
                except Exception:
                    pass
            raise
        self.collections = names
        self.vectors = {PASSAGES: passage_vectors, SENTENCES: sentence_vectors}
        return self.describe()

    def _create(self, name: str, dim: int, texts: dict[str, int], spec: dict, owner: bool = False) -> None:
        from pymilvus import DataType

        client = self.client
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        if owner:
            schema.add_field("owner", DataType.INT64)
        for field, length in texts.items():
            schema.add_field(field, DataType.VARCHAR, max_length=length)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        params = client.prepare_index_params()
        kind, build = _milvus_index(spec, dim)
        params.add_index(field_name="vector", index_type=kind, metric_type="IP", params=build)
        client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")

    def _insert(self, name: str, rows: Iterable[dict]) -> None:
        batch: list[dict] = []
        for row in rows:
            for field in ("record", "text"):
                if field in row and len(row[field].encode("utf-8")) > MAX_VARCHAR:
                    raise ValueError(f"row {row['row']} of {name} is longer than Milvus's {MAX_VARCHAR} bytes "
                                     "a text field holds")
            row["vector"] = np.asarray(row["vector"], dtype=np.float32).tolist()
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                self.client.insert(name, batch)
                batch = []
        if batch:
            self.client.insert(name, batch)

    # -------------------------------------------------------- read

    def read(self, n_passages: int, n_sentences: int, dim: int
             ) -> tuple[list[str], np.ndarray, list[str], np.ndarray, np.ndarray]:
        """(passage records, passage vectors, sentences, owner rows, sentence vectors) in row
        order. ValueError when a collection is missing or does not hold what the manifest says."""
        client = self.client
        for name in self.collections.values():
            try:
                present = client.has_collection(name)
            except Exception as e:
                raise StoreUnavailable(f"cannot reach Milvus at {self.uri}: {_reason(e)}") from e
            if not present:
                raise ValueError(f"collection {name} is missing from {self.store}")
        p = self._rows(self.collections[PASSAGES], n_passages, ["record"])
        s = self._rows(self.collections[SENTENCES], n_sentences, ["text", "owner"])
        pv = np.asarray([r["vector"] for r in p], dtype=np.float32).reshape(n_passages, dim)
        sv = np.asarray([r["vector"] for r in s], dtype=np.float32).reshape(n_sentences, dim)
        self.vectors = {PASSAGES: pv, SENTENCES: sv}
        return ([r["record"] for r in p], pv, [r["text"] for r in s],
                np.asarray([r["owner"] for r in s], dtype=np.int64), sv)

    def _rows(self, name: str, n: int, fields: list[str]) -> list[dict]:
        client = self.client
        client.load_collection(name)
        out: list[dict] = []
        for start in range(0, n, BATCH_ROWS):
            stop = min(n, start + BATCH_ROWS)
            got = client.query(name, filter=f"row >= {start} and row < {stop}",
                               output_fields=["row", *fields, "vector"], limit=stop - start)
            out += sorted(got, key=lambda r: r["row"])
        if [r["row"] for r in out] != list(range(n)):
            raise ValueError(f"collection {name} in {self.store} does not hold rows 0..{n - 1}")
        return out

    # -------------------------------------------------------- search

    def nearest(self, name: str, query: np.ndarray, k: int) -> np.ndarray:
        spec = self.specs.get(name, FLAT)
        vectors = self.vectors[name]
        k = max(0, min(k, len(vectors), SEARCH_LIMIT))
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        refine = int(spec.get("refine", 1)) if spec.get("type") == "ivfpq" else 1
        limit = min(len(vectors), k * refine, SEARCH_LIMIT)
        try:
            found = self.client.search(self.collections[name], data=[query.tolist()], limit=limit,
                                       output_fields=["row"], anns_field="vector",
                                       search_params={"metric_type": "IP", "params": _search_params(spec, limit)})
        except StoreUnavailable:
            raise
        except Exception as e:
            raise StoreUnavailable(f"Milvus at {self.uri} did not answer: {_reason(e)}") from e
        rows = np.asarray([hit["entity"]["row"] for hit in found[0]], dtype=np.int64)
        if refine > 1 and len(rows):  # approximate scores: rescore exactly, as FAISS's IVF-PQ path does
            rows = np.sort(rows)
            exact = vectors[rows] @ query
            rows = rows[np.lexsort((rows, -exact))][:k]
        return rows

    # -------------------------------------------------------- cleanup

    def drop(self, description: dict) -> None:
        """Drop the collections a description names (those of a build that was not published)."""
        try:
            client = self.client
        except StoreUnavailable:
            return  # unreachable now: the next build that reaches it drops what no generation names
        for name in description.get("collections", {}).values():
            try:
                client.drop_collection(name)
            except Exception:
                pass

    def drop_unused(self, base: str, keep: Iterable[str]) -> list[str]:
        """Drop the collections of `base` that no kept generation names and that are older
        than the newest kept one (a build killed before publishing left them); return their names.
        Newer ones may be a build still running in another process: left alone. (One begun
        before this build and still running loses its collections: its index is then found
        damaged and rebuilt, as when two builds race over one index folder.)"""
        keep = set(keep)
        newest = max((_stamp(n) for n in keep if n.startswith(base + "_")), default=0)
        dropped = []
        client = self.client
        for name in client.list_collections():
            if name.startswith(base + "_g") and name not in keep and _stamp(name) < newest:
                try:
                    client.drop_collection(name)
                    dropped.append(name)
                except Exception:
                    pass  # dropped by another process meanwhile, or the server refused: the next build retries
        return dropped


def _stamp(name: str) -> int:
    m = re.search(r"_g(\d+)_(?:passages|sentences)$", name)
    return int(m.group(1)) if m else 0


def _milvus_index(spec: dict, dim: int) -> tuple[str, dict]:
    """Milvus's index type and build parameters for a structure of `rag.index.vector_index_spec`."""
    kind = spec.get("type")
    if kind == "flat":
        return "FLAT", {}
    if kind == "hnsw":
        return "HNSW", {"M": int(spec["M"]), "efConstruction": int(spec["efConstruction"])}
    if kind == "ivfpq":
        m = max(b for b in range(1, min(int(spec["bytes"]), dim) + 1) if dim % b == 0)
        return "IVF_PQ", {"nlist": int(spec["nlist"]), "m": m, "nbits": 8}
    raise ValueError(f"unknown vector index type {kind!r}; allowed: flat, hnsw, ivfpq")


def _search_params(spec: dict, limit: int) -> dict:
    kind = spec.get("type")
    if kind == "hnsw":
        return {"ef": max(int(spec["efSearch"]), limit)}
    if kind == "ivfpq":
        return {"nprobe": int(spec["nprobe"])}
    return {}


def _reason(e: BaseException) -> str:
    """A pymilvus error's own message, on one line."""
    message = getattr(e, "message", None) or str(e) or type(e).__name__
    return " ".join(str(message).split())
