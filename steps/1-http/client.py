#!/usr/bin/env python3
"""Step 1 of the mutual TLS tutorial: a plain HTTP client of http://localhost:8080/hello."""

import argparse
import http.client
import sys

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--port", type=int, default=8080)
port = parser.parse_args().port

try:
    connection = http.client.HTTPConnection("localhost", port, timeout=10)
    connection.request("GET", "/hello")
    body = connection.getresponse().read()
except (OSError, http.client.HTTPException) as error:  # for example, no server is running
    sys.exit(f"client.py: {error}")
print(body.decode(), end="")
