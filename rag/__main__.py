"""`python -m rag` runs the renvoi command line."""

from .cli import run

run()
