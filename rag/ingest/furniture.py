"""Tell page furniture from article text: a scored classifier over page blocks.

A page (a text dump, a markdown export or the blocks of an HTML page) is a
sequence of `Block`s. `classify` computes features for each block -- length,
stopword density, link density, repetition within the page, list markers,
relative timestamps, "rubric > sub-rubric" labels, runs of short lines, the
position relative to the article's main region (the largest contiguous run of
long on-topic blocks, after Boilerpipe), topical similarity to the title and
body, appeal cues (money, postal address, e-mail, second person), calls to
action, copyright lines and HTML layout hints -- adds their weights into one
score and calls a block furniture when the score reaches a threshold. The
weights live in `Weights`, so a caller can tune them; none is keyed on a
particular site.

This module also holds `pull_quotes`, which finds short blocks repeating a
sentence of the body. It does not read files, parse markup or decide which
kept block is the title, the lead or a paragraph: `roles` and `body` do.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..text import STOPWORDS, cut_sentences, ends_sentence, fold, normalize_for_match, words
from .blocks import Block
from .dates import find_date

# --------------------------------------------------------------------------- text patterns

_URL = re.compile(r"https?://\S+|\bwww\.\S+", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_MONEY = re.compile(r"\d[\d\s\u00a0.,]*\s?(?:€|£|\$|euros?\b|eur\b|usd\b|dollars?\b)|[€£$]\s?\d", re.I)
_STREET = (
    r"(?:rue|avenue|av\.|boulevard|bd|place|chemin|allée|allee|impasse|quai|cours|route|street|st\.|road|rd\.|"
    r"lane|drive|suite|cedex|b\.?p\.?\s?\d)"
)
_ADDRESS = re.compile(
    rf"\b\d{{1,4}}\s?(?:bis|ter)?,?\s+{_STREET}\b|\b{_STREET}\b[^.]{{0,60}}\b\d{{5}}\b|\b\d{{5}}\b,?\s+[A-Z][\w-]+",
    re.I,
)
_LIST_MARKER = re.compile(r"^(?:#?\d{1,3}|[ivxlc]{1,5}|[•·▪►-])[.)]?$", re.I)
_TIMESTAMP = re.compile(
    r"^(?:il y a|depuis|publié il y a)\s+\d+\s*(?:s|sec\w*|min\w*|h|heures?|jours?|j|semaines?|mois|ans?)\b"
    r"|^\d+\s*(?:s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|days?|d|weeks?|months?|years?)\s+ago\b"
    r"|^(?:hier|aujourd'hui|aujourd’hui|yesterday|today)(?:\s+(?:à|at)\s+\d{1,2}[:h]\d{2})?$",
    re.I,
)
_RUBRIC = re.compile(r"^[^>»›|]{1,40}(?:\s[>»›|]\s[^>»›|]{1,40})+$")
_COPYRIGHT = re.compile(
    r"^\W*(?:©|\(c\)|copyright\b)|tous droits réservés|all rights reserved|droits de reproduction", re.I
)
_SECOND_PERSON = frozenset("vous votre vos you your yours".split())
_SITE_VOICE = _SECOND_PERSON | frozenset("nous notre nos we our us".split())

# Generic calls to action and site chrome, accent-folded: words a page uses to
# talk about itself (subscribe, share, cookies, related reading...), not about
# the article's subject. Weighted down in long blocks, where they are prose.
_CALL_TO_ACTION = re.compile(
    r"\b(?:abonn\w*|s'abonner|inscri(?:vez|re|ption)\w*|newsletters?|lettre d'information|suivez|suivre|follow"
    r"|partag\w*|share|tweet\w*|facebook|twitter|linkedin|whatsapp|instagram|pinterest|cookies?|consentement"
    r"|consent|accepter|accept all|refuser|reject|publicit\w*|advertis\w*|sponsori\w*|lire aussi|a lire"
    r"|voir aussi|read more|lire la suite|en savoir plus|learn more|related|sur le meme sujet"
    r"|articles? (?:populaires|similaires|recommandes|lies)|most read|les plus lus|recommended|sign up|sign in"
    r"|log in|login|se connecter|connectez-vous|mot de passe|password|subscribe|donate|faire un don|soutenez"
    r"|support us|commentaires?|comments?|repondre|reply|mentions legales|privacy|confidentialite"
    r"|conditions (?:generales|d'utilisation)|terms of (?:use|service)|nous contacter|contact us|plan du site"
    r"|sitemap|menu|accueil|homepage|rechercher|search|imprimer|print|envoyer par e-?mail|copier le lien"
    r"|copy link|telecharger l'appli\w*|download the app|citer cet article|to cite|cite this|pour citer)\b",
    re.I,
)

def content_terms(text: str) -> Counter[str]:
    """Folded, prefix-stemmed content words: a cheap, language-neutral bag for topical similarity."""
    return Counter(_content_terms(text))


@lru_cache(maxsize=1 << 16)
def _content_terms(text: str) -> Counter[str]:
    # Several features ask for the same block's terms: counted once (callers get a copy).
    terms = Counter()
    for w in words(fold(text)):
        if w in STOPWORDS or len(w) < 3 or w.isdigit():
            continue
        terms[w[:5]] += 1
    return terms


def stopword_ratio(text: str) -> float:
    ws = [w.lower() for w in words(text)]
    return sum(w in STOPWORDS for w in ws) / len(ws) if ws else 0.0


def is_copyright(text: str) -> bool:
    return len(words(text)) <= 20 and bool(_COPYRIGHT.search(text))


def is_label(text: str) -> bool:
    """A list marker ("01."), a relative timestamp or a "rubric > sub-rubric" label: never prose."""
    t = text.strip()
    n = len(words(t))
    return bool(
        _LIST_MARKER.match(t)
        or (n <= 8 and _TIMESTAMP.match(t))
        or (n <= 8 and "://" not in t and _RUBRIC.match(t)
            and all(re.search(r"[^\W\d_]", part) for part in re.split(r"\s[>»›|]\s", t)))
    )


def is_strong_furniture(text: str) -> bool:
    """Furniture whatever its context: labels, copyright lines, short calls to action."""
    t = text.strip()
    if not t:
        return True
    if is_label(t) or is_copyright(t):
        return True
    return len(words(t)) <= 6 and bool(_CALL_TO_ACTION.search(fold(t)))


# --------------------------------------------------------------------------- classifier


@dataclass(frozen=True)
class Weights:
    """Weight of each feature in the furniture score; a block is furniture when the sum reaches `threshold`."""

    threshold: float = 1.5
    very_short: float = 1.0  # three words or fewer
    short: float = 0.5  # seven words or fewer
    long_prose: float = -0.8  # 25 words or more, on topic
    few_stopwords: float = 0.5  # prose is about 40 % stopwords
    link_dense: float = 1.5  # over half the text in links
    link_some: float = 0.7  # over a quarter
    repeated: float = 1.2  # the same text elsewhere on the page
    label: float = 3.0  # list marker, relative timestamp, rubric label
    near_label: float = 1.0  # next to one of those: a list item or a feed entry
    short_run: float = 0.8  # inside a run of three or more short blocks
    in_region: float = -1.0
    near_region: float = 0.5  # one or two blocks outside the main region
    far_region: float = 1.2
    off_topic: float = 1.2
    weak_topic: float = 0.5
    on_topic: float = -0.7
    appeal_cue: float = 0.8  # money amount, postal address, e-mail (each)
    appeal_cap: float = 1.6
    url: float = 0.4
    reader_address: float = 0.8  # "vous", "your": the page talking to its reader
    site_voice: float = 0.4  # "nous", "vous" in a block outside the article: the site speaking
    call_to_action: float = 0.6  # each cue, scaled down in long blocks
    call_to_action_cap: float = 1.5
    copyright: float = 3.0
    dateline: float = 1.0  # a short block that is mostly a date: metadata, not prose
    layout_hint: float = 1.5  # HTML nav, footer, aside, form, boilerplate class
    article_hint: float = -0.5  # HTML article or main element
    # Bounds on topical relevance: the share of a block's content words that belong to the topic.
    off_topic_below: float = 0.04
    weak_topic_below: float = 0.08
    on_topic_above: float = 0.15


@dataclass(frozen=True)
class Verdict:
    """The classifier's decision on one block, with the features that pushed it towards furniture."""

    score: float
    furniture: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)


