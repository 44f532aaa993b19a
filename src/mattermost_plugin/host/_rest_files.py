"""``/api/v4/files``: uploads through the plugin's ``FileWillBeUploaded``, and reading
files back."""

from __future__ import annotations

from urllib.parse import quote

from mattermost_plugin._pb.pluginapi.v1 import file_pb2
from mattermost_plugin.host._http_front import HTTPError
from mattermost_plugin.host._rest import Call, FormFile, fake_errors, invalid_body, route
from mattermost_plugin.host._rest_json import file_info_json
from mattermost_plugin.host.fake_server import FakeAppError, HookRejection

_TOO_LARGE = "api.file.upload_file.too_large_detailed.app_error"


def _max_file_size(call: Call) -> int:
    size = call.fake.config.get("FileSettings", {}).get("MaxFileSize", 0)
    return size if isinstance(size, int) and size > 0 else 100 * 1024 * 1024


@route("POST", "/api/v4/files")
def upload_files(call: Call) -> None:
    """A ``multipart/form-data`` body with ``channel_id`` (before the files), the
    ``files`` parts and optional ``client_ids`` (one per file), as the webapp sends it; or
    the raw file as the body with ``?channel_id=...&filename=...``. Each file runs the
    plugin's ``FileWillBeUploaded`` (which may reject it: 403, or change it) and is stored
    unattached (a post attaches it with ``file_ids``). ``upload_file`` in the channel;
    ``FileSettings.MaxFileSize`` per file (413). Answers ``201 {"file_infos",
    "client_ids"}``."""
    limit = _max_file_size(call)
    if "channel_id" in call.query:
        channel_ref = call.query["channel_id"]
        filename = call.query.get("filename", "")
        if not filename:
            raise invalid_body("filename")
        data = call.exchange.read_body(limit)
        files = [FormFile("files", filename, data)]
        client_ids = [call.query["client_id"]] if call.query.get("client_id") else []
    else:
        # Room for the form's own framing around files of the largest size.
        form = call.form(limit + 1024 * 1024)
        channel_ref = form.value("channel_id")
        files = [f for f in form.files if f.field == "files"]
        client_ids = form.fields.get("client_ids", [])
    if not channel_ref:
        raise invalid_body("channel_id")
    if not files:
        raise HTTPError(
            400,
            "api.file.upload_file.incorrect_number_of_files.app_error",
            "Unable to upload files. Incorrect number of files specified.",
        )
    if client_ids and len(client_ids) != len(files):
        raise HTTPError(
            400,
            "api.file.upload_file.incorrect_number_of_client_ids.app_error",
            f"Unable to upload files: {len(client_ids)} client ids for {len(files)} files.",
        )
    channel_id = call.channel_ref(channel_ref)
    call.require_read_channel(channel_id)
    call.require_channel(channel_id, "upload_file")
    for upload in files:
        if len(upload.data) > limit:
            raise HTTPError(
                413,
                _TOO_LARGE,
                f"Unable to upload file {upload.filename}. File is too large: it is over "
                f"the maximum file size of {limit} bytes.",
            )
    infos = [_store(call, channel_id, upload) for upload in files]
    call.respond(201, {"file_infos": [file_info_json(i) for i in infos], "client_ids": client_ids})


def _store(call: Call, channel_id: str, upload: FormFile) -> file_pb2.FileInfo:
    fake = call.fake
    with fake.transaction():
        info = fake.new_file_info(channel_id, call.user_id, upload.filename, upload.data)
    try:
        stored = fake.store_file(info, upload.data, context=call.local._context())
    except HookRejection as exc:
        raise HTTPError(
            exc.status_code,
            exc.error_id,
            f"Unable to upload file {upload.filename}. Rejected by plugin: {exc.reason}",
        ) from None
    except FakeAppError as exc:
        raise HTTPError(exc.status_code, exc.error_id, exc.message) from None
    call.dev.emit("server", f"stored file {stored.name} ({stored.id}, {stored.size} bytes)")
    return stored


def _readable_file(call: Call) -> file_pb2.FileInfo:
    with call.fake.transaction(), fake_errors():
        info = file_pb2.FileInfo()
        info.CopyFrom(call.fake._file(call.params["file_id"]).info)
    if info.creator_id != call.user_id:
        call.require_read_channel(info.channel_id)
    return info


@route("GET", "/api/v4/files/{file_id}/info")
def get_file_info(call: Call) -> None:
    call.respond(200, file_info_json(_readable_file(call)))


@route("GET", "/api/v4/files/{file_id}")
def get_file(call: Call) -> None:
    """The file's content, as an attachment (``?download=1`` or not: the dev server
    always sends it as one, which is the safe choice for any content)."""
    info = _readable_file(call)
    with call.fake.transaction():
        data = call.fake.files[info.id].data
    disposition = f"attachment; filename*=UTF-8''{quote(info.name)}"
    call.exchange.respond(
        200,
        [
            ("Content-Type", info.mime_type or "application/octet-stream"),
            ("Content-Disposition", disposition),
            ("X-Content-Type-Options", "nosniff"),
        ],
        data,
    )


ROUTES = [upload_files, get_file_info, get_file]
