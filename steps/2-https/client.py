#!/usr/bin/env python3
"""Step 2 of the mutual TLS tutorial: an HTTPS client that does not trust cert.pem yet."""

import argparse
import http.client
import sys

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--port", type=int, default=8443)
port = parser.parse_args().port

try:
    connection = http.client.HTTPSConnection("localhost", port, timeout=10)
    connection.request("GET", "/hello")
    body = connection.getresponse().read()
except (OSError, http.client.HTTPException) as error:  # no server, or, the point of this step, no trust
    sys.exit(f"client.py: {error}")
print(body.decode(), end="")
