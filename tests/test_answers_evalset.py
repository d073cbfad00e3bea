"""Every answer to every question of eval/questions.jsonl keeps renvoi's promises.

Whatever the quality figures say, an answer must never misquote or mis-cite:
each quoted sentence is verbatim from the paragraph its marker points to, every
marker resolves to a citation, every listed citation is used, markers are
numbered by first use, every footnote exists in its document, and an
abstention cites nothing. Runs the real model over the seeds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rag.config import Config
from rag.pipeline import Renvoi
from rag.records import Turn

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"^- .*?« (.*) » \[(\d+)\]$")


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    config = Config(index_dir=tmp_path_factory.mktemp("evalset") / "index")
    renvoi = Renvoi.open(config, [ROOT / "seeds"], progress=False, notify=lambda m: None)
    questions = [json.loads(l) for l in (ROOT / "eval" / "questions.jsonl").read_text("utf-8").splitlines() if l.strip()]
    out, by_id = [], {}
    for q in questions:
        history = []
        if q.get("followup_of") and q["followup_of"] in by_id:
            prev = by_id[q["followup_of"]]
            history = [Turn(prev.question, prev.text, prev.resolved_question,
                            tuple(c.passage.id for c in prev.citations))]
        a = renvoi.ask(q["question"], history=history)
        by_id[q["id"]] = a
        out.append((q, a))
    return renvoi, out


@pytest.mark.model
def test_every_answer_quotes_verbatim_and_cites_exactly(answers):
    renvoi, out = answers
    assert len(out) >= 60
    for q, a in out:
        by_marker = {c.marker: c for c in a.citations}
        if a.abstained:
            assert not a.citations and not re.search(r"\[\d+\]", a.text), q["id"]
            continue
        quoted = [LINE.match(l) for l in a.text.splitlines() if l.startswith("- ")]
        assert quoted and all(quoted), f"{q['id']}: every answer line is a quote with its marker"
        used = []
        for m in quoted:
            n = int(m.group(2))
            assert n in by_marker, f"{q['id']}: marker [{n}] resolves to no citation"
            assert m.group(1) in by_marker[n].passage.text, f"{q['id']}: quote not verbatim from [{n}]"
            used.append(n)
        assert set(used) == set(by_marker), f"{q['id']}: a listed citation is not used"
        first_use = list(dict.fromkeys(used))
        assert first_use == list(range(1, len(first_use) + 1)), f"{q['id']}: markers not numbered by first use"
        for c in a.citations:
            doc = renvoi.documents[c.passage.doc_id]
            assert c.document.id == doc.id
            for f in c.footnotes:
                assert doc.footnote(f.number) == f, f"{q['id']}: note {f.number} not in {doc.id}"
