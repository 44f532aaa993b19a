"""``mattermost_plugin.integrations.fastapi`` in a real plugin subprocess: routes that know the
Mattermost user, and the SDK's errors as HTTP statuses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mattermost_plugin.testing import ANONYMOUS, LocalMattermost

pytestmark = pytest.mark.mattermost_plugin("plugins/fastapi_identity", hook_timeout=5.0)


def test_user_id_and_current_user(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    assert mattermost.get("/whoami", user=alice).json() == {"user_id": alice.id}
    anonymous = mattermost.get("/whoami", user=ANONYMOUS)
    assert anonymous.status_code == 401
    assert anonymous.json() == {"detail": "not logged in to Mattermost"}
    assert mattermost.get("/maybe", user=ANONYMOUS).json() == {"user_id": None}
    assert mattermost.get("/maybe", user=alice).json() == {"user_id": alice.id}

    assert mattermost.get("/me", user=alice).json() == {"id": alice.id, "username": "alice"}
    assert mattermost.get("/me", user=ANONYMOUS).status_code == 401
    gone = mattermost.get("/me", user="x" * 26)  # a session whose user no longer exists
    assert gone.status_code == 401


def test_system_admins_only(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    admin = mattermost.user  # the local host's default user is a system admin
    allowed = mattermost.post("/admin/reindex", user=admin)
    assert allowed.status_code == 200 and allowed.json() == {"reindexed_by": admin.id}
    refused = mattermost.post("/admin/reindex", user=alice)
    assert refused.status_code == 403 and refused.json() == {"detail": "system admins only"}
    assert mattermost.post("/admin/reindex", user=ANONYMOUS).status_code == 401


def test_calls_from_other_plugins(mattermost: LocalMattermost) -> None:
    called = mattermost.post(
        "/inter-plugin", headers={"Mattermost-Plugin-ID": "com.example.other"}, user=ANONYMOUS
    )
    assert called.json() == {"caller": "com.example.other"}
    refused = mattermost.post("/inter-plugin", user=mattermost.user)
    assert refused.status_code == 401


def test_plugin_object_and_clients(mattermost: LocalMattermost) -> None:
    answer = mattermost.get("/plugin").json()
    assert answer == {
        "greeting": "hello from the plugin object",
        "same": True,
        "server_version": mattermost.api.get_server_version(),
    }


def test_sdk_errors_become_404_and_403(mattermost: LocalMattermost) -> None:
    alice = mattermost.create_user("alice")
    assert mattermost.get(f"/users/{alice.id}").json() == {"username": "alice"}
    missing = mattermost.get(f"/users/{'y' * 26}")
    assert missing.status_code == 404
    assert "not found" in missing.json()["detail"].lower()
    assert mattermost.get("/missing").status_code == 404
    assert mattermost.get("/secrets", user=mattermost.user).json() == {"secret": 42}
    refused = mattermost.get("/secrets", user=alice)
    assert refused.status_code == 403 and refused.json() == {"detail": "only admins see secrets"}


def test_a_clear_error_without_fastapi() -> None:
    code = (
        "import sys; sys.modules['fastapi'] = None\n"
        "try:\n"
        "    import mattermost_plugin.integrations.fastapi\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "pip install 'mattermost-plugin-sdk[fastapi]'" in output
