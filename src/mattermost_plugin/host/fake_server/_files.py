"""Files and upload sessions."""

from __future__ import annotations

import mimetypes
import os

from mattermost_plugin._pb.pluginapi.v1 import (
    api_file_bot_pb2,
    file_pb2,
)
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    FakeAppError,
    bad_request,
    embedded,
    not_found,
)
from mattermost_plugin.host.fake_server._state import (
    FakeState,
    StoredFile,
    Upload,
    new_id,
    paged,
)


class FilesAPI(FakeState):
    # ----------------------------------------------------------------------- files (embedded)

    @embedded
    def UploadFile(
        self, request: api_file_bot_pb2.UploadFileRequest, context: Ctx
    ) -> api_file_bot_pb2.UploadFileResponse:
        self._channel(request.channel_id)
        limit = int(self.config.get("FileSettings", {}).get("MaxFileSize", 0))
        if limit and len(request.data) > limit:
            raise FakeAppError(
                "api.file.upload_file.too_large_detailed.app_error",
                f"{request.filename!r} exceeds the maximum file size of {limit} bytes",
                413,
            )
        now = self.now_ms()
        info = file_pb2.FileInfo(
            id=new_id(),
            creator_id="nouser",  # what the server records for plugin uploads
            channel_id=request.channel_id,
            create_at=now,
            update_at=now,
            name=request.filename,
            extension=os.path.splitext(request.filename)[1].lstrip(".").lower(),
            size=len(request.data),
            mime_type=mimetypes.guess_type(request.filename)[0] or "",
        )
        self.files[info.id] = StoredFile(info, bytes(request.data))
        return api_file_bot_pb2.UploadFileResponse(file_info=info)

    @embedded
    def GetFile(
        self, request: api_file_bot_pb2.GetFileRequest, context: Ctx
    ) -> api_file_bot_pb2.GetFileResponse:
        return api_file_bot_pb2.GetFileResponse(data=self._file(request.file_id).data)

    @embedded
    def GetFileInfo(
        self, request: api_file_bot_pb2.GetFileInfoRequest, context: Ctx
    ) -> api_file_bot_pb2.GetFileInfoResponse:
        return api_file_bot_pb2.GetFileInfoResponse(file_info=self._file(request.file_id).info)

    @embedded
    def GetFileInfos(
        self, request: api_file_bot_pb2.GetFileInfosRequest, context: Ctx
    ) -> api_file_bot_pb2.GetFileInfosResponse:
        opts = request.options
        infos = [
            f.info
            for f in self.files.values()
            if (not opts.user_id or f.info.creator_id == opts.user_id)
            and (not opts.channel_id or f.info.channel_id == opts.channel_id)
            and (opts.include_deleted or not f.info.delete_at)
        ]
        sort_key = "size" if opts.sort_by == "size" else "create_at"
        infos.sort(key=lambda i: getattr(i, sort_key), reverse=opts.sort_order.lower() == "desc")
        return api_file_bot_pb2.GetFileInfosResponse(
            file_infos=paged(infos, request.page, request.per_page)
        )

    @embedded
    def CopyFileInfos(
        self, request: api_file_bot_pb2.CopyFileInfosRequest, context: Ctx
    ) -> api_file_bot_pb2.CopyFileInfosResponse:
        originals = [self._file(i) for i in request.file_ids]  # all or nothing
        now = self.now_ms()
        new_ids = []
        for original in originals:
            info = file_pb2.FileInfo()
            info.CopyFrom(original.info)
            info.id = new_id()
            info.creator_id = request.user_id
            info.post_id = ""
            info.create_at = info.update_at = now
            self.files[info.id] = StoredFile(info, original.data)
            new_ids.append(info.id)
        return api_file_bot_pb2.CopyFileInfosResponse(file_ids=new_ids)

    # ---------------------------------------------------------------- upload sessions (embedded)

    def _max_file_size(self) -> int:
        return int(self.config.get("FileSettings", {}).get("MaxFileSize", 0))

    def _new_file(
        self, channel_id: str, creator_id: str, filename: str, data: bytes
    ) -> file_pb2.FileInfo:
        now = self.now_ms()
        info = file_pb2.FileInfo(
            id=new_id(),
            creator_id=creator_id,
            channel_id=channel_id,
            create_at=now,
            update_at=now,
            name=filename,
            extension=os.path.splitext(filename)[1].lstrip(".").lower(),
            size=len(data),
            mime_type=mimetypes.guess_type(filename)[0] or "",
        )
        self.files[info.id] = StoredFile(info, bytes(data))
        return info

    @embedded
    def CreateUploadSession(
        self, request: api_file_bot_pb2.CreateUploadSessionRequest, context: Ctx
    ) -> api_file_bot_pb2.CreateUploadSessionResponse:
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
        upload = self.uploads.get(request.upload_id)
        if upload is None:
            raise not_found("app.upload.get.app_error", "upload session", request.upload_id)
        return api_file_bot_pb2.GetUploadSessionResponse(upload_session=upload.session)

    @embedded
    def UploadData(
        self, request: api_file_bot_pb2.UploadDataRequest, context: Ctx
    ) -> api_file_bot_pb2.UploadDataResponse:
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
            return api_file_bot_pb2.UploadDataResponse()
        del self.uploads[session.id]
        info = self._new_file(
            session.channel_id, session.user_id, session.filename, bytes(upload.data)
        )
        return api_file_bot_pb2.UploadDataResponse(file_info=info)
