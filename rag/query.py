"""The query stage: what a question asks, before anything is retrieved.

`understand` turns the reader's question and the conversation so far into a
`Query`: its language, the question retrieval should search (a follow-up read
together with the question it follows), what it asks about the document itself
(author, date, outlet, title, affiliation) or about sources, the one document
it names by author or outlet, the years it names that the corpus never
mentions, and whether it is mere small talk. Pure functions; the pipeline adds
the question's vector.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Sequence

from .records import Document, Query, Turn
from .text import LANGUAGES, fold, identify, terms

# Questions about the document rather than its content. Written as cue patterns on
# folded text, French and English first (their wording is the richest here), then
# German, Spanish, Italian and Portuguese. Comparing the question's embedding with
# prototype questions was tried instead and rejected: with e5-small it found 2 of
# the 12 such questions of the corpora's tune splits for 24 false alarms.
_META_INTENTS = {
    # "l'auteur" alone is not asked about ("quelle source l'auteur donne-t-il ?").
    "author": r"\b(qui (a |l.?a )?(ecrit|redige|signe)|qui est l.?(auteur|autrice)|(auteur|autrice) de (l.?article|l.?analyse|ce texte|cet article|l.?entretien)|ecrit par|signe par|who (wrote|authored|is the author|signed)|author of|written by"
              r"|wer hat .{0,40}(geschrieben|verfasst)|wer ist der (autor|verfasser)|(autor|verfasser) (des|dieses)|geschrieben von"
              r"|quien (escribio|es el autor|redacto|firmo)|autor de(l| este| esta)|escrito por"
              r"|chi (ha scritto|e l.?autore|ha redatto|firma)|autore (del|di questo)|scritto da"
              r"|quem (escreveu|e o autor|redigiu|assinou)|autor do|escrito por)\b",
    # "when" alone asks about the content ("On what date was the vote?"); the document's
    # own date is asked with a verb of publishing or writing, or "the article's date".
    "date": r"\b(date (de|of) (publication|parution)|publication date|date (de|of) (l.?article|l.?entretien|l.?analyse|ce texte|the article|the interview)"
            r"|(quand|when|what date|quelle date|de quand|quelle annee|what year|quel jour|what day|which day)\b.*\b(publiee?s?|parue?s?|parait|parution|"
            r"ecrite?s?|redigee?s?|mise? en ligne|published|written|posted|released|appeared|appear|came out|come out|dated?|clos|finished|completed|terminee?s?)"
            r"|(publiee?|parue?|published) (le|on)"
            r"|wann (wurde|ist|erschien)\b.*\b(veroffentlicht|erschienen|geschrieben|verfasst)|erscheinungsdatum|veroffentlichungsdatum"
            r"|cuando (se )?(publico|escribio|fue publicad)|fecha de publicacion"
            r"|quando (e stato|fu|venne) (pubblicat|scritt)|data di pubblicazione"
            r"|quando foi (publicad|escrit)|data de publicacao)\b",
    "outlet": r"\b(quel (media|site|journal|magazine)|quelle (revue|publication)|which (outlet|site|website|magazine|newspaper|publication)|ou (a ete|est) (publie|paru)|where was .* published|publie (dans|par|sur) (quel|quelle|qui)|published (in|by) (what|which|whom)"
              r"|wo (wurde|ist) .{0,40}(veroffentlicht|erschienen)|in welche[mr]? (zeitung|zeitschrift|website)"
              r"|donde (se )?publico|en que (revista|periodico|sitio)|dove (e stato|fu) pubblicat|su quale (rivista|giornale|sito)"
              r"|onde foi publicad|em que (revista|jornal|site))\b",
    "title": r"\b(titre|intitule|title|titled|headline|titel|titulo|titolo|se titula|si intitola|heisst)\b",
    "affiliation": r"\b(enseigne|ou travaille|affiliation|dirige|directeur|teach(es)?|works? (at|for)|university|universite|institut|institute|docteur|doctorate|phd|background"
                   r"|unterrichtet|arbeitet (an|bei|fur)|universitat|ensena|trabaja (en|para)|universidad|insegna|lavora (a|per|presso)|universita"
                   r"|ensina|trabalha (em|para)|universidade)\b",
}
DOCUMENT_INTENTS = tuple(_META_INTENTS)
_SOURCE_INTENT = re.compile(r"\b(source|note|footnote|reference|renvoi|url|lien|link|appuie|supports?|cite[sd]?)\b")
# A question that opens like a continuation ("Et en 2004 ?", "And the Baltic states?",
# "Und wie…", "¿Y…", "E quanto a…"), or leans on what was said before ("that", "cela").
_FOLLOWUP_START = re.compile(
    r"^[¿¡]?(et|mais|and|but|what about|how about|same|idem|pareil|puis|ensuite|also|aussi"
    r"|und|aber|auch|was ist mit|wie steht es mit|y|pero|tambien|que hay de|e|ma|anche|e quanto a|mas|tambem)\b|"
    r"\b(that|this|it|he|she|they|cela|ceci|ça|ca|celui|celle|ce dernier|cette annee|cette periode)\b",
)
_YEAR = re.compile(r"(?<![\d.,])(1[5-9]\d\d|20\d\d)(?![\d.,]\d)")

# Greetings and thanks, folded, with the language each says it in (None: either).
_SMALL_TALK = {
    "bonjour": "fr", "bonsoir": "fr", "salut": "fr", "coucou": "fr", "merci": "fr", "merci beaucoup": "fr",
    "au revoir": "fr", "d'accord": "fr", "hello": "en", "hi": "en", "hey": "en", "thanks": "en",
    "thank you": "en", "thanks a lot": "en", "bye": "en", "goodbye": "en", "ok": None, "okay": None,
    "bravo": None, "super": None, "cool": None,
}
_SMALL_TALK_TAIL = re.compile(r"\s+(a vous|a toi|a tous|tout le monde|renvoi|you|there|everyone|all)$")


def understand(question: str, history: Sequence[Turn] = (), documents: Iterable[Document] = (),
               vocabulary: Container[str] = frozenset(), languages: Sequence[str] = ()) -> Query:
    """The `Query` for `question` asked after `history`, over `documents` whose BM25
    terms are `vocabulary` (to tell the years the corpus mentions) and whose passages
    are written in `languages`."""
    talk = small_talk(question, languages)
    if talk is not None:
        return Query(text=question, resolved=question, language=talk, small_talk=True)
    language = question_language(question, languages)
    resolved = resolve_followup(question, history, language)
    intents = document_intents(question)
    if _SOURCE_INTENT.search(fold(question)):
        intents |= {"sources"}
    return Query(
        text=question,
        resolved=resolved,
        language=language,
        intents=frozenset(intents),
        named_document=named_document(resolved, documents),
        unknown_years=tuple(unknown_years(resolved, vocabulary)),
    )


# The languages renvoi speaks to readers in (rag.messages): a question is told apart
# among these and the corpus's own languages.
READER_LANGUAGES = ("en", "fr", "de", "es", "it", "pt")


def question_language(question: str, languages: Sequence[str] = ()) -> str:
    """The language a question is written in, among the reader languages and the corpus's."""
    return identify(question, tuple(dict.fromkeys([*READER_LANGUAGES, *languages])))[0]


