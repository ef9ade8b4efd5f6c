"""The command line: arguments, the one error boundary, one-shot questions, session flags.

run() is the console script. It answers `segchat --version` before anything else is imported (scripts ask it
often, and it should cost no more than starting Python); every other run goes to main.run.
"""

import sys

from segchat import __version__


def run() -> None:
    if sys.argv[1:] == ["--version"]:
        print(f"segchat {__version__}")
        raise SystemExit(0)
    from segchat.cli import main

    main.run()
