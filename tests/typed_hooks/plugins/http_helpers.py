"""The local server's HTTP helpers take typed keyword arguments (tests/local covers what they
do): a misspelt or wrongly typed argument is a type error, not a surprise at run time."""

from __future__ import annotations

from mattermost_plugin.testing import ANONYMOUS, LocalMattermost


def use(mattermost: LocalMattermost) -> None:
    mattermost.get("/items", query="page=2", user=ANONYMOUS, timeout=5.0)
    mattermost.post("/items", json_body={"name": "x"}, user=mattermost.user)
    mattermost.put("/items/1", body=b"raw", headers={"X-Kind": "raw"}, user="someone")
    mattermost.patch("/items/1", json_body=[1, 2])
    mattermost.delete("/items/1", user=None)
    # E: Unexpected keyword argument "json_body" for "get"
    mattermost.get("/items", json_body={})
    # E: Argument "user" to "post" of "LocalMattermost" has incompatible type "Literal[3]"
    mattermost.post("/items", user=3)
    # E: Unexpected keyword argument "params" for "delete"
    mattermost.delete("/items/1", params={})
