"""Word documents (.docx): the body as Word lays it out, its footnotes and endnotes, its properties.

`read_docx` opens the package with python-docx and walks `word/document.xml`
with lxml, in order:

- paragraphs; headings from the paragraph style ("Heading 1".."Heading 9",
  levels past 6 read as 6; "Title") or an outline level (of the paragraph or
  its style); a "Title" paragraph is the top level and the headings go one
  level below it;
- list items (a paragraph with numbering, its own or its style's), whose
  context is the list's lead-in (the last sentence of the paragraph before the
  list when it ends with ":"; for a nested item, its parent item when that one
  ends with ":"); a list resumed after a paragraph inside it keeps its lead-in;
- tables, one part per row with its cells joined by " | "; the first row is
  the header (the context of the other rows) when Word marks it as one (a
  repeated header row, a first-row table style, or all of it bold); a table of
  one column is a box and its paragraphs are read as body text;
- code ("Source Code", "HTML Preformatted", "Plain Text"… styles or styles
  based on them, or a paragraph set wholly in a monospaced font) kept
  verbatim, lines and indentation included, consecutive code paragraphs
  making one block; quotes ("Quote", "Block Text"…); definition lists
  ("Definition Term" + "Definition", the term being its definitions' context);
- text boxes, after the paragraph that anchors them.

Inline: hyperlink text is kept; of a field only its result is read (never its
code); tracked insertions are read and tracked deletions left out, a
deleted paragraph mark joining two paragraphs (the document as it would be
once the changes are accepted); hidden text, comments,
the table of contents (TOC styles or content control), running headers and
footers are left out and listed in `dropped`; a page, column or section break
never splits a paragraph (a paragraph cut by a page or section break and
carried on in lower case after it is joined again); a word hyphenated at a
manual line break is joined; soft hyphens are dropped.

Notes: each footnote or endnote reference becomes "[n]" at its place and the
note's text a `Footnote(n, text, url)` (`url`: the note's first web link).
Word numbers footnotes and endnotes separately, each in the order of their
references (from the numbering start the document sets); here footnotes keep
Word's numbers, and when the document also has endnotes, they are numbered
after the footnotes (with F footnotes, the endnote Word shows as 1 or "i" is
[F+1]), so that every call points to one note. A note with a custom mark
("*") is numbered after all the others. Restarts per section or page are not
followed (numbers stay unique). A note that nothing calls is left out.

Metadata from the core properties: title, authors (the author field, split on
";"), date (created, else last modified), language (its ISO 639-1 part).

A Word document converted from a web page may carry the page's furniture
(navigation lists, sidebars, a copyright footer) before and after the text:
the run of link entries and short labels at either end of the document is
left out when it reads as navigation (see `_trim_furniture`), and so is a
copyright line closing the document. A file that is not a Word package
(broken, truncated, an old .doc) or is encrypted with a password raises
`IngestError` with one line saying which.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from lxml import etree

from ..records import Dropped, Footnote
from ..text import cut_sentences, ends_sentence
from .decode import IngestError
from .structured import Meta, Parsed, Part

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_M = "http://schemas.openxmlformats.org/officeDocument/2006/math"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_FOOTNOTES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"
_ENDNOTES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/endnotes"
_COMMENTS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"


def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


_P, _R_, _T, _TBL, _TR, _TC = _w("p"), _w("r"), _w("t"), _w("tbl"), _w("tr"), _w("tc")
_VAL = _w("val")
# Inline wrappers whose content is read as it stands.
_TRANSPARENT = frozenset(_w(t) for t in ("ins", "moveTo", "smartTag", "customXml", "fldSimple", "dir", "bdo"))
_DELETED = frozenset(_w(t) for t in ("del", "moveFrom"))

# Style names (lower case, spaces removed) of code blocks, quotes and definition lists.
_CODE_STYLE = re.compile(r"sourcecode|^code|codeblock|preformatted|plaintext|macrotext|verbatim|listing|console")
_QUOTE_STYLE = re.compile(r"^(?:intense)?quote$|blocktext|blockquot|^quotation")
_TERM_STYLE = re.compile(r"^definitionterm$|^term$")
_DEFINITION_STYLE = re.compile(r"^definition$")
_TOC_STYLE = re.compile(r"^toc\s*\d$|^toc ?heading$|^table of figures$", re.I)
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.I)
_MONOSPACE = re.compile(r"courier|consol|mono|menlo|monaco|lucida console|source code|fixedsys|andale", re.I)
_WEB_URL = re.compile(r"^(?:https?|ftp)://|^mailto:", re.I)
_URL_IN_TEXT = re.compile(r"https?://[^\s<>()\]]+|\bwww\.[^\s<>()\]]+")
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


def read_docx(path: Path) -> Parsed:
    """The parts, notes, metadata and left-out blocks of a .docx file; IngestError when it cannot be read."""
    path = Path(path)
    _check_signature(path)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
        return _Reader(document).read()
    except PackageNotFoundError:
        raise IngestError(path, "damaged Word document (not a readable zip package)") from None
    except FileNotFoundError:
        raise IngestError(path, "vanished while being read") from None
    except etree.XMLSyntaxError as e:
        raise IngestError(path, f"damaged Word document (malformed XML: {_one_line(e)})") from None
    except KeyError as e:
        raise IngestError(path, f"damaged Word document (missing part {_one_line(e)})") from None
    except ValueError as e:
        if "content type" in str(e):  # python-docx: a package of another kind (a spreadsheet, a presentation)
            raise IngestError(path, f"not a Word document ({_one_line(e)})") from None
        raise IngestError(path, f"damaged Word document ({_one_line(e)})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as e:  # the zip's data is damaged
        raise IngestError(path, f"damaged Word document ({_one_line(e)})") from None
    except (AttributeError, TypeError) as e:  # python-docx meets a part whose XML is not what its type says
        raise IngestError(path, f"damaged Word document (unexpected content: {_one_line(e)})") from None


# --------------------------------------------------------------------------- opening


def _check_signature(path: Path) -> None:
    """IngestError unless the file starts like a zip package (an encrypted or old Word file says so)."""
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        raise IngestError(path, "vanished while being read") from None
    except OSError as e:
        raise IngestError(path, f"cannot read: {e.strerror or e}") from None
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE compound file: an encrypted package or a Word 97-2003 file
        if _encrypted(path):
            raise IngestError(path, "password-protected Word document; remove the password in Word and save it again")
        raise IngestError(path, "old Word 97-2003 document (.doc) named .docx; save it as .docx in Word")
    if not head:
        raise IngestError(path, "empty file")
    if not head.startswith(b"PK"):
        raise IngestError(path, "not a Word document (.docx is a zip package; this file is not one)")


def _encrypted(path: Path) -> bool:
    """Whether an OLE compound file holds an encrypted OOXML package (its stream names say so)."""
    try:
        data = path.read_bytes()[: 1 << 20]
    except OSError:
        return False
    return "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__


# --------------------------------------------------------------------------- styles


@dataclass
class _Style:
    name: str
    based_on: str | None
    outline: int | None  # 0-based outline level stated by the style itself
    numbered: bool | None  # the style's own numbering (None: not stated)
    bold: bool | None
    hidden: bool | None
    monospace: bool | None
    page_break_before: bool | None
    first_row_formatted: bool  # a table style with conditional formatting of its first row


def _on(el) -> bool | None:
    """A Word on/off property: None when absent, else its value (present without w:val means on)."""
    if el is None:
        return None
    return el.get(_VAL, "true").lower() not in ("0", "false", "off", "none")


def _read_styles(root) -> dict[str, _Style]:
    styles: dict[str, _Style] = {}
    if root is None:
        return styles
    for s in root.iter(_w("style")):
        sid = s.get(_w("styleId"))
        if not sid:
            continue
        name_el = s.find(_w("name"))
        based = s.find(_w("basedOn"))
        ppr, rpr = s.find(_w("pPr")), s.find(_w("rPr"))
        outline = None
        numbered = None
        pbb = None
        if ppr is not None:
            ol = ppr.find(_w("outlineLvl"))
            if ol is not None and ol.get(_VAL, "").isdigit():
                outline = int(ol.get(_VAL))
            num = ppr.find(_w("numPr"))
            if num is not None:
                nid = num.find(_w("numId"))
                numbered = nid is not None and nid.get(_VAL, "0") != "0"
            pbb = _on(ppr.find(_w("pageBreakBefore")))
        bold = hidden = mono = None
        if rpr is not None:
            bold = _on(rpr.find(_w("b")))
            hidden = _on(rpr.find(_w("vanish")))
            fonts = rpr.find(_w("rFonts"))
            if fonts is not None and fonts.get(_w("ascii")):
                mono = bool(_MONOSPACE.search(fonts.get(_w("ascii"))))
        first_row = any(
            c.get(_w("type")) == "firstRow" and len(c) for c in s.iter(_w("tblStylePr"))
        )
        styles[sid] = _Style(
            name=name_el.get(_VAL, sid) if name_el is not None else sid,
            based_on=based.get(_VAL) if based is not None else None,
            outline=outline, numbered=numbered, bold=bold, hidden=hidden, monospace=mono,
            page_break_before=pbb, first_row_formatted=first_row,
        )  # fmt: skip
    return styles


# --------------------------------------------------------------------------- blocks as read


@dataclass
class _Block:
    """A paragraph (or table row) of the body as read, before lists, code and furniture are settled."""

    kind: str  # heading, paragraph, item, code, quote, term, definition, row, title
    text: str
    level: int = 0  # heading level; list level for items
    num: str | None = None  # numbering id of an item
    context: str | None = None
    link_chars: int = 0
    break_before: bool = False  # starts on a new page or section
    break_after: bool = False  # ends a section or a page
    mark_deleted: bool = False  # its paragraph mark is a tracked deletion: it runs on into the next paragraph
    table: int = 0  # which table a row belongs to (1-based), 0 outside tables
    dropped: str | None = None  # why it is left out, when it is


@dataclass
class _Inline:
    """The text of a paragraph as it is gathered run by run."""

    text: list[str] = field(default_factory=list)
    link_chars: int = 0
    urls: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    boxes: list = field(default_factory=list)  # w:txbxContent elements anchored in the paragraph
    chars: int = 0  # characters of visible text, breaks excluded
    mono_chars: int = 0  # of which in a monospaced font
    page_break_first: bool = False  # a page break before any text
    page_break_last: bool = False  # a page break after the last text

    def add(self, s: str) -> None:
        if s:
            self.text.append(s)

    def value(self) -> str:
        return "".join(self.text)


@dataclass
class _Field:
    instr: str = ""
    result: bool = False  # past the separator: its result is shown
    out: _Inline | None = None  # where its result started, and at which length
    start: int = 0


class _Reader:
    def __init__(self, document) -> None:
        self.document = document
        part = document.part
        self.styles = _read_styles(part.styles.element if part.styles is not None else None)
        self.default_style = None
        if part.styles is not None:
            self.default_style = next((e.get(_w("styleId")) for e in part.styles.element.iter(_w("style"))
                                       if e.get(_w("type")) == "paragraph" and e.get(_w("default")) in ("1", "true")),
                                      None)  # fmt: skip
        self.rels = {rid: rel for rid, rel in part.rels.items()}
        self.fields: list[_Field] = []
        self.dropped: list[Dropped] = []
        # notes: kind -> id -> (element, rels of its part)
        self.notes: dict[str, dict[str, object]] = {"footnote": {}, "endnote": {}}
        self.note_rels: dict[str, dict] = {"footnote": {}, "endnote": {}}
        for kind, reltype in (("footnote", _FOOTNOTES), ("endnote", _ENDNOTES)):
            for rel in part.rels.values():
                if rel.reltype == reltype and not rel.is_external:
                    root = etree.fromstring(rel.target_part.blob, _PARSER)
                    for note in root.iter(_w(kind)):
                        if note.get(_w("type")) in (None, "normal"):
                            self.notes[kind][note.get(_w("id"))] = note
                    self.note_rels[kind] = dict(rel.target_part.rels.items())
        # calls in reading order: (kind, id) -> provisional key; numbers are given once all are known
        self.calls: list[tuple[str, str, bool]] = []  # kind, id, custom mark
        self.call_keys: dict[tuple[str, str], str] = {}
        self.has_title = False
        self.tables = 0

    # ------------------------------------------------------------------ whole document

    def read(self) -> Parsed:
        body = self.document.element.body
        blocks = list(self._blocks(body))
        numbers = self._number_notes()
        blocks = [replace(b, text=self._calls(b.text, numbers), context=self._calls(b.context, numbers)
                          if b.context else b.context) for b in blocks]  # fmt: skip
        parts, dropped = self._settle(blocks)
        notes, note_dropped = self._notes(numbers, parts)
        meta = self._meta()
        left_out = self.dropped + dropped + note_dropped + self._headers_footers() + self._comments()
        return Parsed("docx", tuple(parts), tuple(notes), meta, tuple(left_out))

    # ------------------------------------------------------------------ block level

    def _blocks(self, container) -> Iterator[_Block]:
        for el in container:
            tag = el.tag
            if tag == _P:
                yield from self._paragraph(el)
            elif tag == _TBL:
                yield from self._table(el)
            elif tag == _w("sdt"):
                content = el.find(_w("sdtContent"))
                if content is None:
                    continue
                if _is_toc_sdt(el):
                    for b in self._blocks(content):
                        if b.text.strip():
                            self.dropped.append(Dropped(b.text, "table of contents"))
                    continue
                yield from self._blocks(content)
            elif tag in (_w("customXml"), _w("ins"), _w("moveTo")):
                yield from self._blocks(el)
            elif tag == f"{{{_MC}}}AlternateContent":
                choice = el.find(f"{{{_MC}}}Choice")
                if choice is not None:
                    yield from self._blocks(choice)

    def _paragraph(self, p) -> Iterator[_Block]:
        ppr = p.find(_w("pPr"))
        sid = self._style_id(ppr)
        chain = list(self._chain(sid))
        name = chain[0].name if chain else (sid or "")
        keys = [_style_key(s.name) for s in chain] or [_style_key(name)]
        key = keys[0]
        inline = _Inline()
        self._walk(p, inline, self._run_style_flags(chain))
        raw = inline.value()
        for kind_text, why in ((inline.hidden, "hidden text"), (inline.deleted, "tracked deletion")):
            gone = _SPACES.sub(" ", "".join(kind_text)).strip()
            if gone:
                self.dropped.append(Dropped(gone, why))
        code_style = any(_CODE_STYLE.search(k) for k in keys)
        monospaced = inline.chars > 0 and inline.mono_chars >= inline.chars  # every character in a monospaced font
        if ppr is not None and ppr.find(_w("pageBreakBefore")) is not None:
            breaks_before = bool(_on(ppr.find(_w("pageBreakBefore"))))
        else:
            breaks_before = bool(_first(s.page_break_before for s in chain))
        section_end = ppr is not None and ppr.find(_w("sectPr")) is not None
        mark = ppr.find(_w("rPr")) if ppr is not None else None
        block_mark_deleted = mark is not None and mark.find(_w("del")) is not None
        block = _Block("paragraph", "", link_chars=inline.link_chars,
                       break_before=breaks_before or inline.page_break_first,
                       break_after=inline.page_break_last or section_end, mark_deleted=block_mark_deleted)  # fmt: skip
        level = self._heading_level(ppr, chain, name)
        numbering = self._numbering(ppr, chain)
        if _TOC_STYLE.match(name.strip()):
            block.dropped = "table of contents"
        elif name.strip().lower() == "title":
            block.kind, block.level = "title", 1
            self.has_title = True
        elif level:
            block.kind, block.level = "heading", level
        elif code_style:
            block.kind = "code"
        elif numbering is not None:
            block.kind, block.num, block.level = "item", numbering[0], numbering[1]
        elif _TERM_STYLE.search(key):
            block.kind = "term"
        elif _DEFINITION_STYLE.search(key):
            block.kind = "definition"
        elif any(_QUOTE_STYLE.search(k) for k in keys):
            block.kind = "quote"
        elif monospaced:
            block.kind = "code"
        block.text = text = _code_text(raw) if block.kind == "code" else _prose(raw)
        if text.strip() or block.break_after or block.break_before:
            yield block
        for box in inline.boxes:
            yield from self._blocks(box)

    def _table(self, tbl) -> Iterator[_Block]:
        rows = [tr for tr in tbl if tr.tag == _TR]
        rows += [tr for wrap in tbl if wrap.tag in (_w("sdt"), _w("customXml"))
                 for tr in wrap.iter(_TR)]  # fmt: skip
        widths = [len([tc for tc in tr.iter(_TC) if _nearest(tc, _TBL) is tbl]) for tr in rows]
        if rows and max(widths, default=0) <= 1:  # a box: its paragraphs are text
            for tr in rows:
                for tc in tr.iter(_TC):
                    if _nearest(tc, _TBL) is tbl:
                        yield from self._blocks(tc)
            return
        self.tables += 1
        header: str | None = None
        for k, tr in enumerate(rows):
            cells = [self._cell_text(tc) for tc in tr if tc.tag == _TC] + [
                self._cell_text(tc) for wrap in tr if wrap.tag in (_w("sdt"), _w("customXml")) for tc in wrap.iter(_TC)
            ]
            if not any(c.strip() for c in cells):
                continue
            text = " | ".join(cells)
            if k == 0 and len(rows) > 1 and self._header_row(tbl, tr):
                header = text
                yield _Block("row", text, table=self.tables)
                continue
            yield _Block("row", text, context=header, table=self.tables)

    def _cell_text(self, tc) -> str:
        pieces = []
        for el in tc:
            if el.tag == _P:
                inline = _Inline()
                chain = list(self._chain(self._style_id(el.find(_w("pPr")))))
                self._walk(el, inline, self._run_style_flags(chain))
                pieces.append(_prose(inline.value()))
                for box in inline.boxes:
                    pieces.extend(b.text for b in self._blocks(box))
            elif el.tag == _TBL:
                pieces.extend(b.text for b in self._table(el))
            elif el.tag in (_w("sdt"), _w("customXml")):
                content = el.find(_w("sdtContent")) if el.tag == _w("sdt") else el
                if content is not None:
                    pieces.extend(b.text for b in self._blocks(content))
        return _prose(" ".join(x for x in pieces if x))

    def _header_row(self, tbl, tr) -> bool:
        trpr = tr.find(_w("trPr"))
        if trpr is not None and _on(trpr.find(_w("tblHeader"))):
            return True
        if any(c.get(_w("firstRow")) in ("1", "true") for c in tr.iter(_w("cnfStyle"))):
            return True
        tblpr = tbl.find(_w("tblPr"))
        if tblpr is not None:
            st = tblpr.find(_w("tblStyle"))
            if (_first_row_look(tblpr.find(_w("tblLook"))) and st is not None
                    and any(s.first_row_formatted for s in self._chain(st.get(_VAL)))):  # fmt: skip
                return True
        # every run of text in the row is bold
        runs = [r for r in tr.iter(_R_) if any((t.text or "").strip() for t in r.iter(_T))]
        return bool(runs) and all(self._bold(r) for r in runs)

    def _bold(self, r) -> bool:
        rpr = r.find(_w("rPr"))
        if rpr is not None:
            b = _on(rpr.find(_w("b")))
            if b is not None:
                return b
            rs = rpr.find(_w("rStyle"))
            if rs is not None:
                v = _first(s.bold for s in self._chain(rs.get(_VAL)))
                if v is not None:
                    return v
        p = _nearest(r, _P)
        if p is not None:
            v = _first(s.bold for s in self._chain(self._style_id(p.find(_w("pPr")))))
            return bool(v)
        return False

    # ------------------------------------------------------------------ paragraph properties

    def _style_id(self, ppr) -> str | None:
        if ppr is not None:
            ps = ppr.find(_w("pStyle"))
            if ps is not None and ps.get(_VAL):
                return ps.get(_VAL)
        return self.default_style

    def _chain(self, sid: str | None) -> Iterator[_Style]:
        seen = set()
        while sid and sid in self.styles and sid not in seen:
            seen.add(sid)
            style = self.styles[sid]
            yield style
            sid = style.based_on

    def _heading_level(self, ppr, chain: list[_Style], name: str) -> int:
        m = _HEADING_STYLE.match(name.strip())
        if m:
            return min(int(m.group(1)), 6)
        if ppr is not None:
            ol = ppr.find(_w("outlineLvl"))
            if ol is not None and ol.get(_VAL, "").isdigit():
                v = int(ol.get(_VAL))
                return min(v + 1, 6) if v < 9 else 0
        for s in chain:
            hm = _HEADING_STYLE.match(s.name.strip())
            if hm:
                return min(int(hm.group(1)), 6)
            if s.outline is not None:
                return min(s.outline + 1, 6) if s.outline < 9 else 0
        return 0

    def _numbering(self, ppr, chain: list[_Style]) -> tuple[str, int] | None:
        if ppr is not None:
            num = ppr.find(_w("numPr"))
            if num is not None:
                nid, ilvl = num.find(_w("numId")), num.find(_w("ilvl"))
                if nid is None:
                    return None
                if nid.get(_VAL, "0") == "0":
                    return None
                lvl = ilvl.get(_VAL, "0") if ilvl is not None else "0"
                return nid.get(_VAL), int(lvl) if lvl.isdigit() else 0
        for s in chain:
            if s.numbered is not None:
                return ("style:" + s.name, 0) if s.numbered else None
        return None

    def _run_style_flags(self, chain: list[_Style]) -> dict[str, bool]:
        return {"hidden": bool(_first(s.hidden for s in chain)), "mono": bool(_first(s.monospace for s in chain))}

    # ------------------------------------------------------------------ inline level

    def _walk(self, el, out: _Inline, flags: dict[str, bool]) -> None:
        for child in el:
            tag = child.tag
            if tag == _R_:
                self._run(child, out, flags)
            elif tag == _w("hyperlink"):
                start = len(out.value())
                self._walk(child, out, flags)
                out.link_chars += len(out.value()) - start
                rel = self.rels.get(child.get(f"{{{_R}}}id") or "")
                if rel is not None and rel.is_external and _WEB_URL.match(rel.target_ref or ""):
                    out.urls.append(rel.target_ref)
            elif tag in _TRANSPARENT:
                self._walk(child, out, flags)
            elif tag == _w("sdt"):
                content = child.find(_w("sdtContent"))
                if content is not None:
                    self._walk(content, out, flags)
            elif tag in _DELETED:
                text = "".join(t.text or "" for t in child.iter(_w("delText"), _T))
                if text.strip():
                    out.deleted.append(text + " ")
            elif tag in (f"{{{_M}}}oMath", f"{{{_M}}}oMathPara"):
                out.add("".join(t.text or "" for t in child.iter(f"{{{_M}}}t")))
            elif tag == f"{{{_MC}}}AlternateContent":
                choice = child.find(f"{{{_MC}}}Choice")
                if choice is not None:
                    self._walk(choice, out, flags)
            elif tag == _w("ruby"):
                base = child.find(_w("rubyBase"))
                if base is not None:
                    self._walk(base, out, flags)

    def _in_code(self) -> bool:
        return any(not f.result for f in self.fields)

    def _run(self, r, out: _Inline, flags: dict[str, bool]) -> None:
        rpr = r.find(_w("rPr"))
        hidden, mono = flags["hidden"], flags["mono"]
        if rpr is not None:
            rs = rpr.find(_w("rStyle"))
            chain = list(self._chain(rs.get(_VAL))) if rs is not None else []
            v = _on(rpr.find(_w("vanish")))
            hidden = v if v is not None else (_first(s.hidden for s in chain) or hidden)
            fonts = rpr.find(_w("rFonts"))
            if fonts is not None and fonts.get(_w("ascii")):
                mono = bool(_MONOSPACE.search(fonts.get(_w("ascii"))))
            else:
                m = _first(s.monospace for s in chain)
                mono = m if m is not None else mono
            if re.search(r"verbatim|code", " ".join(s.name.lower() for s in chain)):
                mono = True
        custom = False
        for c in r:
            tag = c.tag
            if tag == _w("fldChar"):
                kind = c.get(_w("fldCharType"))
                if kind == "begin":
                    self.fields.append(_Field())
                elif kind == "separate" and self.fields:
                    f = self.fields[-1]
                    f.result, f.out, f.start = True, out, len(out.value())
                elif kind == "end" and self.fields:
                    f = self.fields.pop()
                    m = re.match(r'\s*HYPERLINK\s+"([^"]+)"', f.instr)
                    if m and f.out is out:  # a link written as a field: its result is link text
                        out.link_chars += len(out.value()) - f.start
                        if _WEB_URL.match(m.group(1)):
                            out.urls.append(m.group(1))
                continue
            if tag == _w("instrText"):
                if self.fields:
                    self.fields[-1].instr += c.text or ""
                continue
            if self._in_code():
                continue
            if tag == _T:
                s = c.text or ""
                if custom:  # the mark of a note with a custom mark: the call replaces it
                    custom = False
                    continue
                if hidden:
                    out.hidden.append(s)
                    continue
                out.add(s)
                n = len(s.strip())
                out.chars += n
                out.mono_chars += n if mono else 0
                out.page_break_last = out.page_break_last and not s.strip()
            elif hidden:
                continue
            elif tag == _w("tab") or tag == _w("ptab"):
                out.add("\t")
            elif tag == _w("br"):
                if c.get(_w("type")) in ("page", "column"):
                    out.add(" ")
                    if not out.chars:
                        out.page_break_first = True
                    out.page_break_last = True
                else:
                    out.add("\n")
            elif tag == _w("cr"):
                out.add("\n")
            elif tag == _w("noBreakHyphen"):
                out.add("-")
            elif tag in (_w("footnoteReference"), _w("endnoteReference")):
                kind = "footnote" if tag == _w("footnoteReference") else "endnote"
                nid = c.get(_w("id"))
                custom = c.get(_w("customMarkFollows")) in ("1", "true", "on")
                out.add(self._call(kind, nid, custom))
            elif tag == _w("sym"):
                code = c.get(_w("char"), "")
                if re.fullmatch(r"[0-9A-Fa-f]{4}", code) and int(code, 16) < 0xE000:
                    out.add(chr(int(code, 16)))
            elif tag in (_w("drawing"), _w("pict"), f"{{{_MC}}}AlternateContent", _w("object")):
                for box in child_boxes(c):
                    out.boxes.append(box)

    def _call(self, kind: str, nid: str | None, custom: bool) -> str:
        """A placeholder for a note call, numbered once every call is known."""
        key = (kind, nid or "")
        if key not in self.call_keys:
            self.call_keys[key] = f"\ue010{len(self.calls)}\ue011"
            self.calls.append((kind, nid or "", custom))
        return self.call_keys[key]

    # ------------------------------------------------------------------ notes

    def _number_notes(self) -> dict[str, int]:
        """Placeholder -> note number (see the module docstring)."""
        starts = {k: self._num_start(k) for k in ("footnote", "endnote")}
        counters = {k: 0 for k in starts}
        plain: dict[int, int] = {}
        for i, (kind, nid, custom) in enumerate(self.calls):
            if custom or nid not in self.notes[kind]:
                continue
            plain[i] = starts[kind] + counters[kind]
            counters[kind] += 1
        foot = [i for i, c in enumerate(self.calls) if c[0] == "footnote" and i in plain]
        shift = max((plain[i] for i in foot), default=0)
        numbers: dict[str, int] = {}
        for i, (kind, nid, custom) in enumerate(self.calls):
            if i in plain:
                numbers[f"\ue010{i}\ue011"] = plain[i] + (shift - starts["endnote"] + 1 if kind == "endnote" and foot
                                                          else 0)  # fmt: skip
        top = max(numbers.values(), default=0)
        for i, (kind, nid, custom) in enumerate(self.calls):
            if i not in plain and nid in self.notes[kind]:
                top += 1
                numbers[f"\ue010{i}\ue011"] = top
        return numbers

    def _num_start(self, kind: str) -> int:
        roots = []
        settings = self.document.settings.element if self.document.settings is not None else None
        if settings is not None:
            roots.append(settings.find(_w(f"{kind}Pr")))
        body_sect = self.document.element.body.find(_w("sectPr"))
        if body_sect is not None:
            roots.append(body_sect.find(_w(f"{kind}Pr")))
        start = 1
        for pr in roots:
            if pr is None:
                continue
            ns = pr.find(_w("numStart"))
            if ns is not None and ns.get(_VAL, "").isdigit():
                start = int(ns.get(_VAL))
        return max(start, 1)

    def _calls(self, text: str | None, numbers: dict[str, int]) -> str | None:
        if text is None:
            return None
        return _PLACEHOLDER.sub(lambda m: f"[{numbers[m.group(0)]}]" if m.group(0) in numbers else "", text)

    def _notes(self, numbers: dict[str, int], parts: list[Part]) -> tuple[list[Footnote], list[Dropped]]:
        called = {int(m.group(1)) for p in parts for s in (p.text, p.context or "")
                  for m in re.finditer(r"\[(\d+)\]", s)}  # fmt: skip
        notes: list[Footnote] = []
        dropped: list[Dropped] = []
        seen: set[tuple[str, str]] = set()
        for i, (kind, nid, _custom) in enumerate(self.calls):
            n = numbers.get(f"\ue010{i}\ue011")
            if n is None:
                continue
            seen.add((kind, nid))
            text, url = self._note_text(kind, self.notes[kind][nid], numbers)
            if not text:
                continue
            if n in called:
                notes.append(Footnote(n, text, url))
            else:
                dropped.append(Dropped(text, f"{kind} called only from text left out"))
        for kind, by_id in self.notes.items():
            for nid, el in by_id.items():
                if (kind, nid) not in seen:
                    text, _ = self._note_text(kind, el, numbers)
                    if text:
                        dropped.append(Dropped(text, f"{kind} that the text never calls"))
        return notes, dropped

    def _note_text(self, kind: str, el, numbers: dict[str, int]) -> tuple[str, str | None]:
        saved_rels, self.rels = self.rels, self.note_rels[kind]
        saved_fields, self.fields = self.fields, []
        try:
            pieces, urls = [], []
            for p in el.iter(_P):
                inline = _Inline()
                self._walk(p, inline, {"hidden": False, "mono": False})
                pieces.append(_prose(inline.value()))
                urls.extend(inline.urls)
        finally:
            self.rels, self.fields = saved_rels, saved_fields
        text = _prose(" ".join(x for x in pieces if x))
        text = self._calls(text, numbers) or ""
        if not urls:
            m = _URL_IN_TEXT.search(text)
            urls = [m.group(0).rstrip(".,;:")] if m else []
        return text, (urls[0] if urls else None)

    # ------------------------------------------------------------------ settling blocks into parts

    def _settle(self, blocks: list[_Block]) -> tuple[list[Part], list[Dropped]]:
        dropped: list[Dropped] = []
        kept: list[_Block] = []
        for b in blocks:
            if b.dropped:
                if b.text.strip():
                    dropped.append(Dropped(b.text, b.dropped))
                continue
            kept.append(b)
        kept = _join_deleted_marks(kept)
        kept = _join_breaks(kept)
        kept = _merge_code(kept)
        kept = [b for b in kept if b.text.strip()]
        kept, furniture = _trim_furniture(kept)
        dropped.extend(furniture)
        _lead_ins(kept)
        parts: list[Part] = []
        term: str | None = None  # the term the definitions that follow it define
        for k, b in enumerate(kept):
            if b.kind == "title":
                parts.append(Part("heading", b.text, level=1))
            elif b.kind == "heading":
                parts.append(Part("heading", b.text, level=min(b.level + 1, 6) if self.has_title else b.level))
            elif b.kind == "term":
                follows = k + 1 < len(kept) and kept[k + 1].kind in ("term", "definition")
                parts.append(Part("term", b.text) if follows else Part("paragraph", b.text))
                term = b.text if follows else None
            elif b.kind == "definition":
                parts.append(Part("definition", b.text, context=term) if term else Part("paragraph", b.text))
            else:
                parts.append(Part(b.kind, b.text, context=b.context))
            if b.kind not in ("term", "definition"):
                term = None
        return parts, dropped

    # ------------------------------------------------------------------ metadata

    def _meta(self) -> Meta:
        try:
            cp = self.document.core_properties
            cp.title  # noqa: B018 -- parsed lazily: a damaged part fails here
        except (AttributeError, KeyError, ValueError, etree.XMLSyntaxError) as e:
            self.dropped.append(Dropped("document properties", f"unreadable ({_one_line(e)})"))
            return Meta()
        title = (cp.title or "").strip() or None
        authors = tuple(dict.fromkeys(a.strip() for a in (cp.author or "").split(";") if a.strip()))
        date = None
        for d in (cp.created, cp.modified):
            if isinstance(d, datetime) and d.year > 1900:
                date = d.date().isoformat()
                break
        language = None
        m = re.match(r"^\s*([A-Za-z]{2})(?:[-_][A-Za-z0-9]+)*\s*$", cp.language or "")
        if m:
            language = m.group(1).lower()
        return Meta(title=title, authors=authors, date=date, language=language)

    def _comments(self) -> list[Dropped]:
        """Reviewers' comments, which are about the text, not part of it."""
        out: list[Dropped] = []
        for rel in self.document.part.rels.values():
            if rel.reltype != _COMMENTS or rel.is_external:
                continue
            root = etree.fromstring(rel.target_part.blob, _PARSER)
            for comment in root.iter(_w("comment")):
                text = _prose(" ".join("".join(t.text or "" for t in p.iter(_T)) for p in comment.iter(_P)))
                if text:
                    out.append(Dropped(text, "Word comment (a reviewer's note on the text)"))
        return out

    def _headers_footers(self) -> list[Dropped]:
        """The text of running headers and footers, which are never part of the body."""
        out: list[Dropped] = []
        seen: set[tuple[str, str]] = set()
        for section in self.document.sections:
            for why, names in (("running header", ("header", "first_page_header", "even_page_header")),
                               ("running footer", ("footer", "first_page_footer", "even_page_footer"))):  # fmt: skip
                for name in names:
                    try:
                        story = getattr(section, name)
                        if story.is_linked_to_previous:
                            continue
                        text = " ".join(t for t in (_prose("".join(x.text or "" for x in p._p.iter(_T)))
                                                    for p in story.paragraphs) if t)  # fmt: skip
                    except (KeyError, ValueError, AttributeError):
                        continue
                    if text and (why, text) not in seen:
                        seen.add((why, text))
                        out.append(Dropped(text, why))
        return out


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=False)
_PLACEHOLDER = re.compile("\ue010\\d+\ue011")


