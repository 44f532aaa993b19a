"""Which log fields are secret: by word part (token, secret, password, passwd, api_key,
private_key, auth / authorization, cookie, credential), and the plugin's settings marked
``secret`` by name and by value."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from mattermost_plugin.logging import (
    REDACTED,
    Redactor,
    configure_logging,
    get_plugin_logger,
    is_secret_key,
    redact_setting_values,
    secret_setting_keys,
)

SECRET = [
    "token",
    "Token",
    "access_token",
    "accessToken",
    "AccessToken",
    "ACCESS_TOKEN",
    "refresh-token",
    "sessiontoken",
    "tokens",
    "password",
    "db_password",
    "DB_PASSWORD",
    "passwords",
    "passwd",
    "secret",
    "client_secret",
    "clientSecret",
    "secrets",
    "api_key",
    "apiKey",
    "APIKey",
    "X-Api-Key",
    "apikey",
    "private_key",
    "privateKey",
    "PRIVATE_KEY",
    "auth",
    "Auth",
    "x-auth",
    "auth_header",
    "authToken",
    "OAuthToken",
    "Authorization",
    "Proxy-Authorization",
    "cookie",
    "Set-Cookie",
    "cookies",
    "credential",
    "credentials",
    "aws_credentials",
]
NOT_SECRET = [
    "key",
    "Key",
    "keys",
    "kv_key",
    "key_name",
    "keyName",
    "primary_key",
    "hotkey",
    "keyboard",
    "monkey",
    "author",
    "author_id",
    "authorId",
    "authors",
    "authentic",
    "oauth_provider",
    "user_id",
    "channel",
    "message",
    "status",
    "api",
    "private",
    "",
]


@pytest.mark.parametrize("name", SECRET)
def test_secret_names(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize("name", NOT_SECRET)
def test_names_that_are_no_secret(name: str) -> None:
    assert not is_secret_key(name)


SCHEMA = {
    "settings": [
        {"key": "WebhookSecret", "type": "text", "secret": True},
        {"key": "Greeting", "type": "text"},
        {"key": "Odd", "secret": "yes"},  # only true is true
    ],
    "sections": [{"key": "more", "settings": [{"key": "SigningKey", "secret": True}]}],
}


def test_secret_setting_keys_of_a_schema() -> None:
    assert secret_setting_keys(SCHEMA) == ["WebhookSecret", "SigningKey"]
    assert secret_setting_keys(None) == secret_setting_keys([1]) == []
    assert secret_setting_keys({"settings": "x", "sections": [None, {"settings": 3}]}) == []


def test_the_redactor_hides_secret_settings_by_name_and_by_value() -> None:
    redactor = Redactor(["SigningKey"], ["s3cr3t-value", "abc"])  # too short to hide: abc
    assert redactor.is_secret("signingkey") and redactor.is_secret("SIGNINGKEY")
    fields = {
        "SigningKey": "k",
        "nested": {"signingKey": "k", "list": [{"token": "t"}, "url?x=s3cr3t-value"]},
        "key": "k1",
        "author_id": "u1",
        "abc": "abc",
    }
    assert redactor.fields(fields) == {
        "SigningKey": REDACTED,
        "nested": {"signingKey": REDACTED, "list": [{"token": REDACTED}, f"url?x={REDACTED}"]},
        "key": "k1",
        "author_id": "u1",
        "abc": "abc",
    }
    assert redactor.text("sent s3cr3t-value twice: s3cr3t-value") == (
        f"sent {REDACTED} twice: {REDACTED}"
    )
    assert fields["SigningKey"] == "k"  # the caller's objects are untouched


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging("debug", out, secret_names=["SigningKey", "WebhookSecret"])
    yield out
    configure_logging("info", io.StringIO())
    logging.getLogger("mattermost_plugin").handlers.clear()


def test_the_sdk_logs_hide_secret_settings(stream: io.StringIO) -> None:
    logger = get_plugin_logger("p.x")
    logger.info("a", extra={"SigningKey": "sk-1", "key": "k1", "author_id": "a1", "auth": "x"})
    redact_setting_values({"WebhookSecret": "hook-secret-1", "Greeting": "hello there"})
    logger.info("posting to hook-secret-1 with %s", "args", extra={"Greeting": "hello there"})
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["SigningKey"] == REDACTED and first["auth"] == REDACTED
    assert (first["key"], first["author_id"]) == ("k1", "a1")
    assert second["@message"] == f"posting to {REDACTED} with args"
    assert second["Greeting"] == "hello there"  # not a secret setting
    assert "sk-1" not in stream.getvalue() and "hook-secret-1" not in stream.getvalue()


def test_configuring_again_keeps_the_secret_names(stream: io.StringIO) -> None:
    out = io.StringIO()
    configure_logging("debug", out)  # as the process start does after run_plugin's call
    get_plugin_logger("p.x").info("a", extra={"SigningKey": "sk-1"})
    assert json.loads(out.getvalue())["SigningKey"] == REDACTED
