"""The default composer: an extractive, offline, deterministic cited answer.

From the evidence it scores every sentence against the question (embedding
similarity, plus the share of the question's terms it contains; or, when a
reranker scored them, the reranker's score), keeps the
best ones that do not repeat each other, orders them as they stand in the
documents, and makes each a `Claim`: a verbatim quote (a `Span` of its
passage) with its marker and whom it is attributed to. Markers are numbered
in order of first use; only quoted passages become citations. When the best
evidence is too weak, or the question names a year no passage mentions, it
abstains: nothing is cited, and the retrieved passages stay as related ones.

Pure functions over `Query` and `Evidence` records: this module imports
neither the index nor the pipeline, and writes no prose (`rag.render` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..config import ComposeConfig
from ..query import DOCUMENT_INTENTS
from ..records import (
    Answer,
    Attribution,
    Citation,
    Claim,
    Document,
    Evidence,
    Footnote,
    Hit,
    Paragraph,
    Query,
    Sentence,
    Span,
)
from ..text import terms


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, with what the selection needs."""

    evidence: Evidence
    sentence: Sentence
    position: int  # order of the sentence within its passage
    hit_rank: int
    score: float  # what selection ranks by
    vector: np.ndarray
    support: float = 0.0  # how well it answers, whatever its form: what abstention looks at
    dense: float = 0.0  # its similarity to the question alone

    @property
    def passage(self) -> Paragraph:
        return self.evidence.passage


# ---------------------------------------------------------------- pure steps


def term_coverage(question_terms: set[str], sentence: str, langs: tuple[str, ...] = ("en",)) -> float:
    """The share of the question's terms (stemmed in `langs`) that `sentence` holds."""
    if not question_terms:
        return 0.0
    return len(question_terms & set(terms(sentence, langs))) / len(question_terms)


def term_languages(query: Query, evidence: Evidence) -> tuple[str, ...]:
    """The languages a question and a passage share words in: the question's and the passage's own."""
    passage = evidence.passage.language or evidence.document.language or query.language
    return tuple(dict.fromkeys([query.language, passage]))


def candidates(query: Query, evidence: Sequence[Evidence], settings: ComposeConfig) -> list[Candidate]:
    """Every sentence of the evidence, scored against the question.

    The metadata card and biography answer "who/when/where" better than any
    body sentence, and nothing else; a sentence that is itself a question
    answers less well than a statement. When a reranker scored every sentence
    (`Hit.sentence_scores`), selection ranks by its scores, which read the
    question and the sentence together; abstention still looks at the embedding
    similarity, whose bar is calibrated (`ComposeConfig.abstain_below`)."""
    about_document = bool(query.intents & set(DOCUMENT_INTENTS))
    question_terms: dict[tuple[str, ...], set[str]] = {}
    reranked = any(e.sentences for e in evidence) and all(
        len(e.hit.sentence_scores) == len(e.sentences) for e in evidence)
    out: list[Candidate] = []
    for e in evidence:
        langs = term_languages(query, e)
        q_terms = question_terms.setdefault(langs, set(terms(query.resolved, langs)))
        sims = np.asarray(e.vectors) @ query.vector if len(e.sentences) else np.zeros(0)
        for pos, sentence in enumerate(e.sentences):
            support = float(sims[pos]) + settings.lexical_weight * term_coverage(q_terms, sentence.text, langs)
            score = e.hit.sentence_scores[pos] if reranked else support
            if e.passage.kind in ("meta", "bio"):
                adjust = settings.apparatus_bonus if about_document else -settings.apparatus_bonus
                support, score = support + adjust, score + adjust
            if sentence.text.rstrip(" »\"'").endswith("?") or e.passage.kind == "question":
                score -= settings.question_penalty
            out.append(Candidate(e, sentence, pos, e.hit.rank, score, e.vectors[pos], support, float(sims[pos])))
    return out


def select(pool: Sequence[Candidate], settings: ComposeConfig, query: Query | None = None) -> list[Candidate]:
    """Best sentences first, dropping near-duplicates and those far below the best.

    A further sentence must answer on its own (it would not be abstained on,
    `answers`): one that only shares words with the question, from a document
    the question does not concern, is not quoted beside the answer."""
    ranked = sorted(pool, key=lambda c: (-c.score, c.hit_rank, c.position))
    chosen: list[Candidate] = []
    for c in ranked:
        if len(chosen) >= settings.max_sentences:
            break
        if chosen and c.score < settings.relative_floor * chosen[0].score:
            break
        if chosen and query is not None and not answers(c, query, settings):
            continue
        if any(float(c.vector @ o.vector) > settings.redundancy
               or c.sentence.text in o.sentence.text or o.sentence.text in c.sentence.text for o in chosen):
            continue
        chosen.append(c)
    return chosen


def order_for_reading(chosen: Sequence[Candidate]) -> list[Candidate]:
    """The best passage first; within and after it, sentences as the documents order them."""
    first_rank: dict[str, int] = {}
    for c in chosen:
        first_rank.setdefault(c.passage.id, c.hit_rank)
    return sorted(chosen, key=lambda c: (first_rank[c.passage.id], c.position))


