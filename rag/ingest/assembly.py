"""Read articles (.txt, .md, .html, .htm) into typed `Document` records.

A file becomes a sequence of page blocks (`Block`): blank-line
paragraphs of a markdown or hard-wrapped text, single lines of a text dump of
a web page, the main content and reader comments trafilatura extracts from an
HTML page (with its metadata, and the notes the page links its note calls to;
the page's own block elements read with lxml when trafilatura finds no
article, and nothing is ever fetched: `.html` reads the page). The blocks are split into zones
(article, notes, author biography, reader comments) by their headings or
labels; the article zone goes through the furniture classifier; the kept
blocks are assigned roles -- title, dateline and byline, lead, biography,
citation line -- and the rest becomes the body: page-break splits rejoined,
pull quotes dropped, markdown reduced to plain text, sections from headings,
interview turns typed, footnote markers recorded. Notes and comments are
parsed into `Footnote` and `Comment` records.

It does not embed, index or search, and never special-cases a site: every rule
is a pattern of articles in general. Errors a user can fix raise `IngestError`
(one line naming the file); `ingest_paths` turns them into `IngestIssue`s and
goes on with the other files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..files import DEFAULT_MAX_BYTES, discover, unsupported
from ..records import Comment, Document, Dropped, Footnote, Paragraph, Section
from ..text import detect_language, ends_sentence, normalize_for_match, note_calls, words
from .blocks import NOTE_ITEM, URL, Block, first_url, markdown_to_text, text_blocks, title_text
from .dates import english_date, find_date, french_date
from .decode import IngestError, read_file
from .furniture import (
    Verdict,
    classify,
    is_copyright,
    is_label,
    is_strong_furniture,
    main_region,
    pull_quotes,
    relevance,
    topic_terms,
)
from .html import PageMeta, read_html



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


# --------------------------------------------------------------------------- public API


def ingest_paths(paths: Sequence[Path], *, follow_links: bool = False, max_bytes: int | None = DEFAULT_MAX_BYTES) -> Corpus:
    """Read files and folders (a folder gives its supported files, recursively; see `rag.files`).

    A missing path, an unsupported or unreadable file is reported as an issue
    and the other files are still read; so is a file that vanishes meanwhile.
    """
    found = discover(list(paths), follow_links=follow_links, max_bytes=max_bytes)
    documents: list[Document] = []
    issues: list[IngestIssue] = [IngestIssue(s.path, s.reason) for s in found.skipped]
    for source in found.files:
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
    """Parse already-decoded `text`, read from `path` (its suffix tells the format);
    the document id is `doc_id`, by default the file's stem."""
    suffix = path.suffix.lower()
    doc_id = doc_id or path.stem
    if suffix in (".html", ".htm", ".xhtml"):
        return _html_document(path, text, doc_id)
    if suffix in (".txt", ".md", ".markdown"):
        blocks, meta = text_blocks(text), PageMeta()
        plain = not any(b.heading for b in blocks)
    else:
        raise IngestError(path, unsupported(suffix))
    return build_document(doc_id, str(path), blocks, meta, detect_headings=plain)


def _html_document(path: Path, html: str, doc_id: str) -> Document:
    """An HTML page: trafilatura's main content, or the page's own blocks when that yields no paragraph."""
    try:
        page = read_html(html, _missing_notes)
    except ValueError as e:
        raise IngestError(path, str(e)) from None
    if page.blocks:
        try:
            doc = build_document(doc_id, str(path), page.blocks, page.meta)
        except IngestError:
            pass  # trafilatura kept nothing the article reading accepts: read the whole page instead
        else:
            return replace(doc, dropped=page.removed + doc.dropped)
    return build_document(doc_id, str(path), page.page_blocks, page.meta)


def citable_passages(doc: Document) -> list[Paragraph]:
    """Everything a citation may point to: lead, body, biography and a metadata card; never comments."""
    passages: list[Paragraph] = []
    if doc.lead:
        passages.append(Paragraph(f"{doc.id}:lead", doc.id, doc.lead, kind="lead", footnotes=note_calls(doc.lead)))
    passages.extend(doc.paragraphs)
    if doc.biography:
        passages.append(Paragraph(f"{doc.id}:bio", doc.id, doc.biography, kind="bio"))
    passages.append(Paragraph(f"{doc.id}:meta", doc.id, metadata_card(doc), kind="meta"))
    return passages


