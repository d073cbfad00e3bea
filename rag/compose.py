"""The default composer: an extractive, offline, deterministic cited answer.

From the retrieved passages it scores every sentence against the question
(embedding similarity, plus the share of the question's terms it contains),
keeps the best ones that do not repeat each other, orders them as they stand
in the articles, and writes each as a verbatim quote followed by its marker
`[n]`. Markers are numbered in order of first use; only cited passages become
citations. When the best evidence is too weak, or the question names a year no
passage mentions, the composer abstains in code:
it says so in the question's language, cites nothing, and lists the closest
passages as related (a mere greeting or thanks gets a one-line reply and no
passages at all). Follow-ups are resolved against the previous turn
before retrieval; questions about the document itself (author, date, outlet,
the author's post) draw on the metadata card and biography passages.

The selection and formatting functions are pure; `answer()` wires them to a
loaded pipeline. This module does not retrieve or generate text freely.
"""

from __future__ import annotations

import re
import time
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .records import Answer, Citation, Document, Footnote, Hit, Paragraph, Turn
from .text import LANGUAGES, detect_language, fold, terms

if TYPE_CHECKING:
    from .pipeline import Renvoi

_MARKER = re.compile(r"\[(\d+)\]")

# Questions about the document rather than its content, per language-independent intent.
_META_INTENTS = {
    # "l'auteur" alone is not asked about ("quelle source l'auteur donne-t-il ?").
    "author": r"\b(qui (a |l.?a )?(ecrit|redige|signe)|qui est l.?(auteur|autrice)|(auteur|autrice) de (l.?article|l.?analyse|ce texte|cet article|l.?entretien)|ecrit par|signe par|who (wrote|authored|is the author|signed)|author of|written by)\b",
    # "when" alone asks about the content ("On what date was the vote?"); the document's
    # own date is asked with a verb of publishing or writing, or "the article's date".
    "date": r"\b(date (de|of) (publication|parution)|publication date|date (de|of) (l.?article|l.?entretien|l.?analyse|ce texte|the article|the interview)"
            r"|(quand|when|what date|quelle date|de quand|quelle annee|what year|quel jour|what day|which day)\b.*\b(publiee?s?|parue?s?|parait|parution|"
            r"ecrite?s?|redigee?s?|mise? en ligne|published|written|posted|released|appeared|appear|came out|come out|dated?|clos|finished|completed|terminee?s?)"
            r"|(publiee?|parue?|published) (le|on))\b",
    "outlet": r"\b(quel (media|site|journal|magazine)|quelle (revue|publication)|which (outlet|site|website|magazine|newspaper|publication)|ou (a ete|est) (publie|paru)|where was .* published|publie (dans|par|sur) (quel|quelle|qui)|published (in|by) (what|which|whom))\b",
    "title": r"\b(titre|intitule|title|titled|headline)\b",
    "affiliation": r"\b(enseigne|ou travaille|affiliation|dirige|directeur|teach(es)?|works? (at|for)|university|universite|institut|institute|docteur|doctorate|phd|background)\b",
}
_FOLLOWUP_START = re.compile(
    r"^(et|mais|and|but|what about|how about|same|idem|pareil|puis|ensuite|also|aussi)\b|"
    r"\b(that|this|it|he|she|they|cela|ceci|ça|ca|celui|celle|ce dernier|cette annee|cette periode)\b",
)
_SOURCE_INTENT = re.compile(r"\b(source|note|footnote|reference|renvoi|url|lien|link|appuie|supports?|cite[sd]?)\b")


