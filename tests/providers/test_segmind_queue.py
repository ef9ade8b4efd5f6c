"""Segmind's v2 queue: submit and poll, the job kept before the first poll, a paid reply recovered, never paid twice."""

from __future__ import annotations

import _thread
import io
import json
import os
import signal
import subprocess
import threading
import time

import httpx
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from support.cli import KEY, default_signals, segchat
from support.repl import ENTER, run
from support.screen import segchat_command

from segchat.config.paths import store_path
from segchat.engine.chat import Chat
from segchat.errors import BadResponseError, JobFailed, JobGone, StillWaiting
from segchat.model.call import Call
from segchat.model.conversation import UnsentMessage
from segchat.providers.segmind import Segmind
from segchat.store import Store, ownership
from segchat.text.redact import register_secret
from segchat.tui.repl import Repl
from segchat.ui.render import Renderer

MESSAGES = [{"role": "user", "content": "hello queue"}]
ENDED = ownership.token().rsplit(":", 2)[0] + ":999999999:1"  # the owner of a message a killed process left


@pytest.fixture
def queued(fake):
    provider = Segmind(fake.base_url, "llama-v3p1-8b-instruct", KEY, queue=True, timeout=10, sleep=lambda s: None)
    yield provider
    provider.close()


def stored(session: str) -> list[str]:
    store = Store(store_path())
    try:
        return [m.content for m in store.load(store.find(session).id, adopt=False).messages]
    finally:
        store.close()


def submits(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path.startswith("/v2/")]


@pytest.mark.parametrize("output", ["string", "object", "text"])
@pytest.mark.parametrize("relative", [False, True])
def test_submit_poll_and_fetch(queued, fake, output, relative):
    fake.script_jobs({"states": ["QUEUED", "QUEUED", "PROCESSING", "COMPLETED"], "output": output,
                      "relative": relative})
    jobs, states = [], []
    call = Call(on_job=jobs.append)
    original = queued.http.request

    def watching(method, url, read, **kw):  # the state the spinner would show, at each request
        states.append(call.state)
        return original(method, url, read, **kw)

    queued.http.request = watching
    reply = queued.complete(MESSAGES, {"temperature": 0.3}, call)
    assert reply.content == "queued echo: hello queue"
    (submitted,) = submits(fake)
    assert submitted.path == "/v2/llama-v3p1-8b-instruct" and submitted.headers["x-api-key"] == KEY
    assert submitted.body == {"messages": MESSAGES, "temperature": 0.3}  # the same body as v1
    assert jobs and jobs[0]["status_url"].startswith(f"http://127.0.0.1:{fake.port}/v2/requests/")
    assert "queued" in states and "running" in states


@pytest.mark.parametrize("output", ["string", "object", "text"])
def test_a_job_whose_output_holds_no_text_is_no_reply(queued, fake, output):
    fake.script_jobs({"states": ["COMPLETED"], "output": output, "content": " "})
    with pytest.raises(BadResponseError, match=r"^the server sent no reply text \("):
        queued.complete(MESSAGES)


def test_the_job_is_known_before_the_first_poll(queued, fake):
    fake.script_jobs({"states": ["COMPLETED"]})
    seen_at: list[int] = []
    queued.complete(MESSAGES, {}, Call(on_job=lambda job: seen_at.append(len(fake.requests))))
    assert seen_at == [1]  # after the submit, before any GET


def test_a_failed_job_is_explained_with_the_servers_text(queued, fake):
    fake.script_jobs({"states": ["QUEUED", "FAILED"], "error": "model crashed on input"})
    with pytest.raises(JobFailed, match="model crashed on input"):
        queued.complete(MESSAGES)


def test_an_unknown_request_id_is_no_reply(queued, fake):
    with pytest.raises(JobGone, match="no longer knows request nope"):
        queued.resume({"request_id": "nope", "status_url": f"{fake.base_url[:-3]}/v2/requests/nope/status",
                       "response_url": f"{fake.base_url[:-3]}/v2/requests/nope/response"})


def test_a_result_that_is_gone_is_said_so_and_does_not_blame_the_model(queued, fake):
    fake.script_jobs({"states": ["COMPLETED"], "gone": True})
    with pytest.raises(JobGone) as caught:
        queued.complete(MESSAGES)
    text = str(caught.value)
    assert "is no longer kept at Segmind (404: Request not found)" in text and "an hour" in text
    assert "slug" not in text and "model" not in text


