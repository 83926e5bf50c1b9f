#!/usr/bin/env python3
"""How fast is it? `make bench` runs the real server.py under load, beside
reference servers measured in the same run, and prints one table.

    full handshake   a new connection, and so a full mutual-TLS handshake, per request;
                     the reference is `openssl s_server -WWW` requiring client certificates
    keep-alive       many requests per connection; the reference is the same
                     http.server handler without TLS (steps/1-http/server.py)
    64 clients       64 concurrent clients opening new connections
    memory           resident size after 1,000 and after 100,000 requests
    client.py        one whole run of client.py, against the interpreter's own floor,
                     `python -c 'import ssl, http.client'`

The server's CPU time per request comes from the server process's own
accounting (all its threads, /proc/PID/stat), so it does not depend on how
fast this load generator is. Machines are noisy: read the ratios, which
compare runs made minutes apart on the same machine, more than the absolute
figures. Standard library and the openssl command only; Linux.
"""

import multiprocessing
import os
import platform
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = os.path.realpath(sys.executable)  # the interpreter itself, not a version manager's shim
REQUEST = b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n"
BODY = b"Hello, world!\n"
TICKS = os.sysconf("SC_CLK_TCK")


# The servers under test, each a real process.

class ServerProcess:
    def __init__(self, args, cwd, ready_pattern):
        self.process = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        stdin=subprocess.DEVNULL, text=True)
        for _ in range(100):
            line = self.process.stdout.readline()
            match = re.search(ready_pattern, line)
            if match:
                self.port = int(match.group(1)) if match.groups() else None
                break
        else:
            self.process.kill()
            raise SystemExit(f"bench: {args[0]} did not start")
        # Keep reading so that the server never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def cpu_seconds(self):
        """User plus system CPU time of the whole process: all its threads, ended ones too."""
        try:
            # The process's CPU clock, the id clock_getcpuclockid(3) gives on Linux: nanoseconds.
            return time.clock_gettime(((~self.process.pid) << 3) | 2)
        except OSError:
            # The same time in hundredths of a second: too coarse to compare short runs.
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / TICKS

    def rss_kib(self):
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def python_server(script, certs, *args):
    return ServerProcess([PYTHON, str(script), "--host", "127.0.0.1", "--port", "0", *args], certs,
                         r"serving https?://127\.0\.0\.1:(\d+)/")


def openssl_server(certs):
    port = free_port()
    # -WWW serves files from the working folder over HTTP/1.0; -Verify 1 requires a client certificate.
    server = ServerProcess(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-WWW",
                            "-cert", "cert.pem", "-key", "key.pem", "-CAfile", "cert.pem", "-Verify", "1",
                            "-naccept", "1000000"], certs, r"ACCEPT")
    server.port = port
    return server


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The load: worker processes, each with threads, each thread one client.

def client_context(certs, tls):
    if not tls:
        return None
    context = ssl.create_default_context(cafile=str(certs / "cert.pem"))
    context.load_cert_chain(str(certs / "cert.pem"), str(certs / "key.pem"))
    return context


def read_response(sock):
    """Read one response; return True if it is the expected 200 with its body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    match = re.search(rb"\r\nContent-Length: (\d+)", head, re.I)
    if match:
        while len(body) < int(match.group(1)):
            chunk = sock.recv(65536)
            if not chunk:
                return False
            body += chunk
    else:  # HTTP/1.0 without a length: the body ends when the server closes.
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")) and body == BODY


def client_thread(port, context, requests, per_connection, latencies, failures):
    sock = None
    for i in range(requests):
        start = time.perf_counter()
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if context:
                    sock = context.wrap_socket(sock, server_hostname="localhost")
            sock.sendall(REQUEST)
            ok = read_response(sock)
        except OSError:
            ok = False
        if ok:
            latencies.append(time.perf_counter() - start)
        else:
            failures.append(1)
        if not ok or (i + 1) % per_connection == 0:
            if sock is not None:
                sock.close()
            sock = None
    if sock is not None:
        sock.close()


def worker(port, certs, tls, threads, requests, per_connection, results):
    context = client_context(certs, tls)
    latencies, failures = [], []
    pool = [threading.Thread(target=client_thread,
                             args=(port, context, requests, per_connection, latencies, failures))
            for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    results.put((latencies, len(failures)))


def load(server, certs, tls, clients, requests_each, per_connection):
    """Run clients concurrently (over two processes); return what was measured."""
    processes = 2 if clients > 1 else 1
    results = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=worker, args=(server.port, certs, tls, clients // processes,
                                                            requests_each, per_connection, results))
               for _ in range(processes)]
    cpu_before, start = server.cpu_seconds(), time.perf_counter()
    for process in workers:
        process.start()
    latencies, failures = [], 0
    for _ in workers:
        got, failed = results.get()
        latencies += got
        failures += failed
    elapsed = time.perf_counter() - start
    for process in workers:
        process.join()
    return {"latencies": latencies, "failed": failures, "elapsed": elapsed,
            "cpu": server.cpu_seconds() - cpu_before}


def summary(runs):
    """The figures of one or more runs against the same server, taken together."""
    latencies = sorted(latency for run in runs for latency in run["latencies"])
    failed = sum(run["failed"] for run in runs)
    count = len(latencies) + failed
    return {
        "requests": count,
        "failed": failed,
        "per_second": count / sum(run["elapsed"] for run in runs),
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
        "cpu_us": 1e6 * sum(run["cpu"] for run in runs) / count,
    }


def alternate(servers, rounds, certs, clients, requests_each, per_connection):
    """Load (server, uses TLS) pairs by turns, so that the machine's ups and downs hit all alike."""
    runs = [[] for _ in servers]
    for _ in range(rounds):
        for (server, tls), measured in zip(servers, runs):
            measured.append(load(server, certs, tls, clients, requests_each, per_connection))
    return [summary(measured) for measured in runs]


