"""Assembly: files read into `Document`s, and what a document offers for citation.

`build_document` runs the steps over a file's page blocks -- zones, furniture,
roles, body, apparatus, metadata -- and records every block it leaves out with
the reason. `ingest_paths` reads many files (`ingest_files` those already found), turning an `IngestError` into an
`IngestIssue` and going on with the others; `citable_passages` lists what a
citation may point to, `metadata_card` the sentence that describes a document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..files import DEFAULT_MAX_BYTES, SourceFile, discover, unsupported
from ..messages import FALLBACK, SPOKEN, words
from ..records import Document, Dropped, Paragraph
from ..text import detect_language, note_calls, note_numbers
from .apparatus import missing_notes, parse_comments, parse_notes, undated_comments
from .blocks import Block, text_blocks, title_text
from .body import body_items, sections_and_paragraphs
from .dates import english_date, find_date, french_date
from .decode import IngestError, read_file
from .docx import read_docx
from .furniture import classify, main_region
from .html import PageMeta, parse_page, read_html
from .html_structure import article_like, parse_html
from .markdown import read_markdown
from .pdf import read_pdf
from .plaintext import looks_like_page_dump, read_plaintext
from .roles import Draft, assign_roles, bio_author, bio_like, citation_site, closing_datelines, split_names
from .structured import Parsed, assemble
from .zones import block_zones


@dataclass(frozen=True)
class IngestIssue:
    """A file that could not be read, or was read with a caveat.

    `message` is one line saying what is wrong; callers print it after the
    path (`f"{issue.path}: {issue.message}"`), which names the file.
    """

    path: str
    message: str


@dataclass(frozen=True)
class Corpus:
    documents: tuple[Document, ...]
    issues: tuple[IngestIssue, ...]


def ingest_paths(paths: Sequence[Path], *, follow_links: bool = False, max_bytes: int | None = DEFAULT_MAX_BYTES) -> Corpus:
    """Read files and folders (a folder gives its supported files, recursively; see `rag.files`).

    A missing path, an unsupported or unreadable file is reported as an issue
    and the other files are still read; so is a file that vanishes meanwhile.
    """
    found = discover(list(paths), follow_links=follow_links, max_bytes=max_bytes)
    corpus = ingest_files(found.files)
    return Corpus(corpus.documents, tuple(IngestIssue(s.path, s.reason) for s in found.skipped) + corpus.issues)


def ingest_files(files: Sequence[SourceFile]) -> Corpus:
    """Read files already found (`rag.files.discover`), each into the document of its id;
    a file that cannot be read is an issue and the others are still read."""
    documents: list[Document] = []
    issues: list[IngestIssue] = []
    for source in files:
        try:
            text, notice = read_file(source.path)
            doc = parse_document(source.path, text, doc_id=source.doc_id)
        except IngestError as e:
            issues.append(IngestIssue(e.path, e.reason))
            continue
        if notice:
            issues.append(IngestIssue(str(source.path), notice))
        documents.append(doc)
    return Corpus(tuple(documents), tuple(issues))


def ingest_file(path: Path) -> Document:
    """Read one file into a Document; raises IngestError with a one-line message naming the file."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, "no such file" if not path.exists() else "not a file")
    text, _notice = read_file(path)
    return parse_document(path, text)


def parse_document(path: Path, text: str, doc_id: str | None = None) -> Document:
    """Parse already-decoded `text`, read from `path` (its suffix tells the format; a .docx
    is read from `path` itself); the document id is `doc_id`, by default the file's stem."""
    suffix = path.suffix.lower()
    doc_id = doc_id or path.stem
    if suffix in (".html", ".htm", ".xhtml"):
        return replace(_html_document(path, text, doc_id), format="html")
    if suffix == ".docx":  # read from the file itself: `text` is not used
        return _structured(path, doc_id, read_docx(path))
    if suffix == ".pdf":  # likewise
        return _structured(path, doc_id, read_pdf(path))
    if suffix in (".md", ".markdown"):
        return _structured(path, doc_id, read_markdown(text))
    if suffix == ".txt" and not looks_like_page_dump(text):
        return _structured(path, doc_id, read_plaintext(text))
    if suffix == ".txt":  # a web page's text dump: the page reading
        blocks, meta = text_blocks(text), PageMeta()
        plain = not any(b.heading for b in blocks)
    else:
        raise IngestError(path, unsupported(suffix))
    doc = build_document(doc_id, str(path), blocks, meta, detect_headings=plain)
    return replace(doc, format="text")


def _structured(path: Path, doc_id: str, parsed: Parsed) -> Document:
    """The document of a file whose reader states its structure (`rag.ingest.structured`)."""
    try:
        return assemble(doc_id, str(path), parsed)
    except IngestError:
        raise
    except ValueError as e:
        raise IngestError(path, str(e)) from None


