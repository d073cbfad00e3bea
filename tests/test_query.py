"""The query stage: language, follow-ups, questions about the document, names, years, small talk."""

from __future__ import annotations

from rag.query import (
    document_intents,
    is_followup,
    named_document,
    resolve_followup,
    small_talk,
    understand,
    unknown_years,
)
from rag.records import Document, Paragraph, Turn


def _docs() -> list[Document]:
    return [
        Document(id="art", title="Géographies", source="art.txt", authors=("Jeanne Martin",), site="Exemple.fr"),
        Document(id="autre", title="Alpes", source="autre.txt", authors=("Paul Durand",), site="Montagnes.org",
                 paragraphs=(Paragraph(id="autre:p1", doc_id="autre", n=1, text="Le glacier recule."),)),
    ]


def test_understand_reads_the_question_and_its_conversation():
    q = understand("Qui a écrit l'article de Jeanne Martin, et sur quelles sources s'appuie-t-il ?",
                   documents=_docs())
    assert q.language == "fr" and q.intents >= {"author", "sources"} and q.named_document == "art"
    assert q.resolved == q.text and not q.small_talk and q.vector is None
    follow = understand("Et en 2004 ?", [Turn("Quels pays ont rejoint l'OTAN en 1999 ?")], _docs(), {"1999", "2004"})
    assert follow.resolved == "Quels pays ont rejoint l'OTAN en 1999 ? Et en 2004 ?" and follow.unknown_years == ()
    assert understand("Et en 2009 ?", [Turn("Quels pays ont rejoint l'OTAN ?")], _docs(),
                      {"1999"}).unknown_years == ("2009",)
    hello = understand("Bonjour !")
    assert hello.small_talk and hello.language == "fr"


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


def test_is_followup():
    h = [Turn("Quels pays ont rejoint l'OTAN en 1999 ?")]
    assert is_followup("Et en 2004 ?", h)
    assert is_followup("Who said that?", h)
    assert not is_followup("Et en 2004 ?", [])
    assert not is_followup("Quelle est la position de la Russie sur la Syrie selon Lambert ?", h)
    assert resolve_followup("Quelle est la position de la Russie en Syrie ?", h) == "Quelle est la position de la Russie en Syrie ?"


def test_document_intents():
    assert document_intents("Qui a écrit cet article ?") == {"author"}
    assert "date" in document_intents("When was the Atlantico interview published?")
    assert "affiliation" in document_intents("Où enseigne l'auteur ?")
    assert document_intents("Quels pays ont rejoint l'OTAN ?") == set()
    # the document's own date is asked with publishing or writing, not with "when" alone
    for q in ("Quand a-t-il été publié ?", "De quand date l'article ?", "When was the manuscript finished?",
              "Quelle est la date de publication de l'entretien ?", "Quel jour l'entretien a-t-il été mis en ligne ?",
              "When did the interview come out?"):
        assert "date" in document_intents(q), q
    for q in ("On what date was the presidential vote?", "Depuis quand le dialogue est-il rompu ?",
              "When did Obama promise a reset with Russia?"):
        assert "date" not in document_intents(q), q
    # naming the outlet is not asking for it
    assert "outlet" in document_intents("Dans quelle revue l'article a-t-il paru ?")
    assert "outlet" not in document_intents("Quelle nouvelle a motivé l'entretien publié par Atlantico ?")


def test_named_document():
    docs = _docs()
    assert named_document("Selon Jeanne Martin, qu'a perdu le glacier ?", docs) == "art"
    assert named_document("What does Durand say about the glacier?", docs) == "autre"  # surname alone
    assert named_document("Que dit le texte de Montagnes.org ?", docs) == "autre"  # outlet
    assert named_document("Martin et Durand sont-ils d'accord ?", docs) is None  # two documents
    assert named_document("Qu'a perdu le glacier du Rhône ?", docs) is None
    # names match whole words only: "Martinique" does not name Jeanne Martin
    assert named_document("Où est la Martinique ?", docs) is None
