"""Read an HTML page into page blocks (`Block`) and its metadata.

The page is parsed with lxml; trafilatura extracts its main content and reader
comments (the TEI-like XML it returns is read back into blocks; a paragraph it
cut at its inline elements is made whole again from the page's own blocks) and
its metadata, completed from what the page declares in its head and JSON-LD. The
page's own block elements, read with lxml, are kept as the fallback for when
trafilatura finds no article. Notes the page links its note calls to
(`<a href="#fn1">`) are read as `Footnote`s. Class names and roles become block
hints (nav, footer, lead, byline, comment, list...) for the furniture classifier.

It fetches nothing (no URL is ever passed to trafilatura), does not split
blocks into zones and does not assemble a `Document`: `zones` and `assembly`
do, and `assembly` hands `read_html` the one step that needs zones (finding a
notes section trafilatura left out, `apparatus.missing_notes`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import unquote

from ..records import Dropped, Footnote
from ..text import fold, normalize_for_match, words
from .blocks import Block
from .dates import find_date


@dataclass(frozen=True)
class PageMeta:
    """Metadata of an HTML page (trafilatura's, completed from its head and JSON-LD); empty for text files."""

    title: str | None = None
    authors: tuple[str, ...] = ()
    date: str | None = None
    site: str | None = None
    language: str | None = None
    description: str | None = None
    notes: tuple[Footnote, ...] = ()  # notes the page links its note calls to (HTML)


@dataclass(frozen=True)
class HtmlPage:
    """An HTML page read for ingestion.

    `blocks` is the main content trafilatura extracted (hinted "article" and
    "extracted", which makes the body run to the last of them),
    then a notes section it left out, then the reader comments (hinted
    "comment"); it is empty when trafilatura found no content. `page_blocks`
    is every block element of the page, the fallback. `removed` lists the
    page blocks trafilatura left out as boilerplate.
    """

    meta: PageMeta
    blocks: tuple[Block, ...]
    page_blocks: tuple[Block, ...]
    removed: tuple[Dropped, ...] = ()


_HTML_BLOCK_TAGS = frozenset(
    "p div section article main header footer nav aside ul ol li h1 h2 h3 h4 h5 h6 blockquote pre table thead "
    "tbody tfoot tr td th dl dt dd figure figcaption form address fieldset details summary body html center".split()
)
_HTML_SKIP = frozenset(
    "script style noscript template svg head iframe select option textarea input canvas object embed map "
    "video audio picture source track meta link title".split()
)
_HTML_EMPHASIS = frozenset({"strong", "b", "em", "i"})
_BOILERPLATE_CLASS = re.compile(
    r"(?:^|[-_\s])(?:nav|navbar|navigation|menu|footer|sidebar|share|sharing|social|cookies?|consent|gdpr"
    r"|newsletter|subscribe|subscription|related|recommended|recommendations?|promo|advert\w*|ads?|banner"
    r"|breadcrumbs?|popup|modal|widget|outbrain|taboola|paywall|signup|login|toolbar|tags)(?:$|[-_\s])",
    re.I,
)
_COMMENT_CLASS = re.compile(r"comment|disqus|reactions", re.I)
_LEAD_CLASS = re.compile(r"(?:^|[-_\s])(?:lead|chapo|chapeau|standfirst|intro|summary|excerpt|dek|deck)(?:$|[-_\s])", re.I)
_BYLINE_CLASS = re.compile(r"(?:^|[-_\s])(?:byline|author|authors|signature)(?:$|[-_\s])", re.I)
_TEI_BLOCKS = frozenset({"p", "head", "list", "item", "quote", "table", "row", "div", "ab", "body", "note", "code"})
_TEI_INLINE_CODE = ("p", "head", "item", "cell", "hi", "ref")  # code is a block only outside these; inside, inline code
_TEI_SKIP = frozenset({"graphic", "del"})
_CALL = re.compile(r"\[?(\d{1,3})\]?")
_DOUBLE_CALL = re.compile(r"\[\s*\[(\d{1,3})\]\s*\]")
_NOTE_ANCHOR = re.compile(r"(?:^|[^a-z])(?:fn|note|foot|ref|cite|ftn|bib|nb)", re.I)  # fn1, cite_note-2, _ftn3, nb4
# The number a note starts with ("1.", "[1]", "(1)", "^1"; "[]" once its link back is gone), and arrows.
_LEADING_NUMBER = re.compile(r"^\s*[↑^↩]?\s*(?:\[\s*\d{0,3}\s*\]|\(\s*\d{0,3}\s*\)|\^?\d{1,3}\s*[.):]|\^\d{1,3})?\s*")


def read_html(
    html: str, missing_notes: Callable[[Sequence[Block], Sequence[Block], Sequence[Footnote]], list[Block]]
) -> HtmlPage:
    """Read an HTML page: metadata and main content with trafilatura, page blocks with lxml.

    Trafilatura only parses the string given; it never fetches anything (no
    URL is passed, and its date module reads the tree it is handed).
    `missing_notes(kept, page_blocks, linked_notes)` gives the blocks of a
    notes section of the page that trafilatura left out (finding one takes the
    zones, `apparatus.missing_notes`); they follow the kept blocks.
    """
    root = parse_page(html)
    page_blocks = _page_blocks(root)
    declared = _declared_meta(root)
    notes, note_keys = _linked_notes(root)
    extracted, tmeta = _trafilatura(root)
    meta = _merge_meta(tmeta, declared, notes)
    if extracted is None or extracted.body is None:
        return HtmlPage(meta, (), tuple(page_blocks))

    main: list[Block] = []
    _walk(_TEI, extracted.body, frozenset({"article", "extracted"}), main)
    # Note texts the page links its calls to are apparatus, not body, even when trafilatura kept them.
    if note_keys:
        main = [b for b in main if not _is_note(normalize_for_match(b.text), note_keys)]
    if not any(not b.heading for b in main):
        return HtmlPage(meta, (), tuple(page_blocks))
    page_keys = [normalize_for_match(b.text) for b in page_blocks]
    main = _rejoin_fragments(main, page_blocks)
    main = _with_page_hints(main, page_blocks, page_keys)
    main += missing_notes(main, page_blocks, notes)
    comments = [b for b in page_blocks if "comment" in b.hints]
    if not comments and extracted.commentsbody is not None:
        _walk(_TEI, extracted.commentsbody, frozenset({"comment"}), comments)
    kept = {normalize_for_match(b.text) for b in main}
    comments = [b for b in comments if normalize_for_match(b.text) not in kept]
    kept |= {normalize_for_match(b.text) for b in comments}
    removed = tuple(Dropped(b.text, "outside the main content (HTML extractor)")
                    for b, k in zip(page_blocks, page_keys) if k not in kept and not _is_note(k, note_keys))
    return HtmlPage(meta, tuple(main + comments), tuple(page_blocks), removed)


# --------------------------------------------------------------------------- the page read with lxml


def _element_hints(el, inherited: frozenset[str]) -> frozenset[str]:
    tag = el.tag.lower()
    hints = set(inherited)
    if tag in ("nav", "footer", "aside", "form"):
        hints.add(tag)
    elif tag == "header" and "article" not in hints:
        hints.add("header")
    elif tag in ("article", "main"):
        hints.add("article")
    role = (el.get("role") or "").lower()
    if role in ("navigation", "banner", "contentinfo", "complementary", "search", "dialog"):
        hints.add("boilerplate")
    elif role in ("main", "article"):
        hints.add("article")
    names = f"{el.get('class') or ''} {el.get('id') or ''}"
    if _COMMENT_CLASS.search(names):
        hints.add("comment")
    elif _BOILERPLATE_CLASS.search(names):
        hints.add("boilerplate")
    if _LEAD_CLASS.search(names):
        hints.add("lead")
    if _BYLINE_CLASS.search(names):
        hints.add("byline")
    return frozenset(hints)


def _hidden(el) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return el.get("hidden") is not None or el.get("aria-hidden") == "true" or "display:none" in style


def _page_blocks(root) -> list[Block]:
    body = root.find(".//body")
    blocks: list[Block] = []
    _walk(_HTML, body if body is not None else root, frozenset(), blocks)
    return blocks


def _json_ld(root) -> list[dict]:
    found: list[dict] = []
    for script in root.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                found.append(item)
                stack.extend(v for k, v in item.items() if k == "@graph")
    return found


def _names(value) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() and "://" not in value else []
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return []


def parse_page(html: str):
    """The page's lxml tree; ValueError when lxml cannot make one."""
    import lxml.html  # local: only HTML input needs it

    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)  # lxml refuses str input that declares an encoding
    try:
        return lxml.html.document_fromstring(html)
    except Exception as e:  # lxml raises several types on garbage; all mean the same to the user
        raise ValueError(f"not a readable HTML page ({e})") from None


