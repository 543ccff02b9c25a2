#!/usr/bin/python3
"""HTTP/1.1 echo backend honouring the Gateway API conformance echo contract.

It behaves like registry.k8s.io/gateway-api/echo-basic in HTTP mode (see
../shared/gateway-api-v1.6.1/HARNESS.md, section 3):

  /health        200 "OK"
  /status/NNN    responds with status NNN (400 if NNN is not 100..999)
  anything else  200, JSON (indented) describing the request:
                 path, host, method, proto, headers, httpPort,
                 namespace, ingress, service, pod

  X-Echo-Set-Header: "Name:val,Name2:val2"  sets those response headers
  ?delay=1s / ?delay=500ms                  delays the response (Go duration)

Every request logs one line to stdout, the line the mirror tests grep for:

  Echoing back request made to <request-uri> to client (<addr>:<port>)

Usage:
  echo.py --listen 127.0.0.10:3000 [--listen 127.0.0.10:3001 ...]
          [--namespace NS] [--pod POD] [--service SVC] [--ingress NAME]

Defaults come from the environment like echo-basic's downward API:
NAMESPACE, POD_NAME, SERVICE_NAME, INGRESS_NAME; without --listen it
listens on 127.0.0.1:$HTTP_PORT (3000). Port 0 picks a free port. Once a
listener is bound it prints "listening on ADDR:PORT" (the real port).
SIGTERM / SIGINT stop it with exit status 0.
"""

import argparse
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789"
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6,
    "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
}
DURATION_RE = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
           "CONNECT", "TRACE")

_print_lock = threading.Lock()


def log_line(text):
    with _print_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def canonical_header_key(name):
    """Go's textproto.CanonicalMIMEHeaderKey."""
    if not name or any(c not in TOKEN_CHARS for c in name):
        return name
    out = []
    upper = True
    for c in name:
        out.append(c.upper() if upper else c.lower())
        upper = c == "-"
    return "".join(out)


def parse_go_duration(text):
    """Seconds for a Go duration string ("1s", "500ms", "1m30s"), or None."""
    text = text.strip()
    if not text:
        return None
    sign = 1.0
    if text[0] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    pos = 0
    total = 0.0
    while pos < len(text):
        m = DURATION_RE.match(text, pos)
        if not m:
            return None
        total += float(m.group(1)) * DURATION_UNITS[m.group(2)]
        pos = m.end()
    return sign * total


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "echo"
    sys_version = ""
    timeout = 300          # idle keep-alive connections are closed after this

    # --- plumbing -------------------------------------------------------

    def log_message(self, fmt, *args):   # silence the default stderr log
        pass

    def send_response(self, code, message=None):
        # Like Go's net/http: a Date header and no Server header.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def __getattr__(self, name):
        # Any method token is echoed, like echo-basic (which does not care).
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)

    def raw_request_uri(self):
        # self.path may be normalised by http.server (leading '//');
        # the contract wants the request target exactly as received.
        parts = self.requestline.split()
        if len(parts) >= 2:
            return parts[1]
        return self.path

    def discard_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    self.close_connection = True
                    return
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    return
                if size == 0:
                    # trailers up to the empty line
                    while True:
                        line = self.rfile.readline(65537)
                        if line in (b"\r\n", b"\n", b""):
                            return
                self._skip(size)
                self.rfile.readline(65537)  # CRLF after the chunk
            return
        length = self.headers.get("Content-Length")
        if length:
            try:
                self._skip(int(length))
            except ValueError:
                self.close_connection = True

    def _skip(self, n):
        while n > 0:
            chunk = self.rfile.read(min(n, 65536))
            if not chunk:
                self.close_connection = True
                return
            n -= len(chunk)

    def write_reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        no_body = code in (204, 304) or 100 <= code < 200
        if not no_body:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not no_body and self.command != "HEAD":
            self.wfile.write(body)

    # --- request handling -------------------------------------------------

    def handle_any(self):
        cfg = self.server.echo_config
        uri = self.raw_request_uri()
        log_line("Echoing back request made to %s to client (%s:%s)"
                 % (uri, self.client_address[0], self.client_address[1]))
        self.discard_body()

        split = urllib.parse.urlsplit(uri)
        path = split.path

        if path == "/health":
            self.write_reply(200, b"OK",
                             [("Content-Type", "text/plain; charset=utf-8")])
            return

        if path.startswith("/status/"):
            try:
                code = int(path[len("/status/"):])
            except ValueError:
                code = 0
            if not 100 <= code <= 999:
                self.write_reply(400)
                return
            self.write_reply(code)
            return

        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        delay = query.get("delay", [""])[0]
        if delay:
            seconds = parse_go_duration(delay)
            if seconds is None:
                self.write_reply(
                    400, ("invalid delay %r\n" % delay).encode(),
                    [("Content-Type", "text/plain; charset=utf-8")])
                return
            if seconds > 0:
                time.sleep(seconds)

        headers = {}
        for name, value in self.headers.items():
            key = canonical_header_key(name)
            if key in ("Host", "Transfer-Encoding"):
                continue      # Go's net/http removes these from r.Header
            headers.setdefault(key, []).append(value)

        host = self.headers.get("Host", "")
        if not host and split.netloc:
            host = split.netloc

        body = {
            "path": uri,
            "host": host,
            "method": self.command,
            "proto": self.request_version,
            "headers": dict(sorted(headers.items())),
            "httpPort": str(self.server.server_address[1]),
            "namespace": cfg["namespace"],
            "ingress": cfg["ingress"],
            "service": cfg["service"],
            "pod": cfg["pod"],
        }
        payload = (json.dumps(body, indent=1) + "\n").encode()

        extra = []
        index = {}
        for spec in headers.get("X-Echo-Set-Header", []):
            for item in spec.split(","):
                name, _, value = item.strip().partition(":")
                name = name.strip()
                value = value.strip()
                if not name:
                    continue
                if name in index:
                    i = index[name]
                    extra[i] = (name, extra[i][1] + "," + value)
                else:
                    index[name] = len(extra)
                    extra.append((name, value))
        extra.append(("Content-Type", "application/json"))
        extra.append(("X-Content-Type-Options", "nosniff"))
        self.write_reply(200, payload, extra)


