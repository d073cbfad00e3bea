"""An HTML page read as its block structure says: a `structured.Parsed`.

The page's elements say what a reader sees as a paragraph: a block element
(p, li, dt/dd, td/th, blockquote, pre, a heading, a div or section holding
text of its own; two line breaks in a row) is one part; inline elements (a,
em, strong, code, span, abbr, sup, kbd...) never split text, so a sentence
with a link, an e-mail address or a bit of code in it stays whole. Lists give
items with their lead-in as context, definition lists a term and its
definitions, tables rows with their header row as context, pre blocks code
kept verbatim, note and warning boxes their title as context. Notes the page
links its calls to (`<a href="#fn1">`, DocBook footnote divs, Sphinx footnote
lists) become "[n]" calls and `Footnote`s; a notes section under a "Notes"
heading does too for bare superscript calls. A FAQ -- definition terms, bold
paragraphs or summaries that ask a question -- gives each answer its question
as a heading.

Page furniture is removed by what the page's structure says of it: nav,
header, footer, aside and form elements, navigation roles, class and id names
of navigation bars, sidebars, breadcrumbs, tables of contents, footers, search
boxes and bug-report links; whatever lies outside a page's single main
element; lists of links (link density), previous/next links, lone links and
bare "→ link" lines; labels before the first heading that trafilatura leaves
out of the main content. Each removal is recorded in `dropped` with its
reason. A page whose text is all hidden until a script shows it is read with
its hidden text.

`article_like` tells the pages that are news articles or blog posts (their
head declares a publication date, their JSON-LD an article type, their body
has a byline or reader comments): those go through the article reading of
`rag.ingest.assembly` instead, which finds their lead, byline, biography and
comments. Nothing is fetched."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from ..records import Dropped, Footnote
from ..text import cut_sentences, ends_sentence, fold, words
from .html import (
    _CALL, _HTML_SKIP, _NOTE_ANCHOR, PageMeta, _declared_meta, _hidden, _json_ld, _note_text, parse_page,
)  # fmt: skip
from .structured import Meta, Parsed, Part
from .zones import _NOTES_TITLE

_BLOCK = frozenset(
    "address article aside blockquote body caption center details dialog dd dir div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main menu nav ol p pre section summary table "
    "tbody td tfoot th thead tr ul".split()
)
_SKIP = _HTML_SKIP | {"button", "label", "img", "area", "colgroup", "col", "head"}
_HEADING = re.compile(r"h([1-6])")
_LISTS = frozenset({"ul", "ol", "menu", "dir"})

# Class and id names of page furniture, as words of the name ("navheader", "sphinx-sidebar", "breadcrumbs").
_FURNITURE_NAME = re.compile(
    r"(?:^|[-_\s])(?:(?:(?:doc|sub|top|side|main|site|page|global|primary|secondary|mobile)?nav(?:bar|igation|header"
    r"|footer|links?|menu)?|menu|menubar|sidebar|sphinxsidebar"
    r"|sidebarwrapper|related|breadcrumbs?|toc|footer|masthead|topbar|skip|skip-?links?|skip-?nav|searchbox|search"
    r"|pagination|pager|prevnext|share|sharing|social|cookies?|consent|banner|advert\w*|ads|reportbug"
    r"|report-?bug|edit-?this-?page|page-?tools|catlinks|categories|tags))(?:$|[-_\s])",
    re.I,
)
_INLINE_FURNITURE = re.compile(
    r"(?:^|[-_\s])(?:editsection|edit-?section|edit-?link|sr-only|visually-?hidden|screen-?reader-?text)(?:$|[-_\s])",
    re.I,
)
_HEADER_NAME = re.compile(r"(?:^|[-_\s])(?:header|site-?header|page-?header)(?:$|[-_\s])", re.I)
_ROLES = {
    "navigation": "navigation (role)", "banner": "page banner (role)", "contentinfo": "page footer (role)",
    "complementary": "sidebar (role)", "search": "search box", "menu": "menu (role)", "menubar": "menu (role)",
    "toolbar": "toolbar (role)", "dialog": "dialog box (role)",
}  # fmt: skip
_TAG_REASONS = {"nav": "navigation (<nav>)", "aside": "beside the main text (<aside>)",
                "footer": "page footer (<footer>)", "form": "form or search box (<form>)"}  # fmt: skip
_ADMONITION = re.compile(
    r"(?:^|[-_\s])(?:admonition|alert|note|tip|hint|warning|caution|important|attention|danger|seealso|callout|notice)"
    r"(?:$|[-_\s])",
    re.I,
)
_PERMALINK = re.compile(r"^[\s¶§#🔗]*$")
_ARROW_LINE = re.compile(r"^[\s→⇒➜➔►▶↗»>•·:.\-–—|()\[\]]*$")
_PREV_NEXT = re.compile(
    r"^(?:«|‹|<|←)?\s*(?:prev|previous|next|up|home|top|back|précédent|precedent|suivant|retour|haut|sommaire"
    r"|accueil|zurück|weiter|nach oben|anterior|siguiente|inicio|arriba|indietro|avanti|successivo|su)"
    r"\s*(?:»|›|>|→)?$",
    re.I,
)
_QUESTION = re.compile(r"[?？¿]\s*$")
_AUTHOR_FIELD = re.compile(r"^(?:authors?|auteurs?|autor(?:en|es)?|autore|autori|by|par|von)\s*:?$", re.I)
_DOUBLE_CALL = re.compile(r"\[\s*\[(\d{1,3})\]\s*\]")
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")  # soft hyphens, zero-width spaces
_WEB = ("http://", "https://")
_HIDDEN = "hidden on the page"
_NOT_ALNUM = re.compile(r"[\W_]+")
_ARTICLE_TYPES = re.compile(r"^(?:\w*NewsArticle|Article|BlogPosting|LiveBlogPosting|OpinionNewsArticle)$")
_PUBLISHED = ("article:published_time", "og:published_time", "datepublished", "parsely-pub-date", "sailthru.date",
              "pubdate", "publishdate", "publish-date")  # fmt: skip


def _tag(el) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _names(el) -> str:
    return f"{el.get('class') or ''} {el.get('id') or ''}".strip()


def _squash(text: str) -> str:
    return " ".join(words(text.lower()))


def _clean(text: str) -> str:
    text = " ".join(_INVISIBLE.sub("", text).split())
    return _DOUBLE_CALL.sub(r"[\1]", text)


# --------------------------------------------------------------------------- which reading


def article_like(html) -> bool:
    """Whether a page presents itself as a news article or blog post: its head or JSON-LD declares a
    publication date or an article type (NewsArticle, BlogPosting...), or its body has a byline or a
    section of reader comments. ("og:type" article alone is not enough: site generators give it to
    every page.) `html` is the page's text or its lxml tree; ValueError when it cannot be parsed."""
    root = parse_page(html) if isinstance(html, str) else html
    for m in root.iter("meta"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or "").strip().lower()
        if key in _PUBLISHED and (m.get("content") or "").strip():
            return True
    for d in _json_ld(root):
        types = d.get("@type")
        types = types if isinstance(types, list) else [types]
        if any(isinstance(t, str) and _ARTICLE_TYPES.match(t) for t in types):
            return True
    body = root.find(".//body")
    for el in (body if body is not None else root).iter():
        tag = _tag(el)
        if tag in ("pre", "code") or not tag:
            continue
        names = _names(el).lower()
        if not names and el.get("itemprop") != "author" and el.get("rel") != "author":
            continue
        byline = re.search(r"(?:^|[-_\s])byline(?:$|[-_\s])", names)
        if el.get("itemprop") == "author" or el.get("rel") == "author" or byline:
            return True
        # reader comments, by class (an id may come from a heading: "Comment Objects" in a reference manual)
        comments = f"{el.get('class') or ''} {'disqus_thread' if el.get('id') == 'disqus_thread' else ''}".lower()
        if tag in ("section", "div", "ol", "ul", "li", "article", "aside") and re.search(
            r"(?:^|[-_\s])(?:comments?|comment-list|commentlist|comments-area|disqus_thread)(?:$|[-_\s])", comments
        ) and len(words(el.text_content())) >= 5:
            return True
    return False


