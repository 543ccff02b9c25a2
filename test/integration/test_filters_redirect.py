"""RequestRedirect's Location port on HTTP and HTTPS listeners.

The spec (v1.6.1 HTTPRequestRedirectFilter): without a port, the port is
the given scheme's well-known one, or, without a scheme, the listener's;
the Location leaves the port out when it is its scheme's default (http
80, https 443).  A Gateway `redirect-gateway` on 127.0.X.2 has an HTTP
listener on 8080 and an HTTPS listener on 443 (plus the port offset
without root); one route on both answers only redirects.  curl reads the
status and the Location header; nothing follows it.
"""

import subprocess

import pytest
import yaml

from conftest import PORT_OFFSET, wait_for
from test_https import make_cert, secret_doc

HOST = "redirect.example.com"
HTTP_PORT = 8080 + PORT_OFFSET
HTTPS_PORT = 443 + PORT_OFFSET

RULES = [
    # (path prefix, requestRedirect)
    ("/keep", {"hostname": "example.org"}),
    ("/port443", {"port": 443}),
    ("/port80", {"port": 80}),
    ("/to-http", {"scheme": "http"}),
    ("/to-https", {"scheme": "https", "statusCode": 301}),
    ("/to-https-port", {"scheme": "https", "port": 8443}),
    ("/to-http-port443", {"scheme": "http", "port": 443}),
    ("/prefix", {"path": {"type": "ReplacePrefixMatch",
                          "replacePrefixMatch": "/new"}}),
]


def port_part(scheme, port):
    """":port" unless port is the scheme's default."""
    return "" if (scheme, port) in (("http", 80), ("https", 443)) \
        else f":{port}"


def docs(addr, crt, key):
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "redirect-gateway", "namespace": "default"},
        "spec": {
            "gatewayClassName": "nginx-gateway",
            "addresses": [{"type": "IPAddress", "value": addr}],
            "listeners": [
                {"name": "http", "port": 8080, "protocol": "HTTP"},
                {"name": "https", "port": 443, "protocol": "HTTPS",
                 "tls": {"certificateRefs": [{"name": "redirect-cert"}]}}]}}
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "redirects", "namespace": "default"},
        "spec": {
            "parentRefs": [{"name": "redirect-gateway"}],
            "hostnames": [HOST],
            "rules": [{"matches": [{"path": {"type": "PathPrefix",
                                             "value": path}}],
                       "filters": [{"type": "RequestRedirect",
                                    "requestRedirect": rr}]}
                      for path, rr in RULES]}}
    return [gateway, secret_doc("redirect-cert", crt, key), route]


def get(addr, scheme, path):
    """(status, Location) of GET scheme://HOST:port/path at addr."""
    port = HTTPS_PORT if scheme == "https" else HTTP_PORT
    res = subprocess.run(
        ["curl", "-sk", "--max-time", "5", "-o", "/dev/null", "-w",
         "%{http_code} %header{location}", "--resolve",
         f"{HOST}:{port}:{addr}", f"{scheme}://{HOST}:{port}{path}"],
        capture_output=True, text=True, timeout=10)
    if res.returncode != 0:
        return None, res.stderr
    code, _, location = res.stdout.partition(" ")
    return int(code), location


@pytest.fixture
def redirects(stack):
    certs = stack.tmp / "certs"
    certs.mkdir()
    crt, key = make_cert(certs, "redirect", HOST)
    stack.manifests.write("redirect.yaml",
                          yaml.safe_dump_all(docs(stack.net.gw2, crt, key),
                                             sort_keys=False))
    stack.start_controller()
    for scheme in ("http", "https"):
        wait_for(lambda: get(stack.net.gw2, scheme, "/keep")[0] == 302,
                 timeout=15, what=f"{scheme} redirects to be live")
    return stack


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_location_port_follows_the_spec(redirects, scheme):
    listener = HTTPS_PORT if scheme == "https" else HTTP_PORT
    want = {
        # no scheme, no port: the listener's port, left out when default
        # (as root the HTTPS listener is on 443 itself: no ":443")
        "/keep/a?b=c": (302, f"{scheme}://example.org"
                        f"{port_part(scheme, listener)}/keep/a?b=c"),
        # a port without a scheme: the request's scheme decides
        "/port443": (302, f"{scheme}://{HOST}"
                     f"{port_part(scheme, 443)}/port443"),
        "/port80": (302, f"{scheme}://{HOST}{port_part(scheme, 80)}/port80"),
        # a scheme without a port: its well-known port, never written
        "/to-http": (302, f"http://{HOST}/to-http"),
        "/to-https/x": (301, f"https://{HOST}/to-https/x"),
        # both: written unless the default of that scheme
        "/to-https-port": (302, f"https://{HOST}:8443/to-https-port"),
        "/to-http-port443": (302, f"http://{HOST}:443/to-http-port443"),
        "/prefix/a": (302, f"{scheme}://{HOST}"
                      f"{port_part(scheme, listener)}/new/a"),
    }
    for path, expected in want.items():
        assert get(redirects.net.gw2, scheme, path) == expected, \
            (scheme, path)

