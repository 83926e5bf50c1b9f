#!/usr/bin/env python3
"""An HTTPS client that proves who it is with a certificate: mutual TLS.

This is the final step of the mutual TLS tutorial in README.md. It trusts
only the CA in --ca (cert.pem), presents --cert and --key (cert.pem and
key.pem) as its own identity, fetches URL and prints the body it gets.

    python3 client.py                                  # https://localhost:8443/hello
    python3 client.py https://localhost:8443/hello --ca ca.pem --cert client.pem --key client-key.pem
"""

import argparse
import http.client
import socket
import ssl
import sys
import urllib.parse

TIMEOUT = 10  # seconds to wait for the server before giving up


def make_client_context(ca, cert, key):
    """The TLS settings of the client: whom we trust, and who we are."""
    # Verifies the server's certificate and that it names the host we asked for.
    # cafile= means we trust this CA only, not the system's public CAs.
    context = ssl.create_default_context(cafile=ca)
    # Match the host name against subjectAltName only, as Go, browsers and urllib3 2 do;
    # Python would otherwise fall back to the deprecated Common Name.
    context.hostname_checks_common_name = False
    # Reject malformed certificates too, as Python 3.13 does by default, on every version.
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    # Our identity, presented when the server asks for a client certificate.
    context.load_cert_chain(cert, key)
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
                "pass the CA that signed it with --ca")
    if isinstance(error, ssl.SSLError) and "ALERT" in (error.reason or ""):
        # The server ended the handshake with a TLS alert. Under TLS 1.3 it checks our
        # certificate after our side of the handshake is done, so that alert arrives late,
        # on the first read.
        alert = error.reason.split("ALERT_", 1)[1].lower().replace("_", " ")
        if "certificate" in alert or alert == "unknown ca":
            return (f"the server refused our client certificate ({alert}); "
                    "pass one signed by the server's CA with --cert and --key")
        return f"the server ended the TLS handshake ({alert})"
    if isinstance(error, (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError)):
        return (f"{where} closed the connection ({error}); "
                "it may have refused our client certificate, see the server's log")
    if isinstance(error, socket.gaierror):
        return f"cannot find the host {parts.hostname} ({error.strerror}); check the URL"
    if isinstance(error, ConnectionRefusedError):
        return f"nothing is listening on {where}; start the server first (make server)"
    if isinstance(error, socket.timeout):
        return f"{where} did not answer within {TIMEOUT} seconds; is it the right server?"
    return f"cannot fetch {url}: {error}"


def main(argv=None):
    parser = argparse.ArgumentParser(description="Fetch a URL over mutual TLS and print the body.")
    parser.add_argument("url", nargs="?", default="https://localhost:8443/hello",
                        help="what to fetch (default: https://localhost:8443/hello)")
    parser.add_argument("--ca", default="cert.pem", help="CA that signed the server's certificate (default: cert.pem)")
    parser.add_argument("--cert", default="cert.pem", help="our client certificate (default: cert.pem)")
    parser.add_argument("--key", default="key.pem", help="private key of --cert (default: key.pem)")
    args = parser.parse_args(argv)
    try:
        parts = urllib.parse.urlsplit(args.url)
        valid = parts.scheme == "https" and parts.hostname and parts.port != 0
    except ValueError:
        valid = False
    if not valid:
        sys.exit(f"client.py: {args.url} is not an https://HOST[:PORT]/PATH URL")

    for path in (args.ca, args.cert, args.key):
        try:
            open(path, "rb").close()
        except OSError as error:
            sys.exit(f"client.py: cannot read {path}: {error.strerror}; run `make certs` to create it")
    try:
        context = make_client_context(args.ca, args.cert, args.key)
    except ssl.SSLError as error:
        if error.reason == "KEY_VALUES_MISMATCH":
            sys.exit(f"client.py: {args.key} is not the key of {args.cert}; pass the matching --key")
        if error.reason == "NO_CERTIFICATE_OR_CRL_FOUND":
            sys.exit(f"client.py: {args.ca} holds no PEM certificate; pass the CA's certificate with --ca")
        sys.exit(f"client.py: {args.cert} or {args.key} is not a PEM certificate and key; "
                 "make new ones with `make certs`")

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
