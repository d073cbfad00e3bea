"""Sentences, language detection and BM25 terms."""

import pytest

from rag.text import detect_language, fold, split_sentences, terms


def test_sentences_are_verbatim_and_keep_abbreviations():
    text = ("Le 45ème président a exprimé son admiration pour M. Poutine [2]. Et il a été payé de retour. "
            "Les Etats-Unis ont réussi à faire financer 70% de la présence militaire au Japon.")
    sentences = split_sentences(text)
    assert len(sentences) == 3
    assert all(s in text for s in sentences)
    assert sentences[0].endswith("[2].")


def test_empty_and_bad_language():
    assert split_sentences("   ") == []
    with pytest.raises(ValueError, match="give an ISO 639-1 code"):
        split_sentences("Bonjour.", "German")
    # a language pysbd has no rules for is cut with the English ones
    assert split_sentences("Hei. Tämä on lause.", "fi") == ["Hei.", "Tämä on lause."]


def test_terms_in_any_language_with_its_stemmer_and_stopwords():
    assert terms("Die Ebenen werden angezeigt", ("de",)) == ["eben", "angezeigt"]
    assert terms("Las capas se muestran en el diálogo", ("es",)) == ["cap", "muestr", "dialog"]
    # no stemmer for a language: words are folded, not stemmed
    assert terms("Ĉi tiu vorto", ("xx",)) == ["ci", "tiu", "vorto"]


def test_languages_are_identified_among_candidates():
    from rag.text import identify, passage_language

    assert identify("Wozu dient der Auswahleditor?", ("de", "en", "fr"))[0] == "de"
    assert identify("Et en 2004 ?", ("fr", "en", "de", "es", "it", "pt"))[0] == "fr"
    assert passage_language("This paragraph was left in English by the translators of the page.", "fr") == "en"
    assert passage_language("GIMP 2.10", "fr") == "fr"  # too short to tell: the document's


def test_fold_and_terms_meet_across_accents_and_languages():
    assert fold("États Œuvre") == "etats oeuvre"
    assert "etat" in terms("Les États-Unis")
    assert "etat" in terms("les Etats-Unis")
    assert "otan" in terms("Which countries joined l'OTAN?", ("fr", "en"))
    assert "le" not in terms("le la les")


@pytest.mark.parametrize("q,lang", [
    ("Who wrote the Diploweb article?", "en"),
    ("Qui a écrit l'article ?", "fr"),
    ("Et en 2004 ?", "fr"),
    ("What about 2004?", "en"),
    ("Quelle est la date de publication ?", "fr"),
    ("When was it published?", "en"),
])
def test_detect_language(q, lang):
    assert detect_language(q) == lang
