"""PDF with a text layer: its glyphs read into the parts a reader sees.

pdfplumber (pdfminer.six) gives every glyph of a page with its font, size and
position; nothing else about the structure is stated, so it is rebuilt from
the geometry, page by page:

1. glyphs become lines by their baselines; a smaller raised glyph (a note call
   such as "²" or "[82]") joins the line it sits on, marked as a superscript;
2. running headers and footers go (text repeated in the top or bottom margin
   of several pages, page numbers in the margins), each with its reason;
3. ruled tables (pdfplumber's table finder, page-wide frames left out) become
   rows of cells;
4. a page whose text runs in two columns (a gutter no line crosses, with prose
   on both sides) is read column by column;
5. lines become blocks where the line spacing, the font size, the indentation
   or a bullet says a new one starts; a block is a heading (larger or bold
   font, short), a code block (monospaced), a list item (a bullet glyph or a
   drawn bullet at its left) or a paragraph;
6. footnotes (smaller text at the bottom of a page starting with the number of
   a note called above) and endnotes (numbered notes after the body, as
   DocBook prints them) become `Footnote`s, and their calls "[n]";
7. a table of contents (lines repeating the headings that follow), a line
   repeating the title above it, navigation links after the end of the text,
   a lone word above the title are left out, each with its reason;
8. a paragraph cut by a page or column break is joined with its continuation,
   and line ends are joined: hyphenated words whole (the hyphen kept when the
   document writes the word with it, or when its lines are not justified),
   soft hyphens dropped, broken web addresses whole.

`read_pdf` returns a `structured.Parsed`; a file without a text layer (a scan),
an encrypted or a damaged one raises `IngestError` with one line.
"""

from __future__ import annotations

import re
import statistics
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..records import Dropped, Footnote
from .decode import IngestError
from .structured import Meta, Parsed, Part

# ----------------------------------------------------------------------------- records


@dataclass(slots=True)
class Glyph:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    base: float  # baseline, from the top of the page
    size: float
    bold: bool
    mono: bool
    sup: bool = False


@dataclass(slots=True)
class Line:
    glyphs: list[Glyph]
    page: int  # 1-based
    x0: float = 0.0
    x1: float = 0.0
    top: float = 0.0
    bottom: float = 0.0
    main_top: float = 0.0  # top and bottom of its glyphs other than superscripts
    main_bottom: float = 0.0
    base: float = 0.0
    size: float = 0.0  # size of most of its glyphs (of its prose glyphs when it has some)
    prose: bool = False  # it has glyphs in a proportional font (not only code)
    bullet: bool = False  # a drawn bullet at its left
    col: tuple[int, int] = (0, 0)  # (page, column) it is read in
    col_x1: float = 0.0  # right edge of its column's text
    wide_gaps: int = 0  # gaps wider than three ems (pieces of a layout row)

    def measure(self) -> "Line":
        gs = [g for g in self.glyphs if g.text.strip()] or self.glyphs
        self.x0 = min(g.x0 for g in gs)
        self.x1 = max(g.x1 for g in gs)
        self.top = min(g.top for g in gs)
        self.bottom = max(g.bottom for g in gs)
        main = [g for g in gs if not g.sup] or gs
        self.main_top = min(g.top for g in main)
        self.main_bottom = max(g.bottom for g in main)
        text = [g for g in main if not g.mono and g.text.strip()]
        self.prose = len(text) >= 3
        sizes = Counter(round(g.size, 1) for g in (text if self.prose else main))
        self.size = sizes.most_common(1)[0][0]
        self.base = statistics.median(g.base for g in main if round(g.size, 1) == self.size)
        self.wide_gaps = sum(1 for a, b in zip(gs, gs[1:]) if b.x0 - a.x1 > 3 * self.size)
        return self

    @property
    def text(self) -> str:
        return _line_text(self.glyphs)

    @property
    def bold(self) -> float:
        gs = [g for g in self.glyphs if g.text.strip()]
        return sum(g.bold for g in gs) / len(gs) if gs else 0.0

    @property
    def mono(self) -> float:
        gs = [g for g in self.glyphs if g.text.strip()]
        return sum(g.mono for g in gs) / len(gs) if gs else 0.0


@dataclass
class Table:
    rows: list[list[list[str]]]  # the lines of each cell of each row
    header: list[list[str]] | None
    page: int
    top: float
    bottom: float
    x0: float
    x1: float
    col: tuple[int, int] = (0, 0)


@dataclass
class Block:
    lines: list[Line] = field(default_factory=list)
    kind: str = "paragraph"  # heading, paragraph, item, code, table
    level: int = 0
    table: Table | None = None

    @property
    def page(self) -> int:
        return self.table.page if self.table else self.lines[0].page

    @property
    def size(self) -> float:
        c: Counter = Counter()
        for ln in self.lines:
            c[ln.size] += len(ln.glyphs)
        return c.most_common(1)[0][0] if c else 0.0

    @property
    def raw(self) -> str:
        return " ".join(ln.text for ln in self.lines)

    @property
    def plain(self) -> str:
        return _SUP.sub(lambda m: m.group(1), self.raw)


# Superscript runs are kept between these private-use marks until the notes are known.
_SUP_OPEN, _SUP_CLOSE = "\ufdd0", "\ufdd1"  # noncharacters: never in a document's text
_SUP = re.compile(f"{_SUP_OPEN}([^{_SUP_CLOSE}]*){_SUP_CLOSE}")
_CALL_TEXT = re.compile(r"^\s*\[?(\d{1,3})\]?\s*$")
_SUPERSCRIPTS = str.maketrans("0123456789+-−", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻")
_CID = re.compile(r"^\(cid:\d+\)$")  # a glyph the font maps to no character
_BOLD = re.compile(r"bold|black|heavy|semibold|demi|,B\b", re.I)
_MONO = re.compile(r"mono|courier|consol|typewriter|menlo|cmtt|inconsolata|fixed|code", re.I)
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                            "\ufb05": "st", "\ufb06": "st", "\u00a0": " "})  # fmt: skip
# A bullet: a bullet sign, or a symbol font's glyph in the private use area (Word's Symbol bullet is U+F0B7).
_BULLET = re.compile(r"^[•◦▪▫‣●○■□►▸∙·\ue000-\uf8ff]\s+(?=\S)")
# A number or letter that opens a list item: "1.", "2)", "(a)", "iv."
_NUMBERED = re.compile(r"^\(?(?:\d{1,2}|[a-zA-Z]|[ivxIVX]{1,4})[.)]\s+(?=\S)")
_TERMINAL = re.compile(r"[.!?…:;»\"”')\]]\s*$")
_PAGE_NUMBER = re.compile(
    r"^[-–—\s]*(?:(?:page|p\.|seite|página|pagina|pag\.|s\.)\s*)?(?:\d{1,4}|[ivxlcdm]{1,7})"
    r"(?:\s*(?:/|of|de|sur|von|di|из)\s*\d{1,4})?[-–—\s]*$", re.I)  # fmt: skip
