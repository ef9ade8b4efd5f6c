"""Segmind's refusals end to end: one line each, saying what it means (406 by its text, 410, 422)."""

from __future__ import annotations

import pytest
from support.cli import segchat


@pytest.mark.parametrize("status, error, said", [
    (406, "Insufficient credits", b"not enough credits (406: Insufficient credits); last known balance"),
    (406, "Invalid content type", b"refused the request's content type (406: Invalid content type)"),
    (406, "Team spend limit reached", b"your Segmind team's spend limit is reached (406: Team spend limit reached)"),
    (410, "This model has been retired", b"model 'llama-v3p1-8b-instruct' was retired by Segmind (410: This model "
                                         b"has been retired); -m NAME asks another"),
    (422, "Prompt is Mandatory and must be string", b"(422: Prompt is Mandatory and must be string)"),
])
def test_refusals_are_one_line_saying_what_they_mean(cli_env, fake, status, error, said):
    fake.script({"status": status, "error": error})
    result = segchat("q", env=cli_env)
    assert result.returncode == 1 and result.stdout == b"" and said in result.stderr
    assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr
