"""Evaluation of renvoi against a question set: loading, gold passages, metrics.

What it does: reads the question file (`load_questions`) and the bars
(`load_thresholds`), maps each gold quote to the passages that contain it
(`resolve_gold`), runs the questions through a loaded pipeline once
(`collect`, the only function here that calls the pipeline or reads the
clock), and turns the collected records into metrics (`summarize`,
`question_checks`, `check_thresholds`) with pure functions.

Retrieval metrics (Hit@k, MRR@10, nDCG@10) are computed with ranx over the
answerable questions, for the dense, BM25 and hybrid retrievers, and, when the
pipeline has a reranker, for the hybrid candidates it reordered ("rerank"), so
that one run compares retrieval with and without it. Answer metrics follow the
usual definitions; each function's docstring says which questions it averages
over. Given an NLI judge, ALCE's citation recall and precision are scored too
(`alce_citation_scores`).

What it does not do: print, write files or draw charts (`rag.evalreport`),
parse flags (`rag.cli`), or build indexes.
"""

from __future__ import annotations

import json
import math
import re
import time
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .records import Answer, Document, Paragraph, Turn
from .text import check_language, fold

LANGS = ("fr", "en")
KINDS = ("fact", "number", "list", "who_when", "footnote", "cross_doc", "followup", "unanswerable")
SPLITS = ("tune", "heldout")
MODES = ("hybrid", "dense", "bm25")
# The hybrid candidates reordered by the pipeline's reranker, when it has one.
RERANKED = "rerank"
RETRIEVERS = (*MODES, RERANKED)
REPORT_SPLITS = ("all", "tune", "heldout")

# ranx metric names and the names used in reports and thresholds.
RANX_METRICS = {
    "hit_rate@1": "hit_at_1",
    "hit_rate@3": "hit_at_3",
    "hit_rate@5": "hit_at_5",
    "mrr@10": "mrr_at_10",
    "ndcg@10": "ndcg_at_10",
}
CURVE_MAX_K = 10
# A question passes retrieval when a gold passage is in the top 5: the answer is
# composed from the first few passages, so a gold passage further down rarely helps.
PASS_AT_K = 5
# Cosine similarity above which an answer sentence counts as supported by a
# cited passage when it is not a verbatim quote (see `sentence_support`).
SUPPORT_SIMILARITY = 0.85

ANSWER_METRICS = (
    "key_fact_coverage",
    "citation_precision",
    "citation_recall",
    "footnote_precision",
    "footnote_recall",
    "footnote_f1",
    "abstention_precision",
    "abstention_recall",
    "answerable_abstained",
    "support_verbatim",
    "support",
    "alce_citation_recall",
    "alce_citation_precision",
)
INGESTION_METRICS = ("gold_quotes_in_one_passage", "content_sentences_kept", "furniture_blocks_leaked")
LATENCY_METRICS = tuple(
    f"{what}_{p}_ms" for what in ("search", *(f"search_{m}" for m in RETRIEVERS), "ask") for p in ("p50", "p95")
)

_REQUIRED = {"id": str, "question": str, "lang": str, "kind": str, "split": str, "answerable": bool}
_OPTIONAL = ("gold", "key_facts", "footnotes", "followup_of", "gold_ids")


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class GoldQuote:
    """A verbatim piece of the paragraph that answers the question."""

    doc_id: str
    quote: str


@dataclass(frozen=True)
class EvalQuestion:
    """One line of the question file."""

    id: str
    question: str
    lang: str
    kind: str
    split: str
    answerable: bool
    gold: tuple[GoldQuote, ...] = ()
    key_facts: tuple[str, ...] = ()
    footnotes: tuple[int, ...] = ()
    followup_of: str | None = None
    gold_ids: tuple[str, ...] | None = None
    line: int = 0


@dataclass(frozen=True)
class DataError:
    """A problem of the question data found against the passages (reported, not fatal)."""

    question_id: str
    message: str
    severity: str = "error"  # "error" or "warning"


@dataclass(frozen=True)
class CitedPassage:
    """A citation of an answer, reduced to what the metrics need."""

    marker: int
    passage_id: str
    doc_id: str
    quote: str
    text: str
    footnotes: tuple[int, ...] = ()
    footnote_texts: tuple[str, ...] = ()  # each note's text and URL


@dataclass(frozen=True)
class ClaimRecord:
    """A claim of an answer: what it says, the markers it carries, whether it is a verbatim quote."""

    text: str
    markers: tuple[int, ...]
    quoted: bool = True


@dataclass(frozen=True)
class AnswerRecord:
    """An answer reduced to what the metrics and the report need."""

    text: str  # as the reader sees it (rendered, never parsed back)
    abstained: bool
    citations: tuple[CitedPassage, ...] = ()
    hit_ids: tuple[str, ...] = ()
    resolved_question: str | None = None
    claims: tuple[ClaimRecord, ...] = ()
    # Statements of a generated answer left without a citation (flagged as unsupported):
    # ALCE counts them as statements no citation supports.
    uncited: tuple[str, ...] = ()


@dataclass(frozen=True)
class SentenceSupport:
    """Whether one answer sentence carrying markers is backed by the passages it cites."""

    sentence: str
    markers: tuple[int, ...]
    verbatim: bool
    similarity: float | None  # best similarity to a cited passage; None when not computed
    supported: bool


@dataclass(frozen=True)
class CitationEntailment:
    """ALCE's citation scores of one answer, judged by an NLI model: `recall`, the share of
    its statements entailed by the passages they cite taken together; `precision`, the share
    of its citations that are needed (ALCE, Gao et al. 2023)."""

    recall: float
    precision: float
    statements: int
    citations: int


