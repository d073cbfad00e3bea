"""Ingestion: files read into typed `Document` records. This package only re-exports."""

from .assembly import (
    Corpus,
    IngestError,
    IngestIssue,
    build_document,
    citable_passages,
    decode_text,
    ingest_file,
    ingest_paths,
    markdown_to_text,
    metadata_card,
    normalize_name,
    parse_document,
    text_blocks,
)
from .dates import DateMatch, find_date
from .furniture import Block, Verdict, Weights, classify, is_label, main_region, pull_quotes
from .html import HtmlPage, PageMeta, read_html

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
    "read_html",
    "text_blocks",
]
