"""Retrieval: hybrid search, then the evidence the composers read.

A paragraph's dense score mixes the similarity of the whole paragraph with
that of its best sentence, because an answer often sits in one sentence of a
long paragraph whose overall vector is about something else. BM25 runs over
stemmed, accent-folded terms; the question is stemmed in the analyzer's query
languages so that an English question still meets French names and cognates,
while the multilingual dense model carries the cross-language meaning. The
two rankings are fused by the sum of their standardised scores (z-scores, the
default) or by weighted reciprocal rank. Given a reranker (`rag.rerank`), the
first fused candidates are reordered by it, and it picks each hit's best sentence.

`gather` turns the hits into `Evidence`: for a question about the document
itself, the metadata card and biography of that document join the hits; a
question naming one document by its author or outlet keeps that document's
passages only.

The scoring functions are pure; `Retriever` only holds the index and the
embedder. This module does not build indices or compose answers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from .config import Config
from .index import Index
from .query import DOCUMENT_INTENTS, question_language
from .records import Evidence, Hit, Query
from .rerank import Reranker, passage_text, rerank, sentence_scores
from .text import terms

MODES = ("hybrid", "dense", "bm25")


class QueryEmbedder(Protocol):
    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Scored:
    """Scores of the candidate rows of one query (parallel arrays)."""

    rows: np.ndarray
    dense: np.ndarray
    bm25: np.ndarray
    # Global sentence row of each candidate's best sentence; -1 when it has
    # none, -2 when not computed (BM25 mode: `search` picks it for hits only).
    best_sentence_row: np.ndarray


# ---------------------------------------------------------------- pure scoring


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"unknown search mode {mode!r}; allowed: {', '.join(MODES)}")
    return mode


def top_rows(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n highest scores, best first, ties broken by index."""
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


