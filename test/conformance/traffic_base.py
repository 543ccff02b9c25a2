"""What the traffic replay's modules share: the failure type, the
upstream timing constants, where a test's requests go (Target) and the
upstream weight helper's arithmetic (conformance/utils/weight)."""

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


class Target:
    """Where a test's requests go: the Gateway's address and ports."""

    def __init__(self, docs, gw_ref):
        gw = find(docs, "Gateway", gw_ref)
        addrs = gw.get("spec", {}).get("addresses") or []
        if not addrs:
            raise Fail("replay error: Gateway %s has no address" % gw_ref)
        self.addr = addrs[0]["value"]
        listeners = gw["spec"].get("listeners") or [{}]
        self.port = listeners[0].get("port", 80)
        self.protocol = listeners[0].get("protocol", "HTTP")


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

