#!/usr/bin/env python3
"""Step 1 of the mutual TLS tutorial: a plain HTTP client.

It fetches URL and prints the body it gets, with no encryption at all.

    python3 client.py                                  # http://localhost:8080/hello
"""

import argparse
import http.client
import socket
import sys
import urllib.parse

TIMEOUT = 10  # seconds to wait for the server before giving up


def fetch(url):
    """GET url; return the status, the reason and the body."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=TIMEOUT)
    try:
        connection.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        response = connection.getresponse()
        return response.status, response.reason, response.read()
    finally:
        connection.close()


def explain(error, url):
    """One line saying what went wrong and what to try, for each failure a reader can meet."""
    parts = urllib.parse.urlsplit(url)
    where = parts.netloc
    if isinstance(error, socket.gaierror):
        return f"cannot find the host {parts.hostname} ({error.strerror}); check the URL"
    if isinstance(error, ConnectionRefusedError):
        return f"nothing is listening on {where}; start the server first (make server)"
    if isinstance(error, socket.timeout):
        return f"{where} did not answer within {TIMEOUT} seconds; is it the right server?"
    return f"cannot fetch {url}: {error}"


def main(argv=None):
    parser = argparse.ArgumentParser(description="Fetch a URL and print the body.")
    parser.add_argument("url", nargs="?", default="http://localhost:8080/hello",
                        help="what to fetch (default: http://localhost:8080/hello)")
    args = parser.parse_args(argv)
    try:
        parts = urllib.parse.urlsplit(args.url)
        valid = parts.scheme == "http" and parts.hostname and parts.port != 0
    except ValueError:
        valid = False
    if not valid:
        sys.exit(f"client.py: {args.url} is not an http://HOST[:PORT]/PATH URL")

    try:
        status, reason, body = fetch(args.url)
    except (OSError, http.client.HTTPException) as error:
        sys.exit(f"client.py: {explain(error, args.url)}")
    if status != 200:
        first_line = body.decode("utf-8", "replace").partition("\n")[0]
        sys.exit(f"client.py: the server answered {status} {reason} ({first_line})")
    # The body exactly as sent: "Hello, world!" and its newline.
    sys.stdout.buffer.write(body)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)  # Ctrl-C: stop quietly, with the status shells expect
