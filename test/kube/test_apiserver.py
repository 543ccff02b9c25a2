"""
The stand-in's own semantics, checked over plain HTTP against what
kube-apiserver does: discovery, CRUD, conflicts, generation, the status
subresource, merge patch, pagination, selectors, watches (replay, live,
bookmarks, 410), Leases, faults, persistence, TLS and tokens.
"""

import http.client
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time

import pytest

import kubeclient
from conftest import CRDS, ApiServer

GW = "/apis/gateway.networking.k8s.io/v1"
ROUTES = GW + "/namespaces/default/httproutes"
MERGE = "application/merge-patch+json"


def call(srv, method, path, body=None, ctype="application/json",
         headers=None, auth=True):
    """(status, decoded body, response headers) of one request."""
    conn = srv.client.connect()
    h = dict(headers or {})
    if auth and srv.token:
        h["Authorization"] = "Bearer " + srv.token
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h["Content-Type"] = ctype
    try:
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    try:
        obj = json.loads(raw)
    except ValueError:
        obj = raw.decode()
    return resp.status, obj, resp


def route(name, hostnames=("a.example.com",), labels=None, ns="default"):
    meta = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute", "metadata": meta,
            "spec": {"hostnames": list(hostnames)}}


def create(srv, obj, path=ROUTES):
    code, out, _ = call(srv, "POST", path, obj)
    assert code == 201, out
    return out


class Stream:
    """A WATCH read line by line over http.client."""

    def __init__(self, srv, path, timeout=5):
        self.conn = srv.client.connect(timeout)
        h = {"Authorization": "Bearer " + srv.token} if srv.token else {}
        self.conn.request("GET", path, headers=h)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status

    def next(self):
        """The next event; None when the stream ended cleanly."""
        line = self.resp.readline()
        return json.loads(line) if line else None

    def until(self, pred, limit=100):
        for _ in range(limit):
            ev = self.next()
            assert ev is not None, "stream ended"
            if pred(ev):
                return ev
        raise AssertionError("no matching event")

    def close(self):
        self.conn.close()


def status_of(obj, code, reason):
    assert obj["kind"] == "Status" and obj["apiVersion"] == "v1", obj
    assert obj["status"] == "Failure"
    assert obj["code"] == code and obj["reason"] == reason, obj
    return obj


# -- discovery --------------------------------------------------------------

def test_discovery(apiserver):
    code, api, _ = call(apiserver, "GET", "/api")
    assert code == 200 and api["versions"] == ["v1"]
    _, core, _ = call(apiserver, "GET", "/api/v1")
    names = {r["name"]: r for r in core["resources"]}
    for n in ("namespaces", "services", "secrets", "configmaps", "events",
              "services/status"):
        assert n in names
    assert names["namespaces"]["namespaced"] is False
    assert names["secrets"]["namespaced"] is True

    _, groups, _ = call(apiserver, "GET", "/apis")
    g = {x["name"]: x for x in groups["groups"]}
    for n in ("discovery.k8s.io", "coordination.k8s.io", "events.k8s.io",
              "apiextensions.k8s.io"):
        assert n in g
    gw = g["gateway.networking.k8s.io"]
    assert gw["preferredVersion"]["version"] == "v1"
    assert [v["version"] for v in gw["versions"]] == \
        ["v1", "v1beta1", "v1alpha3", "v1alpha2"]

    _, rl, _ = call(apiserver, "GET", GW)
    names = {r["name"]: r for r in rl["resources"]}
    assert names["gatewayclasses"]["namespaced"] is False
    assert names["httproutes"]["namespaced"] is True
    assert names["httproutes"]["kind"] == "HTTPRoute"
    assert "watch" in names["httproutes"]["verbs"]
    assert names["httproutes/status"]["verbs"] == ["get", "patch", "update"]
    assert "referencegrants/status" not in names

    code, _, _ = call(apiserver, "GET", "/apis/nope.example.com/v1")
    assert code == 404


def test_crds_listed_with_bundle_version(apiserver):
    code, lst, _ = call(apiserver, "GET",
                        "/apis/apiextensions.k8s.io/v1/"
                        "customresourcedefinitions")
    assert code == 200
    byname = {c["metadata"]["name"]: c for c in lst["items"]}
    crd = byname["httproutes.gateway.networking.k8s.io"]
    assert crd["metadata"]["annotations"][
        "gateway.networking.k8s.io/bundle-version"] == "v1.6.1"
    assert {"type": "Established", "status": "True"}.items() <= \
        crd["status"]["conditions"][1].items()


