#!/usr/bin/env python3
"""Mutual TLS with httpx: fetch URL (https://localhost:8443/hello) and print the body.

From the top folder, after `make certs` and with `make server` running (pip install httpx):

    python3 clients/with_httpx.py [URL]
"""

import ssl
import sys

try:
    import httpx
except ImportError:
    sys.exit("with_httpx.py: httpx is not installed; pip install httpx")

url = sys.argv[1] if len(sys.argv) > 1 else "https://localhost:8443/hello"
context = ssl.create_default_context(cafile="cert.pem")  # trust only the tutorial's CA; check the host name
context.hostname_checks_common_name = False  # match the host name against subjectAltName only, as Go does
context.verify_flags |= ssl.VERIFY_X509_STRICT  # reject malformed certificates, as Python 3.13 does
context.load_cert_chain("cert.pem", "key.pem")  # our identity; httpx 0.28 ignores cert= beside verify="cert.pem"
try:
    response = httpx.get(url, verify=context, timeout=10)  # the whole TLS setup in one SSLContext
    response.raise_for_status()
except httpx.HTTPError as error:
    sys.exit(f"with_httpx.py: {error}")
print(response.text, end="")
