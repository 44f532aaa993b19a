"""FileWillBeUploaded for files of any size (tests/hooks/test_large_messages.py).

``reject-*`` is rejected, ``shout-*`` comes back upper-cased, anything else is kept; every
call logs the size and SHA-256 of the content the handler got. TEST_CLASS_CAP sets the
``max_message_bytes`` class attribute.
"""

import hashlib
import os

from mattermost_plugin import HookName, Plugin, hook
from mattermost_plugin.models import FileInfo, PluginContext


class LargeUploadPlugin(Plugin):
    cap = os.environ.get("TEST_CLASS_CAP")
    max_message_bytes = int(cap) if cap is not None else None

    @hook(HookName.FileWillBeUploaded)
    def file_will_be_uploaded(
        self, context: PluginContext, file_info: FileInfo, file_content: bytes
    ) -> tuple[FileInfo | None, bytes | None, str]:
        self.logger.info(
            "upload seen",
            extra={
                "file_name": file_info.name,
                "size": len(file_content),
                "sha256": hashlib.sha256(file_content).hexdigest(),
            },
        )
        if file_info.name.startswith("reject-"):
            return None, None, f"{file_info.name} is not welcome"
        if file_info.name.startswith("shout-"):
            return file_info, file_content.upper(), ""
        return file_info, file_content, ""


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(LargeUploadPlugin)
