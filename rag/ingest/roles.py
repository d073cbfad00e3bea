"""Roles of the article zone's blocks: title, citation line, dateline, byline, lead,
author biography, and the closing datelines after the body; names of people."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..text import normalize_for_match, words
from .blocks import URL, Block, title_text
from .dates import find_date
from .furniture import Verdict, is_copyright, is_label, is_strong_furniture, relevance, topic_terms
from .html import PageMeta


_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][\w'’.-]*"
_PARTICLE = r"(?:de|du|des|da|di|van|von|der|den|le|la|ben|bin|al|el|d'|d’)"
_NAME = rf"{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)?{_NAME_WORD}){{1,4}}"
_BYLINE = re.compile(
    rf"(?:^|[\s,;|–—-])(?i:par|by|auteur\s*:|author\s*:|texte de|written by)\s+(?P<names>{_NAME}(?:\s*(?:,|et|and|&)\s*{_NAME})*)"
)  # the keyword in any case, the names capitalised
_HONORIFIC = re.compile(r"^(?:dr|pr|prof|professeur|professor|m|mme|mlle|mr|mrs|ms|me|sir|dame)\.?\s+", re.I)
_BIO_START = re.compile(
    rf"^(?P<name>{_NAME})\s*,?\s+(?:est|était|a été|enseigne|dirige|is|was|has been|teaches|works|travaille)\b"
)
_BIO_ROLE = re.compile(
    r"\b(?:enseign\w*|professeur\w*|professor|chercheu\w*|researcher|docteur|doctor|ph\.?d|doctorant\w*"
    r"|directeu\w*|director|journaliste|journalist|écrivain\w*|writer|fondat\w*|founder|chargé\w* de"
    r"|fellow|analyste|analyst|diplômé\w*|graduate|ancien\w*|former|membre|member|dirige|teaches|lecturer"
    r"|maître de conférences|spécialiste|specialist|consultant\w*|éditeur|editor|rédact\w*|correspondant\w*"
    r"|correspondent|économiste|economist|historien\w*|historian|politologue|auteur d\w*|author of)\b",
    re.I,
)
# An interview turn: "Name : text", the name with an optional honorific.
SPEAKER = re.compile(rf"^(?P<label>(?:(?:Dr|Pr|Prof|M|Mme|Mr|Mrs|Ms)\.?\s+)?{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)?{_NAME_WORD}){{0,4}})\s*:\s+(?P<text>\S.*)$", re.S)  # fmt: skip


def normalize_name(name: str) -> str:
    """Natural case for names written in capitals ("Cyrille BRET" -> "Cyrille Bret"), honorifics removed."""
    name = " ".join(name.split()).strip(" ,;")
    name = _HONORIFIC.sub("", name)

    def fix(word: str) -> str:
        if len(word) > 1 and word.isupper() or word.islower() and len(word) > 3:
            return re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), word.lower())
        return word

    return " ".join(fix(w) for w in name.split())


def split_names(names: str) -> list[str]:
    """The names of a list ("A, B et C", "A and B"), each of two words or more, in natural case."""
    parts = re.split(r"\s*(?:,|\bet\b|\band\b|&)\s*", names)
    return [normalize_name(p) for p in parts if len(p.split()) >= 2]


def byline_names(text: str) -> list[str]:
    """The authors a byline names ("Par Jeanne MARTIN, 2 janvier 2020" -> ["Jeanne Martin"]), or []."""
    m = _BYLINE.search(text)
    return split_names(m.group("names")) if m else []


def bio_like(text: str) -> bool:
    """Whether `text` (4 to 160 words) reads as an author biography: a role word, or "<Name> est/is ..."."""
    return 4 <= len(words(text)) <= 160 and bool(_BIO_ROLE.search(text) or _BIO_START.match(text))


def bio_author(text: str) -> str | None:
    """The name a biography starts with ("Cyrille Bret est ..." -> "Cyrille Bret"), or None."""
    m = _BIO_START.match(text)
    return normalize_name(m.group("name")) if m else None


@dataclass
class Roles:
    """Positions, among the article zone's blocks, of the blocks that have a role."""

    title: int | None = None
    dateline: int | None = None
    byline: int | None = None
    citation: int | None = None
    lead: int | None = None
    bio: int | None = None

    def header(self) -> list[int]:
        return [p for p in (self.title, self.dateline, self.byline, self.lead) if p is not None]

    def all(self) -> set[int]:
        return {p for p in (self.title, self.dateline, self.byline, self.citation, self.lead, self.bio) if p is not None}


