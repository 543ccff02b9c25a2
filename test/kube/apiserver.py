#!/usr/bin/python3
"""
A kube-apiserver stand-in for testing the controller's Kubernetes mode:
discovery, LIST (selectors, limit/continue), GET, POST, PUT, PATCH (merge
and JSON patch), DELETE, the status subresource and WATCH (history replay,
bookmarks, 410 Expired) for the built-in kinds the controller uses and for
the kinds CustomResourceDefinitions define; plus fault injection under
/_control/.  See README.md in this directory.

    python3 test/kube/apiserver.py --listen 127.0.0.1:0 --port-file F \
        [--tls-cert C --tls-key K] [--token T] [--crds DIR ...] \
        [--data FILE] [--history N] [--bookmark-interval S] [--verbose]
"""

import argparse
import glob
import hmac
import json
import os
import random
import select
import socket
import ssl
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import yaml

import apitypes
from apitypes import ApiError
from apistore import CRD_KEY, NAMESPACE_KEY, Store


JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
TRUE = ("1", "true")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, store, token=None, ssl_ctx=None,
                 bookmark_interval=1.0, verbose=False):
        super().__init__(addr, Handler)
        self.store = store
        self.token = token
        self.ssl_ctx = ssl_ctx
        self.bookmark_interval = bookmark_interval
        self.verbose = verbose
        self.lock = threading.Lock()
        self.faults = []
        self.slow_ms = 0
        self.requests = []
        if ssl_ctx is not None:
            self.socket = ssl_ctx.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if self.verbose or not isinstance(exc, (OSError, ssl.SSLError)):
            super().handle_error(request, client_address)

    def take_fault(self, method, target):
        with self.lock:
            for f in self.faults:
                if f["method"] and f["method"] != method:
                    continue
                if f["path"] and f["path"] not in target:
                    continue
                f["count"] -= 1
                if f["count"] <= 0:
                    self.faults.remove(f)
                return f["code"]
            return None

    def record(self, method, target, code):
        url = urlsplit(target)
        if url.path.startswith("/_control/"):
            return
        with self.lock:
            self.requests.append({"method": method, "path": url.path,
                                  "query": url.query, "code": code})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-standin"

    # -- plumbing -----------------------------------------------------------

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(10)
            self.connection.do_handshake()
            self.connection.settimeout(None)

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    def send_response(self, code, message=None):
        self.server.record(self.command, self.path, code)
        super().send_response(code, message)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_body(self, code, data, ctype=JSON, headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, code, obj, headers=None):
        self.send_body(code, json.dumps(obj, separators=(",", ":")).encode(),
                       headers=headers)

    def send_error_status(self, e):
        if e.reason == "page":
            self.send_body(404, b"404 page not found\n",
                           ctype="text/plain; charset=utf-8")
            return
        self.send_json(e.code, e.status(), headers=e.headers)

    def do_any(self):
        body = self.read_body()
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in
                 parse_qs(url.query, keep_blank_values=True).items()}
        try:
            if url.path.startswith("/_control/"):
                self.control(url.path[len("/_control/"):], query)
                return
            if self.server.slow_ms:
                time.sleep(self.server.slow_ms / 1000.0)
            code = self.server.take_fault(self.command, self.path)
            if code is not None:
                raise apitypes.fault(code)
            if self.server.token is not None:
                auth = self.headers.get("Authorization", "")
                if not hmac.compare_digest(auth.encode(),
                                           ("Bearer " + self.server.token)
                                           .encode()):
                    raise ApiError(401, "Unauthorized")
            self.route(self.command, url.path, query, body)
        except ApiError as e:
            self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception:
            traceback.print_exc()
            self.send_error_status(ApiError(
                500, "Internal error occurred: %s"
                % traceback.format_exc().splitlines()[-1]))

    def control(self, op, query):
        self.send_json(200, control(self, op, query))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_any

    # -- routing ------------------------------------------------------------

    def route(self, method, path, query, body):
        store = self.server.store
        parts = [p for p in path.split("/") if p]
        if path in ("/healthz", "/livez", "/readyz"):
            self.send_body(200, b"ok", ctype="text/plain; charset=utf-8")
            return
        if path == "/version":
            self.send_json(200, {"major": "1", "minor": "33",
                                 "gitVersion": "v1.33.0-standin",
                                 "platform": "linux/amd64"})
            return
        if parts == ["api"]:
            self.send_json(200, {"kind": "APIVersions", "versions": ["v1"]})
            return
        if parts == ["apis"]:
            groups = store.group_versions()
            self.send_json(200, {
                "kind": "APIGroupList", "apiVersion": "v1",
                "groups": [api_group(g, groups[g]) for g in sorted(groups)
                           if g]})
            return
        if len(parts) == 2 and parts[0] == "apis":
            versions = store.group_versions().get(parts[1])
            if not versions:
                raise apitypes.page_not_found()
            self.send_json(200, dict(kind="APIGroup", apiVersion="v1",
                                     **api_group(parts[1], versions)))
            return
        if len(parts) >= 2 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise apitypes.page_not_found()
        resources = store.resources_of(group, version)
        if resources is None:
            raise apitypes.page_not_found()
        if not rest:
            gv = group + "/" + version if group else version
            self.send_json(200, {
                "kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": gv,
                "resources": [d for r in resources for d in r.discovery()]})
            return
        ns = ""
        byname = {r.plural: r for r in resources}
        if len(rest) >= 3 and rest[0] == "namespaces" \
                and rest[2] in byname and byname[rest[2]].namespaced:
            ns, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise apitypes.page_not_found()
        res = store.lookup(group, version, rest[0])
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if name is not None and res.namespaced and not ns:
            raise apitypes.page_not_found()
        if sub is not None and (sub != "status" or not res.status):
            raise ApiError(404, "the server could not find the requested "
                           "resource", details={})
        req = Request(self, res, version, ns, name, sub, query, body)
        req.serve(method)


