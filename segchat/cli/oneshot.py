"""One question, one reply: streamed or whole, on a terminal or a pipe, with one-shot advice."""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable

from segchat.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, APIError, Cancelled, JobFailed, UnsentTaken
from segchat.providers import configured
from segchat.text.sanitize import safe
from segchat.ui import progress
from segchat.ui import wording as words
from segchat.ui.render import Renderer, styled

if TYPE_CHECKING:
    from decimal import Decimal

    from segchat.config.settings import Config
    from segchat.engine.chat import Chat
    from segchat.model.attachments import Attachment


def _say(text: str) -> None:
    """A one-shot's notice: on stderr, so stdout stays the reply alone."""
    print(f"segchat: {safe(text)}", file=sys.stderr, flush=True)


def _recover(chat: Chat, spinner: Any) -> None:
    """Replies of this session's earlier queued messages, fetched (not paid again) and kept before asking more."""
    # stdout is this question's answer alone: a recovered reply is stored, and --show shows it.
    quiet = Renderer(out=io.StringIO(), rich_output=False)
    for unsent in chat.stranded():
        try:
            turn = chat.recover(lambda request: progress.run(request, spinner, quiet), unsent)
        except UnsentTaken:  # another segchat recovers it at the same moment: it is stored once, by that one
            _say(words.notice("recovered_elsewhere", {"session": chat.session.name}, words.ONE_SHOT))
            continue
        except JobFailed as exc:  # failed, or gone: the job is dropped from the message, which stays unsent
            reason = words.error(exc, words.ONE_SHOT)
            _say(f"the earlier queued message {unsent.text[:40]!r} has no reply to fetch: {reason}")
            continue
        except (APIError, Cancelled) as exc:
            reason = words.error(exc, words.ONE_SHOT)
            _say(f"the earlier queued message {unsent.text[:40]!r} has no reply yet: {reason}")
            continue
        if turn is not None:
            _say(words.notice("recovered", {"session": chat.session.name}, words.ONE_SHOT))


def prefetch_balance(config: Config) -> Callable[[], Decimal | None]:
    """Start asking for the balance now (overlapping start-up); the returned wait() gives it, or None."""
    found: list[Decimal | None] = []

    def fetch() -> None:
        provider = configured.build(config)
        try:
            found.append(provider.balance().credits)
        except Exception:  # unknown then: the turn is priced by a fetch after it instead
            pass
        finally:
            provider.close()

    worker = threading.Thread(target=fetch, daemon=True, name="segchat-balance")
    worker.start()

    def wait() -> Decimal | None:
        worker.join(min(config.timeout, 5.0))  # a slow balance must not hold the question: priced after instead
        return found[0] if found else None

    return wait


def ask(chat: Chat, prompt: str, files: list[Attachment], balance: Callable[[], Decimal | None] | None = None) -> int:
    """Send prompt (with files), print the reply to stdout and notices to stderr; the exit status.

    balance: the starting balance (see prefetch_balance), so this turn's cost is known.
    """
    renderer = Renderer(rich_output=styled(sys.stdout), code_theme=chat.config.code_theme)
    # The wait is shown on stderr, and only when it is a terminal: stdout stays the reply alone.
    spinner = Renderer(out=sys.stderr, rich_output=styled(sys.stderr))
    if balance is not None:
        chat.ledger.observe(balance())
    if files and chat.provider.asks_window:  # the files are checked against the window the server states
        with contextlib.suppress(APIError):
            chat.learn_window(lambda request: progress.run(request, spinner, renderer))
    for notice in chat.model_notices():  # a conversation too long for the model is refused by send(), saying so
        if notice.code != "context_too_long":
            _say(words.notice(notice.code, notice.values, words.ONE_SHOT))
    _recover(chat, spinner)
    turn = chat.send(prompt, lambda request: progress.run(request, spinner, renderer), files=files)
    if not turn.reply.streamed:  # a streamed reply is on screen already, its reasoning before it
        renderer.reasoning(turn.reply.reasoning)  # only when stdout is a terminal: a pipe gets the reply alone
        renderer.reply(turn.reply.content)
    chat.settle(turn)
    if renderer.broken:
        raise BrokenPipeError  # the reply is saved; the reader left: end as a closed pipe ends
    for notice in turn.notices:
        _say(words.notice(notice.code, notice.values, words.ONE_SHOT))
    if turn.reply.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_ERROR if turn.reply.incomplete else EXIT_OK  # a cut-off reply is kept, but a script must know
