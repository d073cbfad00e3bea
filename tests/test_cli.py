"""The `renvoi` command line, run in-process through `rag.cli.main`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from pathlib import Path

from rag.cli import main

ROOT = Path(__file__).resolve().parent.parent

SEEDS = ROOT / "seeds"

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
    assert atlantico["n_dropped"] == len(atlantico["dropped"]) > 0
    assert all(set(d) == {"text", "reason"} and d["text"] and d["reason"] for d in atlantico["dropped"])


def test_inspect_prints_a_readable_summary(capsys):
    assert main(["inspect", str(SEEDS / "000_d870e11f8aecef73.txt")]) == 0
    out = capsys.readouterr().out
    for fragment in ("000_d870e11f8aecef73", "Cyrille Bret", "2016-11-11", "Diploweb.com", "28 (28 text)",
                     "dropped", "9 blocks", "also dated", "huffingtonpost", "IV. Les limites"):  # fmt: skip
        assert fragment in out
    assert "1 document, 28 paragraphs, 9 blocks dropped" in out


def test_inspect_reports_bad_files_and_still_succeeds(tmp_path, capsys):
    good = tmp_path / "abeilles.txt"
    good.write_text(ARTICLE, encoding="utf-8")
    empty = tmp_path / "vide.md"
    empty.write_text("", encoding="utf-8")
    assert main(["inspect", "--json", str(good), str(empty), str(tmp_path / "absent.txt")]) == 0
    captured = capsys.readouterr()
    assert [d["id"] for d in json.loads(captured.out)] == ["abeilles"]
    errors = captured.err.strip().splitlines()
    # what cannot be found is named first, then what cannot be read
    assert errors == [f"renvoi: {tmp_path / 'absent.txt'}: no such file or folder", f"renvoi: {empty}: empty file"]


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


# ---------------------------------------------------------------- cold start of `ask`

PORT_ARTICLE = """Le port et la ville

Le port de Marseille accueille des cargos venus d'Asie depuis le XIXe siècle.

La pêche y recule depuis 1990, faute de poissons et de jeunes marins.

Les vignobles de Bordeaux exportent vers la Chine une part croissante de leur vin.
"""


@pytest.mark.model
def test_ask_imports_neither_torch_nor_gradio(tmp_path, onnx_cache):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "port.txt").write_text(PORT_ARTICLE, encoding="utf-8")
    env = {**os.environ, "RENVOI_CACHE": str(onnx_cache), "PYTHONPATH": str(ROOT)}
    index_dir = tmp_path / "index"
    built = subprocess.run([sys.executable, "-m", "rag", "index", str(tmp_path / "corpus"), "--index-dir", str(index_dir)],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert built.returncode == 0, built.stderr
    probe = (
        "import json, sys\n"
        "from rag.cli import main\n"
        f"code = main(['ask', 'Que transporte le port de Marseille ?', '--json', '--index-dir', {str(index_dir)!r}])\n"
        "heavy = ['torch', 'gradio', 'transformers', 'sentence_transformers', 'bm25s', 'numba']\n"
        "print(json.dumps({'code': code, 'imported': [m for m in heavy if m in sys.modules]}), file=sys.stderr)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    report = json.loads(run.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "imported": []}, run.stderr
    answer = json.loads(run.stdout)
    assert "Marseille" in json.dumps(answer, ensure_ascii=False)