# --------------------------------------------------------------------------- notes


@dataclass
class _Notes:
    calls: dict  # call element -> note number
    notes: dict[int, Footnote]
    elements: set  # the elements holding the notes' texts
    labels: set  # headings and labels of a notes section


def _find_notes(root) -> _Notes:
    """Notes the page links its calls to: `<a href="#fn1">1</a>` (in a <sup>, in brackets, or an
    anchor named like a note) -> the element with id fn1, without its back-links."""
    out = _Notes({}, {}, set(), set())
    anchors: dict[str, object] | None = None
    for a in root.iter("a"):
        href = (a.get("href") or "").strip()
        if not href.startswith("#") or len(href) < 2:
            continue
        label = " ".join(a.text_content().split())
        call = _CALL.fullmatch(label)
        if not call:
            continue
        in_sup = a.find(".//sup") is not None or any(_tag(x) == "sup" for x in a.iterancestors())
        noteref = "noteref" in (a.get("role") or "") or "footnote" in (a.get("class") or "").lower()
        if not (in_sup or noteref or label.startswith("[") or _NOTE_ANCHOR.search(href)):
            continue  # numbered links to anchors that are not note calls: pagination, carousels
        if anchors is None:
            anchors = {}
            for el in root.iter():
                if isinstance(el.tag, str):
                    for name in (el.get("id"), el.get("name")):
                        if name:
                            anchors.setdefault(name, el)
        target = anchors.get(unquote(href[1:]))
        if target is None:
            continue
        number = int(call.group(1))
        text = _note_text(target)
        while len(words(text)) < 2 and target.getparent() is not None and _tag(target) not in (
            "li", "p", "dd", "div", "td", "aside"
        ):
            target = target.getparent()  # an empty anchor inside the note: the note is its block
            text = _note_text(target)
        if len(words(text)) < 2 or target is a or target in a.iterancestors() or a in target.iterancestors():
            continue  # no text, or a link to itself or to the paragraph that makes the call
        text = re.sub(r"^\(\s*(?:,\s*)*\)\s*", "", text)  # "(1, 2)": the back-links of a note called twice
        sup = a.getparent() if a.getparent() is not None and _tag(a.getparent()) == "sup" else None
        if sup is not None and " ".join(sup.text_content().split()) == label:
            out.calls[sup] = number  # <sup><a>1</a></sup>: the whole superscript is the call
        else:
            out.calls[a] = number
        if number not in out.notes:
            url = next((h for h in (x.get("href") or "" for x in target.iter("a"))
                        if h.startswith(("http://", "https://"))), None)  # fmt: skip
            out.notes[number] = Footnote(number, text, url)
            out.elements.add(target)
    if not out.notes:
        _notes_section(root, out)
    return out


