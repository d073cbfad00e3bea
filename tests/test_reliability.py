"""Faults end to end through the command line: killed builds, damaged index files and
manifests, a missing or corrupt model, an index folder that cannot be written.

Every test writes a small corpus under `tmp_path` and runs `rag.cli.main([...])`, or a
real process where the process itself must die (SIGKILL). Fast tests stand the hashing
embedder of conftest in for the model; tests marked `model` run the bundled model,
converted once per session into a temporary cache (RENVOI_CACHE). `tests/test_index.py`
covers the same faults one level down, on `open_index`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import rag.pipeline
from rag import embed
from rag.cli import main
from rag.config import Config
from rag.index import MANIFEST, Index, IndexError_, index_generation

from conftest import GLACIERS_ARTICLE, HashEmbedder, copy_cached_model, counting_factory

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

ARTICLE_EN = """\
# Night trains are coming back to Europe

By John Smith, 3 March 2021

The night train between Paris and Vienna reopened in December 2021 after a decade of absence, carried by the Austrian railways and by the demand of travellers who no longer wish to fly.

Operators say that sleeping cars fill up months ahead in summer, although the fares remain higher than those of low-cost flights on the same routes.
"""

EXTRA = """\
# Les trains de nuit reviennent

Par Paul Durand, 4 avril 2021

La ligne de nuit entre Paris et Berlin doit rouvrir à la fin de l'année, portée par des voyageurs qui ne veulent plus prendre l'avion pour de courtes distances en Europe.
"""


def run(capsys, *args) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `renvoi <args>` run in-process."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    """The single stderr line of a command; fails if there are several or a traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("renvoi: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "glaciers.md").write_text(GLACIERS_ARTICLE, encoding="utf-8")
    (folder / "trains.txt").write_text(ARTICLE_EN, encoding="utf-8")
    return folder


@pytest.fixture
def hashing(monkeypatch) -> list[HashEmbedder]:
    """Every model load in the pipeline gives a fresh hashing embedder; the list records them."""
    made, load = counting_factory()
    monkeypatch.setattr(rag.pipeline, "_load_embedder", load)
    return made


def _leftovers(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.glob(".tmp-*")) if index_dir.is_dir() else []


# ---------------------------------------------------------------- killed builds

# A `renvoi index` whose stages announce themselves and last long enough to be hit:
# the embedding, the writing of the files, and the wait for them to reach the disk.
SLOW_INDEX = textwrap.dedent(
    """
    import sys, time
    sys.path[:0] = [{tests!r}, {root!r}]
    from conftest import HashEmbedder
    import rag.index, rag.pipeline, rag.storage
    from rag.cli import main

    class Slow(HashEmbedder):
        def embed_passages(self, texts, batch_size=32, progress=False):
            print("embedding", flush=True)
            time.sleep({stage_s})
            return super().embed_passages(texts)

    def slow_write(path, data, _write=rag.index._write_json):
        print("writing", flush=True)
        time.sleep({stage_s} / 3)
        _write(path, data)

    def slow_fsync(folder, _fsync=rag.storage.fsync_tree):
        print("syncing", flush=True)
        time.sleep({stage_s})
        _fsync(folder)

    rag.pipeline._load_embedder = lambda config, **_: Slow()
    rag.index._write_json = slow_write
    rag.storage.fsync_tree = slow_fsync
    sys.exit(main(sys.argv[1:]))
    """
)
STAGE_S = 0.8  # each kill lands in the first half of its stage: slack for a loaded machine


def _kill_during(script: Path, args: list[str], stage: str | None, rng: random.Random) -> str:
    """Start `script args`, SIGKILL it at a random moment of `stage` (None: while it starts up)."""
    proc = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        if stage is None:
            time.sleep(rng.uniform(0.05, 0.5))
        else:
            while (line := proc.stdout.readline()) and line.strip() != stage:
                pass
            assert line, f"the build ended before {stage!r}: {proc.stderr.read()}"
            time.sleep(rng.uniform(0.0, 0.5 * STAGE_S / (3 if stage == "writing" else 1)))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"the build was not killed (exit {proc.returncode})"
    return stage or "start-up"


def test_killed_index_builds_keep_the_previous_index_and_the_next_start_rebuilds(tmp_path, corpus, hashing,
                                                                                 capsys):
    rng = random.Random(20240611)  # random points, the same ones on every run
    index_dir = tmp_path / "index"
    script = tmp_path / "slow_index.py"
    script.write_text(SLOW_INDEX.format(tests=str(TESTS), root=str(ROOT), stage_s=STAGE_S))
    args = ["index", str(corpus), "--index-dir", str(index_dir)]

    # A first build killed while writing: no index appears, and the next `renvoi index` builds one.
    _kill_during(script, args, "writing", rng)
    with pytest.raises(IndexError_):
        Index.load(index_dir)
    code, out, err = run(capsys, *args)
    assert code == 0 and out.startswith(f"index {index_dir}: 2 documents") and err == ""
    assert _leftovers(index_dir) == [], "the killed build's temporary folder is removed"
    sizes = {False: Index.load(index_dir).manifest.n_passages}

    extra = corpus / "nuit.md"
    for round_no, stage in enumerate([None, "embedding", "writing", "syncing"]):
        # Each round changes the corpus, kills the rebuild, then starts again.
        changed = round_no % 2 == 0
        if changed:
            extra.write_text(EXTRA, encoding="utf-8")
        else:
            extra.unlink()
        where = _kill_during(script, [*args, "--force"], stage, rng)  # --force: every stage, even for a removal
        before = Index.load(index_dir)  # checksums verified: never half an index
        assert before.manifest.n_passages == sizes[not changed], f"killed during {where}"
        code, out, err = run(capsys, "search", "--json", "--index-dir", index_dir, "trains de nuit")
        assert code == 0, err
        assert one_line(err) == "renvoi: corpus changed; updating the index " + (
            "(1 added, 0 changed, 0 removed)" if changed else "(0 added, 0 changed, 1 removed)")
        assert json.loads(out), "the search answers from the rebuilt index"
        after = Index.load(index_dir)
        sizes.setdefault(changed, after.manifest.n_passages)
        assert after.manifest.n_passages == sizes[changed] != sizes[not changed]
        assert ("nuit" in after.documents) == changed
        assert _leftovers(index_dir) == [], f"killed during {where}: leftovers stay behind"


@pytest.mark.model
def test_killed_renvoi_index_process_with_the_real_model(tmp_path, corpus, model_cache, real_embedder,
                                                         monkeypatch, capsys):
    monkeypatch.setattr(rag.pipeline, "_load_embedder", lambda config, **_: real_embedder)
    index_dir = tmp_path / "index"
    assert run(capsys, "index", corpus, "--index-dir", index_dir)[0] == 0
    old = Index.load(index_dir).manifest.n_passages
    (corpus / "nuit.md").write_text(EXTRA, encoding="utf-8")
    env = {**os.environ, "RENVOI_CACHE": str(model_cache), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "rag", "index", str(corpus), "--index-dir", str(index_dir)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(random.Random(7).uniform(0.5, 4.0))  # imports, model load or embedding
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    loaded = Index.load(index_dir)  # checksums verified
    # the old index, or the new one if the build was done before the signal
    assert loaded.manifest.n_passages == old or "nuit" in loaded.documents
    code, out, err = run(capsys, "search", "--json", "--index-dir", index_dir, "Paris Berlin")
    assert code == 0 and "Traceback" not in err and json.loads(out)
    assert "nuit" in Index.load(index_dir).documents
    assert _leftovers(index_dir) == []


# ---------------------------------------------------------------- damaged index


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:  # the same size, one byte changed
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0x20]) + data[middle + 1 :])


