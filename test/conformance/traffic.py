#!/usr/bin/python3
"""Replay the data-plane TRAFFIC of the Gateway API v1.6.1 conformance tests.

For each traffic/<TestName>.yaml (format: /work/briefs/traffic-format.md,
summarised in README.md) this:

  1. builds the manifest directory the suite would have applied, with
     replay.py's builder (base manifests, the Setup Secrets/ConfigMaps,
     the test's YAML, one address per Gateway);
  2. starts one echo process per Pod of every Deployment (replicas of
     them, POD_NAME `<deployment>-<hash>-<hash>`, NAMESPACE, each on its
     own 127.0.B.x address with the container's ports: HTTP 3000, h2c
     3001, HTTPS 8443 when TLS_SERVER_CERT is set; gRPC echo on 3000 for
     GRPC_ECHO_SERVER) and points each Service's EndpointSlice at the Pods
     its selector picks, as the EndpointSlice controller would;
  3. runs a real nginx with our modules under `ngx-gateway run -f DIR`
     (standalone), waits for the configuration to be live and the
     Gateway Programmed;
  4. sends every request of the test with real clients (http.client, ssl,
     grpcio) and checks the answers with the semantics of the upstream
     helpers (conformance/utils/http/http.go CompareRequest and
     MakeRequestAndExpectEventuallyConsistentResponse: the same answer 3
     times in a row within a deadline; weighted splits as utils/weight).

Usage: /usr/bin/python3 test/conformance/traffic.py [-k NAME] [-v]
Needs root (ports 80/443, 127.0.0.0/8 addresses). Exit status: non-zero
when a test not listed in known-traffic-failures.txt fails or a listed
test passes.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import yaml

os.environ.setdefault("GRPC_VERBOSITY", "NONE")   # grpcio's C core chatter
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "backends"))

import replay  # noqa: E402  (the manifest builder, not copied)
from traffic_base import (START_DEADLINE, Fail, Target,  # noqa: E402
                          find, secret_data)
import traffic_l4  # noqa: E402
from traffic_check import (run_http_case, run_repeat,  # noqa: E402
                           run_websocket, run_weights)
from traffic_grpc import run_grpc_case, run_grpc_weights  # noqa: E402
from traffic_pods import (GW_HOSTS, Pods, lock_block,  # noqa: E402
                          patch_endpoint_slices, wire_endpoints)

TRAFFIC_DIR = os.path.join(HERE, "traffic")
KNOWN_FAILURES = os.path.join(HERE, "known-traffic-failures.txt")


# --------------------------------------------------------------------------
# Manifests


def place_gateways(docs, block):
    """replay.prepare gives each Gateway 127.0.1.N; move them into this
    run's block (parallel runs must not share addresses)."""
    for d in docs:
        if d.get("kind") != "Gateway":
            continue
        for a in d.get("spec", {}).get("addresses", []):
            v = a.get("value", "")
            if v.startswith("127.0.1."):
                n = int(v.rsplit(".", 1)[1])
                if n not in GW_HOSTS:
                    raise Fail("replay error: too many Gateways")
                a["value"] = "127.0.%d.%d" % (block, n)


def one_tls_checks_ca(docs):
    """The suite signs tls-checks-certificate, both
    tls-passthrough-checks-certificate Secrets,
    tls-terminate-checks-certificate and
    tls-checks-client-certificate with the one CA of the ConfigMap
    tls-checks-ca-certificate (TLSRoute clients and the backend's client
    verification trust it); replay.Certs makes each self-signed, so the
    ConfigMap carries all of them as its bundle."""
    cm = find(docs, "ConfigMap",
              "gateway-conformance-infra/tls-checks-ca-certificate")
    bundle = cm["data"]["ca.crt"]
    for ref in ("gateway-conformance-infra/"
                "tls-passthrough-checks-certificate",
                "gateway-conformance-app-backend/"
                "tls-passthrough-checks-certificate",
                "gateway-conformance-infra/tls-terminate-checks-certificate",
                "gateway-conformance-infra/tls-checks-client-certificate"):
        sec = secret_data(find(docs, "Secret", ref))
        if sec["tls.crt"] not in bundle:
            bundle = bundle.rstrip("\n") + "\n" + sec["tls.crt"]
    cm["data"]["ca.crt"] = bundle


def test_manifests(spec):
    """The test's manifests: expect/<Test>.yaml's list, else its own."""
    path = os.path.join(replay.EXPECT_DIR, spec["name"] + ".yaml")
    if os.path.exists(path):
        with open(path) as f:
            expect = yaml.safe_load(f)
        if expect.get("manifests"):
            return expect["manifests"]
    return spec.get("manifests", [])


# --------------------------------------------------------------------------
# nginx + controller


