#!/usr/bin/python3
"""Replay the status assertions of the Gateway API v1.6.1 conformance tests.

For each upstream test (expect/<TestName>.yaml) this builds the manifest
directory the suite would have applied to a cluster -- the base manifests,
the Secrets/ConfigMaps the suite creates in Setup, one EndpointSlice per
base Service (the suite relies on Deployments), the test's own YAML -- runs
`ngx-gateway status -f DIR -o json` and checks what the upstream Go test
asserts about status, with the semantics of the upstream helpers in
conformance/utils/kubernetes/helpers.go (each check is named after the
helper it transcribes).

Usage: /usr/bin/python3 test/conformance/replay.py [-k NAME] [-v]
Exit status: non-zero when a test not listed in known-failures.txt fails,
when a listed test passes ("unexpectedly passing"), or when Setup fails.
"""

import argparse
import copy
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXPECT_DIR = os.path.join(HERE, "expect")
KNOWN_FAILURES = os.path.join(HERE, "known-failures.txt")
UPSTREAM = os.environ.get(
    "GATEWAY_API_CONFORMANCE", os.path.join(HERE, "upstream"))
BINARY = os.environ.get("NGX_GATEWAY", os.path.join(ROOT, "build",
                                                    "ngx-gateway"))

GATEWAY_CLASS = "ngx-gateway-conformance"
CONTROLLER = "ngx-gateway.io/gateway-controller"
GROUP = "gateway.networking.k8s.io"
NAMESPACES = ["gateway-conformance-infra",
              "gateway-conformance-app-backend",
              "gateway-conformance-web-backend"]
SKIP_READINESS = "gateway-api/skip-this-for-readiness"
# metadata.creationTimestamp of everything the suite applies at once; objects
# a test creates later (a `create` mutation) are stamped a second later each,
# as the API server would (the route conflict rules order by age).
APPLY_TIME = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# What the controller implements today.  A test (or subtest) whose `needs`
# are not all in this set is NOT-APPLICABLE; add a capability here when the
# controller gains it and the replay starts holding it to the upstream
# assertions.
IMPLEMENTED = {"HTTPRoute", "HTTP listener", "HTTPS listener",
               "TLS listener", "TCP listener", "UDP listener", "GRPCRoute",
               "TLSRoute", "TCPRoute", "UDPRoute"}

# Listener protocol -> capability needed to serve it.
PROTOCOL_NEEDS = {
    "HTTP": "HTTP listener",
    "HTTPS": "HTTPS listener",
    "TLS": "TLS listener",
    "TCP": "TCP listener",
    "UDP": "UDP listener",
}

GROUP_ORDER = ["GATEWAY-HTTP core", "GATEWAY-GRPC core", "GATEWAY-TLS core",
               "GATEWAY-TCP core", "GATEWAY-UDP core"]


class Mismatch(Exception):
    """A status assertion did not hold; the message says how, in words."""


# --------------------------------------------------------------------------
# Manifests


def load_yaml_docs(path):
    with open(path) as f:
        text = f.read()
    text = text.replace("{GATEWAY_CLASS_NAME}", GATEWAY_CLASS)
    text = text.replace("{GATEWAY_CONTROLLER_NAME}", CONTROLLER)
    return [d for d in yaml.safe_load_all(text) if d]


