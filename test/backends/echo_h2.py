"""HTTP/2 (h2c) connections for echo.py, with python3-h2.

serve(sock, rfile, cfg, port, client) runs one HTTP/2 connection on a plain
socket, after the client's preface (prior knowledge) or, with
upgrade=(HTTP2-Settings, Request), after echo.py answered an HTTP/1.1
`Upgrade: h2c` with 101 (the upgraded request is stream 1). Every
request is answered by echo.echo_reply() in its own thread, so a
?delay= on one stream does not hold up the others.
"""

import threading

import h2.config
import h2.connection
import h2.events
import h2.exceptions

import echo


class Conn:
    def __init__(self, sock, cfg, port, client):
        self.sock = sock
        self.cfg = cfg
        self.port = port
        self.client = client
        self.lock = threading.Lock()
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding="utf-8",
            validate_inbound_headers=False))
        self.pending = {}

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def request_of(self, headers):
        pseudo = {k: v for k, v in headers if k.startswith(":")}
        plain = [(k, v) for k, v in headers if not k.startswith(":")]
        return echo.Request(pseudo.get(":method", ""),
                            pseudo.get(":path", ""), "HTTP/2.0", plain,
                            pseudo.get(":authority", ""), self.port, None,
                            self.client)

    def answer(self, stream_id, req):
        reply = echo.echo_reply(self.cfg, req)
        with self.lock:
            try:
                if reply.reset:
                    self.h2.reset_stream(stream_id)
                else:
                    headers = [(":status", str(reply.code))]
                    headers += [(k.lower(), v) for k, v in reply.headers]
                    body = reply.body if req.method != "HEAD" else b""
                    if body:
                        headers.append(("content-length", str(len(body))))
                    self.h2.send_headers(stream_id, headers,
                                         end_stream=not body)
                    size = self.h2.max_outbound_frame_size
                    for i in range(0, len(body), size):
                        self.h2.send_data(stream_id, body[i:i + size],
                                          end_stream=i + size >= len(body))
                self.flush()
            except (h2.exceptions.H2Error, OSError):
                pass

    def spawn(self, stream_id, req):
        threading.Thread(target=self.answer, args=(stream_id, req),
                         daemon=True).start()

    def run(self, rfile, upgrade=None):
        with self.lock:
            if upgrade is not None:
                settings, req = upgrade
                self.h2.initiate_upgrade_connection(settings)
            else:
                self.h2.initiate_connection()
            self.flush()
        if upgrade is not None:
            self.spawn(1, upgrade[1])
        while True:
            # through http.server's buffered reader: it may hold bytes
            # read past the HTTP/1.1 request already
            try:
                data = rfile.read1(65536)
            except OSError:
                return
            if not data or not self.feed(data):
                return

    def feed(self, data):
        with self.lock:
            try:
                events = self.h2.receive_data(data)
            except h2.exceptions.H2Error:
                self.flush()
                return False
            for ev in events:
                if isinstance(ev, h2.events.RequestReceived):
                    self.pending[ev.stream_id] = ev.headers
                elif isinstance(ev, h2.events.DataReceived):
                    self.h2.acknowledge_received_data(
                        ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    headers = self.pending.pop(ev.stream_id, None)
                    if headers is not None:
                        self.spawn(ev.stream_id, self.request_of(headers))
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    self.flush()
                    return False
            self.flush()
        return True


def serve(sock, rfile, cfg, port, client, upgrade=None):
    """One HTTP/2 connection; rfile is the socket's buffered reader."""
    Conn(sock, cfg, port, client).run(rfile, upgrade)
