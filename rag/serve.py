"""The HTTP API (`renvoi serve`): the pipeline behind FastAPI, OpenAPI docs at /docs.

Endpoints, under /v1: `POST ask` (what `renvoi ask --json` prints), `GET search`
(what `search --json` prints), `GET passages/{id}` (a passage in its context),
`GET documents`, `POST chat/completions` (OpenAI-compatible, streamed or not: the
message keeps its markers `[n]`, and the answer's citations come beside it, on the
last chunk when streamed), `GET models` (for OpenAI clients) and `GET health`.
Answers come from the same `Renvoi` as the command line and the chat page, in the
same JSON (`rag.render.json`).

`create_app` makes the app over a `Service`, which opens the pipeline (loads the
index, or builds it when there is none) in a background thread as the app starts:
the server listens at once and every endpoint but health answers 503 until the
pipeline is ready. Questions are answered in a pool of threads, one per core, over
the one shared pipeline (`Renvoi.share`). An API key, when set, is required on
every /v1 endpoint but health (`Authorization: Bearer KEY` or `X-API-Key: KEY`).
Errors are JSON `{"error": "..."}` with their status code (400 bad input, 401
missing or wrong key, 404 unknown passage or route, 413 question or body too long, 503 not ready,
502 language model failed, 500 anything else, logged in one line, never a traceback
to the client). `run` serves the app with uvicorn on a socket it binds itself.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi import Query as QueryParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .compose.llm import GenerationError
from .config import Config
from .render.json import answer_json, document_json, hits_json, passage_json
from .retrieve import MODES, check_mode

if TYPE_CHECKING:
    from .pipeline import Renvoi

log = logging.getLogger("renvoi.serve")

MAX_K = 50  # passages a request may ask for
MAX_BODY_BYTES = 1_000_000  # a question, its history and the messages of a chat fit well within
MODEL_NAME = "renvoi"  # what /v1/models lists and chat completions answer as


class ApiError(Exception):
    """An error the client is told about: its status code and one line."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text or type(e).__name__


# ---------------------------------------------------------------- the service


