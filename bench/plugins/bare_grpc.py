"""Baseline: a bare grpcio server with only health registered, printing a handshake line."""

import sys
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # type: ignore[import-untyped]

server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=[("grpc.so_reuseport", 0)])
servicer = health.HealthServicer()
servicer.set("plugin", health_pb2.HealthCheckResponse.SERVING)
health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
port = server.add_insecure_port("127.0.0.1:0")
server.start()
sys.stdout.write(f"1|1|tcp|127.0.0.1:{port}|grpc\n")
sys.stdout.flush()
server.wait_for_termination()
