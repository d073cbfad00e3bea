"""The chat page: its handlers (fast, hashing embedder), the `chat` command's wiring,
and the served page driven by Chromium and by `gradio_client` (real seeds and model)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest


from rag.config import ComposeConfig, Config
from rag.index import Index
from rag.pipeline import Renvoi
from rag.records import Document, Footnote, Paragraph
from ui.app import ANSWER_MODES, Chat, Session, check_settings, example_questions

from conftest import HashEmbedder

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
CHROMIUM = "/usr/bin/chromium"


# ---------------------------------------------------------------- fast: handlers over a hashing pipeline


class LenientRenvoi(Renvoi):
    """The real composer with an abstention bar fit for the hashing embedder; records histories."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.histories: list[list] = []

    def ask(self, question, history=(), k=None, composer=None):
        self.histories.append(list(history))
        return super().ask(question, history=history, k=k, composer=composer)


def _doc() -> Document:
    texts = [
        "L'OTAN s'est étendue en 1999 à la Pologne, la Hongrie et la Tchéquie [3]. En 2004, les Etats baltes ont suivi.",
        "Le glacier du Rhône a perdu un tiers de sa masse depuis 1900. Les touristes viennent le voir.",
        "Les trains de nuit reviennent en Europe. La ligne Paris-Vienne rouvre en 2021.",
    ]
    body = tuple(Paragraph(id=f"art:p{i}", doc_id="art", text=t, n=i, section="I. Partie",
                           footnotes=(3,) if i == 1 else ())
                 for i, t in enumerate(texts, start=1))
    return Document(id="art", title="Géographies <b>", source="art.txt", authors=("Jeanne Martin",),
                    date="2020-01-02", site="Exemple.fr", paragraphs=body,
                    footnotes=(Footnote(3, "https://ex.org/otan", "https://ex.org/otan"),))


@pytest.fixture
def chat(tmp_path) -> Chat:
    doc = _doc()
    config = Config(index_dir=tmp_path / "idx", max_question_chars=120, compose=ComposeConfig(abstain_below=0.2))
    embedder = HashEmbedder(dim=256)
    return Chat(LenientRenvoi(config, Index.build([doc], list(doc.paragraphs), embedder, config), embedder))


def _text(message: dict) -> str:
    return message["content"]


def test_answer_shows_markers_sources_and_opens_its_first_source(chat):
    session, shown = chat.ask("Quels pays ont rejoint l'OTAN en 1999 ?", Session(), 5, "extractive", False)
    user, bot = session.messages
    assert user["role"] == "user" and "OTAN en 1999" in _text(user)
    assert bot["role"] == "assistant"
    html = _text(bot)
    assert 'class="rv-marker" href="#rv-1-1"' in html and "Géographies &lt;b&gt;" in html and "¶ 1" in html
    assert shown == "1-1" and session.shown == "1-1"
    panel = chat.panel(session, shown)
    assert "<mark>" in panel and "1999" in re.search(r"<mark>(.*?)</mark>", panel).group(1)
    assert ("Q1 [1] Géographies <b> — I. Partie, ¶ 1", "1-1") in session.choices()


def test_followup_passes_the_conversation_as_turns(chat):
    s1, _ = chat.ask("Quels pays ont rejoint l'OTAN en 1999 ?", Session(), 5, "extractive", False)
    s2, _ = chat.ask("Et en 2004 ?", s1, 5, "extractive", False)
    first, second = chat.renvoi.histories
    assert first == []
    (turn,) = second
    assert turn.question == "Quels pays ont rejoint l'OTAN en 1999 ?"
    assert turn.resolved == turn.question and turn.passage_ids == ("art:p1",)
    assert turn.answer.startswith("D'après les documents")
    assert len(s2.turns) == 2 and len(s2.messages) == 4
    assert 'href="#rv-2-1"' in _text(s2.messages[-1])  # markers of the second answer open its own sources


def test_empty_long_and_failing_questions_get_readable_messages(chat):
    s, _ = chat.ask("   ", Session(), 5, "extractive", False)
    assert len(s.messages) == 1 and "Please type a question" in _text(s.messages[0]) and not s.turns

    long_q = "Quels pays ont rejoint l'OTAN en 1999 ? " + "x" * 300
    s, _ = chat.ask(long_q, Session(), 5, "extractive", False)
    assert "truncated from 340 to 120 characters" in _text(s.messages[1])
    assert len(s.turns[0].question) == 120

    def boom(*args, **kwargs):
        raise RuntimeError("index <gone>")

    chat.renvoi.ask = boom
    s, _ = chat.ask("Quels pays ?", Session(), 5, "extractive", False)
    assert "could not be answered (RuntimeError: index &lt;gone&gt;)" in _text(s.messages[1])
    assert "Traceback" not in _text(s.messages[1]) and not s.turns


