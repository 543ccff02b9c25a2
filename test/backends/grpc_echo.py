#!/usr/bin/python3
"""gRPC echo backend without protoc: raw bytes in, raw bytes out.

It serves one gRPC service (my.grpc.Service by default) whose methods
(GetStatus and Echo by default) take any message and answer with

    <name> <service>/<method>: <the request's bytes>

as the response message, and the trailing metadata `x-backend: <name>`,
so a client sees which backend and which method a call reached.  The
methods are registered with grpc.method_handlers_generic_handler and no
(de)serializers: the messages are the bytes on the wire, no .proto file
is needed.  A call to any other service or method is answered
UNIMPLEMENTED by grpcio itself.

It speaks plaintext HTTP/2 (h2c), which is what nginx's grpc_pass
sends to a grpc:// upstream.

With --conformance it is instead the conformance suite's gRPC echo
(echo-basic with GRPC_ECHO_SERVER=1, HARNESS.md section 3): service
gateway_api_conformance.echo_basic.grpcecho.GrpcEcho, methods Echo and
EchoTwo answer an EchoResponse whose assertions carry the fully
qualified method, the request's metadata as headers, the :authority and
the context (namespace, ingress, service_name, pod from --namespace/--pod
or $NAMESPACE/$POD_NAME/...); EchoThree is UNIMPLEMENTED. Messages are
encoded by grpcecho_pb.py (no protoc needed).

Usage:
  grpc_echo.py --listen 127.0.0.1:50051 --name grpc-service
               [--service my.grpc.Service] [--method GetStatus
               --method Echo ...]
  grpc_echo.py --listen 127.0.0.1:3000 --conformance
               [--namespace NS --pod POD --service-name SVC --ingress I]

Once bound it prints "listening on ADDR:PORT" (the real port; port 0
picks a free one).  SIGTERM / SIGINT stop it with exit status 0.
"""

import argparse
import os
import signal
import sys
import threading
from concurrent import futures

import grpc

import grpcecho_pb

DEFAULT_SERVICE = "my.grpc.Service"
DEFAULT_METHODS = ("GetStatus", "Echo")


def make_handler(name, service, method):
    """A unary-unary behaviour answering with name, method and request."""

    def handle(request, context):
        context.set_trailing_metadata((("x-backend", name),))
        head = f"{name} {service}/{method}: ".encode()
        return head + request

    return grpc.unary_unary_rpc_method_handler(handle)


def call_authority(context):
    """The call's :authority. grpcio's public API does not expose it; its
    server context keeps the core call details (grpc/_server.py)."""
    event = getattr(context, "_rpc_event", None)
    host = getattr(getattr(event, "call_details", None), "host", b"")
    if isinstance(host, bytes):
        host = host.decode("utf-8", "replace")
    return host or ""


def make_conformance_handler(config, method):
    """Echo/EchoTwo of the conformance GrpcEcho service."""
    full = "/%s/%s" % (grpcecho_pb.SERVICE, method)

    def handle(request, context):
        headers = [{"key": k, "value": v if isinstance(v, str)
                    else v.decode("latin-1")}
                   for k, v in context.invocation_metadata()]
        authority = call_authority(context)
        print("Received over plaintext: %s authority=%s" % (full, authority),
              flush=True)
        reply = {"assertions": {"fully_qualified_method": full,
                                "headers": headers,
                                "authority": authority,
                                "context": config},
                 "request": {}}
        return grpcecho_pb.encode("EchoResponse", reply)

    return grpc.unary_unary_rpc_method_handler(handle)


def make_server(args):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    if args.conformance:
        config = {"namespace": args.namespace, "ingress": args.ingress,
                  "service_name": args.service_name, "pod": args.pod}
        service = grpcecho_pb.SERVICE
        methods = {m: make_conformance_handler(config, m)
                   for m in ("Echo", "EchoTwo")}
    else:
        service = args.service
        methods = {m: make_handler(args.name, args.service, m)
                   for m in args.method}
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service, methods),))
    port = server.add_insecure_port(args.listen)
    if port == 0:
        raise OSError(f"cannot listen on {args.listen}")
    return server, port


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    env = os.environ
    p.add_argument("--listen", required=True, metavar="ADDR:PORT")
    p.add_argument("--name", help="named in every answer and in x-backend "
                   "(required without --conformance)")
    p.add_argument("--conformance", action="store_true",
                   help="be the conformance GrpcEcho server")
    p.add_argument("--namespace", default=env.get("NAMESPACE", ""))
    p.add_argument("--pod", default=env.get("POD_NAME", ""))
    p.add_argument("--service-name", default=env.get("SERVICE_NAME", ""))
    p.add_argument("--ingress", default=env.get("INGRESS_NAME", ""))
    p.add_argument("--service", default=DEFAULT_SERVICE)
    p.add_argument("--method", action="append",
                   help="a method to serve (repeatable; default: "
                        + ", ".join(DEFAULT_METHODS) + ")")
    args = p.parse_args(argv)
    if not args.conformance and not args.name:
        p.error("--name is required without --conformance")
    args.method = args.method or list(DEFAULT_METHODS)

    try:
        server, port = make_server(args)
    except (OSError, RuntimeError) as e:
        print(f"grpc_echo: {e}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    addr = args.listen.rpartition(":")[0]
    print(f"listening on {addr}:{port}", flush=True)
    while not stop.wait(0.5):     # a timed wait lets the handler run
        pass
    server.stop(grace=1).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