@dataclass(frozen=True)
class ComposeSettings:
    # Sentences quoted at most: a second one adds key facts more often than it
    # adds a wrong citation (tune split: coverage 0.56 -> 0.65, precision 0.66 -> 0.66).
    max_sentences: int = 2
    # A further sentence must score at least this fraction of the best one.
    relative_floor: float = 0.97
    # Two sentences more similar than this say the same thing; keep one.
    redundancy: float = 0.92
    # Weight of the question-term coverage in a sentence's score.
    lexical_weight: float = 0.10
    # Bonus of sentences of the best-ranked passage: its rank also carries BM25.
    first_hit_bonus: float = 0.02
    # Metadata card and biography: bonus for questions about the document, malus otherwise.
    apparatus_bonus: float = 0.05
    # A sentence that asks (an interviewer's question, a rhetorical one) answers less well.
    question_penalty: float = 0.03
    # Abstain when the best sentence scores below this. Calibrated on the tune split
    # of eval/questions.jsonl (held-out questions checked afterwards).
    abstain_below: float = 0.845
    # Similarities across languages run lower with e5 (an English question on a
    # French text); the bar drops by this much when the languages differ.
    cross_language_margin: float = 0.05
    # Abstain when the question names a year that no passage mentions: the
    # articles cannot say what happened then, however close the topic (a
    # similarity bar cannot see a wrong date). Years are written alike in
    # every language, unlike names (Putin/Poutine).
    abstain_on_unknown_year: bool = True

    def __post_init__(self) -> None:
        if self.max_sentences < 1:
            raise ValueError(f"max_sentences must be at least 1, got {self.max_sentences}")


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, with what the selection needs."""

    passage: Paragraph
    sentence: str
    position: int  # order of the sentence within its passage
    hit_rank: int
    score: float  # what selection ranks by
    vector: np.ndarray
    evidence: float = 0.0  # how well it answers, whatever its form: what abstention looks at


# ---------------------------------------------------------------- pure steps


def meta_intents(question: str) -> set[str]:
    q = fold(question)
    return {name for name, pattern in _META_INTENTS.items() if re.search(pattern, q)}


def is_followup(question: str, history: Sequence[Turn]) -> bool:
    """A short or anaphoric question right after another one leans on it."""
    if not history:
        return False
    q = fold(question.strip())
    content = terms(question, LANGUAGES)
    return bool(_FOLLOWUP_START.search(q)) or len(set(content)) <= 2


def resolve_followup(question: str, history: Sequence[Turn]) -> str:
    """The question to retrieve with: a follow-up is read together with the previous question."""
    if not is_followup(question, history):
        return question
    previous = history[-1]
    base = previous.resolved or previous.question
    return f"{base} {question}"


_YEAR = re.compile(r"(?<![\d.,])(1[5-9]\d\d|20\d\d)(?![\d.,]\d)")


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


def term_coverage(question_terms: set[str], sentence: str) -> float:
    if not question_terms:
        return 0.0
    return len(question_terms & set(terms(sentence, LANGUAGES))) / len(question_terms)


def select(candidates: Sequence[Candidate], settings: ComposeSettings) -> list[Candidate]:
    """Best sentences first, dropping near-duplicates and those far below the best."""
    ranked = sorted(candidates, key=lambda c: (-c.score, c.hit_rank, c.position))
    chosen: list[Candidate] = []
    for c in ranked:
        if len(chosen) >= settings.max_sentences:
            break
        if chosen and c.score < settings.relative_floor * chosen[0].score:
            break
        if any(float(c.vector @ o.vector) > settings.redundancy or c.sentence in o.sentence or o.sentence in c.sentence
               for o in chosen):
            continue
        chosen.append(c)
    return chosen


def order_for_reading(chosen: Sequence[Candidate]) -> list[Candidate]:
    """The best passage first; within and after it, sentences as the articles order them."""
    first_rank = {}
    for c in chosen:
        first_rank.setdefault(c.passage.id, c.hit_rank)
    return sorted(chosen, key=lambda c: (first_rank[c.passage.id], c.position))


def called_footnotes(sentences: Sequence[str], passage: Paragraph, document: Document) -> tuple[Footnote, ...]:
    """The notes of `passage` that the sentences call ("… Poutine [2]."), in number order."""
    numbers = sorted({int(n) for s in sentences for n in _MARKER.findall(s)} & set(passage.footnotes))
    return tuple(f for n in numbers if (f := document.footnote(n)) is not None)


def footnotes_for(sentences: Sequence[str], passage: Paragraph, document: Document) -> tuple[Footnote, ...]:
    """The notes the quoted sentences reference; failing that, those of their paragraph."""
    called = called_footnotes(sentences, passage, document)
    if called:
        return called
    return tuple(f for n in passage.footnotes if (f := document.footnote(n)) is not None)


_LEAD = {
    "fr": {"answer": "D'après les articles :", "abstain": "Les articles ne permettent pas de répondre à cette question.",
           "related": "Passages les plus proches (non cités) :", "says": "écrit", "answers": "répond",
           "asks": "demande", "note": "note", "colon": " :"},
    "en": {"answer": "According to the articles (quoted in French):",
           "abstain": "The articles do not answer this question.",
           "related": "Closest passages (not cited):", "says": "writes", "answers": "answers",
           "asks": "asks", "note": "note", "colon": ":"},
}
# Passages without a paragraph number, named as a reader would cite them.
PLACE_NAMES = {
    "fr": {"meta": "fiche de l'article", "bio": "biographie de l'auteur", "lead": "chapô", "comment": "commentaire"},
    "en": {"meta": "article details", "bio": "author biography", "lead": "lead", "comment": "comment"},
}


def place_name(passage: Paragraph, lang: str) -> str:
    """Where a passage stands within its article: '¶ 12', or 'fiche de l'article' / 'article details'…"""
    if passage.n is not None:
        return f"¶ {passage.n}"
    return PLACE_NAMES[lang].get(passage.kind, passage.kind)


