"""The claim verifier: an NLI cross-encoder judging whether a passage entails a claim.

A natural-language-inference model reads a premise (a cited passage) with a
hypothesis (a generated sentence) and says whether the premise entails it,
contradicts it, or neither. Models name their outputs in their config's
`id2label` ("entailment", "ENTAILMENT", "contradiction"…) in the order they
were trained with, which differs from model to model: `nli_labels` maps them
by name, never by position. `Verifier.judge` returns an `Entailment` record;
the checks of `rag.compose.verify` keep a generated claim only when a passage
it cites entails it, and name a contradiction when that is the verdict. The
evaluation scores ALCE's citation recall and precision with the same judge.
The model is loaded by `rag.crossencoder` from a folder or a hub name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..crossencoder import load_cross_encoder
from ..records import ENTAILMENT_LABELS, Entailment

# How models spell their outputs (lower-cased): "entailment", "ENTAILMENT", "entails",
# "contradiction", "CONTRADICTION", "contradictory", "neutral"; "not_entailment" is no entailment.
_SPELLINGS = {"entailment": ("entail",), "contradiction": ("contradict",), "neutral": ("neutral",)}


def nli_labels(id2label: Mapping[int, str]) -> dict[str, int]:
    """The output index of each judgement the model names ("entailment", and "contradiction"
    and "neutral" when it has them), read from its `id2label`; a ValueError when no output
    is named entailment."""
    found: dict[str, int] = {}
    for index, name in id2label.items():
        spelled = str(name).strip().lower()
        for label, prefixes in _SPELLINGS.items():
            if spelled.startswith(prefixes):
                if label in found:
                    raise ValueError(f"two outputs are named {label}: {dict(id2label)}")
                found[label] = int(index)
    if "entailment" not in found:
        names = ", ".join(f"{i}: {n}" for i, n in sorted(id2label.items()))
        raise ValueError(f"no output is named entailment (id2label {{{names}}}): an NLI model names its "
                         "outputs entailment, neutral, contradiction")
    return found


class Verifier:
    """A loaded NLI cross-encoder with its outputs mapped to judgements."""

    def __init__(self, model: Any, name: str, labels: Mapping[str, int], batch_size: int = 16):
        self.model = model
        self.name = name
        self.labels = dict(labels)
        self.batch_size = batch_size

    @classmethod
    def load(cls, name: str) -> "Verifier":
        """The NLI model `name` (folder or hub name); a ValueError of one line when it cannot
        be had or does not name its entailment output."""
        model = load_cross_encoder(name, "verifier")
        config = getattr(model, "config", None) or model.model.config
        outputs = int(getattr(model, "num_labels", 0) or len(config.id2label))
        if outputs < 2:
            raise ValueError(f"verifier {name!r} has {outputs} output; an NLI model has one per judgement "
                             "(entailment, neutral, contradiction): a one-output cross-encoder is a --reranker")
        try:
            labels = nli_labels(config.id2label)
        except ValueError as e:
            raise ValueError(f"verifier {name!r}: {e}") from None
        return cls(model, name, labels)

    def judge_many(self, pairs: Sequence[tuple[str, str]]) -> list[Entailment]:
        """The judgement of each (premise, hypothesis) pair."""
        if not pairs:
            return []
        probs = np.asarray(self.model.predict(list(pairs), batch_size=self.batch_size, apply_softmax=True,
                                              show_progress_bar=False), dtype=np.float64)
        probs = probs.reshape(len(pairs), -1)
        return [Entailment(**{label: float(row[self.labels[label]]) for label in ENTAILMENT_LABELS
                              if label in self.labels}) for row in probs]

    def judge(self, premise: str, hypothesis: str) -> Entailment:
        """Whether `premise` entails `hypothesis`, contradicts it, or neither."""
        return self.judge_many([(premise, hypothesis)])[0]

    def entails(self, premise: str, hypothesis: str, entail_min: float = 0.5) -> bool:
        """Whether `premise` entails `hypothesis`: its entailment probability reaches
        `entail_min` and contradiction is not the likelier judgement."""
        judged = self.judge(premise, hypothesis)
        return judged.entailment >= entail_min and judged.label != "contradiction"
