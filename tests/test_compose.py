"""The extractive composer: selection, markers, citations, abstention, follow-ups."""

from __future__ import annotations


import numpy as np
import pytest

from rag.compose import (
    Candidate,
    ComposeSettings,
    answer,
    footnotes_for,
    format_abstention,
    is_followup,
    meta_intents,
    named_document,
    order_for_reading,
    place_name,
    resolve_followup,
    select,
    small_talk,
    unknown_years,
)
from rag.config import Config
from rag.index import Index
from rag.pipeline import Renvoi
from rag.records import Document, Footnote, Hit, Paragraph, Turn

from conftest import HashEmbedder, check_answer

def _doc() -> Document:
    doc_id = "art"
    texts = [
        ("L'OTAN s'est étendue en 1999 à la Pologne, la Hongrie et la Tchéquie [3]. "
         "En 2004, les trois Etats baltes ont rejoint l'Alliance.", (3,)),
        ("Le glacier du Rhône a perdu un tiers de sa masse depuis 1900. Les touristes viennent le voir.", ()),
        ("Les trains de nuit reviennent en Europe [4]. La ligne Paris-Vienne rouvre en 2021.", (4,)),
    ]
    body = tuple(Paragraph(id=f"{doc_id}:p{i}", doc_id=doc_id, text=t, n=i, section="I. Partie", footnotes=f)
                 for i, (t, f) in enumerate(texts, start=1))
    meta = Paragraph(id=f"{doc_id}:meta", doc_id=doc_id, kind="meta",
                     text="« Géographies », article de Jeanne Martin publié le 2 janvier 2020 sur Exemple.fr.")
    return Document(id=doc_id, title="Géographies", source="art.txt", authors=("Jeanne Martin",),
                    date="2020-01-02", site="Exemple.fr", paragraphs=body + (meta,),
                    footnotes=(Footnote(3, "Traité", "https://ex.org/otan"), Footnote(4, "Rail", "https://ex.org/rail")))


@pytest.fixture
def renvoi(tmp_path) -> Renvoi:
    doc = _doc()
    config = Config(index_dir=tmp_path / "idx")
    embedder = HashEmbedder(dim=256)
    index = Index.build([doc], list(doc.paragraphs), embedder, config)
    return Renvoi(config, index, embedder)


# The hashing embedder scores lower than a real model: its own abstention bar.
SETTINGS = ComposeSettings(abstain_below=0.2)


def test_answer_quotes_the_answering_sentence_with_its_footnote(renvoi):
    a = answer("Quels pays ont rejoint l'OTAN en 1999 ?", renvoi, settings=SETTINGS)
    assert not a.abstained
    check_answer(a, renvoi.documents)
    assert a.text.startswith("D'après les articles")
    first = a.citations[0]
    assert first.passage.id == "art:p1" and "1999" in first.quote
    assert [f.number for f in first.footnotes] == [3]
    d = a.to_dict()
    assert set(d) == {"question", "answer", "abstained", "citations", "passages", "timings_ms", "composer", "dropped"}
    assert d["composer"] == "extractive" and d["dropped"] == []
    assert set(d["citations"][0]) == {"marker", "passage_id", "doc_id", "title", "authors", "date", "section",
                                      "paragraph", "quote", "text", "footnotes"}
    assert set(d["citations"][0]["footnotes"][0]) == {"number", "text", "url"}
    assert set(d["timings_ms"]) == {"retrieve", "compose", "total"}


def test_english_question_gets_an_english_lead_in(renvoi):
    a = answer("When does the Paris-Vienne night train line reopen?", renvoi, settings=SETTINGS)
    assert a.text.startswith("According to the articles")
    check_answer(a, renvoi.documents)
    # English punctuation around the French quote; French keeps its space before the colon
    assert "Jeanne Martin writes: « " in a.text and " : « " not in a.text
    fr = answer("Quand la ligne Paris-Vienne rouvre-t-elle ?", renvoi, settings=SETTINGS)
    assert "Jeanne Martin écrit : « " in fr.text


def test_abstains_without_citing(renvoi):
    a = answer("Quel est le prix du kilo de tomates à Lima ?", renvoi, settings=SETTINGS)
    assert a.abstained and a.citations == ()
    assert a.text.startswith("Les articles ne permettent pas")
    assert "[1]" not in a.text
    en = answer("What is the price of tomatoes in Lima?", renvoi, settings=SETTINGS)
    assert en.abstained and en.text.startswith("The articles do not answer")


def test_a_year_no_passage_mentions_is_not_answered(renvoi):
    # the topic is there (NATO enlargement), the year is not: quoting 1999 would answer another question
    a = answer("Quels pays ont rejoint l'OTAN en 2009 ?", renvoi, settings=SETTINGS)
    assert a.abstained and a.citations == ()
    assert not answer("Quels pays ont rejoint l'OTAN en 2004 ?", renvoi, settings=SETTINGS).abstained