def _notes_section(root, out: _Notes) -> None:
    """A "Notes" heading followed by a numbered list or numbered paragraphs, called by bare superscripts."""
    sups = [s for s in root.iter("sup") if re.fullmatch(r"\[?\d{1,3}\]?", " ".join(s.text_content().split()))]
    if not sups:
        return
    for head in root.iter("h1", "h2", "h3", "h4", "h5", "h6", "p", "div"):
        if len(head) > 3:
            continue  # a label has few elements in it
        text = " ".join(head.text_content().split())
        if not text or len(text) > 40 or not _NOTES_TITLE.match(text):
            continue
        found: list[tuple[int, str, object]] = []
        sibling = head.getnext()
        while sibling is not None and not _HEADING.fullmatch(_tag(sibling)):
            tag = _tag(sibling)
            if tag in ("ol", "ul"):
                start = int(sibling.get("start")) if (sibling.get("start") or "").isdigit() else 1
                for k, li in enumerate(x for x in sibling if _tag(x) == "li"):
                    t = " ".join(li.text_content().split())
                    m = re.match(r"^\[?(\d{1,3})[\].)]?\s+", t) if tag == "ul" else None
                    found.append((int(m.group(1)) if m else start + k, t[m.end():] if m else t, li))
            elif tag in ("p", "div"):
                t = " ".join(sibling.text_content().split())
                m = re.match(r"^[\[(]?(\d{1,3})[\].)]\s*", t)
                if m:
                    found.append((int(m.group(1)), t[m.end():], sibling))
            sibling = sibling.getnext()
        if found:
            out.labels.add(head)
            for number, text, el in found:
                text = text.rstrip(" ↩↑^").strip()
                url = next((h for h in (x.get("href") or "" for x in el.iter("a"))
                            if h.startswith(("http://", "https://"))), None)  # fmt: skip
                out.notes.setdefault(number, Footnote(number, text, url))
                out.elements.add(el)
            break
    for s in sups:
        n = int(s.text_content().strip(" []"))
        if n in out.notes:
            out.calls[s] = n


# --------------------------------------------------------------------------- the reader


@dataclass(frozen=True)
class _Ctx:
    kind: str = "paragraph"  # what a text block becomes: paragraph, item, definition, quote
    context: str | None = None  # a list's lead-in, a definition's term
    label: str | None = None  # the title of the box it stands in ("Note", "See also")

    def full(self, context: str | None = None) -> str | None:
        """The context of a part: the box's title, then the lead-in or term."""
        context = context or self.context
        if self.label and context:
            return f"{self.label}: {context}"
        return self.label or context


