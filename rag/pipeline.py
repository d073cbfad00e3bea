"""The pipeline, the only orchestrator: question → Query → hits → Evidence → Answer.

`Renvoi` holds the state a running command, chat page or API needs (the
loaded index, the embedding model, and the reranker, the claim verifier and
the language model when they are configured) and runs the stages in order: the
query stage (`rag.query`) reads the question and the conversation, the
pipeline embeds it, retrieval (`rag.retrieve`) ranks passages (reordered by the
reranker, `rag.rerank`) and gathers their evidence, and a composer
(`rag.compose`) writes the answer, a generated one checked by
`rag.compose.verify` with the verifier's judgements (`rag.compose.nli`); when a
generated answer keeps no valid citation, the pipeline falls back to the
extractive composer. The command line, the chat page, the HTTP API and the
evaluation all go through it, so they give the same answer to the same
question. It loads each model once, when it is first needed. It neither
parses files, ranks passages nor writes prose.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .config import BACKENDS, Config
from .files import SourceFile
from .index import Changes, Index, as_recorded, open_index, recorded_settings, update_index, upload_target, uploads_folder
from .query import resolve_followup, small_talk, understand
from .records import Answer, Document, Hit, Paragraph, Query, Received, Turn
from .storage import swapped
from .retrieve import Retriever

COMPOSERS = ("extractive", "generative")


def _stderr(message: str) -> None:
    print(f"renvoi: {message}", file=sys.stderr)


def ingest_for_index(paths: Sequence[Path], config: Config, notify: Callable[[str], None] = _stderr
                     ) -> tuple[list[Document], list[Paragraph]]:
    """Documents and citable passages of `paths`; file problems are reported, not fatal."""
    from .ingest import citable_passages, ingest_paths

    corpus = ingest_paths(list(paths), follow_links=config.ingest.follow_links,
                          max_bytes=config.ingest.max_file_bytes)
    for issue in corpus.issues:
        notify(f"{issue.path}: {issue.message}")
    if not corpus.documents:
        raise ValueError(f"no document could be read from {', '.join(map(str, paths))}")
    passages = [p for d in corpus.documents for p in citable_passages(d)]
    return list(corpus.documents), passages


def read_for_index(files: Sequence[SourceFile], notify: Callable[[str], None] = _stderr
                   ) -> tuple[list[Document], list[Paragraph]]:
    """Documents and citable passages of files already found; a file that cannot be
    read is reported and left out (none may be left)."""
    from .ingest import citable_passages, ingest_files

    corpus = ingest_files(list(files))
    for issue in corpus.issues:
        notify(f"{issue.path}: {issue.message}")
    return list(corpus.documents), [p for d in corpus.documents for p in citable_passages(d)]


@dataclass(frozen=True)
class Draft:
    """A generated answer as written so far, not yet checked (streaming)."""

    answer: Answer


class Renvoi:
    """A loaded index with its models: understand, search, ask.

    One instance may answer from several threads at once (the HTTP API, the chat
    page): the models it loads lazily are created once, under a lock, and the
    stages keep no state of their own between questions."""

    def __init__(self, config: Config, index: Index, embedder=None):
        # the index is searched as it was built: its analyzer cuts the questions too
        self.config = config.with_(analyzer=as_recorded(config, index.manifest.settings).analyzer)
        self.index = index
        self._embedder = embedder
        self._retriever: Retriever | None = None
        self._generator = None  # the language model, loaded on first generative answer
        self._loading = threading.RLock()  # reentrant: the retriever is made with the embedder
        self.opened = Changes(unchanged=tuple(index.documents))  # what opening the index did to it
        self._reranker = None  # loaded on first search, when configured
        self._verifier = None  # loaded on first generated answer, when configured

    @classmethod
    def open(
        cls,
        config: Config,
        paths: Sequence[Path] | None = None,
        *,
        progress: bool = True,
        notify: Callable[[str], None] = _stderr,
        force: bool = False,
    ) -> "Renvoi":
        """Load the index for `paths` (None: the sources of the existing index, else seeds/),
        building it first when it is missing, stale or damaged."""
        holder: dict = {}

        def factory():
            # A query command that rebuilds keeps the backend the index was made with.
            kept = recorded_settings(config.index_dir) if paths is None else {}
            backend = kept.get("backend") if kept.get("backend") in BACKENDS else config.index.backend
            holder["embedder"] = _load_embedder(config.with_(backend=backend))
            return holder["embedder"]

        index, changes = update_index(
            paths, config, factory, lambda files: read_for_index(files, notify),
            progress=progress, notify=notify, force=force,
        )
        opened = cls(config, index, holder.get("embedder"))
        opened.opened = changes
        return opened

    # -------------------------------------------------------- state

    @property
    def embedder(self):
        if self._embedder is None:
            with self._loading:
                if self._embedder is None:
                    self._embedder = self._question_embedder()
        return self._embedder

    def _question_embedder(self, onnx_threads: int | None = None, check: bool = True):
        """The embedder of the index's model on the index's backend (the int8 ONNX export on
        `onnx_threads` threads of its own when given; `check`: its agreement checked at load)."""
        # Questions are embedded by the backend that embedded the index.
        backend = self.index.manifest.settings.get("backend", self.config.index.backend)
        config = self.config.with_(backend=backend)
        if onnx_threads is not None:
            embedder = _load_embedder(config, onnx_threads=onnx_threads, check=check)
        else:
            embedder = _load_embedder(config)
        if embedder.model_id != self.index.manifest.model_id:
            raise ValueError(
                f"the index was built with {self.index.manifest.model_id!r} but the model is "
                f"{embedder.model_id!r}; rebuild it with `renvoi index`"
            )
        return embedder

    def share(self) -> "Renvoi":
        """This pipeline, ready to answer from several threads at once: its models loaded
        now, and the questions asked together embedded in batches where batching gives
        the same vectors (`rag.batching`). Returns self."""
        from .batching import QueryBatcher

        with self._loading:
            if not isinstance(self._embedder, QueryBatcher):
                embedder = self._embedder
                if embedder is None or getattr(embedder, "backend", None) == "onnx-int8":
                    # ONNX Runtime's own threads spin while they wait for work: beside other
                    # questions and their answering threads they only compete for the cores.
                    # One thread per question, the questions in parallel, keeps the cores busy
                    # with work (benchmarks/bench_serve.py); the vectors are the same.
                    embedder = self._question_embedder(onnx_threads=1, check=embedder is None)
                self._embedder = QueryBatcher(embedder)
                self._retriever = None  # made again over the batcher
            _ = self.retriever
            if self.config.generative:
                _ = self.generator
        return self

    def close(self) -> None:
        """Stop what `share` started (the batcher's worker); the pipeline still answers."""
        from .batching import QueryBatcher

        with self._loading:
            if isinstance(self._embedder, QueryBatcher):
                self._embedder.close()
                self._embedder = self._embedder.embedder
                self._retriever = None

    def history(self, exchanges: Sequence[tuple[str, str]]) -> list[Turn]:
        """The turns of a conversation given as (question, answer text) pairs, each
        question resolved against the ones before it as the pipeline resolved it."""
        turns: list[Turn] = []
        for question, answer in exchanges:
            talk = small_talk(question, self.index.languages) is not None  # a greeting is never a follow-up
            turns.append(Turn(question, answer, question if talk else resolve_followup(question, turns)))
        return turns

    @property
    def embedded_by(self) -> str:
        """The backend that embedded the index, and so embeds its questions."""
        return self.index.manifest.embedded_by

    @property
    def documents(self) -> dict[str, Document]:
        return self.index.documents

    @property
    def passages(self) -> list[Paragraph]:
        return self.index.passages

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            with self._loading:
                if self._retriever is None:
                    self._retriever = Retriever(self.index, self.embedder, self.config)
        return self._retriever

    @property
    def generator(self):
        """The configured language model (`config.llm`), loaded once."""
        if self._generator is None:
            with self._loading:
                if self._generator is None:
                    from .compose.llm import load_generator

                    self._generator = load_generator(self.config.llm)
        return self._generator

    @property
    def reranker(self):
        """The configured reranker (`config.rerank`), loaded once; None without one."""
        if self._reranker is None and self.config.rerank.model:
            with self._loading:  # threads answering at once load it once
                if self._reranker is None:
                    from .rerank import Reranker

                    self._reranker = Reranker.load(self.config.rerank)
        return self._reranker

    @property
    def verifier(self):
        """The configured NLI verifier (`config.verify.model`), loaded once; None without one."""
        if self._verifier is None and self.config.verify.model:
            with self._loading:
                if self._verifier is None:
                    from .compose.nli import Verifier

                    self._verifier = Verifier.load(self.config.verify.model)
        return self._verifier

    # -------------------------------------------------------- stages

    def understand(self, question: str, history: Sequence[Turn] = ()) -> Query:
        """The question as a `Query`, with its vector (none for small talk)."""
        query = understand(question, history, self.documents.values(), self.index.vocabulary, self.index.languages)
        if query.small_talk:
            return query
        vector = np.asarray(self.embedder.embed_queries([query.resolved])[0], dtype=np.float32)
        return replace(query, vector=vector, background=self.index.background(vector))

    def search(self, question: str | Query, k: int | None = None, mode: str = "hybrid",
               query_vec=None, rerank: bool | None = None) -> list[Hit]:
        """The k best passages; reordered by the reranker when one is configured, unless
        `rerank` is False (the evaluation measures retrieval with and without it)."""
        reranker = self.reranker if rerank is not False else None
        if rerank and reranker is None:
            raise ValueError("no reranker configured: give --reranker NAME_OR_PATH")
        return self.retriever.search(question, k=k, mode=mode, query_vec=query_vec, reranker=reranker)

    def ask(self, question: str, history: Sequence[Turn] = (), k: int | None = None,
            composer: str | None = None) -> Answer:
        """A cited answer by `composer`: "extractive", or "generative" (default when a
        language model is configured), with the extractive answer as its fallback."""
        answer = None
        for event in self._answer(question, history, k, _composer(self.config, composer), stream=False):
            answer = event
        return answer

    def ask_stream(self, question: str, history: Sequence[Turn] = (), k: int | None = None
                   ) -> Iterator[Draft | Answer]:
        """The generative answer as it is written (`Draft`s), then the checked `Answer`."""
        return self._answer(question, history, k, _composer(self.config, "generative"), stream=True)

    def _answer(self, question: str, history: Sequence[Turn], k: int | None, composer: str,
                stream: bool) -> Iterator[Draft | Answer]:
        from .compose import extractive, generative
        from .compose.llm import OutputLimit, bounded

        t0 = time.perf_counter()
        query = self.understand(question, history)
        if query.small_talk:
            reply = extractive.small_talk_answer(query)
            ms = (time.perf_counter() - t0) * 1000
            yield replace(reply, timings_ms={"retrieve": 0.0, "compose": ms, "total": ms})
            return
        hits = self.search(query, k=k)
        evidence = self.retriever.gather(query, hits)
        if composer == "extractive":
            evidence = self._scored(query, evidence)
        t1 = time.perf_counter()
        timings = {"retrieve": (t1 - t0) * 1000}
        if composer == "extractive":
            answer = extractive.compose(query, evidence, hits, self.config.compose)
            timings["compose"] = (time.perf_counter() - t1) * 1000
            yield replace(answer, timings_ms={**timings, "total": sum(timings.values())})
            return
        prompt = [self.index.evidence(h) for h in hits]  # the prompt's passages, numbered as the hits
        if not prompt:
            yield Answer(question=query.text, status="abstained", language=query.language,
                         resolved_question=query.resolved if query.resolved != query.text else None,
                         composer="generative", timings_ms={**timings, "total": timings["retrieve"]})
            return
        messages = generative.build_messages(query, prompt, history)
        if stream:
            yield Draft(generative.draft(query, prompt, ""))
        raw, cut = "", None
        try:  # read within the bounds of config.llm: a model that writes on and on is cut off
            for piece in bounded(self.generator.stream(messages, self.config.llm.max_new_tokens), self.config.llm):
                raw += piece
                if stream:
                    yield Draft(generative.draft(query, prompt, raw))
        except OutputLimit as e:
            cut = e.reason
        t2 = time.perf_counter()
        timings["generate"] = (t2 - t1) * 1000
        if cut is None:
            entails = self.verifier.judge if self.verifier is not None else None
            checked = generative.compose(query, prompt, hits, raw, lambda texts: self.embedder.embed_passages(texts),
                                         self.config.verify, entails)
        else:
            checked = generative.Generated(None, (f"{cut}: it was cut off",))
        timings["verify"] = (time.perf_counter() - t2) * 1000
        answer = checked.answer
        if answer is None:
            t3 = time.perf_counter()
            evidence = self._scored(query, evidence)
            answer = replace(extractive.compose(query, evidence, hits, self.config.compose),
                             composer="extractive-fallback",
                             dropped=(*checked.dropped,
                                      "no sentence with a valid citation: the extractive answer replaces it"))
            timings["compose"] = (time.perf_counter() - t3) * 1000
        yield replace(answer, timings_ms={**timings, "total": sum(timings.values())})

    def _scored(self, query: Query, evidence):
        """The evidence with the reranker's scores of all its sentences, for the extractive
        composer (as it was without a reranker, or with `rerank.sentences` off)."""
        if self.reranker is None or not self.config.rerank.sentences:
            return evidence
        from .rerank import with_sentence_scores

        return with_sentence_scores(self.reranker, query.resolved, evidence)

    # -------------------------------------------------------- the corpus

    def update(self, *, exclude: Sequence[str] = (), on_progress: Callable[[int, int], None] | None = None,
               notify: Callable[[str], None] = _stderr) -> Changes:
        """Bring the index up to date with its sources (see `rag.index.update_index`), leaving
        out the `exclude`d files too, and answer from the new index from now on."""
        index, changes = update_index(None, self.config, lambda: self.embedder,
                                      lambda files: read_for_index(files, notify), notify=notify,
                                      exclude=exclude, on_progress=on_progress)
        if index is not self.index:
            self.index, self._retriever = index, None
        return changes

    def add_files(self, paths: Sequence[Path], *, on_progress: Callable[[int, int], None] | None = None,
                  notify: Callable[[str], None] = _stderr) -> tuple[tuple[Received, ...], Changes]:
        """Add files to the index: each is checked (type, size) and read first; those that
        read are copied into the index's uploads folder (replacing an earlier upload of the
        same name) and indexed by an update. A file that fails is named with why, and
        changes nothing; if the update fails, the uploads folder is put back as it was."""
        from .files import check_file
        from .ingest import IngestError, ingest_file

        uploads = uploads_folder(self.config.index_dir)
        received: list[Received] = []
        copies: list[tuple[Path, Path]] = []
        for path in map(Path, paths):
            problem = check_file(path, self.config.ingest.max_file_bytes)
            if problem is None:
                try:
                    ingest_file(path)
                except IngestError as e:
                    problem = e.reason
            if problem is not None:
                received.append(Received(path.name, problem=problem))
                continue
            target = upload_target(path.name, uploads, self.documents, {t.stem for _, t in copies})
            copies.append((path, target))
            received.append(Received(path.name, doc_id=target.stem))
        if not copies:
            return tuple(received), Changes(unchanged=tuple(self.documents))
        with swapped(copies):
            changes = self.update(on_progress=on_progress, notify=notify)
        read = set(self.documents)
        return tuple(r if r.doc_id is None or r.doc_id in read else
                     Received(r.name, problem="could not be read") for r in received), changes

    def remove_documents(self, doc_ids: Sequence[str], *, notify: Callable[[str], None] = _stderr) -> Changes:
        """Take documents out of the index: an uploaded file is deleted from the uploads folder;
        a file of the user's own folders is left where it is and excluded from the index."""
        unknown = [d for d in doc_ids if d not in self.documents]
        if unknown:
            raise ValueError(f"no document {unknown[0]!r} in the index")
        if set(doc_ids) >= set(self.documents):
            raise ValueError("the index must keep at least one document")
        uploads = uploads_folder(self.config.index_dir).resolve()
        deleted, excluded = [], []
        for doc_id in doc_ids:
            source = Path(self.documents[doc_id].source)
            if source.resolve().parent == uploads:
                deleted.append((None, source))
            else:
                excluded.append(self.documents[doc_id].source)
        with swapped(deleted):
            return self.update(exclude=excluded, notify=notify)

    def turn(self, answer: Answer) -> Turn:
        """The conversation turn an answer makes, for the questions that follow it."""
        from .render.text import answer_text

        return Turn(answer.question, answer_text(answer, self.documents),
                    answer.resolved_question or answer.question, answer.cited_ids)


def _composer(config: Config, composer: str | None) -> str:
    if composer is None:
        return "generative" if config.generative else "extractive"
    if composer not in COMPOSERS:
        raise ValueError(f"unknown composer {composer!r}; allowed: {', '.join(COMPOSERS)}")
    if composer == "generative" and not config.generative:
        raise ValueError("no language model configured: give --llm MODEL, or --llm-url URL with --llm-model NAME")
    return composer


def _load_embedder(config: Config, onnx_threads: int | None = None, check: bool = True):
    """The embedder of `config`; on the int8 ONNX export, `onnx_threads` threads of its own when given
    (`check`: its agreement checked at load)."""
    from .embed import OnnxEmbedder, load_embedder, resolve_backend

    if onnx_threads is not None and resolve_backend(config.index.model, config.index.backend) == "onnx-int8":
        return OnnxEmbedder.load(config, threads=onnx_threads, check=check)
    return load_embedder(config)
