"""Markdown files (.md, .markdown): markdown-it-py's CommonMark parse, read into a `structured.Parsed`.

The parser (with GFM tables, strikethrough, `[^n]` footnotes, definition lists,
YAML front matter, and pandoc's ruled tables through `plaintext.ruled_table`)
states the structure; this module turns its syntax tree into parts:

- headings (ATX and setext), paragraphs (soft line breaks are spaces),
  block quotes ("quote"), code blocks kept verbatim ("code"), definition lists
  ("term", "definition" with the term as context);
- list items ("item"): a list's context is its lead-in, the last sentence of
  the paragraph just before it when that ends with ":"; a nested list's is
  the text of its parent item; an item's further paragraphs keep the context;
- table rows ("row", cells joined by " | ", the header row as context);
- inline text as a reader sees it: emphasis and code marks removed, link text
  kept, autolinks, bare URLs and e-mail addresses whole; a formatting HTML tag
  is markup (removed), any other tag is text the author wrote (kept); images
  are left out, saying so;
- note calls `[^n]` become "[n]" (n the number the document gives the note,
  or its rank when its label is not a number) and the notes `Footnote`s with
  the first web address they hold; a numbered note list written as text at the
  end ("[1]: text", "[1] text", under a heading or not) and numeric link
  definitions that the text calls as "[1]" are notes too;
- HTML blocks are reduced to their text (scripts, styles and comments left out);
  pandoc's fenced divs (":::") are containers, its attributes (`{#id .class}`) markup;
- front matter gives the title, authors, date and language; a byline right
  under the title ("Par Jeanne Martin, 2 janvier 2020") gives authors and date;
- a sentence cut by a blank line (a paragraph ending mid-sentence, the next
  starting in lowercase, as a page break leaves it) is joined again.

A Markdown export of a web page carries the page's navigation: before the title
(the first top-level heading) every list of links, paragraph of links and
heading over them is navigation, and when such a block comes back after the
body (a page prints its navigation on both sides) the rest of the page from
there is the page's closing furniture. Everything left out is in `dropped`,
with the reason.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.tree import SyntaxTreeNode
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from ..records import Dropped, Footnote
from ..text import cut_sentences, ends_sentence
from .blocks import URL
from .dates import find_date
from .plaintext import may_start_table, ruled_table
from .roles import byline_names, normalize_name
from .structured import Meta, Parsed, Part

# Inline HTML elements that only format text: their tags are markup. Any other
# tag in running text ("<script>", "<title>", "<arguments>") is text the author wrote.
_FORMATTING_TAGS = frozenset(
    "a abbr b bdi bdo big br cite code del dfn em font i ins kbd mark q s samp small span strike strong sub sup "
    "time tt u var wbr".split()
)
_TAG = re.compile(r"^<\s*/?\s*([A-Za-z][\w-]*)[^>]*>$|^<!--.*-->$", re.S)
_SKIPPED_ELEMENTS = ("script", "style", "template", "noscript")
_HTML_BLOCKS = "|".join(f".//{t}" for t in "p li h1 h2 h3 h4 h5 h6 pre td th dt dd figcaption caption".split())
_IMAGE = "image (its alternative text is no part of the text)"
_SPAN_ATTRIBUTES = re.compile(r"\[([^\[\]]+)\]\{[#.][^{}]*\}")
_TRAILING_ATTRIBUTES = re.compile(r"\s*\{[#.][\w#.:= -]*\}$")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    # nothing is rendered: a "javascript:" link is still a link, whose text is kept and target dropped
    md.validateLink = lambda url: True
    # a call "[^5]" whose note is not defined as "[^5]: ..." still calls note 5 (listed as text, say)
    md.use(front_matter_plugin).use(footnote_plugin, move_to_end=False, always_match_refs=True).use(deflist_plugin)
    md.block.ruler.before("table", "ruled_table", _ruled_table_rule)
    # pandoc's fenced divs ("::: note" ... ":::"): containers whose content is read as usual
    md.use(container_plugin, "div", validate=lambda params, *args: True)
    return md


def _ruled_table_rule(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """pandoc's simple, multiline and grid tables (lines ruled with dashes), as table tokens."""
    if state.sCount[start] - state.blkIndent >= 4:
        return False
    def line(k: int) -> str:
        raw = state.src[state.bMarks[k]:state.eMarks[k]]
        return raw[state.blkIndent:] if raw[:state.blkIndent].isspace() else raw.lstrip()

    if not may_start_table(line(start), line(start + 1) if start + 1 < end else ""):
        return False
    lines = [line(k) for k in range(start, end)]
    found = ruled_table(lines, 0)
    if not found:
        return False
    if silent:
        return True
    stop, table = found
    token = state.push("table_open", "table", 1)
    token.map = [start, start + stop]
    rows = ([("th", table.header)] if table.header else []) + [("td", r) for r in table.rows]
    for k, (cell_tag, cells) in enumerate(rows):
        if k == 0:
            state.push("thead_open" if cell_tag == "th" else "tbody_open", "thead" if cell_tag == "th" else "tbody", 1)
        elif cell_tag == "td" and rows[k - 1][0] == "th":
            state.push("thead_close", "thead", -1)
            state.push("tbody_open", "tbody", 1)
        state.push("tr_open", "tr", 1)
        for cell in cells:
            state.push(f"{cell_tag}_open", cell_tag, 1)
            inline = state.push("inline", "", 0)
            inline.content, inline.map, inline.children = cell, [start, start + stop], []
            state.push(f"{cell_tag}_close", cell_tag, -1)
        state.push("tr_close", "tr", -1)
    if rows:
        section = "tbody" if rows[-1][0] == "td" else "thead"
        state.push(f"{section}_close", section, -1)
    state.push("table_close", "table", -1)
    state.line = start + stop
    return True