@dataclass(frozen=True)
class QuestionResult:
    """Everything one question produced in a run."""

    question: EvalQuestion
    gold: tuple[tuple[str, ...], ...]  # per gold document, the passage ids containing its quotes
    retrieved: dict[str, tuple[str, ...]] = field(default_factory=dict)  # mode -> ranked ids
    search_ms: dict[str, float] = field(default_factory=dict)
    retrieval_query: str = ""
    answer: AnswerRecord | None = None
    ask_ms: float | None = None
    support: tuple[SentenceSupport, ...] = ()
    errors: tuple[str, ...] = ()
    alce: CitationEntailment | None = None

    @property
    def gold_ids(self) -> frozenset[str]:
        return frozenset(i for group in self.gold for i in group)


@dataclass(frozen=True)
class Threshold:
    """A bar from thresholds.toml: `metric` (dotted) must be >= value, or <= when `upper`."""

    metric: str
    value: float
    upper: bool = False


@dataclass(frozen=True)
class Thresholds:
    split: str
    bars: tuple[Threshold, ...]


@dataclass(frozen=True)
class CheckResult:
    """A bar checked against a run: status is "pass", "fail" or "missing"."""

    threshold: Threshold
    value: float | None
    status: str

    def line(self) -> str:
        t = self.threshold
        op = "<=" if t.upper else ">="
        if self.value is None:
            return f"{t.metric}: not available (bar {op} {t.value:g})"
        return f"{t.metric} = {self.value:.3f}, bar {op} {t.value:g}"


# ---------------------------------------------------------------- normalisation

_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_NOTE_MARK = re.compile(r"\[\d{1,3}\]")
_CHARS = str.maketrans({
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u00ab": '"', "\u00bb": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2011": "-", "\u2212": "-",
    "*": " ", "\\": "",
})
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([;:!?.,])")
_SPACE_IN_QUOTES = re.compile(r'\s*"\s*')


def normalise(text: str) -> str:
    """Text reduced for containment tests: case, accents, typographic quotes and
    dashes, whitespace (French spaces before punctuation included), Markdown
    emphasis and links, and footnote markers `[n]` are all ignored."""
    text = _NOTE_MARK.sub(" ", _LINK.sub(r"\1", text))
    text = unicodedata.normalize("NFKC", text).translate(_CHARS)
    text = fold(text)
    text = " ".join(text.split())
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return _SPACE_IN_QUOTES.sub('"', text).strip()


def contains(haystack: str, needle: str) -> bool:
    """Whether `needle` occurs in `haystack` once both are normalised (an empty needle never does)."""
    n = normalise(needle)
    return bool(n) and n in normalise(haystack)


# ---------------------------------------------------------------- loading


def load_questions(path: Path) -> list[EvalQuestion]:
    """Questions of a JSON-lines file; a bad line raises ValueError naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"question file not found: {path}")
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"{where}: malformed JSON ({e.msg} at column {e.colno})") from None
        q = parse_question(obj, where, line=n)
        if q.id in seen:
            raise ValueError(f"{where}: duplicate id {q.id!r}")
        if q.followup_of is not None and q.followup_of not in seen:
            raise ValueError(f"{where}: followup_of {q.followup_of!r} is not the id of an earlier question")
        seen.add(q.id)
        questions.append(q)
    if not questions:
        raise ValueError(f"{path}: no question")
    return questions


def parse_question(obj: object, where: str = "question", line: int = 0) -> EvalQuestion:
    """One question object, checked field by field."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r}; allowed: {', '.join([*_REQUIRED, *_OPTIONAL])}")
    for name, typ in _REQUIRED.items():
        if name not in obj:
            raise ValueError(f"{where}: missing field {name!r}")
        if not isinstance(obj[name], typ) or (typ is str and not obj[name].strip()):
            raise ValueError(f"{where}: field {name!r} must be a non-empty {typ.__name__}, got {obj[name]!r}")
    try:
        check_language(obj["lang"])
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    for name, allowed in (("kind", KINDS), ("split", SPLITS)):
        if obj[name] not in allowed:
            raise ValueError(f"{where}: unknown {name} {obj[name]!r}; allowed: {', '.join(allowed)}")

    gold = []
    for g in _list(obj, "gold", where):
        if not isinstance(g, dict) or set(g) - {"doc_id", "quote"} or not all(
            isinstance(g.get(k), str) and g.get(k).strip() for k in ("doc_id", "quote")
        ):
            raise ValueError(f"{where}: each gold entry must be {{\"doc_id\": str, \"quote\": str}}, got {g!r}")
        gold.append(GoldQuote(g["doc_id"], g["quote"]))
    key_facts = _list(obj, "key_facts", where)
    if not all(isinstance(f, str) and f.strip() for f in key_facts):
        raise ValueError(f"{where}: key_facts must be non-empty strings, got {key_facts!r}")
    notes = _list(obj, "footnotes", where)
    if not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in notes):
        raise ValueError(f"{where}: footnotes must be positive integers, got {notes!r}")
    followup_of = obj.get("followup_of")
    if followup_of is not None and not (isinstance(followup_of, str) and followup_of.strip()):
        raise ValueError(f"{where}: followup_of must be a question id or null, got {followup_of!r}")
    gold_ids = obj.get("gold_ids")
    if gold_ids is not None:
        if not isinstance(gold_ids, list) or not all(isinstance(i, str) and i for i in gold_ids):
            raise ValueError(f"{where}: gold_ids must be a list of passage ids, got {gold_ids!r}")
        gold_ids = tuple(gold_ids)

    kind, answerable = obj["kind"], obj["answerable"]
    if kind == "unanswerable" and answerable:
        raise ValueError(f"{where}: kind 'unanswerable' needs answerable false")
    if kind == "followup" and followup_of is None:
        raise ValueError(f"{where}: kind 'followup' needs followup_of")
    if answerable and not gold and not gold_ids:
        raise ValueError(f"{where}: an answerable question needs at least one gold quote")
    if followup_of == obj["id"]:
        raise ValueError(f"{where}: a question cannot follow itself")
    return EvalQuestion(
        id=obj["id"], question=obj["question"].strip(), lang=obj["lang"], kind=kind, split=obj["split"],
        answerable=answerable, gold=tuple(gold), key_facts=tuple(key_facts), footnotes=tuple(notes),
        followup_of=followup_of, gold_ids=gold_ids, line=line,
    )


