"""
The object store of the kube-apiserver stand-in: what etcd and the
registry do for kube-apiserver.  Objects by resource and key, one global
resourceVersion counter, a bounded event history for watches and
consistent continue tokens, watchers, the CRD-defined resources, and an
append-only journal so that objects survive a restart (the history does
not, as after an etcd compaction).

Every method takes the store's lock; watch handlers wait on its condition.
Stored objects are never modified in place: a write stores a new dict, so
history entries and answers may share them.
"""

import collections
import copy
import json
import os
import random
import re
import string
import threading
import time
import uuid

import apitypes
from apitypes import ApiError


CRD_KEY = "apiextensions.k8s.io/customresourcedefinitions"
NAMESPACE_KEY = "/namespaces"
INITIAL_NAMESPACES = ["default", "kube-system", "kube-public",
                      "kube-node-lease"]

_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?"
                      r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def object_key(ns, name):
    return ns + "/" + name if ns else name


class Event:
    __slots__ = ("rv", "res_key", "type", "obj", "prev")

    def __init__(self, rv, res_key, etype, obj, prev):
        self.rv = rv
        self.res_key = res_key
        self.type = etype
        self.obj = obj
        self.prev = prev


class Watcher:
    """One open watch: the events of its resource not yet sent."""

    def __init__(self, res_key):
        self.res_key = res_key
        self.pending = []
        self.dropped = False


