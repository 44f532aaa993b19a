"""The SDK side of the upload benchmark: a FileWillBeUploaded filter."""

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import FileInfo, PluginContext


class UploadFilterPlugin(Plugin):
    @hook(HookName.FileWillBeUploaded)
    def filter_upload(
        self, context: PluginContext, file_info: FileInfo, file_content: bytes
    ) -> tuple[FileInfo | None, bytes | None, str]:
        if file_content.startswith(b"MZ"):
            return None, None, "no executables"
        if file_info.name.startswith("shout"):
            return file_info, file_content.upper(), ""
        return file_info, file_content, ""


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(UploadFilterPlugin)
