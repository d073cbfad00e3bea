"""Reranking: a cross-encoder reads the question with each fused candidate and reorders them.

Fusion ranks passages by scores computed apart from the question's wording
(a vector each, shared terms); a cross-encoder reads the question and the
passage together, which ranks better and costs a forward pass per pair. So
only the first `RerankConfig.depth` fused candidates are read, and the
k best by its score are kept: their rank is its order, `rerank_score` its
score, and their fused, dense and BM25 scores stay as they were. With
`RerankConfig.sentences`, the sentences of the passages kept are scored too:
the best is the hit's best sentence, and the extractive composer quotes by
these scores (`Hit.sentence_scores`).

`Reranker` holds the loaded model (`load` from a folder or a hub name, see
`rag.crossencoder`); `rerank` and `best_sentences` are pure over its scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .config import RerankConfig
from .crossencoder import load_cross_encoder
from .records import Evidence, Hit, Paragraph


class Reranker:
    """A loaded cross-encoder scoring (question, text) pairs: higher is more relevant."""

    def __init__(self, model: Any, name: str, batch_size: int = 16):
        self.model = model
        self.name = name
        self.batch_size = batch_size

    @classmethod
    def load(cls, config: RerankConfig) -> "Reranker":
        """The reranker `config.model` names (a ValueError of one line when it cannot be had)."""
        if not config.model:
            raise ValueError("no reranker configured: give --reranker NAME_OR_PATH")
        model = load_cross_encoder(config.model, "reranker")
        labels = int(getattr(model, "num_labels", 1))
        if labels != 1:
            raise ValueError(f"reranker {config.model!r} has {labels} outputs; a reranker gives one relevance "
                             "score (an NLI model with several labels is a --verifier)")
        return cls(model, config.model)

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """The relevance of each text to `question`, between 0 and 1 (the sigmoid of the
        model's score, whatever activation it was saved with: same order, one scale)."""
        if not texts:
            return np.zeros(0, dtype=np.float64)
        import torch

        pairs = [(question, t) for t in texts]
        scores = self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False,
                                    activation_fn=torch.nn.Sigmoid())
        return np.asarray(scores, dtype=np.float64).reshape(len(pairs))


def passage_text(passage: Paragraph) -> str:
    """What the reranker reads of a passage: its text after what it needs to be understood
    (a list item's lead-in, a table row's header), as retrieval searches it."""
    return f"{passage.context}\n{passage.text}" if passage.context else passage.text


def rerank(hits: Sequence[Hit], scores: Sequence[float], k: int) -> list[Hit]:
    """The k hits of highest `scores` (ties in their fused order), ranked from 1, each
    with its `rerank_score`."""
    if len(hits) != len(scores):
        raise ValueError(f"{len(scores)} scores for {len(hits)} hits")
    order = sorted(range(len(hits)), key=lambda i: (-float(scores[i]), i))[:k]
    return [replace(hits[i], rank=rank, rerank_score=float(scores[i])) for rank, i in enumerate(order, start=1)]


def sentence_scores(reranker: Reranker, question: str, groups: Sequence[Sequence[str]]) -> list[tuple[float, ...]]:
    """The reranker's score of every sentence of each group (one group per passage), read in one pass."""
    flat = [s for group in groups for s in group]
    scores = reranker.score(question, flat)
    out, at = [], 0
    for group in groups:
        out.append(tuple(float(x) for x in scores[at:at + len(group)]))
        at += len(group)
    return out


def with_sentence_scores(reranker: Reranker, question: str, evidence: Sequence[Evidence]) -> list[Evidence]:
    """The evidence with the reranker's scores of its sentences on each hit, scoring only the
    passages whose hit has none yet (those retrieval added after reranking, such as a
    document's metadata card)."""
    missing = [i for i, e in enumerate(evidence) if len(e.hit.sentence_scores) != len(e.sentences)]
    scored = sentence_scores(reranker, question, [[s.text for s in evidence[i].sentences] for i in missing])
    out = list(evidence)
    for i, scores in zip(missing, scored):
        out[i] = replace(out[i], hit=replace(out[i].hit, sentence_scores=scores))
    return out
