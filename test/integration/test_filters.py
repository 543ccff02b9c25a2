"""HTTPRoute filters through nginx: RequestHeaderModifier,
ResponseHeaderModifier and RequestRedirect (Gateway API v1.6.1).

The games walkthrough runs with the conformance echo backend in place of
mario (test/backends/echo.py: it answers with the request it received,
headers included, and sets the response headers X-Echo-Set-Header asks
for) and one more HTTPRoute, filters.yaml, for host filters.example.com.
The tests check what a user would: the headers the backend sees, the
headers the client gets, the redirect's status and Location, and the
route's status when filters are refused.
"""

import http.client
import json

import pytest
import yaml

from conftest import GW_PORT, cond, route_parent, wait_for

HOST = "filters.example.com"

ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: filters
  namespace: default
spec:
  parentRefs:
  - name: game-gateway
  hostnames: [filters.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /set}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Header-Set, value: 'set "overwrites"; {values}'}]
    backendRefs: [{name: mario, namespace: mario-ns, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /add}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        add: [{name: X-Header-Add, value: add-appends-values}]
    backendRefs: [{name: mario, namespace: mario-ns, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /remove}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        remove: [X-Header-Remove]
    backendRefs: [{name: mario, namespace: mario-ns, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /response}}]
    filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{name: X-Resp-Set, value: from-gateway}]
        add: [{name: X-Resp-Add, value: added}]
        remove: [X-Resp-Remove]
    backendRefs: [{name: mario, namespace: mario-ns, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /hostname-redirect}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {hostname: example.org}
  - matches: [{path: {type: PathPrefix, value: /host-and-status}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {statusCode: 301, hostname: example.org}
  - matches: [{path: {type: PathPrefix, value: /to-https}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https, statusCode: 308}
  - matches: [{path: {type: PathPrefix, value: /to-port}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {port: 8443}
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters:
    - type: RequestRedirect
      requestRedirect:
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}
  - matches: [{path: {type: Exact, value: /full}}]
    filters:
    - type: RequestRedirect
      requestRedirect:
        path: {type: ReplaceFullPath, replaceFullPath: /replaced}
  - matches: [{path: {type: PathPrefix, value: /dollar}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Var, value: $remote_addr}]
    backendRefs: [{name: mario, namespace: mario-ns, port: 80}]
"""

INCOMPATIBLE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: incompatible
  namespace: default
spec:
  parentRefs:
  - name: game-gateway
  hostnames: [incompatible.example.com]
  rules:
  - filters:
    - type: RequestRedirect
      requestRedirect: {hostname: example.org}
    - type: URLRewrite
      urlRewrite: {hostname: example.org}
"""

# where a redirect keeps the listener's port: not written when it is 80
LISTENER_PORT = "" if GW_PORT == 80 else f":{GW_PORT}"


def request(stack, path, headers=(), host=HOST):
    """(status, [(name, value)] of the response, body)."""
    conn = http.client.HTTPConnection(stack.net.gw, GW_PORT, timeout=5)
    try:
        conn.putrequest("GET", path, skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader("Host", host)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read().decode()
    finally:
        conn.close()


def seen_by_backend(stack, path, headers=()):
    code, _, body = request(stack, path, headers)
    assert code == 200, (code, body[:300])
    return json.loads(body)["headers"]


def values(headers, name):
    return [v for n, v in headers if n.lower() == name.lower()]


@pytest.fixture
def filters(stack):
    echo = stack.echo("mario", "mario-ns", "echo-pod")
    stack.serve("tetris")
    stack.manifests.write("filters.yaml", ROUTE)
    stack.start_controller()
    wait_for(lambda: request(stack, "/set/x")[0] == 200,
             what="the filters route to be live")
    stack.echo_backend = echo
    return stack


# ------------------------------------------------ RequestHeaderModifier

def test_set_overwrites_the_clients_value(filters):
    want = ['set "overwrites"; {values}']
    h = seen_by_backend(filters, "/set", [("Some-Other-Header", "val")])
    assert h["X-Header-Set"] == want, h
    assert h["Some-Other-Header"] == ["val"], h

    h = seen_by_backend(filters, "/set", [("x-header-set", "client")])
    assert h["X-Header-Set"] == want, h


def test_add_appends_to_the_clients_value(filters):
    h = seen_by_backend(filters, "/add")
    assert h["X-Header-Add"] == ["add-appends-values"], h

    h = seen_by_backend(filters, "/add",
                        [("x-header-add", "some-other-value")])
    assert h["X-Header-Add"] == ["some-other-value,add-appends-values"], h


def test_remove_drops_the_header_whatever_its_case(filters):
    h = seen_by_backend(filters, "/remove",
                        [("x-header-remove", "val"), ("Keep-Me", "yes")])
    assert "X-Header-Remove" not in h, h
    assert h["Keep-Me"] == ["yes"], h


def test_other_rules_keep_the_clients_headers(filters):
    h = seen_by_backend(filters, "/add",
                        [("X-Header-Set", "mine"), ("X-Header-Remove", "k")])
    assert h["X-Header-Set"] == ["mine"], h
    assert h["X-Header-Remove"] == ["k"], h


# ------------------------------------------------ ResponseHeaderModifier

def test_response_headers_set_add_remove(filters):
    ask = ("X-Resp-Set:from-backend,X-Resp-Remove:secret,"
           "X-Resp-Add:backend,X-Other:kept")
    code, headers, body = request(filters, "/response",
                                  [("X-Echo-Set-Header", ask)])
    assert code == 200, (code, body[:300])
    assert values(headers, "X-Resp-Set") == ["from-gateway"], headers
    assert values(headers, "X-Resp-Remove") == [], headers
    assert sorted(values(headers, "X-Resp-Add")) == ["added", "backend"], \
        headers
    assert values(headers, "X-Other") == ["kept"], headers

    # set and add also hold when the backend sent nothing
    code, headers, _ = request(filters, "/response")
    assert values(headers, "X-Resp-Set") == ["from-gateway"], headers
    assert values(headers, "X-Resp-Add") == ["added"], headers


# ------------------------------------------------ RequestRedirect

@pytest.mark.parametrize("path,status,location", [
    ("/hostname-redirect", 302,
     f"http://example.org{LISTENER_PORT}/hostname-redirect"),
    ("/hostname-redirect/a?b=c", 302,
     f"http://example.org{LISTENER_PORT}/hostname-redirect/a?b=c"),
    ("/host-and-status", 301,
     f"http://example.org{LISTENER_PORT}/host-and-status"),
    # a new scheme without a port: that scheme's port, not written
    ("/to-https/x", 308, f"https://{HOST}/to-https/x"),
    ("/to-port", 302, f"http://{HOST}:8443/to-port"),
    ("/old", 302, f"http://{HOST}{LISTENER_PORT}/new"),
    ("/old/a/b?q=1", 302, f"http://{HOST}{LISTENER_PORT}/new/a/b?q=1"),
    ("/full?q=1", 302, f"http://{HOST}{LISTENER_PORT}/replaced?q=1"),
])
def test_redirect_status_and_location(filters, path, status, location):
    code, headers, _ = request(filters, path)
    assert code == status, (path, code, headers)
    assert values(headers, "Location") == [location], headers


def test_a_redirect_never_reaches_the_backend(filters):
    for path in ("/hostname-redirect/x", "/old/y"):
        code, _, _ = request(filters, path)
        assert code in (301, 302), path
    # the backend logs every request it echoes; a proxied one shows up
    seen_by_backend(filters, "/set/marker")
    log = filters.echo_backend.text()
    assert "/set/marker" in log, log[-500:]
    assert "/hostname-redirect" not in log and "/old" not in log, log[-500:]


# ------------------------------------------------ refused

def test_dollar_in_a_value_drops_the_rule_and_says_why(filters):
    st = filters.controller.status("json")
    _, parent = route_parent(st, name="filters")
    assert cond(parent["conditions"], "Accepted")["status"] == "True"
    pi = cond(parent["conditions"], "PartiallyInvalid")
    assert pi["status"] == "True", pi
    assert "X-Var" in pi["message"] and "'$'" in pi["message"], pi
    code, _, _ = request(filters, "/dollar")
    assert code == 404


def test_redirect_with_rewrite_is_incompatible(filters):
    filters.manifests.write("incompatible.yaml", INCOMPATIBLE)

    def refused():
        st = filters.controller.status("json")
        _, parent = route_parent(st, name="incompatible")
        return cond(parent["conditions"], "Accepted")
    acc = wait_for(lambda: refused()["status"] == "False" and refused(),
                   what="incompatible route refused")
    assert acc["reason"] == "IncompatibleFilters", acc
    assert "RequestRedirect and URLRewrite" in acc["message"], acc

    code, _, _ = request(filters, "/", host="incompatible.example.com")
    assert code == 404
    # the rest keeps working
    assert request(filters, "/set/x")[0] == 200
    yaml.safe_load(filters.controller.status("yaml"))
