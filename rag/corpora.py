"""Evaluation corpora: where they are, and how well ingestion keeps their text.

A corpus is a folder `eval/corpora/<name>/` with `docs/` (the documents),
`questions.jsonl` (the question set) and `labels.jsonl` (each visible block of
each document labelled "content" or "furniture"); the seeds are the corpus
"seeds" (`seeds/` with `eval/questions.jsonl`, no labels). `ingestion_scores`
says how much of a corpus survives ingestion as a reader would cite it: the
gold quotes found verbatim in one passage, the content sentences kept, and the
furniture blocks that leaked into passages. Pure functions over records and
files; `renvoi eval` prints them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .records import Document, Paragraph
from .text import cut_sentences

SEEDS = "seeds"


@dataclass(frozen=True)
class CorpusFiles:
    name: str
    docs: Path
    questions: Path
    labels: Path | None = None


def corpora(root: Path) -> dict[str, CorpusFiles]:
    """The corpora of a project at `root`: the seeds, then eval/corpora/* in name order."""
    out = {SEEDS: CorpusFiles(SEEDS, root / "seeds", root / "eval" / "questions.jsonl")}
    base = root / "eval" / "corpora"
    for folder in sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else ():
        labels = folder / "labels.jsonl"
        out[folder.name] = CorpusFiles(folder.name, folder / "docs", folder / "questions.jsonl",
                                       labels if labels.is_file() else None)
    return out


@dataclass(frozen=True)
class Label:
    doc_id: str
    text: str
    label: str  # "content" or "furniture"


def load_labels(path: Path) -> list[Label]:
    """The labels of a corpus; ValueError naming the line of a malformed one."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            label = Label(obj["doc_id"], obj["text"], obj["label"])
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}:{n}: malformed label ({e})") from None
        if label.label not in ("content", "furniture"):
            raise ValueError(f"{path}:{n}: unknown label {label.label!r}; allowed: content, furniture")
        out.append(label)
    return out


@dataclass(frozen=True)
class IngestionScores:
    """How much of a corpus ingestion keeps (None where the corpus has no labels)."""

    quotes: int
    quotes_found: int
    content_sentences: int | None = None
    content_kept: int | None = None
    furniture_blocks: int | None = None
    furniture_leaked: int | None = None
    lost_quotes: tuple[str, ...] = field(default=(), repr=False)
    lost_content: tuple[str, ...] = field(default=(), repr=False)
    leaked_furniture: tuple[str, ...] = field(default=(), repr=False)

    def rates(self) -> dict[str, float | None]:
        def rate(a: int | None, b: int | None) -> float | None:
            return None if a is None or not b else a / b

        return {
            "gold_quotes_in_one_passage": rate(self.quotes_found, self.quotes),
            "content_sentences_kept": rate(self.content_kept, self.content_sentences),
            "furniture_blocks_leaked": rate(self.furniture_leaked, self.furniture_blocks),
        }


_MARKUP_START = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+|>\s*|\[\^\d+\]:\s*)")


def _plain(label_text: str, markdown: bool = False) -> str:
    """A label's text without the Markdown syntax some labels keep (headings, bullets, emphasis).

    A Markdown document's labels are its source: read as CommonMark reads them (code
    spans verbatim, backslash escapes, link text and autolinks, emphasis only where
    it delimits), note calls `[^n]` left out; `__init__` in another document's
    label is a name, not emphasis."""
    if markdown:
        return _markdown_text(_MARKUP_START.sub("", label_text))
    return _MARKUP_START.sub("", label_text)


def _markdown_text(source: str) -> str:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.footnote import footnote_plugin

    pieces: list[str] = []
    for token in MarkdownIt("commonmark").use(footnote_plugin, always_match_refs=True).parse(source):
        for child in token.children or ():
            if child.type in ("text", "code_inline"):
                pieces.append(child.content)
            elif child.type in ("softbreak", "hardbreak", "footnote_ref"):
                pieces.append(" ")
    return " ".join("".join(pieces).split())


def ingestion_scores(documents: Mapping[str, Document], passages: Sequence[Paragraph],
                     quotes: Iterable[tuple[str, str]], labels: Sequence[Label] | None,
                     normalise) -> IngestionScores:
    """Gold quotes (doc id, quote) found verbatim (normalised) in one passage or note of
    their document; content sentences of the labels found in the document's passages,
    contexts, section titles, title or notes; furniture blocks of four words or more
    that a passage holds (the metadata card, which renvoi writes, aside)."""
    by_doc: dict[str, list[str]] = {}
    for p in passages:
        by_doc.setdefault(p.doc_id, []).append(normalise(p.text))
    kept: dict[str, str] = {}
    for doc_id, d in documents.items():
        pieces = [d.title, *(s.title for s in d.sections), *(f"{f.text} {f.url or ''}" for f in d.footnotes),
                  *(p.context or "" for p in d.paragraphs)]
        kept[doc_id] = " \n ".join([*by_doc.get(doc_id, []), *(normalise(x) for x in pieces if x)])
    notes = {doc_id: [normalise(f"{f.text} {f.url or ''}") for f in d.footnotes] for doc_id, d in documents.items()}
    quotes = list(quotes)
    lost_quotes = [q for doc_id, q in quotes
                   if not any(normalise(q) in t for t in (*by_doc.get(doc_id, []), *notes.get(doc_id, [])))]
    if labels is None:
        return IngestionScores(len(quotes), len(quotes) - len(lost_quotes), lost_quotes=tuple(lost_quotes))
    def plain(lab: Label) -> str:
        doc = documents.get(lab.doc_id)
        return _plain(lab.text, markdown=doc is not None and doc.format == "markdown")

    sentences = [(lab.doc_id, s) for lab in labels if lab.label == "content"
                 for s in cut_sentences(plain(lab)) if len(s.split()) >= 2]
    lost = [s for doc_id, s in sentences if normalise(s) not in kept.get(doc_id, "")]
    furniture = [lab for lab in labels if lab.label == "furniture" and len(lab.text.split()) >= 4]
    # the metadata card repeats the title renvoi read, which a page's navigation may show too
    written = {}
    for p in passages:
        if p.kind != "meta":
            written.setdefault(p.doc_id, []).append(normalise(p.text))
    leaked = [lab.text for lab in furniture
              if any(normalise(plain(lab)) in t for t in written.get(lab.doc_id, []))]
    return IngestionScores(len(quotes), len(quotes) - len(lost_quotes), len(sentences), len(sentences) - len(lost),
                           len(furniture), len(leaked), tuple(lost_quotes), tuple(lost), tuple(leaked))