_SHORT = 8  # words: below this a block is a "short line" for runs
_MIN_TOPIC_BLOCKS = 4  # main-region blocks needed before topical features are trusted
_REGION_BIAS = 12  # words a block must exceed to count towards the main region
_LAYOUT_HINTS = frozenset({"nav", "footer", "aside", "form", "boilerplate", "header"})


def _region_value(block: Block, relevance: float) -> float:
    if block.heading:
        return 0.0  # section headings sit inside the body without breaking it
    if _LAYOUT_HINTS & block.hints or is_label(block.text):
        return -float(_REGION_BIAS + block.n_words)
    if "list" in block.hints and block.link_chars <= 0.5 * len(block.text):
        return 0.0  # items of a list in the text neither make nor break the body
    return block.n_words * relevance - _REGION_BIAS


def _max_run(values: Sequence[float]) -> range:
    best, best_span, total, start = 0.0, range(0), 0.0, 0
    for i, v in enumerate(values):
        if total <= 0:
            total, start = v, i
        else:
            total += v
        if total > best:
            best, best_span = total, range(start, i + 1)
    return best_span


def main_region(blocks: Sequence[Block], title: str | None = None, weights: Weights | None = None) -> range:
    """Indices of the largest contiguous region of long on-topic blocks (empty when there is none).

    A first pass takes the densest run of long blocks (Boilerpipe); a second
    one discounts blocks that are off the page's topic (see `topic_terms`) or
    carry furniture cues (appeals, calls to action, links), so that long
    appeals or teasers next to the article do not join it.
    """
    w = weights or Weights()
    first = _max_run([_region_value(b, 1.0) for b in blocks])
    if not first:
        return first
    topic = topic_terms(blocks, first, title)
    if not topic.informative:
        return first
    values = []
    for i, b in enumerate(blocks):
        # Full weight a little above the off-topic bound: the body only has to be about the page's topic.
        on_topic = min(1.0, relevance(b, i, first, topic) / (1.25 * w.off_topic_below))
        cues = sum(v for name, v in _intrinsic(b, w) if name in _CUES)
        values.append(_region_value(b, on_topic * max(0.0, 1.0 - cues / w.threshold)))
    return _max_run(values) or first


