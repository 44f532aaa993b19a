"""The plugin's KV store, files and upload sessions of the fake, through the SDK's client
over real gRPC."""

from __future__ import annotations

import pytest
from tests.support.api_client import Clock
from tests.support.coverage import fails, ok

from mattermost_plugin import (
    NotFoundError,
    PluginAPIClient,
    PluginAPIError,
    ValidationError,
)
from mattermost_plugin.host.fake_server import FakeMattermost
from mattermost_plugin.host.fake_server._files import file_path
from mattermost_plugin.models import (
    Channel,
    GetFileInfosOptions,
    PluginKVSetOptions,
    Post,
    Team,
    UploadSession,
    User,
)

KV = (
    "KVSet",
    "KVSetWithExpiry",
    "KVSetWithOptions",
    "KVCompareAndSet",
    "KVCompareAndDelete",
    "KVGet",
    "KVDelete",
    "KVDeleteAll",
    "KVList",
)


@ok(*KV)
def test_kv(api: PluginAPIClient, clock: Clock) -> None:
    api.kv_set("b", b"2")
    api.kv_set_with_expiry("a", b"1", 10)
    assert api.kv_set_with_options("c", b"3", options=PluginKVSetOptions(atomic=True))
    assert api.kv_list() == ["a", "b", "c"]
    assert api.kv_list(page=1, per_page=2) == ["c"]
    assert api.kv_compare_and_set("b", b"2", b"22")
    assert api.kv_get("b") == b"22"
    clock.advance(10)
    assert api.kv_get("a") is None  # expired
    assert api.kv_compare_and_delete("b", b"22")
    api.kv_delete("c")
    api.kv_set("d", b"4")
    api.kv_delete_all()
    assert api.kv_list() == []


@fails(*KV)
def test_kv_errors(api: PluginAPIClient) -> None:
    with pytest.raises(ValidationError):
        api.kv_set("k" * 151, b"too long a key")
    with pytest.raises(ValidationError):
        api.kv_set_with_expiry("k", b"v", -1)
    with pytest.raises(ValidationError):  # old_value needs atomic
        api.kv_set_with_options("k", b"v", options=PluginKVSetOptions(old_value=b"x"))
    with pytest.raises(ValidationError):
        api.kv_compare_and_set("k" * 151, b"", b"v")
    assert not api.kv_compare_and_delete("missing", b"x")
    assert api.kv_get("missing") is None
    api.kv_delete("missing")  # no error, as on the server
    api.kv_delete_all()
    assert api.kv_list() == []


@pytest.fixture
def channel(api: PluginAPIClient, team: Team) -> Channel:
    return api.get_channel_by_name(team.id, "town-square")


FILES = (
    "UploadFile",
    "GetFile",
    "GetFileInfo",
    "GetFileInfos",
    "CopyFileInfos",
    "GetFileLink",
    "ReadFile",
    "SetFileSearchableContent",
)


@ok(*FILES)
def test_files(api: PluginAPIClient, fake: FakeMattermost, channel: Channel, alice: User) -> None:
    info = api.upload_file(b"report", channel.id, "Report.PDF")
    assert (info.extension, info.mime_type, info.creator_id) == ("pdf", "application/pdf", "nouser")
    assert api.get_file(info.id) == b"report"
    assert api.get_file_info(info.id) == info
    (copy_id,) = api.copy_file_infos(alice.id, [info.id])
    mine = api.get_file_infos(options=GetFileInfosOptions(user_id=alice.id))
    assert [i.id for i in mine] == [copy_id]
    post = api.create_post(
        Post(channel_id=channel.id, user_id=alice.id, message="see", file_ids=[info.id])
    )
    assert api.get_file_info(info.id).post_id == post.id  # attached by the post
    fake.config["FileSettings"]["EnablePublicLink"] = True
    link = api.get_file_link(info.id)
    assert link.startswith(f"http://localhost:8065/files/{info.id}/public?h=")
    assert api.read_file(file_path(api.get_file_info(info.id))) == b"report"
    api.set_file_searchable_content(info.id, "quarterly numbers")
    assert fake.file_contents[info.id] == b"quarterly numbers"


@fails(*FILES)
def test_file_errors(api: PluginAPIClient, fake: FakeMattermost, channel: Channel) -> None:
    fake.config["FileSettings"]["MaxFileSize"] = 4
    with pytest.raises(PluginAPIError) as too_big:
        api.upload_file(b"12345", channel.id, "big.bin")
    assert too_big.value.status_code == 413
    with pytest.raises(NotFoundError):
        api.get_file("x" * 26)
    with pytest.raises(NotFoundError):
        api.get_file_info("x" * 26)
    assert api.get_file_infos(options=GetFileInfosOptions(channel_id="x" * 26)) == []
    with pytest.raises(NotFoundError):  # all or nothing
        api.copy_file_infos("u" * 26, ["x" * 26])
    info = api.upload_file(b"1", channel.id, "a.txt")
    with pytest.raises(PluginAPIError) as disabled:  # public links are off by default
        api.get_file_link(info.id)
    assert disabled.value.status_code == 501
    fake.config["FileSettings"]["EnablePublicLink"] = True
    with pytest.raises(ValidationError):  # on no post
        api.get_file_link(info.id)
    with pytest.raises(NotFoundError):
        api.read_file("no/such/path")
    with pytest.raises(NotFoundError):
        api.set_file_searchable_content("x" * 26, "text")


@ok("CreateUploadSession", "GetUploadSession", "UploadData")
def test_upload_sessions(api: PluginAPIClient, channel: Channel, alice: User) -> None:
    session = api.create_upload_session(
        UploadSession(user_id=alice.id, channel_id=channel.id, filename="big.bin", file_size=6)
    )
    assert api.get_upload_session(session.id).file_offset == 0
    assert api.upload_data(session, b"abc").id == ""
    assert api.get_upload_session(session.id).file_offset == 3
    info = api.upload_data(session, b"def")
    assert (info.size, info.creator_id) == (6, alice.id) and api.get_file(info.id) == b"abcdef"


@fails("CreateUploadSession", "GetUploadSession", "UploadData")
def test_upload_session_errors(api: PluginAPIClient, channel: Channel, alice: User) -> None:
    with pytest.raises(ValidationError):
        api.create_upload_session(
            UploadSession(user_id=alice.id, channel_id=channel.id, filename="", file_size=1)
        )
    with pytest.raises(NotFoundError):
        api.get_upload_session("x" * 26)
    session = api.create_upload_session(
        UploadSession(user_id=alice.id, channel_id=channel.id, filename="a", file_size=2)
    )
    with pytest.raises(ValidationError):  # more than announced
        api.upload_data(session, b"abc")
