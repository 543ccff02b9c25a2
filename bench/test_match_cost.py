#!/usr/bin/python3
"""Checks of bench/match_cost.py's helpers (no load is run, no timing).

  /usr/bin/python3 -m pytest -q bench/test_match_cost.py

The manifests of setup B, the three-way schedule, the rendered
configuration's rewrites (one worker, setup C's njs matcher), the report;
then, with `make` done and Debian's libnginx-mod-http-js installed, the
three setups rendered for real: nginx -t accepts them, B and C differ by
the matcher only, and started, each routes the benchmark's request to
the backend while B and C answer 404 without the header (as the
benchmark checks before its rounds).
"""

import os
import socket
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import abrun  # noqa: E402
import gen_routes  # noqa: E402
import match_cost  # noqa: E402


# --- manifests --------------------------------------------------------------

def routes_of(text):
    return [d for d in yaml.safe_load_all(text)
            if d and d.get("kind") == "HTTPRoute"]


def test_add_matches_gives_every_path_match_method_header_and_query():
    text = match_cost.add_matches(gen_routes.route_yaml(7, "bench-7", False))
    (route,) = routes_of(text)
    rules = route["spec"]["rules"]
    assert [len(r["matches"]) for r in rules] == [2, 1, 1]
    for rule in rules:
        m = rule["matches"][0]
        assert m["method"] == "GET"
        assert m["headers"] == [{"name": "x-bench-env", "value": "canary"}]
        assert m["queryParams"] == [{"name": "version", "value": "2"}]
        assert len(rule["backendRefs"]) == 2
    assert [r["matches"][0]["path"] for r in rules] == [
        {"type": "PathPrefix", "value": "/api/7/a"},
        {"type": "Exact", "value": "/api/7/b"},
        {"type": "PathPrefix", "value": "/static/7"}]


def test_the_second_match_wants_one_header_more_and_no_query():
    text = match_cost.add_matches(gen_routes.route_yaml(3, "bench-3", False))
    (route,) = routes_of(text)
    second = route["spec"]["rules"][0]["matches"][1]
    assert second == {
        "path": {"type": "PathPrefix", "value": "/api/3/a"},
        "method": "GET",
        "headers": [{"name": "x-bench-env", "value": "canary"},
                    {"name": "x-bench-user", "value": "alice"}]}


def test_add_matches_leaves_other_documents_alone():
    infra = gen_routes.infra_yaml()
    assert match_cost.add_matches(infra) == infra


def test_add_matches_refuses_routes_it_cannot_extend():
    text = gen_routes.route_yaml(1, "bench-1", False).replace(
        "    - path:", "    - path: ")
    with pytest.raises(ValueError, match="no path match"):
        match_cost.add_matches(text)


def test_write_manifests_points_the_gateway_and_endpoints_at_the_setup(
        tmp_path):
    out = str(tmp_path / "m")
    match_cost.write_manifests(out, 20, "127.0.0.73", 18499, 18500, True)
    with open(os.path.join(out, "00-infra.yaml")) as f:
        infra = f.read()
    assert 'value: "127.0.0.73"' in infra and "port: 18499" in infra
    with open(os.path.join(out, "ns-bench-1.yaml")) as f:
        text = f.read()
    assert '"%s"' % match_cost.BACKEND_ADDR in text
    assert "port: 18500" in text
    assert len(routes_of(text)) == 10
    assert text.count("x-bench-user") == 10
    # gen_routes.py's defaults are left as they were
    assert gen_routes.GATEWAY_ADDR == "127.0.0.1"
    assert gen_routes.ENDPOINT_PORT == 8080


# --- schedule ---------------------------------------------------------------

def test_schedule_runs_each_setup_once_per_round():
    order = match_cost.schedule(6)
    assert len(order) == 18
    for k in range(6):
        assert sorted(order[3 * k:3 * k + 3]) == ["A", "B", "C"]


def test_schedule_balances_positions_and_pairs_over_six_rounds():
    order = match_cost.schedule(6)
    rounds = [order[3 * k:3 * k + 3] for k in range(6)]
    assert len(set(tuple(r) for r in rounds)) == 6
    for name in "ABC":
        assert sorted(r.index(name) for r in rounds) == [0, 0, 1, 1, 2, 2]
    for x in "ABC":
        for y in "ABC":
            if x != y:
                assert sum(r.index(x) < r.index(y) for r in rounds) == 3


# --- the rendered configuration ---------------------------------------------

