"""The extractive composer: selection, markers, citations, abstention, follow-ups."""

from __future__ import annotations

from dataclasses import replace


import numpy as np
import pytest

from rag.compose.extractive import Candidate, compose, footnotes_for, order_for_reading, select
from rag.config import ComposeConfig, Config
from rag.index import Index
from rag.pipeline import Renvoi
from rag.query import understand
from rag.records import Document, Evidence, Footnote, Hit, NoteCall, Paragraph, Sentence, Span, Turn
from rag.render.text import answer_text

from conftest import HashEmbedder, check_answer


def _calls(text: str) -> tuple[NoteCall, ...]:
    import re

    return tuple(NoteCall(int(m.group(1)), m.start(), m.end()) for m in re.finditer(r"\[(\d+)\]", text))


def _doc() -> Document:
    doc_id = "art"
    texts = [
        ("L'OTAN s'est étendue en 1999 à la Pologne, la Hongrie et la Tchéquie [3]. "
         "En 2004, les trois Etats baltes ont rejoint l'Alliance.", (3,)),
        ("Le glacier du Rhône a perdu un tiers de sa masse depuis 1900. Les touristes viennent le voir.", ()),
        ("Les trains de nuit reviennent en Europe [4]. La ligne Paris-Vienne rouvre en 2021.", (4,)),
    ]
    body = tuple(Paragraph(id=f"{doc_id}:p{i}", doc_id=doc_id, text=t, n=i, section="I. Partie", footnotes=f,
                           calls=_calls(t)) for i, (t, f) in enumerate(texts, start=1))
    meta = Paragraph(id=f"{doc_id}:meta", doc_id=doc_id, kind="meta",
                     text="« Géographies », article de Jeanne Martin publié le 2 janvier 2020 sur Exemple.fr.")
    return Document(id=doc_id, title="Géographies", source="art.txt", authors=("Jeanne Martin",),
                    date="2020-01-02", site="Exemple.fr", paragraphs=body + (meta,),
                    footnotes=(Footnote(3, "Traité", "https://ex.org/otan"), Footnote(4, "Rail", "https://ex.org/rail")))


# The hashing embedder scores lower than a real model: its own abstention bar.
SETTINGS = ComposeConfig(abstain_below=0.2)


def _renvoi(tmp_path, docs, settings: ComposeConfig = SETTINGS) -> Renvoi:
    config = Config(index_dir=tmp_path / "idx", compose=settings)
    embedder = HashEmbedder(dim=256)
    passages = [p for d in docs for p in d.paragraphs]
    return Renvoi(config, Index.build(docs, passages, embedder, config), embedder)


@pytest.fixture
def renvoi(tmp_path) -> Renvoi:
    return _renvoi(tmp_path, [_doc()])


def answer(question: str, r: Renvoi, history=()):
    return r.ask(question, history=history)


def text(a, r: Renvoi) -> str:
    return answer_text(a, r.documents)


def test_answer_quotes_the_answering_sentence_with_its_footnote(renvoi):
    a = answer("Quels pays ont rejoint l'OTAN en 1999 ?", renvoi)
    assert not a.abstained and a.status == "answered" and a.language == "fr"
    check_answer(a, renvoi.documents)
    assert text(a, renvoi).startswith("D'après les documents")
    first = a.citations[0]
    assert first.passage.id == "art:p1" and "1999" in first.quote
    assert [f.number for f in first.footnotes] == [3]
    assert a.claims[0].attribution.name == "Jeanne Martin" and a.claims[0].attribution.role == "author"
    from rag.render.json import answer_json

    d = answer_json(a, renvoi.documents)
    assert {"question", "answer", "abstained", "citations", "passages", "timings_ms", "composer", "dropped",
            "status", "claims", "language"} <= set(d)
    assert d["composer"] == "extractive" and d["dropped"] == [] and d["status"] == "answered"
    assert {"marker", "passage_id", "doc_id", "title", "authors", "date", "section",
            "paragraph", "quote", "text", "footnotes"} <= set(d["citations"][0])
    assert set(d["citations"][0]["footnotes"][0]) == {"number", "text", "url"}
    assert set(d["timings_ms"]) == {"retrieve", "compose", "total"}
    span = d["claims"][0]["spans"][0]
    passage = renvoi.index.passage(span["passage_id"])
    assert passage.text[span["start"]:span["end"]] == span["text"] == d["claims"][0]["text"]
    assert [p["cited"] for p in d["passages"]][:1] == [True]


