"""`python -m rag` and the `renvoi` console script: the command line, Ctrl-C included.

Ctrl-C (SIGINT) is caught from the first instruction, before the command line's
imports, and raised as `Interrupted`, which no library mistakes for its own
KeyboardInterrupt handling: the command stops, its clean-ups run (an index being
built is left unpublished, the previous one stays current), and renvoi prints
one line and exits with 130, the shell's code for it, at any moment.
"""

import signal
import sys


class Interrupted(BaseException):
    """Ctrl-C: a BaseException, so that `except Exception` clauses let it through."""


def _on_sigint(signum, frame):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
    raise Interrupted


def run() -> None:
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        from rag.cli import main

        code = main()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the work is done: exit with its code
    except (Interrupted, KeyboardInterrupt):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("renvoi: interrupted", file=sys.stderr)
        code = 130
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass
    sys.exit(code)


if __name__ == "__main__":
    run()
