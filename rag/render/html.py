"""HTML for the chat page: questions, cited answers, their sources, the context panel.

Pure functions from records (`Answer`, `Citation`, `Paragraph`, `Document`) to
HTML strings. Every piece of text that comes from a document or a user goes
through `html.escape`; only http(s) URLs become links, and those open in a new
tab without giving the opened page a handle on this one. The output holds no
blank line, so the chat's Markdown renderer passes it through as one HTML block
instead of reading document text as Markdown.

Answers are rendered from their claims: each quoted claim with whom it is
attributed to and its marker; a generated answer's claims as prose with their
markers, and what the checks removed; an abstention with its related
passages, marked as not cited. Quoted sentences are highlighted in the context
panel by their offsets in the passage. Markers and source entries are links to
`#rv-<turn>-<ref>` (the chat's sanitizer keeps `href` and `class` but drops
`data-*` attributes); the page's script turns a click on one into "show this
source in the panel". This module does not call the pipeline, hold
conversation state or import gradio.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from ..messages import words as messages
from ..records import Answer, Claim, Document, Footnote, Hit, Paragraph
from .text import RELATED, citation_of, lead_in, notes_as_words, where, who, with_markers

_URL = re.compile(r"https?://[^\s<>\"'«»]+")
_KEY = re.compile(r"^(?:#?rv-)?(?P<turn>\d+)-(?P<ref>r?\d+)(?:\|.*)?$")

# Characters of a neighbouring paragraph shown in the context panel.
CONTEXT_CHARS = 600

@dataclass(frozen=True)
class SourceRef:
    """A passage an answer points to, as the page can open it in the panel."""

    key: str  # "<turn>-<marker>" for a citation, "<turn>-r<rank>" for a related passage
    label: str  # what the source chooser shows
    passage_id: str
    highlight: tuple[tuple[int, int], ...]  # (start, end) offsets of the sentences to mark in the paragraph
    cited: bool
    lang: str = "en"  # language of the question, for the panel's labels


# ---------------------------------------------------------------- small pieces


def words(lang: str) -> dict[str, str]:
    """The page's words in `lang` (the message table's "page." entries, and the shared ones)."""
    table = messages(lang)
    return {**table, **{k.removeprefix("page."): v for k, v in table.items() if k.startswith("page.")}}


def esc(text: object) -> str:
    """Escaped text on one line (newlines would end the chat's HTML block)."""
    return escape(str(text), quote=True).replace("\r", "").replace("\n", "<br>")


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) URL, else None (never a javascript: or data: link)."""
    if not url:
        return None
    url = url.strip()
    if not re.match(r"^https?://[^\s<>\"']+$", url, re.IGNORECASE):
        return None
    return url


def link(url: str, text: str | None = None) -> str:
    """An external link opening in a new tab; unsafe URLs come out as plain text."""
    safe = safe_url(url)
    if safe is None:
        return esc(text if text is not None else url)
    return (f'<a href="{escape(safe, quote=True)}" target="_blank" rel="noopener noreferrer">'
            f"{esc(text if text is not None else safe)}</a>")


def linkify(text: str) -> str:
    """Escaped text whose http(s) URLs are links."""
    out, last = [], 0
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:)]")
        out.append(esc(text[last:m.start()]))
        out.append(link(url))
        last = m.start() + len(url)
    out.append(esc(text[last:]))
    return "".join(out)


def source_key(turn: int, ref: int | str) -> str:
    return f"{turn}-{ref}"


def parse_source_key(value: str) -> str | None:
    """The source key in what the page sends ('#rv-2-1', '2-r3|1700000000'), or None."""
    m = _KEY.match((value or "").strip())
    return f"{m.group('turn')}-{m.group('ref')}" if m else None


def byline(document: Document) -> str:
    parts = [", ".join(document.authors), document.date or "", document.site or ""]
    return " · ".join(p for p in parts if p)


def highlight(text: str, spans: Iterable[tuple[int, int]], css_class: str = "") -> str:
    """Escaped `text` with each (start, end) span wrapped in <mark> (overlaps merged)."""
    attr = f' class="{escape(css_class, quote=True)}"' if css_class else ""
    out, last = [], 0
    for start, stop in sorted(spans):
        start, stop = max(start, last), min(stop, len(text))
        if stop <= start:
            continue
        out.append(esc(text[last:start]))
        out.append(f"<mark{attr}>{esc(text[start:stop])}</mark>")
        last = stop
    out.append(esc(text[last:]))
    return "".join(out)


def _one_line(html: Iterable[str]) -> str:
    return "".join(html)


# ---------------------------------------------------------------- chat messages


def render_question(question: str) -> str:
    """The user's message, escaped (it is never read as Markdown or HTML)."""
    return f'<div class="rv-question">{esc(question)}</div>'


