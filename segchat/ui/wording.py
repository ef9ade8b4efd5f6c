"""What segchat says: the engine's notice codes and errors, worded for the chat or for a one-shot run."""

from __future__ import annotations

from typing import Any

from segchat.errors import (
    AmbiguousError,
    BudgetError,
    ContextError,
    ContextTooLong,
    JobFailed,
    JobGone,
    ModelRetired,
    StillWaiting,
    UnsureBudgetError,
)
from segchat.figures import fmt_credits

REPL, ONE_SHOT = "repl", "one-shot"

# What to do about a conversation too long for the model, in the chat: said by the switch's notice and the error.
TOO_LONG_IN_THE_CHAT = "; /trim N drops the oldest exchanges, /model switches to another model"
# code -> (wording, REPL advice, one-shot advice); values fill the braces.
_NOTICES: dict[str, tuple[str, str, str]] = {
    "synced": ("session '{session}' was changed by another segchat; continuing from its latest state "
               "({added:+d} messages)", "", ""),
    "bad_credits_header": ("the server sent an unparsable credits figure: {raw!r}; credits stay unknown",
                           "", ""),
    "incomplete": ("reply incomplete: {reason}", "", ""),
    "recovered": ("recovered the reply to your earlier message from the queue (not paid for again)", "",
                  " (segchat --show {session} shows it)"),
    "recovered_elsewhere": ("another segchat already recovered the reply to your earlier message; it is kept once, "
                            "not twice", "", " (segchat --show {session} shows it)"),
    "renamed_elsewhere": ("session '{old}' was renamed to '{new}' by another segchat", "", ""),
    "restored": ("session '{old}' was deleted by another segchat; the conversation is saved again as '{new}'",
                 "", ""),
    "interrupted": ("interrupted: what arrived is kept, marked as interrupted", " (/retry asks for a new reply)",
                    " (segchat -r continues the session)"),
    "cut_at_max_tokens": ("reply cut at max_tokens", " (raise it with /set max_tokens N)",
                          " (raise it with --max-tokens N)"),
    "cut_at_server_limit": ("reply stopped at the server's own length limit (segchat set no max_tokens)", "", ""),
    "other_spending": ("the balance fell by more than this turn's tokens explain: the cost includes other "
                       "spending on the account", "", ""),
    "low_credits": ("low credits: {balance} left (warning below {threshold})", "", ""),
    "context_full": ("the conversation fills {share:.0%} of the {window:,}-token context",
                     "; /trim N drops the oldest exchanges", "; start a new session, or /trim N in the chat"),
    "model_not_in_catalogue": ("{model} is not in segchat's catalogue: sent as is, its reply read by its shape; its "
                               "context window is unknown (set [models.\"{model}\"] context_window in your config)",
                               "", ""),
    "context_too_long": ("the conversation (~{tokens:,} tokens) is longer than the {window:,}-token context window "
                         "of {model}", TOO_LONG_IN_THE_CHAT, ""),  # a one-shot refuses instead: error()
    "not_saved": ("the reply could not be saved ({reason})",
                  "; it is kept here and saved with your next message; /save PATH or /export PATH keeps a copy now",
                  "; it was printed only"),
}


# How a reply that is not whole is marked wherever it is shown (model.conversation.shortfall's codes).
_SHORTFALLS = {"interrupted": "interrupted", "length": "stopped at the length limit", "cut_off": "cut off"}


def shortfall(code: str | None) -> str:
    """The mark of a reply that is not whole, in the same words everywhere; "" for a whole one."""
    return _SHORTFALLS.get(code, "cut off") if code else ""


def notice(code: str, values: dict[str, Any], mode: str = REPL) -> str:
    text, repl_advice, one_shot_advice = _NOTICES.get(code, (code, "", ""))
    shown = {k: fmt_credits(v) if k in ("balance", "threshold") else v for k, v in values.items()}
    return (text + (repl_advice if mode == REPL else one_shot_advice)).format(**shown)


def error(exc: Exception, mode: str = REPL) -> str:
    """An error's text with the advice that fits where the user is."""
    text = str(exc)
    if isinstance(exc, UnsureBudgetError):
        return text + ("" if mode == REPL else "; the chat asks before sending in this case (segchat -r)")
    if isinstance(exc, BudgetError):
        return text + ("; raise it with /budget N" if mode == REPL else "; raise it with --max-credits N")
    if isinstance(exc, StillWaiting):
        return text + ("; /retry fetches it when it is done" if mode == REPL else "; segchat -r fetches it later")
    if isinstance(exc, JobGone):  # most likely paid for once already
        return text + ("; the message is kept unsent: /retry sends it again, and pays for it again" if mode == REPL
                       else "; the message is kept unsent: segchat -r offers it again, and sending it pays again")
    if isinstance(exc, JobFailed):  # the chat adds that /retry sends it again
        return text + ("" if mode == REPL else "; the message is kept unsent: segchat -r offers it again")
    if isinstance(exc, AmbiguousError):
        return text + ("; /retry sends it again" if mode == REPL else "; segchat -r offers it again")
    if isinstance(exc, ContextTooLong):
        return text + (TOO_LONG_IN_THE_CHAT if mode == REPL
                       else "; choose a model with a larger window with -m (segchat --models lists them), or "
                            "/trim N in the chat (segchat -r)")
    if isinstance(exc, ModelRetired):
        if mode == REPL:
            how = f"/model {exc.successor} switches to it" if exc.successor else "/model NAME switches to another"
        else:
            how = f"-m {exc.successor} asks it" if exc.successor else "-m NAME asks another"
        return f"{text}; {how}"
    if isinstance(exc, ContextError):
        return text + ("; /trim N drops the oldest exchanges, /new starts afresh" if mode == REPL
                       else "; start a new session, or /trim N in the chat (segchat -r)")
    return text
