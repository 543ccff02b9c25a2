#!/usr/bin/python3
"""
A small Kubernetes API client for tests (stdlib + python3-yaml), and a
kubectl-like CLI:

    python3 test/kube/kubeclient.py --server URL [--token T] [--cacert F] \
        apply -f FILE_OR_DIR ...
    ... delete -f FILE_OR_DIR ... [--ignore-not-found]
    ... get KIND [NAME] [-n NS | -A] [-o json|yaml|name]

Kinds are resolved through discovery, like kubectl: "HTTPRoute",
"httproutes", "httproute", a short name ("svc"), or "plural.group"
("httproutes.gateway.networking.k8s.io"); the group's preferred version
unless an apiVersion is given.
"""

import argparse
import http.client
import json
import os
import ssl
import sys
import time
from urllib.parse import urlencode, urlsplit

import yaml

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"


class KubeError(Exception):
    """An answer with an HTTP status >= 400; status is the Status object
    (or {} when the body was not one)."""

    def __init__(self, code, body):
        try:
            status = json.loads(body)
        except ValueError:
            status = {}
        if not isinstance(status, dict):
            status = {}
        self.code = code
        self.status = status
        self.reason = status.get("reason", "")
        self.message = status.get("message", body.decode(errors="replace")
                                  if isinstance(body, bytes) else str(body))
        super().__init__("%d %s: %s" % (code, self.reason, self.message))


class Kind:
    """One resource as discovery describes it."""

    def __init__(self, group, version, r, preferred):
        self.group = group
        self.version = version
        self.plural = r["name"]
        self.singular = r.get("singularName") or ""
        self.kind = r["kind"]
        self.namespaced = r["namespaced"]
        self.short_names = r.get("shortNames") or []
        self.preferred = preferred
        self.subresources = set()

    @property
    def api_version(self):
        return self.group + "/" + self.version if self.group else self.version

    def names(self):
        names = {self.kind.lower(), self.plural, self.singular,
                 *self.short_names}
        if self.group:
            names |= {n + "." + self.group for n in list(names)}
        return names


def load_docs(*paths):
    """The objects in YAML/JSON files or directories (sorted), with kind
    List expanded and empty documents skipped."""
    docs = []
    for p in paths:
        if os.path.isdir(p):
            files = sorted(os.path.join(p, f) for f in os.listdir(p)
                           if f.endswith((".yaml", ".yml", ".json")))
        else:
            files = [p]
        for path in files:
            with open(path) as f:
                for d in yaml.safe_load_all(f):
                    if not d:
                        continue
                    if d.get("kind", "").endswith("List") and "items" in d:
                        docs.extend(d["items"])
                    else:
                        docs.append(d)
    return docs


