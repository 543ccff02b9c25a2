"""HTTPRoute rules[].sessionPersistence through nginx (Gateway API v1.6.1,
GEP-1619; controller/dataplane/session.c says how nginx carries it).

The games walkthrough runs with two more Services whose endpoints are
conformance echo backends (test/backends/echo.py) that report their pod
name: default/app (three pods, app-0..2, on 127.0.X.21-23:8080) and
default/other (two pods, other-0..1, on 127.0.X.31-32:8080), and one
HTTPRoute, session.example.com, with a rule per kind of session.
"""

import http.client
import json
import re

import pytest

from conftest import (GW_PORT, PYTHON, ECHO, Backend, cond, route_parent,
                      wait_for)

HOST = "session.example.com"
PORT = 8080
N_REQ = 20

SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: %(svc)s
  namespace: default
spec:
  ports:
  - {name: http, port: 80, targetPort: 8080}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %(svc)s-1
  namespace: default
  labels:
    kubernetes.io/service-name: %(svc)s
addressType: IPv4
ports:
- {name: http, port: 8080, protocol: TCP}
endpoints:
%(endpoints)s
"""

ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: session
  namespace: default
spec:
  parentRefs:
  - name: game-gateway
  hostnames: [session.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /cart}}]
    sessionPersistence: {sessionName: cart-id}
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /keep}}]
    sessionPersistence:
      sessionName: keep
      absoluteTimeout: 1h
      cookieConfig: {lifetimeType: Permanent}
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /default-name}}]
    sessionPersistence: {}
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}}]
    sessionPersistence: {type: Header, sessionName: X-Session}
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /split}}]
    sessionPersistence: {sessionName: split}
    backendRefs: [{name: app, port: 80, weight: 1},
                  {name: other, port: 80, weight: 1}]
  - matches: [{path: {type: PathPrefix, value: /plain}}]
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /hostile}}]
    sessionPersistence: {sessionName: %(hostile)s}
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /hostile-header}}]
    sessionPersistence: {type: Header, sessionName: %(hostile)s}
    backendRefs: [{name: app, port: 80}]
%(extra)s"""

# every character nginx's syntax knows, a newline, a variable (within the
# CRD's 128 bytes: the API server would refuse a longer one)
HOSTILE = json.dumps('a"; } location /x { return 200 "$host\';\n#'
                     + "z" * 60)

COOKIE_RE = re.compile(r"^([^=]+)=([^;]*)((?:;.*)?)$")


def endpoints(addrs):
    return "\n".join(f'- addresses: ["{a}"]\n  conditions:\n    ready: true'
                     for a in addrs)


def app_addrs(stack, n=3):
    return [f"127.0.{stack.net.block}.{21 + i}" for i in range(n)]


def other_addrs(stack):
    return [f"127.0.{stack.net.block}.{31 + i}" for i in range(2)]


def write_services(stack, app, other):
    stack.manifests.write("app.yaml", SERVICE % {
        "svc": "app", "endpoints": endpoints(app)})
    stack.manifests.write("other.yaml", SERVICE % {
        "svc": "other", "endpoints": endpoints(other)})


def write_route(stack, extra=""):
    stack.manifests.write("session.yaml", ROUTE % {"hostile": HOSTILE,
                                                   "extra": extra})


