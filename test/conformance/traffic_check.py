"""HTTP and gRPC clients of the traffic replay and the upstream
comparison semantics (conformance/utils/http/http.go CompareRequest and
MakeRequestAndExpectEventuallyConsistentResponse, utils/grpc, the weight
helper)."""

import base64
import concurrent.futures
import copy
import http.client
import json
import os
import socket
import ssl
import struct
import time
import urllib.parse
import uuid

from traffic_base import (CONSECUTIVE, REQUEST_TIMEOUT, Fail,
                          backend_of_pod, eventually, weights_mismatch)


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


# --------------------------------------------------------------------------
# CompareRequest (conformance/utils/http/http.go)

TIMEOUT_CODES = (408, 504)
REDIRECT_CODES = (301, 302, 303, 307, 308)


def joined(values):
    return ",".join(values) if isinstance(values, list) else str(values)


def lower_keys(d):
    return {k.lower(): v for k, v in (d or {}).items()}


def compare(case, req, got, scheme, target=None):
    """None when the answer is what the case expects, else why not."""
    resp = case.get("response") or {}
    codes = resp.get("statusCodes") or [resp.get("statusCode") or 200]
    if got.status in TIMEOUT_CODES and \
            any(c in TIMEOUT_CODES for c in codes):
        return None
    if got.status not in codes:
        return "expected status %s, got %d" % (
            codes[0] if len(codes) == 1 else codes, got.status)
    why = compare_response_headers(resp, got)
    if why is not None:
        return why
    if got.status == 200:
        return compare_echo(case, req, got, target)
    if got.status in REDIRECT_CODES:
        return compare_redirect(case, req, got, scheme)
    return None


def compare_response_headers(resp, got):
    """validHeaderValues (one of the listed values; ignoreWhitespace
    compares them without whitespace), whatever the status."""
    squeeze = (lambda v: "".join(v.split())) \
        if resp.get("ignoreWhitespace") else (lambda v: v)
    for name, valid in (resp.get("validHeaderValues") or {}).items():
        if name.lower() not in got.headers:
            return "expected response header %s, got %s" % (
                name, sorted(got.headers))
        value = joined(got.headers[name.lower()])
        if squeeze(value) not in [squeeze(str(v)) for v in valid]:
            return "response header %s: %r not one of %r" % (
                name, value, valid)
    return None


def pem_body(pem):
    return "".join(ln.strip() for ln in pem.strip().splitlines()
                   if not ln.startswith("-----"))


def compare_tls(want, echo, target):
    """The TLS the echo saw: serverName (upstream Request.SNI) and the
    client certificate the gateway presented."""
    tls = echo.get("tls") or {}
    if want.get("sni") and tls.get("serverName") != want["sni"]:
        return "expected backend SNI %s, echo saw %r" % (
            want["sni"], tls.get("serverName"))
    if want.get("clientCertSecret"):
        cert = pem_body(target.data("Secret", want["clientCertSecret"],
                                    "tls.crt").split("-----END")[0])
        seen = [pem_body(p) for p in tls.get("peerCertificates") or []]
        if cert not in seen:
            return "the backend did not see %s's certificate (%d peer " \
                   "certificates)" % (want["clientCertSecret"], len(seen))
    return None


def compare_echo(case, req, got, target=None):
    want = case.get("expectedRequest") or req
    echo = got.echo
    if echo is None and want.get("path", None) == "" and \
            not case.get("namespace"):
        # upstream parses only JSON answers; an expected request with no
        # path and no namespace is what a non-echo answer compares to
        return None
    if echo is None:
        return "expected a JSON echo, got %s" % (
            got.headers.get("content-type", ["no content type"])[0])
    host = want.get("host") or ""
    if host and host != echo.get("host"):
        return "expected host %s, got %s" % (host, echo.get("host"))
    path = want.get("path") or ""
    if "path" in want and path != echo.get("path"):
        return "expected path %s, got %s" % (path, echo.get("path"))
    method = want.get("method") or "GET"
    if method != echo.get("method"):
        return "expected method %s, got %s" % (method, echo.get("method"))
    ns = case.get("namespace") or ""
    if ns != echo.get("namespace"):
        return "expected namespace %r, got %r" % (ns, echo.get("namespace"))
    seen = lower_keys(echo.get("headers"))
    for name, val in (want.get("headers") or {}).items():
        if name.lower() not in seen:
            return "expected request header %s, backend saw %s" % (
                name, sorted(echo.get("headers", {})))
        if joined(seen[name.lower()]) != str(val):
            return "expected request header %s: %s, got %s" % (
                name, val, joined(seen[name.lower()]))
    resp = case.get("response") or {}
    for name, val in (resp.get("headers") or {}).items():
        if name.lower() not in got.headers:
            return "expected response header %s, got %s" % (
                name, sorted(got.headers))
        if joined(got.headers[name.lower()]) != str(val):
            return "expected response header %s: %s, got %s" % (
                name, val, joined(got.headers[name.lower()]))
    for name in resp.get("absentHeaders") or []:
        if name.lower() in got.headers:
            return "expected no response header %s, got %s" % (
                name, joined(got.headers[name.lower()]))
    for name in want.get("absentHeaders") or []:
        if name.lower() in seen:
            return "expected no request header %s, backend saw %s" % (
                name, joined(seen[name.lower()]))
    backend = case.get("backend") or ""
    if not str(echo.get("pod", "")).startswith(backend):
        return "expected pod %s-*, got %s" % (backend, echo.get("pod"))
    return compare_tls(case.get("expectedRequest") or {}, echo, target)


