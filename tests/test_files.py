"""File discovery: what a list of paths stands for, the same for ingestion, hashing and inspect."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.files import discover
from rag.index import corpus_hash


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_folders_are_walked_recursively_in_order_with_ids_from_relative_paths(tmp_path):
    corpus = _write(tmp_path / "corpus", {"a.md": "A", "sub/deeper/b.md": "B", "sub/c.html": "C", "notes.csv": "x"})
    found = discover([corpus])
    assert [f.doc_id for f in found.files] == ["a", "sub/c", "sub/deeper/b"]
    assert found.skipped == ()  # a file of another type inside a folder is not a problem


def test_hidden_files_and_folders_are_skipped(tmp_path):
    corpus = _write(tmp_path / "corpus", {"a.md": "A", ".draft.md": "D", ".git/HEAD.md": "H", "x/.cache/y.md": "Y"})
    assert [f.doc_id for f in discover([corpus]).files] == ["a"]


def test_a_link_out_of_the_folder_is_skipped_with_a_notice_unless_followed(tmp_path):
    outside = _write(tmp_path / "outside", {"secret.txt": "private"})
    corpus = _write(tmp_path / "corpus", {"a.md": "A"})
    (corpus / "passwd.txt").symlink_to(outside / "secret.txt")
    (corpus / "inside.md").symlink_to(corpus / "a.md")
    found = discover([corpus])
    assert [f.doc_id for f in found.files] == ["a"]  # the link inside the folder leads to a file already taken
    (notice,) = found.skipped
    assert notice.path.endswith("passwd.txt") and "outside the folder; not followed" in notice.reason
    assert [f.doc_id for f in discover([corpus], follow_links=True).files] == ["a", "passwd"]


def test_link_loops_broken_links_and_fifos_are_named_not_fatal(tmp_path):
    corpus = _write(tmp_path / "corpus", {"a.md": "A"})
    (corpus / "loop").symlink_to(corpus)
    (corpus / "dead.md").symlink_to(tmp_path / "nowhere.md")
    os.mkfifo(corpus / "pipe.md")
    found = discover([corpus], follow_links=True)
    assert [f.doc_id for f in found.files] == ["a"]
    reasons = {Path(s.path).name: s.reason for s in found.skipped}
    assert "loop" in reasons["loop"] and reasons["dead.md"] == "broken link" and "FIFO" in reasons["pipe.md"]


def test_files_over_the_size_limit_are_skipped_with_their_size(tmp_path):
    corpus = _write(tmp_path / "corpus", {"small.md": "A", "big.txt": "x" * 3000})
    found = discover([corpus], max_bytes=1000)
    assert [f.doc_id for f in found.files] == ["small"]
    assert "over the" in found.skipped[0].reason and "limit per file" in found.skipped[0].reason


def test_two_files_with_one_id_keep_the_first(tmp_path):
    one = _write(tmp_path / "one", {"a.md": "A"})
    two = _write(tmp_path / "two", {"a.md": "B"})
    found = discover([one, two])
    assert [f.path for f in found.files] == [one / "a.md"]
    assert "same document id 'a'" in found.skipped[0].reason


@pytest.mark.parametrize("change", ["edit nested", "add hidden", "add unsupported"])
def test_the_corpus_hash_sees_exactly_what_ingestion_reads(tmp_path, change):
    corpus = _write(tmp_path / "corpus", {"a.md": "A", "sub/deeper/b.md": "B"})
    before = corpus_hash([corpus])
    if change == "edit nested":
        (corpus / "sub/deeper/b.md").write_text("B, edited", encoding="utf-8")
        assert corpus_hash([corpus]) != before
    elif change == "add hidden":
        _write(corpus, {".hidden/c.md": "C"})
        assert corpus_hash([corpus]) == before
    else:
        _write(corpus, {"sub/photo.png": "P"})
        assert corpus_hash([corpus]) == before
