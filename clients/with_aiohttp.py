#!/usr/bin/env python3
"""Mutual TLS with aiohttp: fetch URL (https://localhost:8443/hello) and print the body.

From the top folder, after `make certs` and with `make server` running (pip install aiohttp):

    python3 clients/with_aiohttp.py [URL]
"""

import asyncio
import ssl
import sys

try:
    import aiohttp
except ImportError:
    sys.exit("with_aiohttp.py: aiohttp is not installed; pip install aiohttp")


async def fetch(url: str) -> str:
    context = ssl.create_default_context(cafile="cert.pem")  # trust only the tutorial's CA; check the host name
    context.hostname_checks_common_name = False  # match the host name against subjectAltName only, as Go does
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # reject malformed certificates, as Python 3.13 does
    context.load_cert_chain("cert.pem", "key.pem")  # our identity, presented when the server asks
    # ssl= on the request; TCPConnector(ssl=context) would apply it to every request of the session.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10), raise_for_status=True) as session:
        async with session.get(url, ssl=context) as response:
            return await response.text()

try:
    print(asyncio.run(fetch(sys.argv[1] if len(sys.argv) > 1 else "https://localhost:8443/hello")), end="")
except aiohttp.ClientError as error:
    sys.exit(f"with_aiohttp.py: {error}")