def _declared_meta(root) -> PageMeta:
    """What the page's head and JSON-LD declare, read with lxml (the fallback of trafilatura's metadata)."""
    metas: dict[str, str] = {}
    for m in root.iter("meta"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or m.get("http-equiv") or "").strip().lower()
        if key and m.get("content") and key not in metas:
            metas[key] = m.get("content").strip()
    ld = _json_ld(root)

    def first(*keys: str) -> str | None:
        return next((metas[k] for k in keys if metas.get(k)), None)

    title = first("og:title", "twitter:title", "dc.title")
    if not title:
        title = next((str(d["headline"]) for d in ld if d.get("headline")), None)
    if not title:
        t = root.find(".//title")
        title = " ".join(t.text_content().split()) if t is not None and t.text_content().strip() else None
    authors = [a for k in ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author")
               for a in _names(metas.get(k))]  # fmt: skip
    if not authors:
        authors = [n for d in ld for n in _names(d.get("author"))]
    date_text = first("article:published_time", "og:published_time", "datepublished", "date", "pubdate",
                      "publishdate", "publish-date", "dc.date", "dc.date.issued", "dcterms.created",
                      "parsely-pub-date", "sailthru.date")  # fmt: skip
    if not date_text:
        date_text = next((str(d["datePublished"]) for d in ld if d.get("datePublished")), None)
    if not date_text:
        t = root.find(".//time[@datetime]")
        date_text = t.get("datetime") if t is not None else None
    found = find_date(date_text) if date_text else None
    site = first("og:site_name", "application-name")
    if not site:
        site = next((n for d in ld for n in _names(d.get("publisher"))), None)
    language = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    language = language or first("content-language", "og:locale")
    return PageMeta(
        title=title, authors=tuple(dict.fromkeys(authors)), date=found.day if found else None, site=site,
        language=_language_code(language), description=first("description", "og:description"),
    )  # fmt: skip