def metadata_card(doc: Document) -> str:
    """One natural sentence in the document's language: title, authors, date, site."""
    interview = any(p.kind in ("question", "answer") for p in doc.paragraphs)
    if doc.language == "en":
        names = " and ".join(doc.authors) if len(doc.authors) <= 2 else ", ".join(doc.authors[:-1]) + " and " + doc.authors[-1]
        text = f"“{doc.title}”, " + ("an interview" if interview else "an article")
        if names:
            text += f" with {names}" if interview else f" by {names}"
        if doc.date:
            text += f" published on {english_date(doc.date)}"
        if doc.site:
            text += f" on {doc.site}" if doc.date else f" published on {doc.site}"
        return text + "." + _dateline_sentences(doc)
    names = " et ".join(doc.authors) if len(doc.authors) <= 2 else ", ".join(doc.authors[:-1]) + " et " + doc.authors[-1]
    text = f"« {doc.title} », " + ("entretien" if interview else "article")
    if names:
        text += f" avec {names}" if interview else f" de {names}"
    if doc.date:
        text += (" publié" if not interview else " publié") + f" le {french_date(doc.date)}"
    if doc.site:
        text += f" sur {doc.site}" if doc.date else f" publié sur {doc.site}"
    return text + "." + _dateline_sentences(doc)


def _dateline_sentences(doc: Document) -> str:
    """The document's closing datelines, verbatim, as sentences following the card."""
    return "".join(f" {d}" if d.endswith((".", "!", "?")) else f" {d}." for d in doc.datelines)


# --------------------------------------------------------------------------- HTML (read by .html)


def _missing_notes(main: Sequence[Block], page_blocks: Sequence[Block], linked: Sequence[Footnote]) -> list[Block]:
    """A notes section of the page that trafilatura left out, when the kept text calls notes found nowhere else."""
    called = {n for b in main for n in note_calls(b.text)} - {f.number for f in linked}
    if not called or "notes" in _zones(main):
        return []
    zones = _zones(page_blocks)
    numbers = {f.number for f in _parse_notes([b for b, z in zip(page_blocks, zones) if z == "notes"])}
    if not numbers & called:
        return []
    return [replace(b, text=b.text.rstrip(" ↩↑"), raw=b.raw.rstrip(" ↩↑"), hints=frozenset())
            for b, z in zip(page_blocks, zones) if z in ("notes", "notes-label")]  # fmt: skip


# --------------------------------------------------------------------------- zones

_NOTES_TITLE = re.compile(
    r"^(?:notes?(?: et références| and references| de bas de page)?|références|references|sources|footnotes"
    r"|endnotes|bibliographie|bibliography|renvois)\s*:?$", re.I
)  # fmt: skip
_BIO_TITLE = re.compile(
    r"^(?:p\.?\s?-?\s?s\.?|post-?scriptum|à propos de l'auteur(?:e)?|a propos de l'auteur(?:e)?|l'auteur(?:e)?"
    r"|les auteurs|about the authors?|the authors?|biographie|biography|bio|auteur|author)\s*:?$", re.I
)  # fmt: skip
_COMMENTS_TITLE = re.compile(
    r"^(?:\d+\s+)?(?:commentaires?|comments?|réactions?|reactions?|responses?|discussion)(?:\s*\(\d+\))?\s*:?$", re.I
)  # fmt: skip
_BIO_ROLE = re.compile(
    r"\b(?:enseign\w*|professeur\w*|professor|chercheu\w*|researcher|docteur|doctor|ph\.?d|doctorant\w*"
    r"|directeu\w*|director|journaliste|journalist|écrivain\w*|writer|fondat\w*|founder|chargé\w* de"
    r"|fellow|analyste|analyst|diplômé\w*|graduate|ancien\w*|former|membre|member|dirige|teaches|lecturer"
    r"|maître de conférences|spécialiste|specialist|consultant\w*|éditeur|editor|rédact\w*|correspondant\w*"
    r"|correspondent|économiste|economist|historien\w*|historian|politologue|auteur d\w*|author of)\b",
    re.I,
)