@pytest.fixture
def few_crds(tmp_path):
    d = tmp_path / "crds"
    d.mkdir()
    for kind in ("gatewayclasses", "gateways", "httproutes"):
        shutil.copy(os.path.join(CRDS, "gateway.networking.k8s.io_%s.yaml"
                                 % kind), d)
    return str(d)


@pytest.mark.parametrize("apiserver", [{"crds": []}], indirect=True)
def test_missing_crd_then_added_and_removed(apiserver):
    srv = apiserver
    code, _, _ = call(srv, "GET", GW + "/tcproutes")
    assert code == 404
    _, groups, _ = call(srv, "GET", "/apis")
    assert "gateway.networking.k8s.io" not in \
        [g["name"] for g in groups["groups"]]

    crd = kubeclient.load_docs(os.path.join(
        CRDS, "gateway.networking.k8s.io_tcproutes.yaml"))[0]
    create(srv, crd, "/apis/apiextensions.k8s.io/v1/"
           "customresourcedefinitions")
    _, rl, _ = call(srv, "GET", GW)
    assert "tcproutes" in [r["name"] for r in rl["resources"]]
    code, lst, _ = call(srv, "GET", GW + "/tcproutes")
    assert code == 200 and lst["kind"] == "TCPRouteList"
    tcp = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "TCPRoute",
           "metadata": {"name": "t"}, "spec": {"rules": []}}
    create(srv, tcp, GW + "/namespaces/default/tcproutes")

    code, _, _ = call(srv, "DELETE", "/apis/apiextensions.k8s.io/v1/"
                      "customresourcedefinitions/"
                      "tcproutes.gateway.networking.k8s.io")
    assert code == 200
    code, _, _ = call(srv, "GET", GW + "/namespaces/default/tcproutes/t")
    assert code == 404
    code, _, _ = call(srv, "GET", GW + "/tcproutes")
    assert code == 404


def test_missing_crd_not_in_discovery(tmp_path, few_crds):
    srv = ApiServer(tmp_path, crds=[few_crds])
    try:
        _, rl, _ = call(srv, "GET", GW)
        names = [r["name"] for r in rl["resources"]]
        assert "httproutes" in names and "tcproutes" not in names
        code, st, _ = call(srv, "GET", GW + "/namespaces/default/tcproutes")
        status_of(st, 404, "NotFound")
        code, _, _ = call(srv, "GET", "/apis/gateway.networking.k8s.io/"
                          "v1alpha2/tcproutes")
        assert code == 404
    finally:
        srv.stop()


# -- create, get, update, delete --------------------------------------------

def test_create_get_delete(apiserver):
    out = create(apiserver, route("r1"))
    meta = out["metadata"]
    assert meta["generation"] == 1
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
                    meta["creationTimestamp"])
    assert meta["uid"] and meta["resourceVersion"].isdigit()

    code, got, _ = call(apiserver, "GET", ROUTES + "/r1")
    assert code == 200 and got == out
    code, got, _ = call(apiserver, "GET",
                        "/apis/gateway.networking.k8s.io/v1beta1/namespaces/"
                        "default/httproutes/r1")
    assert got["apiVersion"] == "gateway.networking.k8s.io/v1beta1"

    code, st, _ = call(apiserver, "POST", ROUTES, route("r1"))
    assert code == 409
    status_of(st, 409, "AlreadyExists")
    assert st["details"] == {"name": "r1",
                             "group": "gateway.networking.k8s.io",
                             "kind": "httproutes"}

    code, _, _ = call(apiserver, "DELETE", ROUTES + "/r1")
    assert code == 200
    code, st, _ = call(apiserver, "GET", ROUTES + "/r1")
    assert code == 404
    status_of(st, 404, "NotFound")
    assert st["message"] == \
        'httproutes.gateway.networking.k8s.io "r1" not found'
    code, st, _ = call(apiserver, "DELETE", ROUTES + "/r1")
    assert code == 404


def test_create_invalid(apiserver):
    body = route("x")
    del body["metadata"]["name"]
    code, st, _ = call(apiserver, "POST", ROUTES, body)
    status_of(st, 422, "Invalid")
    code, st, _ = call(apiserver, "POST", ROUTES, route("Bad_Name"))
    status_of(st, 422, "Invalid")
    code, st, _ = call(apiserver, "POST", ROUTES, route("x", ns="other"))
    status_of(st, 400, "BadRequest")
    code, st, _ = call(apiserver, "POST",
                       GW + "/namespaces/nowhere/httproutes",
                       route("x", ns="nowhere"))
    status_of(st, 404, "NotFound")


