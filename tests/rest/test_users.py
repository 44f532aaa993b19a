"""Users, logins, sessions and personal access tokens on the dev server's REST API."""

from __future__ import annotations

import httpx
from tests.rest.conftest import Dev, assert_app_error


def test_created_user_logs_in_and_acts_with_the_session_token(dev: Dev) -> None:
    created = dev.admin.post(
        "/api/v4/users",
        json={"username": "Ada", "email": "Ada@Example.com", "password": "Password1!"},
    )
    assert created.status_code == 201
    user = created.json()
    assert user["username"] == "ada" and user["email"] == "ada@example.com"
    assert "password" not in user and "mfa_secret" not in user and len(user["id"]) == 26
    assert user["roles"] == "system_user"

    login = httpx.post(
        timeout=30,
        url=f"{dev.server.url}/api/v4/users/login",
        json={"login_id": "ada", "password": "Password1!"},
    )
    assert login.status_code == 200 and login.json()["id"] == user["id"]
    token = login.headers["Token"]
    with dev.client(token) as ada:
        assert ada.get("/api/v4/users/me").json()["id"] == user["id"]
        # The server's other spelling, and the query parameter.
        assert (
            dev.client(**{"Authorization": f"Token {token}"}).get("/api/v4/users/me").json()["id"]
            == user["id"]
        )
        assert (
            httpx.get(
                timeout=30, url=f"{dev.server.url}/api/v4/users/me?access_token={token}"
            ).json()["id"]
            == user["id"]
        )
        assert ada.post("/api/v4/users/logout").json() == {"status": "OK"}
        assert_app_error(ada.get("/api/v4/users/me"), 401, "api.context.session_expired.app_error")


def test_no_token_acts_as_the_default_admin_and_a_bad_token_is_401(dev: Dev) -> None:
    me = dev.admin.get("/api/v4/users/me").json()
    assert me["username"] == "admin" and "system_admin" in me["roles"]
    for header in ("Bearer nosuchtoken", "Basic abc", "Bearer"):
        answer = dev.client(Authorization=header).get("/api/v4/users/me")
        assert_app_error(answer, 401, "api.context.session_expired.app_error")
    # Routes that need no session ignore a bad token, as the server's do.
    assert dev.client("nosuchtoken").get("/api/v4/system/ping").status_code == 200


def test_wrong_password_and_a_login_the_plugin_rejects(dev: Dev) -> None:
    dev.admin.post(
        "/api/v4/users",
        json={"username": "blocked", "email": "b@example.com", "password": "Password1!"},
    )
    rejected = httpx.post(
        timeout=30,
        url=f"{dev.server.url}/api/v4/users/login",
        json={"login_id": "blocked", "password": "Password1!"},
    )
    body = assert_app_error(rejected, 400)
    assert body["message"] == "Login rejected by plugin: blocked users stay out"
    assert "Token" not in rejected.headers
    wrong = httpx.post(
        timeout=30,
        url=f"{dev.server.url}/api/v4/users/login",
        json={"login_id": "nobody", "password": "x"},
    )
    assert_app_error(wrong, 401, "api.user.login.invalid_credentials_email_username")


def test_personal_access_tokens(dev: Dev) -> None:
    grace = dev.user("grace")
    # A plain user has no create_user_access_token permission.
    refused = grace.http.post(f"/api/v4/users/{grace.id}/tokens", json={"description": "ci"})
    assert_app_error(refused, 403, "api.context.permissions.app_error")
    made = dev.admin.post(f"/api/v4/users/{grace.id}/tokens", json={"description": "ci"})
    assert made.status_code == 200
    token = made.json()
    assert token["user_id"] == grace.id and token["is_active"] and len(token["token"]) == 26
    with dev.client(token["token"]) as with_token:
        assert with_token.get("/api/v4/users/me").json()["username"] == "grace"
        listed = dev.admin.get(f"/api/v4/users/{grace.id}/tokens").json()
        assert [t["id"] for t in listed] == [token["id"]] and "token" not in listed[0]
        revoked = dev.admin.post("/api/v4/users/tokens/revoke", json={"token_id": token["id"]})
        assert revoked.json() == {"status": "OK"}
        assert with_token.get("/api/v4/users/me").status_code == 401
    missing = dev.admin.post(f"/api/v4/users/{grace.id}/tokens", json={})
    assert_app_error(missing, 400, "api.context.invalid_body_param.app_error")


def test_patch_roles_and_deactivation_follow_the_servers_permissions(dev: Dev) -> None:
    alan = dev.user("alan")
    other = dev.user("other")
    patched = alan.http.put("/api/v4/users/me/patch", json={"nickname": "Turing"})
    assert patched.status_code == 200 and patched.json()["nickname"] == "Turing"
    refused = alan.http.put(f"/api/v4/users/{other.id}/patch", json={"nickname": "x"})
    assert_app_error(refused, 403, "api.context.permissions.app_error")
    assert dev.admin.get(f"/api/v4/users/{other.id}").json()["nickname"] == ""
    # Another user's view of a user is sanitized.
    seen = alan.http.get(f"/api/v4/users/{other.id}").json()
    assert "notify_props" not in seen and "last_password_update" not in seen
    taken = dev.admin.put(f"/api/v4/users/{other.id}/patch", json={"username": "alan"})
    assert_app_error(taken, 409, "app.user.save.username_exists.app_error")

    assert_app_error(
        alan.http.put(f"/api/v4/users/{alan.id}/roles", json={"roles": "system_admin"}), 403
    )
    assert_app_error(alan.http.put(f"/api/v4/users/{other.id}/active", json={"active": False}), 403)
    assert_app_error(
        alan.http.put(f"/api/v4/users/{alan.id}/active", json={"active": False}),
        401,
        "api.user.update_active.not_enable.app_error",
    )
    deactivated = dev.admin.put(f"/api/v4/users/{other.id}/active", json={"active": False})
    assert deactivated.json() == {"status": "OK"}
    assert dev.admin.get(f"/api/v4/users/{other.id}").json()["delete_at"] > 0
    assert other.http.get("/api/v4/users/me").status_code == 401  # sessions revoked
    assert (
        dev.admin.put(f"/api/v4/users/{alan.id}/roles", json={"roles": "bogus"}).status_code == 400
    )


def test_unknown_and_malformed_user_ids(dev: Dev) -> None:
    assert_app_error(dev.admin.get("/api/v4/users/" + "a" * 26), 404)
    assert_app_error(
        dev.admin.get("/api/v4/users/not-an-id"), 400, "api.context.invalid_url_param.app_error"
    )
    assert_app_error(dev.admin.get("/api/v4/users/username/nobody"), 404)
    assert_app_error(dev.admin.delete("/api/v4/users/me"), 405, "api.context.405.app_error")
    assert_app_error(dev.admin.get("/api/v4/nothing/here"), 404, "api.context.404.app_error")