def test_a_poll_past_the_deadline_leaves_the_job_going_in_the_queues_words(fake):
    provider = Segmind(fake.base_url, "m", KEY, queue=True, timeout=1.0)
    fake.script_jobs({"stall": 30})  # the status poll gets no answer
    started = time.monotonic()
    with pytest.raises(StillWaiting) as caught:
        provider.complete(MESSAGES)
    provider.close()
    text = str(caught.value)
    assert "no answer within the 1 s timeout" in text and "goes on at Segmind" in text, text
    assert "billed" not in text and "not resent" not in text  # a poll bills nothing
    assert time.monotonic() - started < 8 and len(submits(fake)) == 1


def test_the_deadline_while_queued_leaves_the_job_going(fake):
    provider = Segmind(fake.base_url, "m", KEY, queue=True, timeout=1.0)
    fake.script_jobs({"states": ["QUEUED"]})
    started = time.monotonic()
    with pytest.raises(StillWaiting, match="still queued after 1 s"):
        provider.complete(MESSAGES)
    assert time.monotonic() - started < 2.5 and len(submits(fake)) == 1


def test_a_queue_pointing_at_another_host_is_not_followed(queued, fake, monkeypatch):
    fake.script({"body": json.dumps({"request_id": "x", "status_url": "https://elsewhere.example/s",
                                     "response_url": "https://elsewhere.example/r"})})
    monkeypatch.setattr("support.fakequeue.submit", lambda handler, body: handler._send(
        200, b'{"request_id": "x", "status_url": "https://elsewhere.example/s", "response_url": "/r"}'))
    with pytest.raises(Exception, match="another host"):
        queued.complete(MESSAGES)


def test_a_queue_pointing_elsewhere_at_the_key_shows_none_of_it(queued, fake, monkeypatch):
    register_secret(KEY)
    url = "https://elsewhere.example/" + "s" * 44 + KEY  # the key across the cut at 80
    monkeypatch.setattr("support.fakequeue.submit", lambda handler, body: handler._send(
        200, json.dumps({"request_id": "x", "status_url": url, "response_url": "/r"}).encode()))
    with pytest.raises(Exception, match="another host") as info:
        queued.complete(MESSAGES)
    assert KEY[:4] not in str(info.value)


# -- the chat ---------------------------------------------------------------------------------------


@pytest.fixture
def queued_chat(make_chat, fake):
    def make():
        chat = make_chat(queue=True)
        chat.provider.queued = True
        return chat
    return make


def test_ctrl_c_keeps_the_job_and_retry_recovers_without_paying_again(queued_chat, fake, store):
    chat = queued_chat()
    fake.script_jobs({"states": ["QUEUED"] * 8 + ["COMPLETED"]})
    out = io.StringIO()
    with create_pipe_input() as pipe:
        repl = Repl(chat, Renderer(out=out, rich_output=False), input=pipe, output=DummyOutput())
    chat.provider._sleep = None  # real pauses: Ctrl-C lands while waiting
    threading.Timer(0.6, _thread.interrupt_main).start()
    repl.send("a question worth money")
    assert "goes on at Segmind" in out.getvalue()
    stored = store.unsent(chat.session.id)
    assert stored and stored[0].meta["job"]["request_id"] in fake.jobs
    repl.retry()
    assert [m.content for m in chat.conversation.messages] == ["a question worth money",
                                                                 "queued echo: a question worth money"]
    assert len(submits(fake)) == 1 and store.unsent(chat.session.id) == []
    assert "job" not in chat.conversation.messages[0].meta


def test_a_failed_job_leaves_the_message_unsent(queued_chat, fake):
    chat = queued_chat()
    fake.script_jobs({"states": ["FAILED"], "error": "out of capacity"})
    out = run(chat, "q" + ENTER)
    assert "out of capacity" in out and "/retry sends it again" in out
    assert chat.conversation.unsent.text == "q" and "job" not in chat.conversation.unsent.meta


def stranded_with_gone_result(store, fake, text="an expensive question"):
    """A session whose unsent message holds a job that completed over an hour ago: its result is gone."""
    fake.script_jobs({"states": ["COMPLETED"], "gone": True})
    job = httpx.post(f"{fake.base_url[:-3]}/v2/llama-v3p1-8b-instruct", headers={"x-api-key": KEY},
                     json={"messages": [{"role": "user", "content": text}]}).json()
    info = store.create("gone")
    unsent_id = store.add_unsent(info.id, UnsentMessage(text, meta={"job": job}))
    store._db.execute("UPDATE pending SET owner=? WHERE id=?", (ENDED, unsent_id))
    return info, unsent_id


