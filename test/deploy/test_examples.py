"""
examples/helm-environments and examples/cert-manager, offline: the
per-environment chart renders the listeners each environment asks for,
make-secret.sh writes a usable TLS Secret, and `ngx-gateway status -f`
computes for them what `kubectl describe` would show.
"""

import base64
import json
import os
import shutil
import subprocess

import pytest
import yaml

from conftest import REPO, run_helm

ENVS = os.path.join(REPO, "examples", "helm-environments")
CERT = os.path.join(REPO, "examples", "cert-manager")
BINARY = os.path.join(REPO, "build", "ngx-gateway")
GATEWAY_CLASS = {
    "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
    "metadata": {"name": "nginx-gateway"},
    "spec": {"controllerName": "ngx-gateway.io/gateway-controller"}}


def status(directory):
    assert os.path.exists(BINARY), "build/ngx-gateway: run `make all` first"
    r = subprocess.run([BINARY, "status", "-f", directory, "-o", "json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return {(i["kind"], i["metadata"]["name"]): i
            for i in json.loads(r.stdout)["items"]}


def listener_conditions(gw, name):
    for ls in gw["status"]["listeners"]:
        if ls["name"] == name:
            return {c["type"]: c for c in ls["conditions"]}
    raise AssertionError("no listener status %r" % name)


def https_today(conds):
    """nginx terminates HTTPS: the listener is accepted, its Secret
    resolved, and it is programmed."""
    for t in ("Accepted", "ResolvedRefs", "Programmed"):
        assert conds[t]["status"] == "True", conds


@pytest.mark.parametrize("env, tls", [("dev", False), ("staging", True),
                                      ("prod", True)])
def test_helm_environment(helm, tmp_path, env, tls):
    chart = os.path.join(ENVS, "mychart")
    values = os.path.join(ENVS, "values-%s.yaml" % env)
    r = run_helm(helm, "lint", "--strict", chart, "-f", values)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_helm(helm, "template", "myapp", chart, "-f", values,
                 "--namespace", env)
    assert r.returncode == 0, r.stderr
    gw = yaml.safe_load(r.stdout)
    assert gw["kind"] == "Gateway"
    assert gw["metadata"]["name"] == "myapp-myapp-gateway"
    assert gw["spec"]["gatewayClassName"] == "nginx-gateway"
    names = [ls["name"] for ls in gw["spec"]["listeners"]]
    assert names == (["http", "https"] if tls else ["http"])
    if tls:
        https = gw["spec"]["listeners"][1]
        assert https["tls"]["mode"] == "Terminate"
        assert https["tls"]["certificateRefs"][0]["name"] \
            == {"staging": "staging-cert", "prod": "my-cert"}[env]

    # what ngx-gateway makes of it (with the class and, for TLS, a Secret)
    gw["metadata"]["namespace"] = env
    docs = [GATEWAY_CLASS, gw]
    with open(tmp_path / "gateway.yaml", "w") as f:
        yaml.safe_dump_all(docs, f)
    if tls:
        secret = tmp_path / "secret.yaml"
        subprocess.run(["bash", os.path.join(CERT, "standalone",
                                             "make-secret.sh"),
                        gw["spec"]["listeners"][0]["hostname"],
                        str(secret)], check=True, capture_output=True)
        doc = yaml.safe_load(secret.read_text())
        doc["metadata"].update(namespace=env, name=https["tls"][
            "certificateRefs"][0]["name"])
        secret.write_text(yaml.safe_dump(doc))
    st = status(str(tmp_path))
    got = st[("Gateway", "myapp-myapp-gateway")]
    http = listener_conditions(got, "http")
    assert http["Accepted"]["status"] == "True"
    if tls:
        https_today(listener_conditions(got, "https"))


def test_helm_environment_requires_the_secret_name(helm):
    r = run_helm(helm, "template", "myapp", os.path.join(ENVS, "mychart"),
                 "--set", "gateway.enableTLS=true")
    assert r.returncode != 0
    assert "gateway.tlsSecret is required" in r.stderr


def test_make_secret_writes_a_tls_secret(tmp_path):
    out = tmp_path / "secret.yaml"
    subprocess.run(["bash", os.path.join(CERT, "standalone",
                                         "make-secret.sh"),
                    "game.example.com", str(out)], check=True,
                   capture_output=True)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    doc = yaml.safe_load(out.read_text())
    assert doc["type"] == "kubernetes.io/tls"
    assert doc["metadata"] == {"name": "my-cert", "namespace": "default"}
    crt, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    crt.write_bytes(base64.b64decode(doc["data"]["tls.crt"]))
    key.write_bytes(base64.b64decode(doc["data"]["tls.key"]))
    text = subprocess.run(["openssl", "x509", "-in", str(crt), "-noout",
                           "-text"], check=True, capture_output=True,
                          text=True).stdout
    assert "DNS:game.example.com" in text
    # the key belongs to the certificate
    pub_crt = subprocess.run(["openssl", "x509", "-in", str(crt), "-noout",
                              "-pubkey"], check=True, capture_output=True)
    pub_key = subprocess.run(["openssl", "pkey", "-in", str(key),
                              "-pubout"], check=True, capture_output=True)
    assert pub_crt.stdout == pub_key.stdout


def test_cert_manager_standalone_status(tmp_path):
    subprocess.run(["bash", os.path.join(CERT, "standalone",
                                         "make-secret.sh"),
                    "game.example.com", str(tmp_path / "secret.yaml")],
                   check=True, capture_output=True)
    for f in ("gateway.yaml", "standalone/gatewayclass.yaml",
              "standalone/backend.yaml"):
        shutil.copy(os.path.join(CERT, f), tmp_path)
    st = status(str(tmp_path))
    gw = st[("Gateway", "game-gateway")]
    assert listener_conditions(gw, "http")["Accepted"]["status"] == "True"
    https_today(listener_conditions(gw, "https"))
    route = st[("HTTPRoute", "web")]
    conds = {c["type"]: c["status"]
             for c in route["status"]["parents"][0]["conditions"]}
    assert conds["Accepted"] == "True" and conds["ResolvedRefs"] == "True"
    # the cert-manager manifests name the same Secret the Gateway uses
    cert = yaml.safe_load(open(os.path.join(CERT, "certificate.yaml")))
    gw_doc = next(d for d in yaml.safe_load_all(
        open(os.path.join(CERT, "gateway.yaml"))) if d["kind"] == "Gateway")
    refs = gw_doc["spec"]["listeners"][1]["tls"]["certificateRefs"]
    assert refs[0]["name"] == cert["spec"]["secretName"] == "my-cert"
    assert cert["spec"]["dnsNames"] == [gw_doc["spec"]["listeners"][1][
        "hostname"]]