def _zones(blocks: Sequence[Block]) -> list[str]:
    """Per block: 'main', 'notes', 'bio', 'comments', or '<zone>-label' for the heading that opens a zone."""
    zone = ["main"] * len(blocks)
    seen_prose = False
    i = 0
    while i < len(blocks):
        b = blocks[i]
        text = title_text(b)
        short = b.n_words <= 6
        kind = None
        if short and (b.heading or "comment" in b.hints or seen_prose) and _COMMENTS_TITLE.match(text):
            kind = "comments"
        elif short and _NOTES_TITLE.match(text) and (
            b.heading or (i + 1 < len(blocks) and NOTE_ITEM.match(blocks[i + 1].raw or blocks[i + 1].text))
        ):
            kind = "notes"
        elif short and b.heading and _BIO_TITLE.match(text):
            kind = "bio"
        elif short and not b.heading and _BIO_TITLE.match(text) and i + 1 < len(blocks) and seen_prose:
            kind = "bio"
        if kind:
            zone[i] = f"{kind}-label"
            j = i + 1
            # A block the page marks as a reader comment ends a notes or biography zone.
            while j < len(blocks) and not _zone_ends(blocks, i, j, kind) and (
                kind == "comments" or "comment" not in blocks[j].hints
            ):
                zone[j] = kind
                j += 1
            i = j
            continue
        if seen_prose and _is_note_start(b):
            j = i
            while j < len(blocks) and (_is_note_start(blocks[j]) or NOTE_ITEM.match(blocks[j].raw or blocks[j].text)
                                       or _is_url_line(blocks[j])):  # fmt: skip
                zone[j] = "notes"
                j += 1
            i = j
            continue
        if (b.raw or "").lstrip().startswith("[^") and re.match(r"^\s*\[\^\d{1,3}\]:", b.raw):
            zone[i] = "notes"  # a markdown footnote definition, wherever it stands
        if "comment" in b.hints and not b.heading:
            zone[i] = "comments"
        if b.n_words >= 25:
            seen_prose = True
        i += 1
    return zone


def _is_note_start(b: Block) -> bool:
    return bool(re.match(r"^\s*\[\^?1\]:?\s", b.raw or b.text))


def _is_url_line(b: Block) -> bool:
    return bool(URL.search(b.text)) and len(URL.sub("", b.text).split()) <= 2


def _zone_ends(blocks: Sequence[Block], start: int, j: int, kind: str) -> bool:
    b, opener = blocks[j], blocks[start]
    if opener.heading:
        return bool(b.heading) and b.heading <= max(opener.heading, 2) or (kind == "comments" and bool(b.heading))
    if kind == "bio":
        return j > start + 1
    if kind == "notes":
        return not (NOTE_ITEM.match(b.raw or b.text) or _is_url_line(b) or re.match(r"^\d{1,3}[.)]\s", b.text))
    return False  # comments opened by a plain label run to the end of the page


# --------------------------------------------------------------------------- roles

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
_SPEAKER = re.compile(rf"^(?P<label>(?:(?:Dr|Pr|Prof|M|Mme|Mr|Mrs|Ms)\.?\s+)?{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)?{_NAME_WORD}){{0,4}})\s*:\s+(?P<text>\S.*)$", re.S)  # fmt: skip


def normalize_name(name: str) -> str:
    """Natural case for names written in capitals ("Cyrille BRET" -> "Cyrille Bret"), honorifics removed."""
    name = " ".join(name.split()).strip(" ,;")
    name = _HONORIFIC.sub("", name)

    def fix(word: str) -> str:
        if len(word) > 1 and word.isupper() or word.islower() and len(word) > 3:
            return re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), word.lower())
        return word

    return " ".join(fix(w) for w in name.split())


def _split_names(names: str) -> list[str]:
    parts = re.split(r"\s*(?:,|\bet\b|\band\b|&)\s*", names)
    return [normalize_name(p) for p in parts if len(p.split()) >= 2]