def _list(obj: dict, name: str, where: str) -> list:
    value = obj.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where}: field {name!r} must be a list, got {value!r}")
    return value


def load_thresholds(path: Path, corpus: str | None = None) -> Thresholds:
    """Bars of a thresholds TOML file; unknown sections or metrics raise ValueError.

    Layout: `[retrieval.<mode>]` with keys of `RANX_METRICS`' values, `[answers]`
    with keys of `ANSWER_METRICS`, `[ingestion]` with keys of `INGESTION_METRICS`,
    `[latency]` with keys of `LATENCY_METRICS`; a key ending in `_max` is an upper
    bound. A top-level `split` chooses the questions the bars apply to (default
    "all"). With `corpus`, the bars are those under the table of that name
    (`[seeds.retrieval.hybrid]`, `[seeds.answers]`…), with their own `split`.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"thresholds file not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: malformed TOML ({e})") from None
    if corpus is not None:
        data = data.get(corpus, {})
        if not isinstance(data, dict):
            raise ValueError(f"{path}: [{corpus}] must be a table")
    else:
        data = {k: v for k, v in data.items() if k in ("split", "retrieval", "answers", "ingestion", "latency")}
    split = data.pop("split", "all")
    if split not in REPORT_SPLITS:
        raise ValueError(f"{path}: unknown split {split!r}; allowed: {', '.join(REPORT_SPLITS)}")
    sections: dict[str, tuple[str, ...]] = {f"retrieval.{m}": tuple(RANX_METRICS.values()) for m in RETRIEVERS}
    sections["answers"] = ANSWER_METRICS
    sections["ingestion"] = INGESTION_METRICS
    sections["latency"] = LATENCY_METRICS
    tables: list[tuple[str, object]] = []
    for top, value in data.items():
        if top == "retrieval" and isinstance(value, dict):
            tables += [(f"retrieval.{mode}", v) for mode, v in value.items()]
        else:
            tables.append((top, value))
    bars: list[Threshold] = []
    for section, table in tables:
        if section not in sections or not isinstance(table, dict):
            raise ValueError(f"{path}: unknown section [{section}]; allowed: {', '.join(sections)}")
        for key, value in table.items():
            upper = key.endswith("_max")
            name = key.removesuffix("_max")
            if name not in sections[section]:
                raise ValueError(
                    f"{path}: unknown metric {key!r} in [{section}]; allowed: {', '.join(sections[section])} "
                    "(add _max for an upper bound)"
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{path}: [{section}] {key} must be a number, got {value!r}")
            bars.append(Threshold(f"{section}.{name}", float(value), upper))
    return Thresholds(split=split, bars=tuple(bars))


# ---------------------------------------------------------------- gold passages


def resolve_gold(
    questions: Sequence[EvalQuestion],
    passages: Sequence[Paragraph],
    documents: Mapping[str, Document] | None = None,
) -> tuple[dict[str, tuple[tuple[str, ...], ...]], list[DataError]]:
    """Gold passage ids of each question, one group per gold document (every
    passage of that document containing one of its quotes: quotes of one
    document are alternatives or complements, and a hit on any counts), and the
    data problems found: unknown documents, quotes found nowhere, quotes found
    in several passages (a warning), `gold_ids` that disagree with the quotes.

    A quote found in none of the passages but in one of the document's notes
    (given `documents`) is evidence for the answer's footnotes, not a passage:
    it is left out of the groups without an error."""
    by_doc: dict[str, list[tuple[str, str, str]]] = {}
    for p in passages:
        by_doc.setdefault(p.doc_id, []).append((p.id, normalise(p.text), normalise(p.speaker or "")))
    doc_of = {p.id: p.doc_id for p in passages}
    notes: dict[str, list[str]] = {
        d.id: [normalise(f"{f.text} {f.url or ''}") for f in d.footnotes] for d in (documents or {}).values()
    }
    gold: dict[str, tuple[tuple[str, ...], ...]] = {}
    errors: list[DataError] = []
    for q in questions:
        groups: dict[str, list[str]] = {}
        unresolved = 0
        for g in q.gold:
            if g.doc_id not in by_doc:
                errors.append(DataError(q.id, f"unknown doc_id {g.doc_id!r}; known: {', '.join(sorted(by_doc))}"))
                unresolved += 1
                continue
            needle = normalise(g.quote)
            found = [pid for pid, text, speaker in by_doc[g.doc_id] if _quote_in(needle, text, speaker)]
            if not found:
                if needle and any(needle in n for n in notes.get(g.doc_id, ())):
                    continue
                unresolved += 1
                if q.gold_ids is not None and any(doc_of.get(i) == g.doc_id for i in q.gold_ids):
                    # A byline or citation line lives on only as the generated metadata
                    # card: the ids given say where, which is what they are for.
                    errors.append(DataError(
                        q.id, f"quote not in any passage of {g.doc_id} (gold_ids used): {_short(g.quote)!r}",
                        "warning"))
                    continue
                hint = ""
                if any(pid == f"{g.doc_id}:meta" for pid, _, _ in by_doc[g.doc_id]):
                    # Bylines and citation lines live on as the generated metadata card.
                    hint = f" (metadata? give gold_ids, e.g. {g.doc_id}:meta)"
                errors.append(DataError(
                    q.id, f"quote not found in any passage of {g.doc_id}: {_short(g.quote)!r}{hint}"))
                continue
            if len(found) > 1:
                errors.append(DataError(
                    q.id, f"quote found in {len(found)} passages ({', '.join(found)}); any counts: {_short(g.quote)!r}",
                    "warning",
                ))
            group = groups.setdefault(g.doc_id, [])
            group += [pid for pid in found if pid not in group]
        if q.gold_ids is not None:
            missing = [i for i in q.gold_ids if i not in doc_of]
            derived = {i for grp in groups.values() for i in grp}
            if missing:
                errors.append(DataError(q.id, f"gold_ids not among the passages: {', '.join(missing)}"))
            elif unresolved or not q.gold:
                # The quotes could not say; the ids given are the best evidence left.
                groups = {}
                for i in q.gold_ids:
                    groups.setdefault(doc_of[i], []).append(i)
            elif set(q.gold_ids) != derived:
                errors.append(DataError(
                    q.id, f"gold_ids {', '.join(q.gold_ids)} disagree with the quotes' passages "
                    f"{', '.join(sorted(derived))} (the quotes' are used)",
                ))
        if q.answerable and not groups and not unresolved:
            errors.append(DataError(q.id, "no gold quote is in a passage (notes only): retrieval is not scored",
                                    "warning"))
        gold[q.id] = tuple(tuple(grp) for grp in groups.values())
    return gold, errors


def _quote_in(needle: str, text: str, speaker: str) -> bool:
    """Whether a normalised quote is in a normalised passage text; a quote that
    opens with the speaker's name and a colon, as interviews print their turns,
    also matches the turn's text (passages keep the speaker apart)."""
    if not needle:
        return False
    if needle in text:
        return True
    head, colon, rest = needle.partition(":")
    return bool(speaker and colon and speaker in head and len(head) <= len(speaker) + 20
                and rest.strip() and rest.strip() in text)


