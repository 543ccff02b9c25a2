#!/usr/bin/python3
"""TCP echo backend honouring the Gateway API conformance TCP contract.

It behaves like registry.k8s.io/gateway-api/echo-basic with
TCP_ECHO_SERVER=1 (conformance/echo-basic/tcpserver, HARNESS.md section 3):

  --listen ADDR:PORT      plain TCP (echo-basic's TCP_PORT, 3000)
  --tls-listen ADDR:PORT  TLS (TLS_PORT, 8443) with --tls-cert/--tls-key
                          ($TLS_SERVER_CERT/$TLS_SERVER_PRIV_KEY)

On each connection (after the TLS handshake) it writes the welcome line
"Gateway API Test TCP Server\\n", then answers line commands:

  PING    -> PONG
  IS_TLS  -> true | false
  TEST    -> one line of JSON: namespace, ingress, service, pod, tcpport,
             tlsport, isTLS and, over TLS, tls {version, serverName,
             negotiatedProtocol, curves, cipherSuite}

Other lines are ignored, as echo-basic does. Usage:
  tcp_echo.py --listen 127.0.0.10:3000 [--tls-listen 127.0.0.10:8443
              --tls-cert C --tls-key K] [--namespace NS] [--pod POD]

Defaults come from the environment (NAMESPACE, POD_NAME, SERVICE_NAME,
INGRESS_NAME). Once a listener is bound it prints "listening on
ADDR:PORT". SIGTERM / SIGINT stop it with exit status 0.
"""

import argparse
import json
import os
import signal
import socketserver
import ssl
import sys
import threading

WELCOME = b"Gateway API Test TCP Server\n"

# Go's tls.VersionName, which the TEST payload reports
TLS_VERSIONS = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1",
                "TLSv1.2": "TLS 1.2", "TLSv1.3": "TLS 1.3"}

_print_lock = threading.Lock()


def log_line(text):
    with _print_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


class Handler(socketserver.StreamRequestHandler):
    timeout = 60

    def handle(self):
        srv = self.server
        sock = self.connection
        server_name = ""
        if srv.tls is not None:
            try:
                sock = srv.tls.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError) as e:
                log_line("TLS handshake failed: %s" % e)
                return
            self.connection = sock
            server_name = getattr(sock, "sni", "") or ""
        payload = dict(srv.context)
        payload["isTLS"] = srv.tls is not None
        if srv.tls is not None:
            cipher = sock.cipher() or ("", "", 0)
            payload["tls"] = {
                "version": TLS_VERSIONS.get(sock.version(), sock.version()),
                "serverName": server_name,
                "negotiatedProtocol": sock.selected_alpn_protocol() or "",
                "cipherSuite": cipher[0]}
        rfile = sock.makefile("rb")
        try:
            sock.sendall(WELCOME)
            for raw in rfile:
                line = raw.rstrip(b"\r\n")
                if line == b"PING":
                    sock.sendall(b"PONG\n")
                elif line == b"IS_TLS":
                    sock.sendall(b"true\n" if payload["isTLS"]
                                 else b"false\n")
                elif line == b"TEST":
                    sock.sendall(json.dumps(payload).encode() + b"\n")
        except OSError:
            pass
        finally:
            rfile.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, context, tls):
        self.context = context
        self.tls = tls
        super().__init__(address, Handler)


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)

    def remember_sni(sock, name, _ctx):
        sock.sni = name or ""
    ctx.sni_callback = remember_sni
    return ctx


def parse_listen(text):
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main(argv=None):
    env = os.environ
    p = argparse.ArgumentParser(
        description="Gateway API conformance-style TCP echo server")
    p.add_argument("--listen", metavar="ADDR:PORT",
                   default="127.0.0.1:%s" % env.get("TCP_PORT", "3000"))
    p.add_argument("--tls-listen", metavar="ADDR:PORT")
    p.add_argument("--tls-cert", default=env.get("TLS_SERVER_CERT", ""))
    p.add_argument("--tls-key", default=env.get("TLS_SERVER_PRIV_KEY", ""))
    p.add_argument("--namespace", default=env.get("NAMESPACE", ""))
    p.add_argument("--pod", default=env.get("POD_NAME", ""))
    p.add_argument("--service", default=env.get("SERVICE_NAME", ""))
    p.add_argument("--ingress", default=env.get("INGRESS_NAME", ""))
    args = p.parse_args(argv)

    context = {"namespace": args.namespace, "ingress": args.ingress,
               "service": args.service, "pod": args.pod}
    listens = [(args.listen, None)]
    if args.tls_listen:
        if not (args.tls_cert and args.tls_key):
            sys.stderr.write("tcp_echo.py: --tls-listen needs --tls-cert "
                             "and --tls-key\n")
            return 1
        listens.append((args.tls_listen,
                        tls_context(args.tls_cert, args.tls_key)))
    servers = []
    try:
        for spec, tls in listens:
            servers.append(Server(parse_listen(spec), context, tls))
    except (OSError, ValueError) as e:
        sys.stderr.write("tcp_echo.py: cannot listen: %s\n" % e)
        for s in servers:
            s.server_close()
        return 1

    # the TEST payload reports the bound ports (port 0 picks one)
    context["tcpport"] = str(servers[0].server_address[1])
    if len(servers) > 1:
        context["tlsport"] = str(servers[1].server_address[1])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for s in servers:
        threading.Thread(target=s.serve_forever,
                         kwargs={"poll_interval": 0.2}, daemon=True).start()
        log_line("listening on %s:%d" % s.server_address[:2])
    while not stop.wait(1.0):
        pass
    for s in servers:
        s.shutdown()
        s.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
