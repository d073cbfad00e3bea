"""Owned folders: never writing into someone else's, atomic generations, concurrent writers and readers."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from rag import storage


def _write(name: str, text: str):
    def build(tmp: Path) -> None:
        (tmp / name).write_text(text, encoding="utf-8")

    return build


def test_a_folder_renvoi_did_not_create_is_never_written_into(tmp_path):
    look_alike = tmp_path / "d"
    (look_alike / "bm25" / "photos").mkdir(parents=True)
    (look_alike / "documents.json").write_text("data")
    (look_alike / "bm25" / "important_notes.txt").write_text("notes")
    with pytest.raises(storage.NotOwnedError, match=r"d is not a renvoi index folder \(it holds bm25, documents.json\)"):
        storage.publish(look_alike, "index", _write("x", "y"))
    assert sorted(p.relative_to(look_alike).as_posix() for p in look_alike.rglob("*")) == [
        "bm25", "bm25/important_notes.txt", "bm25/photos", "documents.json"]


def test_files_a_user_puts_in_an_owned_folder_survive_every_publication(tmp_path):
    folder = tmp_path / "idx"
    storage.publish(folder, "index", _write("a", "1"))
    (folder / "README_mine.txt").write_text("mine")
    for n in range(4):
        storage.publish(folder, "index", _write("a", str(n)))
    assert (folder / "README_mine.txt").read_text() == "mine"
    assert (storage.current(folder) / "a").read_text() == "3"
    assert len(list(folder.glob("gen-*"))) == 2  # the current one and the one before, for readers mid-load


def test_a_failed_build_changes_nothing(tmp_path):
    folder = tmp_path / "idx"
    storage.publish(folder, "index", _write("a", "1"))

    def explode(tmp: Path) -> None:
        (tmp / "a").write_text("half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        storage.publish(folder, "index", explode)
    assert (storage.current(folder) / "a").read_text() == "1"
    assert not list(folder.glob(".tmp-*"))


def test_another_kind_of_owned_folder_is_refused(tmp_path):
    storage.publish(tmp_path / "m", "model", _write("w", "1"))
    with pytest.raises(storage.NotOwnedError, match="renvoi's model folder, not an index folder"):
        storage.claim(tmp_path / "m", "index")


def test_concurrent_publications_and_reads_never_fail(tmp_path):
    folder = tmp_path / "idx"
    storage.publish(folder, "index", _write("a.json", json.dumps({"n": -1})))
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for n in range(15):
                storage.publish(folder, "index", _write("a.json", json.dumps({"n": k * 100 + n})))
        except BaseException as e:  # noqa: BLE001 - any failure is the test's finding
            errors.append(e)

    def reader() -> None:
        try:
            for _ in range(200):
                gen = storage.current(folder)
                try:
                    json.loads((gen / "a.json").read_text())
                except FileNotFoundError:
                    # pruned after two newer publications: the reader resolves again, as Index.load does
                    json.loads((storage.current(folder) / "a.json").read_text())
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)] + [
        threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert json.loads((storage.current(folder) / "a.json").read_text())["n"] >= 0


def test_swapped_files_are_put_back_when_the_block_fails(tmp_path):
    from rag.storage import swapped

    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / "kept.md").write_text("old", encoding="utf-8")
    (folder / "gone.md").write_text("removed", encoding="utf-8")
    new = tmp_path / "new.md"
    new.write_text("new", encoding="utf-8")
    changes = [(new, folder / "kept.md"), (new, folder / "added.md"), (None, folder / "gone.md")]
    with pytest.raises(RuntimeError, match="update failed"):
        with swapped(changes):
            assert (folder / "kept.md").read_text(encoding="utf-8") == "new"
            assert (folder / "added.md").exists() and not (folder / "gone.md").exists()
            raise RuntimeError("update failed")
    assert {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()} == {"kept.md": "old",
                                                                                "gone.md": "removed"}
    with swapped(changes):
        pass
    assert {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()} == {"kept.md": "new",
                                                                                "added.md": "new"}