def obj_key(doc):
    md = doc.get("metadata", {})
    return (doc.get("kind"), md.get("namespace", ""), md.get("name"))


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Certs:
    """Self-signed certificates made with openssl, one per name, cached for
    the whole run (the suite makes them once in Setup)."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "certs")
        os.makedirs(self.dir, exist_ok=True)
        self.made = {}

    def pair(self, name, hosts):
        if name in self.made:
            return self.made[name]
        key = os.path.join(self.dir, name + ".key")
        crt = os.path.join(self.dir, name + ".crt")
        san = ",".join(("URI:" if "://" in h else "DNS:") + h
                       for h in hosts)
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", key, "-out", crt, "-days", "365",
                "-subj", "/O=gateway-api-conformance/CN=" + hosts[0],
                "-addext", "subjectAltName=" + san,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,digitalSignature,"
                           "keyEncipherment,keyCertSign",
                cwd=self.dir)
        with open(crt) as f:
            c = f.read()
        with open(key) as f:
            k = f.read()
        self.made[name] = (c, k)
        return self.made[name]


def tls_secret(ns, name, crt, key):
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": ns},
            "type": "kubernetes.io/tls",
            "stringData": {"tls.crt": crt, "tls.key": key}}


def ca_configmap(ns, name, crt):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns},
            "data": {"ca.crt": crt}}


def programmatic_objects(certs):
    """The Secrets and ConfigMaps utils/suite/suite.go creates in Setup
    (HARNESS.md section 2)."""
    infra, app, web = NAMESPACES
    out = []
    secrets = [
        (web, "certificate", ["*"]),
        (infra, "tls-validity-checks-certificate",
         ["*", "*.org", "*.wildcard.org"]),
        (infra, "tls-checks-certificate",
         ["abc.example.com", "spiffe://abc.example.com/test-identity",
          "other.example.com"]),
        (infra, "tls-passthrough-checks-certificate", ["abc.example.com"]),
        (app, "tls-passthrough-checks-certificate", ["abc.example.com"]),
        (infra, "tls-terminate-checks-certificate", ["tls.example.com"]),
        (infra, "tls-validity-checks-client-certificate", ["client"]),
        (infra, "tls-validity-checks-per-port-client-certificate",
         ["client-per-port"]),
        (infra, "tls-checks-client-certificate", ["client"]),
    ]
    for ns, name, hosts in secrets:
        crt, key = certs.pair(ns + "-" + name, hosts)
        out.append(tls_secret(ns, name, crt, key))
    cas = [
        (web, "web-backend-cm", "web-certificate"),
        (infra, "tls-validity-checks-ca-certificate",
         infra + "-tls-validity-checks-client-certificate"),
        (infra, "tls-validity-checks-per-port-ca-certificate",
         infra + "-tls-validity-checks-per-port-client-certificate"),
        (infra, "tls-checks-ca-certificate",
         infra + "-tls-checks-certificate"),
        (infra, "mismatch-ca-certificate", None),
    ]
    for ns, name, of in cas:
        if of is None:
            crt, _ = certs.pair("mismatch-ca", ["mismatch.example.com"])
        else:
            crt = certs.made[of][0] if of in certs.made else \
                certs.pair(of, ["ca"])[0]
        out.append(ca_configmap(ns, name, crt))
    return out


def endpoint_slice(svc, index):
    """An EndpointSlice standing in for the Service's Pods (the suite's
    Deployments): one ready loopback endpoint, one port per Service port
    (named as in the Service, numbered by targetPort)."""
    md = svc["metadata"]
    ports = []
    for p in svc.get("spec", {}).get("ports", []):
        target = p.get("targetPort", p.get("port"))
        if not isinstance(target, int):
            target = p.get("port")
        ports.append({"name": p.get("name", ""), "port": target,
                      "protocol": p.get("protocol", "TCP")})
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": md["name"] + "-replay",
                         "namespace": md.get("namespace", "default"),
                         "labels": {"kubernetes.io/service-name":
                                    md["name"]}},
            "addressType": "IPv4",
            "ports": ports,
            "endpoints": [{"addresses": ["127.0.2.%d" % (index % 250 + 1)],
                           "conditions": {"ready": True}}]}


# The address pools a caller gives the suite (UsableNetworkAddresses /
# UnusableNetworkAddresses) for GatewayStaticAddresses.  Standalone, every
# 127/8 address is local and can be bound; 192.0.2.1 (TEST-NET-1, RFC 5737)
# is on no interface of this host.
USABLE_ADDRESSES = [{"type": "IPAddress", "value": "127.0.1.240"}]
UNUSABLE_ADDRESSES = [{"type": "IPAddress", "value": "192.0.2.1"}]
FAKE_ADDRESS_TYPE = "test/fake-invalid-type"


def overlay_static_addresses(spec):
    """The Applier's address overlay (utils/kubernetes/apply.go
    prepareGateway): when spec.addresses holds PLACEHOLDER_USABLE_ADDRS /
    PLACEHOLDER_UNUSABLE_ADDRS, it becomes the test/fake-invalid-type
    entries, then the unusable pool, then the usable pool."""
    addrs = spec.get("addresses") or []
    values = {a.get("value") for a in addrs}
    usable = "PLACEHOLDER_USABLE_ADDRS" in values
    unusable = "PLACEHOLDER_UNUSABLE_ADDRS" in values
    if not usable and not unusable:
        return
    out = [a for a in addrs if a.get("type") == FAKE_ADDRESS_TYPE]
    if unusable:
        out += copy.deepcopy(UNUSABLE_ADDRESSES)
    if usable:
        out += copy.deepcopy(USABLE_ADDRESSES)
    spec["addresses"] = out


def prepare(docs):
    """Apply what the suite's Applier does, plus the harness emulation:
    Deployments become EndpointSlices, every Gateway gets its own address,
    every object gets the creationTimestamp of the apply."""
    out = []
    gw_index = 0
    svc_index = 0
    for doc in docs:
        kind = doc.get("kind")
        if kind == "Deployment":
            continue
        doc = copy.deepcopy(doc)
        doc.setdefault("metadata", {}).setdefault(
            "creationTimestamp", APPLY_TIME.strftime(TIME_FORMAT))
        if kind == "Gateway":
            spec = doc.setdefault("spec", {})
            spec["gatewayClassName"] = GATEWAY_CLASS
            overlay_static_addresses(spec)
            if not spec.get("addresses"):
                # In a cluster each Gateway gets its own address; standalone
                # Gateways without spec.addresses would all share the
                # default address (HARNESS.md section 1).
                gw_index += 1
                spec["addresses"] = [{"type": "IPAddress",
                                      "value": "127.0.1.%d" % gw_index}]
        if kind == "GatewayClass":
            doc.setdefault("spec", {})["controllerName"] = CONTROLLER
        out.append(doc)
        if kind == "Service" and doc.get("spec", {}).get("selector"):
            svc_index += 1
            out.append(endpoint_slice(doc, svc_index))
    return out


def gateway_class():
    return {"apiVersion": GROUP + "/v1", "kind": "GatewayClass",
            "metadata": {"name": GATEWAY_CLASS},
            "spec": {"controllerName": CONTROLLER}}


# --------------------------------------------------------------------------
# Mutations (the Go tests patch objects between assertions)


def find_doc(docs, kind, ref):
    ns, _, name = ref.rpartition("/")
    for d in docs:
        if obj_key(d) == (kind, ns, name):
            return d
    raise Mismatch("replay error: no %s %s in the manifests" % (kind, ref))


def get_path(obj, path):
    """(container, last key) for a dotted path; numbers index lists."""
    parts = [int(p) if p.isdigit() else p for p in path.split(".")]
    for p in parts[:-1]:
        obj = obj[p] if isinstance(p, int) else obj.setdefault(p, {})
    return obj, parts[-1]


def next_creation_time(docs):
    """A second after the newest object, as a later create gets."""
    newest = max(datetime.datetime.strptime(
        d.get("metadata", {}).get("creationTimestamp") or
        APPLY_TIME.strftime(TIME_FORMAT), TIME_FORMAT) for d in docs)
    return (newest + datetime.timedelta(seconds=1)).strftime(TIME_FORMAT)


def apply_mutations(docs, mutations):
    for m in mutations:
        op = m["op"]
        if op == "create":
            # An object the test builds and applies itself
            # (MustApplyObjectsWithCleanup), with the API server's stamps.
            doc = copy.deepcopy(m["value"])
            md = doc.setdefault("metadata", {})
            md["creationTimestamp"] = next_creation_time(docs)
            md["generation"] = 1
            docs.append(doc)
            continue
        if op == "delete":
            doc = find_doc(docs, m["kind"], m["object"])
            docs.remove(doc)
            continue
        doc = find_doc(docs, m["kind"], m["object"])
        parent, last = get_path(doc, m["path"])
        if op == "set":
            parent[last] = copy.deepcopy(m["value"])
        elif op == "append":
            parent.setdefault(last, []).append(copy.deepcopy(m["value"]))
        elif op == "keep":
            parent[last] = [x for x in parent.get(last, [])
                            if all(x.get(k) == v
                                   for k, v in m["where"].items())]
        else:
            raise Mismatch("replay error: unknown mutation op " + op)
        # The API server bumps metadata.generation on a spec change.
        if m["path"].startswith("spec"):
            md = doc.setdefault("metadata", {})
            md["generation"] = md.get("generation", 1) + 1


# --------------------------------------------------------------------------
# Running the controller


def write_manifests(dirpath, docs):
    for f in os.listdir(dirpath):
        os.unlink(os.path.join(dirpath, f))
    with open(os.path.join(dirpath, "manifests.yaml"), "w") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)


def run_status(dirpath):
    p = subprocess.run([BINARY, "status", "-f", dirpath, "-o", "json",
                        "--controller-name", CONTROLLER,
                        "--log-level", "error"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise Mismatch("ngx-gateway status exited %d: %s"
                       % (p.returncode, p.stderr.strip()[:300]))
    items = json.loads(p.stdout).get("items", [])
    return {obj_key(i): i for i in items}


class State:
    """Manifests and the status computed from them, plus the previous
    status (for the observedGeneration-must-change checks)."""

    def __init__(self, dirpath, docs):
        self.dir = dirpath
        self.docs = docs
        self.status = None
        self.previous = None
        self.refresh()

    def refresh(self):
        write_manifests(self.dir, self.docs)
        self.previous = self.status
        self.status = run_status(self.dir)

    def generation(self, kind, ref):
        return find_doc(self.docs, kind, ref).get("metadata", {}).get(
            "generation", 1)

    def get(self, kind, ref):
        ns, _, name = ref.rpartition("/")
        item = self.status.get((kind, ns, name))
        if item is None:
            raise Mismatch("%s %s has no status at all" % (kind, ref))
        return item


# --------------------------------------------------------------------------
# Assertions: the helpers of conformance/utils/kubernetes/helpers.go


def cond_str(c):
    if c is None:
        return "absent"
    return "%s=%s/%s" % (c.get("type"), c.get("status"), c.get("reason"))


def want_str(w):
    return "%s=%s/%s" % (w["type"], w.get("status") or "any",
                         w.get("reason") or "any")


def find_condition(conds, want):
    """findConditionInList: type, then status (empty = any), then reason
    (empty = any)."""
    for c in conds or []:
        if c.get("type") != want["type"]:
            continue
        if want.get("status") and c.get("status") != want["status"]:
            continue
        if want.get("reason") and c.get("reason") != want["reason"]:
            continue
        return True
    return False


def describe_conds(conds, ctype):
    got = [c for c in conds or [] if c.get("type") == ctype]
    return ", ".join(cond_str(c) for c in got) or ctype + " absent"


def conditions_match(where, want_list, conds):
    """conditionsMatch: at least as many conditions as expected and each
    expected one found."""
    for w in want_list:
        if not find_condition(conds, w):
            raise Mismatch("%s: expected condition %s, got %s"
                           % (where, want_str(w),
                              describe_conds(conds, w["type"])))
    if len(conds or []) < len(want_list):
        raise Mismatch("%s: expected at least %d conditions, got %d"
                       % (where, len(want_list), len(conds or [])))


def latest_generation(where, gen, conds):
    """ConditionsHaveLatestObservedGeneration."""
    stale = [c for c in conds or [] if c.get("observedGeneration") != gen]
    if stale:
        raise Mismatch("%s: conditions not at generation %d: %s"
                       % (where, gen, ", ".join(
                           "%s (observedGeneration %s)"
                           % (c.get("type"), c.get("observedGeneration"))
                           for c in stale)))


def gw_conds_latest(st, ref):
    gw = st.get("Gateway", ref)
    latest_generation("Gateway %s" % ref, st.generation("Gateway", ref),
                      gw.get("status", {}).get("conditions"))
    return gw


def route_ns(ref):
    return ref.rpartition("/")[0]


def parent_is(parent, gw_ref):
    """The parentRef-of-this-Gateway test used by *RouteMustHaveCondition."""
    ns, _, name = gw_ref.rpartition("/")
    pr = parent.get("parentRef", {})
    return pr.get("name") == name and pr.get("namespace") in (None, ns)


def chk_GatewayMustHaveLatestConditions(st, a):
    gw_conds_latest(st, a["gateway"])


def chk_GatewayMustHaveCondition(st, a):
    gw = gw_conds_latest(st, a["gateway"])
    conds = gw.get("status", {}).get("conditions")
    if not find_condition(conds, a["condition"]):
        raise Mismatch("Gateway %s: expected condition %s, got %s"
                       % (a["gateway"], want_str(a["condition"]),
                          describe_conds(conds, a["condition"]["type"])))


def kinds_str(kinds):
    return "[" + ", ".join(k.get("kind", "?") for k in kinds) + "]"


def chk_GatewayStatusMustHaveListeners(st, a):
    """gatewayListenersMatch: same number of listeners, each found by name;
    expected supportedKinds present (and none when none expected);
    attachedRoutes exact; conditions."""
    ref = a["gateway"]
    gw = gw_conds_latest(st, ref)
    actual = gw.get("status", {}).get("listeners") or []
    want = a["listeners"]
    if len(actual) != len(want):
        raise Mismatch("Gateway %s: expected %d listeners in status, got %d"
                       % (ref, len(want), len(actual)))
    for wl in want:
        al = next((x for x in actual if x.get("name") == wl["name"]), None)
        where = "Gateway %s listener %s" % (ref, wl["name"])
        if al is None:
            raise Mismatch(where + ": no status for this listener")
        akinds = al.get("supportedKinds") or []
        wkinds = wl.get("supportedKinds") or []
        if not wkinds and akinds:
            raise Mismatch("%s: expected supportedKinds [], got %s"
                           % (where, kinds_str(akinds)))
        for wk in wkinds:
            if not any((ak.get("group") or GROUP) == wk.get("group", GROUP)
                       and ak.get("kind") == wk["kind"] for ak in akinds):
                raise Mismatch("%s: expected %s in supportedKinds, got %s"
                               % (where, wk["kind"], kinds_str(akinds)))
        if al.get("attachedRoutes", 0) != wl.get("attachedRoutes", 0):
            raise Mismatch("%s: expected attachedRoutes %d, got %d"
                           % (where, wl.get("attachedRoutes", 0),
                              al.get("attachedRoutes", 0)))
        conditions_match(where, wl.get("conditions", []),
                         al.get("conditions"))


def chk_GatewayListenersMustHaveConditions(st, a):
    ref = a["gateway"]
    gw = st.get("Gateway", ref)
    names = a.get("listeners")
    listeners = gw.get("status", {}).get("listeners") or []
    seen = set()
    for li in listeners:
        if names and li.get("name") not in names:
            continue
        seen.add(li.get("name"))
        for w in a["conditions"]:
            if not find_condition(li.get("conditions"), w):
                raise Mismatch("Gateway %s listener %s: expected %s, got %s"
                               % (ref, li.get("name"), want_str(w),
                                  describe_conds(li.get("conditions"),
                                                 w["type"])))
    for n in names or []:
        if n not in seen:
            raise Mismatch("Gateway %s: no status for listener %s"
                           % (ref, n))


def chk_BackendTLSPolicyMustHaveCondition(st, a):
    """BackendTLSPolicyMustHaveCondition: every ancestor's conditions at
    the latest generation, and the ancestor naming the Gateway has the
    condition."""
    ref, gw = a["policy"], a["gateway"]
    pol = st.get("BackendTLSPolicy", ref)
    gen = st.generation("BackendTLSPolicy", ref)
    ancestors = pol.get("status", {}).get("ancestors") or []
    for anc in ancestors:
        latest_generation("BackendTLSPolicy %s" % ref, gen,
                          anc.get("conditions"))
    gns, _, gname = gw.rpartition("/")
    for anc in ancestors:
        ar = anc.get("ancestorRef", {})
        if (ar.get("name") == gname and ar.get("namespace") in (None, gns)
                and find_condition(anc.get("conditions"), a["condition"])):
            return
    raise Mismatch("BackendTLSPolicy %s ancestor %s: expected condition %s, "
                   "got %s" % (ref, gw, want_str(a["condition"]), "; ".join(
                       describe_conds(anc.get("conditions"),
                                      a["condition"]["type"])
                       for anc in ancestors) or "no ancestors"))


def chk_BackendTLSPolicyMustHaveLatestConditions(st, a):
    """Every ancestor's conditions at the latest generation (a policy
    without status has nothing stale, as upstream)."""
    ref = a["policy"]
    pol = st.status.get(("BackendTLSPolicy",) + tuple(ref.split("/", 1)))
    gen = st.generation("BackendTLSPolicy", ref)
    for anc in (pol or {}).get("status", {}).get("ancestors") or []:
        latest_generation("BackendTLSPolicy %s" % ref, gen,
                          anc.get("conditions"))


def chk_GatewayMustHaveZeroRoutes(st, a):
    ref = a["gateway"]
    gw = gw_conds_latest(st, ref)
    listeners = gw.get("status", {}).get("listeners") or []
    if not listeners:
        return
    if len(listeners) == 1 and listeners[0].get("attachedRoutes", 0) == 0:
        return
    raise Mismatch("Gateway %s: expected no listeners or exactly one with "
                   "0 attachedRoutes, got %s"
                   % (ref, ", ".join("%s attachedRoutes=%d"
                                     % (x.get("name"),
                                        x.get("attachedRoutes", 0))
                                     for x in listeners)))


def gateway_needs(doc):
    return {PROTOCOL_NEEDS.get(li.get("protocol"), li.get("protocol"))
            for li in doc.get("spec", {}).get("listeners", [])}


def chk_NamespacesMustBeReady(st, a):
    """Every Gateway in the namespaces (unless annotated skip) Accepted=True
    and Programmed=True with current observedGeneration.  Gateways whose
    listeners need a protocol the controller does not implement yet are
    left out (reported by the Setup line); Pods are emulated."""
    for doc in st.docs:
        if doc.get("kind") != "Gateway":
            continue
        md = doc.get("metadata", {})
        if md.get("namespace") not in a["namespaces"]:
            continue
        if md.get("annotations", {}).get(SKIP_READINESS) == "true":
            continue
        if not gateway_needs(doc) <= IMPLEMENTED:
            continue
        ref = md["namespace"] + "/" + md["name"]
        gw = gw_conds_latest(st, ref)
        conds = gw.get("status", {}).get("conditions")
        for t in ("Accepted", "Programmed"):
            if not find_condition(conds, {"type": t, "status": "True"}):
                raise Mismatch("NamespacesMustBeReady: Gateway %s expected "
                               "%s=True, got %s"
                               % (ref, t, describe_conds(conds, t)))


def chk_GWCMustHaveAcceptedConditionTrue(st, a):
    ref = a["gatewayclass"]
    gwc = st.get("GatewayClass", ref)
    conds = gwc.get("status", {}).get("conditions")
    latest_generation("GatewayClass %s" % ref,
                      st.generation("GatewayClass", ref), conds)
    if not find_condition(conds, {"type": "Accepted", "status": "True"}):
        raise Mismatch("GatewayClass %s: expected Accepted=True, got %s"
                       % (ref, describe_conds(conds, "Accepted")))


def chk_GatewayClassObservedGenerationChanged(st, a):
    """Every condition's observedGeneration differs from the one it had
    before the last mutation."""
    ref = a["gatewayclass"]
    if st.previous is None:
        raise Mismatch("replay error: no status before the mutation")
    key = ("GatewayClass", "", ref)
    before = st.previous.get(key, {}).get("status", {}).get("conditions")
    after = st.status.get(key, {}).get("status", {}).get("conditions")
    for uc in after or []:
        for ec in before or []:
            if ec.get("type") == uc.get("type") and \
                    ec.get("observedGeneration") == \
                    uc.get("observedGeneration"):
                raise Mismatch("GatewayClass %s: condition %s "
                               "observedGeneration did not change (%s)"
                               % (ref, uc.get("type"),
                                  uc.get("observedGeneration")))


def route_parents(st, kind, ref):
    r = st.get(kind, ref)
    return r, r.get("status", {}).get("parents") or []


def chk_RouteMustHaveCondition(st, a, kind=None):
    """HTTPRouteMustHaveCondition and its TLSRoute/GRPCRoute twins: every
    parent at the latest generation; the parent for the Gateway has the
    condition."""
    kind = kind or a["kind"]
    ref = a["route"]
    _, parents = route_parents(st, kind, ref)
    gen = st.generation(kind, ref)
    for p in parents:
        latest_generation("%s %s parent %s" % (kind, ref,
                                               p.get("parentRef", {})
                                               .get("name")),
                          gen, p.get("conditions"))
    mine = [p for p in parents if parent_is(p, a["gateway"])]
    for p in mine:
        if find_condition(p.get("conditions"), a["condition"]):
            return
    got = "; ".join(describe_conds(p.get("conditions"),
                                   a["condition"]["type"]) for p in mine)
    raise Mismatch("%s %s parent %s: expected %s, got %s"
                   % (kind, ref, a["gateway"], want_str(a["condition"]),
                      got or "no parent entry for this Gateway"))


def chk_HTTPRouteMustHaveCondition(st, a):
    chk_RouteMustHaveCondition(st, a, "HTTPRoute")


def chk_TLSRouteMustHaveCondition(st, a):
    chk_RouteMustHaveCondition(st, a, "TLSRoute")


RESOLVED_TRUE = {"type": "ResolvedRefs", "status": "True",
                 "reason": "ResolvedRefs"}


def chk_HTTPRouteMustHaveResolvedRefsConditionsTrue(st, a):
    chk_RouteMustHaveCondition(st, dict(a, condition=RESOLVED_TRUE),
                               "HTTPRoute")


def chk_TLSRouteMustHaveResolvedRefsConditionsTrue(st, a):
    chk_RouteMustHaveCondition(st, dict(a, condition=RESOLVED_TRUE),
                               "TLSRoute")


def chk_RouteMustHaveNoAcceptedParents(st, a, kind=None):
    """No parents, or exactly one whose Accepted is False (latest
    generation)."""
    kind = kind or a["kind"]
    ref = a["route"]
    _, parents = route_parents(st, kind, ref)
    if not parents:
        return
    if len(parents) > 1:
        raise Mismatch("%s %s: expected no parents or exactly one not "
                       "accepted, got %d parents" % (kind, ref, len(parents)))
    p = parents[0]
    latest_generation("%s %s parent" % (kind, ref), st.generation(kind, ref),
                      p.get("conditions"))
    if not find_condition(p.get("conditions"),
                          {"type": "Accepted", "status": "False"}):
        raise Mismatch("%s %s: expected its only parent Accepted=False, "
                       "got %s" % (kind, ref,
                                   describe_conds(p.get("conditions"),
                                                  "Accepted")))


def chk_HTTPRouteMustHaveNoAcceptedParents(st, a):
    chk_RouteMustHaveNoAcceptedParents(st, a, "HTTPRoute")


def chk_TLSRouteMustHaveNoAcceptedParents(st, a):
    chk_RouteMustHaveNoAcceptedParents(st, a, "TLSRoute")


def chk_TCPRouteMustHaveCondition(st, a):
    chk_RouteMustHaveCondition(st, a, "TCPRoute")


def chk_UDPRouteMustHaveCondition(st, a):
    chk_RouteMustHaveCondition(st, a, "UDPRoute")


def parents_for_route_match(kind, ref, expected, actual, ns_required):
    """parentsForRouteMatch: every expected parent matched by one actual
    parent (controllerName, group and kind present and equal, name,
    namespace when required or set, conditions).  An expected parent's
    namespace is the Gateway's unless it says `namespace: null`."""
    for e in expected:
        gw_ns, _, gw_name = e["gateway"].rpartition("/")
        reasons = []
        for p in actual:
            pr = p.get("parentRef", {})
            if p.get("controllerName") != CONTROLLER:
                reasons.append("controllerName %s" % p.get("controllerName"))
                continue
            if pr.get("group") != GROUP:
                reasons.append("parentRef.group %s" % pr.get("group"))
                continue
            if pr.get("kind") != e.get("kind", "Gateway"):
                reasons.append("parentRef.kind %s" % pr.get("kind"))
                continue
            if pr.get("name") != gw_name:
                continue
            want_ns = e.get("namespace", gw_ns)   # null: expected unset
            if pr.get("namespace") != want_ns and \
                    (ns_required or pr.get("namespace") is not None):
                reasons.append("parentRef.namespace %s"
                               % pr.get("namespace"))
                continue
            try:
                conditions_match("", e["conditions"], p.get("conditions"))
            except Mismatch:
                reasons.append(", ".join(
                    describe_conds(p.get("conditions"), w["type"])
                    for w in e["conditions"]))
                continue
            break
        else:
            raise Mismatch("%s %s: expected a parent %s (%s) with %s, got %s"
                           % (kind, ref, e["gateway"], CONTROLLER,
                              ", ".join(want_str(w)
                                        for w in e["conditions"]),
                              "; ".join(reasons) or
                              "no parent entry for this Gateway"))


