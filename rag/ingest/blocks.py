"""Page blocks: the `Block` every reader produces, and the blocks of a .txt or .md file.

A markdown or hard-wrapped text gives its blank-line paragraphs (lines joined),
a text dump of a web page its single lines; markdown is reduced to plain text
(`markdown_to_text`) and kept as written in `Block.raw`. The patterns of note
definitions ("[3]: ...") and URLs are shared with the zones and notes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text import ends_sentence, words


@dataclass(frozen=True)
class Block:
    """One block of a page: a line or paragraph of a text file, or a block element of an HTML page."""

    text: str  # plain text, markup removed
    raw: str = ""  # as written in the file (markdown kept), for the caller
    line: int = 0  # 1-based line in the file, 0 when unknown
    heading: int = 0  # heading level, 0 for ordinary blocks
    emphasis: bool = False  # the whole block is bold or italic
    link_chars: int = 0  # characters of text inside links
    # Layout hints: "list" for list items; from HTML also nav, footer, aside, form, header, boilerplate,
    # article, lead, byline, comment.
    hints: frozenset[str] = frozenset()
    # Counted once: the classifier asks for it many times per block.
    n_words: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_words", len(words(self.text)))


_ESCAPE = re.compile(r"\\+([\\`*_{}\[\]()#+\-.!<>|~=])")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(((?:[^()\s]|\([^()\s]*\))*)(?:\s+\"[^\"]*\")?\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|ftp)://[^>\s]+|mailto:[^>\s]+)>")
_FOOTNOTE_REF = re.compile(r"\[\^(\d{1,3})\](?!:)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EM_STAR = re.compile(r"(?<![\w*\\])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_EM_UNDER = re.compile(r"(?<![\w_\\])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])")
_CODE = re.compile(r"`([^`]+)`")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-+•]|\*(?!\*))\s+")
_QUOTE = re.compile(r"^\s*>\s?")
_RULE = re.compile(r"^[\s=\-_*~#.·•|]*$")
# A note as a line starts it: "[3] text", "[3]: text", "[^3]: text" (number, text).
NOTE_ITEM = re.compile(r"^\s*\[\^?(\d{1,3})\]:?\s*(.*)$")
URL = re.compile(r"https?://[^\s<>()\]]+|\bwww\.[^\s<>()\]]+")


def markdown_to_text(raw: str) -> tuple[str, int]:
    """Plain text of a markdown line or paragraph, and how many of its characters sat in links."""
    escaped: list[str] = []

    def hold(m: re.Match) -> str:
        escaped.append(m.group(1))
        return f"\ue000{len(escaped) - 1}\ue001"

    s = _ESCAPE.sub(hold, raw)
    s = _IMAGE.sub("", s)
    link_chars = 0

    def link(m: re.Match) -> str:
        nonlocal link_chars
        link_chars += len(m.group(1))
        return m.group(1)

    s = _LINK.sub(link, s)
    s = _REF_LINK.sub(link, s)

    def autolink(m: re.Match) -> str:
        nonlocal link_chars
        target = m.group(1).removeprefix("mailto:")
        link_chars += len(target)
        return target

    s = _AUTOLINK.sub(autolink, s)
    s = _FOOTNOTE_REF.sub(r"[\1]", s)
    for _ in range(2):  # nested emphasis: ***x*** or **a *b* c**
        s = _STRONG.sub(r"\2", s)
        s = _EM_STAR.sub(r"\1", s)
        s = _EM_UNDER.sub(r"\1", s)
    s = _CODE.sub(r"\1", s)
    s = re.sub("\ue000(\\d+)\ue001", lambda m: escaped[int(m.group(1))], s)
    return " ".join(s.split()), link_chars


def _whole_emphasis(raw: str) -> bool:
    s = raw.strip()
    m = re.fullmatch(r"(\*\*|__)(.+)\1", s) or re.fullmatch(r"(\*|_)(?![*_])(.+?)(?<![*_])\1", s)
    return bool(m) and "**" not in m.group(2) and len(m.group(2).strip()) > 0


def _make_block(raw: str, line: int) -> Block | None:
    heading = 0
    m = _HEADING.match(raw)
    if m:
        heading, raw = len(m.group(1)), m.group(2)
    raw = _QUOTE.sub("", raw)
    item = bool(_BULLET.match(raw))
    raw = _BULLET.sub("", raw)
    text, link_chars = markdown_to_text(raw)
    if not re.search(r"\w", text):
        return None  # rules, stray "=" lines, empty emphasis
    return Block(text=text, raw=raw.strip(), line=line, heading=heading, emphasis=_whole_emphasis(raw),
                 link_chars=link_chars, hints=frozenset({"list"}) if item else frozenset())  # fmt: skip


def _hard_wrapped(chunks: list[list[tuple[int, str]]]) -> bool:
    """True when multi-line paragraphs are prose wrapped at a fixed width (their lines are to be joined)."""
    inner = sorted(len(line.strip()) for chunk in chunks if len(chunk) > 1 for _, line in chunk[:-1])
    if len(inner) < 2:
        return False
    median, p90 = inner[len(inner) // 2], inner[int(len(inner) * 0.9)]
    return median >= 40 and p90 <= 120


def _wrapped_call(previous: list[str], line: str) -> bool:
    """Whether `line`, which starts like a note ("[3] ..."), is a note call that the wrapping
    put at the start of a line ("...selon le rapport / [3]. Ensuite"): the paragraph so far
    (`previous`, its lines) is prose, not a note, and its last line is cut mid-sentence,
    and `line` is no "[3]:" definition. The paragraph's first line decides whether it is
    a note: its last line may itself start with a wrapped call ("[2]. Le 8 mai …")."""
    last = previous[-1] if previous else ""
    return (
        not re.match(r"^\s*\[\^?\d{1,3}\]:", line) and len(last.split()) > 3
        and not (previous and NOTE_ITEM.match(previous[0])) and not ends_sentence(last)
    )  # fmt: skip


def text_blocks(text: str) -> list[Block]:
    """Blocks of a .txt or .md file.

    Paragraphs wrapped at a fixed width are joined; otherwise (text dumps of
    web pages, one paragraph per line) every line is its own block, since a
    dump's lines are the page's elements.
    """
    chunks: list[list[tuple[int, str]]] = [[]]
    for n, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        if line.strip():
            chunks[-1].append((n, line.rstrip()))
        elif chunks[-1]:
            chunks.append([])
    chunks = [c for c in chunks if c]
    join = _hard_wrapped(chunks)
    blocks: list[Block] = []
    for chunk in chunks:
        groups: list[tuple[int, list[str]]] = []
        for n, line in chunk:
            starts_new = (
                not join or not groups or _HEADING.match(line) or _BULLET.match(line)
                or (NOTE_ITEM.match(line) and not _wrapped_call(groups[-1][1], line))
                or _RULE.match(line) or re.match(r"^\s*\d{1,3}[.)]\s", line)
            )  # fmt: skip
            if starts_new:
                groups.append((n, [line.strip()]))
            else:
                groups[-1][1].append(line.strip())
            if join and (_HEADING.match(line) or _RULE.match(line)):
                groups.append((n, []))  # a heading or rule ends the paragraph it sits in
        for n, lines in groups:
            if lines:
                block = _make_block(" ".join(lines), n)
                if block:
                    blocks.append(block)
    return blocks


def title_text(b: Block) -> str:
    """A block's text as a title or label: emphasis marks stripped, apostrophes straightened."""
    return b.text.strip().strip("*_ ").replace("’", "'")


def first_url(raw: str) -> str | None:
    """The first web address in a markdown text: a link's target, else a bare URL."""
    m = _LINK.search(raw)
    if m and m.group(2).startswith(("http", "www")):
        return m.group(2)
    m = URL.search(_ESCAPE.sub(r"\1", raw))
    return m.group(0).rstrip(".,;") if m else None