@dataclass(frozen=True)
class Topic:
    """The page's topic: in how many blocks of the main region each term occurs, and the title's terms."""

    spread: Counter[str]
    title: frozenset[str]
    min_spread: int
    blocks: int  # blocks of the main region with content words

    @property
    def informative(self) -> bool:
        """Whether the region is large enough for spread to mean anything (a short note has no 'topic')."""
        return self.blocks >= _MIN_TOPIC_BLOCKS


def topic_terms(blocks: Sequence[Block], region: range, title: str | None = None) -> Topic:
    """Terms spread over the main region (in at least 15 % of its blocks, and two) plus the title's terms.

    Counting blocks rather than occurrences keeps a term that one long
    paragraph repeats (a site name in an appeal) from passing for the topic.
    """
    spread: Counter[str] = Counter()
    prose = 0
    for i in region:
        terms = content_terms(blocks[i].text)
        spread.update(terms.keys())
        prose += bool(terms)
    return Topic(spread, frozenset(content_terms(title or "")), max(2, math.ceil(0.15 * prose)), prose)


def relevance(block: Block, i: int, region: range, topic: Topic) -> float:
    """Share of the block's distinct content terms that belong to the topic (the block itself left out)."""
    terms = set(content_terms(block.text))
    if not terms:
        return 0.0
    own = 1 if i in region else 0
    hits = sum(t in topic.title or topic.spread[t] - own >= topic.min_spread for t in terms)
    return hits / len(terms)


_CUES = frozenset({"link dense", "some links", "label", "appeal cues", "url", "addresses the reader",
                   "call to action", "copyright", "layout"})  # fmt: skip


def _intrinsic(b: Block, w: Weights) -> list[tuple[str, float]]:
    """Features of a block on its own, whatever the page around it."""
    parts: list[tuple[str, float]] = []
    text, n = b.text, b.n_words
    if n <= 3:
        parts.append(("very short", w.very_short))
    elif n <= 7:
        parts.append(("short", w.short))
    if n >= 4 and stopword_ratio(text) < 0.15:
        parts.append(("few stopwords", w.few_stopwords))
    if text:
        density = b.link_chars / len(text)
        if density > 0.5:
            parts.append(("link dense", w.link_dense))
        elif density > 0.25:
            parts.append(("some links", w.link_some))
    if is_label(text):
        parts.append(("label", w.label))
    appeal = w.appeal_cue * sum(bool(p.search(text)) for p in (_MONEY, _ADDRESS, _EMAIL))
    if appeal:
        parts.append(("appeal cues", min(appeal, w.appeal_cap)))
    if _URL.search(text):
        parts.append(("url", w.url))
    if n >= 4:
        second = sum(x.lower() in _SECOND_PERSON for x in words(text))
        if second >= 2 and second / n >= 0.05:
            parts.append(("addresses the reader", w.reader_address))
    cta = len(_CALL_TO_ACTION.findall(fold(text)))
    scale = 1.0 if n <= 12 else 0.5 if n <= 40 else 0.0
    if cta and scale:
        parts.append(("call to action", min(cta * w.call_to_action, w.call_to_action_cap) * scale))
    if is_copyright(text):
        parts.append(("copyright", w.copyright))
    date = find_date(text)
    if date and n <= 10 and len(words(text[: date.start] + text[date.end :])) <= 5:
        parts.append(("dateline", w.dateline))
    if _LAYOUT_HINTS & b.hints:
        parts.append(("layout", w.layout_hint))
    if "article" in b.hints:
        parts.append(("in article element", w.article_hint))
    return parts


