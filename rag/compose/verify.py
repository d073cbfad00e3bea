"""Checking a generated answer against the passages it cites.

A language model writes prose with markers `[n]` naming the numbered passages
of its prompt. Nothing it writes is trusted as is: this module removes markers
that name no passage, scores every sentence against the passages it cites
(embedding similarity to the passage's sentences, the share of its content
words the passage contains, the numbers it states; or, when an entailment
model is given, its judgement, which also names a contradiction), drops (or
flags) the sentences no cited passage supports,
and renumbers the surviving markers in order of first use. It also tells an
answer that says the passages do not answer (an abstention) from one that
cites nothing at all (to be replaced by the extractive answer).

Sentences of a passage that read as instructions to a model ("ignore the
previous instructions…") never count as support: a document cannot vouch for
text it ordered the model to write.

Pure functions over plain data (strings, vectors, `Evidence` records); the
caller supplies the embeddings. This module does not retrieve, embed, prompt
or build `Answer`s (`rag.compose.generative` does).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..config import VerifyConfig
from ..records import Claim, Entailment, Evidence, Query, Sentence, Span
from ..text import check_language, fold, split_sentences, terms

# "[1]", "[1, 2]", "[1-3]", "[passage 2]": what models write for a citation.
_CITATION = re.compile(r"\[\s*(?:passages?\s*)?(\d+(?:\s*(?:[,;]|[-–])\s*\d+)*)\s*\]", re.IGNORECASE)
_MARKER = re.compile(r"\[(\d+)\]")
_MARKERS_RUN = re.compile(r"(?:\s*\[\d+\])+")
_LEADING_MARKERS = re.compile(r"^((?:\[\d+\]\s*)+)")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")

# Text addressed to a model rather than to readers (on folded text). Two ways: an
# order to drop its rules; or a sentence that addresses a machine reader (an AI, a
# summariser, a language model, in the languages renvoi speaks), however it words
# what it wants from it.
_OVERRIDE = re.compile(
    r"\b(ignore[sz]?|disregard|forget|oublie[sz]?|ne tenez pas compte|ignorier\w*|vergiss\w*|ignora\w*|olvida\w*"
    r"|dimentica\w*|esquece\w*)\b.{0,60}"
    r"\b(instructions?|rules?|prompts?|consignes?|regles|directives?|anweisungen|regeln|instrucciones|reglas"
    r"|istruzioni|regole|instrucoes|regras)\b"
    r"|\b(system prompt|prompt systeme|you are now|from now on,? you|tu es (maintenant|desormais)"
    r"|vous etes (maintenant|desormais)|as an ai|en tant qu.?(ia|intelligence artificielle))\b"
)
_MACHINE = (r"(ai|a\.i\.|ia|ki|llms?|gpts?|chatbots?|bots?|ai assistants?|assistants? (d.?)?(ia|ai|virtuels?)"
            r"|asistentes? (de )?ia|assistenti (di )?ia|ki-assistent\w*"
            r"|(large )?language models?|modeles? de (langue|langage)|sprachmodell\w*|ki-\w+|modelos? de lenguaje"
            r"|modell[io] linguistic[io]|summari[sz]ers?|resumeurs?|zusammenfasser\w*|resumidor\w*|riassuntor\w*)")
# A machine reader named as the one addressed: "note to AI summarizers", "if you are an
# AI", "language models reading this page must…", "the only correct summary is…".
_ADDRESSED = re.compile(
    r"\b(note (for|to)|notice (for|to)|message (for|to)|attention|for|to|pour les|pour|an die|fur|para los|para|per gli"
    r"|per) (all |any |the |les |tous les |die |alle |los |todos los |gli |tutti gli |i )?" + _MACHINE
    + r"\s*(:|\b(reading|summari[sz]ing|processing|that|who|which|lisant|qui|die|der|que|che)\b)"
    r"|\b(assistants?|models?|bots?) (that|which|who) (summari[sz]e|read|process)s? this\b"
    r"|\b(if|when) you are (an? )?" + _MACHINE + r"\b|\bsi (vous etes|tu es) (une? )?" + _MACHINE + r"\b"
    r"|\bwenn (du|sie) (ein|eine)? ?" + _MACHINE + r"\b|\bsi (eres|es usted) (una? )?" + _MACHINE + r"\b"
    r"|\bse (sei|e) (una? )?" + _MACHINE + r"\b"
    r"|\b(any|every|all|tout|toute|tous|jede\w*|cualquier|ogni|qualquer) " + _MACHINE
    + r"\b.{0,40}\b(reading|summari[sz]ing|processing|lisant|qui lit|resumant|liest|lee|legge|le)\b"
    r"|\b" + _MACHINE + r"\b.{0,30}\b(reading|summari[sz]ing|processing) (this|these)\b"
    r"|\b(when|while) (summari[sz]ing|reading|processing) this (page|document|text|article)\b"
    r"|\b(the )?only (correct|valid|true|acceptable) (summary|answer|response|reply)\b"
    r"|\b(le |la )?seule? (bonne |vraie )?(reponse|resume|synthese) (correcte|valable|acceptable|possible)\b"
)


def looks_like_instruction(sentence: str) -> bool:
    """Whether a sentence addresses a model (a prompt injection) rather than readers:
    an order to drop its rules, or a directive to an AI, assistant or summariser."""
    folded = fold(sentence)
    return bool(_OVERRIDE.search(folded) or _ADDRESSED.search(folded))


# A sentence saying the passages do not answer, or do not tell something (on
# folded text): a negation with the passages, articles or documents as subject.
_SOURCES = r"(passages?|articles?|documents?|textes?|extraits?|sources?)"
_ABSTAIN = re.compile(
    r"\b" + _SOURCES + r"\b.{0,40}\b("
    r"ne (me |nous )?(permet(tent)?|repond(ent)?|contien(nen)?t|disen?t|mentionnen?t|precisen?t|indiquen?t"
    r"|traite(nt)?|abordent?|evoquen?t|donnen?t|fournissen?t) (pas|rien|aucune?)"
    r"|n.?(evoquen?t|indiquen?t|abordent?) (pas|rien|aucune?)"
    r"|(do|does|did) not|(don|doesn|didn)'?t|cannot|can'?t|(make|makes) no mention)\b"
    r"|\b(aucune information|pas d.?information|no information|not (mentioned|answered|covered) in the)\b"
)

@dataclass(frozen=True)
class Written:
    """A sentence of the generated answer as written, and the passages it cites."""

    raw: str  # as written, markers normalised to [n]
    text: str  # without markers: what is checked
    markers: tuple[int, ...]
    block: int  # paragraph (line) of the answer it belongs to
    inherited: bool = False  # markers taken from a neighbouring sentence of its paragraph
    caveat: bool = False  # says the passages do not tell (kept without support)


@dataclass(frozen=True)
class Support:
    """How well one cited passage supports one claim."""

    marker: int
    sentence: Sentence | None  # the passage sentence that supports the claim best
    dense: float
    lexical: float
    missing_numbers: tuple[str, ...] = ()
    entailment: float | None = None
    supported: bool = False
    judgement: Entailment | None = None  # an NLI model's, when one judged

    @property
    def contradicted(self) -> bool:
        """Whether the entailment model judged that the passage contradicts the claim."""
        return self.judgement is not None and self.judgement.label == "contradiction"


@dataclass(frozen=True)
class Verified:
    """The checked answer: its claims with markers renumbered 1..n in order of first
    use, the prompt passage behind each new marker with the sentences quoted from
    it, and what was removed, with why."""

    claims: tuple[Claim, ...]
    sources: tuple[tuple[int, tuple[Sentence, ...]], ...]  # (prompt marker, quoted sentences), new markers 1..n
    dropped: tuple[str, ...] = ()
    abstained: bool = False
    fallback: bool = False  # no sentence with a valid citation is left
    support: tuple[tuple[Written, tuple[Support, ...]], ...] = field(default=(), repr=False)


# ---------------------------------------------------------------- reading the answer


def normalise_markers(text: str) -> str:
    """Citations in the forms models write ("[1, 2]", "[1-3]", "[passage 2]") as "[1][2]", "[1][2][3]", "[2]"."""

    def expand(m: re.Match) -> str:
        out: list[int] = []
        for part in re.split(r"\s*[,;]\s*", m.group(1)):
            bounds = [int(x) for x in re.split(r"\s*[-–]\s*", part) if x]
            if len(bounds) == 2 and bounds[0] <= bounds[1] and bounds[1] - bounds[0] < 20:
                out.extend(range(bounds[0], bounds[1] + 1))
            else:
                out.extend(bounds)
        return "".join(f"[{n}]" for n in out)

    return _CITATION.sub(expand, text)


def strip_markers(text: str) -> str:
    """The text without its markers (and without the space before each)."""
    return _MARKERS_RUN.sub("", text).strip()


def says_not_answered(text: str) -> bool:
    """Whether a sentence says the passages do not answer (or do not tell)."""
    return bool(_ABSTAIN.search(fold(strip_markers(text))))


def split_claims(text: str, lang: str = "fr") -> tuple[list[Written], list[str]]:
    """The answer's sentences with their markers, and each paragraph's bullet prefix.

    A marker written at the start of a sentence ("… 1999. [1] En 2004 …")
    belongs to the sentence before it. A sentence without a marker takes the
    markers of the next cited sentence of its paragraph (else of the previous
    one), since models often cite once for several sentences.
    """
    check_language(lang)
    claims: list[Written] = []
    prefixes: list[str] = []
    blocks = [b for b in normalise_markers(text).splitlines() if b.strip()]
    for b, block in enumerate(blocks):
        m = _BULLET.match(block)
        prefixes.append(m.group(0).strip() + " " if m else "")
        body = block[m.end():] if m else block.strip()
        sentences = split_sentences(body, lang) or [body.strip()]
        raws: list[str] = []
        for s in sentences:
            lead = _LEADING_MARKERS.match(s)
            if lead and raws:
                raws[-1] = raws[-1] + " " + lead.group(1).strip()
                s = s[lead.end():].strip()
            if s:
                raws.append(s)
        for raw in raws:
            markers = tuple(int(n) for n in _MARKER.findall(raw))
            plain = strip_markers(raw)
            if not plain:  # markers alone
                continue
            # an uncited "the passages do not say…" is a caveat; with markers it is checked like any claim
            claims.append(Written(raw=raw, text=plain, markers=markers, block=b,
                                caveat=not markers and says_not_answered(plain)))
    return claims, prefixes


def inherit_markers(claims: Sequence[Written]) -> list[Written]:
    """Claims without markers take those of the next cited claim of their paragraph, else the previous."""
    out = list(claims)
    for i, c in enumerate(out):
        if c.markers or c.caveat:
            continue
        same = [j for j in range(len(out)) if out[j].block == c.block and claims[j].markers]
        after = [j for j in same if j > i]
        before = [j for j in same if j < i]
        source = after[0] if after else (before[-1] if before else None)
        if source is not None:
            out[i] = replace(c, markers=claims[source].markers, inherited=True)
    return out


def drop_invalid_markers(claims: Sequence[Written], valid: set[int]) -> tuple[list[Written], list[str]]:
    """Claims without the markers that name no passage, and a note for each removed marker."""
    out, dropped = [], []
    for c in claims:
        bad = [n for n in c.markers if n not in valid]
        if not bad:
            out.append(c)
            continue
        for n in dict.fromkeys(bad):
            dropped.append(f"marker [{n}] names no passage (passages are numbered 1 to {max(valid, default=0)}): {c.text}")
        keep = tuple(n for n in c.markers if n in valid)
        raw = _MARKER.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", c.raw)
        out.append(replace(c, raw=re.sub(r"\s+([.,;:!?])", r"\1", raw).strip(), markers=keep))
    return out, dropped


# ---------------------------------------------------------------- support


def coverage(claim_terms: Sequence[str], text: str, min_terms: int, langs: tuple[str, ...] = ("en",)) -> float:
    """Share of the claim's content words (stemmed in `langs`) found in `text`, over at least `min_terms` words."""
    wanted = set(claim_terms)
    if not wanted:
        return 0.0
    found = wanted & set(terms(text, langs))
    return len(found) / max(len(wanted), min_terms)


