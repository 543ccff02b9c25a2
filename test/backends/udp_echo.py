#!/usr/bin/python3
"""UDP echo backend honouring the Gateway API conformance UDP contract.

It behaves like registry.k8s.io/gateway-api/echo-basic with
UDP_ECHO_SERVER=1 (conformance/echo-basic/udpechoserver): every datagram
is answered, to its sender, with one JSON object

  {"request": "<the datagram>", "namespace": ..., "ingress": ...,
   "service": ..., "pod": ...}

and logged as "Received UDP <datagram> from <addr>".

Usage: udp_echo.py --listen 127.0.0.10:8080 [--namespace NS] [--pod POD]
Defaults come from the environment (UDP_PORT, NAMESPACE, POD_NAME,
SERVICE_NAME, INGRESS_NAME). Once bound it prints "listening on
ADDR:PORT". SIGTERM / SIGINT stop it with exit status 0.
"""

import argparse
import json
import os
import signal
import socket
import sys


def main(argv=None):
    env = os.environ
    p = argparse.ArgumentParser(
        description="Gateway API conformance-style UDP echo server")
    p.add_argument("--listen", metavar="ADDR:PORT",
                   default="127.0.0.1:%s" % env.get("UDP_PORT", "8080"))
    p.add_argument("--namespace", default=env.get("NAMESPACE", ""))
    p.add_argument("--pod", default=env.get("POD_NAME", ""))
    p.add_argument("--service", default=env.get("SERVICE_NAME", ""))
    p.add_argument("--ingress", default=env.get("INGRESS_NAME", ""))
    args = p.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host or "127.0.0.1", int(port)))
    except (OSError, ValueError) as e:
        sys.stderr.write("udp_echo.py: cannot listen on %s: %s\n"
                         % (args.listen, e))
        return 1
    sock.settimeout(0.5)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    print("listening on %s:%d" % sock.getsockname(), flush=True)
    context = {"namespace": args.namespace, "ingress": args.ingress,
               "service": args.service, "pod": args.pod}
    while not stopping:
        try:
            data, peer = sock.recvfrom(1024)
        except socket.timeout:
            continue
        except OSError:
            if stopping:
                break
            raise
        text = data.decode("utf-8", "replace")
        print("Received UDP %s from %s:%d" % (text, peer[0], peer[1]),
              flush=True)
        reply = dict(request=text, **context)
        try:
            sock.sendto(json.dumps(reply).encode(), peer)
        except OSError as e:
            print("Error writing UDP: %s" % e, flush=True)
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
