"""The CORS filter through nginx (HTTPRouteCORS, Gateway API v1.6.1).

The routes are the upstream test's manifests (tests/httproute-cors.yaml)
on host cors.example.com, the backend the conformance echo server in
place of mario.  Preflights (OPTIONS with Access-Control-Request-Method)
are answered by the gateway; other requests reach the backend and get
the CORS headers added when their Origin is allowed.
"""

import http.client

import pytest

from conftest import GW_PORT, wait_for

HOST = "cors.example.com"
MARIO = "{name: mario, namespace: mario-ns, port: 80}"


def cors_rule(prefix, cors):
    return f"""
  - matches: [{{path: {{type: PathPrefix, value: {prefix}}}}}]
    filters:
    - type: CORS
      cors: {cors}
    backendRefs: [{MARIO}]"""


ROUTE = f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: cors
  namespace: default
spec:
  parentRefs:
  - name: game-gateway
  hostnames: [{HOST}]
  rules:""" + cors_rule("/cors-1", """
        allowOrigins: ["https://www.foo.com", "https://*.bar.com"]
        allowMethods: [GET, OPTIONS]
        allowHeaders: [x-header-1, x-header-2]
        exposeHeaders: [x-header-3, x-header-4]
        allowCredentials: true
        maxAge: 3600""") + cors_rule("/cors-2", """
        allowOrigins: ["https://www.foo.com"]
        allowMethods: ["*"]""") + cors_rule("/cors-wildcard-origin", """
        allowOrigins: ["*"]
        allowMethods: [PUT]
        allowCredentials: false""") + \
    cors_rule("/cors-wildcard-methods-headers-unauth", """
        allowOrigins: ["*"]
        allowMethods: ["*"]
        allowHeaders: ["*"]
        allowCredentials: false""") + \
    cors_rule("/cors-wildcard-methods-headers", """
        allowOrigins: ["*"]
        allowMethods: ["*"]
        allowHeaders: ["*"]
        allowCredentials: true""") + "\n"


def request(stack, method, path, headers=None):
    """(status, {lower-case name: value}, body)."""
    conn = http.client.HTTPConnection(stack.net.gw, GW_PORT, timeout=5)
    try:
        conn.request(method, path, headers={"Host": HOST, **(headers or {})})
        resp = conn.getresponse()
        body = resp.read().decode()
        return (resp.status, {n.lower(): v for n, v in resp.getheaders()},
                body)
    finally:
        conn.close()


def preflight(stack, path, origin, method, req_headers=None):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if req_headers:
        h["Access-Control-Request-Headers"] = req_headers
    return request(stack, "OPTIONS", path, h)


def items(value):
    return sorted(v.strip() for v in value.split(","))


@pytest.fixture
def cors(stack):
    stack.echo("mario", "mario-ns", "echo-pod")
    stack.serve("tetris")
    stack.manifests.write("cors.yaml", ROUTE)
    stack.start_controller()
    wait_for(lambda: request(stack, "GET", "/cors-1")[0] == 200,
             what="the CORS route to be live")
    return stack


@pytest.mark.parametrize("origin", ["https://www.foo.com",
                                    "https://www.bar.com",
                                    "https://xpto.www.bar.com"])
def test_preflight_from_an_allowed_origin(cors, origin):
    code, h, body = preflight(cors, "/cors-1", origin, "GET",
                              "x-header-1, x-header-2")
    assert code == 200, (code, h)
    assert '"path"' not in body          # answered by the gateway
    assert h["access-control-allow-origin"] == origin
    assert items(h["access-control-allow-methods"]) == ["GET", "OPTIONS"]
    assert items(h["access-control-allow-headers"]) == ["x-header-1",
                                                        "x-header-2"]
    assert items(h["access-control-expose-headers"]) == ["x-header-3",
                                                         "x-header-4"]
    assert h["access-control-max-age"] == "3600"
    assert h["access-control-allow-credentials"] == "true"


@pytest.mark.parametrize("origin", ["https://foobar.com", "https://bar.com",
                                    "http://www.foo.com",
                                    "https://www.foo.com.evil.org"])
def test_preflight_from_another_origin_gets_no_cors_headers(cors, origin):
    code, h, _ = preflight(cors, "/cors-1", origin, "GET")
    assert code in (200, 204, 403), code
    assert not [n for n in h if n.startswith("access-control-")], h


def test_simple_requests(cors):
    code, h, body = request(cors, "GET", "/cors-1",
                            {"Origin": "https://www.bar.com"})
    assert code == 200 and '"path"' in body     # reached the backend
    assert h["access-control-allow-origin"] == "https://www.bar.com"
    assert h["access-control-allow-credentials"] == "true"
    assert "access-control-allow-methods" not in h      # preflight only

    code, h, _ = request(cors, "GET", "/cors-1",
                         {"Origin": "https://foobar.com"})
    assert code == 200
    assert "access-control-allow-origin" not in h, h

    # no Origin, no CORS
    code, h, _ = request(cors, "GET", "/cors-1")
    assert "access-control-allow-origin" not in h, h


def test_wildcard_methods_echo_the_requested_one(cors):
    code, h, _ = preflight(cors, "/cors-2", "https://www.foo.com", "POST")
    assert code == 200
    assert h["access-control-allow-methods"] in ("POST", "*")
    assert h["access-control-allow-origin"] == "https://www.foo.com"
    assert "access-control-allow-credentials" not in h


@pytest.mark.parametrize("origin", ["https://foobar.com",
                                    "https://foobar.com:12345"])
def test_wildcard_origin(cors, origin):
    code, h, _ = preflight(cors, "/cors-wildcard-origin", origin, "PUT")
    assert code == 200
    assert h["access-control-allow-origin"] in (origin, "*")
    assert h["access-control-allow-methods"] == "PUT"
    assert "access-control-allow-credentials" not in h

    code, h, _ = request(cors, "PUT", "/cors-wildcard-origin",
                         {"Origin": origin})
    assert code == 200
    assert h["access-control-allow-origin"] in (origin, "*")
    assert "access-control-allow-credentials" not in h


def test_wildcards_with_and_without_credentials(cors):
    origin = "https://other.foo.com"
    for path, cred in (("/cors-wildcard-methods-headers", True),
                       ("/cors-wildcard-methods-headers-unauth", False)):
        code, h, _ = preflight(cors, path, origin, "PUT",
                               "x-header-1, x-header-2")
        assert code == 200, path
        assert h["access-control-allow-origin"] == origin
        assert h["access-control-allow-methods"] == "PUT"
        assert items(h["access-control-allow-headers"]) == \
            ["x-header-1", "x-header-2"]
        assert (h.get("access-control-allow-credentials") == "true") == cred

        code, h, _ = request(cors, "GET", path,
                             {"Origin": origin,
                              "Authorization": "Bearer test"})
        assert code == 200, path
        assert h["access-control-allow-origin"] == origin
        assert (h.get("access-control-allow-credentials") == "true") == cred
