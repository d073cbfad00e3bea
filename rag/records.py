"""The typed records that flow through renvoi, from ingestion to the cited answer.

Every stage takes and returns these frozen dataclasses; none passes bare tuples
or dicts to the next. Serialisation to JSON-ready dicts lives here too
(`to_dict`), so the command line, the index manifest and the chat page agree on
field names. This module holds no logic beyond that.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Kinds of a passage. Body paragraphs are "text" (plain prose), "question" or
# "answer" (interview turns); "lead", "bio" and "meta" are citable but sit
# outside the body numbering; "comment" is reader content, never article content.
BODY_KINDS = ("text", "question", "answer")
PASSAGE_KINDS = (*BODY_KINDS, "lead", "bio", "meta", "comment")


# Version of what ingestion makes of a file, raised whenever the same file would
# give other documents or passages, so that an index built by an older parser is
# rebuilt (it is part of the corpus hash). Here, not in rag/ingest/, because
# answering from a built index must not import the parser. 2: closing datelines;
# 3: a wrapped note call after another stays in its paragraph.
PARSER_VERSION = 3


@dataclass(frozen=True)
class Footnote:
    """A note of the article, as the article numbers it."""

    number: int
    text: str
    url: str | None = None


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
    footnotes: tuple[int, ...] = ()
    speaker: str | None = None  # interview turns and comments

    @classmethod
    def from_dict(cls, d: dict) -> "Paragraph":
        return cls(**{**d, "footnotes": tuple(d.get("footnotes", ()))})

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
    score: float  # fused score used for the ranking
    dense_score: float
    bm25_score: float
    best_sentence: str

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
        }


@dataclass(frozen=True)
class Citation:
    """What a marker `[n]` in an answer points to."""

    marker: int
    passage: Paragraph
    document: Document
    quote: str  # the sentence(s) quoted from the passage
    footnotes: tuple[Footnote, ...] = ()

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
        }


@dataclass(frozen=True)
class Turn:
    """A past exchange of a conversation, used to resolve follow-ups."""

    question: str
    answer: str = ""
    resolved: str | None = None  # the question as it was resolved for retrieval
    passage_ids: tuple[str, ...] = ()  # what the answer cited


@dataclass(frozen=True)
class Answer:
    """A composed answer: text with markers, the citations they map to, and what was retrieved."""

    question: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    hits: tuple[Hit, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    resolved_question: str | None = None  # the follow-up rewritten against the conversation
    # Who wrote the text: "extractive" (quotes), "generative" (a language model,
    # citations checked) or "extractive-fallback" (the generated text had no valid citation).
    composer: str = "extractive"
    dropped: tuple[str, ...] = ()  # what the checks removed from a generated answer, each with its reason

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [h.to_dict() for h in self.hits],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "composer": self.composer,
            "dropped": list(self.dropped),
        }