_URL_START = re.compile(r"(?:https?|ftp|file)://|www\.", re.I)
_WEB_URL = re.compile(r"(?:https?|ftp)://[^\s<>()\[\]«»\"]+|\bwww\.[^\s<>()\[\]«»\"]+", re.I)
_NOTE_MARK = re.compile(r"^\s*(?:\[(\d{1,3})\]|(\d{1,3})(?:[.)]|(?=\s)))\s*")
_WORDS = re.compile(r"\w+", re.U)


# ----------------------------------------------------------------------------- entry point


def read_pdf(path: Path) -> Parsed:
    """The parts, notes, metadata and left-out blocks of a PDF file (see the module docstring)."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(path)
    except Exception as e:  # pdfplumber wraps pdfminer's errors
        cause = getattr(e, "args", [None])[0] if e.args else e
        if isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError):
            raise IngestError(path, "encrypted PDF (it needs a password)") from None
        raise IngestError(path, f"not a readable PDF ({_one_line(cause or e)})") from None
    try:
        with pdf:
            pages = _read_pages(path, pdf)
            info = pdf.metadata or {}
    except IngestError:
        raise
    except Exception as e:
        cause = e.args[0] if getattr(e, "args", None) else e
        if isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError):
            raise IngestError(path, "encrypted PDF (it needs a password)") from None
        raise IngestError(path, f"damaged PDF ({_one_line(cause)})") from None
    if not pages:
        raise IngestError(path, "PDF without pages")
    visible = [g for p in pages for g in p.glyphs if g.text.strip()]
    if not visible:
        raise IngestError(path, "no text layer (a scanned PDF?)")
    unmapped = sum(1 for g in visible if _CID.match(g.text))
    if unmapped > 0.5 * len(visible):
        raise IngestError(path, "its text layer maps glyphs to no characters (text not extractable)")
    if unmapped:
        for p in pages:
            p.glyphs = [g for g in p.glyphs if not _CID.match(g.text)]
    return _Reader(pages, info).parse()


def _one_line(e: object) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text[:120]


# ----------------------------------------------------------------------------- pages


@dataclass
class _Page:
    number: int
    width: float
    height: float
    glyphs: list[Glyph]
    marks: list[tuple[float, float, float, float]]  # small drawn shapes (bullets): x0, x1, top, bottom
    tables: list[tuple[tuple[float, float, float, float], list]]  # bbox, rows of cell bboxes
    uris: list[tuple[str, tuple[float, float, float, float]]]
    rotated: str = ""


def _read_pages(path: Path, pdf) -> list[_Page]:
    """Each page's glyphs, small drawn shapes (bullets), ruled tables and links.

    Glyphs and shapes are read from pdfminer's layout objects directly (pdfplumber's own object
    dictionaries cost a third of the time); pdfplumber's table finder runs only on pages with
    enough drawn boxes and rules to hold a table."""
    from pdfminer.layout import LTChar, LTContainer, LTCurve

    def walk(objs):
        for o in objs:
            if isinstance(o, LTContainer):
                yield from walk(o._objs)
            else:
                yield o

    pages = []
    for page in pdf.pages:
        height = float(page.height)
        mb_x0, mb_top = float(page.mediabox[0]), float(page.mediabox[1])
        rotated: list[str] = []
        chars = []
        marks = []
        edges: list[dict] = []  # axis-aligned strokes and box sides, for ruled tables
        descents: dict[str, Counter] = defaultdict(Counter)
        for o in walk(page.layout._objs):
            if isinstance(o, LTChar):
                text = o.get_text()
                if not text or text in "\r\n":
                    continue
                if not o.upright:
                    rotated.append(text)
                    continue
                size = float(o.size) or (o.y1 - o.y0) or 1.0
                font = o.fontname if isinstance(o.fontname, str) else o.fontname.decode("latin-1", "replace")
                # the glyph box's bottom below the origin: the font's descent, plus any text rise (Ts)
                drop = (o.y0 - o.matrix[5]) / size
                descents[font][round(drop, 2)] += 1
                chars.append((o, text, size, drop, font))
            elif isinstance(o, LTCurve):
                w, h = o.x1 - o.x0, o.y1 - o.y0
                if 1.5 <= w <= 7 and 1.5 <= h <= 7 and abs(w - h) <= 1.5:
                    marks.append((o.x0 + mb_x0, o.x1 + mb_x0, height - o.y1 + mb_top, height - o.y0 + mb_top))
                elif w > 7 or h > 7:
                    edges += _edges(o, height, mb_x0, mb_top)
        descent = {f: cnt.most_common(1)[0][0] for f, cnt in descents.items()}
        glyphs = []
        for o, text, size, drop, font in chars:
            rise = (drop - descent[font]) * size if abs(drop - descent[font]) > 0.05 else 0.0
            glyphs.append(Glyph(text.translate(_LIGATURES), o.x0 + mb_x0, o.x1 + mb_x0, height - o.y1 + mb_top,
                                height - o.y0 + mb_top, height + mb_top - o.matrix[5] - rise, size,
                                bool(_BOLD.search(font)), bool(_MONO.search(font))))  # fmt: skip
        tables = _ruled_tables(edges, float(page.width) * height) if glyphs and len(edges) >= 12 else []
        uris = [(a["uri"], (a["x0"], a["x1"], a["top"], a["bottom"])) for a in page.hyperlinks if a.get("uri")]
        pages.append(_Page(page.page_number, float(page.width), height, _dedupe(glyphs), marks, tables, uris,
                           "".join(rotated)))  # fmt: skip
        page.close()  # frees the page's parsed objects
    return pages


def _edges(o, height: float, dx: float, dy: float) -> list[dict]:
    """The horizontal and vertical strokes of a drawn path (a box's four sides), as pdfplumber's
    table finder takes them."""
    pts = [(x + dx, height - y + dy) for x, y in (getattr(o, "pts", None) or [])]
    rect = len({round(x, 1) for x, _ in pts}) <= 2 and len({round(y, 1) for _, y in pts}) <= 2
    if len(pts) < 2 or rect:  # a box: its four sides
        x0, x1, top, bottom = o.x0 + dx, o.x1 + dx, height - o.y1 + dy, height - o.y0 + dy
        pts = [(x0, top), (x1, top), (x1, bottom), (x0, bottom), (x0, top)]
    out = []
    for (ax, ay), (bx, by) in zip(pts, pts[1:]):
        if abs(ay - by) < 0.01 and abs(ax - bx) >= 1:
            x0, x1 = sorted((ax, bx))
            out.append({"x0": x0, "x1": x1, "top": ay, "bottom": ay, "width": x1 - x0, "height": 0.0,
                        "orientation": "h", "object_type": "rect_edge"})  # fmt: skip
        elif abs(ax - bx) < 0.01 and abs(ay - by) >= 1:
            top, bottom = sorted((ay, by))
            out.append({"x0": ax, "x1": ax, "top": top, "bottom": bottom, "width": 0.0, "height": bottom - top,
                        "orientation": "v", "object_type": "rect_edge"})  # fmt: skip
    return out


def _ruled_tables(edges: list[dict], area: float) -> list[tuple[tuple[float, float, float, float], list]]:
    """Tables whose cells are drawn (pdfplumber's "lines" strategy with its default tolerances), each
    as its box and its rows of cell boxes; a frame around most of the page is no table."""
    from pdfplumber import table as tf
    from pdfplumber.utils import filter_edges

    merged = filter_edges(tf.merge_edges(edges, 3, 3, 3, 3), min_length=3)
    cells = tf.intersections_to_cells(tf.edges_to_intersections(merged, 3, 3))
    out = []
    for group in tf.cells_to_tables(cells):
        t = tf.Table(None, group)
        x0, top, x1, bottom = t.bbox
        if (x1 - x0) * (bottom - top) > 0.5 * area or len(t.rows) < 2:
            continue
        out.append((t.bbox, [r.cells for r in t.rows]))
    return out


def _dedupe(glyphs: list[Glyph]) -> list[Glyph]:
    """Glyphs drawn twice at (almost) the same place (fake bold, shadows) once."""
    seen: set = set()
    out = []
    for g in glyphs:
        key = (g.text, round(g.x0), round(g.base))
        if key in seen and g.text.strip():
            continue
        seen.add(key)
        out.append(g)
    return out


def _line_text(glyphs: Sequence[Glyph]) -> str:
    """A line's text: explicit spaces kept, a space where glyphs stand apart, superscripts marked."""
    out: list[str] = []
    prev: Glyph | None = None
    space = False
    owed = 0.0  # width of glyphs the font gave none (a ligature), not yet made up by a later position
    for g in glyphs:
        if not g.text.strip():
            space = prev is not None
            continue
        if prev is not None:
            step = g.x0 - prev.x1
            if owed and not space and step >= 0.8 * owed:  # after a space, the step is the word spacing
                step, owed = step - owed, 0.0
            gap = space or step > 0.17 * min(prev.size, g.size)
            if prev.sup and not g.sup:
                out.append(_SUP_CLOSE)
            if gap:
                out.append(" ")
            if g.sup and not prev.sup:
                out.append(_SUP_OPEN)
        elif g.sup:
            out.append(_SUP_OPEN)
        out.append(g.text)
        space = False
        prev = g
        if g.x1 - g.x0 < 0.05 * g.size and g.text.isalpha():
            owed += 0.28 * g.size * len(g.text)
    if prev is not None and prev.sup:
        out.append(_SUP_CLOSE)
    return "".join(out)


# ----------------------------------------------------------------------------- lines


def _lines(glyphs: list[Glyph], page: int) -> list[Line]:
    """Glyphs grouped by baseline; a smaller raised (or lowered) run joins the line it belongs to."""
    if not glyphs:
        return []
    order = sorted(glyphs, key=lambda g: (g.base, g.x0))
    clusters: list[list[Glyph]] = [[order[0]]]
    start = order[0].base
    for g in order[1:]:
        if g.base - start <= 0.3 * max(g.size, 1.0) and g.base - clusters[-1][-1].base <= 0.2 * max(g.size, 1.0):
            clusters[-1].append(g)
        else:
            clusters.append([g])
            start = g.base
    lines = [Line(sorted(c, key=lambda g: g.x0), page).measure() for c in clusters]
    # Superscripts and subscripts: smaller glyphs set a little above (or below) the baseline of a line of
    # larger ones, beside its glyphs, belong to that line.
    moved: dict[int, list[Glyph]] = defaultdict(list)
    for k, ln in enumerate(lines):
        near = [j for j in range(max(0, k - 4), min(len(lines), k + 5)) if j != k]
        biggest = max((lines[j].size for j in near), default=0.0)
        if min(g.size for g in ln.glyphs) > 0.92 * biggest:
            continue
        stay = []
        for run in _runs(ln.glyphs):
            host = _host(lines, near, run) if max(g.size for g in run) <= 0.92 * biggest else None
            if host is None:
                stay += run
            else:
                for g in run:
                    g.sup = lines[host].base > g.base
                moved[host] += run
        ln.glyphs = stay
    out = []
    for k, ln in enumerate(lines):
        if moved.get(k):
            ln.glyphs = sorted(ln.glyphs + moved[k], key=lambda g: g.x0)
        if any(g.text.strip() for g in ln.glyphs):
            out.append(ln.measure())
    return out


def _runs(glyphs: list[Glyph]) -> list[list[Glyph]]:
    """Glyphs set close together (a word, a note call), in order."""
    runs: list[list[Glyph]] = []
    for g in glyphs:
        if runs and g.x0 - runs[-1][-1].x1 <= 0.5 * g.size:
            runs[-1].append(g)
        else:
            runs.append([g])
    return runs


def _host(lines: list[Line], near: list[int], run: list[Glyph]) -> int | None:
    """The line a run of small glyphs is a superscript or subscript of, if any."""
    visible = [g for g in run if g.text.strip()]
    if not visible:
        return None
    size = max(g.size for g in visible)
    base = statistics.median(g.base for g in visible)
    x0, x1 = visible[0].x0, visible[-1].x1
    best, dist = None, None
    for j in near:
        m = lines[j]
        if size > 0.92 * m.size:
            continue
        d = m.base - base
        if not (0 < d <= 0.7 * m.size or 0 < -d <= 0.45 * m.size):
            continue
        i = bisect_left([h.x0 for h in m.glyphs], x0)
        gap = min((h.x0 - x1 if h.x0 >= x0 else max(0.0, x0 - h.x1)) for h in m.glyphs[max(0, i - 1):i + 1])
        if gap > 1.5 * m.size:
            continue
        if dist is None or abs(d) < dist:
            best, dist = j, abs(d)
    return best


def _split_line(ln: Line, x: float) -> tuple[Line | None, Line | None]:
    left = [g for g in ln.glyphs if (g.x0 + g.x1) / 2 < x]
    right = [g for g in ln.glyphs if (g.x0 + g.x1) / 2 >= x]
    mk = lambda gs: Line(gs, ln.page).measure() if any(g.text.strip() for g in gs) else None  # noqa: E731
    return mk(left), mk(right)


# ----------------------------------------------------------------------------- the reader


class _Reader:
    def __init__(self, pages: list[_Page], info: dict):
        self.pages = pages
        self.info = info
        self.dropped: list[Dropped] = []
        self.uris = [u for p in pages for u, _ in p.uris]

    # ---- the whole pipeline

    def parse(self) -> Parsed:
        page_lines: dict[int, list[Line]] = {}
        page_tables: dict[int, list[Table]] = {}
        for p in self.pages:
            if p.rotated.strip():
                self.dropped.append(Dropped(p.rotated.strip()[:200], f"rotated text on page {p.number}"))
            glyphs, tables = self._tables(p)
            page_lines[p.number] = _lines(glyphs, p.number)
            page_tables[p.number] = tables
        self._margins(page_lines)
        flow: list[Line | Table] = []
        for p in self.pages:
            flow.extend(self._reading_order(p, page_lines[p.number], page_tables[p.number]))
        lines = [x for x in flow if isinstance(x, Line)]
        self._stats(lines)
        cells = [text for t in flow if isinstance(t, Table) for row in [t.header or [], *t.rows] for cell in row
                 for text in cell]  # fmt: skip
        self._vocabulary([ln.text for ln in lines] + cells)
        blocks = self._blocks(flow)
        self._classify(blocks)
        blocks = self._furniture(blocks)
        notes, blocks = self._notes(blocks)
        blocks = self._join_breaks(blocks)
        parts = self._parts(blocks, {n.number for n in notes})
        return Parsed("pdf", tuple(parts), tuple(notes), self._meta(blocks), tuple(self.dropped))

    # ---- tables

    def _tables(self, p: _Page) -> tuple[list[Glyph], list[Table]]:
        glyphs = p.glyphs
        tables: list[Table] = []
        for (x0, top, x1, bottom), rows in p.tables:
            inside = [g for g in glyphs if x0 <= (g.x0 + g.x1) / 2 <= x1 and top <= (g.top + g.bottom) / 2 <= bottom]
            if not inside:
                continue
            # Text running on right beside the frame on its lines: boxes around words of a line, not a table.
            if any(g.text.strip() and top <= (g.top + g.bottom) / 2 <= bottom and g not in inside
                   and (x0 - 2 * g.size <= g.x1 <= x0 + 1 or x1 - 1 <= g.x0 <= x1 + 2 * g.size) for g in glyphs):  # fmt: skip
                continue
            # Column edges from the rows whose cells are all drawn; rows with merged cells are cut by them.
            edges = sorted({round(c[0], 0) for r in rows for c in r if c} | {round(x1, 0)})
            cols: list[float] = []
            for e in edges:
                if not cols or e - cols[-1] > 3:
                    cols.append(e)
            texts: list[list[list[str]]] = []
            bolds: list[bool] = []
            for r in rows:
                cells = [c for c in r if c]
                if not cells:
                    continue
                rtop, rbottom = min(c[1] for c in cells), max(c[3] for c in cells)
                row_glyphs = [g for g in inside if rtop <= (g.top + g.bottom) / 2 <= rbottom]
                row: list[list[str]] = []
                for a, b in zip(cols, cols[1:]):
                    cg = [g for g in row_glyphs if a - 1 <= (g.x0 + g.x1) / 2 < b + 1]
                    row.append([ln.text for ln in _lines(cg, p.number)])
                if any(row):
                    texts.append(row)
                    vis = [g for g in row_glyphs if g.text.strip()]
                    bolds.append(bool(vis) and sum(g.bold for g in vis) / len(vis) > 0.8)
            filled = [r for r in texts if sum(bool(c) for c in r) >= 2]
            if len(texts) < 2 or len(filled) < 2 or len(cols) < 3:
                continue
            # Columns that are empty in every row are not columns.
            keep = [j for j in range(len(texts[0])) if any(r[j] for r in texts)]
            texts = [[r[j] for j in keep] for r in texts]
            header = texts[0] if bolds and bolds[0] and not all(bolds) else None
            ids = {id(g) for g in inside}
            glyphs = [g for g in glyphs if id(g) not in ids]
            tables.append(Table(texts[1:] if header else texts, header, p.number, top, bottom, x0, x1))
        return glyphs, tables

    # ---- running headers, footers, page numbers

    def _margins(self, page_lines: dict[int, list[Line]]) -> None:
        n = len(self.pages)
        candidates: dict[str, list[tuple[int, Line, str]]] = defaultdict(list)
        for p in self.pages:
            lines = sorted(page_lines[p.number], key=lambda ln: ln.top)
            band = 0.12 * p.height
            for where, group in (("top", lines[:2]), ("bottom", lines[-2:])):
                for ln in group:
                    if (where == "top" and ln.bottom > band) or (where == "bottom" and ln.top < p.height - band):
                        continue
                    text = _SUP.sub(r"\1", ln.text).strip()
                    if _PAGE_NUMBER.match(text):
                        self._drop(page_lines, p.number, ln, f"page number ({where} of page {p.number})")
                        continue
                    key = where + "|" + re.sub(r"\d+", "#", " ".join(text.lower().split()))
                    candidates[key].append((p.number, ln, where))
        for key, found in candidates.items():
            pages = {pn for pn, _, _ in found}
            if len(pages) < 2 or (len(pages) < 3 and len(pages) < 0.5 * n):
                continue
            median_top = statistics.median(ln.top for _, ln, _ in found)
            for pn, ln, where in found:
                if abs(ln.top - median_top) <= 6:
                    self._drop(page_lines, pn, ln, f"running {'header' if where == 'top' else 'footer'} "
                                                   f"(repeated in the {where} margin of {len(pages)} pages)")

    def _drop(self, page_lines: dict[int, list[Line]], pn: int, ln: Line, reason: str) -> None:
        if ln in page_lines[pn]:
            page_lines[pn].remove(ln)
            self.dropped.append(Dropped(_SUP.sub(r"\1", ln.text).strip(), reason))

    # ---- reading order (columns)

    def _reading_order(self, p: _Page, lines: list[Line], tables: list[Table]) -> list[Line | Table]:
        lines = sorted(lines, key=lambda ln: ln.top)
        gutter = _gutter(lines)
        items: list[tuple[float, int, float, Line | Table]] = []  # (band top, column, top, item)
        if gutter is None:
            right = max((ln.x1 for ln in lines), default=p.width)
            for ln in lines:
                ln.col, ln.col_x1 = (p.number, 0), right
                items.append((ln.top, 0, ln.top, ln))
            for t in tables:
                t.col = (p.number, 0)
                items.append((t.top, 0, t.top, t))
            items.sort(key=lambda it: (it[0], it[1], it[2]))
        else:
            x, bands = gutter
            # Bands: full-width stretches and two-column stretches, in order down the page.
            seq: list[list] = []
            for ln in lines:
                two = any(b0 <= ln.top <= b1 for b0, b1 in bands)
                if not seq or seq[-1][0] != two:
                    seq.append([two, []])
                seq[-1][1].append(ln)
            k = 0
            for two, group in seq:
                k += 1
                band_top = group[0].top
                if not two:
                    right = max(ln.x1 for ln in group)
                    for ln in group:
                        ln.col, ln.col_x1 = (p.number, k * 3), right
                        items.append((band_top, 0, ln.top, ln))
                    continue
                pieces: list[tuple[int, Line]] = []
                for ln in group:
                    left, rightp = _split_line(ln, x)
                    pieces += [(0, left)] if left else []
                    pieces += [(1, rightp)] if rightp else []
                for side in (0, 1):
                    mine = [pc for s, pc in pieces if s == side]
                    if not mine:
                        continue
                    right = max(pc.x1 for pc in mine)
                    for pc in mine:
                        pc.col, pc.col_x1 = (p.number, k * 3 + 1 + side), right
                        items.append((band_top, 1 + side, pc.top, pc))
            for t in tables:
                t.col = (p.number, 99)
                items.append((t.top, 0, t.top, t))
            items.sort(key=lambda it: (it[0], it[1], it[2]))
        out = [it[3] for it in items]
        # Bullets drawn as small shapes at a line's left.
        for ln in (o for o in out if isinstance(o, Line)):
            for mx0, mx1, mtop, mbottom in p.marks:
                cy = (mtop + mbottom) / 2
                if ln.top - 1 <= cy <= ln.bottom + 1 and mx1 <= ln.x0 + 0.5 and ln.x0 - mx1 <= 2.5 * ln.size:
                    ln.bullet = True
                    break
        return out

    # ---- document statistics

    def _stats(self, lines: list[Line]) -> None:
        sizes: Counter = Counter()
        mono_sizes: Counter = Counter()
        for ln in lines:
            for g in ln.glyphs:
                if g.text.strip() and not g.sup:
                    (mono_sizes if g.mono else sizes)[round(g.size * 2) / 2] += 1
        self.body = (sizes or mono_sizes).most_common(1)[0][0] if sizes or mono_sizes else 10.0
        pitches: Counter = Counter()  # line spacing in ems, of prose and of code
        code: Counter = Counter()
        for a, b in zip(lines, lines[1:]):
            if a.col == b.col and abs(a.size - b.size) < 0.6 and 0 < b.base - a.base < 3 * a.size:
                (pitches if a.prose and b.prose else code)[round((b.base - a.base) / a.size, 2)] += 1
        self.pitch = (pitches or code).most_common(1)[0][0] if pitches or code else 1.2
        self.code_pitch = (code or pitches).most_common(1)[0][0] if pitches or code else 1.2
        # Justified text: the lines that do not end a block reach their column's right edge.
        inner = [a for a, b in zip(lines, lines[1:]) if a.col == b.col and abs(a.size - b.size) < 0.6
                 and 0 < b.base - a.base <= 1.6 * a.size and a.mono < 0.5]  # fmt: skip
        self.justified = len(inner) >= 3 and sum(a.col_x1 - a.x1 <= 1.5 for a in inner) >= 0.6 * len(inner)

    def _vocabulary(self, lines: list[str]) -> None:
        """Words and hyphenated compounds written within lines (not at their ends)."""
        vocab: set[str] = set()
        for text in lines:
            toks = re.findall(r"\w+(?:[-\u2010]\w+)*", _SUP.sub(" ", text).lower())
            for t in toks[:-1] if text.rstrip().endswith(("-", "\u2010", "\u00ad")) else toks:
                parts = re.split(r"[-\u2010]", t)
                vocab.add(t.replace("\u2010", "-"))
                vocab.update(parts)
                for i in range(len(parts) - 1):
                    vocab.add(parts[i] + "-" + parts[i + 1])
        self.vocab = vocab

    # ---- blocks

    def _blocks(self, flow: list[Line | Table]) -> list[Block]:
        blocks: list[Block] = []
        prev: Line | None = None
        for item in flow:
            if isinstance(item, Table):
                blocks.append(Block(kind="table", table=item))
                prev = None
                continue
            ln = item
            if prev is None or self._breaks(prev, ln, blocks[-1]):
                blocks.append(Block([ln]))
            else:
                blocks[-1].lines.append(ln)
            prev = ln
        return blocks

    def _breaks(self, a: Line, b: Line, block: Block) -> bool:
        """Whether line `b` starts a new block after line `a` (the last line of `block`)."""
        if a.col != b.col or a.page != b.page:
            return True
        size = min(a.size, b.size)
        # a change of size starts a block, but for code within a line of prose: its lines compare as prose
        if abs(a.size - b.size) > max(0.6, 0.06 * size) and a.prose == b.prose:
            return True
        step = (b.base - a.base) / max(a.size, 1.0)
        if all(ln.mono > 0.9 for ln in block.lines) and b.mono > 0.9 and not b.bullet:
            # a code block keeps its blank lines and its indentation
            return step > max(2.6 * self.code_pitch, 2.0) or b.base <= a.base
        # a superscript makes room for itself above its line
        room = (b.main_top - b.top) / max(b.size, 1.0) + 0.3 if b.top < b.main_top else 0.0
        if step > self.pitch * 1.3 + 0.15 + room or b.main_top - a.main_bottom > 0.8 * size or b.base <= a.base:
            return True
        if b.bullet or _bullet_text(b.text):
            return True
        if _NUMBERED.match(_SUP.sub("", b.text)) and (_TERMINAL.search(a.text) or a.x1 < a.col_x1 - 0.15 * (a.col_x1 - a.x0)):
            return True  # a numbered item after a finished line
        if a.bold > 0.9 and b.bold < 0.5 and len(block.lines) == 1 and len(_WORDS.findall(a.text)) <= 12:
            return True  # a bold line over regular text: a run-in heading
        first = block.lines[0]
        indent = 0.8 * size
        if b.x0 > a.x0 + indent:
            # the continuation of a bulleted line hangs under its text
            if _item_start(first.text) and abs(b.x0 - _text_x0(first)) <= indent:
                return False
            return True
        if b.x0 < a.x0 - indent:
            return not (len(block.lines) == 1 and not _item_start(a.text) and not a.bullet)  # first-line indent
        # a short line ending a sentence ends its paragraph (text set without spacing between paragraphs)
        if a.col_x1 - a.x1 > 0.3 * (a.col_x1 - min(ln.x0 for ln in block.lines) + 1) and _TERMINAL.search(a.text) \
                and a.x1 < a.col_x1 - 8 * size:  # fmt: skip
            return True
        return False

    # ---- kinds

    def _classify(self, blocks: list[Block]) -> None:
        body = self.body
        big_sizes: set[float] = set()
        for b in blocks:
            if b.kind == "table":
                continue
            text = b.plain.strip()
            nwords = len(_WORDS.findall(text))
            mono = sum(ln.mono * len(ln.glyphs) for ln in b.lines) / max(1, sum(len(ln.glyphs) for ln in b.lines))
            bold = sum(ln.bold * len(ln.glyphs) for ln in b.lines) / max(1, sum(len(ln.glyphs) for ln in b.lines))
            size = b.size
            if b.lines[0].bullet or _bullet_text(b.lines[0].text):
                b.kind = "item"
            elif mono > 0.9:
                b.kind = "code"
            elif size >= body * 1.12 and size - body >= 1 and len(b.lines) <= 3 and 0 < nwords <= 25:
                b.kind = "heading"
                big_sizes.add(round(size * 2) / 2)
            elif (bold > 0.9 and size >= body * 0.95 and len(b.lines) <= 2 and 0 < nwords <= 12
                  and not re.search(r"[.,;:]\s*$", text)):  # fmt: skip
                b.kind = "heading"
            elif _item_start(b.lines[0].text):
                b.kind = "item"  # numbered
            else:
                b.kind = "paragraph"
        ranks = sorted(big_sizes, reverse=True)
        for b in blocks:
            if b.kind == "heading":
                s = round(b.size * 2) / 2
                b.level = min(6, ranks.index(s) + 1 if s in ranks else len(ranks) + 1)

    # ---- furniture inside the flow

    def _furniture(self, blocks: list[Block]) -> list[Block]:
        out = list(blocks)
        headings = [(i, _key(b.plain)) for i, b in enumerate(out) if b.kind == "heading"]
        # A table of contents: lines that repeat headings found further on.
        drop: dict[int, str] = {}
        i = 0
        while i < len(out):
            run, j = 0, i
            while j < len(out) and out[j].kind in ("paragraph", "item") and self._toc_block(out[j], j, headings):
                run += len(out[j].lines)
                j += 1
            titled = i > 0 and out[i - 1].kind == "heading" and len(_WORDS.findall(out[i - 1].plain)) <= 4
            if j > i and (run >= 2 or titled):
                for k in range(i, j):
                    drop[k] = "table of contents (its entries repeat the headings that follow)"
                if titled:
                    drop[i - 1] = "title of the table of contents"
                i = j
            else:
                i += 1
        # The title repeated above itself (a page header on the first page).
        top = next((i for i, b in enumerate(out) if b.kind == "heading" and b.level == 1), None)
        if top is not None:
            title = _key(out[top].plain)
            for i in range(top):
                if out[i].page == out[top].page and _key(out[i].plain) == title and out[i].kind != "table":
                    drop[i] = "repeats the title above it (a page header)"
                elif out[i].kind != "heading" and out[i].kind != "table" and len(out[i].plain.split()) == 1:
                    drop[i] = "a lone word above the title (a button or logo label)"
        # Navigation links after the end of the text: a last row of short pieces set wide apart.
        k = len(out) - 1
        while k >= 0 and out[k].kind != "table" and out[k].lines and all(ln.wide_gaps for ln in out[k].lines) \
                and all(len(_WORDS.findall(piece)) <= 10 for ln in out[k].lines for piece in _pieces(ln)):  # fmt: skip
            drop[k] = "navigation links after the end of the text"
            k -= 1
        for i in sorted(drop):
            if out[i].kind == "table":
                continue
            self.dropped.append(Dropped(out[i].plain.strip(), drop[i]))
        return [b for i, b in enumerate(out) if i not in drop]

    def _toc_block(self, b: Block, i: int, headings: list[tuple[int, str]]) -> bool:
        later = {h for j, h in headings if j > i}
        if not later:
            return False
        keys = [_key(re.sub(r"[\s.·…_]*\d+\s*$", "", ln.text)) for ln in b.lines]
        matched = 0
        k = 0
        while k < len(keys):
            if keys[k] in later:
                matched += 1
                k += 1
            elif k + 1 < len(keys) and (keys[k] + " " + keys[k + 1]) in later:
                matched += 2
                k += 2
            else:
                return False
        return matched == len(keys)

    # ---- notes

    def _notes(self, blocks: list[Block]) -> tuple[list[Footnote], list[Block]]:
        calls: dict[int, int] = {}  # note number -> first page calling it
        for b in blocks:
            if b.kind == "table":
                continue
            for m in _SUP.finditer(b.raw):
                n = _CALL_TEXT.match(m.group(1))
                if n:
                    calls.setdefault(int(n.group(1)), b.page)
            for m in re.finditer(r"(?<=[\w.,;:!?)\]»”\"'])\s?\[(\d{1,3})\]", _SUP.sub("", b.raw)):
                calls.setdefault(int(m.group(1)), b.page)
        notes: dict[int, list] = {}
        used: set[int] = set()
        # Footnotes: smaller text at the bottom of a page, starting with the number of a note called above.
        by_column: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, b in enumerate(blocks):
            if b.kind != "table":
                by_column[b.lines[0].col].append(i)
        for (pn, _), idx in by_column.items():
            height = next(p.height for p in self.pages if p.number == pn)
            # the foot of the column: smaller text, or notes as large as the text that open with a raised number
            tail: list[int] = []
            for i in reversed(idx):
                b = blocks[i]
                small = b.size <= self.body * 0.92
                if b.kind in ("paragraph", "item", "heading") and (small or b.raw.lstrip().startswith(_SUP_OPEN)):
                    tail.append(i)
                else:
                    break
            tail.reverse()
            current = None
            for i in tail:
                b = blocks[i]
                n = _note_number(b)
                if n is not None and n in calls and calls[n] <= pn and b.lines[0].top > 0.45 * height:
                    current = n
                    notes[n] = [_note_lines(b), b]
                    used.add(i)
                elif current is not None and _note_number(b) is None:
                    notes[current][0] += [ln.text for ln in b.lines]
                    used.add(i)
        # Endnotes: numbered notes after the body (optionally under a title), each called in the text.
        rest = [i for i in range(len(blocks)) if i not in used]
        start = None
        for pos, i in enumerate(rest):
            n = _note_number(blocks[i])
            if n is None or n not in calls or blocks[i].kind not in ("paragraph", "item"):
                continue
            seq = [n]
            ok = True
            for j in rest[pos + 1:]:
                m = _note_number(blocks[j])
                if blocks[j].kind in ("heading", "table"):
                    ok = False
                    break
                if m is not None:
                    if m not in calls or m <= seq[-1]:
                        ok = False
                        break
                    seq.append(m)
            # a notes section is mostly its numbered notes (a note of several paragraphs is rare)
            if ok and len(seq) * 2 >= len(rest) - pos:
                start = pos
                break
        if start is not None:
            current = None
            first = rest[start]
            if start > 0 and blocks[rest[start - 1]].kind == "heading" and len(_WORDS.findall(blocks[rest[start - 1]].plain)) <= 3:
                title = rest[start - 1]
                self.dropped.append(Dropped(blocks[title].plain.strip(), "title of the notes section (its notes are kept as notes)"))
                used.add(title)
            for i in rest[start:]:
                b = blocks[i]
                n = _note_number(b)
                if n is not None:
                    current = n
                    notes[n] = [_note_lines(b), b]
                elif current is not None:
                    notes[current][0] += [ln.text for ln in b.lines]
                used.add(i)
            del first
        found = []
        for n in sorted(notes):
            lines, b = notes[n]
            text = " ".join(self._render(self._join_text(lines, self.justified), set(notes)).split())
            found.append(Footnote(n, text.strip(), self._note_url(b, text)))
        return found, [b for i, b in enumerate(blocks) if i not in used]

    def _note_url(self, b: Block, text: str) -> str | None:
        p = next(pg for pg in self.pages if pg.number == b.page)
        x0 = min(ln.x0 for ln in b.lines)
        x1 = max(ln.x1 for ln in b.lines)
        top, bottom = b.lines[0].top, b.lines[-1].bottom
        for uri, (ux0, ux1, utop, ubottom) in p.uris:
            if re.match(r"(?:https?|ftp)://", uri, re.I) and ux0 < x1 and ux1 > x0 and utop < bottom and ubottom > top:
                return uri
        m = _WEB_URL.search(text)
        return m.group(0).rstrip(".,;:") if m else None

    # ---- page and column breaks

    def _join_breaks(self, blocks: list[Block]) -> list[Block]:
        out: list[Block] = []
        for b in blocks:
            if out and self._continues(out[-1], b):
                out[-1].lines.extend(b.lines)
                out[-1].kind = out[-1].kind if out[-1].kind != "paragraph" or b.kind != "item" else "paragraph"
                continue
            out.append(b)
        return out

    def _continues(self, a: Block, b: Block) -> bool:
        if a.kind == "table" or b.kind == "table" or not a.lines or not b.lines:
            return False
        la, lb = a.lines[-1], b.lines[0]
        if la.col == lb.col:
            return False
        if a.kind == "code" and b.kind == "code":
            return abs(a.size - b.size) < 0.6
        if a.kind not in ("paragraph", "item") or b.kind != "paragraph" or lb.bullet or _item_start(lb.text):
            return False
        if abs(la.size - lb.size) > 0.6:
            return False
        end = _SUP.sub("", la.text).rstrip()
        start = _SUP.sub("", lb.text).lstrip()
        if not end or not start:
            return False
        if end.endswith(("-", "\u2010", "\u00ad")):
            return True
        if re.search(r"[.!?…][\"'”’»)\]]*$", end):
            return False  # a sentence ends at the break
        if end.endswith(":") and not start[0].islower():
            return False  # a lead-in, then what it introduces
        # no sentence ends at the break: the paragraph goes on, unless the next one opens with an indent
        return not (len(b.lines) > 1 and lb.x0 > min(ln.x0 for ln in b.lines[1:]) + 0.8 * lb.size)

    # ---- parts

    def _parts(self, blocks: list[Block], notes: set[int]) -> list[Part]:
        parts: list[Part] = []
        lead: str | None = None
        for b in blocks:
            if b.kind == "table":
                t = b.table
                cell = lambda lines: " ".join(self._render(self._join_text(lines, False), notes).split())  # noqa: E731
                context = " | ".join(cell(c) for c in t.header) if t.header else None
                for row in t.rows:
                    parts.append(Part("row", " | ".join(cell(c) for c in row), context=context, page=t.page))
                lead = None
                continue
            if b.kind == "code":
                parts.append(Part("code", self._code(b), page=b.page))
                lead = None
                continue
            text = self._render(self._join_text([ln.text for ln in b.lines], self.justified), notes)
            if b.kind == "item":
                text = _BULLET.sub("", text)
            text = " ".join(text.split())
            if not text:
                continue
            if b.kind == "heading":
                parts.append(Part("heading", text, level=b.level, page=b.page))
                lead = None
            elif b.kind == "item":
                parts.append(Part("item", text, context=lead, page=b.page))
            else:
                parts.append(Part("paragraph", text, page=b.page))
                lead = text if text.endswith(":") else None
        return parts

    def _code(self, b: Block) -> str:
        x0 = min(ln.x0 for ln in b.lines)
        x1 = max(ln.x1 for ln in b.lines)
        widths = [g.x1 - g.x0 for ln in b.lines for g in ln.glyphs if g.text.strip()]
        cw = statistics.median(widths) if widths else b.size * 0.6
        out: list[str] = []
        prev: Line | None = None
        for ln in b.lines:
            text = _SUP.sub(r"\1", _code_line(ln.glyphs, x0, cw)).rstrip()
            if prev is not None and prev.page == ln.page:
                blank = round((ln.base - prev.base) / max(ln.size * self.pitch, 1.0)) - 1
                # a line the printer wrapped after a hyphen or a slash (the next word did not fit) goes on
                if blank <= 0 and re.search(r"[-/]$", out[-1]) and prev.x1 + _first_word_width(ln) > x1 + 1:
                    out[-1] += text.lstrip()
                    prev = ln
                    continue
                out.extend([""] * max(0, min(blank, 3)))
            out.append(text)
            prev = ln
        return "\n".join(out)

    def _render(self, text: str, notes: set[int]) -> str:
        """Superscript runs: a note's number becomes its call "[n]"; other superscripts stay as printed."""

        def sup(m: re.Match) -> str:
            n = _CALL_TEXT.match(m.group(1))
            if n and int(n.group(1)) in notes:
                return f"[{int(n.group(1))}]"
            if re.fullmatch(r"[0-9+\-−]+", m.group(1)):  # an exponent, as printed: 10⁶, m²
                return m.group(1).translate(_SUPERSCRIPTS)
            return m.group(1)

        return _SUP.sub(sup, text)

    def _join_text(self, lines: list[str], justified: bool) -> str:
        """Lines of a block as one text: hyphenated words and broken addresses whole."""
        out = ""
        for text in lines:
            text = text.strip()
            if not text:
                continue
            if not out:
                out = text
                continue
            bare = _SUP.sub("", out).rstrip()
            if out.endswith("\u00ad"):
                out = out[:-1] + text
            elif out.endswith(("-", "\u2010")) and len(out) > 1 and out[-2].isalnum() and text[0].isalnum():
                out = out if self._keep_hyphen(out, text, justified) else out[:-1]
                out += text
            elif re.search(r"(?:^|\s)--$|[^\w\s-]-$", bare) and text[0].isalnum():
                out += text  # an option ("--libdir") or a compound after punctuation, broken at its hyphen
            elif self._url_continues(bare, text):
                out += text
            else:
                out += " " + text
        return out

    def _keep_hyphen(self, before: str, after: str, justified: bool) -> bool:
        a = re.search(r"(\w+)[-\u2010]$", before)
        b = re.match(r"\w+", after)
        if not a or not b:
            return True
        head, tail = a.group(1), b.group(0)
        if tail[0].isupper() or tail[0].isdigit() or head[-1].isdigit():
            return True
        if f"{head}-{tail}".lower() in self.vocab:
            return True
        if f"{head}{tail}".lower() in self.vocab:
            return False
        return not justified

    def _url_continues(self, before: str, after: str) -> bool:
        m = re.search(r"(\S+)$", before)
        if not m or not _URL_START.search(m.group(1)):
            return False
        frag = m.group(1)
        nxt = re.match(r"\S+", after).group(0).rstrip(".,;:)»\"'")
        joined = frag + nxt
        if any(u.startswith(joined) or (joined.startswith(u) and len(u) > len(frag)) for u in self.uris):
            return True
        return frag.endswith(("/", "-", "_", "=", "&", "?", "#", ".")) and bool(re.search(r"[/._=&?#]", nxt)) \
            and not frag.endswith("..")

    # ---- metadata

    def _meta(self, blocks: list[Block]) -> Meta:
        info = {str(k): _info_text(v) for k, v in self.info.items()}
        title = info.get("Title")
        site = None
        if title and not _plausible_title(title):
            title = None
        heading = next((" ".join(self._render(b.plain, set()).split()) for b in blocks
                        if b.kind == "heading" and b.level == 1), None)  # fmt: skip
        if title and heading and _key(title) != _key(heading):
            m = re.match(rf"^\s*{re.escape(heading)}\s*[-–—|:·]\s*(.+)$", title)
            if m:
                title, site = heading, m.group(1).strip()
        authors: tuple[str, ...] = ()
        author = info.get("Author")
        if author and re.search(r"[A-Za-zÀ-ÿ]", author) and not re.fullmatch(
                r"(?i)\s*(admin(istrator)?|user|owner|unknown|author|anonymous|root|[a-z0-9._-]+)\s*", author):  # fmt: skip
            authors = tuple(a.strip() for a in re.split(r"\s*(?:;|,|\band\b|&)\s*", author) if a.strip())
        return Meta(title=title, authors=authors, date=_pdf_date(info.get("CreationDate")), site=site)


# ----------------------------------------------------------------------------- helpers


def _gutter(lines: list[Line]) -> tuple[float, list[tuple[float, float]]] | None:
    """The x of a gutter that splits (part of) the page into two columns of prose, and the
    vertical stretches where it does; None for a single-column page."""
    if len(lines) < 6:
        return None
    x0 = min(ln.x0 for ln in lines)
    x1 = max(ln.x1 for ln in lines)
    width = x1 - x0
    if width < 150:
        return None
    # Each line as the stretches its text covers (glyphs less than 0.8 em apart run together).
    cover: list[list[tuple[float, float]]] = []
    for ln in lines:
        pad = 0.4 * ln.size
        spans: list[list[float]] = []
        for g in ln.glyphs:
            if not g.text.strip():
                continue
            if spans and g.x0 - pad <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], g.x1 + pad)
            else:
                spans.append([g.x0 - pad, g.x1 + pad])
        cover.append([(a, b) for a, b in spans])
    if all(len(c) <= 1 for c in cover):
        return None  # no line has a gap: one column
    starts = [[a for a, _ in c] for c in cover]
    words_cache: dict[tuple[int, int, bool], int] = {}

    def words(k: int, x: float, left: bool) -> int:
        key = (k, int(x), left)
        if key not in words_cache:
            words_cache[key] = len(_WORDS.findall("".join(
                g.text for g in lines[k].glyphs if ((g.x0 + g.x1) / 2 < x) == left)))
        return words_cache[key]

    best = None
    for step in range(int(0.3 * width), int(0.7 * width), 2):
        x = x0 + step
        runs: list[list[int]] = [[]]
        for k, c in enumerate(cover):
            i = bisect_left(starts[k], x) - 1
            if i >= 0 and c[i][1] >= x:
                runs.append([])  # a line across x ends a two-column stretch
            else:
                runs[-1].append(k)
        bands = []
        total = 0
        for run in runs:
            if len(run) < 4:
                continue
            left = [k for k in run if cover[k][0][0] < x]
            right = [k for k in run if cover[k][-1][1] > x]
            if len(left) < 3 or len(right) < 3:
                continue
            if sum(lines[k].mono > 0.5 for k in run) > 0.5 * len(run):
                continue
            if statistics.mean(words(k, x, True) for k in left) < 3 or \
                    statistics.mean(words(k, x, False) for k in right) < 3:  # fmt: skip
                continue
            rx = Counter(round(next(a for a, _ in cover[k] if a > x)) for k in right if any(a > x for a, _ in cover[k]))
            if not rx or rx.most_common(1)[0][1] < 0.5 * len(right):
                continue  # the right column has no common left edge
            bands.append((lines[run[0]].top - 1, lines[run[-1]].top + 1))
            total += len(run)
        if bands and (best is None or total > best[0]):
            best = (total, x, bands)
    if best is None:
        return None
    return best[1], best[2]


