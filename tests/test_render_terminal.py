"""What the command line prints (rag.render.terminal): places a reader can cite, sources with their notes."""

from __future__ import annotations

from dataclasses import replace

from rich.console import Console

from rag.records import Answer, Citation, Document, Footnote, Hit, NoteCall, Paragraph
from rag.render.terminal import print_answer, print_hits, print_inspect


def _doc() -> tuple[Document, Paragraph, Paragraph]:
    body = Paragraph(id="art:p2", doc_id="art", n=2, section="I. Partie", footnotes=(3,),
                     text="L'OTAN s'est étendue en 1999 à la Pologne [3].", calls=(NoteCall(3, 42, 45),))
    card = Paragraph(id="art:meta", doc_id="art", kind="meta",
                     text="« Géographies », article de Jeanne Martin publié le 2 janvier 2020 sur Exemple.fr.")
    doc = Document(id="art", title="Géographies", source="art.txt", authors=("Jeanne Martin",),
                   date="2020-01-02", site="Exemple.fr", paragraphs=(body, card),
                   footnotes=(Footnote(3, "Traité", "https://ex.org/otan"),))
    return doc, body, card


def _printed(fn, *args) -> str:
    console = Console(record=True, width=200)
    fn(*args, console=console)
    return console.export_text()


def test_sources_name_the_paragraph_or_the_part_and_list_notes():
    doc, body, card = _doc()
    cites = (Citation(1, body, doc, body.text, footnotes=(doc.footnote(3),)),
             Citation(2, card, doc, card.text))
    a = Answer(question="q", status="answered", language="fr", citations=cites)
    out = _printed(print_answer, a, {doc.id: doc})
    assert "[1] Géographies — Jeanne Martin, 2020-01-02 — I. Partie, ¶ 2  (art:p2)" in out
    assert "note 3: https://ex.org/otan" in out
    # the metadata card is cited as what it is, not by its internal kind
    assert "— document details  (art:meta)" in out and "— meta " not in out


def test_hits_show_where_each_passage_stands():
    doc, body, card = _doc()
    hits = [Hit(1, body, 0.9, 0.8, 2.0, body.text), Hit(2, card, 0.5, 0.4, 1.0, card.text)]
    out = _printed(print_hits, hits, {doc.id: doc})
    assert "Géographies — I. Partie — ¶ 2" in out and "Géographies — document details" in out
    # the note the best sentence calls is shown with it, once
    assert out.count("note 3: https://ex.org/otan") == 1


def test_inspect_shows_the_closing_datelines():
    doc, _, _ = _doc()
    out = _printed(print_inspect, [replace(doc, datelines=("Manuscrit clos le 3 mars 2020",))])
    assert "also dated" in out and "Manuscrit clos le 3 mars 2020" in out
    assert "also dated" not in _printed(print_inspect, [doc])