for _m in METHODS:
    setattr(EchoHandler, "do_" + _m, EchoHandler.handle_any)


class EchoServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, addr, family, config):
        self.address_family = family
        self.echo_config = config
        super().__init__(addr, EchoHandler)

    def handle_error(self, request, client_address):
        # A client that resets the connection is not worth a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            return
        super().handle_error(request, client_address)


def parse_listen(text):
    """'ADDR:PORT', '[v6]:PORT' or 'PORT' -> (host, port, family)."""
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
        return host, int(port), socket.AF_INET6
    if text.count(":") == 0:
        return "127.0.0.1", int(text), socket.AF_INET
    host, _, port = text.rpartition(":")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return host or "0.0.0.0", int(port), family


def main(argv=None):
    env = os.environ
    p = argparse.ArgumentParser(
        description="Gateway API conformance-style HTTP echo server")
    p.add_argument("--listen", action="append", default=[],
                   metavar="ADDR:PORT", help="address to listen on "
                   "(repeatable; default 127.0.0.1:$HTTP_PORT or 3000)")
    p.add_argument("--namespace", default=env.get("NAMESPACE", ""))
    p.add_argument("--pod", default=env.get("POD_NAME", ""))
    p.add_argument("--service", default=env.get("SERVICE_NAME", ""))
    p.add_argument("--ingress", default=env.get("INGRESS_NAME", ""))
    args = p.parse_args(argv)

    listens = args.listen or ["127.0.0.1:%s" % env.get("HTTP_PORT", "3000")]
    config = {"namespace": args.namespace, "pod": args.pod,
              "service": args.service, "ingress": args.ingress}

    servers = []
    try:
        for spec in listens:
            host, port, family = parse_listen(spec)
            servers.append(EchoServer((host, port), family, config))
    except (OSError, ValueError) as e:
        sys.stderr.write("echo.py: cannot listen on %s: %s\n" % (spec, e))
        for s in servers:
            s.server_close()
        return 1

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    threads = []
    for s in servers:
        t = threading.Thread(target=s.serve_forever,
                             kwargs={"poll_interval": 0.2}, daemon=True)
        t.start()
        threads.append(t)
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