def test_bad_settings_are_named(chat):
    s, _ = chat.ask("Quels pays ?", Session(), 5, "generative", False)
    assert "unknown answer mode" in _text(s.messages[1]) and "allowed: extractive" in _text(s.messages[1])
    assert check_settings(5.0, "extractive") == (5, "extractive")
    for k in (0, 21, 2.5, "5", None, True):
        with pytest.raises(ValueError, match="number of passages"):
            check_settings(k, ANSWER_MODES[0])


def test_opening_sources(chat):
    s, _ = chat.ask("Quels pays ont rejoint l'OTAN en 1999 ?", Session(), 5, "extractive", False)
    s2, html = chat.open_source("rv-1-1|1700000000000", s)
    assert s2.shown == "1-1" and "rv-focus" in html
    for bad in ("rv-9-1", "garbage", None):
        s3, html = chat.open_source(bad, s)
        assert "rv-panel-empty" in html and s3.shown == s.shown


def test_example_questions_come_from_the_corpus():
    doc = _doc()
    qs = example_questions([doc])
    assert qs[0] == "Qui a écrit « Géographies <b> », et quand ?"
    assert qs[1] == "What is “Géographies <b>” about?"  # no sections: about the title


def test_importing_the_cli_does_not_import_gradio():
    code = "import sys, rag.cli; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_chat_command_prints_the_url_and_warns_on_all_interfaces(monkeypatch, capsys):
    import rag.cli as cli
    import ui.app

    calls = {}

    class FakeDemo:
        local_url = "http://127.0.0.1:7999/"

        def block_thread(self):
            calls["blocked"] = True

        def close(self):
            calls["closed"] = True

    def fake_launch(renvoi, host, port, block, auth=None):
        calls.update(host=host, port=port, block=block, auth=auth)
        return FakeDemo()

    monkeypatch.setattr(cli, "_open", lambda config: SimpleNamespace())
    monkeypatch.setattr(ui.app, "launch", fake_launch)
    assert cli.main(["chat", "--port", "7999"]) == 0
    out = capsys.readouterr()
    assert "http://127.0.0.1:7999/" in out.out and "warning" not in out.err
    assert calls == {"host": "127.0.0.1", "port": 7999, "block": False, "auth": None, "blocked": True,
                     "closed": True}
    # beyond this machine, a login is required
    assert cli.main(["chat", "--host", "0.0.0.0", "--port", "7999"]) == 2
    assert "--auth USER:PASSWORD" in capsys.readouterr().err
    assert cli.main(["chat", "--host", "0.0.0.0", "--port", "7999", "--auth", "ana:s3cret"]) == 0
    assert calls["auth"] == ("ana", "s3cret") and calls["host"] == "0.0.0.0"
    assert cli.main(["chat", "--host", "0.0.0.0", "--auth", "nopassword"]) == 2

    def busy(*args, **kwargs):
        raise OSError("Cannot find empty port in range: 7999-7999.")

    monkeypatch.setattr(ui.app, "launch", busy)
    assert cli.main(["chat", "--port", "7999"]) == 1
    assert "cannot listen on 127.0.0.1:7999" in capsys.readouterr().err


# ---------------------------------------------------------------- the served page (real seeds and model)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """The chat page over the seeds, built with the real model, on a free loopback port."""
    pytest.importorskip("rag.embed", reason="the embedding module is not there yet")
    from ui.app import launch

    config = Config(index_dir=tmp_path_factory.mktemp("ui") / "index")
    renvoi = Renvoi.open(config, [SEEDS], progress=False, notify=lambda message: None)
    demo = launch(renvoi, host="127.0.0.1", port=_free_port(), block=False)
    try:
        yield renvoi, demo.local_url.rstrip("/")
    finally:
        demo.close()


def _paragraph_with(renvoi: Renvoi, phrase: str) -> tuple[Document, Paragraph]:
    """The one seed paragraph that contains `phrase` (so tests do not hard-code paragraph numbers)."""
    found = [(d, p) for d in renvoi.documents.values() for p in d.paragraphs if phrase in p.text]
    assert len(found) == 1, f"{len(found)} seed paragraphs contain {phrase!r}"
    return found[0]


# Questions whose answering paragraph retrieval finds first, each with a phrase of that
# paragraph: the test is about the page, not about retrieval quality (that is eval's job).
FRENCH = ("Quels pays ont rejoint l'OTAN en 1999 ?", "en 1999, elle a accueilli la Pologne")
ENGLISH = ("Where did Trump and his wife have dinner on the eve of Bastille Day?", "Tour Eiffel")
# For the README's picture: an answer whose paragraph carries a footnote.
SCREENSHOT_QUESTION = "On what date did candidate Trump set out his foreign-policy programme at The National Interest?"


