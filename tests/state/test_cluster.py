"""``@on_cluster_event`` rules checked when the class is defined, and ``publish`` on the wire.

Delivery to handlers in a real plugin process is in test_state_plugin.py.
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from tests.support.api_client import RunAsync

from mattermost_plugin import AsyncPluginAPIClient, HookName, Plugin, PluginAPIClient, hook
from mattermost_plugin.cluster import AsyncCluster, Cluster, on_cluster_event
from mattermost_plugin.host.fake_server import FakeMattermost
from mattermost_plugin.listeners import Order


class Note(BaseModel):
    text: str


def test_handlers_take_part_in_the_cluster_hook() -> None:
    class Listens(Plugin):
        @on_cluster_event("a")
        def on_a(self, payload: Note) -> None: ...

        @on_cluster_event("b")
        async def on_b(self) -> None: ...

    assert "OnPluginClusterEvent" in Listens.implemented_hooks()
    listeners = Listens.listeners()
    assert [(lst.hook, lst.order, lst.name) for lst in listeners] == [
        ("OnPluginClusterEvent", Order.CLUSTER, "cluster"),
        ("OnPluginClusterEvent", Order.CLUSTER, "cluster"),
    ]

    class Replaces(Listens):
        def on_a(self, payload: Note) -> None: ...  # no longer a handler

    assert len(Replaces.listeners()) == 1


def test_one_handler_per_event_id() -> None:
    with pytest.raises(
        TypeError, match="Twice has two handlers for cluster event 'a': first and second"
    ):

        class Twice(Plugin):
            @on_cluster_event("a")
            def first(self) -> None: ...

            @on_cluster_event("a")
            def second(self) -> None: ...

    class Base(Plugin):
        @on_cluster_event("a")
        def first(self) -> None: ...

    with pytest.raises(TypeError, match="two handlers for cluster event 'a'"):

        class Sub(Base):
            @on_cluster_event("a")
            def other(self) -> None: ...

    class Override(Base):  # the same attribute: a replacement, not a second handler
        @on_cluster_event("a")
        def first(self) -> None: ...

    assert len(Override.listeners()) == 1

    with pytest.raises(TypeError, match="already handles cluster event 'a'"):
        on_cluster_event("b")(on_cluster_event("a")(lambda self: None))


def test_signatures_and_annotations_are_checked() -> None:
    with pytest.raises(TypeError, match=r"Bad.h handles cluster event 'x'; define it as"):

        class Bad(Plugin):
            @on_cluster_event("x")
            def h(self, a: bytes, b: bytes) -> None: ...

    with pytest.raises(TypeError, match="cannot resolve the annotation of payload"):

        class Unresolved(Plugin):
            @on_cluster_event("x")
            def h(self, payload: NoSuchType) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ValueError, match="non-empty str"):
        on_cluster_event("")


def test_publish_encodes_the_payload(api: PluginAPIClient, fake: FakeMattermost) -> None:
    cluster = Cluster(api)
    cluster.publish("note", Note(text="hi"))
    cluster.publish("raw", b"\x00\x01", reliable=False)
    cluster.publish("dict", {"n": 1})
    cluster.publish("empty")
    assert [(e.event.id, e.event.data, e.options.send_type) for e in fake.cluster_events] == [
        ("note", b'{"text":"hi"}', "reliable"),
        ("raw", b"\x00\x01", "best_effort"),
        ("dict", b'{"n":1}', "reliable"),
        ("empty", b"", "reliable"),
    ]
    with pytest.raises(TypeError, match="neither bytes nor something Pydantic can turn into JSON"):
        cluster.publish("bad", object())
    with pytest.raises(ValueError, match="non-empty str"):
        cluster.publish("", b"")
    assert len(fake.cluster_events) == 4


def test_async_publish(aio: RunAsync, fake: FakeMattermost) -> None:
    async def body(client: AsyncPluginAPIClient) -> None:
        await AsyncCluster(client).publish("note", Note(text="async"))

    aio(body)
    assert [e.event.data for e in fake.cluster_events] == [b'{"text":"async"}']


def test_an_own_handler_stays_the_fallback() -> None:
    class Both(Plugin):
        @on_cluster_event("a")
        def on_a(self) -> None: ...

        @hook(HookName.OnPluginClusterEvent)
        def everything_else(self, context: object, event: object) -> None: ...

    assert Both.__hook_handlers__ == {"OnPluginClusterEvent": "everything_else"}
    assert [lst.hook for lst in Both.listeners()] == ["OnPluginClusterEvent"]