def _html_document(path: Path, html: str, doc_id: str) -> Document:
    """An HTML page: read by its block structure (`html_structure`), unless it is a news article or blog
    post, read as an article: trafilatura's main content, or the page's own blocks when that yields no
    paragraph."""
    try:
        root = parse_page(html)
        article = article_like(root)
        if not article:
            parsed = parse_html(root)
        else:
            page = read_html(html, missing_notes)
    except ValueError as e:
        raise IngestError(path, str(e)) from None
    if not article:
        try:
            return assemble(doc_id, str(path), parsed)
        except ValueError:
            n = len(parsed.dropped)  # a page of nothing but furniture, or of nothing at all
            left_out = f" ({n} block{'s' * (n > 1)} of page furniture left out)"
            raise IngestError(path, f"no paragraph of text found{left_out}" if n else "no text found") from None
    if page.blocks:
        try:
            doc = build_document(doc_id, str(path), page.blocks, page.meta)
        except IngestError:
            pass  # trafilatura kept nothing the article reading accepts: read the whole page instead
        else:
            return replace(doc, dropped=page.removed + doc.dropped, format="html")
    return replace(build_document(doc_id, str(path), page.page_blocks, page.meta), format="html")


def citable_passages(doc: Document) -> list[Paragraph]:
    """Everything a citation may point to: lead, body, biography and a metadata card; never comments."""
    passages: list[Paragraph] = []
    if doc.lead:
        passages.append(Paragraph(f"{doc.id}:lead", doc.id, doc.lead, kind="lead", footnotes=note_numbers(doc.lead),
                                  calls=note_calls(doc.lead)))
    passages.extend(doc.paragraphs)
    if doc.biography:
        passages.append(Paragraph(f"{doc.id}:bio", doc.id, doc.biography, kind="bio"))
    passages.append(Paragraph(f"{doc.id}:meta", doc.id, metadata_card(doc), kind="meta"))
    return passages


def metadata_card(doc: Document) -> str:
    """One natural sentence in the document's language (English for a language renvoi
    has no words in): title, what it is, authors, date, site.

    An interview is one; a document with an author or a date is an article (someone
    wrote it on a day); anything else — a manual's page, a report — a document."""
    from babel.lists import format_list

    lang = doc.language if doc.language in SPOKEN else FALLBACK
    w = words(lang)
    interview = any(p.kind in ("question", "answer") for p in doc.paragraphs)
    kind = "interview" if interview else "article" if doc.authors or doc.date else "document"
    text = w["quoted"].format(doc.title) + ", " + w[f"card.{kind}"]
    if doc.authors:
        names = format_list(list(doc.authors), locale=lang)  # "A et B", "A, B and C", "A und B"
        text += w["card.with" if interview else "card.by"].format(names=names)
    if doc.date:
        text += w["card.dated"].format(date=card_date(doc.date, lang))
    if doc.site:
        text += w["card.site" if doc.date else "card.site_only"].format(site=doc.site)
    return text + "." + _dateline_sentences(doc)


def card_date(iso: str, lang: str) -> str:
    """A date as the card writes it in `lang` ("1er novembre 2016", "1 November 2016", "1. November 2016")."""
    if lang == "fr":
        return french_date(iso)
    if lang == "en":
        return english_date(iso)
    import datetime

    from babel.dates import format_date

    try:
        return format_date(datetime.date.fromisoformat(iso[:10]), format="long", locale=lang)
    except ValueError:
        return iso


def _dateline_sentences(doc: Document) -> str:
    """The document's closing datelines, verbatim, as sentences following the card."""
    return "".join(f" {d}" if d.endswith((".", "!", "?")) else f" {d}." for d in doc.datelines)


