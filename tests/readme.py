#!/usr/bin/env python3
"""Keep README.md true: every block it shows comes from a real file or a real run.

A block in README.md is tied to its source by the comment just above it:

    <!-- check: file server.py -->               the whole file
    <!-- check: region server.py NAME -->        one function or class (for gen_certs.sh:
                                                 a shell function, or a [section] of its config)
    <!-- check: diff OLD NEW -->                 `diff -u OLD NEW`, as difflib makes it
    <!-- check: lines FILE -->                   lines of FILE in order, a line "..." standing for any
                                                 lines left out (compared without indentation)
    <!-- check: output NAME -->                  what the commands of transcript NAME print
    <!-- check: bench make -->                   a recorded `make bench`: its lines must have the
                                                 shape bench.py prints today (numbers vary run to run)

    python3 tests/readme.py           # check; exit 1 and show the first difference if stale
    python3 tests/readme.py --write   # rewrite every tied block from the files and real runs

README.md and every page in docs/ are checked the same way.

Outputs are compared after masking what changes from run to run: times, ports
the system picked, and version numbers inside error messages.
"""

import ast
import difflib
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import (CLIENT_EXTENSIONS, HANG_LIMIT, ROOT, SERVER_EXTENSIONS, STEPS, Nginx, Server, check, client,  # noqa: E402
                     curl, free_port, gen_certs, nginx_path, openssl_sign, run, s_client)

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"<!-- check: (\w+) ([^>]*?) -->\n```(\w*)\n(.*?)^```\n", re.S | re.M)


# The sources of code blocks.

def region(path, name):
    """The text of one named part of a file (see the module docstring)."""
    text = (ROOT / path).read_text()
    lines = text.splitlines(keepends=True)
    if path.endswith(".py"):
        for node in ast.parse(text).body:
            if getattr(node, "name", None) == name:
                start = node.lineno - 1 - len(getattr(node, "decorator_list", []))
                return "".join(lines[start:node.end_lineno])
    elif name.startswith("["):
        start = lines.index(name + "\n")
        end = lines.index("\n", start)
        return "".join(lines[start:end])
    else:
        for i, line in enumerate(lines):
            if line.startswith(f"{name}() {{"):
                end = lines.index("}\n", i)
                return "".join(lines[i:end + 1])
    raise LookupError(f"no {name} in {path}")


def excerpt(path, shown):
    """shown if its pieces (split at "..." lines) stand in path in that order, else what the file has there."""
    file_lines = [line.strip() for line in (ROOT / path).read_text().splitlines()]
    pieces, piece = [], []
    for line in shown.splitlines():
        if line.strip() == "...":
            pieces.append(piece)
            piece = []
        else:
            piece.append(line.strip())
    pieces.append(piece)
    position = 0
    for piece in pieces:
        for start in range(position, len(file_lines) - len(piece) + 1):
            if file_lines[start:start + len(piece)] == piece:
                position = start + len(piece)
                break
        else:
            return f"(not in {path} in this order:)\n" + "\n".join(piece) + "\n"
    return shown


def diff(old, new):
    a = (ROOT / old).read_text().splitlines(keepends=True)
    b = (ROOT / new).read_text().splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, fromfile=old, tofile=new))


# The sources of output blocks: real runs in a scratch folder.

