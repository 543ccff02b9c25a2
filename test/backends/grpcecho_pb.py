"""The conformance gRPC echo messages, encoded by hand (no protoc here).

conformance/echo-basic/grpcecho.proto (package
gateway_api_conformance.echo_basic.grpcecho):

  EchoRequest  {}
  EchoResponse {Assertions assertions = 1; EchoRequest request = 2;}
  Assertions   {string fully_qualified_method = 1; repeated Header headers
                = 2; string authority = 3; Context context = 4;
                TLSAssertions tls_assertions = 5;}
  Header       {string key = 1; string value = 2;}
  Context      {string namespace = 1; string ingress = 2;
                string service_name = 3; string pod = 4;}
  TLSAssertions{string version = 1; string negotiated_protocol = 2;
                string server_name = 3; string cipher_suite = 4;
                repeated string peer_certificates = 5;}

Only length-delimited fields (wire type 2) occur, so a message is a list
of (field number, bytes). Python dicts stand for the messages, with the
proto's field names.
"""

SERVICE = "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho"

# message -> [(field number, name, sub-message or None, repeated)]
SCHEMA = {
    "EchoResponse": [(1, "assertions", "Assertions", False),
                     (2, "request", "EchoRequest", False)],
    "EchoRequest": [],
    "Assertions": [(1, "fully_qualified_method", None, False),
                   (2, "headers", "Header", True),
                   (3, "authority", None, False),
                   (4, "context", "Context", False),
                   (5, "tls_assertions", "TLSAssertions", False)],
    "Header": [(1, "key", None, False), (2, "value", None, False)],
    "Context": [(1, "namespace", None, False), (2, "ingress", None, False),
                (3, "service_name", None, False), (4, "pod", None, False)],
    "TLSAssertions": [(1, "version", None, False),
                      (2, "negotiated_protocol", None, False),
                      (3, "server_name", None, False),
                      (4, "cipher_suite", None, False),
                      (5, "peer_certificates", None, True)],
}


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_varint(data, pos):
    shift = 0
    n = 0
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7f) << shift
        if not b & 0x80:
            return n, pos
        shift += 7


def encode(msg_type, value):
    """bytes of the message msg_type from a dict."""
    out = bytearray()
    for num, name, sub, repeated in SCHEMA[msg_type]:
        if name not in value or value[name] is None:
            continue
        items = value[name] if repeated else [value[name]]
        for item in items:
            if sub is None:
                data = item.encode()
                if not data and not repeated:
                    continue          # proto3: empty string not written
            else:
                data = encode(sub, item)
            out += _varint(num << 3 | 2) + _varint(len(data)) + data
    return bytes(out)


def decode(msg_type, data):
    """dict of the message msg_type from bytes (unknown fields skipped)."""
    fields = {num: (name, sub, repeated)
              for num, name, sub, repeated in SCHEMA[msg_type]}
    out = {}
    for _, name, sub, repeated in SCHEMA[msg_type]:
        out[name] = [] if repeated else ("" if sub is None else None)
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        wire = key & 7
        if wire == 0:
            _, pos = _read_varint(data, pos)
            continue
        if wire == 1:
            pos += 8
            continue
        if wire == 5:
            pos += 4
            continue
        length, pos = _read_varint(data, pos)
        chunk = data[pos:pos + length]
        pos += length
        if key >> 3 not in fields:
            continue
        name, sub, repeated = fields[key >> 3]
        item = chunk.decode() if sub is None else decode(sub, chunk)
        if repeated:
            out[name].append(item)
        else:
            out[name] = item
    return out
