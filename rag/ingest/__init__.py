"""Ingestion: articles (.txt, .md, .html) read into typed `Document` records.

A file is decoded (`decode`) and becomes a sequence of page blocks: blank-line
paragraphs of a markdown or hard-wrapped text, single lines of a text dump of
a web page (`blocks`), or the main content and reader comments trafilatura
extracts from an HTML page, with its metadata and the notes it links its note
calls to, the page's own block elements read with lxml when trafilatura finds
no article (`html`; nothing is ever fetched). An HTML page that is not a news
article or blog post is read by its block structure instead
(`html_structure`, a `structured.Parsed` that `structured.assemble` makes a
`Document`). The blocks are split into zones
-- article, notes, author biography, reader comments -- by their headings or
labels (`zones`); the article zone goes through the furniture classifier
(`furniture`); the kept blocks are given roles -- title, dateline and byline,
lead, biography, citation line (`roles`) -- and the rest becomes the body:
page-break splits rejoined, pull quotes dropped, sections from headings,
interview turns typed, footnote calls recorded (`body`). Notes and comments
are parsed into `Footnote` and `Comment` records (`apparatus`); dates are
found and written out by `dates`; `assembly` runs it all.

Markdown (`markdown`) and plain text laid out for reading -- hard-wrapped
prose, manual pages, pandoc's plain output (`plaintext`) -- state their
structure: their readers return a `structured.Parsed`, which
`structured.assemble` turns into a `Document`; a .txt that is a web page's
text dump (`plaintext.looks_like_page_dump`) is read as a page.

It does not embed, index or search, and never special-cases a site: every rule
is a pattern of articles in general. Errors a user can fix raise `IngestError`
(one line naming the file); `ingest_paths` turns them into `IngestIssue`s and
goes on with the other files. This file only re-exports.

A Word document (.docx) states its own structure: `docx` reads it into the
parts, notes and metadata of `structured`, which assembles the document.
"""

from .assembly import (
    Corpus,
    IngestIssue,
    build_document,
    citable_passages,
    ingest_file,
    ingest_paths,
    metadata_card,
    parse_document,
)
from .blocks import Block, markdown_to_text, text_blocks
from .dates import DateMatch, find_date
from .decode import IngestError, decode_text, read_file
from .furniture import Verdict, Weights, classify, is_label, main_region, pull_quotes
from .html import HtmlPage, PageMeta, read_html
from .roles import normalize_name

__all__ = [
    "Block",
    "Corpus",
    "DateMatch",
    "HtmlPage",
    "IngestError",
    "IngestIssue",
    "PageMeta",
    "Verdict",
    "Weights",
    "build_document",
    "citable_passages",
    "classify",
    "decode_text",
    "find_date",
    "ingest_file",
    "ingest_paths",
    "is_label",
    "main_region",
    "markdown_to_text",
    "metadata_card",
    "normalize_name",
    "parse_document",
    "pull_quotes",
    "read_file",
    "read_html",
    "text_blocks",
]