def transcripts():
    """Run every command the README shows; return {name: its transcript}. Without nginx, the
    transcripts of nginx (NGINX_OUTPUTS) are missing."""
    shown = {}
    started = []
    shown_ports = {}  # {port the system picked: port the page shows}, beyond a server's default one

    def serve(cwd, *args, **options):
        """A Server, remembered so that its port can be shown as the default one."""
        started.append(Server(cwd, *args, **options))
        return started[-1]

    def step(number):
        return next(top.glob(f"steps/{number}-*"))

    def run_step(number, name, server, cwd=None, shown_as=None):
        """A step's program run as the README shows it, on the port of the server started for it."""
        path = step(number) / f"{name}.py"
        result = client("--port", server.port, cwd=cwd or top, script=path)
        return shell(f"python3 {shown_as or path.relative_to(top)}", result)

    with tempfile.TemporaryDirectory(prefix="mtls-readme-") as scratch:
        top = Path(scratch)
        for name in ("Makefile", "gen_certs.sh", "server.py", "client.py"):
            shutil.copy2(ROOT / name, top / name)
        shutil.copytree(STEPS, top / "steps")

        status, out, err = run(["make", "--no-print-directory", "demo"], cwd=top)
        shown["demo"] = "$ make demo\n" + out + err
        (top / "cert.pem").unlink()
        (top / "key.pem").unlink()

        # Step 1: plain HTTP.
        with serve(top, script=step(1) / "server.py", host=None) as server:
            shown["step1-client"] = run_step(1, "client", server)
            server.wait_for_log(r'"GET /hello HTTP/1.1" 200')
        shown["step1-server"] = server_transcript("python3 steps/1-http/server.py", server)

        shown["certs"] = "$ make certs\n" + check(run(["make", "--no-print-directory", "certs"], cwd=top))

        # Step 2: HTTPS; the client does not trust the certificate yet.
        with serve(top, script=step(2) / "server.py", host=None) as server:
            shown["step2-client"] = run_step(2, "client", server)
            server.wait_for_log("TLS handshake error")
            shown["step2-curl"] = shell("curl --cacert cert.pem https://localhost:8443/hello",
                                        curl("--cacert", "cert.pem", server.url, cwd=top))
            server.wait_for_log(r'"GET /hello HTTP/1.1" 200')
        shown["step2-server"] = server_transcript("python3 steps/2-https/server.py", server)

        # Step 3: the client trusts cert.pem.
        with serve(top, script=step(3) / "server.py", host=None) as server:
            shown["step3-client"] = run_step(3, "client", server)

        # The Go guide's certificate, in a folder of its own.
        original = top / "original"
        original.mkdir()
        check(run(["bash", "-c", ORIGINAL_COMMAND], cwd=original))
        shown["original-cert"] = f"$ mkdir original && cd original\n$ {ORIGINAL_COMMAND}\n"  # it prints dots
        with serve(original, script=step(3) / "server.py", host=None) as server:
            shown["original-client"] = run_step(3, "client", server, cwd=original,
                                                shown_as="../steps/3-trust-the-server/client.py")
            server.wait_for_log("TLS handshake error")
        shown["original-server"] = "$ cd original\n" + server_transcript(
            "python3 ../steps/3-trust-the-server/server.py", server)

        # Step 4: mutual TLS.
        with serve(top, script=step(4) / "server.py", host=None) as server:
            shown["step4-client"] = run_step(4, "client", server)
            server.wait_for_log(r'"GET /hello HTTP/1.1" 200')
            run_step(3, "client", server)
            server.wait_for_log("TLS handshake error")
        shown["step4-server"] = server_transcript("python3 steps/4-mutual-tls/server.py", server)

        # The finished programs.
        with serve(top) as server:
            shown["final-client"] = shell("python3 client.py", client(server.url, cwd=top))
            server.wait_for_log(r'"GET /hello HTTP/1.1" 200')
            shown["final-step3-client"] = run_step(3, "client", server)
            server.wait_for_log("TLS handshake error")
        shown["final-server"] = server_transcript("python3 server.py", server)

        # Other peers against the finished server.
        with serve(top) as server:
            url = "https://localhost:8443/hello"
            shown["curl"] = shell(f"curl --cacert cert.pem --cert cert.pem --key key.pem {url}",
                                  curl("--cacert", "cert.pem", "--cert", "cert.pem", "--key", "key.pem",
                                       server.url, cwd=top))
            shown["curl-no-cert"] = shell(f"curl --cacert cert.pem {url}",
                                          curl("--cacert", "cert.pem", server.url, cwd=top))
            request = r"printf 'GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'"
            s_client = ("openssl s_client -connect localhost:8443 -CAfile cert.pem -cert cert.pem -key key.pem"
                        " -verify_return_error -quiet")
            shown["s_client"] = shell(f"{request} | {s_client} 2>&1",
                                      run(["bash", "-c", f"{request} | {s_client} 2>&1".replace("8443", str(server.port))],
                                          cwd=top))

        # Running it for real: a CA, a server and named clients.
        shown["ca-certs"] = shell("./gen_certs.sh --ca pki", run(["bash", "gen_certs.sh", "--ca", "pki"], cwd=top))
        pki_server = ["--ca", "pki/ca.pem", "--cert", "pki/server.pem", "--key", "pki/server-key.pem"]
        with serve(top, *pki_server) as server:
            shown["ca-client"] = shell(
                "python3 client.py --ca pki/ca.pem --cert pki/client.pem --key pki/client-key.pem",
                client(server.url, "--ca", "pki/ca.pem", "--cert", "pki/client.pem", "--key", "pki/client-key.pem",
                       cwd=top))
            server.wait_for_log('"GET /hello HTTP/1.1" 200')
        shown["ca-server"] = server_transcript("python3 server.py " + " ".join(pki_server), server)
        shown["ca-bob"] = shell("./gen_certs.sh --client bob pki",
                                run(["bash", "gen_certs.sh", "--client", "bob", "pki"], cwd=top))
        with serve(top, *pki_server, "--allow", "client") as server:
            shown["allow-bob"] = shell(
                "python3 client.py --ca pki/ca.pem --cert pki/bob.pem --key pki/bob-key.pem",
                client(server.url, "--ca", "pki/ca.pem", "--cert", "pki/bob.pem", "--key", "pki/bob-key.pem",
                       cwd=top))
            server.wait_for_log('"GET /hello HTTP/1.1" 403')
            shown["allow-curl"] = shell(
                "curl --cacert pki/ca.pem --cert-type P12 --cert pki/client.p12:mtls https://localhost:8443/hello",
                curl("--cacert", "pki/ca.pem", "--cert-type", "P12", "--cert", "pki/client.p12:mtls", server.url,
                     cwd=top))
            server.wait_for_log('"GET /hello HTTP/1.1" 200')
        shown["allow-server"] = server_transcript("python3 server.py " + " ".join(pki_server) + " --allow client",
                                                  server)

        # Revocation, then renewal, on one server that a SIGHUP reloads: the reader sends it with
        # `kill -HUP $(pgrep -f ...)`, shown as text, since a test must signal its own server only.
        def pki_client(server, name):
            """client.py as client name of pki/, as the reader types it, and what it prints."""
            files = ["--ca", "pki/ca.pem", "--cert", f"pki/{name}.pem", "--key", f"pki/{name}-key.pem"]
            return shell("python3 client.py " + " ".join(files), client(server.url, *files, cwd=top))

        def gen_certs_run(*args):
            return shell("./gen_certs.sh " + " ".join(args), run(["bash", "gen_certs.sh", *args], cwd=top))

        def reload(server):
            start = server.mark()
            os.kill(server.process.pid, signal.SIGHUP)
            server.wait_for_log(" reloaded ", start)

        crl_server = pki_server + ["--crl", "pki/crl.pem"]
        with serve(top, *crl_server) as server:
            shown["revoke-bob"] = pki_client(server, "bob") + gen_certs_run("--revoke", "bob", "pki")
            server.wait_for_log('"GET /hello HTTP/1.1" 200 client="CN=bob,')
            reload(server)
            shown["revoked-bob"] = pki_client(server, "bob")
            server.wait_for_log("certificate revoked")
            shown["revoked-bob"] += pki_client(server, "client")
            server.wait_for_log('"GET /hello HTTP/1.1" 200 client="CN=client,')
            shown["renew-bob"] = gen_certs_run("--renew", "bob", "pki") + pki_client(server, "bob")
            server.wait_for_lines('"GET /hello HTTP/1.1" 200 client="CN=bob,', 2)
            shown["revoke-server"] = server_transcript("python3 server.py " + " ".join(crl_server), server)
            renewal = server.mark()
            shown["renew-server"] = gen_certs_run("--renew", "server", "pki")
            reload(server)
            shown["renewed-server"] = pki_client(server, "client")
            server.wait_for_lines('"GET /hello HTTP/1.1" 200 client="CN=client,', 1, renewal)
            shown["renew-server-log"] = "".join(line + "\n" for line in server.log[renewal:])
            shown["short-lived"] = gen_certs_run("--client", "alice", "--days", "1", "pki")
            shown["short-lived"] += shell("openssl x509 -in pki/alice.pem -noout -startdate -enddate",
                                          run(["openssl", "x509", "-in", "pki/alice.pem", "-noout", "-startdate",
                                               "-enddate"], cwd=top))
            shown["short-lived"] += pki_client(server, "alice")
            shown["crl-anew"] = gen_certs_run("--crl", "pki")

        # Behind nginx: its certificate, two servers that believe it, nginx, and clients calling through it.
        if nginx_path():
            shown.update(nginx_transcripts(top, pki_server, shown_ports))

    # Show each server on the port a reader's server would have: the default one.
    default_ports = {server.port: 8080 if server.url.startswith("http:") else 8443 for server in started}
    default_ports.update(shown_ports)
    for name, text in shown.items():
        for port, default in default_ports.items():
            text = text.replace(f":{port}/", f":{default}/").replace(f":{port};", f":{default};")
        shown[name] = text.replace(scratch, "")
    return shown