def chk_RouteMustHaveParents(st, a, kind=None):
    kind = kind or a["kind"]
    ref = a["route"]
    _, parents = route_parents(st, kind, ref)
    ns_required = a.get("namespaceRequired")
    if ns_required is None:
        ns_required = any(route_ns(ref) != route_ns(p["gateway"])
                          for p in a["parents"])
    # exact: upstream's parentsForRouteMatch also wants no other parent
    if a.get("exact") and len(parents) != len(a["parents"]):
        raise Mismatch("%s %s: expected %d parents, got %d"
                       % (kind, ref, len(a["parents"]), len(parents)))
    parents_for_route_match(kind, ref, a["parents"], parents, ns_required)


def chk_HTTPRouteMustHaveParents(st, a):
    chk_RouteMustHaveParents(st, a, "HTTPRoute")


def chk_TCPRouteMustHaveParents(st, a):
    chk_RouteMustHaveParents(st, a, "TCPRoute")


def chk_UDPRouteMustHaveParents(st, a):
    chk_RouteMustHaveParents(st, a, "UDPRoute")


LISTENER_READY = [{"type": "ResolvedRefs", "status": "True"},
                  {"type": "Accepted", "status": "True"},
                  {"type": "Programmed", "status": "True"}]
ROUTE_ACCEPTED = [{"type": "Accepted", "status": "True",
                   "reason": "Accepted"}]