def polls_of(fake) -> list:
    return [r for r in fake.requests if r.path.startswith("/v2/requests/")]


def test_the_repl_gives_a_gone_result_up_once_and_retry_sends_again(config, store, fake):
    info, unsent_id = stranded_with_gone_result(store, fake)
    provider = Segmind(config.base_url, config.model, KEY, queue=True, timeout=10, sleep=lambda s: None)
    chat = Chat(config, provider, store, store.get(info.id))
    out = run(chat)  # on start, the chat asks the queue for the earlier message's reply
    assert "no longer kept at Segmind" in out and "/retry sends it again, and pays for it again" in out, out
    assert "slug" not in out and "the message was not answered" not in out  # said once, in one way
    (kept,) = store.unsent(info.id)
    assert kept.text == "an expensive question" and "job" not in kept.meta  # detached, on disk
    asked = len(polls_of(fake))
    chat = Chat(config, provider, store, store.get(info.id))  # the next start
    again = run(chat)
    assert "no longer kept" not in again and "unsent message from last time" in again, again
    assert len(polls_of(fake)) == asked  # not asked about again
    chat.regenerate()  # /retry: sent again, a new job, paid again
    assert len(submits(fake)) == 2
    assert [m.content for m in chat.conversation.messages] == ["an expensive question",
                                                                "queued echo: an expensive question"]


def test_a_one_shot_gives_a_gone_result_up_once(cli_env, fake):
    store = Store(store_path())
    try:
        stranded_with_gone_result(store, fake)
    finally:
        store.close()
    first = segchat("--session", "gone", "a follow-up", env=cli_env)
    assert first.returncode == 0, first.stderr
    err = first.stderr.decode()
    assert "the earlier queued message 'an expensive question' has no reply to fetch" in err, err
    assert "no longer kept at Segmind" in err and "sending it pays again" in err and "slug" not in err, err
    asked = len(polls_of(fake))
    second = segchat("--session", "gone", "another one", env=cli_env)
    assert second.returncode == 0 and b"expensive question" not in second.stderr, second.stderr
    assert len(polls_of(fake)) == asked  # the job was given up, not asked about on every run
    shown = segchat("--show", "gone", env=cli_env).stdout.decode()
    assert "## You (not sent)\n\nan expensive question" in shown  # kept for /retry
    assert len(submits(fake)) == 1  # nothing sent again on its own


def test_a_poll_past_the_deadline_keeps_the_job_and_says_retry_fetches_it(queued_chat, fake):
    chat = queued_chat()
    chat.provider._timeout = 1.0
    fake.script_jobs({"stall": 30})
    out = run(chat, "q" + ENTER)
    assert "could not be asked" in out and "/retry fetches it when it is done" in out, out
    assert "sends it again" not in out and "billed" not in out
    assert chat.conversation.unsent.meta["job"]["request_id"] in fake.jobs  # kept: the reply can be fetched


def test_a_one_shot_cut_by_the_deadline_while_polling_is_fetched_later(cli_env, fake):
    fake.script_jobs({"stall": 30})
    result = segchat("--queue", "--timeout", "1", "--session", "stalled", "slow one", env=cli_env)
    err = result.stderr.decode()
    assert result.returncode == 1 and "goes on at Segmind" in err and "segchat -r fetches it later" in err, err
    assert "billed" not in err and "offers it again" not in err
    (job,) = fake.jobs.values()
    job.spec["stall"] = 0
    job.polls = len(job.states) - 1  # done meanwhile
    later = segchat("--session", "stalled", "next", env=cli_env)
    assert later.returncode == 0 and b"recovered the reply to your earlier message" in later.stderr, later.stderr
    assert len(submits(fake)) == 1


# -- kill -9 during a job, then recovery --------------------------------------------------------------