def _bio_like(text: str) -> bool:
    return 4 <= len(words(text)) <= 160 and bool(_BIO_ROLE.search(text) or _BIO_START.match(text))


@dataclass
class _Roles:
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
class _Draft:
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


def _find_citation(mb: Sequence[Block], title: str | None, skip: int | None) -> int | None:
    key = normalize_for_match(title or "")
    if len(key.split()) < 3:
        return None
    for p, b in enumerate(mb):
        k = normalize_for_match(b.text)
        if p != skip and not b.heading and k != key and f" {key} " in f" {k} " and 6 <= b.n_words <= 80:
            if find_date(b.text) or re.search(r"\b(1[89]|20)\d\d\b", b.text):
                return p
    return None


def _citation_site(text: str, title: str) -> str | None:
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


def _assign_roles(
    mb: Sequence[Block], verdicts: Sequence[Verdict], region: range, meta: PageMeta, draft: _Draft
) -> _Roles:
    """Find title, citation line, dateline, byline, lead and biography among the article zone's blocks."""
    roles = _Roles()
    roles.title, draft.title = _find_title(mb, region, meta)
    roles.citation = _find_citation(mb, draft.title, roles.title)
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
            roles.citation = _find_citation(mb, draft.title, roles.title)

    # Byline: on the dateline, or next to the title or dateline.
    around = [p for p in (roles.dateline, roles.title) if p is not None]
    candidates = sorted({q for p in around for q in range(p - 1, p + 3) if 0 <= q < len(mb)})
    candidates = [p for p in (roles.dateline, *candidates) if p is not None]
    candidates += [p for p in range(limit) if "byline" in mb[p].hints]
    for p in candidates:
        if p == roles.title or p == roles.citation or mb[p].n_words > 15:
            continue  # a byline is a short line, not a sentence that happens to contain "by"
        m = _BYLINE.search(mb[p].text)
        names = _split_names(m.group("names")) if m else []
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
            or (copies and any(not verdicts[q].furniture for q in copies) and not _bio_like(b.text))
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


# --------------------------------------------------------------------------- body


def _looks_like_heading(text: str, prev: str | None, nxt: str | None) -> bool:
    n = len(words(text))
    if not (1 <= n <= 15) or ends_sentence(text) or text.rstrip().endswith(","):
        return False
    if not (text[:1].isupper() or text[:1].isdigit()):
        return False
    if prev is not None and not ends_sentence(prev):
        return False
    return nxt is not None and len(words(nxt)) >= 20 and nxt[:1].isupper()


def _interview(texts: Sequence[str]) -> tuple[str | None, set[str]]:
    """The interviewer's label and the interviewees' labels, when the body is an interview."""
    labels: list[tuple[str, bool]] = []
    for t in texts:
        m = _SPEAKER.match(t)
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
        m = _SPEAKER.match(t)
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


# --------------------------------------------------------------------------- notes, comments


def _parse_notes(blocks: Sequence[Block]) -> list[Footnote]:
    notes: list[list] = []  # [number, texts, url]
    for b in blocks:
        raw = b.raw or b.text
        m = NOTE_ITEM.match(raw) or re.match(r"^\s*(\d{1,3})[.)]\s+(.*)$", raw)
        if m:
            text, _ = markdown_to_text(m.group(2))
            notes.append([int(m.group(1)), [text] if text else [], first_url(m.group(2))])
        elif notes:
            notes[-1][1].append(b.text)  # continuation: further sources of the same note
            notes[-1][2] = notes[-1][2] or first_url(raw)
    return [Footnote(n, " ".join(texts).strip(), url) for n, texts, url in notes]


