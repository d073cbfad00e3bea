"""The persisted index: round trip, reload vs rebuild, damage detection, interrupted builds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag.cli import main
from rag.config import INDEX_TYPES, Config
from rag.index import (
    ANN_MIN_VECTORS,
    IVFPQ_MIN_VECTORS,
    MANIFEST,
    Index,
    IndexError_,
    build_vector_index,
    corpus_hash,
    index_generation,
    open_index,
    resolve_index_type,
    search_vectors,
    set_search_params,
    update_index,
    uploads_folder,
    vector_index_spec,
)

from conftest import HashEmbedder, corpus_folder, counting_factory, line_ingest


def _passages(docs):
    return [p for d in docs for p in d.paragraphs]


_corpus = corpus_folder
_fake_ingest = line_ingest


def test_save_load_round_trip(tmp_path, small_docs, hash_embedder):
    small_docs[0] = replace(small_docs[0], datelines=("Manuscrit clos le 3 mars 2020",))
    config = Config(index_dir=tmp_path / "idx")
    index = Index.build(small_docs, _passages(small_docs), hash_embedder, config, digest="abc")
    index.save(config.index_dir)
    loaded = Index.load(config.index_dir)
    assert loaded.passages == index.passages
    assert loaded.documents == index.documents
    assert np.allclose(loaded.passage_vectors, index.passage_vectors)
    assert loaded.sentences == index.sentences
    m = json.loads((index_generation(config.index_dir) / MANIFEST).read_text())
    assert m["format_version"] == 2 and m["model_id"] == "test/hash-embedder"
    assert m["dim"] == 64 and m["corpus_hash"] == "abc" and m["n_passages"] == 5
    assert m["embedded_by"] == loaded.manifest.embedded_by == "HashEmbedder"  # an embedder without a backend name
    assert set(m["files"]) >= {"passages.jsonl", "passage_vectors.npy", "passages.faiss", "documents.json"}
    # every sentence is a verbatim piece of its passage
    for s, owner in zip(loaded.sentences, loaded.sentence_owner):
        assert s in loaded.passages[owner].text
    assert not list(config.index_dir.glob(".tmp-*")), "no temporary folder left behind"


def test_build_rejects_empty_corpus(tmp_path, hash_embedder):
    with pytest.raises(ValueError, match="nothing to index"):
        Index.build([], [], hash_embedder, Config(index_dir=tmp_path / "i"))


def test_unchanged_corpus_reloads_and_changes_rebuild(tmp_path):
    folder = _corpus(tmp_path, {"a.txt": "Premier paragraphe sur la mer.\nSecond sur la montagne.\n"})
    config = Config(index_dir=tmp_path / "idx")
    built, factory = counting_factory()

    first = open_index([folder], config, factory, _fake_ingest)
    assert len(built) == 1 and first.manifest.n_passages == 2
    again = open_index([folder], config, factory, _fake_ingest)
    assert len(built) == 1, "an unchanged corpus must reload without embedding"
    assert again.manifest.corpus_hash == first.manifest.corpus_hash

    (folder / "a.txt").write_text("Premier paragraphe sur la mer.\nSecond.\nTroisième sur le désert.\n", encoding="utf-8")
    changed = open_index([folder], config, factory, _fake_ingest)
    assert len(built) == 2 and changed.manifest.n_passages == 3

    (folder / "b.md").write_text("Un nouveau document.\n", encoding="utf-8")
    open_index([folder], config, factory, _fake_ingest)
    assert len(built) == 3

    other = config.with_(model="some/other-model")
    rebuilt = open_index([folder], other, factory, _fake_ingest)
    assert len(built) == 4 and rebuilt.manifest.settings["model"] == "some/other-model"

    # None means: the sources the index was built from
    open_index(None, other, factory, _fake_ingest)
    assert len(built) == 4


def test_a_newer_parser_rebuilds_an_unchanged_corpus(tmp_path, monkeypatch):
    # the same files read by a parser that now makes other passages: the old index is stale
    folder = _corpus(tmp_path, {"a.txt": "Premier paragraphe sur la mer.\n"})
    config = Config(index_dir=tmp_path / "idx")
    built, factory = counting_factory()

    open_index([folder], config, factory, _fake_ingest)
    open_index([folder], config, factory, _fake_ingest)
    assert len(built) == 1
    monkeypatch.setattr("rag.index.PARSER_VERSION", 10_000)
    open_index([folder], config, factory, _fake_ingest)
    assert len(built) == 2


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no such file or folder"):
        open_index([tmp_path / "nope"], Config(index_dir=tmp_path / "idx"), HashEmbedder, _fake_ingest)


def test_corpus_hash_ignores_unsupported_files(tmp_path):
    folder = _corpus(tmp_path, {"a.txt": "x"})
    h = corpus_hash([folder])
    (folder / "image.png").write_bytes(b"\x89PNG")
    assert corpus_hash([folder]) == h


@pytest.mark.parametrize("damage", ["truncate", "edit", "delete", "manifest"])
def test_damaged_index_is_detected_and_rebuilt(tmp_path, damage):
    folder = _corpus(tmp_path, {"a.txt": "La mer.\nLa montagne.\n"})
    config = Config(index_dir=tmp_path / "idx")
    open_index([folder], config, HashEmbedder, _fake_ingest)
    target = index_generation(config.index_dir) / "passage_vectors.npy"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:50])
    elif damage == "edit":
        data = bytearray(target.read_bytes())
        data[-1] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "delete":
        target.unlink()
    else:
        (index_generation(config.index_dir) / MANIFEST).write_text("{not json")
    with pytest.raises(IndexError_):
        Index.load(config.index_dir)
    notices: list[str] = []
    index = open_index([folder], config, HashEmbedder, _fake_ingest, notify=notices.append)
    assert index.manifest.n_passages == 2
    assert len(notices) == 1 and "rebuilding" in notices[0] and "\n" not in notices[0]
    Index.load(config.index_dir)  # valid again


def test_failed_build_keeps_previous_index(tmp_path):
    folder = _corpus(tmp_path, {"a.txt": "La mer.\nLa montagne.\n"})
    config = Config(index_dir=tmp_path / "idx")
    open_index([folder], config, HashEmbedder, _fake_ingest)
    (folder / "a.txt").write_text("Autre chose.\n", encoding="utf-8")

    class Exploding(HashEmbedder):
        def embed_passages(self, texts, batch_size=32, progress=False):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        open_index([folder], config, Exploding, _fake_ingest)
    assert Index.load(config.index_dir).manifest.n_passages == 2


def test_a_dead_builds_leftovers_are_removed_and_the_index_kept(tmp_path, small_docs, hash_embedder):
    config = Config(index_dir=tmp_path / "idx")
    Index.build(small_docs, _passages(small_docs), hash_embedder, config).save(config.index_dir)
    # a build killed while writing its generation (pid 999999999 cannot exist)
    leftover = config.index_dir / ".tmp-999999999-abcdef12"
    (leftover / "bm25").mkdir(parents=True)
    (leftover / "passages.jsonl").write_text("half written")
    assert Index.load(config.index_dir).manifest.n_passages == 5
    Index.build(small_docs[:1], _passages(small_docs[:1]), hash_embedder, config).save(config.index_dir)
    assert not leftover.exists()
    assert Index.load(config.index_dir).manifest.n_passages == len(small_docs[0].paragraphs)


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from conftest import HashEmbedder
    from test_index import _fake_ingest
    from rag.config import Config
    from rag.index import open_index

    class Slow(HashEmbedder):
        def embed_passages(self, texts, batch_size=32, progress=False):
            time.sleep(0.002 * len(texts))
            return super().embed_passages(texts)

    open_index([Path({corpus!r})], Config(index_dir=Path({idx!r})), Slow, _fake_ingest, force=True)
    """
)


