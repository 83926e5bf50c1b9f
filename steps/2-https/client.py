#!/usr/bin/env python3
"""Step 2 of the mutual TLS tutorial: the client asks for HTTPS.

It fetches URL over TLS, trusting only the system's public CAs, and prints
the body it gets. Against the tutorial's self-signed certificate it fails,
and that failure is the point of this step.

    python3 client.py                                  # https://localhost:8443/hello
"""

import argparse
import http.client
import socket
import ssl
import sys
import urllib.parse

TIMEOUT = 10  # seconds to wait for the server before giving up


def make_client_context():
    """The TLS settings of the client: whom we trust."""
    # Verifies the server's certificate and that it names the host we asked for,
    # trusting the CAs that came with the system.
    context = ssl.create_default_context()
    # Match the host name against subjectAltName only, as Go, browsers and urllib3 2 do;
    # Python would otherwise fall back to the deprecated Common Name.
    context.hostname_checks_common_name = False
    return context


def fetch(url, context):
    """GET url over TLS; return the status, the reason and the body."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPSConnection(parts.hostname, parts.port or 443,
                                             context=context, timeout=TIMEOUT)
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
    if isinstance(error, ssl.SSLCertVerificationError):
        if error.verify_code in (9, 10):  # X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED
            return (f"the server's certificate is out of date ({error.verify_message}); "
                    "the server needs a new one, or this machine's clock is wrong")
        if error.verify_code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
            return (f"the server's certificate is not valid for {parts.hostname} "
                    f"({error.verify_message}); use a host name that the certificate lists")
        return (f"the server's certificate is not trusted ({error.verify_message}); "
                "this client trusts only the system's CAs")
    if isinstance(error, socket.gaierror):
        return f"cannot find the host {parts.hostname} ({error.strerror}); check the URL"
    if isinstance(error, ConnectionRefusedError):
        return f"nothing is listening on {where}; start the server first (make server)"
    if isinstance(error, socket.timeout):
        return f"{where} did not answer within {TIMEOUT} seconds; is it the right server?"
    return f"cannot fetch {url}: {error}"


def main(argv=None):
    parser = argparse.ArgumentParser(description="Fetch a URL over TLS and print the body.")
    parser.add_argument("url", nargs="?", default="https://localhost:8443/hello",
                        help="what to fetch (default: https://localhost:8443/hello)")
    args = parser.parse_args(argv)
    try:
        parts = urllib.parse.urlsplit(args.url)
        valid = parts.scheme == "https" and parts.hostname and parts.port != 0
    except ValueError:
        valid = False
    if not valid:
        sys.exit(f"client.py: {args.url} is not an https://HOST[:PORT]/PATH URL")

    context = make_client_context()

    try:
        status, reason, body = fetch(args.url, context)
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
