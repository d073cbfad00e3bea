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
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .config import BACKENDS, Config
from .index import Index, as_recorded, open_index, recorded_settings
from .query import understand
from .records import Answer, Document, Hit, Paragraph, Query, Turn
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


@dataclass(frozen=True)
class Draft:
    """A generated answer as written so far, not yet checked (streaming)."""

    answer: Answer


class Renvoi:
    """A loaded index with its models: understand, search, ask."""

    def __init__(self, config: Config, index: Index, embedder=None):
        # the index is searched as it was built: its analyzer cuts the questions too
        self.config = config.with_(analyzer=as_recorded(config, index.manifest.settings).analyzer)
        self.index = index
        self._embedder = embedder
        self._retriever: Retriever | None = None
        self._generator = None  # the language model, loaded on first generative answer
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

        index = open_index(
            paths, config, factory, lambda p: ingest_for_index(p, config, notify),
            progress=progress, notify=notify, force=force,
        )
        return cls(config, index, holder.get("embedder"))

    # -------------------------------------------------------- state

    @property
    def embedder(self):
        if self._embedder is None:
            # Questions are embedded by the backend that embedded the index.
            backend = self.index.manifest.settings.get("backend", self.config.index.backend)
            self._embedder = _load_embedder(self.config.with_(backend=backend))
            if self._embedder.model_id != self.index.manifest.model_id:
                raise ValueError(
                    f"the index was built with {self.index.manifest.model_id!r} but the model is "
                    f"{self._embedder.model_id!r}; rebuild it with `renvoi index`"
                )
        return self._embedder

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
            self._retriever = Retriever(self.index, self.embedder, self.config)
        return self._retriever

    @property
    def generator(self):
        """The configured language model (`config.llm`), loaded once."""
        if self._generator is None:
            from .compose.llm import load_generator

            self._generator = load_generator(self.config.llm)
        return self._generator

    @property
    def reranker(self):
        """The configured reranker (`config.rerank`), loaded once; None without one."""
        if self._reranker is None and self.config.rerank.model:
            from .rerank import Reranker

            self._reranker = Reranker.load(self.config.rerank)
        return self._reranker

    @property
    def verifier(self):
        """The configured NLI verifier (`config.verify.model`), loaded once; None without one."""
        if self._verifier is None and self.config.verify.model:
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


def _load_embedder(config: Config):
    from .embed import load_embedder

    return load_embedder(config)