def test_a_greeting_gets_a_reply_and_no_passages(renvoi):
    for greeting, start in (("Bonjour !", "Je réponds"), ("  merci beaucoup", "Je réponds"),
                            ("Hello there", "I answer"), ("Thanks!", "I answer")):
        a = answer(greeting, renvoi, settings=SETTINGS)
        assert a.abstained and a.citations == () and a.hits == (), greeting
        assert a.text.startswith(start) and "[1]" not in a.text
        assert a.to_dict()["passages"] == []
    # a question that merely opens with a greeting is answered
    q = answer("Bonjour, quels pays ont rejoint l'OTAN en 1999 ?", renvoi, settings=SETTINGS)
    assert not q.abstained and q.citations[0].passage.id == "art:p1"


def test_small_talk():
    assert small_talk("Bonjour à tous !") == "fr"
    assert small_talk("thank you") == "en"
    assert small_talk("Bonjour Trump") is None and small_talk("OTAN ?") is None


def test_unknown_years():
    vocabulary = {"1999", "2004", "otan"}
    assert unknown_years("Entre 1999 et 2009, puis en 2009 ?", vocabulary) == ["2009"]
    assert unknown_years("What happened in 2004?", vocabulary) == []
    # amounts and other numbers are not years
    assert unknown_years("Il a coûté 2 500 euros, soit 1,2015 % ou 12015 unités.", vocabulary) == []


def test_metadata_question_cites_the_card(renvoi):
    a = answer("Qui a écrit l'article ?", renvoi, settings=SETTINGS)
    assert not a.abstained
    assert a.citations[0].passage.kind == "meta"
    assert "Jeanne Martin" in a.text


def test_followup_is_resolved_against_the_previous_turn(renvoi):
    first = answer("Quels pays ont rejoint l'OTAN en 1999 ?", renvoi, settings=SETTINGS)
    follow = answer("Et en 2004 ?", renvoi, history=[Turn(first.question, first.text)], settings=SETTINGS)
    assert follow.resolved_question.startswith("Quels pays ont rejoint l'OTAN en 1999 ?")
    assert follow.citations and follow.citations[0].passage.id == "art:p1"
    assert any("2004" in c.quote for c in follow.citations)


def test_is_followup():
    h = [Turn("Quels pays ont rejoint l'OTAN en 1999 ?")]
    assert is_followup("Et en 2004 ?", h)
    assert is_followup("Who said that?", h)
    assert not is_followup("Et en 2004 ?", [])
    assert not is_followup("Quelle est la position de la Russie sur la Syrie selon Lambert ?", h)
    assert resolve_followup("Quelle est la position de la Russie en Syrie ?", h) == "Quelle est la position de la Russie en Syrie ?"


def test_meta_intents():
    assert meta_intents("Qui a écrit cet article ?") == {"author"}
    assert "date" in meta_intents("When was the Atlantico interview published?")
    assert "affiliation" in meta_intents("Où enseigne l'auteur ?")
    assert meta_intents("Quels pays ont rejoint l'OTAN ?") == set()
    # the document's own date is asked with publishing or writing, not with "when" alone
    for q in ("Quand a-t-il été publié ?", "De quand date l'article ?", "When was the manuscript finished?",
              "Quelle est la date de publication de l'entretien ?", "Quel jour l'entretien a-t-il été mis en ligne ?",
              "When did the interview come out?"):
        assert "date" in meta_intents(q), q
    for q in ("On what date was the presidential vote?", "Depuis quand le dialogue est-il rompu ?",
              "When did Obama promise a reset with Russia?"):
        assert "date" not in meta_intents(q), q
    # naming the outlet is not asking for it
    assert "outlet" in meta_intents("Dans quelle revue l'article a-t-il paru ?")
    assert "outlet" not in meta_intents("Quelle nouvelle a motivé l'entretien publié par Atlantico ?")


def test_a_content_question_with_when_is_not_answered_from_the_card(renvoi):
    a = answer("Quand la ligne Paris-Vienne rouvre-t-elle ?", renvoi, settings=SETTINGS)
    assert not a.abstained and all(c.passage.kind != "meta" for c in a.citations)
    assert "2021" in a.citations[0].quote
    card = answer("Quand l'article a-t-il été publié ?", renvoi, settings=SETTINGS)
    assert card.citations[0].passage.kind == "meta"


def _cand(pid, sentence, score, vec, pos=0, rank=1):
    p = Paragraph(id=pid, doc_id="d", text=sentence)
    return Candidate(p, sentence, pos, rank, score, np.asarray(vec, dtype=np.float32))


def test_select_drops_duplicates_and_weak_sentences():
    a = _cand("d:p1", "A dit ceci.", 0.90, [1, 0])
    dup = _cand("d:p2", "A dit cela.", 0.89, [0.999, 0.0447])
    b = _cand("d:p3", "B dit autre chose.", 0.88, [0, 1])
    weak = _cand("d:p4", "C est loin.", 0.50, [0.6, 0.8])
    chosen = select([weak, b, dup, a], ComposeSettings(relative_floor=0.9, redundancy=0.95, max_sentences=3))
    assert [c.sentence for c in chosen] == ["A dit ceci.", "B dit autre chose."]
    assert select([], ComposeSettings()) == []


