"""
API machinery of the kube-apiserver stand-in: resource descriptions,
Status errors, label and field selectors, JSON merge patch (RFC 7386),
JSON patch (RFC 6902), continue tokens and Kubernetes version ordering.

Nothing here does I/O or locking; apistore.py and apiserver.py do.
"""

import base64
import copy
import json
import re


# -- Status errors ----------------------------------------------------------

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ApiError(Exception):
    """An answer with a Status object, as kube-apiserver sends for errors."""

    def __init__(self, code, message, reason=None, details=None,
                 headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "")
        self.details = details
        self.headers = headers or {}

    def status(self):
        return status_object(self.code, self.reason, self.message,
                             self.details)


def status_object(code, reason, message, details=None):
    st = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        st["details"] = details
    return st


def fault(code):
    """The error an injected fault answers with."""
    headers = {}
    details = None
    message = "injected fault"
    if code == 429:
        headers["Retry-After"] = "1"
        details = {"retryAfterSeconds": 1}
        message = "Too many requests, please try again later."
    elif code == 500:
        message = "Internal error occurred: injected fault"
    elif code == 410:
        message = "too old resource version: injected fault"
    return ApiError(code, message, details=details, headers=headers)


def _details(res, name):
    d = {"name": name}
    if res.group:
        d["group"] = res.group
    d["kind"] = res.plural
    return d


def not_found(res, name):
    return ApiError(404, '%s "%s" not found' % (res.qualified, name),
                    details=_details(res, name))


def already_exists(res, name):
    return ApiError(409, '%s "%s" already exists' % (res.qualified, name),
                    reason="AlreadyExists", details=_details(res, name))


def conflict(res, name):
    return ApiError(
        409,
        'Operation cannot be fulfilled on %s "%s": the object has been '
        'modified; please apply your changes to the latest version and '
        'try again' % (res.qualified, name),
        details=_details(res, name))


def invalid(res, name, field, detail, cause="FieldValueRequired"):
    kind = res.kind + ("." + res.group if res.group else "")
    return ApiError(
        422, '%s "%s" is invalid: %s: %s' % (kind, name, field, detail),
        details={"name": name, "group": res.group, "kind": res.kind,
                 "causes": [{"reason": cause, "message": detail,
                             "field": field}]})


def bad_request(message):
    return ApiError(400, message)


def page_not_found():
    """A path outside every registered group/version (plain text there)."""
    return ApiError(404, "404 page not found", reason="page")


def expired(message):
    return ApiError(410, message, reason="Expired")


# -- resources --------------------------------------------------------------

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch",
         "update", "watch"]


class Resource:
    """One kind of object, served under one or more versions."""

    def __init__(self, group, versions, plural, singular, kind,
                 namespaced, status=False, generation=False, builtin=False,
                 short_names=(), fields=(), categories=(),
                 storage_version=None):
        self.group = group
        self.versions = list(versions)
        self.plural = plural
        self.singular = singular
        self.kind = kind
        self.list_kind = kind + "List"
        self.namespaced = namespaced
        self.status = status              # has the status subresource
        self.generation = generation      # metadata.generation tracked
        self.builtin = builtin            # list items lack kind/apiVersion
        self.short_names = list(short_names)
        self.fields = set(fields) | {"metadata.name", "metadata.namespace"}
        self.categories = list(categories)
        self.storage_version = storage_version or self.versions[0]

    @property
    def key(self):
        return self.group + "/" + self.plural

    @property
    def qualified(self):
        return self.plural + ("." + self.group if self.group else "")

    def api_version(self, version):
        return self.group + "/" + version if self.group else version

    def discovery(self):
        r = {"name": self.plural, "singularName": self.singular,
             "namespaced": self.namespaced, "kind": self.kind,
             "verbs": VERBS}
        if self.short_names:
            r["shortNames"] = self.short_names
        if self.categories:
            r["categories"] = self.categories
        out = [r]
        if self.status:
            out.append({"name": self.plural + "/status", "singularName": "",
                        "namespaced": self.namespaced, "kind": self.kind,
                        "verbs": ["get", "patch", "update"]})
        return out


