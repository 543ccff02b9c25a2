#!/usr/bin/python3
"""A gRPC service standing in for the seed's grpc-service.

    grpc_status.py --listen 127.0.0.1:9051 --name grpc-service

Serves my.grpc.Service/GetStatus (the method the seed's GRPCRoute
matches) over h2c, as grpc_pass speaks to it.  The messages are raw
bytes, so no .proto is needed: the answer is "NAME: OK " + the request.
Prints "listening on ADDR:PORT" once bound; Ctrl-C or SIGTERM stops it.

A client (python3-grpcio):

    python3 -c 'import grpc; ch = grpc.insecure_channel("127.0.0.1:50051");
    print(ch.unary_unary("/my.grpc.Service/GetStatus")(b"ping"))'
"""

import argparse
import signal
import sys
import threading
from concurrent import futures

import grpc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True, help="ADDR:PORT")
    ap.add_argument("--name", default="grpc-service")
    args = ap.parse_args()
    name = args.name.encode()

    def get_status(request, context):
        return name + b": OK " + request

    handler = grpc.method_handlers_generic_handler("my.grpc.Service", {
        "GetStatus": grpc.unary_unary_rpc_method_handler(get_status),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(args.listen)
    if port == 0:
        sys.exit(f"cannot listen on {args.listen}")
    server.start()

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    addr = args.listen.rsplit(":", 1)[0]
    print(f"listening on {addr}:{port}", flush=True)
    done.wait()
    server.stop(None)


if __name__ == "__main__":
    main()