class _Buffer:
    """Inline text gathered between two block elements, with the text of its links."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.links: list[str] = []
        self.anchors = 0  # links to a place in the page

    def text(self) -> str:
        return _clean("".join(self.parts))


class _Reader:
    def __init__(self, root, notes: _Notes, show_hidden: bool = False) -> None:
        self.root = root
        self.show_hidden = show_hidden
        self.notes = notes
        self.parts: list[Part] = []
        self.dropped: list[Dropped] = []
        self.level = 0  # level of the last heading
        self.authors: list[str] = []
        self.consumed: set = set()  # labels used as context, not parts
        self.pseudo: set[int] = set()  # the parts that are a FAQ's questions made headings
        self.item_start = 0  # where the parts of the list item being read start
        self.main = _main_element(root)
        self.holds_block = _holding_blocks(root)
        self.counts = _link_counts(root)
        self.note_holders = {a for el in notes.elements for a in (el, *el.iterancestors())}

    # ----------------------------------------------------------- output
    def emit(self, kind: str, text: str, level: int = 0, context: str | None = None, pseudo: bool = False) -> None:
        """Add a part; a `pseudo` heading (a FAQ's question) leaves the level of the next ones as it was."""
        if not re.search(r"\w", text):
            return
        if kind == "heading" and not pseudo:
            self.level = level
        if pseudo:
            self.pseudo.add(len(self.parts))
        self.parts.append(Part(kind, text, level=level, context=context))

    def drop(self, el, reason: str) -> None:
        text = _clean("".join(_spaced(el))) if isinstance(el.tag, str) else ""
        if re.search(r"\w", text):
            self.dropped.append(Dropped(text, reason))

    def hidden(self, el) -> bool:
        return not self.show_hidden and _hidden(el)

    # ----------------------------------------------------------- inline text
    def inline(self, el, buf: _Buffer, pre: bool = False, flat: bool = False) -> None:
        """Append the text of an inline element (or, `flat`, of any element: blocks become spaces)."""
        tag = _tag(el)
        if not tag or tag in _SKIP or self.hidden(el):
            return
        if tag == "br":
            buf.parts.append("\n" if pre else " ")
            return
        if el in self.notes.calls:
            buf.parts.append(f"[{self.notes.calls[el]}]")
            return
        if flat and (el in self.notes.elements or tag == "table"):
            return
        if tag == "a" and (el.get("href") or "").startswith("#") and _PERMALINK.match(el.text_content() or ""):
            return  # a permalink ("¶") beside a heading
        if el.get("class") and _INLINE_FURNITURE.search(el.get("class")):
            return  # an "[edit]" link, text for screen readers only
        block = (flat and tag in _BLOCK) or (self.show_hidden and _hidden(el))  # variants shown side by side
        if block:
            buf.parts.append(" ")
        start = len(buf.parts)
        buf.parts.append(el.text or "")
        for child in el:
            if isinstance(child.tag, str):
                self.inline(child, buf, pre, flat)
            buf.parts.append(child.tail or "")
        if tag == "a":
            buf.links.append("".join(buf.parts[start:]))
            buf.anchors += (el.get("href") or "").startswith("#")
        if block:
            buf.parts.append(" ")

    def flat_text(self, el) -> str:
        buf = _Buffer()
        self.inline(el, buf, flat=True)
        return buf.text()

    # ----------------------------------------------------------- furniture
    def furniture(self, el) -> str | None:
        """Why a block element is page furniture, or None."""
        tag = _tag(el)
        names = _names(el)
        role = (el.get("role") or "").lower()
        if el is self.main or (self.main is not None and el in self.main.iterancestors()):
            return None
        if _HEADING.fullmatch(tag):
            names = role = ""  # a heading's class ("section-header") names what it is, not furniture around it
        if tag == "header" or role == "banner" or (names and _HEADER_NAME.search(names)):
            # a page's header is furniture, unless it holds the page's title (its only first-rank heading)
            inside = [x for x in el.iter("h1", "h2")]
            rank = min((_tag(x) for x in inside), default=None)
            if rank is None or any(x not in inside for x in self.root.iter(rank)):
                return "page header" + (" (<header>)" if tag == "header" else "")
            return None
        if tag in _TAG_REASONS and not (tag == "aside" and self.in_main(el)):
            return _TAG_REASONS[tag]
        if role in _ROLES:
            return _ROLES[role]
        m = _FURNITURE_NAME.search(names) if names else None
        if m and not (tag in ("p", "span") and len(words(el.text_content())) > 40):  # not a paragraph of text
            return f"page furniture (class or id “{m.group(0).strip(' -_')}”)"
        if self.main is not None and tag not in ("html", "body") and not _related(el, self.main):
            return "outside the page's main content (its <main> element)"
        return self.link_furniture(el, tag)

    def in_main(self, el) -> bool:
        """Inside the page's main element or an article: an aside there is part of the text (a topic box)."""
        return any(_tag(a) in ("main", "article") or a is self.main for a in el.iterancestors())

    def link_furniture(self, el, tag: str) -> str | None:
        """Lists of links, tables of contents and previous/next links, by link density."""
        if tag not in ("ul", "ol", "menu", "dl", "table", "div", "p", "section", "td", "center", "dir"):
            return None
        chars, link_chars, n_links = self.counts.get(el, (0, 0, 0))
        if n_links < 2 or link_chars < 0.75 * chars:
            return None  # the quick test, from counts made once for the page
        links = [a for a in el.iter("a") if a.get("href") is not None and a not in self.notes.calls]
        if not links:
            return None
        text = _clean(el.text_content())
        link_text = [_clean(a.text_content()) for a in links]
        n_link_chars = sum(len(t) for t in link_text)
        rest = len(re.sub(r"[\W_]+", "", text)) - len(re.sub(r"[\W_]+", "", "".join(link_text)))
        if len(links) >= 2 and all(_PREV_NEXT.match(t) or (a.get("rel") or "").lower() in ("prev", "next", "up")
                                   or (a.get("accesskey") or "").lower() in ("p", "n", "u", "h")
                                   for a, t in zip(links, link_text)) and rest <= 30:  # fmt: skip
            return "previous/next links"
        if len(links) < 3 or not text or n_link_chars < 0.8 * len(text) or rest > 0.15 * max(1, n_link_chars):
            return None
        if sum(len(words(t)) for t in link_text) / len(links) > 12:
            return None  # long link texts: sentences that happen to be links
        in_page = sum(1 for a in links if (a.get("href") or "").startswith("#"))
        if tag in ("ul", "ol", "menu", "dl", "dir") and in_page >= 0.8 * len(links):
            return "table of contents (links to the page's own sections)"
        return "list of links (navigation)"

    # ----------------------------------------------------------- blocks
    def walk(self, el, ctx: _Ctx) -> None:
        """The blocks of a container: its block children in turn, the inline text between them."""
        buf = _Buffer()
        buf.parts.append(el.text or "")
        breaks = 0  # line breaks in a row, with nothing but spaces between them
        for child in el:
            tag = _tag(child)
            if not tag:
                buf.parts.append(child.tail or "")
                continue
            breaks = breaks + 1 if tag == "br" else 0
            if breaks == 2:  # an empty line: the page's way of starting a new paragraph
                self.flush(buf, ctx)
                buf = _Buffer()
            if (child.tail or "").strip():
                breaks = 0
            if tag in _SKIP or self.hidden(child):
                if tag not in _SKIP:
                    self.drop(child, _HIDDEN)
            elif child in self.consumed:
                pass
            elif child in self.notes.calls:
                self.inline(child, buf)
            elif tag in _BLOCK or child in self.holds_block:
                self.flush(buf, ctx)
                buf = _Buffer()
                self.block(child, ctx)
            else:
                self.inline(child, buf)
            buf.parts.append(child.tail or "")
        self.flush(buf, ctx)

    def flush(self, buf: _Buffer, ctx: _Ctx) -> None:
        text = buf.text()
        if not re.search(r"\w", text):
            return
        residue = text
        for link in buf.links:
            residue = residue.replace(_clean(link), "", 1)
        if buf.links and not re.search(r"[^\W_]", residue):
            if re.search(r"[→⇒➜➔►▶↗»]", residue):
                self.dropped.append(Dropped(text, "a link line (“→ …”) with no text of its own"))
                return
            if ctx.kind == "paragraph" and len(buf.links) == 1 and buf.anchors == 1 and len(words(text)) <= 5:
                self.dropped.append(Dropped(text, "a link to another place in the page (skip or back-to-top link)"))
                return
            if ctx.kind == "paragraph" and len(buf.links) == 1 and len(words(text)) <= 3:
                self.dropped.append(Dropped(text, "a lone link with no text of its own"))
                return
        self.emit(ctx.kind, text, context=ctx.full())

    def block(self, el, ctx: _Ctx) -> None:
        tag = _tag(el)
        reason = self.furniture(el)
        if reason:
            if el in self.note_holders:
                self.sift(el, reason)
            else:
                self.drop(el, reason)
            return
        if el in self.notes.elements:
            return  # read as a note
        if el in self.notes.labels or self.notes_label(el):
            self.drop(el, "heading of the notes (they are read as notes)")
            return
        heading = _HEADING.fullmatch(tag)
        if heading:
            self.emit("heading", self.flat_text(el), level=int(heading.group(1)))
        elif tag in _LISTS:
            self.list(el, ctx)
        elif tag == "dl":
            self.definitions(el, ctx)
        elif tag == "table":
            self.table(el, ctx)
        elif tag == "pre":
            self.code(el, ctx)
        elif tag == "blockquote":
            self.walk(el, _Ctx("quote", ctx.context, ctx.label))
        elif tag == "li":
            self.walk(el, _Ctx("item", ctx.context, ctx.label))
        elif tag == "hr":
            pass
        elif tag in ("p", "summary", "div", "dt") and self.question(el):
            self.emit("heading", self.flat_text(el), level=min(6, max(self.level, 1) + 1), pseudo=True)
        elif tag == "summary" and len(words(el.text_content())) <= 4 and not any(
            _tag(x) in _BLOCK for x in el.iterdescendants()
        ):
            self.drop(el, "the label of a box that opens and closes (<summary>)")
        elif _ADMONITION.search(el.get("class") or "") and "footnote" not in (el.get("class") or ""):
            self.admonition(el, ctx)
        else:
            self.walk(el, ctx)

    def sift(self, el, reason: str) -> None:
        """Furniture that holds the notes (a footer with the footnotes): the notes stay, the rest goes."""
        for child in el:
            if not _tag(child) or _tag(child) in _SKIP or child in self.notes.elements:
                continue
            if child in self.notes.labels or self.notes_label(child):
                self.drop(child, "heading of the notes (they are read as notes)")
            elif child in self.note_holders:
                self.sift(child, reason)
            else:
                self.drop(child, reason)

    def question(self, el) -> bool:
        """A paragraph that asks a question in bold (a FAQ's question), or a details' summary asking one."""
        text = _clean(el.text_content())
        if not text or not _QUESTION.search(text) or len(words(text)) > 40:
            return False
        if _tag(el) == "summary":
            return True
        if any(_tag(x) in _BLOCK for x in el.iterdescendants()):
            return False
        return self.bold(el)

    def notes_label(self, el) -> bool:
        """A short "Notes"/"Footnotes" label or heading whose next element holds the notes."""
        text = _clean(el.text_content())
        if not text or len(text) > 40 or not _NOTES_TITLE.match(text):
            return False
        nxt = el.getnext()
        return nxt is not None and (nxt in self.notes.elements or any(n in self.notes.elements for n in nxt.iter()))

    def admonition(self, el, ctx: _Ctx) -> None:
        """A note, tip or warning box: its short title ("Note", "Warnung") is the context of its text."""
        label = None
        first = next((x for x in el.iter() if isinstance(x.tag, str) and _tag(x) not in _SKIP
                      and (x.text or "").strip()), None)  # fmt: skip
        while first is not None and first is not el and _tag(first) not in _BLOCK:
            first = first.getparent()  # the block holding the box's first words
        if first is not None and first is not el:
            text = _clean(first.text_content())
            titled = ("title" in (first.get("class") or "") or _HEADING.fullmatch(_tag(first))
                      or _tag(first) == "th" or self.bold(first))  # fmt: skip
            if titled and len(words(text)) <= 4:
                label = text.rstrip(" :")
                self.consumed.add(first)
        self.walk(el, _Ctx(ctx.kind, ctx.context, label or ctx.label))

    def bold(self, el) -> bool:
        """Whether all the text of an element is bold."""
        bold = "".join(x.text_content() for x in el.iterdescendants("strong", "b"))
        return bool(bold.strip()) and _squash(bold) == _squash(el.text_content())

    def lead_in(self, ctx: _Ctx, start: int) -> str | None:
        """The context of a list: the text of the item it is nested in, or the paragraph before it ending with ":"."""
        if not self.parts:
            return ctx.context
        last = self.parts[-1]
        if ctx.kind == "item" and len(self.parts) > start and last.kind == "item":
            return last.text
        # the paragraph just before: it ends with ":", or its sentence goes on into the list ("… help with")
        if last.kind in ("paragraph", "definition", "item", "quote") and self.leads_in(last.text):
            sentences = cut_sentences(last.text)
            return sentences[-1] if sentences else last.text
        return ctx.context

    @staticmethod
    def leads_in(text: str) -> bool:
        text = text.rstrip()
        return text.endswith(":") or (not re.search(r"[.!?…)\]»”\"']$", text) and len(words(text)) <= 40)

    def list(self, el, ctx: _Ctx) -> None:
        """A list's items, each with the list's lead-in as context."""
        lead = self.lead_in(ctx, self.item_start)
        item = _Ctx("item", lead, ctx.label)
        buf = _Buffer()
        buf.parts.append(el.text or "")
        for child in el:
            tag = _tag(child)
            if not tag or tag in _SKIP or self.hidden(child):
                buf.parts.append(child.tail or "")
                continue
            if tag == "li":
                self.flush(buf, item)
                buf = _Buffer()
                reason = self.furniture(child)
                if reason:
                    self.drop(child, reason)
                elif child in self.notes.labels:
                    self.drop(child, "heading of the notes (they are read as notes)")
                elif child not in self.notes.elements:
                    saved, self.item_start = self.item_start, len(self.parts)
                    self.walk(child, item)
                    self.item_start = saved
            elif tag in _BLOCK or child in self.holds_block:
                self.flush(buf, item)
                buf = _Buffer()
                self.block(child, item)
            else:
                self.inline(child, buf)
            buf.parts.append(child.tail or "")
        self.flush(buf, item)

    def definitions(self, el, ctx: _Ctx) -> None:
        """A definition list: terms and their definitions, or a FAQ's questions and answers."""
        entries = [x for x in el if _tag(x) in ("dt", "dd")]
        terms = [x for x in entries if _tag(x) == "dt"]
        faq = terms and sum(1 for t in terms if _QUESTION.search(_clean(t.text_content()))) * 2 >= len(terms)
        term: str | None = None
        pending: list[str] = []
        level = min(6, max(self.level, 1) + 1)
        for x in el:
            tag = _tag(x)
            if not tag or tag in _SKIP or self.hidden(x):
                continue
            reason = self.furniture(x) if tag in ("dt", "dd") else None
            if reason:
                self.drop(x, reason)
                continue
            if tag == "dt":
                text = self.flat_text(x)
                if faq:
                    self.emit("heading", text, level=level, pseudo=True)
                    term = None
                else:
                    pending.append(text)
                    if re.search(r"\w", text):
                        self.emit("term", text)
                continue
            if tag == "dd":
                if pending:
                    term = " / ".join(t for t in pending if t)
                    pending = []
                    if _AUTHOR_FIELD.match(term):
                        self.authors.extend(_split_names(self.flat_text(x)))
                self.walk(x, _Ctx("paragraph" if faq else "definition", term or ctx.context, ctx.label))
            else:
                self.block(x, ctx)

    def table(self, el, ctx: _Ctx) -> None:
        """A data table gives rows (cells joined by " | ") with its header row as context; a layout table
        (no header, cells spanning rows or holding several blocks) gives the blocks of its cells."""
        rows = _rows(el)
        for cap in (x for x in el if _tag(x) == "caption"):
            self.emit("paragraph", self.flat_text(cap), context=ctx.full())
        header_rows = [r for r in rows if _tag(r.getparent()) == "thead"]
        if not header_rows and rows and len(_cells(rows[0])) >= 2 and all(self.head_cell(c) for c in _cells(rows[0])):
            header_rows = [rows[0]]
        widest = max((len(_cells(r)) for r in rows), default=0)
        if widest < 2 or (not header_rows and not self.grid(rows, widest)):
            for r in rows:  # a layout table: its cells are containers
                for c in _cells(r):
                    if c not in self.consumed:
                        self.block(c, ctx)
            return
        header = " | ".join(t for t in (" | ".join(self.flat_text(c) for c in _cells(r)) for r in header_rows) if t)
        for r in rows:
            if r in header_rows:
                continue
            cells = [self.flat_text(c) for c in _cells(r)]
            while cells and not cells[-1]:
                cells.pop()
            if len(_cells(r)) == 1 and widest > 1:  # one cell across the table: a title among the rows
                self.emit("paragraph", " | ".join(cells), context=ctx.full())
            else:
                self.emit("row", " | ".join(cells), context=ctx.full(header or None))
            for c in _cells(r):  # tables in a cell: after the row, with their own header
                for nested in c.iter("table"):
                    if next(nested.iterancestors("table"), None) is el:
                        self.block(nested, ctx)

    def head_cell(self, cell) -> bool:
        """A header cell: <th>, or a cell whose class says so ("tablehead") or whose text is all bold."""
        return _tag(cell) == "th" or bool(re.search(r"head", cell.get("class") or "")) or any(
            re.search(r"head", x.get("class") or "") for x in cell.iterdescendants() if isinstance(x.tag, str)
        ) or self.bold(cell)

    @staticmethod
    def grid(rows: list, widest: int) -> bool:
        """Whether a table without a header row is still a grid of data: rows of two cells or more (a
        row of one spanning cell may stand among them: a title), no cell spanning rows, each cell a line
        of text (at most one paragraph, no list, no nested table)."""
        wide = [r for r in rows if len(_cells(r)) >= 2]
        if len(wide) < 2 or len(wide) < 0.6 * len(rows):
            return False
        for r in rows:
            for c in _cells(r):
                if c.get("rowspan") not in (None, "1") or (len(_cells(r)) > 1 and c.get("colspan") not in (None, "1")):
                    return False
                blocks = [x for x in c.iterdescendants() if _tag(x) in _BLOCK]
                if len(blocks) > 1 or any(_tag(x) not in ("p", "div", "span") for x in blocks):
                    return False
        return True

    def code(self, el, ctx: _Ctx) -> None:
        buf = _Buffer()
        buf.parts.append(el.text or "")
        for child in el:
            if isinstance(child.tag, str):
                self.inline(child, buf, pre=True)
            buf.parts.append(child.tail or "")
        text = _INVISIBLE.sub("", "".join(buf.parts))
        text = "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")
        context = None
        if self.parts and self.parts[-1].kind != "heading" and self.parts[-1].text.rstrip().endswith(":"):
            sentences = cut_sentences(self.parts[-1].text)
            context = sentences[-1] if sentences else None
        self.emit("code", text, context=ctx.full(context))