@dataclass
class _Block:
    """A part in the making, with what the furniture and note rules need to know."""

    kind: str
    text: str
    level: int = 0
    context: str | None = None
    letters: int = 0  # letters of the text
    link_letters: int = 0  # letters of the text inside links
    images: int = 0

    @property
    def links_only(self) -> bool:
        """Navigation-like: nothing but links (and separators), or nothing but images."""
        if self.letters == 0:
            return self.images > 0 or not self.text.strip() or not re.search(r"\w", self.text)
        return self.link_letters >= 0.8 * self.letters


@dataclass
class _Inline:
    text: str
    letters: int = 0
    link_letters: int = 0
    images: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


class _Reader:
    def __init__(self, numbers: dict[str, int], references: dict, inline_notes: dict | None = None):
        self.numbers = numbers  # note label -> the number the document gives it
        self.references = references  # link reference definitions, by normalised label
        self.inline_notes = inline_notes or {}  # inline notes ^[...] by id
        self.blocks: list[_Block] = []
        self.dropped: list[Dropped] = []
        self.notes: dict[int, Footnote] = {}
        self.meta: dict = {}

    # -------------------------------------------------------- inline

    def inline(self, node: SyntaxTreeNode | None) -> _Inline:
        out = _Inline("")
        pieces: list[str] = []

        def visit(n: SyntaxTreeNode, in_link: bool) -> None:
            for c in n.children:
                t = c.type
                if t == "text" or t == "code_inline":
                    pieces.append(c.content)
                    if in_link:
                        out.link_letters += _letters(c.content)
                elif t in ("softbreak", "hardbreak"):
                    pieces.append(" ")
                elif t == "link":
                    href = str(c.attrs.get("href", ""))
                    label = "".join(x.content for x in c.children if x.type == "text").strip()
                    ref = self.references.get(label.upper()) if re.fullmatch(r"\d{1,3}", label) else None
                    if ref is not None and ref.get("href") == href:  # "[3]" with a "[3]: ..." definition: a note
                        n_ = int(label)
                        pieces.append(f"[{n_}]")
                        text = " ".join(x for x in (ref.get("title"), href) if x)
                        self.notes.setdefault(n_, Footnote(n_, text, href or None))
                        continue
                    if href.startswith(("http:", "https:", "ftp:", "mailto:", "www.")):
                        out.urls.append(href)
                    visit(c, True)
                elif t == "image":
                    out.images.append(c.content or str(c.attrs.get("src", "")))
                elif t == "footnote_ref":
                    n_ = self.number(c.meta)
                    pieces.append(f"[{n_}]")
                    if "label" not in c.meta and n_ not in self.notes:  # an inline note, ^[text]
                        self.inline_note(n_, int(c.meta.get("id", 0)))
                elif t == "html_inline":
                    m = _TAG.match(c.content.strip())
                    if m and (m.group(1) is None or m.group(1).lower() in _FORMATTING_TAGS):
                        if m.group(1) and m.group(1).lower() == "br":
                            pieces.append(" ")
                        continue
                    pieces.append(c.content)
                else:
                    visit(c, in_link)

        if node is not None:
            visit(node, False)
        text = " ".join("".join(pieces).split())
        # pandoc's attributes: "[text]{.smallcaps}" is "text"; "Title {#id}" is "Title"
        text = _SPAN_ATTRIBUTES.sub(r"\1", text)
        out.text = _TRAILING_ATTRIBUTES.sub("", text)
        out.letters = _letters(out.text)
        return out

    def inline_note(self, n: int, ref_id: int) -> None:
        source = self.inline_notes.get(ref_id, {}).get("content", "")
        tokens = _parser().parseInline(source, {}) if source else []
        inline = self.inline(SyntaxTreeNode(tokens).children[0]) if tokens else _Inline("")
        url = (inline.urls or URL.findall(inline.text) or [None])[0]
        self.notes[n] = Footnote(n, inline.text, url.rstrip(".,;:") if url else None)

    def number(self, meta: dict) -> int:
        label = str(meta.get("label") or "")
        return self.numbers.get(label, int(meta.get("id", 0)) + 1)

    # -------------------------------------------------------- blocks

    def add(self, kind: str, inline: _Inline, level: int = 0, context: str | None = None) -> None:
        self.dropped.extend(Dropped(alt or "(image)", _IMAGE) for alt in inline.images)
        if inline.text:
            self.blocks.append(_Block(kind, inline.text, level, context, inline.letters, inline.link_letters,
                                      len(inline.images)))  # fmt: skip

    def walk(self, nodes: Sequence[SyntaxTreeNode], kind: str = "paragraph", context: str | None = None,
             nested: bool = False) -> None:  # fmt: skip
        """The parts of a container's children; `kind` and `context` are those of its paragraphs."""
        previous: str | None = None  # the paragraph before, for a list's lead-in
        for node in nodes:
            t = node.type
            if t == "heading":
                self.add("heading", self.inline(_first_inline(node)), level=int(node.tag[1:]))
                previous = None
            elif t == "paragraph":
                inline = self.inline(_first_inline(node))
                self.add(kind, inline, context=context)
                previous = inline.text or previous
            elif t in ("bullet_list", "ordered_list"):
                if nested:  # a list inside an item: its context is the item's text
                    lead = previous or context
                else:
                    lead = _lead_in(previous)
                for item in node.children:
                    self.walk(item.children, "item", lead, nested=True)
                previous = None
            elif t == "blockquote":
                self.walk(node.children, "item" if kind == "item" else "quote", context, nested)
                previous = None
            elif t in ("code_block", "fence"):
                code = node.content.rstrip("\n")
                if code.strip():
                    self.blocks.append(_Block("code", code, letters=_letters(code)))
                previous = None
            elif t == "table":
                self.table(node)
                previous = None
            elif t == "dl":
                term: str | None = None
                for child in node.children:
                    if child.type == "dt":
                        inline = self.inline(_first_inline(child))
                        self.add("term", inline)
                        term = inline.text or term
                    elif child.type == "dd":
                        self.walk(child.children, "definition", term, nested)
                previous = None
            elif t == "html_block":
                self.html(node.content)
                previous = None
            elif t == "footnote_reference":
                self.note(node)
            elif t == "front_matter":
                self.front_matter(node.content)
            elif t == "hr":
                previous = None
            elif node.children:
                self.walk(node.children, kind, context, nested)

    def table(self, node: SyntaxTreeNode) -> None:
        header: str | None = None
        for section in node.children:
            for row in section.children:
                cells = [self.inline(_first_inline(cell)) for cell in row.children]
                text = " | ".join(c.text for c in cells)
                if section.type == "thead":
                    header = text if any(c.text for c in cells) else None
                    continue
                links = sum(c.link_letters for c in cells)
                self.dropped.extend(Dropped(alt or "(image)", _IMAGE) for c in cells for alt in c.images)
                if any(c.text for c in cells):
                    self.blocks.append(_Block("row", text, context=header, letters=_letters(text), link_letters=links))

    def html(self, source: str) -> None:
        """An HTML block reduced to its text (one paragraph per block element)."""
        from lxml import html as lxml_html

        texts: list[str] = []
        try:
            fragments = lxml_html.fragments_fromstring(source)
        except Exception:  # noqa: BLE001 -- lxml raises several kinds of errors on broken HTML
            fragments = []
        for frag in fragments:
            if isinstance(frag, str):
                texts.append(frag)
                continue
            for bad in frag.xpath(".//script|.//style|.//template|.//noscript"):
                bad.drop_tree()
            if not isinstance(frag.tag, str) or frag.tag.lower() in _SKIPPED_ELEMENTS:
                continue
            blocks = frag.xpath(_HTML_BLOCKS)
            if blocks:
                texts.extend(b.text_content() for b in blocks if not b.xpath(".//p|.//li|.//td"))
            else:
                texts.append(frag.text_content())
        texts = [" ".join(t.split()) for t in texts]
        texts = [t for t in texts if t]
        if not texts:
            self.dropped.append(Dropped(" ".join(source.split())[:200], "HTML without text (a comment, a script)"))
        for t in texts:
            self.blocks.append(_Block("paragraph", t, letters=_letters(t)))

    def note(self, node: SyntaxTreeNode) -> None:
        label = str(node.meta.get("label", ""))
        sub = _Reader(self.numbers, self.references, self.inline_notes)
        sub.walk(node.children)
        self.dropped.extend(sub.dropped)
        self.notes.update(sub.notes)
        text = " ".join(b.text for b in sub.blocks if b.kind != "heading")
        urls = [u for b in sub.blocks for u in URL.findall(b.text)]
        hrefs = [h for h in _hrefs(node) if h.startswith(("http:", "https:", "ftp:", "www."))]
        url = (hrefs or urls or [None])[0]
        if label in self.numbers:
            n = self.numbers[label]
            self.notes[n] = Footnote(n, text, url.rstrip(".,;:") if url else None)
        elif text:
            self.dropped.append(Dropped(text, "note that the text never calls"))

    def front_matter(self, source: str) -> None:
        import yaml

        try:
            data = yaml.safe_load(source)
        except yaml.YAMLError:
            self.dropped.append(Dropped(" ".join(source.split())[:200], "front matter that is not valid YAML"))
            return
        if isinstance(data, dict):
            self.meta = {str(k).lower(): v for k, v in data.items()}


