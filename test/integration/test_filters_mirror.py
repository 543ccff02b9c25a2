"""RequestMirror (HTTPRouteRequestMirror, -MultipleMirrors,
-PercentageMirror): what the mirror's backend sees, counted in its log.

The games walkthrough runs with conformance echo backends in place of
mario (the route's backend) and tetris (the mirrors' backend).  Each echo
logs "Echoing back request made to <uri> to client (...)" per request, so
the tetris log counts the mirrored requests; the client's answers come
from mario alone.  A second Service, tetris-too, has tetris's endpoint,
so that two mirrors of one rule are two counts.
"""

import http.client
import json
import time

import pytest

from conftest import GW_PORT, cond, route_parent, wait_for

HOST = "mirror.example.com"
MARIO = "{name: mario, namespace: mario-ns, port: 80}"


def mirror(name, extra=""):
    return ("    - type: RequestMirror\n"
            "      requestMirror:\n"
            f"        backendRef: {{name: {name}, namespace: tetris-ns, "
            "port: 80}\n" + extra)


def rule(prefix, filters):
    return (f"  - matches: [{{path: {{type: PathPrefix, value: {prefix}}}}}]\n"
            "    filters:\n" + filters + f"    backendRefs: [{MARIO}]\n")


HEADERS = """\
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Header-Set, value: set-overwrites-values}]
"""

ROUTE = f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mirror
  namespace: default
spec:
  parentRefs:
  - name: game-gateway
  hostnames: [{HOST}]
  rules:
""" + rule("/mirror", mirror("tetris")) \
    + rule("/headers", HEADERS + mirror("tetris")) \
    + rule("/multiple", mirror("tetris") + mirror("tetris-too")) \
    + rule("/percent", mirror("tetris", "        percent: 20\n")) \
    + rule("/fraction", mirror("tetris", "        fraction: "
                                         "{numerator: 25, denominator: 50}\n")) \
    + rule("/zero", mirror("tetris", "        percent: 0\n")) \
    + rule("/missing", mirror("nowhere"))

TETRIS_TOO = """
apiVersion: v1
kind: Service
metadata:
  name: tetris-too
  namespace: tetris-ns
spec:
  ports:
  - port: 80
    targetPort: 80
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


def mirrored(stack, prefix):
    """How many requests with a URI under prefix the mirror echo saw."""
    text = (stack.tmp / "tetris-echo.log").read_text(errors="replace")
    return sum(1 for line in text.splitlines()
               if f"Echoing back request made to {prefix}" in line)


def settled(stack, prefix, at_least):
    """The mirror's count once it reaches at_least and stops moving."""
    wait_for(lambda: mirrored(stack, prefix) >= at_least,
             what=f"{at_least} mirrored requests under {prefix}")
    last = -1
    while last != mirrored(stack, prefix):
        last = mirrored(stack, prefix)
        time.sleep(0.3)
    return last


def served_by_mario(stack, path):
    code, body = request(stack, path)
    assert code == 200, (path, code, body[:300])
    assert json.loads(body)["namespace"] == "mario-ns", body[:300]


@pytest.fixture
def mirror_stack(stack):
    stack.echo("mario", "mario-ns", "mario-pod")
    stack.tetris_echo = stack.echo("tetris", "tetris-ns", "tetris-pod")
    slices = stack.manifests.docs("endpoints.yaml")
    too = json.loads(json.dumps([s for s in slices if s["metadata"]["labels"]
                                 ["kubernetes.io/service-name"]
                                 == "tetris"][0]))
    too["metadata"]["name"] = "tetris-too"
    too["metadata"]["labels"]["kubernetes.io/service-name"] = "tetris-too"
    stack.manifests.write_docs("endpoints.yaml", slices + [too])
    stack.manifests.write("tetris-too.yaml", TETRIS_TOO)
    stack.manifests.write("mirror.yaml", ROUTE)
    stack.start_controller()
    wait_for(lambda: request(stack, "/mirror")[0] == 200,
             what="the mirror route to be live")
    return stack


def test_every_request_is_mirrored_with_its_uri(mirror_stack):
    before = settled(mirror_stack, "/mirror", 1)
    for i in range(10):
        served_by_mario(mirror_stack, f"/mirror/{i}?q=v")
    for i in range(10):
        wait_for(lambda: mirrored(mirror_stack, f"/mirror/{i}?q=v") == 1,
                 what=f"/mirror/{i}?q=v mirrored once")
    assert settled(mirror_stack, "/mirror", before + 10) == before + 10


def test_mirror_with_request_header_filter(mirror_stack):
    code, body = request(mirror_stack, "/headers/x",
                         [("X-Header-Set", "client")])
    assert code == 200
    seen = {k.lower(): v for k, v in json.loads(body)["headers"].items()}
    assert seen["x-header-set"] in ("set-overwrites-values",
                                    ["set-overwrites-values"])
    assert settled(mirror_stack, "/headers/x", 1) == 1


def test_multiple_mirrors(mirror_stack):
    for i in range(5):
        served_by_mario(mirror_stack, f"/multiple/{i}")
    # one request to each of the two mirrors, both on the tetris echo
    assert settled(mirror_stack, "/multiple/", 10) == 10


@pytest.mark.parametrize("prefix,share", [("/percent/", 0.20),
                                          ("/fraction/", 0.50)])
def test_percentage_of_requests_mirrored(mirror_stack, prefix, share):
    n = 300
    for i in range(n):
        code, _ = request(mirror_stack, f"{prefix}{i}")
        assert code == 200
    expect = n * share
    tolerance = 4 * (n * share * (1 - share)) ** 0.5
    got = settled(mirror_stack, prefix, int(expect - tolerance))
    assert expect - tolerance <= got <= expect + tolerance, (got, expect)


def test_zero_percent_mirrors_nothing(mirror_stack):
    for i in range(20):
        served_by_mario(mirror_stack, f"/zero/{i}")
    # a request mirrored everywhere, sent after: when it arrives, a /zero
    # mirror would have had its chance
    served_by_mario(mirror_stack, "/mirror/after-zero")
    settled(mirror_stack, "/mirror/after-zero", 1)
    assert mirrored(mirror_stack, "/zero/") == 0


def test_unresolved_mirror_is_named_and_the_rule_serves(mirror_stack):
    st = mirror_stack.controller.status("json")
    _, parent = route_parent(st, name="mirror")
    rr = cond(parent["conditions"], "ResolvedRefs")
    assert rr["status"] == "False", rr
    assert rr["reason"] == "BackendNotFound", rr
    assert "RequestMirror" in rr["message"] and "nowhere" in rr["message"]
    served_by_mario(mirror_stack, "/missing/x")


def test_client_answer_unaffected_when_the_mirror_is_down(mirror_stack):
    mirror_stack.tetris_echo.stop()
    for i in range(10):
        served_by_mario(mirror_stack, f"/mirror/down-{i}")
