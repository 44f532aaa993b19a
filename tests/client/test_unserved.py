"""API methods the Mattermost server does not answer (PROTOCOL.md §6).

The generated methods raise ``PluginAPIError`` (501) naming the method without a call;
``get_plugin_id()`` answers from ``MATTERMOST_PLUGIN_ID`` or the manifest; the fake answers
exactly those methods UNIMPLEMENTED, as the server does, and says "the local host does not
model X" for methods it merely leaves out, so the two cannot be confused.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import grpc
import grpc.aio
import pytest
from tests.support.signatures import go_name, valid_arguments

from codegen.signatures import UNSERVED
from mattermost_plugin import AsyncPluginAPIClient, PluginAPIClient, PluginAPIError
from mattermost_plugin._generated.unserved import UNSERVED_METHODS
from mattermost_plugin._pb.pluginapi.v1 import api_pb2
from mattermost_plugin._pb.pluginapi.v1 import api_remaining_pb2 as rem
from mattermost_plugin.host.fake_server import FakeMattermost, serve

SERVICE = api_pb2.DESCRIPTOR.services_by_name["PluginAPI"]
NOT_SERVED = sorted(UNSERVED_METHODS - {"GetPluginID"})


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def client_method(go: str) -> str:
    names = [n for n in dir(PluginAPIClient) if not n.startswith("_")]
    (name,) = [n for n in names if callable(getattr(PluginAPIClient, n)) and _go(n) == go]
    return name


def _go(name: str) -> str | None:
    try:
        return go_name(getattr(PluginAPIClient, name))
    except AssertionError:
        return None


def test_the_list_lives_in_codegen_and_the_runtime_has_it() -> None:
    assert frozenset(UNSERVED) == UNSERVED_METHODS
    assert {"GetPluginID", "GetGroups", "LogAuditRec", "GetGroupSyncables"} <= UNSERVED_METHODS
    assert len(UNSERVED_METHODS) == 11


@pytest.mark.parametrize("flavor", ["sync", "async"])
@pytest.mark.parametrize("go", NOT_SERVED)
def test_unserved_methods_raise_501_without_a_call(flavor: str, go: str) -> None:
    name = client_method(go)
    args, kwargs = valid_arguments(name)
    target = closed_port()  # a call would fail with UnavailableError instead
    with pytest.raises(PluginAPIError) as raised:
        if flavor == "sync":
            getattr(PluginAPIClient(target=target), name)(*args, **kwargs)
        else:
            asyncio.run(getattr(AsyncPluginAPIClient(target=target), name)(*args, **kwargs))
    error = raised.value
    assert type(error) is PluginAPIError
    assert (error.status_code, error.grpc_code, error.method) == (
        501,
        grpc.StatusCode.UNIMPLEMENTED,
        go,
    )
    assert error.message == (
        f"this Mattermost server does not serve {go} to plugins (its Plugin API answers "
        "UNIMPLEMENTED)"
    )
    for cls in (PluginAPIClient, AsyncPluginAPIClient):
        assert "Not served: this Mattermost server answers" in (getattr(cls, name).__doc__ or "")


# -- get_plugin_id ------------------------------------------------------------------------
@pytest.fixture
def no_id(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("MATTERMOST_PLUGIN_ID", raising=False)
    monkeypatch.delenv("MATTERMOST_PLUGIN_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def plugin_ids() -> tuple[str, str]:
    """get_plugin_id() of both clients, which must not call (the port is closed)."""
    target = closed_port()
    sync = PluginAPIClient(target=target).get_plugin_id()
    from_async = asyncio.run(AsyncPluginAPIClient(target=target).get_plugin_id())
    return sync, from_async


def test_plugin_id_from_the_environment(no_id: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (no_id / "plugin.json").write_text(json.dumps({"id": "from.manifest"}))
    monkeypatch.setenv("MATTERMOST_PLUGIN_ID", "from.env")
    assert plugin_ids() == ("from.env", "from.env")


def test_plugin_id_from_the_manifest_in_the_working_directory(no_id: Path) -> None:
    (no_id / "plugin.json").write_text(json.dumps({"id": "com.example.json"}))
    assert plugin_ids() == ("com.example.json", "com.example.json")


def test_plugin_id_from_a_yaml_manifest_in_the_plugin_path(
    no_id: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("plugin")
    (folder / "plugin.yaml").write_text("id: com.example.yaml\nname: Y\n")
    monkeypatch.setenv("MATTERMOST_PLUGIN_PATH", str(folder))
    assert plugin_ids() == ("com.example.yaml", "com.example.yaml")


@pytest.mark.parametrize("manifest", [None, "{broken", '{"name": "no id"}'])
def test_no_plugin_id_is_a_clear_error(no_id: Path, manifest: str | None) -> None:
    if manifest is not None:
        (no_id / "plugin.json").write_text(manifest)
    with pytest.raises(PluginAPIError) as raised:
        PluginAPIClient(target=closed_port()).get_plugin_id()
    assert raised.value.method == "GetPluginID"
    assert "set MATTERMOST_PLUGIN_ID or run the plugin in its folder" in raised.value.message
    with pytest.raises(PluginAPIError):
        asyncio.run(AsyncPluginAPIClient(target=closed_port()).get_plugin_id())


# -- the fake -------------------------------------------------------------------------------
@pytest.fixture
def fake_address() -> Iterator[str]:
    server, address = serve(FakeMattermost())
    yield address
    server.stop(grace=None)


def raw_call(address: str, go: str, flavor: str) -> tuple[grpc.StatusCode, str, bytes]:
    """Call ``go`` with an empty request, as a plugin without the SDK would."""
    method = SERVICE.methods_by_name[go]
    request = method.input_type._concrete_class()
    path = f"/mattermost.pluginapi.v1.PluginAPI/{go}"
    if flavor == "sync":
        with grpc.insecure_channel(address) as channel:
            call = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString())
            try:
                answer: bytes = call(request, timeout=5)
            except grpc.RpcError as error:
                return error.code(), error.details() or "", b""  # type: ignore[attr-defined]
            return grpc.StatusCode.OK, "", answer

    async def run() -> tuple[grpc.StatusCode, str, bytes]:
        async with grpc.aio.insecure_channel(address) as channel:
            call = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString())
            try:
                answer: bytes = await call(request, timeout=5)
            except grpc.aio.AioRpcError as error:
                return error.code(), error.details() or "", b""
            return grpc.StatusCode.OK, "", answer

    return asyncio.run(run())


@pytest.mark.parametrize("flavor", ["sync", "async"])
@pytest.mark.parametrize("go", sorted(UNSERVED_METHODS))
def test_the_fake_answers_unserved_methods_unimplemented(
    fake_address: str, go: str, flavor: str
) -> None:
    code, details, _ = raw_call(fake_address, go, flavor)
    assert (code, details) == (grpc.StatusCode.UNIMPLEMENTED, f"method {go} not implemented")


@pytest.mark.parametrize("flavor", ["sync", "async"])
def test_a_method_the_fake_does_not_model_says_so(fake_address: str, flavor: str) -> None:
    code, _, answer = raw_call(fake_address, "RequestTrialLicense", flavor)
    assert code is grpc.StatusCode.OK
    error = rem.RequestTrialLicenseResponse.FromString(answer).error
    assert (error.status_code, error.message) == (
        501,
        "the local host does not model RequestTrialLicense",
    )


def test_the_two_answers_differ_through_the_client(fake_address: str) -> None:
    with PluginAPIClient(target=fake_address) as api:
        with pytest.raises(PluginAPIError) as not_modelled:
            api.request_trial_license("u" * 26, 10, True, False)
        with pytest.raises(PluginAPIError) as not_served:
            api.get_groups()
    assert not_modelled.value.message == "the local host does not model RequestTrialLicense"
    assert not_modelled.value.grpc_code is grpc.StatusCode.OK  # an answer, not a refusal
    assert "does not serve GetGroups" in not_served.value.message
    assert not_served.value.grpc_code is grpc.StatusCode.UNIMPLEMENTED
