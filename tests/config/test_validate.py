"""check_base_url's quick way (no urllib, no ipaddress) says what reading the URL with urllib says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segchat
from segchat.config.validate import Invalid, _checked_url, check_base_url

PIECES = st.sampled_from(["https://", "http://", "HTTPS://", "ftp://", "//", "localhost", "LOCALHOST", "127.0.0.1",
                          "127.0.0.2", "127.000.0.1", "[::1]", "example.com", "api.segmind.com", "a-b.c", ".", "-",
                          ":", "8080", "65535", "65536", "99999", "0", "/", "v1", "/v1/", "?", "#", " ", "\t", "@",
                          "user@", "%20", "\\", "\x7f", "é", "\"", "<>", "~", "[", "]"])
STRUCTURED = st.tuples(st.sampled_from(["https://", "http://", "HTTP://", "ftp://", "", " "]),
                       st.sampled_from(["localhost", "127.0.0.1", "127.0.0.2", "[::1]", "example.com", "10.0.0.1", "",
                                        "a@b", "a b", "é.com"]),
                       st.sampled_from(["", ":", ":0", ":443", ":65535", ":65536", ":99999", ":8a", "::"]),
                       st.sampled_from(["", "/"]),
                       st.lists(st.sampled_from(["/", "v1", "?", "#", "?x=1", " ", "\x7f", "é", "%2F", "@", ":", "~",
                                                 "\"", "<", ">"]), max_size=3).map("".join),
                       st.sampled_from(["", " ", "/", "\n"])).map("".join)
URLS = st.one_of(STRUCTURED, st.lists(PIECES, max_size=8).map("".join))


def outcome(check, value):
    try:
        return check(value)
    except Invalid as exc:
        return f"Invalid: {exc}"


@settings(max_examples=1500)
@given(URLS)
def test_the_quick_way_agrees_with_urllib(value):
    assert outcome(check_base_url, value) == outcome(lambda v: _checked_url(v, v.strip()), value)


@pytest.mark.parametrize("value", ["https://example.com/?", "https://example.com/v1#", "https://example.com:99999/",
                                   "https://example.com:65536", "http://127.0.0.1/?x", "https://example.com/ v1",
                                   "http://10.0.0.1:80", "http://localhost.:80", "https://:443/v1"])
def test_what_the_quick_way_must_not_pass(value):
    assert outcome(check_base_url, value).startswith("Invalid")


@pytest.mark.parametrize("url", ["https://api.segmind.com/v1", "https://api.segmind.com/v1/", "http://127.0.0.1:8080",
                                 "http://localhost:11434/v1", " https://example.com:443/a/b "])
def test_usual_urls_are_checked_without_urllib(url):
    """Without site (an editable install's finder imports pathlib, and with it urllib), segchat on the path."""
    code = ("import sys; sys.path.insert(0, sys.argv[2]); from segchat.config.validate import check_base_url; "
            "check_base_url(sys.argv[1]); print(sorted({'urllib.parse', 'ipaddress'} & set(sys.modules)))")
    where = str(Path(segchat.__file__).parent.parent)
    found = subprocess.run([sys.executable, "-S", "-c", code, url, where], capture_output=True, text=True,
                           check=True).stdout
    assert found.strip() == "[]"