def chk_WaitForGatewayAddress(st, a):
    """Conditions at the latest generation and an address with a type."""
    ref = a["gateway"]
    gw = gw_conds_latest(st, ref)
    addrs = gw.get("status", {}).get("addresses") or []
    if not any(x.get("type") for x in addrs):
        raise Mismatch("Gateway %s: no status.addresses entry with a type"
                       % ref)


def chk_GatewayStatusMustHaveAddresses(st, a):
    """Not a helpers.go helper: the require.Len / require.Equal that
    gateway-static-addresses.go makes on the Gateway it fetched, here
    status.addresses equal to the expected list (type and value, in
    order).  `usable: true` stands for the usable pool the caller gives
    the suite (USABLE_ADDRESSES)."""
    ref = a["gateway"]
    gw = gw_conds_latest(st, ref)
    want = USABLE_ADDRESSES if a.get("usable") else a["addresses"]
    got = [{"type": x.get("type"), "value": x.get("value")}
           for x in gw.get("status", {}).get("addresses") or []]
    if got != want:
        raise Mismatch("Gateway %s: expected status.addresses %s, got %s"
                       % (ref, want, got or "none"))


INFRA_KINDS = ("ServiceAccount", "Pod", "Service")
GATEWAY_NAME_LABEL = GROUP + "/gateway-name"