def test_sigkilled_builds_leave_a_usable_index(tmp_path):
    """Builds killed at various points never leave a half index behind."""
    lines = "\n".join(f"Paragraphe numéro {i} sur la géographie de la région {i}." for i in range(120))
    folder = _corpus(tmp_path, {"a.txt": lines})
    config = Config(index_dir=tmp_path / "idx")
    open_index([folder], config, HashEmbedder, _fake_ingest)
    script = tmp_path / "build.py"
    script.write_text(KILL_SCRIPT.format(tests=str(Path(__file__).parent), corpus=str(folder), idx=str(config.index_dir)))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    for delay in (0.3, 0.8, 1.2, 1.6, 2.0, 2.5):
        proc = subprocess.Popen([sys.executable, str(script)], env=env)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        index = open_index([folder], config, HashEmbedder, _fake_ingest)
        assert index.manifest.n_passages == 120
        Index.load(config.index_dir)  # checksums hold


def test_unwritable_index_folder_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        # root ignores permissions; a file where the parent folder should be fails for everyone
        parent = tmp_path / "blocked"
        parent.write_text("a file, not a folder")
        index_dir = parent / "idx"
    else:
        parent = tmp_path / "ro"
        parent.mkdir()
        parent.chmod(0o500)
        index_dir = parent / "idx"
    folder = _corpus(tmp_path, {"a.txt": "La mer.\n"})
    with pytest.raises(OSError) as e:
        open_index([folder], Config(index_dir=index_dir), HashEmbedder, _fake_ingest)
    assert "index folder" in str(e.value) or "Not a directory" in str(e.value)


