"""Resuming a long session: the preview paired from the end, the deferred work run once the toolbar is up.
Each is checked against what the plain way gives."""

from __future__ import annotations

import io
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.renderer import CPR_Support

from segchat import attachments
from segchat.attachments import describe
from segchat.conversation import Conversation, Draft, Message
from segchat.render import Renderer
from segchat.repl import PREVIEW_EXCHANGES, Repl

# -- the preview, paired from the end -----------------------------------------------------------------

roles = st.lists(st.sampled_from(["user", "assistant", "system"]), max_size=40)


@given(roles, st.integers(min_value=1, max_value=5))
def test_recent_is_the_end_of_exchanges(sequence, count):
    conversation = Conversation(None, [Message(role, f"{role} {n}") for n, role in enumerate(sequence)])
    pairs = conversation.exchanges()
    recent, more = conversation.recent(count)
    assert [tuple(map(id, pair)) for pair in recent] == [tuple(map(id, pair)) for pair in pairs[-count:]]
    assert more == (len(pairs) > count)


def old_show_context(chat, r) -> None:
    """show_context as it was: every exchange paired, then the last few written."""
    conversation = chat.conversation
    pairs = conversation.exchanges()
    if pairs:
        hidden = len(pairs) - PREVIEW_EXCHANGES
        r.notice(f"session '{chat.session.name}': {len(conversation.messages)} messages"
                 + (f", showing the last {PREVIEW_EXCHANGES} exchanges (/history shows all)" if hidden > 0 else ""))
        for user, reply in pairs[-PREVIEW_EXCHANGES:]:
            r.exchange("user", user.content + "".join(f"\n  + {describe(f)}" for f in attachments.of(user.meta)))
            if reply is not None:
                r.exchange("assistant", reply.content)
    if conversation.system:
        r.exchange("system", conversation.system, limit=200)
    if conversation.pending:
        r.warning(f"unsent message from last time: {conversation.pending.text[:200]!r}; /retry sends it")
    if not pairs:
        r.notice("segchat — Enter sends, Alt-Enter adds a line, /help lists commands, Ctrl-D quits")


FILE = {"attachments": [{"name": "notes.txt", "text": "a line\n" * 3}]}


@given(st.lists(st.tuples(st.sampled_from(["user", "assistant", "system"]), st.booleans()), max_size=14),
       st.booleans(), st.booleans())
def test_the_preview_is_written_as_before(rows, system, pending):
    chat = SimpleNamespace(session=SimpleNamespace(name="s"), conversation=Conversation(
        "be brief" if system else None, [Message(role, f"{role} {n}", meta=dict(FILE) if filed else {})
                                         for n, (role, filed) in enumerate(rows)],
        Draft("left over") if pending else None))
    new, old = io.StringIO(), io.StringIO()
    Repl.show_context(SimpleNamespace(chat=chat, renderer=Renderer(out=new, rich_output=True)))  # type: ignore
    old_show_context(chat, Renderer(out=old, rich_output=True))
    assert new.getvalue() == old.getvalue()


# -- the deferred work waits for the toolbar ----------------------------------------------------------


class FakeRenderer:
    def __init__(self, known: bool, cpr: CPR_Support) -> None:
        self.height_is_known, self.cpr_support = known, cpr


def test_deferred_work_runs_once_the_toolbar_can_be_drawn(make_chat):
    repl = Repl(make_chat(), Renderer(out=io.StringIO(), rich_output=False), output=DummyOutput())
    app, ran = repl.prompt.app, []
    repl._after_first_render(lambda: ran.append(1))()
    renderer = app.renderer
    try:
        app.renderer = FakeRenderer(False, CPR_Support.UNKNOWN)  # the terminal has not answered yet
        app.after_render.fire()
        assert ran == []
        app.renderer = FakeRenderer(True, CPR_Support.SUPPORTED)  # answered: this drawing had the toolbar
        app.after_render.fire()
        app.after_render.fire()
        assert ran == [1]
        repl._after_first_render(lambda: ran.append(2))()
        app.renderer = FakeRenderer(False, CPR_Support.NOT_SUPPORTED)  # no answer will come: no toolbar either
        app.after_render.fire()
        assert ran == [1, 2]
    finally:
        app.renderer = renderer