EVENT_FIELDS = ["involvedObject.kind", "involvedObject.namespace",
                "involvedObject.name", "involvedObject.uid",
                "involvedObject.apiVersion", "involvedObject.resourceVersion",
                "involvedObject.fieldPath", "reason", "reportingComponent",
                "source", "type"]

NEW_EVENT_FIELDS = ["regarding.kind", "regarding.namespace",
                    "regarding.name", "regarding.uid",
                    "regarding.apiVersion", "regarding.resourceVersion",
                    "regarding.fieldPath", "reason", "reportingController",
                    "type"]


def builtin_resources():
    """The built-in kinds the controller uses."""
    b = dict(builtin=True)
    return [
        Resource("", ["v1"], "namespaces", "namespace", "Namespace", False,
                 status=True, short_names=["ns"], fields=["status.phase"],
                 **b),
        Resource("", ["v1"], "services", "service", "Service", True,
                 status=True, short_names=["svc"],
                 fields=["spec.clusterIP", "spec.type"], **b),
        Resource("", ["v1"], "secrets", "secret", "Secret", True,
                 fields=["type"], **b),
        Resource("", ["v1"], "configmaps", "configmap", "ConfigMap", True,
                 short_names=["cm"], **b),
        Resource("", ["v1"], "events", "event", "Event", True,
                 short_names=["ev"], fields=EVENT_FIELDS, **b),
        Resource("discovery.k8s.io", ["v1"], "endpointslices",
                 "endpointslice", "EndpointSlice", True, generation=True,
                 fields=["addressType"], **b),
        Resource("coordination.k8s.io", ["v1"], "leases", "lease", "Lease",
                 True, **b),
        Resource("events.k8s.io", ["v1"], "events", "event", "Event", True,
                 short_names=["ev"], fields=NEW_EVENT_FIELDS, **b),
        Resource("apiextensions.k8s.io", ["v1"],
                 "customresourcedefinitions", "customresourcedefinition",
                 "CustomResourceDefinition", False, status=True,
                 generation=True, short_names=["crd", "crds"], **b),
    ]


def crd_resource(crd):
    """The Resource a CustomResourceDefinition object defines, or None."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    served = [v for v in spec.get("versions") or [] if v.get("served")]
    if not served or not names.get("plural") or not names.get("kind"):
        return None
    storage = [v["name"] for v in served if v.get("storage")]
    status = any("status" in (v.get("subresources") or {}) for v in served)
    fields = []
    for v in served:
        for f in v.get("selectableFields") or []:
            fields.append(f["jsonPath"].lstrip("."))
    return Resource(
        spec.get("group", ""), sort_versions([v["name"] for v in served]),
        names["plural"], names.get("singular") or names["plural"],
        names["kind"], spec.get("scope", "Namespaced") == "Namespaced",
        status=status, generation=True,
        short_names=names.get("shortNames") or (),
        categories=names.get("categories") or (), fields=fields,
        storage_version=storage[0] if storage else None)


_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def _version_key(v):
    m = _VERSION_RE.match(v)
    if not m:
        return (3, 0, 0, v)
    level = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (level, -int(m.group(1)), -int(m.group(3) or 0), v)


def sort_versions(versions):
    """Kubernetes version priority: GA, then beta, then alpha; newest first."""
    return sorted(set(versions), key=_version_key)


# -- selectors --------------------------------------------------------------

_LABEL_SET_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s*"
                           r"\(([^)]*)\)\s*$")
_LABEL_OP_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*"
                          r"(?:(==|!=|=)\s*([A-Za-z0-9_.-]*))?\s*$")


def _split_terms(s):
    terms, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    terms.append(cur)
    return [t for t in terms if t.strip()]


def parse_label_selector(s):
    """A labelSelector string as a list of (key, op, values)."""
    reqs = []
    for term in _split_terms(s or ""):
        m = _LABEL_SET_RE.match(term)
        if m:
            values = [v.strip() for v in m.group(3).split(",") if v.strip()]
            reqs.append((m.group(1), m.group(2), values))
            continue
        m = _LABEL_OP_RE.match(term)
        if not m or (m.group(1) and m.group(3)):
            raise bad_request("unable to parse requirement: invalid label "
                              "selector: %r" % term)
        if m.group(1):
            reqs.append((m.group(2), "!", []))
        elif m.group(3):
            op = "!=" if m.group(3) == "!=" else "="
            reqs.append((m.group(2), op, [m.group(4)]))
        else:
            reqs.append((m.group(2), "exists", []))
    return reqs


def match_labels(reqs, labels):
    labels = labels or {}
    for key, op, values in reqs:
        has = key in labels
        val = labels.get(key)
        if op == "=" and not (has and val == values[0]):
            return False
        if op == "!=" and has and val == values[0]:
            return False
        if op == "in" and not (has and val in values):
            return False
        if op == "notin" and has and val in values:
            return False
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
    return True


def parse_field_selector(s, res):
    """A fieldSelector string as a list of (field, negate, value)."""
    reqs = []
    for term in (s or "").split(","):
        if not term.strip():
            continue
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$", term)
        if not m:
            raise bad_request("invalid selector: '%s'; can't understand "
                              "'%s'" % (s, term))
        if m.group(1) not in res.fields:
            raise bad_request('field label not supported: %s'
                              % m.group(1))
        reqs.append((m.group(1), m.group(2) == "!=", m.group(3)))
    return reqs


def field_value(obj, path):
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def match_fields(reqs, obj):
    for field, negate, value in reqs:
        if (field_value(obj, field) == value) == negate:
            return False
    return True


# -- patches ----------------------------------------------------------------

def merge_patch(target, patch):
    """RFC 7386 JSON merge patch; returns a new value, inputs untouched."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request("invalid JSON pointer: %r" % path)
    return [p.replace("~1", "/").replace("~0", "~")
            for p in path[1:].split("/")]


