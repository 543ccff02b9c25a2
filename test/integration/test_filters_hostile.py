"""Hostile values in every string field of HTTPRoute filters stay data.

One route, hostile.example.com, has a rule per field.  Values nginx can
carry verbatim (quotes, braces, semicolons, '#', backslashes, 3000
characters) must reach the backend or the client byte for byte, which
also proves nginx accepted the configuration; values it cannot carry
('$', control characters, nginx syntax in names, hostnames and paths)
drop their rule, with the field named in PartiallyInvalid, and never
reach the configuration.
"""

import http.client
import json

import pytest
import yaml

from conftest import GW_PORT, cond, route_parent, wait_for

HOST = "hostile.example.com"
MARIO = {"name": "mario", "namespace": "mario-ns", "port": 80}

# carried verbatim: nginx syntax that must stay inside a quoted string
SAFE = [
    'a"; return 200 "owned',
    "x } server { listen 1; #",
    "back\\slash \\\" quote",
    "'single' {braces} ;;",
    "L" * 3000,
]


def rule(path, filters, backends=True):
    r = {"matches": [{"path": {"type": "PathPrefix", "value": path}}],
         "filters": filters}
    if backends:
        r["backendRefs"] = [MARIO]
    return r


def header_mod(kind, **lists):
    key = kind[0].lower() + kind[1:]
    return {"type": kind, key: lists}


def refused_rules():
    """(path, filter, words the condition's message must contain)."""
    return [
        ("/bad-name", header_mod("RequestHeaderModifier",
                                 set=[{"name": "X;Y", "value": "v"}]),
         ["X;Y"]),
        ("/bad-dollar", header_mod("RequestHeaderModifier",
                                   add=[{"name": "X-D",
                                         "value": "$hostile_var"}]),
         ["X-D", "'$'"]),
        ("/bad-newline", header_mod("ResponseHeaderModifier",
                                    set=[{"name": "X-N",
                                          "value": "a\nadd_header hostile c"}]),
         ["X-N", "control character"]),
        ("/bad-remove", header_mod("ResponseHeaderModifier",
                                   remove=["X-R{}"]),
         ["X-R{}"]),
        ("/bad-redirect-host",
         {"type": "RequestRedirect",
          "requestRedirect": {"hostname": "a.b;return 200"}},
         ["RequestRedirect"]),
        ("/bad-redirect-path",
         {"type": "RequestRedirect",
          "requestRedirect": {"path": {"type": "ReplaceFullPath",
                                       "replaceFullPath": "/a;b$uri"}}},
         ["RequestRedirect"]),
        ("/bad-redirect-scheme",
         {"type": "RequestRedirect",
          "requestRedirect": {"scheme": "https://x;"}},
         ["scheme"]),
        ("/bad-rewrite-host",
         {"type": "URLRewrite",
          "urlRewrite": {"hostname": "h}o{st"}},
         ["URLRewrite"]),
        ("/bad-rewrite-path",
         {"type": "URLRewrite",
          "urlRewrite": {"path": {"type": "ReplacePrefixMatch",
                                  "replacePrefixMatch": "/x\"y"}}},
         ["URLRewrite"]),
        ("/bad-type", {"type": "Foo;{"}, ["Foo;{"]),
        ("/bad-cors-origin",
         {"type": "CORS", "cors": {"allowOrigins": [
             'https://a.com") { return 200 "owned"; } #']}},
         ["allowOrigins entry"]),
        ("/bad-cors-method",
         {"type": "CORS", "cors": {"allowOrigins": ["*"],
                                   "allowMethods": ["GET;x"]}},
         ["allowMethods entry"]),
        ("/bad-cors-header",
         {"type": "CORS", "cors": {"allowOrigins": ["*"],
                                   "allowHeaders": ["x-a$host"],
                                   "exposeHeaders": ["x b"]}},
         ["allowHeaders entry"]),
        ("/bad-cors-expose",
         {"type": "CORS", "cors": {"allowOrigins": ["*"],
                                   "exposeHeaders": ["x\"}b"]}},
         ["exposeHeaders entry"]),
    ]


def route_doc(name, rules):
    return {"apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"parentRefs": [{"name": "game-gateway"}],
                     "hostnames": [HOST], "rules": rules}}