def chk_GatewayInfrastructureMustBePropagated(st, a):
    """Not a helpers.go helper: what gateway-infrastructure.go requires of
    the resources generated for the Gateway: at least one ServiceAccount,
    Pod or Service in its namespace labelled gateway-name=<Gateway>, and
    the first of each kind carrying spec.infrastructure's labels and
    annotations.  Generated resources are looked for in what the
    controller outputs (`ngx-gateway status`)."""
    ref = a["gateway"]
    ns, _, name = ref.rpartition("/")
    infra = find_doc(st.docs, "Gateway", ref).get("spec", {}).get(
        "infrastructure") or {}
    found = False
    for kind in INFRA_KINDS:
        items = [i for (k, n, _), i in sorted(st.status.items())
                 if k == kind and n == ns and
                 (i.get("metadata", {}).get("labels") or {})
                 .get(GATEWAY_NAME_LABEL) == name]
        if not items:
            continue
        found = True
        md = items[0].get("metadata", {})
        for field in ("labels", "annotations"):
            have = md.get(field) or {}
            missing = {k: v for k, v in (infra.get(field) or {}).items()
                       if have.get(k) != v}
            if missing:
                raise Mismatch("%s %s/%s: %s %s missing" % (
                    kind, ns, md.get("name"), field, missing))
    if not found:
        raise Mismatch("no ServiceAccount, Pod or Service labelled %s=%s "
                       "in %s among the controller's objects"
                       % (GATEWAY_NAME_LABEL, name, ns))


