#!/usr/bin/python3
"""Check that traffic/<TestName>.yaml files are well formed.

The format is /work/briefs/traffic-format.md (field names after the
upstream Go structs). This checks structure only: known keys, types,
required fields, that every case has exactly one kind (request, weights,
grpc, tcp, ...), that referenced manifests exist in the vendored upstream
tree and that `name` matches the file name. It says nothing about whether
the data plane passes; traffic.py does that.

Usage: /usr/bin/python3 test/conformance/traffic_schema.py [FILE...]
(no argument: every file in traffic/). traffic.py can call check_spec().
Exit status 1 when any file has a problem; each problem on one line as
FILE: where: what.
"""

import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
TRAFFIC_DIR = os.path.join(HERE, "traffic")
UPSTREAM = os.environ.get("GATEWAY_API_CONFORMANCE",
                          os.path.join(HERE, "upstream"))

TOP_KEYS = {"name", "source", "features", "groups", "manifests", "gateway",
            "routes", "cases", "steps", "not_replayed",
            "patchEndpointSlices"}
REQUIRED_TOP = ("name", "source", "features", "groups", "gateway", "cases")
GROUPS = {"GATEWAY-HTTP core", "GATEWAY-HTTP extended", "GATEWAY-GRPC core",
          "GATEWAY-GRPC extended", "GATEWAY-TLS core",
          "GATEWAY-TLS extended", "GATEWAY-TCP core", "GATEWAY-TCP extended",
          "GATEWAY-UDP core", "GATEWAY-UDP extended"}

# The one key that says what a case does, and the keys it may carry.
CASE_KINDS = ("request", "weights", "grpc", "grpcWeights", "repeat",
              "websocket", "tcp", "tcpRepeat", "tcpWeights", "tlsReject",
              "udp", "udpWeights")
COMMON_CASE_KEYS = {"backend", "namespace", "gateway"}
CASE_KEYS = {
    "request": {"expectedRequest", "response", "redirectRequest",
                "mirroredTo", "mirrorDistribution", "expectFailure",
                "backendSetResponseHeaders"},
    "weights": set(), "grpcWeights": set(), "repeat": set(),
    "websocket": set(), "tcpRepeat": set(), "tlsReject": set(),
    "tcpWeights": set(), "udpWeights": set(),
    "grpc": {"response"},
    "tcp": {"expected"},
    "udp": {"expected"},
}
REQUEST_KEYS = {"host", "path", "method", "headers", "unfollowRedirect",
                "scheme", "sni", "port", "protocol", "tlsSecret",
                "clientCertSecret"}
EXPECTED_REQUEST_KEYS = {"host", "path", "method", "headers",
                         "absentHeaders", "sni", "clientCertSecret"}
RESPONSE_KEYS = {"statusCode", "statusCodes", "headers", "absentHeaders",
                 "validHeaderValues", "ignoreWhitespace", "code"}
REDIRECT_KEYS = {"scheme", "host", "port", "path"}
PROTOCOLS = {"HTTP/1.1", "H2C_PRIOR_KNOWLEDGE", "HTTP/2"}
SUBTEST_KEYS = {"subtest", "cases", "gateway", "routes"}
STEP_KEYS = {"apply", "delete", "cases", "gateway"}