def test_order_for_reading_groups_by_passage_in_text_order():
    c1 = _cand("d:p1", "second", 0.9, [1, 0], pos=1, rank=1)
    c2 = _cand("d:p2", "other", 0.95, [0, 1], pos=0, rank=2)
    c3 = _cand("d:p1", "first", 0.8, [1, 0], pos=0, rank=1)
    assert [c.sentence for c in order_for_reading([c2, c1, c3])] == ["first", "second", "other"]


def test_footnotes_for_prefers_the_quoted_sentence():
    doc = _doc()
    p = doc.paragraphs[0]
    assert [f.number for f in footnotes_for(["… la Tchéquie [3]."], p, doc)] == [3]
    # a sentence without a marker falls back on its paragraph's notes
    assert [f.number for f in footnotes_for(["En 2004, les trois Etats baltes."], p, doc)] == [3]


def test_metadata_card_is_quoted_only_for_questions_about_the_document(renvoi):
    # the card shares words with content questions ("Géographies", the author's name)
    a = answer("Selon Jeanne Martin, qu'a perdu le glacier du Rhône ?", renvoi, settings=SETTINGS)
    assert not a.abstained
    assert all(c.passage.kind != "meta" for c in a.citations)
    assert "tiers" in a.citations[0].quote


def test_a_statement_answers_better_than_a_question(tmp_path):
    # the question repeats the asking sentence word for word; the statement still wins
    doc_id = "q"
    p = Paragraph(id="q:p1", doc_id=doc_id, n=1, text=(
        "Les trains de nuit reviennent-ils en Europe ? Les trains de nuit reviennent en Europe depuis 2021."))
    doc = Document(id=doc_id, title="Rail", source="q.txt", paragraphs=(p,))
    config = Config(index_dir=tmp_path / "idx")
    embedder = HashEmbedder(dim=256)
    r = Renvoi(config, Index.build([doc], [p], embedder, config), embedder)
    a = answer("Les trains de nuit reviennent-ils en Europe ?", r,
               settings=ComposeSettings(abstain_below=0.2, max_sentences=1, question_penalty=0.5))
    assert a.citations[0].quote == "Les trains de nuit reviennent en Europe depuis 2021."


def _second_doc() -> Document:
    p = Paragraph(id="autre:p1", doc_id="autre", n=1, section=None,
                  text="Le glacier du Rhône recule de dix mètres par an selon les guides.")
    return Document(id="autre", title="Alpes", source="autre.txt", authors=("Paul Durand",),
                    date="2021-05-01", site="Montagnes.org", paragraphs=(p,))


def test_named_document():
    docs = [_doc(), _second_doc()]
    assert named_document("Selon Jeanne Martin, qu'a perdu le glacier ?", docs) == "art"
    assert named_document("What does Durand say about the glacier?", docs) == "autre"  # surname alone
    assert named_document("Que dit le texte de Montagnes.org ?", docs) == "autre"  # outlet
    assert named_document("Martin et Durand sont-ils d'accord ?", docs) is None  # two documents
    assert named_document("Qu'a perdu le glacier du Rhône ?", docs) is None
    # names match whole words only: "Martinique" does not name Jeanne Martin
    assert named_document("Où est la Martinique ?", docs) is None


def test_a_question_naming_an_author_quotes_that_author_only(tmp_path):
    docs = [_doc(), _second_doc()]
    passages = [p for d in docs for p in d.paragraphs]
    config = Config(index_dir=tmp_path / "idx")
    embedder = HashEmbedder(dim=256)
    r = Renvoi(config, Index.build(docs, passages, embedder, config), embedder)
    anyone = answer("Le glacier du Rhône recule-t-il ?", r, settings=SETTINGS)
    assert "autre" in {c.passage.doc_id for c in anyone.citations}
    a = answer("Selon Jeanne Martin, le glacier du Rhône recule-t-il ?", r, settings=SETTINGS)
    assert not a.abstained and {c.passage.doc_id for c in a.citations} == {"art"}
    check_answer(a, r.documents)


def test_related_passages_say_where_they_stand():
    doc = _doc()
    body, card = doc.paragraphs[0], doc.paragraphs[-1]
    hits = [Hit(1, card, 0.5, 0.5, 0.0, card.text), Hit(2, body, 0.4, 0.4, 0.0, "En 2004, les trois Etats baltes.")]
    fr = format_abstention(hits, {doc.id: doc}, "fr")
    assert "- Géographies, fiche de l'article : « Géographies »" in fr and "- Géographies, ¶ 1 : En 2004" in fr
    en = format_abstention(hits, {doc.id: doc}, "en")
    assert "- Géographies, article details: " in en and "meta" not in en
    assert place_name(body, "en") == "¶ 1" and place_name(card, "fr") == "fiche de l'article"
