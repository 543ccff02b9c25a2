"""Hostile values in every string field: the machinery of test_hostile.py.

The field list comes from the Gateway API v1.6.1 CRD schemas (every
`type: string` leaf under `spec`, string lists and string maps included),
plus metadata and the core fields the controller reads (Service,
EndpointSlice, Secret, ConfigMap).  A new field in the schemas is walked
without a change here.

Each case (field, hostile value) is one *world*: its own namespaces h<N>
and h<N>b, GatewayClass, Gateway on its own loopback address, routes of
every kind, Services, EndpointSlices, a TLS Secret, a CA ConfigMap, a
BackendTLSPolicy and a ReferenceGrant, all with the hostile value put in
one field.  Many worlds are rendered at once (`ngx-gateway render`) and
checked with `nginx -t`; a failing batch is split in halves until the
failing world is found, so a failure always names its field and value.

The value is wrapped in two markers, zqx<N>a ... zqx<N>b.  The rendered
configuration is read with nginx's own tokenizer rules (quotes, escapes,
comments): a token holding one marker must hold the other after it, so
the value is one argument, or it is not in the configuration at all.
"""

import base64
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "build" / "ngx-gateway"
MODULE = REPO / "build" / "ngx_http_gateway_module.so"
STREAM_MODULE = REPO / "build" / "ngx_stream_gateway_module.so"
NGINX = "/usr/sbin/nginx"
CRD_DIR = Path("/work/shared/gateway-api-v1.6.1/crd/experimental")
if not CRD_DIR.is_dir():
    CRD_DIR = REPO / "test" / "conformance" / "crd" / "experimental"

GROUP = "gateway.networking.k8s.io"

# The values, without their markers.
PAYLOADS = {
    "dquote": '"',
    "squote": "'",
    "lbrace": "{",
    "rbrace": "}",
    "semicolon": ";",
    "lf": "\n",
    "cr": "\r",
    "var": "$var",
    "var-braces": "${x}",
    "hash": "#",
    "backslash": "\\",
    "controls": "\x01\x07\x08\x0b\x0c\x1b\x7f\t",
    "unicode": "\u00e9\u2603\u202e\U0001F600\u00a0",
    "long": "a" * 65536,
    "directives": 'x; } server { listen 1; location / '
                  '{ return 200 "pwned"; } #',
}

# Kinds walked from the CRDs, with the apiVersion written.
CRD_KINDS = {
    "GatewayClass": "v1",
    "Gateway": "v1",
    "ListenerSet": "v1",
    "HTTPRoute": "v1",
    "GRPCRoute": "v1",
    "TLSRoute": "v1",
    "TCPRoute": "v1",
    "UDPRoute": "v1",
    "BackendTLSPolicy": "v1",
    "ReferenceGrant": "v1",
}

# String fields of the core kinds that the controller reads
# (controller/api/decode_core.c), as (kind, path).
CORE_FIELDS = [
    ("Service", "spec.type"),
    ("Service", "spec.clusterIP"),
    ("Service", "spec.ports[].name"),
    ("Service", "spec.ports[].protocol"),
    ("Service", "spec.ports[].appProtocol"),
    ("Service", "spec.ports[].targetPort"),
    ("EndpointSlice", "addressType"),
    ("EndpointSlice", "endpoints[].addresses[]"),
    ("EndpointSlice", "ports[].name"),
    ("EndpointSlice", "ports[].protocol"),
    ("Secret", "type"),
    ("Secret", "data{}"),
    ("Secret", "stringData{}"),
    ("ConfigMap", "data{}"),
    ("Namespace", "metadata.labels{}"),
]

# Metadata every kind has.
META_FIELDS = ["metadata.name", "metadata.labels{}", "metadata.annotations{}"]

# Fields not walked, and why.
SKIPPED = {
    "metadata.namespace": "the namespace is the world's identity; hostile "
                          "namespace names are covered by the Namespace "
                          "object's name and by every namespace field of "
                          "the specs (parentRefs, backendRefs, from, ...)",
}


