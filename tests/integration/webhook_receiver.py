#!/usr/bin/python3
"""A scripted webhook endpoint for tests: an HTTP(S) server on loopback that
records every request it gets and answers with the statuses it was told to.

It verifies nothing itself (signatures, payloads): the test that starts it reads
the record file and checks. Standard library only (http.server, ssl).

    webhook_receiver.py --record FILE [--cert PEM --key PEM] [--statuses 500,200]
                        [--delay SECONDS] [--response-body-bytes N]
                        [--host 127.0.0.1|::1] [--port 0] [--exit-on-stdin-eof]

- Prints "PORT <n>" on stdout (flushed) once it is listening.
- With --cert/--key it speaks HTTPS (the TLS handshake runs in the request's
  thread, so a client that gives up mid-handshake holds up no one); else HTTP.
- Request number i (from 0) gets statuses[i], the last status once the list is
  used up; the default is 200. --delay waits that long before answering (the
  request is recorded first), so concurrent requests overlap.
- Each request becomes one JSON line in the record file, written when it
  arrives: seq, method, path, headers (object, lower-case names; a repeated
  header keeps its last value), header_list ([name, value] pairs as sent),
  body (UTF-8 text, invalid bytes replaced), body_hex (the exact bytes),
  in_flight (requests being handled at that moment, this one included) and
  status (the answer it will get).
- --exit-on-stdin-eof: exit when stdin closes, so a test that dies without
  stopping us does not leave a server behind.
"""

import argparse
import http.server
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time

MAX_BODY_BYTES = 10 * 1024 * 1024


class Receiver(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, options):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.options = options
        self.tls = None
        if options.cert:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(options.cert, options.key)
        self.statuses = [int(s) for s in options.statuses.split(",") if s.strip()] or [200]
        self.lock = threading.Lock()
        self.seq = 0
        self.in_flight = 0
        self.record = open(options.record, "a", encoding="utf-8")
        super().__init__(address, Handler)

    def finish_request(self, request, client_address):
        # Runs in the request's own thread (ThreadingMixIn): do the handshake here.
        if self.tls is not None:
            try:
                request.settimeout(30)
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as error:
                print(f"tls handshake failed: {error}", file=sys.stderr, flush=True)
                return
        super().finish_request(request, client_address)

    def next_request(self):
        with self.lock:
            seq = self.seq
            self.seq += 1
            self.in_flight += 1
            status = self.statuses[min(seq, len(self.statuses) - 1)]
            return seq, status, self.in_flight

    def done_request(self):
        with self.lock:
            self.in_flight -= 1

    def write_record(self, entry):
        line = json.dumps(entry, ensure_ascii=True, sort_keys=True)
        with self.lock:
            self.record.write(line + "\n")
            self.record.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection, closed after the answer

    def do_POST(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def handle_any(self):
        server = self.server
        seq, status, in_flight = server.next_request()
        try:
            length = int(self.headers.get("Content-Length", "0") or "0")
            body = self.rfile.read(min(max(length, 0), MAX_BODY_BYTES)) if length > 0 else b""
            server.write_record({
                "seq": seq,
                "time": time.time(),
                "method": self.command,
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "header_list": [[name, value] for name, value in self.headers.items()],
                "body": body.decode("utf-8", errors="replace"),
                "body_hex": body.hex(),
                "in_flight": in_flight,
                "status": status,
            })
            if server.options.delay > 0:
                time.sleep(server.options.delay)
            answer = b"x" * server.options.response_body_bytes if server.options.response_body_bytes else \
                f"status {status}\n".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            pass  # the client gave up (timeouts, cancellation): nothing to answer
        finally:
            server.done_request()

    def log_message(self, format, *args):
        sys.stderr.write("webhook_receiver: " + (format % args) + "\n")


def watch_stdin():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", required=True, help="file to append one JSON line per request to")
    parser.add_argument("--cert", help="server certificate chain (PEM); HTTPS when given")
    parser.add_argument("--key", help="server private key (PEM)")
    parser.add_argument("--statuses", default="200", help="comma-separated answer statuses, in order")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each answer")
    parser.add_argument("--response-body-bytes", type=int, default=0, help="answer with a body this long")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (::1 for IPv6)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    options = parser.parse_args()
    if bool(options.cert) != bool(options.key):
        parser.error("--cert and --key go together")

    server = Receiver((options.host, options.port), options)
    if options.exit_on_stdin_eof:
        threading.Thread(target=watch_stdin, daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
