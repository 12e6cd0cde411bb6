"""The command line. `main` is the console script: a Tab press is answered from the generated
completion table before Typer is even imported; anything else runs the app."""

from __future__ import annotations

import os
import sys


def main() -> None:
    if os.environ.get("_MAILADMIN_COMPLETE"):
        from mailadmin.cli.completion import complete

        code, text = complete(os.environ)
        if text:
            sys.stdout.write(text + "\n")
        sys.exit(code)
    from mailadmin.cli.app import main as run

    run()