def compare_redirect(case, req, got, scheme):
    want = case.get("redirectRequest")
    if want is None:
        return None
    loc = got.headers.get("location", [""])[0]
    u = urllib.parse.urlsplit(loc)
    g_scheme, g_host = u.scheme, u.hostname or ""
    g_port = str(u.port) if u.port else ""
    w_host = want.get("host") or g_host
    w_scheme = want.get("scheme") or scheme
    w_path = want.get("path") or req.get("path", "/").split("?")[0]
    if w_host != g_host:
        return "expected redirect host %r, got %r (Location %s)" % (
            w_host, g_host, loc)
    w_port = str(want.get("port") or "")
    if w_port:
        if w_port != g_port:
            return "expected redirect port %r, got %r (Location %s)" % (
                w_port, g_port, loc)
    elif g_scheme.lower() == "http" and g_port not in ("", "80"):
        return "expected redirect port 80 or none, got %r" % g_port
    elif g_scheme.lower() == "https" and g_port not in ("", "443"):
        return "expected redirect port 443 or none, got %r" % g_port
    if w_scheme != g_scheme:
        return "expected redirect scheme %r, got %r (Location %s)" % (
            w_scheme, g_scheme, loc)
    if w_path != u.path:
        return "expected redirect path %r, got %r (Location %s)" % (
            w_path, u.path, loc)
    return None


# Cases


def request_of(case):
    req = copy.deepcopy(case.get("request") or {})
    sets = case.get("backendSetResponseHeaders") or {}
    req["_echo_set_header"] = ",".join("%s:%s" % kv for kv in sets.items())
    return req


def fresh_request(req):
    """The request of one attempt: {uuid} replaced by a new UUID."""
    if "{uuid}" not in (req.get("path") or ""):
        return req
    out = dict(req)
    out["path"] = req["path"].replace("{uuid}", str(uuid.uuid4()))
    return out


def round_trip(target, port, req, scheme, notes=None):
    if req.get("protocol") == "H2C_PRIOR_KNOWLEDGE":
        return h2c_round_trip(target.addr, port, req)
    return http_round_trip(target.addr, port, req, scheme, target, notes)


def http_attempt(case, target, port, req, scheme):
    """One round trip compared with the case: None or why not."""
    req = fresh_request(req)
    try:
        got = round_trip(target, port, req, scheme)
    except (OSError, http.client.HTTPException, h2_errors()) as e:
        return "request failed: %s: %s" % (type(e).__name__, e)
    return compare(case, req, got, scheme, target)


def h2_errors():
    try:
        import h2.exceptions
        return h2.exceptions.H2Error
    except ImportError:
        return OSError


def run_http_case(case, target, deadline_s, pods):
    req = request_of(case)
    port = int(req.get("port") or target.port)
    scheme = req.get("scheme") or target.scheme_of(port)
    what = "%s %s%s" % (req.get("method") or "GET", req.get("host", ""),
                        req.get("path", "/"))
    if "expectFailure" in case:
        expect_failure(case, target, port, req, scheme, what)
        return
    marks = mirror_marks(case, pods)
    eventually(lambda: http_attempt(case, target, port, req, scheme),
               deadline_s, what, CONSECUTIVE)
    if case.get("mirrorDistribution"):
        check_mirror_distribution(case, target, port, req, scheme, pods)
    else:
        check_mirrors(case, req, pods, marks, deadline_s)


