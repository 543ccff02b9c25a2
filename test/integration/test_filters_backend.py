"""Filters on a backendRef (HTTPRouteBackendRequestHeaderModification):
the headers the backend sees, alone and after the rule's own filters.

The games walkthrough runs with the conformance echo backend in place of
mario; one more HTTPRoute, backend-filters.example.com, carries the
filters of the upstream test HTTPRouteBackendRequestHeaderModifier on its
backendRefs, and rules where the rule and its backendRef both modify.
"""

import http.client
import json

import pytest

from conftest import GW_PORT, cond, route_parent, wait_for

HOST = "backend-filters.example.com"


def backend(filters):
    return ("    backendRefs:\n"
            "    - name: mario\n"
            "      namespace: mario-ns\n"
            "      port: 80\n"
            "      filters:\n" + filters)


def rule(prefix, rule_filters, backend_filters):
    out = f"  - matches: [{{path: {{type: PathPrefix, value: {prefix}}}}}]\n"
    if rule_filters:
        out += "    filters:\n" + rule_filters
    return out + backend(backend_filters)


ROUTE = f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: backend-filters
  namespace: default
spec:
  parentRefs:
  - name: game-gateway
  hostnames: [{HOST}]
  rules:
""" + rule("/set", None, """\
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{name: X-Header-Set, value: set-overwrites-values}]
""") + rule("/add", None, """\
      - type: RequestHeaderModifier
        requestHeaderModifier:
          add: [{name: X-Header-Add, value: add-appends-values}]
""") + rule("/remove", None, """\
      - type: RequestHeaderModifier
        requestHeaderModifier:
          remove: [X-Header-Remove]
""") + rule("/response", None, """\
      - type: ResponseHeaderModifier
        responseHeaderModifier:
          set: [{name: X-Resp, value: from-backend-ref}]
""") + rule("/both", """\
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Rule-Set, value: rule}, {name: X-Both-Set, value: rule}]
        add: [{name: X-Both-Add, value: rule}]
        remove: [X-Rule-Removed]
""", """\
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{name: X-Both-Set, value: backend}]
          add: [{name: X-Both-Add, value: backend},
                {name: X-Rule-Removed, value: backend},
                {name: X-Rule-Set, value: backend}]
""") + """\
  - matches: [{path: {type: PathPrefix, value: /two}}]
    backendRefs:
    - name: mario
      namespace: mario-ns
      port: 80
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{name: X-A, value: a}]
    - name: tetris
      namespace: tetris-ns
      port: 80
"""


def request(stack, path, headers=()):
    conn = http.client.HTTPConnection(stack.net.gw, GW_PORT, timeout=5)
    try:
        conn.putrequest("GET", path, skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader("Host", HOST)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read().decode()
    finally:
        conn.close()


def seen(stack, path, headers=()):
    """The backend's request headers, names lower-cased, values joined."""
    code, _, body = request(stack, path, headers)
    assert code == 200, (path, code, body[:300])
    out = {}
    for name, value in json.loads(body)["headers"].items():
        out[name.lower()] = (",".join(value) if isinstance(value, list)
                             else value)
    return out


@pytest.fixture
def backend_filters(stack):
    stack.echo("mario", "mario-ns", "echo-pod")
    stack.serve("tetris")
    stack.manifests.write("backend-filters.yaml", ROUTE)
    stack.start_controller()
    wait_for(lambda: request(stack, "/set")[0] == 200,
             what="the backend-filters route to be live")
    return stack


def test_set_add_remove_on_the_backend_ref(backend_filters):
    h = seen(backend_filters, "/set", [("X-Header-Set", "client")])
    assert h["x-header-set"] == "set-overwrites-values"
    h = seen(backend_filters, "/add", [("X-Header-Add", "client")])
    assert h["x-header-add"] == "client,add-appends-values"
    h = seen(backend_filters, "/add")
    assert h["x-header-add"] == "add-appends-values"
    h = seen(backend_filters, "/remove", [("X-Header-Remove", "gone"),
                                          ("X-Other", "kept")])
    assert "x-header-remove" not in h and h["x-other"] == "kept"


def test_response_header_on_the_backend_ref(backend_filters):
    _, headers, _ = request(backend_filters, "/response")
    assert [v for n, v in headers if n.lower() == "x-resp"] == \
        ["from-backend-ref"]


def test_backend_ref_filters_apply_after_the_rules(backend_filters):
    h = seen(backend_filters, "/both", [("X-Both-Add", "client"),
                                        ("X-Rule-Removed", "client")])
    assert h["x-both-set"] == "backend"
    assert h["x-both-add"] == "client,rule,backend"
    # removed by the rule, added by the backendRef: only the latter's
    assert h["x-rule-removed"] == "backend"
    assert h["x-rule-set"] == "rule,backend"


def test_several_backend_refs_with_filters_are_served(backend_filters):
    # per backendRef (test_filters_backend_weights.py): mario's requests
    # carry X-A, tetris (a static page) is reached too
    st = backend_filters.controller.status("json")
    _, parent = route_parent(st, name="backend-filters")
    assert "PartiallyInvalid" not in [c["type"]
                                      for c in parent["conditions"]]
    seen = set()
    for _ in range(100):
        code, _, body = request(backend_filters, "/two")
        assert code == 200, body[:300]
        if body.lstrip().startswith("{"):
            assert json.loads(body)["headers"].get("X-A") in ("a", ["a"])
            seen.add("mario")
        else:
            seen.add("tetris")
        if len(seen) == 2:
            break
    assert seen == {"mario", "tetris"}
