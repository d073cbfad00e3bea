"""The chat page: a Gradio app over a loaded `Renvoi` pipeline.

`build_app` lays out the page (chat, source panel, examples, settings) and
wires its events; `launch` serves it on loopback by default, with the share
link, analytics and file serving outside the page's own assets all off.
The conversation of each browser session lives in a `gr.State` (`Session`);
follow-ups are passed to the pipeline as `Turn`s.

Opening a source: a marker `[n]` or a source entry under an answer is a link
to `#rv-<turn>-<ref>`; the page script (`PAGE_JS`) catches the click, writes
the key into a hidden textbox, and its change event renders the panel. The
chooser above the panel lists the same sources for keyboard and API users.

"Cite" beside a source is a link to `#rv-cite-<turn>-<ref>`, caught the same
way: the reference (`rag.render.cite`, in the style chosen beside the panel)
fills a box and is copied to the clipboard. The conversation downloads as
Markdown (`rag.render.markdown.conversation_markdown`). On a narrow screen the
side panel opens over the conversation ("Back" closes it).

Documents: served on loopback or behind a login, the page takes files and
folders (`Chat.add_files` → `Renvoi.add_files`: each read, reported as
`inspect` does, indexed incrementally) and removes documents; elsewhere
Gradio's upload endpoint refuses every file. Answers and index changes share
one queue, so a question never meets an index being swapped.

The event handlers (`Chat.ask`, `Chat.open_source`, `Chat.cite`,
`Chat.add_files`, `Chat.remove`) never raise: an empty, over-long or failing
question becomes a readable message, in the conversation's language. This
module does not rank or compose; its HTML comes from `rag.render.html`, for
quoted and generated answers alike, and for the drafts a language model writes
(the "generative" answer mode, offered when the pipeline has a language model,
streams its text into the chat message).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections import Counter
from pathlib import Path
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag.hosts import is_loopback_host  # noqa: F401 (the chat command imports it from here)
from rag.messages import SPOKEN, say
from rag.records import Answer, Turn
from rag.render.cite import STYLES, check_style, cite, passage_citation
from rag.render.html import (
    SourceRef,
    parse_source_key,
    render_answer,
    render_draft,
    render_notice,
    render_panel,
    render_panel_placeholder,
    render_question,
    render_received,
    source_refs,
)
from rag.render.json import answer_json as to_json
from rag.render.markdown import conversation_markdown

if TYPE_CHECKING:
    import gradio as gr

    from rag.pipeline import Renvoi

log = logging.getLogger("renvoi.ui")

ANSWER_MODES = ("extractive",)
# Joins the modes when a language model is configured (`renvoi chat --llm …`).
GENERATIVE = "generative"
MAX_K = 20
# Answers run in parallel over the one shared pipeline (`Renvoi.share`): while one
# question is in the embedding model (which releases the GIL) another is ranked or
# composed. A few per core keep both cores busy without queueing inside the model.
ASK_CONCURRENCY = max(2, 2 * (os.cpu_count() or 1))
DEFAULT_CONCURRENCY = max(4, ASK_CONCURRENCY)
QUEUE_MAX_SIZE = 64
# Gradio's upload endpoint exists whether or not a page uses it: one byte closes it.
NO_UPLOAD_BYTES = 1
# What the page's file pickers offer (issue 12's formats; `rag.files` checks each file again).
UPLOAD_TYPES = [".html", ".htm", ".md", ".markdown", ".txt", ".pdf", ".docx"]

PAGE_CSS = """
.rv-answer { line-height: 1.5; }
.rv-lead { margin: 0 0 .3em 0; font-weight: 600; }
.rv-claims { margin: 0 0 .6em 0; padding-left: 1.2em; }
.rv-claims li { margin: .25em 0; }
.rv-who { font-style: italic; }
sup.rv-ref { font-size: .8em; }
a.rv-marker { font-weight: 700; text-decoration: none; color: #1d4ed8;
  padding: 0 .15em; border-radius: 3px; background: #dbeafe; }
a.rv-marker:hover, a.rv-open:hover { text-decoration: underline; }
.rv-sources, .rv-related { border-top: 1px solid #d4d4d8; margin-top: .5em; padding-top: .4em; font-size: .92em; }
.rv-sources-title, .rv-related-title { font-weight: 700; text-transform: uppercase; font-size: .8em;
  letter-spacing: .05em; color: #52525b; margin-bottom: .2em; }
.rv-related { background: #f4f4f5; border: 1px dashed #a1a1aa; border-radius: 6px; padding: .4em .7em; }
.rv-source-list, .rv-related-list { margin: 0; padding-left: 0; list-style: none; }
.rv-source, .rv-related-item { margin: .35em 0; }
a.rv-open { text-decoration: none; color: #1d4ed8; }
.rv-src-marker { font-weight: 700; }
.rv-src-title { font-weight: 600; }
.rv-src-byline, .rv-src-where { color: #52525b; }
.rv-src-quote { color: #3f3f46; margin: .1em 0 0 1.8em; font-style: italic; }
.rv-fns { margin: .15em 0 0 1.8em; padding: 0; list-style: none; font-size: .92em; }
.rv-fn-num { font-weight: 600; color: #52525b; }
.rv-fns a { overflow-wrap: anywhere; color: #1d4ed8; }
.rv-abstain { font-weight: 600; color: #92400e; background: #fef3c7; border-left: 4px solid #f59e0b;
  padding: .35em .6em; border-radius: 4px; margin-bottom: .4em; }
.rv-notice { padding: .35em .6em; border-radius: 4px; margin-bottom: .4em; }
.rv-notice.rv-error { background: #fee2e2; color: #991b1b; }
.rv-notice.rv-info { background: #e0f2fe; color: #075985; }
.rv-hits { margin-top: .5em; font-size: .85em; }
.rv-hits summary { cursor: pointer; color: #52525b; }
.rv-hits-table { width: 100%; table-layout: auto; font-size: .95em; }
.rv-hits-table td, .rv-hits-table th { padding: .15em .4em; vertical-align: top; text-align: left; }
.rv-hits-table .rv-num { white-space: nowrap; text-align: right; font-variant-numeric: tabular-nums; }
.rv-hits-table .rv-doc { min-width: 9em; }
.rv-hits-table .rv-where { min-width: 4em; }
.rv-hits-table td:last-child { min-width: 14em; }
.rv-panel { line-height: 1.55; }
.rv-panel-empty { color: #71717a; font-style: italic; }
.rv-panel-marker { font-weight: 700; color: #1d4ed8; }
.rv-panel-title { font-weight: 700; font-size: 1.1em; }
.rv-panel-byline, .rv-panel-section { color: #52525b; font-size: .92em; }
.rv-panel-head { border-bottom: 1px solid #d4d4d8; padding-bottom: .4em; margin-bottom: .6em; }
.rv-panel-status { font-weight: 600; color: #92400e; margin-bottom: .4em; }
.rv-context { opacity: .55; font-size: .92em; }
.rv-focus { border-left: 3px solid #1d4ed8; padding-left: .6em; }
.rv-pn { font-weight: 600; color: #71717a; font-size: .85em; margin-right: .3em; }
.rv-focus mark { background: #fde68a; color: inherit; padding: 0 .1em; }
.rv-focus mark.rv-mark-related { background: #e4e4e7; }
.rv-panel-notes { margin: -.4em 0 .9em .9em; }
#rv-side { position: sticky; top: .5rem; align-self: flex-start; }
.rv-gen-text { margin: 0 0 .5em 0; }
.rv-gen-label { font-size: .8em; color: #52525b; margin-bottom: .3em; }
.rv-writing { font-size: .85em; color: #075985; margin-bottom: .3em; }
.rv-dropped { margin-top: .4em; font-size: .85em; color: #52525b; }
.rv-dropped summary { cursor: pointer; }
.rv-draft span.rv-marker { font-weight: 700; color: #1d4ed8; }
a.rv-cite { font-size: .8em; margin-left: .4em; color: #52525b; border: 1px solid #d4d4d8; border-radius: 3px;
  padding: 0 .3em; text-decoration: none; }
a.rv-cite:hover { background: #f4f4f5; }
/* the conversation takes the window's height, less the question box and the header */
#rv-chat { height: calc(100vh - 240px) !important; min-height: 320px; }
#rv-close { display: none; }
.rv-received { font-size: .9em; }
.rv-report summary { cursor: pointer; }
.rv-rep-ok { color: #15803d; font-weight: 700; }
.rv-rep-name { font-weight: 600; }
.rv-rep-facts th { text-align: left; padding-right: .8em; color: #52525b; font-weight: 600; vertical-align: top; }
.rv-rep-dropped { font-size: .9em; color: #52525b; }
.rv-rep-failed { color: #991b1b; margin: .2em 0; }
@media (max-width: 900px) {
  #rv-chat { height: calc(100vh - 300px) !important; }
  /* the source opens over the conversation, and "Back" closes it */
  #rv-side { display: none !important; }
  #rv-side.rv-over { display: flex !important; position: fixed !important; top: 0; left: 0; right: 0; bottom: 0;
    width: 100vw; height: 100vh; max-height: 100vh; z-index: 1000; background: #fff; overflow-y: auto;
    padding: .8rem; margin: 0; box-sizing: border-box; }
  #rv-side.rv-over #rv-close { display: block; }
}
"""

# Clicks on markers and source entries (links to #rv-<turn>-<ref>) open the
# source in the panel; the timestamp makes a second click on the same source a change.
PAGE_JS = """
() => {
  document.addEventListener('click', (event) => {
    const a = event.target.closest('a[href^="#rv-"]');
    if (!a) return;
    event.preventDefault();
    const href = a.getAttribute('href').slice(1);
    const cite = href.startsWith('rv-cite-');
    const box = document.querySelector(cite ? '#rv-cite-key textarea, #rv-cite-key input'
                                            : '#rv-source-key textarea, #rv-source-key input');
    if (!box) return;
    box.value = href + '|' + Date.now();
    box.dispatchEvent(new Event('input', {bubbles: true}));
    // on a narrow screen the side panel opens over the conversation ("Back" closes it)
    document.getElementById('rv-side')?.classList.add('rv-over');
    const panel = document.getElementById(cite ? 'rv-cite' : 'rv-side');
    if (panel && window.innerWidth > 900) {
      const r = panel.getBoundingClientRect();
      if (r.top > window.innerHeight || r.bottom < 0) panel.scrollIntoView({behavior: 'smooth', block: 'start'});
    }
  });
  document.addEventListener('click', (event) => {
    if (event.target.closest('#rv-close')) document.getElementById('rv-side')?.classList.remove('rv-over');
  });
}
"""


# ---------------------------------------------------------------- session state


@dataclass(frozen=True)
class ChatTurn:
    """One answered question of a session, with what follow-ups and the panel need."""

    question: str
    answer: str
    resolved: str | None
    passage_ids: tuple[str, ...]
    sources: tuple[SourceRef, ...]


@dataclass(frozen=True)
class Session:
    """What one browser session holds: the chat messages and the answered turns."""

    messages: tuple[dict, ...] = ()
    turns: tuple[ChatTurn, ...] = ()
    shown: str | None = None  # key of the source in the panel
    answers: tuple[Answer, ...] = ()  # the answered turns' answers, for citing and the download
    notice: str | None = None  # a message for the reader that is not part of the conversation

    def language(self, default: str = "en") -> str:
        """The conversation's language: its last answer's, else `default`."""
        return self.answers[-1].language if self.answers else default

    def history(self) -> list[Turn]:
        return [Turn(t.question, t.answer, t.resolved, t.passage_ids) for t in self.turns]

    def source(self, key: str | None) -> SourceRef | None:
        return next((s for t in self.turns for s in t.sources if s.key == key), None)

    def choices(self) -> list[tuple[str, str]]:
        return [(s.label, s.key) for t in self.turns for s in t.sources]


def answer_modes(config) -> tuple[str, ...]:
    """The answer modes the page offers: generative only when a language model is configured."""
    return (*ANSWER_MODES, GENERATIVE) if getattr(config, "generative", False) else ANSWER_MODES


def check_settings(k: object, mode: object, max_k: int = MAX_K,
                   modes: Sequence[str] = ANSWER_MODES) -> tuple[int, str]:
    """k as an int in 1..max_k and a known answer mode; ValueError naming the bad value otherwise."""
    bad = ValueError(f"number of passages must be a whole number from 1 to {max_k}, not {k!r}")
    if isinstance(k, bool) or not isinstance(k, int | float) or isinstance(k, float) and not k.is_integer():
        raise bad  # sliders send floats such as 5.0
    k_int = int(k)
    if not 1 <= k_int <= max_k:
        raise bad
    if mode not in modes:
        raise ValueError(f"unknown answer mode {mode!r}; allowed: {', '.join(modes)}")
    return k_int, str(mode)


# ---------------------------------------------------------------- handlers


class Chat:
    """The page's event handlers over one shared pipeline (state: the pipeline)."""

    def __init__(self, renvoi: "Renvoi"):
        self.renvoi = renvoi
        self.max_chars = renvoi.config.max_question_chars
        self.modes = answer_modes(renvoi.config)

    @property
    def corpus_language(self) -> str:
        """The language most of the corpus is written in, when renvoi speaks it; else English."""
        return corpus_language(self.renvoi.documents.values())

    def _lang(self, session: Session) -> str:
        return session.language(self.corpus_language)

    def _truncated(self, question: str, lang: str = "en") -> tuple[str, str | None]:
        """The question cut to the longest allowed, and the notice saying so (None if it fits)."""
        if len(question) <= self.max_chars:
            return question, None
        return question[: self.max_chars], say(lang, "page.truncated", n=len(question), max=self.max_chars)

    def _failed(self, e: Exception, lang: str) -> str:
        return say(lang, "page.failed", error=f"{type(e).__name__}: {e}")

    def ask(self, question: str | None, session: Session | None, k: object, mode: object,
            show_hits: bool) -> tuple[Session, str | None]:
        """The session with the question and its answer (or a readable notice) appended,
        and the key of the source to show in the panel (the answer's first, if any)."""
        session = replace(session or Session(), notice=None)
        question = (question or "").strip()
        lang = self._lang(session)
        if not question:  # said apart from the conversation (a bubble would join the last answer's)
            return replace(session, notice=say(lang, "page.empty")), session.shown
        question, notice = self._truncated(question, lang)
        user = {"role": "user", "content": render_question(question)}
        turn_no = len(session.turns) + 1
        try:
            k_int, mode = check_settings(k, mode, modes=self.modes)
            # with a language model configured, the pipeline's default is generative
            chosen = {"composer": mode} if GENERATIVE in self.modes else {}
            answer = self.renvoi.ask(question, history=session.history(), k=k_int, **chosen)
        except ValueError as e:  # bad settings or input caught at a boundary: say what was wrong
            bot = {"role": "assistant", "content": render_notice(str(e))}
            return replace(session, messages=(*session.messages, user, bot)), session.shown
        except Exception as e:  # the page must answer with a message, never a traceback
            log.exception("answering %r failed", question)
            bot = {"role": "assistant", "content": render_notice(self._failed(e, lang))}
            return replace(session, messages=(*session.messages, user, bot)), session.shown
        return self._answered(session, question, user, answer, turn_no, show_hits, notice)

    def _answered(self, session: Session, question: str, user: dict, answer: Answer, turn_no: int,
                  show_hits: object, notice: str | None) -> tuple[Session, str | None]:
        """The session with the question and its rendered answer appended as a new turn."""
        html = render_answer(answer, turn_no, self.renvoi.documents, show_hits=bool(show_hits), notice=notice)
        sources = tuple(source_refs(answer, turn_no, self.renvoi.documents))
        t = self.renvoi.turn(answer)
        turn = ChatTurn(question=question, answer=t.answer, resolved=t.resolved, passage_ids=t.passage_ids,
                        sources=sources)
        bot = {"role": "assistant", "content": html}
        shown = sources[0].key if sources and sources[0].cited else session.shown
        return Session(messages=(*session.messages, user, bot), turns=(*session.turns, turn), shown=shown,
                       answers=(*session.answers, answer)), shown

    def ask_stream(self, question: str | None, session: Session | None, k: object, mode: object,
                   show_hits: bool) -> Iterator[tuple[Session, str | None]]:
        """Like `ask`, but in generative mode the session is yielded as the answer is
        written (markers and their sources shown as they arrive), then once more with
        the checked answer in place of the draft. Other modes yield once."""
        from rag.pipeline import Draft

        session = replace(session or Session(), notice=None)
        question = (question or "").strip()
        lang = self._lang(session)
        if mode != GENERATIVE or GENERATIVE not in self.modes or not question:
            yield self.ask(question, session, k, mode, show_hits)
            return
        try:
            k_int, _ = check_settings(k, mode, modes=self.modes)
        except ValueError:
            yield self.ask(question, session, k, mode, show_hits)  # says what was wrong
            return
        question, notice = self._truncated(question, lang)
        user = {"role": "user", "content": render_question(question)}
        turn_no = len(session.turns) + 1
        answer = None
        try:
            for event in self.renvoi.ask_stream(question, history=session.history(), k=k_int):
                if isinstance(event, Draft):
                    bot = {"role": "assistant", "content": render_draft(event.answer, self.renvoi.documents, notice)}
                    yield replace(session, messages=(*session.messages, user, bot)), session.shown
                else:
                    answer = event
            if answer is None:
                raise RuntimeError("the answer stream ended without an answer")
        except ValueError as e:
            bot = {"role": "assistant", "content": render_notice(str(e))}
            yield replace(session, messages=(*session.messages, user, bot)), session.shown
            return
        except Exception as e:  # a model that fails mid-answer: a message, never a traceback
            log.exception("answering %r failed", question)
            bot = {"role": "assistant", "content": render_notice(self._failed(e, lang))}
            yield replace(session, messages=(*session.messages, user, bot)), session.shown
            return
        yield self._answered(session, question, user, answer, turn_no, show_hits, notice)

    def panel(self, session: Session | None, key: str | None) -> str:
        """The panel's HTML for the source `key` of the session (a placeholder if unknown)."""
        ref = (session or Session()).source(key)
        if ref is None:
            return render_panel_placeholder()
        passage = self.renvoi.index.passage(ref.passage_id)
        document = self.renvoi.documents.get(passage.doc_id) if passage is not None else None
        if document is None:
            return render_notice(say(ref.lang, "page.gone"))
        marker = f"[{key.split('-', 1)[1]}]" if ref.cited else ""
        return render_panel(passage, document, ref.highlight, cited=ref.cited, marker=marker, lang=ref.lang)

    def open_source(self, value: str | None, session: Session | None) -> tuple[Session, str]:
        """The session with `value` (a key as the page sends it) as the shown source, and the panel."""
        session = session or Session()
        key = parse_source_key(value or "")
        if key is None or session.source(key) is None:
            return session, self.panel(session, None)
        return replace(session, shown=key), self.panel(session, key)

    # ------------------------------------------------------------ citing and taking away

    def cite(self, value: str | None, session: Session | None, style: str) -> str:
        """The reference of the source `value` (a key as the page sends it) in `style`, in the
        conversation's language (`rag.render.cite`): the answer's own citation for a cited
        source, the best sentence of a related one. A readable line when it cannot be made."""
        session = session or Session()
        lang = self._lang(session)
        key = parse_source_key(value or "")
        ref = session.source(key) if key else None
        if ref is None:
            return ""
        try:
            check_style(style)
        except ValueError as e:
            return str(e)
        passage = self.renvoi.index.passage(ref.passage_id)
        document = self.renvoi.documents.get(passage.doc_id) if passage is not None else None
        if document is None:
            return say(lang, "page.gone")
        turn, marker = key.split("-", 1)
        citation = None
        if ref.cited and 0 < int(turn) <= len(session.answers):
            citation = next((c for c in session.answers[int(turn) - 1].citations if str(c.marker) == marker), None)
        if citation is None or citation.passage.id != passage.id:
            quote = " ".join(passage.text[a:b] for a, b in ref.highlight) or None
            citation = passage_citation(passage, document, quote)
        return cite(citation, style, lang if lang in SPOKEN else "en")

    def conversation_file(self, session: Session | None) -> str | None:
        """The conversation as a Markdown file (`conversation_markdown`): its path, None
        while nothing was answered."""
        session = session or Session()
        if not session.answers:
            return None
        text = conversation_markdown(session.answers, self.renvoi.documents, title="renvoi")
        folder = Path(tempfile.mkdtemp(prefix="renvoi-md-"))
        path = folder / "renvoi-conversation.md"
        path.write_text(text, encoding="utf-8")
        return str(path)

    # ------------------------------------------------------------ the documents

    def document_choices(self) -> list[tuple[str, str]]:
        """The indexed documents as the page's list shows them: "title (id)", by id."""
        return [(f"{d.title} ({d.id})", d.id) for d in self.renvoi.documents.values()]

    def add_files(self, paths: Sequence[str | Path] | None, on_progress=None) -> str:
        """Read, index and report the files given to the page (`Renvoi.add_files`): the parse
        report of each document, one line per file that failed. Never raises: a failed
        update is said in one line, and the index stays as it was."""
        paths = [Path(p) for p in paths or () if p]
        if not paths:
            return ""
        try:
            received, changes = self.renvoi.add_files(paths, on_progress=on_progress, notify=log.info)
        except Exception as e:  # the index and the uploads folder are as they were
            log.exception("adding %d files failed", len(paths))
            return render_notice(f"The files could not be indexed ({type(e).__name__}: {e}); "
                                 "the index is as it was.")
        ok = sum(1 for r in received if r.problem is None)
        summary = (f"{ok} of {len(received)} files indexed ({len(changes.added)} added, "
                   f"{len(changes.changed)} replaced); {len(self.renvoi.documents)} documents, "
                   f"{self.renvoi.index.manifest.n_passages} passages in the index.")
        return render_received(received, self.renvoi.documents, summary)

    def remove(self, doc_ids: Sequence[str] | None) -> str:
        """Take the chosen documents out of the index; what was done, in one line."""
        doc_ids = list(doc_ids or ())
        if not doc_ids:
            return render_notice("Choose the documents to remove first.", "info")
        try:
            changes = self.renvoi.remove_documents(doc_ids, notify=log.info)
        except ValueError as e:
            return render_notice(str(e))
        except Exception as e:
            log.exception("removing %s failed", doc_ids)
            return render_notice(f"The documents could not be removed ({type(e).__name__}: {e}); "
                                 "the index is as it was.")
        return render_notice(f"Removed {', '.join(changes.removed)}; {len(self.renvoi.documents)} documents, "
                             f"{self.renvoi.index.manifest.n_passages} passages in the index.", "info")


# ---------------------------------------------------------------- the page


_NUMBERING = re.compile(r"^\s*(?:[IVXLC]+|\d+)[.)]\s+")  # "II. " or "3) " before a section title


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def corpus_language(documents) -> str:
    """The language most documents are written in, when renvoi speaks it; else English."""
    counts = Counter(getattr(d, "language", "en") for d in documents)
    lang = counts.most_common(1)[0][0] if counts else "en"
    return lang if lang in SPOKEN else "en"


def example_questions(documents: Sequence, limit: int = 2) -> list[str]:
    """Questions that fit the loaded corpus, each in its document's language: about the
    document's author and date (answered from its metadata card) and about one of its
    sections (its title otherwise)."""
    out: list[str] = []
    for d in list(documents)[:limit]:
        lang = d.language if d.language in SPOKEN else "en"
        out.append(say(lang, "page.example.who", title=d.title))
        sections = [_NUMBERING.sub("", s.title) for s in getattr(d, "sections", ()) if s.title]
        out.append(say(lang, "page.example.about", topic=sections[len(sections) // 2] if sections else d.title))
    return out


def question_placeholder(documents: Sequence) -> str:
    """The question box's hint: a question about a section of the corpus, in its language."""
    docs = list(documents)
    lang = corpus_language(docs)
    for d in [d for d in docs if d.language == lang] + docs:
        sections = [_NUMBERING.sub("", s.title) for s in getattr(d, "sections", ()) if s.title]
        if sections:
            return say(lang, "page.ask", question=say(lang, "page.example.about", topic=sections[0]))
    title = docs[0].title if docs else "…"
    return say(lang, "page.ask", question=say(lang, "page.example.about", topic=title))


def build_app(renvoi: "Renvoi", *, examples: Sequence[str] | None = None, uploads: bool = False) -> "gr.Blocks":
    """The chat page over `renvoi` (not launched; see `launch`). With `uploads`, the page
    takes files and folders into the index and removes documents from it."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio as gr

    chat = Chat(renvoi)
    config = renvoi.config
    docs = list(renvoi.documents.values())
    if examples is None:
        examples = example_questions(docs)

    with gr.Blocks(title="renvoi — cited answers", analytics_enabled=False) as demo:
        session = gr.State(Session())
        def intro() -> str:
            m = renvoi.index.manifest  # read at each use: the page's documents change the index
            return ("## renvoi — answers quoted from your documents\n"
                    "Every claim is a verbatim quote with a marker **[n]**; click it to read the paragraph in "
                    "context, or **Cite** to copy its reference. "
                    + (f"In generative mode a language model ({renvoi.generator.name}) writes the answer instead, "
                       "and every sentence is checked against the passages it cites. "
                       if GENERATIVE in chat.modes else "")
                    + f"Index: {_count(m.n_documents, 'document')}, {_count(m.n_passages, 'passage')}.")

        header = gr.Markdown(intro())
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chatbot = gr.Chatbot(
                    show_label=False, elem_id="rv-chat", latex_delimiters=[],
                    sanitize_html=True, render_markdown=True, feedback_options=None,
                    buttons=[],  # no "share" to an outside site; a copy button would copy HTML
                    placeholder="Ask a question about the documents: the answer quotes them and cites each paragraph.",
                )
                with gr.Row():
                    question_box = gr.Textbox(
                        label="Question", placeholder=question_placeholder(docs),
                        scale=5, lines=1, max_lines=4, elem_id="rv-question", autofocus=True,
                        max_length=None, submit_btn=False,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="rv-send")
                    clear = gr.Button("New conversation", scale=1, min_width=80, elem_id="rv-clear")
                if examples:
                    gr.Examples(examples=[[q] for q in examples], inputs=[question_box], label="Examples")
                download = gr.DownloadButton("Download the conversation (Markdown)", value=None, size="sm",
                                             elem_id="rv-download", interactive=False)
                with gr.Accordion("Documents", open=uploads, elem_id="rv-documents"):
                    if uploads:
                        with gr.Row():
                            files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, elem_id="rv-files",
                                            label="Drop or pick files (HTML, Markdown, text, PDF, Word)", height=120)
                            folder = gr.File(file_count="directory", elem_id="rv-folder",
                                             label="…or a folder", height=120)
                    else:
                        folder = files = None
                    received = gr.HTML("", elem_id="rv-received")
                    doc_list = gr.CheckboxGroup(chat.document_choices(), label="Documents in the index",
                                                elem_id="rv-doc-list", interactive=uploads)
                    if uploads:
                        remove = gr.Button("Remove the chosen documents", size="sm", elem_id="rv-remove")
                with gr.Accordion("Settings", open=False, elem_id="rv-settings"):
                    k_slider = gr.Slider(1, MAX_K, value=config.retrieval.k, step=1, label="Passages retrieved (k)", elem_id="rv-k")
                    mode_info = "Extractive: verbatim quotes only."
                    if GENERATIVE in chat.modes:
                        mode_info += " Generative: written by a language model; every citation is checked."
                    mode_radio = gr.Radio(list(chat.modes), value=chat.modes[-1], label="Answer mode",
                                          info=mode_info, elem_id="rv-mode")
                    hits_box = gr.Checkbox(False, label="Show retrieved passages with their scores",
                                            elem_id="rv-show-hits")
            with gr.Column(scale=2, min_width=320, elem_id="rv-side"):
                gr.Button("← Back to the conversation", size="sm", elem_id="rv-close")
                gr.Markdown("### Source in context")
                chooser = gr.Dropdown(choices=[], value=None, label="Source", interactive=True,
                                      elem_id="rv-chooser", allow_custom_value=False)
                panel = gr.HTML(render_panel_placeholder(chat.corpus_language), label="Source in context",
                                show_label=False, elem_id="rv-panel")
                with gr.Group(elem_id="rv-cite"):
                    cite_style = gr.Dropdown(list(STYLES), value=STYLES[0], label="Citation style",
                                             elem_id="rv-cite-style", interactive=True)
                    cite_text = gr.Textbox("", label="Reference (copied when you click Cite)", lines=4, max_lines=14,
                                           interactive=False, buttons=["copy"], elem_id="rv-cite-text")
        source_key = gr.Textbox(visible="hidden", elem_id="rv-source-key")
        cite_key = gr.Textbox(visible="hidden", elem_id="rv-cite-key")

        def on_ask(question, s, k, mode, show_hits):
            # a generator: Gradio sends each yielded state, so generated text streams in
            for s2, shown in chat.ask_stream(question, s, k, mode, show_hits):
                if s2.notice:
                    gr.Warning(s2.notice)
                yield ("", list(s2.messages), s2, gr.update(choices=s2.choices(), value=shown),
                       chat.panel(s2, shown))

        def on_answered(s):
            # the download follows the conversation (a step of its own: /ask's outputs are a contract)
            path = chat.conversation_file(s)
            return gr.update(value=path, interactive=path is not None)

        ask_args = dict(
            fn=on_ask, inputs=[question_box, session, k_slider, mode_radio, hits_box],
            outputs=[question_box, chatbot, session, chooser, panel],
            concurrency_limit=ASK_CONCURRENCY, concurrency_id="answer",
        )
        for asked in (question_box.submit(**ask_args, api_name="ask"), send.click(**ask_args, api_visibility="private")):
            asked.then(on_answered, [session], [download], api_visibility="private", show_progress="hidden")

        def on_open(value, s):
            s2, html = chat.open_source(value, s)
            return s2, html, gr.update(value=s2.shown)

        source_key.change(on_open, [source_key, session], [session, panel, chooser], api_visibility="private",
                          show_progress="hidden")

        def on_choose(key, s):
            s2, html = chat.open_source(key, s)
            return s2, html

        chooser.input(on_choose, [chooser, session], [session, panel], api_visibility="private",
                      show_progress="hidden")

        # Cite: the reference of the clicked source, in the chosen style, then copied by the page
        cite_key.change(chat.cite, [cite_key, session, cite_style], [cite_text], api_visibility="private",
                        show_progress="hidden").then(
            None, [cite_text], None, js="(t) => { if (t && navigator.clipboard) navigator.clipboard.writeText(t)"
                                       ".catch(() => {}); }")
        cite_style.input(chat.cite, [cite_key, session, cite_style], [cite_text], api_visibility="private",
                         show_progress="hidden")

        def on_clear():
            return (Session(), [], gr.update(choices=[], value=None), render_panel_placeholder(chat.corpus_language),
                    "", gr.update(value=None, interactive=False), "")

        clear_outputs = [session, chatbot, chooser, panel, question_box, download, cite_text]
        clear.click(on_clear, None, clear_outputs, api_visibility="private")
        # the chat's own trash icon empties the view: forget the conversation with it
        chatbot.clear(on_clear, None, clear_outputs, api_visibility="private")

        if uploads:
            def on_files(paths, progress=gr.Progress()):
                progress(0, desc="Reading the files")

                def embedded(done: int, total: int) -> None:
                    progress((done, total), desc="Embedding passages", unit="passages")

                html = chat.add_files(paths or [], on_progress=embedded)
                return (html, gr.update(choices=chat.document_choices(), value=[]), None,
                        intro())

            for picker in (files, folder):
                # answers and index updates take turns: a question never meets a half-swapped index
                picker.upload(on_files, [picker], [received, doc_list, picker, header], api_visibility="private",
                              concurrency_limit=ASK_CONCURRENCY, concurrency_id="answer")

            def on_remove(ids):
                html = chat.remove(ids)
                return (html, gr.update(choices=chat.document_choices(), value=[]),
                        intro())

            remove.click(on_remove, [doc_list], [received, doc_list, header], api_visibility="private",
                         concurrency_limit=ASK_CONCURRENCY, concurrency_id="answer")

        def answer_json(question: str, k: int = config.retrieval.k) -> dict:
            """The answer to one question as JSON (the same fields as `renvoi ask --json`)."""
            text = (question or "").strip()
            if not text:
                return {"error": "the question is empty"}
            try:
                k_int, _ = check_settings(k, ANSWER_MODES[0])
            except ValueError as e:  # said to the caller, not logged as a server error
                return {"error": str(e)}
            return to_json(renvoi.ask(text[: chat.max_chars], k=k_int), renvoi.documents)

        gr.api(answer_json, api_name="answer", concurrency_limit=ASK_CONCURRENCY, concurrency_id="answer")
        # a page opened later shows the documents as they are now
        demo.load(lambda: (intro(), gr.update(choices=chat.document_choices(), value=[])), None, [header, doc_list],
                  api_visibility="private", show_progress="hidden")
        demo.load(None, None, None, js=PAGE_JS)
    demo.queue(default_concurrency_limit=DEFAULT_CONCURRENCY, max_size=QUEUE_MAX_SIZE)
    return demo


def uploads_allowed(host: str, auth: tuple[str, str] | None) -> bool:
    """Whether the page may take files: served on loopback only, or behind a login (issue 21)."""
    return is_loopback_host(host) or auth is not None


def launch(renvoi: "Renvoi", host: str = "127.0.0.1", port: int = 7860, *, block: bool = True,
           quiet: bool = True, examples: Sequence[str] | None = None,
           auth: tuple[str, str] | None = None) -> "gr.Blocks":
    """Serve the chat page on host:port, behind a login when `auth` is given; return the
    running app (after it stops, if `block`). The page takes files (up to the per-file
    limit of `config.ingest`) only when it is served on loopback or behind a login;
    otherwise Gradio's upload endpoint refuses any (it would store files from anyone)."""
    if not 0 < port < 65536:
        raise ValueError(f"port must be between 1 and 65535, not {port}")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio as gr

    uploads = uploads_allowed(host, auth)
    demo = build_app(renvoi.share(), examples=examples, uploads=uploads)  # several answers at once: see ASK_CONCURRENCY
    max_bytes = renvoi.config.ingest.max_file_bytes if uploads else NO_UPLOAD_BYTES
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])  # system fonts: no font CDN
    demo.launch(
        server_name=host, server_port=port, share=False, prevent_thread_lock=True, quiet=quiet,
        show_error=False, ssr_mode=False, mcp_server=False, enable_monitoring=False, inbrowser=False,
        footer_links=["api"], theme=theme, css=PAGE_CSS, auth=auth, max_file_size=max_bytes,
    )
    if block:
        try:
            demo.block_thread()
        finally:
            demo.close()
    return demo
