"""The typed records that flow through renvoi, from ingestion to the cited answer.

Ingestion makes `Document`s of `Paragraph`s (passages) with their `Footnote`s
and the `NoteCall`s that point to them; the query stage makes a `Query`;
retrieval returns `Hit`s and the `Evidence` the composers read; a composer
returns an `Answer` of `Claim`s, each with the `Span`s it quotes and the
markers of its `Citation`s. Renderers (`rag.render`) write prose from these
records; nothing parses text back. Serialisation to JSON-ready dicts lives
here too (`to_dict`), so the command line, the HTTP API, the index manifest and
the chat page agree on field names. This module holds no logic beyond that.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Kinds of a passage. Body paragraphs are "text" (plain prose), "question" or
# "answer" (interview turns); "lead", "bio" and "meta" are citable but sit
# outside the body numbering; "comment" is reader content, never article content.
BODY_KINDS = ("text", "question", "answer")
PASSAGE_KINDS = (*BODY_KINDS, "lead", "bio", "meta", "comment")


# Version of what ingestion makes of a file, raised whenever the same file would
# give other documents or passages, so that an index built by an older parser is
# rebuilt (it is part of the corpus hash). Here, not in rag/ingest/, because
# answering from a built index must not import the parser. 2: closing datelines;
# 3: a wrapped note call after another stays in its paragraph; 4: note calls by offset;
# 5: a body paragraph naming the title and a year stays a paragraph (not a citation line);
# 6: HTML pages that are not news articles read by their block structure (rag.ingest.html_structure);
# 7: Markdown and laid-out plain text read by their structure (ingest/markdown.py, ingest/plaintext.py),
#    PDF read from its glyphs (ingest/pdf.py).
PARSER_VERSION = 7


@dataclass(frozen=True)
class Footnote:
    """A note of the article, as the article numbers it."""

    number: int
    text: str
    url: str | None = None


@dataclass(frozen=True)
class NoteCall:
    """Where a passage calls one of its document's notes: `text[start:end]` is the call ("[3]")."""

    number: int
    start: int
    end: int


@dataclass(frozen=True)
class Section:
    """A section heading of the article body, in order (n is 1-based)."""

    n: int
    title: str


@dataclass(frozen=True)
class Paragraph:
    """One citable unit of a document.

    Body paragraphs have ids `<doc_id>:p<n>` with n their 1-based position in
    the body; the lead is `<doc_id>:lead`, the author biography `<doc_id>:bio`,
    the metadata card `<doc_id>:meta`, comments `<doc_id>:c<n>`.
    """

    id: str
    doc_id: str
    text: str
    kind: str = "text"
    n: int | None = None  # position in the body; None outside the body
    section: str | None = None
    footnotes: tuple[int, ...] = ()  # the numbers of the notes it calls, in order
    speaker: str | None = None  # interview turns and comments
    calls: tuple[NoteCall, ...] = ()  # where in `text` it calls them
    page: int | None = None  # page of a paged document (PDF) where it starts
    language: str | None = None  # ISO 639-1 code of its own language, when detected
    # What a reader needs to understand it and is not part of it: a list item's
    # lead-in, a table row's header, a definition's term. Searched with it, never quoted.
    context: str | None = None

    @classmethod
    def from_dict(cls, d: dict) -> "Paragraph":
        return cls(**{**d, "footnotes": tuple(d.get("footnotes", ())),
                      "calls": tuple(NoteCall(**c) for c in d.get("calls", ()))})

    def __post_init__(self) -> None:
        if self.kind not in PASSAGE_KINDS:
            raise ValueError(f"unknown paragraph kind {self.kind!r}; allowed: {', '.join(PASSAGE_KINDS)}")


@dataclass(frozen=True)
class Dropped:
    """A block of the file that ingestion left out, with why ("furniture: short-line run,
    repeated", "duplicate pull quote"…): `inspect` shows them so a reader can check."""

    text: str
    reason: str


