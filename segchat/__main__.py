"""Entry point for ``python -m segchat``."""

from segchat.cli.main import run

run()