def _short(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# ---------------------------------------------------------------- running the pipeline


def answer_record(answer: Answer, documents: Mapping[str, Document]) -> AnswerRecord:
    """The parts of an `Answer` the evaluation keeps."""
    from .render.text import answer_text

    return AnswerRecord(
        text=answer_text(answer, documents),
        abstained=bool(answer.abstained),
        citations=tuple(
            CitedPassage(
                marker=c.marker, passage_id=c.passage.id, doc_id=c.passage.doc_id, quote=c.quote,
                text=c.passage.text, footnotes=tuple(f.number for f in c.footnotes),
                footnote_texts=tuple(" ".join(filter(None, (f.text, f.url))) for f in c.footnotes),
            )
            for c in answer.citations
        ),
        hit_ids=_unique(h.passage.id for h in sorted(answer.hits, key=lambda h: h.rank)),
        resolved_question=getattr(answer, "resolved_question", None),
        claims=tuple(ClaimRecord(c.text, tuple(dict.fromkeys(c.markers)), c.quoted) for c in answer.claims
                     if c.markers),
        uncited=tuple(c.text for c in answer.claims if not c.markers and c.support != "caveat"),
    )


def _ask(renvoi, question: str, history: tuple[Turn, ...], clock: Callable[[], float]):
    """(answer, milliseconds, error, unavailable): one timed `ask`; an
    ImportError or NotImplementedError means no question can be answered."""
    t0 = clock()
    try:
        result = renvoi.ask(question, history=history)
    except (ImportError, NotImplementedError) as e:
        return None, None, None, f"{type(e).__name__}: {e}"
    except Exception as e:  # one failing question must not stop the run
        return None, None, f"ask: {type(e).__name__}: {e}", None
    return answer_record(result, renvoi.documents), (clock() - t0) * 1000.0, None, None


def _unique(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))