def _pieces(ln: Line) -> list[str]:
    out, cur = [], []
    prev = None
    for g in ln.glyphs:
        if prev is not None and g.text.strip() and g.x0 - prev.x1 > 3 * ln.size:
            out.append(_line_text(cur))
            cur = []
        cur.append(g)
        if g.text.strip():
            prev = g
    out.append(_line_text(cur))
    return out


def _code_line(glyphs: Sequence[Glyph], x0: float, cw: float) -> str:
    """A code line as set: its spaces, and as many more as its glyphs' positions say."""
    out: list[str] = []
    col = 0
    for g in glyphs:
        if not g.text.strip():
            out.append(" ")
            col += 1
            continue
        want = int(round((g.x0 - x0) / cw)) if cw > 0 else col
        if want > col:
            out.append(" " * (want - col))
            col = want
        out.append(g.text)
        col += len(g.text)
    return "".join(out)


def _first_word_width(ln: Line) -> float:
    gs = [g for g in ln.glyphs if g.text.strip()]
    end = 0
    while end + 1 < len(gs) and gs[end + 1].x0 - gs[end].x1 < 0.17 * gs[end].size:
        end += 1
    return gs[end].x1 - gs[0].x0 if gs else 0.0


def _bullet_text(text: str) -> bool:
    return bool(_BULLET.match(_SUP.sub("", text).lstrip()))