def chk_GatewayAndRoutesMustBeAccepted(st, a, kind=None):
    """WaitForGatewayAddress (an address with a type, Gateway conditions at
    the latest generation), then RoutesAndParentMustBeAccepted: each route
    has an Accepted=True/Accepted parent for the Gateway (one per listed
    listener), and every listener of the Gateway is ResolvedRefs, Accepted
    and Programmed True."""
    kind = kind or a["kind"]
    ref = a["gateway"]
    chk_WaitForGatewayAddress(st, a)
    sections = a.get("listeners") or [""]
    for route in a["routes"]:
        expected = [{"gateway": ref, "conditions": ROUTE_ACCEPTED}
                    for _ in sections]
        _, parents = route_parents(st, kind, route)
        parents_for_route_match(kind, route, expected, parents,
                                route_ns(route) != route_ns(ref))
    chk_GatewayListenersMustHaveConditions(
        st, {"gateway": ref, "conditions": LISTENER_READY})


def chk_GatewayAndHTTPRoutesMustBeAccepted(st, a):
    chk_GatewayAndRoutesMustBeAccepted(st, a, "HTTPRoute")


def chk_GatewayAndTCPRoutesMustBeAccepted(st, a):
    """GatewayAndRoutesMustBeAccepted with a TCPRoute (helpers.go in v1.6:
    the listener conditions are checked, unlike the TLSRoute helper)."""
    chk_GatewayAndRoutesMustBeAccepted(st, a, "TCPRoute")


def chk_GatewayAndUDPRoutesMustBeAccepted(st, a):
    """GatewayAndRoutesMustBeAccepted with a UDPRoute."""
    chk_GatewayAndRoutesMustBeAccepted(st, a, "UDPRoute")


def chk_GatewayAndTLSRoutesMustBeAccepted(st, a):
    """Like GatewayAndRoutesMustBeAccepted but without the listener
    conditions (helpers.go GatewayAndTLSRoutesMustBeAccepted)."""
    ref = a["gateway"]
    chk_WaitForGatewayAddress(st, a)
    for route in a["routes"]:
        _, parents = route_parents(st, "TLSRoute", route)
        parents_for_route_match("TLSRoute", route,
                                [{"gateway": ref,
                                  "conditions": ROUTE_ACCEPTED}],
                                parents, route_ns(route) != route_ns(ref))


def chk_RouteMustHaveLatestConditions(st, a, kind=None):
    kind = kind or a["kind"]
    ref = a["route"]
    _, parents = route_parents(st, kind, ref)
    for p in parents:
        latest_generation("%s %s parent %s"
                          % (kind, ref, p.get("parentRef", {}).get("name")),
                          st.generation(kind, ref), p.get("conditions"))