def _first_inline(node: SyntaxTreeNode) -> SyntaxTreeNode | None:
    return next((c for c in node.children if c.type == "inline"), None)


def _hrefs(node: SyntaxTreeNode) -> list[str]:
    out = []
    for c in node.walk():
        if c.type == "link":
            out.append(str(c.attrs.get("href", "")))
    return out


def _lead_in(paragraph: str | None) -> str | None:
    """The sentence that introduces a list: the last one of the paragraph before it, ending with ":"."""
    if not paragraph or not paragraph.rstrip().endswith(":"):
        return None
    sentences = cut_sentences(paragraph)
    return sentences[-1] if sentences else paragraph


def _note_numbers(tokens) -> dict[str, int]:
    """The number of each note label: the label itself when every label is a number,
    else the rank of the note's first call."""
    labels: list[str] = []
    for t in tokens:
        if t.type == "footnote_reference_open":
            labels.append(str(t.meta.get("label", "")))
        for c in t.children or ():
            if c.type == "footnote_ref":
                labels.append(str(c.meta.get("label", "")))
    inline = any("label" not in c.meta for t in tokens for c in t.children or () if c.type == "footnote_ref")
    if labels and not inline and all(re.fullmatch(r"\d{1,4}", x) for x in labels):
        return {x: int(x) for x in labels}
    ranks: dict[str, int] = {}
    for t in tokens:
        for c in t.children or ():
            if c.type == "footnote_ref":
                ranks.setdefault(str(c.meta.get("label", "")), int(c.meta.get("id", 0)) + 1)
    return ranks