def collect(
    renvoi,
    questions: Sequence[EvalQuestion],
    gold: Mapping[str, tuple[tuple[str, ...], ...]],
    k: int = 10,
    *,
    similarity: Callable[[str, str], float] | None = None,
    entailed: Callable[[str, str], bool] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    on_question: Callable[[int, EvalQuestion], None] | None = None,
) -> tuple[list[QuestionResult], str | None]:
    """Run every question through the loaded pipeline `renvoi` (an object with
    `search(question, k, mode)` and, optionally, `ask(question, history)` and a
    `reranker`).

    Each question is asked once with the pipeline's own depth, then searched
    with the three modes at depth `k` (without the reranker), and, when the
    pipeline has a reranker, once more with it ("rerank"); every call embeds its
    own question, so the latencies are those a user sees. Given `entailed`
    (premise, hypothesis → whether an NLI model says the one entails the other),
    each answer's ALCE citation scores are judged. A follow-up is asked with
    the conversation so far as history; its retrieval is measured on the
    question the pipeline resolved it to (searched in each mode) or, when the
    pipeline does not say, on the answer's own retrieved list for hybrid and
    the raw question for the others. An exception on one question is recorded
    on that question. Returns the results in file order and, when answers could
    not be produced at all, the reason (answer metrics are then not available).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    can_ask = callable(getattr(renvoi, "ask", None))
    reranking = getattr(renvoi, "reranker", None) is not None
    # the retriever whose list the answers were composed from
    answering = RERANKED if reranking else "hybrid"
    no_answers = None if can_ask else "the pipeline has no ask()"
    by_id: dict[str, QuestionResult] = {}
    histories: dict[str, tuple[Turn, ...]] = {}
    results: list[QuestionResult] = []
    for i, q in enumerate(questions):
        if on_question is not None:
            on_question(i, q)
        errors: list[str] = []
        answer: AnswerRecord | None = None
        ask_ms: float | None = None
        history: tuple[Turn, ...] = ()
        if q.followup_of is not None:
            prev = by_id[q.followup_of]
            # The turn as the chat page keeps it: its answer, the question it was
            # resolved to (a follow-up of a follow-up builds on it) and what it cited.
            a = prev.answer
            turn = Turn(prev.question.question, a.text if a else "", a.resolved_question if a else None,
                        tuple(c.passage_id for c in a.citations) if a else ())
            history = (*histories.get(q.followup_of, ()), turn)
        histories[q.id] = history

        # Asked first, so ask is timed as a user meets it (with the question's
        # embedding) and a follow-up's answer can name the resolved question.
        if no_answers is None:
            answer, ask_ms, error, no_answers = _ask(renvoi, q.question, history, clock)
            errors.extend([error] if error else [])
        query = q.question
        if q.followup_of is not None and answer is not None and answer.resolved_question:
            query = answer.resolved_question
        retrieved: dict[str, tuple[str, ...]] = {}
        search_ms: dict[str, float] = {}
        for mode in (RETRIEVERS if reranking else MODES):
            if (q.followup_of is not None and mode == answering and query == q.question
                    and answer is not None):
                retrieved[mode] = answer.hit_ids
                continue
            t0 = clock()
            try:
                if not reranking:
                    hits = renvoi.search(query, k=k, mode=mode)
                elif mode == RERANKED:
                    hits = renvoi.search(query, k=k, mode="hybrid", rerank=True)
                else:
                    hits = renvoi.search(query, k=k, mode=mode, rerank=False)
            except Exception as e:  # recorded; the question then scores 0 for this mode
                errors.append(f"search ({mode}): {type(e).__name__}: {e}")
                retrieved[mode] = ()
                continue
            search_ms[mode] = (clock() - t0) * 1000.0
            retrieved[mode] = _unique(h.passage.id for h in sorted(hits, key=lambda h: h.rank))[:k]
        support: tuple[SentenceSupport, ...] = ()
        if answer is not None and not answer.abstained:
            try:
                support = tuple(sentence_support(answer, similarity))
            except Exception as e:  # the similarity model failing must not lose the run
                errors.append(f"support: {type(e).__name__}: {e}")
        alce = None
        if answer is not None and not answer.abstained and entailed is not None:
            try:
                alce = alce_citation_scores(answer, entailed)
            except Exception as e:  # the NLI model failing must not lose the run
                errors.append(f"citation entailment: {type(e).__name__}: {e}")
        result = QuestionResult(
            question=q, gold=tuple(gold.get(q.id, ())), retrieved=retrieved, search_ms=search_ms,
            retrieval_query=query, answer=answer, ask_ms=ask_ms, support=support, errors=tuple(errors),
            alce=alce,
        )
        by_id[q.id] = result
        results.append(result)
    return results, no_answers


def embedding_similarity(embedder) -> Callable[[str, str], float]:
    """Cosine similarity of two texts under `embedder` (with `embed_passages`);
    embeddings are cached by text, since cited passages repeat across answers."""
    import numpy as np

    cache: dict[str, np.ndarray] = {}

    def vec(text: str) -> np.ndarray:
        if text not in cache:
            v = np.asarray(embedder.embed_passages([text])[0], dtype=np.float64)
            n = np.linalg.norm(v)
            cache[text] = v / n if n else v
        return cache[text]

    def similarity(a: str, b: str) -> float:
        return float(vec(a) @ vec(b))

    return similarity


# ---------------------------------------------------------------- per-question metrics


def first_gold_rank(retrieved: Sequence[str], gold_ids: Iterable[str]) -> int | None:
    """1-based rank of the first gold passage in `retrieved`, None when absent."""
    gold = set(gold_ids)
    return next((r for r, pid in enumerate(retrieved, start=1) if pid in gold), None)


def key_fact_coverage(answer: AnswerRecord, key_facts: Sequence[str]) -> float | None:
    """Fraction of key facts found (normalised) in the answer text, its citations'
    quotes or their footnotes; 0 for an abstention; None when there is no key fact."""
    if not key_facts:
        return None
    # An abstention may list the closest passages, but it asserts nothing.
    if answer.abstained:
        return 0.0
    return len(key_facts_found(answer, key_facts)) / len(key_facts)


def key_facts_found(answer: AnswerRecord, key_facts: Sequence[str]) -> list[str]:
    """The key facts found (normalised) in the answer text, its citations' quotes or their footnotes."""
    shown = [answer.text, *(c.quote for c in answer.citations), *(t for c in answer.citations for t in c.footnote_texts)]
    haystack = normalise(" \n ".join(shown))
    return [f for f in key_facts if (n := normalise(f)) and n in haystack]


def citation_precision(cited_ids: Sequence[str], gold: Sequence[Sequence[str]]) -> float:
    """Fraction of the distinct cited passages that are gold; 0 when nothing is cited
    (an answer to an answerable question must cite)."""
    cited = set(cited_ids)
    if not cited:
        return 0.0
    gold_ids = {i for grp in gold for i in grp}
    return len(cited & gold_ids) / len(cited)


