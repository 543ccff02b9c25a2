#!/usr/bin/python3
"""A line echo standing in for a TCP service such as MySQL.

    line_echo.py --listen 127.0.0.1:9306 --name mysql-db

Answers every line it reads with "NAME: LINE"; prints "listening on
ADDR:PORT" once bound. Ctrl-C or SIGTERM stops it.
"""

import argparse
import signal
import socketserver
import sys


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(self.server.name + b": " + line)
            self.wfile.flush()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True, help="ADDR:PORT")
    ap.add_argument("--name", default="echo")
    args = ap.parse_args()

    addr, port = args.listen.rsplit(":", 1)
    server = Server((addr, int(port)), Handler)
    server.name = args.name.encode()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on {addr}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