# Said to a greeting or a thanks: nothing is looked up, nothing is cited.
_SMALL_TALK_REPLY = {
    "fr": "Je réponds aux questions sur les articles en citant leurs paragraphes : posez-en une.",
    "en": "I answer questions about the articles, quoting their paragraphs: ask one.",
}
# Greetings and thanks, folded, with the language each says it in (None: either).
_SMALL_TALK = {
    "bonjour": "fr", "bonsoir": "fr", "salut": "fr", "coucou": "fr", "merci": "fr", "merci beaucoup": "fr",
    "au revoir": "fr", "d'accord": "fr", "hello": "en", "hi": "en", "hey": "en", "thanks": "en",
    "thank you": "en", "thanks a lot": "en", "bye": "en", "goodbye": "en", "ok": None, "okay": None,
    "bravo": None, "super": None, "cool": None,
}
_SMALL_TALK_TAIL = re.compile(r"\s+(a vous|a toi|a tous|tout le monde|renvoi|you|there|everyone|all)$")


def small_talk(question: str) -> str | None:
    """The language of a question that is only a greeting or a thanks ("Bonjour !",
    "thanks"), else None: such a message gets no passages, related or cited."""
    q = " ".join(re.sub(r"[^\w']+", " ", fold(question)).split())
    if q not in _SMALL_TALK:
        q = _SMALL_TALK_TAIL.sub("", q)
    if q not in _SMALL_TALK:
        return None
    return _SMALL_TALK[q] or detect_language(question)


def attribution(passage: Paragraph, document: Document, lang: str) -> str:
    words = _LEAD[lang]
    if passage.kind == "meta":
        return PLACE_NAMES[lang]["meta"].capitalize()
    if passage.speaker:
        verb = words["asks"] if passage.kind == "question" else words["answers"]
        return f"{passage.speaker} {verb}"
    who = ", ".join(document.authors) or document.site or document.title
    return f"{who} {words['says']}"


def format_answer(chosen: Sequence[Candidate], documents: dict[str, Document], lang: str,
                  with_notes: bool) -> tuple[str, tuple[Citation, ...]]:
    """Answer text (one quoted sentence per line, each followed by its marker) and its citations."""
    markers: dict[str, int] = {}
    quotes: dict[str, list[str]] = {}
    words = _LEAD[lang]
    lines = [words["answer"]]
    for c in chosen:
        n = markers.setdefault(c.passage.id, len(markers) + 1)
        quotes.setdefault(c.passage.id, []).append(c.sentence)
        # French typography puts a space before the colon, English none
        lines.append(f"- {attribution(c.passage, documents[c.passage.doc_id], lang)}{words['colon']} « {c.sentence} » [{n}]")
    citations = []
    by_id = {c.passage.id: c.passage for c in chosen}
    for pid, n in markers.items():
        passage = by_id[pid]
        document = documents[passage.doc_id]
        notes = footnotes_for(quotes[pid], passage, document)
        citations.append(Citation(marker=n, passage=passage, document=document,
                                  quote=" … ".join(quotes[pid]), footnotes=notes))
        if with_notes:
            for f in notes:
                lines.append(f"  [{n}] {words['note']} {f.number}{words['colon']} {f.url or f.text}")
    return "\n".join(lines), tuple(citations)


def format_abstention(hits: Sequence[Hit], documents: dict[str, Document], lang: str, related: int = 3) -> str:
    words = _LEAD[lang]
    lines = [words["abstain"]]
    if hits:
        lines.append(words["related"])
        for h in hits[:related]:
            d = documents.get(h.passage.doc_id)
            where = place_name(h.passage, lang)
            # The article's own note calls would read as citation markers here: nothing is cited.
            sentence = _MARKER.sub(lambda m: f"({words['note']} {m.group(1)})", h.best_sentence)
            lines.append(f"- {d.title if d else h.passage.doc_id}, {where}{words['colon']} {sentence}")
    return "\n".join(lines)


# ---------------------------------------------------------------- wiring


