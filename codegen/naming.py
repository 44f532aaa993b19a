"""Python names for proto names: one rule, used by every generator."""

from __future__ import annotations

import re

# Words that Go spells in mixed case but that read as one word in snake_case.
WHOLE_WORDS = {"OAuth": "Oauth", "WebSocket": "Websocket"}


def snake(name: str) -> str:
    """Go/proto name → snake_case, acronyms kept whole.

    KVSet → kv_set, GetLDAPUserAttributes → get_ldap_user_attributes,
    CreateOAuthApp → create_oauth_app, PublishWebSocketEvent → publish_websocket_event.
    """
    for word, replacement in WHOLE_WORDS.items():
        name = name.replace(word, replacement)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()