def test_english_question_gets_an_english_lead_in(renvoi):
    a = answer("When does the Paris-Vienne night train line reopen?", renvoi)
    assert text(a, renvoi).startswith("According to the documents")
    check_answer(a, renvoi.documents)
    # English punctuation around the French quote; French keeps its space before the colon
    assert "Jeanne Martin writes: « " in text(a, renvoi) and " : « " not in text(a, renvoi)
    fr = answer("Quand la ligne Paris-Vienne rouvre-t-elle ?", renvoi)
    assert "Jeanne Martin écrit : « " in text(fr, renvoi)


def test_abstains_without_citing(renvoi):
    a = answer("Quel est le prix du kilo de tomates à Lima ?", renvoi)
    assert a.abstained and a.status == "abstained" and a.citations == () and a.claims == ()
    assert text(a, renvoi).startswith("Les documents ne permettent pas")
    assert "[1]" not in text(a, renvoi)
    assert a.hits, "the related passages stay"
    en = answer("What is the price of tomatoes in Lima?", renvoi)
    assert en.abstained and text(en, renvoi).startswith("The documents do not answer")


def test_a_year_no_passage_mentions_is_not_answered(renvoi):
    # the topic is there (NATO enlargement), the year is not: quoting 1999 would answer another question
    a = answer("Quels pays ont rejoint l'OTAN en 2009 ?", renvoi)
    assert a.abstained and a.citations == ()
    assert not answer("Quels pays ont rejoint l'OTAN en 2004 ?", renvoi).abstained


def test_a_greeting_gets_a_reply_and_no_passages(renvoi):
    for greeting, start in (("Bonjour !", "Je réponds"), ("  merci beaucoup", "Je réponds"),
                            ("Hello there", "I answer"), ("Thanks!", "I answer")):
        a = answer(greeting, renvoi)
        assert a.status == "small_talk" and a.citations == () and a.hits == (), greeting
        assert text(a, renvoi).startswith(start) and "[1]" not in text(a, renvoi)
        assert a.to_dict()["passages"] == []
    # a question that merely opens with a greeting is answered
    q = answer("Bonjour, quels pays ont rejoint l'OTAN en 1999 ?", renvoi)
    assert not q.abstained and q.citations[0].passage.id == "art:p1"


def test_metadata_question_cites_the_card(renvoi):
    a = answer("Qui a écrit l'article ?", renvoi)
    assert not a.abstained
    assert a.citations[0].passage.kind == "meta" and a.claims[0].attribution is None
    assert "Jeanne Martin" in text(a, renvoi)


def test_followup_is_resolved_against_the_previous_turn(renvoi):
    first = answer("Quels pays ont rejoint l'OTAN en 1999 ?", renvoi)
    follow = answer("Et en 2004 ?", renvoi, history=[renvoi.turn(first)])
    assert follow.resolved_question.startswith("Quels pays ont rejoint l'OTAN en 1999 ?")
    assert follow.citations and follow.citations[0].passage.id == "art:p1"
    assert any("2004" in c.quote for c in follow.citations)


def test_a_content_question_with_when_is_not_answered_from_the_card(renvoi):
    a = answer("Quand la ligne Paris-Vienne rouvre-t-elle ?", renvoi)
    assert not a.abstained and all(c.passage.kind != "meta" for c in a.citations)
    assert "2021" in a.citations[0].quote
    card = answer("Quand l'article a-t-il été publié ?", renvoi)
    assert card.citations[0].passage.kind == "meta"


def _evidence(passage: Paragraph, rank: int = 1, doc: Document | None = None, dim: int = 2) -> Evidence:
    doc = doc or Document(id=passage.doc_id, title="T", source="t.txt")
    sentences = (Sentence(passage.text, 0, len(passage.text)),)
    return Evidence(Hit(rank, passage, 0.0, 0.0, 0.0, passage.text), doc, sentences, np.zeros((1, dim), np.float32))


def _cand(pid, sentence, score, vec, pos=0, rank=1):
    p = Paragraph(id=pid, doc_id="d", text=sentence)
    return Candidate(_evidence(p, rank), Sentence(sentence, 0, len(sentence)), pos, rank, score,
                     np.asarray(vec, dtype=np.float32))


def test_select_drops_duplicates_and_weak_sentences():
    a = _cand("d:p1", "A dit ceci.", 0.90, [1, 0])
    dup = _cand("d:p2", "A dit cela.", 0.89, [0.999, 0.0447])
    b = _cand("d:p3", "B dit autre chose.", 0.88, [0, 1])
    weak = _cand("d:p4", "C est loin.", 0.50, [0.6, 0.8])
    chosen = select([weak, b, dup, a], ComposeConfig(relative_floor=0.9, redundancy=0.95, max_sentences=3))
    assert [c.sentence.text for c in chosen] == ["A dit ceci.", "B dit autre chose."]
    assert select([], ComposeConfig()) == []


