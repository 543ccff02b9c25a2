"""HTTP and gRPC clients of the traffic replay and the upstream
comparison semantics (conformance/utils/http/http.go CompareRequest and
MakeRequestAndExpectEventuallyConsistentResponse, utils/grpc, the weight
helper)."""

import concurrent.futures
import copy
import http.client
import json
import socket
import ssl
import time
import urllib.parse

from traffic_base import (CONSECUTIVE, REQUEST_TIMEOUT, Fail,
                          backend_of_pod, weights_mismatch)


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


def http_round_trip(addr, port, req, scheme):
    """One request on a new connection (the suite disables keep-alive)."""
    method = req.get("method") or "GET"
    path = req.get("path") or "/"
    host = req.get("host") or addr
    if scheme == "https":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        # SNI is the request's host (the suite's roundtripper sets
        # ServerName from the Host), unless the case names another; a
        # plain HTTPConnection over our TLS socket lets us choose it
        conn = http.client.HTTPConnection(addr, port,
                                          timeout=REQUEST_TIMEOUT)
        sni = req.get("sni") or host.split(":")[0]
        conn._create_connection = tls_dialer(ctx, sni)
    else:
        conn = http.client.HTTPConnection(addr, port,
                                          timeout=REQUEST_TIMEOUT)
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
        return ctx.wrap_socket(raw, server_hostname=sni)
    return dial


# --------------------------------------------------------------------------
# CompareRequest (conformance/utils/http/http.go)

TIMEOUT_CODES = (408, 504)
REDIRECT_CODES = (301, 302, 303, 307, 308)


def joined(values):
    return ",".join(values) if isinstance(values, list) else str(values)


def lower_keys(d):
    return {k.lower(): v for k, v in (d or {}).items()}


def compare(case, req, got, scheme):
    """None when the answer is what the case expects, else why not."""
    resp = case.get("response") or {}
    codes = resp.get("statusCodes") or [resp.get("statusCode") or 200]
    if got.status in TIMEOUT_CODES and \
            any(c in TIMEOUT_CODES for c in codes):
        return None
    if got.status not in codes:
        return "expected status %s, got %d" % (
            codes[0] if len(codes) == 1 else codes, got.status)
    if got.status == 200:
        return compare_echo(case, req, got)
    if got.status in REDIRECT_CODES:
        return compare_redirect(case, req, got, scheme)
    return None


def compare_echo(case, req, got):
    want = case.get("expectedRequest") or req
    echo = got.echo
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
    return None


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


def run_http_case(case, target, deadline_s, pods):
    req = request_of(case)
    scheme = req.get("scheme") or (
        "https" if target.protocol == "HTTPS" else "http")
    port = int(req.get("port") or target.port)
    marks = mirror_marks(case, pods)
    start = time.monotonic()
    successes = 0
    last = "no answer"
    while True:
        try:
            got = http_round_trip(target.addr, port, req, scheme)
            why = compare(case, req, got, scheme)
        except (OSError, http.client.HTTPException) as e:
            why = "request failed: %s: %s" % (type(e).__name__, e)
        if why is None:
            successes += 1
            if successes >= CONSECUTIVE:
                break
            continue
        successes = 0
        last = why
        if time.monotonic() - start >= deadline_s:
            raise Fail("%s %s%s: %s (after %gs)" % (
                req.get("method") or "GET", req.get("host", ""),
                req.get("path", "/"), last, deadline_s))
        time.sleep(1.0)
    check_mirrors(case, req, pods, marks, deadline_s)


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
    scheme = req.get("scheme") or "http"
    port = int(req.get("port") or target.port)
    total = int(w.get("requests", 500))
    tolerance = float(w.get("tolerance", 0.05))
    expected = w["expected"]
    last = ""
    for _ in range(10):
        counts = {}

        def one(_i):
            try:
                got = http_round_trip(target.addr, port, req, scheme)
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