def expect_failure(case, target, port, req, scheme, what):
    """One shot that must not succeed. Over HTTPS (frontend TLS) the
    round trip itself must fail, and with clientCertRequested the server
    must have asked for a certificate; over HTTP (the gateway's TLS to a
    backend, upstream MakeRequestAndExpectFailure) a round-trip error or
    a non-2xx answer."""
    want = case.get("expectFailure") or {}
    notes = TLSNotes()
    try:
        got = round_trip(target, port, req, scheme, notes)
    except (OSError, http.client.HTTPException) as e:
        got = None
        err = "%s: %s" % (type(e).__name__, e)
    if got is not None:
        if scheme == "https":
            raise Fail("%s: expected the round trip to fail, got status %d"
                       % (what, got.status))
        if 200 <= got.status < 300:
            raise Fail("%s: expected a failure, got status %d"
                       % (what, got.status))
    if want.get("clientCertRequested") and not notes.cert_requested:
        raise Fail("%s: failed (%s) but the server did not ask for a "
                   "client certificate" % (what, err if got is None
                                           else got.status))


def run_repeat(case, target):
    """count single round trips, no retry: each echoed request carries
    exactly one podPrefixFromRequestHeader header and the pod name
    starts with its value."""
    r = case["repeat"]
    req = request_of({"request": r["request"]})
    port = int(req.get("port") or target.port)
    scheme = req.get("scheme") or target.scheme_of(port)
    name = r["podPrefixFromRequestHeader"].lower()
    for i in range(int(r.get("count", 1))):
        try:
            got = round_trip(target, port, req, scheme)
        except (OSError, http.client.HTTPException) as e:
            raise Fail("request %d failed: %s" % (i + 1, e))
        if got.status != 200 or not got.echo:
            raise Fail("request %d: status %d" % (i + 1, got.status))
        values = lower_keys(got.echo.get("headers")).get(name) or []
        if len(values) != 1:
            raise Fail("request %d: want exactly one %s header, backend "
                       "saw %r" % (i + 1, name, values))
        pod = got.echo.get("pod", "")
        if not pod.startswith(values[0]):
            raise Fail("request %d: pod %s does not start with %s=%s"
                       % (i + 1, pod, name, values[0]))


def run_websocket(case, target, deadline_s):
    w = case["websocket"]
    eventually(lambda: websocket_attempt(target, w), deadline_s,
               "websocket ws://%s%s" % (target.addr, w.get("path", "/")),
               CONSECUTIVE)


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


def check_mirror_distribution(case, target, port, req, scheme, pods):
    """HTTPRouteRequestPercentageMirror: rounds of `requests` round trips
    (`concurrency` at a time, each must match the case); the mirror
    pods' log lines for the path during a round must number
    requests * percent / 100 within tolerancePercent (relative)."""
    dist = case["mirrorDistribution"]
    total = int(dist.get("requests", 500))
    tol = float(dist.get("tolerancePercent", 5.0)) / 100.0
    line = "Echoing back request made to %s to client" % (
        req.get("path") or "/")
    last = ""
    for _ in range(int(dist.get("rounds", 5))):
        marks = mirror_marks(case, pods)
        with concurrent.futures.ThreadPoolExecutor(
                int(dist.get("concurrency", 10))) as ex:
            whys = [w for w in ex.map(
                lambda _i: http_attempt(case, target, port, req, scheme),
                range(total)) if w is not None]
        if whys:
            last = "%d of %d requests failed, first: %s" % (
                len(whys), total, whys[0])
            continue
        time.sleep(1.0)            # let the mirror subrequests finish
        last = None
        for m in case.get("mirroredTo") or []:
            ns = m.get("namespace") or case.get("namespace") or ""
            seen = sum(p.text()[marks.get(p.name, 0):].count(line)
                       for p in pods if p.namespace == ns and
                       p.deployment == m["backend"])
            want = total * float(m.get("percent", 100)) / 100.0
            if abs(seen - want) > want * tol:
                last = "%s/%s got %d mirrored requests, want %d +- %d%%" % (
                    ns, m["backend"], seen, want, tol * 100)
                break
        if last is None:
            return
    raise Fail("mirror distribution: %s" % last)


def mirror_marks(case, pods):
    return {p.name: len(p.text()) for p in pods} \
        if case.get("mirroredTo") else {}


def check_mirrors(case, req, pods, marks, deadline_s):
    """MirroredTo: each mirror backend's pods logged the request."""
    line = "Echoing back request made to %s to client" % (
        req.get("path") or "/")
    for m in case.get("mirroredTo") or []:
        ns = m.get("namespace") or case.get("namespace") or ""
        mine = [p for p in pods if p.namespace == ns and
                p.deployment == m["backend"]]
        end = time.monotonic() + deadline_s
        while not any(line in p.text()[marks.get(p.name, 0):]
                      for p in mine):
            if time.monotonic() >= end:
                raise Fail("request %s was not mirrored to %s/%s" % (
                    req.get("path"), ns, m["backend"]))
            time.sleep(0.2)


