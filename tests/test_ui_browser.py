"""The reader's workbench in a browser: documents given through the page (a Markdown
file and a Word document made here), their parse reports, answers citing them, a
reference copied by "Cite", the conversation downloaded as Markdown, a document
removed with its passages; the page at desktop and phone width. Chromium and the
real bundled model; the screenshots go to RENVOI_SCREENSHOTS (the README's are
made so: RENVOI_SCREENSHOTS=docs pytest tests/test_ui_browser.py)."""

from __future__ import annotations

import datetime
import os
import re
import shutil
import socket
from pathlib import Path

import pytest

from rag.config import Config
from rag.pipeline import Renvoi

from conftest import GLACIERS_ARTICLE

CHROMIUM = "/usr/bin/chromium"

VOLCANOES = """\
---
title: Les volcans d'Auvergne
author: Marie Dupuy
date: 2022-05-05
---

# Les volcans d'Auvergne

## Le puy de Dôme

Le puy de Dôme culmine à 1465 mètres et domine la chaîne des Puys, un alignement de quatre-vingts volcans endormis.

## La dernière éruption

La dernière éruption de la chaîne des Puys remonte à environ huit mille ans, selon les géologues de l'université de Clermont.
"""

TRAINS_TITLE = "Night trains are back in Europe"
TRAINS = (
    "The night train between Paris and Vienna reopened in December 2021 after a decade of absence, "
    "run by the Austrian railways with new sleeping cars.",
    "Passengers leave Paris in the evening and wake up in Vienna the next morning, "
    "after a journey of about fourteen hours.",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _trains_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.core_properties.title = TRAINS_TITLE
    d.core_properties.author = "John Smith"
    d.core_properties.created = datetime.datetime(2022, 1, 10, 9, 0)  # not the template's own date
    d.add_heading(TRAINS_TITLE, level=0)
    d.add_heading("The Paris–Vienna line", level=1)
    for text in TRAINS:
        d.add_paragraph(text)
    d.save(path)
    return path


@pytest.fixture
def served(tmp_path):
    """The page over a one-document corpus, real model, on loopback (so it takes files)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing although CI should have installed it")
        pytest.skip(f"{CHROMIUM} is missing (bash scripts/setup.sh --browser installs it)")
    from ui.app import launch

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "glaciers.md").write_text(GLACIERS_ARTICLE, encoding="utf-8")
    renvoi = Renvoi.open(Config(index_dir=tmp_path / "index"), [corpus], progress=False, notify=lambda m: None)
    demo = launch(renvoi, host="127.0.0.1", port=_free_port(), block=False)
    try:
        yield renvoi, demo.local_url.rstrip("/")
    finally:
        demo.close()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("RENVOI_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _ask(page, question: str, n: int):
    from playwright.sync_api import expect

    box = page.locator("#rv-question textarea")
    box.fill(question)
    box.press("Enter")
    answers = page.locator("#rv-chat .rv-answer")
    expect(answers).to_have_count(n, timeout=120_000)
    return answers.nth(n - 1)


@pytest.mark.model
@pytest.mark.browser
def test_documents_given_through_the_page_are_reported_answered_cited_and_removed(served, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    renvoi, url = served
    given = tmp_path / "given"
    given.mkdir()
    md = given / "volcans.md"
    md.write_text(VOLCANOES, encoding="utf-8")
    docx_path = _trains_docx(given / "night-trains.docx")
    broken = given / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    shots = _shots(tmp_path)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1060}, accept_downloads=True)
            page = context.new_page()
            page.goto(url)
            expect(page.locator("#rv-question textarea")).to_be_visible(timeout=60_000)
            # the hint is about the loaded corpus, in its language
            assert "glaciers des Alpes" in page.locator("#rv-question textarea").get_attribute("placeholder")

            # files dropped on the page: each read and reported, the broken one in one line
            page.locator("#rv-files input[type=file]").set_input_files([str(md), str(docx_path), str(broken)])
            reports = page.locator("#rv-received .rv-report")
            expect(reports).to_have_count(2, timeout=180_000)
            volcano_report = reports.filter(has_text="volcans")
            expect(volcano_report).to_have_count(1)
            volcano_report.locator("summary").click()
            expect(volcano_report.locator(".rv-rep-title")).to_have_text("Les volcans d'Auvergne")
            expect(volcano_report.locator(".rv-rep-authors")).to_have_text("Marie Dupuy")
            expect(volcano_report.locator(".rv-rep-date")).to_have_text("2022-05-05")
            expect(volcano_report.locator(".rv-rep-language")).to_have_text("fr")
            expect(volcano_report.locator(".rv-rep-sections")).to_contain_text("Le puy de Dôme")
            expect(volcano_report.locator(".rv-rep-paragraphs")).to_have_text(re.compile(r"^[1-9]\d*$"))
            trains_report = reports.filter(has_text="night-trains")
            trains_report.locator("summary").click()
            expect(trains_report.locator(".rv-rep-title")).to_have_text(TRAINS_TITLE)
            expect(trains_report.locator(".rv-rep-authors")).to_contain_text("John Smith")
            expect(trains_report.locator(".rv-rep-date")).to_have_text("2022-01-10")
            expect(trains_report.locator(".rv-rep-language")).to_have_text("en")
            failed = page.locator("#rv-received .rv-rep-failed")
            expect(failed).to_have_count(1)
            expect(failed).to_contain_text("broken.docx")
            assert "\n" not in failed.inner_text().strip()
            # nothing already indexed was lost; both documents listed
            assert {"glaciers", "volcans", "night-trains"} <= set(renvoi.documents)
            doc_list = page.locator("#rv-doc-list")
            expect(doc_list).to_contain_text("Les volcans d'Auvergne")
            expect(doc_list).to_contain_text(TRAINS_TITLE)

            # asked about each, in the same session: answers cite them
            french = _ask(page, "Quelle est l'altitude du puy de Dôme ?", 1)
            expect(french.locator("li.rv-source").filter(has_text="Les volcans d'Auvergne")).to_have_count(1)
            expect(french).to_contain_text("1465 mètres")
            english = _ask(page, "When did the night train between Paris and Vienna reopen?", 2)
            expect(english.locator("li.rv-source").filter(has_text=TRAINS_TITLE)).to_have_count(1)
            expect(english).to_contain_text("December 2021")
            # each quote once: in the claim, not again under Sources
            quote = "reopened in December 2021"
            assert english.inner_text().count(quote) == 1

            # Cite: the reference in the chosen style
            english.locator("a.rv-cite").first.click()
            reference = page.locator("#rv-cite-text textarea")
            expect(reference).to_have_value(re.compile(re.escape(TRAINS_TITLE)), timeout=30_000)
            page.locator("#rv-cite-style input").click()
            page.get_by_role("option", name="bibtex").click()
            expect(reference).to_have_value(re.compile(r"^@misc\{"), timeout=30_000)
            page.locator("#rv-chat a.rv-marker").last.click()
            expect(page.locator("#rv-panel .rv-panel-title")).to_have_text(TRAINS_TITLE, timeout=30_000)
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_timeout(500)
            page.screenshot(path=str(shots / "screenshot.png"))

            # the conversation taken away as Markdown, references as footnotes that resolve
            with page.expect_download(timeout=30_000) as download:
                page.locator("#rv-download").click()
            text = Path(download.value.path()).read_text(encoding="utf-8")
            assert "Les volcans d'Auvergne" in text and TRAINS_TITLE in text
            labels = set(re.findall(r"\[\^([^\]]+)\](?!:)", text))
            assert labels and all(f"[^{label}]:" in text for label in labels)

            # remove the Markdown document: gone from the list, the index and the answers
            doc_list.get_by_label(re.compile("Les volcans d'Auvergne")).check()
            page.locator("#rv-remove").click()
            expect(page.locator("#rv-received")).to_contain_text("Removed volcans", timeout=120_000)
            expect(doc_list).not_to_contain_text("Les volcans d'Auvergne")
            assert "volcans" not in renvoi.documents
            assert not [p for p in renvoi.passages if p.doc_id == "volcans"]
            again = _ask(page, "Quelle est l'altitude du puy de Dôme ?", 3)
            expect(again.locator("li.rv-source, li.rv-related-item").filter(
                has_text="Les volcans d'Auvergne")).to_have_count(0)
            assert "1465" not in again.inner_text()

            # on a phone: the source opens over the conversation and closes back to it
            phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            phone.goto(url)
            expect(phone.locator("#rv-question textarea")).to_be_visible(timeout=60_000)
            side = phone.locator("#rv-side")
            expect(side).to_be_hidden()
            answer = _ask(phone, "When did the night train between Paris and Vienna reopen?", 1)
            phone.wait_for_timeout(300)
            phone.screenshot(path=str(shots / "screenshot-phone.png"))
            answer.locator("a.rv-marker").first.click()
            expect(side).to_be_visible(timeout=30_000)
            expect(phone.locator("#rv-panel .rv-panel-title")).to_have_text(TRAINS_TITLE, timeout=30_000)
            box = side.bounding_box()
            assert box["x"] <= 1 and box["width"] >= 380, box  # over the conversation, full width
            phone.screenshot(path=str(shots / "phone-source.png"))
            phone.locator("#rv-close").click()
            expect(side).to_be_hidden()
            expect(phone.locator("#rv-chat .rv-answer")).to_be_visible()
        finally:
            browser.close()
