"""The `renvoi` command line, run in-process through `rag.cli.main`."""

from __future__ import annotations

import json

import pytest
from pathlib import Path

from rag.cli import main

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

ARTICLE = (
    "Les abeilles sauvages supportent mal les vagues de chaleur qui se multiplient en Europe, et les colonies "
    "perdent jusqu'à un tiers de leurs butineuses pendant les étés les plus chauds [1].\n"
)


# --------------------------------------------------------------------------- inspect


def test_inspect_json_lists_documents_with_paragraphs(capsys):
    assert main(["inspect", "--json", str(SEEDS)]) == 0
    out = capsys.readouterr().out
    docs = json.loads(out)
    assert [d["id"] for d in docs] == ["000_d870e11f8aecef73", "002_42ac76fe60a39ace"]
    diploweb, atlantico = docs
    assert diploweb["title"].startswith("Trump et Poutine")
    assert diploweb["authors"] == ["Cyrille Bret"] and diploweb["date"] == "2016-11-11"
    first = diploweb["paragraphs"][0]
    assert {"id", "section", "text", "footnotes", "kind"} <= set(first)
    assert first["id"] == "000_d870e11f8aecef73:p1" and first["kind"] == "text" and first["footnotes"] == [1, 2, 3, 4]
    assert first["section"] is None
    assert diploweb["paragraphs"][4]["section"].startswith("I. L'isolationnisme")
    assert [f["number"] for f in diploweb["footnotes"]] == list(range(1, 12))
    kinds = {p["kind"] for p in atlantico["paragraphs"]}
    assert kinds == {"question", "answer"}
    assert atlantico["comments"][0]["author"] == "vangog"
    assert atlantico["dropped"] > 0


def test_inspect_prints_a_readable_summary(capsys):
    assert main(["inspect", str(SEEDS / "000_d870e11f8aecef73.txt")]) == 0
    out = capsys.readouterr().out
    for fragment in ("000_d870e11f8aecef73", "Cyrille Bret", "2016-11-11", "Diploweb.com", "28 (28 text)",
                     "furniture dropped", "10 blocks", "huffingtonpost", "IV. Les limites"):  # fmt: skip
        assert fragment in out
    assert "1 document, 28 paragraphs, 10 blocks dropped as page furniture" in out


def test_inspect_reports_bad_files_and_still_succeeds(tmp_path, capsys):
    good = tmp_path / "abeilles.txt"
    good.write_text(ARTICLE, encoding="utf-8")
    empty = tmp_path / "vide.md"
    empty.write_text("", encoding="utf-8")
    assert main(["inspect", "--json", str(good), str(empty), str(tmp_path / "absent.txt")]) == 0
    captured = capsys.readouterr()
    assert [d["id"] for d in json.loads(captured.out)] == ["abeilles"]
    errors = captured.err.strip().splitlines()
    assert errors == [f"renvoi: {empty}: empty file", f"renvoi: {tmp_path / 'absent.txt'}: no such file or folder"]


def test_inspect_fails_when_nothing_could_be_read(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "absent.txt")]) == 1
    assert "no document could be read" in capsys.readouterr().err
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert main(["inspect", "--json", str(binary)]) == 1
    err = capsys.readouterr().err
    assert "photo.txt: binary file" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["search", "x", "--k", "0"], ["ask", "--k", "abc", "x"], ["frob"], ["ask", "--nope", "x"]])
def test_usage_errors_are_one_line_with_exit_code_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("renvoi: ") and "\n" not in err and "Traceback" not in err
