"""The interactive loop: read a line, run a command or a turn, show the result."""

from __future__ import annotations

import os
import sqlite3
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from prompt_toolkit import PromptSession
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.renderer import CPR_Support
from prompt_toolkit.styles import Style

from segchat.engine.chat import Chat
from segchat.errors import (
    AmbiguousError,
    APIError,
    BudgetError,
    Cancelled,
    ContextTooLong,
    CreditsError,
    JobGone,
    SegchatError,
    StillWaiting,
    UnsentTaken,
    UnsureBudgetError,
)
from segchat.figures import fmt_credits
from segchat.model import attachments
from segchat.model.attachments import Attachment, describe
from segchat.model.call import Call
from segchat.model.turn import Notice, Turn
from segchat.private_files import private_dir, private_file
from segchat.store.session_row import SessionInfo
from segchat.tui.commands.registry import Registry, build_registry
from segchat.tui.keybindings import build_key_bindings
from segchat.tui.slash_completer import SlashCompleter
from segchat.tui.toolbar import make_toolbar
from segchat.ui import progress
from segchat.ui import wording as words
from segchat.ui.render import Renderer, colour_allowed

if TYPE_CHECKING:
    from pathlib import Path

T = TypeVar("T")

STYLE = Style.from_dict({
    "bottom-toolbar": "noreverse bg:#303040 #d0d0d0",
    "bottom-toolbar.model": "noreverse bg:#303040 #87d7ff bold",
    "bottom-toolbar.sep": "noreverse bg:#303040 #707080",
    "bottom-toolbar.low": "noreverse bg:#803030 #ffffff bold",
    "prompt": "#87d7ff bold",
})
PREVIEW_EXCHANGES = 3