def _is_prose(b: Block) -> bool:
    return b.n_words >= 25 and stopword_ratio(b.text) >= 0.25


def classify(
    blocks: Sequence[Block], title: str | None = None, weights: Weights | None = None, region: range | None = None
) -> list[Verdict]:
    """Score every block of a page; `title` (when known) anchors the page's topic.

    `region` is the article's main region when the caller has computed it
    (`main_region`); otherwise it is computed here.
    """
    w = weights or Weights()
    if not blocks:
        return []
    region = main_region(blocks, title, w) if region is None else region
    topic = topic_terms(blocks, region, title)
    keys = [normalize_for_match(b.text) for b in blocks]
    copies: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if k:
            copies.setdefault(k, []).append(i)
    short = [b.n_words < _SHORT and not b.heading for b in blocks]
    run_len = [0] * len(blocks)
    i = 0
    while i < len(blocks):
        j = i
        while j < len(blocks) and short[j]:
            j += 1
        for k in range(i, j):
            run_len[k] = j - i
        i = max(j, i + 1)
    labels = [is_label(b.text) for b in blocks]

    verdicts = []
    for i, b in enumerate(blocks):
        parts = _intrinsic(b, w)
        sim = relevance(b, i, region, topic)
        judged = topic.informative and len(content_terms(b.text)) >= 4
        off_topic = judged and sim < w.off_topic_below
        weak_topic = judged and w.off_topic_below <= sim < w.weak_topic_below
        if b.n_words >= 25 and (sim >= w.on_topic_above or not topic.informative):
            parts.append(("long prose", w.long_prose))
        if topic.informative and sim >= w.on_topic_above:
            parts.append(("on topic", w.on_topic))
        elif off_topic:
            parts.append(("off topic", w.off_topic))
        elif weak_topic:
            parts.append(("weakly on topic", w.weak_topic))
        others = [j for j in copies.get(keys[i], ()) if j != i]
        if others and not (i in region and all(j not in region for j in others)):
            parts.append(("repeated", w.repeated))
        if not labels[i] and ((i > 0 and labels[i - 1]) or (i + 1 < len(blocks) and labels[i + 1])):
            parts.append(("next to a label", w.near_label))
        if short[i] and run_len[i] >= 3:
            parts.append(("short-line run", w.short_run))
        if region:
            if i in region:
                parts.append(("in main region", w.in_region))
            else:
                distance = region.start - i if i < region.start else i - region.stop + 1
                # Prose on the topic may be cut from the body by an inserted box: judge it as if near.
                far = distance > 2 and not (_is_prose(b) and not off_topic)
                parts.append(("far from main region", w.far_region) if far else ("near main region", w.near_region))
                if b.n_words >= 4 and any(x.lower() in _SITE_VOICE for x in words(b.text)):
                    parts.append(("site voice", w.site_voice))
        score = round(sum(v for _, v in parts), 3)
        reasons = tuple(name for name, v in parts if v > 0)
        verdicts.append(Verdict(score, score >= w.threshold, reasons))
    # A block cut by a page or line break goes with the block it continues.
    for i in range(1, len(blocks)):
        if is_continuation(blocks[i - 1], blocks[i]):
            verdicts[i] = Verdict(verdicts[i - 1].score, verdicts[i - 1].furniture, ("continues the previous block",))
    return verdicts


def is_continuation(previous: Block, block: Block) -> bool:
    """Whether `block` continues `previous` across a break: a long block cut mid-sentence, then lowercase."""
    return (
        not previous.heading
        and not block.heading
        and previous.n_words >= 12
        and not ends_sentence(previous.text)
        and block.text[:1].islower()
    )


# --------------------------------------------------------------------------- pull quotes

def pull_quotes(texts: Sequence[str], max_words: int = 60) -> set[int]:
    """Indices of blocks that only repeat sentences printed in full in a longer block (pull quotes).

    A short block (up to `max_words`) is a pull quote when each of its
    sentences, compared without case, accents, punctuation or a trailing
    ellipsis, occurs inside one other, longer block. Of exact copies the first
    is kept.
    """
    keys = [normalize_for_match(t) for t in texts]
    found: set[int] = set()
    for i, text in enumerate(texts):
        if len(keys[i].split()) < 5 or len(words(text)) > max_words:
            continue  # a few words match anywhere: only whole sentences can be a pull quote
        parts = [normalize_for_match(s) for s in cut_sentences(text)]
        parts = [p for p in parts if len(p.split()) >= 4] or [keys[i]]
        for j, key in enumerate(keys):
            if j == i or j in found or not key:
                continue
            longer = len(key) > len(keys[i]) or (key == keys[i] and j < i)
            if longer and all(f" {p} " in f" {key} " for p in parts):
                found.add(i)
                break
    return found