def citation_recall(cited_ids: Sequence[str], gold: Sequence[Sequence[str]]) -> float | None:
    """Fraction of gold groups (one per gold document) with one of their passages
    cited; None without gold."""
    if not gold:
        return None
    cited = set(cited_ids)
    return sum(1 for grp in gold if cited & set(grp)) / len(gold)


def footnote_scores(cited: Iterable[int], expected: Iterable[int]) -> tuple[float, float, float] | None:
    """Precision, recall and F1 of the cited footnote numbers against the expected
    ones; None when no footnote is expected (the question does not test them)."""
    expected_set, cited_set = set(expected), set(cited)
    if not expected_set:
        return None
    tp = len(cited_set & expected_set)
    p = tp / len(cited_set) if cited_set else 0.0
    r = tp / len(expected_set)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f1


_QUOTED = re.compile(r'[«“"]\s*([^«»“”"]{12,}?)\s*[»”"]')


def _claim_readings(claim: ClaimRecord) -> list[list[str]]:
    """What must be found verbatim for a claim to be a quotation: a quoted claim
    itself; for a generated sentence, each way it can quote, as a list of spans
    that must all be found: its outermost quotation (quotes may nest), each inner
    quotation, or the whole sentence."""
    if claim.quoted:
        return [[claim.text]]
    claim = claim.text
    readings = []
    for opening, closing in (("«", "»"), ("“", "”"), ('"', '"')):
        i, j = claim.find(opening), claim.rfind(closing)
        if i != -1 and j - i > 12:
            readings.append([claim[i + 1 : j]])
    if inner := _QUOTED.findall(claim):
        readings.append(inner)
    readings.append([claim.rstrip(" .!?;:…")])
    return readings


def sentence_support(
    answer: AnswerRecord,
    similarity: Callable[[str, str], float] | None = None,
    threshold: float = SUPPORT_SIMILARITY,
) -> list[SentenceSupport]:
    """ALCE-style support of each answer sentence carrying markers by what its
    markers cite (the passages and their notes). Supported when the sentence's
    quotation (or, without quotation marks, the whole sentence) occurs verbatim
    (normalised) in a cited passage or note; otherwise, given `similarity`, when
    its best similarity to a cited passage or quote reaches `threshold` — an
    approximation of entailment, not a judgement of it. A marker with no
    citation supports nothing."""
    by_marker: dict[int, list[CitedPassage]] = {}
    for c in answer.citations:
        by_marker.setdefault(c.marker, []).append(c)
    out = []
    for record in answer.claims:
        claim, markers = record.text, record.markers
        cited = [c for m in markers for c in by_marker.get(m, ())]
        sources = [normalise(t) for c in cited for t in (c.text, *c.footnote_texts)]
        verbatim = any(
            all((n := normalise(span)) and any(n in src for src in sources) for span in reading)
            for reading in _claim_readings(record)
        )
        sim = None
        if not verbatim and cited and similarity is not None:
            sim = max(max(similarity(claim, c.text), similarity(claim, c.quote) if c.quote else -1.0) for c in cited)
        supported = verbatim or (sim is not None and sim >= threshold)
        out.append(SentenceSupport(claim, markers, verbatim, sim, supported))
    return out


def _premise(cited: Sequence[CitedPassage]) -> str:
    """What the NLI model reads of cited passages: their texts and notes, one passage a paragraph."""
    return "\n".join("\n".join((c.text, *c.footnote_texts)) for c in cited)


def alce_citation_scores(answer: AnswerRecord, entailed: Callable[[str, str], bool]) -> CitationEntailment | None:
    """ALCE's citation recall and precision of one answer (Gao et al. 2023, "Enabling Large
    Language Models to Generate Text with Citations"), with `entailed(premise, hypothesis)`
    as the NLI judge; None for an answer with no statement.

    A statement's citations are its markers' passages (with their notes). Recall: the share
    of statements entailed by all their cited passages together (an uncited statement
    counts as not entailed). Precision: of all citations, those needed; a citation of an
    entailed statement with several citations is not needed when it does not entail the
    statement alone and the others still do without it; a statement not entailed makes
    its citations count as none, and an entailed one with a single citation as one."""
    by_marker: dict[int, list[CitedPassage]] = {}
    for c in answer.citations:
        by_marker.setdefault(c.marker, []).append(c)
    statements = len(answer.claims) + len(answer.uncited)
    if not statements:
        return None
    cache: dict[tuple[str, str], bool] = {}

    def judge(cited: Sequence[CitedPassage], claim: str) -> bool:
        key = (_premise(cited), claim)
        if key not in cache:
            cache[key] = bool(entailed(*key))
        return cache[key]

    supported = needed = total = 0
    for claim in answer.claims:
        refs = [m for m in claim.markers if m in by_marker]
        total += len(claim.markers)
        if not refs:
            continue
        joint = judge([c for m in refs for c in by_marker[m]], claim.text)
        supported += joint
        if joint and len(claim.markers) > 1:
            for m in refs:
                alone = judge(by_marker[m], claim.text)
                others = [c for n in refs if n != m for c in by_marker[n]]
                needed += alone or not (others and judge(others, claim.text))
        else:
            needed += joint
    return CitationEntailment(recall=supported / statements, precision=needed / total if total else 0.0,
                              statements=statements, citations=total)


