"""Mistakes mypy --strict must catch. A comment ``# E: text`` says that the line after it
must get an error containing ``text``; no other line may get one."""

from __future__ import annotations

from typing_extensions import override

from mattermost_plugin import Plugin
from mattermost_plugin.models import PluginContext, Post, User


class WrongArity(Plugin):
    # E: Signature of "message_has_been_posted" incompatible with supertype
    def message_has_been_posted(self, context: PluginContext) -> None:
        pass


class WrongParameterType(Plugin):
    # E: Argument 2 of "message_has_been_posted" is incompatible with supertype
    def message_has_been_posted(self, context: PluginContext, post: User) -> None:
        pass


class WrongReturnType(Plugin):
    # E: Return type "bool" of "user_will_log_in" incompatible with return type
    def user_will_log_in(self, context: PluginContext, user: User) -> bool:
        return True


class WrongAsyncReturnType(Plugin):
    # E: Return type "Coroutine[Any, Any, int]" of "on_activate" incompatible
    async def on_activate(self) -> int:
        return 1


class NarrowedOptionalActor(Plugin):
    # E: Argument 3 of "user_has_joined_team" is incompatible with supertype
    def user_has_joined_team(self, context: PluginContext, member: object, actor: User) -> None:
        pass


class UnknownName(Plugin):
    @override
    # E: Method "message_will_be_post" is marked as an override, but no base method was found
    def message_will_be_post(self, context: PluginContext, post: Post) -> None:
        pass


class TwoHandlers(Plugin):
    def on_activate(self) -> None:
        pass

    # E: Name "on_activate" already defined on line
    def on_activate(self) -> None:  # noqa: F811
        pass
