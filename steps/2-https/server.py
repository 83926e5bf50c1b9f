#!/usr/bin/env python3
"""Steps 2 and 3 of the mutual TLS tutorial: an HTTPS server on https://localhost:8443/hello."""

import argparse
import http.server
import ssl
import sys


class HelloHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/hello":
            self.reply(200, b"Hello, world!\n")
        else:
            self.reply(404, b"404 page not found\n")

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TLSServer(http.server.ThreadingHTTPServer):
    def finish_request(self, sock, client_address):
        # The handshake runs here, in the connection's own thread: in accept(), one silent client would stop all.
        sock.settimeout(10)  # a client that stalls is dropped, not waited on forever
        try:
            connection = context.wrap_socket(sock, server_side=True)
        except OSError as error:  # ssl.SSLError is an OSError too
            print(f"TLS handshake error from {client_address[0]}:{client_address[1]}: {error}", file=sys.stderr)
            return
        with connection:
            super().finish_request(connection, client_address)


parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--port", type=int, default=8443, help="0 picks a free port")
port = parser.parse_args().port

context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.minimum_version = ssl.TLSVersion.TLSv1_2  # SSL 3.0, TLS 1.0 and 1.1 have known attacks
try:
    context.load_cert_chain("cert.pem", "key.pem")  # who we are: our certificate and its private key
except OSError as error:
    sys.exit(f"server.py: cannot load cert.pem and key.pem: {error}; make a pair with ./gen_certs.sh --force")

server = TLSServer(("localhost", port), HelloHandler)
print(f"server.py: serving https://localhost:{server.server_port}/hello (Ctrl-C stops)", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
