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
    with pytest.raises(ValueError, match="allowed: fr, en"):
        split_sentences("Bonjour.", "de")


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
