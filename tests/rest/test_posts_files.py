"""Posts (through the plugin's message hooks), reactions, threads, slash commands and file
uploads (through FileWillBeUploaded) on the dev server's REST API."""

from __future__ import annotations

import httpx
from tests.rest.conftest import Dev, assert_app_error


def test_posts_edits_deletes_and_threads(dev: Dev) -> None:
    ida, joe = dev.user("ida"), dev.user("joe")
    made = ida.http.post("/api/v4/posts", json={"channel_id": dev.town_square, "message": "one"})
    assert made.status_code == 201
    post = made.json()
    assert post["user_id"] == ida.id and post["message"] == "one"
    assert {"id", "create_at", "update_at", "edit_at", "delete_at", "channel_id"} <= set(post)

    edited = ida.http.put(f"/api/v4/posts/{post['id']}/patch", json={"message": "two"})
    assert edited.status_code == 200
    assert edited.json()["message"] == "two" and edited.json()["edit_at"] > 0
    # MessageWillBeUpdated rejects: the server's 400, and the post stays as it was.
    refused = ida.http.put(f"/api/v4/posts/{post['id']}/patch", json={"message": "forbidden"})
    assert (
        assert_app_error(refused, 400)["message"]
        == "Post rejected by plugin. that edit is forbidden"
    )
    assert ida.http.get(f"/api/v4/posts/{post['id']}").json()["message"] == "two"
    assert_app_error(joe.http.put(f"/api/v4/posts/{post['id']}/patch", json={"message": "x"}), 403)
    # An admin edits anyone's post; PUT takes the whole post.
    whole = dev.admin.put(
        f"/api/v4/posts/{post['id']}", json={"id": post["id"], "message": "three"}
    )
    assert whole.status_code == 200 and whole.json()["message"] == "three"
    wrong_id = dev.admin.put(f"/api/v4/posts/{post['id']}", json={"id": "x", "message": "y"})
    assert_app_error(wrong_id, 400, "api.context.invalid_body_param.app_error")

    reply = joe.http.post(
        "/api/v4/posts",
        json={"channel_id": dev.town_square, "message": "re", "root_id": post["id"]},
    ).json()
    thread = ida.http.get(f"/api/v4/posts/{reply['id']}/thread").json()
    assert thread["order"] == [reply["id"], post["id"]]
    assert thread["posts"][post["id"]]["reply_count"] == 1
    bad_root = joe.http.post(
        "/api/v4/posts", json={"channel_id": dev.town_square, "message": "x", "root_id": "a" * 26}
    )
    assert_app_error(bad_root, 400, "api.post.create_post.root_id.app_error")

    assert_app_error(joe.http.delete(f"/api/v4/posts/{post['id']}"), 403)
    assert ida.http.delete(f"/api/v4/posts/{post['id']}").json() == {"status": "OK"}
    assert_app_error(ida.http.get(f"/api/v4/posts/{post['id']}"), 404)
    assert_app_error(ida.http.get(f"/api/v4/posts/{reply['id']}"), 404)  # with its thread
    listed = ida.http.get(f"/api/v4/channels/{dev.town_square}/posts").json()
    assert post["id"] not in listed["order"]


def test_reactions(dev: Dev) -> None:
    kim = dev.user("kim")
    post = kim.http.post(
        "/api/v4/posts", json={"channel_id": dev.town_square, "message": "r"}
    ).json()
    reaction = {"user_id": kim.id, "post_id": post["id"], "emoji_name": "tada"}
    added = kim.http.post("/api/v4/reactions", json=reaction)
    assert added.status_code == 201
    assert {k: added.json()[k] for k in reaction} == reaction
    dev.server.local.wait_for_log("reaction")  # ReactionHasBeenAdded ran
    for_other = dict(reaction, user_id=dev.server.local.user.id)
    assert_app_error(
        kim.http.post("/api/v4/reactions", json=for_other),
        403,
        "api.reaction.save_reaction.user_id.app_error",
    )
    assert_app_error(
        kim.http.post("/api/v4/reactions", json=dict(reaction, emoji_name="not an emoji")), 400
    )
    shown = kim.http.get(f"/api/v4/posts/{post['id']}").json()
    assert [r["emoji_name"] for r in shown["metadata"]["reactions"]] == ["tada"]
    assert [
        r["emoji_name"] for r in kim.http.get(f"/api/v4/posts/{post['id']}/reactions").json()
    ] == ["tada"]
    gone = kim.http.delete(f"/api/v4/users/me/posts/{post['id']}/reactions/tada")
    assert gone.json() == {"status": "OK"}
    assert kim.http.get(f"/api/v4/posts/{post['id']}/reactions").json() == []