# ---------------------------------------------------------------- vector index types
# Recall is checked on small synthetic data (clustered random vectors), never
# timings: the figures live in benchmarks/README.md.


def clustered(n: int, d: int, seed: int = 0, clusters: int = 50) -> np.ndarray:
    """Unit vectors around random centres: neighbourhoods like real embeddings have."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def recall_at(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(approx, exact)]))


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]



def test_index_types_are_the_documented_ones():
    assert INDEX_TYPES == ("auto", "flat", "hnsw", "ivfpq")


def test_auto_is_flat_up_to_the_threshold_and_hnsw_above():
    assert resolve_index_type("auto", 10) == "flat"
    assert resolve_index_type("auto", ANN_MIN_VECTORS) == "flat"
    assert resolve_index_type("auto", ANN_MIN_VECTORS + 1) == "hnsw"
    assert resolve_index_type("hnsw", 10) == "hnsw"
    # too few vectors to train product quantizers: searched exactly
    assert resolve_index_type("ivfpq", IVFPQ_MIN_VECTORS - 1) == "flat"
    assert resolve_index_type("ivfpq", IVFPQ_MIN_VECTORS) == "ivfpq"


def test_bad_index_type_names_the_choices(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown index type 'annoy'; allowed: auto, flat, hnsw, ivfpq"):
        Config().with_(index_type="annoy")
    with pytest.raises(ValueError, match="allowed: auto, flat, hnsw, ivfpq"):
        resolve_index_type("HNSW", 10)
    code = main(["index", str(tmp_path), "--index-dir", str(tmp_path / "ix"), "--index-type", "annoy"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == "renvoi: unknown index type 'annoy'; allowed: auto, flat, hnsw, ivfpq"
    assert not (tmp_path / "ix").exists()


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivfpq"])
def test_vector_index_round_trip_keeps_results_and_parameters(kind, tmp_path):
    import faiss

    vectors = clustered(IVFPQ_MIN_VECTORS + 500, 32)
    spec = vector_index_spec(kind, len(vectors))
    assert spec["type"] == kind
    built = build_vector_index(vectors, spec)
    queries = clustered(20, 32, seed=1)
    before = built.search(queries, 10)
    faiss.write_index(built, str(tmp_path / "v.faiss"))
    loaded = faiss.read_index(str(tmp_path / "v.faiss"))
    set_search_params(loaded, spec)
    after = loaded.search(queries, 10)
    assert loaded.ntotal == len(vectors)
    np.testing.assert_array_equal(before[1], after[1])
    if kind == "hnsw":
        assert loaded.hnsw.efSearch == spec["efSearch"]
    if kind == "ivfpq":
        assert loaded.nprobe == spec["nprobe"]


def test_search_params_must_match_the_structure():
    vectors = clustered(300, 16)
    flat = build_vector_index(vectors, {"type": "flat"})
    with pytest.raises(ValueError, match="the manifest says hnsw"):
        set_search_params(flat, vector_index_spec("hnsw", 300))
    with pytest.raises(ValueError, match="unknown vector index type 'lsh'"):
        build_vector_index(vectors, {"type": "lsh"})


@pytest.mark.parametrize("kind", ["hnsw", "ivfpq"])
def test_approximate_recall_at_10_against_exact(kind):
    vectors = clustered(12_000, 64)
    queries = clustered(200, 64, seed=7)
    exact = exact_top(vectors, queries, 10)
    spec = vector_index_spec(kind, len(vectors))
    _, approx = search_vectors(build_vector_index(vectors, spec), vectors, queries, 10, spec)
    assert recall_at(approx, exact) >= 0.9


def test_index_records_its_structure_and_query_commands_keep_it(tmp_path, small_docs, hash_embedder):
    (tmp_path / "a.txt").write_text("Un article.\n\nLe port de Marseille accueille des cargos.\n", encoding="utf-8")
    passages = _passages(small_docs)
    config = Config(index_dir=tmp_path / "index").with_(index_type="hnsw")
    calls, factory = counting_factory(lambda: hash_embedder)

    def ingest(paths):
        return small_docs, passages

    built = open_index([tmp_path / "a.txt"], config, factory, ingest)
    assert built.manifest.settings["index_type"] == "hnsw"
    assert built.manifest.vector_index["passages"]["type"] == "hnsw"
    loaded = Index.load(config.index_dir)
    assert loaded.faiss_passages.hnsw.efSearch == built.manifest.vector_index["passages"]["efSearch"]
    q = hash_embedder.embed_queries(["cargos Marseille"])
    np.testing.assert_array_equal(built.faiss_passages.search(q, 3)[1], loaded.faiss_passages.search(q, 3)[1])
    # a query command (paths=None, default config) neither rebuilds nor changes the structure
    again = open_index(None, Config(index_dir=tmp_path / "index"), factory, ingest)
    assert len(calls) == 1
    assert again.manifest.vector_index["passages"]["type"] == "hnsw"
    # `renvoi index` with another type rebuilds
    flat = open_index([tmp_path / "a.txt"], Config(index_dir=tmp_path / "index").with_(index_type="flat"), factory, ingest)
    assert len(calls) == 2
    assert flat.manifest.vector_index["passages"]["type"] == "flat"


@pytest.mark.parametrize("change", [{"stopwords": False}, {"min_sentence_chars": 30}, {"version": 2}])
def test_a_change_of_analyzer_rebuilds_the_index(tmp_path, change):
    folder = _corpus(tmp_path, {"a.txt": "Premier paragraphe sur la mer. Il est court.\nSecond sur la montagne.\n"})
    config = Config(index_dir=tmp_path / "idx")
    built, factory = counting_factory()
    open_index([folder], config, factory, _fake_ingest)
    open_index(None, config, factory, _fake_ingest)
    assert len(built) == 1
    other = config.with_(analyzer=replace(config.analyzer, **change))
    rebuilt = open_index([folder], other, factory, _fake_ingest)
    assert len(built) == 2 and rebuilt.manifest.settings["analyzer"][next(iter(change))] == next(iter(change.values()))
    open_index([folder], other, factory, _fake_ingest)
    assert len(built) == 2, "the same analyzer reloads"
    open_index(None, config, factory, _fake_ingest)
    assert len(built) == 2, "a query command searches the index with the analyzer it was built with"


# ---------------------------------------------------------------- incremental updates


class RecordingEmbedder(HashEmbedder):
    """A hashing embedder that records every text it embeds."""

    def __init__(self, dim: int = 64):
        super().__init__(dim)
        self.texts: list[str] = []

    def embed_passages(self, texts, batch_size=32, progress=False):
        self.texts.extend(texts)
        return super().embed_passages(texts, batch_size, progress)


THREE = {
    "a.txt": "Le port de Marseille accueille des cargos venus d'Asie.\nLa pêche y recule depuis 1990.\n",
    "b.txt": "Les vignobles de Bordeaux exportent vers la Chine. Les vendanges commencent en septembre.\n"
             "La ville de Lyon est connue pour ses traboules.\n",
    "c.txt": "Le glacier du Rhône a perdu un tiers de sa masse.\n",
}


def _rows(index: Index, doc_id: str) -> dict[str, tuple]:
    """Passage id -> (text, its vector, its sentences and their vectors) for one document."""
    out = {}
    for p in index.passages:
        if p.doc_id == doc_id:
            row = index.row[p.id]
            sentences, vectors = index.sentences_of(p.id)
            out[p.id] = (p.text, index.passage_vectors[row].tolist(), [s.text for s in sentences], vectors.tolist())
    return out


def test_adding_and_changing_a_document_embeds_only_it_and_keeps_the_others(tmp_path):
    folder = _corpus(tmp_path, {k: v for k, v in THREE.items() if k != "c.txt"})
    config = Config(index_dir=tmp_path / "idx")
    made, factory = counting_factory(RecordingEmbedder)
    first, changes = update_index([folder], config, factory, _fake_ingest)
    assert changes.rebuilt == "new index" and set(changes.added) == {"a", "b"}
    before = {d: _rows(first, d) for d in ("a", "b")}

    (folder / "c.txt").write_text(THREE["c.txt"], encoding="utf-8")
    added, changes = update_index([folder], config, factory, _fake_ingest)
    assert (changes.added, changes.changed, changes.removed, changes.unchanged, changes.rebuilt) == \
        (("c",), (), (), ("a", "b"), None)
    assert all("glacier" in t for t in made[-1].texts), "only the new document is embedded"
    assert {d: _rows(added, d) for d in ("a", "b")} == before, "the other documents keep ids, text and vectors"
    reloaded = Index.load(config.index_dir)
    assert [p.id for p in reloaded.passages] == [p.id for p in added.passages]
    assert reloaded.manifest.document_hashes.keys() == {"a", "b", "c"}

    # a full rebuild of the same files gives the same index
    full = Index.build(*_fake_ingest(_files(folder)), HashEmbedder(), config)
    assert [p.id for p in full.passages] == [p.id for p in added.passages]
    assert full.sentences == added.sentences and np.array_equal(full.sentence_owner, added.sentence_owner)
    assert np.allclose(full.passage_vectors, added.passage_vectors)
    assert np.allclose(full.sentence_vectors, added.sentence_vectors)
    q = HashEmbedder().embed_queries(["glacier du Rhône"])
    assert added.search_passages(q[0], 1)[0] == added.row["c:p1"]

    (folder / "a.txt").write_text("Le port de Marseille accueille des cargos venus d'Asie.\nLe port s'agrandit.\n",
                                  encoding="utf-8")
    changed, changes = update_index([folder], config, factory, _fake_ingest)
    assert changes.changed == ("a",) and set(changes.unchanged) == {"b", "c"} and not changes.added
    assert made[-1].texts and all("glacier" not in t and "Bordeaux" not in t for t in made[-1].texts)
    assert _rows(changed, "b") == before["b"]
    assert [changed.passage(i).text for i in ("a:p1", "a:p2")] == [
        "Le port de Marseille accueille des cargos venus d'Asie.", "Le port s'agrandit."]


def _files(folder):
    from rag.files import discover

    return discover([folder]).files


def test_removing_a_file_drops_its_passages_without_embedding_anything(tmp_path):
    folder = _corpus(tmp_path, THREE)
    config = Config(index_dir=tmp_path / "idx")
    made, factory = counting_factory()
    first, _ = update_index([folder], config, factory, _fake_ingest)
    kept = _rows(first, "a")
    (folder / "b.txt").unlink()
    index, changes = update_index(None, config, factory, _fake_ingest)
    assert changes.removed == ("b",) and set(changes.unchanged) == {"a", "c"}
    assert len(made) == 1, "removing a document loads no model"
    assert not any(p.doc_id == "b" for p in Index.load(config.index_dir).passages)
    assert "b" not in index.documents and _rows(index, "a") == kept
    q = HashEmbedder().embed_queries(["vignobles de Bordeaux"])[0]
    assert all(index.passages[r].doc_id != "b" for r in index.search_passages(q, 10))
    assert not any("Bordeaux" in s for s in index.sentences)


def test_excluded_files_stay_out_until_named_again(tmp_path):
    folder = _corpus(tmp_path, THREE)
    config = Config(index_dir=tmp_path / "idx")
    first, _ = update_index([folder], config, HashEmbedder, _fake_ingest)
    source = first.documents["b"].source
    index, changes = update_index(None, config, HashEmbedder, _fake_ingest, exclude=[source])
    assert changes.removed == ("b",) and (folder / "b.txt").exists(), "the user's file is never deleted"
    assert Index.load(config.index_dir).manifest.excluded == [source]
    assert "b" not in update_index(None, config, HashEmbedder, _fake_ingest)[0].documents
    assert "b" not in update_index([folder], config, HashEmbedder, _fake_ingest)[0].documents
    back, changes = update_index([folder, folder / "b.txt"], config, HashEmbedder, _fake_ingest)
    assert changes.added == ("b",) and not back.manifest.excluded


def test_the_uploads_folder_is_a_source_whenever_it_holds_files(tmp_path):
    folder = _corpus(tmp_path, {"a.txt": THREE["a.txt"]})
    config = Config(index_dir=tmp_path / "idx")
    update_index([folder], config, HashEmbedder, _fake_ingest)
    uploads = uploads_folder(config.index_dir)
    uploads.mkdir()
    (uploads / "mine.txt").write_text("Mon propre texte sur les volcans d'Auvergne.\n", encoding="utf-8")
    index, changes = update_index(None, config, HashEmbedder, _fake_ingest)
    assert changes.added == ("mine",) and str(uploads.resolve()) in index.manifest.sources
    # `renvoi index FOLDER` keeps what was uploaded
    assert "mine" in update_index([folder], config, HashEmbedder, _fake_ingest)[0].documents
    (uploads / "mine.txt").unlink()
    index, changes = update_index(None, config, HashEmbedder, _fake_ingest)
    assert changes.removed == ("mine",) and index.manifest.sources == [str(folder.resolve())]


def test_a_settings_or_parser_change_rebuilds_everything(tmp_path, monkeypatch):
    folder = _corpus(tmp_path, THREE)
    config = Config(index_dir=tmp_path / "idx")
    made, factory = counting_factory(RecordingEmbedder)
    update_index([folder], config, factory, _fake_ingest)
    _, changes = update_index([folder], config, factory, _fake_ingest, force=True)
    assert changes.rebuilt == "--force" and set(changes.changed) == {"a", "b", "c"}
    other = config.with_(analyzer=replace(config.analyzer, min_sentence_chars=30))
    (folder / "c.txt").write_text("Autre chose.\n", encoding="utf-8")
    _, changes = update_index([folder], other, factory, _fake_ingest)
    assert changes.rebuilt == "settings changed" and any("Bordeaux" in t for t in made[-1].texts)
    monkeypatch.setattr("rag.index.PARSER_VERSION", 10_000)
    _, changes = update_index([folder], other, factory, _fake_ingest)
    assert changes.rebuilt == "parser changed" and any("Marseille" in t for t in made[-1].texts)


def test_a_file_that_fails_is_named_and_the_others_kept(tmp_path):
    folder = _corpus(tmp_path, THREE)
    config = Config(index_dir=tmp_path / "idx")
    update_index([folder], config, HashEmbedder, _fake_ingest)
    (folder / "d.txt").write_text("Un nouveau.\n", encoding="utf-8")
    (folder / "e.txt").write_text("Un qui échoue.\n", encoding="utf-8")

    def ingest(files):
        return _fake_ingest([f for f in files if f.doc_id != "e"])

    index, changes = update_index([folder], config, HashEmbedder, ingest)
    assert changes.added == ("d",) and changes.failed == ("e",)
    assert set(index.documents) == {"a", "b", "c", "d"}


UPDATE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from conftest import HashEmbedder
    from test_index import _fake_ingest
    from rag.config import Config
    from rag.index import update_index

    class Slow(HashEmbedder):
        def embed_passages(self, texts, batch_size=32, progress=False):
            time.sleep(0.004 * len(texts))
            return super().embed_passages(texts)

    update_index([Path({corpus!r})], Config(index_dir=Path({idx!r})), Slow, _fake_ingest)
    """
)