def test_kill_during_a_job_then_the_next_run_recovers_it_without_a_second_submit(cli_env, fake):
    fake.script_jobs({"states": ["QUEUED"] * 10000})
    child = subprocess.Popen([segchat_command(), "--queue", "--session", "paid", "an expensive question"],
                             env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             start_new_session=True, preexec_fn=default_signals)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(j.polls for j in fake.jobs.values()):
            time.sleep(0.05)
        assert fake.jobs, "the job was never submitted"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=5)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
        child.stderr.close()
    (job,) = fake.jobs.values()
    job.states.append("COMPLETED")
    job.polls = len(job.states) - 1  # the job finished meanwhile at the server
    result = segchat("--session", "paid", "and a follow-up", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert b"recovered the reply to your earlier message" in result.stderr
    assert len(submits(fake)) == 1  # the expensive question was not sent again
    shown = segchat("--show", "paid", env=cli_env).stdout.decode()
    assert "queued echo: an expensive question" in shown and "and a follow-up" in shown
    last = fake.chat_requests()[-1].body["messages"]
    assert [m["content"] for m in last][:2] == ["an expensive question", "queued echo: an expensive question"]


def test_the_chat_recovers_a_finished_job_when_the_session_is_opened(cli_env, fake):
    from support.screen import Terminal
    fake.script_jobs({"states": ["QUEUED"] * 10000})
    result = segchat("--queue", "--timeout", "1", "--session", "later", "slow one", env=cli_env)
    assert result.returncode == 1 and b"fetches it later" in result.stderr
    (job,) = fake.jobs.values()
    job.states.append("COMPLETED")
    job.polls = len(job.states) - 1
    t = Terminal(["--session", "later"], cli_env)
    try:
        t.wait_for("queued echo: slow one", timeout=15)
        t.wait_for("recovered the reply", timeout=5)
        t.type("\x04")
        assert t.wait_exit() == 0
    finally:
        t.close()
    assert len(submits(fake)) == 1


def test_a_queued_turn_is_priced_like_any_other(cli_env, fake):
    fake.script_jobs({"states": ["PROCESSING", "COMPLETED"]})
    assert segchat("--queue", "--session", "priced", "q", env=cli_env).returncode == 0
    row = segchat("--list", env=cli_env).stdout.decode().splitlines()[1].split("\t")
    assert row[0] == "priced" and row[6] == "0.0125"  # no header on the queue's answers: one fetch after


def test_two_processes_opening_a_stranded_job_store_its_exchange_once(cli_env, fake):
    """As a --queue one-shot killed while it polls leaves it: an unsent message holding a submitted job, its
    owner ended. Two one-shots then open the session together, each with its own question (sent by v1)."""
    rounds, told = 24, 0
    ended = ownership.token().rsplit(":", 2)[0] + ":999999999:1"  # no process has that pid
    for n in range(rounds):
        fake.script_jobs({"states": ["PROCESSING", "COMPLETED"]})
        job = httpx.post(f"{fake.base_url[:-3]}/v2/llama-v3p1-8b-instruct", headers={"x-api-key": KEY},
                         json={"messages": [{"role": "user", "content": "shared question"}]}).json()
        store = Store(store_path())
        try:
            info = store.create(f"twice-{n}")
            unsent_id = store.add_unsent(info.id, UnsentMessage("shared question", meta={"job": job}))
            store._db.execute("UPDATE pending SET owner=? WHERE id=?", (ended, unsent_id))
        finally:
            store.close()
        children = [subprocess.Popen([segchat_command(), "--session", f"twice-{n}", f"mine {k}"], env=cli_env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     start_new_session=True, preexec_fn=default_signals) for k in (0, 1)]
        results = [(child, *child.communicate(timeout=30)) for child in children]
        assert [child.returncode for child, _, _ in results] == [0, 0], [err for _, _, err in results]
        assert [out for _, out, _ in results] == [b"echo: mine 0\n", b"echo: mine 1\n"]
        errs = b"".join(err for _, _, err in results)
        assert errs.count(b"from the queue (not paid for again) (segchat --show twice-") == 1, errs  # the winner
        told += errs.count(b"another segchat already recovered")
        rows = stored(f"twice-{n}")
        assert rows.count("shared question") == 1 and rows.count("queued echo: shared question") == 1, rows
        assert sorted(rows) == sorted(["shared question", "queued echo: shared question",
                                       "mine 0", "echo: mine 0", "mine 1", "echo: mine 1"])
    # One submit per stranded job, the one that made it: neither process sent the stranded message again.
    assert len(submits(fake)) == rounds
    v1 = [r for r in fake.chat_requests() if r.path.startswith("/v1/")]
    assert len(v1) == 2 * rounds  # each process's own question, by v1
    print(f"{rounds} rounds; the loser said so in {told}; in the others it found the exchange stored already")