def _language_code(value: str | None) -> str | None:
    """'fr' from 'fr', 'fr-FR' or 'fr_FR'."""
    code = re.split(r"[-_,;\s]", (value or "").strip().lower())[0]
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


# --------------------------------------------------------------------------- one walker, two markups


@dataclass(frozen=True)
class _Markup:
    """What tells the page's HTML and trafilatura's TEI-like output apart, for the one walker of both.

    Functions take the element and its tag (lower-cased when `lower`).
    """

    lower: bool  # HTML tags are compared in lower case
    skip: Callable[[object, str], bool]  # an element left out with its descendants (its tail is kept)
    heading: Callable[[object, str], int]  # heading level of a block element, 0 when it is no heading
    block: Callable[[str, str], bool]  # (child's tag, parent's tag): the child is a block of its own
    numbered: Callable[[object, str], int | None]  # an ordered list's first number, None for any other element
    item: str  # the list item tag
    hints: Callable[[object, frozenset[str]], frozenset[str]]  # a block child's hints, from its parent's
    line_break: str
    call: Callable[[object, str], bool]  # an element that is a footnote call when its text is a number
    link: tuple[str, str]  # the link tag and the attribute holding its target
    emphasis: Callable[[object, str], bool]
    clean: Callable[[str], str] = str  # a block's text and raw text, once whitespace is folded
    rows: frozenset[str] = frozenset()  # table rows: one block, its cells joined with " ; "
    rules: frozenset[str] = frozenset()  # elements that end the block they stand in


