#!/usr/bin/python3
"""Echo backend honouring the Gateway API conformance echo contract.

It behaves like registry.k8s.io/gateway-api/echo-basic in HTTP mode (see
../shared/gateway-api-v1.6.1/HARNESS.md, section 3), on three kinds of
listener:

  --listen ADDR:PORT        HTTP/1.1 (echo-basic's port 3000)
  --h2c-listen ADDR:PORT    h2c (port 3001): HTTP/2 with prior knowledge
                            or an HTTP/1.1 `Upgrade: h2c`; any other
                            HTTP/1.1 request gets 400 "Expected h2c request"
  --https-listen ADDR:PORT  HTTPS (port 8443) with --tls-cert/--tls-key
                            ($TLS_SERVER_CERT/$TLS_SERVER_PRIVKEY);
                            --tls-client-ca ($TLS_CLIENT_CACERTS) asks for
                            a client certificate and verifies it if given

Routes (every listener):

  /health        200 "OK"
  /status/NNN    responds with status NNN (400 unless exactly 3 digits)
  /ws            WebSocket echo (HTTP/1.1 and HTTPS listeners)
  /retry/?uuid=U&succeedAfter=N[&responseCode=C][&delayRetry=D]
                 the first N requests with uuid U fail (with status C, or
                 by resetting the connection when C is not given; after
                 waiting D), later ones echo
  anything else  200, JSON (indented) describing the request:
                 path, host, method, proto, headers, httpPort,
                 namespace, ingress, service, pod, sni, and tls (HTTPS:
                 version, serverName, negotiatedProtocol, cipherSuite,
                 peerCertificates)

  X-Echo-Set-Header: "Name:val,Name2:val2"  sets those response headers
  ?delay=1s / ?delay=500ms                  delays the response (Go duration)

Every echoed request logs one line to stdout, the line the mirror tests
grep for:

  Echoing back request made to <request-uri> to client (<addr>:<port>)

Usage:
  echo.py --listen 127.0.0.10:3000 [--h2c-listen 127.0.0.10:3001]
          [--https-listen 127.0.0.10:8443 --tls-cert C --tls-key K]
          [--namespace NS] [--pod POD] [--service SVC] [--ingress NAME]

Defaults come from the environment like echo-basic's downward API:
NAMESPACE, POD_NAME, SERVICE_NAME, INGRESS_NAME; without any listener
option it listens on 127.0.0.1:$HTTP_PORT (3000). Port 0 picks a free
port. Once a listener is bound it prints "listening on ADDR:PORT" (the
real port). SIGTERM / SIGINT stop it with exit status 0.

h2c needs python3-h2 (Debian package); without it --h2c-listen fails.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import signal
import socket
import ssl
import struct
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



WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
STATUS_RE = re.compile(r"^/status/(\d\d\d)$")

_retry_lock = threading.Lock()
_retry_seen = {}


class Reply:
    """What to answer: a status, headers, a body; or reset the connection."""

    def __init__(self, code, body=b"", headers=(), reset=False):
        self.code = code
        self.body = body
        self.headers = list(headers)
        self.reset = reset


class Request:
    """One request, whatever the listener (HTTP/1.1, h2c, HTTPS)."""

    def __init__(self, method, uri, proto, headers, host, port,
                 tls=None, client=("", 0)):
        self.method = method
        self.uri = uri            # the request target as received
        self.proto = proto        # "HTTP/1.1", "HTTP/2.0"
        self.headers = headers    # [(name, value)], no Host / pseudo
        self.host = host
        self.port = port
        self.tls = tls            # dict for the JSON "tls" field, or None
        self.client = client


def header_map(headers):
    """Go's r.Header: canonical names, values in order."""
    out = {}
    for name, value in headers:
        key = canonical_header_key(name)
        if key in ("Host", "Transfer-Encoding"):
            continue      # Go's net/http removes these from r.Header
        out.setdefault(key, []).append(value)
    return out


def echo_set_headers(headers):
    """Response headers asked for with X-Echo-Set-Header."""
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
    return extra


def retry_reply(query):
    """/retry/: None to echo, or the failure Reply for this attempt."""
    uuid = query.get("uuid", [""])[0]
    try:
        after = int(query.get("succeedAfter", ["0"])[0] or "0")
    except ValueError:
        return Reply(400, b"invalid succeedAfter\n")
    with _retry_lock:
        seen = _retry_seen.get(uuid, 0)
        _retry_seen[uuid] = seen + 1
    if seen >= after:
        return None
    delay = parse_go_duration(query.get("delayRetry", [""])[0] or "0")
    if delay:
        time.sleep(delay)
    code = query.get("responseCode", [""])[0]
    if code.isdigit() and 100 <= int(code) <= 999:
        return Reply(int(code))
    return Reply(0, reset=True)


