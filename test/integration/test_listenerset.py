"""ListenerSets (GEP-1713) with real traffic: the upstream
ListenerSetHTTPRouting manifests (Gateway API v1.6.1) served by the
standalone controller and nginx, echo backends behind infra-backend-v1/v2/v3,
and every request of the upstream test's table: a route reaches the
listeners of the parent it names (the Gateway's own, or a ListenerSet's,
optionally one sectionName) and no other.
"""

import json
from pathlib import Path

import yaml

from conftest import (CONTROLLER, ECHO, PYTHON, Backend, cond, find_item,
                      wait_for)

NS = "gateway-conformance-infra"
UPSTREAM = (Path(__file__).resolve().parents[1] / "conformance" / "upstream"
            / "tests" / "listenerset-http-routing.yaml")
BACKEND_PORT = 8080

GW1 = "gateway-listener-1.com"
GW2 = "gateway-listener-2.com"
LS11 = "listener-set-http-routing-1-listener-1.com"
LS12 = "listener-set-http-routing-1-listener-2.com"
LS21 = "listener-set-http-routing-2-listener-1.com"
LS22 = "listener-set-http-routing-2-listener-2.com"
HOSTS = [GW1, GW2, LS11, LS12, LS21, LS22]

# path -> {host: backend}; every other host answers 404 (upstream table)
ROUTES = {
    "/route": {h: "infra-backend-v1" for h in HOSTS},
    "/gateway-route": {GW1: "infra-backend-v2", GW2: "infra-backend-v2"},
    "/gateway-section-route": {GW1: "infra-backend-v3"},
    "/listener-set-http-routing-1-route": {LS11: "infra-backend-v2",
                                           LS12: "infra-backend-v2"},
    "/listener-set-http-routing-1-section-route": {LS11: "infra-backend-v3"},
    "/listener-set-http-routing-2-route": {LS21: "infra-backend-v2",
                                           LS22: "infra-backend-v2"},
}


def service_docs(name, addr):
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": NS},
           "spec": {"selector": {"app": name},
                    "ports": [{"port": BACKEND_PORT,
                               "targetPort": BACKEND_PORT}]}}
    eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": name + "-1", "namespace": NS,
                        "labels": {"kubernetes.io/service-name": name}},
           "addressType": "IPv4",
           "endpoints": [{"addresses": [addr],
                          "conditions": {"ready": True}}],
           "ports": [{"port": BACKEND_PORT, "protocol": "TCP"}]}
    return [svc, eps]


def manifests(backends):
    docs = [{"apiVersion": "gateway.networking.k8s.io/v1",
             "kind": "GatewayClass", "metadata": {"name": "lset"},
             "spec": {"controllerName": CONTROLLER}},
            {"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": NS}}]
    text = UPSTREAM.read_text().replace("{GATEWAY_CLASS_NAME}", "lset")
    docs += [d for d in yaml.safe_load_all(text) if d]
    for name, addr in backends.items():
        docs += service_docs(name, addr)
    return docs


def test_listenerset_http_routing(stack):
    block = stack.net.block
    backends = {"infra-backend-v1": f"127.0.{block}.11",
                "infra-backend-v2": f"127.0.{block}.12",
                "infra-backend-v3": f"127.0.{block}.13"}
    for name, addr in backends.items():
        argv = [PYTHON, ECHO, "--listen", f"{addr}:{BACKEND_PORT}",
                "--namespace", NS, "--pod", name + "-pod"]
        stack.procs.add(Backend(argv, stack.tmp / f"{name}.log", addr,
                                BACKEND_PORT)).start()

    m = stack.manifests
    for f in sorted(p.name for p in m.root.glob("*.yaml")):
        m.remove(f)
    m.write_docs("listenerset.yaml", manifests(backends))
    c = stack.start_controller()

    # status first: the ListenerSets are attached and programmed
    def attached():
        st = c.status()
        gw = find_item(st, "Gateway", "gateway-with-listener-sets-http-"
                       "routing", NS)
        return gw["status"].get("attachedListenerSets") == 2 and st
    st = wait_for(attached, what="attachedListenerSets 2")
    for name in ("listener-set-http-routing-1",
                 "listener-set-http-routing-2"):
        ls = find_item(st, "ListenerSet", name, NS)
        assert cond(ls["status"]["conditions"], "Programmed")["status"] \
            == "True", ls["status"]

    # then every request of the upstream table, through nginx
    for path, served in ROUTES.items():
        for host in HOSTS:
            want = served.get(host)
            if want is None:
                stack.wait_get(path, 404, host=host)
                continue
            _, body = stack.wait_get(path, 200, host=host,
                                     contains=want + "-pod")
            echo = json.loads(body)
            assert (echo["pod"], echo["path"], echo["host"]) == \
                (want + "-pod", path, host), echo
