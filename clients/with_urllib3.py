#!/usr/bin/env python3
"""Mutual TLS with urllib3 2: fetch URL (https://localhost:8443/hello) and print the body.

From the top folder, after `make certs` and with `make server` running (pip install urllib3):

    python3 clients/with_urllib3.py [URL]
"""

import sys

try:
    import urllib3
except ImportError:
    sys.exit("with_urllib3.py: urllib3 is not installed; pip install urllib3")

url = sys.argv[1] if len(sys.argv) > 1 else "https://localhost:8443/hello"
http = urllib3.PoolManager(
    cert_reqs="CERT_REQUIRED",  # verify the server; urllib3 2 matches the host name against subjectAltName only
    ca_certs="cert.pem",  # trust only the tutorial's CA
    cert_file="cert.pem", key_file="key.pem",  # our certificate and its key, presented when the server asks
    timeout=10, retries=False)
try:
    response = http.request("GET", url)
except urllib3.exceptions.HTTPError as error:
    sys.exit(f"with_urllib3.py: {error}")
if response.status != 200:
    sys.exit(f"with_urllib3.py: the server answered {response.status} {response.reason}")
print(response.data.decode(), end="")
