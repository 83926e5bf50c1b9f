#!/usr/bin/env python3
"""Step 1 of the mutual TLS tutorial: a plain HTTP server.

It answers GET /hello with "Hello, world!", with no encryption at all.

    python3 server.py              # serves http://localhost:8080/hello
    python3 server.py --port 0     # any free port; the line it prints says which
"""

import argparse
import http.server
import signal
import socket
import sys
import time

IDLE_TIMEOUT = 30  # seconds a kept-alive connection may wait for its next request


# Control characters as \xNN, so that what a client sends cannot forge log lines or drive the terminal.
CONTROL_CHARACTERS = {code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7F, 0xA0)]}


def log(message):
    """Write one line to stderr with a timestamp, as Go's log package does."""
    sys.stderr.write(time.strftime("%Y/%m/%d %H:%M:%S ") + message.translate(CONTROL_CHARACTERS) + "\n")


def format_address(address):
    """Show a socket address as host:port, with brackets around IPv6 hosts."""
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class HelloHandler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.1 keeps the connection open for more requests: one connection (and handshake) serves many.
    protocol_version = "HTTP/1.1"
    # A connection that sends nothing for this long is closed, freeing its thread.
    timeout = IDLE_TIMEOUT
    # Send each response, headers and body, in one piece (one packet; with TLS, one record)
    # instead of two writes.
    wbufsize = 64 * 1024

    def do_GET(self):
        if self.path.split("?", 1)[0] == "/hello":  # as in Go, the query does not change the route
            self.reply(200, b"Hello, world!\n")
        else:
            self.reply(404, b"404 page not found\n")

    do_HEAD = do_GET

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_request(self, code="-", size="-"):
        log(f'{format_address(self.client_address)} "{self.requestline}" {code}')

    def log_message(self, format, *args):
        log(f"{format_address(self.client_address)} {format % args}")


class HelloServer(http.server.ThreadingHTTPServer):
    # socketserver's default backlog of 5 makes a burst of clients wait a second and retry.
    request_queue_size = 128

    def __init__(self, address):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, HelloHandler)

    def finish_request(self, sock, client_address):
        # Send small responses at once instead of waiting ~40 ms for the peer's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.RequestHandlerClass(sock, client_address, self)

    def handle_error(self, request, client_address):
        # A connection that breaks mid-request is that client's problem: one line, no traceback.
        log(f"connection from {format_address(client_address)} failed: {sys.exc_info()[1]!r}")


def port_number(text):
    """The type of --port: a whole number from 0 to 65535."""
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port number (0 to 65535)")
    return port


def parse_args(argv):
    parser = argparse.ArgumentParser(description="HTTP server.")
    parser.add_argument("--host", default="localhost", help="address to listen on (default: localhost)")
    parser.add_argument("--port", type=port_number, default=8080, help="port to listen on, 0 for any free one (default: 8080)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        server = HelloServer((args.host, args.port))
    except socket.gaierror as error:
        sys.exit(f"server.py: cannot listen on {args.host}: {error.strerror}; check --host")
    except OSError as error:
        sys.exit(f"server.py: cannot listen on {format_address((args.host, args.port))}: "
                 f"{error.strerror}; stop whatever uses it or pick another --port")
    # `kill` (SIGTERM) stops the server as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    url = f"http://{format_address((args.host, server.server_address[1]))}/hello"
    try:
        # Inside the try: a Ctrl-C that comes right after this line still ends quietly.
        print(f"server.py: serving {url} (Ctrl-C stops)", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