class Client:

    def __init__(self, server, token=None, cacert=None, timeout=10.0):
        u = urlsplit(server)
        self.server = server.rstrip("/")
        self.scheme = u.scheme
        self.host = u.hostname
        self.port = u.port or (443 if u.scheme == "https" else 80)
        self.token = token
        self.timeout = timeout
        self.ssl_ctx = None
        if u.scheme == "https":
            self.ssl_ctx = ssl.create_default_context(cafile=cacert)
        self._kinds = None

    # -- transport ----------------------------------------------------------

    def connect(self, timeout=None):
        t = self.timeout if timeout is None else timeout
        if self.ssl_ctx is not None:
            return http.client.HTTPSConnection(self.host, self.port,
                                               timeout=t,
                                               context=self.ssl_ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=t)

    def headers(self, content_type=None):
        h = {"Accept": JSON}
        if content_type:
            h["Content-Type"] = content_type
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        return h

    def request(self, method, path, body=None, content_type=JSON,
                query=None, timeout=None):
        """The decoded JSON answer; KubeError for a status >= 400."""
        if query:
            path += "?" + urlencode(query)
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else \
                json.dumps(body).encode()
        conn = self.connect(timeout)
        try:
            conn.request(method, path, body=data, headers=self.headers(
                content_type if data is not None else None))
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        if resp.status >= 400:
            raise KubeError(resp.status, raw)
        return json.loads(raw) if raw else None

    # -- discovery ----------------------------------------------------------

    def discover(self):
        kinds = []
        lists = [("", "v1", True)]
        for g in self.request("GET", "/apis")["groups"]:
            pref = g["preferredVersion"]["version"]
            for v in g["versions"]:
                lists.append((g["name"], v["version"], v["version"] == pref))
        for group, version, preferred in lists:
            path = "/apis/%s/%s" % (group, version) if group else "/api/v1"
            try:
                rl = self.request("GET", path)
            except KubeError:
                continue
            byname = {}
            for r in rl["resources"]:
                if "/" in r["name"]:
                    plural, sub = r["name"].split("/", 1)
                    if plural in byname:
                        byname[plural].subresources.add(sub)
                    continue
                byname[r["name"]] = Kind(group, version, r, preferred)
            kinds.extend(byname.values())
        self._kinds = kinds
        return kinds

    def kind(self, kind, api_version=None):
        """The Kind for a name ("HTTPRoute", "httproutes", "svc", ...)."""
        for attempt in (0, 1):
            if self._kinds is None or attempt:
                self.discover()
            want = kind.lower()
            found = [k for k in self._kinds if want in k.names()
                     and (api_version is None
                          or k.api_version == api_version)]
            if api_version is None:
                found.sort(key=lambda k: not k.preferred)
            if found:
                return found[0]
        raise KeyError("the server doesn't have a resource type %r%s"
                       % (kind, " in " + api_version if api_version else ""))

    def path(self, k, namespace=None, name=None, subresource=None):
        p = "/apis/%s/%s" % (k.group, k.version) if k.group else "/api/v1"
        if k.namespaced and namespace:
            p += "/namespaces/" + namespace
        p += "/" + k.plural
        if name:
            p += "/" + name
        if subresource:
            p += "/" + subresource
        return p

    def _obj_kind(self, obj):
        return self.kind(obj["kind"], obj.get("apiVersion"))

    @staticmethod
    def _ns(k, obj_or_ns):
        if not k.namespaced:
            return None
        if isinstance(obj_or_ns, dict):
            return obj_or_ns.get("metadata", {}).get("namespace") \
                or "default"
        return obj_or_ns or "default"

    # -- verbs --------------------------------------------------------------

    def get(self, kind, name, namespace=None, api_version=None):
        k = self.kind(kind, api_version)
        return self.request("GET", self.path(k, self._ns(k, namespace),
                                             name))

    def get_or_none(self, kind, name, namespace=None, api_version=None):
        try:
            return self.get(kind, name, namespace, api_version)
        except KubeError as e:
            if e.code == 404:
                return None
            raise

    def list(self, kind, namespace=None, api_version=None, raw=False,
             **query):
        """The items (or with raw=True the whole List); namespace None
        lists all namespaces.  query: labelSelector, fieldSelector,
        limit, continue, resourceVersion, ..."""
        k = self.kind(kind, api_version)
        lst = self.request("GET", self.path(k, namespace), query=query)
        return lst if raw else lst["items"]

    def create(self, obj):
        k = self._obj_kind(obj)
        return self.request("POST", self.path(k, self._ns(k, obj)), obj)

    def update(self, obj, subresource=None):
        k = self._obj_kind(obj)
        return self.request("PUT", self.path(k, self._ns(k, obj),
                                             obj["metadata"]["name"],
                                             subresource), obj)

    def patch(self, kind, name, patch, namespace=None, subresource=None,
              content_type=MERGE_PATCH, api_version=None):
        k = self.kind(kind, api_version)
        return self.request("PATCH", self.path(k, self._ns(k, namespace),
                                               name, subresource),
                            patch, content_type=content_type)

    def patch_status(self, kind, name, status, namespace=None,
                     api_version=None):
        """Merge-patches .status through the status subresource."""
        return self.patch(kind, name, {"status": status}, namespace,
                          "status", api_version=api_version)

    def delete(self, kind, name=None, namespace=None, api_version=None,
               ignore_missing=False):
        """delete(obj) or delete(kind, name, namespace)."""
        if isinstance(kind, dict):
            obj = kind
            k = self._obj_kind(obj)
            name, namespace = obj["metadata"]["name"], self._ns(k, obj)
        else:
            k = self.kind(kind, api_version)
            namespace = self._ns(k, namespace)
        try:
            return self.request("DELETE", self.path(k, namespace, name))
        except KubeError as e:
            if ignore_missing and e.code == 404:
                return None
            raise

    def apply(self, docs):
        """Create-or-update each object (a dict, a list of dicts, or a
        file/directory path); a .status in a document is written through
        the status subresource too.  Returns the objects as stored."""
        if isinstance(docs, (str, os.PathLike)):
            docs = load_docs(docs)
        elif isinstance(docs, dict):
            docs = [docs]
        out = []
        for doc in docs:
            out.append(self._apply_one(doc))
        return out

    def _apply_one(self, doc):
        k = self._obj_kind(doc)
        ns = self._ns(k, doc)
        name = doc["metadata"]["name"]
        body = json.loads(json.dumps(doc))
        body["metadata"].pop("resourceVersion", None)
        if ns:
            body["metadata"]["namespace"] = ns
        for _ in range(10):
            try:
                obj = self.request("POST", self.path(k, ns), body)
                break
            except KubeError as e:
                if e.reason != "AlreadyExists":
                    raise
            cur = self.request("GET", self.path(k, ns, name))
            body["metadata"]["resourceVersion"] = \
                cur["metadata"]["resourceVersion"]
            try:
                obj = self.request("PUT", self.path(k, ns, name), body)
                break
            except KubeError as e:
                if e.code not in (404, 409):
                    raise
        else:
            raise KubeError(409, b"apply: conflicts did not settle")
        if "status" in doc and "status" in k.subresources:
            obj = self.request("PATCH", self.path(k, ns, name, "status"),
                               {"status": doc["status"]},
                               content_type=MERGE_PATCH)
        return obj

    def watch(self, kind, namespace=None, api_version=None, timeout=30,
              **query):
        """Yields the events of a WATCH (dicts) until the stream ends.
        query: resourceVersion, allowWatchBookmarks, timeoutSeconds,
        labelSelector, fieldSelector."""
        k = self.kind(kind, api_version)
        query = dict(query, watch="1")
        conn = self.connect(timeout)
        try:
            conn.request("GET", self.path(k, namespace) + "?"
                         + urlencode(query), headers=self.headers())
            resp = conn.getresponse()
            if resp.status >= 400:
                raise KubeError(resp.status, resp.read())
            while True:
                line = resp.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        finally:
            conn.close()

    @staticmethod
    def wait_for(predicate, timeout=10.0, interval=0.05):
        """Calls predicate() until it returns something true (returned);
        a KubeError counts as false.  TimeoutError after timeout s."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                last = predicate()
                if last:
                    return last
            except KubeError as e:
                last = e
            if time.monotonic() >= deadline:
                raise TimeoutError("condition not met within %gs; last "
                                   "result: %r" % (timeout, last))
            time.sleep(interval)


# -- CLI --------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="kubectl-like test client")
    ap.add_argument("--server", required=True)
    ap.add_argument("--token")
    ap.add_argument("--cacert")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("apply")
    p.add_argument("-f", dest="files", action="append", required=True)
    p = sub.add_parser("delete")
    p.add_argument("-f", dest="files", action="append", required=True)
    p.add_argument("--ignore-not-found", action="store_true")
    p = sub.add_parser("get")
    p.add_argument("kind")
    p.add_argument("name", nargs="?")
    p.add_argument("-n", "--namespace")
    p.add_argument("-A", "--all-namespaces", action="store_true")
    p.add_argument("-o", "--output", default="name",
                   choices=["json", "yaml", "name"])
    args = ap.parse_args(argv)

    c = Client(args.server, args.token, args.cacert)
    try:
        if args.cmd == "apply":
            for obj in c.apply(load_docs(*args.files)):
                print("%s/%s applied" % (obj["kind"].lower(),
                                         obj["metadata"]["name"]))
        elif args.cmd == "delete":
            for doc in reversed(load_docs(*args.files)):
                if c.delete(doc, ignore_missing=args.ignore_not_found):
                    print("%s/%s deleted" % (doc["kind"].lower(),
                                             doc["metadata"]["name"]))
        else:
            k = c.kind(args.kind)
            ns = None if args.all_namespaces else (args.namespace
                                                   or "default")
            if args.name:
                out = c.get(args.kind, args.name, ns)
                items = [out]
            else:
                out = c.list(args.kind, ns if k.namespaced else None,
                             raw=True)
                items = out["items"]
            if args.output == "json":
                print(json.dumps(out, indent=4))
            elif args.output == "yaml":
                print(yaml.safe_dump(out, default_flow_style=False), end="")
            else:
                for o in items:
                    print("%s/%s" % (k.plural, o["metadata"]["name"]))
    except KubeError as e:
        print("Error from server (%s): %s" % (e.reason, e.message),
              file=sys.stderr)
        return 1
    except KeyError as e:
        print("error: %s" % e.args[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
