"""Entry point for ``python -m segchat``."""

from segchat.cli import run

run()