def numbers_of(text: str) -> set[str]:
    """Numbers of two or more digits in `text` ("1999", "3,5"), decimal commas as points."""
    return {n.replace(",", ".") for n in _NUMBER.findall(text) if len(re.sub(r"\D", "", n)) >= 2}


Entails = Callable[[str, str], "float | Entailment"]


def score_support(claim: str, claim_vector: np.ndarray, marker: int, evidence: Evidence, settings: VerifyConfig,
                  entails: Entails | None = None, langs: tuple[str, ...] = ("en",)) -> Support:
    """How well `evidence` (prompt passage `marker`) supports `claim`: best sentence,
    similarity, word share, numbers, entailment (and contradiction, when the scorer
    returns an `Entailment` rather than a probability)."""
    sentences = evidence.sentences
    usable = [i for i, s in enumerate(sentences) if not looks_like_instruction(s.text)]
    if not usable:
        return Support(marker, None, 0.0, 0.0)
    claim_terms = terms(claim, langs)
    sims = np.asarray(evidence.vectors)[usable] @ np.asarray(claim_vector, dtype=np.float32)
    per_sentence = [float(sims[j]) + coverage(claim_terms, sentences[i].text, settings.min_terms, langs)
                    for j, i in enumerate(usable)]
    best = usable[int(np.argmax(per_sentence))]
    notes = (" ".join(x for x in (f.text, f.url or "") if x) for f in evidence.notes)
    context = " ".join([*(sentences[i].text for i in usable), *notes])
    dense = float(np.max(sims))
    lexical = coverage(claim_terms, context, settings.min_terms, langs)
    missing = tuple(sorted(numbers_of(claim) - numbers_of(context))) if settings.numbers_must_match else ()
    judged = entails(context, claim) if entails is not None else None
    entailment = None
    if isinstance(judged, Entailment):
        entailment = judged.entailment
        supported = entailment >= settings.entail_min and judged.label != "contradiction"
    elif judged is not None:
        entailment = float(judged)
        supported = entailment >= settings.entail_min
    else:
        supported = (dense >= settings.dense_strong or lexical >= settings.lexical_min
                     or dense >= settings.dense_min and lexical >= settings.lexical_with_dense)
    return Support(marker, sentences[best], dense, lexical, missing, entailment, supported and not missing,
                   judged if isinstance(judged, Entailment) else None)


