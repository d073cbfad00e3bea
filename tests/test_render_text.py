"""Plain text of answers (rag.render.text): the reader's language, honest attribution, places."""

from __future__ import annotations

import pytest

from rag.compose.extractive import attribution
from rag.records import Answer, Citation, Claim, Document, Hit, NoteCall, Paragraph, Span
from rag.render.text import answer_text, place_name


def _doc(language: str = "en", authors: tuple[str, ...] = ()) -> Document:
    body = Paragraph(id="d:p1", doc_id="d", n=1, section="Layers", language=language,
                     text="A layer can be hidden by clicking its eye icon [2].", calls=(NoteCall(2, 48, 51),))
    bio = Paragraph(id="d:bio", doc_id="d", kind="bio", text="Jane Roe is a photographer and teaches in Lyon.")
    return Document(id="d", title="Layers", source="d.html", authors=authors, language=language,
                    paragraphs=(body,))


def _answer(doc: Document, passage: Paragraph, lang: str) -> Answer:
    span = Span(passage.id, 0, len(passage.text), passage.text)
    claim = Claim(passage.text, (span,), (1,), attribution(passage, doc))
    return Answer(question="q", status="answered", language=lang, claims=(claim,),
                  citations=(Citation(1, passage, doc, passage.text, spans=(span,)),))


def test_a_document_without_author_is_quoted_without_one():
    doc = _doc()
    text = answer_text(_answer(doc, doc.paragraphs[0], "en"), {doc.id: doc})
    assert text.splitlines()[1] == "- « A layer can be hidden by clicking its eye icon [2]. » [1]"
    assert "writes" not in text and "Layers writes" not in text


def test_an_english_page_answered_in_english_has_no_language_note():
    doc = _doc("en", ("Jane Roe",))
    text = answer_text(_answer(doc, doc.paragraphs[0], "en"), {doc.id: doc})
    assert text.splitlines()[0] == "According to the documents:"
    assert "Jane Roe writes: «" in text


def test_a_quote_in_another_language_is_named_in_the_readers():
    doc = _doc("de")
    assert answer_text(_answer(doc, doc.paragraphs[0], "fr"), {doc.id: doc}).startswith(
        "D'après les documents (cités en allemand) :")
    assert answer_text(_answer(doc, doc.paragraphs[0], "en"), {doc.id: doc}).startswith(
        "According to the documents (quoted in German):")


@pytest.mark.parametrize("lang, lead", [("de", "Laut den Dokumenten:"), ("es", "Según los documentos:"),
                                        ("it", "Secondo i documenti:"), ("pt", "Segundo os documentos:"),
                                        ("nl", "According to the documents:")])
def test_the_answer_speaks_the_questions_language(lang, lead):
    doc = _doc(lang)
    assert answer_text(_answer(doc, doc.paragraphs[0], lang), {doc.id: doc}).splitlines()[0] == lead
    abstained = Answer(question="q", status="abstained", language=lang)
    assert answer_text(abstained, {}) in {
        "de": "Die Dokumente beantworten diese Frage nicht.", "es": "Los documentos no responden a esta pregunta.",
        "it": "I documenti non rispondono a questa domanda.", "pt": "Os documentos não respondem a esta pergunta.",
        "nl": "The documents do not answer this question."}.values()


def test_a_biography_is_not_quoted_as_the_person_writing():
    bio = Paragraph(id="d:bio", doc_id="d", kind="bio", text="Jane Roe is a photographer and teaches in Lyon.")
    doc = _doc("en", ("Jane Roe",))
    a = _answer(doc, bio, "en")
    assert a.claims[0].attribution is None
    line = answer_text(a, {doc.id: doc}).splitlines()[1]
    assert line.startswith("- Author biography: «") and "Jane Roe writes" not in line


def test_places_are_named_in_the_readers_language():
    doc = _doc()
    body = doc.paragraphs[0]
    card = Paragraph(id="d:meta", doc_id="d", kind="meta", text="x")
    assert place_name(body, "de") == "¶ 1" and place_name(card, "de") == "Angaben zum Dokument"
    paged = Paragraph(id="d:p2", doc_id="d", n=2, text="x", page=3)
    assert place_name(paged, "fr") == "¶ 2, p. 3" and place_name(paged, "de") == "¶ 2, S. 3"
    hit = Hit(1, body, 0, 0, 0, body.text)
    text = answer_text(Answer(question="q", status="abstained", language="en", hits=(hit,)), {doc.id: doc})
    assert "(note 2)" in text and "[2]" not in text  # a note call is not a citation marker where nothing is cited
