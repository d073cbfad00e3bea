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


@pytest.mark.model
def test_command_line_page_and_evaluation_give_the_same_answers(answers, tmp_path):
    """The same question on the same index gets the same status and cited passages
    whichever way it is asked: `renvoi ask --jsonl`, the chat page, the evaluation.
    (The page once embedded questions on another backend, and answered what the
    command line abstained on.)"""
    import json
    import os
    import subprocess
    import sys

    from rag.evaluate import _ask
    from ui.app import Chat, Session

    renvoi, out = answers
    chat = Chat(renvoi)
    sessions: dict[str, Session] = {}
    page, evaluation = {}, {}
    for q, a in out:
        session = sessions.get(q.followup_of, Session()) if q.followup_of else Session()
        session, _ = chat.ask(q.question, session, renvoi.config.retrieval.k, "extractive", False)
        sessions[q.id] = session
        page[q.id] = session.turns[-1].passage_ids
        history = tuple(renvoi.turn(x) for x in _conversation(q, out))
        record, _ms, error, unavailable = _ask(renvoi, q.question, history, lambda: 0.0)
        assert error is None and unavailable is None, (q.id, error, unavailable)
        evaluation[q.id] = tuple(c.passage_id for c in record.citations)
        assert page[q.id] == evaluation[q.id] == a.cited_ids, q.id

    standalone = [q for q, _ in out if not q.followup_of]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "rag", "ask", "--jsonl", "--index-dir", str(renvoi.config.index_dir),
         "--k", str(renvoi.config.retrieval.k)],
        input="".join(q.question.replace("\n", " ") + "\n" for q in standalone),
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(lines) == len(standalone)
    by_id = {q.id: a for q, a in out}
    for q, line in zip(standalone, lines):
        assert line["status"] == by_id[q.id].status, q.id
        assert tuple(c["passage_id"] for c in line["citations"]) == evaluation[q.id], q.id


def _conversation(q, out):
    """The answers of the conversation `q` follows, oldest first."""
    answers = {x.id: (x, a) for x, a in out}
    chain = []
    parent = q.followup_of
    while parent:
        x, a = answers[parent]
        chain.append(a)
        parent = x.followup_of
    return list(reversed(chain))