def _why_not(claim: Written, supports: Sequence[Support]) -> str:
    cited = "".join(f"[{s.marker}]" for s in supports)
    missing = sorted({n for s in supports for n in s.missing_numbers})
    if missing and all(s.missing_numbers for s in supports):
        return f"not supported by {cited}: {', '.join(missing)} not in the passage"
    if all(s.contradicted for s in supports):
        worst = max((s.judgement for s in supports), key=lambda j: j.contradiction)
        return f"contradicted by {cited} (contradiction {worst.contradiction:.2f}, entailment {worst.entailment:.2f})"
    best = max(supports, key=lambda s: (s.dense, s.lexical))
    detail = f"similarity {best.dense:.2f}, word overlap {best.lexical:.2f}"
    if best.entailment is not None:
        detail += f", entailment {best.entailment:.2f}"
    return f"not supported by {cited} ({detail})"


# ---------------------------------------------------------------- the whole check


def _relevance(query: Query | None, evidence: Sequence[Evidence], settings: VerifyConfig,
               langs: tuple[str, ...] = ("en",)) -> Callable[[str, Sequence[Support]], bool] | None:
    """A test of whether a claim bears on `query`, or None when it cannot be told."""
    if query is None or settings.relevance_top == 0:
        return None
    question_terms = set(terms(query.resolved, langs))
    close: set[tuple[str, int]] = set()
    if query.vector is not None:
        scored = [(float(np.asarray(e.vectors)[i] @ query.vector), e.passage.id, s.start)
                  for e in evidence for i, s in enumerate(e.sentences)]
        close = {(pid, start) for _, pid, start in sorted(scored, reverse=True)[: settings.relevance_top]}

    def bears(claim: str, supports: Sequence[Support]) -> bool:
        if question_terms & set(terms(claim, langs)):
            return True
        return any((evidence[s.marker - 1].passage.id, s.sentence.start) in close for s in supports if s.sentence)

    return bears