def echo_reply(cfg, req):
    """The echo contract (HARNESS.md section 3) for one request."""
    split = urllib.parse.urlsplit(req.uri)
    path = split.path
    query = urllib.parse.parse_qs(split.query, keep_blank_values=True)

    if path == "/health":
        return Reply(200, b"OK",
                     [("Content-Type", "text/plain; charset=utf-8")])
    if path.startswith("/status/"):
        m = STATUS_RE.match(req.uri)
        return Reply(int(m.group(1)) if m else 400)

    log_line("Echoing back request made to %s to client (%s:%s)"
             % (req.uri, req.client[0], req.client[1]))

    if path.startswith("/retry"):
        fail = retry_reply(query)
        if fail is not None:
            return fail

    delay = query.get("delay", [""])[0]
    if delay:
        seconds = parse_go_duration(delay)
        if seconds is None:
            return Reply(500, json.dumps(
                {"message": "invalid delay %r" % delay}).encode(),
                [("Content-Type", "application/json"),
                 ("X-Content-Type-Options", "nosniff")])
        if seconds > 0:
            time.sleep(seconds)

    headers = header_map(req.headers)
    host = req.host
    if not host and split.netloc:
        host = split.netloc
    sni = ""
    if req.tls and "backendTLS" in req.uri:
        sni = req.tls.get("serverName", "")
    body = {
        "path": req.uri,
        "host": host,
        "method": req.method,
        "proto": req.proto,
        "headers": dict(sorted(headers.items())),
        "httpPort": str(req.port),
        "namespace": cfg["namespace"],
        "ingress": cfg["ingress"],
        "service": cfg["service"],
        "pod": cfg["pod"],
    }
    if req.tls is not None:
        body["tls"] = req.tls
    body["sni"] = sni
    payload = (json.dumps(body, indent=1) + "\n").encode()
    extra = echo_set_headers(headers)
    extra.append(("Content-Type", "application/json"))
    extra.append(("X-Content-Type-Options", "nosniff"))
    return Reply(200, payload, extra)


def tls_assertions(sock):
    """The JSON "tls" field for a TLS connection (echo-basic's names)."""
    version = sock.version() or ""
    cipher = sock.cipher()
    peers = []
    der = sock.getpeercert(binary_form=True)
    if der:
        peers.append(ssl.DER_cert_to_PEM_cert(der))
    out = {"version": version.replace("TLSv1", "TLSv1.0")
           if version == "TLSv1" else version,
           "serverName": getattr(sock, "echo_sni", None) or "",
           "cipherSuite": cipher[0] if cipher else ""}
    if peers:
        out["peerCertificates"] = peers
    proto = sock.selected_alpn_protocol()
    if proto:
        out["negotiatedProtocol"] = proto
    return out