def document_intents(question: str) -> set[str]:
    """What the question asks about the document itself: author, date, outlet, title, affiliation."""
    q = fold(question)
    return {name for name, pattern in _META_INTENTS.items() if re.search(pattern, q)}


def is_followup(question: str, history: Sequence[Turn], language: str | None = None) -> bool:
    """A short or anaphoric question right after another one leans on it (its content
    words counted without the stopwords of its language)."""
    if not history:
        return False
    q = fold(question.strip())
    content = terms(question, tuple(dict.fromkeys([*LANGUAGES, *([language] if language else [])])))
    return bool(_FOLLOWUP_START.search(q)) or len(set(content)) <= 2


def resolve_followup(question: str, history: Sequence[Turn], language: str | None = None) -> str:
    """The question to retrieve with: a follow-up is read together with the previous question."""
    if not is_followup(question, history, language):
        return question
    previous = history[-1]
    base = previous.resolved or previous.question
    return f"{base} {question}"


def unknown_years(question: str, vocabulary: Container[str]) -> list[str]:
    """The years (1500-2099) written in `question` that are not among the corpus terms."""
    return [y for y in dict.fromkeys(_YEAR.findall(question)) if y not in vocabulary]


def named_document(question: str, documents: Iterable[Document]) -> str | None:
    """The one document the question names by its author (full name or surname)
    or its outlet ("selon Bret", "the Diploweb piece"), else None (none, or several)."""
    q = fold(question)
    named = set()
    for d in documents:
        names = [*d.authors, *(a.split()[-1] for a in d.authors if a.split()), d.site or ""]
        if any(len(n) >= 3 and re.search(rf"\b{re.escape(fold(n))}\b", q) for n in names):
            named.add(d.id)
    return next(iter(named)) if len(named) == 1 else None


def small_talk(question: str, languages: Sequence[str] = ()) -> str | None:
    """The language of a question that is only a greeting or a thanks ("Bonjour !",
    "thanks"), else None: such a message gets no passages, related or cited."""
    q = " ".join(re.sub(r"[^\w']+", " ", fold(question)).split())
    if q not in _SMALL_TALK:
        q = _SMALL_TALK_TAIL.sub("", q)
    if q not in _SMALL_TALK:
        return None
    return _SMALL_TALK[q] or question_language(question, languages)