NGINX_OUTPUTS = ["nginx-cert", "nginx-server-1", "nginx-server-2", "nginx-start", "nginx-client", "nginx-curl",
                 "nginx-direct", "nginx-no-cert"]


def nginx_transcripts(top, pki_server, shown_ports):
    """The commands of docs/production.md's nginx section, run in top, where pki/ is made already."""
    shown = {"nginx-cert": shell("./gen_certs.sh --client nginx pki",
                                 run(["bash", "gen_certs.sh", "--client", "nginx", "pki"], cwd=top))}
    proxied = ["--trusted-proxy", "nginx", *pki_server]
    pem = ["--cacert", "pki/ca.pem", "--cert", "pki/client.pem", "--key", "pki/client-key.pem"]
    forged = ["-H", "X-Client-Subject: CN=admin"]
    with Server(top, *proxied) as first, Server(top, *proxied) as second:
        with Nginx(top, {9443: free_port(), 8443: first.port, 8444: second.port}) as nginx:
            shown_ports.update({first.port: 8443, second.port: 8444, nginx.port: 9443})
            url = "https://localhost:9443/hello"
            # nginx takes turns, from the first server on: client.py's request goes to 8443, curl's to 8444.
            shown["nginx-client"] = shell(
                f"python3 client.py {url} --ca pki/ca.pem --cert pki/client.pem --key pki/client-key.pem",
                client(nginx.url, "--ca", "pki/ca.pem", "--cert", "pki/client.pem", "--key", "pki/client-key.pem",
                       cwd=top))
            first.wait_for_log('"GET /hello HTTP/1.1" 200')
            shown["nginx-curl"] = shell(f"curl {' '.join(pem)} -H 'X-Client-Subject: CN=admin' {url}",
                                        curl(*pem, *forged, nginx.url, cwd=top))
            second.wait_for_log('"GET /hello HTTP/1.1" 200')
            shown["nginx-direct"] = shell(
                f"curl {' '.join(pem)} -H 'X-Client-Subject: CN=admin' https://localhost:8443/hello",
                curl(*pem, *forged, first.url, cwd=top))
            first.wait_for_log('"GET /hello HTTP/1.1" 200 client="[^"]*"$')
            shown["nginx-no-cert"] = shell(f"curl --cacert pki/ca.pem {url}",
                                           curl("--cacert", "pki/ca.pem", nginx.url, cwd=top))
            nginx_log = list(nginx.log)
    shown["nginx-start"] = ('$ mkdir -p nginx-run\n$ nginx -p "$PWD/nginx-run" -c "$PWD/nginx/mtls-proxy.conf"\n'
                            + "".join(line + "\n" for line in nginx_log))
    for name, server, port in (("nginx-server-1", first, 8443), ("nginx-server-2", second, 8444)):
        shown[name] = server_transcript(f"python3 server.py --port {port} " + " ".join(proxied), server)
    return shown