# ---------------------------------------------------------------- furniture, notes, byline


def _key(b: _Block) -> tuple[str, int, str]:
    return b.kind, b.level, " ".join(re.findall(r"\w+", b.text.lower()))


def _navigation(blocks: list[_Block], dropped: list[Dropped]) -> list[_Block]:
    """The blocks without the page's navigation before the title and its closing furniture."""
    levels = [b.level for b in blocks if b.kind == "heading"]
    if not levels:
        return blocks
    title = next(i for i, b in enumerate(blocks) if b.kind == "heading" and b.level == min(levels))
    if title == 0:
        return blocks
    head, body = blocks[:title], blocks[title:]
    nav: set[int] = set()
    # a heading is navigation when everything under it (before the next heading) is links
    k = 0
    while k < len(head):
        b = head[k]
        if b.kind == "heading":
            j = k + 1
            while j < len(head) and head[j].kind != "heading":
                j += 1
            under = head[k + 1:j]
            if under and all(u.links_only for u in under) or not under and _heading_text_is_link(b):
                nav.update(range(k, j))
            k = j
            continue
        if b.links_only:
            nav.add(k)
        k += 1
    if not nav:
        return blocks
    kept = [b for i, b in enumerate(head) if i not in nav]
    dropped.extend(Dropped(head[i].text, "navigation before the title (links only)") for i in sorted(nav))
    keys = {_key(head[i]) for i in nav}
    for j in range(1, len(body)):
        b = body[j]
        if _key(b) in keys and (b.kind == "heading" or b.links_only):
            dropped.extend(Dropped(x.text, "after the body: the page's navigation again, and its footer")
                           for x in body[j:])  # fmt: skip
            body = body[:j]
            break
    return kept + body