@pytest.mark.parametrize("how", ["truncate", "edit"])
def test_every_damaged_index_file_is_detected_and_rebuilt_with_one_notice(tmp_path, corpus, hashing, capsys, how):
    index_dir = tmp_path / "index"
    assert run(capsys, "index", corpus, "--index-dir", index_dir)[0] == 0
    names = sorted(Index.load(index_dir).manifest.files)
    assert {"passages.jsonl", "passage_vectors.npy", "passages.faiss", "documents.json"} <= set(names)
    assert any(n.startswith("bm25/") for n in names)
    for name in names:
        _damage(index_generation(index_dir) / name, how)
        # search without paths: the rebuild reads the sources the manifest names
        code, out, err = run(capsys, "search", "--json", "--index-dir", index_dir, "glacier du Rhône")
        assert code == 0, (name, err)
        line = one_line(err)
        assert line.endswith("; rebuilding") and name in line, (name, line)
        assert json.loads(out)[0]["doc_id"] == "glaciers"
        Index.load(index_dir)  # whole again


def _edit_manifest(index_dir: Path, change) -> None:
    path = index_generation(index_dir) / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(change(data)), encoding="utf-8")


EDITS = {
    "a checksum": (lambda m: {**m, "files": {**m["files"], "passages.jsonl": "0" * 64}}, "does not match its checksum"),
    "a count": (lambda m: {**m, "n_passages": m["n_passages"] + 1}, "vectors do not match the manifest"),
    "the format": (lambda m: {**m, "format_version": 99}, "index format 99 is not 2"),
    "a file name": (lambda m: {**m, "files": {**m["files"], "extra.bin": "0" * 64}}, "extra.bin is missing"),
}


