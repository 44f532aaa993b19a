"""The signing key: made once, however many nodes activate at once (compare-and-set on the
fake Mattermost's KV store, through the typed client over real gRPC)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from mattermost_plugin.client import PluginAPIClient
from mattermost_plugin.host.fake_server import FakeMattermost, serve
from mattermost_plugin.interactive import KEY_NAME
from mattermost_plugin.interactive._signing import load_key


def test_nodes_activating_at_once_share_one_signing_key() -> None:
    """Each node loads the key on activation; the first to store one wins and every other
    node reads that one."""
    fake = FakeMattermost()
    server, address = serve(fake)
    start = threading.Barrier(8)
    try:
        with PluginAPIClient(target=address, retries=0) as client:

            def node() -> bytes:
                start.wait()
                return load_key(client)

            with ThreadPoolExecutor(8) as pool:
                keys = list(pool.map(lambda _: node(), range(8)))
            assert len(set(keys)) == 1 and len(keys[0]) == 32
            assert fake.kv[KEY_NAME].value == keys[0]
            assert load_key(client) == keys[0]  # and it stays
    finally:
        server.stop(None)
