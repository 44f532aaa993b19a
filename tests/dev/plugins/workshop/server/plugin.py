"""What a plugin author watches in the playground's panels: hooks that pass, reject and
fail, logs at every level, KV values (JSON, text, binary, secrets), typed settings and HTTP
routes."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, SecretStr

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import PluginContext, Post
from mattermost_plugin.settings import SettingsError, setting


class Settings(BaseModel):
    """Settings of the workshop plugin."""

    enabled: bool = setting(True, display_name="Enable the workshop")
    max_links: int = setting(3, help_text="Links a post may contain before it is rejected.")
    greeting: str = setting("hello", placeholder="hello", help_text="What GET /hello says.")
    notes: str = setting("", kind="longtext", help_text="One note per line.")
    mode: Literal["relaxed", "strict"] = setting(
        "relaxed", options={"relaxed": "Relaxed", "strict": "Strict"}
    )
    strictness: Literal["low", "high"] = setting("low", kind="radio")
    api_key: SecretStr = setting(SecretStr(""), display_name="API key", section="Service")
    signing_key: str = setting(
        "", kind="generated", section="Service", regenerate_help_text="Makes a new key."
    )


def parse_count(text: str) -> int:
    return int(text)


class Workshop(Plugin[Settings]):
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        self.logger.info("workshop activated")
        self.api.log_debug("workshop debug detail")

    @hook(HookName.MessageWillBePosted)
    def message_will_be_posted(self, context: PluginContext, post: Post) -> tuple[Post | None, str]:
        if post.message.startswith("count "):
            parse_count(post.message.removeprefix("count "))
        if "spam" in post.message:
            self.logger.warning("rejected a post", extra={"channel_id": post.channel_id})
            return None, "no spam here"
        return post, ""

    @hook(HookName.MessageHasBeenPosted)
    def message_has_been_posted(self, context: PluginContext, post: Post) -> None:
        if post.message.startswith("remember "):
            name = post.message.removeprefix("remember ")
            notes = self.kv.collection("notes", dict)
            notes.set(name, {"text": name, "author": post.user_id, "token": "kv-token-value"})
            self.logger.info("remembered", extra={"note": name})
        if post.message == "fill":
            for number in range(25):
                self.api.kv_set(f"item-{number:02d}", f"value {number}".encode())
            self.api.kv_set("binary", bytes(range(256)))
            self.api.kv_set("secret-echo", self.settings.api_key.get_secret_value().encode())
            self.logger.error("filled the store", extra={"keys": 27})

    @hook(HookName.ConfigurationWillBeSaved)
    def configuration_will_be_saved(self, config: dict[str, Any]) -> object:
        mine = config.get("PluginSettings", {}).get("Plugins", {}).get("com.example.workshop", {})
        if mine.get("greeting") == "forbidden":
            return "the greeting 'forbidden' is not allowed"
        return None

    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: Any) -> dict[str, Any]:
        if request.path == "/hello":
            body = {"greeting": self.settings.greeting, "user_id": request.user_id}
            return {
                "status_code": 200,
                "headers": {"Content-Type": "application/json"},
                "body": json.dumps(body),
            }
        if request.path == "/crash":
            raise RuntimeError("the handler broke")
        if request.path == "/echo" and request.method == "POST":
            return {"status_code": 201, "headers": {"X-Echo": "yes"}, "body": request.body}
        return {"status_code": 404, "body": "no such page"}

    def on_settings_invalid(self, error: SettingsError) -> None:
        self.logger.warning("ignoring invalid settings", extra={"fields": sorted(error.problems)})


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(Workshop)