@pytest.mark.parametrize("what", EDITS)
def test_edited_manifest_is_detected_and_the_index_rebuilt_from_its_sources(tmp_path, corpus, hashing, capsys, what):
    change, reason = EDITS[what]
    index_dir = tmp_path / "index"
    assert run(capsys, "index", corpus, "--index-dir", index_dir)[0] == 0
    _edit_manifest(index_dir, change)
    code, out, err = run(capsys, "ask", "--json", "--index-dir", index_dir, "Combien le glacier du Rhône a-t-il perdu ?")
    assert code == 0
    assert reason in one_line(err) and err.strip().endswith("; rebuilding")
    assert json.loads(out)["question"].startswith("Combien")
    assert Index.load(index_dir).manifest.sources == [str(corpus.resolve())]


UNREADABLE = {
    "truncated": lambda text: text[: len(text) // 2],
    "empty": lambda text: "",
    "not an object": lambda text: "[]",
    "wrong types": lambda text: json.dumps({**json.loads(text), "files": [], "sources": 3}),
}


@pytest.mark.parametrize("what", UNREADABLE)
def test_unreadable_manifest_is_named_and_never_replaced_by_another_corpus(tmp_path, corpus, hashing, capsys,
                                                                           monkeypatch, what):
    # seeds/ in the working folder: an index whose sources are unknown must not silently become an index of it
    monkeypatch.chdir(tmp_path)
    shutil.copytree(corpus, tmp_path / "seeds")
    (tmp_path / "seeds" / "glaciers.md").unlink()
    index_dir = tmp_path / "index"
    assert run(capsys, "index", corpus, "--index-dir", index_dir)[0] == 0
    path = index_generation(index_dir) / MANIFEST
    damaged = UNREADABLE[what](path.read_text(encoding="utf-8"))
    path.write_text(damaged, encoding="utf-8")

    code, out, err = run(capsys, "search", "--json", "--index-dir", index_dir, "glacier")
    assert code == 1 and out == ""
    line = one_line(err)
    assert "manifest" in line and "index them again" in line
    assert path.read_text(encoding="utf-8") == damaged, "nothing was rebuilt"

    code, out, err = run(capsys, "index", corpus, "--index-dir", index_dir)
    assert code == 0 and "manifest" in one_line(err) and err.strip().endswith("; rebuilding")
    assert "glaciers" in Index.load(index_dir).documents


# ---------------------------------------------------------------- the index folder


def test_index_folder_that_cannot_be_written_fails_at_once_with_one_line(tmp_path, corpus, hashing, capsys):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")  # root ignores permissions; this fails for everyone
    code, out, err = run(capsys, "index", corpus, "--index-dir", blocked / "index")
    assert code == 1 and out == ""
    line = one_line(err)
    assert "cannot write the index folder" in line and f"{blocked} is a file" in line
    assert hashing == [], "it fails before loading the model and embedding the corpus"
    assert blocked.read_text() == "a file where a folder should be"


@pytest.mark.parametrize("kind", ["file", "folder of other files"])
def test_index_dir_that_is_not_an_index_is_never_replaced(tmp_path, corpus, hashing, capsys, kind):
    if kind == "file":
        target = tmp_path / "notes.txt"
        target.write_text("my notes", encoding="utf-8")
        expected = "is a file, not an index folder"
    else:
        target = tmp_path / "thesis"
        target.mkdir()
        (target / "chapter1.txt").write_text("my thesis", encoding="utf-8")
        expected = "is not a renvoi index folder (it holds chapter1.txt)"
    for command in (["index", corpus], ["search", "glacier"], ["ask", "glacier"]):
        code, out, err = run(capsys, *command, "--index-dir", target)
        assert code == 1 and expected in one_line(err), (command, err)
    if kind == "file":
        assert target.read_text(encoding="utf-8") == "my notes"
    else:
        assert [p.name for p in target.iterdir()] == ["chapter1.txt"]
    assert _leftovers(target) == []


# ---------------------------------------------------------------- the model


def test_model_cache_that_cannot_be_written_is_one_line(tmp_path, corpus, capsys, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    monkeypatch.setenv("RENVOI_CACHE", str(blocked / "cache"))
    # the int8 ONNX model, the default backend, is converted and exported into the cache
    code, out, err = run(capsys, "index", corpus, "--index-dir", tmp_path / "index")
    assert code == 1
    line = one_line(err)
    assert "cannot write the converted model into the cache" in line and "RENVOI_CACHE" in line


@pytest.mark.model
@pytest.mark.parametrize("damage", ["empty folder", "broken config", "a file"])
def test_unusable_model_folder_is_one_line(tmp_path, corpus, capsys, damage):
    model = tmp_path / "my-model"
    if damage == "a file":
        model.write_text("weights?")
    else:
        model.mkdir()
        if damage == "broken config":
            (model / "config.json").write_text("{not json")
            (model / "modules.json").write_text("[]")
    code, out, err = run(capsys, "index", corpus, "--index-dir", tmp_path / "index", "--model", model)
    assert code == 2 and out == ""
    assert "embedding model" in one_line(err)
    assert not (tmp_path / "index").exists()


@pytest.mark.model
def test_corrupt_converted_model_is_converted_again(tmp_path, model_cache):
    src = embed.bundled_model_dir(model_cache)
    cache = tmp_path / "cache"
    folder = embed.bundled_model_dir(cache)
    # a copy of the session's conversion: small files copied, the weights hard-linked (never written through)
    gen = copy_cached_model(src, folder, linked=(embed.WEIGHTS_NAME,))
    tokenizer = gen / "tokenizer.json"
    size = tokenizer.stat().st_size
    tokenizer.write_bytes(b"\0" * size)  # same size, wrong content
    assert "corrupt" in embed.conversion_problem(folder)
    # The converted folder serves the sentence-transformers backend and the
    # int8 ONNX export (index builds of thousands of texts); both load it so.
    embedder = embed.load_embedder(Config(cache_dir=cache), backend="sentence-transformers")
    assert embed.conversion_problem(folder, full_check=True) is None
    assert embed.conversion_problem(src, full_check=False) is None, "the session's conversion is untouched"
    assert embedder.model_id == embed.bundled_model_id()
    vec = embedder.embed_queries(["Qui a écrit cet article ?"])
    assert vec.shape == (1, embedder.dim) and abs(float(np.linalg.norm(vec)) - 1) < 1e-4


# ---------------------------------------------------------------- Ctrl-C

SIGINT_INDEX = textwrap.dedent(
    """
    import sys, time
    sys.path[:0] = [{tests!r}, {root!r}]
    sys.argv = ["renvoi", *sys.argv[1:]]
    import signal, rag.__main__  # as the console script: Ctrl-C is caught before any heavy import
    signal.signal(signal.SIGINT, rag.__main__._on_sigint)
    try:  # this script's own imports (the start-up of the real command is tested apart)
        from conftest import HashEmbedder
        import rag.pipeline
    except rag.__main__.Interrupted:
        print("renvoi: interrupted", file=sys.stderr)
        sys.exit(130)

    class Slow(HashEmbedder):
        def embed_passages(self, texts, batch_size=32, progress=False):
            time.sleep(3)
            return super().embed_passages(texts)

    rag.pipeline._load_embedder = lambda config, **_: Slow()
    rag.__main__.run()
    """
)


def _startup_s() -> float:
    """How long Python takes here to start and reach renvoi's Ctrl-C handler (the slowest
    of three runs): before that, Python itself handles Ctrl-C, and renvoi cannot speak."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import signal, rag.__main__"], env=env, check=True)
        times.append(time.perf_counter() - t0)
    return max(times)


def test_ctrl_c_exits_130_with_one_line_and_the_previous_index_answers(tmp_path, corpus, hashing, capsys):
    index_dir = tmp_path / "index"
    assert run(capsys, "index", corpus, "--index-dir", index_dir)[0] == 0
    script = tmp_path / "slow_index.py"
    script.write_text(SIGINT_INDEX.format(tests=str(TESTS), root=str(ROOT)))
    # while the command line starts, while the corpus is read, while it is embedded (the
    # embedding takes 3 s): moments measured from Python's own start-up on this machine
    start = _startup_s()
    for delay in (2 * start, 2 * start + 0.5, start + 1.5, start + 2.5):
        proc = subprocess.Popen([sys.executable, str(script), "index", str(corpus), "--force", "--index-dir",
                                 str(index_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, (delay, proc.returncode, err)
        assert "Traceback" not in err and err.strip().splitlines()[-1] == "renvoi: interrupted", (delay, err)
        assert [line for line in err.splitlines() if line != "renvoi: rebuilding (--force)"] == [
            "renvoi: interrupted"], (delay, err)
        assert _leftovers(index_dir) == []
        code, out, _ = run(capsys, "search", "--json", "--index-dir", index_dir, "night train Vienna")
        assert code == 0 and json.loads(out)[0]["doc_id"] == "trains"


def test_ctrl_c_while_the_command_line_starts_is_one_line_too(tmp_path, corpus):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = _startup_s()
    for delay in (1.5 * start, 2 * start, 3 * start):
        proc = subprocess.Popen([sys.executable, "-m", "rag", "inspect", str(corpus)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        if proc.returncode == 0:
            continue  # it finished first
        assert proc.returncode == 130 and err == "renvoi: interrupted\n", (delay, proc.returncode, err)


# ---------------------------------------------------------------- the corpus: nested, moved, linked


def test_nested_files_are_indexed_and_an_edit_deep_down_rebuilds_with_it(tmp_path, hashing, capsys):
    corpus = tmp_path / "corpus"
    (corpus / "sub" / "deeper").mkdir(parents=True)
    (corpus / "a.md").write_text(GLACIERS_ARTICLE, encoding="utf-8")
    (corpus / "sub" / "deeper" / "b.md").write_text(ARTICLE_EN, encoding="utf-8")
    index_dir = tmp_path / "index"
    assert run(capsys, "index", corpus, "--index-dir", index_dir)[0] == 0
    assert sorted(Index.load(index_dir).documents) == ["a", "sub/deeper/b"]
    (corpus / "sub" / "deeper" / "b.md").write_text(ARTICLE_EN + "\nSleeping cars now reach Warsaw as well.\n",
                                                    encoding="utf-8")
    code, out, err = run(capsys, "search", "--json", "--index-dir", index_dir, "Warsaw sleeping cars")
    assert code == 0 and "corpus changed; updating the index (0 added, 1 changed, 0 removed)" in err
    assert json.loads(out)[0]["doc_id"] == "sub/deeper/b" and "Warsaw" in json.loads(out)[0]["text"]


def test_asking_from_another_directory_uses_the_recorded_corpus(tmp_path, corpus, hashing, capsys, monkeypatch):
    index_dir = tmp_path / "index"
    assert run(capsys, "index", corpus, "--index-dir", index_dir)[0] == 0
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "corpus").mkdir(parents=True)  # a folder with the same relative name, holding another text
    (elsewhere / "corpus" / "other.md").write_text("# Autre\n\nUn texte sans rapport avec les glaciers.\n")
    (elsewhere / "seeds").mkdir()
    monkeypatch.chdir(elsewhere)
    loads = len(hashing)
    code, out, err = run(capsys, "search", "--json", "--index-dir", index_dir, "glacier du Rhône")
    assert code == 0 and err == "" and json.loads(out)[0]["doc_id"] == "glaciers"
    assert sorted(Index.load(index_dir).documents) == ["glaciers", "trains"]
    assert len(hashing) == loads + 1, "the question is embedded; nothing is rebuilt"


def test_a_moved_corpus_still_answers_with_a_notice(tmp_path, corpus, hashing, capsys):
    index_dir = tmp_path / "index"
    assert run(capsys, "index", corpus, "--index-dir", index_dir)[0] == 0
    corpus.rename(tmp_path / "moved")
    code, out, err = run(capsys, "search", "--json", "--index-dir", index_dir, "glacier du Rhône")
    assert code == 0 and json.loads(out)[0]["doc_id"] == "glaciers"
    assert "no longer at" in one_line(err) and "without checking for changes" in err
    assert run(capsys, "index", tmp_path / "moved", "--index-dir", index_dir)[0] == 0  # re-pointed
    assert Index.load(index_dir).manifest.sources == [str((tmp_path / "moved").resolve())]


def test_a_link_out_of_the_corpus_is_not_indexed(tmp_path, corpus, hashing, capsys):
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    index_dir = tmp_path / "index"
    code, out, err = run(capsys, "index", corpus, "--index-dir", index_dir)
    assert code == 0 and "passwd.txt: link to /etc/passwd, outside the folder; not followed" in err
    index = Index.load(index_dir)
    assert "passwd" not in index.documents and not any("root:" in p.text for p in index.passages)


def test_a_missing_index_is_announced_before_it_is_built(tmp_path, hashing, capsys, monkeypatch):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "glaciers.md").write_text(GLACIERS_ARTICLE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "search", "--json", "--index-dir", tmp_path / "index", "glacier")
    assert code == 0 and one_line(err) == f"renvoi: no index in {tmp_path / 'index'} yet: indexing seeds first"
    code, out, err = run(capsys, "index", seeds, "--force", "--index-dir", tmp_path / "index")
    assert code == 0 and one_line(err) == "renvoi: rebuilding (--force)"
