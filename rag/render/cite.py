"""A passage's reference, in the style a reader pastes: text, Markdown, BibTeX or CSL-JSON.

`cite(citation, style, lang)` writes the reference of a `Citation` — a source
of an answer, or `passage_citation(passage, document, quote)` for a passage
alone (`renvoi cite`) — from its records only: the document's title, authors,
date, site and URL when known, where the passage stands (section, ¶ n, or the
page of a PDF), the quoted sentence, and the document's notes the quote calls.

- `text`: in the reader's language (quotation marks, labels, the date written
  by Babel), the reference on one line, the quote, one line per note;
- `markdown`: the same, the title linked to the document's URL, the quote as a
  block quote and the notes as a list (not footnotes, whose labels would clash
  in the reader's own file);
- `bibtex`: one `@misc` entry (BibTeX and biblatex fields, LaTeX specials
  escaped), the place in `note`, the page of a PDF in `pages`, the quote and
  its notes in `annote`;
- `csl-json`: a list of one CSL item (what Zotero, pandoc and citeproc read),
  the same fields under CSL's names.

BibTeX keys and CSL ids are the same: first author's family name, year, a word
of the title, the passage's part of its id ("bret2016trump-p15").
"""

from __future__ import annotations

import json
import re
import unicodedata

from ..messages import SPOKEN, words
from ..records import Citation, Document, Footnote, Paragraph, Span
from .html import safe_url
from .markdown import md_escape, note_line, reference_line
from .text import authors_words, calls_in, date_words, locator

STYLES = ("text", "markdown", "bibtex", "csl-json")

_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
# Lower-case words that begin a family name ("Charles de Gaulle"), as BibTeX reads names.
_PARTICLE = re.compile(r"^[a-z][a-z'’]*$")
_BIB_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
                "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def check_style(style: str) -> str:
    if style not in STYLES:
        raise ValueError(f"unknown citation style {style!r}; allowed: {', '.join(STYLES)}")
    return style


def check_lang(lang: str) -> str:
    if lang not in SPOKEN:
        raise ValueError(f"unknown language {lang!r}; allowed: {', '.join(SPOKEN)}")
    return lang


def passage_citation(passage: Paragraph, document: Document, quote: str | None = None) -> Citation:
    """A citation of `passage` alone: of `quote` (a piece of its text, e.g. its best
    sentence) with the notes that piece calls, or of the whole passage with all its notes."""
    if quote is None or not quote.strip():
        notes = tuple(f for n in passage.footnotes if (f := document.footnote(n)) is not None)
        span = Span(passage.id, 0, len(passage.text), passage.text)
        return Citation(1, passage, document, passage.text, notes, (span,))
    quote = quote.strip()
    at = passage.text.find(quote)
    if at < 0:
        raise ValueError(f"the quote is not in passage {passage.id}: give a piece of its text as it is written")
    span = Span(passage.id, at, at + len(quote), quote)
    return Citation(1, passage, document, quote, calls_in(quote, passage, document), (span,))


def cite(citation: Citation, style: str = "text", lang: str = "en") -> str:
    """The reference of `citation` in `style`, its words in `lang`."""
    check_style(style)
    check_lang(lang)
    if style == "markdown":
        return cite_markdown(citation, lang)
    if style == "bibtex":
        return cite_bibtex(citation, lang)
    if style == "csl-json":
        return json.dumps([csl_item(citation, lang)], ensure_ascii=False, indent=2)
    return cite_text(citation, lang)


# ---------------------------------------------------------------- text and Markdown


def note_text(note: Footnote, lang: str) -> str:
    """'Note 3 : text url' (the URL once)."""
    w = words(lang)
    text = " ".join((note.text or "").split())
    url = note.url if note.url and note.url not in text else ""
    return f"{w['note'].capitalize()} {note.number}{w['colon']} {' '.join(p for p in (text, url) if p)}".rstrip()


def reference_text(citation: Citation, lang: str) -> str:
    """Authors, « title », site, date, place, URL — on one line."""
    d, w = citation.document, words(lang)
    parts = [authors_words(d.authors, lang), w["quoted"].format(d.title), d.site or "",
             date_words(d.date, lang), locator(citation.passage, d, lang), d.url or ""]
    return ", ".join(" ".join(p.split()) for p in parts if p) + "."


def cite_text(citation: Citation, lang: str) -> str:
    w = words(lang)
    lines = [reference_text(citation, lang), w["quoted"].format(" ".join(citation.quote.split()))]
    lines += [note_text(f, lang) for f in citation.footnotes]
    return "\n".join(lines)


