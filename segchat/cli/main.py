"""Command line: parse argv, build everything, run the REPL or one question; the one error boundary.

One pass down: the arguments, then the settings (config file, profile, role, environment, flags), then the
session store and the provider, then the engine, then the terminal UI or the one-shot question. Each stage
imports what it needs where it starts: `segchat --version` loads nothing but this module, `--help` only the
parser, `--list` no engine nor UI.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import TYPE_CHECKING, Any

from segchat.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Cancelled,
    ConfigError,
    SegchatError,
    UsageError,
)
from segchat.text.sanitize import safe

if TYPE_CHECKING:
    import argparse

    from segchat.cli.terminal import Tty
    from segchat.config.roles import Role
    from segchat.config.settings import Config
    from segchat.engine.chat import Chat
    from segchat.model.attachments import Attachment
    from segchat.store import Store


EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a program ended by SIGPIPE


def run() -> None:
    """The program: main(), then the exit (the console script and `python -m segchat` call this)."""
    status = main()
    # What is still alive lives until the exit: frozen, it is left out of the interpreter's final collection.
    gc.freeze()
    raise SystemExit(status)


def main(argv: list[str] | None = None) -> int:
    """Run segchat with argv (default: the command line's); the exit status. The one error boundary: whatever
    goes wrong ends as one line on stderr (a redacted traceback only with --debug)."""
    argv = sys.argv[1:] if argv is None else argv
    for stream in (sys.stdout, sys.stderr):
        # A terminal or pipe that cannot encode a character gets a replacement, not a traceback.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    if "_ARGCOMPLETE" in os.environ:  # the shell is asking for completions: answered, then the process exits
        from segchat.cli.shell_completion import complete

        complete()
    from segchat.cli.args import build_parser

    args = build_parser().parse_args(argv)
    if args.no_color:  # in the environment, so rich, prompt_toolkit, the pager and an editor all see it too
        os.environ["NO_COLOR"] = "1"
    try:
        return _run(args)
    except SegchatError as exc:
        from segchat.ui import wording as words

        _stderr(f"segchat: error: {safe(words.error(exc, words.ONE_SHOT))}")
        return exc.exit_code
    except (KeyboardInterrupt, Cancelled):
        _stderr("segchat: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `segchat --list | head -1`: the reader left; say nothing, as other tools do
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # the one boundary: a bug must not dump a traceback (or a key) on the user
        if type(exc).__module__ == "sqlite3":  # locked, read-only, full: the store's trouble, not a bug
            _stderr(f"segchat: error: the session store failed: {safe(str(exc))}")
            return EXIT_ERROR
        if args.debug:
            import traceback

            _stderr(safe("".join(traceback.format_exception(exc))))
        else:
            _stderr(f"segchat: internal error: {type(exc).__name__}: {safe(str(exc))} (--debug shows more)")
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    """The settings, then what the arguments ask for: a printout, a session action, or a chat."""
    from segchat.cli.args import check_arguments, session_action
    from segchat.config.paths import config_path
    from segchat.private_files import present

    check_arguments(args)
    path = config_path(args.config)
    if args.config_path:
        print(path)
        return EXIT_OK
    if args.completion:
        from segchat.cli.shell_completion import script

        sys.stdout.write(script(args.completion))
        return EXIT_OK
    if (args.config or os.environ.get("SEGCHAT_CONFIG")) and not present(path):
        given = "--config" if args.config else "SEGCHAT_CONFIG"
        raise ConfigError(f"{given} {path}: no such file")
    if args.roles:
        return _list_roles(path)
    role = None
    if args.role:
        from segchat.config import roles

        role = roles.load(path, args.role)
    flags = {k: getattr(args, k) for k in ("profile", "base_url", "model", "temperature", "max_tokens", "top_p",
                                           "timeout", "max_credits", "queue")}
    if args.check:
        from segchat.cli.check import check

        return check(path, flags, (role.name, role.settings) if role else None)
    from segchat.config.settings import load

    # --models makes no request to Segmind: its key is not looked for (no password manager asked, no keyring read).
    config = load(path, flags, role=(role.name, role.settings) if role else None, find_key=not args.models)
    if args.max_credits is not None and not config.has_credits:
        raise UsageError(f"--max-credits is a credit budget, and the {config.provider} provider has no credits")
    for warning in config.warnings:
        _stderr(f"segchat: warning: {safe(warning)}")
    if args.models:
        return _list_models(config)
    if args.set_key:
        from segchat.cli.apikey import obtain
        from segchat.cli.terminal import find_tty

        obtain(config, path, find_tty(), replacing=True)
        return EXIT_OK
    action = session_action(args)
    if action is not None:  # after the settings: they register the key, which output then hides
        from segchat.cli.session_flags import manage

        manage(action, args, _store)
        return EXIT_OK
    return _chat(args, config, path, flags, role)


def _list_roles(path: str) -> int:
    from segchat.config import roles
    from segchat.ui.render import Renderer, styled

    out = Renderer(rich_output=styled(sys.stdout))
    rows = roles.listing(path)
    if rows:
        out.table(("role", "first line"), rows)
    else:
        out.notice(f"no roles yet; write one as {roles.folder(path)}/NAME.md")
    return EXIT_OK


def _list_models(config: Config) -> int:
    """--models: segchat's catalogue of Segmind's models with the config's [models."SLUG"] tables (no request made),
    or, for an OpenAI-compatible provider, the ids its server lists (one request). On a terminal, aligned with
    windows as they are quoted (128K); piped, tab-separated with windows in tokens (131072), for scripts."""
    from segchat.ui.render import Renderer, styled

    out = Renderer(rich_output=styled(sys.stdout))
    if config.provider == "openai":
        from segchat.config.settings import with_key
        from segchat.model.call import Call
        from segchat.providers import configured

        provider = configured.build(with_key(config))  # its server is asked: now the key is looked for
        try:
            ids = provider.models(Call())
        finally:
            provider.close()
        out.table(("model",), [(model,) for model in ids])
        return EXIT_OK
    from segchat.figures import fmt_tokens
    from segchat.providers.segmind_catalogue import entries

    def tokens(count: int | None) -> str:
        if count is None:
            return "—" if out.rich_output else ""
        return fmt_tokens(count) if out.rich_output else str(count)

    rows = [(known.slug, known.family or ("?" if out.rich_output else ""), tokens(known.context_window),
             tokens(known.max_output), known.description) for known in entries(dict(config.models))]
    out.table(("model", "family", "context", "max output", "description"), rows, shorten=4)
    return EXIT_OK


def _chat(args: argparse.Namespace, config: Config, path: str, flags: dict[str, Any], role: Role | None) -> int:
    """The question and its files, the store and the provider, the engine; then the one-shot or the REPL."""
    from segchat.app.session_choice import build_chat, open_session
    from segchat.cli.apikey import obtain
    from segchat.cli.oneshot import ask, prefetch_balance
    from segchat.cli.terminal import find_tty, open_tty, system_prompt
    from segchat.model import attachments

    prompt = " ".join(args.prompt).strip()
    if args.prompt and not prompt:
        raise UsageError("the prompt is empty")
    for name, value in (("the PROMPT", prompt), ("--system", args.system or "")):
        if any("\udc80" <= c <= "\udcff" for c in value):  # bytes that were not UTF-8, as Python keeps them
            raise UsageError(f"{name} is not UTF-8 text; convert it first, e.g. with iconv -t UTF-8")
    files = [attachments.read(name, sys.stdin.buffer if sys.stdin else None) for name in args.file]
    system = system_prompt(args.system, args.system_file, piped="-" not in args.file,
                           role=role.system if role else None)
    attachments.fits(files, len(system or config.system or "") // 4, config.context_window)
    tty = None if prompt else find_tty()
    if not prompt and tty is None:
        raise UsageError("no PROMPT given and no terminal to chat on; pass the question as arguments: "
                         "segchat \"your question\"")
    store = _store()
    info, config = open_session(config, store, args, system, path, flags, role)
    # Asked from the session's own profile (its account) while the chat is built.
    balance = prefetch_balance(config) if prompt and config.has_credits and config.api_key else None
    if config.api_key is None and config.provider == "segmind":
        config = obtain(config, path, tty or open_tty())
    chat = build_chat(config, store, args, info, role)
    try:
        if prompt:
            return ask(chat, prompt, files, balance)
        assert tty is not None  # checked above: a chat needs a terminal
        return _repl(chat, tty, files)
    finally:
        chat.close()


def _repl(chat: Chat, tty: Tty, files: list[Attachment]) -> int:
    """Run the chat on tty; the balance (or the model list) is fetched once the prompt is up."""
    import contextlib
    import threading

    from prompt_toolkit.input import create_input
    from prompt_toolkit.output import create_output

    from segchat.config.paths import history_path
    from segchat.model.call import Call
    from segchat.tui.repl import Repl
    from segchat.ui.markdown import preload
    from segchat.ui.render import Renderer

    if tty.reader is sys.stdin:
        renderer, repl_io = Renderer(code_theme=chat.config.code_theme), {}
    else:
        renderer = Renderer(out=tty.writer, rich_output=True, code_theme=chat.config.code_theme)
        repl_io = {"input": create_input(tty.reader), "output": create_output(tty.writer)}
    repl = Repl(chat, renderer, history=history_path(), **repl_io)
    repl.attach(files)

    def after_start() -> None:
        # Start-up niceties, each on its own: the first turn does what they could not, and real errors
        # surface on the first request.
        with contextlib.suppress(Exception):
            if chat.provider.has_credits:
                chat.refresh_balance()
                repl.refresh()
            elif chat.provider.lists_models:
                repl.model_ids = chat.provider.models(Call())
        with contextlib.suppress(Exception):
            if chat.provider.asks_window:
                chat.learn_window()
                repl.refresh()
        preload()

    # Started once the prompt is up: start-up waits neither for the network nor for httpx's and rich's imports.
    return repl.run(on_ready=lambda: threading.Thread(target=after_start, daemon=True).start())


def _store(read_only: bool = False) -> Store:
    """The session store, its notices (a damaged file set aside, ...) said on stderr. read_only: for reading only
    (see Store)."""
    from segchat.config.paths import store_path
    from segchat.store import Store

    store = Store(store_path(), read_only=read_only)
    for notice in store.notices:
        _stderr(f"segchat: warning: {safe(notice)}")
    return store


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot complain about the closed pipe."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