def test_core_kinds(apiserver):
    code, ns, _ = call(apiserver, "POST", "/api/v1/namespaces",
                       {"metadata": {"name": "team-a"}})
    assert code == 201
    assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == \
        "team-a"
    assert ns["status"]["phase"] == "Active"
    assert "generation" not in ns["metadata"]
    code, sec, _ = call(apiserver, "POST",
                        "/api/v1/namespaces/team-a/secrets",
                        {"metadata": {"name": "tls"},
                         "type": "kubernetes.io/tls",
                         "data": {"tls.crt": "", "tls.key": ""}})
    assert code == 201 and sec["kind"] == "Secret"
    # built-in list items carry no kind/apiVersion, as in kube-apiserver
    _, lst, _ = call(apiserver, "GET", "/api/v1/namespaces/team-a/secrets")
    assert lst["kind"] == "SecretList"
    assert "kind" not in lst["items"][0]
    code, st, _ = call(apiserver, "DELETE",
                       "/api/v1/namespaces/team-a/secrets/tls")
    assert code == 200 and st["status"] == "Success"
    assert st["details"]["name"] == "tls"

    code, eps, _ = call(apiserver, "POST",
                        "/apis/discovery.k8s.io/v1/namespaces/default/"
                        "endpointslices",
                        {"metadata": {"name": "svc-1", "labels": {
                            "kubernetes.io/service-name": "svc"}},
                         "addressType": "IPv4",
                         "endpoints": [{"addresses": ["10.0.0.1"]}],
                         "ports": [{"port": 80}]})
    assert code == 201 and eps["metadata"]["generation"] == 1

    # deleting a namespace deletes what is in it
    call(apiserver, "POST", "/api/v1/namespaces/team-a/configmaps",
         {"metadata": {"name": "c"}, "data": {"a": "b"}})
    code, _, _ = call(apiserver, "DELETE", "/api/v1/namespaces/team-a")
    assert code == 200
    code, _, _ = call(apiserver, "GET",
                      "/api/v1/namespaces/team-a/configmaps/c")
    assert code == 404


def test_events_both_apis(apiserver):
    code, ev, _ = call(apiserver, "POST",
                       "/api/v1/namespaces/default/events",
                       {"metadata": {"generateName": "r1."},
                        "involvedObject": {"kind": "HTTPRoute",
                                           "name": "r1"},
                        "reason": "Accepted", "message": "ok",
                        "type": "Normal"})
    assert code == 201 and ev["metadata"]["name"].startswith("r1.")
    code, ev2, _ = call(apiserver, "POST",
                        "/apis/events.k8s.io/v1/namespaces/default/events",
                        {"metadata": {"name": "e2"},
                         "regarding": {"kind": "Gateway", "name": "g"},
                         "reason": "Programmed", "note": "ok",
                         "type": "Normal", "action": "Reconcile",
                         "reportingController": "x",
                         "reportingInstance": "y",
                         "eventTime": "2024-01-01T00:00:00.000000Z"})
    assert code == 201, ev2
    _, lst, _ = call(apiserver, "GET",
                     "/api/v1/namespaces/default/events?fieldSelector="
                     "involvedObject.kind%3DHTTPRoute")
    assert [e["metadata"]["name"] for e in lst["items"]] == \
        [ev["metadata"]["name"]]


def test_update_conflict_and_generation(apiserver):
    r = create(apiserver, route("r1"))
    rv1 = r["metadata"]["resourceVersion"]

    # metadata change: new resourceVersion, same generation
    r["metadata"]["labels"] = {"a": "b"}
    code, r2, _ = call(apiserver, "PUT", ROUTES + "/r1", r)
    assert code == 200
    assert r2["metadata"]["generation"] == 1
    assert int(r2["metadata"]["resourceVersion"]) > int(rv1)

    # stale resourceVersion: 409 Conflict
    code, st, _ = call(apiserver, "PUT", ROUTES + "/r1", r)
    status_of(st, 409, "Conflict")
    assert "the object has been modified" in st["message"]

    # spec change: generation 2; status in the body ignored
    r2["spec"]["hostnames"] = ["b.example.com"]
    r2["status"] = {"parents": [{"x": 1}]}
    code, r3, _ = call(apiserver, "PUT", ROUTES + "/r1", r2)
    assert code == 200 and r3["metadata"]["generation"] == 2
    assert "status" not in r3

    # an identical update changes nothing, not even resourceVersion
    code, r4, _ = call(apiserver, "PUT", ROUTES + "/r1", r3)
    assert r4["metadata"]["resourceVersion"] == \
        r3["metadata"]["resourceVersion"]

    # without resourceVersion: unconditional
    del r3["metadata"]["resourceVersion"]
    r3["spec"]["hostnames"] = ["c.example.com"]
    code, r5, _ = call(apiserver, "PUT", ROUTES + "/r1", r3)
    assert code == 200 and r5["metadata"]["generation"] == 3

    code, st, _ = call(apiserver, "PUT", ROUTES + "/nope", route("nope"))
    assert code == 404