class Repl:
    """Owns the prompt; everything about a turn's state lives in Chat."""

    def __init__(self, chat: Chat, renderer: Renderer, *, history: str | Path | None = None,
                 input: Any = None, output: Any = None, registry: Registry | None = None) -> None:
        self.chat, self.renderer = chat, renderer
        self.registry = registry or build_registry()
        self.done = False
        self.model_ids: list[str] = []  # what the server lists, fetched in the background
        self.attached: list[Attachment] = []  # files for the next message
        self._io = {"input": input, "output": output}
        self._next_input = ""
        # Without colour (colour_allowed: NO_COLOR, --no-color) prompt_toolkit draws in one bit, in its own
        # style: the toolbar and the chosen completion in reverse video, which is not colour.
        colour = colour_allowed()
        self.prompt: PromptSession = PromptSession(
            message=[("class:prompt", "› ")],
            history=_history(history),
            bottom_toolbar=make_toolbar(chat),
            completer=SlashCompleter(self),
            complete_while_typing=False,
            key_bindings=build_key_bindings(),
            style=STYLE if colour else None,
            color_depth=None if colour else ColorDepth.DEPTH_1_BIT,
            input=input,
            output=output,
            enable_history_search=False,
        )

    def run(self, on_ready: Callable[[], None] | None = None) -> int:
        """Loop until /quit or Ctrl-D; one command's or turn's failure never ends it. on_ready runs once the
        first prompt and its toolbar are on the screen."""
        self.chat.context_tokens()  # the toolbar's figure
        self.show_context()
        self.show_notices(self.chat.model_notices())
        self.guarded(self.recover)
        first = self._after_first_render(on_ready) if on_ready is not None else None
        while not self.done:
            default, self._next_input = self._next_input, ""
            try:
                text = self.prompt.prompt(default=default, pre_run=first)
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line
            except EOFError:
                break
            finally:
                first = None  # once, when the first prompt is up
            self.handle(text)
        return 0

    def _after_first_render(self, action: Callable[[], None]) -> Callable[[], None]:
        """pre_run runs before the prompt is drawn; work started there (a thread importing httpx) would hold
        up the drawing. This runs action once the prompt and its toolbar are on the screen instead.

        The toolbar is drawn once the renderer knows the rows below the cursor, from the terminal's answer to the
        position request the first drawing sends: not before that answer, unless the terminal gives none.
        """
        app = self.prompt.app

        def once(_: object) -> None:
            if not app.renderer.height_is_known and app.renderer.cpr_support is not CPR_Support.NOT_SUPPORTED:
                return  # the toolbar waits for the terminal's answer, and so does action
            app.after_render -= once
            action()

        return lambda: app.after_render.add_handler(once)

    def handle(self, text: str) -> None:
        if not text.strip():
            return
        if text.startswith("/") and not text.startswith("//"):
            self.guarded(lambda: self.registry.dispatch(self, text))
        else:
            self.guarded(lambda: self.send(text[1:] if text.startswith("//") else text))

    def guarded(self, action: Callable[[], None]) -> None:
        """Run a command or a turn; whatever goes wrong is told, and the chat goes on."""
        try:
            action()
        except SegchatError as exc:
            self.renderer.error(words.error(exc))
        except KeyboardInterrupt:  # Ctrl-C while output was still being written: stop it, keep the chat
            self.renderer.notice("stopped")
        except sqlite3.Error as exc:  # locked, read-only, full: the store's trouble, told as such
            self.renderer.error(f"the session store failed: {exc}; nothing was changed")
        except Exception as exc:  # a bug in one command must not end the session or lose the conversation
            saved = "" if self.chat.unsaved else " (the conversation is saved)"
            self.renderer.error(f"internal error: {type(exc).__name__}: {exc}{saved}")

    # -- turns ---------------------------------------------------------------------------------

    def send(self, text: str) -> None:
        files = self.attached
        if files:
            self.renderer.notice("with " + ", ".join(describe(f) for f in files))
        if self._turn(lambda sure: self.chat.send(text, self.run_request, files=files, confirmed=sure), text) or \
                self.chat.conversation.unsent is not None:
            self.attached = []  # they went with the message (or wait with it, unsent, for /retry)

    def attach(self, files: list[Attachment]) -> None:
        """Add files to the next message, refusing one that would overflow the context."""
        self.chat.check_fits([*self.attached, *files])
        self.attached += files
        for item in files:
            self.renderer.notice(f"attached {describe(item)} to your next message")

    def retry(self, text: str | None = None) -> None:
        """Ask again for the last reply, or replace the last message with text (/edit)."""
        if not self._turn(lambda sure: self.chat.regenerate(self.run_request, text, sure), text) and text is not None:
            self._next_input = self._next_input or text  # the edit was not answered: keep it in the input box

    def _turn(self, call: Callable[[bool], Turn | None], text: str | None, sure: bool = False) -> bool:
        """Run one turn and show its outcome; False when it did not produce a reply.

        call(sure): sure means the user agreed to send although a budget is set and some costs are unknown.
        """
        try:
            turn = call(sure)
        except ContextTooLong as exc:  # segchat's count is an estimate: the user may send all the same
            self.renderer.warning(words.error(exc))
            if self.confirm("send anyway? [y/N] "):
                self.chat.allow_overflow()
                return self._turn(call, text, sure)
            self._next_input = text or ""
            return False
        except UnsureBudgetError as exc:
            self.renderer.warning(words.error(exc))
            if self.confirm("send anyway? [y/N] "):
                return self._turn(call, text, sure=True)
            self._next_input = text or ""
            return False
        except Cancelled:
            unsent = self.chat.conversation.unsent
            if unsent is not None and unsent.meta.get("job"):
                self.renderer.notice("stopped waiting; the queued request goes on at Segmind: /retry fetches its "
                                     "reply without paying again")
            else:
                self.renderer.notice("cancelled; the conversation is as it was (/retry sends the message again)")
            return False
        except CreditsError as exc:
            self.renderer.error(words.error(exc))
            unsent = self.chat.conversation.unsent
            self._next_input = unsent.text if unsent is not None else text or ""
            if unsent is not None:
                self.attached = attachments.of(unsent.meta)  # back with the text, for when credits are topped up
            if self._next_input:
                self.chat.forget_unsent()
            return False
        except BudgetError as exc:
            self.renderer.error(words.error(exc))
            self._next_input = text or ""  # refused, not lost: it goes back in the input box
            return False
        except APIError as exc:
            self.renderer.error(words.error(exc))  # these three say themselves what /retry does now
            if self.chat.conversation.unsent is not None and \
                    not isinstance(exc, (AmbiguousError, StillWaiting, JobGone)):
                self.renderer.notice("the message was not answered; /retry sends it again")
            return False
        except UnsentTaken:  # another segchat recovered it at the same moment: stored once, by that one
            self.renderer.warning(words.notice("recovered_elsewhere", {"session": self.chat.session.name}))
            return False
        if turn is None:
            return False
        if not turn.reply.streamed:  # a streamed reply is on screen already, its reasoning before it
            self.renderer.reasoning(turn.reply.reasoning)
            self.renderer.reply(turn.reply.content)
        self.chat.settle(turn)  # only now, with the reply safe and shown: a cost the header did not give
        self.renderer.notice(_cost_line(turn, self.chat))
        self.show_notices(turn.notices)
        return True

    def show_notices(self, notices: list[Notice]) -> None:
        for notice in notices:
            self.renderer.warning(words.notice(notice.code, notice.values))

    def run_request(self, request: Callable[[Call], T]) -> T:
        """Run a request with a spinner, its streamed text shown as it comes; Ctrl-C abandons it at once."""
        return progress.run(request, self.renderer, self.renderer)

    # -- sessions ------------------------------------------------------------------------------

    def resume(self, info: SessionInfo) -> None:
        self.chat.switch(info)
        self.show_context()
        self.show_notices(self.chat.model_notices())
        self.recover()  # a command already: errors reach the command's own guard

    def recover(self) -> None:
        """An unsent message with a queued job: its reply may be ready, paid for already; fetch it first."""
        unsent = self.chat.conversation.unsent
        if unsent is not None and unsent.meta.get("job"):
            self.renderer.notice("your last message went to Segmind's queue; asking for its reply…")
            self._turn(lambda sure: self.chat.recover(self.run_request), None)

    def show_context(self) -> None:
        """On start or resume: the session, its system prompt, the last few exchanges, the unsent message."""
        chat, r = self.chat, self.renderer
        conversation = chat.conversation
        pairs = conversation.exchanges()
        more, pairs = len(pairs) > PREVIEW_EXCHANGES, pairs[-PREVIEW_EXCHANGES:]
        shown = [(user.content + "".join(f"\n  + {describe(f)}" for f in attachments.of(user.meta)), reply)
                 for user, reply in pairs]
        if pairs:
            r.notice(f"session '{chat.session.name}': {len(conversation.messages)} messages"
                     + (f", showing the last {PREVIEW_EXCHANGES} exchanges (/history shows all)" if more else ""))
            for text, reply in shown:
                r.exchange("user", text)
                if reply is not None:
                    r.exchange("assistant", reply.content, mark=words.shortfall(reply.shortfall))
        if conversation.system:
            r.exchange("system", conversation.system, limit=200)
        if conversation.unsent:
            r.warning(f"unsent message from last time: {conversation.unsent.text[:200]!r}; /retry sends it")
        if not pairs:
            r.notice("segchat — Enter sends, Alt-Enter adds a line, /help lists commands, Ctrl-D quits")

    def confirm(self, question: str) -> bool:
        """A yes/no question on the chat's own terminal; anything but y or yes is no."""
        try:
            answer = PromptSession(input=self._io.get("input"), output=self._io.get("output")).prompt(question)
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")

    def quit(self) -> None:
        self.done = True

    def refresh(self) -> None:
        """Redraw the toolbar from another thread (the start-up credits fetch)."""
        app = self.prompt.app
        if app.is_running:
            app.invalidate()


def _cost_line(turn: Turn, chat: Chat) -> str:
    reply = turn.reply
    parts = [f"{reply.elapsed:.1f}s"]
    if chat.provider.has_credits:
        others = " (includes other spending)" if any(n.code == "other_spending" for n in turn.notices) else ""
        parts.insert(0, f"cost {fmt_credits(turn.cost)}{others}" if turn.cost is not None else "cost unknown")
    usage = reply.usage or {}
    if isinstance(usage.get("prompt_tokens"), int) and isinstance(usage.get("completion_tokens"), int):
        parts.append(f"{usage['prompt_tokens']} + {usage['completion_tokens']} tokens")
    if chat.provider.has_credits and chat.ledger.balance is not None:
        parts.append(f"balance {fmt_credits(chat.ledger.balance)}")
    return " · ".join(parts)


def _history(path: str | Path | None) -> Any:
    if path is None:
        return InMemoryHistory()
    private_dir(os.path.dirname(os.fspath(path)))
    private_file(path)  # FileHistory would create it 0644; what people type is theirs alone
    return FileHistory(str(path))
