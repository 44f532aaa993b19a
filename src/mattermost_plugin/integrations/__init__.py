"""Integrations with other frameworks, each an optional extra.

* :mod:`mattermost_plugin.integrations.fastapi`: dependencies for FastAPI/Starlette routes
  (the Mattermost user, system admins, calls from other plugins, the plugin and its
  clients); ``pip install 'mattermost-plugin-sdk[fastapi]'``.
"""