def test_split_render_cuts_at_the_file_lines():
    files = match_cost.split_render(
        "# file: /s/nginx.conf\nhttp {\n}\n# file: /s/conf/http.conf\n"
        "server {}\n")
    assert files == {"/s/nginx.conf": "http {\n}\n",
                     "/s/conf/http.conf": "server {}\n"}
    with pytest.raises(ValueError):
        match_cost.split_render("http {}\n# file: /s/nginx.conf\n")
    with pytest.raises(ValueError):
        match_cost.split_render("")


RENDERED_MAIN = """\
load_module "/m.so";

worker_processes auto;
pid "/s/nginx.pid";

http {
    access_log "/s/logs/access.log" gateway_json;
    include "/s/conf/http.conf";
}
"""


def test_main_conf_runs_one_pinned_worker_without_access_log():
    text = match_cost.main_conf(RENDERED_MAIN, 0, ["/njs.so"])
    assert text.startswith("load_module /njs.so;\nload_module \"/m.so\";")
    assert "worker_processes 1;\nworker_cpu_affinity 1;\n" in text
    assert "daemon off;" in text and "auto" not in text
    assert "    access_log off;\n" in text and "gateway_json" not in text


def test_main_conf_keeps_the_access_log_when_asked():
    text = match_cost.main_conf(RENDERED_MAIN, None, access_log=True)
    assert 'access_log "/s/logs/access.log" gateway_json;' in text
    assert "worker_cpu_affinity" not in text


def test_main_conf_refuses_an_unknown_layout():
    with pytest.raises(ValueError, match="worker_processes"):
        match_cost.main_conf("events {}\n", 0)


def test_directive_args_undo_nginx_quoting():
    assert match_cost.directive_args(
        '    gateway_match @ns/r:0:1 "method=GET" "header:a=b\\"c" x;') == [
            "gateway_match", "@ns/r:0:1", "method=GET", 'header:a=b"c', "x"]


def test_candidate_of_gateway_match_fields():
    c = match_cost.candidate(["gateway_match", "@ns/r:2:0", "method=PUT",
                              "header:X-A=1=2", "query:q=v", "query:p="])
    assert c == {"to": "/_gw_match/ns_r_2_0", "method": "PUT",
                 "headers": ["x-a:Exact:1=2"],
                 "params": ["q=Exact=v", "p=Exact="]}
    assert match_cost.candidate(["gateway_match", "@ns/r:0:0"]) == {
        "to": "/_gw_match/ns_r_0_0"}


@pytest.mark.parametrize("field", ["path~/v[0-9]+", "header~x=a.*",
                                   "query~q=.+", "prefix=/a"])
def test_candidate_refuses_what_the_njs_matcher_does_not_do(field):
    with pytest.raises(ValueError, match="no equivalent"):
        match_cost.candidate(["gateway_match", "@ns/r:0:0", field])


HTTP_CONF = """\
server {
    listen 127.0.0.73:18080;

    # HTTPRoute matches, in precedence order: the first that matches wins
    location = /api/1/a {
        gateway_match @ns/r:0:1 "method=GET" "header:x=1" "header:y=2";
        gateway_match @ns/r:0:0 "method=GET" "header:x=1" "query:v=2";
    }

    # HTTPRoute ns/r rule 0 match 0
    location @ns/r:0:0 {
        gateway_route_tag route=ns/r rule=0;
        proxy_pass http://$gw_split_0;
    }

    # HTTPRoute ns/r rule 0 match 1
    location @ns/r:0:1 {
        proxy_pass http://ns_svc_80;
    }
}
"""


def test_njs_conf_replaces_the_dispatcher_and_named_locations():
    text, matches = match_cost.njs_conf(HTTP_CONF, "/b/gw_match.js",
                                        "/s/matches.json")
    assert 'js_import gw_match from "/b/gw_match.js";' in text
    assert 'js_preload_object gw_matches from "/s/matches.json";' in text
    assert ("    location = /api/1/a {\n"
            "        set $match_key m0;\n"
            "        js_content gw_match.dispatch;\n"
            "    }\n") in text
    assert ("    location = /_gw_match/ns_r_0_0 {\n"
            "        internal;\n"
            "        gateway_route_tag route=ns/r rule=0;\n"
            "        proxy_pass http://$gw_split_0$request_uri;\n"
            "    }\n") in text
    assert "proxy_pass http://ns_svc_80$request_uri;" in text
    assert "gateway_match" not in text and "@ns" not in text
    assert matches == {"m0": [
        {"to": "/_gw_match/ns_r_0_1", "method": "GET",
         "headers": ["x:Exact:1", "y:Exact:2"]},
        {"to": "/_gw_match/ns_r_0_0", "method": "GET",
         "headers": ["x:Exact:1"], "params": ["v=Exact=2"]}]}


