"""`renvoi serve`: the HTTP API, started as a user starts it, and the pipeline shared by threads.

A small corpus made here is indexed once (in-process, the real model); `renvoi
serve` then runs as a subprocess on a free loopback port over that index, with
an API key, and the tests call it as clients would: plain HTTP, and the official
`openai` client on the OpenAI-compatible endpoint.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from conftest import GLACIERS_ARTICLE
from rag.cli import main
from rag.config import Config
from rag.render.json import answer_json, hits_json

ROOT = Path(__file__).resolve().parent.parent
KEY = "test-key-5f1c"

TRAINS_ARTICLE = """\
# Night trains are coming back to Europe

By Tom Baker, 14 December 2021

The Paris to Vienna night train reopened in December 2021 after an interruption of eleven years, run by the Austrian railways [1].

Sleeper cars sell out weeks ahead in summer, and the operators say that demand has outgrown the rolling stock they own.

Critics point out that a night train needs subsidies where a budget flight does not, because a sleeping car carries far fewer passengers.

## Notes

[1]: ÖBB Nightjet timetable, https://example.org/nightjet
"""

QUESTIONS = [
    "Combien de sa masse le glacier du Rhône a-t-il perdu depuis 1900 ?",
    "When did the Paris to Vienna night train reopen?",
    "Why do night trains need subsidies?",
    "Que couvrent les bâches blanches ?",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _without_timings(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "timings_ms"}


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory, onnx_cache):
    """The corpus indexed once with the real model, and the pipeline opened over it."""
    from rag.pipeline import Renvoi

    base = tmp_path_factory.mktemp("serve")
    (base / "corpus").mkdir()
    (base / "corpus" / "glaciers.txt").write_text(GLACIERS_ARTICLE, encoding="utf-8")
    (base / "corpus" / "trains.txt").write_text(TRAINS_ARTICLE, encoding="utf-8")
    config = Config(index_dir=base / "index", cache_dir=onnx_cache)
    renvoi = Renvoi.open(config, [base / "corpus"], progress=False, notify=lambda message: None)
    return base, config, renvoi


def _env(onnx_cache: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "RENVOI_API_KEY"}
    return {**env, "RENVOI_CACHE": str(onnx_cache), "PYTHONPATH": str(ROOT), **extra}


@pytest.fixture(scope="module")
def server(corpus_index, onnx_cache):
    """`renvoi serve` over the corpus on a free loopback port, its key given by RENVOI_API_KEY."""
    base, config, _ = corpus_index
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve", "--port", str(port), "--index-dir", str(config.index_dir)],
        env=_env(onnx_cache, RENVOI_API_KEY=KEY), cwd=base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"renvoi serve stopped with code {proc.returncode}: {proc.stderr.read()}")
            try:
                if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("renvoi serve was not ready within 180 s")
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)


# ---------------------------------------------------------------- the endpoints


@pytest.mark.model
def test_ask_returns_what_ask_json_prints(server, corpus_index, onnx_cache):
    base, config, _ = corpus_index
    cli = subprocess.run([sys.executable, "-m", "rag", "ask", "--jsonl", "--index-dir", str(config.index_dir)],
                         input="\n".join(QUESTIONS) + "\n", capture_output=True, text=True,
                         env=_env(onnx_cache), cwd=base, timeout=300)
    assert cli.returncode == 0, cli.stderr
    expected = [json.loads(line) for line in cli.stdout.splitlines()]
    assert len(expected) == len(QUESTIONS)
    with _client(server) as c:
        for question, want in zip(QUESTIONS, expected):
            r = c.post("/v1/ask", json={"question": question})
            assert r.status_code == 200, r.text
            got = r.json()
            assert set(got) == set(want)
            assert _without_timings(got) == _without_timings(want)
    assert any(not a["abstained"] and a["citations"] for a in expected), "the corpus answers some question"


@pytest.mark.model
def test_ask_takes_k_and_a_history(server):
    with _client(server) as c:
        first = c.post("/v1/ask", json={"question": QUESTIONS[1], "k": 1}).json()
        assert len(first["passages"]) == 1
        follow = c.post("/v1/ask", json={
            "question": "Who runs it?",
            "history": [{"question": QUESTIONS[1], "answer": first["answer"],
                         "passage_ids": [x["passage_id"] for x in first["citations"]]}],
        })
    assert follow.status_code == 200, follow.text
    assert follow.json()["resolved_question"] not in (None, "Who runs it?")


@pytest.mark.model
def test_search_ranks_passages_as_the_pipeline_does(server, corpus_index):
    _, _, renvoi = corpus_index
    with _client(server) as c:
        r = c.get("/v1/search", params={"q": QUESTIONS[0], "k": 3})
    assert r.status_code == 200, r.text
    hits = r.json()
    want = hits_json(renvoi.search(QUESTIONS[0], k=3))
    assert [h["passage_id"] for h in hits] == [h["passage_id"] for h in want]
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert "glacier du Rhône" in hits[0]["text"]
    assert hits[0]["score"] == pytest.approx(want[0]["score"], abs=1e-5)


@pytest.mark.model
def test_passage_comes_in_its_context_with_its_notes(server):
    with _client(server) as c:
        top = c.get("/v1/search", params={"q": "Paris Vienna night train reopened", "k": 1}).json()[0]
        r = c.get(f"/v1/passages/{top['passage_id']}")
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["passage_id"] == top["passage_id"] and p["text"] == top["text"]
    assert p["title"] == "Night trains are coming back to Europe"
    assert p["authors"] == ["Tom Baker"]
    assert [(f["number"], f["url"]) for f in p["footnotes"]] == [(1, "https://example.org/nightjet")]
    assert p["after"]["text"].startswith("Sleeper cars sell out")


@pytest.mark.model
def test_documents_lists_the_corpus(server):
    with _client(server) as c:
        r = c.get("/v1/documents")
    assert r.status_code == 200, r.text
    docs = {d["title"]: d for d in r.json()}
    assert set(docs) == {"Les glaciers des Alpes fondent plus vite que prévu", "Night trains are coming back to Europe"}
    assert docs["Night trains are coming back to Europe"]["n_footnotes"] == 1
    assert all(d["n_passages"] >= 3 for d in docs.values())


@pytest.mark.model
def test_openapi_docs_are_served(server):
    assert httpx.get(f"{server}/docs", timeout=10).status_code == 200
    paths = httpx.get(f"{server}/openapi.json", timeout=10).json()["paths"]
    for path in ("/v1/ask", "/v1/search", "/v1/passages/{passage_id}", "/v1/documents", "/v1/chat/completions"):
        assert path in paths


@pytest.mark.model
def test_the_documented_schemas_are_the_fields_returned(server):
    schemas = httpx.get(f"{server}/openapi.json", timeout=10).json()["components"]["schemas"]

    def fields(name: str) -> set[str]:
        return set(schemas[name]["properties"])

    with _client(server) as c:
        answer = c.post("/v1/ask", json={"question": QUESTIONS[1]}).json()
        hit = c.get("/v1/search", params={"q": QUESTIONS[1], "k": 1}).json()[0]
        passage = c.get(f"/v1/passages/{hit['passage_id']}").json()
        document = c.get("/v1/documents").json()[0]
    assert fields("AskResponse") == set(answer)
    assert fields("Citation") == set(answer["citations"][0])
    assert fields("Claim") == set(answer["claims"][0])
    assert fields("AnsweredHit") == set(answer["passages"][0])
    assert fields("SearchHit") == set(hit)
    assert fields("PassageInContext") == set(passage)
    assert fields("DocumentSummary") == set(document)


# ---------------------------------------------------------------- OpenAI-compatible


@pytest.mark.model
def test_openai_client_gets_the_answer_with_its_markers_and_citations(server):
    from openai import OpenAI

    client = OpenAI(base_url=f"{server}/v1", api_key=KEY, max_retries=0)
    question = QUESTIONS[1]
    completion = client.chat.completions.create(model="renvoi", messages=[
        {"role": "system", "content": "Answer from the documents."}, {"role": "user", "content": question}])
    with _client(server) as c:
        asked = c.post("/v1/ask", json={"question": question}).json()
    content = completion.choices[0].message.content
    assert content == asked["answer"] and "[1]" in content
    citations = completion.model_extra["citations"]
    assert citations == asked["citations"] and citations
    assert citations[0]["passage_id"] and citations[0]["footnotes"][0]["url"] == "https://example.org/nightjet"

    stream = client.chat.completions.create(model="renvoi", messages=[{"role": "user", "content": question}],
                                            stream=True)
    chunks = list(stream)
    streamed = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert streamed == content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"] == citations
    assert all("citations" not in (ch.model_extra or {}) for ch in chunks[:-1])


@pytest.mark.model
def test_chat_completions_use_the_conversation(server):
    with _client(server) as c:
        r = c.post("/v1/chat/completions", json={"model": "renvoi", "messages": [
            {"role": "user", "content": QUESTIONS[1]},
            {"role": "assistant", "content": "It reopened in December 2021 [1]."},
            {"role": "user", "content": "Who runs it?"}]})
        bad = c.post("/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "Hello"}]})
    assert r.status_code == 200, r.text
    assert r.json()["object"] == "chat.completion" and r.json()["choices"][0]["message"]["role"] == "assistant"
    assert bad.status_code == 400 and "user" in bad.json()["error"]


# ---------------------------------------------------------------- errors and the key


@pytest.mark.model
def test_errors_are_json_with_their_status(server):
    with _client(server) as c:
        cases = {
            "empty": c.post("/v1/ask", json={"question": "   "}),
            "empty search": c.get("/v1/search", params={"q": ""}),
            "empty chat": c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": ""}]}),
            "long": c.post("/v1/ask", json={"question": "glacier " * 2000}),
            "long chat": c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x" * 5000}]}),
            "unknown passage": c.get("/v1/passages/nowhere:p9"),
            "missing question": c.post("/v1/ask", json={}),
            "bad k": c.post("/v1/ask", json={"question": "glacier", "k": 0}),
            "not json": c.post("/v1/ask", content=b"{", headers={"Content-Type": "application/json"}),
        }
    status = {name: r.status_code for name, r in cases.items()}
    assert status == {"empty": 400, "empty search": 400, "empty chat": 400, "long": 413, "long chat": 413,
                      "unknown passage": 404, "missing question": 400, "bad k": 400, "not json": 400}
    for name, r in cases.items():
        body = r.json()
        assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"], name
        assert "Traceback" not in body["error"]
    assert "empty" in cases["empty"].json()["error"]
    assert "characters" in cases["long"].json()["error"]


@pytest.mark.model
def test_a_key_is_required_and_checked(server):
    from openai import AuthenticationError, OpenAI

    no_key = httpx.post(f"{server}/v1/ask", json={"question": QUESTIONS[0]}, timeout=30)
    wrong = httpx.get(f"{server}/v1/documents", headers={"Authorization": "Bearer nope"}, timeout=30)
    header = httpx.get(f"{server}/v1/documents", headers={"X-API-Key": KEY}, timeout=30)
    assert no_key.status_code == 401 and "key" in no_key.json()["error"]
    assert wrong.status_code == 401 and "not valid" in wrong.json()["error"]
    assert header.status_code == 200
    with pytest.raises(AuthenticationError):
        OpenAI(base_url=f"{server}/v1", api_key="nope", max_retries=0).chat.completions.create(
            model="renvoi", messages=[{"role": "user", "content": QUESTIONS[0]}])


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::"])
def test_serving_beyond_loopback_needs_a_key(host, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("RENVOI_API_KEY", raising=False)
    assert main(["serve", "--host", host, "--index-dir", str(tmp_path / "index")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--api-key" in err and host in err
    assert not (tmp_path / "index").exists()


def test_an_empty_key_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RENVOI_API_KEY", " ")
    assert main(["serve", "--host", "0.0.0.0", "--index-dir", str(tmp_path / "index")]) == 2
    assert "--api-key is empty" in capsys.readouterr().err


def test_every_endpoint_answers_503_while_the_index_is_opened():
    from fastapi.testclient import TestClient

    from rag.serve import Service, create_app

    release = threading.Event()

    def opening():
        release.wait(30)
        raise ValueError("the corpus is gone")

    service = Service(opening, workers=1)
    with TestClient(create_app(service)) as c:
        building = {path: c.get(path) for path in ("/v1/health", "/v1/documents", "/v1/search?q=x",
                                                   "/v1/passages/a:p1")}
        building["/v1/ask"] = c.post("/v1/ask", json={"question": "glacier"})
        release.set()
        deadline = time.monotonic() + 10
        while service.status == "building" and time.monotonic() < deadline:
            time.sleep(0.05)
        failed = c.post("/v1/ask", json={"question": "glacier"})
    for path, r in building.items():
        assert r.status_code == 503, path
        assert "being built" in r.json()["error"], path
    assert building["/v1/ask"].headers["Retry-After"]
    assert failed.status_code == 503 and "the corpus is gone" in failed.json()["error"]


# ---------------------------------------------------------------- one pipeline, several threads


@pytest.mark.model
def test_pipeline_shared_by_threads_answers_as_it_does_alone(corpus_index):
    from rag.pipeline import Renvoi

    _, config, _ = corpus_index
    renvoi = Renvoi.open(config, progress=False, notify=lambda message: None)
    questions = QUESTIONS * 4
    alone = [_without_timings(answer_json(renvoi.ask(q), renvoi.documents)) for q in questions]
    searched = [hits_json(renvoi.search(q, k=4)) for q in questions]
    shared = renvoi.share()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            together = list(pool.map(lambda q: _without_timings(answer_json(shared.ask(q), shared.documents)),
                                     questions))
            hits = list(pool.map(lambda q: hits_json(shared.search(q, k=4)), questions))
    finally:
        shared.close()
    assert together == alone
    assert hits == searched