# client.py from start to exit, against the interpreter's floor.

def client_run_seconds(server, certs, runs=15):
    url = f"https://localhost:{server.port}/hello"
    commands = {"client.py": [PYTHON, str(ROOT / "client.py"), url],
                "floor": [PYTHON, "-c", "import ssl, http.client"]}
    times = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():  # interleaved, so that noise hits both alike
            start = time.perf_counter()
            subprocess.run(command, cwd=certs, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


# The report.

def machine():
    cpu = platform.processor()
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    openssl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()} with {ssl.OPENSSL_VERSION}; "
            f"openssl command: {openssl.split(' (')[0]}")


def row(name, figures, reference=None):
    ratio = f"{figures['cpu_us'] / reference['cpu_us']:.2f}x" if reference else ""
    return (f"{name:<34} {figures['requests']:>8} {figures['failed']:>6} {figures['per_second']:>9.0f} "
            f"{figures['p50_ms']:>8.2f} {figures['p99_ms']:>8.2f} {figures['cpu_us']:>10.0f} {ratio:>7}")


def report(figures, rss_early, rss_late, client_times, machine_text):
    """The table and the targets, as lines of text."""
    hs, hs_ref = figures["handshake"], figures["handshake reference"]
    ka, ka_ref = figures["keepalive"], figures["keepalive reference"]
    many = figures["64 clients"]
    checks = [
        ("server CPU per full handshake, vs openssl s_server", hs["cpu_us"] / hs_ref["cpu_us"], 1.3),
        ("server CPU per keep-alive request, vs no TLS", ka["cpu_us"] / ka_ref["cpu_us"], 1.4),
        ("64 clients: p99 latency vs p50", many["p99_ms"] / many["p50_ms"], 2.0),
        ("memory after 100,000 requests vs after 1,000", rss_late / rss_early, 1.1),
        ("client.py start to exit, vs importing ssl and http.client", client_times["client.py"] / client_times["floor"],
         1.25),
    ]
    lines = [
        f"Machine: {machine_text}",
        "",
        f"{'':<34} {'requests':>8} {'failed':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>10} {'vs ref':>7}",
        row("full handshake: server.py", hs, hs_ref),
        row("full handshake: openssl s_server", hs_ref),
        row("keep-alive: server.py", ka, ka_ref),
        row("keep-alive: same handler, no TLS", ka_ref),
        row("64 clients, new connections", many),
        "",
        f"memory: {rss_early / 1024:.1f} MiB after 1,000 requests, {rss_late / 1024:.1f} MiB after 100,000",
        f"client.py, start to exit: {1000 * client_times['client.py']:.1f} ms; "
        f"python -c 'import ssl, http.client': {1000 * client_times['floor']:.1f} ms",
        "",
        f"{'target':<58} {'measured':>8} {'limit':>6}",
    ]
    failed = sum(figures[name]["failed"] for name in figures)
    lines.append(f"{'failed requests, all runs':<58} {failed:>8} {0:>6}  {'met' if failed == 0 else 'MISSED'}")
    for name, measured, limit in checks:
        lines.append(f"{name:<58} {measured:>7.2f}x {limit:>5.2f}x  {'met' if measured <= limit else 'MISSED'}")
    return lines


def main():
    if not Path("/proc/self/stat").exists():
        raise SystemExit("bench: needs Linux (/proc) to read the server's CPU time")
    if shutil.which("openssl") is None:
        raise SystemExit("bench: needs the openssl command")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mtls-bench-") as folder:
        certs = Path(folder)
        subprocess.run(["bash", str(ROOT / "gen_certs.sh"), folder], check=True, stdout=subprocess.DEVNULL)
        (certs / "hello").write_bytes(BODY)
        figures = {}
        server = python_server(ROOT / "server.py", certs)
        reference = openssl_server(certs)
        plain = python_server(ROOT / "steps/1-http/server.py", certs)
        try:
            load(server, certs, True, 8, 25, 1)  # warm up
            load(reference, certs, True, 8, 25, 1)
            # 8 clients; a new connection for each of 2,000 requests, then 20,000 over 8 connections.
            figures["handshake"], figures["handshake reference"] = alternate(
                [(server, True), (reference, True)], 4, certs, 8, 63, 1)
            figures["keepalive"], figures["keepalive reference"] = alternate(
                [(server, True), (plain, False)], 4, certs, 8, 625, 625)
            figures["64 clients"] = summary([load(server, certs, True, 64, 30, 1)])
            client_times = client_run_seconds(server, certs)
        finally:
            for process in (server, reference, plain):
                process.stop()

        # A fresh server, for its memory: 1,000 requests, then 99,000 more, reconnecting every 100.
        server = python_server(ROOT / "server.py", certs)
        try:
            load(server, certs, True, 8, 125, 100)
            rss_early = server.rss_kib()
            load(server, certs, True, 8, 12375, 100)
            rss_late = server.rss_kib()
        finally:
            server.stop()

    print("\n".join(report(figures, rss_early, rss_late, client_times, machine())))
    print(f"bench took {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