def test_status_subresource(apiserver):
    r = create(apiserver, dict(route("r1"), status={"parents": ["x"]}))
    assert "status" not in r              # dropped on create

    body = dict(r, status={"parents": [{"controllerName": "c"}]},
                spec={"hostnames": ["changed"]})
    body["metadata"] = dict(r["metadata"], labels={"ignored": "yes"})
    code, s, _ = call(apiserver, "PUT", ROUTES + "/r1/status", body)
    assert code == 200
    assert s["status"] == {"parents": [{"controllerName": "c"}]}
    assert s["spec"] == r["spec"]
    assert "labels" not in s["metadata"]
    assert s["metadata"]["generation"] == 1

    code, s2, _ = call(apiserver, "PATCH", ROUTES + "/r1/status",
                       {"status": {"parents": []},
                        "spec": {"hostnames": ["no"]}}, MERGE)
    assert code == 200 and s2["status"] == {"parents": []}
    assert s2["spec"] == r["spec"]
    assert s2["metadata"]["generation"] == 1

    code, s3, _ = call(apiserver, "GET", ROUTES + "/r1/status")
    assert code == 200 and s3 == s2

    # stale resourceVersion on the status subresource: 409
    code, st, _ = call(apiserver, "PUT", ROUTES + "/r1/status", s)
    status_of(st, 409, "Conflict")

    # a main-resource patch does not touch status
    code, s4, _ = call(apiserver, "PATCH", ROUTES + "/r1",
                       {"status": None, "spec": {"hostnames": ["n"]}},
                       MERGE)
    assert s4["status"] == {"parents": []}
    assert s4["metadata"]["generation"] == 2

    # no status subresource for ReferenceGrant
    code, _, _ = call(apiserver, "GET", GW.replace("v1", "v1beta1")
                      + "/namespaces/default/referencegrants/x/status")
    assert code == 404