def build_document(doc_id: str, source: str, blocks: Sequence[Block], meta: PageMeta | None = None,
                   detect_headings: bool = False) -> Document:  # fmt: skip
    """Assemble a Document from page blocks: zones, furniture, roles, body, notes, comments."""
    meta = meta or PageMeta()
    if not blocks:
        raise IngestError(source, "no text found")
    zones = block_zones(blocks)
    main = [i for i, z in enumerate(zones) if z == "main"]
    mb = [blocks[i] for i in main]
    draft = Draft()
    first_heading = next((b for b in mb if b.heading), None)
    title_hint = meta.title or (title_text(first_heading) if first_heading else None)
    region = main_region(mb, title_hint)
    extracted = [p for p, b in enumerate(mb) if "extracted" in b.hints and not b.heading]
    if region and extracted:  # an extractor already cut the page to its article: the body runs to the end of what it kept
        region = range(region.start, max(region.stop, extracted[-1] + 1))
    verdicts = classify(mb, title_hint, region=region)
    roles = assign_roles(mb, verdicts, region, meta, draft)
    used: set[int] = set()  # indices into `blocks` that ended up somewhere other than the bin
    used.update(main[p] for p in roles.all() if p != roles.citation)

    why: dict[int, str] = {}  # position in `mb` -> why it was left out
    if roles.citation is not None:
        why[roles.citation] = "citation line (its date and site go to the metadata card)"
    items = body_items(mb, verdicts, roles, region, detect_headings, why)
    sections, paragraphs, positions = sections_and_paragraphs(doc_id, items)
    used.update(main[p] for p in positions)
    if not paragraphs:
        raise IngestError(source, "no paragraph of article text found")

    # Apparatus zones.
    notes_blocks = [blocks[i] for i, z in enumerate(zones) if z == "notes"]
    footnotes = parse_notes(notes_blocks)
    called = {n for p in paragraphs for n in p.footnotes} | set(note_numbers(draft.lead or ""))
    linked = {f.number: f for f in meta.notes if f.number in called}
    if linked:  # an HTML page links its calls to its notes: those elements are the notes, without their back-links
        footnotes = sorted({**{f.number: f for f in footnotes}, **linked}.values(), key=lambda f: f.number)
    used.update(i for i, z in enumerate(zones) if z in ("notes", "notes-label", "bio-label", "comments-label"))
    bio_blocks = [i for i, z in enumerate(zones) if z == "bio"]
    bio_text = " ".join(blocks[i].text for i in bio_blocks).strip()
    if bio_text and bio_like(bio_text):
        draft.biography = bio_text
        used.update(bio_blocks)
    elif bio_text:  # a post-scriptum that is not about the author: it is the article's last word
        paragraphs.append(Paragraph(id=f"{doc_id}:p{len(paragraphs) + 1}", doc_id=doc_id, text=bio_text,
                                    n=len(paragraphs) + 1, section=None, footnotes=note_numbers(bio_text),
                                    calls=note_calls(bio_text)))  # fmt: skip
        used.update(bio_blocks)
    comment_idx = [i for i, z in enumerate(zones) if z == "comments"]
    comments, used_c = parse_comments(doc_id, [blocks[i] for i in comment_idx])
    if not comments:  # HTML comments without a date line: each text the page marks as a comment is one
        comments, used_c = undated_comments(doc_id, [blocks[i] for i in comment_idx])
    used.update(comment_idx[j] for j in used_c)

    # Metadata.
    if not draft.authors and draft.biography:
        author = bio_author(draft.biography)
        if author:
            draft.authors = [author]
    guests = [p.speaker for p in paragraphs if p.kind == "answer" and p.speaker]
    if not draft.authors and guests:
        draft.authors = list(dict.fromkeys(guests))
    date = meta.date
    if not date and roles.dateline is not None:
        date = find_date(mb[roles.dateline].text).day
    citation = mb[roles.citation].text if roles.citation is not None else None
    if not date and citation and find_date(citation):
        date = find_date(citation).day
    datelines = closing_datelines(mb, verdicts, max(positions) + 1, date)  # paragraphs is not empty
    used.update(main[p] for p in datelines)
    site = meta.site
    if not site and citation and draft.title:
        site = citation_site(citation, draft.title)
    if not site:
        site = next((p.speaker for p in paragraphs if p.kind == "question" and p.speaker), None)
    if not draft.authors and citation and draft.title:
        before = citation.replace("’", "'").split(draft.title.replace("’", "'"))[0]
        draft.authors = split_names(before.strip(" ,.«\"“"))
    title = draft.title or doc_id
    if meta.site and title.endswith(meta.site):
        title = re.sub(r"\s*[|–—-]\s*$", "", title[: -len(meta.site)]).strip() or title
    body_text = " ".join(p.text for p in paragraphs)
    language = meta.language if meta.language in ("fr", "en") else detect_language(body_text)
    return Document(
        id=doc_id,
        title=title,
        source=source,
        authors=tuple(dict.fromkeys(draft.authors)),
        date=date,
        site=site,
        language=language,
        lead=draft.lead,
        biography=draft.biography,
        sections=tuple(sections),
        paragraphs=tuple(paragraphs),
        footnotes=tuple(footnotes),
        comments=tuple(comments),
        dropped=_dropped(blocks, zones, main, why, used),
        datelines=tuple(mb[p].text.strip() for p in datelines),
    )


_ZONE_DROPS = {
    "comments": "in the reader comments, not a comment",
    "bio": "in the author zone, not a biography",
    "notes": "in the notes, not a note",
}


def _dropped(blocks: Sequence[Block], zones: Sequence[str], main: Sequence[int], why: dict[int, str],
             used: set[int]) -> tuple[Dropped, ...]:
    """Every block that ended up nowhere, with the reason it was left out."""
    position = {i: p for p, i in enumerate(main)}
    out = []
    for i, b in enumerate(blocks):
        if i in used:
            continue
        if i in position:
            p = position[i]
            reason = why.get(p) or ("heading with no text under it" if b.heading else "not part of the article")
        else:
            reason = _ZONE_DROPS.get(zones[i], f"{zones[i]} zone")
        out.append(Dropped(b.text, reason))
    return tuple(out)
