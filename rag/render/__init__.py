"""Renderers: the same `Answer` written for every surface (re-exports only).

`text` (plain text, the "answer" field), `terminal` (rich), `html` (the chat
page), `markdown` (a conversation to take away), `json` (the command line's
and the HTTP API's objects), and `cite` (a passage's reference in a citation
style). Prose comes from one message table, `rag.messages`.
"""

from .cite import STYLES, cite, passage_citation
from .json import answer_json, hits_json
from .markdown import answer_markdown, conversation_markdown
from .text import answer_text, place_name, where

__all__ = ["STYLES", "answer_json", "answer_markdown", "answer_text", "cite", "conversation_markdown", "hits_json",
           "passage_citation", "place_name", "where"]
