#!/usr/bin/env python3
"""Step 1 of the mutual TLS tutorial: a plain HTTP server on http://localhost:8080/hello."""

import argparse
import http.server


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


parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
port = parser.parse_args().port

server = http.server.ThreadingHTTPServer(("localhost", port), HelloHandler)
print(f"server.py: serving http://localhost:{server.server_port}/hello (Ctrl-C stops)", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
