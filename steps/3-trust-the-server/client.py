#!/usr/bin/env python3
"""Step 3 of the mutual TLS tutorial: an HTTPS client that trusts cert.pem."""

import argparse
import http.client
import ssl
import sys

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--port", type=int, default=8443)
port = parser.parse_args().port

try:
    # Verify the server's certificate and host name, trusting this CA only, not the system's CAs.
    context = ssl.create_default_context(cafile="cert.pem")
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # Python 3.9 would still accept TLS 1.0
    context.hostname_checks_common_name = False  # host names come from subjectAltName only, as in Go
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # refuse malformed certificates, as Python 3.13 does
    connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=10)
    connection.request("GET", "/hello")
    body = connection.getresponse().read()
except (OSError, http.client.HTTPException) as error:  # no cert.pem, no server, or not trusted
    sys.exit(f"client.py: {error}")
print(body.decode(), end="")
