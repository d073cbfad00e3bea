"""Text analysis shared by the stages: sentences, language, and BM25 terms.

Pure functions only. Sentences come from pysbd (which knows French
abbreviations and keeps the text verbatim, so a quoted sentence is always a
substring of its paragraph). BM25 terms are lower-cased, stemmed with the
Snowball stemmers of PyStemmer and folded to ASCII so that "États" and
"Etats" meet. This module does not embed, index or rank anything.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

LANGUAGES = ("fr", "en")

_WORD = re.compile(r"\w+", re.UNICODE)
_MARKER = re.compile(r"\s*\[\d+\]")


def fold(text: str) -> str:
    """Lower-case, strip accents and straighten apostrophes: 'États’' -> "etats'"."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'").replace("‘", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("œ", "oe").replace("æ", "ae")


@lru_cache(maxsize=None)
def _stopwords(lang: str) -> frozenset[str]:
    sw = _bm25s_stopwords()
    words = {"fr": sw.STOPWORDS_FRENCH, "en": sw.STOPWORDS_EN_PLUS}[lang]
    # Elided forms ("l'", "qu'") are split off by the word regex, so their stems matter too.
    extra = {"fr": ("l", "d", "qu", "c", "s", "n", "j", "m", "t", "y", "a", "est", "sont", "ete"), "en": ("s", "t")}[lang]
    return frozenset(fold(w) for w in (*words, *extra))


@lru_cache(maxsize=1)
def _bm25s_stopwords():
    """bm25s's stopword lists (plain tuples), read without running `bm25s/__init__`,
    which imports numba and scipy: a third of the cold start of `renvoi ask`."""
    import importlib.util
    import sys

    if "bm25s" in sys.modules:
        from bm25s import stopwords

        return stopwords
    package = importlib.util.find_spec("bm25s")
    if package is None or not package.submodule_search_locations:
        raise ImportError("bm25s is not installed (pip install bm25s)")
    path = f"{next(iter(package.submodule_search_locations))}/stopwords.py"
    spec = importlib.util.spec_from_file_location("rag._bm25s_stopwords", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=None)
def _stemmer(lang: str):
    import Stemmer

    return Stemmer.Stemmer({"fr": "french", "en": "english"}[lang])


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; allowed: {', '.join(LANGUAGES)}")
    return lang


def detect_language(text: str) -> str:
    """'fr' or 'en' by stopword votes; French wins ties (the corpus language)."""
    words = [fold(w) for w in _WORD.findall(text)]
    # Words common to both lists ("on", "a", "me") carry no signal.
    fr_only = _stopwords("fr") - _stopwords("en")
    en_only = _stopwords("en") - _stopwords("fr")
    fr = sum(w in fr_only for w in words)
    en = sum(w in en_only for w in words)
    return "en" if en > fr else "fr"


def terms(text: str, langs: tuple[str, ...] = ("fr",), stopwords: bool = True) -> list[str]:
    """BM25 terms of `text`: stopwords of every language in `langs` removed
    (unless `stopwords` is false), each word stemmed with each language's stemmer
    (a question in English still meets French names and cognates)."""
    stop = frozenset().union(*(_stopwords(check_language(lang)) for lang in langs)) if stopwords else frozenset()
    for lang in langs:
        check_language(lang)
    out: list[str] = []
    for word in _WORD.findall(text.lower()):
        if fold(word) in stop or word.isdigit() and len(word) == 1:
            continue
        stems = {fold(_stemmer(lang).stemWord(word)) for lang in langs}
        out.extend(sorted(stems))
    return out


@lru_cache(maxsize=4)
def _segmenter(lang: str):
    import pysbd

    return pysbd.Segmenter(language=lang, clean=False, char_span=True)


def split_sentences(text: str, lang: str = "fr", min_chars: int = 12) -> list[str]:
    """Sentences of a paragraph, each a verbatim substring of `text`; a piece shorter
    than `min_chars` joins the sentence before it."""
    check_language(lang)
    if not text.strip():
        return []
    spans = _segmenter(lang).segment(text)
    sentences: list[str] = []
    for span in spans:
        s = span.sent.strip()
        if not s:
            continue
        # A lone footnote marker or a fragment of a few characters belongs to the sentence before.
        if sentences and (len(s) < min_chars or _MARKER.fullmatch(s) or s[0].islower()):
            joined = text[text.find(sentences[-1]) : text.find(s, text.find(sentences[-1])) + len(s)]
            sentences[-1] = joined if joined else sentences[-1] + " " + s
            continue
        sentences.append(s)
    return sentences