def prefer_first_hit(pool: Sequence[Candidate], settings: ComposeConfig) -> list[Candidate]:
    return [replace(c, score=c.score + settings.first_hit_bonus) if c.hit_rank == 1 else c for c in pool]


def abstention_bar(question_lang: str, passage_lang: str, settings: ComposeConfig) -> float:
    margin = settings.cross_language_margin if question_lang != passage_lang else 0.0
    return settings.abstain_below - margin


def answers(c: Candidate, query: Query, settings: ComposeConfig) -> bool:
    """Whether `c` answers `query` well enough to be quoted.

    With the question's background (its similarity to the corpus at large), the
    candidate must stand `abstain_standing` spreads above it: a bar that holds
    across corpora, languages and embedders. Without it (a bare index, a test),
    the absolute bar `abstain_below`."""
    if query.background is not None and settings.abstain_standing is not None:
        return standing(c, query) >= settings.abstain_standing
    return c.support >= abstention_bar(query.language, c.evidence.document.language, settings)


def standing(c: Candidate, query: Query) -> float:
    """How far the candidate's support stands above the question's similarity to the
    corpus at large, in spreads of that similarity (a z-score): comparable across
    corpora, languages and embedders, unlike the similarity itself."""
    mean, spread = query.background
    return (c.support - mean) / max(spread, 1e-6)


def called_footnotes(spans: Sequence[Span], passage: Paragraph, document: Document) -> tuple[Footnote, ...]:
    """The notes of `passage` called inside the quoted spans, in number order."""
    numbers = sorted({c.number for c in passage.calls for s in spans if s.start <= c.start and c.end <= s.end})
    return tuple(f for n in numbers if (f := document.footnote(n)) is not None)


def footnotes_for(spans: Sequence[Span], passage: Paragraph, document: Document) -> tuple[Footnote, ...]:
    """The notes the quoted spans call; failing that, those of their passage."""
    called = called_footnotes(spans, passage, document)
    if called:
        return called
    return tuple(f for n in passage.footnotes if (f := document.footnote(n)) is not None)


def attribution(passage: Paragraph, document: Document) -> Attribution | None:
    """Who says what `passage` holds, only where it is true: an interview turn's speaker,
    or the document's author for its body text; a biography, a lead or the metadata
    card is nobody's words, and a document without an author has none."""
    if passage.speaker and passage.kind in ("question", "answer"):
        return Attribution(passage.speaker, "speaker", asks=passage.kind == "question")
    if passage.kind == "text" and document.authors:
        return Attribution(", ".join(document.authors), "author")
    return None


def span_of(passage: Paragraph, sentence: Sentence) -> Span:
    return Span(passage.id, sentence.start, sentence.end, passage.text[sentence.start:sentence.end])


def claims_and_citations(chosen: Sequence[Candidate]) -> tuple[tuple[Claim, ...], tuple[Citation, ...]]:
    """One claim per quoted sentence, markers numbered by first use, one citation per passage."""
    markers: dict[str, int] = {}
    spans: dict[str, list[Span]] = {}
    claims = []
    for c in chosen:
        n = markers.setdefault(c.passage.id, len(markers) + 1)
        span = span_of(c.passage, c.sentence)
        spans.setdefault(c.passage.id, []).append(span)
        claims.append(Claim(text=span.text, spans=(span,), markers=(n,),
                            attribution=attribution(c.passage, c.evidence.document)))
    by_id = {c.passage.id: c.evidence for c in chosen}
    citations = []
    for pid, n in markers.items():
        e = by_id[pid]
        quoted = tuple(spans[pid])
        citations.append(Citation(marker=n, passage=e.passage, document=e.document,
                                  quote=" … ".join(s.text for s in quoted),
                                  footnotes=footnotes_for(quoted, e.passage, e.document), spans=quoted))
    return tuple(claims), tuple(citations)


# ---------------------------------------------------------------- the composer


def compose(query: Query, evidence: Sequence[Evidence], hits: Sequence[Hit],
            settings: ComposeConfig | None = None) -> Answer:
    """A cited answer to `query` from `evidence`, or an abstention listing `hits` as related."""
    settings = settings or ComposeConfig()
    pool = candidates(query, evidence, settings)
    best = max(pool, key=lambda c: c.support, default=None)
    chosen = select(prefer_first_hit(pool, settings), settings, query)
    unknown = settings.abstain_on_unknown_year and bool(query.unknown_years)
    resolved = query.resolved if query.resolved != query.text else None
    if not chosen or not answers(best, query, settings) or unknown:
        return Answer(question=query.text, status="abstained", language=query.language, hits=tuple(hits),
                      resolved_question=resolved)
    claims, citations = claims_and_citations(order_for_reading(chosen))
    return Answer(question=query.text, status="answered", language=query.language, claims=claims,
                  citations=citations, hits=tuple(hits), resolved_question=resolved,
                  show_notes="sources" in query.intents)


def small_talk_answer(query: Query) -> Answer:
    """The reply to a mere greeting or thanks: nothing retrieved, nothing cited."""
    return Answer(question=query.text, status="small_talk", language=query.language)