def question_checks(result: QuestionResult, pass_at: int = PASS_AT_K) -> dict[str, bool | None]:
    """Pass/fail of one question per metric (None: the metric does not apply)."""
    q, a = result.question, result.answer
    checks: dict[str, bool | None] = {}
    for mode in (RETRIEVERS if RERANKED in result.retrieved else MODES):
        if q.answerable and result.gold:
            rank = first_gold_rank(result.retrieved.get(mode, ()), result.gold_ids)
            checks[f"retrieval_{mode}"] = rank is not None and rank <= pass_at
        else:
            checks[f"retrieval_{mode}"] = None
    for name in ("abstention", "key_facts", "citation_precision", "citation_recall", "footnotes", "support"):
        checks[name] = None
    if a is not None:
        checks["abstention"] = a.abstained != q.answerable
        answered = q.answerable and not a.abstained
        cov = key_fact_coverage(a, q.key_facts) if q.answerable else None
        checks["key_facts"] = None if cov is None else cov == 1.0
        if answered and result.gold:
            cited = [c.passage_id for c in a.citations]
            checks["citation_precision"] = citation_precision(cited, result.gold) == 1.0
            checks["citation_recall"] = citation_recall(cited, result.gold) == 1.0
        if answered:
            fs = footnote_scores([n for c in a.citations for n in c.footnotes], q.footnotes)
            checks["footnotes"] = None if fs is None else fs[1] == 1.0
            checks["support"] = all(s.supported for s in result.support) if result.support else None
    checks["no_error"] = not result.errors
    return checks


# Diagnostic checks: reported per question but not what makes a question fail,
# since only the hybrid retriever (reranked, when there is a reranker) feeds the answers.
DIAGNOSTIC_CHECKS = ("retrieval_dense", "retrieval_bm25")


def failed_checks(checks: Mapping[str, bool | None]) -> list[str]:
    """Names of the checks a question fails (diagnostics excluded; with a reranker, the
    hybrid list before it is one)."""
    diagnostic = DIAGNOSTIC_CHECKS + (("retrieval_hybrid",) if f"retrieval_{RERANKED}" in checks else ())
    return [n for n, ok in checks.items() if ok is False and n not in diagnostic]


# ---------------------------------------------------------------- aggregates


def retrieval_scores(
    results: Sequence[QuestionResult], mode: str, max_k: int = CURVE_MAX_K
) -> tuple[dict[str, float | None], list[float]]:
    """Mean Hit@1/3/5, MRR@10 and nDCG@10 of `mode` (ranx), and Hit@k for
    k = 1..max_k, over the answerable questions with gold passages. Rankings are
    passed to ranx as strictly decreasing scores, so ties cannot reorder them; a
    question with nothing retrieved scores 0. Metrics are None with no question."""
    if mode not in RETRIEVERS:
        raise ValueError(f"unknown mode {mode!r}; allowed: {', '.join(RETRIEVERS)}")
    scored = [r for r in results if r.question.answerable and r.gold]
    if not scored:
        return {name: None for name in RANX_METRICS.values()}, []
    from ranx import Qrels, Run, evaluate

    qrels = Qrels({r.question.id: {pid: 1 for pid in r.gold_ids} for r in scored})
    run_dict = {}
    for r in scored:
        ids = r.retrieved.get(mode, ())
        # ranx needs a non-empty ranking per query; this id is never gold.
        run_dict[r.question.id] = {pid: float(len(ids) - i) for i, pid in enumerate(ids)} or {"\x00none": 0.0}
    run = Run(run_dict, name=mode)
    curve_names = [f"hit_rate@{k}" for k in range(1, max_k + 1)]
    names = list(dict.fromkeys([*RANX_METRICS, *curve_names]))
    import warnings

    with warnings.catch_warnings():
        # ranx's numba kernels warn about an integer cast that cannot matter at these sizes.
        warnings.simplefilter("ignore")
        means = evaluate(qrels, run, names)
    return (
        {alias: float(means[name]) for name, alias in RANX_METRICS.items()},
        [float(means[n]) for n in curve_names],
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (linear interpolation) of `values`, None when empty."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _mean(values: Iterable[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def answer_metrics(results: Sequence[QuestionResult]) -> dict[str, float | None]:
    """Answer metrics over the questions that have an answer.

    - key_fact_coverage: mean over answerable questions with key facts
      (an abstention covers nothing);
    - citation_precision / citation_recall: mean over answerable questions
      answered (not abstained) with gold passages;
    - footnote_precision / recall / f1: mean per-question values over answered
      questions that expect footnotes (F1 is the mean of per-question F1s);
    - abstention_precision / recall: positive class = abstained, relevant =
      unanswerable; precision is None when nothing abstained, recall None with
      no unanswerable question;
    - answerable_abstained: share of answerable questions that abstained;
    - support / support_verbatim: share of cited answer sentences supported
      (verbatim or by similarity) / supported verbatim, over all such sentences;
    - alce_citation_recall / precision: mean per answer of ALCE's scores
      (`alce_citation_scores`), over the answers (not abstentions) an NLI model
      judged; None without one.
    """
    with_answer = [r for r in results if r.answer is not None]
    out: dict[str, float | None] = {name: None for name in ANSWER_METRICS}
    if not with_answer:
        return out
    answerable = [r for r in with_answer if r.question.answerable]
    answered = [r for r in answerable if not r.answer.abstained]
    out["key_fact_coverage"] = _mean(key_fact_coverage(r.answer, r.question.key_facts) for r in answerable)
    cite = [r for r in answered if r.gold]
    out["citation_precision"] = _mean(citation_precision([c.passage_id for c in r.answer.citations], r.gold) for r in cite)
    out["citation_recall"] = _mean(citation_recall([c.passage_id for c in r.answer.citations], r.gold) for r in cite)
    notes = [
        fs for r in answered
        if (fs := footnote_scores([n for c in r.answer.citations for n in c.footnotes], r.question.footnotes))
    ]
    for i, name in enumerate(("footnote_precision", "footnote_recall", "footnote_f1")):
        out[name] = _mean(fs[i] for fs in notes)
    abstained = [r for r in with_answer if r.answer.abstained]
    unanswerable = [r for r in with_answer if not r.question.answerable]
    tp = sum(1 for r in abstained if not r.question.answerable)
    out["abstention_precision"] = tp / len(abstained) if abstained else None
    out["abstention_recall"] = tp / len(unanswerable) if unanswerable else None
    out["answerable_abstained"] = (
        sum(1 for r in answerable if r.answer.abstained) / len(answerable) if answerable else None
    )
    sentences = [s for r in answered for s in r.support]
    if sentences:
        out["support"] = sum(s.supported for s in sentences) / len(sentences)
        out["support_verbatim"] = sum(s.verbatim for s in sentences) / len(sentences)
    judged = [r.alce for r in with_answer if r.alce is not None]
    out["alce_citation_recall"] = _mean(a.recall for a in judged)
    out["alce_citation_precision"] = _mean(a.precision for a in judged)
    return out


def latency_metrics(results: Sequence[QuestionResult]) -> dict[str, float | None]:
    """p50 and p95 wall-clock milliseconds of search (all modes, and per mode) and ask."""
    out: dict[str, float | None] = {}
    series = {"search": [v for r in results for v in r.search_ms.values()]}
    for mode in RETRIEVERS:
        series[f"search_{mode}"] = [r.search_ms[mode] for r in results if mode in r.search_ms]
    series["ask"] = [r.ask_ms for r in results if r.ask_ms is not None]
    for name, values in series.items():
        out[f"{name}_p50_ms"] = percentile(values, 50)
        out[f"{name}_p95_ms"] = percentile(values, 95)
    return out


def retrievers(results: Sequence[QuestionResult]) -> tuple[str, ...]:
    """The retrievers the results measured: the three modes, and "rerank" with a reranker."""
    return RETRIEVERS if any(RERANKED in r.retrieved for r in results) else MODES


def split_results(results: Sequence[QuestionResult], split: str) -> list[QuestionResult]:
    if split not in REPORT_SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(REPORT_SPLITS)}")
    return list(results) if split == "all" else [r for r in results if r.question.split == split]


