#!/usr/bin/env python3
"""Mutual TLS with requests: fetch URL (https://localhost:8443/hello) and print the body.

From the top folder, after `make certs` and with `make server` running (pip install requests):

    python3 clients/with_requests.py [URL]
"""

import sys

try:
    import requests
except ImportError:
    sys.exit("with_requests.py: requests is not installed; pip install requests")

url = sys.argv[1] if len(sys.argv) > 1 else "https://localhost:8443/hello"
try:
    # verify= per call: REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE override Session.verify (unless trust_env = False).
    response = requests.get(url, timeout=10,
                            verify="cert.pem",  # trust only the tutorial's CA
                            cert=("cert.pem", "key.pem"))  # our certificate and its key, sent when the server asks
    response.raise_for_status()
except requests.RequestException as error:
    sys.exit(f"with_requests.py: {error}")
print(response.text, end="")