@pytest.mark.model
@pytest.mark.browser
def test_browser_asks_in_french_and_english_and_opens_a_source(served, tmp_path):
    if not Path(CHROMIUM).exists():
        # CI installs Chromium (scripts/setup.sh --browser): there a missing browser is a failure.
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing although CI should have installed it")
        pytest.skip(f"{CHROMIUM} is missing (bash scripts/setup.sh --browser installs it)")
    from playwright.sync_api import expect, sync_playwright

    renvoi, url = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(url)
            box = page.locator("#rv-question textarea")
            expect(box).to_be_visible(timeout=30_000)
            answers = page.locator("#rv-chat .rv-answer")
            entries = {}
            for turn, (question, phrase) in enumerate((FRENCH, ENGLISH), start=1):
                box.fill(question)
                box.press("Enter")
                expect(answers).to_have_count(turn, timeout=60_000)
                answer = answers.nth(turn - 1)
                expect(answer.locator("a.rv-marker").first).to_be_visible()
                doc, para = _paragraph_with(renvoi, phrase)
                # the source naming the right article and paragraph
                entry = answer.locator("li.rv-source").filter(has_text=doc.title).filter(
                    has_text=re.compile(rf"¶ {para.n}\b"))
                expect(entry).to_have_count(1)
                entries[turn] = (entry, doc, para, phrase)
                page.screenshot(path=str(tmp_path / f"answer-{turn}.png"))

            # the English answer's note opens in a new tab
            entry, doc, para, _ = entries[2]
            for link in entry.locator("a[href^='http']").all():
                assert link.get_attribute("target") == "_blank"
                assert link.get_attribute("rel") == "noopener noreferrer"

            # open the French answer's source by its marker: the panel shows it in context
            entry, doc, para, phrase = entries[1]
            key = entry.get_attribute("id").removeprefix("rv-src-")
            panel = page.locator("#rv-panel")
            # The last answer's own update of the panel may still be on its way when the
            # marker is clicked (the queue runs events one by one); a second click settles it.
            for attempt in range(3):
                page.locator(f"#rv-chat a.rv-marker[href='#rv-{key}']").click()
                try:
                    expect(panel.locator(".rv-panel-title")).to_have_text(doc.title, timeout=10_000)
                    break
                except AssertionError:
                    if attempt == 2:
                        raise
            expect(panel.locator(".rv-panel-section")).to_contain_text(f"¶ {para.n}")
            expect(panel.locator(".rv-focus mark").first).to_be_visible()
            assert phrase in " ".join(panel.locator(".rv-focus mark").all_inner_texts()) or \
                phrase in panel.locator(".rv-focus").inner_text()
            assert panel.locator(".rv-focus mark").first.inner_text() in para.text
            expect(panel.locator(".rv-before, .rv-after").first).to_be_visible()
            page.screenshot(path=str(tmp_path / "panel-french.png"))

            # and the English answer's source by its entry under the answer
            entry, doc, para, _ = entries[2]
            entry.locator("a.rv-open").click()
            expect(panel.locator(".rv-panel-section")).to_contain_text(f"¶ {para.n}", timeout=15_000)
            expect(panel.locator(".rv-focus mark").first).to_be_visible()
            page.screenshot(path=str(tmp_path / "panel-english.png"))

            target = os.environ.get("RENVOI_SCREENSHOT")
            if target:  # the README's picture: a fresh session answering one question, its source open
                fresh = browser.new_page(viewport={"width": 1440, "height": 960})
                fresh.goto(url)
                fresh.locator("#rv-question textarea").fill(SCREENSHOT_QUESTION)
                fresh.locator("#rv-question textarea").press("Enter")
                expect(fresh.locator("#rv-chat .rv-answer")).to_have_count(1, timeout=60_000)
                fresh.locator("#rv-chat a.rv-marker").first.click()
                expect(fresh.locator("#rv-panel .rv-focus mark").first).to_be_visible(timeout=15_000)
                fresh.wait_for_timeout(500)  # let the chat finish scrolling
                Path(target).parent.mkdir(parents=True, exist_ok=True)
                fresh.screenshot(path=target)
        finally:
            browser.close()


@pytest.mark.model
def test_gradio_client_asks_through_the_api(served):
    from gradio_client import Client

    renvoi, url = served
    question, phrase = ENGLISH
    doc, para = _paragraph_with(renvoi, phrase)
    client = Client(url + "/", verbose=False)
    box, messages, _chooser, panel = client.predict(question, 5, "extractive", False, api_name="/ask")
    assert box == ""
    user, bot = messages
    html = bot["content"][0]["text"]
    assert 'class="rv-marker"' in html and doc.title in html and f"¶ {para.n}" in html
    assert "<mark>" in panel

    data = client.predict(question=question, k=5, api_name="/answer")
    assert not data["abstained"]
    assert any(c["doc_id"] == doc.id and c["paragraph"] == para.n for c in data["citations"])

    # the server serves the page, not the files around it
    for path in ("/etc/passwd", str(SEEDS / sorted(os.listdir(SEEDS))[0])):
        try:
            with urllib.request.urlopen(f"{url}/gradio_api/file={path}") as response:
                status = response.status
        except urllib.error.HTTPError as e:
            status = e.code
        assert status in (403, 404), path