def render_notice(message: str, kind: str = "error") -> str:
    """A message of the page itself (empty question, failure, truncation)."""
    if kind not in ("error", "info"):
        raise ValueError(f"unknown notice kind {kind!r}; allowed: error, info")
    icon = "⚠️" if kind == "error" else "ℹ️"
    return f'<div class="rv-notice rv-{kind}" role="status">{icon} {esc(message)}</div>'


def footnote_html(footnote: Footnote, lang: str) -> str:
    """'note 3 : text' with the note's URL as a link (inside the text when it occurs there)."""
    w = words(lang)
    label = f'<span class="rv-fn-num">{esc(w["note"])} {footnote.number}</span> '
    text = footnote.text or ""
    url = safe_url(footnote.url)
    if url and url in text:
        i = text.index(url)
        body = esc(text[:i]) + link(url) + linkify(text[i + len(url):])
    elif url:
        body = linkify(text) + (" " if text else "") + link(url)
    else:
        body = linkify(text)
    return f'<li class="rv-fn">{label}{body}</li>'


def _marker_link(turn: int, n: int, lang: str) -> str:
    return (f'<sup class="rv-ref"><a class="rv-marker" href="#rv-{source_key(turn, n)}" '
            f'title="{esc(words(lang)["open"])}">[{n}]</a></sup>')


def render_sources(answer: Answer, turn: int, lang: str) -> str:
    """The cited sources of an answer: marker, title, byline, place and notes; the quote
    too for a generated answer, whose claims are the model's words, not the quote."""
    w = words(lang)
    quoted = all(c.quoted for c in answer.claims)
    items = []
    for c in answer.citations:
        d, p = c.document, c.passage
        notes = "".join(footnote_html(f, lang) for f in c.footnotes)
        items.append(_one_line([
            f'<li class="rv-source" id="rv-src-{source_key(turn, c.marker)}">',
            f'<a class="rv-open" href="#rv-{source_key(turn, c.marker)}" title="{esc(w["open"])}">',
            f'<span class="rv-src-marker">[{c.marker}]</span> <span class="rv-src-title">{esc(d.title)}</span></a>',
            f' <span class="rv-src-byline">— {esc(byline(d))}</span>' if byline(d) else "",
            f' <span class="rv-src-where">— {esc(where(p, lang))}</span>',
            "" if quoted else f'<div class="rv-src-quote">« {esc(c.quote)} »</div>',
            f'<ul class="rv-fns">{notes}</ul>' if notes else "",
            "</li>",
        ]))
    return (f'<div class="rv-sources"><div class="rv-sources-title">{esc(w["sources"])}</div>'
            f'<ol class="rv-source-list">{"".join(items)}</ol></div>')


def render_related(hits: Sequence[Hit], documents: dict[str, Document], turn: int, lang: str,
                   limit: int = RELATED) -> str:
    """Passages close to the question that the answer does not cite, labelled as such."""
    w = words(lang)
    items = []
    for h in hits[:limit]:
        d = documents.get(h.passage.doc_id)
        title = d.title if d else h.passage.doc_id
        key = source_key(turn, f"r{h.rank}")
        items.append(
            f'<li class="rv-related-item"><a class="rv-open" href="#rv-{key}" title="{esc(w["open"])}">'
            f'<span class="rv-src-title">{esc(title)}</span></a>'
            f' <span class="rv-src-where">— {esc(where(h.passage, lang))}</span>'
            f'<div class="rv-src-quote">{esc(notes_as_words(h.best_sentence, h.passage, lang))}</div></li>'
        )
    if not items:
        return ""
    return (f'<div class="rv-related"><div class="rv-related-title">{esc(w["related"])}</div>'
            f'<ul class="rv-related-list">{"".join(items)}</ul></div>')


def render_hits(hits: Sequence[Hit], documents: dict[str, Document], lang: str) -> str:
    """A collapsible table of the retrieved passages with their fused, dense and BM25 scores."""
    w = words(lang)
    rows = []
    for h in hits:
        d = documents.get(h.passage.doc_id)
        rows.append(
            f'<tr><td class="rv-num">{h.rank}</td><td class="rv-doc">{esc(d.title if d else h.passage.doc_id)}</td>'
            f'<td class="rv-where">{esc(where(h.passage, lang))}</td><td class="rv-num">{h.score:.4f}</td>'
            f'<td class="rv-num">{h.dense_score:.4f}</td><td class="rv-num">{h.bm25_score:.3f}</td>'
            f"<td>{esc(h.best_sentence)}</td></tr>"
        )
    head = "".join(f'<th class="rv-num">{esc(w[k])}</th>' if k in ("rank", "fused", "dense", "bm25")
                   else f"<th>{esc(w[k])}</th>" for k in ("rank", "doc", "where", "fused", "dense", "bm25", "sentence"))
    return (f'<details class="rv-hits"><summary>{esc(w["hits"])} ({len(hits)})</summary>'
            f'<table class="rv-hits-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></details>')


