"""renvoi: question answering over articles with paragraph- and footnote-level citations.

This package only re-exports; each pipeline stage lives in its own module.
"""

from .config import Config
from .records import Answer, Citation, Comment, Document, Footnote, Hit, Paragraph, Section, Turn

__all__ = [
    "Answer",
    "Citation",
    "Comment",
    "Config",
    "Document",
    "Footnote",
    "Hit",
    "Paragraph",
    "Section",
    "Turn",
]
