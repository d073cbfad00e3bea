"""Text utilities shared by the stages: folding, words, stopwords, sentences,
note calls, language, and BM25 terms.

Pure functions only. Sentences to quote come from pysbd (which knows French
abbreviations and keeps the text verbatim, so a quoted sentence is always a
substring of its paragraph); `cut_sentences` is the quick cut ingestion uses
to compare texts. BM25 terms are lower-cased, stemmed with the Snowball
stemmers of PyStemmer and folded to ASCII so that "États" and "Etats" meet.
This module does not embed, index or rank anything.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .records import NoteCall

LANGUAGES = ("fr", "en")

_WORD = re.compile(r"\w+", re.UNICODE)
# A call to a note as articles print it, "[3]" (also the form of an answer's markers).
NOTE_CALL = re.compile(r"\[(\d+)\]")


class _FoldTable(dict):
    """Code point -> its folded form, filled on first sight: `str.translate` then folds a
    text at C speed (decomposition is per character; combining marks are dropped)."""

    def __missing__(self, cp: int) -> str:
        folded = "".join(c for c in unicodedata.normalize("NFKD", chr(cp)) if not unicodedata.combining(c))
        folded = folded.replace("’", "'").replace("‘", "'").replace("œ", "oe").replace("æ", "ae")
        self[cp] = folded
        return folded


_FOLD = _FoldTable({ord("’"): "'", ord("‘"): "'", ord("œ"): "oe", ord("æ"): "ae"})


def fold(text: str) -> str:
    """Lower-case, strip accents and straighten apostrophes: 'États’' -> "etats'"."""
    lowered = text.lower()
    return lowered if lowered.isascii() else lowered.translate(_FOLD)


def words(text: str) -> list[str]:
    """The runs of letters and digits of `text`."""
    return _WORD.findall(text)


def normalize_for_match(text: str) -> str:
    """Folded letters and digits separated by single spaces: equal for copies that differ in case or punctuation."""
    return " ".join(_WORD.findall(fold(text)))


def note_numbers(text: str) -> tuple[int, ...]:
    """The numbers of the note calls in `text` ("[3]", up to three digits), in order, each once."""
    return tuple(dict.fromkeys(int(n) for n in NOTE_CALL.findall(text) if len(n) <= 3))


def note_calls(text: str) -> tuple[NoteCall, ...]:
    """Where `text` calls notes ("[3]", up to three digits), by offset: renderers style the
    calls from these records, and never look for them in the text again."""
    return tuple(NoteCall(int(m.group(1)), m.start(), m.end()) for m in NOTE_CALL.finditer(text)
                 if len(m.group(1)) <= 3)


# Function words the page classifier counts (stopword density, content terms): short hand-made
# lists, as written (accented). BM25 terms and `detect_language` use bm25s's longer lists instead.
FR_STOPWORDS = frozenset(
    """a à ai aie ait alors au aucun aussi autre aux avec avait avant avoir c ça car ce ceci cela celle celles celui
    cependant ces cet cette ceux chaque chez comme comment d dans de des depuis devant doit donc dont du elle elles
    en encore entre est et été être eu fait faire font hors il ils j je jusqu l la le les leur leurs lors lui m ma
    mais me même mes moi moins mon n ne ni non nos notre nous on ont ou où par parce pas peu peut plus pour pourquoi
    qu quand que quel quelle quelles quels qui s sa sans se selon ses si sien son sont sous sur t ta te tes toi ton
    tous tout toute toutes très tu un une vers voici voilà vos votre vous y était étaient sera seront serait
    avons avez leurs ceux-ci celle-ci lequel laquelle lesquels dès afin ainsi après aujourd hui bien déjà donc""".split()
)
EN_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves also may might must
    shall its it's per via""".split()
)
STOPWORDS = FR_STOPWORDS | EN_STOPWORDS


# bm25s's stopword lists by ISO 639-1 code.
_STOPWORD_LISTS = {
    "en": "STOPWORDS_EN_PLUS", "fr": "STOPWORDS_FRENCH", "de": "STOPWORDS_GERMAN", "es": "STOPWORDS_SPANISH",
    "it": "STOPWORDS_ITALIAN", "pt": "STOPWORDS_PORTUGUESE", "nl": "STOPWORDS_DUTCH", "sv": "STOPWORDS_SWEDISH",
    "no": "STOPWORDS_NORWEGIAN", "da": "STOPWORDS_DANISH", "ru": "STOPWORDS_RUSSIAN", "tr": "STOPWORDS_TURKISH",
}  # fmt: skip
# Elided forms ("l'", "qu'") are split off by the word regex, so their stems matter too.
_EXTRA_STOPWORDS = {
    "fr": ("l", "d", "qu", "c", "s", "n", "j", "m", "t", "y", "a", "est", "sont", "ete"), "en": ("s", "t"),
    "it": ("l", "d", "un", "dell", "all", "nell", "sull"), "es": ("el",), "pt": ("d",), "de": ("s",),
}  # fmt: skip
# PyStemmer's Snowball stemmers by ISO 639-1 code.
SNOWBALL = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech", "da": "danish", "nl": "dutch",
    "en": "english", "eo": "esperanto", "et": "estonian", "fi": "finnish", "fr": "french", "de": "german",
    "el": "greek", "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian",
    "lt": "lithuanian", "ne": "nepali", "no": "norwegian", "fa": "persian", "pl": "polish", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sr": "serbian", "es": "spanish", "sv": "swedish", "ta": "tamil",
    "tr": "turkish", "yi": "yiddish",
}  # fmt: skip
# pysbd's sentence rules by language; other languages are cut with the English ones.
_PYSBD = frozenset("en hi mr zh es am ar hy bg ur ru pl fa nl da fr my el it ja de kk sk".split())


