"""The pipeline's corpus operations: files added to a running index (the chat page's
uploads), documents removed, and the index brought up to date, with the hashing embedder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rag.pipeline
from rag.config import Config
from rag.index import Index, uploads_folder
from rag.pipeline import Renvoi

from conftest import GLACIERS_ARTICLE, HashEmbedder

NOTES = """\
# Les volcans d'Auvergne

Par Marie Dupuy, 5 mai 2022

Le puy de Dôme culmine à 1465 mètres et domine la chaîne des Puys, un alignement de quatre-vingts volcans endormis.

La dernière éruption de la chaîne remonte à environ huit mille ans, selon les géologues de l'université de Clermont.
"""

TRAINS = """\
# Night trains are back

By John Smith, 3 March 2021

The night train between Paris and Vienna reopened in December 2021 after a decade of absence, carried by the Austrian railways.
"""


@pytest.fixture
def renvoi(tmp_path, monkeypatch) -> Renvoi:
    monkeypatch.setattr(rag.pipeline, "_load_embedder", lambda config, **_: HashEmbedder())
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "glaciers.md").write_text(GLACIERS_ARTICLE, encoding="utf-8")
    (corpus / "trains.md").write_text(TRAINS, encoding="utf-8")
    return Renvoi.open(Config(index_dir=tmp_path / "index"), [corpus], progress=False, notify=lambda m: None)


def _given(tmp_path: Path, files: dict[str, str | bytes]) -> list[Path]:
    """Files as the page receives them: in a folder of their own, under their own names."""
    folder = tmp_path / "given"
    folder.mkdir(exist_ok=True)
    out = []
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        out.append(path)
    return out


def _ids(renvoi: Renvoi, doc_id: str) -> list[str]:
    return [p.id for p in renvoi.passages if p.doc_id == doc_id]


def test_added_files_are_answered_at_once_and_after_a_restart(renvoi, tmp_path):
    glaciers = _ids(renvoi, "glaciers")
    vectors = renvoi.index.passage_vectors[[renvoi.index.row[i] for i in glaciers]].copy()
    progress: list[tuple[int, int]] = []
    received, changes = renvoi.add_files(
        _given(tmp_path, {"volcans.md": NOTES, "photo.png": b"\x89PNG", "vide.md": "\n\n"}),
        on_progress=lambda done, total: progress.append((done, total)), notify=lambda m: None)
    by_name = {r.name: r for r in received}
    assert by_name["volcans.md"].doc_id == "volcans" and by_name["volcans.md"].problem is None
    assert "unsupported file type '.png'" in by_name["photo.png"].problem
    assert by_name["vide.md"].problem and "\n" not in by_name["vide.md"].problem
    assert changes.added == ("volcans",) and set(changes.unchanged) == {"glaciers", "trains"}
    assert progress[-1][0] == progress[-1][1] > 0 and [d for d, _ in progress] == sorted(d for d, _ in progress)
    hit = renvoi.search("Quelle est l'altitude du puy de Dôme ?", k=1)[0]
    assert hit.passage.doc_id == "volcans"
    assert _ids(renvoi, "glaciers") == glaciers, "the other documents keep their passage ids"
    assert np.array_equal(renvoi.index.passage_vectors[[renvoi.index.row[i] for i in glaciers]], vectors)
    assert sorted(p.name for p in uploads_folder(renvoi.config.index_dir).iterdir()) == ["volcans.md"]

    again = Renvoi.open(renvoi.config, None, progress=False, notify=lambda m: None)
    assert "volcans" in again.documents and again.opened.unchanged and not again.opened.added


def test_a_new_version_replaces_an_upload_and_a_name_taken_elsewhere_gets_a_number(renvoi, tmp_path):
    renvoi.add_files(_given(tmp_path, {"volcans.md": NOTES}), notify=lambda m: None)
    newer = NOTES.replace("1465 mètres", "1465 mètres d'altitude")
    received, changes = renvoi.add_files(_given(tmp_path, {"volcans.md": newer, "glaciers.md": NOTES}),
                                         notify=lambda m: None)
    assert [r.doc_id for r in received] == ["volcans", "glaciers-2"]
    assert changes.changed == ("volcans",) and changes.added == ("glaciers-2",)
    assert "d'altitude" in " ".join(p.text for p in renvoi.passages if p.doc_id == "volcans")
    assert renvoi.documents["glaciers"].source.endswith("corpus/glaciers.md"), "the user's document is untouched"


def test_removing_an_upload_deletes_its_copy_and_removing_a_corpus_file_keeps_it(renvoi, tmp_path):
    renvoi.add_files(_given(tmp_path, {"volcans.md": NOTES}), notify=lambda m: None)
    changes = renvoi.remove_documents(["volcans"], notify=lambda m: None)
    assert changes.removed == ("volcans",) and not _ids(renvoi, "volcans")
    assert not any(uploads_folder(renvoi.config.index_dir).glob("*volcans*"))
    assert all(h.passage.doc_id != "volcans" for h in renvoi.search("puy de Dôme volcans", k=10))

    corpus_file = Path(renvoi.documents["trains"].source)
    renvoi.remove_documents(["trains"], notify=lambda m: None)
    assert corpus_file.exists(), "a file of the user's folder is never deleted"
    assert "trains" not in Renvoi.open(renvoi.config, None, progress=False, notify=lambda m: None).documents
    with pytest.raises(ValueError, match="at least one document"):
        renvoi.remove_documents(["glaciers"])
    with pytest.raises(ValueError, match="no document 'nope'"):
        renvoi.remove_documents(["nope"])


def test_a_failed_update_leaves_the_index_and_the_uploads_as_they_were(renvoi, tmp_path, monkeypatch):
    renvoi.add_files(_given(tmp_path, {"volcans.md": NOTES}), notify=lambda m: None)
    before = Index.load(renvoi.config.index_dir)
    uploads = uploads_folder(renvoi.config.index_dir)
    original = (uploads / "volcans.md").read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(HashEmbedder, "embed_passages", boom)
    newer = NOTES.replace("1465", "1466")
    with pytest.raises(RuntimeError, match="disk full"):
        renvoi.add_files(_given(tmp_path, {"volcans.md": newer, "autre.md": NOTES}), notify=lambda m: None)
    assert sorted(p.name for p in uploads.iterdir()) == ["volcans.md"]
    assert (uploads / "volcans.md").read_bytes() == original
    after = Index.load(renvoi.config.index_dir)
    assert [p.id for p in after.passages] == [p.id for p in before.passages]
    assert "1465" in " ".join(p.text for p in renvoi.passages)


def test_renvoi_index_updates_only_what_changed_and_force_rebuilds(tmp_path, monkeypatch, capsys):
    from rag.cli import main

    monkeypatch.setattr(rag.pipeline, "_load_embedder", lambda config, **_: HashEmbedder())
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "glaciers.md").write_text(GLACIERS_ARTICLE, encoding="utf-8")
    (corpus / "trains.md").write_text(TRAINS, encoding="utf-8")
    index_dir = tmp_path / "index"
    assert main(["index", str(corpus), "--index-dir", str(index_dir)]) == 0
    before = Index.load(index_dir)
    ids = {d: [p.id for p in before.passages if p.doc_id == d] for d in ("glaciers", "trains")}
    capsys.readouterr()

    (corpus / "volcans.md").write_text(NOTES, encoding="utf-8")
    assert main(["index", str(corpus), "--index-dir", str(index_dir)]) == 0
    out = capsys.readouterr().out
    assert "1 added, 0 changed, 0 removed, 2 unchanged" in out and "again" not in out
    after = Index.load(index_dir)
    assert {d: [p.id for p in after.passages if p.doc_id == d] for d in ids} == ids
    assert any(p.doc_id == "volcans" for p in after.passages)

    assert main(["index", str(corpus), "--index-dir", str(index_dir), "--force"]) == 0
    assert "everything read and embedded again (--force)" in capsys.readouterr().out
    assert [p.id for p in Index.load(index_dir).passages] == [p.id for p in after.passages]