class Service:
    """The pipeline the API answers from, once open, and the threads that answer (state)."""

    def __init__(self, open_pipeline: Callable[[], "Renvoi"], *, workers: int | None = None,
                 on_failure: Callable[[str], None] | None = None):
        self._open_pipeline = open_pipeline
        self._renvoi: Renvoi | None = None
        self.status = "building"  # then "ready", or "failed" with `problem`
        self.problem: str | None = None
        self.on_failure = on_failure
        self.workers = workers or os.cpu_count() or 1
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="renvoi-answer")
        self._started = False

    def start(self) -> None:
        """Open the pipeline in a background thread (once)."""
        if not self._started:
            self._started = True
            threading.Thread(target=self._open, name="renvoi-open", daemon=True).start()

    def _open(self) -> None:
        try:
            renvoi = self._open_pipeline().share()
        except BaseException as e:  # said by /v1/health and every endpoint, logged once
            self.problem = _one_line(e)
            self.status = "failed"
            log.error("cannot open the index: %s", self.problem)
            if self.on_failure is not None:
                self.on_failure(self.problem)
            return
        self._renvoi = renvoi
        self.status = "ready"
        log.info("ready: %d documents, %d passages", len(renvoi.documents), len(renvoi.passages))

    @property
    def renvoi(self) -> "Renvoi":
        """The open pipeline; ApiError 503 while it is being opened or when it could not be."""
        if self._renvoi is not None:
            return self._renvoi
        if self.status == "failed":
            raise ApiError(503, f"the index could not be opened: {self.problem}")
        raise ApiError(503, "the index is being built or loaded; try again in a moment", {"Retry-After": "5"})

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)` in the answering pool; the pipeline's errors become ApiErrors."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))
        except ApiError:
            raise
        except ValueError as e:  # bad input caught at a boundary of the pipeline
            raise ApiError(400, _one_line(e)) from e
        except GenerationError as e:  # the language model is missing or its server failed
            log.error("language model: %s", _one_line(e))
            raise ApiError(502, _one_line(e)) from e

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self._renvoi is not None:
            self._renvoi.close()


# ---------------------------------------------------------------- request and response bodies


class HistoryTurn(BaseModel):
    """An earlier exchange of the conversation, for follow-up questions."""

    model_config = ConfigDict(extra="forbid")
    question: str
    answer: str = ""
    resolved: str | None = Field(None, description="The question as it was resolved (the `resolved_question` "
                                 "of its answer); resolved again from the turns before it when absent.")
    passage_ids: list[str] = Field(default_factory=list, description="The passages its answer cited.")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(..., description="The question, in any language.", examples=["Quels pays ont rejoint l'OTAN en 1999 ?"])
    history: list[HistoryTurn] = Field(default_factory=list, description="Earlier turns, oldest first.")
    k: int | None = Field(None, ge=1, le=MAX_K, description="Passages retrieved (default: the configured k).")


class Footnote(BaseModel):
    number: int
    text: str
    url: str | None = None


class Span(BaseModel):
    passage_id: str
    start: int
    end: int
    text: str


class Citation(BaseModel):
    """What a marker [n] of the answer points to (the fields of `ask --json`)."""

    marker: int
    passage_id: str
    doc_id: str
    title: str
    authors: list[str]
    date: str | None
    section: str | None
    paragraph: int | None
    quote: str
    text: str
    footnotes: list[Footnote]
    spans: list[Span]


class SearchHit(BaseModel):
    """A retrieved passage with its scores (the fields of `search --json`)."""

    rank: int
    passage_id: str
    doc_id: str
    paragraph: int | None
    section: str | None
    text: str
    best_sentence: str
    score: float
    dense_score: float
    bm25_score: float
    rerank_score: float | None = None  # with a reranker (`--reranker`), its score


class AnsweredHit(SearchHit):
    cited: bool


class Claim(BaseModel):
    text: str
    markers: list[int]
    quoted: bool
    support: str
    attribution: dict | None
    spans: list[Span]


class AskResponse(BaseModel):
    """The cited answer: the object `renvoi ask --json` prints."""

    question: str
    answer: str = Field(..., description="The answer as a reader sees it, with its markers [n].")
    status: str = Field(..., description="answered, abstained or small_talk")
    language: str
    abstained: bool
    claims: list[Claim]
    citations: list[Citation]
    passages: list[AnsweredHit]
    timings_ms: dict[str, float]
    composer: str
    dropped: list[str]
    resolved_question: str | None


class Place(BaseModel):
    passage_id: str
    kind: str
    section: str | None
    paragraph: int | None
    page: int | None
    speaker: str | None
    text: str


class PassageInContext(Place):
    """A passage with its document, the notes it calls and the body paragraphs around it."""

    doc_id: str
    title: str
    authors: list[str]
    date: str | None
    site: str | None
    url: str | None
    language: str
    footnotes: list[Footnote]
    before: Place | None
    after: Place | None


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    authors: list[str]
    date: str | None
    site: str | None
    url: str | None
    language: str
    format: str
    sections: list[str]
    n_paragraphs: int
    n_passages: int
    n_footnotes: int


class Health(BaseModel):
    status: str = Field(..., description="ready, building, or failed")
    error: str | None = None
    documents: int | None = None
    passages: int | None = None
    model: str | None = None
    backend: str | None = None


class ErrorBody(BaseModel):
    error: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """An OpenAI chat-completions request: the last user message is the question, the
    earlier user and assistant messages the conversation; sampling settings are
    accepted and ignored (answers are quoted, or written by the configured model)."""

    model_config = ConfigDict(extra="allow")
    model: str = MODEL_NAME
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = False
    k: int | None = Field(None, ge=1, le=MAX_K, description="renvoi's own: passages retrieved.")


class ChatMessageOut(BaseModel):
    role: str
    content: str


class ChatChoice(BaseModel):
    index: int
    message: ChatMessageOut
    finish_reason: str


class ChatCompletion(BaseModel):
    """An OpenAI chat completion with the answer's citations beside its choices."""

    id: str
    object: str
    created: int
    model: str
    choices: list[ChatChoice]
    citations: list[Citation]


_ERRORS = {code: {"model": ErrorBody, "description": text} for code, text in (
    (400, "bad input: empty question, k out of range, unknown mode"),
    (401, "an API key is required, or the one given is not valid"),
    (413, "the question or the request is too long"),
    (503, "the index is being built, or could not be opened"),
)}


# ---------------------------------------------------------------- helpers


def check_question(text: str | None, config: Config) -> str:
    """The question stripped; ApiError 400 when empty, 413 when over `config.max_question_chars`."""
    text = (text or "").strip()
    if not text:
        raise ApiError(400, "the question is empty")
    if len(text) > config.max_question_chars:
        raise ApiError(413, f"the question has {len(text)} characters; at most {config.max_question_chars} "
                            "are accepted")
    return text


def _message_text(message: ChatMessage) -> str:
    """The text of a message: a string, or the text parts of a list of parts."""
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if p.get("type") == "text")


def chat_exchanges(messages: list[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    """The question (the last message, the user's) and the earlier (question, answer) pairs;
    system, developer and tool messages are left out. ApiError 400 when the last message
    is not the user's."""
    if messages[-1].role != "user":
        raise ApiError(400, f"the last message must be the user's question, not a {messages[-1].role!r} message")
    pairs: list[tuple[str, str]] = []
    for m in messages[:-1]:
        if m.role == "user":
            pairs.append((_message_text(m), ""))
        elif m.role == "assistant" and pairs and not pairs[-1][1]:
            pairs[-1] = (pairs[-1][0], _message_text(m))
    return _message_text(messages[-1]), [(q, a) for q, a in pairs if q.strip()]


def _turns(history: list[HistoryTurn], renvoi: "Renvoi") -> list:
    from .records import Turn

    resolved = renvoi.history([(t.question, t.answer) for t in history])
    return [Turn(t.question, t.answer, t.resolved or r.resolved, tuple(t.passage_ids))
            for t, r in zip(history, resolved)]


def _sse(data: dict | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


def stream_chunks(completion_id: str, created: int, model: str, content: str, citations: list[dict]) -> Iterator[str]:
    """The answer as OpenAI chat-completion chunks (server-sent events): the role, the
    text line by line (their concatenation is the whole message), then a last chunk
    with the finish reason and the citations, then [DONE]."""
    base = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
    yield _sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                     "finish_reason": None}]})
    for piece in content.splitlines(keepends=True):
        yield _sse({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
    yield _sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "citations": citations})
    yield _sse("[DONE]")


# ---------------------------------------------------------------- the app


def create_app(service: Service, *, api_key: str | None = None) -> FastAPI:
    """The API over `service` (opened when the app starts, closed when it stops);
    every /v1 endpoint but health requires `api_key` when one is given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.start()
        try:
            yield
        finally:
            service.close()

    app = FastAPI(
        title="renvoi", version="1",
        description="Answers quoted from your documents, every claim cited to its paragraph and footnotes.",
        lifespan=lifespan,
    )

    @app.exception_handler(ApiError)
    async def api_error(request: Request, e: ApiError) -> JSONResponse:
        return JSONResponse({"error": e.message}, status_code=e.status, headers=e.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _validation_message(e)}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        message = {404: "no such endpoint", 405: "method not allowed here"}.get(e.status_code, str(e.detail))
        return JSONResponse({"error": message}, status_code=e.status_code, headers=getattr(e, "headers", None))

    @app.middleware("http")
    async def guard(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return JSONResponse({"error": f"the request body is over {MAX_BODY_BYTES} bytes"}, status_code=413)
        try:
            return await call_next(request)
        except Exception as e:  # the client gets one line; the log gets one line
            log.error("%s %s failed: %s: %s", request.method, request.url.path, type(e).__name__, _one_line(e))
            return JSONResponse({"error": f"the server failed to answer ({type(e).__name__}); see its log"},
                                status_code=500)

    def check_key(request: Request) -> None:
        if api_key is None:
            return
        given = request.headers.get("x-api-key")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if given is None and scheme.lower() == "bearer":
            given = token.strip()
        if not given:
            raise ApiError(401, "an API key is required: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
                           {"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(given.encode(), api_key.encode()):
            raise ApiError(401, "the API key is not valid", {"WWW-Authenticate": "Bearer"})

    keyed = [Depends(check_key)]

    @app.get("/v1/health", response_model=Health, responses={503: {"model": Health}}, tags=["service"])
    async def health() -> JSONResponse:
        """ready (200), or building or failed (503, with the reason)."""
        if service.status != "ready":
            error = service.problem if service.status == "failed" else "the index is being built or loaded"
            return JSONResponse({"status": service.status, "error": error}, status_code=503)
        r = service.renvoi
        m = r.index.manifest
        return JSONResponse({"status": "ready", "documents": m.n_documents, "passages": m.n_passages,
                             "model": m.model_id, "backend": m.embedded_by})

    @app.post("/v1/ask", dependencies=keyed, response_model=AskResponse, responses=_ERRORS, tags=["answers"])
    async def ask(body: AskRequest) -> JSONResponse:
        """The cited answer to a question: the object `renvoi ask --json` prints."""
        r = service.renvoi
        question = check_question(body.question, r.config)

        def answer() -> dict:
            return answer_json(r.ask(question, history=_turns(body.history, r), k=body.k), r.documents)

        return JSONResponse(await service.run(answer))

    @app.get("/v1/search", dependencies=keyed, response_model=list[SearchHit], responses=_ERRORS, tags=["answers"])
    async def search(q: str = QueryParam(..., description="The question."),
                     k: int = QueryParam(5, ge=1, le=MAX_K, description="Passages returned."),
                     mode: str = QueryParam("hybrid", description=f"One of {', '.join(MODES)}.")) -> JSONResponse:
        """Ranked passages with dense, BM25 and fused scores: what `renvoi search --json` prints."""
        r = service.renvoi
        question = check_question(q, r.config)
        try:
            check_mode(mode)
        except ValueError as e:
            raise ApiError(400, str(e)) from e
        return JSONResponse(await service.run(lambda: hits_json(r.search(question, k=k, mode=mode))))

    @app.get("/v1/passages/{passage_id:path}", dependencies=keyed, response_model=PassageInContext,
             responses={**_ERRORS, 404: {"model": ErrorBody, "description": "no such passage"}}, tags=["corpus"])
    async def passage(passage_id: str = PathParam(..., description="A passage id, as citations give it "
                                                  "(it may contain ':' and '/').")) -> JSONResponse:
        """A passage in its context: its document, section, paragraph and page, its text, the
        body paragraphs before and after it, and the notes it calls."""
        r = service.renvoi
        p = r.index.passage(passage_id)
        document = r.documents.get(p.doc_id) if p is not None else None
        if p is None or document is None:
            raise ApiError(404, f"no passage {passage_id!r} in the index")
        return JSONResponse(passage_json(p, document))

    @app.get("/v1/documents", dependencies=keyed, response_model=list[DocumentSummary], responses=_ERRORS,
             tags=["corpus"])
    async def documents() -> JSONResponse:
        """The documents of the index, without their text."""
        r = service.renvoi

        def listing() -> list[dict]:  # in the pool: a large corpus must not hold up the other requests
            counts: dict[str, int] = {}
            for p in r.passages:
                counts[p.doc_id] = counts.get(p.doc_id, 0) + 1
            return [document_json(d, counts.get(d.id, 0)) for d in r.documents.values()]

        return JSONResponse(await service.run(listing))

    @app.get("/v1/models", dependencies=keyed, tags=["openai"])
    async def models() -> JSONResponse:
        """The one model this server answers as (for OpenAI clients that list models)."""
        return JSONResponse({"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "created": 0,
                                                         "owned_by": "renvoi"}]})

    @app.post("/v1/chat/completions", dependencies=keyed, response_model=ChatCompletion, responses=_ERRORS,
              tags=["openai"])
    async def chat_completions(body: ChatRequest):
        """OpenAI-compatible chat completion. The message content is the answer with its
        markers [n]; `citations` (the fields of `ask --json`'s) is beside `choices`, and on
        the last chunk when `stream` is true. A generated answer is streamed once checked."""
        r = service.renvoi
        text, exchanges = chat_exchanges(body.messages)
        question = check_question(text, r.config)

        def answer() -> dict:
            return answer_json(r.ask(question, history=r.history(exchanges), k=body.k), r.documents)

        data = await service.run(answer)
        completion_id, created, model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), body.model or MODEL_NAME
        if body.stream:
            return StreamingResponse(stream_chunks(completion_id, created, model, data["answer"], data["citations"]),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        return JSONResponse({
            "id": completion_id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": data["answer"]},
                         "finish_reason": "stop"}],
            "citations": data["citations"],
        })

    return app


def _validation_message(e: RequestValidationError) -> str:
    """One line naming the first bad field of a request and what was wrong with it."""
    errors = e.errors()
    if not errors:
        return "the request is not valid"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    where = ".".join(str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path"))
    message = first.get("msg", "is not valid")
    if first.get("type") == "missing":
        return f"{where or 'the request body'} is required"
    return f"{where}: {message}" if where else message


# ---------------------------------------------------------------- serving


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (OSError when the port is taken or the address unknown)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def run(open_pipeline: Callable[[], "Renvoi"], sock: socket.socket, *, api_key: str | None = None,
        workers: int | None = None) -> str | None:
    """Serve the API on `sock` until Ctrl-C (or until the pipeline cannot be opened: its
    reason is returned, None otherwise)."""
    import uvicorn

    failure: list[str] = []
    server: uvicorn.Server | None = None

    def failed(problem: str) -> None:
        failure.append(problem)
        if server is not None:
            server.should_exit = True

    service = Service(open_pipeline, workers=workers, on_failure=failed)
    app = create_app(service, api_key=api_key)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                           timeout_graceful_shutdown=5))
    server.run(sockets=[sock])
    return failure[0] if failure else None
