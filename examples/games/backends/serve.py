#!/usr/bin/python3
"""Tiny static file server for the games demo backends.

  serve.py --listen 127.0.0.21:8080 --root examples/games/backends/mario

Serves the files under --root. Any path that does not name an existing
file (and any directory) gets that directory's or the root's index.html,
so "/" (what the gateway's URLRewrite sends) and "/mario/whatever" both
return the game page. Only GET and HEAD are allowed (405 otherwise).
Every response carries "X-Served-By: <name>" (default: the root's base
name) so the demo can show which backend answered.

Logs one line per request to stdout:
  <client-ip>:<port> "<METHOD> <uri> <proto>" <status> <bytes> host=<Host>
Prints "listening on ADDR:PORT" once bound. SIGTERM/SIGINT exit with 0.
"""

import argparse
import mimetypes
import os
import posixpath
import signal
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_print_lock = threading.Lock()


def log_line(text):
    with _print_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


class StaticHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "games-backend"
    sys_version = ""
    timeout = 300

    def log_message(self, fmt, *args):
        pass

    def resolve(self):
        """Absolute path of the file to serve for self.path."""
        root = self.server.root
        raw = urllib.parse.urlsplit(self.path).path
        rel = posixpath.normpath(urllib.parse.unquote(raw)).lstrip("/")
        candidate = os.path.realpath(os.path.join(root, rel))
        inside = candidate == root or candidate.startswith(root + os.sep)
        if inside and os.path.isdir(candidate):
            candidate = os.path.join(candidate, "index.html")
        if inside and os.path.isfile(candidate):
            return candidate
        return os.path.join(root, "index.html")

    def reply(self, code, body, ctype):
        self.send_response_only(code)
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Served-By", self.server.name)
        if code == 405:
            self.send_header("Allow", "GET, HEAD")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        log_line('%s:%s "%s" %d %d host=%s'
                 % (self.client_address[0], self.client_address[1],
                    self.requestline, code, len(body),
                    self.headers.get("Host", "-")))

    def do_GET(self):
        path = self.resolve()
        try:
            with open(path, "rb") as f:
                body = f.read()
        except OSError:
            self.reply(404, b"not found\n", "text/plain; charset=utf-8")
            return
        ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if ctype.startswith("text/"):
            ctype += "; charset=utf-8"
        self.reply(200, body, ctype)

    do_HEAD = do_GET

    def not_allowed(self):
        length = self.headers.get("Content-Length")
        if length and length.isdigit():
            self.rfile.read(int(length))
        self.reply(405, b"method not allowed\n", "text/plain; charset=utf-8")

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = not_allowed


class StaticServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, family, root, name):
        self.address_family = family
        self.root = root
        self.name = name
        super().__init__(addr, StaticHandler)

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def parse_listen(text):
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
        return host, int(port), socket.AF_INET6
    if ":" not in text:
        return "127.0.0.1", int(text), socket.AF_INET
    host, _, port = text.rpartition(":")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return host or "0.0.0.0", int(port), family


def main(argv=None):
    p = argparse.ArgumentParser(description="static server for game pages")
    p.add_argument("--listen", action="append", required=True,
                   metavar="ADDR:PORT", help="address to listen on "
                   "(repeatable)")
    p.add_argument("--root", required=True, help="directory to serve")
    p.add_argument("--name", help="X-Served-By value (default: root's "
                   "base name)")
    args = p.parse_args(argv)

    root = os.path.realpath(args.root)
    if not os.path.isfile(os.path.join(root, "index.html")):
        sys.stderr.write("serve.py: %s/index.html not found\n" % root)
        return 1
    name = args.name or os.path.basename(root)

    servers = []
    spec = ""
    try:
        for spec in args.listen:
            host, port, family = parse_listen(spec)
            servers.append(StaticServer((host, port), family, root, name))
    except (OSError, ValueError) as e:
        sys.stderr.write("serve.py: cannot listen on %s: %s\n" % (spec, e))
        for s in servers:
            s.server_close()
        return 1

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    for s in servers:
        threading.Thread(target=s.serve_forever,
                         kwargs={"poll_interval": 0.2}, daemon=True).start()
        host, port = s.server_address[:2]
        if s.address_family == socket.AF_INET6:
            host = "[%s]" % host
        log_line("listening on %s:%d" % (host, port))

    while not stop.wait(1.0):
        pass
    for s in servers:
        s.shutdown()
        s.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
