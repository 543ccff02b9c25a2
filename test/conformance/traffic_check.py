"""The upstream HTTP comparison semantics of the traffic replay
(conformance/utils/http/http.go CompareRequest and
MakeRequestAndExpectEventuallyConsistentResponse, the mirror and weight
helpers) and the HTTP-family case kinds: request, repeat, websocket,
weights."""

import concurrent.futures
import copy
import http.client
import time
import urllib.parse
import uuid

from traffic_base import (CONSECUTIVE, Fail, backend_of_pod, eventually,
                          weights_mismatch)
from traffic_http import (TLSNotes, h2c_round_trip, http_round_trip,
                          websocket_attempt)


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
