"""Upload sessions: a file sent in chunks (the server's gRPC messages are limited in size),
stored after the plugin's ``FileWillBeUploaded`` once the last byte arrived."""

from __future__ import annotations

from mattermost_plugin._pb.pluginapi.v1 import (
    api_file_bot_pb2,
    file_pb2,
)
from mattermost_plugin.host.fake_server._files import FilesAPI
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    FakeAppError,
    bad_request,
    embedded,
    not_found,
)
from mattermost_plugin.host.fake_server._state import Upload, new_id


class UploadsAPI(FilesAPI):
    @embedded
    def CreateUploadSession(
        self, request: api_file_bot_pb2.CreateUploadSessionRequest, context: Ctx
    ) -> api_file_bot_pb2.CreateUploadSessionResponse:
        """Starts an upload of a known size (not over ``FileSettings.MaxFileSize``) to a channel."""
        session = api_file_bot_pb2.UploadSession()
        session.CopyFrom(request.upload_session)
        limit = self._max_file_size()
        if limit and session.file_size > limit:
            raise FakeAppError(
                "app.upload.create.upload_too_large.app_error",
                f"the file is larger than the maximum file size of {limit} bytes",
                413,
            )
        session.type = session.type or "attachment"
        if session.type not in ("attachment", "import"):
            raise bad_request("model.upload_session.is_valid.type.app_error", "invalid type")
        if session.type == "attachment":
            if self._channel(session.channel_id).delete_at:
                raise bad_request(
                    "app.upload.create.cannot_upload_to_deleted_channel.app_error",
                    "cannot upload to a deleted channel",
                )
            self._user(session.user_id)
        if not session.filename:
            raise bad_request("model.upload_session.is_valid.filename.app_error", "filename")
        if session.file_size <= 0:
            raise bad_request("model.upload_session.is_valid.file_size.app_error", "file_size")
        session.id = session.id or new_id()
        if session.id in self.uploads:
            raise FakeAppError(
                "app.upload.create.save.app_error", "an upload with this id exists", 409
            )
        session.create_at = self.now_ms()
        session.file_offset = 0
        session.path = f"data/uploads/{session.id}"
        self.uploads[session.id] = Upload(session, bytearray())
        return api_file_bot_pb2.CreateUploadSessionResponse(upload_session=session)

    @embedded
    def GetUploadSession(
        self, request: api_file_bot_pb2.GetUploadSessionRequest, context: Ctx
    ) -> api_file_bot_pb2.GetUploadSessionResponse:
        """An upload in progress."""
        upload = self.uploads.get(request.upload_id)
        if upload is None:
            raise not_found("app.upload.get.app_error", "upload session", request.upload_id)
        return api_file_bot_pb2.GetUploadSessionResponse(upload_session=upload.session)

    @embedded(hooks=("FileWillBeUploaded",), locked=False)
    def UploadData(
        self, request: api_file_bot_pb2.UploadDataRequest, context: Ctx
    ) -> api_file_bot_pb2.UploadDataResponse:
        """Appends a chunk to an upload; the last one stores the file after the plugin's
        FileWillBeUploaded (a rejection fails the call and drops the upload)."""
        with self.transaction():
            info, data = self._receive(request)
        if info is None:
            return api_file_bot_pb2.UploadDataResponse()
        info = self.store_file(info, data)
        return api_file_bot_pb2.UploadDataResponse(file_info=info)

    def _receive(
        self, request: api_file_bot_pb2.UploadDataRequest
    ) -> tuple[file_pb2.FileInfo | None, bytes]:
        """Append a chunk; when the upload is complete, drop it and return the info and the
        data of the file to store."""
        upload = self.uploads.get(request.upload_session.id)
        if upload is None:
            raise not_found("app.upload.get.app_error", "upload session", request.upload_session.id)
        session = upload.session
        if session.file_offset + len(request.data) > session.file_size:
            raise bad_request(
                "app.upload.upload_data.large_file.app_error",
                f"{len(request.data)} more bytes would exceed the upload's size "
                f"({session.file_offset} of {session.file_size} received)",
            )
        upload.data += request.data
        session.file_offset = len(upload.data)
        if session.file_offset < session.file_size:
            return None, b""
        del self.uploads[session.id]
        data = bytes(upload.data)
        return self.new_file_info(session.channel_id, session.user_id, session.filename, data), data
