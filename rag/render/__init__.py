"""Renderers: the same `Answer` written for every surface (re-exports only).

`text` (plain text, the "answer" field), `terminal` (rich), `html` (the chat
page), `markdown` (a conversation to take away), `json` (the command line's
and the HTTP API's objects). Prose comes from one message table, `rag.messages`.
"""

from .json import answer_json, hits_json
from .text import answer_text, place_name, where

__all__ = ["answer_json", "answer_text", "hits_json", "place_name", "where"]
