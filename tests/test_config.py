"""The settings file: renvoi.toml in the working directory or --config FILE sets the models,
the language model and the thresholds once; flags win over it; a bad key or value is one
line naming it and what is allowed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rag.pipeline as pipeline
from rag.cli import main
from rag.config import Config, find_settings, read_settings

from conftest import HashEmbedder, tiny_cross_encoder


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_settings_file_sets_each_part_and_resolves_folders_beside_it(tmp_path):
    (tmp_path / "models" / "rr").mkdir(parents=True)
    path = _write(tmp_path / "renvoi.toml", """
index_dir = "idx"
max_question_chars = 500

[index]
model = "intfloat/multilingual-e5-base"

[retrieval]
k = 7

[rerank]
model = "models/rr"
depth = 30

[verify]
model = "cross-encoder/nli-deberta-v3-xsmall"
entail_min = 1

[llm]
url = "http://127.0.0.1:8080/v1"
server_model = "smollm2"
""")
    config = read_settings(path)
    assert config.index_dir == tmp_path / "idx" and config.max_question_chars == 500
    assert config.index.model == "intfloat/multilingual-e5-base"  # a hub name stays one
    assert config.retrieval.k == 7 and config.rerank.depth == 30
    assert config.rerank.model == str(tmp_path / "models" / "rr")  # a folder beside the file
    assert config.verify.model == "cross-encoder/nli-deberta-v3-xsmall"
    assert config.verify.entail_min == 1.0 and isinstance(config.verify.entail_min, float)
    assert config.llm.url == "http://127.0.0.1:8080/v1" and config.llm.server_model == "smollm2"
    # what the file leaves out keeps its default
    assert config.compose == Config().compose and config.retrieval.candidates == Config().retrieval.candidates


@pytest.mark.parametrize("text, message", [
    ("[rerank]\nmodle = 'x'\n", "unknown setting 'modle' in [rerank]; allowed: model, depth, sentences"),
    ("reranker = 'x'\n", "unknown setting 'reranker'; allowed: index_dir, cache_dir, max_question_chars and "
                         "tables [ingest], [analyzer], [index], [retrieval], [rerank], [compose], [verify], [llm]"),
    ("rerank = 'x'\n", "rerank must be a table ([rerank])"),
    ("[retrieval]\nk = 'five'\n", "retrieval.k must be a whole number, got 'five'"),
    ("[retrieval]\nk = true\n", "retrieval.k must be a whole number, got True"),
    ("[rerank]\ndepth = 0\n", "depth must be at least 1"),
    ("[verify]\nmodel = ''\n", "verify.model must be a non-empty string"),
    ("[llm]\nurl = 'http://127.0.0.1:8080/v1'\n", "--llm-url needs --llm-model"),
    ("[retrieval\nk = 2\n", "malformed TOML"),
])
def test_a_bad_setting_is_a_value_error_naming_it_and_what_is_allowed(tmp_path, text, message):
    path = _write(tmp_path / "renvoi.toml", text)
    with pytest.raises(ValueError) as e:
        read_settings(path)
    assert str(e.value).startswith(f"{path}: ") and message in str(e.value) and "\n" not in str(e.value)


def test_the_settings_file_is_looked_for_in_the_working_directory(tmp_path):
    assert find_settings(tmp_path) is None
    (tmp_path / "renvoi.toml").mkdir()  # a folder so named is not a settings file
    assert find_settings(tmp_path) is None
    (tmp_path / "renvoi.toml").rmdir()
    path = _write(tmp_path / "renvoi.toml", "")
    assert find_settings(tmp_path) == path
    assert read_settings(path) == Config()
    with pytest.raises(ValueError, match="settings file not found"):
        read_settings(tmp_path / "missing.toml")


def _corpus(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setattr(pipeline, "_load_embedder", lambda config: HashEmbedder(dim=256))
    folder = tmp_path / "docs"
    folder.mkdir()
    _write(folder / "alpes.txt",
           "Les Alpes\n\n"
           "Les vendanges commencent en septembre dans les vignobles de Savoie.\n\n"
           "Le glacier du Rhône a perdu un tiers de sa masse. Les touristes viennent le voir fondre.\n\n"
           "Les trains de nuit reviennent en Europe depuis 2020.\n")
    return folder


def test_the_command_line_reads_renvoi_toml_and_its_flags_win(tmp_path, monkeypatch, capsys):
    folder = _corpus(tmp_path, monkeypatch)
    reranker = tiny_cross_encoder(tmp_path / "models" / "glacier", ["score"], {"glacier": {"score": 6.0}})
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "renvoi.toml", '[retrieval]\nk = 2\n\n[rerank]\nmodel = "models/glacier"\n')
    assert main(["index", str(folder)]) == 0
    assert (tmp_path / ".renvoi" / "index").is_dir()
    capsys.readouterr()
    question = "Quand commencent les vendanges ?"
    assert main(["search", question, "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    # k and the reranker come from the file
    assert len(hits) == 2 and hits[0]["text"].startswith("Le glacier") and hits[0]["rerank_score"] is not None
    assert main(["search", question, "--json", "--k", "3"]) == 0  # the flag wins over the file
    assert len(json.loads(capsys.readouterr().out)) == 3
    # --config names another file, which replaces renvoi.toml
    other = _write(tmp_path / "plain.toml", "[retrieval]\nk = 1\n")
    assert main(["search", question, "--json", "--config", str(other)]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 1 and hits[0]["text"].startswith("Les vendanges") and hits[0]["rerank_score"] is None


def test_a_bad_settings_file_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "renvoi.toml", "[retrieval]\nkk = 2\n")
    for argv in (["search", "Quand ?"], ["ask", "Quand ?"], ["index", str(tmp_path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("renvoi: ") and "\n" not in err and "Traceback" not in err
        assert "unknown setting 'kk' in [retrieval]; allowed: k, " in err
    assert main(["search", "Quand ?", "--config", str(tmp_path / "nowhere.toml")]) == 2
    assert "settings file not found" in capsys.readouterr().err