def chk_HTTPRouteMustHaveLatestConditions(st, a):
    chk_RouteMustHaveLatestConditions(st, a, "HTTPRoute")


def chk_GatewayClassMustHaveLatestConditions(st, a):
    ref = a["gatewayclass"]
    latest_generation("GatewayClass %s" % ref,
                      st.generation("GatewayClass", ref),
                      st.get("GatewayClass", ref).get("status", {})
                      .get("conditions"))


# ListenerSet helpers (GEP-1713)


def chk_GatewayMustHaveAttachedListeners(st, a):
    """Gateway conditions at the latest generation and
    status.attachedListenerSets (absent = 0) equal to count."""
    ref = a["gateway"]
    gw = gw_conds_latest(st, ref)
    got = gw.get("status", {}).get("attachedListenerSets") or 0
    if got != a["count"]:
        raise Mismatch("Gateway %s: expected attachedListenerSets %d, got %d"
                       % (ref, a["count"], got))


def lset_conds_latest(st, ref):
    ls = st.get("ListenerSet", ref)
    latest_generation("ListenerSet %s" % ref,
                      st.generation("ListenerSet", ref),
                      ls.get("status", {}).get("conditions"))
    return ls


def chk_ListenerSetMustHaveCondition(st, a):
    ref = a["listenerset"]
    conds = lset_conds_latest(st, ref).get("status", {}).get("conditions")
    if not find_condition(conds, a["condition"]):
        raise Mismatch("ListenerSet %s: expected condition %s, got %s"
                       % (ref, want_str(a["condition"]),
                          describe_conds(conds, a["condition"]["type"])))


def chk_ListenerSetListenersMustHaveConditions(st, a):
    """Every listener named (all when none are) has every condition; each
    named listener has a status entry."""
    ref = a["listenerset"]
    names = a.get("listeners")
    listeners = lset_conds_latest(st, ref).get("status", {}).get(
        "listeners") or []
    seen = set()
    for li in listeners:
        if names and li.get("name") not in names:
            continue
        seen.add(li.get("name"))
        for w in a["conditions"]:
            if not find_condition(li.get("conditions"), w):
                raise Mismatch("ListenerSet %s listener %s: expected %s, "
                               "got %s" % (ref, li.get("name"), want_str(w),
                                           describe_conds(li.get(
                                               "conditions"), w["type"])))
    for n in names or []:
        if n not in seen:
            raise Mismatch("ListenerSet %s: no status for listener %s"
                           % (ref, n))


def chk_ListenerSetStatusMustHaveListeners(st, a):
    """listenerSetListenersMatch: as GatewayStatusMustHaveListeners."""
    ref = a["listenerset"]
    ls = lset_conds_latest(st, ref)
    actual = ls.get("status", {}).get("listeners") or []
    want = a["listeners"]
    if len(actual) != len(want):
        raise Mismatch("ListenerSet %s: expected %d listeners in status, "
                       "got %d" % (ref, len(want), len(actual)))
    for wl in want:
        al = next((x for x in actual if x.get("name") == wl["name"]), None)
        where = "ListenerSet %s listener %s" % (ref, wl["name"])
        if al is None:
            raise Mismatch(where + ": no status for this listener")
        akinds = al.get("supportedKinds") or []
        wkinds = wl.get("supportedKinds") or []
        if not wkinds and akinds:
            raise Mismatch("%s: expected supportedKinds [], got %s"
                           % (where, kinds_str(akinds)))
        for wk in wkinds:
            if not any((ak.get("group") or GROUP) == wk.get("group", GROUP)
                       and ak.get("kind") == wk["kind"] for ak in akinds):
                raise Mismatch("%s: expected %s in supportedKinds, got %s"
                               % (where, wk["kind"], kinds_str(akinds)))
        if al.get("attachedRoutes", 0) != wl.get("attachedRoutes", 0):
            raise Mismatch("%s: expected attachedRoutes %d, got %d"
                           % (where, wl.get("attachedRoutes", 0),
                              al.get("attachedRoutes", 0)))
        conditions_match(where, wl.get("conditions", []),
                         al.get("conditions"))


def chk_RoutesAndParentMustBeAccepted(st, a):
    """Each route has an Accepted=True/Accepted parent for the resource
    (kind Gateway or ListenerSet, one per listed listener), then every
    listener of the resource is ResolvedRefs, Accepted and Programmed
    True (ResourceListenersMustHaveConditions)."""
    kind = a.get("kind", "HTTPRoute")
    pkind = a["parent"]["kind"]
    ref = a["parent"]["ref"]
    sections = a.get("listeners") or [""]
    for route in a["routes"]:
        expected = [{"gateway": ref, "kind": pkind,
                     "conditions": ROUTE_ACCEPTED} for _ in sections]
        _, parents = route_parents(st, kind, route)
        parents_for_route_match(kind, route, expected, parents,
                                route_ns(route) != route_ns(ref))
    if pkind == "ListenerSet":
        chk_ListenerSetListenersMustHaveConditions(
            st, {"listenerset": ref, "conditions": LISTENER_READY})
    else:
        chk_GatewayListenersMustHaveConditions(
            st, {"gateway": ref, "conditions": LISTENER_READY})


CHECKS = {name[4:]: fn for name, fn in globals().items()
          if name.startswith("chk_")}


# --------------------------------------------------------------------------
# Running one test


def needs_missing(needs):
    return [n for n in needs or [] if n not in IMPLEMENTED]


class Result:
    def __init__(self, name, outcome, detail="", groups=()):
        self.name = name
        self.outcome = outcome      # PASS, FAIL, NOT-APPLICABLE
        self.detail = detail
        self.groups = list(groups)


def base_docs(certs):
    docs = [gateway_class()]
    docs += load_yaml_docs(os.path.join(UPSTREAM, "base", "manifests.yaml"))
    docs += programmatic_objects(certs)
    return docs