def _heading_text_is_link(b: _Block) -> bool:
    return b.letters > 0 and b.link_letters >= 0.8 * b.letters


_LISTED_NOTE = re.compile(r"^\[\^?(\d{1,3})\](?::\s*|\s+)(\S.*)$", re.S)


def _listed_notes(blocks: list[_Block], notes: dict[int, Footnote], dropped: list[Dropped]) -> list[_Block]:
    """A numbered note list written as text at the end ("[1]: text"), which the text calls."""
    k = len(blocks)
    while k > 0 and blocks[k - 1].kind in ("paragraph", "item") and _LISTED_NOTE.match(blocks[k - 1].text):
        k -= 1
    if k == len(blocks):
        return blocks
    listed = [_LISTED_NOTE.match(b.text) for b in blocks[k:]]
    body = " ".join(b.text for b in blocks[:k])
    if not any(f"[{m.group(1)}]" in body for m in listed):
        return blocks
    for m in listed:
        n, text = int(m.group(1)), m.group(2)
        url = URL.search(text)
        notes.setdefault(n, Footnote(n, text, url.group(0).rstrip(".,;:") if url else None))
    if k > 0 and blocks[k - 1].kind == "heading":
        dropped.append(Dropped(blocks[k - 1].text, "heading of the notes"))
        k -= 1
    return blocks[:k]