def child_boxes(el) -> list:
    """Text boxes inside a drawing or picture, once (the VML fallback of a drawing repeats them)."""
    out = []
    for box in el.iter(_w("txbxContent")):
        if any(a.tag == f"{{{_MC}}}Fallback" for a in box.iterancestors()):
            continue
        out.append(box)
    return out


def _style_key(name: str) -> str:
    """A style name as the patterns match it: lower case, without spaces, hyphens or underscores."""
    return re.sub(r"[\s_-]+", "", name.lower())


def _first_row_look(look) -> bool:
    """Whether a table's look applies its style's first-row formatting (w:firstRow, or bit 0x20 of w:val)."""
    if look is None:
        return False
    if look.get(_w("firstRow")) is not None:
        return look.get(_w("firstRow")) in ("1", "true", "on")
    value = look.get(_VAL) or ""
    return bool(re.fullmatch(r"[0-9A-Fa-f]{1,4}", value)) and bool(int(value, 16) & 0x20)


def _nearest(el, tag: str):
    for a in el.iterancestors():
        if a.tag == tag:
            return a
    return None


def _first(values: Iterable):
    for v in values:
        if v is not None:
            return v
    return None


def _is_toc_sdt(sdt) -> bool:
    pr = sdt.find(_w("sdtPr"))
    if pr is None:
        return False
    gallery = pr.find(f"{_w('docPartObj')}/{_w('docPartGallery')}")
    return gallery is not None and "table of contents" in (gallery.get(_VAL) or "").lower()


