"""Reranking with a cross-encoder: a tiny one built and saved here (weights set by hand,
a few words of vocabulary) is loaded by the real code, reorders the fused candidates,
picks best sentences, and shows its scores in search and ask JSON; a model that cannot
be had is one line and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import rag.pipeline as pipeline
from rag.cli import main
from rag.config import Config, RerankConfig
from rag.index import Index
from rag.pipeline import Renvoi
from rag.rerank import Reranker, passage_text, rerank
from rag.retrieve import Retriever

from conftest import HashEmbedder, tiny_cross_encoder

QUESTION = "Quand commencent les vendanges à Bordeaux ?"


@pytest.fixture(scope="module")
def glacier_reranker(tmp_path_factory) -> Path:
    """A reranker that prefers, above all, text about a glacier, then about touristes."""
    return tiny_cross_encoder(tmp_path_factory.mktemp("reranker"), ["score"],
                              {"glacier": {"score": 4.0}, "touristes": {"score": 8.0}})


def _retriever(docs, embedder, config: Config) -> Retriever:
    passages = [p for d in docs for p in d.paragraphs]
    return Retriever(Index.build(docs, passages, embedder, config), embedder, config)


def test_the_reranker_orders_the_fused_candidates_by_its_scores(small_docs, hash_embedder, glacier_reranker):
    config = Config().with_(reranker=str(glacier_reranker), depth=5)
    retriever = _retriever(small_docs, hash_embedder, config)
    fused = retriever.search(QUESTION, k=5)
    assert fused[0].passage.id == "a:p2" and all(h.rerank_score is None for h in fused)
    reranker = Reranker.load(config.rerank)
    hits = retriever.search(QUESTION, k=3, reranker=reranker)

    # the order is the model's own scores of (question, passage), read here without renvoi's code
    from sentence_transformers import CrossEncoder

    own = CrossEncoder(str(glacier_reranker), device="cpu").predict([(QUESTION, h.passage.text) for h in fused])
    expected = sorted(range(len(fused)), key=lambda i: (-own[i], i))[:3]
    assert [h.passage.id for h in hits] == [fused[i].passage.id for i in expected]
    assert hits[0].passage.id == "b:p1"  # the glacier passage, far down the fused list, comes first
    assert [h.rank for h in hits] == [1, 2, 3]
    assert np.allclose([h.rerank_score for h in hits], [own[i] for i in expected], atol=1e-5)
    by_id = {h.passage.id: h for h in fused}
    assert all(h.score == by_id[h.passage.id].score for h in hits)  # fused scores kept as they were
    d = hits[0].to_dict()
    assert d["rerank_score"] == round(hits[0].rerank_score, 6) and 0 < d["rerank_score"] < 1
    # its best sentence is the one the reranker scores highest, not the closest by embedding
    assert hits[0].best_sentence == "Les touristes viennent le voir fondre."
    assert len(hits[0].sentence_scores) == 2 and hits[0].sentence_scores[1] > hits[0].sentence_scores[0]


def test_rerank_keeps_the_fused_order_on_ties_and_checks_its_input(small_docs, hash_embedder):
    hits = _retriever(small_docs, hash_embedder, Config()).search(QUESTION, k=4)
    out = rerank(hits, [0.2, 0.9, 0.2, 0.2], k=3)
    assert [h.passage.id for h in out] == [hits[1].passage.id, hits[0].passage.id, hits[2].passage.id]
    with pytest.raises(ValueError, match="3 scores for 4 hits"):
        rerank(hits, [0.1, 0.2, 0.3], k=2)


def test_the_reranker_reads_a_passage_with_its_context():
    from rag.records import Paragraph

    item = Paragraph(id="d:p2", doc_id="d", text="Le Rhône.", n=2, context="Les glaciers suivis :")
    assert passage_text(item) == "Les glaciers suivis :\nLe Rhône."


def test_the_extractive_answer_quotes_the_sentence_the_reranker_prefers(small_docs, hash_embedder, glacier_reranker,
                                                                        tmp_path):
    question = "Le glacier du Rhône a-t-il perdu de sa masse ?"
    config = Config(index_dir=tmp_path / "idx").with_(k=2, abstain_below=0.1)
    index = Index.build(small_docs, [p for d in small_docs for p in d.paragraphs], hash_embedder, config)
    plain = Renvoi(config, index, hash_embedder).ask(question)
    assert plain.claims[0].text == "Le glacier du Rhône a perdu un tiers de sa masse."
    reranked = Renvoi(config.with_(reranker=str(glacier_reranker)), index, hash_embedder)
    answer = reranked.ask(question)
    assert answer.claims[0].text == "Les touristes viennent le voir fondre."
    assert answer.hits[0].rerank_score is not None
    assert reranked.reranker is reranked.reranker  # loaded once
    # with sentences off, the reranker orders passages only and the composer quotes as before
    passages_only = Renvoi(config.with_(reranker=str(glacier_reranker), sentences=False), index, hash_embedder)
    assert passages_only.ask(question).claims[0].text == plain.claims[0].text


def _cli_index(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(pipeline, "_load_embedder", lambda config: HashEmbedder(dim=256))
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "alpes.txt").write_text(
        "Les Alpes\n\n"
        "Les vendanges commencent en septembre dans les vignobles de Savoie.\n\n"
        "Le glacier du Rhône a perdu un tiers de sa masse. Les touristes viennent le voir fondre.\n\n"
        "Les trains de nuit reviennent en Europe depuis 2020.\n", encoding="utf-8")
    index_dir = tmp_path / "idx"
    assert main(["index", str(folder), "--index-dir", str(index_dir)]) == 0
    return index_dir


def test_search_and_ask_json_show_the_rerank_score(tmp_path, monkeypatch, capsys, glacier_reranker):
    index_dir = _cli_index(tmp_path, monkeypatch)
    capsys.readouterr()
    question = "Quand commencent les vendanges ?"
    assert main(["search", question, "--index-dir", str(index_dir), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain[0]["text"].startswith("Les vendanges") and all(h["rerank_score"] is None for h in plain)
    assert main(["search", question, "--index-dir", str(index_dir), "--json", "--k", "2",
                 "--reranker", str(glacier_reranker)]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2 and hits[0]["text"].startswith("Le glacier")
    assert [h["rank"] for h in hits] == [1, 2]
    assert hits[0]["rerank_score"] >= hits[1]["rerank_score"]
    assert main(["ask", question, "--index-dir", str(index_dir), "--json", "--reranker", str(glacier_reranker)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["passages"] and all(isinstance(p["rerank_score"], float) for p in answer["passages"])
    assert answer["passages"][0]["text"].startswith("Le glacier")


def test_a_reranker_that_cannot_be_had_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, no_network):
    index_dir = _cli_index(tmp_path, monkeypatch)
    capsys.readouterr()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for command in (["search", "Quand ?"], ["ask", "Quand ?"]):
        code = main([*command, "--index-dir", str(index_dir), "--reranker", "someone/no-such-reranker"])
        err = capsys.readouterr().err.strip()
        assert code == 2 and "\n" not in err and "Traceback" not in err
        assert err.startswith("renvoi: cannot load reranker 'someone/no-such-reranker'")
        assert err.endswith("the hub cannot be reached from this machine")
    # nothing was downloaded: at most the hub was looked for, and refused
    assert all("huggingface" in a for a in no_network)
    missing = tmp_path / "no-model-here"
    assert main(["search", "Quand ?", "--index-dir", str(index_dir), "--reranker", str(missing)]) == 2
    assert capsys.readouterr().err.strip().startswith(f"renvoi: cannot load reranker '{missing}'")


def test_a_model_with_several_outputs_is_not_a_reranker(tmp_path):
    nli = tiny_cross_encoder(tmp_path / "nli", ["entailment", "neutral", "contradiction"], {"non": {}})
    with pytest.raises(ValueError, match="has 3 outputs; a reranker gives one relevance score"):
        Reranker.load(RerankConfig(model=str(nli)))
    with pytest.raises(ValueError, match="no reranker configured"):
        Reranker.load(RerankConfig())
    with pytest.raises(ValueError, match="depth must be at least 1"):
        RerankConfig(depth=0)


def test_a_hub_name_in_the_hugging_face_cache_loads_without_the_network(tmp_path, monkeypatch, no_network,
                                                                         glacier_reranker):
    import shutil

    from huggingface_hub import constants

    repo = tmp_path / "hub" / "models--someone--tiny-reranker"
    shutil.copytree(glacier_reranker, repo / "snapshots" / "0123abcd")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    reranker = Reranker.load(RerankConfig(model="someone/tiny-reranker"))
    assert reranker.name == "someone/tiny-reranker"
    glacier, other = reranker.score("q", ["les touristes du glacier", "Lyon"])
    assert glacier > other
    assert no_network == []
