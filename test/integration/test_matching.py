"""HTTPRoute matching through nginx and our module's gateway_match:
method, header and query parameter matches (Exact and RegularExpression),
RegularExpression paths, precedence across routes, hostname tiers
(a wildcard route below the host's own routes), no match -> 404
(Gateway API v1.6.1).

The games walkthrough runs with two conformance echo backends in place of
mario and tetris (test/backends/echo.py: it answers with the request it
received and names its pod), and one more file, matching.yaml, with the
routes below. Every rule also sets a response header X-Rule naming
itself, so a test sees both which backend answered and which rule sent
the request there.
"""

import http.client
import json

import pytest

from conftest import GW_PORT, cond, route_parent, wait_for

HOST = "match.example.com"

MARIO = "echo-mario"
TETRIS = "echo-tetris"


def rule(name, matches, backend, indent="  "):
    """One rule: its matches (YAML flow), X-Rule: name, one backend."""
    svc, ns = (("mario", "mario-ns") if backend == MARIO
               else ("tetris", "tetris-ns"))
    return (f"{indent}- matches: {matches}\n"
            f"{indent}  filters:\n"
            f"{indent}  - type: ResponseHeaderModifier\n"
            f"{indent}    responseHeaderModifier:\n"
            f"{indent}      set: [{{name: X-Rule, value: {name}}}]\n"
            f"{indent}  backendRefs: [{{name: {svc}, namespace: {ns}, "
            f"port: 80}}]\n")


def route(name, created, hostnames, rules):
    return (f"apiVersion: gateway.networking.k8s.io/v1\n"
            f"kind: HTTPRoute\n"
            f"metadata:\n"
            f"  name: {name}\n"
            f"  namespace: default\n"
            f"  creationTimestamp: '{created}'\n"
            f"spec:\n"
            f"  parentRefs: [{{name: game-gateway}}]\n"
            f"  hostnames: {hostnames}\n"
            f"  rules:\n" + "".join(rules))


ROUTES = "---\n".join([
    route("matching", "2022-01-01T00:00:00Z", f"[{HOST}]", [
        rule("post", "[{path: {type: PathPrefix, value: /m}, "
                     "method: POST}]", TETRIS),
        rule("m-any", "[{path: {type: PathPrefix, value: /m}}]", MARIO),
        rule("version-two", "[{path: {type: PathPrefix, value: /h}, "
                            "headers: [{name: Version, value: two}]}]",
             TETRIS),
        rule("env-regex", "[{path: {type: PathPrefix, value: /h}, "
                          "headers: [{type: RegularExpression, name: X-Env, "
                          "value: 'stag(ing)?-[0-9]+'}]}]", MARIO),
        rule("whale", "[{path: {type: Exact, value: /q}, "
                      "queryParams: [{name: animal, value: whale}]}]",
             TETRIS),
        rule("color-regex", "[{path: {type: Exact, value: /q}, "
                            "queryParams: [{type: RegularExpression, "
                            "name: color, value: 'bl(ue|ack)'}]}]", MARIO),
        rule("items", "[{path: {type: RegularExpression, "
                      "value: '/items/[0-9]+'}}]", TETRIS),
        # two matches of one rule are ORed
        rule("either", "[{path: {type: PathPrefix, value: /or}, "
                       "headers: [{name: X-A, value: '1'}]}, "
                       "{path: {type: PathPrefix, value: /or}, "
                       "queryParams: [{name: b, value: '2'}]}]", MARIO),
        rule("own-w", "[{path: {type: PathPrefix, value: /w}, "
                      "headers: [{name: X-Own, value: 'yes'}]}]", TETRIS),
    ]),
    # precedence across routes: the older route wins a tie, the route
    # with more header matches wins over an older one
    route("older", "2020-01-01T00:00:00Z", f"[{HOST}]", [
        rule("older-p", "[{path: {type: PathPrefix, value: /p}, "
                        "headers: [{name: X-P, value: '1'}]}]", MARIO),
    ]),
    route("younger", "2024-01-01T00:00:00Z", f"[{HOST}]", [
        rule("younger-p", "[{path: {type: PathPrefix, value: /p}, "
                          "headers: [{name: X-P, value: '1'}]}]", TETRIS),
        rule("younger-p2", "[{path: {type: PathPrefix, value: /p}, "
                           "headers: [{name: X-P, value: '1'}, "
                           "{name: X-Q, value: '1'}]}]", TETRIS),
    ]),
    # below the host's own routes: the wildcard's
    route("wild", "2019-01-01T00:00:00Z", "['*.example.com']", [
        rule("wild-w", "[{path: {type: PathPrefix, value: /w}}]", MARIO),
    ]),
    # a rule refused for its regex; the route's other rule serves
    route("invalid", "2022-01-01T00:00:00Z", "[invalid.example.com]", [
        rule("bad-regex", "[{headers: [{type: RegularExpression, "
                          "name: X-Re, value: 'a(b'}]}]", MARIO),
        rule("fine", "[{path: {type: PathPrefix, value: /fine}}]", TETRIS),
    ]),
])