def _parent(doc, parts, path):
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError):
                raise ApiError(422, "path %s not found" % path)
        elif isinstance(cur, dict) and p in cur:
            cur = cur[p]
        else:
            raise ApiError(422, "doc is missing path: %s" % path)
    return cur


def json_patch(doc, ops):
    """RFC 6902 JSON patch; returns a new document."""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")
    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        parts = _pointer(path)
        if kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            sp = _parent(doc, src, op.get("from"))
            value = copy.deepcopy(sp[int(src[-1])] if isinstance(sp, list)
                                  else sp[src[-1]])
            if kind == "move":
                json_patch_remove(sp, src[-1])
            kind, op = "add", {"value": value}
        if kind == "test":
            p = _parent(doc, parts, path)
            cur = p[int(parts[-1])] if isinstance(p, list) else p.get(
                parts[-1])
            if cur != op.get("value"):
                raise ApiError(422, "testing value %s failed" % path)
            continue
        if not parts:
            doc = copy.deepcopy(op.get("value"))
            continue
        p = _parent(doc, parts, path)
        last = parts[-1]
        if kind == "remove":
            json_patch_remove(p, last)
        elif kind in ("add", "replace"):
            value = copy.deepcopy(op.get("value"))
            if isinstance(p, list):
                if last == "-":
                    p.append(value)
                elif kind == "add":
                    p.insert(int(last), value)
                else:
                    p[int(last)] = value
            else:
                if kind == "replace" and last not in p:
                    raise ApiError(422, "replace operation does not apply: "
                                   "doc is missing key: %s" % path)
                p[last] = value
        else:
            raise bad_request("unexpected json patch operation %r" % kind)
    return doc


def json_patch_remove(parent, last):
    try:
        if isinstance(parent, list):
            del parent[int(last)]
        else:
            del parent[last]
    except (KeyError, IndexError, ValueError):
        raise ApiError(422, "remove operation does not apply: doc is "
                       "missing key: %s" % last)


# -- continue tokens --------------------------------------------------------

def encode_continue(rv, last_key):
    """The opaque token the real server uses (etcd3 store)."""
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv,
                      "start": last_key + "\x00"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token):
    try:
        pad = "=" * (-len(token) % 4)
        raw = json.loads(base64.urlsafe_b64decode(token + pad))
        if raw.get("v") != "meta.k8s.io/v1":
            raise ValueError("unknown version")
        return int(raw["rv"]), raw["start"]
    except (ValueError, KeyError, TypeError) as e:
        raise bad_request("continue key is not valid: %s" % e)