def run_test(spec, certs, workdir, assume_all=False):
    name = spec["name"]
    groups = spec.get("groups", [])
    missing = [] if assume_all else needs_missing(spec.get("needs"))
    if missing:
        return Result(name, "NOT-APPLICABLE",
                      "needs " + ", ".join(missing), groups)
    docs = base_docs(certs)
    for m in spec.get("manifests", []):
        docs += load_yaml_docs(os.path.join(UPSTREAM, m))
    dirpath = os.path.join(workdir, name)
    os.makedirs(dirpath, exist_ok=True)
    na = []
    passed = 0
    try:
        st = State(dirpath, prepare(docs))
        for sub in spec["subtests"]:
            where = sub.get("name", "")
            if sub.get("mutate"):
                apply_mutations(st.docs, sub["mutate"])
                st.refresh()
            sub_missing = [] if assume_all else \
                needs_missing(sub.get("needs"))
            if sub_missing:
                na.append("%s (needs %s)" % (where, ", ".join(sub_missing)))
                continue
            for check in sub["checks"]:
                (helper, args), = check.items()
                fn = CHECKS.get(helper)
                if fn is None:
                    raise Mismatch("replay error: no helper " + helper)
                try:
                    fn(st, args)
                except Mismatch as e:
                    raise Mismatch("subtest \"%s\": %s: %s"
                                   % (where, helper, e))
            passed += 1
    except Mismatch as e:
        return Result(name, "FAIL", str(e), groups)
    if na:
        return Result(name, "NOT-APPLICABLE",
                      "%d subtest(s) pass; %s" % (passed, "; ".join(na)),
                      groups)
    return Result(name, "PASS", "", groups)


def run_setup(certs, workdir):
    """The suite's Setup: the GatewayClass under test Accepted, then
    NamespacesMustBeReady on the base Gateways."""
    dirpath = os.path.join(workdir, "Setup")
    os.makedirs(dirpath, exist_ok=True)
    try:
        st = State(dirpath, prepare(base_docs(certs)))
        chk_GWCMustHaveAcceptedConditionTrue(
            st, {"gatewayclass": GATEWAY_CLASS})
        chk_NamespacesMustBeReady(st, {"namespaces": NAMESPACES})
    except Mismatch as e:
        return Result("Setup", "FAIL", str(e))
    left = ["%s/%s (needs %s)" % (d["metadata"]["namespace"],
                                  d["metadata"]["name"],
                                  ", ".join(sorted(gateway_needs(d) -
                                                   IMPLEMENTED)))
            for d in st.docs if d.get("kind") == "Gateway" and
            not gateway_needs(d) <= IMPLEMENTED]
    return Result("Setup", "PASS",
                  "not checked: " + ", ".join(left) if left else "")


# --------------------------------------------------------------------------
# Inputs and reporting


def load_specs(pattern=None):
    specs = []
    for f in sorted(os.listdir(EXPECT_DIR)):
        if not f.endswith(".yaml"):
            continue
        with open(os.path.join(EXPECT_DIR, f)) as fh:
            spec = yaml.safe_load(fh)
        if spec["name"] + ".yaml" != f:
            raise SystemExit("%s: name %s does not match the file name"
                             % (f, spec["name"]))
        if pattern and not re.search(pattern, spec["name"]):
            continue
        specs.append(spec)
    return specs


def load_known_failures():
    known = {}
    if not os.path.exists(KNOWN_FAILURES):
        return known
    with open(KNOWN_FAILURES) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, _, reason = line.partition(" ")
            known[name] = reason.strip()
    return known


def verdict(result, known):
    """(label, ok) for one result against the known-failures list."""
    listed = result.name in known
    if result.outcome == "FAIL":
        return ("FAIL (known: %s)" % known[result.name] if listed
                else "FAIL"), listed
    if result.outcome == "PASS" and listed:
        return "PASS (unexpectedly passing: listed in known-failures.txt)", \
            False
    if result.outcome == "NOT-APPLICABLE":
        return "NOT-APPLICABLE(%s)" % result.detail, True
    return result.outcome, True


def preflight():
    if not os.path.isfile(os.path.join(UPSTREAM, "base", "manifests.yaml")):
        raise SystemExit("upstream conformance manifests not found in %s "
                         "(set GATEWAY_API_CONFORMANCE)" % UPSTREAM)
    if not os.access(BINARY, os.X_OK):
        raise SystemExit("%s not built (make -j2 all)" % BINARY)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-k", metavar="NAME",
                    help="only tests whose name matches this regex")
    ap.add_argument("-v", action="store_true",
                    help="keep the manifest directories and say where")
    ap.add_argument("--assume-all", action="store_true",
                    help="ignore `needs` (see how far unimplemented "
                         "features are from the assertions)")
    args = ap.parse_args()
    preflight()
    specs = load_specs(args.k)
    known = load_known_failures()
    workdir = tempfile.mkdtemp(prefix="ngx-conformance-")
    certs = Certs(workdir)
    ok = True

    setup = run_setup(certs, workdir)
    label, good = verdict(setup, known)
    print("%-52s %s%s" % ("Setup", label,
                          ": " + setup.detail if setup.detail else ""))
    ok = ok and good

    totals = {}
    for spec in specs:
        r = run_test(spec, certs, workdir, args.assume_all)
        label, good = verdict(r, known)
        ok = ok and good
        detail = ""
        if r.outcome == "FAIL":
            detail = "\n    " + r.detail
        print("%-52s %s%s" % (r.name, label, detail))
        for g in r.groups:
            t = totals.setdefault(g, {"PASS": 0, "FAIL": 0,
                                      "NOT-APPLICABLE": 0})
            t[r.outcome] += 1

    print()
    for g in GROUP_ORDER + sorted(set(totals) - set(GROUP_ORDER)):
        if g in totals:
            t = totals[g]
            print("%-20s %2d pass, %2d fail, %2d not applicable (of %d)"
                  % (g, t["PASS"], t["FAIL"], t["NOT-APPLICABLE"],
                     sum(t.values())))
    if args.v:
        print("manifests and status inputs kept in " + workdir)
    else:
        subprocess.run(["rm", "-rf", workdir])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