def request(stack, path, headers=()):
    """(status, pod, response headers as a list of (name, value))."""
    conn = http.client.HTTPConnection(stack.net.gw, GW_PORT, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader("Host", HOST)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read().decode(errors="replace")
        pod = None
        if resp.status == 200:
            try:
                pod = json.loads(body).get("pod")
            except ValueError:
                pod = None
        return resp.status, pod, resp.getheaders()
    finally:
        conn.close()


def set_cookies(headers):
    """The Set-Cookie headers as (name, value, attributes)."""
    out = []
    for name, value in headers:
        if name.lower() == "set-cookie":
            m = COOKIE_RE.match(value)
            assert m, value
            out.append((m.group(1), m.group(2), m.group(3)))
    return out


def header(headers, want):
    return [v for n, v in headers if n.lower() == want.lower()]


def start_session(stack, path):
    """A first request: (pod, cookie name, value, attributes)."""
    code, pod, headers = request(stack, path)
    assert code == 200, (code, headers)
    cookies = set_cookies(headers)
    assert len(cookies) == 1, headers
    return (pod,) + cookies[0]


def pods_with_cookie(stack, path, name, value, n=N_REQ):
    pods = []
    for _ in range(n):
        code, pod, headers = request(stack, path,
                                     [("Cookie", f"{name}={value}")])
        assert code == 200, (code, headers)
        # the session goes on: no new cookie
        assert set_cookies(headers) == [], headers
        pods.append(pod)
    return pods


@pytest.fixture
def session(stack):
    stack.echoes = {}
    for i, addr in enumerate(app_addrs(stack)):
        stack.echoes[addr] = echo(stack, addr, f"app-{i}")
    for i, addr in enumerate(other_addrs(stack)):
        stack.echoes[addr] = echo(stack, addr, f"other-{i}")
    stack.serve("mario")
    stack.serve("tetris")
    write_services(stack, app_addrs(stack), other_addrs(stack))
    write_route(stack)
    stack.start_controller()
    wait_for(lambda: request(stack, "/plain")[0] == 200,
             what="the session route to be live")
    return stack


def echo(stack, addr, pod):
    argv = [PYTHON, ECHO, "--listen", f"{addr}:{PORT}",
            "--namespace", "default", "--pod", pod]
    return stack.procs.add(Backend(argv, stack.tmp / f"{pod}.log", addr,
                                   PORT)).start()


# ---------------------------------------------------------------- cookie

def test_first_reply_sets_the_cookie_and_the_cookie_sticks(session):
    pod, name, value, attrs = start_session(session, "/cart/items")
    assert name == "cart-id"
    assert re.fullmatch(r"[0-9a-f]{32}", value), value
    parts = [a.strip() for a in attrs.split(";") if a.strip()]
    assert "Path=/cart" in parts, attrs
    assert "HttpOnly" in parts, attrs
    # a Session cookie: no lifetime
    assert not any(p.startswith(("Max-Age", "Expires")) for p in parts)

    pods = pods_with_cookie(session, "/cart/items", name, value)
    assert set(pods) == {pod}, pods


def test_requests_without_the_cookie_spread(session):
    pods = set()
    for _ in range(30):
        pod, _, _, _ = start_session(session, "/cart")
        pods.add(pod)
    assert len(pods) >= 2, pods


def test_sessions_stick_to_different_endpoints(session):
    # each of many sessions sticks to its own endpoint, and together
    # they use more than one
    firsts = set()
    for _ in range(12):
        pod, name, value, _ = start_session(session, "/cart")
        assert set(pods_with_cookie(session, "/cart", name, value, 5)) \
            == {pod}
        firsts.add(pod)
    assert len(firsts) >= 2, firsts


def test_cookie_among_others_is_found(session):
    pod, name, value, _ = start_session(session, "/cart")
    for _ in range(N_REQ):
        code, got, headers = request(session, "/cart", [
            ("Cookie", f"a=1; {name}={value}; b=2")])
        assert code == 200 and got == pod
        assert set_cookies(headers) == []


def test_permanent_cookie_has_max_age(session):
    _, name, _, attrs = start_session(session, "/keep/x")
    assert name == "keep"
    parts = [a.strip() for a in attrs.split(";") if a.strip()]
    assert "Max-Age=3600" in parts, attrs
    assert "Path=/keep" in parts, attrs


def test_default_cookie_name(session):
    pod, name, value, _ = start_session(session, "/default-name")
    assert name == "gw_session"
    assert set(pods_with_cookie(session, "/default-name", name,
                                value)) == {pod}


def test_rule_without_session_sets_no_cookie(session):
    code, _, headers = request(session, "/plain")
    assert code == 200 and set_cookies(headers) == []


# ---------------------------------------------------------------- header

def test_header_session_sticks_and_is_handed_back_once(session):
    code, pod, headers = request(session, "/api/v1")
    assert code == 200
    [key] = header(headers, "X-Session")
    assert re.fullmatch(r"[0-9a-f]{32}", key), key
    assert set_cookies(headers) == []

    for _ in range(N_REQ):
        code, got, headers = request(session, "/api/v1",
                                     [("X-Session", key)])
        assert code == 200 and got == pod, (got, pod)
        assert header(headers, "X-Session") == [], headers


def test_header_sessions_without_header_spread(session):
    pods = {request(session, "/api/v1")[1] for _ in range(30)}
    assert len(pods) >= 2, pods


def test_client_chosen_header_value_is_a_session_too(session):
    first = {request(session, "/api/x", [("X-Session", "client-7")])[1]
             for _ in range(N_REQ)}
    assert len(first) == 1, first


# --------------------------------------------------------- weighted split

def test_session_keeps_its_backend_across_a_split(session):
    services = set()
    for _ in range(16):
        pod, name, value, _ = start_session(session, "/split")
        services.add(pod.split("-")[0])
        assert set(pods_with_cookie(session, "/split", name, value, 10)) \
            == {pod}
    # new sessions are still split between both Services (1:1)
    assert services == {"app", "other"}, services


# ------------------------------------------------- reloads and endpoints

def sessions(stack, n=24):
    """n sessions on /cart: [(cookie value, pod)]."""
    out = []
    for _ in range(n):
        pod, _, value, _ = start_session(stack, "/cart")
        out.append((value, pod))
    return out


def test_session_survives_a_reload_with_the_same_endpoints(session):
    before = sessions(session)
    # a new rule: a new configuration, nginx reloads
    write_route(session, extra="""  - matches: [{path: {type: PathPrefix, value: /new}}]
    backendRefs: [{name: app, port: 80}]
""")
    wait_for(lambda: request(session, "/new")[0] == 200,
             what="the new rule to be live")
    for value, pod in before:
        assert pods_with_cookie(session, "/cart", "cart-id", value, 3) \
            == [pod] * 3


def test_endpoint_removal_moves_only_its_sessions(session):
    before = sessions(session, 30)
    used = {pod for _, pod in before}
    assert len(used) >= 2, used

    # take app-1's endpoint out of the Service (its backend stays up, so
    # a request that still reached it would show)
    addrs = app_addrs(session)
    gone = "app-1"
    write_services(session, [addrs[0], addrs[2]], other_addrs(session))
    probe_value = next((v for v, p in before if p == gone), None)
    assert probe_value is not None, before

    def moved():
        return pods_with_cookie(session, "/cart", "cart-id",
                                probe_value, 1)[0] != gone
    wait_for(moved, what="the removed endpoint's session to move")

    for value, pod in before:
        now = pods_with_cookie(session, "/cart", "cart-id", value, 3)
        if pod == gone:
            assert gone not in now and len(set(now)) == 1, now
        else:
            assert now == [pod] * 3, (value, pod, now)


# ------------------------------------------------------------- rejected

def test_hostile_session_name_drops_its_rule_and_stays_data(session):
    st = session.controller.status()
    pi = cond(route_parent(st, "session")[1]["conditions"],
              "PartiallyInvalid")
    assert pi is not None and pi["status"] == "True", pi
    msg = pi["message"]
    assert "spec.rules[6].sessionPersistence.sessionName" in msg, msg
    assert "cannot be in a cookie name" in msg, msg
    assert "spec.rules[7].sessionPersistence.sessionName" in msg, msg
    assert "cannot be in a header name" in msg, msg
    # the value itself is not echoed into the status either
    assert "location /x" not in msg, msg
    # the rules are gone (404), the others serve, nothing leaked into nginx
    assert request(session, "/hostile")[0] == 404
    assert request(session, "/hostile-header")[0] == 404
    assert request(session, "/cart")[0] == 200
    conf = "\n".join(p.read_text() for p in
                     (session.state_dir).rglob("*.conf"))
    assert "location /x" not in conf
    assert "z" * 60 not in conf
