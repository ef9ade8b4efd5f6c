"""The installed segchat against Segmind's model families, each answering in its own shape: a one-shot prints the
reply's text, and says when the family's stop reason cut it; the chat's cost line counts the family's tokens; a
session that switched model names each reply's model."""

from __future__ import annotations

import pytest
from support.cli import segchat

# A family, a model of it, and its reply cut at the length limit, as it words that.
FAMILIES = {"anthropic": ("claude-4.5-sonnet", "max_tokens", {"input_tokens": 56, "output_tokens": 31}),
            "gemini": ("gemini-2.5-flash", "MAX_TOKENS",
                       {"promptTokenCount": 56, "candidatesTokenCount": 31, "totalTokenCount": 87})}




@pytest.mark.parametrize("queue", [False, True], ids=["v1", "queue"])
@pytest.mark.parametrize("family", FAMILIES)
def test_a_one_shot_prints_the_family_s_text_and_says_it_was_cut(cli_env, fake, family, queue):
    model, cut, _ = FAMILIES[family]
    answer = {"family": family, "content": "The sky turns red because", "finish_reason": cut}
    fake.script(answer)
    fake.script_jobs({"states": ["QUEUED", "COMPLETED"], **answer})
    result = segchat(*(["--queue"] if queue else []), "-m", model, "--max-tokens", "5", "why is the sky red?",
                     env=cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"The sky turns red because\n"
    assert b"reply cut at max_tokens" in result.stderr
    (request,) = [r for r in fake.requests if r.method == "POST"]
    assert request.path.endswith(f"/{model}") and request.body["max_tokens"] == 5


@pytest.mark.parametrize("family", FAMILIES)
def test_a_whole_reply_says_nothing_more(cli_env, fake, family):
    model, _, _ = FAMILIES[family]
    fake.script({"family": family, "content": "Red light scatters least.", "reasoning": "Rayleigh."})
    result = segchat("-m", model, "why is the sky red?", env=cli_env)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"Red light scatters least.\n", b"")


@pytest.mark.parametrize("family", FAMILIES)
def test_the_chat_s_cost_line_counts_the_family_s_tokens(term, fake, family):
    model, _, usage = FAMILIES[family]
    t = term("-m", model)
    t.wait_for("credits 10")
    fake.script({"family": family, "content": "A **red** sky.", "usage": usage})
    t.type("why is the sky red?\r")
    screen = t.wait_for("56 + 31 tokens")
    assert "A red sky." in screen and "cost 0.0125" in screen
    assert "ctx 87" in t.bottom_line()  # the context meter reads the family's total
    t.type("\x04")
    assert t.wait_exit() == 0


def test_a_session_that_switched_model_names_each_reply_s_model(term, cli_env, fake):
    t = term("--session", "trip")
    t.wait_for("credits 10")
    t.type("first\r")
    t.wait_for("echo: first")
    t.type("/model claude-4.5-sonnet\r")
    t.wait_for("claude-4.5-sonnet")
    fake.script({"family": "anthropic", "content": "Second, from Claude.", "finish_reason": "max_tokens"})
    t.type("second\r")
    t.wait_for("Second, from Claude.")
    t.type("\x04")
    assert t.wait_exit() == 0
    fake.script({"family": "gemini", "content": "Third, from Gemini."})
    assert segchat("-r", "-m", "gemini-2.5-flash", "third", env=cli_env).returncode == 0
    shown = segchat("--show", "trip", env=cli_env).stdout.decode()
    assert [line for line in shown.splitlines() if line.startswith("## Model")] == [
        "## Model: llama-v3p1-8b-instruct", "## Model: claude-4.5-sonnet (stopped at the length limit)",
        "## Model: gemini-2.5-flash"]
    assert "## Model: gemini-2.5-flash\n\nThird, from Gemini." in shown


@pytest.mark.parametrize("queue", [False, True], ids=["v1", "queue"])
def test_a_claude_model_gets_the_system_prompt_as_its_instruction(cli_env, fake, queue):
    """The catalogue names the family, so the request takes the shape Segmind documents for Claude."""
    answer = {"family": "anthropic", "content": "Brief."}
    fake.script(answer)
    fake.script_jobs({"states": ["COMPLETED"], **answer})
    result = segchat(*(["--queue"] if queue else []), "-m", "claude-4.5-sonnet", "--system", "be brief", "hello",
                     env=cli_env)
    assert result.returncode == 0, result.stderr
    (request,) = [r for r in fake.requests if r.method == "POST"]
    assert request.body["instruction"] == "be brief"
    assert request.body["messages"] == [{"role": "user", "content": "hello"}]