def _spaced(el):
    """The text of an element with a space around each of its block elements (for what is left out)."""
    tag = _tag(el)
    if not tag or tag in _SKIP:
        return
    block = tag in _BLOCK or tag == "br"
    if block:
        yield " "
    yield el.text or ""
    for child in el:
        yield from _spaced(child)
        yield child.tail or ""
    if block:
        yield " "


def _rows(table) -> list:
    """The rows of a table, not those of the tables nested in it."""
    out = []
    for x in table:
        tag = _tag(x)
        if tag == "tr":
            out.append(x)
        elif tag in ("thead", "tbody", "tfoot"):
            out.extend(r for r in x if _tag(r) == "tr")
    return out


def _cells(row) -> list:
    return [c for c in row if _tag(c) in ("td", "th")]


def _related(el, main) -> bool:
    """Whether `el` is the main element, inside it, or one of its ancestors."""
    return el is main or main in el.iterancestors() or el in main.iterancestors()


def _main_element(root):
    """The page's main element (<main>, role="main"), when it has one that holds text."""
    found = root.xpath("//main | //*[translate(@role, 'MAIN', 'main') = 'main']")
    found = [el for el in found if not any(f in el.iterancestors() for f in found)]
    if len(found) == 1 and len(words(found[0].text_content())) >= 20:
        return found[0]
    return None


