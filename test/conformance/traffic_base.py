"""What the traffic replay's modules share: the failure type, the
upstream timing constants, where a test's requests go (Target) and the
upstream weight helper's arithmetic (conformance/utils/weight)."""

import base64
import os
import time

import replay

PYTHON = "/usr/bin/python3"

# conformance/utils/config TimeoutConfig defaults: 3 consecutive
# successes; MaxTimeToConsistency is 30 s upstream (--consistency).
CONSECUTIVE = 3
REQUEST_TIMEOUT = 10.0
START_DEADLINE = 30.0


class Fail(Exception):
    """A traffic expectation did not hold; the message says how."""


def find(docs, kind, ref):
    ns, _, name = ref.rpartition("/")
    for d in docs:
        if replay.obj_key(d) == (kind, ns, name):
            return d
    raise Fail("replay error: no %s %s in the manifests" % (kind, ref))


def secret_data(doc):
    """A Secret's (or ConfigMap's) data, decoded."""
    data = dict(doc.get("stringData") or {})
    for k, v in (doc.get("data") or {}).items():
        if doc.get("kind") == "Secret":
            v = base64.b64decode(v).decode()
        data[k] = v
    return data


class Target:
    """Where a test's requests go: the Gateway's address and ports, and
    the Secrets / ConfigMaps a client trusts or presents."""

    def __init__(self, docs, gw_ref, workdir=None):
        gw = find(docs, "Gateway", gw_ref)
        addrs = gw.get("spec", {}).get("addresses") or []
        if not addrs:
            raise Fail("replay error: Gateway %s has no address" % gw_ref)
        self.addr = addrs[0]["value"]
        self.listeners = gw["spec"].get("listeners") or [{}]
        self.port = self.listeners[0].get("port", 80)
        self.docs = docs
        self.workdir = workdir

    def port_of(self, spec):
        """spec's `port`, else its `listener`'s port, else the first
        listener's (upstream WaitForGatewayAddress)."""
        if spec.get("port"):
            return int(spec["port"])
        name = spec.get("listener")
        if not name:
            return int(self.port)
        for li in self.listeners:
            if li.get("name") == name:
                return int(li["port"])
        raise Fail("replay error: no listener %s on the Gateway" % name)

    def scheme_of(self, port):
        """https when the listeners on that port terminate TLS."""
        for li in self.listeners:
            if int(li.get("port", 0)) == int(port):
                return "https" if li.get("protocol") == "HTTPS" else "http"
        return "http"

    def data(self, kind, ref, key):
        value = secret_data(find(self.docs, kind, ref)).get(key)
        if value is None:
            raise Fail("replay error: %s %s has no %s" % (kind, ref, key))
        return value

    def pem_file(self, kind, ref, key):
        """The value as a file (ssl wants files for client certificates)."""
        path = os.path.join(self.workdir, "%s-%s-%s" % (
            kind, ref.replace("/", "_"), key))
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(self.data(kind, ref, key))
        return path


def eventually(attempt, deadline_s, what, consecutive=1):
    """Call attempt() (None = success, else why not) every second until
    it succeeds `consecutive` times in a row; Fail after deadline_s."""
    start = time.monotonic()
    successes = 0
    last = "no attempt"
    while True:
        why = attempt()
        if why is None:
            successes += 1
            if successes >= consecutive:
                return
            continue
        successes = 0
        last = why
        if time.monotonic() - start >= deadline_s:
            raise Fail("%s: %s (after %gs)" % (what, last, deadline_s))
        time.sleep(1.0)


def backend_of_pod(pod):
    """utils/weight: the pod name without its last two parts."""
    parts = pod.split("-")
    return "-".join(parts[:-2]) if len(parts) > 2 else pod


def weights_mismatch(counts, expected, total, tolerance):
    for b in counts:
        if b not in expected:
            return "unexpected answers %r x%d (counts %s)" % (
                b, counts[b], counts)
    for b, want in expected.items():
        share = counts.get(b, 0) / total
        if want == 0 and counts.get(b, 0):
            return "%s has weight 0 but got %d requests" % (b, counts[b])
        if abs(share - want) > tolerance:
            return "%s got %.3f of the requests, want %.2f +- %.2f " \
                   "(counts %s)" % (b, share, want, tolerance, counts)
    return None