def _html_numbered(el, tag: str) -> int | None:
    if tag != "ol":
        return None
    start = el.get("start") or "1"
    return int(start) if start.isdigit() else 1


def _tei_heading(el, tag: str) -> int:
    if tag != "head":
        return 0
    m = re.fullmatch(r"h([1-6])", el.get("rend") or "")
    return int(m.group(1)) if m else 2


_HTML = _Markup(
    lower=True,
    skip=lambda el, tag: tag in _HTML_SKIP or _hidden(el),
    heading=lambda el, tag: int(tag[1]) if re.fullmatch(r"h[1-6]", tag) else 0,
    block=lambda ctag, tag: ctag in _HTML_BLOCK_TAGS,
    numbered=_html_numbered,
    item="li",
    hints=_element_hints,
    line_break="br",
    call=lambda el, tag: tag == "sup",
    link=("a", "href"),
    emphasis=lambda el, tag: tag in _HTML_EMPHASIS,
    rules=frozenset({"hr"}),
)
_TEI = _Markup(
    lower=False,
    skip=lambda el, tag: tag in _TEI_SKIP,
    heading=_tei_heading,
    block=lambda ctag, tag: ctag in _TEI_BLOCKS and not (ctag == "code" and tag in _TEI_INLINE_CODE),
    numbered=lambda el, tag: 1 if tag == "list" and el.get("rend") == "ol" else None,
    item="item",
    hints=lambda el, hints: hints,
    line_break="lb",
    # A superscript number, or a number linking to an anchor in the page.
    call=lambda el, tag: (tag == "hi" and el.get("rend") == "#sup") or (tag == "ref" and (
        (el.get("target") or "").strip().startswith("#") or el.find(".//hi[@rend='#sup']") is not None)),
    link=("ref", "target"),
    emphasis=lambda el, tag: tag == "hi" and el.get("rend") in ("#b", "#i"),
    # "[<a href="#nb1">1</a>]" is a call written with its brackets around the link: one pair is enough.
    clean=lambda text: _DOUBLE_CALL.sub(r"[\1]", text),
    rows=frozenset({"row"}),
)


def _tag(markup: _Markup, el) -> str:
    if not isinstance(el.tag, str):  # processing instructions, comments
        return ""
    return el.tag.lower() if markup.lower else el.tag


_Run = tuple[str, str, int, int]  # text, text with links as markdown, link characters, emphasised characters


def _plain(text: str | None) -> _Run:
    return text or "", text or "", 0, 0


def _joined(parts: Sequence[_Run]) -> _Run:
    return (
        "".join(p[0] for p in parts), "".join(p[1] for p in parts), sum(p[2] for p in parts), sum(p[3] for p in parts)
    )  # fmt: skip


def _inline(markup: _Markup, el) -> _Run:
    """An inline element with its descendants, as one run of text."""
    tag = _tag(markup, el)
    if markup.skip(el, tag):
        return "", "", 0, 0
    if tag == markup.line_break:
        return " ", " ", 0, 0
    if markup.call(el, tag):
        call = _CALL.fullmatch(" ".join("".join(el.itertext()).split()))
        if call:
            text = f"[{call.group(1)}]"
            return text, text, len(text), 0
    parts = [_plain(el.text)]
    for child in el:
        if isinstance(child.tag, str):
            parts.append(_inline(markup, child))
        parts.append(_plain(child.tail))
    text, raw, links, emph = _joined(parts)
    link_tag, attribute = markup.link
    if tag == link_tag:
        links = len(text.strip())
        target = (el.get(attribute) or "").strip()
        if target.startswith(("http://", "https://")) and text.strip():
            raw = f"[{text.strip()}]({target})"  # javascript:, mailto: and page anchors keep their text only
    if markup.emphasis(el, tag):
        emph = len(text.strip())
    return text, raw, links, emph