@lru_cache(maxsize=None)
def _stopwords(lang: str) -> frozenset[str]:
    """Stopwords of `lang` (folded), empty when bm25s has no list for it."""
    name = _STOPWORD_LISTS.get(lang)
    words = getattr(_bm25s_stopwords(), name) if name else ()
    return frozenset(fold(w) for w in (*words, *_EXTRA_STOPWORDS.get(lang, ())))


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
    """The Snowball stemmer of `lang`, or None when PyStemmer has none (words are then only folded)."""
    import Stemmer

    return Stemmer.Stemmer(SNOWBALL[lang]) if lang in SNOWBALL else None


_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


def check_language(lang: str) -> str:
    """An ISO 639 language code ("fr", "de", …); ValueError for anything else."""
    if not isinstance(lang, str) or not _LANGUAGE_CODE.match(lang):
        raise ValueError(f"unknown language {lang!r}; give an ISO 639-1 code such as fr, en, de, es, it, pt")
    return lang


@lru_cache(maxsize=8)
def _identifier(candidates: tuple[str, ...] | None = None):
    from py3langid.langid import _load_identifier

    identifier = _load_identifier(norm_probs=True)
    if candidates:
        identifier.set_languages(list(candidates))
    return identifier


def identify(text: str, candidates: tuple[str, ...] | None = None) -> tuple[str, float]:
    """The likeliest language of `text`, and its probability: among the 97 languages
    py3langid knows, or among `candidates` (a short question is told apart far better
    among the languages it can plausibly be in)."""
    known = tuple(sorted(c for c in set(candidates or ()) if c in _known_languages()))
    lang, prob = _identifier(known or None).classify(text)
    return lang, float(prob)


@lru_cache(maxsize=1)
def _known_languages() -> frozenset[str]:
    return frozenset(_identifier().nb_classes)


def document_language(text: str, default: str = "en") -> str:
    """The language most of `text` is written in (`default` when there is no text to tell)."""
    return identify(text)[0] if _WORD.search(text) else default


def passage_language(text: str, default: str, min_words: int = 6, min_prob: float = 0.8) -> str:
    """The language a passage is written in; `default` (its document's) when the passage
    is too short or too mixed to tell (names, code, a table row of figures)."""
    if len(_WORD.findall(text)) < min_words:
        return default
    lang, prob = identify(text)
    return lang if prob >= min_prob else default


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
    stemmers = [_stemmer(lang) for lang in langs]
    out: list[str] = []
    for word in _WORD.findall(text.lower()):
        if fold(word) in stop or word.isdigit() and len(word) == 1:
            continue
        stems = {fold(stemmer.stemWord(word) if stemmer else word) for stemmer in stemmers}
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
    spans = _segmenter(lang if lang in _PYSBD else "en").segment(text)
    sentences: list[str] = []
    for span in spans:
        s = span.sent.strip()
        if not s:
            continue
        # A lone footnote marker or a fragment of a few characters belongs to the sentence before.
        if sentences and (len(s) < min_chars or NOTE_CALL.fullmatch(s) or s[0].islower()):
            joined = text[text.find(sentences[-1]) : text.find(s, text.find(sentences[-1])) + len(s)]
            sentences[-1] = joined if joined else sentences[-1] + " " + s
            continue
        sentences.append(s)
    return sentences


_TERMINAL = re.compile(r"[.!?…:;»\"”)\]]\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"“A-ZÀ-Þ0-9])")


def ends_sentence(text: str) -> bool:
    """Whether `text` ends with final punctuation (or a closing quote or bracket)."""
    return bool(_TERMINAL.search(text))


def cut_sentences(text: str) -> list[str]:
    """`text` cut after each final punctuation that a capital, digit or quote follows.

    Quick and blind to abbreviations ("M. Poutine" is cut): for comparing texts,
    not for quoting them (`split_sentences` does that)."""
    return [s for s in _SENTENCE_END.split(text.strip()) if s]