def _parse_comments(doc_id: str, blocks: Sequence[Block]) -> tuple[list[Comment], set[int]]:
    """Comments as author line, date line, text lines; returns them and the block indices used."""
    metas: list[int] = []
    for j, b in enumerate(blocks):
        d = find_date(b.text)
        if d and b.n_words <= 12:
            rest = (b.text[: d.start] + " " + b.text[d.end :]).strip(" -–—|,")
            if len(words(rest)) <= 4:
                metas.append(j)
    comments: list[Comment] = []
    used: set[int] = set()
    starts: list[tuple[int, int, str | None, str]] = []  # (first block, meta block, author, date)
    for j in metas:
        d = find_date(blocks[j].text)
        rest = re.sub(r"^(?:le|on|posted|publié)\s+|\s+(?:le|on|à|at|a écrit|wrote|said)\s*:?$", "",
                      (blocks[j].text[: d.start] + " " + blocks[j].text[d.end :]).strip(" -–—|,:"), flags=re.I)  # fmt: skip
        rest = re.sub(r"^\s*(?:à|at|-)?\s*\d{1,2}[:h]\d{2}\s*", "", rest).strip(" -–—|,:")
        author, first = (rest or None), j
        if not author and j > 0 and j - 1 not in metas:
            prev = blocks[j - 1].text.strip()
            if 1 <= len(words(prev)) <= 4 and not re.search(r"[!?:;»]\s*$", prev) and not is_strong_furniture(prev):
                author, first = prev, j - 1
        starts.append((first, j, author, d.iso))
    for k, (first, j, author, date) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(blocks)
        lines = []
        for q in range(j + 1, end):
            if is_strong_furniture(blocks[q].text):
                break
            lines.append(blocks[q].text)
        if not lines:
            continue
        used.update(range(first, j + 1 + len(lines)))
        comments.append(Comment(id=f"{doc_id}:c{len(comments) + 1}", text="\n".join(lines), author=author, date=date))
    return comments, used


def _undated_comments(doc_id: str, blocks: Sequence[Block]) -> tuple[list[Comment], set[int]]:
    """Comments of an HTML page that dates none: every sentence-like block in a comment element, after a name line.

    Only blocks the page marks as comments (the "comment" hint) count, so a text
    file's "Comments" zone -- which holds the comment form as much as comments -- gives none.
    """
    comments: list[Comment] = []
    used: set[int] = set()
    author: tuple[int, str] | None = None
    for j, b in enumerate(blocks):
        if "comment" not in b.hints or b.hints & {"form", "nav", "footer"} or b.heading or is_strong_furniture(b.text):
            author = None
            continue
        ends = re.search(r"[.!?:;…»]\s*$", b.text) and not re.search(r"\b[A-Z]\.\s*$", b.text)  # "Luc B." is a name
        name_like = b.n_words <= 4 and not ends and b.text[:1].isupper()
        if name_like:
            author = (j, b.text.strip())
            continue
        if b.n_words < 3:
            author = None
            continue
        used.add(j)
        if author:
            used.add(author[0])
        comments.append(Comment(id=f"{doc_id}:c{len(comments) + 1}", text=b.text, author=author[1] if author else None))
        author = None
    return comments, used


# --------------------------------------------------------------------------- assembly


_Item = tuple[str, int | None, list[int]]  # (text, heading level or None, positions of its blocks)


def _body_items(
    mb: Sequence[Block], verdicts: Sequence[Verdict], roles: _Roles, region: range, detect_headings: bool,
    why: dict[int, str],
) -> list[_Item]:
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

    items: list[_Item] = []
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
    merged: list[_Item] = []
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


def _sections_and_paragraphs(doc_id: str, items: Sequence[_Item]) -> tuple[list[Section], list[Paragraph], set[int]]:
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
                                    section=section, footnotes=note_calls(text), speaker=speaker))  # fmt: skip
        used.update(ps)
    return sections, paragraphs, used


