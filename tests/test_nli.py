"""The claim verifier: a tiny NLI cross-encoder built and saved here (weights set by hand,
a few words of vocabulary) is loaded by the real code; its labels, read by name from its
id2label in whatever order, drive the checks of generated answers: a claim it calls a
contradiction is dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.cli import main
from rag.compose.nli import Verifier, nli_labels
from rag.config import Config
from rag.index import Index
from rag.pipeline import Renvoi
from rag.records import Entailment

from conftest import HashEmbedder, tiny_cross_encoder
from test_generate import FakeServer, _cli_index, _doc, n

# "jamais" makes the model see a contradiction, "probablement" neither; otherwise it entails.
WORDS = {"jamais": {"contradiction": 6.0, "CONTRADICTION": 6.0},
         "probablement": {"neutral": 6.0, "NEUTRAL": 6.0}}
BIAS = {"entailment": 1.0, "ENTAILMENT": 1.0}


@pytest.fixture(scope="module")
def nli_model(tmp_path_factory) -> Path:
    return tiny_cross_encoder(tmp_path_factory.mktemp("nli"), ["contradiction", "entailment", "neutral"], WORDS, BIAS)


@pytest.fixture(scope="module")
def nli_model_other_order(tmp_path_factory) -> Path:
    """The same judge with its outputs in another order and spelling, as other models have them."""
    return tiny_cross_encoder(tmp_path_factory.mktemp("nli2"), ["ENTAILMENT", "NEUTRAL", "CONTRADICTION"], WORDS, BIAS)


def test_labels_are_read_by_name_whatever_their_order():
    assert nli_labels({0: "contradiction", 1: "entailment", 2: "neutral"}) == \
        {"contradiction": 0, "entailment": 1, "neutral": 2}
    assert nli_labels({0: "ENTAILMENT", 1: "NEUTRAL", 2: "CONTRADICTION"}) == \
        {"entailment": 0, "neutral": 1, "contradiction": 2}
    assert nli_labels({0: "entailment", 1: "not_entailment"}) == {"entailment": 0}
    with pytest.raises(ValueError, match="no output is named entailment"):
        nli_labels({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})


def test_a_tiny_nli_model_judges_by_its_labels(nli_model, nli_model_other_order):
    premise = "La ligne Paris-Vienne rouvre en 2021."
    for folder in (nli_model, nli_model_other_order):
        v = Verifier.load(str(folder))
        assert v.judge(premise, "La ligne ne rouvre jamais.").label == "contradiction"
        assert v.judge(premise, "La ligne rouvre probablement.").label == "neutral"
        judged = v.judge(premise, "La ligne rouvre en 2021.")
        assert judged.label == "entailment" and abs(judged.entailment + judged.neutral + judged.contradiction - 1) < 1e-6
        assert v.entails(premise, "La ligne rouvre en 2021.") and not v.entails(premise, "Elle ne rouvre jamais.")


def test_a_model_that_is_not_an_nli_model_is_refused(tmp_path):
    scorer = tiny_cross_encoder(tmp_path / "rr", ["score"], {"glacier": {"score": 1.0}})
    with pytest.raises(ValueError, match="has 1 output; an NLI model has one per judgement"):
        Verifier.load(str(scorer))
    unnamed = tiny_cross_encoder(tmp_path / "un", ["LABEL_0", "LABEL_1", "LABEL_2"], {"x": {}})
    with pytest.raises(ValueError, match=f"verifier '{unnamed}': no output is named entailment"):
        Verifier.load(str(unnamed))


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


def test_a_claim_the_verifier_calls_a_contradiction_is_dropped(tmp_path, server, nli_model):
    doc = _doc()
    config = Config(index_dir=tmp_path / "idx").with_(llm_url=server.url, llm_model="x", k=3, verifier=str(nli_model))
    embedder = HashEmbedder(dim=256)
    r = Renvoi(config, Index.build([doc], list(doc.paragraphs), embedder, config), embedder)
    server.replies.append(lambda req: f"La ligne Paris-Vienne rouvre en 2021 [{n(req, 'Paris-Vienne')}]. "
                          f"La ligne Paris-Vienne ne rouvre jamais en 2021 [{n(req, 'Paris-Vienne')}].")
    a = r.ask("Quand rouvre la ligne Paris-Vienne ?")
    assert a.composer == "generative"
    assert [c.text for c in a.claims] == ["La ligne Paris-Vienne rouvre en 2021."]
    assert any(d.startswith("contradicted by [") and d.endswith("ne rouvre jamais en 2021.") for d in a.dropped)
    # the same sentences, verified without the model, are both kept: today's checks cannot tell
    plain = Renvoi(config.with_(verifier=None), r.index, embedder)
    server.replies.append(lambda req: f"La ligne Paris-Vienne rouvre en 2021 [{n(req, 'Paris-Vienne')}]. "
                          f"La ligne Paris-Vienne ne rouvre jamais en 2021 [{n(req, 'Paris-Vienne')}].")
    assert len(plain.ask("Quand rouvre la ligne Paris-Vienne ?").claims) == 2


def test_a_claim_the_verifier_does_not_find_entailed_is_dropped_or_flagged(tmp_path, server, nli_model):
    doc = _doc()
    config = Config(index_dir=tmp_path / "idx").with_(llm_url=server.url, llm_model="x", k=3, verifier=str(nli_model),
                                                      unsupported="flag")
    embedder = HashEmbedder(dim=256)
    r = Renvoi(config, Index.build([doc], list(doc.paragraphs), embedder, config), embedder)
    server.replies.append(lambda req: f"La ligne Paris-Vienne rouvre en 2021 [{n(req, 'Paris-Vienne')}]. "
                          f"La ligne Paris-Vienne rouvre probablement en 2021 [{n(req, 'Paris-Vienne')}].")
    a = r.ask("Quand rouvre la ligne Paris-Vienne ?")
    assert [c.support for c in a.claims] == ["supported", "unsupported"]
    assert any(d.startswith("flagged, not supported by [") and "entailment 0.0" in d for d in a.dropped)


def test_cli_ask_with_a_verifier(tmp_path, monkeypatch, capsys, server, nli_model):
    index_dir = _cli_index(tmp_path, monkeypatch)
    capsys.readouterr()
    server.replies.append(lambda req: f"La ligne Paris-Vienne ne rouvre jamais [{n(req, 'Paris-Vienne')}]. "
                          f"La ligne Paris-Vienne rouvre en 2021 [{n(req, 'Paris-Vienne')}].")
    code = main(["ask", "--index-dir", str(index_dir), "--llm-url", server.url, "--llm-model", "x",
                 "--verifier", str(nli_model), "Quand rouvre la ligne Paris-Vienne ?", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert code == 0 and d["answer"] == "La ligne Paris-Vienne rouvre en 2021 [1]."
    assert d["dropped"][0].startswith("contradicted by [")
    # without a language model there is nothing for it to check: said in one line
    assert main(["ask", "--index-dir", str(index_dir), "--verifier", str(nli_model), "Quand rouvre la ligne ?"]) == 0
    assert "the verifier checks generated answers" in capsys.readouterr().err


def test_a_verifier_that_cannot_be_had_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, server, no_network):
    index_dir = _cli_index(tmp_path, monkeypatch)
    capsys.readouterr()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main(["ask", "--index-dir", str(index_dir), "--llm-url", server.url, "--llm-model", "x",
                 "--verifier", "someone/no-such-nli", "Quand ?"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and err.startswith("renvoi: cannot load verifier 'someone/no-such-nli'")
    assert err.endswith("the hub cannot be reached from this machine") and no_network == []
    assert server.requests == []  # nothing was asked of the language model


def test_an_entailment_record_names_its_likeliest_judgement():
    assert Entailment(0.2, 0.7, 0.1).label == "contradiction"
    assert Entailment(0.6, 0.1, 0.3).label == "entailment"
    assert Entailment(0.3, 0.3, 0.4).label == "neutral"