class Controller:
    def __init__(self, workdir, block):
        self.mdir = os.path.join(workdir, "manifests")
        os.makedirs(self.mdir, exist_ok=True)
        self.state = tempfile.mkdtemp(prefix="gwtr-", dir="/tmp")
        self.log = os.path.join(workdir, "controller.log")
        self.block = block
        self.proc = None

    def write(self, docs):
        tmp = os.path.join(os.path.dirname(self.mdir), "manifests.new")
        with open(tmp, "w") as f:
            yaml.safe_dump_all(docs, f, sort_keys=False)
        os.replace(tmp, os.path.join(self.mdir, "manifests.yaml"))

    def text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def lives(self):
        return self.text().count("configuration live")

    def marks(self):
        """Where the log is: (manifest loads, configurations live)."""
        text = self.text()
        return text.count("manifests loaded"), \
            text.count("configuration live")

    def wait_applied(self, marks):
        """The manifests written after marks() were loaded and reconciled:
        a new configuration went live, or the rendered configuration did
        not change (no reload follows the load within a few seconds; the
        controller reloads before it writes any status)."""
        loads, lives = marks
        deadline = time.monotonic() + START_DEADLINE
        while self.marks()[0] <= loads:
            if self.proc.poll() is not None or \
                    time.monotonic() >= deadline:
                raise Fail("the controller did not load the step's "
                           "manifests: %s" % self.text()[-800:])
            time.sleep(0.05)
        quiet = time.monotonic() + 3.0
        while time.monotonic() < quiet:
            if self.marks()[1] > lives:
                return
            time.sleep(0.05)
        tail = self.text().rsplit("manifests loaded", 1)[-1]
        if "failed" in tail:
            raise Fail("the step's configuration failed: %s" % tail[-800:])

    def start(self):
        out = open(self.log, "w")
        self.proc = subprocess.Popen(
            [replay.BINARY, "run", "-f", self.mdir, "--state-dir",
             self.state, "--controller-name", replay.CONTROLLER,
             "--default-address", "127.0.%d.250" % self.block,
             "--worker-processes", "1", "--admin-address", "off"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        self.wait_live(0)

    def wait_live(self, before):
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Fail("controller exited %d: %s" % (
                    self.proc.returncode, self.text()[-800:]))
            if self.lives() > before:
                return
            time.sleep(0.05)
        raise Fail("no configuration live within %gs: %s"
                   % (START_DEADLINE, self.text()[-800:]))

    def status(self):
        p = subprocess.run([replay.BINARY, "status", "--state-dir",
                            self.state, "-o", "json"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            return {}
        return {replay.obj_key(i): i
                for i in json.loads(p.stdout).get("items", [])}

    def wait_programmed(self, gw_ref):
        ns, _, name = gw_ref.rpartition("/")
        deadline = time.monotonic() + START_DEADLINE
        last = []
        while time.monotonic() < deadline:
            gw = self.status().get(("Gateway", ns, name))
            last = (gw or {}).get("status", {}).get("conditions", [])
            if any(c["type"] == "Programmed" and c["status"] == "True"
                   for c in last):
                return
            time.sleep(0.2)
        raise Fail("Gateway %s not Programmed: %s"
                   % (gw_ref, [replay.cond_str(c) for c in last]))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.state, ignore_errors=True)

    def error_log(self):
        try:
            with open(os.path.join(self.state, "logs", "error.log"),
                      errors="replace") as f:
                lines = [ln for ln in f if re.search(
                    r"\[(warn|error|crit|alert|emerg)\]", ln)]
            return "".join(lines[-5:]) or "(no warnings or errors)"
        except OSError:
            return ""


# Cases


def run_case(case, target, deadline_s, pods):
    """Send one case's traffic (its kind is its one key that sends)."""
    if "weights" in case:
        run_weights(case, target, pods)
    elif "grpcWeights" in case:
        run_grpc_weights(case, target)
    elif "grpc" in case:
        run_grpc_case(case, target, deadline_s)
    elif "repeat" in case:
        run_repeat(case, target)
    elif "websocket" in case:
        run_websocket(case, target, deadline_s)
    elif "request" in case:
        run_http_case(case, target, deadline_s, pods)
    elif "tcp" in case:
        traffic_l4.run_tcp_case(case, target, deadline_s)
    elif "tcpRepeat" in case:
        traffic_l4.run_tcp_repeat(case, target)
    elif "tcpWeights" in case:
        traffic_l4.run_tcp_weights(case, target)
    elif "tlsReject" in case:
        traffic_l4.run_tls_reject(case, target, deadline_s)
    elif "udp" in case:
        traffic_l4.run_udp_case(case, target, deadline_s)
    elif "udpWeights" in case:
        traffic_l4.run_udp_weights(case, target)
    else:
        raise Fail("replay error: case kind not supported by this runner: "
                   "%s" % sorted(case))


def flatten(cases, gateway, prefix=""):
    """(subtest name, Gateway, case) in order; `- subtest: NAME` groups
    nest and may name the Gateway their requests go to (`gateway:`)."""
    out = []
    for c in cases or []:
        if "subtest" in c:
            out += flatten(c.get("cases"), c.get("gateway", gateway),
                           prefix + c["subtest"] + "/")
        else:
            out.append((prefix.rstrip("/"), gateway, c))
    return out


# --------------------------------------------------------------------------
# One test


class Result(replay.Result):
    pass


def claimed_features(certs, workdir):
    """The GatewayClass's status.supportedFeatures (what the suite reads
    when no feature flags are given)."""
    d = os.path.join(workdir, "features")
    os.makedirs(d, exist_ok=True)
    replay.write_manifests(d, replay.prepare(replay.base_docs(certs)))
    status = replay.run_status(d)
    gwc = status.get(("GatewayClass", "", replay.GATEWAY_CLASS), {})
    out = set()
    for f in gwc.get("status", {}).get("supportedFeatures", []):
        out.add(f["name"] if isinstance(f, dict) else f)
    return out


def apply_step(docs, step, block):
    """Apply a step's deletions and objects to docs as the API server
    would: an updated object keeps its creationTimestamp (and address),
    a created one is a second newer than everything before it (upstream
    creates it after the first assertions). Returns the applied objects
    as written (their Deployments become Pods)."""
    for ref in step.get("delete") or []:
        docs.remove(find(docs, ref["kind"], "%s/%s" % (
            ref.get("namespace", ""), ref["name"])))
    applied = []
    for doc in step.get("apply") or []:
        if isinstance(doc, str):
            doc = yaml.safe_load(doc.replace(
                "{GATEWAY_CLASS_NAME}", replay.GATEWAY_CLASS))
        applied.append(doc)
        key = replay.obj_key(doc)
        old = [d for d in docs if replay.obj_key(d) == key]
        new = replay.prepare([doc])
        if old:
            if doc.get("kind") == "Gateway" and not \
                    doc.get("spec", {}).get("addresses"):
                new[0]["spec"]["addresses"] = old[0]["spec"]["addresses"]
            new[0]["metadata"]["creationTimestamp"] = \
                old[0]["metadata"].get("creationTimestamp")
            docs[docs.index(old[0])] = new[0]
            new = new[1:]
        for d in new:
            d["metadata"]["creationTimestamp"] = \
                replay.next_creation_time(docs)
        place_gateways(new, block)
        docs.extend(new)
    return applied


def run_test(spec, ctx):
    name = spec["name"]
    groups = spec.get("groups", [])
    missing = sorted(set(spec.get("features", [])) - ctx.features)
    if missing and not ctx.assume_all:
        return Result(name, "NOT-APPLICABLE",
                      "needs " + ", ".join(missing), groups)
    workdir = os.path.join(ctx.workdir, name)
    os.makedirs(workdir, exist_ok=True)
    base = replay.base_docs(ctx.certs)
    raw = list(base)
    for m in test_manifests(spec):
        raw += replay.load_yaml_docs(os.path.join(replay.UPSTREAM, m))
    started = []
    ctl = Controller(workdir, ctx.block)
    where = ""
    try:
        one_tls_checks_ca(base)
        ctx.pods.ensure(base)      # the base Pods live as long as the run
        pods, started = ctx.pods.ensure(raw)
        docs = replay.prepare(raw)
        place_gateways(docs, ctx.block)
        wire_endpoints(docs, pods)
        patch_endpoint_slices(docs, pods, spec.get("patchEndpointSlices"))
        ctl.write(docs)
        ctl.start()
        gw_ref = spec["gateway"]
        programmed = set()
        for where, gw, case in flatten(spec.get("cases"), gw_ref):
            if gw not in programmed:
                ctl.wait_programmed(gw)
                programmed.add(gw)
            run_case(case, Target(docs, gw, workdir), ctx.consistency, pods)
        for i, step in enumerate(spec.get("steps") or []):
            where = "step %d" % (i + 1)
            before = ctl.marks()
            applied = apply_step(docs, step, ctx.block)
            gone = {replay.obj_key(a) for a in applied} | {
                ("Deployment", r.get("namespace", ""), r["name"])
                for r in step.get("delete") or []}
            raw = [d for d in raw if d.get("kind") != "Deployment" or
                   replay.obj_key(d) not in gone]
            raw += [d for d in applied if d.get("kind") == "Deployment"]
            pods, more = ctx.pods.ensure(raw)
            started += more
            wire_endpoints(docs, pods)
            ctl.write(docs)
            ctl.wait_applied(before)
            for sub, gw, case in flatten(step.get("cases"),
                                         step.get("gateway", gw_ref)):
                where = "step %d%s" % (i + 1, " " + sub if sub else "")
                run_case(case, Target(docs, gw, workdir), ctx.consistency,
                         pods)
    except Fail as e:
        detail = ("subtest \"%s\": " % where if where else "") + str(e)
        if ctx.verbose:
            detail += "\n    nginx error.log: " + ctl.error_log()
        return Result(name, "FAIL", detail, groups)
    finally:
        ctl.stop()
        ctx.pods.release(started)
    return Result(name, "PASS", "", groups)


# --------------------------------------------------------------------------
# Inputs and reporting


def load_specs(pattern=None):
    specs = []
    for f in sorted(os.listdir(TRAFFIC_DIR)):
        if not f.endswith(".yaml"):
            continue
        with open(os.path.join(TRAFFIC_DIR, f)) as fh:
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
            if line:
                name, _, reason = line.partition(" ")
                known[name] = reason.strip()
    return known


class Context:
    """What the tests of one run share: the address block, certificates,
    the base Pods, the claimed features."""

    def __init__(self, consistency=15.0, verbose=False, assume_all=False):
        self.workdir = tempfile.mkdtemp(prefix="ngx-traffic-")
        self.block, self.lock_fd = lock_block()
        self.certs = replay.Certs(self.workdir)
        self.pods = Pods(self.block, self.workdir)
        self.consistency = consistency
        self.verbose = verbose
        self.features = claimed_features(self.certs, self.workdir)
        self.assume_all = assume_all

    def close(self, keep):
        self.pods.stop_all()
        os.close(self.lock_fd)
        if not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


def print_by_feature(results, feats, claimed):
    """Per feature, the tests needing it and how they did (what to claim
    in supportedFeatures: a feature whose tests all pass)."""
    by = {}
    for r in results:
        for f in feats[r.name]:
            by.setdefault(f, []).append(r)
    print("\nBy feature (--assume-all; * = claimed today):")
    for f in sorted(by):
        rs = by[f]
        bad = [r.name for r in rs if r.outcome != "PASS"]
        print("%s %-50s %2d/%-2d pass%s" % (
            "*" if f in claimed else " ", f, len(rs) - len(bad), len(rs),
            ("  failing: " + ", ".join(bad)) if bad else ""))


def preflight():
    replay.preflight()
    if os.geteuid() != 0:
        raise SystemExit("traffic.py needs root (Gateway ports 80/443)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-k", metavar="NAME",
                    help="only tests whose name matches this regex")
    ap.add_argument("-v", action="store_true",
                    help="keep the work directory (manifests, pod and "
                         "controller logs) and say where")
    ap.add_argument("--consistency", type=float, default=15.0,
                    metavar="SECONDS", help="MaxTimeToConsistency per "
                    "request (upstream default 30; default %(default)s)")
    ap.add_argument("--assume-all", action="store_true",
                    help="run tests needing features the GatewayClass "
                         "does not claim (see how far they are)")
    ap.add_argument("--json", metavar="FILE",
                    help="also write the results as JSON")
    args = ap.parse_args()
    preflight()
    specs = load_specs(args.k)
    feats = {s["name"]: s.get("features", []) for s in specs}
    known = load_known_failures()
    ctx = Context(args.consistency, args.v, args.assume_all)
    ok = True
    totals = {}
    results = []
    try:
        for spec in specs:
            began = time.monotonic()
            r = run_test(spec, ctx)
            r.seconds = time.monotonic() - began
            results.append(r)
            label, good = replay.verdict(r, known)
            ok = ok and good
            detail = "\n    " + r.detail if r.outcome == "FAIL" else ""
            took = " (%.0fs)" % r.seconds if r.seconds >= 1 else ""
            print("%-52s %s%s%s" % (r.name, label, took, detail),
                  flush=True)
            for g in r.groups:
                t = totals.setdefault(g, {"PASS": 0, "FAIL": 0,
                                          "NOT-APPLICABLE": 0})
                t[r.outcome] += 1
    finally:
        ctx.close(args.v)
    print()
    for g in replay.GROUP_ORDER + sorted(set(totals) -
                                         set(replay.GROUP_ORDER)):
        if g in totals:
            t = totals[g]
            print("%-22s %2d pass, %2d fail, %2d not applicable (of %d "
                  "replayed)" % (g, t["PASS"], t["FAIL"],
                                 t["NOT-APPLICABLE"], sum(t.values())))
    if args.assume_all:
        print_by_feature(results, feats, ctx.features)
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"name": r.name, "outcome": r.outcome,
                        "detail": r.detail, "features": feats[r.name],
                        "seconds": round(r.seconds, 1)}
                       for r in results], f, indent=1)
    if args.v:
        print("work directory kept in " + ctx.workdir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