def _walk(markup: _Markup, el, hints: frozenset[str], out: list[Block], prefix: str = "") -> None:
    """Append to `out` the blocks of `el`: its block children walked in turn, the inline text between them."""
    parts = [_plain(el.text)]
    tag = _tag(markup, el)
    heading = markup.heading(el, tag)
    number = markup.numbered(el, tag)

    def flush() -> None:
        nonlocal parts, prefix
        joined, joined_raw, links, emph = _joined(parts)
        text = markup.clean(" ".join(joined.split()))
        if re.search(r"\w", text):
            raw = prefix + markup.clean(" ".join(joined_raw.split()))
            out.append(Block(text=text, raw=raw, heading=heading, link_chars=links,
                             emphasis=emph >= 0.95 * len(text), hints=hints))  # fmt: skip
            prefix = ""  # an ordered item's number goes on its first block only
        parts = []

    for child in el:
        if not isinstance(child.tag, str):  # processing instructions, comments
            parts.append(_plain(child.tail))
            continue
        ctag = _tag(markup, child)
        if markup.skip(child, ctag):
            pass
        elif ctag in markup.rows:
            flush()
            cells = [_inline(markup, c) for c in child if isinstance(c.tag, str)]
            text = " ; ".join(" ".join(c[0].split()) for c in cells if c[0].strip())
            if re.search(r"\w", text):
                raw = " ; ".join(" ".join(c[1].split()) for c in cells if c[1].strip())
                out.append(Block(text=text, raw=raw, link_chars=sum(c[2] for c in cells), hints=hints | {"list"}))
        elif markup.block(ctag, tag):
            flush()
            item = ""
            if number is not None and ctag == markup.item:
                item, number = f"{number}. ", number + 1
            child_hints = markup.hints(child, hints)
            if ctag == markup.item:
                child_hints |= {"list"}
            _walk(markup, child, child_hints, out, item)
        elif ctag in markup.rules:
            flush()
        else:
            parts.append(_inline(markup, child))
        parts.append(_plain(child.tail))
    flush()


# --------------------------------------------------------------------------- trafilatura


def _trafilatura(root):
    """trafilatura's extraction of the main content and comments, and its metadata (either may be None)."""
    import copy

    import trafilatura  # local: only HTML input needs it

    try:
        extracted = trafilatura.bare_extraction(
            root, include_comments=True, include_tables=True, include_links=True, include_formatting=True,
            include_images=False, with_metadata=False, deduplicate=False,
        )  # fmt: skip
    except Exception:  # trafilatura fails in its own ways on odd pages; the lxml reading takes over
        extracted = None
    # Metadata from a copy without the reader comments, so that a comment's date is not taken for the
    # article's, and without guessing dates from the text (a copyright year is no publication date).
    bare = copy.deepcopy(root)
    for el in bare.xpath("//*[@class or @id]"):
        if (
            _COMMENT_CLASS.search(f"{el.get('class') or ''} {el.get('id') or ''}")
            and el.tag not in ("html", "body", "main", "article")
            and el.find(".//h1") is None  # an article wrapper that merely says it has comments stays
            and el.getparent() is not None
        ):
            el.getparent().remove(el)
    try:
        meta = trafilatura.extract_metadata(bare, extensive=False)
    except Exception:  # as above: the declared metadata read with lxml remains
        meta = None
    return extracted, meta