def route_docs():
    """Two routes (a route has at most 16 rules): "hostile" with the
    carried values, "hostile-cors" with the CORS refusals."""
    good = [
        rule("/req", [header_mod(
            "RequestHeaderModifier",
            set=[{"name": f"X-Safe-{i}", "value": v}
                 for i, v in enumerate(SAFE)],
            add=[{"name": "X-Add", "value": SAFE[0]}])]),
        rule("/resp", [header_mod(
            "ResponseHeaderModifier",
            set=[{"name": f"X-Safe-{i}", "value": v}
                 for i, v in enumerate(SAFE)],
            add=[{"name": "X-Add", "value": SAFE[1]}])]),
        # mirrors whose backendRef is hostile: never found, left out
        rule("/mirror", [
            {"type": "RequestMirror", "requestMirror": {"backendRef": {
                "name": SAFE[0], "namespace": SAFE[1], "port": 80}}},
            {"type": "RequestMirror", "requestMirror": {"backendRef": {
                "group": "x;y", "kind": "K{", "name": "n\"}",
                "port": 80}, "percent": 50}}]),
        # an ExtensionRef is kept, its rule answers 500 (named in
        # ResolvedRefs after the mirrors)
        rule("/extension", [
            {"type": "ExtensionRef",
             "extensionRef": {"group": "x;y", "kind": "K{",
                              "name": "n\"}"}}]),
    ]
    routes = {"hostile": list(good), "hostile-cors": [rule("/cors-ok", [])]}
    for path, f, _ in refused_rules():
        name = "hostile-cors" if f["type"] == "CORS" else "hostile"
        routes[name].append(rule(path, [f],
                                 backends=f["type"] != "RequestRedirect"))
    return [route_doc(name, rules) for name, rules in routes.items()]


def request(stack, path, headers=None):
    conn = http.client.HTTPConnection(stack.net.gw, GW_PORT, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": HOST, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read().decode()
    finally:
        conn.close()


@pytest.fixture
def hostile(stack):
    stack.echo("mario", "mario-ns", "echo-pod")
    stack.serve("tetris")
    stack.manifests.write("hostile.yaml", yaml.safe_dump_all(route_docs()))
    stack.start_controller()
    wait_for(lambda: request(stack, "/req")[0] == 200,
             what="the hostile route to be live")
    return stack


def test_request_header_values_reach_the_backend_verbatim(hostile):
    code, _, body = request(hostile, "/req", {"X-Add": "client"})
    assert code == 200, body[:300]
    seen = {k.lower(): v for k, v in json.loads(body)["headers"].items()}

    def one(name):
        v = seen[name.lower()]
        return v[0] if isinstance(v, list) and len(v) == 1 else v
    for i, v in enumerate(SAFE):
        assert one(f"X-Safe-{i}") == v, i
    assert one("X-Add") == f"client,{SAFE[0]}"


def test_response_header_values_reach_the_client_verbatim(hostile):
    code, headers, _ = request(hostile, "/resp")
    assert code == 200
    got = {}
    for n, v in headers:
        got.setdefault(n.lower(), []).append(v)
    for i, v in enumerate(SAFE):
        assert got[f"x-safe-{i}"] == [v], i
    assert got["x-add"] == [SAFE[1]]


def test_what_nginx_cannot_carry_drops_the_rule_and_says_why(hostile):
    st = hostile.controller.status("json")
    messages = {}
    for name in ("hostile", "hostile-cors"):
        _, parent = route_parent(st, name=name)
        assert cond(parent["conditions"], "Accepted")["status"] == "True"
        pi = cond(parent["conditions"], "PartiallyInvalid")
        assert pi["status"] == "True", pi
        messages[name] = pi["message"]
    for path, f, words in refused_rules():
        msg = messages["hostile-cors" if f["type"] == "CORS" else "hostile"]
        for w in words:
            assert w in msg, (path, w, msg)
        # the rule is not served: no other rule of the host matches
        assert request(hostile, path)[0] == 404, path


def test_refused_values_never_reach_the_configuration(hostile):
    conf = "\n".join(p.read_text()
                     for p in hostile.state_dir.rglob("*.conf"))
    assert 'return 200 \\"owned' in conf    # the carried value, quoted
    for bad in ("$hostile_var", "add_header hostile", "X;Y", "a.b;return",
                "h}o{st", "Foo;{", "n\"}", "GET;x", "x-a$host", "x\"}b",
                'return 200 "owned";'):
        assert bad not in conf, bad


def test_hostile_extension_ref_answers_500(hostile):
    assert request(hostile, "/extension")[0] == 500


def test_hostile_mirror_backend_refs_stay_data(hostile):
    code, _, body = request(hostile, "/mirror")
    assert code == 200, body[:300]
    assert json.loads(body)["namespace"] == "mario-ns"
    st = hostile.controller.status("json")
    _, parent = route_parent(st, name="hostile")
    rr = cond(parent["conditions"], "ResolvedRefs")
    assert rr["status"] == "False", rr
    assert "RequestMirror" in rr["message"], rr
    conf = (hostile.state_dir / "conf" / "http.conf").read_text()
    assert "mirror /_gw_mirror" not in conf and "_gw_mirror" not in conf
