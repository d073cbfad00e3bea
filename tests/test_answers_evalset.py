"""Every answer to every question of eval/questions.jsonl keeps renvoi's promises.

Whatever the quality figures say, an answer must never misquote or mis-cite:
each quoted sentence is verbatim from the paragraph its marker points to, every
marker resolves to a citation, every listed citation is used, markers are
numbered by first use, every footnote exists in its document, and an
abstention cites nothing. Runs the real model over the seeds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Config
from rag.evaluate import load_questions
from rag.pipeline import Renvoi

from conftest import check_answer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    config = Config(index_dir=tmp_path_factory.mktemp("evalset") / "index")
    renvoi = Renvoi.open(config, [ROOT / "seeds"], progress=False, notify=lambda m: None)
    out, histories = [], {}
    for q in load_questions(ROOT / "eval" / "questions.jsonl"):
        # a follow-up carries the whole conversation before it, as in the chat and the evaluation
        history = histories.get(q.followup_of, ()) if q.followup_of else ()
        a = renvoi.ask(q.question, history=history)
        histories[q.id] = (*history, renvoi.turn(a))
        out.append((q, a))
    return renvoi, out


@pytest.mark.model
def test_every_answer_quotes_verbatim_and_cites_exactly(answers):
    renvoi, out = answers
    assert len(out) >= 60
    for q, a in out:
        check_answer(a, renvoi.documents, q.id)
