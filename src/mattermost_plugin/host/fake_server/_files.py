"""Files: uploads (through the plugin's ``FileWillBeUploaded``), contents, infos and links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import mimetypes
import os
import time
from typing import cast

from mattermost_plugin._pb.pluginapi.v1 import (
    api_file_bot_pb2,
    file_pb2,
    hooks_common_pb2,
    hooks_message_pb2,
)
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    FakeAppError,
    HookRejection,
    bad_request,
    embedded,
    not_found,
)
from mattermost_plugin.host.fake_server._state import (
    FakeState,
    StoredFile,
    new_id,
    paged,
)


def file_path(info: file_pb2.FileInfo) -> str:
    """Where the server's file store keeps a file (relative to its data directory)."""
    day = time.strftime("%Y%m%d", time.gmtime(info.create_at / 1000))
    user = info.creator_id or "nouser"
    return f"{day}/teams/noteam/channels/{info.channel_id}/users/{user}/{info.id}/{info.name}"


class FilesAPI(FakeState):
    # ----------------------------------------------------------------------- files (embedded)

    def _max_file_size(self) -> int:
        return int(self.config.get("FileSettings", {}).get("MaxFileSize", 0))

    def new_file_info(
        self, channel_id: str, creator_id: str, filename: str, data: bytes
    ) -> file_pb2.FileInfo:
        """The info of a file about to be stored (not stored)."""
        now = self.now_ms()
        return file_pb2.FileInfo(
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

    def store_file(
        self,
        info: file_pb2.FileInfo,
        data: bytes,
        *,
        context: hooks_common_pb2.PluginContext | None = None,
    ) -> file_pb2.FileInfo:
        """Run ``FileWillBeUploaded`` (not under the lock), then store the file as the
        plugin left it. A rejection raises :class:`HookRejection` (403, the server's
        ``api.file.upload_file.rejected_by_plugin.app_error``); a modified info replaces
        the name, extension and MIME type; modified content replaces the data (and the
        size). A failed call lets the file through unchanged."""
        answer = self.run_hook(
            "FileWillBeUploaded",
            hooks_message_pb2.FileWillBeUploadedRequest(
                plugin_context=context or self.plugin_context(), file_info=info, file_content=data
            ),
        )
        if answer is not None:
            response = cast(hooks_message_pb2.FileWillBeUploadedResponse, answer)
            if response.rejection_reason:
                raise HookRejection(
                    "FileWillBeUploaded",
                    response.rejection_reason,
                    info,
                    "api.file.upload_file.rejected_by_plugin.app_error",
                    403,
                )
            if response.HasField("modified_file_info"):
                modified = response.modified_file_info
                # What identifies the file stays the server's.
                info.name = modified.name or info.name
                info.extension = modified.extension
                info.mime_type = modified.mime_type
            if response.modified_content:
                data = response.modified_content
                info.size = len(data)
        with self.transaction():
            self._channel(info.channel_id)  # it may have gone meanwhile
            self.files[info.id] = StoredFile(info, bytes(data))
        return info

    @embedded(hooks=("FileWillBeUploaded",), locked=False)
    def UploadFile(
        self, request: api_file_bot_pb2.UploadFileRequest, context: Ctx
    ) -> api_file_bot_pb2.UploadFileResponse:
        """Stores a file in a channel (not larger than ``FileSettings.MaxFileSize``) after
        the plugin's FileWillBeUploaded, which may reject or replace it."""
        with self.transaction():
            self._channel(request.channel_id)
            limit = self._max_file_size()
            if limit and len(request.data) > limit:
                raise FakeAppError(
                    "api.file.upload_file.too_large_detailed.app_error",
                    f"{request.filename!r} exceeds the maximum file size of {limit} bytes",
                    413,
                )
            # "nouser": what the server records as the creator of a plugin's upload.
            info = self.new_file_info(request.channel_id, "nouser", request.filename, request.data)
        info = self.store_file(info, request.data)
        return api_file_bot_pb2.UploadFileResponse(file_info=info)

    @embedded
    def GetFile(
        self, request: api_file_bot_pb2.GetFileRequest, context: Ctx
    ) -> api_file_bot_pb2.GetFileResponse:
        """A file's content."""
        return api_file_bot_pb2.GetFileResponse(data=self._file(request.file_id).data)

    @embedded
    def GetFileInfo(
        self, request: api_file_bot_pb2.GetFileInfoRequest, context: Ctx
    ) -> api_file_bot_pb2.GetFileInfoResponse:
        """A file's info."""
        return api_file_bot_pb2.GetFileInfoResponse(file_info=self._file(request.file_id).info)

    @embedded(never_fails=True)
    def GetFileInfos(
        self, request: api_file_bot_pb2.GetFileInfosRequest, context: Ctx
    ) -> api_file_bot_pb2.GetFileInfosResponse:
        """File infos by creator and channel, sorted by time or size, a page at a time."""
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
        """Copies files' infos for a user (new ids, on no post), all or none."""
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

    @embedded
    def GetFileLink(
        self, request: api_file_bot_pb2.GetFileLinkRequest, context: Ctx
    ) -> api_file_bot_pb2.GetFileLinkResponse:
        """A public link to a file attached to a post, when ``FileSettings.EnablePublicLink``
        is on (501 otherwise, the server's default; 400 for a file on no post)."""
        if not self.config.get("FileSettings", {}).get("EnablePublicLink"):
            raise FakeAppError(
                "plugin_api.get_file_link.disabled.app_error", "public links are disabled", 501
            )
        info = self._file(request.file_id).info
        if not info.post_id:
            raise bad_request(
                "plugin_api.get_file_link.no_post.app_error", "the file is not attached to a post"
            )
        salt = str(self.config.get("FileSettings", {}).get("PublicLinkSalt", self.plugin_id))
        digest = hmac.new(salt.encode(), info.id.encode(), hashlib.sha256).digest()
        token = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        site = str(self.config.get("ServiceSettings", {}).get("SiteURL", "")).rstrip("/")
        return api_file_bot_pb2.GetFileLinkResponse(link=f"{site}/files/{info.id}/public?h={token}")

    @embedded
    def ReadFile(
        self, request: api_file_bot_pb2.ReadFileRequest, context: Ctx
    ) -> api_file_bot_pb2.ReadFileResponse:
        """A file by its path in the file store (``file_path`` of its info: the server's
        layout, ``YYYYMMDD/teams/noteam/channels/<channel>/users/<user>/<id>/<name>``)."""
        for stored in self.files.values():
            if file_path(stored.info) == request.path and not stored.info.delete_at:
                return api_file_bot_pb2.ReadFileResponse(data=stored.data)
        raise not_found("api.file.read_file.reading_file.app_error", "file", request.path)

    @embedded
    def SetFileSearchableContent(
        self, request: api_file_bot_pb2.SetFileSearchableContentRequest, context: Ctx
    ) -> api_file_bot_pb2.SetFileSearchableContentResponse:
        """Sets the text a file search finds the file by."""
        info = self._file(request.file_id).info
        self.file_contents[info.id] = request.content.encode()
        return api_file_bot_pb2.SetFileSearchableContentResponse()
