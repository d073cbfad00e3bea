"""renvoi: question answering over documents with paragraph- and footnote-level citations.

This package only re-exports; each pipeline stage lives in its own module. The
names are loaded when first used, so that `renvoi` starts (and catches Ctrl-C)
before anything heavy is imported.
"""

from importlib import import_module

_EXPORTS = {
    "Config": ".config",
    **{name: ".records" for name in (
        "Answer", "Attribution", "Citation", "Claim", "Comment", "Document", "Dropped", "Evidence", "Footnote",
        "Hit", "NoteCall", "Paragraph", "Query", "Section", "Sentence", "Span", "Turn",
    )},
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name], __name__), name)
