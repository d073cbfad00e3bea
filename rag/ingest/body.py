"""The body of an article: the kept blocks after its header, page breaks rejoined,
pull quotes dropped, headings made sections, interview turns typed."""

from __future__ import annotations

from collections.abc import Sequence

from ..records import Paragraph, Section
from ..text import ends_sentence, normalize_for_match, note_calls, note_numbers, words
from .blocks import Block, title_text
from .furniture import Verdict, pull_quotes
from .roles import SPEAKER, Roles, normalize_name


Item = tuple[str, int | None, list[int]]  # (text, heading level or None, positions of its blocks)


def body_items(
    mb: Sequence[Block], verdicts: Sequence[Verdict], roles: Roles, region: range, detect_headings: bool,
    why: dict[int, str],
) -> list[Item]:
    """Kept blocks after the header, without copies of title, lead or biography, pull quotes, page breaks.
    `why` receives, per position left out here, the reason."""
    role_keys = {normalize_for_match(mb[p].text) for p in (roles.title, roles.lead, roles.bio) if p is not None}
    header = [p for p in roles.header() if not region or p <= region.start + 2]
    start = max(header) + 1 if header else 0
    for p in range(len(mb)):
        if verdicts[p].furniture:
            why[p] = "furniture: " + ", ".join(verdicts[p].reasons[:4])
        elif p < start:
            why.setdefault(p, "page header, above the article's title or lead")
    body = []
    for p in range(start, len(mb)):
        if p in roles.all() or verdicts[p].furniture:
            continue
        elif normalize_for_match(mb[p].text) in role_keys:
            why[p] = "repeats the title, lead or author biography"
        elif "byline" in mb[p].hints:
            why[p] = "byline"
        else:
            body.append(p)
    prose = [p for p in body if not mb[p].heading]
    quotes = {prose[k] for k in pull_quotes([mb[p].text for p in prose])}
    why.update({p: "duplicate pull quote" for p in quotes})
    body = [p for p in body if p not in quotes]

    items: list[Item] = []
    for k, p in enumerate(body):
        b = mb[p]
        level = b.heading or None
        if level is None and detect_headings:  # plain text: headings are known by their shape
            prev = mb[body[k - 1]].text if k > 0 else None
            nxt = mb[body[k + 1]].text if k + 1 < len(body) else None
            if _looks_like_heading(b.text, prev, nxt):
                level = 2
        items.append((title_text(b) if level else b.text, level, [p]))

    # Page breaks: a paragraph cut without final punctuation continues in the next one, which starts in lowercase.
    merged: list[Item] = []
    for text, level, ps in items:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and level is None
            and previous[1] is None
            and "list" not in mb[ps[0]].hints
            and "list" not in mb[previous[2][-1]].hints
            and text[:1].islower()
            and not ends_sentence(previous[0])
        ):
            merged[-1] = (f"{previous[0]} {text}", None, previous[2] + ps)
        else:
            merged.append((text, level, ps))
    return merged


def _looks_like_heading(text: str, prev: str | None, nxt: str | None) -> bool:
    """In plain text: a short line without final punctuation, after a finished sentence, before a long paragraph."""
    n = len(words(text))
    if not (1 <= n <= 15) or ends_sentence(text) or text.rstrip().endswith(","):
        return False
    if not (text[:1].isupper() or text[:1].isdigit()):
        return False
    if prev is not None and not ends_sentence(prev):
        return False
    return nxt is not None and len(words(nxt)) >= 20 and nxt[:1].isupper()


def sections_and_paragraphs(doc_id: str, items: Sequence[Item]) -> tuple[list[Section], list[Paragraph], set[int]]:
    """Sections from the headings that head some prose, typed paragraphs, and the block positions used."""
    sections: list[Section] = []
    used: set[int] = set()
    current: str | None = None
    prose: list[tuple[str, str | None, list[int]]] = []
    for k, (text, level, ps) in enumerate(items):
        if level is None:
            prose.append((text, current, ps))
            continue
        following = (m[1] is None for m in items[k + 1 :] if m[1] is None or m[1] <= level)
        if next(following, False):  # a heading with no prose before the next one of its rank is furniture
            current = text
            sections.append(Section(len(sections) + 1, text))
            used.update(ps)
    paragraphs = []
    turns = _type_turns([t for t, _, _ in prose])
    for n, ((_, section, ps), (text, kind, speaker)) in enumerate(zip(prose, turns), start=1):
        paragraphs.append(Paragraph(id=f"{doc_id}:p{n}", doc_id=doc_id, text=text, kind=kind, n=n,
                                    section=section, footnotes=note_numbers(text), speaker=speaker,
                                    calls=note_calls(text)))  # fmt: skip
        used.update(ps)
    return sections, paragraphs, used


def _interview(texts: Sequence[str]) -> tuple[str | None, set[str]]:
    """The interviewer's label and the interviewees' labels, when the body is an interview."""
    labels: list[tuple[str, bool]] = []
    for t in texts:
        m = SPEAKER.match(t)
        if m and len(m.group("label").split()) <= 5:
            labels.append((m.group("label"), m.group("text").rstrip().endswith("?")))
    asking = {lab for lab, q in labels if q}
    answering = {lab for lab, q in labels if not q}
    interviewers = asking - answering
    if not interviewers or not (answering - interviewers):
        return None, set()
    interviewer = next(lab for lab, q in labels if lab in interviewers)
    return interviewer, answering - interviewers


def _type_turns(texts: list[str]) -> list[tuple[str, str, str | None]]:
    """(text, kind, speaker) per body paragraph; prefixes "Name : " of interview turns are stripped."""
    interviewer, guests = _interview(texts)
    if interviewer is None:
        return [(t, "text", None) for t in texts]
    out: list[tuple[str, str, str | None]] = []
    state, guest = None, None
    for t in texts:
        m = SPEAKER.match(t)
        label = m.group("label") if m else None
        if label == interviewer:
            out.append((m.group("text"), "question", interviewer))
            state = "question"
        elif label in guests:
            guest = normalize_name(label)
            out.append((m.group("text"), "answer", guest))
            state = "answer"
        elif state is None:
            out.append((t, "text", None))
        elif t.rstrip().endswith("?") and len(words(t)) <= 80:
            out.append((t, "question", interviewer))
            state = "question"
        else:
            out.append((t, "answer", guest))
            state = "answer"
    return out