ORIGINAL_COMMAND = ('openssl req -newkey rsa:2048 -new -nodes -x509 -days 3650 -out cert.pem -keyout key.pem '
                    '-subj "/C=US/ST=California/L=Mountain View/O=Your Organization/OU=Your Unit/CN=localhost"')


def shell(command, result):
    """A command as typed, then what it printed (stdout, then stderr)."""
    status, out, err = result
    return f"$ {command}\n{out}{err}"


def server_transcript(command, server):
    """The server's terminal while it runs: the command, the line it prints when ready, its log
    (without the lines it logs when stopped)."""
    running = []
    for line in server.log:
        if re.search(r"\d stopping on SIG", line):
            break
        running.append(line)
    return f"$ {command}\n{server.ready}\n" + "".join(line + "\n" for line in running)


# The troubleshooting table: each message it quotes must be one the programs print.

def troubleshooting_messages(readme):
    """The quoted message of each row of the troubleshooting table."""
    section = readme.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [re.match(r"\| (``?) ?(.+?) ?\1 ", row).group(2) for row in rows]


def troubleshooting_lines():
    """Provoke every mistake the table covers; return all the lines printed about them."""
    lines = []

    def keep(result):
        lines.extend((result[1] + result[2]).splitlines())

    with tempfile.TemporaryDirectory(prefix="mtls-readme-") as scratch:
        top = Path(scratch)
        certs, other = gen_certs(top / "certs"), gen_certs(top / "other")
        empty = top / "empty"
        empty.mkdir()
        server_py = [sys.executable, ROOT / "server.py"]
        keep(run(server_py, cwd=empty))
        keep(run(server_py + ["--key", other / "key.pem"], cwd=certs))
        with socket.socket() as busy:
            busy.bind(("localhost", 0))
            busy.listen()
            keep(run(server_py + ["--port", busy.getsockname()[1]], cwd=certs))
        keep(client(f"https://localhost:{free_port()}/hello", cwd=certs))
        keep(run(["env", "PATH=/nonexistent", "/bin/bash", ROOT / "gen_certs.sh", empty]))
        expired = openssl_sign(top, "expired", certs / "cert.pem", certs / "key.pem", CLIENT_EXTENSIONS,
                               start="20200101000000Z", end="20200201000000Z")
        original = top / "original"
        original.mkdir()
        check(run(["bash", "-c", ORIGINAL_COMMAND], cwd=original))
        with Server(original) as server:
            keep(client(server.url, cwd=original))
        stale = openssl_sign(top, "stale", certs / "cert.pem", certs / "key.pem", SERVER_EXTENSIONS,
                             start="20200101000000Z", end="20200201000000Z")
        with Server(certs, "--cert", stale[0], "--key", stale[1]) as server:
            keep(client(server.url, cwd=certs))
        with Server(certs) as server:
            stalled = socket.create_connection(("localhost", server.port))
            keep(client(server.url, "--ca", other / "cert.pem", cwd=certs))
            keep(client("--port", server.port, cwd=certs, script=STEPS / "3-trust-the-server/client.py"))
            keep(curl("--cacert", "cert.pem", server.url, cwd=certs))
            keep(client(server.url, "--cert", other / "cert.pem", "--key", other / "key.pem", cwd=certs))
            keep(client(server.url, "--cert", expired[0], "--key", expired[1], cwd=certs))
            keep(client(server.base + "/nothing", cwd=certs))
            keep(curl(f"http://localhost:{server.port}/hello", cwd=certs))
            keep(s_client(server.port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", cwd=certs))
            server.wait_for_log("no handshake within")
            stalled.close()
        lines.extend(server.log)
        # A CA: a revoked client, the connection limit, and a reload that fails.
        pki = gen_certs(top / "pki", "--ca")
        gen_certs(pki, "--client", "bob")
        check(run(["bash", ROOT / "gen_certs.sh", "--revoke", "bob", pki]))
        files = ["--ca", pki / "ca.pem", "--cert", pki / "server.pem", "--key", pki / "server-key.pem"]
        with Server(top, *files, "--crl", pki / "crl.pem", "--max-connections", "1") as server:
            keep(client(server.url, "--ca", pki / "ca.pem", "--cert", pki / "bob.pem", "--key", pki / "bob-key.pem",
                        cwd=top))
            server.wait_for_log("certificate revoked")
            with socket.create_connection(("localhost", server.port)):
                with socket.create_connection(("localhost", server.port)) as second:
                    second.settimeout(HANG_LIMIT)
                    second.recv(1)  # closed at once: the first holds the one place
                server.wait_for_log("refusing connections")
            (pki / "crl.pem").write_text("not a CRL\n")
            start = server.mark()
            os.kill(server.process.pid, signal.SIGHUP)
            server.wait_for_log("reload failed", start)
        lines.extend(server.log)
    return lines


def unquoted(message, lines):
    """The parts of message (split at "...") that no line holds, in order; [] if one does."""
    parts = [mask(part.strip()) for part in message.split("...") if part.strip()]
    for line in map(mask, lines):
        position = 0
        for part in parts:
            position = line.find(part, position)
            if position < 0:
                break
            position += len(part)
        else:
            return []
    return parts


# Comparing and rewriting.

MASKS = [
    (re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d"), "TIME"),
    (re.compile(r"\[\d\d/\w{3}/\d{4} \d\d:\d\d:\d\d\]"), "[TIME]"),  # http.server's own log
    (re.compile(r"Date: [^\n]*GMT"), "Date: DATE"),
    (re.compile(r"\w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT"), "DATE"),  # openssl x509 -startdate
    (re.compile(r"(localhost|127\.0\.0\.1|\]):\d+"), r"\1:PORT"),
    (re.compile(r"(?m)^[0-9A-F]+:error:"), "error:"),  # OpenSSL 3 starts with a thread id
    (re.compile(r"[\w./-]+\.c:\d+"), "SOURCE.c:LINE"),
    (re.compile(r"Python/[\d.]+"), "Python/VERSION"),
    (re.compile(r"OpenSSL/[\w.]+"), "OpenSSL/VERSION"),
    (re.compile(r"nginx/[\d.]+"), "nginx/VERSION"),
    # nginx's log: its process ids, and what it says about the system it runs on.
    (re.compile(r"\] \d+#\d+: "), "] PID#TID: "),
    (re.compile(r"(PID#TID: )OS: [^\n]*"), r"\1OS: SYSTEM"),
    (re.compile(r"(PID#TID: getrlimit\(RLIMIT_NOFILE\)): \d+:\d+"), r"\1: N:N"),
    (re.compile(r"(PID#TID: start worker process) \d+"), r"\1 PID"),
    (re.compile(r"error:[0-9A-F]{8}:[^\n]*?:"), "error:CODE:"),
]


def mask(text):
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


_outputs = None


def outputs():
    """transcripts(), run once."""
    global _outputs
    if _outputs is None:
        _outputs = transcripts()
    return _outputs


def expected_blocks(readme):
    """Yield (match, the block's text from its source) for every tied block, but the outputs
    that transcripts() could not make (see NGINX_OUTPUTS)."""
    for match in MARKER.finditer(readme):
        kind, args = match.group(1), match.group(2).split()
        if kind == "file":
            yield match, (ROOT / args[0]).read_text()
        elif kind == "region":
            yield match, region(*args)
        elif kind == "diff":
            yield match, diff(*args)
        elif kind == "lines":
            yield match, excerpt(args[0], match.group(4))
        elif kind == "bench":
            yield match, bench_shape()
        elif kind == "output":
            if args[0] in outputs() or args[0] not in NGINX_OUTPUTS:
                yield match, outputs()[args[0]]
        else:
            raise ValueError(f"unknown check kind {kind!r}")


def bench_shape():
    """What `make bench` prints, with made-up figures: only its shape is compared."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench
    run = {"requests": 1, "failed": 0, "per_second": 1.0, "p50_ms": 1.0, "p99_ms": 1.0, "cpu_us": 1.0,
           "busy_percent": 1.0, "others_percent": 1.0}
    figures = dict.fromkeys(["handshake", "handshake reference", "handshake two tickets", "handshake step 4",
                             "keepalive", "keepalive reference", "keepalive no log line", "64 clients"], run)
    rounds = {"handshake": [1.0], "step 4": [1.0], "ticket": [1.0], "tls": [1.0], "log line": [1.0]}
    setup = {"machine": "CPU", "cpus": bench.pinning_line([0], [1]), "watched": bench.cpu_list([0])}
    lines = bench.report(figures, rounds, (1, 1), {"client.py": 1, "importing client.py": 1, "floor": 1}, setup)
    return "$ make bench\n" + "\n".join(lines) + "\nbench took 1 s\n"


def shape(text):
    """Text with every figure, and the machine's description, masked."""
    text = re.sub(r"(?m)^Machine: .*$", "Machine: M", text)
    text = re.sub(r"\d[\d.,]*", "N", text)
    text = re.sub(r"\bMISSED\b", "met", text)
    return re.sub(r" +", " ", text)


def problems(readme):
    """Every tied block that differs from its source, as (marker, unified diff)."""
    found = []
    for match, expected in expected_blocks(readme):
        shown = match.group(4)
        kind = match.group(1)
        if kind == "bench":
            same = shape(shown) == shape(expected)
        elif kind == "output":
            same = mask(shown) == mask(expected)
        else:
            same = shown == expected
        if not same:
            lines = difflib.unified_diff(shown.splitlines(True), expected.splitlines(True), "README.md", "source")
            found.append((match.group(0).splitlines()[0], "".join(lines)))
    return found


def write(readme):
    pieces, last = [], 0
    for match, expected in expected_blocks(readme):
        if match.group(1) in ("bench", "lines"):
            continue  # a recorded run (rewrite it by hand from `make bench`), or an excerpt chosen by hand
        pieces.append(readme[last:match.start(4)])
        pieces.append(expected)
        last = match.end(4)
    pieces.append(readme[last:])
    return "".join(pieces)


def main():
    found = []
    for page in PAGES:
        text = page.read_text()
        if sys.argv[1:] == ["--write"]:
            page.write_text(write(text))
            continue
        for marker, difference in problems(text):
            found.append(marker)
            print(f"{page.relative_to(ROOT)}: {marker}\n{difference}")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