@dataclass(frozen=True)
class Comment:
    """A reader's comment: kept apart from the article and never cited as it."""

    id: str
    text: str
    author: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class Document:
    """An ingested article with its metadata, body and apparatus."""

    id: str
    title: str
    source: str  # path the document was read from
    authors: tuple[str, ...] = ()
    date: str | None = None  # ISO 8601 (YYYY-MM-DD)
    site: str | None = None  # publication or website
    language: str = "fr"
    lead: str | None = None
    biography: str | None = None
    sections: tuple[Section, ...] = ()
    paragraphs: tuple[Paragraph, ...] = ()  # the body, in order
    footnotes: tuple[Footnote, ...] = ()
    comments: tuple[Comment, ...] = ()
    dropped: tuple[Dropped, ...] = ()  # blocks left out, with the reason
    format: str = "text"  # what it was read as: "html", "markdown", "text", "pdf", "docx"
    url: str | None = None  # where it is published, when the document says
    # Lines after the body that date the text otherwise than its publication
    # ("Manuscrit clos le 10 novembre 2016"), verbatim: the metadata card quotes them.
    datelines: tuple[str, ...] = ()

    def footnote(self, number: int) -> Footnote | None:
        return next((f for f in self.footnotes if f.number == number), None)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["n_dropped"] = len(self.dropped)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Document":
        """Inverse of `to_dict` (JSON turns tuples into lists; this turns them back)."""
        d = {k: v for k, v in d.items() if k != "n_dropped"}
        return cls(
            **{
                **d,
                "authors": tuple(d.get("authors", ())),
                "sections": tuple(Section(**s) for s in d.get("sections", ())),
                "paragraphs": tuple(Paragraph.from_dict(p) for p in d.get("paragraphs", ())),
                "footnotes": tuple(Footnote(**f) for f in d.get("footnotes", ())),
                "comments": tuple(Comment(**c) for c in d.get("comments", ())),
                "datelines": tuple(d.get("datelines", ())),
                # an older index stored only the count
                "dropped": tuple(Dropped(**x) for x in d.get("dropped", ()) if isinstance(x, dict)),
            }
        )


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with its scores and its best sentence."""

    rank: int
    passage: Paragraph
    score: float  # fused score (the ranking's, unless a reranker reordered the hits)
    dense_score: float
    bm25_score: float
    best_sentence: str
    rerank_score: float | None = None  # the reranker's score, which then gives the rank
    # The reranker's score of each of the passage's indexed sentences, in order (none
    # without a reranker): the extractive composer quotes by them.
    sentence_scores: tuple[float, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict:
        p = self.passage
        return {
            "rank": self.rank,
            "passage_id": p.id,
            "doc_id": p.doc_id,
            "paragraph": p.n,
            "section": p.section,
            "text": p.text,
            "best_sentence": self.best_sentence,
            "score": round(self.score, 6),
            "dense_score": round(self.dense_score, 6),
            "bm25_score": round(self.bm25_score, 6),
            "rerank_score": None if self.rerank_score is None else round(self.rerank_score, 6),
        }


@dataclass(frozen=True)
class Sentence:
    """A sentence of a passage: `passage.text[start:end] == text`."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, eq=False)
class Evidence:
    """A retrieved passage as the composers read it: its hit (rank and scores), its
    document, its sentences with their unit vectors, and the notes it calls."""

    hit: Hit
    document: Document
    sentences: tuple[Sentence, ...]
    vectors: Any  # numpy array (len(sentences), dim), unit rows
    notes: tuple[Footnote, ...] = ()

    @property
    def passage(self) -> Paragraph:
        return self.hit.passage


@dataclass(frozen=True)
class Query:
    """A question as renvoi understood it, before retrieval.

    `resolved` is what retrieval searches (a follow-up read together with the
    question it follows); `intents` name what the question asks about the
    document itself ("author", "date", "outlet", "title", "affiliation") and
    whether it asks for sources ("sources"); `named_document` is the one
    document it names by author or outlet; `unknown_years` are years it names
    that no passage mentions."""

    text: str
    resolved: str
    language: str
    intents: frozenset[str] = frozenset()
    named_document: str | None = None
    unknown_years: tuple[str, ...] = ()
    small_talk: bool = False
    vector: Any = field(default=None, compare=False, repr=False)  # numpy (dim,), set by the pipeline
    # Mean and spread of its similarity to the corpus's sentences, set by the pipeline:
    # a sentence's similarity is judged against them, whatever the embedder's scale.
    background: tuple[float, float] | None = None