def _byline(blocks: list[_Block], meta: dict, dropped: list[Dropped]) -> list[_Block]:
    """A short line right under the title (or first) naming the authors or the date: metadata."""
    k = 0
    while k < len(blocks) and blocks[k].kind == "heading" and k < 1:
        k += 1
    if k >= len(blocks) or blocks[k].kind != "paragraph" or len(blocks[k].text.split()) > 15:
        return blocks
    text = blocks[k].text
    names = byline_names(text)
    when = find_date(text)
    rest = text[: when.start] + text[when.end:] if when else text
    dateline = when is not None and len(re.findall(r"[^\W\d_]{2,}", rest)) <= 3
    if not names and not dateline:
        return blocks
    if names and not meta.get("authors"):
        meta["authors"] = names
    if when and not meta.get("date"):
        meta["date"] = when.day
    dropped.append(Dropped(text, "byline (its names and date go to the metadata)"))
    return blocks[:k] + blocks[k + 1:]


def _join_cut_sentences(blocks: list[_Block]) -> list[_Block]:
    """A paragraph ending mid-sentence and the next starting in lowercase are one paragraph."""
    out: list[_Block] = []
    for b in blocks:
        last = out[-1] if out else None
        if (last and last.kind == b.kind and b.kind in ("paragraph", "quote") and last.context == b.context
                and not ends_sentence(last.text) and b.text[:1].islower()):
            out[-1] = _Block(b.kind, f"{last.text} {b.text}", context=b.context, letters=last.letters + b.letters,
                             link_letters=last.link_letters + b.link_letters)  # fmt: skip
        else:
            out.append(b)
    return out


# ---------------------------------------------------------------- metadata


def _meta(data: dict) -> Meta:
    def text(v) -> str | None:
        return " ".join(str(v).split()) if v not in (None, "") and not isinstance(v, (dict, list)) else None

    authors = data.get("authors", data.get("author"))
    if isinstance(authors, str):
        names = [a for a in re.split(r"\s*(?:;|\band\b|\bet\b|&)\s*", authors) if a]
        authors = names if len(names) > 1 else [authors]
    if isinstance(authors, dict):
        authors = [authors]
    names = []
    for a in authors or ():
        name = a.get("name") if isinstance(a, dict) else a
        if text(name):
            names.append(normalize_name(text(name)))
    date = data.get("date")
    if isinstance(date, (datetime.date, datetime.datetime)):
        iso = date.isoformat()[:10]
    elif text(date):
        found = find_date(text(date))
        iso = found.day if found else None
    else:
        iso = None
    lang = text(data.get("lang", data.get("language")))
    lang = lang.split("-")[0].split("_")[0].lower() if lang else None
    return Meta(title=text(data.get("title")), authors=tuple(dict.fromkeys(names)), date=iso,
                language=lang if lang and re.fullmatch(r"[a-z]{2,3}", lang) else None,
                url=text(data.get("url")))  # fmt: skip


def read_markdown(text: str) -> Parsed:
    """The parts, notes, metadata and left-out blocks of a Markdown text (see the module docstring)."""
    md = _parser()
    env: dict = {}
    tokens = md.parse(text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"), env)
    reader = _Reader(_note_numbers(tokens), env.get("references", {}), env.get("footnotes", {}).get("list", {}))
    reader.walk(SyntaxTreeNode(tokens).children)
    blocks = _navigation(reader.blocks, reader.dropped)
    blocks = _listed_notes(blocks, reader.notes, reader.dropped)
    meta = dict(reader.meta)
    byline: dict = {}
    blocks = _byline(blocks, byline, reader.dropped)
    blocks = _join_cut_sentences(blocks)
    m = _meta(meta)
    if byline:
        m = replace(m, authors=m.authors or tuple(byline.get("authors", ())), date=m.date or byline.get("date"))
    parts = tuple(Part(b.kind, b.text, level=b.level, context=b.context) for b in blocks)
    return Parsed("markdown", parts, tuple(sorted(reader.notes.values(), key=lambda f: f.number)), m,
                  tuple(reader.dropped))  # fmt: skip
