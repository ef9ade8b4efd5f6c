"""One question, one reply: streamed or whole, on a terminal or a pipe, with one-shot advice."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from segchat.errors import EXIT_INTERRUPTED, EXIT_OK

if TYPE_CHECKING:
    from segchat.attachments import Attachment
    from segchat.chat import Chat


def ask(chat: Chat, prompt: str, files: list[Attachment]) -> int:
    """Send prompt (with files), print the reply to stdout and notices to stderr; the exit status."""
    from segchat import words
    from segchat.errors import redact
    from segchat.http import Call
    from segchat.render import Renderer, sanitize

    plain = not sys.stdout.isatty() or bool(os.environ.get("NO_COLOR"))
    renderer = Renderer(rich_output=not plain, code_theme=chat.config.code_theme)
    views: list[Any] = []  # made at the first piece of a streamed reply

    def feed(text: str) -> None:
        if not views:
            views.append(renderer.stream())
        views[0].feed(text)

    try:
        turn = chat.send(prompt, lambda request: request(Call(on_delta=feed)), files=files)
    except BaseException:
        for view in views:
            view.abort()
        raise
    if views:
        (views[0].abort if turn.reply.interrupted else views[0].finish)()
    elif turn.reply.content or not turn.reply.streamed:
        renderer.reply(turn.reply.content)
    for notice in turn.notices:
        text = words.notice(notice.code, notice.values, words.ONE_SHOT)
        print(f"segchat: {sanitize(redact(text))}", file=sys.stderr, flush=True)
    return EXIT_INTERRUPTED if turn.reply.interrupted else EXIT_OK