@dataclass(frozen=True)
class Span:
    """A piece of a passage an answer quotes: `text == passage.text[start:end]`."""

    passage_id: str
    start: int
    end: int
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Attribution:
    """Who says what a claim quotes: the document's `author`, or an interview's
    `speaker` (`asks`: the interviewer's question)."""

    name: str
    role: str  # "author" or "speaker"
    asks: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Claim:
    """One statement of an answer: its text, the spans of the passages that support
    it, the markers of the citations it carries, and who it is attributed to.
    An extractive claim is a verbatim quote (`text == spans[0].text`); a generated
    one is the model's sentence, its spans the passage sentences that support it."""

    text: str
    spans: tuple[Span, ...]
    markers: tuple[int, ...]
    attribution: Attribution | None = None
    quoted: bool = True
    block: int = 0  # paragraph of the answer it belongs to (generated answers)
    # "supported"; "unsupported" (a generated sentence kept under the "flag" policy,
    # without markers); "caveat" (a generated "the passages do not say…")
    support: str = "supported"

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "markers": list(self.markers),
            "quoted": self.quoted,
            "support": self.support,
            "attribution": self.attribution.to_dict() if self.attribution else None,
            "spans": [s.to_dict() for s in self.spans],
        }


@dataclass(frozen=True)
class Citation:
    """What a marker `[n]` in an answer points to."""

    marker: int
    passage: Paragraph
    document: Document
    quote: str  # the sentence(s) quoted from the passage, joined by " … "
    footnotes: tuple[Footnote, ...] = ()
    spans: tuple[Span, ...] = ()  # the quoted sentences, with their offsets

    def to_dict(self) -> dict:
        d, p = self.document, self.passage
        return {
            "marker": self.marker,
            "passage_id": p.id,
            "doc_id": d.id,
            "title": d.title,
            "authors": list(d.authors),
            "date": d.date,
            "section": p.section,
            "paragraph": p.n,
            "quote": self.quote,
            "text": p.text,
            "footnotes": [asdict(f) for f in self.footnotes],
            "spans": [s.to_dict() for s in self.spans],
        }


ENTAILMENT_LABELS = ("entailment", "neutral", "contradiction")


@dataclass(frozen=True)
class Entailment:
    """An NLI model's judgement of a claim (hypothesis) against a passage (premise):
    the probability that the passage entails it, contradicts it, or neither."""

    entailment: float
    contradiction: float = 0.0
    neutral: float = 0.0

    @property
    def label(self) -> str:
        """The most probable judgement: "entailment", "neutral" or "contradiction"."""
        return max(ENTAILMENT_LABELS, key=lambda name: getattr(self, name))


@dataclass(frozen=True)
class Turn:
    """A past exchange of a conversation, used to resolve follow-ups."""

    question: str
    answer: str = ""  # the answer as the reader saw it (a language model is shown it)
    resolved: str | None = None  # the question as it was resolved for retrieval
    passage_ids: tuple[str, ...] = ()  # what the answer cited


@dataclass(frozen=True)
class Received:
    """A file given to an index (the chat page's upload): the document it became, or why
    it was left out (one line)."""

    name: str
    doc_id: str | None = None
    problem: str | None = None


STATUSES = ("answered", "abstained", "small_talk")


@dataclass(frozen=True)
class Answer:
    """A composed answer: its status, language and claims, the citations their
    markers map to, and what was retrieved (passages not cited are related ones).

    `status`: "answered"; "abstained" (the documents do not answer: nothing is
    cited, the closest passages are listed as related); "small_talk" (a greeting:
    nothing retrieved)."""

    question: str
    status: str
    language: str
    claims: tuple[Claim, ...] = ()
    citations: tuple[Citation, ...] = ()
    hits: tuple[Hit, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    resolved_question: str | None = None  # the follow-up rewritten against the conversation
    # Who wrote the text: "extractive" (quotes), "generative" (a language model,
    # citations checked) or "extractive-fallback" (the generated text had no valid citation).
    composer: str = "extractive"
    dropped: tuple[str, ...] = ()  # what the checks removed from a generated answer, each with its reason
    show_notes: bool = False  # the question asks for sources: show the cited passages' notes

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown answer status {self.status!r}; allowed: {', '.join(STATUSES)}")

    @property
    def abstained(self) -> bool:
        """True when nothing is cited: an abstention or a reply to small talk."""
        return self.status != "answered"

    @property
    def cited_ids(self) -> tuple[str, ...]:
        return tuple(c.passage.id for c in self.citations)

    def to_dict(self) -> dict:
        """The answer's data (`rag.render.json` adds its text as the reader sees it)."""
        cited = set(self.cited_ids)
        return {
            "question": self.question,
            "status": self.status,
            "language": self.language,
            "abstained": self.abstained,
            "claims": [c.to_dict() for c in self.claims],
            "citations": [c.to_dict() for c in self.citations],
            "passages": [{**h.to_dict(), "cited": h.passage.id in cited} for h in self.hits],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "composer": self.composer,
            "dropped": list(self.dropped),
            "resolved_question": self.resolved_question,
        }
