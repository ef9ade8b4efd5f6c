"""The single settings' checks: which base URLs are accepted (https anywhere, http to this machine only), which
keys and model ids; every refusal names the setting."""

from __future__ import annotations

import pytest

from segchat.config.validate import Invalid, check_api_key, check_base_url, check_model, is_model


@pytest.mark.parametrize("url, kept", [
    ("https://api.segmind.com/v1", "https://api.segmind.com/v1"),
    ("https://api.segmind.com/v1/", "https://api.segmind.com/v1"),
    (" https://example.com:443/a/b ", "https://example.com:443/a/b"),
    ("https://10.0.0.1:8443", "https://10.0.0.1:8443"),
    ("HTTPS://Example.com/v1", "HTTPS://Example.com/v1"),
    ("https://example.com:65535/v1", "https://example.com:65535/v1"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://127.0.0.2/v1", "http://127.0.0.2/v1"),
    ("http://localhost:11434/v1", "http://localhost:11434/v1"),
    ("http://[::1]:8000/v1", "http://[::1]:8000/v1"),
    ("http://user@localhost/v1", "http://user@localhost/v1"),
])
def test_accepted_urls(url, kept):
    assert check_base_url(url) == kept


@pytest.mark.parametrize("url, reason", [
    ("http://example.com/v1", "unencrypted"),
    ("http://10.0.0.1:80", "unencrypted"),
    ("http://localhost.:80", "unencrypted"),
    ("http://[::2]/v1", "unencrypted"),
    ("http://127.0.0.1.example.com/v1", "unencrypted"),
    ("https://example.com:65536", "invalid port"),
    ("https://example.com:99999/", "invalid port"),
    ("https://example.com:8a/v1", "invalid port"),
    ("https://example.com/?", "query or fragment"),
    ("https://example.com/v1#", "query or fragment"),
    ("https://example.com/v1?x=1", "query or fragment"),
    ("http://127.0.0.1/?x", "query or fragment"),
    ("https://example.com/ v1", "spaces or control characters"),
    ("https://example.com/v1\x7f", "spaces or control characters"),
    ("ftp://example.com/v1", "not an http(s) URL"),
    ("example.com/v1", "not an http(s) URL"),
    ("https://:443/v1", "not an http(s) URL"),
    ("https://", "not an http(s) URL"),
])
def test_refused_urls(url, reason):
    with pytest.raises(Invalid) as refused:
        check_base_url(url)
    assert refused.value.key == "base_url" and reason in refused.value.reason


@pytest.mark.parametrize("value", [None, 443, ["https://example.com"]])
def test_a_url_must_be_text(value):
    with pytest.raises(Invalid, match="expected a URL"):
        check_base_url(value)


def test_a_key_is_stripped_and_a_bad_one_never_shown():
    assert check_api_key("  sg-key-1234\n") == "sg-key-1234"
    with pytest.raises(Invalid) as refused:
        check_api_key("has a space inside")
    assert refused.value.key == "api_key" and "space inside" not in str(refused.value)


def test_a_segmind_slug_is_strict_other_model_ids_are_not():
    assert check_model("llama-v3p1-8b-instruct") == "llama-v3p1-8b-instruct"
    assert check_model("meta-llama/Llama-3.1-8B-Instruct", "openai") == "meta-llama/Llama-3.1-8B-Instruct"
    for bad, provider in (("meta-llama/x", "segmind"), ("../../etc", "segmind"), ("a/../b", "openai")):
        with pytest.raises(Invalid, match="model"):
            check_model(bad, provider)


@pytest.mark.parametrize("value, provider, accepted", [
    ("llama-v3p1-8b-instruct", "segmind", True), ("llama3.1:8b", "segmind", False), ("llama3.1:8b", "openai", True),
    ("a/../b", "openai", False), ("\x1b[31mred", "openai", False), (42, "segmind", False)])
def test_is_model_says_what_check_model_accepts(value, provider, accepted):
    assert is_model(value, provider) is accepted