def _holding_blocks(root) -> set:
    """Inline elements that hold block elements (a link around a div): walked as containers."""
    out = set()
    seen = set()  # ancestors already climbed from another block
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK:
            for a in el.iterancestors():
                if a in seen:
                    break
                seen.add(a)
                if isinstance(a.tag, str) and a.tag.lower() not in _BLOCK:
                    out.add(a)
    return out


def _link_counts(root) -> dict:
    """Per element: letters and digits of its text, how many of them are in links, and its links
    (one pass over the page, children before their parent)."""
    counts: dict = {}
    for el in reversed(list(root.iter())):
        tag = _tag(el)
        if not tag or tag in _SKIP:
            continue
        chars = _alnum(el.text)
        link_chars = n_links = 0
        for child in el:
            c = counts.get(child)
            if c is not None:
                chars += c[0]
                link_chars += c[1]
                n_links += c[2]
            chars += _alnum(child.tail)
        if tag == "a" and el.get("href") is not None:
            link_chars, n_links = chars, n_links + 1
        counts[el] = (chars, link_chars, n_links)
    return counts


def _alnum(text: str | None) -> int:
    return len(_NOT_ALNUM.sub("", text)) if text else 0


def _split_names(text: str) -> list[str]:
    parts = re.split(r"\s*(?:,|;|&|\band\b|\bet\b|\bund\b|\by\b|\be\b)\s*", text)
    return [p.strip() for p in parts if p.strip() and len(p.split()) <= 5]


