"""A minimal plugin for the process tests; TEST_* environment variables pick its behaviour.

TEST_JUNK=1             write a line on stdout before the handshake
TEST_NO_HANDSHAKE=1     never start serving
TEST_FAKE_HANDSHAKE=l   write line l as the handshake, then wait without serving
TEST_CRASH_AT_START=N   write to stderr, then exit with code N before serving
TEST_ACTIVATE_FAIL=msg  OnActivate answers an AppError with this message
TEST_CRASH_AFTER=S      exit with code 7 S seconds after OnActivate
TEST_IGNORE_SHUTDOWN=1  GRPCController.Shutdown does nothing (and SIGTERM is ignored)
OnConfigurationChange sleeps TEST_HOOK_SLEEP seconds, or exits with code 9 when
TEST_HOOK_CRASH is set.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from typing import Any

import grpc

from mattermost_plugin._pb.go_plugin import grpc_controller_pb2, grpc_controller_pb2_grpc
from mattermost_plugin._pb.pluginapi.v1 import common_pb2, hooks_lifecycle_pb2, hooks_pb2_grpc
from mattermost_plugin._process import PluginProcess

log = logging.getLogger("mattermost_plugin.plugin.test")
env = os.environ.get

if env("TEST_JUNK"):
    os.write(1, b"hello from an import-time print\n")  # unbuffered: reaches stdout for sure
if env("TEST_CRASH_AT_START"):
    sys.stderr.write("Traceback (most recent call last):\nImportError: no module named nope\n")
    sys.exit(int(env("TEST_CRASH_AT_START", "1")))
if env("TEST_FAKE_HANDSHAKE"):
    os.write(1, env("TEST_FAKE_HANDSHAKE", "").encode() + b"\n")
    time.sleep(600)
if env("TEST_NO_HANDSHAKE"):
    time.sleep(600)


class Hooks(hooks_pb2_grpc.PluginHooksServicer):
    async def Implemented(
        self, request: hooks_lifecycle_pb2.ImplementedRequest, context: Any
    ) -> hooks_lifecycle_pb2.ImplementedResponse:
        return hooks_lifecycle_pb2.ImplementedResponse(
            hooks=["OnActivate", "OnDeactivate", "OnConfigurationChange"]
        )

    async def OnActivate(
        self, request: hooks_lifecycle_pb2.OnActivateRequest, context: Any
    ) -> hooks_lifecycle_pb2.OnActivateResponse:
        failure = env("TEST_ACTIVATE_FAIL")
        if failure:
            return hooks_lifecycle_pb2.OnActivateResponse(
                error=common_pb2.AppError(id="test.activate", message=failure)
            )
        crash_after = env("TEST_CRASH_AFTER")
        if crash_after:
            asyncio.get_running_loop().call_later(float(crash_after), os._exit, 7)
        print("printed after the handshake")  # must land on stderr
        log.warning("activated", extra={"answer": 42})
        log.debug("debug detail")
        return hooks_lifecycle_pb2.OnActivateResponse()

    async def OnDeactivate(
        self, request: hooks_lifecycle_pb2.OnDeactivateRequest, context: Any
    ) -> hooks_lifecycle_pb2.OnDeactivateResponse:
        log.info("deactivated")
        return hooks_lifecycle_pb2.OnDeactivateResponse()

    async def OnConfigurationChange(
        self, request: hooks_lifecycle_pb2.OnConfigurationChangeRequest, context: Any
    ) -> hooks_lifecycle_pb2.OnConfigurationChangeResponse:
        if env("TEST_HOOK_CRASH"):
            os._exit(9)
        await asyncio.sleep(float(env("TEST_HOOK_SLEEP", "0")))
        return hooks_lifecycle_pb2.OnConfigurationChangeResponse()


class DeafController(grpc_controller_pb2_grpc.GRPCControllerServicer):
    async def Shutdown(
        self, request: grpc_controller_pb2.Empty, context: Any
    ) -> grpc_controller_pb2.Empty:
        return grpc_controller_pb2.Empty()


def register(server: grpc.aio.Server) -> None:
    # Abstract only in the stubs: the generated base answers UNIMPLEMENTED for other hooks.
    hooks = Hooks()  # type: ignore[abstract]
    hooks_pb2_grpc.add_PluginHooksServicer_to_server(hooks, server)
    if env("TEST_IGNORE_SHUTDOWN"):
        # Registered after the SDK's controller, so it replaces it.
        grpc_controller_pb2_grpc.add_GRPCControllerServicer_to_server(DeafController(), server)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


async def on_stop(remaining: float) -> None:
    log.info("on_stop", extra={"remaining": round(remaining, 3)})


if __name__ == "__main__":
    sys.exit(PluginProcess(register, on_stop=on_stop).run())
