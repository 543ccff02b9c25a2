#!/usr/bin/python3
"""A small DNS responder standing in for the conformance `coredns` Pod.

The base manifests run coredns with the Corefile

    .:53          { forward . 8.8.8.8 9.9.9.9 }
    foo.bar.com:53 { whoami }

and UDPRoute tests query `foo.bar.com. A` through the Gateway. This
answers queries in the zone foo.bar.com the way coredns' whoami plugin
does (NOERROR, empty answer section, the client's address as an A (or
AAAA) record and its port as an _udp SRV record in the additional
section) and every other name with SERVFAIL (we do not forward).

Usage: dns_whoami.py --listen 127.0.0.10:53 [--zone foo.bar.com]
Once bound it prints "listening on ADDR:PORT"; each query is logged.
SIGTERM / SIGINT stop it with exit status 0.
"""

import argparse
import ipaddress
import signal
import socket
import struct
import sys

TYPE_A, TYPE_AAAA, TYPE_SRV, CLASS_IN = 1, 28, 33, 1
RCODE_SERVFAIL, RCODE_FORMERR = 2, 1


def read_name(msg, off):
    """The dotted name at off (no compression in questions) and the
    offset after it."""
    labels = []
    while True:
        if off >= len(msg):
            raise ValueError("name runs past the message")
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels).lower(), off
        if n & 0xC0:
            raise ValueError("compressed name in the question")
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def rr(name, rtype, rdata):
    return encode_name(name) + struct.pack("!HHIH", rtype, CLASS_IN, 0,
                                           len(rdata)) + rdata


def answer(query, peer, zone):
    """The reply to one query datagram, or None when it is no query."""
    if len(query) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", query[:6])
    if flags & 0x8000:
        return None                      # a response, not a query
    rd = flags & 0x0100
    if qdcount != 1:
        return struct.pack("!HHHHHH", qid, 0x8000 | rd | RCODE_FORMERR,
                           0, 0, 0, 0)
    name, off = read_name(query, 12)
    question = query[12:off + 4]
    in_zone = name == zone or name.endswith("." + zone)
    if not in_zone:
        return struct.pack("!HHHHHH", qid, 0x8000 | rd | RCODE_SERVFAIL,
                           1, 0, 0, 0) + question
    ip = ipaddress.ip_address(peer[0])
    addr_rr = rr(name, TYPE_A if ip.version == 4 else TYPE_AAAA,
                 ip.packed)
    srv_rr = rr("_udp." + name, TYPE_SRV,
                struct.pack("!HHH", 0, 0, peer[1]) + encode_name(name))
    # QR, AA, RD echoed; one question, no answer, two additional records
    return struct.pack("!HHHHHH", qid, 0x8400 | rd, 1, 0, 0, 2) + \
        question + addr_rr + srv_rr


def main(argv=None):
    p = argparse.ArgumentParser(description="whoami DNS responder")
    p.add_argument("--listen", metavar="ADDR:PORT", default="127.0.0.1:53")
    p.add_argument("--zone", default="foo.bar.com")
    args = p.parse_args(argv)
    zone = args.zone.strip(".").lower()
    host, _, port = args.listen.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host or "127.0.0.1", int(port)))
    except (OSError, ValueError) as e:
        sys.stderr.write("dns_whoami.py: cannot listen on %s: %s\n"
                         % (args.listen, e))
        return 1
    sock.settimeout(0.5)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    print("listening on %s:%d" % sock.getsockname(), flush=True)
    while not stopping:
        try:
            data, peer = sock.recvfrom(4096)
        except socket.timeout:
            continue
        except OSError:
            if stopping:
                break
            raise
        try:
            reply = answer(data, peer, zone)
        except ValueError as e:
            print("bad query from %s:%d: %s" % (peer[0], peer[1], e),
                  flush=True)
            continue
        if reply is not None:
            print("query from %s:%d answered" % peer, flush=True)
            sock.sendto(reply, peer)
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