def candidates_for(question: str, hits: Sequence[Hit], query: np.ndarray, renvoi: "Renvoi",
                   intents: set[str], named: str | None, settings: ComposeSettings) -> list[Candidate]:
    """Every sentence of the retrieved passages, scored against the question.

    The metadata card is not prose: it is quoted only for questions about the
    document (then the card and biography of that one document join the pool),
    and a sentence that is itself a question, or a line of the biography asked
    for nothing, answers less well than a statement."""
    ix = renvoi.index
    passages: list[tuple[int, int]] = [(ix.row[h.passage.id], h.rank) for h in hits]
    doc_id = None
    if intents and hits:
        # The document the question is about: the one it names, else the best hit's.
        doc_id = named or hits[0].passage.doc_id
        for suffix in ("meta", "bio"):
            row = ix.row.get(f"{doc_id}:{suffix}")
            if row is not None and all(row != r for r, _ in passages):
                passages.append((row, 1))
    q_terms = set(terms(question, LANGUAGES))
    out: list[Candidate] = []
    for row, rank in passages:
        passage = ix.passages[row]
        if passage.kind == "meta" and passage.doc_id != doc_id:
            continue
        start, stop = int(ix.sentence_start[row]), int(ix.sentence_stop[row])
        vectors = ix.sentence_vectors[start:stop]
        sims = vectors @ query
        for pos in range(stop - start):
            sentence = ix.sentences[start + pos]
            score = float(sims[pos]) + settings.lexical_weight * term_coverage(q_terms, sentence)
            if passage.kind in ("meta", "bio"):
                # the card answers "who/when/where" better than any body sentence, and nothing else
                score += settings.apparatus_bonus if intents else -settings.apparatus_bonus
            evidence = score
            if sentence.rstrip(" »\"'").endswith("?") or passage.kind == "question":
                score -= settings.question_penalty
            out.append(Candidate(passage, sentence, pos, rank, score, vectors[pos], evidence))
    return out


def abstention_bar(question_lang: str, passage_lang: str, settings: ComposeSettings) -> float:
    margin = settings.cross_language_margin if question_lang != passage_lang else 0.0
    return settings.abstain_below - margin


def prefer_first_hit(pool: Sequence[Candidate], settings: ComposeSettings) -> list[Candidate]:
    return [replace(c, score=c.score + settings.first_hit_bonus) if c.hit_rank == 1 else c for c in pool]


def small_talk_answer(question: str) -> Answer | None:
    """The reply to a mere greeting or thanks (nothing retrieved, nothing cited), else None."""
    t0 = time.perf_counter()
    lang = small_talk(question)
    if lang is None:
        return None
    total = (time.perf_counter() - t0) * 1000
    return Answer(question=question, text=_SMALL_TALK_REPLY[lang], abstained=True,
                  timings_ms={"retrieve": 0.0, "compose": total, "total": total})


def answer(question: str, renvoi: "Renvoi", history: Sequence[Turn] = (), k: int | None = None,
           settings: ComposeSettings | None = None) -> Answer:
    """Retrieve for `question` (resolved against `history`) and compose a cited answer."""
    settings = settings or ComposeSettings()
    reply = small_talk_answer(question)
    if reply is not None:
        return reply
    t0 = time.perf_counter()
    lang = detect_language(question)
    resolved = resolve_followup(question, history)
    query = renvoi.retriever.query_vector(resolved)
    hits = renvoi.search(resolved, k=k, query_vec=query)
    t1 = time.perf_counter()
    intents = meta_intents(question)
    named = named_document(resolved, renvoi.documents.values())
    pool = candidates_for(resolved, hits, query, renvoi, intents, named, settings)
    if named and any(c.passage.doc_id == named for c in pool):
        # "selon Bret …": quote that author's article only
        pool = [c for c in pool if c.passage.doc_id == named]
    best = max(pool, key=lambda c: c.evidence, default=None)
    chosen = select(prefer_first_hit(pool, settings), settings)
    bar = abstention_bar(lang, renvoi.documents[best.passage.doc_id].language, settings) if best else 0.0
    unknown = settings.abstain_on_unknown_year and unknown_years(resolved, renvoi.index.bm25.vocab_dict)
    if not chosen or best.evidence < bar or unknown:
        text, citations, abstained = format_abstention(hits, renvoi.documents, lang), (), True
    else:
        with_notes = bool(_SOURCE_INTENT.search(fold(question)))
        text, citations = format_answer(order_for_reading(chosen), renvoi.documents, lang, with_notes)
        abstained = False
    t2 = time.perf_counter()
    return Answer(
        question=question, text=text, abstained=abstained, citations=citations, hits=tuple(hits),
        timings_ms={"retrieve": (t1 - t0) * 1000, "compose": (t2 - t1) * 1000, "total": (t2 - t0) * 1000},
        resolved_question=resolved if resolved != question else None,
    )
