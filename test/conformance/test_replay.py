"""pytest wrapper of replay.py: one case per upstream conformance test.

NOT-APPLICABLE -> skip (with the reason; skips are not passes); tests listed
in known-failures.txt -> xfail(strict=True), so a fixed bug fails the run
until its line is removed.
"""

import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import replay  # noqa: E402

SPECS = replay.load_specs()
KNOWN = replay.load_known_failures()


@pytest.fixture(scope="module")
def env():
    replay.preflight()
    workdir = tempfile.mkdtemp(prefix="ngx-conformance-")
    yield workdir, replay.Certs(workdir)
    shutil.rmtree(workdir, ignore_errors=True)


def check(result, request):
    if result.name in KNOWN:
        request.node.add_marker(pytest.mark.xfail(
            reason=KNOWN[result.name], strict=True))
    if result.outcome == "NOT-APPLICABLE":
        pytest.skip(result.detail)
    assert result.outcome == "PASS", result.detail


def test_Setup(env, request):
    workdir, certs = env
    check(replay.run_setup(certs, workdir), request)


@pytest.mark.parametrize("spec", SPECS, ids=[s["name"] for s in SPECS])
def test_conformance(spec, env, request):
    workdir, certs = env
    check(replay.run_test(spec, certs, workdir), request)


def test_known_failures_name_real_tests():
    names = {s["name"] for s in SPECS} | {"Setup"}
    assert set(KNOWN) <= names, sorted(set(KNOWN) - names)
