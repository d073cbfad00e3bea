"""Plain text files (.txt) laid out for reading: hard-wrapped prose, manual pages, pandoc's plain output.

A text laid out for reading states its structure by its layout alone:

- prose wrapped at a fixed width: blank lines end paragraphs, whose lines are
  joined (a word hyphenated at a line end is joined again, with "-", U+2010 or
  a soft hyphen U+00AD; a justified line's extra spaces are one space);
  headings are recognised by shape: a short line underlined with "=", "-" or
  "~", a numbered line ("1.2 Title", "5.15. manpage.*", "Chapter 3. Title"), a
  line in capitals, or a short line alone at the top;
- lists by their markers ("-", "*", "•", "1.", "a)"), their items continued
  and nested by indentation; a list's lead-in is the paragraph just before it
  ending with ":", a nested list's the text of its parent item;
- a block indented four columns deeper than the text is code (kept verbatim),
  one indented one to three columns a quotation; a short line followed at once
  by deeper-indented lines is a term and its definition;
- tables ruled with dashes (pandoc's simple and multiline tables) or drawn with
  "+---+" (grid tables): one row per part, with the header row as context;
- notes listed at the end as "[1] text", when the text calls them ("[1]"), as
  pandoc's plain output prints a document's notes;
- a manual page (sections in capitals at the left margin, the text indented
  under them): paragraphs, and each option ("-a, --all" and its indented
  description) a definition whose context is the option line; the title is the
  NAME line ("ls - list directory contents"); the page's header and footer lines
  (fields spread across the width) are furniture;
- form feeds separate pages: a line repeated at the top or bottom of the pages,
  or a bare page number there, is a running header or footer, and a paragraph
  cut by the page break is joined again.

A text dump of a web page is not read here: it writes one page element per
line (single-line paragraphs, runs of short menu lines), and goes through the
page reading of `rag.ingest.assembly` (zones, furniture, roles), which knows
bylines, menus and reader comments. `looks_like_page_dump` tells them apart.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..records import Dropped, Footnote
from ..text import cut_sentences, ends_sentence
from .blocks import URL
from .structured import Meta, Parsed, Part

# ---------------------------------------------------------------- which reading

_WIDE = 100  # columns: text wrapped by hand or by a formatter stays within 72-80
_MAN_SECTION = re.compile(r"^[A-Z][A-Z0-9]*(?:[ /&-]+[A-Z0-9]+)*$")


def looks_like_page_dump(text: str) -> bool:
    """Whether a .txt file is the text dump of a web page rather than a text laid out for reading.

    A dump writes one page element per line: its paragraphs are single long lines,
    its menus runs of short lines. A text laid out for reading continues its
    paragraphs over lines of a fixed width. The test, on the non-blank lines:
    more than 5 % of them over 100 characters is a dump; a manual page's layout
    (sections in capitals at the margin, the text indented) is not; otherwise the
    lines that another line continues (within a blank-line block) must be at least
    two, and the median of their lengths 40 characters or more (wrapped prose, not
    a menu)."""
    lines = _clean(text).split("\n")
    filled = [line for line in lines if line.strip()]
    if not filled:
        return True
    if sum(len(line.rstrip()) > _WIDE for line in filled) > 0.05 * len(filled):
        return True
    if _man_layout(lines):
        return False
    inner = sorted(len(a.strip()) for a, b in zip(lines, lines[1:]) if a.strip() and b.strip())
    return len(inner) < 2 or inner[len(inner) // 2] < 40


def _man_layout(lines: Sequence[str]) -> bool:
    """Sections in capitals at the left margin (two or more), the text indented under them."""
    heads = sum(1 for line in lines if line[:1].isalpha() and _MAN_SECTION.match(line.rstrip()) and len(line) <= 40)
    flush = sum(1 for line in lines if line.strip() and not line[:1].isspace())
    indented = sum(1 for line in lines if line.strip() and line[:1].isspace())
    return heads >= 2 and indented >= 3 * max(1, flush - heads) and flush - heads <= 2 + 0.05 * indented


# ---------------------------------------------------------------- lines and pages


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = re.sub(r".\x08", "", text)  # overstrike (bold, underline) of a manual page printed raw
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)  # terminal colours
    return "\n".join(line.rstrip(" \t\v").expandtabs(8) for line in text.split("\n"))


_PAGE_NUMBER = re.compile(
    r"^\W*(?:(?:page|p\.|seite|página|pagina)\s*)?\d{1,4}(?:\s*(?:/|of|sur|von|de|di)\s*\d{1,4})?\W*$", re.I
)


def _pages(text: str) -> tuple[list[str], list[Dropped]]:
    """The lines of the text with the pages (form feeds) put together again: running
    headers and footers and page numbers out, a paragraph cut by a page break joined."""
    pages = [p.split("\n") for p in text.split("\f")]
    if len(pages) < 2:
        return pages[0], []

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", " ".join(line.split())).lower()

    def edges(page: list[str]) -> list[int]:
        filled = [i for i, line in enumerate(page) if line.strip()]
        return sorted(set(filled[:2] + filled[-2:]))

    seen = Counter(key(p[i]) for p in pages for i in set(edges(p)))
    repeated = {k for k, n in seen.items() if n >= max(2, len(pages) // 2)}
    dropped: list[Dropped] = []
    out: list[str] = []
    for page in pages:
        filled = [i for i, line in enumerate(page) if line.strip()]
        gone: set[int] = set()
        for ends in (filled[:2], filled[-2:][::-1]):  # from the top down, from the bottom up
            for i in ends:
                line = page[i]
                number = _PAGE_NUMBER.match(line.strip())
                if key(line) in repeated or number:
                    gone.add(i)
                    reason = "page number" if number else "running header or footer (repeated at the page breaks)"
                    dropped.append(Dropped(" ".join(line.split()), reason))
                else:
                    break
        kept = [line for i, line in enumerate(page) if i not in gone]
        while kept and not kept[0].strip():
            kept.pop(0)
        while kept and not kept[-1].strip():
            kept.pop()
        if not kept:
            continue
        last = next((line for line in reversed(out) if line.strip()), "")
        if out and last and not ends_sentence(last) and kept[0].strip()[:1].islower():
            out.extend(kept)  # a paragraph cut by the page break
        else:
            out.extend(([""] if out else []) + kept)
    return out, dropped


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


# ---------------------------------------------------------------- tables

_RULE_GROUPS = re.compile(r"-{2,}")
_GROUPS_LINE = re.compile(r"^\s*-{2,}(?:\s+-{2,})*\s*$")
_FULL_RULE = re.compile(r"^\s*-{10,}\s*$")
_GRID_BORDER = re.compile(r"^\s*\+(?:[-=:]+\+)+\s*$")


@dataclass(frozen=True)
class Table:
    """A table read from ruled text: its header cells (None when it has none) and its rows."""

    header: tuple[str, ...] | None
    rows: tuple[tuple[str, ...], ...]


def _cells(line: str, starts: Sequence[int]) -> list[str]:
    bounds = [*starts[1:], None]
    return [line[a:b].strip() if len(line) > a else "" for a, b in zip(starts, bounds)]


def _join_cells(lines: Sequence[str], starts: Sequence[int]) -> tuple[str, ...]:
    columns = zip(*(_cells(line, starts) for line in lines))
    return tuple(join_lines([c for c in col if c]) for col in columns)


def may_start_table(first: str, second: str) -> bool:
    """Whether a ruled table may start with these two lines (a cheap test before `ruled_table`)."""
    return bool(_GRID_BORDER.match(first) or _FULL_RULE.match(first) or _GROUPS_LINE.match(first)
                or _GROUPS_LINE.match(second))  # fmt: skip


def ruled_table(lines: Sequence[str], i: int) -> tuple[int, Table] | None:
    """The table starting at line `i` (pandoc's simple, multiline or grid tables), and the
    index of the line after it; None when no table starts there."""
    n = len(lines)

    def blank(k: int) -> bool:
        return k >= n or not lines[k].strip()

    if _GRID_BORDER.match(lines[i]):
        return _grid_table(lines, i)
    # multiline table: a full rule, header lines, column rules, rows apart, a full rule
    if _FULL_RULE.match(lines[i]) and not blank(i + 1):
        k = i + 1
        while k < n and lines[k].strip() and not _GROUPS_LINE.match(lines[k]):
            k += 1
        if k < n and _GROUPS_LINE.match(lines[k]) and len(_RULE_GROUPS.findall(lines[k])) >= 2:
            starts = [m.start() for m in _RULE_GROUPS.finditer(lines[k])]
            header = _join_cells(lines[i + 1:k], starts)
            rows, current, j = [], [], k + 1
            while j < n and not _FULL_RULE.match(lines[j]):
                if lines[j].strip():
                    current.append(lines[j])
                elif current:
                    rows.append(_join_cells(current, starts))
                    current = []
                j += 1
            if current:
                rows.append(_join_cells(current, starts))
            if j < n and rows:  # closed by its full rule
                return j + 1, Table(header, tuple(rows))
        return None
    # simple table: a header line then column rules, rows to the blank line;
    # or, without a header, column rules, rows, column rules
    if _GROUPS_LINE.match(lines[i]) and len(_RULE_GROUPS.findall(lines[i])) >= 2:
        starts = [m.start() for m in _RULE_GROUPS.finditer(lines[i])]
        j, rows, current, multiline = i + 1, [], [], False
        while j < n and not _GROUPS_LINE.match(lines[j]):
            if lines[j].strip():
                current.append(lines[j])
            else:
                multiline = True
                if current:
                    rows.append(current)
                    current = []
            j += 1
        if j >= n:
            return None
        if current:
            rows.append(current)
        if not multiline:
            rows = [[line] for group in rows for line in group]
        return j + 1, Table(None, tuple(_join_cells(r, starts) for r in rows))
    if not blank(i) and i + 1 < n and _GROUPS_LINE.match(lines[i + 1]) and len(_RULE_GROUPS.findall(lines[i + 1])) >= 2:
        starts = [m.start() for m in _RULE_GROUPS.finditer(lines[i + 1])]
        if any(line.strip() and _indent(line) < starts[0] - 2 for line in lines[i:i + 1]):
            return None
        j, rows = i + 2, []
        while j < n and lines[j].strip() and not _GROUPS_LINE.match(lines[j]):
            rows.append(_join_cells([lines[j]], starts))
            j += 1
        if j < n and _GROUPS_LINE.match(lines[j]):
            j += 1
        if rows:
            return j, Table(_join_cells([lines[i]], starts), tuple(rows))
    return None


def _grid_table(lines: Sequence[str], i: int) -> tuple[int, Table] | None:
    starts = [m.start() for m in re.finditer(r"\+", lines[i])]
    header, rows, current, j = None, [], [], i + 1
    while j < len(lines):
        line = lines[j]
        if _GRID_BORDER.match(line):
            cells = _join_cells([ln[:starts[-1]] for ln in current], [s + 1 for s in starts[:-1]])
            cells = tuple(c.strip("| ").strip() for c in cells)
            if "=" in line and header is None and not rows:
                header = cells
            elif current:
                rows.append(cells)
            current = []
            j += 1
            if j >= len(lines) or not lines[j].lstrip().startswith("|"):
                break
            continue
        if not line.lstrip().startswith("|"):
            return None
        current.append(line.replace("|", " "))
        j += 1
    if not rows and header is None:
        return None
    return j, Table(header, tuple(rows))


# ---------------------------------------------------------------- lines into text


_HYPHENS = "-\u2010"
_BROKEN = re.compile(rf"([^\W\d_]+)[{_HYPHENS}]$")
_WORD_START = re.compile(r"[^\W\d_]+")


def join_lines(lines: Sequence[str], vocabulary: "_Vocabulary | None" = None) -> str:
    """The text of wrapped lines as one line: a word hyphenated at a line end joined again
    (soft hyphen U+00AD always; "-" or U+2010 before a lowercase letter unless the document
    writes that compound with its hyphen elsewhere), runs of spaces made one."""
    out = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if not out:
            out = line
        elif out.endswith("\u00ad"):
            out = out[:-1] + line
        elif (m := _BROKEN.search(out)) and (w := _WORD_START.match(line)):
            left, right = m.group(1), w.group(0)
            if vocabulary is not None and vocabulary.keeps_hyphen(left, right):
                out += line
            elif right[0].islower() or (vocabulary is not None and vocabulary.knows(left + right)):
                out = out[:-1] + line
            else:
                out += line  # "Build-" + "Depends": a compound cut at its hyphen
        else:
            out += " " + line
    return re.sub(r"\s{2,}", " ", out.replace("\u00ad", ""))


class _Vocabulary:
    """Words and hyphenated compounds the document writes within its lines."""

    def __init__(self, lines: Sequence[str]):
        text = "\n".join(lines)
        self.words = {w.lower() for w in re.findall(r"[^\W\d_]+", text)}
        compounds = re.findall(rf"([^\W\d_]+)[{_HYPHENS}]([^\W\d_]+)", text)
        self.compounds = {f"{a}-{b}".lower() for a, b in compounds}
        self.prefixes = {a.lower() for a, _ in compounds}  # "well" of "well-placed"

    def keeps_hyphen(self, left: str, right: str) -> bool:
        """Whether "left-" + "right" at a line break is a compound the document writes with its hyphen."""
        if (left + right).lower() in self.words:
            return False
        return f"{left}-{right}".lower() in self.compounds or left.lower() in self.prefixes

    def knows(self, word: str) -> bool:
        return word.lower() in self.words


# ---------------------------------------------------------------- blocks


@dataclass
class _Block:
    lines: list[str]  # as in the file, indentation kept
    start: int  # index of its first line
    table: Table | None = None

    @property
    def indent(self) -> int:
        return _indent(self.lines[0])

    @property
    def end(self) -> int:
        return self.start + len(self.lines)


def _blocks(lines: Sequence[str]) -> list[_Block]:
    out: list[_Block] = []
    i, n = 0, len(lines)
    while i < n:
        if not lines[i].strip():
            i += 1
            continue
        found = ruled_table(lines, i)
        if found:
            end, table = found
            out.append(_Block(list(lines[i:end]), i, table))
            i = end
            continue
        j = i
        while j < n and lines[j].strip():
            j += 1
        out.append(_Block(list(lines[i:j]), i))
        i = j
    return out


_MARKER = re.compile(
    r"^(?P<indent> *)(?P<marker>[-*+•‣◦▪·–]|o(?= {2})|\d{1,3}[.)]|\(\d{1,3}\)|[a-z][.)]|\([a-z]\))(?P<gap> +)(?=\S)"
)
_NUMBERED = re.compile(
    r"^(?:(?P<word>[^\W\d_]{3,})\s+(?P<wnum>\d+|[IVXLC]+|[A-Z])[.:]"
    r"|(?P<num>\d+(?:\.\d+)*\.?|[A-Z](?:\.\d+)+\.?|[A-Z]\.|[IVXLC]+\.))"
    r"\s+(?P<title>\S.*)$"
)
_UNDERLINE = re.compile(r"^\s*([=\-~^*#+])\1{2,}\s*$")
_NOTE_START = re.compile(r"^\[(\d{1,3})\]\s+(\S.*)$")
_CODE_CHARS = re.compile(r"[{}\[\]=<>|;$\\#/_]")


def _heading(block: _Block, first: bool) -> tuple[int, str] | None:
    """(level, text) when the block is a heading by its shape."""
    lines = [line.strip() for line in block.lines]
    lines = [" ".join(line.split()) for line in lines]
    if len(lines) == 2 and (m := _UNDERLINE.match(lines[1])) and 0.5 <= len(lines[1]) / max(1, len(lines[0])) <= 1.6:
        return {"=": 1, "-": 2}.get(m.group(1), 3), lines[0]
    if len(lines) == 3 and _UNDERLINE.match(lines[0]) and lines[0] == lines[2]:
        return 1, lines[1]
    if len(lines) != 1:
        return None
    line = lines[0]
    n_words = len(line.split())
    if n_words > 12 or len(line) > 90:
        return None
    if m := _NUMBERED.match(line):
        if re.search(r"[.,;:]$", line):
            return None  # "1. Install the package." is a sentence
        if m.group("word"):
            return 1, line
        num = m.group("num").rstrip(".")
        return (len(num.split(".")) if num[0].isdigit() or "." in num else 1), line
    letters = [c for c in line if c.isalpha()]
    if len(letters) >= 3 and all(c.isupper() for c in letters) and n_words <= 10:
        return 1, line
    if first and n_words <= 12 and not re.search(r"[.,;:!?…]$", line) and (line[:1].isupper() or line[:1].isdigit()):
        return 1, line
    return None


def _in_list(blocks: Sequence[_Block], k: int) -> bool:
    """Whether the block before or after block `k` starts with a list marker at its indentation."""
    return any(0 <= j < len(blocks) and not blocks[j].table and blocks[j].indent == blocks[k].indent
               and _MARKER.match(blocks[j].lines[0]) for j in (k - 1, k + 1))  # fmt: skip


def _prose(lines: Sequence[str]) -> bool:
    """Whether indented lines read as prose (words and punctuation) rather than code or data."""
    text = " ".join(line.strip() for line in lines)
    tokens = text.split()
    if len(tokens) < 6:
        return False
    wordy = sum(bool(re.fullmatch(r"[(«“\"']?[^\W\d_][^\W\d_'’-]*[)»”\"'.,;:!?]*", t)) for t in tokens)
    return wordy >= 0.75 * len(tokens) and len(_CODE_CHARS.findall(text)) <= 0.02 * len(text)


def _verbatim(lines: Sequence[str]) -> bool:
    """Lines laid out by hand (a figure, a command, aligned columns): not prose, and symbols or inner alignment."""
    text = "\n".join(line.strip() for line in lines)
    return not _prose(lines) and (len(_CODE_CHARS.findall(text)) + text.count("-") > 0.05 * len(text)
                                  or any(re.search(r"\S {3,}\S", line.strip()) for line in lines))


def _lead_in(paragraph: str | None) -> str | None:
    """The sentence that introduces a list: the last one of the paragraph before it, ending with ":"."""
    if not paragraph or not paragraph.rstrip().endswith(":"):
        return None
    sentences = cut_sentences(paragraph)
    return sentences[-1] if sentences else paragraph


def _first_url(text: str) -> str | None:
    m = URL.search(text)
    return m.group(0).rstrip(".,;:") if m else None


# ---------------------------------------------------------------- notes


def _notes(blocks: list[_Block], vocabulary: _Vocabulary) -> tuple[list[_Block], list[Footnote]]:
    """Notes listed at the end ("[1] text", further paragraphs of a note following it),
    when the text before them calls them; the blocks without them."""
    marks = [k for k, b in enumerate(blocks) if not b.table and b.indent == 0 and _NOTE_START.match(b.lines[0])]
    if not marks:
        return blocks, []
    number = lambda k: int(_NOTE_START.match(blocks[k].lines[0]).group(1))  # noqa: E731
    run = [marks[-1]]
    for k in reversed(marks[:-1]):
        if number(k) != number(run[0]) - 1:
            break
        run.insert(0, k)
    body = "\n".join(line for b in blocks[:run[0]] for line in b.lines)
    numbers = [number(k) for k in run]
    if not any(re.search(rf"\[{n}\]", body) for n in numbers):
        return blocks, []
    notes: list[Footnote] = []
    for a, b in zip(run, [*run[1:], len(blocks)]):
        first = _NOTE_START.match(blocks[a].lines[0])
        paragraphs = [join_lines([first.group(2), *blocks[a].lines[1:]], vocabulary)]
        paragraphs += [_table_text(x.table) if x.table else join_lines(x.lines, vocabulary) for x in blocks[a + 1:b]]
        text = " ".join(p for p in paragraphs if p)
        notes.append(Footnote(int(first.group(1)), text, _first_url(text)))
    return blocks[:run[0]], notes


def _table_text(table: Table) -> str:
    rows = ([table.header] if table.header else []) + list(table.rows)
    return " ".join(" | ".join(r) for r in rows)


# ---------------------------------------------------------------- reading


@dataclass
class _Item:
    content: int  # column where the item's text starts
    marker: int  # column of its marker
    context: str | None  # the lead-in of its list
    text: str = ""


class _Reader:
    def __init__(self, lines: list[str]):
        self.lines = lines
        self.vocabulary = _Vocabulary(lines)
        self.parts: list[Part] = []
        self.dropped: list[Dropped] = []

    def next_level(self) -> int:
        """Level of a heading known by its place alone: the first is the title, the others under it."""
        return 2 if any(p.kind == "heading" for p in self.parts) else 1

    def join(self, lines: Sequence[str]) -> str:
        return join_lines(lines, self.vocabulary)

    def code(self, blocks: Sequence[_Block], dedent: int) -> None:
        raw = self.lines[blocks[0].start:blocks[-1].end]
        cut = min(dedent, min(_indent(line) for line in raw if line.strip()))
        self.parts.append(Part("code", "\n".join(line[cut:] for line in raw)))

    def table(self, table: Table) -> None:
        context = " | ".join(table.header) if table.header and any(table.header) else None
        for row in table.rows:
            if any(row):
                self.parts.append(Part("row", " | ".join(row), context=context))

    # -------------------------------------------------------- prose, pandoc's plain output

    def prose(self, blocks: list[_Block]) -> None:
        # the text's column: where most lines of prose paragraphs (outside lists) start
        indents = Counter(_indent(line) for b in blocks if not b.table and not _MARKER.match(b.lines[0])
                          and _prose(b.lines) for line in b.lines)  # fmt: skip
        base = indents.most_common(1)[0][0] if indents else 0
        width = max((len(line) for b in blocks if not b.table and _prose(b.lines) for line in b.lines), default=72)
        stack: list[_Item] = []  # the open list items, outermost first
        previous: str | None = None  # the last top-level paragraph, for a list's lead-in
        definition: tuple[int, str] | None = None  # (indent, term) of the last definition
        k = 0
        while k < len(blocks):
            b = blocks[k]
            if b.table:
                self.table(b.table)
                previous, definition, k = None, None, k + 1
                continue
            indent = b.indent
            while stack and indent < stack[-1].marker:
                stack.pop()  # a block left of the item's marker ends its list
            if not stack and len(b.lines) == 1 and _heading(b, first=False) and not _in_list(blocks, k):
                # "1. Hives and their placement" alone between paragraphs: a numbered heading, not a list
                level, text = _heading(b, first=False)
                self.parts.append(Part("heading", text, level=level))
                previous, definition, k = None, None, k + 1
                continue
            if _MARKER.match(b.lines[0]) and (not stack or indent < stack[-1].content + 4):
                self.list_block(b, stack, previous)
                previous, definition, k = None, None, k + 1
                continue
            while stack and indent < stack[-1].content:
                stack.pop()
            column = stack[-1].content if stack else base
            rel = indent - column
            if definition and indent == definition[0]:
                self.parts.append(Part("definition", self.join(b.lines), context=definition[1]))
                k += 1
                continue
            definition = None
            line = " ".join(b.lines[0].split())
            if not stack and len(b.lines) == 1 and rel >= 8 and abs(indent + len(line) / 2 - width / 2) <= 6 \
                    and len(line.split()) <= 12 and not ends_sentence(line) and line[:1].isupper():
                # a short line alone, centred: a title
                self.parts.append(Part("heading", line, level=self.next_level()))
                previous, k = None, k + 1
                continue
            if rel >= 4 and (stack or len(b.lines) == 1 or not _prose(b.lines)):
                run = [b]
                while k + len(run) < len(blocks):
                    nxt = blocks[k + len(run)]
                    if nxt.table or nxt.indent - column < 4:
                        break
                    run.append(nxt)
                self.code(run, column + 4)
                k += len(run)
                continue
            if stack:  # a further paragraph of the item, or a figure in it
                if _verbatim(b.lines):
                    self.code([b], column)
                else:
                    self.parts.append(Part("item", self.join(b.lines), context=stack[-1].context))
                k += 1
                continue
            rest = [_indent(line) for line in b.lines[1:]]
            if rest and min(rest) >= indent + 2 and len(b.lines[0].strip()) <= 60 and not ends_sentence(b.lines[0]):
                term = b.lines[0].strip()  # a term, its definition indented under it
                self.parts.append(Part("term", term))
                self.parts.append(Part("definition", self.join(b.lines[1:]), context=term))
                definition, previous, k = (min(rest), term), None, k + 1
                continue
            heading = _heading(b, first=not self.parts and k + 1 < len(blocks))
            if heading and rel <= 0:
                self.parts.append(Part("heading", heading[1], level=heading[0]))
                previous, k = None, k + 1
                continue
            short = len(line.split()) <= 12 and not ends_sentence(line) and line[:1].isupper()
            if len(b.lines) == 1 and rel < 0 and short:
                # a short line alone at the margin, left of the text's column: a heading
                self.parts.append(Part("heading", line, level=self.next_level()))
                previous, k = None, k + 1
                continue
            if rel >= 1 and all(_indent(line) > column for line in b.lines):
                if not _verbatim(b.lines):
                    self.parts.append(Part("quote", self.join(b.lines)))
                else:
                    self.code([b], column)
                previous, k = None, k + 1
                continue
            text = self.join(b.lines)
            self.parts.append(Part("paragraph", text))
            previous, k = text, k + 1

    def list_block(self, b: _Block, stack: list[_Item], previous: str | None) -> None:
        """The items of a block that starts with a list marker (a tight list holds several,
        a nested list's items sit deeper)."""
        lines: list[str] = []

        def flush() -> None:
            if stack and lines:
                stack[-1].text = self.join(lines)
                self.parts.append(Part("item", stack[-1].text, context=stack[-1].context))

        for line in b.lines:
            m = _MARKER.match(line)
            indent = _indent(line)
            if m and stack and lines and indent > stack[-1].marker and indent < stack[-1].content:
                m = None  # a wrapped line of the item that happens to start like a marker
            if not m:
                lines.append(line)
                continue
            flush()
            lines = [line[m.end():]]
            context, sibling = None, False
            while stack and indent < stack[-1].content:
                top = stack.pop()
                if indent >= top.marker:
                    context, sibling = top.context, True
                    break
            if not sibling:
                context = (stack[-1].text or stack[-1].context) if stack else _lead_in(previous)
            stack.append(_Item(m.end(), indent, context))
        flush()

    # -------------------------------------------------------- manual pages

    def man(self, blocks: list[_Block]) -> str | None:
        """A manual page's parts; returns its title (the NAME line)."""
        # a section heading at the margin starts the block it heads: split it off
        # the text's column: where the sections' first lines start
        firsts = Counter(_indent(b.lines[k + 1]) for b in blocks if not b.table for k in range(len(b.lines) - 1)
                         if not b.lines[k][:1].isspace() and b.lines[k + 1][:1].isspace())  # fmt: skip
        base = firsts.most_common(1)[0][0] if firsts else 7

        def subsection(lines: list[str]) -> bool:  # "   Exit status" over the text, between margin and column
            return len(lines) > 1 and 0 < _indent(lines[0]) < base <= _indent(lines[1]) \
                and len(lines[0].split()) <= 8 and not ends_sentence(lines[0])

        split: list[_Block | tuple[int, str]] = []
        for b in blocks:
            if b.table:
                split.append(b)
                continue
            lines, start = list(b.lines), b.start
            while lines and (not lines[0][:1].isspace() or subsection(lines)):
                split.append((1 if not lines[0][:1].isspace() else 2, lines[0].strip()))
                lines, start = lines[1:], start + 1
            if lines:
                split.append(_Block(lines, start))
        title: str | None = None
        section: str | None = None
        definition: tuple[int, str] | None = None
        previous: str | None = None
        k = 0
        while k < len(split):
            x = split[k]
            if isinstance(x, tuple):
                self.parts.append(Part("heading", x[1], level=x[0]))
                section, definition, previous, k = x[1], None, None, k + 1
                continue
            if x.table:
                self.table(x.table)
                k += 1
                continue
            lines = x.lines
            indent = x.indent
            if indent <= base:
                m = _MARKER.match(lines[0])
                if m:
                    text = self.join([lines[0][m.end():], *lines[1:]])
                    self.parts.append(Part("item", text, context=_lead_in(previous)))
                    definition, k = None, k + 1
                    continue
                tag = re.match(r"^( *)(\S(?:\S| (?! ))*)( {2,})(\S.*)$", lines[0])
                column = tag.end(3) if tag else None
                if tag and (len(lines) > 1 and all(_indent(line) == column for line in lines[1:])
                            or len(lines) == 1 and (tag.group(2).startswith(("-", "+")) or len(tag.group(2)) <= 4)):
                    term = tag.group(2)
                    self.parts.append(Part("term", term))
                    self.parts.append(Part("definition", self.join([tag.group(4), *lines[1:]]), context=term))
                    definition, previous, k = (column, term), None, k + 1
                    continue
                deeper = [i for i, line in enumerate(lines) if _indent(line) > indent + 1]
                if deeper and deeper[0] > 0 and all(_indent(line) > indent + 1 for line in lines[deeper[0]:]):
                    term = " ".join(line.strip() for line in lines[:deeper[0]])
                    self.parts.append(Part("term", term))
                    self.parts.append(Part("definition", self.join(lines[deeper[0]:]), context=term))
                    definition, previous, k = (_indent(lines[deeper[0]]), term), None, k + 1
                    continue
                text = self.join(lines)
                if section and section.upper() == "NAME" and title is None:
                    title = text
                self.parts.append(Part("paragraph", text))
                definition, previous, k = None, text, k + 1
                continue
            if definition and indent >= definition[0] and (indent == definition[0] or _prose(lines)):
                # a further paragraph of the option's description: the option and its description are one part
                last = self.parts[-1]
                self.parts[-1] = Part("definition", f"{last.text} {self.join(lines)}", context=last.context)
                k += 1
                continue
            if _prose(lines):
                self.parts.append(Part("paragraph", self.join(lines)))
                definition, k = None, k + 1
                continue
            run = [x]
            while k + len(run) < len(split):
                nxt = split[k + len(run)]
                if isinstance(nxt, tuple) or nxt.table or nxt.indent <= base or _prose(nxt.lines):
                    break
                run.append(nxt)
            self.code(run, min(b.indent for b in run))
            definition, k = None, k + len(run)
        return title


_FIELDS = re.compile(r"\S(?: ?\S)*")


def _man_furniture(lines: list[str]) -> tuple[list[str], list[Dropped]]:
    """A manual page's header and footer: the first and last lines, when they are fields
    spread across the width ("LS(1)   User Commands   LS(1)")."""
    dropped: list[Dropped] = []
    filled = [i for i, line in enumerate(lines) if line.strip()]
    for i, where in ((filled[0], "header"), (filled[-1], "footer")) if filled else ():
        line = lines[i]
        if not line[:1].isspace() and len(_FIELDS.findall(line)) >= 2 and re.search(r" {3,}\S", line) \
                and not _MAN_SECTION.match(line.strip()):
            dropped.append(Dropped(" ".join(_FIELDS.findall(line)), f"the manual page's {where} line"))
            lines = lines[:i] + [""] + lines[i + 1:]
    return lines, dropped


def read_plaintext(text: str) -> Parsed:
    """The parts, notes and title of a plain text laid out for reading (see the module docstring)."""
    lines, dropped = _pages(_clean(text))
    man = _man_layout(lines)
    if man:
        lines, more = _man_furniture(lines)
        dropped += more
    reader = _Reader(lines)
    blocks = _blocks(lines)
    blocks, notes = _notes(blocks, reader.vocabulary)
    title = None
    if man:
        title = reader.man(blocks)
    else:
        reader.prose(blocks)
    return Parsed("text", tuple(reader.parts), tuple(notes), Meta(title=title), tuple(dropped + reader.dropped))
