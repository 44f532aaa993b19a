"""Cluster events the plugin publishes (``PublishPluginClusterEvent``): the server sends
them to the plugin on the *other* nodes; a host with one node records them and hands them
to ``deliver_cluster_event`` (a host with several nodes delivers them there)."""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from mattermost_plugin._pb.pluginapi.v1 import api_remaining_pb2
from mattermost_plugin.host.fake_server._rpc import Ctx, status
from mattermost_plugin.host.fake_server._state import FakeState


@dataclass(frozen=True)
class ClusterEvent:
    """A cluster event as the plugin published it."""

    event: api_remaining_pb2.PluginClusterEvent
    options: api_remaining_pb2.PluginClusterEventSendOptions


class ClusterAPI(FakeState):
    cluster_events: collections.deque[ClusterEvent]
    """The latest cluster events the plugin published."""
    deliver_cluster_event: Callable[[ClusterEvent, grpc.ServicerContext], None] | None
    """Gets every published event with the publishing call's context; must not call back
    into the fake synchronously."""

    @status(never_fails=True)
    def PublishPluginClusterEvent(
        self, request: api_remaining_pb2.PublishPluginClusterEventRequest, context: Ctx
    ) -> api_remaining_pb2.PublishPluginClusterEventResponse:
        """Sends an event to the plugin on the other nodes (recorded in
        ``cluster_events``; with one node it reaches no one)."""
        event = ClusterEvent(request.event, request.opts)
        self.cluster_events.append(event)
        if self.deliver_cluster_event is not None:
            self.deliver_cluster_event(event, context)
        return api_remaining_pb2.PublishPluginClusterEventResponse()