# --------------------------------------------------------------------------- the page


def parse_html(html) -> Parsed:
    """Read an HTML page (its text or its lxml tree) by its block structure (see the module docstring);
    ValueError when it cannot be parsed."""
    root = parse_page(html) if isinstance(html, str) else html
    declared = _declared_meta(root)
    notes = _find_notes(root)
    body = root.find(".//body")
    reader = _Reader(root, notes)
    reader.walk(body if body is not None else root, _Ctx())
    if not any(p.kind != "heading" for p in reader.parts) and any(d.reason == _HIDDEN for d in reader.dropped):
        reader = _Reader(root, notes, show_hidden=True)  # a page that shows its text only through its script
        reader.walk(body if body is not None else root, _Ctx())
    meta = _meta(root, declared, reader)
    parts = reader.parts
    if reader.main is None:  # nothing in the page's structure says where its text is: the extractor's guess helps
        parts = _trim_edges(parts, root, reader)
    return Parsed(
        format="html",
        parts=tuple(parts),
        notes=tuple(sorted(notes.notes.values(), key=lambda f: f.number)),
        meta=meta,
        dropped=tuple(reader.dropped),
    )


def _trim_edges(parts: list[Part], root, reader: _Reader) -> list[Part]:
    """Labels and link lines before the page's first heading and the first block that trafilatura finds
    to be its main content, and that it leaves out: furniture that no markup names (a site's name and
    tagline). (Trafilatura also leaves out figure captions and opening paragraphs of documentation
    pages: it decides nothing else.)"""
    first_heading = next((k for k, p in enumerate(parts) if p.kind == "heading"), len(parts))
    # a label or a line of links, not a sentence of text
    labels = [k for k, p in enumerate(parts[:first_heading]) if p.kind in ("paragraph", "item", "row")
              and len(words(p.text)) <= 12 and not ends_sentence(p.text)]  # fmt: skip
    if not labels:
        return parts
    import copy

    import trafilatura  # local: only HTML input needs it

    try:
        extracted = trafilatura.bare_extraction(copy.deepcopy(root), include_comments=False, include_tables=True,
                                                include_formatting=False, include_images=False, with_metadata=False,
                                                deduplicate=False)  # fmt: skip
    except Exception:  # trafilatura fails in its own ways on odd pages: the structure alone decides
        return parts
    if extracted is None or extracted.body is None:
        return parts
    kept = _squashed(" ".join(extracted.body.itertext()))
    inside = next((k for k, p in enumerate(parts) if p.kind != "heading" and _squashed(p.text) in kept), None)
    if not kept or inside is None:
        return parts
    gone = {k for k in labels if k < inside and _squashed(parts[k].text) not in kept}
    for k in sorted(gone):
        reader.dropped.append(Dropped(parts[k].text, "outside the main content (HTML extractor)"))
    return [p for k, p in enumerate(parts) if k not in gone]