def _merge_meta(tmeta, declared: PageMeta, notes: Sequence[Footnote]) -> PageMeta:
    """Trafilatura's metadata, each missing field taken from what the page declares (the date the other way round)."""
    if tmeta is None:
        return PageMeta(declared.title, declared.authors, declared.date, declared.site, declared.language,
                        declared.description, tuple(notes))  # fmt: skip
    authors = tuple(a for a in (_clean_author(x) for x in re.split(r"\s*;\s*", tmeta.author or "")) if a)
    found = find_date(tmeta.date) if tmeta.date else None
    return PageMeta(
        title=_clean(tmeta.title) or declared.title,
        authors=authors or declared.authors,
        # A date the page declares in its head is the publication date; trafilatura's may come from the text.
        date=declared.date or (found.day if found else None),
        site=_clean(tmeta.sitename) or declared.site,
        language=_language_code(getattr(tmeta, "language", None)) or declared.language,
        description=_clean(tmeta.description) or declared.description,
        notes=tuple(notes),
    )


def _clean(value: str | None) -> str | None:
    text = " ".join((value or "").split())
    return text or None


def _clean_author(value: str) -> str | None:
    """A name from trafilatura's author field: no "By"/"Par", no URL, no sentence."""
    value = re.sub(r"^(?i:par|by|de|from|auteur\s*:|author\s*:)\s+", "", " ".join(value.split())).strip(" ,;")
    if not value or "://" in value or "@" in value or len(value.split()) > 6 or not re.search(r"[^\W\d_]", value):
        return None
    return value


# --------------------------------------------------------------------------- back to the page: hints, notes


def _with_page_hints(blocks: list[Block], page_blocks: Sequence[Block], keys: Sequence[str]) -> list[Block]:
    """Trafilatura's blocks, given back what it drops of the page's structure.

    A block found once among the page's blocks gets its lead, byline, nav or
    form hint (trafilatura keeps no class names). A block that is several
    consecutive page blocks run together -- trafilatura's last-resort
    extraction of a page it cannot read -- is split back into them, each with
    its own hints, so that the classifier sees the navigation among them.
    """
    found: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        found.setdefault(k, []).append(i)
    out: list[Block] = []
    for b in blocks:
        key = normalize_for_match(b.text)
        same = found.get(key, [])
        if len(same) == 1:
            extra = page_blocks[same[0]].hints & {"lead", "byline", "nav", "form"}
            out.append(replace(b, hints=b.hints | extra) if extra else b)
            continue
        run = None if same else _run_of(key, keys)
        out.extend(page_blocks[i] for i in run) if run else out.append(b)
    return out


def _squashed(text: str) -> str:
    return re.sub(r"[\W_]+", "", fold(text))


def _rejoin_fragments(blocks: list[Block], page_blocks: Sequence[Block]) -> list[Block]:
    """Trafilatura's blocks, where it cut a page's paragraph, made whole again from the page.

    Text that a page holds directly in a <div> comes out of trafilatura cut at
    its links, code and emphasis ("It ships" / "hundreds of tools" / "for"),
    with spaces lost ("Kali Linuxis a"), and a link inside <code> is moved to
    the end of its paragraph ("est <, vous pouvez… listmaster@…>"). Consecutive
    blocks whose texts all lie in one block of the page (or hold its letters in
    another order), and make (nearly) all of it, are that page block.
    """
    page = [_squashed(b.text) for b in page_blocks]
    hosts: list[int | None] = []
    cursor = 0
    for b in blocks:
        key = _squashed(b.text)
        host = None
        if key and not b.heading:
            host = next((j for j in range(cursor, len(page)) if not page_blocks[j].heading and key in page[j]), None)
            if host is None:  # the same letters in another order: a link's text moved to the end of its paragraph
                letters = sorted(key)
                host = next((j for j in range(cursor, min(len(page), cursor + 50))
                             if len(page[j]) == len(key) and sorted(page[j]) == letters), None)  # fmt: skip
            if host is not None and len(key) >= 20:
                cursor = host  # blocks come in the page's order; a short one may be found anywhere
        hosts.append(host)
    out: list[Block] = []
    k = 0
    while k < len(blocks):
        host = hosts[k]
        m = k + 1
        while host is not None and m < len(blocks) and hosts[m] == host:
            m += 1
        covered = sum(len(_squashed(b.text)) for b in blocks[k:m])
        if host is not None and 0.8 * len(page[host]) <= covered <= 1.2 * len(page[host]) and (
            m - k > 1 or blocks[k].text != page_blocks[host].text
        ):
            whole = page_blocks[host]
            out.append(replace(blocks[k], text=whole.text, raw=whole.raw, link_chars=whole.link_chars,
                               emphasis=whole.emphasis))  # fmt: skip
        else:
            out.extend(blocks[k:m])
        k = m
    return out