class Store:

    def __init__(self, history=100000, data=None):
        self.cond = threading.Condition()
        self.resources = {}           # "group/plural" -> Resource
        self.by_gv = {}               # (group, version) -> {plural: Res}
        self.objects = {}             # "group/plural" -> {key: object}
        self.rv = 0
        self.history = collections.deque()
        self.history_max = history
        self.compacted = 0            # resume from rv < this: 410
        self.watchers = set()
        self.stall_until = 0.0
        self.data = data
        self.journal = None
        self.next_ip = 10

        for res in apitypes.builtin_resources():
            self._register(res)
        if data and os.path.exists(data):
            self._load(data)
        if data:
            self._rewrite_journal()
        for ns in INITIAL_NAMESPACES:
            res = self.resources[NAMESPACE_KEY]
            if ns not in self.objects[NAMESPACE_KEY]:
                self.create(res, "", {"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": ns}})

    # -- resources ----------------------------------------------------------

    def _register(self, res):
        self.resources[res.key] = res
        self.objects.setdefault(res.key, {})
        for v in res.versions:
            self.by_gv.setdefault((res.group, v), {})[res.plural] = res

    def _unregister(self, res_key):
        res = self.resources.pop(res_key, None)
        if res is None:
            return
        for v in res.versions:
            gv = self.by_gv.get((res.group, v), {})
            gv.pop(res.plural, None)
            if not gv:
                self.by_gv.pop((res.group, v), None)

    def _crd_changed(self, old, new):
        if old is not None:
            r = apitypes.crd_resource(old)
            if r is not None:
                self._unregister(r.key)
        if new is not None:
            r = apitypes.crd_resource(new)
            if r is not None and not self.resources.get(r.key, r).builtin:
                self._register(r)

    def lookup(self, group, version, plural):
        """The Resource served at group/version/plural; None if the
        group/version itself is unknown (a plain 404), else ApiError."""
        with self.cond:
            gv = self.by_gv.get((group, version))
            if gv is None:
                return None
            res = gv.get(plural)
            if res is None:
                raise ApiError(404, "the server could not find the "
                               "requested resource", details={})
            return res

    def group_versions(self):
        """{group: [versions in priority order]} for discovery."""
        with self.cond:
            groups = {}
            for (g, v) in self.by_gv:
                groups.setdefault(g, []).append(v)
            return {g: apitypes.sort_versions(vs) for g, vs in groups.items()}

    def resources_of(self, group, version):
        with self.cond:
            gv = self.by_gv.get((group, version))
            return None if gv is None else sorted(gv.values(),
                                                  key=lambda r: r.plural)

    # -- reads --------------------------------------------------------------

    def get(self, res, ns, name):
        with self.cond:
            obj = self.objects[res.key].get(object_key(ns, name))
            if obj is None:
                raise apitypes.not_found(res, name)
            return obj

    def list(self, res, ns, at_rv=None, wait_rv=None):
        """(items sorted by key as (key, object), resourceVersion).
        at_rv: the consistent state at that resourceVersion (continue,
        resourceVersionMatch=Exact).  wait_rv: wait until the store has
        reached it (a resourceVersion from the future)."""
        with self.cond:
            if wait_rv is not None:
                self._wait_for_rv(wait_rv)
            objs = self.objects[res.key]
            rv = self.rv
            if at_rv is not None and at_rv < self.rv:
                objs = self._snapshot(res.key, at_rv)
                rv = at_rv
            prefix = ns + "/" if ns else ""
            items = sorted((k, o) for k, o in objs.items()
                           if k.startswith(prefix))
            return items, rv

    def _wait_for_rv(self, rv):
        deadline = time.monotonic() + 3
        while self.rv < rv:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ApiError(
                    504, "Timeout: Too large resource version: %d, "
                    "current: %d" % (rv, self.rv), reason="Timeout",
                    details={"causes": [{"reason": "ResourceVersionTooLarge",
                                         "message": "Too large resource "
                                                    "version"}],
                             "retryAfterSeconds": 1})
            self.cond.wait(left)

    def _snapshot(self, res_key, rv):
        if rv < self.compacted:
            raise apitypes.expired(
                "The provided continue parameter is too old to display a "
                "consistent list result. You can start a new list without "
                "the continue parameter.")
        objs = dict(self.objects[res_key])
        for ev in reversed(self.history):
            if ev.rv <= rv:
                break
            if ev.res_key != res_key:
                continue
            key = object_key(ev.obj["metadata"].get("namespace", ""),
                             ev.obj["metadata"]["name"])
            if ev.type == "ADDED":
                objs.pop(key, None)
            else:
                objs[key] = ev.prev
        return objs

    # -- writes -------------------------------------------------------------

    def create(self, res, ns, obj):
        with self.cond:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            if not isinstance(meta, dict):
                raise apitypes.bad_request("metadata must be an object")
            name = meta.get("name")
            if not name and meta.get("generateName"):
                name = meta["generateName"] + "".join(
                    random.choice(string.ascii_lowercase + string.digits)
                    for _ in range(5))
            if not name:
                raise apitypes.invalid(
                    res, "", "metadata.name",
                    "Required value: name or generateName is required")
            if not isinstance(name, str) or len(name) > 253 \
                    or not _NAME_RE.match(name):
                raise apitypes.invalid(
                    res, str(name), "metadata.name",
                    'Invalid value: "%s": a lowercase RFC 1123 subdomain '
                    "must consist of lower case alphanumeric characters, "
                    "'-' or '.', and must start and end with an "
                    "alphanumeric character" % name, cause="FieldValueInvalid")
            if meta.get("resourceVersion"):
                raise apitypes.bad_request("resourceVersion should not be "
                                           "set on objects to be created")
            self._check_namespace(res, ns)
            key = object_key(ns, name)
            if key in self.objects[res.key]:
                raise apitypes.already_exists(res, name)
            meta["name"] = name
            if res.namespaced:
                meta["namespace"] = ns
            else:
                meta.pop("namespace", None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            for f in ("deletionTimestamp", "deletionGracePeriodSeconds",
                      "generation", "managedFields", "selfLink"):
                meta.pop(f, None)
            if res.generation:
                meta["generation"] = 1
            if res.status:
                obj.pop("status", None)
            self._defaults(res, obj, None)
            self._commit(res, key, "ADDED", obj, None)
            return obj

    def _check_namespace(self, res, ns):
        if res.namespaced and ns not in self.objects[NAMESPACE_KEY]:
            raise ApiError(404, 'namespaces "%s" not found' % ns,
                           details={"name": ns, "kind": "namespaces"})

    def update(self, res, ns, name, obj, subresource=None):
        """PUT (and the end of PATCH): obj is the whole new object."""
        with self.cond:
            key = object_key(ns, name)
            old = self.objects[res.key].get(key)
            if old is None:
                raise apitypes.not_found(res, name)
            meta = obj.get("metadata")
            if not isinstance(meta, dict):
                raise apitypes.bad_request("metadata must be an object")
            rv = meta.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise apitypes.conflict(res, name)
            new = self._prepare_update(res, old, obj, subresource)
            if new["metadata"].get("deletionTimestamp") \
                    and not new["metadata"].get("finalizers"):
                return self._remove(res, key, new)
            if _same(old, new):
                return old
            self._commit(res, key, "MODIFIED", new, old)
            return new

    def _prepare_update(self, res, old, obj, subresource):
        if subresource == "status":
            new = copy.deepcopy(old)
            if "status" in obj:
                new["status"] = copy.deepcopy(obj["status"])
            else:
                new.pop("status", None)
            return new
        new = copy.deepcopy(obj)
        if res.status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        meta, old_meta = new["metadata"], old["metadata"]
        for f in ("name", "namespace", "uid", "creationTimestamp",
                  "generation", "deletionTimestamp",
                  "deletionGracePeriodSeconds"):
            if f in old_meta:
                meta[f] = old_meta[f]
            else:
                meta.pop(f, None)
        if res.generation and _spec(res, new) != _spec(res, old):
            meta["generation"] = old_meta.get("generation", 0) + 1
        self._defaults(res, new, old)
        return new

    def delete(self, res, ns, name, preconditions=None):
        with self.cond:
            key = object_key(ns, name)
            old = self.objects[res.key].get(key)
            if old is None:
                raise apitypes.not_found(res, name)
            pre = preconditions or {}
            for field in ("uid", "resourceVersion"):
                want = pre.get(field)
                have = old["metadata"].get(field)
                if want and want != have:
                    raise ApiError(
                        409, 'Operation cannot be fulfilled on %s "%s": '
                        "Precondition failed: %s in precondition: %s, %s in "
                        "object meta: %s" % (res.qualified, name,
                                             field[0].upper() + field[1:],
                                             want, field, have),
                        details={"name": name, "group": res.group,
                                 "kind": res.plural})
            if old["metadata"].get("finalizers"):
                if old["metadata"].get("deletionTimestamp"):
                    return old
                new = copy.deepcopy(old)
                new["metadata"]["deletionTimestamp"] = now_rfc3339()
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                self._commit(res, key, "MODIFIED", new, old)
                return new
            return self._remove(res, key, old)

    def _remove(self, res, key, old):
        if res.key == NAMESPACE_KEY:
            name = old["metadata"]["name"]
            for r in list(self.resources.values()):
                if not r.namespaced:
                    continue
                for k, o in list(self.objects[r.key].items()):
                    if o["metadata"].get("namespace") == name:
                        self._remove(r, k, o)
        if res.key == CRD_KEY:
            r = apitypes.crd_resource(old)
            if r is not None and r.key in self.resources:
                r = self.resources[r.key]
                for k, o in list(self.objects[r.key].items()):
                    self._remove(r, k, o)
        gone = copy.deepcopy(old)
        self._commit(res, key, "DELETED", gone, old)
        return gone

    def _commit(self, res, key, etype, obj, prev):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        objs = self.objects[res.key]
        if etype == "DELETED":
            objs.pop(key, None)
        else:
            objs[key] = obj
        ev = Event(self.rv, res.key, etype, obj, prev)
        self.history.append(ev)
        while len(self.history) > self.history_max:
            self.compacted = self.history.popleft().rv
        for w in self.watchers:
            if w.res_key == res.key:
                w.pending.append(ev)
        if res.key == CRD_KEY:
            self._crd_changed(prev, None if etype == "DELETED" else obj)
        self._journal({"rv": self.rv, "res": res.key, "key": key,
                       "obj": None if etype == "DELETED" else obj})
        self.cond.notify_all()

    def _defaults(self, res, obj, old):
        """What the real registry strategies set for the built-in kinds."""
        meta = obj["metadata"]
        spec = obj.get("spec")
        if res.key == NAMESPACE_KEY:
            meta.setdefault("labels", {})
            meta["labels"]["kubernetes.io/metadata.name"] = meta["name"]
            obj.setdefault("spec", {}).setdefault("finalizers",
                                                  ["kubernetes"])
            obj.setdefault("status", {"phase": "Active"})
        elif res.key == "/secrets":
            obj.setdefault("type", "Opaque")
        elif res.key == "/services":
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            if old is not None and "clusterIP" in old.get("spec", {}):
                spec.setdefault("clusterIP", old["spec"]["clusterIP"])
            if not spec.get("clusterIP"):
                spec["clusterIP"] = "10.96.%d.%d" % (self.next_ip // 250,
                                                     self.next_ip % 250 + 1)
                self.next_ip += 1
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            for p in spec.get("ports") or []:
                p.setdefault("protocol", "TCP")
                if "port" in p:
                    p.setdefault("targetPort", p["port"])
            obj.setdefault("status", {"loadBalancer": {}})
        elif res.key == CRD_KEY and old is None:
            spec = spec or {}
            stored = [v["name"] for v in spec.get("versions") or []
                      if v.get("storage")]
            t = now_rfc3339()
            obj["status"] = {
                "acceptedNames": spec.get("names", {}),
                "conditions": [
                    {"type": "NamesAccepted", "status": "True",
                     "reason": "NoConflicts", "lastTransitionTime": t,
                     "message": "no conflicts found"},
                    {"type": "Established", "status": "True",
                     "reason": "InitialNamesAccepted",
                     "lastTransitionTime": t,
                     "message": "the initial names have been accepted"}],
                "storedVersions": stored,
            }

    # -- watches ------------------------------------------------------------

    def watch(self, res, rv):
        """Registers a watcher; returns (watcher, events to send first),
        or (None, Status) when rv is older than the history kept."""
        with self.cond:
            if rv in (None, "", "0"):
                first = [Event(self.rv, res.key, "ADDED", o, None)
                         for _, o in sorted(self.objects[res.key].items())]
            else:
                try:
                    since = int(rv)
                except ValueError:
                    raise apitypes.bad_request(
                        'invalid resource version "%s"' % rv)
                if since < self.compacted:
                    return None, apitypes.expired(
                        "too old resource version: %d (%d)"
                        % (since, self.compacted)).status()
                self._wait_for_rv(since)
                first = [ev for ev in self.history
                         if ev.rv > since and ev.res_key == res.key]
            w = Watcher(res.key)
            self.watchers.add(w)
            return w, first

    def unwatch(self, w):
        with self.cond:
            self.watchers.discard(w)

    def next_events(self, w, timeout):
        """Waits up to timeout for events (and for a stall to end);
        returns (events, current resourceVersion)."""
        with self.cond:
            deadline = time.monotonic() + timeout
            while not w.dropped:
                now = time.monotonic()
                if now >= deadline:
                    break
                if now < self.stall_until:
                    self.cond.wait(min(deadline, self.stall_until) - now)
                    continue
                if w.pending:
                    break
                self.cond.wait(deadline - now)
            if time.monotonic() < self.stall_until:
                return [], None
            events, w.pending = w.pending, []
            return events, self.rv

    # -- faults -------------------------------------------------------------

    def compact(self):
        with self.cond:
            self.history.clear()
            self.compacted = self.rv
            return self.rv

    def drop_watches(self):
        with self.cond:
            n = len(self.watchers)
            for w in self.watchers:
                w.dropped = True
            self.cond.notify_all()
            return n

    def stall_watches(self, seconds):
        with self.cond:
            self.stall_until = time.monotonic() + seconds
            self.cond.notify_all()

    # -- persistence --------------------------------------------------------

    def _journal(self, record):
        if self.journal is None:
            return
        self.journal.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.journal.flush()

    def _load(self, path):
        with open(path) as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    break            # a torn last line: the server died
                self.rv = max(self.rv, rec["rv"])
                if rec.get("res") is None:
                    continue
                objs = self.objects.setdefault(rec["res"], {})
                if rec["obj"] is None:
                    objs.pop(rec["key"], None)
                else:
                    objs[rec["key"]] = rec["obj"]
        for crd in self.objects[CRD_KEY].values():
            self._crd_changed(None, crd)
        for key in list(self.objects):
            if key not in self.resources:
                del self.objects[key]
        self.compacted = self.rv

    def _rewrite_journal(self):
        tmp = self.data + ".tmp"
        with open(tmp, "w") as f:
            for res_key, objs in sorted(self.objects.items()):
                for key, obj in sorted(objs.items()):
                    f.write(json.dumps({"rv": int(obj["metadata"]
                                                  ["resourceVersion"]),
                                        "res": res_key, "key": key,
                                        "obj": obj},
                                       separators=(",", ":")) + "\n")
            f.write(json.dumps({"rv": self.rv, "res": None}) + "\n")
        os.replace(tmp, self.data)
        self.journal = open(self.data, "a")


def _spec(res, obj):
    """What a change of bumps metadata.generation."""
    skip = ("metadata", "status", "apiVersion", "kind") if res.status \
        else ("metadata", "apiVersion", "kind")
    return {k: v for k, v in obj.items() if k not in skip}


def _same(old, new):
    def strip(o):
        o = dict(o)
        o.pop("apiVersion", None)
        o["metadata"] = dict(o.get("metadata") or {})
        o["metadata"].pop("resourceVersion", None)
        o["metadata"].pop("managedFields", None)
        return o
    return strip(old) == strip(new)
