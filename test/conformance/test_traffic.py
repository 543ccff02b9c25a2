"""pytest wrapper of traffic.py: one case per upstream conformance test
whose traffic is replayed (traffic/<Test>.yaml).

NOT-APPLICABLE (a feature the GatewayClass does not claim) -> skip with
the reason (skips are not passes); tests listed in
known-traffic-failures.txt -> xfail(strict=True), so a fixed bug fails the
run until its line is removed. Needs root (ports 80/443) and a build
(make -j2 all).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import traffic  # noqa: E402
import traffic_schema  # noqa: E402

SPECS = traffic.load_specs()
KNOWN = traffic.load_known_failures()
CASE_KINDS = {"request", "weights", "grpc", "grpcWeights", "repeat",
              "websocket", "tcp", "tcpRepeat", "tcpWeights", "tlsReject",
              "udp", "udpWeights", "subtest"}


@pytest.fixture(scope="module")
def ctx():
    traffic.preflight()
    c = traffic.Context()
    yield c
    c.close(keep=False)


@pytest.mark.parametrize("spec", SPECS, ids=[s["name"] for s in SPECS])
def test_traffic(spec, ctx, request):
    if spec["name"] in KNOWN:
        request.node.add_marker(pytest.mark.xfail(
            reason=KNOWN[spec["name"]], strict=True))
    result = traffic.run_test(spec, ctx)
    if result.outcome == "NOT-APPLICABLE":
        pytest.skip(result.detail)
    assert result.outcome == "PASS", result.detail


def test_known_failures_name_real_tests():
    names = {s["name"] for s in SPECS}
    assert set(KNOWN) <= names, sorted(set(KNOWN) - names)


@pytest.mark.parametrize("spec", SPECS, ids=[s["name"] for s in SPECS])
def test_data_file_is_well_formed(spec):
    """Known keys and one case kind per case (traffic_schema.py)."""
    problems = traffic_schema.check_spec(spec, spec["name"] + ".yaml")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("spec", SPECS, ids=[s["name"] for s in SPECS])
def test_data_file_is_complete(spec):
    """Every file names its source, groups (maybe none) and Gateway, and
    has requests (a file without cases would pass without testing
    anything)."""
    for key in ("source", "features", "gateway"):
        assert spec.get(key), "%s: no %s" % (spec["name"], key)
    # a test in no profile (GRPCRouteNamedRule) has an empty list
    assert isinstance(spec.get("groups"), list), spec["name"] + ": no groups"
    cases = traffic.flatten(spec.get("cases"), spec["gateway"])
    for step in spec.get("steps") or []:
        cases += traffic.flatten(step.get("cases"), spec["gateway"])
    assert cases, spec["name"] + ": no cases"
    for _, _, case in cases:
        assert set(case) & CASE_KINDS, "%s: a case sends nothing: %s" % (
            spec["name"], case)
