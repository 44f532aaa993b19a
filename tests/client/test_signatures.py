"""The signature rule (``codegen/signatures.py``) on all 236 methods, and the calls it enables.

Positional: what a call acts on or writes, in Go's order; paging, filters and options are
keyword-only with defaults; the log methods take ``**fields``. Both clients have the same
signatures, and ``docs/api-signatures.md`` lists them all.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from tests.support.signatures import go_name

from codegen.signatures import FILTER_PREFIXES, FILTERS, PAGING
from mattermost_plugin import AsyncPluginAPIClient, PluginAPIClient
from mattermost_plugin._pb.pluginapi.v1 import api_pb2
from mattermost_plugin.host.fake_server import FakeMattermost
from mattermost_plugin.models import User

LISTING = Path(__file__).parents[2] / "docs" / "api-signatures.md"
SERVICE = api_pb2.DESCRIPTOR.services_by_name["PluginAPI"]


def public_methods() -> dict[str, str]:
    """Python name → Go name, for every Plugin API method of the client."""
    out = {}
    for name, value in inspect.getmembers(PluginAPIClient, inspect.isfunction):
        if not name.startswith("_") and "plugin.API." in (value.__doc__ or ""):
            out[name] = go_name(value)
    return out


METHODS = public_methods()


def test_every_rpc_has_one_method() -> None:
    assert sorted(set(METHODS.values()) | {"KVSetWithExpiry"}) == sorted(
        m.name for m in SERVICE.methods
    )  # kv_set(expires_in=…) covers KVSetWithExpiry
    assert len(SERVICE.methods) == 236


@pytest.mark.parametrize("name", sorted(METHODS))
def test_signature_follows_the_rule(name: str) -> None:
    parameters = list(inspect.signature(getattr(PluginAPIClient, name)).parameters.values())[1:]
    positional = [p for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
    keyword = [p for p in parameters if p.kind is p.KEYWORD_ONLY]
    for p in positional:
        options = p.name in PAGING | FILTERS or p.name.startswith(FILTER_PREFIXES)
        assert not options, f"{name}({p.name}) is paging, a filter or an option: keyword-only"
    for p in keyword:
        assert p.default is not p.empty, f"{name}(*, {p.name}) needs a default"
    assert "timeout" in {p.name for p in keyword}
    if name not in {"create_post"}:  # create_post(post=None, channel_id=…): the guide's form
        assert all(p.default is p.empty for p in positional), name
    # Go's order: the request's field order
    fields = SERVICE.methods_by_name[METHODS[name]].input_type.fields
    order = [f.name.removesuffix("_json") for f in fields]
    names = [p.name for p in positional if p.name in order]
    assert names == sorted(names, key=order.index), name


@pytest.mark.parametrize("name", sorted(METHODS))
def test_sync_and_async_signatures_are_the_same(name: str) -> None:
    sync = inspect.signature(getattr(PluginAPIClient, name))
    async_ = inspect.signature(getattr(AsyncPluginAPIClient, name))
    assert str(sync) == str(async_)


def test_the_guide_forms_keep_their_signatures() -> None:
    def shape(name: str) -> str:
        signature = inspect.signature(getattr(PluginAPIClient, name))
        return str(signature).replace("'", "")

    assert shape("kv_set") == (
        "(self, key: str, value: object, *, expires_in: Expiry | None = None, "
        "timeout: float | None = None) -> None"
    )
    assert shape("kv_get") == "(self, key: str, *, timeout: float | None = None) -> bytes | None"
    assert shape("create_post").startswith(
        "(self, post: Post | None = None, *, channel_id: str | None = None, "
        "user_id: str | None = None, message: str | None = None"
    )
    assert shape("get_user").startswith("(self, user_id: str, *, timeout")


def test_the_listing_in_the_docs_has_every_method() -> None:
    listed = set(re.findall(r"^(\w+)\(", LISTING.read_text(), re.MULTILINE))
    assert listed == set(METHODS) | {"kv_get_as"}


# -- calls the rule makes possible ----------------------------------------------------------
def test_get_users_needs_no_arguments(api: PluginAPIClient) -> None:
    for name in ("ann", "bob", "cy"):
        api.create_user(User(username=name, email=f"{name}@example.com", password="password1"))
    assert {u.username for u in api.get_users()} >= {"ann", "bob", "cy"}
    assert [u.username for u in api.get_users(page=0, per_page=2, sort="")][:2]
    assert len(api.get_users(per_page=2)) == 2


def test_log_methods_take_fields_as_keywords(api: PluginAPIClient, fake: FakeMattermost) -> None:
    api.log_info("started")
    api.log_warn("slow", elapsed=1.5, user_id="u1", tags=["a", "b"], nested={"ok": True})
    api.log_error("failed", timeout=2)  # the call's own deadline, not a field
    assert [(e.level, e.message, e.fields) for e in fake.logs] == [
        ("info", "started", {}),
        (
            "warn",
            "slow",
            {"elapsed": 1.5, "user_id": "u1", "tags": ["a", "b"], "nested": {"ok": True}},
        ),
        ("error", "failed", {}),
    ]