def test_slash_commands_run_as_the_acting_user(dev: Dev) -> None:
    lee = dev.user("lee")
    answer = lee.http.post(
        "/api/v4/commands/execute", json={"channel_id": dev.town_square, "command": "/whisper"}
    )
    assert answer.status_code == 200 and answer.json()["text"] == "psst"
    ephemeral = dev.server.local.ephemeral_posts(lee.id)
    assert [p.message for p in ephemeral] == ["psst"]
    assert_app_error(
        lee.http.post("/api/v4/commands/execute", json={"channel_id": dev.town_square}), 400
    )


def test_multipart_uploads_run_file_will_be_uploaded(dev: Dev) -> None:
    max_ = dev.user("max")
    upload = max_.http.post(
        "/api/v4/files",
        data={"channel_id": dev.town_square, "client_ids": ["c1", "c2"]},
        files=[
            ("files", ("notes.txt", b"hello", "text/plain")),
            ("files", ("shout-loud.txt", b"quiet", "text/plain")),
        ],
    )
    assert upload.status_code == 201, upload.text
    body = upload.json()
    assert body["client_ids"] == ["c1", "c2"]
    notes, loud = body["file_infos"]
    assert notes["name"] == "notes.txt" and notes["user_id"] == max_.id and notes["size"] == 5
    assert notes["channel_id"] == dev.town_square and notes["extension"] == "txt"
    content = max_.http.get(f"/api/v4/files/{loud['id']}")
    assert content.content == b"QUIET"  # the plugin changed it
    assert "attachment" in content.headers["content-disposition"]
    assert max_.http.get(f"/api/v4/files/{notes['id']}/info").json()["id"] == notes["id"]

    post = max_.http.post(
        "/api/v4/posts",
        json={"channel_id": dev.town_square, "message": "files", "file_ids": [notes["id"]]},
    ).json()
    assert post["file_ids"] == [notes["id"]]
    assert [f["id"] for f in post["metadata"]["files"]] == [notes["id"]]

    rejected = max_.http.post(
        "/api/v4/files",
        data={"channel_id": dev.town_square},
        files={"files": ("virus.exe", b"MZ", "application/octet-stream")},
    )
    body = assert_app_error(rejected, 403, "api.file.upload_file.rejected_by_plugin.app_error")
    assert "no viruses here" in body["message"]

    raw = max_.http.post(
        "/api/v4/files",
        params={"channel_id": dev.town_square, "filename": "raw.bin"},
        content=b"\x00\x01",
    )
    assert raw.status_code == 201 and raw.json()["file_infos"][0]["size"] == 2

    assert_app_error(
        max_.http.post("/api/v4/files", files={"files": ("a.txt", b"a", "text/plain")}),
        400,
        "api.context.invalid_body_param.app_error",
    )
    assert_app_error(max_.http.post("/api/v4/files", data={"channel_id": dev.town_square}), 400)
    assert_app_error(
        max_.http.post("/api/v4/files", content=b"x", headers={"Content-Type": "text/plain"}), 400
    )
    outsider = dev.user("outsider", team=False)
    assert_app_error(
        outsider.http.post(
            "/api/v4/files",
            data={"channel_id": dev.town_square},
            files={"files": ("a.txt", b"a", "text/plain")},
        ),
        403,
    )
    assert_app_error(outsider.http.get(f"/api/v4/files/{notes['id']}"), 403)


def test_config_and_logs_are_for_system_admins(dev: Dev) -> None:
    nia = dev.user("nia")
    assert_app_error(nia.http.get("/api/v4/config"), 403)
    assert_app_error(nia.http.put("/api/v4/config/patch", json={}), 403)
    assert_app_error(nia.http.get("/api/v4/logs"), 403)
    lines = dev.admin.get("/api/v4/logs").json()
    assert all(isinstance(line, str) for line in lines)
    mine = [line for line in lines if '"plugin_id": "com.example.reactor"' in line]
    assert any('"msg": "reactor activated"' in line for line in mine)
    paged = dev.admin.get("/api/v4/logs", params={"page": 0, "logs_per_page": 2}).json()
    assert paged == lines[-2:]
    assert dev.admin.get("/api/v4/logs", params={"page": 10_000, "logs_per_page": 2}).json() == []
    assert_app_error(dev.admin.get("/api/v4/logs", params={"page": "x"}), 400)
    assert (
        httpx.get(timeout=30, url=f"{dev.server.url}/api/v4/system/ping").json()["status"] == "OK"
    )