def test_merge_patch(apiserver):
    r = create(apiserver, dict(route("r1", labels={"a": "1", "b": "2"}),
                               spec={"hostnames": ["x"],
                                     "rules": [{"matches": []}]}))
    code, p, _ = call(apiserver, "PATCH", ROUTES + "/r1",
                      {"metadata": {"labels": {"a": None, "c": "3"}},
                       "spec": {"rules": None}}, MERGE)
    assert code == 200
    assert p["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert p["spec"] == {"hostnames": ["x"]}
    assert p["metadata"]["generation"] == 2

    # resourceVersion in a patch is a precondition
    code, st, _ = call(apiserver, "PATCH", ROUTES + "/r1",
                       {"metadata": {"resourceVersion":
                                     r["metadata"]["resourceVersion"]},
                        "spec": {"hostnames": ["y"]}}, MERGE)
    status_of(st, 409, "Conflict")
    code, ok, _ = call(apiserver, "PATCH", ROUTES + "/r1",
                       {"metadata": {"resourceVersion":
                                     p["metadata"]["resourceVersion"]},
                        "spec": {"hostnames": ["y"]}}, MERGE)
    assert code == 200 and ok["spec"]["hostnames"] == ["y"]

    code, st, _ = call(apiserver, "PATCH", ROUTES + "/r1", {"spec": {}},
                       "application/strategic-merge-patch+json")
    status_of(st, 415, "UnsupportedMediaType")
    code, st, _ = call(apiserver, "PATCH", ROUTES + "/nope", {}, MERGE)
    status_of(st, 404, "NotFound")

    code, jp, _ = call(apiserver, "PATCH", ROUTES + "/r1",
                       [{"op": "add", "path": "/spec/hostnames/-",
                         "value": "z"}], "application/json-patch+json")
    assert code == 200 and jp["spec"]["hostnames"] == ["y", "z"]


def test_lease_optimistic_concurrency(apiserver):
    path = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
    lease = create(apiserver, {"metadata": {"name": "ngx-gateway"},
                               "spec": {"holderIdentity": "a",
                                        "leaseDurationSeconds": 15}}, path)
    assert lease["kind"] == "Lease"
    a = json.loads(json.dumps(lease))
    b = json.loads(json.dumps(lease))
    a["spec"]["holderIdentity"] = "a"
    a["spec"]["renewTime"] = "2024-01-01T00:00:01.000000Z"
    b["spec"]["holderIdentity"] = "b"
    code, _, _ = call(apiserver, "PUT", path + "/ngx-gateway", a)
    assert code == 200
    code, st, _ = call(apiserver, "PUT", path + "/ngx-gateway", b)
    status_of(st, 409, "Conflict")
    _, cur, _ = call(apiserver, "GET", path + "/ngx-gateway")
    assert cur["spec"]["holderIdentity"] == "a"


# -- list -------------------------------------------------------------------

def test_pagination_with_continue(apiserver):
    for i in range(7):
        create(apiserver, route("r%d" % i))
    names, token, pages = [], None, 0
    while True:
        q = "?limit=3" + ("&continue=" + token if token else "")
        code, lst, _ = call(apiserver, "GET", ROUTES + q)
        assert code == 200
        pages += 1
        names += [o["metadata"]["name"] for o in lst["items"]]
        token = lst["metadata"].get("continue")
        if pages == 1:
            first_rv = lst["metadata"]["resourceVersion"]
            assert lst["metadata"]["remainingItemCount"] == 4
            # a change between pages is not seen: a consistent snapshot
            create(apiserver, route("r00"))
            call(apiserver, "DELETE", ROUTES + "/r6")
        else:
            assert lst["metadata"]["resourceVersion"] == first_rv
        if not token:
            break
    assert pages == 3
    assert names == ["r%d" % i for i in range(7)]


def test_continue_expired_after_compaction(apiserver):
    for i in range(4):
        create(apiserver, route("r%d" % i))
    _, lst, _ = call(apiserver, "GET", ROUTES + "?limit=2")
    token = lst["metadata"]["continue"]
    create(apiserver, route("later"))
    apiserver.control("compact")
    code, st, _ = call(apiserver, "GET", ROUTES + "?limit=2&continue="
                       + token)
    status_of(st, 410, "Expired")
    code, st, _ = call(apiserver, "GET", ROUTES + "?limit=2&continue=junk")
    status_of(st, 400, "BadRequest")


def test_selectors(apiserver):
    create(apiserver, route("a", labels={"app": "x", "tier": "web"}))
    create(apiserver, route("b", labels={"app": "y"}))
    create(apiserver, route("c"))
    call(apiserver, "POST", "/api/v1/namespaces", {"metadata": {"name": "o"}})
    create(apiserver, route("a", ns="o", labels={"app": "x"}),
           GW + "/namespaces/o/httproutes")

    def names(q, path=GW + "/httproutes"):
        code, lst, _ = call(apiserver, "GET", path + "?" + q)
        assert code == 200, lst
        return sorted("%s/%s" % (o["metadata"]["namespace"],
                                 o["metadata"]["name"])
                      for o in lst["items"])

    assert names("") == ["default/a", "default/b", "default/c", "o/a"]
    assert names("labelSelector=app%3Dx") == ["default/a", "o/a"]
    assert names("labelSelector=app!%3Dx") == ["default/b", "default/c"]
    assert names("labelSelector=app+in+(x,y),tier") == ["default/a"]
    assert names("labelSelector=!app") == ["default/c"]
    assert names("fieldSelector=metadata.name%3Da") == ["default/a", "o/a"]
    assert names("fieldSelector=metadata.namespace%3Do") == ["o/a"]
    code, st, _ = call(apiserver, "GET", ROUTES + "?fieldSelector=spec.x%3D1")
    status_of(st, 400, "BadRequest")

    for name, typ in (("s1", "Opaque"), ("s2", "kubernetes.io/tls")):
        call(apiserver, "POST", "/api/v1/namespaces/default/secrets",
             {"metadata": {"name": name}, "type": typ})
    _, lst, _ = call(apiserver, "GET", "/api/v1/secrets?fieldSelector="
                     "type%3Dkubernetes.io%2Ftls")
    assert [s["metadata"]["name"] for s in lst["items"]] == ["s2"]


def test_list_resource_version(apiserver):
    r = create(apiserver, route("a"))
    _, lst, _ = call(apiserver, "GET", ROUTES)
    assert lst["metadata"]["resourceVersion"] == \
        r["metadata"]["resourceVersion"]
    create(apiserver, route("b"))
    _, lst, _ = call(apiserver, "GET", ROUTES + "?resourceVersionMatch="
                     "Exact&resourceVersion="
                     + r["metadata"]["resourceVersion"])
    assert [o["metadata"]["name"] for o in lst["items"]] == ["a"]


# -- watch ------------------------------------------------------------------

def test_watch_initial_replay_and_live(apiserver):
    a = create(apiserver, route("a"))
    b = create(apiserver, route("b"))
    rv_a = a["metadata"]["resourceVersion"]

    s = Stream(apiserver, ROUTES + "?watch=1&resourceVersion=0")
    assert s.status == 200
    assert s.resp.getheader("Transfer-Encoding") == "chunked"
    evs = [s.next(), s.next()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == \
        [("ADDED", "a"), ("ADDED", "b")]
    assert evs[0]["object"]["kind"] == "HTTPRoute"
    s.close()

    # replay of what happened after a's resourceVersion, then live
    s = Stream(apiserver, ROUTES + "?watch=true&resourceVersion=" + rv_a)
    ev = s.next()
    assert ev["type"] == "ADDED" and ev["object"] == b
    call(apiserver, "PATCH", ROUTES + "/a", {"spec": {"hostnames": ["z"]}},
         MERGE)
    ev = s.next()
    assert ev["type"] == "MODIFIED"
    assert ev["object"]["spec"]["hostnames"] == ["z"]
    code, _, _ = call(apiserver, "DELETE", ROUTES + "/b")
    ev = s.next()
    assert ev["type"] == "DELETED" and ev["object"]["metadata"]["name"] == "b"
    assert int(ev["object"]["metadata"]["resourceVersion"]) > \
        int(b["metadata"]["resourceVersion"])
    s.close()


def test_watch_selector_transitions(apiserver):
    create(apiserver, route("a", labels={"app": "x"}))
    s = Stream(apiserver, ROUTES + "?watch=1&labelSelector=app%3Dy")
    call(apiserver, "PATCH", ROUTES + "/a",
         {"metadata": {"labels": {"app": "y"}}}, MERGE)
    assert s.next()["type"] == "ADDED"
    call(apiserver, "PATCH", ROUTES + "/a",
         {"metadata": {"labels": {"app": "z"}}}, MERGE)
    ev = s.next()
    assert ev["type"] == "DELETED"
    assert ev["object"]["metadata"]["labels"] == {"app": "y"}
    s.close()


def test_watch_namespace_and_other_kinds_filtered(apiserver):
    call(apiserver, "POST", "/api/v1/namespaces", {"metadata": {"name": "o"}})
    s = Stream(apiserver, ROUTES + "?watch=1")
    create(apiserver, route("x", ns="o"), GW + "/namespaces/o/httproutes")
    call(apiserver, "POST", "/api/v1/namespaces/default/configmaps",
         {"metadata": {"name": "c"}})
    create(apiserver, route("mine"))
    ev = s.next()
    assert ev["object"]["metadata"]["name"] == "mine"
    s.close()


def test_watch_bookmarks(apiserver):
    r = create(apiserver, route("a"))
    s = Stream(apiserver, ROUTES + "?watch=1&allowWatchBookmarks=true"
               "&resourceVersion=" + r["metadata"]["resourceVersion"])
    call(apiserver, "POST", "/api/v1/namespaces/default/configmaps",
         {"metadata": {"name": "c"}})
    ev = s.next()
    assert ev["type"] == "BOOKMARK"
    assert ev["object"]["kind"] == "HTTPRoute"
    assert set(ev["object"]) == {"kind", "apiVersion", "metadata"}
    assert int(ev["object"]["metadata"]["resourceVersion"]) > \
        int(r["metadata"]["resourceVersion"])
    s.close()


def test_watch_timeout_seconds(apiserver):
    s = Stream(apiserver, ROUTES + "?watch=1&timeoutSeconds=1", timeout=10)
    assert s.next() is None               # a clean end of the stream
    s.close()


def test_watch_410_after_compaction(apiserver):
    r = create(apiserver, route("a"))
    create(apiserver, route("b"))
    apiserver.control("compact")
    s = Stream(apiserver, ROUTES + "?watch=1&resourceVersion="
               + r["metadata"]["resourceVersion"])
    assert s.status == 200
    ev = s.next()
    assert ev["type"] == "ERROR"
    st = status_of(ev["object"], 410, "Expired")
    assert "too old resource version" in st["message"]
    assert s.next() is None
    s.close()

    # from the current resourceVersion it works
    _, lst, _ = call(apiserver, "GET", ROUTES)
    s = Stream(apiserver, ROUTES + "?watch=1&resourceVersion="
               + lst["metadata"]["resourceVersion"])
    create(apiserver, route("c"))
    assert s.next()["object"]["metadata"]["name"] == "c"
    s.close()


@pytest.mark.parametrize("apiserver", [{"history": 3}], indirect=True)
def test_watch_410_beyond_history(apiserver):
    r = create(apiserver, route("a"))
    for i in range(4):
        create(apiserver, route("r%d" % i))
    s = Stream(apiserver, ROUTES + "?watch=1&resourceVersion="
               + r["metadata"]["resourceVersion"])
    status_of(s.next()["object"], 410, "Expired")
    s.close()


def test_watch_existing_survives_compaction(apiserver):
    s = Stream(apiserver, ROUTES + "?watch=1")
    apiserver.control("compact")
    create(apiserver, route("a"))
    assert s.next()["object"]["metadata"]["name"] == "a"
    s.close()


# -- the client and the fixture ---------------------------------------------

def test_kubeclient_apply_get_delete(apiserver, tmp_path):
    c = apiserver.client
    f = tmp_path / "m.yaml"
    f.write_text("""
apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: nginx}
spec: {controllerName: example.com/ngx}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: apps}
spec:
  gatewayClassName: nginx
  listeners: [{name: http, port: 80, protocol: HTTP}]
status:
  addresses: [{type: IPAddress, value: 10.0.0.9}]
""")
    objs = c.apply(str(f))
    assert [o["kind"] for o in objs] == ["Namespace", "GatewayClass",
                                         "Gateway"]
    gw = c.get("gateway", "gw", "apps")
    assert gw["status"]["addresses"][0]["value"] == "10.0.0.9"
    assert gw["metadata"]["generation"] == 1
    again = c.apply(str(f))
    assert again[2]["metadata"]["generation"] == 1

    c.patch_status("Gateway", "gw", {"conditions": []}, "apps")
    assert c.get("gateways.gateway.networking.k8s.io", "gw",
                 "apps")["status"]["conditions"] == []
    assert [o["metadata"]["name"] for o in c.list("gc")] == ["nginx"]
    assert c.wait_for(lambda: c.get_or_none("Gateway", "gw", "apps"))

    out = subprocess.run(
        [sys.executable, os.path.join(os.path.dirname(__file__),
                                      "kubeclient.py"),
         "--server", apiserver.url, "get", "httproutes", "-A", "-o",
         "json"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["kind"] == "HTTPRouteList"
    out = subprocess.run(
        [sys.executable, os.path.join(os.path.dirname(__file__),
                                      "kubeclient.py"),
         "--server", apiserver.url, "delete", "-f", str(f)],
        capture_output=True, text=True, check=True)
    assert "gateway/gw deleted" in out.stdout
    assert c.get_or_none("GatewayClass", "nginx") is None
    with pytest.raises(kubeclient.KubeError) as e:
        c.get("Gateway", "gw", "apps")
    assert e.value.code == 404


def test_kubeclient_watch(apiserver):
    c = apiserver.client
    c.apply(route("a"))
    events = c.watch("HTTPRoute", "default", resourceVersion="0",
                     timeoutSeconds="1")
    assert [(e["type"], e["object"]["metadata"]["name"])
            for e in events] == [("ADDED", "a")]


# -- fault injection --------------------------------------------------------

def test_fail_injection(apiserver):
    create(apiserver, route("a"))
    apiserver.control("fail", code=500, count=2, method="PATCH",
                      path="httproutes/a")
    code, _, _ = call(apiserver, "GET", ROUTES + "/a")
    assert code == 200                    # another method: not affected
    for _ in range(2):
        code, st, _ = call(apiserver, "PATCH", ROUTES + "/a",
                           {"spec": {"hostnames": ["x"]}}, MERGE)
        status_of(st, 500, "InternalError")
    code, p, _ = call(apiserver, "PATCH", ROUTES + "/a",
                      {"spec": {"hostnames": ["x"]}}, MERGE)
    assert code == 200 and p["spec"]["hostnames"] == ["x"]

    apiserver.control("fail", code=429, count=1)
    code, st, resp = call(apiserver, "GET", ROUTES)
    status_of(st, 429, "TooManyRequests")
    assert resp.getheader("Retry-After") == "1"
    code, _, _ = call(apiserver, "GET", ROUTES)
    assert code == 200


def test_requests_log(apiserver):
    apiserver.control("requests", "DELETE")
    call(apiserver, "GET", ROUTES + "/nope")
    call(apiserver, "GET", ROUTES + "?limit=1")
    log = apiserver.control("requests")
    assert log == [
        {"method": "GET", "path": ROUTES + "/nope", "query": "", "code": 404},
        {"method": "GET", "path": ROUTES, "query": "limit=1", "code": 200}]


def test_drop_watches(apiserver):
    s = Stream(apiserver, ROUTES + "?watch=1")
    curl = subprocess.Popen(["curl", "-sS", "-N", apiserver.url + ROUTES
                             + "?watch=1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    # wait until both watches are registered, then drop them
    kubeclient.Client.wait_for(
        lambda: len([r for r in apiserver.control("requests")
                     if "watch=1" in r["query"]]) == 2)
    time.sleep(0.2)
    assert apiserver.control("drop-watches")["dropped"] == 2
    # curl sees the chunked body cut short (http.client is lenient)
    assert curl.wait(10) == 18, curl.stderr.read()
    try:
        assert s.next() is None
    except (http.client.IncompleteRead, ConnectionError):
        pass
    s.close()
    # the server still serves watches afterwards
    s = Stream(apiserver, ROUTES + "?watch=1")
    create(apiserver, route("a"))
    assert s.next()["type"] == "ADDED"
    s.close()


def test_stall_watches(apiserver):
    s = Stream(apiserver, ROUTES + "?watch=1")
    apiserver.control("stall-watches", seconds=2)
    create(apiserver, route("a"))
    readable, _, _ = select.select([s.conn.sock], [], [], 0.5)
    assert not readable                   # nothing while stalled
    assert s.next()["object"]["metadata"]["name"] == "a"
    s.close()


def test_slow(apiserver):
    apiserver.control("slow", ms=300)
    t = time.monotonic()
    code, _, _ = call(apiserver, "GET", ROUTES)
    assert code == 200 and time.monotonic() - t >= 0.3
    apiserver.control("slow", ms=0)


# -- persistence ------------------------------------------------------------

def test_restart_keeps_objects_loses_history(apiserver):
    a = create(apiserver, route("a"))
    b = create(apiserver, route("b"))
    call(apiserver, "DELETE", ROUTES + "/a")
    _, before, _ = call(apiserver, "GET", ROUTES)

    apiserver.restart()
    _, after, _ = call(apiserver, "GET", ROUTES)
    assert after == before
    assert after["items"] == [b]

    # history is gone: a watch from before the restart is too old
    s = Stream(apiserver, ROUTES + "?watch=1&resourceVersion="
               + a["metadata"]["resourceVersion"])
    status_of(s.next()["object"], 410, "Expired")
    s.close()

    # from the current resourceVersion: works, counter keeps increasing
    s = Stream(apiserver, ROUTES + "?watch=1&resourceVersion="
               + after["metadata"]["resourceVersion"])
    c = create(apiserver, route("c"))
    assert int(c["metadata"]["resourceVersion"]) > \
        int(after["metadata"]["resourceVersion"])
    assert s.next()["object"] == c
    s.close()


# -- TLS and token ----------------------------------------------------------

@pytest.mark.parametrize("apiserver", [{"tls": True}], indirect=True)
def test_tls_and_token(apiserver):
    assert apiserver.url.startswith("https://")
    code, st, _ = call(apiserver, "GET", ROUTES, auth=False)
    status_of(st, 401, "Unauthorized")
    code, st, _ = call(apiserver, "GET", ROUTES, auth=False,
                       headers={"Authorization": "Bearer wrong"})
    assert code == 401
    code, lst, _ = call(apiserver, "GET", ROUTES)
    assert code == 200 and lst["kind"] == "HTTPRouteList"
    assert apiserver.control("healthz")["ok"] is True

    out = subprocess.run(["curl", "-sS", "--cacert", apiserver.cacert,
                          "-H", "Authorization: Bearer " + apiserver.token,
                          apiserver.url + "/api/v1/namespaces/default"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["metadata"]["name"] == "default"
    # the server certificate does not verify without the CA
    out = subprocess.run(["curl", "-sS", apiserver.url + "/api"],
                         capture_output=True, text=True)
    assert out.returncode == 60

    s = Stream(apiserver, ROUTES + "?watch=1&resourceVersion=0")
    apiserver.client.apply(route("a"))
    assert s.next()["object"]["metadata"]["name"] == "a"
    s.close()