def test_order_for_reading_groups_by_passage_in_text_order():
    c1 = _cand("d:p1", "second", 0.9, [1, 0], pos=1, rank=1)
    c2 = _cand("d:p2", "other", 0.95, [0, 1], pos=0, rank=2)
    c3 = _cand("d:p1", "first", 0.8, [1, 0], pos=0, rank=1)
    assert [c.sentence.text for c in order_for_reading([c2, c1, c3])] == ["first", "second", "other"]


def test_footnotes_for_prefers_the_quoted_sentence():
    doc = _doc()
    p = doc.paragraphs[0]

    def span(piece: str) -> Span:
        at = p.text.index(piece)
        return Span(p.id, at, at + len(piece), piece)

    assert [f.number for f in footnotes_for([span("la Tchéquie [3].")], p, doc)] == [3]
    # a sentence without a call falls back on its paragraph's notes
    assert [f.number for f in footnotes_for([span("En 2004, les trois Etats baltes")], p, doc)] == [3]


def test_metadata_card_is_quoted_only_for_questions_about_the_document(renvoi):
    # the card shares words with content questions ("Géographies", the author's name)
    a = answer("Selon Jeanne Martin, qu'a perdu le glacier du Rhône ?", renvoi)
    assert not a.abstained
    assert all(c.passage.kind != "meta" for c in a.citations)
    assert "tiers" in a.citations[0].quote


def test_a_statement_answers_better_than_a_question(tmp_path):
    # the question repeats the asking sentence word for word; the statement still wins
    doc_id = "q"
    p = Paragraph(id="q:p1", doc_id=doc_id, n=1, text=(
        "Les trains de nuit reviennent-ils en Europe ? Les trains de nuit reviennent en Europe depuis 2021."))
    doc = Document(id=doc_id, title="Rail", source="q.txt", paragraphs=(p,))
    r = _renvoi(tmp_path, [doc], ComposeConfig(abstain_below=0.2, max_sentences=1, question_penalty=0.5))
    a = answer("Les trains de nuit reviennent-ils en Europe ?", r)
    assert a.citations[0].quote == "Les trains de nuit reviennent en Europe depuis 2021."


def _second_doc() -> Document:
    p = Paragraph(id="autre:p1", doc_id="autre", n=1, section=None,
                  text="Le glacier du Rhône recule de dix mètres par an selon les guides.")
    return Document(id="autre", title="Alpes", source="autre.txt", authors=("Paul Durand",),
                    date="2021-05-01", site="Montagnes.org", paragraphs=(p,))


def test_a_question_naming_an_author_quotes_that_author_only(tmp_path):
    r = _renvoi(tmp_path, [_doc(), _second_doc()])
    anyone = answer("Le glacier du Rhône recule-t-il ?", r)
    assert "autre" in {c.passage.doc_id for c in anyone.citations}
    a = answer("Selon Jeanne Martin, le glacier du Rhône recule-t-il ?", r)
    assert not a.abstained and {c.passage.doc_id for c in a.citations} == {"art"}
    check_answer(a, r.documents)


def test_the_composer_needs_only_records(tmp_path):
    """No index, no pipeline: a query and evidence made here give a cited answer or an abstention."""
    doc = _doc()
    p = doc.paragraphs[0]
    sentences = (Sentence(p.text[:p.text.index("[3].") + 4], 0, p.text.index("[3].") + 4),)
    vectors = np.array([[1.0, 0.0]], np.float32)
    e = Evidence(Hit(1, p, 1.0, 0.9, 2.0, sentences[0].text), doc, sentences, vectors, (doc.footnote(3),))
    query = understand("Quels pays ont rejoint l'OTAN en 1999 ?", vocabulary={"1999"})
    a = compose(replace(query, vector=np.array([1.0, 0.0], np.float32)), [e], [e.hit], ComposeConfig(abstain_below=0.5))
    assert a.status == "answered" and a.claims[0].spans[0] == Span(p.id, 0, sentences[0].end, sentences[0].text)
    assert [f.number for f in a.citations[0].footnotes] == [3]
    far = replace(query, vector=np.array([0.0, 1.0], np.float32))
    assert compose(far, [e], [e.hit], ComposeConfig(abstain_below=0.5)).status == "abstained"