# ------------------------------------------------------------ field list

def _walk(schema, path, out):
    t = schema.get("type")
    if t == "string" or schema.get("x-kubernetes-int-or-string"):
        out.append(path)
        return
    if t == "array":
        _walk(schema.get("items") or {}, path + "[]", out)
        return
    if t == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        for k in sorted(props):
            _walk(props[k], (path + "." if path else "") + k, out)
        ap = schema.get("additionalProperties")
        if isinstance(ap, dict) and ap.get("type") == "string":
            out.append(path + "{}")


def crd_fields():
    """[(kind, path)] of every string field under spec in the CRDs."""
    fields = []
    for f in sorted(CRD_DIR.glob(GROUP + "_*.yaml")):
        for doc in yaml.safe_load_all(f.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            kind = doc["spec"]["names"]["kind"]
            if kind not in CRD_KINDS:
                continue
            for v in doc["spec"]["versions"]:
                if v["name"] != CRD_KINDS[kind]:
                    continue
                spec = v["schema"]["openAPIV3Schema"]["properties"]["spec"]
                paths = []
                _walk(spec, "spec", paths)
                fields += [(kind, p) for p in paths]
    return fields


def all_fields():
    fields = crd_fields()
    kinds = sorted(set(k for k, _ in fields)
                   | {"Service", "EndpointSlice", "Secret", "ConfigMap",
                      "Namespace"})
    for kind in kinds:
        fields += [(kind, p) for p in META_FIELDS]
    fields += CORE_FIELDS
    seen, out = set(), []
    for f in fields:
        if f not in seen:
            seen.add(f)
            out.append(f)
    return out


# ------------------------------------------------------------ mutation

def split_path(path):
    """'spec.rules[].matches[].path.value' -> segments; '[]' and '{}' are
    their own segments."""
    segs = []
    for part in path.split("."):
        m = re.fullmatch(r"([^\[\]{}]+)((?:\[\]|\{\})*)", part)
        segs.append(m.group(1))
        segs += re.findall(r"\[\]|\{\}", m.group(2))
    return segs


def _set(node, segs, value):
    """Puts value at segs below node.  In a list, the elements that have
    the next key are changed; if none has it, the first one (created if
    the list is empty).  Missing objects and lists are created.  A string
    map gets the value as a key and as a value."""
    key, rest = segs[0], segs[1:]
    if key == "[]":
        if not rest:
            node[:] = [value] if not node else [value for _ in node]
            return
        if not node:
            node.append({} if rest[0] not in ("[]", "{}") else [])
        items = [x for x in node
                 if isinstance(x, dict) and rest[0] in x] or node[:1]
        for x in items:
            if isinstance(x, (dict, list)):
                _set(x, rest, value)
        return
    if key == "{}":
        node["k-" + str(len(node))] = value
        node[value] = "v"
        return
    if not rest:
        node[key] = value
        return
    if rest[0] == "{}":
        if not isinstance(node.get(key), dict):
            node[key] = {}
        _set(node[key], rest, value)
        return
    if rest[0] == "[]":
        if not isinstance(node.get(key), list):
            node[key] = []
        _set(node[key], rest, value)
        return
    if not isinstance(node.get(key), dict):
        node[key] = {}
    _set(node[key], rest, value)


def mutate(obj, path, value):
    """A copy of obj with value at path.  Secret data is base64: the
    hostile text is put inside a PEM certificate and encoded."""
    obj = copy.deepcopy(obj)
    if obj["kind"] == "Secret" and path == "data{}":
        pem = ("-----BEGIN CERTIFICATE-----\n" + value
               + "\n-----END CERTIFICATE-----\n")
        enc = base64.b64encode(pem.encode()).decode()
        obj["data"]["tls.crt"] = enc
        obj["data"]["k-" + value] = enc
        return obj
    if obj["kind"] == "Secret" and path == "stringData{}":
        obj["stringData"] = {
            "tls.key": "-----BEGIN PRIVATE KEY-----\n" + value
                       + "\n-----END PRIVATE KEY-----\n"}
        return obj
    if obj["kind"] == "ConfigMap" and path == "data{}":
        obj["data"]["ca.crt"] = obj["data"]["ca.crt"] + value + "\n"
        obj["data"][value] = value
        return obj
    _set(obj, split_path(path), value)
    return obj


# ------------------------------------------------------------ the world

def make_cert(tmp):
    """A self-signed EC certificate for *.example.com; (cert, key) PEM."""
    key, crt = Path(tmp) / "k.pem", Path(tmp) / "c.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
         "-subj", "/CN=secure.example.com",
         "-addext", "subjectAltName=DNS:*.example.com,"
                    "DNS:secure.example.com",
         "-keyout", str(key), "-out", str(crt)],
        check=True, capture_output=True)
    return crt.read_text(), key.read_text()