def _item_start(text: str) -> bool:
    t = _SUP.sub("", text).lstrip()
    return bool(_BULLET.match(t) or _NUMBERED.match(t))


def _text_x0(ln: Line) -> float:
    """Where the text of a bulleted or numbered line starts, after its marker."""
    gs = ln.glyphs
    for k, g in enumerate(gs[1:], start=1):
        if g.text.strip() and (not gs[k - 1].text.strip() or g.x0 - gs[k - 1].x1 > 0.17 * g.size):
            return g.x0
    return ln.x0


def _note_number(b: Block) -> int | None:
    if b.kind in ("table", "code"):
        return None
    raw = b.raw.lstrip()
    m = re.match(f"^{_SUP_OPEN}\\s*\\[?(\\d{{1,3}})\\]?\\s*{_SUP_CLOSE}\\s*\\S", raw)
    if m:
        return int(m.group(1))
    m = re.match(r"^\[(\d{1,3})\]\s*\S", raw) or re.match(r"^(\d{1,3})[.)]?\s+\S", raw)
    return int(m.group(1)) if m else None


def _note_lines(b: Block) -> list[str]:
    """The lines of a note without its number."""
    first = b.lines[0].text.lstrip()
    first = re.sub(f"^{_SUP_OPEN}[^{_SUP_CLOSE}]*{_SUP_CLOSE}\\s*", "", first)
    first = re.sub(r"^(?:\[\d{1,3}\]|\d{1,3}[.)]?)\s*", "", first, count=1)
    return [first] + [ln.text for ln in b.lines[1:]]


def _key(text: str) -> str:
    text = _SUP.sub("", text).translate(_LIGATURES)
    return " ".join(_WORDS.findall(text.lower()))


def _info_text(v: object) -> str | None:
    if isinstance(v, bytes):
        for enc in ("utf-16", "utf-8", "latin-1"):
            try:
                v = v.decode(enc)
                break
            except UnicodeDecodeError:
                continue
    if v is None:
        return None
    text = " ".join(str(v).translate(_LIGATURES).split())
    return text or None


def _plausible_title(title: str) -> bool:
    t = title.strip().lower()
    if len(_WORDS.findall(t)) == 0 or not re.search(r"[^\W\d_]{2}", t):
        return False
    if re.search(r"\.(?:docx?|pdf|tex|dvi|indd|odt|rtf|html?|txt|md|pptx?|xlsx?)$", t):
        return False
    return not re.match(r"^(?:untitled|sans titre|document\s*\d*|microsoft word|title|slide \d+)\b", t)


def _pdf_date(value: str | None) -> str | None:
    if not value:
        return None
    m = re.match(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?", value.strip())
    if not m:
        return None
    try:
        d = date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        return None
    if d.year < 1980 or d > date.today():
        return None
    return d.isoformat()

