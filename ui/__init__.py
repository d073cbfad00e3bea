"""The chat page of renvoi (Gradio). This package only re-exports; gradio itself is
imported when the page is built, not when this package is imported."""

from .app import Chat, Session, build_app, launch

__all__ = ["Chat", "Session", "build_app", "launch"]