@pytest.mark.parametrize("bad, message", [
    (HTTP_CONF.replace("    location @ns/r:0:1 {\n", "    location @x {\n"),
     "no named location"),
    (HTTP_CONF.replace("proxy_pass http://ns_svc_80;",
                       "rewrite ^ /x break;"), "not handled"),
    ("server {\n    gateway_match @a;\n}\n", "outside a dispatch"),
    ("server {\n}\n", "no dispatch location"),
])
def test_njs_conf_refuses_what_it_does_not_know(bad, message):
    with pytest.raises(ValueError, match=message):
        match_cost.njs_conf(bad, "/b/gw_match.js", "/s/matches.json")


# --- report -----------------------------------------------------------------

def run(rps, cpu, cpu_us):
    return {"rps": rps, "p99_ms": 1.0, "cpu": cpu, "cpu_us": cpu_us}


def test_cpu_per_request():
    assert match_cost.cpu_per_request(2.0, 100000) == pytest.approx(20.0)
    assert match_cost.cpu_per_request(1.0, 0) is None


def test_table_gives_medians_and_both_ratios():
    results = {"A": [run(100.0, 99, 10.0), run(120.0, 99, 9.0)],
               "B": [run(95.0, 99, 10.5), run(105.0, 99, 9.5)],
               "C": [run(50.0, 99, 20.0), run(70.0, 99, 14.0)]}
    text = match_cost.table(results)
    lines = text.splitlines()
    assert lines[0].startswith("| figure | A path-only | B our module | "
                               "C njs | B/A |")
    assert ("| requests/s | 110 | 100 | 60 | 0.909 | 0.912 (0.875-0.950) "
            "| 1.667 | 1.700 (1.500-1.900) |") in lines


def test_saturation_line_says_no_below_the_threshold():
    assert match_cost.saturation_line(
        {"A": 97.0, "B": 95.0, "C": 99.0}).startswith(
            "Server side CPU-saturated: yes")
    line = match_cost.saturation_line({"A": 97.0, "B": 60.0, "C": 99.0})
    assert line.startswith("Server side CPU-saturated: NO")
    assert "B 60%" in line


# --- the setups, for real (needs make and libnginx-mod-http-js) -------------

def require_tools():
    for path in (match_cost.BIN, abrun.HTTP_MODULE, match_cost.NJS_MODULE):
        if not os.path.isfile(path):
            pytest.fail("%s is missing: run `make` (and `make deps` for "
                        "libnginx-mod-http-js)" % path, pytrace=False)


def free_port():
    """A port free on the backend's and every setup's address, with the
    next one free on the backend's."""
    addrs = [match_cost.BACKEND_ADDR] + list(match_cost.GATEWAY_ADDRS.values())
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port > 65000:
            continue
        try:
            for addr in addrs:
                abrun.require_free(addr, port)
            abrun.require_free(match_cost.BACKEND_ADDR, port + 1)
        except abrun.Failure:
            continue
        return port
    pytest.fail("no free port on %s" % ", ".join(addrs))


def extra_lines(a, b):
    have = [line.strip() for line in a.splitlines()]
    extra = []
    for line in b.splitlines():
        line = line.strip()
        if line in have:
            have.remove(line)
        else:
            extra.append(line)
    return extra


def test_b_and_c_differ_by_the_matcher_only(tmp_path):
    require_tools()
    work = str(tmp_path)
    for name in ("B", "C"):
        match_cost.prepare(work, name, 10, 18497, None, False)
    texts = {}
    for name in ("B", "C"):
        with open(os.path.join(work, name, "conf", "http.conf")) as f:
            texts[name] = f.read().replace(work + "/" + name, "ROOT")
    texts["C"] = texts["C"].replace(match_cost.GATEWAY_ADDRS["C"],
                                    match_cost.GATEWAY_ADDRS["B"])
    only_b = set(x.split()[0] for x in extra_lines(texts["C"], texts["B"]))
    only_c = set(x.split()[0] for x in extra_lines(texts["B"], texts["C"])
                 if x and not x.startswith("#"))
    assert only_b == {"gateway_match", "location", "proxy_pass"}
    assert only_c == {"js_import", "js_preload_object", "set", "js_content",
                      "location", "internal;", "proxy_pass"}


def test_the_setups_route_the_benchmark_request(tmp_path):
    require_tools()
    port = free_port()
    session = abrun.Session("ngx-gateway-test-match.")
    try:
        backend, setups = match_cost.start(session, 10, port, (None, None),
                                           False)
        assert sorted(setups) == ["A", "B", "C"]
        for ngx, url in setups.values():
            assert ngx.alive()
        with open(os.path.join(session.work, "C", "nginx.conf")) as f:
            assert "ngx_http_js_module.so" in f.read()
    finally:
        session.close()
