"""Composers: from a `Query` and its `Evidence` to an `Answer` (re-exports only).

`extractive` quotes the best sentences (the default, no language model);
`generative` checks what a language model (`llm`) wrote (`verify`).
"""

from .extractive import compose as compose_extractive
from .extractive import small_talk_answer
from .generative import Generated, build_messages, draft
from .generative import compose as compose_generated
from .llm import GenerationError, Generator, load_generator

__all__ = [
    "GenerationError",
    "Generated",
    "Generator",
    "build_messages",
    "compose_extractive",
    "compose_generated",
    "draft",
    "load_generator",
    "small_talk_answer",
]