def _run_of(key: str, keys: Sequence[str]) -> range | None:
    """Consecutive page blocks whose texts, joined, make `key`."""
    for i, k in enumerate(keys):
        if not k or not key.startswith(k):
            continue
        joined, j = k, i + 1
        while len(joined) < len(key) and j < len(keys):
            if keys[j]:
                joined = f"{joined} {keys[j]}"
                if not key.startswith(joined):
                    break
            j += 1
        if joined == key and j - i > 1:
            return range(i, j)
    return None


def _is_note(key: str, note_keys: set[str]) -> bool:
    """Whether a block's match key is one of the notes' texts, with or without the note's number before it."""
    return bool(note_keys) and (key in note_keys or re.sub(r"^\d{1,3} ", "", key) in note_keys)


def _linked_notes(root) -> tuple[list[Footnote], set[str]]:
    """Notes the page links its calls to (`<a href="#fn1">1</a>` → the element with id fn1), and their texts as match keys."""
    notes: dict[int, Footnote] = {}
    keys: set[str] = set()
    anchors: dict[str, object] | None = None
    for a in root.iter("a"):
        href = (a.get("href") or "").strip()
        label = " ".join(a.text_content().split())
        call = _CALL.fullmatch(label)
        if not href.startswith("#") or len(href) < 2 or not call:
            continue
        in_sup = a.find(".//sup") is not None or any(x.tag == "sup" for x in a.iterancestors())
        if not (in_sup or label.startswith("[") or _NOTE_ANCHOR.search(href)):
            continue  # numbered links to anchors that are not note calls: pagination, carousels
        number = int(call.group(1))
        if anchors is None:  # every id and name of the page, first occurrence, built once
            anchors = {}
            for el in root.iter():
                for name in (el.get("id"), el.get("name")) if isinstance(el.tag, str) else ():
                    if name:
                        anchors.setdefault(name, el)
        target = anchors.get(unquote(href[1:]))
        if number in notes or target is None:
            continue
        text = _note_text(target)
        while len(words(text)) < 2 and target.getparent() is not None and target.tag not in ("li", "p", "dd", "div", "td"):
            target = target.getparent()  # an empty anchor inside the note: the note is its block
            text = _note_text(target)
        if len(words(text)) < 2 or target is a or target in a.iterancestors() or a in target.iterancestors():
            continue  # no text, or a link to itself or to the paragraph that makes the call
        url = next((h for h in (x.get("href") or "" for x in target.iter("a")) if h.startswith(("http://", "https://"))), None)
        notes[number] = Footnote(number, text, url)
        keys.add(normalize_for_match(text))
    return [notes[n] for n in sorted(notes)], keys


def _note_text(el) -> str:
    """Text of a note element without its back-links (↩, ^, the number linking back to the call)."""
    parts: list[str] = []

    def visit(node) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        skip = tag in _HTML_SKIP or (
            tag == "a" and (node.get("href") or "").startswith("#") and not re.search(r"[^\W\d_]", node.text_content())
        )
        if not skip:
            parts.append(node.text or "")
            for child in node:
                visit(child)
                parts.append(child.tail or "")
        elif tag == "a":
            parts.append(" ")

    visit(el)
    text = " ".join("".join(parts).split())
    text = _LEADING_NUMBER.sub("", text, count=1).strip()
    return text.rstrip(" ↩↑^").strip()

