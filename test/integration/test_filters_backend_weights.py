"""RequestHeaderModifier on several weighted backendRefs of one rule
(upstream HTTPRouteRequestHeaderModifierBackendWeights), with real
traffic: each request carries the headers of the backendRef that served
it, and the weights still hold.

Two conformance echo backends: mario (mario-ns, pod mario-pod) and tetris
(tetris-ns, pod tetris-pod), one HTTPRoute on weights.example.com:

  /weights  mario 10 and tetris 10, each setting Backend to its pod's name
            (the upstream test: the pod that answers starts with Backend)
  /same     two backendRefs to mario, weights 1 and 3, setting X-Which to
            first / second: the same Service with different filters stays
            two shares
  /mixed    the rule sets X-Rule; mario (weight 1) adds to it and removes
            X-Gone; tetris (weight 1) has no filter: the rule's X-Rule and
            the client's X-Gone

Counts are checked against the weights within 4 standard deviations of
the binomial distribution (nginx splits by $request_id, random).
"""

import http.client
import json
import math

import pytest

from conftest import GW_PORT, cond, route_parent, wait_for

HOST = "weights.example.com"

ROUTE = f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: backend-weights
  namespace: default
spec:
  parentRefs:
  - name: game-gateway
  hostnames: [{HOST}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /weights}}}}]
    backendRefs:
    - name: mario
      namespace: mario-ns
      port: 80
      weight: 10
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{{name: Backend, value: mario-pod}}]
    - name: tetris
      namespace: tetris-ns
      port: 80
      weight: 10
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{{name: Backend, value: tetris-pod}}]
  - matches: [{{path: {{type: PathPrefix, value: /same}}}}]
    backendRefs:
    - name: mario
      namespace: mario-ns
      port: 80
      weight: 1
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{{name: X-Which, value: first}}]
    - name: mario
      namespace: mario-ns
      port: 80
      weight: 3
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{{name: X-Which, value: second}}]
  - matches: [{{path: {{type: PathPrefix, value: /mixed}}}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{{name: X-Rule, value: rule}}]
    backendRefs:
    - name: mario
      namespace: mario-ns
      port: 80
      weight: 1
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          add: [{{name: X-Rule, value: "from \\"mario\\""}}]
          remove: [X-Gone]
    - name: tetris
      namespace: tetris-ns
      port: 80
      weight: 1
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
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def echo(stack, path, headers=()):
    """(pod, request headers the backend saw: lower-case name -> list)."""
    code, body = request(stack, path, headers)
    assert code == 200, (path, code, body[:300])
    seen = json.loads(body)
    out = {}
    for name, value in seen["headers"].items():
        out.setdefault(name.lower(), []).extend(
            value if isinstance(value, list) else [value])
    return seen["pod"], out


def within(count, n, p):
    """count of n is within 4 standard deviations of n * p."""
    return abs(count - n * p) <= 4 * math.sqrt(n * p * (1 - p))


@pytest.fixture
def weights(stack):
    stack.echo("mario", "mario-ns", "mario-pod")
    stack.echo("tetris", "tetris-ns", "tetris-pod")
    stack.manifests.write("backend-weights.yaml", ROUTE)
    stack.start_controller()
    wait_for(lambda: request(stack, "/weights")[0] == 200,
             what="the backend-weights route to be live")
    return stack


def test_each_request_carries_its_backend_refs_header(weights):
    n = 200
    pods = {"mario-pod": 0, "tetris-pod": 0}
    for _ in range(n):
        pod, h = echo(weights, "/weights")
        assert len(h.get("backend", [])) == 1, h
        assert pod.startswith(h["backend"][0]), (pod, h)
        pods[pod] += 1
    for pod, count in pods.items():
        assert within(count, n, 0.5), pods


def test_two_backend_refs_to_one_service_stay_distinct(weights):
    n = 400
    which = {"first": 0, "second": 0}
    for _ in range(n):
        pod, h = echo(weights, "/same", [("X-Which", "client")])
        assert pod == "mario-pod"
        assert len(h["x-which"]) == 1, h
        which[h["x-which"][0]] += 1
    assert within(which["first"], n, 0.25), which
    assert within(which["second"], n, 0.75), which


def test_rule_and_backend_ref_filters_compose_per_backend(weights):
    seen = {}
    for _ in range(200):
        pod, h = echo(weights, "/mixed", [("X-Rule", "client"),
                                          ("X-Gone", "client-gone")])
        seen.setdefault(pod, []).append(h)
        if len(seen) == 2 and min(len(v) for v in seen.values()) >= 3:
            break
    assert set(seen) == {"mario-pod", "tetris-pod"}, list(seen)
    for h in seen["mario-pod"]:
        assert h["x-rule"] == ['rule,from "mario"'], h
        assert "x-gone" not in h, h
    for h in seen["tetris-pod"]:
        assert h["x-rule"] == ["rule"], h
        assert h["x-gone"] == ["client-gone"], h


def test_route_accepted_without_dropped_rules(weights):
    st = weights.controller.status("json")
    _, parent = route_parent(st, name="backend-weights")
    assert cond(parent["conditions"], "Accepted")["status"] == "True"
    rr = cond(parent["conditions"], "ResolvedRefs")
    assert rr["status"] == "True", rr
    assert "PartiallyInvalid" not in [c["type"]
                                      for c in parent["conditions"]]
