"""Command line: parse argv, build everything, run the REPL or one question; the one error boundary."""

from __future__ import annotations

import os
import sys

from segchat import __version__
from segchat.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    ConfigError,
    SegchatError,
    SessionNotFound,
    UsageError,
    redact,
)

# Only what `segchat --version` needs is imported up here; the rest loads on demand (start-up time).
_NO_PROFILE = ""  # asks config.load for the top-level settings, whatever profile the file names
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; checkers read it as True
if TYPE_CHECKING:
    import argparse
    from pathlib import Path
    from typing import Any

    from segchat.chat import Chat
    from segchat.config import Config
    from segchat.store import SessionInfo, Store
    from segchat.terminal import Tty


EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a program ended by SIGPIPE


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    for stream in (sys.stdout, sys.stderr):
        # A terminal or pipe that cannot encode a character gets a replacement, not a traceback.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    if argv == ["--version"]:
        # Answered before argparse and its parser are built: scripts ask this often, and it should cost nothing.
        print(f"segchat {__version__}")
        return EXIT_OK
    from segchat.args import build_parser

    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except SegchatError as exc:
        from segchat import words

        _stderr(f"segchat: error: {_clean(words.error(exc, words.ONE_SHOT))}")
        return exc.exit_code
    except KeyboardInterrupt:
        _stderr("segchat: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `segchat --list | head -1`: the reader left; say nothing, as other tools do
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # the one boundary: a bug must not dump a traceback (or a key) on the user
        if type(exc).__module__ == "sqlite3":  # locked, read-only, full: the store's trouble, not a bug
            _stderr(f"segchat: error: the session store failed: {_clean(str(exc))}")
            return EXIT_ERROR
        if args.debug:
            import traceback

            _stderr(_clean("".join(traceback.format_exception(exc))))
        else:
            _stderr(f"segchat: internal error: {type(exc).__name__}: {_clean(str(exc))} (--debug shows more)")
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    from segchat import config as cfg

    path = cfg.config_path(args.config)
    if args.config_path:
        print(path)
        return EXIT_OK
    if (args.config or os.environ.get("SEGCHAT_CONFIG")) and not path.is_file():
        given = "--config" if args.config else "SEGCHAT_CONFIG"
        raise ConfigError(f"{given} {path}: no such file")
    flags = {k: getattr(args, k) for k in ("profile", "base_url", "model", "temperature", "max_tokens", "top_p",
                                           "timeout", "max_credits")}
    config = cfg.load(path, flags)
    if args.max_credits is not None and not config.has_credits:
        raise UsageError(f"--max-credits is a credit budget, and the {config.provider} provider has no credits")
    for warning in config.warnings:
        _stderr(f"segchat: warning: {_clean(warning)}")
    from segchat.manage import check_arguments, manage

    check_arguments(args)
    if manage(args, _store):
        return EXIT_OK
    prompt = " ".join(args.prompt).strip()
    if args.prompt and not prompt:
        raise UsageError("the prompt is empty")
    from segchat.terminal import system_prompt

    system = system_prompt(args.system, args.system_file)
    from segchat.terminal import open_tty

    tty = None if prompt else _terminal()
    if not prompt and tty is None:
        raise UsageError("no PROMPT given and no terminal to chat on; pass the question as arguments: "
                         "segchat \"your question\"")
    store = _store()
    info, config = _session(config, store, args, system, path, flags)
    if config.api_key is None and config.provider == "segmind":
        config = _ask_key(config, path, tty or open_tty())
    chat = _chat(config, store, args, info)
    try:
        if prompt:
            return _one_shot(chat, prompt)
        assert tty is not None  # checked above: a chat needs a terminal
        return _repl(chat, tty)
    finally:
        chat.close()


def _terminal() -> Tty | None:
    from segchat.terminal import is_tty, open_tty, stdio_tty

    return stdio_tty() if is_tty(sys.stdin) and is_tty(sys.stdout) else open_tty()


def _ask_key(config: Config, path: Path, tty: Tty | None) -> Config:
    from segchat import config as cfg
    from segchat.files import save_api_key
    from segchat.terminal import ask_api_key

    if tty is None or not config.key_shared:
        raise ConfigError(f"no API key: {config.key_hint()}")
    key = cfg.check_api_key(ask_api_key(tty))
    save_api_key(path, key)
    tty.write(f"Saved to {path} (readable only by you).\n")
    tty.flush()
    return config.replace(api_key=key, api_key_source=f"config file {path}")


def _data_dirs() -> tuple[Path, Path]:
    from pathlib import Path

    import platformdirs

    return Path(platformdirs.user_data_dir("segchat")), Path(platformdirs.user_state_dir("segchat"))


def _store() -> Store:
    from segchat.store import Store

    store = Store(_data_dirs()[0] / "sessions.db")
    for notice in store.notices:
        _stderr(f"segchat: warning: {_clean(notice)}")
    return store


def _session(config: Config, store: Store, args: argparse.Namespace, system: str | None, path: Path,
             flags: dict) -> tuple[SessionInfo, Config]:
    """The session to chat in, and the configuration it continues with (its own profile, unless one is given)."""
    from segchat import config as cfg

    info = None
    if args.session:
        try:
            info = store.find(args.session)
        except SessionNotFound:
            info = store.create(args.session, model=config.model, system=system or config.system,
                                profile=config.profile)
    elif args.resume:
        info = store.latest()
        if info is None:
            _stderr("segchat: no saved session yet; starting a new one")
    if info is None:
        return store.create(model=config.model, system=system or config.system, profile=config.profile), config
    if system:
        store.update(info.id, system=system)
        info = store.get(info.id)
    chosen = args.profile or os.environ.get("SEGCHAT_PROFILE")
    if info.profile != config.profile and not chosen:
        if info.profile is None or info.profile in config.profiles:
            config = cfg.load(path, {**flags, "profile": None}, profile=info.profile or _NO_PROFILE)
        else:
            _stderr(f"segchat: warning: session '{_clean(info.name)}' used profile '{_clean(info.profile)}', which "
                    f"is no longer in {path}; continuing with {config.profile or 'the default settings'}")
    return info, config


def _chat(config: Config, store: Store, args: argparse.Namespace, info: SessionInfo) -> Chat:
    from segchat import config as cfg
    from segchat import providers
    from segchat.chat import Chat

    same = info.profile == config.profile and info.model
    explicit = args.model or os.environ.get("SEGCHAT_MODEL")
    model = info.model if same and not explicit else config.model
    try:
        cfg.check_model(model, config.provider)
    except ConfigError:
        _stderr(f"segchat: warning: session '{_clean(info.name)}' names the model {_clean(repr(model[:60]))}, "
                f"which is not a {config.provider} model id; using {config.model}")
        model = config.model
    if model != info.model:
        store.update(info.id, model=model, profile=config.profile)
    return Chat(config, providers.build(config, model), store, info, adopt_pending=not args.prompt)


def _one_shot(chat: Chat, prompt: str) -> int:
    from segchat import words
    from segchat.http import Call
    from segchat.render import Renderer

    plain = not sys.stdout.isatty() or bool(os.environ.get("NO_COLOR"))
    renderer = Renderer(rich_output=not plain, code_theme=chat.config.code_theme)
    views: list[Any] = []  # made at the first piece of a streamed reply

    def feed(text: str) -> None:
        if not views:
            views.append(renderer.stream())
        views[0].feed(text)

    try:
        turn = chat.send(prompt, lambda request: request(Call(on_delta=feed)))
    except BaseException:
        for view in views:
            view.abort()
        raise
    if views:
        (views[0].abort if turn.reply.interrupted else views[0].finish)()
    elif turn.reply.content or not turn.reply.streamed:
        renderer.reply(turn.reply.content)
    for notice in turn.notices:
        _stderr(f"segchat: {_clean(words.notice(notice.code, notice.values, words.ONE_SHOT))}")
    return EXIT_INTERRUPTED if turn.reply.interrupted else EXIT_OK


def _repl(chat: Chat, tty: Tty) -> int:
    import threading

    from segchat.render import Renderer, preload
    from segchat.repl import Repl

    if tty.reader is sys.stdin:
        renderer, repl_io = Renderer(code_theme=chat.config.code_theme), {}
    else:
        from prompt_toolkit.input import create_input
        from prompt_toolkit.output import create_output

        renderer = Renderer(out=tty.writer, rich_output=True, code_theme=chat.config.code_theme)
        repl_io = {"input": create_input(tty.reader), "output": create_output(tty.writer)}
    repl = Repl(chat, renderer, history=_data_dirs()[1] / "history", **repl_io)

    def after_start() -> None:
        from segchat.http import Call

        try:
            if chat.provider.has_credits:
                chat.refresh_balance()
                repl.refresh()
            elif chat.provider.lists_models:
                repl.model_ids = chat.provider.models(Call())
        except Exception:  # a start-up nicety only; real errors surface on the first request
            pass
        preload()

    # Started once the prompt is up: start-up waits neither for the network nor for httpx's and rich's imports.
    on_ready = lambda: threading.Thread(target=after_start, daemon=True).start()  # noqa: E731
    return repl.run(on_ready=on_ready)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot complain about the closed pipe."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _clean(text: str) -> str:
    from segchat.render import sanitize

    return sanitize(redact(text))


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
