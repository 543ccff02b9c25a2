#!/usr/bin/python3
"""Checks that bench/gen_routes.py writes valid, consistent manifests.

  /usr/bin/python3 -m pytest -q bench
"""

import filecmp
import os
import re
import subprocess

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "gen_routes.py")
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?"
                     r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def gen(*args):
    subprocess.run(["/usr/bin/python3", GEN] + [str(a) for a in args],
                   check=True, capture_output=True)


def load_dir(d):
    docs = []
    for name in sorted(os.listdir(d)):
        assert name.endswith(".yaml")
        with open(os.path.join(d, name)) as f:
            docs += [x for x in yaml.safe_load_all(f) if x is not None]
    return docs


def check(docs, n, per_route=False):
    by_kind = {}
    for d in docs:
        assert d["apiVersion"] and d["kind"]
        assert DNS1123.match(d["metadata"]["name"]), d["metadata"]
        by_kind.setdefault(d["kind"], []).append(d)

    assert len(by_kind["GatewayClass"]) == 1
    gc = by_kind["GatewayClass"][0]
    assert gc["spec"]["controllerName"] == "ngx-gateway.io/gateway-controller"

    (gw,) = by_kind["Gateway"]
    assert gw["metadata"] == {"name": "bench", "namespace": "bench-infra"}
    assert gw["spec"]["gatewayClassName"] == gc["metadata"]["name"]
    assert gw["spec"]["addresses"] == [{"type": "IPAddress",
                                        "value": "127.0.0.1"}]
    (listener,) = gw["spec"]["listeners"]
    assert listener["port"] == 18080 and listener["protocol"] == "HTTP"
    sel = listener["allowedRoutes"]["namespaces"]
    assert sel["from"] == "Selector"
    want = sel["selector"]["matchLabels"]
    assert want == {"bench": "true"}

    namespaces = {d["metadata"]["name"]: d.get("metadata", {})
                  .get("labels", {}) for d in by_kind["Namespace"]}
    assert "bench-infra" in namespaces
    bench_ns = {k for k, v in namespaces.items()
                if all(v.get(a) == b for a, b in want.items())}
    assert len(bench_ns) == max(1, n // 10)
    assert "bench-infra" not in bench_ns

    services = {(d["metadata"]["namespace"], d["metadata"]["name"]): d
                for d in by_kind["Service"]}
    for svc in services.values():
        (port,) = svc["spec"]["ports"]
        assert (port["port"], port["targetPort"]) == (80, 8080)
    slices = {}
    for es in by_kind["EndpointSlice"]:
        ns = es["metadata"]["namespace"]
        owner = es["metadata"]["labels"]["kubernetes.io/service-name"]
        assert (ns, owner) in services
        assert es["addressType"] == "IPv4"
        assert es["endpoints"] == [{"addresses": ["127.0.0.50"],
                                    "conditions": {"ready": True}}]
        assert es["ports"][0]["port"] == 8080
        assert es["ports"][0]["name"] == \
            services[(ns, owner)]["spec"]["ports"][0]["name"]
        slices[(ns, owner)] = es
    assert set(slices) == set(services)
    if per_route:
        assert len(services) == 2 * n
    else:
        assert len(services) == 2 * len(bench_ns)

    routes = by_kind["HTTPRoute"]
    assert len(routes) == n
    hosts = set()
    for rt in routes:
        ns = rt["metadata"]["namespace"]
        assert ns in bench_ns
        i = int(rt["metadata"]["name"].split("-")[1])
        (parent,) = rt["spec"]["parentRefs"]
        assert (parent["name"], parent["namespace"]) == ("bench",
                                                         "bench-infra")
        assert parent["sectionName"] == listener["name"]
        assert rt["spec"]["hostnames"] == ["route-%d.bench.example.com" % i]
        hosts.update(rt["spec"]["hostnames"])
        paths = []
        for rule in rt["spec"]["rules"]:
            (m,) = rule["matches"]
            paths.append((m["path"]["type"], m["path"]["value"]))
            assert [b["weight"] for b in rule["backendRefs"]] == [80, 20]
            for b in rule["backendRefs"]:
                assert (ns, b["name"]) in services and b["port"] == 80
        assert paths == [("PathPrefix", "/api/%d/a" % i),
                         ("Exact", "/api/%d/b" % i),
                         ("PathPrefix", "/static/%d" % i)]
    assert len(hosts) == n


@pytest.mark.parametrize("n", [1, 9, 10, 25, 100, 1000])
def test_generated_manifests_are_valid(tmp_path, n):
    gen(n, tmp_path / "m")
    files = os.listdir(tmp_path / "m")
    assert len(files) == 1 + max(1, n // 10)      # infra + one per ns
    check(load_dir(tmp_path / "m"), n)


def test_services_per_route(tmp_path):
    gen(50, tmp_path / "m", "--services-per-route")
    check(load_dir(tmp_path / "m"), 50, per_route=True)


def test_deterministic(tmp_path):
    gen(300, tmp_path / "a")
    gen(300, tmp_path / "b")
    cmp = filecmp.dircmp(tmp_path / "a", tmp_path / "b")
    assert not cmp.left_only and not cmp.right_only
    _, mismatch, errors = filecmp.cmpfiles(
        tmp_path / "a", tmp_path / "b", cmp.common_files, shallow=False)
    assert not mismatch and not errors


@pytest.mark.parametrize("per_route", [False, True])
def test_extra_route_joins_the_set(tmp_path, per_route):
    flag = ["--services-per-route"] if per_route else []
    gen(100, tmp_path / "m", *flag)
    gen("--extra", 100, "--routes", 100, tmp_path / "m" / "zz-extra.yaml",
        *flag)
    gen("--extra", 101, "--routes", 100, tmp_path / "m" / "zz-extra2.yaml",
        *flag)
    check(load_dir(tmp_path / "m"), 102, per_route=per_route)
