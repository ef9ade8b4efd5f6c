"""What a slash command may use: the engine, the printer, the command table and a few chat actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from segchat.engine.chat import Chat
    from segchat.model.attachments import Attachment
    from segchat.model.call import Call
    from segchat.model.turn import Notice
    from segchat.store.session_row import SessionInfo
    from segchat.tui.commands.registry import Registry
    from segchat.ui.render import Renderer


class CommandHost(Protocol):
    """Implemented by the REPL; commands never see more of it than this."""

    chat: Chat
    renderer: Renderer
    registry: Registry
    model_ids: list[str]  # what the server lists, once fetched
    attached: list[Attachment]  # files for the next message

    def attach(self, files: list[Attachment]) -> None: ...

    def run_request(self, request: Callable[[Call], Any]) -> Any: ...

    def retry(self, text: str | None = None) -> None: ...

    def resume(self, info: SessionInfo) -> None: ...

    def show_notices(self, notices: list[Notice]) -> None: ...

    def quit(self) -> None: ...