def run_weights(case, target, pods):
    w = case["weights"]
    req = request_of({"request": w["request"]})
    port = int(req.get("port") or target.port)
    scheme = req.get("scheme") or target.scheme_of(port)
    total = int(w.get("requests", 500))
    tolerance = float(w.get("tolerance", 0.05))
    expected = w["expected"]
    last = ""
    for _ in range(10):
        counts = {}

        def one(_i):
            try:
                got = round_trip(target, port, req, scheme)
            except (OSError, http.client.HTTPException) as e:
                return "error " + type(e).__name__
            if got.status != 200 or not got.echo:
                return "status %d" % got.status
            return backend_of_pod(got.echo.get("pod", ""))

        with concurrent.futures.ThreadPoolExecutor(10) as ex:
            for b in ex.map(one, range(total)):
                counts[b] = counts.get(b, 0) + 1
        last = weights_mismatch(counts, expected, total, tolerance)
        if last is None:
            return
    raise Fail("weights: %s" % last)


def run_grpc_case(case, target, deadline_s):
    import grpc
    import grpcecho_pb
    g = case["grpc"]
    port = int(g.get("port") or target.port)
    opts = []
    if g.get("host"):
        opts.append(("grpc.default_authority", g["host"]))
    want_code = (case.get("response") or {}).get("code", 0)
    service = g.get("service") or grpcecho_pb.SERVICE
    full = "/%s/%s" % (service, g.get("method", "Echo"))
    metadata = [(k.lower(), str(v))
                for k, v in (g.get("metadata") or {}).items()]
    start = time.monotonic()
    successes = 0
    last = ""
    while True:
        why = None
        ch = grpc.insecure_channel("%s:%d" % (target.addr, port),
                                   options=opts)
        try:
            call = ch.unary_unary(full)
            raw = call(b"", metadata=metadata, timeout=REQUEST_TIMEOUT)
            code = 0
        except grpc.RpcError as e:
            raw = None
            code = e.code().value[0]
            detail = e.details()
        finally:
            ch.close()
        if code != want_code:
            why = "expected gRPC status %d, got %d%s" % (
                want_code, code, " (%s)" % detail if code else "")
        elif raw is not None:
            a = grpcecho_pb.decode("EchoResponse", raw).get(
                "assertions") or {}
            ctx = a.get("context") or {}
            if case.get("namespace", "") != ctx.get("namespace"):
                why = "expected namespace %r, got %r" % (
                    case.get("namespace", ""), ctx.get("namespace"))
            elif not ctx.get("pod", "").startswith(case.get("backend", "")):
                why = "expected pod %s-*, got %s" % (
                    case.get("backend"), ctx.get("pod"))
        if why is None:
            successes += 1
            if successes >= CONSECUTIVE:
                return
            continue
        successes = 0
        last = why
        if time.monotonic() - start >= deadline_s:
            raise Fail("gRPC %s (authority %s, metadata %s): %s" % (
                full, g.get("host", ""), g.get("metadata") or {}, last))
        time.sleep(1.0)


def run_grpc_weights(case, target):
    import grpc
    import grpcecho_pb
    w = case["grpcWeights"]
    g = w["grpc"]
    port = int(g.get("port") or target.port)
    opts = [("grpc.default_authority", g["host"])] if g.get("host") else []
    full = "/%s/%s" % (g.get("service") or grpcecho_pb.SERVICE,
                       g.get("method", "Echo"))
    total = int(w.get("requests", 500))
    tolerance = float(w.get("tolerance", 0.05))
    last = ""
    for _ in range(10):
        counts = {}

        def one(_i):
            ch = grpc.insecure_channel("%s:%d" % (target.addr, port),
                                       options=opts)
            try:
                raw = ch.unary_unary(full)(b"", timeout=REQUEST_TIMEOUT)
            except grpc.RpcError as e:
                return "status %s" % e.code().name
            finally:
                ch.close()
            a = grpcecho_pb.decode("EchoResponse", raw)["assertions"] or {}
            return backend_of_pod((a.get("context") or {}).get("pod", ""))

        with concurrent.futures.ThreadPoolExecutor(10) as ex:
            for b in ex.map(one, range(total)):
                counts[b] = counts.get(b, 0) + 1
        last = weights_mismatch(counts, w["expected"], total, tolerance)
        if last is None:
            return
    raise Fail("gRPC weights: %s" % last)