class Checker:
    def __init__(self, fname):
        self.fname = fname
        self.problems = []

    def bad(self, where, what):
        self.problems.append("%s: %s: %s" % (self.fname, where, what))

    def keys(self, where, d, allowed, required=()):
        if not isinstance(d, dict):
            self.bad(where, "expected a mapping, got %s" % type(d).__name__)
            return False
        for k in sorted(set(d) - set(allowed)):
            self.bad(where, "unknown key %r" % k)
        for k in required:
            if k not in d:
                self.bad(where, "missing %r" % k)
        return True

    def strlist(self, where, v):
        if not isinstance(v, list) or \
                not all(isinstance(x, str) for x in v):
            self.bad(where, "expected a list of strings")

    def nsname(self, where, v):
        if not isinstance(v, str) or v.count("/") != 1 or \
                not all(v.split("/")):
            self.bad(where, "expected namespace/name, got %r" % (v,))

    def str_map(self, where, v):
        if not isinstance(v, dict) or not all(
                isinstance(k, str) and isinstance(x, (str, int))
                for k, x in v.items()):
            self.bad(where, "expected a map of strings")

    def request(self, where, r):
        if not self.keys(where, r, REQUEST_KEYS):
            return
        if "headers" in r:
            self.str_map(where + ".headers", r["headers"])
        if "protocol" in r and r["protocol"] not in PROTOCOLS:
            self.bad(where, "protocol %r not one of %s"
                     % (r["protocol"], sorted(PROTOCOLS)))
        if "scheme" in r and r["scheme"] not in ("http", "https"):
            self.bad(where, "scheme must be http or https")
        for k in ("tlsSecret", "clientCertSecret"):
            if k in r:
                self.nsname(where + "." + k, r[k])
        if "path" in r and not str(r["path"]).startswith("/"):
            self.bad(where, "path must start with /")

    def response(self, where, r):
        if not self.keys(where, r, RESPONSE_KEYS):
            return
        if "statusCodes" in r and (
                not isinstance(r["statusCodes"], list) or
                not all(isinstance(c, int) for c in r["statusCodes"])):
            self.bad(where, "statusCodes must be a list of integers")
        if "statusCode" in r and not isinstance(r["statusCode"], int):
            self.bad(where, "statusCode must be an integer")
        if "headers" in r:
            self.str_map(where + ".headers", r["headers"])
        if "absentHeaders" in r:
            self.strlist(where + ".absentHeaders", r["absentHeaders"])
        for k, v in (r.get("validHeaderValues") or {}).items():
            self.strlist("%s.validHeaderValues.%s" % (where, k), v)

    def case(self, where, c):
        if not isinstance(c, dict):
            self.bad(where, "a case must be a mapping")
            return
        if "subtest" in c:
            self.subtest(where, c)
            return
        kinds = [k for k in CASE_KINDS if k in c]
        if len(kinds) != 1:
            self.bad(where, "a case needs exactly one of %s, has %s"
                     % (", ".join(CASE_KINDS), kinds or "none"))
            return
        kind = kinds[0]
        self.keys(where, c, {kind} | CASE_KEYS[kind] | COMMON_CASE_KEYS)
        if kind == "request":
            self.request(where + ".request", c["request"])
            if "expectedRequest" in c:
                e = c["expectedRequest"]
                if self.keys(where + ".expectedRequest", e,
                             EXPECTED_REQUEST_KEYS):
                    if "headers" in e:
                        self.str_map(where + ".expectedRequest.headers",
                                     e["headers"])
                    if "absentHeaders" in e:
                        self.strlist(where + ".expectedRequest."
                                     "absentHeaders", e["absentHeaders"])
            if "response" in c:
                self.response(where + ".response", c["response"])
            if "redirectRequest" in c:
                self.keys(where + ".redirectRequest", c["redirectRequest"],
                          REDIRECT_KEYS)
                port = c["redirectRequest"].get("port")
                if port is not None and not isinstance(port, str):
                    self.bad(where + ".redirectRequest",
                             "port is a string, as upstream's")
            for i, m in enumerate(c.get("mirroredTo") or []):
                self.keys("%s.mirroredTo[%d]" % (where, i), m,
                          {"backend", "namespace", "percent"},
                          ("backend", "namespace"))
            if "expectFailure" in c and ("response" in c or
                                         "backend" in c):
                self.bad(where, "expectFailure takes no response/backend")
        elif kind in ("weights", "tcpWeights", "udpWeights"):
            w = c[kind]
            if self.keys(where + "." + kind, w,
                         {"request", "requests", "expected", "tolerance",
                          "listener", "send", "concurrency", "rounds"},
                         ("expected",)):
                total = sum(w["expected"].values())
                if abs(total - 1.0) > 1e-6:
                    self.bad(where + "." + kind,
                             "expected shares sum to %g, not 1" % total)
        elif kind == "repeat":
            self.keys(where + ".repeat", c["repeat"],
                      {"request", "count", "podPrefixFromRequestHeader"},
                      ("request", "count"))
        elif kind == "websocket":
            self.keys(where + ".websocket", c["websocket"],
                      {"path", "origin", "messages"}, ("path", "messages"))
        elif kind == "tcp":
            self.keys(where + ".tcp", c["tcp"],
                      {"listener", "port", "tls", "sni", "trustConfigMap",
                       "trustSecret", "send"})
            if "expected" in c:
                self.keys(where + ".expected", c["expected"],
                          {"backendIsTLS", "hostname"})
        elif kind == "tcpRepeat":
            self.keys(where + ".tcpRepeat", c["tcpRepeat"],
                      {"listener", "count", "podPrefix",
                       "forbiddenPodPrefix"}, ("count", "podPrefix"))
        elif kind == "tlsReject":
            self.keys(where + ".tlsReject", c["tlsReject"],
                      {"sni", "port"}, ("sni",))
        elif kind == "udp":
            self.keys(where + ".udp", c["udp"], {"listener", "port",
                                                 "send", "dns"})
            if "expected" in c:
                self.keys(where + ".expected", c["expected"],
                          {"anyReply", "anyAnswer", "service",
                           "namespace"})

    def subtest(self, where, s):
        self.keys(where, s, SUBTEST_KEYS, ("subtest", "cases"))
        name = s.get("subtest")
        if not isinstance(name, str) or not name:
            self.bad(where, "subtest needs a name")
        if "gateway" in s:
            self.nsname(where + ".gateway", s["gateway"])
        for r in s.get("routes") or []:
            self.nsname(where + ".routes", r)
        self.cases("%s[%s]" % (where, name), s.get("cases"))

    def cases(self, where, cases):
        if not isinstance(cases, list):
            self.bad(where, "cases must be a list")
            return
        for i, c in enumerate(cases):
            self.case("%s.cases[%d]" % (where, i), c)

    def spec(self, spec):
        if not self.keys("top", spec, TOP_KEYS, REQUIRED_TOP):
            return
        base = os.path.basename(self.fname)
        if spec.get("name") + ".yaml" != base:
            self.bad("name", "%r does not match the file name"
                     % spec.get("name"))
        self.strlist("features", spec.get("features"))
        for g in spec.get("groups") or []:
            if g not in GROUPS:
                self.bad("groups", "unknown group %r" % g)
        for m in spec.get("manifests") or []:
            if not os.path.exists(os.path.join(UPSTREAM, m)):
                self.bad("manifests", "%s not in %s" % (m, UPSTREAM))
        self.nsname("gateway", spec.get("gateway"))
        for r in spec.get("routes") or []:
            self.nsname("routes", r)
        if "not_replayed" in spec and not isinstance(
                spec["not_replayed"], str):
            self.bad("not_replayed", "must be text")
        self.cases("top", spec.get("cases"))
        for i, step in enumerate(spec.get("steps") or []):
            where = "steps[%d]" % i
            if self.keys(where, step, STEP_KEYS):
                for j, ref in enumerate(step.get("delete") or []):
                    self.keys("%s.delete[%d]" % (where, j), ref,
                              {"kind", "namespace", "name"},
                              ("kind", "name"))
                self.cases(where, step.get("cases", []))


def check_spec(spec, fname):
    """Problems found in one parsed spec (empty list: well formed)."""
    c = Checker(fname)
    c.spec(spec)
    return c.problems


def check_file(path):
    try:
        with open(path) as f:
            spec = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        return ["%s: cannot load: %s" % (path, e)]
    return check_spec(spec, path)


def main(argv):
    files = argv or sorted(
        os.path.join(TRAFFIC_DIR, f) for f in os.listdir(TRAFFIC_DIR)
        if f.endswith(".yaml"))
    problems = []
    for f in files:
        problems += check_file(f)
    for p in problems:
        print(p)
    print("%d file(s), %d problem(s)" % (len(files), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