def _claim_markers(claim: Claim, turn: int, lang: str, clickable: bool = True) -> str:
    if not claim.markers:
        return '<sup class="rv-ref rv-unsupported">[?]</sup>' if claim.support == "unsupported" else ""
    if not clickable:
        return "".join(f'<sup class="rv-ref"><span class="rv-marker">[{n}]</span></sup>' for n in claim.markers)
    return "".join(_marker_link(turn, n, lang) for n in claim.markers)


def _quoted_claims(answer: Answer, turn: int, lang: str) -> str:
    items = []
    colon = words(lang)["colon"]
    for claim in answer.claims:
        citation = citation_of(answer, claim.markers[0]) if claim.markers else None
        label = who(claim, citation, lang)
        head = f'<span class="rv-who">{esc(label)}</span>{esc(colon)} ' if label else ""
        items.append(f'<li>{head}« {esc(claim.text)} » {_claim_markers(claim, turn, lang)}</li>')
    return f'<ul class="rv-claims">{"".join(items)}</ul>'


def _written_claims(answer: Answer, turn: int, lang: str, clickable: bool = True) -> str:
    blocks: dict[int, list[str]] = {}
    for claim in answer.claims:
        marks = _claim_markers(claim, turn, lang, clickable)
        blocks.setdefault(claim.block, []).append(with_markers(esc(claim.text), marks) if marks else esc(claim.text))
    return "".join(f'<p class="rv-gen-text">{" ".join(parts)}</p>' for _, parts in sorted(blocks.items()))


def render_answer(answer: Answer, turn: int, documents: dict[str, Document], *,
                  show_hits: bool = False, notice: str | None = None) -> str:
    """The assistant's message: the answer's claims with clickable markers, then its sources.

    Quotes are listed with whom they are attributed to; a generated answer is its
    checked prose, labelled as written by a model, with what the check removed; an
    abstention is shown as such, with the closest passages set apart and labelled
    as not cited."""
    lang = answer.language
    w = words(lang)
    notices = [notice] if notice else []
    if answer.composer == "extractive-fallback":
        notices.append(w["fallback"])
    parts = [render_notice(" ".join(notices), "info")] if notices else []
    generated = answer.claims and not all(c.quoted for c in answer.claims)
    if answer.status == "small_talk":
        parts.append(f'<div class="rv-abstain" role="status">{esc(w["small_talk"])}</div>')
    elif answer.abstained:
        parts.append(f'<div class="rv-abstain" role="status">{esc(w["abstain"])}</div>')
        parts.append(render_related(answer.hits, documents, turn, lang))
    elif generated:
        parts.append(f'<div class="rv-gen-label">{esc(w["generated"])}</div>')
        parts.append(_written_claims(answer, turn, lang))
        parts.append(render_sources(answer, turn, lang))
    else:
        parts.append(f'<p class="rv-lead">{esc(lead_in(answer))}</p>')
        parts.append(_quoted_claims(answer, turn, lang))
        parts.append(render_sources(answer, turn, lang))
    if answer.dropped:
        items = "".join(f"<li>{esc(d)}</li>" for d in answer.dropped)
        parts.append(f'<details class="rv-dropped"><summary>{esc(w["dropped"])} ({len(answer.dropped)})'
                     f"</summary><ul>{items}</ul></details>")
    if show_hits and answer.hits:
        parts.append(render_hits(answer.hits, documents, lang))
    kind = " rv-generated" if generated else ""
    return f'<div class="rv-answer{kind}">{"".join(parts)}</div>'


def render_draft(answer: Answer, documents: dict[str, Document], notice: str | None = None) -> str:
    """An answer being written (`rag.compose.generative.draft`): its claims so far with
    their markers, and the passages they name (not yet checked, so not yet clickable)."""
    lang = answer.language
    w = words(lang)
    parts = [render_notice(notice, "info")] if notice else []
    parts.append(f'<div class="rv-writing" role="status">{esc(w["writing"])}</div>')
    parts.append(_written_claims(answer, 0, lang, clickable=False))
    items = []
    for c in answer.citations:
        d = c.document
        items.append(
            f'<li class="rv-source"><span class="rv-src-marker">[{c.marker}]</span> '
            f'<span class="rv-src-title">{esc(d.title)}</span>'
            + (f' <span class="rv-src-byline">— {esc(byline(d))}</span>' if byline(d) else "")
            + f' <span class="rv-src-where">— {esc(where(c.passage, lang))}</span></li>'
        )
    if items:
        parts.append(f'<div class="rv-sources"><div class="rv-sources-title">{esc(w["sources"])}</div>'
                     f'<ol class="rv-source-list">{"".join(items)}</ol></div>')
    return f'<div class="rv-answer rv-draft">{"".join(parts)}</div>'