def address(n):
    return "127.201.%d.%d" % (n // 250, n % 250 + 1)


def world(n, cert, key):
    """Every object of world n, benign, as a list of dicts."""
    ns, nsb = "h%d" % n, "h%db" % n
    gc = "gc-h%d" % n
    b64 = (lambda s: base64.b64encode(s.encode()).decode())

    def meta(name, namespace=ns, **extra):
        m = {"name": name, "namespace": namespace,
             "labels": {"app": "hostile"},
             "annotations": {"note": "benign"}}
        m.update(extra)
        return m

    def svc(name, namespace, ports):
        return {"apiVersion": "v1", "kind": "Service",
                "metadata": meta(name, namespace),
                "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10",
                         "ports": ports}}

    def slice_(name, namespace, ports, ip):
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": meta(name + "-1", namespace, labels={
                    "kubernetes.io/service-name": name}),
                "addressType": "IPv4",
                "ports": ports,
                "endpoints": [{"addresses": [ip],
                               "conditions": {"ready": True}}]}

    def gw(kind, name, spec):
        return {"apiVersion": GROUP + "/" + CRD_KINDS[kind], "kind": kind,
                "metadata": meta(name), "spec": spec}

    http_ports = [{"name": "http", "port": 80, "targetPort": 8080,
                   "protocol": "TCP"},
                  {"name": "https", "port": 443, "targetPort": 8443,
                   "protocol": "TCP", "appProtocol": "https"}]
    slice_ports = [{"name": "http", "port": 8080, "protocol": "TCP"},
                   {"name": "https", "port": 8443, "protocol": "TCP"}]
    parent = {"group": GROUP, "kind": "Gateway", "name": "gw",
              "namespace": ns}

    objs = [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": ns, "labels": {"team": ns}}},
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": nsb, "labels": {"team": nsb}}},
        {"apiVersion": GROUP + "/v1", "kind": "GatewayClass",
         "metadata": {"name": gc, "labels": {"app": "hostile"},
                      "annotations": {"note": "benign"}},
         "spec": {"controllerName": "ngx-gateway.io/gateway-controller",
                  "description": "hostile world"}},
        gw("Gateway", "gw", {
            "gatewayClassName": gc,
            "addresses": [{"type": "IPAddress", "value": address(n)}],
            "infrastructure": {"labels": {"a": "b"},
                               "annotations": {"c": "d"}},
            "allowedListeners": {"namespaces": {"from": "Same"}},
            "tls": {"backend": {"clientCertificateRef": {
                        "group": "", "kind": "Secret", "name": "tls"}},
                    "frontend": {"default": {"validation": {
                        "mode": "AllowValidOnly",
                        "caCertificateRefs": [{
                            "group": "", "kind": "ConfigMap",
                            "name": "ca"}]}}}},
            "listeners": [
                {"name": "http", "port": 20080, "protocol": "HTTP",
                 "hostname": "*.example.com",
                 "allowedRoutes": {
                     "namespaces": {"from": "Selector", "selector": {
                         "matchLabels": {"team": ns},
                         "matchExpressions": [{
                             "key": "team", "operator": "In",
                             "values": [ns]}]}},
                     "kinds": [{"group": GROUP, "kind": "HTTPRoute"},
                               {"group": GROUP, "kind": "GRPCRoute"}]}},
                {"name": "https", "port": 20443, "protocol": "HTTPS",
                 "hostname": "secure.example.com",
                 "tls": {"mode": "Terminate",
                         "certificateRefs": [{"group": "", "kind": "Secret",
                                              "name": "tls"}],
                         "options": {"example.com/opt": "v"}}},
                {"name": "tls", "port": 20444, "protocol": "TLS",
                 "hostname": "pass.example.com",
                 "tls": {"mode": "Passthrough"}},
                {"name": "tcp", "port": 20306, "protocol": "TCP"},
                {"name": "udp", "port": 20353, "protocol": "UDP"},
            ]}),
        gw("ListenerSet", "ls", {
            "parentRef": {"group": GROUP, "kind": "Gateway", "name": "gw",
                          "namespace": ns},
            "listeners": [{"name": "extra", "port": 20081,
                           "protocol": "HTTP",
                           "hostname": "extra.example.com",
                           "allowedRoutes": {"namespaces": {
                               "from": "Same"}}}]}),
        gw("HTTPRoute", "web", {
            "parentRefs": [dict(parent, sectionName="http"),
                           dict(parent, sectionName="https"),
                           {"group": GROUP, "kind": "ListenerSet",
                            "name": "ls", "sectionName": "extra"}],
            "hostnames": ["www.example.com", "extra.example.com",
                          "secure.example.com"],
            "rules": [
                {"name": "main",
                 "matches": [
                     {"path": {"type": "PathPrefix", "value": "/a"},
                      "headers": [{"type": "Exact", "name": "X-H",
                                   "value": "h"}],
                      "queryParams": [{"type": "Exact", "name": "q",
                                       "value": "v"}],
                      "method": "GET"},
                     {"path": {"type": "RegularExpression",
                               "value": "/re/[0-9]+"},
                      "headers": [{"type": "RegularExpression",
                                   "name": "X-R", "value": "r.*"}]}],
                 "filters": [
                     {"type": "RequestHeaderModifier",
                      "requestHeaderModifier": {
                          "set": [{"name": "X-Set", "value": "s"}],
                          "add": [{"name": "X-Add", "value": "a"}],
                          "remove": ["X-Remove"]}},
                     {"type": "ResponseHeaderModifier",
                      "responseHeaderModifier": {
                          "set": [{"name": "X-RSet", "value": "s"}],
                          "add": [{"name": "X-RAdd", "value": "a"}],
                          "remove": ["X-RRemove"]}}],
                 "backendRefs": [
                     {"group": "", "kind": "Service", "name": "app",
                      "port": 80, "weight": 1},
                     {"group": "", "kind": "Service", "name": "app2",
                      "namespace": nsb, "port": 80, "weight": 1}],
                 "timeouts": {"request": "10s", "backendRequest": "5s"},
                 "retry": {"codes": [500], "attempts": 2,
                           "backoff": "100ms"},
                 "sessionPersistence": {
                     "sessionName": "sess", "type": "Cookie",
                     "absoluteTimeout": "1h",
                     "cookieConfig": {"lifetimeType": "Permanent"}}},
                {"matches": [{"path": {"type": "Exact",
                                       "value": "/redir"}}],
                 "filters": [{"type": "RequestRedirect",
                              "requestRedirect": {
                                  "scheme": "https",
                                  "hostname": "r.example.com",
                                  "path": {"type": "ReplaceFullPath",
                                           "replaceFullPath": "/x"},
                                  "statusCode": 302}}]},
                {"matches": [{"path": {"type": "PathPrefix",
                                       "value": "/rw"}}],
                 "filters": [
                     {"type": "URLRewrite", "urlRewrite": {
                         "hostname": "rw.example.com",
                         "path": {"type": "ReplacePrefixMatch",
                                  "replacePrefixMatch": "/new"}}},
                     {"type": "RequestMirror", "requestMirror": {
                         "backendRef": {"group": "", "kind": "Service",
                                        "name": "app", "port": 80},
                         "percent": 50}}],
                 "backendRefs": [{"name": "app", "port": 80}]},
                {"matches": [{"path": {"type": "PathPrefix",
                                       "value": "/cors"}}],
                 "filters": [{"type": "CORS", "cors": {
                     "allowOrigins": ["https://o.example.com"],
                     "allowMethods": ["GET"],
                     "allowHeaders": ["X-A"],
                     "exposeHeaders": ["X-E"],
                     "maxAge": 10, "allowCredentials": True}}],
                 "backendRefs": [{"name": "app", "port": 80}]},
                {"matches": [{"path": {"type": "PathPrefix",
                                       "value": "/bf"}}],
                 "backendRefs": [
                     {"name": "app", "port": 80,
                      "filters": [{"type": "RequestHeaderModifier",
                                   "requestHeaderModifier": {
                                       "set": [{"name": "X-B",
                                                "value": "b"}]}}]}]},
                {"matches": [{"path": {"type": "PathPrefix",
                                       "value": "/secure"}}],
                 "backendRefs": [{"name": "secure", "port": 443}]},
                {"matches": [{"path": {"type": "PathPrefix",
                                       "value": "/ext"}}],
                 "filters": [{"type": "ExtensionRef", "extensionRef": {
                     "group": "ext.example.com", "kind": "Ext",
                     "name": "e"}}],
                 "backendRefs": [{"name": "app", "port": 80}]},
            ]}),
        gw("GRPCRoute", "grpc", {
            "parentRefs": [dict(parent, sectionName="http")],
            "hostnames": ["grpc.example.com"],
            "rules": [{
                "name": "g",
                "matches": [{"method": {"type": "Exact",
                                        "service": "echo.Echo",
                                        "method": "Get"},
                             "headers": [{"type": "Exact", "name": "x-g",
                                          "value": "g"}]}],
                "backendRefs": [{"name": "app", "port": 80}]}]}),
        gw("GRPCRoute", "grpc-f", {
            "parentRefs": [dict(parent, sectionName="http")],
            "hostnames": ["grpcf.example.com"],
            "rules": [{
                "filters": [{"type": "RequestHeaderModifier",
                             "requestHeaderModifier": {
                                 "set": [{"name": "X-G", "value": "g"}]}}],
                "backendRefs": [{"name": "app", "port": 80}]}]}),
        gw("TLSRoute", "tls", {
            "parentRefs": [dict(parent, sectionName="tls")],
            "hostnames": ["pass.example.com"],
            "rules": [{"name": "t",
                       "backendRefs": [{"name": "app", "port": 443}]}]}),
        gw("TCPRoute", "tcp", {
            "parentRefs": [dict(parent, sectionName="tcp")],
            "rules": [{"name": "t",
                       "backendRefs": [{"name": "app", "port": 80}]}]}),
        gw("UDPRoute", "udp", {
            "parentRefs": [dict(parent, sectionName="udp")],
            "rules": [{"name": "u",
                       "backendRefs": [{"name": "dns", "port": 53}]}]}),
        gw("BackendTLSPolicy", "btls", {
            "targetRefs": [{"group": "", "kind": "Service",
                            "name": "secure", "sectionName": "https"}],
            "validation": {
                "caCertificateRefs": [{"group": "", "kind": "ConfigMap",
                                       "name": "ca"}],
                "hostname": "secure.example.com"},
            "options": {"example.com/opt": "v"}}),
        {"apiVersion": GROUP + "/v1", "kind": "ReferenceGrant",
         "metadata": meta("grant", nsb),
         "spec": {"from": [{"group": GROUP, "kind": "HTTPRoute",
                            "namespace": ns}],
                  "to": [{"group": "", "kind": "Service",
                          "name": "app2"}]}},
        svc("app", ns, http_ports),
        slice_("app", ns, slice_ports, "10.1.0.1"),
        svc("secure", ns, [{"name": "https", "port": 443,
                            "targetPort": 8443, "protocol": "TCP"}]),
        slice_("secure", ns, [{"name": "https", "port": 8443,
                               "protocol": "TCP"}], "10.1.0.2"),
        svc("dns", ns, [{"name": "dns", "port": 53, "targetPort": 5353,
                         "protocol": "UDP"}]),
        slice_("dns", ns, [{"name": "dns", "port": 5353,
                            "protocol": "UDP"}], "10.1.0.3"),
        svc("app2", nsb, http_ports),
        slice_("app2", nsb, slice_ports, "10.1.0.4"),
        {"apiVersion": "v1", "kind": "Secret",
         "metadata": meta("tls"), "type": "kubernetes.io/tls",
         "data": {"tls.crt": b64(cert), "tls.key": b64(key)}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": meta("ca"), "data": {"ca.crt": cert}},
    ]
    return objs


def hostile_world(n, cert, key, kind, path, payload):
    """World n with marker-wrapped payload at kind/path; (objs, value)."""
    value = "zqx%da%szqx%db" % (n, payload, n)
    objs = []
    for o in world(n, cert, key):
        if o["kind"] == kind:
            o = mutate(o, path, value)
        objs.append(o)
    return objs, value


# ------------------------------------------------------------ nginx syntax

_TOKEN = re.compile(r"""
      (?P<nl>\n)
    | (?P<ws>[ \t\r]+)
    | (?P<comment>\#[^\n]*)
    | (?P<punct>[;{}])
    | "(?P<dq>(?:[^"\\]|\\.)*)"
    | '(?P<sq>(?:[^'\\]|\\.)*)'
    | (?P<word>(?:[^\s;{}"'\\]|\\.)(?:[^\s;{}\\]|\\.)*)
    """, re.X | re.S)


def tokenize(text):
    """nginx's ngx_conf_read_token rules: a list of (line, kind, value)
    with kind 'word' (quoted or not, escapes kept), ';', '{' or '}'."""
    out, line, pos = [], 1, 0
    for m in _TOKEN.finditer(text):
        if m.start() != pos:
            out.append((line, "word", text[pos:m.start()]))
        pos = m.end()
        g = m.lastgroup
        if g == "nl":
            line += 1
        elif g == "punct":
            out.append((line, m.group(), m.group()))
        elif g in ("dq", "sq", "word"):
            out.append((line, "word", m.group(g)))
            line += m.group().count("\n")
    if pos != len(text):
        out.append((line, "word", text[pos:]))
    return out


def split_render(text):
    """Render output -> {path: content} at its '# file: PATH' headers."""
    files, cur = {}, None
    for ln in text.splitlines(keepends=True):
        if ln.startswith("# file: "):
            cur = ln[len("# file: "):].rstrip("\n")
            files[cur] = []
            continue
        if cur is not None:
            files[cur].append(ln)
    return {k: "".join(v) for k, v in files.items()}


_MARK = re.compile(r"zqx(\d+)([ab])")


def marker_problems(files):
    """{n: [problem]}: where the value of world n is not one argument.
    A token holding one marker of a value must hold the other after it."""
    bad = {}
    for path, text in files.items():
        for line, kind, tok in tokenize(text):
            if "zqx" not in tok:
                continue
            seen = {}
            for m in _MARK.finditer(tok):
                seen.setdefault(int(m.group(1)), []).append(m.group(2))
            for n, ab in seen.items():
                if "a" in ab and "b" in ab and ab.index("a") < ab.index("b"):
                    continue
                bad.setdefault(n, []).append(
                    "%s:%d: token %r holds one marker of the value"
                    % (path, line, tok[:120]))
    return bad


def reaches(files, n):
    a = "zqx%da" % n
    return any(a in t for t in files.values())


# ------------------------------------------------------------ running

class Batch:
    """Renders a set of worlds and checks them; bisects failures."""

    def __init__(self, tmp, cert, key):
        self.tmp = Path(tmp)
        self.cert, self.key = cert, key
        self.runs = 0

    def _write(self, d, worlds):
        """JSON is YAML, and much faster to write than PyYAML's output;
        DEL, which YAML does not take raw, is escaped."""
        d.mkdir(parents=True)
        for n, objs in worlds.items():
            text = "\n---\n".join(json.dumps(o, ensure_ascii=False)
                                   for o in objs)
            text = text.replace("\x7f", "\\u007f")
            (d / ("w%d.yaml" % n)).write_text(text + "\n",
                                              errors="surrogatepass")

    def run(self, worlds):
        """worlds: {n: objs}.  Returns (ok, detail, files)."""
        self.runs += 1
        d = self.tmp / ("b%d" % self.runs)
        self._write(d / "m", worlds)
        prefix = d / "p"
        for sub in ("conf", "logs", "run", "tmp", "secrets"):
            (prefix / sub).mkdir(parents=True)
        r = subprocess.run(
            [str(BIN), "render", "-f", str(d / "m"), "--state-dir",
             str(prefix), "--module", str(MODULE), "--stream-module",
             str(STREAM_MODULE), "--default-address", "127.201.255.1",
             "--log-level", "error"],
            capture_output=True, timeout=120)
        if r.returncode != 0:
            return False, "render failed: " + r.stderr.decode(
                "utf-8", "replace")[-2000:], {}
        files = split_render(r.stdout.decode("utf-8", "surrogateescape"))
        for path, text in files.items():
            p = Path(path)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(text.encode("utf-8", "surrogateescape"))
        write_secrets(worlds, prefix / "secrets")
        conf = prefix / "nginx.conf"
        t = subprocess.run(
            [NGINX, "-t", "-q", "-p", str(prefix) + "/", "-c", str(conf),
             "-e", str(prefix / "logs" / "error.log")],
            capture_output=True, timeout=120)
        if t.returncode != 0:
            return False, "nginx -t: " + t.stderr.decode(
                "utf-8", "replace")[-2000:], files
        if not os.environ.get("KEEP"):
            shutil.rmtree(d)
        return True, "", files

    def check(self, worlds, labels):
        """Returns {n: problem} for the worlds that fail, bisecting a
        failed render or nginx -t down to single worlds."""
        ok, detail, files = self.run(worlds)
        if ok:
            return {n: "; ".join(p[:3])
                    for n, p in marker_problems(files).items()
                    if n in worlds}
        if len(worlds) == 1:
            return {n: detail for n in worlds}
        keys = sorted(worlds)
        half = len(keys) // 2
        bad = self.check({k: worlds[k] for k in keys[:half]}, labels)
        bad.update(self.check({k: worlds[k] for k in keys[half:]}, labels))
        return bad


def write_secrets(worlds, out):
    """The certificate and CA files as the runtime names them (as
    test/golden/run.sh does)."""
    for objs in worlds.values():
        for doc in objs:
            if doc.get("kind") == "ConfigMap":
                ca = ((doc.get("data") or {}).get("ca.crt") or "")
                ca = ca.encode("utf-8", "surrogatepass")
                if ca:
                    ca += b"" if ca.endswith(b"\n") else b"\n"
                    name = hashlib.sha256(ca).hexdigest()[:32] + ".pem"
                    (Path(out) / name).write_bytes(ca)
                continue
            if doc.get("kind") != "Secret" \
                    or doc.get("type") != "kubernetes.io/tls":
                continue
            data = {}
            for k, v in (doc.get("data") or {}).items():
                try:
                    data[k] = base64.b64decode(v)
                except ValueError:
                    pass
            for k, v in (doc.get("stringData") or {}).items():
                data[k] = v.encode("utf-8", "surrogatepass")
            crt, key = data.get("tls.crt", b""), data.get("tls.key", b"")
            if not crt or not key:
                continue
            pem = crt + (b"" if crt.endswith(b"\n") else b"\n") + key
            name = hashlib.sha256(pem).hexdigest()[:32] + ".pem"
            (Path(out) / name).write_bytes(pem)
