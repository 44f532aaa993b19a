"""The guide's "Testing Your Plugin", rewritten with ``mattermost_plugin.testing``
(docs/testing.md): the plugin runs for real, as a subprocess, against the fake server."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mattermost_plugin.testing import LocalMattermost, PostRejectedError

SPAM_FILTER = Path(__file__).parent / "plugins" / "spam_filter"


# --- the guide's test, as in docs/testing.md ---------------------------------------------------


@pytest.mark.mattermost_plugin("plugins/spam_filter")
def test_message_filter(mattermost: LocalMattermost) -> None:
    # Test that spam is rejected
    with pytest.raises(PostRejectedError) as rejected:
        mattermost.create_post(mattermost.channel, "This is spam")
    assert "spam" in rejected.value.reason.lower()

    # Test that normal messages pass
    post = mattermost.create_post(mattermost.channel, "Hello, world!")
    assert post.message == "Hello, world!"
    assert [p.message for p in mattermost.posts(mattermost.channel)] == ["Hello, world!"]

    # Modified messages are stored as the plugin changed them
    post = mattermost.create_post(mattermost.channel, "what the heck")
    assert mattermost.get_post(post.id).message == "what the ****"

    # The plugin's own log
    assert mattermost.find_logs("Rejected spam", level="info")


# --- the same, in a user's plugin project, through the installed pytest plugin ------------------


def test_a_plugin_project_uses_the_fixtures(tmp_path: Path) -> None:
    project = tmp_path / "my-python-plugin"
    subprocess.run(["cp", "-r", str(SPAM_FILTER), str(project)], check=True)
    (project / "pytest.ini").write_text("[pytest]\nmattermost_plugin_dir = .\n")
    (project / "tests").mkdir()
    (project / "tests" / "test_plugin.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from mattermost_plugin.testing import PostRejectedError


            def test_message_filter(mattermost):
                with pytest.raises(PostRejectedError) as rejected:
                    mattermost.create_post(mattermost.channel, "This is spam")
                assert "spam" in rejected.value.reason.lower()
                post = mattermost.create_post(mattermost.channel, "Hello, world!")
                assert post.message == "Hello, world!"


            @pytest.mark.mattermost_plugin(config={"greeting": "hi"})
            def test_settings(mattermost):
                assert mattermost.api.get_plugin_config() == {"greeting": "hi"}


            def test_failure_shows_the_plugin_log(mattermost):
                mattermost.create_post(None, "buy now!")
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "1 failed, 2 passed" in result.stdout, result.stdout + result.stderr
    assert "PostRejectedError: Post rejected by plugin. Message rejected: spam detected" in (
        result.stdout
    )
    assert "mattermost plugin log" in result.stdout
    assert "[info] Rejected spam" in result.stdout
