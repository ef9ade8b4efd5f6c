"""Entry point for ``python -m segchat``."""

from segchat.cli import main

raise SystemExit(main())
