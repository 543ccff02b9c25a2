"""No resource field can inject nginx syntax (issue 4, last point).

Every string field of the Gateway API kinds (from the v1.6.1 CRD schemas:
hostile.crd_fields()), metadata, and the core fields the controller reads
gets each hostile value of hostile.PAYLOADS (quotes, braces, ';', line
breaks, '$' variables, '#', backslash, control characters, unicode, 64 KiB,
nginx directive text).  For each (field, value) one world of objects is
built (hostile.world()); all fields of one value are rendered together
with `ngx-gateway render`, and the configuration must

  - render at all (one hostile object must not take every other
    Gateway's configuration down with it),
  - pass `nginx -t` with our modules loaded,
  - hold the value only as one argument (or a comment that does not end
    early): read with nginx's tokenizer, a token holding the value's
    start marker holds its end marker after it.

A failing batch is split until the failing field is found; the failure
lists (kind, field, reason) for every field that failed.

Fields not walked, and why: hostile.SKIPPED.
"""

import tempfile

import pytest

import hostile

FIELDS = hostile.all_fields()


@pytest.fixture(scope="module")
def batch():
    with tempfile.TemporaryDirectory(prefix="gwhostile-") as tmp:
        cert, key = hostile.make_cert(tmp)
        yield hostile.Batch(tmp, cert, key)


def test_fields_come_from_the_schemas():
    """The walk finds the fields a user would name, in every kind."""
    kinds = {k for k, _ in FIELDS}
    assert set(hostile.CRD_KINDS) <= kinds
    for f in [("HTTPRoute", "spec.rules[].matches[].path.value"),
              ("HTTPRoute", "spec.rules[].filters[].requestHeaderModifier"
                            ".set[].value"),
              ("HTTPRoute", "spec.hostnames[]"),
              ("GRPCRoute", "spec.rules[].matches[].method.service"),
              ("Gateway", "spec.listeners[].hostname"),
              ("Gateway", "spec.addresses[].value"),
              ("Gateway", "spec.infrastructure.annotations{}"),
              ("BackendTLSPolicy", "spec.validation.hostname"),
              ("ReferenceGrant", "spec.from[].namespace"),
              ("Secret", "data{}"),
              ("HTTPRoute", "metadata.name")]:
        assert f in FIELDS, f
    assert len(FIELDS) > 300


def test_base_world_renders_every_kind(batch):
    """The benign world reaches every block the hostile values aim at;
    otherwise a field's value could be dropped for an unrelated reason."""
    ok, detail, files = batch.run({0: hostile.hostile_world(
        0, batch.cert, batch.key, "Namespace", "metadata.labels{}",
        "ok")[0]})
    assert ok, detail
    text = "".join(files.values())
    for want in ["gateway_match @h0/web:0:0 \"method=GET\" \"header:X-H=h\"",
                 "proxy_set_header X-Set \"s\";",
                 "add_header X-RSet \"s\" always;",
                 "return 302 https://r.example.com",
                 "proxy_ssl_name secure.example.com;",
                 "ssl_certificate \"",
                 "ssl_client_certificate \"",
                 "listen 127.201.0.1:20081",
                 "upstream h0b_app2_80",
                 "proxy_pass h0_app_80;",
                 "listen 127.201.0.1:20353 udp;",
                 "pass.example.com h0_app_443;",
                 "grpc_pass grpc://"]:
        assert want in text, want


@pytest.mark.parametrize("name", sorted(hostile.PAYLOADS))
def test_hostile_value_in_every_field(batch, name):
    payload = hostile.PAYLOADS[name]
    worlds, labels = {}, {}
    for i, (kind, path) in enumerate(FIELDS):
        n = i + 1
        worlds[n], _ = hostile.hostile_world(n, batch.cert, batch.key,
                                             kind, path, payload)
        labels[n] = "%s %s" % (kind, path)

    bad = batch.check(worlds, labels)

    assert not bad, "%d field(s) with the %s value:\n%s" % (
        len(bad), name, "\n".join("  %s: %s" % (labels[n], bad[n][:400])
                                  for n in sorted(bad)))