def summarize(results: Sequence[QuestionResult]) -> dict:
    """All metrics of one set of results:
    {"counts", "retrieval": {mode: {...}}, "hit_curve": {mode: [...]}, "answers", "latency"};
    the retrievers are the three modes, and "rerank" when a result has its list."""
    retrieval, curves = {}, {}
    for mode in retrievers(results):
        retrieval[mode], curves[mode] = retrieval_scores(results, mode)
    return {
        "counts": {
            "questions": len(results),
            "answerable": sum(r.question.answerable for r in results),
            "scored_retrieval": sum(1 for r in results if r.question.answerable and r.gold),
            "answered": sum(1 for r in results if r.answer is not None),
            "errors": sum(1 for r in results if r.errors),
        },
        "retrieval": retrieval,
        "hit_curve": curves,
        "answers": answer_metrics(results),
        "latency": latency_metrics(results),
    }


def flatten(summary: Mapping) -> dict[str, float | None]:
    """Dotted metric names of a summary, as thresholds name them."""
    flat: dict[str, float | None] = {}
    for mode, metrics in summary["retrieval"].items():
        flat.update({f"retrieval.{mode}.{k}": v for k, v in metrics.items()})
    flat.update({f"answers.{k}": v for k, v in summary["answers"].items()})
    flat.update({f"ingestion.{k}": v for k, v in summary.get("ingestion", {}).items()})
    flat.update({f"latency.{k}": v for k, v in summary["latency"].items()})
    return flat


def check_thresholds(summary: Mapping, thresholds: Thresholds) -> list[CheckResult]:
    """Each bar against the summary of the thresholds' split; a metric that is
    not available is "missing", not a failure."""
    flat = flatten(summary)
    out = []
    for t in thresholds.bars:
        value = flat.get(t.metric)
        if value is None:
            status = "missing"
        elif t.upper:
            status = "pass" if value <= t.value else "fail"
        else:
            status = "pass" if value >= t.value else "fail"
        out.append(CheckResult(t, value, status))
    return out


@dataclass(frozen=True)
class EvalOutcome:
    """A finished run: results, metrics per split, bars checked, data problems, run facts."""

    results: list[QuestionResult]
    summaries: dict[str, dict]  # "all" / "tune" / "heldout" -> summarize()
    checks: list[CheckResult]
    data_errors: list[DataError]
    info: dict  # questions file, model, k, date, duration, notes for the report

    @property
    def failing(self) -> list[QuestionResult]:
        return [r for r in self.results if failed_checks(question_checks(r))]

    @property
    def below_bar(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "fail"]


def outcome(
    results: Sequence[QuestionResult],
    data_errors: Sequence[DataError] = (),
    thresholds: Thresholds | None = None,
    info: Mapping | None = None,
    ingestion: Mapping[str, float | None] | None = None,
) -> EvalOutcome:
    """Metrics of every split and the bars checked, in one object for the report;
    `ingestion` (what of the corpus survives ingestion) is the corpus's, in every split."""
    summaries = {split: summarize(split_results(results, split)) for split in REPORT_SPLITS}
    if ingestion is not None:
        for summary in summaries.values():
            summary["ingestion"] = dict(ingestion)
    checks = check_thresholds(summaries[thresholds.split], thresholds) if thresholds else []
    return EvalOutcome(list(results), summaries, checks, list(data_errors), dict(info or {}))
