"""Host-side tooling: an in-memory fake Mattermost server that serves the PluginAPI over gRPC."""
