"""The vector store: Milvus (Lite, started here on a file) answers as FAISS does, an
interrupted build leaves the previous collections answering, bad URIs are refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag import storage
from rag.cli import main
from rag.config import Config, check_store
from rag.index import MANIFEST, Index, IndexError_, index_generation, open_index
from rag.retrieve import Retriever
from rag.store import MilvusStore, StoreUnavailable, close_clients, collection_base, milvus_client

from conftest import HashEmbedder, corpus_folder, counting_factory, line_ingest

QUESTIONS = (
    "Que transporte le port de Marseille ?",
    "Quand commencent les vendanges à Bordeaux ?",
    "Combien le glacier du Rhône a-t-il perdu ?",
    "Quel train de nuit rouvre en 2021 ?",
    "gastronomie lyonnaise et traboules",
    "pêche 1990",
)

CORPUS = {
    "a.txt": "Le port de Marseille accueille des cargos venus d'Asie. La pêche y recule depuis 1990.\n"
             "Les vignobles de Bordeaux exportent vers la Chine. Les vendanges commencent en septembre.\n"
             "La ville de Lyon est connue pour sa gastronomie et ses traboules.\n",
    "b.txt": "Le glacier du Rhône a perdu un tiers de sa masse. Les touristes viennent le voir fondre.\n"
             "Les trains de nuit reviennent en Europe: Paris-Vienne rouvre en 2021.\n"
             "Le tunnel sous la Manche relie la France et l'Angleterre depuis 1994.\n",
    "c.txt": "Les abeilles pollinisent les cultures de colza au printemps.\n"
             "La Loire est le plus long fleuve de France, ses châteaux attirent les visiteurs.\n",
}


_corpus = corpus_folder
_ingest = line_ingest


@pytest.fixture
def milvus(tmp_path):
    """The store string of a Milvus Lite file in tmp_path, its server started (skips when it cannot start)."""
    store = f"milvus:{tmp_path / 'm.db'}"
    try:
        milvus_client(store)
    except (StoreUnavailable, ImportError) as e:
        pytest.skip(f"Milvus Lite cannot start here: {e}")
    yield store
    close_clients()


def _hits(index: Index, question: str, mode: str, k: int = 5):
    return Retriever(index, HashEmbedder(), Config()).search(question, k=k, mode=mode)


def _collections(store: str, index_dir: Path) -> list[str]:
    base = collection_base(index_dir)
    return sorted(n for n in milvus_client(store).list_collections() if n.startswith(base))


# ---------------------------------------------------------------- same answers as FAISS


def test_milvus_gives_the_same_hits_as_faiss(tmp_path, milvus):
    folder = _corpus(tmp_path, CORPUS)
    faiss = open_index([folder], Config(index_dir=tmp_path / "faiss"), HashEmbedder, _ingest)
    built = open_index([folder], Config(index_dir=tmp_path / "milvus").with_(store=milvus), HashEmbedder, _ingest)
    loaded = Index.load(tmp_path / "milvus")  # read back from the collections alone
    assert loaded.store.kind == "milvus" and loaded.faiss_passages is None
    gen = index_generation(tmp_path / "milvus")
    assert not (gen / "passage_vectors.npy").exists() and not (gen / "passages.jsonl").exists()
    assert loaded.manifest.store["uri"] == milvus
    assert sorted(loaded.manifest.store["collections"].values()) == _collections(milvus, tmp_path / "milvus")
    assert [p.id for p in loaded.passages] == [p.id for p in faiss.passages]
    assert loaded.passages == faiss.passages and loaded.sentences == faiss.sentences
    np.testing.assert_array_equal(loaded.sentence_vectors, faiss.sentence_vectors)
    for index in (built, loaded):
        for question in QUESTIONS:
            for mode in ("hybrid", "dense", "bm25"):
                want, got = _hits(faiss, question, mode), _hits(index, question, mode)
                assert [h.passage.id for h in got] == [h.passage.id for h in want], (question, mode)
                assert [h.best_sentence for h in got] == [h.best_sentence for h in want], (question, mode)
                np.testing.assert_allclose([h.score for h in got], [h.score for h in want], rtol=1e-6)


def test_the_store_finds_what_faiss_finds_among_many_vectors(tmp_path, milvus):
    """Candidates come from the store: a corpus larger than the candidate count, searched dense."""
    lines = "\n".join(f"Paragraphe {i} sur la région numéro {i % 17} et le fleuve {i % 5}." for i in range(300))
    folder = _corpus(tmp_path, {"a.txt": lines})
    faiss = open_index([folder], Config(index_dir=tmp_path / "faiss"), HashEmbedder, _ingest)
    mil = open_index([folder], Config(index_dir=tmp_path / "milvus").with_(store=milvus), HashEmbedder, _ingest)
    rng = np.random.default_rng(0)
    for _ in range(10):
        q = rng.standard_normal(faiss.manifest.dim).astype(np.float32)
        q /= np.linalg.norm(q)
        for name, k in (("passages", 20), ("sentences", 60)):
            got = getattr(mil, f"search_{name}")(q, k)
            want = getattr(faiss, f"search_{name}")(q, k)
            assert len(got) == len(want) == k and list(got) != list(range(k))
            # the same nearest rows, up to ties at the k-th similarity (many bags of terms coincide)
            vectors = getattr(faiss, f"{name[:-1]}_vectors")
            np.testing.assert_allclose(vectors[got] @ q, vectors[want] @ q, rtol=1e-5, atol=1e-6)


def test_query_commands_keep_the_store_the_index_has(tmp_path, milvus):
    folder = _corpus(tmp_path, CORPUS)
    config = Config(index_dir=tmp_path / "idx")
    open_index([folder], config.with_(store=milvus), HashEmbedder, _ingest)
    made, factory = counting_factory()
    again = open_index(None, config, factory, _ingest)  # no --store: reloaded, not rebuilt into FAISS
    assert made == [] and again.store.kind == "milvus"
    # --store faiss on the same folder is a change of setting: rebuilt into the folder
    before = _collections(milvus, config.index_dir)
    moved = open_index([folder], config.with_(store="faiss"), factory, _ingest)
    assert len(made) == 1 and moved.store.kind == "faiss"
    assert Index.load(config.index_dir).store.kind == "faiss"
    assert _collections(milvus, config.index_dir) == before  # the generation kept for readers names them
    open_index([folder], config, factory, _ingest, force=True)
    assert _collections(milvus, config.index_dir) == []  # once it is pruned, nothing is left in Milvus


# ---------------------------------------------------------------- interrupted builds


class _Boom(RuntimeError):
    pass


def test_a_build_interrupted_mid_write_leaves_the_previous_collections_answering(tmp_path, milvus, monkeypatch):
    folder = _corpus(tmp_path, CORPUS)
    config = Config(index_dir=tmp_path / "idx").with_(store=milvus)
    first = open_index([folder], config, HashEmbedder, _ingest)
    before = _collections(milvus, config.index_dir)
    want = [h.passage.id for h in _hits(first, QUESTIONS[0], "hybrid")]
    (folder / "c.txt").write_text("Un tout autre texte sur les volcans d'Auvergne.\n", encoding="utf-8")

    calls = {"n": 0}
    insert = MilvusStore._insert

    def failing_insert(self, name, rows):
        calls["n"] += 1
        if calls["n"] == 2:  # the passages are written, the sentences not yet
            raise _Boom("killed mid-build")
        return insert(self, name, rows)

    monkeypatch.setattr(MilvusStore, "_insert", failing_insert)
    with pytest.raises(_Boom):
        open_index([folder], config, HashEmbedder, _ingest)
    assert calls["n"] == 2
    assert _collections(milvus, config.index_dir) == before  # the half-written ones were dropped
    still = Index.load(config.index_dir)
    assert still.manifest.store == first.manifest.store
    assert [h.passage.id for h in _hits(still, QUESTIONS[0], "hybrid")] == want


def test_a_build_killed_before_its_switch_leaves_the_previous_collections_answering(tmp_path, milvus,
                                                                                     monkeypatch):
    """Killed after writing its collections, before the manifest switched: nothing cleaned
    up then; the previous index answers, and the next build drops the orphans."""
    folder = _corpus(tmp_path, CORPUS)
    config = Config(index_dir=tmp_path / "idx").with_(store=milvus)
    first = open_index([folder], config, HashEmbedder, _ingest)
    (folder / "c.txt").write_text("Un tout autre texte sur les volcans d'Auvergne.\n", encoding="utf-8")
    publish = storage.publish

    with monkeypatch.context() as m:
        def killed(*args, **kwargs):
            raise _Boom("killed before the switch")

        m.setattr(storage, "publish", killed)
        m.setattr(MilvusStore, "drop", lambda self, description: None)  # a killed process cleans nothing
        with pytest.raises(_Boom):
            open_index([folder], config, HashEmbedder, _ingest)
    previous = set(first.manifest.store["collections"].values())
    orphans = set(_collections(milvus, config.index_dir)) - previous
    assert len(orphans) == 2
    still = Index.load(config.index_dir)
    assert still.manifest.store == first.manifest.store
    assert [h.passage.id for h in _hits(still, QUESTIONS[1], "hybrid")] == \
        [h.passage.id for h in _hits(first, QUESTIONS[1], "hybrid")]
    # a build that completes drops the orphans; the generation kept for readers keeps its collections
    assert storage.publish is publish
    done = open_index([folder], config, HashEmbedder, _ingest)
    left = set(_collections(milvus, config.index_dir))
    assert not orphans & left
    assert set(done.manifest.store["collections"].values()) | previous == left


def test_a_lost_collection_is_a_damaged_index_rebuilt_in_its_store(tmp_path, milvus):
    folder = _corpus(tmp_path, CORPUS)
    config = Config(index_dir=tmp_path / "idx").with_(store=milvus)
    first = open_index([folder], config, HashEmbedder, _ingest)
    milvus_client(milvus).drop_collection(first.manifest.store["collections"]["sentences"])
    with pytest.raises(IndexError_, match="missing"):
        Index.load(config.index_dir)
    notices: list[str] = []
    again = open_index(None, Config(index_dir=config.index_dir), HashEmbedder, _ingest, notify=notices.append)
    assert again.store.kind == "milvus" and "rebuilding" in notices[0]
    assert [h.passage.id for h in _hits(again, QUESTIONS[2], "hybrid")][:1] == ["b:p1"]


def test_an_unreachable_server_is_an_error_not_a_rebuild(tmp_path, milvus):
    folder = _corpus(tmp_path, CORPUS)
    config = Config(index_dir=tmp_path / "idx").with_(store=milvus)
    open_index([folder], config, HashEmbedder, _ingest)
    gen = index_generation(config.index_dir)
    manifest = (gen / MANIFEST).read_text(encoding="utf-8")
    # the same index, its collections said to be on a server nobody runs
    (gen / MANIFEST).write_text(manifest.replace(milvus, "milvus:http://127.0.0.1:9"), encoding="utf-8")
    made, factory = counting_factory()
    with pytest.raises(StoreUnavailable, match="127.0.0.1:9"):
        open_index(None, Config(index_dir=config.index_dir), factory, _ingest)
    assert made == []
    with pytest.raises(StoreUnavailable, match="127.0.0.1:9"):  # said before any embedding
        open_index([folder], Config(index_dir=tmp_path / "new").with_(store="milvus:http://127.0.0.1:9"),
                   factory, _ingest)
    assert made == []


# ---------------------------------------------------------------- bad URIs


@pytest.mark.parametrize("bad", ["milvus", "milvus:", "milvus:data", "milvus:ftp://host:19530", "redis://x:6379",
                                 "Faiss", "milvus:http://", ""])
def test_a_bad_store_names_itself_and_the_allowed_forms(bad, tmp_path, capsys):
    with pytest.raises(ValueError) as e:
        Config().with_(store=bad)
    message = str(e.value)
    assert repr(bad) in message and "faiss" in message and "milvus:PATH.db" in message \
        and "milvus:http://HOST:19530" in message
    assert main(["search", "une question", "--store", bad, "--index-dir", str(tmp_path / "i")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and repr(bad) in err and "Traceback" not in err
    assert not (tmp_path / "i").exists()


def test_store_forms_are_canonical(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert check_store("faiss") == "faiss"
    assert check_store("milvus:m.db") == f"milvus:{tmp_path / 'm.db'}"  # every working directory names one file
    assert check_store("milvus:http://db.example:19530") == "milvus:http://db.example:19530"
    assert Config().with_(store="milvus:sub/m.db").index.store == f"milvus:{tmp_path / 'sub' / 'm.db'}"


# ---------------------------------------------------------------- the command line


@pytest.mark.model
def test_the_command_line_answers_the_same_from_milvus(tmp_path, milvus, onnx_cache, monkeypatch, capsys):
    import json

    monkeypatch.setenv("RENVOI_CACHE", str(onnx_cache))
    monkeypatch.delenv("RENVOI_STORE", raising=False)
    folder = _corpus(tmp_path, CORPUS)
    out = {}
    for name, flags in (("faiss", []), ("milvus", ["--store", milvus])):
        assert main(["index", str(folder), "--index-dir", str(tmp_path / name), *flags]) == 0
        assert (f"in {milvus}" in capsys.readouterr().out) == (name == "milvus")
        # no --store on the query command: the index says where its vectors are
        assert main(["search", QUESTIONS[1], "--json", "--index-dir", str(tmp_path / name)]) == 0
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err and "ERROR" not in captured.err
        hits = json.loads(captured.out)
        assert "vendanges" in hits[0]["text"]
        out[name] = [(h["passage_id"], round(h["score"], 5)) for h in hits]
    assert Index.load(tmp_path / "milvus").store.kind == "milvus"
    assert out["milvus"] == out["faiss"]


def test_a_milvus_lite_file_held_by_another_process_is_one_line(tmp_path, milvus):
    """A chat page holds the file; a search from another terminal says so, without a traceback."""
    import os
    import subprocess
    import sys

    folder = _corpus(tmp_path, CORPUS)
    config = Config(index_dir=tmp_path / "idx").with_(store=milvus)
    open_index([folder], config, HashEmbedder, _ingest)  # this process now holds the file
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("RENVOI_STORE", None)
    run = subprocess.run([sys.executable, "-m", "rag", "search", QUESTIONS[0], "--index-dir", str(config.index_dir)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert run.returncode == 1
    err = run.stderr.strip()
    assert err.count("\n") == 0 and "one process at a time" in err and str(tmp_path / "m.db") in err
    assert Index.load(config.index_dir).store.kind == "milvus"  # nothing was rebuilt elsewhere