def ask(stack, path, method="GET", headers=(), host=HOST):
    """(status, X-Rule or None, echo pod or None) of one request."""
    conn = http.client.HTTPConnection(stack.net.gw, GW_PORT, timeout=5)
    try:
        hdrs = {"Host": host}
        hdrs.update(headers)
        conn.request(method, path, body=b"" if method == "POST" else None,
                     headers=hdrs)
        resp = conn.getresponse()
        body = resp.read().decode()
        pod = None
        if resp.status == 200:
            pod = json.loads(body)["pod"]
        return resp.status, resp.getheader("X-Rule"), pod
    finally:
        conn.close()


@pytest.fixture
def matching(stack):
    stack.echo("mario", "mario-ns", MARIO)
    stack.echo("tetris", "tetris-ns", TETRIS)
    stack.manifests.write("matching.yaml", ROUTES)
    stack.start_controller()
    wait_for(lambda: ask(stack, "/m")[0] == 200,
             what="the matching routes to be live")
    return stack


def test_method(matching):
    assert ask(matching, "/m", "POST") == (200, "post", TETRIS)
    assert ask(matching, "/m/x", "POST") == (200, "post", TETRIS)
    assert ask(matching, "/m", "GET") == (200, "m-any", MARIO)
    assert ask(matching, "/m/x", "PUT") == (200, "m-any", MARIO)


def test_header_exact(matching):
    assert ask(matching, "/h", headers={"Version": "two"}) \
        == (200, "version-two", TETRIS)
    # names without case, values with
    assert ask(matching, "/h/a", headers={"VERSION": "two"}) \
        == (200, "version-two", TETRIS)
    assert ask(matching, "/h", headers={"Version": "TWO"})[0] == 404
    assert ask(matching, "/h", headers={"Version": "two2"})[0] == 404


def test_header_regex_matches_the_whole_value(matching):
    assert ask(matching, "/h", headers={"X-Env": "staging-12"}) \
        == (200, "env-regex", MARIO)
    assert ask(matching, "/h", headers={"x-env": "stag-3"}) \
        == (200, "env-regex", MARIO)
    assert ask(matching, "/h", headers={"X-Env": "staging-12x"})[0] == 404
    assert ask(matching, "/h", headers={"X-Env": "my-staging-1"})[0] == 404


def test_query_exact_and_regex(matching):
    assert ask(matching, "/q?animal=whale") == (200, "whale", TETRIS)
    assert ask(matching, "/q?x=1&animal=whale") == (200, "whale", TETRIS)
    assert ask(matching, "/q?color=black") == (200, "color-regex", MARIO)
    assert ask(matching, "/q?color=blue") == (200, "color-regex", MARIO)
    assert ask(matching, "/q?color=blues")[0] == 404
    assert ask(matching, "/q?animal=Whale")[0] == 404
    # Exact /q: not /q/
    assert ask(matching, "/q/?animal=whale")[0] == 404


def test_regex_path(matching):
    assert ask(matching, "/items/42") == (200, "items", TETRIS)
    assert ask(matching, "/items/42/more")[0] == 404
    assert ask(matching, "/items/abc")[0] == 404


def test_matches_of_one_rule_are_ored(matching):
    assert ask(matching, "/or", headers={"X-A": "1"}) \
        == (200, "either", MARIO)
    assert ask(matching, "/or/x?b=2") == (200, "either", MARIO)
    assert ask(matching, "/or?b=3", headers={"X-A": "2"})[0] == 404


def test_precedence_across_routes(matching):
    # a tie on everything but age: the older route
    assert ask(matching, "/p", headers={"X-P": "1"}) \
        == (200, "older-p", MARIO)
    # more header matches beat age
    assert ask(matching, "/p/x", headers={"X-P": "1", "X-Q": "1"}) \
        == (200, "younger-p2", TETRIS)


def test_no_match_is_404(matching):
    assert ask(matching, "/nothing")[0] == 404
    assert ask(matching, "/h")[0] == 404
    assert ask(matching, "/p")[0] == 404


def test_wildcard_route_below_the_hosts_own(matching):
    # the host's own route when its match holds
    assert ask(matching, "/w", headers={"X-Own": "yes"}) \
        == (200, "own-w", TETRIS)
    # else the wildcard route's candidates in the same location
    assert ask(matching, "/w/a") == (200, "wild-w", MARIO)
    assert ask(matching, "/w", headers={"X-Own": "no"}) \
        == (200, "wild-w", MARIO)
    # another host of the wildcard
    assert ask(matching, "/w", headers={"X-Own": "yes"},
               host="other.example.com") == (200, "wild-w", MARIO)


def test_routes_accepted_and_bad_regex_refused_with_its_reason(matching):
    st = matching.controller.status("json")
    for name in ("matching", "older", "younger", "wild"):
        _, parent = route_parent(st, name=name)
        conditions = parent["conditions"]
        assert cond(conditions, "Accepted")["status"] == "True", conditions
        assert all(c["type"] != "PartiallyInvalid" for c in conditions), \
            conditions

    _, parent = route_parent(st, name="invalid")
    assert cond(parent["conditions"], "Accepted")["status"] == "True"
    pi = cond(parent["conditions"], "PartiallyInvalid")
    assert pi["status"] == "True" and pi["reason"] == "UnsupportedValue", pi
    assert "rule 0" in pi["message"] and "a(b" in pi["message"] \
        and "missing closing parenthesis" in pi["message"], pi

    host = "invalid.example.com"
    assert ask(matching, "/fine", host=host) == (200, "fine", TETRIS)
    assert ask(matching, "/x", headers={"X-Re": "ab"}, host=host)[0] == 404
