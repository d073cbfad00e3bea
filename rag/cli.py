"""The `renvoi` command line (also `python -m rag`).

Each command builds a `Config` from its flags and calls the pipeline stages;
heavy libraries (torch, faiss, gradio) are imported inside the commands that
need them, so `renvoi --help` and `renvoi inspect` start at once. Errors the
user can fix are printed as one line on stderr with a non-zero exit code,
never as a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from .config import Config

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="renvoi: answers from your articles, each claim cited to its paragraph and footnote.",
)

DEFAULT_PATHS = [Path("seeds")]


class UserError(Exception):
    """An error the user can fix; shown as one line, exit code `code`."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def _err(message: str) -> None:
    typer.echo(f"renvoi: {message}", err=True)


def _paths(paths: list[Path] | None) -> list[Path]:
    return list(paths) if paths else list(DEFAULT_PATHS)


@app.command("inspect")
def inspect_cmd(
    paths: list[Path] = typer.Argument(None, help="Files or folders to read (default: seeds/)."),
    as_json: bool = typer.Option(False, "--json", help="Print documents with all their paragraphs as JSON."),
) -> None:
    """Show how documents are parsed: metadata, sections, paragraphs, footnotes, comments, furniture dropped."""
    from .ingest import ingest_paths
    from .report import print_inspect

    corpus = ingest_paths(_paths(paths))
    for issue in corpus.issues:
        _err(f"{issue.path}: {issue.message}")
    if as_json:
        json.dump([d.to_dict() for d in corpus.documents], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print_inspect(corpus.documents)
    if not corpus.documents:
        raise UserError("no document could be read", code=1)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        app(args=argv, standalone_mode=False)
    except UserError as e:
        _err(str(e))
        return e.code
    except ValueError as e:  # bad input caught at a boundary
        _err(str(e))
        return 2
    except OSError as e:
        _err(f"{e.strerror or e}: {e.filename}" if getattr(e, "filename", None) else str(e))
        return 1
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    except Exception as e:  # click usage errors carry their own exit code
        import click

        if isinstance(e, click.exceptions.ClickException):
            e.show()
            return e.exit_code
        if isinstance(e, click.exceptions.Exit):
            return e.exit_code
        if isinstance(e, click.exceptions.Abort):
            return 1
        raise
    return 0


def run() -> None:
    sys.exit(main())