def build_document(doc_id: str, source: str, blocks: Sequence[Block], meta: PageMeta | None = None,
                   detect_headings: bool = False) -> Document:  # fmt: skip
    """Assemble a Document from page blocks: zones, furniture, roles, body, notes, comments."""
    meta = meta or PageMeta()
    if not blocks:
        raise IngestError(source, "no text found")
    zones = _zones(blocks)
    main = [i for i, z in enumerate(zones) if z == "main"]
    mb = [blocks[i] for i in main]
    draft = _Draft()
    first_heading = next((b for b in mb if b.heading), None)
    title_hint = meta.title or (title_text(first_heading) if first_heading else None)
    region = main_region(mb, title_hint)
    extracted = [p for p, b in enumerate(mb) if "extracted" in b.hints and not b.heading]
    if region and extracted:  # an extractor already cut the page to its article: the body runs to the end of what it kept
        region = range(region.start, max(region.stop, extracted[-1] + 1))
    verdicts = classify(mb, title_hint, region=region)
    roles = _assign_roles(mb, verdicts, region, meta, draft)
    used: set[int] = set()  # indices into `blocks` that ended up somewhere other than the bin
    used.update(main[p] for p in roles.all() if p != roles.citation)

    why: dict[int, str] = {}  # position in `mb` -> why it was left out
    if roles.citation is not None:
        why[roles.citation] = "citation line (its date and site go to the metadata card)"
    items = _body_items(mb, verdicts, roles, region, detect_headings, why)
    sections, paragraphs, positions = _sections_and_paragraphs(doc_id, items)
    used.update(main[p] for p in positions)
    if not paragraphs:
        raise IngestError(source, "no paragraph of article text found")

    # Apparatus zones.
    notes_blocks = [blocks[i] for i, z in enumerate(zones) if z == "notes"]
    footnotes = _parse_notes(notes_blocks)
    called = {n for p in paragraphs for n in p.footnotes} | set(note_calls(draft.lead or ""))
    linked = {f.number: f for f in meta.notes if f.number in called}
    if linked:  # an HTML page links its calls to its notes: those elements are the notes, without their back-links
        footnotes = sorted({**{f.number: f for f in footnotes}, **linked}.values(), key=lambda f: f.number)
    used.update(i for i, z in enumerate(zones) if z in ("notes", "notes-label", "bio-label", "comments-label"))
    bio_blocks = [i for i, z in enumerate(zones) if z == "bio"]
    bio_text = " ".join(blocks[i].text for i in bio_blocks).strip()
    if bio_text and _bio_like(bio_text):
        draft.biography = bio_text
        used.update(bio_blocks)
    elif bio_text:  # a post-scriptum that is not about the author: it is the article's last word
        paragraphs.append(Paragraph(id=f"{doc_id}:p{len(paragraphs) + 1}", doc_id=doc_id, text=bio_text,
                                    n=len(paragraphs) + 1, section=None, footnotes=note_calls(bio_text)))  # fmt: skip
        used.update(bio_blocks)
    comment_idx = [i for i, z in enumerate(zones) if z == "comments"]
    comments, used_c = _parse_comments(doc_id, [blocks[i] for i in comment_idx])
    if not comments:  # HTML comments without a date line: each text the page marks as a comment is one
        comments, used_c = _undated_comments(doc_id, [blocks[i] for i in comment_idx])
    used.update(comment_idx[j] for j in used_c)

    # Metadata.
    if not draft.authors and draft.biography:
        m = _BIO_START.match(draft.biography)
        if m:
            draft.authors = [normalize_name(m.group("name"))]
    guests = [p.speaker for p in paragraphs if p.kind == "answer" and p.speaker]
    if not draft.authors and guests:
        draft.authors = list(dict.fromkeys(guests))
    date = meta.date
    if not date and roles.dateline is not None:
        date = find_date(mb[roles.dateline].text).day
    citation = mb[roles.citation].text if roles.citation is not None else None
    if not date and citation and find_date(citation):
        date = find_date(citation).day
    datelines = _closing_datelines(mb, verdicts, max(positions) + 1, date)  # paragraphs is not empty
    used.update(main[p] for p in datelines)
    site = meta.site
    if not site and citation and draft.title:
        site = _citation_site(citation, draft.title)
    if not site:
        site = next((p.speaker for p in paragraphs if p.kind == "question" and p.speaker), None)
    if not draft.authors and citation and draft.title:
        before = citation.replace("’", "'").split(draft.title.replace("’", "'"))[0]
        draft.authors = _split_names(before.strip(" ,.«\"“"))
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


def _closing_datelines(mb: Sequence[Block], verdicts: Sequence[Verdict], start: int,
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
