"""URLRewrite through nginx: the path the backend sees (ReplaceFullPath,
ReplacePrefixMatch with the spec's trailing-slash table) and the Host.

The games walkthrough runs with the conformance echo backend in place of
mario (it answers with the request it received); one more HTTPRoute,
rewrite.example.com, holds the rewrites.  The expected paths are the
table of HTTPPathModifier in the v1.6.1 API (httproute_types.go) and the
cases of the upstream test HTTPRouteRewritePath.
"""

import http.client
import json

import pytest

from conftest import GW_PORT, wait_for

HOST = "rewrite.example.com"
MARIO = "{name: mario, namespace: mario-ns, port: 80}"


def prefix_rule(match, replace):
    return f"""
  - matches: [{{path: {{type: PathPrefix, value: '{match}'}}}}]
    filters:
    - type: URLRewrite
      urlRewrite:
        path: {{type: ReplacePrefixMatch, replacePrefixMatch: '{replace}'}}
    backendRefs: [{MARIO}]"""


ROUTE = f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: rewrite
  namespace: default
spec:
  parentRefs:
  - name: game-gateway
  hostnames: [{HOST}]
  rules:{prefix_rule('/foo', '/xyz')}{prefix_rule('/slash/', '/xyz/')}\
{prefix_rule('/strip', '/')}{prefix_rule('/empty', '')}\
{prefix_rule('/prefix/one', '/one')}
  - matches: [{{path: {{type: PathPrefix, value: /full/one}}}}]
    filters:
    - type: URLRewrite
      urlRewrite:
        path: {{type: ReplaceFullPath, replaceFullPath: /one}}
    backendRefs: [{MARIO}]
  - matches: [{{path: {{type: PathPrefix, value: /host}}}}]
    filters:
    - type: URLRewrite
      urlRewrite: {{hostname: elsewhere.example.org}}
    backendRefs: [{MARIO}]
"""


def backend_saw(stack, path):
    """(path, host) of the request the echo backend received."""
    conn = http.client.HTTPConnection(stack.net.gw, GW_PORT, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": HOST})
        resp = conn.getresponse()
        body = resp.read().decode()
        assert resp.status == 200, (path, resp.status, body[:300])
        seen = json.loads(body)
        return seen["path"], seen["host"]
    finally:
        conn.close()


@pytest.fixture
def rewrite(stack):
    stack.echo("mario", "mario-ns", "echo-pod")
    stack.serve("tetris")
    stack.manifests.write("rewrite.yaml", ROUTE)
    stack.start_controller()
    wait_for(lambda: backend_saw(stack, "/foo")[0] == "/xyz",
             what="the rewrite route to be live")
    return stack


@pytest.mark.parametrize("path,expected", [
    # prefix /foo, replacement /xyz
    ("/foo/bar", "/xyz/bar"),
    ("/foo", "/xyz"),
    ("/foo/", "/xyz/"),
    ("/foo/bar?q=1", "/xyz/bar?q=1"),
    # prefix /slash/, replacement /xyz/: as /foo and /xyz
    ("/slash/bar", "/xyz/bar"),
    ("/slash", "/xyz"),
    # replacement "/" and "" strip the prefix
    ("/strip/three", "/three"),
    ("/strip/", "/"),
    ("/strip", "/"),
    ("/empty/bar", "/bar"),
    ("/empty/", "/"),
    ("/empty", "/"),
    # HTTPRouteRewritePath
    ("/prefix/one/two", "/one/two"),
    ("/full/one/two", "/one"),
    ("/full/one/two?a=b", "/one?a=b"),
])
def test_rewritten_path(rewrite, path, expected):
    assert backend_saw(rewrite, path)[0] == expected


def test_prefix_matches_whole_segments_only(rewrite):
    # /foobar is not below /foo: no rule of the route matches it
    conn = http.client.HTTPConnection(rewrite.net.gw, GW_PORT, timeout=5)
    try:
        conn.request("GET", "/foobar", headers={"Host": HOST})
        assert conn.getresponse().status == 404
    finally:
        conn.close()


def test_hostname_rewrite(rewrite):
    assert backend_saw(rewrite, "/host/x") == ("/host/x",
                                               "elsewhere.example.org")
    assert backend_saw(rewrite, "/foo")[1] == HOST
