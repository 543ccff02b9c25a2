"""HTTP-family clients of the traffic replay: HTTP/1.1 (and over TLS,
with the trust and client certificate a case names), h2c with prior
knowledge and WebSocket. Each sends one request on a new connection,
as the suite's round tripper does with keep-alives disabled."""

import base64
import http.client
import json
import os
import socket
import ssl
import struct

from traffic_base import REQUEST_TIMEOUT


# --------------------------------------------------------------------------
# Clients


class Captured:
    """What a round trip returned: status, headers, the echo's JSON."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {}
        for k, v in headers:
            self.headers.setdefault(k.lower(), []).append(v)
        self.echo = None
        ctype = self.headers.get("content-type", [""])[0]
        if ctype.startswith("application/json"):
            try:
                self.echo = json.loads(body)
            except ValueError:
                self.echo = None


class TLSNotes:
    """What the client saw of a TLS handshake."""

    def __init__(self):
        self.cert_requested = False


def client_tls(req, target, notes):
    """The client's TLS settings: trust request.tlsSecret's tls.crt (the
    suite trusts the certificate it read from the Secret; the chain is
    verified, the name is not: OpenSSL refuses wildcards such as `*.org`
    that Go accepts) or nothing; present request.clientCertSecret when
    asked; note whether the server asked for a certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if req.get("tlsSecret"):
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=target.data(
            "Secret", req["tlsSecret"], "tls.crt"))
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if req.get("clientCertSecret"):
        ref = req["clientCertSecret"]
        ctx.load_cert_chain(target.pem_file("Secret", ref, "tls.crt"),
                            target.pem_file("Secret", ref, "tls.key"))

    def seen(_conn, direction, _version, _ctype, msg_type, _data):
        if direction == "read" and \
                msg_type == ssl._TLSMessageType.CERTIFICATE_REQUEST:
            notes.cert_requested = True
    ctx._msg_callback = seen
    return ctx


def http_round_trip(addr, port, req, scheme, target=None, notes=None):
    """One request on a new connection (the suite disables keep-alive)."""
    method = req.get("method") or "GET"
    path = req.get("path") or "/"
    host = req.get("host") or addr
    conn = http.client.HTTPConnection(addr, port, timeout=REQUEST_TIMEOUT)
    if scheme == "https":
        # SNI is the request's host (the suite's roundtripper sets
        # ServerName from the Host), unless the case names another; a
        # plain HTTPConnection over our TLS socket lets us choose it
        sni = req.get("sni") or host.split(":")[0]
        conn._create_connection = tls_dialer(
            client_tls(req, target, notes or TLSNotes()), sni)
    try:
        conn.putrequest(method, path, skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader("Host", host)
        conn.putheader("User-Agent", "Go-http-client/1.1")
        for k, v in (req.get("headers") or {}).items():
            conn.putheader(k, str(v))
        conn.putheader("X-Echo-Set-Header",
                       req.get("_echo_set_header", ""))
        conn.putheader("Connection", "close")
        conn.endheaders()
        r = conn.getresponse()
        body = r.read()
        return Captured(r.status, r.getheaders(), body)
    finally:
        conn.close()


def tls_dialer(ctx, sni):
    def dial(address, timeout, source_address=None):
        raw = socket.create_connection(address, timeout)
        try:
            return ctx.wrap_socket(raw, server_hostname=sni)
        except (OSError, ssl.SSLError):
            raw.close()
            raise
    return dial


def h2c_round_trip(addr, port, req):
    """One HTTP/2 request with prior knowledge over cleartext."""
    import h2.config
    import h2.connection
    import h2.events
    sock = socket.create_connection((addr, port), REQUEST_TIMEOUT)
    try:
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        headers = [(":method", req.get("method") or "GET"),
                   (":scheme", "http"),
                   (":authority", req.get("host") or addr),
                   (":path", req.get("path") or "/"),
                   ("user-agent", "Go-http-client/2.0"),
                   ("x-echo-set-header", req.get("_echo_set_header", ""))]
        headers += [(k.lower(), str(v))
                    for k, v in (req.get("headers") or {}).items()]
        conn.send_headers(1, headers, end_stream=True)
        sock.sendall(conn.data_to_send())
        status, resp_headers, body = 0, [], b""
        while True:
            data = sock.recv(65535)
            if not data:
                raise OSError("h2c connection closed before the answer")
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived):
                    for k, v in ev.headers:
                        k = k.decode() if isinstance(k, bytes) else k
                        v = v.decode() if isinstance(v, bytes) else v
                        if k == ":status":
                            status = int(v)
                        else:
                            resp_headers.append((k, v))
                elif isinstance(ev, h2.events.DataReceived):
                    body += ev.data
                    conn.acknowledge_received_data(
                        ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, (h2.events.StreamEnded,
                                     h2.events.StreamReset)):
                    return Captured(status, resp_headers, body)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    raise OSError("h2c GOAWAY")
            sock.sendall(conn.data_to_send())
    finally:
        sock.close()


# WebSocket (RFC 6455), what the suite dials with golang.org/x/net


def websocket_attempt(target, w):
    """Dial, upgrade, send each message and read it back unchanged."""
    key = base64.b64encode(os.urandom(16)).decode()
    try:
        sock = socket.create_connection((target.addr, int(target.port)),
                                        REQUEST_TIMEOUT)
    except OSError as e:
        return "dial: %s" % e
    try:
        host = w.get("host") or target.addr
        sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket"
                      "\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                      "Sec-WebSocket-Version: 13\r\nOrigin: %s\r\n\r\n" % (
                          w.get("path", "/"), host, key,
                          w.get("origin", "http://" + host))).encode())
        rfile = sock.makefile("rb")
        status = rfile.readline().decode("latin-1")
        if " 101 " not in status:
            return "upgrade answered %r" % status.strip()
        while rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        for m in w.get("messages") or []:
            if "text" in m:
                opcode, data = 1, m["text"].encode()
            else:
                opcode, data = 2, bytes(m["binary"])
            sock.sendall(ws_frame(opcode, data))
            got_op, got = ws_read(rfile)
            if (got_op, got) != (opcode, data):
                return "message %r echoed as opcode %d %r" % (data, got_op,
                                                              got)
        return None
    except OSError as e:
        return "%s: %s" % (type(e).__name__, e)
    finally:
        sock.close()


def ws_frame(opcode, data):
    """A masked client frame (RFC 6455 5.2)."""
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    n = len(data)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def ws_read(rfile):
    head = rfile.read(2)
    if len(head) < 2:
        raise OSError("websocket closed")
    opcode, n = head[0] & 0x0F, head[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", rfile.read(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", rfile.read(8))[0]
    mask = rfile.read(4) if head[1] & 0x80 else b""
    data = rfile.read(n)
    if mask:
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return opcode, data
