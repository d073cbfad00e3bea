"""The assembled pipeline: ingest → embed → index → retrieve → compose.

`Renvoi` holds the state a running command or chat page needs (the loaded
index and the embedding model) and offers `search` and `ask`; the command
line, the chat page and the evaluation all go through it, so they give the
same results for the same question. It loads the embedding model only when a
query or a build needs it, and the language model (when the config names one)
at its first generative answer, keeping both. It does not parse files or rank
passages itself.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .config import BACKENDS, Config
from .index import Index, open_index, recorded_settings
from .records import Answer, Document, Hit, Paragraph, Turn
from .retrieve import Retriever


def _stderr(message: str) -> None:
    print(f"renvoi: {message}", file=sys.stderr)


def ingest_for_index(paths: Sequence[Path], config: Config, notify: Callable[[str], None] = _stderr
                     ) -> tuple[list[Document], list[Paragraph]]:
    """Documents and citable passages of `paths`; file problems are reported, not fatal."""
    from .ingest import citable_passages, ingest_paths

    corpus = ingest_paths(list(paths), follow_links=config.follow_links, max_bytes=config.max_file_bytes)
    for issue in corpus.issues:
        notify(f"{issue.path}: {issue.message}")
    if not corpus.documents:
        raise ValueError(f"no document could be read from {', '.join(map(str, paths))}")
    passages = [p for d in corpus.documents for p in citable_passages(d)]
    return list(corpus.documents), passages


class Renvoi:
    """A loaded index with its embedding model: search and ask."""

    def __init__(self, config: Config, index: Index, embedder=None):
        self.config = config
        self.index = index
        self._embedder = embedder
        self._retriever: Retriever | None = None
        self._generator = None  # the language model, loaded on first generative answer

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
            backend = kept.get("backend") if kept.get("backend") in BACKENDS else config.backend
            holder["embedder"] = _load_embedder(config.with_(backend=backend))
            return holder["embedder"]

        index = open_index(
            paths, config, factory, lambda p: ingest_for_index(p, config, notify),
            progress=progress, notify=notify, force=force,
        )
        return cls(config, index, holder.get("embedder"))

    @property
    def embedder(self):
        if self._embedder is None:
            # Questions are embedded by the backend that embedded the index.
            backend = self.index.manifest.settings.get("backend", self.config.backend)
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

    def search(self, question: str, k: int | None = None, mode: str = "hybrid", query_vec=None) -> list[Hit]:
        return self.retriever.search(question, k=k, mode=mode, query_vec=query_vec)

    @property
    def generator(self):
        """The configured language model (`config.llm` or `config.llm_url`), loaded once."""
        if self._generator is None:
            from .generate import load_generator

            self._generator = load_generator(self.config)
        return self._generator

    def ask(self, question: str, history: Sequence[Turn] = (), k: int | None = None,
            composer: str | None = None) -> Answer:
        """A cited answer by `composer`: "extractive", or "generative" (default when
        the config names a language model)."""
        if _composer(self.config, composer) == "generative":
            from .generate import answer as generated

            return generated(question, self, self.generator, history=history, k=k)
        from .compose import answer

        return answer(question, self, history=history, k=k)

    def ask_stream(self, question: str, history: Sequence[Turn] = (), k: int | None = None):
        """The generative answer as it is written (`rag.generate.Partial`s), then the checked `Answer`."""
        from .generate import answer_stream

        _composer(self.config, "generative")
        return answer_stream(question, self, self.generator, history=history, k=k)


COMPOSERS = ("extractive", "generative")


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
