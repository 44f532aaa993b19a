"""The dev server's routes for clicks and dialogs, as the webapp calls the server: a real
``mattermost-plugin dev`` subprocess over real sockets, with the board plugin."""

from __future__ import annotations

from pathlib import Path

from tests.support.dev import copy_plugin, dev_server

BOARD = Path(__file__).parent / "plugins" / "board"


def test_click_and_submit_through_the_servers_routes(tmp_path: Path) -> None:
    folder = copy_plugin(BOARD, tmp_path / "board")
    with dev_server(folder, "--in-memory") as dev:
        status = dev.status()
        command = {"channel_id": "town-square", "command": "/board post cats"}
        post_id = dev.request("POST", "/api/v4/commands/execute", command).json()["text"]
        post = dev.request("GET", f"/api/v4/posts/{post_id}").json()
        up, *_, weight = post["props"]["attachments"][0]["actions"][:3]

        clicked = dev.request("POST", f"/api/v4/posts/{post_id}/actions/{up['id']}", {})
        assert clicked.status == 200
        assert clicked.json()["status"] == "OK" and clicked.json()["trigger_id"]
        dev.wait_output(r"action\s+'Up' clicked by admin on " + post_id)
        chosen = dev.request(
            "POST", f"/api/v4/posts/{post_id}/actions/{weight['id']}", {"selected_option": "3"}
        )
        assert chosen.status == 200

        missing = dev.request("POST", f"/api/v4/posts/{post_id}/actions/nosuchaction", {})
        assert missing.status == 404
        assert missing.json()["id"] == "api.post.do_action.action_id.app_error"
        anonymous = dev.request(
            "POST",
            f"/api/v4/posts/{post_id}/actions/{up['id']}",
            {},
            headers={"Mattermost-User-Id": ""},
        )
        assert anonymous.status == 401

        # A dialog opened by a command, listed, then submitted as the webapp does.
        dev.request("POST", "/api/v4/commands/execute", {**command, "command": "/board poll x"})
        (opened, *_) = dev.request("GET", "/dev/dialogs").json()
        request = opened["request"]
        assert opened["user_id"] == status["user_id"]
        submission = {
            "url": request["url"],
            "callback_id": request["dialog"]["callback_id"],
            "state": request["dialog"]["state"],
            "channel_id": status["channel_id"],
            "submission": {"question": "", "due": "2030-01-01", "size": "m"},
        }
        kept_open = dev.request("POST", "/api/v4/actions/dialogs/submit", submission)
        assert kept_open.status == 200
        assert kept_open.json() == {"errors": {"question": "This field is required."}}
        submission["submission"]["question"] = "Lunch?"
        closed = dev.request("POST", "/api/v4/actions/dialogs/submit", submission)
        assert closed.status == 200 and closed.json() == {}
        dev.wait_output(r"dialog\s+'poll' submitted")

        forged = dev.request(
            "POST", "/api/v4/actions/dialogs/submit", {**submission, "state": "forged"}
        )
        assert forged.status == 400
        assert forged.json()["id"] == "api.post.do_action.action_integration.app_error"
        dev.wait_output(r"refused a dialog request for 'poll'")
        elsewhere = dev.request(
            "POST", "/api/v4/actions/dialogs/submit", {**submission, "url": "https://example.com/"}
        )
        assert elsewhere.status == 400
        assert "delivers only to this plugin's URLs" in elsewhere.json()["message"]
