"""
ListenerSets in Kubernetes mode: read through the informers, served by
nginx like the Gateway's own listeners, and their status (and the
Gateway's attachedListenerSets, and the route's ListenerSet parent)
written to the API server stand-in.
"""

import copy

from ctlfixture import DEADLINE, MARIO, cond, find, wait_for
from ctlfixture import built, kube, net, procs  # noqa: F401

TEAM_HOST = "team.example.com"

LISTENERSET = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "ListenerSet",
    "metadata": {"name": "team", "namespace": "default"},
    "spec": {
        "parentRef": {"name": "game-gateway"},
        "listeners": [{"name": "web", "port": 80, "protocol": "HTTP",
                       "hostname": TEAM_HOST}],
    },
}

TEAM_ROUTE = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {"name": "team-route", "namespace": "default"},
    "spec": {
        "parentRefs": [{"group": "gateway.networking.k8s.io",
                        "kind": "ListenerSet", "name": "team"}],
        "rules": [{
            "matches": [{"path": {"type": "PathPrefix", "value": "/team"}}],
            "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {
                "type": "ReplaceFullPath", "replaceFullPath": "/"}}}],
            "backendRefs": [{"name": "mario", "namespace": "mario-ns",
                             "port": 80}],
        }],
    },
}


def written(kube):
    """The ListenerSet, Gateway and route status as the API server holds
    them, when all three say what the controller should have written."""
    ls = kube.client.get("ListenerSet", "team", "default")
    gw = kube.client.get("Gateway", "game-gateway", "default")
    route = kube.client.get("HTTPRoute", "team-route", "default")
    st = ls.get("status") or {}
    acc = cond(st.get("conditions") or [], "Accepted")
    if acc["status"] != "True" or \
            acc["observedGeneration"] != ls["metadata"]["generation"]:
        return False
    if [(x["name"], x["attachedRoutes"]) for x in st.get("listeners", [])] \
            != [("web", 1)]:
        return False
    if (gw.get("status") or {}).get("attachedListenerSets") != 1:
        return False
    parents = (route.get("status") or {}).get("parents") or []
    return [(p["parentRef"]["kind"], p["parentRef"]["name"],
             cond(p["conditions"], "Accepted")["status"])
            for p in parents] == [("ListenerSet", "team", "True")]


def test_listenerset_through_the_api(kube):
    docs = copy.deepcopy(kube.games)
    find(docs, "Gateway", "game-gateway")["spec"]["allowedListeners"] = {
        "namespaces": {"from": "Same"}}
    kube.serve_games()
    kube.client.apply(docs + [copy.deepcopy(LISTENERSET),
                              copy.deepcopy(TEAM_ROUTE)])
    kube.controller()

    # the ListenerSet's listener serves its route, and only it
    kube.wait_get("/team", 200, MARIO, host=TEAM_HOST)
    kube.wait_get("/team", 404)
    kube.wait_get("/mario", 200, MARIO)

    try:
        wait_for(lambda: written(kube), timeout=DEADLINE,
                 what="ListenerSet status written")
    except AssertionError as e:
        raise AssertionError(
            f"{e}\nListenerSet: "
            f"{kube.client.get('ListenerSet', 'team', 'default')}") from None

    # the Gateway stops allowing it: detached, and the traffic stops
    gw = kube.client.get("Gateway", "game-gateway", "default")
    del gw["spec"]["allowedListeners"]
    kube.client.update(gw)
    kube.wait_get("/team", 404, host=TEAM_HOST)

    def refused():
        ls = kube.client.get("ListenerSet", "team", "default")
        c = cond((ls.get("status") or {}).get("conditions") or [],
                 "Accepted")
        return c["status"] == "False" and c["reason"] == "NotAllowed"
    wait_for(refused, timeout=DEADLINE, what="ListenerSet NotAllowed")