def api_group(group, versions):
    vs = [{"groupVersion": group + "/" + v, "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


class Request:
    """One request on a resource: the verbs."""

    def __init__(self, handler, res, version, ns, name, sub, query, body):
        self.h = handler
        self.store = handler.server.store
        self.res = res
        self.version = version
        self.ns = ns
        self.name = name
        self.sub = sub
        self.query = query
        self.body = body

    def serve(self, method):
        if self.name is None:
            verbs = {"GET": self.list_or_watch, "HEAD": self.list_or_watch,
                     "POST": self.create, "DELETE": self.delete_collection}
            if self.res.namespaced and not self.ns and method != "GET":
                verbs = {}
        else:
            verbs = {"GET": self.get, "HEAD": self.get, "PUT": self.update,
                     "PATCH": self.patch, "DELETE": self.delete}
            if self.sub:
                verbs.pop("DELETE")
        fn = verbs.get(method)
        if fn is None:
            raise ApiError(405, "the server does not allow this method on "
                           "the requested resource")
        fn()

    # -- helpers ------------------------------------------------------------

    def out(self, obj, typed=True):
        """obj as the requested version shows it."""
        o = dict(obj)
        if typed:
            o["apiVersion"] = self.res.api_version(self.version)
            o["kind"] = self.res.kind
            o = {"apiVersion": o.pop("apiVersion"), "kind": o.pop("kind"),
                 **o}
        else:
            o.pop("apiVersion", None)
            o.pop("kind", None)
        return o

    def json_body(self):
        ctype = (self.h.headers.get("Content-Type") or JSON).split(";")[0]
        try:
            if ctype in ("application/yaml", "application/x-yaml"):
                return ctype, yaml.safe_load(self.body)
            return ctype, json.loads(self.body or b"null")
        except ValueError as e:
            raise apitypes.bad_request("the body of the request could not "
                                       "be decoded: %s" % e)

    def object_body(self):
        ctype, obj = self.json_body()
        if ctype not in (JSON, "application/yaml", "application/x-yaml"):
            raise ApiError(415, "the body of the request was in an unknown "
                           "format - accepted media types include: "
                           "application/json, application/yaml")
        if not isinstance(obj, dict):
            raise apitypes.bad_request("Object 'Kind' is missing in '%s'"
                                       % self.body.decode(errors="replace"))
        self.check_type(obj)
        return obj

    def check_type(self, obj):
        want_av = self.res.api_version(self.version)
        if self.res.builtin:
            obj.setdefault("kind", self.res.kind)
            obj.setdefault("apiVersion", want_av)
        if not obj.get("kind"):
            raise apitypes.bad_request("Object 'Kind' is missing in '%s'"
                                       % json.dumps(obj))
        if obj["kind"] != self.res.kind:
            raise apitypes.bad_request(
                "the kind in the data (%s) does not match the expected kind "
                "(%s)" % (obj["kind"], self.res.kind))
        if obj.get("apiVersion") != want_av:
            raise apitypes.bad_request(
                "the API version in the data (%s) does not match the "
                "expected API version (%s)" % (obj.get("apiVersion"),
                                               want_av))

    def selectors(self):
        labels = apitypes.parse_label_selector(
            self.query.get("labelSelector", ""))
        fields = apitypes.parse_field_selector(
            self.query.get("fieldSelector", ""), self.res)

        def match(obj):
            meta = obj["metadata"]
            if self.ns and meta.get("namespace") != self.ns:
                return False
            return apitypes.match_labels(labels, meta.get("labels")) \
                and apitypes.match_fields(fields, obj)
        return match, bool(labels or fields)

    # -- verbs --------------------------------------------------------------

    def get(self):
        self.h.send_json(200, self.out(self.store.get(self.res, self.ns,
                                                      self.name)))

    def list_or_watch(self):
        if self.query.get("watch", "").lower() in TRUE:
            Watch(self).serve()
            return
        match, filtered = self.selectors()
        rv = self.query.get("resourceVersion", "")
        cont = self.query.get("continue", "")
        at_rv = wait_rv = None
        start = ""
        if cont:
            if rv:
                raise apitypes.bad_request("specifying resource version is "
                                           "not allowed when using continue")
            at_rv, start = apitypes.decode_continue(cont)
        elif rv not in ("", "0"):
            try:
                n = int(rv)
            except ValueError:
                raise apitypes.bad_request('invalid resource version "%s"'
                                           % rv)
            if self.query.get("resourceVersionMatch") == "Exact":
                at_rv = n
            else:
                wait_rv = n
        items, list_rv = self.store.list(self.res, self.ns, at_rv, wait_rv)
        items = [(k, o) for k, o in items if k >= start and match(o)]
        meta = {"resourceVersion": str(list_rv)}
        try:
            limit = int(self.query.get("limit") or 0)
        except ValueError:
            raise apitypes.bad_request("invalid limit")
        if limit > 0 and len(items) > limit:
            if not filtered:
                meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
            meta["continue"] = apitypes.encode_continue(list_rv,
                                                        items[-1][0])
        self.h.send_json(200, {
            "kind": self.res.list_kind,
            "apiVersion": self.res.api_version(self.version),
            "metadata": meta,
            "items": [self.out(o, typed=not self.res.builtin)
                      for _, o in items]})

    def create(self):
        obj = self.object_body()
        meta = obj.get("metadata")
        if isinstance(meta, dict) and self.res.namespaced \
                and meta.get("namespace") not in (None, "", self.ns):
            raise apitypes.bad_request(
                "the namespace of the provided object does not match the "
                "namespace sent on the request")
        self.h.send_json(201, self.out(self.store.create(self.res, self.ns,
                                                         obj)))

    def update(self):
        obj = self.object_body()
        meta = obj.get("metadata") or {}
        if meta.get("name") != self.name:
            raise apitypes.bad_request(
                "the name of the object (%s) does not match the name on the "
                "URL (%s)" % (meta.get("name", ""), self.name))
        if self.res.namespaced and meta.get("namespace") not in (None, "",
                                                                 self.ns):
            raise apitypes.bad_request(
                "the namespace of the provided object does not match the "
                "namespace sent on the request")
        self.h.send_json(200, self.out(self.store.update(
            self.res, self.ns, self.name, obj, self.sub)))

    def patch(self):
        ctype, patch = self.json_body()
        if ctype not in (MERGE_PATCH, JSON_PATCH):
            raise ApiError(415, "the body of the request was in an unknown "
                           "format - accepted media types include: "
                           "application/json-patch+json, "
                           "application/merge-patch+json")
        with self.store.cond:
            cur = self.out(self.store.get(self.res, self.ns, self.name))
            if ctype == MERGE_PATCH:
                if not isinstance(patch, dict):
                    raise apitypes.bad_request("merge patch must be a JSON "
                                               "object")
                new = apitypes.merge_patch(cur, patch)
            else:
                new = apitypes.json_patch(cur, patch)
            if not isinstance(new, dict) \
                    or not isinstance(new.get("metadata"), dict):
                raise apitypes.bad_request("the patched object has no "
                                           "metadata")
            new["metadata"]["name"] = self.name
            obj = self.store.update(self.res, self.ns, self.name, new,
                                    self.sub)
        self.h.send_json(200, self.out(obj))

    def delete(self):
        pre = None
        if self.body:
            _, opts = self.json_body()
            if isinstance(opts, dict):
                pre = opts.get("preconditions")
        obj = self.store.delete(self.res, self.ns, self.name, pre)
        self.h.send_json(200, self.deleted(obj))

    def deleted(self, obj):
        if not self.res.builtin or self.res.key in (NAMESPACE_KEY, CRD_KEY):
            return self.out(obj)
        details = {"name": obj["metadata"]["name"], "kind": self.res.plural,
                   "uid": obj["metadata"]["uid"]}
        if self.res.group:
            details["group"] = self.res.group
        return {"kind": "Status", "apiVersion": "v1", "metadata": {},
                "status": "Success", "details": details}

    def delete_collection(self):
        match, _ = self.selectors()
        items, rv = self.store.list(self.res, self.ns)
        gone = []
        for _, o in items:
            if match(o):
                try:
                    gone.append(self.store.delete(
                        self.res, o["metadata"].get("namespace", ""),
                        o["metadata"]["name"]))
                except ApiError:
                    pass
        self.h.send_json(200, {
            "kind": self.res.list_kind,
            "apiVersion": self.res.api_version(self.version),
            "metadata": {"resourceVersion": str(rv)},
            "items": [self.out(o) for o in gone]})


class Watch:
    """A WATCH: newline-delimited JSON events in a chunked body."""

    def __init__(self, req):
        self.req = req
        self.h = req.h
        self.store = req.store
        self.match, _ = req.selectors()

    def serve(self):
        q = self.req.query
        bookmarks = q.get("allowWatchBookmarks", "").lower() in TRUE
        try:
            timeout = float(q["timeoutSeconds"])
        except (KeyError, ValueError):
            timeout = random.uniform(1800, 3600)
        watcher, first = self.store.watch(self.req.res,
                                          q.get("resourceVersion"))
        self.h.send_response(200)
        self.h.send_header("Content-Type", JSON)
        self.h.send_header("Cache-Control", "no-cache, private")
        self.h.send_header("Transfer-Encoding", "chunked")
        self.h.end_headers()
        try:
            if watcher is None:
                self.send({"type": "ERROR", "object": first})
                self.end()
                return
            if self.loop(watcher, first, bookmarks, timeout):
                self.end()
        except (OSError, ssl.SSLError):
            self.h.close_connection = True
        finally:
            if watcher is not None:
                self.store.unwatch(watcher)

    def loop(self, watcher, events, bookmarks, timeout):
        """Sends events until the timeout; False if the stream was
        dropped or the client went away."""
        interval = self.h.server.bookmark_interval
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + interval
        while True:
            for ev in events:
                for wire in self.wire(ev):
                    self.send(wire)
            now = time.monotonic()
            if now >= deadline:
                return True
            if self.client_gone():
                self.h.close_connection = True
                return False
            wait = min(deadline - now, 1.0)
            if bookmarks:
                wait = max(0.0, min(wait, next_bookmark - now))
            events, rv = self.store.next_events(watcher, wait)
            if watcher.dropped:
                self.abort()
                return False
            if bookmarks and rv is not None \
                    and time.monotonic() >= next_bookmark:
                for ev in events:
                    for wire in self.wire(ev):
                        self.send(wire)
                events = []
                self.send({"type": "BOOKMARK", "object": {
                    "kind": self.req.res.kind,
                    "apiVersion": self.req.res.api_version(self.req.version),
                    "metadata": {"resourceVersion": str(rv)}}})
                next_bookmark = time.monotonic() + interval

    def wire(self, ev):
        """What a watcher with selectors sees of one event."""
        out = self.req.out
        if ev.type == "MODIFIED":
            now, before = self.match(ev.obj), self.match(ev.prev)
            if now:
                return [{"type": "MODIFIED" if before else "ADDED",
                         "object": out(ev.obj)}]
            if before:
                gone = out(ev.prev)
                gone["metadata"] = dict(gone["metadata"],
                                        resourceVersion=str(ev.rv))
                return [{"type": "DELETED", "object": gone}]
            return []
        if self.match(ev.obj):
            return [{"type": ev.type, "object": out(ev.obj)}]
        return []

    def send(self, event):
        data = json.dumps(event, separators=(",", ":")).encode() + b"\n"
        self.h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end(self):
        self.h.wfile.write(b"0\r\n\r\n")

    def client_gone(self):
        conn = self.h.connection
        readable, _, _ = select.select([conn], [], [], 0)
        if not readable:
            return False
        if isinstance(conn, ssl.SSLSocket):
            return True
        try:
            return conn.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def abort(self):
        """Closes the connection without ending the chunked body."""
        self.h.close_connection = True
        try:
            self.h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


# -- fault injection and inspection -----------------------------------------

def control(handler, op, q):
    """The /_control/ endpoints: the answer as JSON, or ApiError."""
    srv, store = handler.server, handler.server.store
    method = handler.command
    if op == "healthz":
        return {"ok": True, "resourceVersion": str(store.rv)}
    if op == "requests":
        with srv.lock:
            if method == "DELETE":
                srv.requests = []
                return {"ok": True}
            return list(srv.requests)
    if method != "POST":
        raise ApiError(405, "use POST")
    if op == "compact":
        return {"ok": True, "compacted": str(store.compact())}
    if op == "drop-watches":
        return {"ok": True, "dropped": store.drop_watches()}
    if op == "stall-watches":
        store.stall_watches(float(q.get("seconds", "5")))
        return {"ok": True}
    if op == "fail":
        with srv.lock:
            if q.get("count", "1") == "0":
                srv.faults = []
            else:
                srv.faults.append({"code": int(q.get("code", "500")),
                                   "count": int(q.get("count", "1")),
                                   "method": q.get("method", "").upper(),
                                   "path": q.get("path", "")})
        return {"ok": True}
    if op == "slow":
        srv.slow_ms = int(q.get("ms", "0"))
        return {"ok": True}
    raise ApiError(404, "unknown control endpoint %s" % op)


# -- start ------------------------------------------------------------------

def load_crds(store, dirs):
    """Creates the CRDs found in the YAML files of dirs (unless present)."""
    res = store.resources[CRD_KEY]
    for d in dirs:
        files = sorted(glob.glob(os.path.join(d, "*.yaml"))
                       + glob.glob(os.path.join(d, "*.yml"))) \
            if os.path.isdir(d) else [d]
        for path in files:
            with open(path) as f:
                docs = list(yaml.load_all(f, Loader=getattr(
                    yaml, "CSafeLoader", yaml.SafeLoader)))
            for doc in docs:
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                name = doc["metadata"]["name"]
                if name in store.objects[res.key]:
                    continue
                store.create(res, "", doc)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--port-file")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--token")
    ap.add_argument("--crds", nargs="+", action="extend", default=[])
    ap.add_argument("--data")
    ap.add_argument("--history", type=int, default=100000)
    ap.add_argument("--bookmark-interval", type=float, default=1.0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    store = Store(history=args.history, data=args.data)
    load_crds(store, args.crds)
    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    host, _, port = args.listen.rpartition(":")
    srv = Server((host.strip("[]") or "127.0.0.1", int(port)), store,
                 token=args.token, ssl_ctx=ctx,
                 bookmark_interval=args.bookmark_interval,
                 verbose=args.verbose)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.replace(tmp, args.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
