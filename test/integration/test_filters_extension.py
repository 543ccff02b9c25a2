"""ExtensionRef filters: no extension is supported, and the spec says a
filter that cannot be resolved MUST NOT be skipped: the requests it would
process get an HTTP error.  The rule is kept and answers 500 (a dropped
rule would answer 404, or let another rule serve the request without the
filter); the route stays Accepted, with ResolvedRefs=False/InvalidKind
naming the filter.

One route, extension.example.com: /ext with an ExtensionRef (and a header
modifier that must not reach the backend), /ok without one, and a second
route whose only rule has an ExtensionRef.
"""

import http.client
import json

import pytest

from conftest import GW_PORT, cond, route_parent, wait_for

HOST = "extension.example.com"
ONLY_HOST = "extension-only.example.com"

ROUTES = f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: extension
  namespace: default
spec:
  parentRefs:
  - name: game-gateway
  hostnames: [{HOST}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /ok}}}}]
    backendRefs:
    - {{name: mario, namespace: mario-ns, port: 80}}
  - matches: [{{path: {{type: PathPrefix, value: /ext}}}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{{name: X-Skipped, value: "yes"}}]
    - type: ExtensionRef
      extensionRef: {{group: example.io, kind: Auth, name: my-auth}}
    backendRefs:
    - {{name: mario, namespace: mario-ns, port: 80}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: extension-only
  namespace: default
spec:
  parentRefs:
  - name: game-gateway
  hostnames: [{ONLY_HOST}]
  rules:
  - filters:
    - type: ExtensionRef
      extensionRef: {{group: example.io, kind: Auth, name: other}}
    backendRefs:
    - {{name: mario, namespace: mario-ns, port: 80}}
"""


def request(stack, path, host=HOST):
    conn = http.client.HTTPConnection(stack.net.gw, GW_PORT, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


@pytest.fixture
def extension(stack):
    stack.echo("mario", "mario-ns", "echo-pod")
    stack.serve("tetris")
    stack.manifests.write("extension.yaml", ROUTES)
    stack.start_controller()
    wait_for(lambda: request(stack, "/ok")[0] == 200,
             what="the extension route to be live")
    return stack


def test_the_rule_with_an_extension_ref_answers_500(extension):
    code, body = request(extension, "/ext/x")
    assert code == 500, body[:300]
    # the echo backend was not reached (it answers JSON)
    assert '"namespace"' not in body


def test_the_other_rules_serve(extension):
    code, body = request(extension, "/ok")
    assert code == 200, body[:300]
    assert json.loads(body)["namespace"] == "mario-ns"
    # a path no rule matches is still the server's 404
    assert request(extension, "/none")[0] == 404


def test_a_route_whose_only_rule_has_one_is_accepted_and_answers_500(
        extension):
    assert request(extension, "/", host=ONLY_HOST)[0] == 500
    st = extension.controller.status("json")
    _, parent = route_parent(st, name="extension-only")
    acc = cond(parent["conditions"], "Accepted")
    assert acc["status"] == "True", acc


def test_status_names_the_filter_in_resolved_refs(extension):
    st = extension.controller.status("json")
    _, parent = route_parent(st, name="extension")
    acc = cond(parent["conditions"], "Accepted")
    assert acc["status"] == "True", acc
    rr = cond(parent["conditions"], "ResolvedRefs")
    assert rr["status"] == "False", rr
    assert rr["reason"] == "InvalidKind", rr
    assert "rule 1: ExtensionRef filter Auth example.io/my-auth" in \
        rr["message"], rr
    assert "answers 500" in rr["message"], rr
    # no rule was dropped
    assert "PartiallyInvalid" not in [c["type"]
                                      for c in parent["conditions"]]