def _squashed(text: str) -> str:
    return re.sub(r"[\W_]+", "", fold(text))


def _names_title(heading: str, title: str) -> bool:
    """Whether the page's title (often "Heading | Site") names its first heading."""
    h, t = _squash(heading), _squash(title)
    if h and h in t:
        return True
    hw, tw = set(h.split()), set(t.split())
    return len(hw) >= 2 and len(hw & tw) >= 0.6 * len(hw)


def _meta(root, declared: PageMeta, reader: _Reader) -> Meta:
    """The page's metadata; its title is its first heading when the page's own title names it."""
    title = declared.title
    headings = [p for k, p in enumerate(reader.parts) if p.kind == "heading" and k not in reader.pseudo]
    first = headings[0] if headings else None
    top = min((p.level for p in headings), default=0)
    only_h1 = first is not None and first.level == 1 and sum(
        1 for k, p in enumerate(reader.parts) if p.kind == "heading" and p.level == 1 and k not in reader.pseudo) == 1
    if first is not None and first.level == top and (title is None or only_h1 or _names_title(first.text, title)):
        title = first.text
    elif title and declared.site:
        title = re.sub(rf"\s*[|–—:-]\s*{re.escape(declared.site)}\s*$", "", title) or title
    url = None
    for m in root.iter("meta"):
        if (m.get("property") or "").lower() == "og:url" and (m.get("content") or "").startswith(_WEB):
            url = m.get("content")
            break
    if url is None:
        for link in root.iter("link"):
            if (link.get("rel") or "").lower() == "canonical" and (link.get("href") or "").startswith(_WEB):
                url = link.get("href")
                break
    authors = tuple(dict.fromkeys([*declared.authors, *reader.authors]))
    return Meta(title=title, authors=authors, date=declared.date, site=declared.site, language=declared.language,
                url=url)  # fmt: skip