def cite_markdown(citation: Citation, lang: str) -> str:
    w = words(lang)
    parts = [reference_line(citation, lang), f"> {w['quoted'].format(md_escape(citation.quote))}"]
    if citation.footnotes:
        parts.append("\n".join(f"- {note_line(f, lang)}" for f in citation.footnotes))
    return "\n\n".join(parts)


# ---------------------------------------------------------------- BibTeX and CSL-JSON


def name_parts(name: str) -> tuple[str, str]:
    """(given, family) of a name as BibTeX reads it: 'Family, Given', or the last word
    with the lower-case particles before it ('Charles de Gaulle' → 'de Gaulle');
    a single word is all family."""
    name = " ".join(name.split())
    if "," in name:
        family, given = (x.strip() for x in name.split(",", 1))
        return given, family
    words_ = name.split(" ")
    start = len(words_) - 1
    while start > 1 and _PARTICLE.match(words_[start - 1]):
        start -= 1
    return " ".join(words_[:start]), " ".join(words_[start:])


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def cite_key(citation: Citation) -> str:
    """'bret2016trump-p15': first author's family name (else the site, else the document id),
    year, the title's first word of four letters or more, the passage's own part of its id."""
    d, p = citation.document, citation.passage
    who = _ascii(name_parts(d.authors[0])[1]) if d.authors else _ascii(d.site or "") or _ascii(d.id)
    m = _ISO_DATE.match(d.date or "")
    word = next((w for w in map(_ascii, re.findall(r"\w+", d.title)) if len(w) >= 4), "")
    part = re.sub(r"[^A-Za-z0-9]", "", p.id.rsplit(":", 1)[-1]) or (f"p{p.n}" if p.n is not None else "")
    return f"{who or 'doc'}{m[1] if m else ''}{word}" + (f"-{part}" if part else "")


def _bib(text: str) -> str:
    """`text` as a BibTeX field value: one line, LaTeX specials escaped."""
    return "".join(_BIB_SPECIAL.get(ch, ch) for ch in " ".join(text.split()))


def _bib_name(name: str) -> str:
    # "and" separates names in BibTeX: a name holding the word is kept whole in braces
    escaped = _bib(name)
    return f"{{{escaped}}}" if re.search(r"\band\b", name, re.IGNORECASE) else escaped


def _langid(lang: str) -> str | None:
    """biblatex's name of a language ('french'), from Babel."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(lang).get_display_name("en").lower()
    except (ValueError, TypeError, UnknownLocaleError):
        return None


def _annotation(citation: Citation, lang: str) -> str:
    """The quote, then the notes it calls."""
    quote = words(lang)["quoted"].format(" ".join(citation.quote.split()))
    return " ".join([quote, *(note_text(f, lang) for f in citation.footnotes)])


def cite_bibtex(citation: Citation, lang: str) -> str:
    d, p = citation.document, citation.passage
    m = _ISO_DATE.match(d.date or "")
    url = safe_url(d.url)
    fields = [
        ("author", " and ".join(_bib_name(a) for a in d.authors)),
        ("title", _bib(d.title)),
        ("howpublished", _bib(d.site or "")),
        ("date", d.date if m else ""),
        ("year", m[1] if m else ""),
        ("url", url.replace("{", "%7B").replace("}", "%7D").replace("\\", "%5C") if url else ""),
        ("pages", str(p.page) if d.format == "pdf" and p.page is not None else ""),
        ("note", _bib(locator(p, d, lang))),
        ("annote", _bib(_annotation(citation, lang))),
        ("langid", _langid(d.language) or ""),
    ]
    body = "".join(f"  {name} = {{{value}}},\n" for name, value in fields if value)
    return f"@misc{{{cite_key(citation)},\n{body}}}"


def csl_item(citation: Citation, lang: str) -> dict:
    """The citation as one CSL-JSON item."""
    d, p = citation.document, citation.passage
    item: dict = {"id": cite_key(citation), "type": "webpage" if d.url else "article", "title": d.title}
    authors = []
    for a in d.authors:
        given, family = name_parts(a)
        authors.append({"family": family, "given": given} if given else {"literal": family})
    if authors:
        item["author"] = authors
    m = _ISO_DATE.match(d.date or "")
    if m:
        item["issued"] = {"date-parts": [[int(x) for x in m.groups() if x]]}
    elif d.date:
        item["issued"] = {"literal": d.date}
    if d.site:
        item["container-title"] = d.site
    if safe_url(d.url):
        item["URL"] = safe_url(d.url)
    if p.section:
        item["section"] = p.section
    if d.format == "pdf" and p.page is not None:
        item["page"] = str(p.page)
    item["language"] = d.language
    item["note"] = locator(p, d, lang)
    item["annote"] = _annotation(citation, lang)
    return item