@dataclass
class Draft:
    """Mutable state while a document is assembled (kept out of the frozen records)."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    lead: str | None = None
    biography: str | None = None


def _find_title(mb: Sequence[Block], region: range, meta: PageMeta) -> tuple[int | None, str | None]:
    limit = region.start if region else len(mb)
    headings = [p for p in range(limit) if mb[p].heading]
    h1 = next((p for p in headings if mb[p].heading == 1), None)
    if h1 is not None:
        return h1, title_text(mb[h1])
    if meta.title:
        key = normalize_for_match(meta.title)
        for p in range(len(mb)):
            k = normalize_for_match(mb[p].text)
            if k and len(k) >= 10 and k in key:
                return p, mb[p].text
        return None, meta.title
    if headings:
        return headings[0], title_text(mb[headings[0]])
    return None, None


def _find_citation(mb: Sequence[Block], title: str | None, skip: int | None, region: range) -> int | None:
    """The line that cites the document (authors, title, outlet, date), outside its body:
    a body paragraph that names the title and a year is text, not a citation line."""
    key = normalize_for_match(title or "")
    if len(key.split()) < 3:
        return None
    for p, b in enumerate(mb):
        if region and p in region:
            continue
        k = normalize_for_match(b.text)
        if p != skip and not b.heading and k != key and f" {key} " in f" {k} " and 6 <= b.n_words <= 80:
            if find_date(b.text) or re.search(r"\b(1[89]|20)\d\d\b", b.text):
                return p
    return None


def citation_site(text: str, title: str) -> str | None:
    """The publication named in a citation line: the first segment after the title that is not a date or URL."""
    folded, t = text.replace("’", "'"), title.replace("’", "'")
    at = folded.find(t)
    rest = folded[at + len(t) :] if at >= 0 else ""
    for segment in re.split(r"\s*[,;]\s*", rest):
        segment = segment.strip(" .«»\"“”")
        segment = re.sub(r"^(?:in|dans|sur|on)\s*:?\s+", "", segment, flags=re.I)
        if not segment or find_date(segment) or URL.search(segment) or not re.search(r"[A-Za-zÀ-ÿ]", segment):
            continue
        if re.fullmatch(r"(?:p|pp|vol|n°|no)\.?\s*[\d-]+", segment, re.I):
            continue
        name = re.split(r"\s+[:|–—-]\s+", segment)[0].strip()
        return name or None
    return None


def _headline(mb: Sequence[Block], anchor: int, region: range) -> int | None:
    """In a text dump without headings: the block just above the dateline (or body) that reads as the headline."""
    topic = topic_terms(mb, region)
    best, best_score = None, 0.0
    for p in range(max(0, anchor - 4), anchor):
        b = mb[p]
        t = b.text.strip()
        if not (3 <= b.n_words <= 40) or is_label(t) or is_copyright(t) or is_strong_furniture(t):
            continue
        if _BYLINE.match(" " + t) or find_date(t):
            continue
        if t.endswith(".") and not t.endswith("..."):
            continue
        if t[:1].islower():
            continue
        score = relevance(b, p, region, topic) + 0.01 * (p - anchor)
        if best is None or score > best_score:
            best, best_score = p, score
    return best


def assign_roles(
    mb: Sequence[Block], verdicts: Sequence[Verdict], region: range, meta: PageMeta, draft: Draft
) -> Roles:
    """Find title, citation line, dateline, byline, lead and biography among the article zone's blocks."""
    roles = Roles()
    roles.title, draft.title = _find_title(mb, region, meta)
    roles.citation = _find_citation(mb, draft.title, roles.title, region)
    limit = region.start if region else len(mb)
    dates = [p for p in range(limit) if p not in (roles.title, roles.citation) and not mb[p].heading
             and mb[p].n_words <= 25 and find_date(mb[p].text)]  # fmt: skip
    if roles.title is not None:
        roles.dateline = next((p for p in dates if p > roles.title), None)
    elif dates:
        roles.dateline = dates[-1]
    if draft.title is None:
        anchor = roles.dateline if roles.dateline is not None else limit
        roles.title = _headline(mb, anchor, region)
        draft.title = mb[roles.title].text if roles.title is not None else None
        if roles.title is not None and roles.citation is None:
            roles.citation = _find_citation(mb, draft.title, roles.title, region)

    # Byline: on the dateline, or next to the title or dateline.
    around = [p for p in (roles.dateline, roles.title) if p is not None]
    candidates = sorted({q for p in around for q in range(p - 1, p + 3) if 0 <= q < len(mb)})
    candidates = [p for p in (roles.dateline, *candidates) if p is not None]
    candidates += [p for p in range(limit) if "byline" in mb[p].hints]
    for p in candidates:
        if p == roles.title or p == roles.citation or mb[p].n_words > 15:
            continue  # a byline is a short line, not a sentence that happens to contain "by"
        m = _BYLINE.search(mb[p].text)
        names = split_names(m.group("names")) if m else []
        if not names and "byline" in mb[p].hints and 2 <= mb[p].n_words <= 4:
            names = [normalize_name(mb[p].text)]
        if names:
            draft.authors = names
            if p != roles.dateline:
                roles.byline = p
            break
    if not draft.authors and meta.authors:
        draft.authors = [normalize_name(a) for a in meta.authors]

    # Lead: the first block after the header that the page marks out (class, emphasis) or prints twice.
    keys = [normalize_for_match(b.text) for b in mb]
    header = roles.header()
    start = max(header) + 1 if header else 0
    stop = min(len(mb), max(start, region.start if region else 0) + 3)
    for p in range(start, stop):
        b = mb[p]
        if p in roles.all():
            continue
        if b.heading:
            break
        copies = [q for q, k in enumerate(keys) if k == keys[p] and q != p]
        marked = "lead" in b.hints or (meta.description and normalize_for_match(meta.description) == keys[p])
        if b.n_words >= 8 and (
            marked
            or (b.emphasis and not verdicts[p].furniture)
            or (copies and any(not verdicts[q].furniture for q in copies) and not bio_like(b.text))
        ):
            roles.lead, draft.lead = p, b.text
            break
        if not verdicts[p].furniture:
            break

    # Biography in the page itself (outside the main region): "<Name> est/is ..." with a role word.
    for p, b in enumerate(mb):
        if (region and p in region) or p in roles.all() or b.heading:
            continue
        m = _BIO_START.match(b.text)
        if m and 10 <= b.n_words <= 160 and _BIO_ROLE.search(b.text):
            roles.bio, draft.biography = p, b.text
            if not draft.authors:
                draft.authors = [normalize_name(m.group("name"))]
            break
    return roles


def closing_datelines(mb: Sequence[Block], verdicts: Sequence[Verdict], start: int,
                      date: str | None, limit: int = 2) -> list[int]:
    """Positions of the datelines right after the body that say something about the
    text's date other than its publication ("Manuscrit clos le 10 novembre 2016",
    "Updated on 3 March 2021"): metadata a citation records, not furniture.
    Only the run of short dated or copyright lines that closes the body counts, so a
    list of other articles with their dates further down is not taken for one.
    `start`: the first block after the body."""
    found: list[int] = []
    for p in range(start, len(mb)):
        text = mb[p].text
        # the classifier gives the "dateline" reason only to a text where find_date finds a date
        when = find_date(text) if "dateline" in verdicts[p].reasons else None
        if when is None:
            if is_copyright(text):
                continue
            break
        rest = text[: when.start] + text[when.end :]
        if when.day != (date or "")[:10] and len(re.findall(r"[^\W\d_]{2,}", rest)) >= 2:
            found.append(p)
            if len(found) == limit:
                break
    return found