def test_a_killed_update_leaves_the_previous_index_answering(tmp_path):
    folder = _corpus(tmp_path, THREE)
    config = Config(index_dir=tmp_path / "idx")
    first, _ = update_index([folder], config, HashEmbedder, _fake_ingest)
    lines = "\n".join(f"Paragraphe {i} sur les volcans d'Auvergne et le puy numéro {i}." for i in range(150))
    (folder / "volcans.txt").write_text(lines, encoding="utf-8")
    script = tmp_path / "update.py"
    script.write_text(UPDATE_SCRIPT.format(tests=str(Path(__file__).parent), corpus=str(folder),
                                           idx=str(config.index_dir)))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    q = HashEmbedder().embed_queries(["vignobles de Bordeaux"])[0]
    for delay in (0.3, 0.9, 1.5, 2.2):
        proc = subprocess.Popen([sys.executable, str(script)], env=env)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        index = Index.load(config.index_dir)  # checksums hold: never half an index
        assert index.manifest.n_passages in (first.manifest.n_passages, first.manifest.n_passages + 150)
        assert _rows(index, "b") == _rows(first, "b")
        assert index.passages[index.search_passages(q, 1)[0]].doc_id == "b"
    index, changes = update_index([folder], config, HashEmbedder, _fake_ingest)
    assert "volcans" in index.documents and _rows(index, "b") == _rows(first, "b")