_HYPHEN_BREAK = re.compile(r"(?<=\w)([-\u2010\u00ad])[ \t]*\n[ \t]*(?=\w)")


def _prose(raw: str) -> str:
    """Running text: a word hyphenated at a manual line break joined (a hyphen-minus, which may be a
    compound's, is kept; a hyphen U+2010 before a lower-case letter and a soft hyphen are not), soft
    hyphens out, whitespace (tabs, line breaks) as single spaces; no-break spaces kept."""

    def join(m: re.Match) -> str:
        hyphen = m.group(1)
        if hyphen == "\u2010":
            return "" if raw[m.end()].islower() else hyphen
        return "-" if hyphen == "-" else ""

    raw = _HYPHEN_BREAK.sub(join, raw)
    return _SPACES.sub(" ", raw.replace("\u00ad", "")).strip()


def _code_text(raw: str) -> str:
    """A code block verbatim: its lines and indentation; blank lines at either end and trailing spaces removed."""
    lines = [ln.rstrip() for ln in raw.replace("\u00ad", "").split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


# --------------------------------------------------------------------------- structure over blocks


def _join_deleted_marks(blocks: list[_Block]) -> list[_Block]:
    """A paragraph whose mark is a tracked deletion is one paragraph with the next, as once the change is accepted."""
    out: list[_Block] = []
    joining = False
    for b in blocks:
        if joining and out and b.text.strip():
            prev = out[-1]
            out[-1] = replace(prev, text=_prose(f"{prev.text} {b.text}"), link_chars=prev.link_chars + b.link_chars,
                              break_after=b.break_after, mark_deleted=b.mark_deleted)  # fmt: skip
            joining = b.mark_deleted
            continue
        out.append(b)
        joining = b.mark_deleted and b.kind not in ("code", "row") and bool(b.text.strip())
    return out


def _join_breaks(blocks: list[_Block]) -> list[_Block]:
    """A paragraph cut by a page or section break (no final punctuation, then lower case) is one paragraph."""
    out: list[_Block] = []
    for b in blocks:
        if not b.text.strip():  # a paragraph holding only a break: the break is between its neighbours
            if out and (b.break_before or b.break_after):
                out[-1] = replace(out[-1], break_after=True)
            continue
        prev = out[-1] if out else None
        if (prev is not None and prev.kind == b.kind == "paragraph" and (prev.break_after or b.break_before)
                and prev.text and b.text and not ends_sentence(prev.text) and b.text[:1].islower()):  # fmt: skip
            out[-1] = replace(prev, text=f"{prev.text} {b.text}", link_chars=prev.link_chars + b.link_chars,
                              break_after=b.break_after)  # fmt: skip
            continue
        out.append(b)
    return out


def _merge_code(blocks: list[_Block]) -> list[_Block]:
    """Consecutive code paragraphs are one code block (one line each)."""
    out: list[_Block] = []
    for b in blocks:
        if b.kind == "code" and out and out[-1].kind == "code":
            out[-1] = replace(out[-1], text=f"{out[-1].text}\n{b.text}")
            continue
        out.append(b)
    return out


def _lead_in(text: str) -> str | None:
    """The sentence introducing a list: the last of a paragraph ending with ':' (a note call after it left out)."""
    t = re.sub(r"(?:\s*\[\d+\])+$", "", text.strip())
    if not t.endswith(":"):
        return None
    sentences = cut_sentences(t)
    return sentences[-1].strip() if sentences else t


_RESUME_AFTER = 3  # blocks (paragraphs, code) a list may be interrupted by and resume with its lead-in


def _lead_ins(blocks: list[_Block]) -> None:
    """Give each list item its context: the lead-in of its list, or its parent item ending with ':'.

    A list interrupted by a few paragraphs or code blocks inside it (not by a
    heading or a table) and resumed with the same numbering keeps its lead-in."""
    leads: dict[str | None, str | None] = {}  # numbering -> lead-in of the list that uses it
    lead: str | None = None
    stack: list[_Block] = []  # open items, by level
    since = 0  # blocks since the last item
    for i, b in enumerate(blocks):
        if b.kind != "item":
            since += 1
            if b.kind in ("heading", "title", "row") or since > _RESUME_AFTER:
                leads.clear()
            continue
        prev = blocks[i - 1] if i else None
        if prev is None or prev.kind != "item":
            found = _lead_in(prev.text) if prev is not None and prev.kind in ("paragraph", "quote") else None
            resumed = b.num in leads and not found
            if not resumed:
                leads.clear()
                stack = []
            lead = leads[b.num] if resumed else found
        leads.setdefault(b.num, lead)
        since = 0
        stack = [x for x in stack if x.level < b.level]
        parent = next((x for x in reversed(stack) if _lead_in(x.text)), None)
        b.context = _lead_in(parent.text) if parent is not None else lead
        stack.append(b)


# Furniture at either end of a document converted from a web page: navigation, sidebars, a copyright footer.
_NAV_MIN_LINKS = 3  # link blocks an end run needs before it can be navigation
_LABEL_WORDS = 4  # a label of a link list ("Previous topic", "This Page") is this short
_COPYRIGHT_START = re.compile(r"^\W*(?:©|\(c\)\s*\d{4}|copyright\b)", re.I)


def _link_block(b: _Block) -> bool:
    """A navigation entry: mostly link text, or no word at all ("|", "«")."""
    text = b.text.strip()
    if not re.search(r"\w", text):
        return True
    return b.kind != "code" and b.link_chars >= 0.5 * len(text) and len(text.split()) <= 12


def _label(b: _Block) -> bool:
    return b.kind in ("heading", "paragraph", "item", "term") and len(b.text.split()) <= _LABEL_WORDS \
        and not ends_sentence(b.text)


def _copyright(b: _Block) -> bool:
    return b.kind in ("paragraph", "item") and bool(_COPYRIGHT_START.match(b.text)) and len(b.text.split()) <= 120


def _trim_furniture(blocks: list[_Block]) -> tuple[list[_Block], list[Dropped]]:
    """Blocks without the navigation and footer at either end of the document, and those left out.

    An end run is made of link entries and the short labels between them, or a
    copyright footer; it is left out when it holds at least three link entries and
    reads as navigation: two link lists or more (apart from each other by a
    label), or entries repeating text of the document (a table of contents, a
    breadcrumb). The document's top-level headings are never part of it, nor is a list
    that a paragraph ending with ":" introduces.
    A single list of links (references at the end of a text) stays."""
    levels = [b.level for b in blocks if b.kind == "heading"]
    top = min(levels, default=0)

    def edge(b: _Block) -> bool:
        if b.kind == "title" or (b.kind == "heading" and b.level == top):
            return False
        return _link_block(b) or _label(b) or _copyright(b)

    start = 0
    while start < len(blocks) and edge(blocks[start]):
        start += 1
    while start > 0 and not (_link_block(blocks[start - 1]) or _copyright(blocks[start - 1])):
        start -= 1  # labels after the last link entry introduce the text
    end = len(blocks)
    while end > start and edge(blocks[end - 1]):
        end -= 1
    while end < len(blocks) and not (_link_block(blocks[end]) or _copyright(blocks[end])):
        if blocks[end].kind == "heading" and end + 1 < len(blocks) and _link_block(blocks[end + 1]):
            break  # the heading of a link list
        end += 1
    if 0 < end < len(blocks) and _lead_in(blocks[end - 1].text):
        while end < len(blocks) and blocks[end].kind == "item":
            end += 1  # the list the text introduces is the text's
    body = {" ".join(b.text.lower().split()) for b in blocks[start:end]}

    def navigation(run: list[_Block]) -> bool:
        links = [k for k, b in enumerate(run) if _link_block(b)]
        if len(links) < _NAV_MIN_LINKS:
            return False
        groups = 1 + sum(1 for a, b in zip(links, links[1:]) if b - a > 1)
        repeats = sum(" ".join(run[k].text.lower().strip(" |»›").split()) in body for k in links)
        return groups >= 2 or repeats >= 2

    dropped: list[Dropped] = []
    head, tail = blocks[:start], blocks[end:]
    keep_head = not navigation(head)
    keep_tail = not navigation(tail)
    if keep_tail:  # a copyright footer alone
        k = len(tail)
        while k > 0 and _copyright(tail[k - 1]):
            k -= 1
        if k < len(tail):
            dropped.extend(Dropped(b.text, "copyright line at the end of the document") for b in tail[k:])
            tail = tail[:k]
    out = blocks[start:end]
    if keep_head:
        out = head + out
    else:
        dropped.extend(Dropped(b.text, "navigation before the text (converted web page)") for b in head)
    if keep_tail:
        out = out + tail
    else:
        dropped.extend(Dropped(b.text, "copyright line at the end of the document" if _copyright(b) else
                               "navigation after the text (converted web page)") for b in tail)  # fmt: skip
    return out, dropped