def _sentence_span(passage: Paragraph, sentence: str) -> tuple[tuple[int, int], ...]:
    at = passage.text.find(sentence)
    return ((at, at + len(sentence)),) if at >= 0 and sentence else ()


def source_refs(answer: Answer, turn: int, documents: dict[str, Document], related: int = RELATED) -> list[SourceRef]:
    """What the answer lets the user open: its citations, or the related passages of an abstention."""
    lang = answer.language
    refs = []
    for c in answer.citations:
        refs.append(SourceRef(
            key=source_key(turn, c.marker),
            label=f"Q{turn} [{c.marker}] {c.document.title} — {where(c.passage, lang)}",
            passage_id=c.passage.id, highlight=tuple((s.start, s.end) for s in c.spans), cited=True, lang=lang,
        ))
    if answer.status == "abstained":
        for h in answer.hits[:related]:
            d = documents.get(h.passage.doc_id)
            refs.append(SourceRef(
                key=source_key(turn, f"r{h.rank}"),
                label=f"Q{turn} ({words(lang)['related']}) {d.title if d else h.passage.doc_id} — {where(h.passage, lang)}",
                passage_id=h.passage.id, highlight=_sentence_span(h.passage, h.best_sentence), cited=False, lang=lang,
            ))
    return refs


# ---------------------------------------------------------------- context panel


def neighbours(passage: Paragraph, document: Document) -> tuple[Paragraph | None, Paragraph | None]:
    """The paragraphs before and after `passage` in its document's body (None at the edges
    and for passages outside the body, such as the metadata card)."""
    body = list(document.paragraphs)
    ids = [p.id for p in body]
    if passage.id not in ids:
        return None, None
    i = ids.index(passage.id)
    return (body[i - 1] if i > 0 else None), (body[i + 1] if i + 1 < len(body) else None)


def _clip(text: str, keep: str) -> str:
    """At most CONTEXT_CHARS of a neighbour, cut on a word at the side away from the passage."""
    if len(text) <= CONTEXT_CHARS:
        return text
    if keep == "end":
        cut = text[-CONTEXT_CHARS:]
        return "… " + cut[cut.find(" ") + 1:]
    cut = text[:CONTEXT_CHARS]
    return cut[: cut.rfind(" ")] + " …"


def _paragraph_label(p: Paragraph, lang: str) -> str:
    return f"¶ {p.n}" if p.n is not None else where(p, lang)


def render_panel(passage: Paragraph, document: Document, spans: Sequence[tuple[int, int]], *,
                 cited: bool = True, marker: str = "", lang: str = "en") -> str:
    """The cited paragraph in context: document title and section, then the paragraph
    before (dimmed), the paragraph with the quoted sentences marked, the paragraph after
    (dimmed), and the notes the paragraph refers to."""
    before, after = neighbours(passage, document)
    status = "" if cited else f'<div class="rv-panel-status">{esc(words(lang)["related"])}</div>'
    head = _one_line([
        '<div class="rv-panel-head">',
        f'<div class="rv-panel-marker">{esc(marker)}</div>' if marker else "",
        f'<div class="rv-panel-title">{esc(document.title)}</div>',
        f'<div class="rv-panel-byline">{esc(byline(document))}</div>' if byline(document) else "",
        f'<div class="rv-panel-section">{esc(where(passage, lang))}</div>',
        "</div>",
    ])
    body = []
    if before is not None:
        body.append(f'<p class="rv-context rv-before"><span class="rv-pn">{esc(_paragraph_label(before, lang))}</span> '
                    f'{esc(_clip(before.text, "end"))}</p>')
    mark_class = "" if cited else "rv-mark-related"
    body.append(f'<p class="rv-focus"><span class="rv-pn">{esc(_paragraph_label(passage, lang))}</span> '
                f'{highlight(passage.text, spans, mark_class)}</p>')
    notes = [f for n in passage.footnotes if (f := document.footnote(n)) is not None]
    if notes:  # right under the paragraph they belong to
        body.append(f'<ul class="rv-fns rv-panel-notes">{"".join(footnote_html(f, lang) for f in notes)}</ul>')
    if after is not None:
        body.append(f'<p class="rv-context rv-after"><span class="rv-pn">{esc(_paragraph_label(after, lang))}</span> '
                    f'{esc(_clip(after.text, "start"))}</p>')
    return f'<div class="rv-panel">{head}{status}{"".join(body)}</div>'


def render_panel_placeholder(lang: str = "en") -> str:
    return f'<div class="rv-panel rv-panel-empty">{esc(words(lang)["placeholder"])}</div>'