def reset_connection(sock):
    """Close with RST (SO_LINGER 0), as a crashing backend would."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


# --------------------------------------------------------------------------
# WebSocket (RFC 6455): echo every data frame back until close


def ws_read_frame(rfile):
    head = rfile.read(2)
    if len(head) < 2:
        return None
    opcode = head[0] & 0x0f
    masked = head[1] & 0x80
    length = head[1] & 0x7f
    if length == 126:
        length = struct.unpack("!H", rfile.read(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", rfile.read(8))[0]
    mask = rfile.read(4) if masked else b"\0\0\0\0"
    data = bytearray(rfile.read(length))
    for i in range(len(data)):
        data[i] ^= mask[i % 4]
    return head[0], opcode, bytes(data)


def ws_frame(first, data):
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", first, n)
    elif n < 65536:
        head = struct.pack("!BBH", first, 126, n)
    else:
        head = struct.pack("!BBQ", first, 127, n)
    return head + data


def ws_echo(rfile, wfile):
    while True:
        frame = ws_read_frame(rfile)
        if frame is None:
            return
        first, opcode, data = frame
        if opcode == 0x8:                 # close: answer and stop
            wfile.write(ws_frame(0x88, data[:2]))
            wfile.flush()
            return
        if opcode == 0x9:                 # ping -> pong
            wfile.write(ws_frame(0x8a, data))
        elif opcode in (0x0, 0x1, 0x2):
            wfile.write(ws_frame(first, data))
        wfile.flush()


# --------------------------------------------------------------------------
# HTTP/1.1 (and HTTPS) listener


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

    def request_of(self):
        tls = None
        if isinstance(self.connection, ssl.SSLSocket):
            tls = tls_assertions(self.connection)
        return Request(self.command, self.raw_request_uri(),
                       self.request_version, list(self.headers.items()),
                       self.headers.get("Host", ""),
                       self.server.server_address[1], tls,
                       self.client_address)

    # --- request handling -------------------------------------------------

    def handle_websocket(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1(
            (key + WS_GUID).encode()).digest()).decode()
        log_line("established websocket connection %s:%s"
                 % self.client_address[:2])
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        ws_echo(self.rfile, self.wfile)
        self.close_connection = True

    def handle_any(self):
        cfg = self.server.echo_config
        path = urllib.parse.urlsplit(self.raw_request_uri()).path
        if (path == "/ws" and "websocket" in
                self.headers.get("Upgrade", "").lower()):
            self.handle_websocket()
            return
        self.discard_body()
        reply = echo_reply(cfg, self.request_of())
        if reply.reset:
            self.close_connection = True
            reset_connection(self.connection)
            return
        self.write_reply(reply.code, reply.body, reply.headers)


for _m in METHODS:
    setattr(EchoHandler, "do_" + _m, EchoHandler.handle_any)


class H2CHandler(EchoHandler):
    """The h2c port: HTTP/2 prior knowledge or Upgrade: h2c, else 400."""

    def handle(self):
        if peek_preface(self.connection):
            import echo_h2
            echo_h2.serve(self.connection, self.rfile,
                          self.server.echo_config,
                          self.server.server_address[1], self.client_address)
            self.close_connection = True
            return
        super().handle()

    def handle_any(self):
        if self.headers.get("Upgrade", "").lower() != "h2c":
            self.discard_body()
            self.write_reply(400, b"Expected h2c request",
                             [("Content-Type",
                               "text/plain; charset=utf-8")])
            return
        import echo_h2
        self.discard_body()
        req = Request(self.command, self.raw_request_uri(), "HTTP/2.0",
                      [(k, v) for k, v in self.headers.items()
                       if k.lower() not in ("upgrade", "http2-settings",
                                            "connection")],
                      self.headers.get("Host", ""),
                      self.server.server_address[1], None,
                      self.client_address)
        self.send_response_only(101)
        self.send_header("Connection", "Upgrade")
        self.send_header("Upgrade", "h2c")
        self.end_headers()
        self.wfile.flush()
        echo_h2.serve(self.connection, self.rfile, self.server.echo_config,
                      self.server.server_address[1], self.client_address,
                      upgrade=(self.headers.get("HTTP2-Settings", ""), req))
        self.close_connection = True


for _m in METHODS:
    setattr(H2CHandler, "do_" + _m, H2CHandler.handle_any)

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def peek_preface(sock):
    """True when the client starts with the HTTP/2 connection preface."""
    while True:
        try:
            head = sock.recv(len(H2_PREFACE), socket.MSG_PEEK)
        except OSError:
            return False
        if not head or not H2_PREFACE.startswith(head):
            return False
        if len(head) == len(H2_PREFACE):
            return True
        time.sleep(0.005)


class EchoServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, addr, family, config, handler=EchoHandler,
                 tls=None):
        self.address_family = family
        self.echo_config = config
        self.tls_context = tls
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls_context is not None:
            # the handshake happens in the handler's thread (first read)
            sock = self.tls_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        # A client that resets the connection is not worth a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout,
                            ssl.SSLError)):
            return
        super().handle_error(request, client_address)


def tls_context(cert, key, client_ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    if client_ca:
        # Like Go's tls.VerifyClientCertIfGiven.
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL

    def remember_sni(sock, name, context):
        sock.echo_sni = name or ""

    ctx.sni_callback = remember_sni
    return ctx


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
                   metavar="ADDR:PORT", help="HTTP/1.1 address to listen "
                   "on (repeatable; default 127.0.0.1:$HTTP_PORT or 3000)")
    p.add_argument("--h2c-listen", action="append", default=[],
                   metavar="ADDR:PORT", help="h2c address (repeatable)")
    p.add_argument("--https-listen", action="append", default=[],
                   metavar="ADDR:PORT", help="HTTPS address (repeatable)")
    p.add_argument("--tls-cert", default=env.get("TLS_SERVER_CERT", ""))
    p.add_argument("--tls-key", default=env.get("TLS_SERVER_PRIVKEY", ""))
    p.add_argument("--tls-client-ca",
                   default=env.get("TLS_CLIENT_CACERTS", ""))
    p.add_argument("--namespace", default=env.get("NAMESPACE", ""))
    p.add_argument("--pod", default=env.get("POD_NAME", ""))
    p.add_argument("--service", default=env.get("SERVICE_NAME", ""))
    p.add_argument("--ingress", default=env.get("INGRESS_NAME", ""))
    args = p.parse_args(argv)

    listens = [(spec, EchoHandler, None) for spec in args.listen]
    listens += [(spec, H2CHandler, None) for spec in args.h2c_listen]
    if args.https_listen:
        if not (args.tls_cert and args.tls_key):
            sys.stderr.write("echo.py: --https-listen needs --tls-cert "
                             "and --tls-key\n")
            return 1
        ctx = tls_context(args.tls_cert, args.tls_key, args.tls_client_ca)
        listens += [(spec, EchoHandler, ctx) for spec in args.https_listen]
    if not listens:
        listens = [("127.0.0.1:%s" % env.get("HTTP_PORT", "3000"),
                    EchoHandler, None)]
    if args.h2c_listen:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        try:
            import echo_h2  # noqa: F401  (fail now, not per connection)
        except ImportError as e:
            sys.stderr.write("echo.py: h2c needs python3-h2: %s\n" % e)
            return 1
    config = {"namespace": args.namespace, "pod": args.pod,
              "service": args.service, "ingress": args.ingress}

    servers = []
    try:
        for spec, handler, ctx in listens:
            host, port, family = parse_listen(spec)
            servers.append(EchoServer((host, port), family, config,
                                      handler, ctx))
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
