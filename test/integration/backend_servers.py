#!/usr/bin/python3
"""Small test-local backends for test_backend_*.py.

  backend_servers.py h2c --listen ADDR:PORT [--pod NAME]
      HTTP/2 cleartext with prior knowledge only (an HTTP/1.x request is
      refused by the h2 library): answers every request with a JSON body
      like the conformance echo's: path, method, proto ("HTTP/2.0"),
      headers, pod.

  backend_servers.py ws --listen ADDR:PORT [--pod NAME]
      HTTP/1.1: GET /ws with "Upgrade: websocket" completes the RFC 6455
      handshake and then echoes every text frame back; any other request
      gets a JSON body (path, proto, headers, pod, connection, the number
      of requests seen on that connection: keepalive shows as > 1).

Each prints "listening on ADDR:PORT" once bound; SIGTERM exits 0.
"""

import argparse
import base64
import hashlib
import json
import signal
import socket
import struct
import sys
import threading

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC11B85"


def serve(addr, port, handler, pod):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    print(f"listening on {addr}:{s.getsockname()[1]}", flush=True)
    conn_id = 0
    while True:
        c, _ = s.accept()
        conn_id += 1
        threading.Thread(target=handler, args=(c, pod, conn_id),
                         daemon=True).start()


# ------------------------------------------------------------------ h2c

def h2c_conn(sock, pod, conn_id):
    import h2.config
    import h2.connection
    import h2.events

    conn = h2.connection.H2Connection(
        config=h2.config.H2Configuration(client_side=False,
                                         header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    requests = {}
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    requests[ev.stream_id] = ev.headers
                if isinstance(ev, h2.events.StreamEnded):
                    hdrs = requests.pop(ev.stream_id, [])
                    h2c_answer(conn, ev.stream_id, hdrs, pod)
            sock.sendall(conn.data_to_send())
    except Exception as e:      # a refused HTTP/1.1 preface, a reset
        print(f"connection {conn_id}: {e!r}", flush=True)
    finally:
        sock.close()


def h2c_answer(conn, stream_id, hdrs, pod):
    pseudo = {k: v for k, v in hdrs if k.startswith(":")}
    headers = {}
    for k, v in hdrs:
        if not k.startswith(":"):
            headers.setdefault(k.title(), []).append(v)
    body = json.dumps({"path": pseudo.get(":path"),
                       "method": pseudo.get(":method"),
                       "host": pseudo.get(":authority"),
                       "proto": "HTTP/2.0", "headers": headers,
                       "pod": pod}).encode()
    conn.send_headers(stream_id, [(":status", "200"),
                                  ("content-type", "application/json"),
                                  ("content-length", str(len(body)))])
    conn.send_data(stream_id, body, end_stream=True)


# ------------------------------------------------------------- WebSocket

def read_head(f):
    line = f.readline()
    if not line:
        return None, None
    headers = {}
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers.setdefault(k.strip().title(), []).append(v.strip())
    return line.decode("latin-1").split(), headers


def ws_frame_read(f):
    b = f.read(2)
    if len(b) < 2:
        return None, None
    op = b[0] & 0x0F
    n = b[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", f.read(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", f.read(8))[0]
    mask = f.read(4) if b[1] & 0x80 else b"\0\0\0\0"
    data = bytes(x ^ mask[i % 4] for i, x in enumerate(f.read(n)))
    return op, data


def ws_frame(op, data):
    n = len(data)
    if n < 126:
        head = bytes([0x80 | op, n])
    elif n < 65536:
        head = bytes([0x80 | op, 126]) + struct.pack("!H", n)
    else:
        head = bytes([0x80 | op, 127]) + struct.pack("!Q", n)
    return head + data


def ws_conn(sock, pod, conn_id):
    f = sock.makefile("rb")
    seen = 0
    try:
        while True:
            req, headers = read_head(f)
            if req is None:
                return
            seen += 1
            upgrade = headers.get("Upgrade", [""])[0].lower()
            if req[1] == "/ws" and upgrade == "websocket":
                key = headers["Sec-Websocket-Key"][0]
                accept = base64.b64encode(hashlib.sha1(
                    (key + WS_GUID).encode()).digest()).decode()
                sock.sendall(("HTTP/1.1 101 Switching Protocols\r\n"
                              "Upgrade: websocket\r\n"
                              "Connection: Upgrade\r\n"
                              f"Sec-WebSocket-Accept: {accept}\r\n\r\n")
                             .encode())
                while True:
                    op, data = ws_frame_read(f)
                    if op is None or op == 8:
                        return
                    if op == 1:
                        sock.sendall(ws_frame(1, b"echo: " + data))
            n = int(headers.get("Content-Length", ["0"])[0])
            if n:
                f.read(n)
            body = json.dumps({"path": req[1], "proto": req[2],
                               "headers": headers, "pod": pod,
                               "connection": conn_id,
                               "requests_on_connection": seen}).encode()
            sock.sendall(b"HTTP/1.1 200 OK\r\n"
                         b"Content-Type: application/json\r\n"
                         + f"Content-Length: {len(body)}\r\n\r\n".encode()
                         + body)
    except (OSError, KeyError) as e:
        print(f"connection {conn_id}: {e!r}", flush=True)
    finally:
        sock.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["h2c", "ws"])
    p.add_argument("--listen", required=True)
    p.add_argument("--pod", default="pod")
    a = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    addr, _, port = a.listen.rpartition(":")
    serve(addr, int(port), h2c_conn if a.kind == "h2c" else ws_conn, a.pod)


if __name__ == "__main__":
    main()