def dense_scores(
    query: np.ndarray,
    rows: np.ndarray,
    passage_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    sentence_start: np.ndarray,
    sentence_stop: np.ndarray,
    sentence_weight: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Dense score of each candidate row and the global row of its best sentence."""
    whole = passage_vectors[rows] @ query
    best = np.empty(len(rows), dtype=np.float32)
    best_row = np.empty(len(rows), dtype=np.int64)
    for j, r in enumerate(rows):
        start, stop = int(sentence_start[r]), int(sentence_stop[r])
        if stop <= start:
            best[j], best_row[j] = whole[j], -1
            continue
        sims = sentence_vectors[start:stop] @ query
        k = int(np.argmax(sims))
        best[j], best_row[j] = sims[k], start + k
    return (1.0 - sentence_weight) * whole + sentence_weight * best, best_row


def reciprocal_rank_fusion(rankings: list[np.ndarray], weights: list[float], k: int, n: int) -> np.ndarray:
    """Weighted RRF over rankings of candidate positions 0..n-1: sum of w / (k + rank)."""
    fused = np.zeros(n, dtype=np.float64)
    for ranking, w in zip(rankings, weights, strict=True):
        fused[ranking] += w / (k + np.arange(1, len(ranking) + 1))
    return fused


def zscore_fusion(dense: np.ndarray, bm25: np.ndarray, bm25_weight: float) -> np.ndarray:
    """Sum of the standardised scores, BM25 weighted: unlike RRF it keeps how far
    ahead the dense leader is, which matters when BM25 only matches names."""

    def z(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float64)
        sd = x.std()
        return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)

    return z(dense) + bm25_weight * z(bm25)


def ranking(scores: np.ndarray) -> np.ndarray:
    """Positions sorted by descending score, ties broken by position (deterministic)."""
    return np.lexsort((np.arange(len(scores)), -scores))


# ---------------------------------------------------------------- the retriever


class Retriever:
    """Searches one loaded index with one query embedder."""

    def __init__(self, index: Index, embedder: QueryEmbedder, config: Config):
        self.index = index
        self.embedder = embedder
        self.config = config
        self.settings = config.retrieval
        self.languages = config.analyzer.query_languages

    def query_languages(self, language: str) -> tuple[str, ...]:
        """The languages a question's BM25 terms are stemmed in: its own, the analyzer's
        query languages and the corpus's, so that it meets passages written in any of them."""
        return tuple(dict.fromkeys([language, *self.languages, *self.index.languages]))

    def query_vector(self, question: str) -> np.ndarray:
        return np.asarray(self.embedder.embed_queries([question])[0], dtype=np.float32)

    def candidates(self, query_vec: np.ndarray | None, bm25: np.ndarray | None) -> np.ndarray:
        """Union of the dense (paragraph and sentence) and BM25 top candidates."""
        ix, c = self.index, self.settings.candidates
        found: list[np.ndarray] = []
        if query_vec is not None:
            found += [ix.search_passages(query_vec, c), ix.sentence_owner[ix.search_sentences(query_vec, 3 * c)]]
        if bm25 is not None:
            found.append(top_rows(bm25, c))
        # (every source returns real rows: the index drops FAISS's -1 padding)
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def score(self, question: str, mode: str = "hybrid", query_vec: np.ndarray | None = None,
              languages: tuple[str, ...] | None = None) -> Scored:
        check_mode(mode)
        ix = self.index
        if mode == "bm25":
            query_vec = None
        elif query_vec is None:
            query_vec = self.query_vector(question)
        bm25_all = None
        if mode != "dense":
            q_terms = [t for t in terms(question, languages or self.languages) if t in ix.bm25.vocab_dict]
            bm25_all = ix.bm25.get_scores(q_terms) if q_terms else np.zeros(len(ix.passages), dtype=np.float32)
        rows = self.candidates(query_vec, bm25_all)
        if query_vec is not None:
            dense, best_row = dense_scores(
                query_vec, rows, ix.passage_vectors, ix.sentence_vectors,
                ix.sentence_start, ix.sentence_stop, self.settings.sentence_weight,
            )
        else:
            dense = np.zeros(len(rows), dtype=np.float32)
            best_row = np.full(len(rows), -2, dtype=np.int64)
        bm25 = bm25_all[rows] if bm25_all is not None else np.zeros(len(rows), dtype=np.float32)
        return Scored(rows=rows, dense=dense, bm25=bm25, best_sentence_row=best_row)

    def search(self, question: str | Query, k: int | None = None, mode: str = "hybrid",
               query_vec: np.ndarray | None = None, reranker: Reranker | None = None) -> list[Hit]:
        """The k best passages for `question` (a `Query`: its resolved text and vector)
        under `mode` ("hybrid", "dense" or "bm25"), reordered by `reranker` when one is
        given. `query_vec`, when the caller has already embedded the question, saves
        embedding it again."""
        if isinstance(question, Query):
            languages = self.query_languages(question.language)
            question, query_vec = question.resolved, question.vector if query_vec is None else query_vec
        else:
            languages = self.query_languages(question_language(question, self.index.languages))
        k = self.settings.k if k is None else k
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if not question.strip():
            raise ValueError("the question is empty")
        s = self.score(question, mode, query_vec, languages)
        n = len(s.rows)
        if mode == "dense":
            fused = s.dense.astype(np.float64)
        elif mode == "bm25":
            fused = s.bm25.astype(np.float64)
        elif self.settings.fusion == "zscore":
            fused = zscore_fusion(s.dense, s.bm25, self.settings.bm25_weight)
        else:
            # BM25 only votes for candidates it actually matched.
            matched = ranking(s.bm25)[: int(np.count_nonzero(s.bm25))]
            fused = reciprocal_rank_fusion(
                [ranking(s.dense), matched], [1.0, self.settings.bm25_weight], self.settings.rrf_k, n
            )
        order = ranking(fused)[:max(k, self.config.rerank.depth) if reranker is not None else k]
        q_terms = set(terms(question, languages)) if mode == "bm25" else set()
        hits = []
        for rank, j in enumerate(order, start=1):
            row = int(s.rows[j])
            passage = self.index.passages[row]
            srow = int(s.best_sentence_row[j])
            if srow == -2:
                srow = self._lexical_best_sentence(row, q_terms, languages)
            best = self.index.sentences[srow] if srow >= 0 else passage.text
            hits.append(Hit(rank=rank, passage=passage, score=float(fused[j]),
                            dense_score=float(s.dense[j]), bm25_score=float(s.bm25[j]), best_sentence=best))
        if reranker is not None:
            hits = self._rerank(question, hits, k, reranker)
        return hits

    def _rerank(self, question: str, hits: list[Hit], k: int, reranker: Reranker) -> list[Hit]:
        """The k hits the reranker puts first; with `rerank.sentences`, each with its
        sentences' scores and the best of them as its best sentence."""
        hits = rerank(hits, reranker.score(question, [passage_text(h.passage) for h in hits]), k)
        if not self.config.rerank.sentences:
            return hits
        ix = self.index
        groups = [ix.sentences[int(ix.sentence_start[r]):int(ix.sentence_stop[r])]
                  for r in (ix.row[h.passage.id] for h in hits)]
        out = []
        for h, group, scores in zip(hits, groups, sentence_scores(reranker, question, groups)):
            best = group[int(np.argmax(scores))] if scores else h.best_sentence
            out.append(replace(h, best_sentence=best, sentence_scores=scores))
        return out

    def gather(self, query: Query, hits: list[Hit]) -> list[Evidence]:
        """The evidence the composers read for `query`, from its `hits` (see the module doc)."""
        return gather(self.index, query, hits)

    def _lexical_best_sentence(self, row: int, q: set[str], languages: tuple[str, ...]) -> int:
        """The sentence of passage `row` sharing most terms with the question's `q`."""
        ix = self.index
        start, stop = int(ix.sentence_start[row]), int(ix.sentence_stop[row])
        if stop <= start:
            return -1
        overlaps = [len(q & set(terms(ix.sentences[i], languages))) for i in range(start, stop)]
        return start + int(np.argmax(overlaps))


def gather(index: Index, query: Query, hits: list[Hit]) -> list[Evidence]:
    """Evidence of the hits; for a question about the document, its metadata card and
    biography too (a card is quoted for no other question); a question naming one
    document by author or outlet keeps that document's passages when it has any."""
    chosen = list(hits)
    about = None
    if query.intents & set(DOCUMENT_INTENTS) and hits:
        # The document the question is about: the one it names, else the best hit's.
        about = query.named_document or hits[0].passage.doc_id
        present = {h.passage.id for h in hits}
        for part in ("meta", "bio"):
            passage = index.passage(f"{about}:{part}")
            if passage is not None and passage.id not in present:
                chosen.append(Hit(rank=1, passage=passage, score=0.0, dense_score=0.0, bm25_score=0.0,
                                  best_sentence=""))
    chosen = [h for h in chosen if h.passage.kind != "meta" or h.passage.doc_id == about]
    named = query.named_document
    if named and any(h.passage.doc_id == named for h in chosen):
        chosen = [h for h in chosen if h.passage.doc_id == named]
    return [index.evidence(h) for h in chosen]