def verify_answer(
    text: str,
    evidence: Sequence[Evidence],
    embed: Callable[[list[str]], np.ndarray],
    lang: str = "fr",
    settings: VerifyConfig | None = None,
    entails: Entails | None = None,
    query: Query | None = None,
) -> Verified:
    """Check a generated answer against the passages of its prompt (`evidence`,
    numbered from 1 as the prompt numbered them), and, given the `query` (its text
    and vector), that each supported sentence bears on the question.

    `embed` turns sentences into unit vectors comparable to `Evidence.vectors`;
    `entails(premise, hypothesis)`, when given, returns an entailment probability
    or an `Entailment` (an NLI model's three probabilities, `rag.compose.nli`) and
    decides support instead of the similarity and word-share bars: a passage
    supports a claim it entails (at `entail_min`), never one it contradicts. The
    numbers, the markers, instructions and relevance are checked as without it.
    """
    settings = settings or VerifyConfig()
    by_marker = {n: e for n, e in enumerate(evidence, start=1)}
    written, _prefixes = split_claims(text, lang)
    # words are compared in the answer's language and in each passage's own
    langs = tuple(dict.fromkeys([lang, *(e.passage.language or e.document.language for e in evidence)]))
    written, dropped = drop_invalid_markers(written, set(by_marker))
    written = inherit_markers(written)
    cited = [c for c in written if c.markers]
    vectors = np.asarray(embed([c.text for c in cited]), dtype=np.float32) if cited else np.zeros((0, 1))
    vector_of = {id(c): vectors[i] for i, c in enumerate(cited)}

    relevant = _relevance(query, evidence, settings, langs)
    kept: list[Written] = []
    backing: dict[int, dict[int, Sentence]] = {}  # id(kept claim) -> prompt marker -> supporting sentence
    quotes: dict[int, list[Sentence]] = {}
    checked: list[tuple[Written, tuple[Support, ...]]] = []
    flagged: set[int] = set()
    for c in written:
        if c.caveat:
            kept.append(c)
            continue
        if not c.markers:
            dropped.append(f"cites no passage: {c.text}")
            continue
        supports = tuple(score_support(c.text, vector_of[id(c)], n, by_marker[n], settings, entails, langs)
                         for n in dict.fromkeys(c.markers))
        checked.append((c, supports))
        good = [s for s in supports if s.supported]
        if not good:
            reason = _why_not(c, supports)
            if settings.unsupported == "flag":
                flag = replace(c, markers=(), inherited=False)
                flagged.add(id(flag))
                kept.append(flag)
                dropped.append(f"flagged, {reason}: {c.text}")
            else:
                dropped.append(f"{reason}: {c.text}")
            continue
        if relevant is not None and not relevant(c.text, good):
            dropped.append(f"does not bear on the question (no word of it, nor a passage sentence close to it): "
                           f"{c.text}")
            continue
        for s in supports:
            if not s.supported:
                dropped.append(f"marker [{s.marker}] removed, {_why_not(c, [s])}: {c.text}")
        keep = replace(c, markers=tuple(s.marker for s in good))
        kept.append(keep)
        backing[id(keep)] = {s.marker: s.sentence for s in good}
        for s in good:
            quotes.setdefault(s.marker, [])
            if s.sentence not in quotes[s.marker]:
                quotes[s.marker].append(s.sentence)

    if not any(c.markers for c in kept):
        caveats = [c for c in kept if c.caveat]
        return Verified(claims=(), sources=(), dropped=tuple(dropped), abstained=bool(caveats),
                        fallback=not caveats, support=tuple(checked))
    order: list[int] = []
    for c in kept:
        order += [n for n in c.markers if n not in order]
    new = {old: i for i, old in enumerate(order, start=1)}
    claims = []
    for c in kept:
        spans = tuple(Span(by_marker[n].passage.id, backing[id(c)][n].start, backing[id(c)][n].end,
                           backing[id(c)][n].text) for n in c.markers)
        support = "unsupported" if id(c) in flagged else "caveat" if c.caveat else "supported"
        claims.append(Claim(text=c.text, spans=spans, markers=tuple(new[n] for n in c.markers), attribution=None,
                            quoted=False, block=c.block, support=support))
    sources = tuple((old, tuple(sorted(quotes[old], key=lambda s: s.start))) for old in order)
    return Verified(claims=tuple(claims), sources=sources, dropped=tuple(dropped), support=tuple(checked))
