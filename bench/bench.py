#!/usr/bin/env python3
"""How fast is it? `make bench` runs the real server.py under load, beside
reference servers measured in the same run, and prints one table.

    full handshake   a new connection, and so a full mutual-TLS handshake, per request;
                     the reference is `openssl s_server -WWW` requiring client certificates,
                     sending one TLS 1.3 session ticket per handshake as server.py does;
                     measured also with OpenSSL's default two, which gives a ticket's cost,
                     and against the tutorial's step 4 server (two tickets too): the design's
                     floor, one thread per connection and http.server with nothing added
    keep-alive       many requests per connection; the reference is server.py's own server,
                     handler and log line without TLS (built here from server.py), measured
                     also with the log line switched off, which gives the log line's cost
    64 clients       64 concurrent clients opening new connections
    memory           resident size after 1,000 and after 100,000 requests
    client.py        one whole run of client.py, against the interpreter's own floor,
                     `python -c 'import ssl, http.client'`

The server's CPU time per request comes from the server process's own
clock (all its threads, in nanoseconds), so it does not depend on how fast
this load generator is. Every server under test runs on one CPU and the load
on the others (os.sched_setaffinity): otherwise a threaded Python server and
its load generator share every core, and the server pays for cross-core
contention that single-threaded `openssl s_server` does not. Each server and
its reference take turns, in eight or twelve rounds, and a comparison is the median
of the rounds' comparisons, so that a busy moment on a shared machine does not
decide it; the table also says how much of the servers' CPU other programs
took meanwhile. Standard library and the openssl command only; Linux.
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


# Where each process runs: every server on one CPU, the load on the others.

class Pinning:
    """Which CPUs the servers and the load get, and the header line that says so.

    The bench pins itself to the load's CPUs, so that the load workers and client.py
    runs it starts inherit them, and pins each server, by pid, to the servers' CPU.
    Where that cannot be done, everything runs where the system puts it, and the
    header says why.
    """

    def __init__(self):
        self.server_cpus = self.load_cpus = None
        self.refused = ""
        try:
            allowed = sorted(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            self.refused = "this system has no sched_setaffinity"
            return
        if len(allowed) < 2:
            self.refused = "only one CPU is available to the bench"
            return
        self.all_cpus = set(allowed)
        try:
            os.sched_setaffinity(0, allowed[1:])
        except OSError as error:
            self.refused = f"the system refused it ({error.strerror})"
            return
        self.server_cpus, self.load_cpus = allowed[:1], allowed[1:]
        self.pinned = []  # the servers' pids

    def pin_server(self, pid):
        """Put every thread of process pid on the servers' CPU. Threads it starts later
        inherit that from the thread that starts them."""
        if self.server_cpus is None:
            return
        try:
            for thread in os.listdir(f"/proc/{pid}/task"):
                try:
                    os.sched_setaffinity(int(thread), self.server_cpus)
                except ProcessLookupError:  # the thread ended meanwhile
                    pass
        except OSError as error:
            self.unpin(f"the system refused it ({error.strerror})")
            return
        self.pinned.append(pid)

    def unpin(self, reason):
        """Fall back to no pinning, for every process, after pinning one was refused."""
        self.refused = reason
        for pid in (os.getpid(), *self.pinned):
            try:
                for thread in os.listdir(f"/proc/{pid}/task"):
                    os.sched_setaffinity(int(thread), self.all_cpus)
            except OSError:
                pass
        self.server_cpus = self.load_cpus = None

    def header(self):
        return pinning_line(self.server_cpus, self.load_cpus, self.refused)

    def watched(self):
        """The CPUs whose other load the report shows: the servers' one, or all."""
        return cpu_list(self.server_cpus) if self.server_cpus else "the CPUs"


def pinning_line(server_cpus, load_cpus, refused=""):
    if server_cpus is None:
        return f"CPUs: not pinned, servers and load share them: {refused}"
    return (f"CPUs: every server pinned to {cpu_list(server_cpus)}, the load to {cpu_list(load_cpus)} "
            "(os.sched_setaffinity)")


def cpu_list(cpus):
    if len(cpus) == 1:
        return f"CPU {cpus[0]}"
    if cpus == list(range(cpus[0], cpus[-1] + 1)):
        return f"CPUs {cpus[0]}-{cpus[-1]}"
    return "CPUs " + ",".join(map(str, cpus))


# The servers under test, each a real process.

class ServerProcess:
    def __init__(self, args, cwd, ready_pattern, pinning):
        self.pinning = pinning
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
        pinning.pin_server(self.process.pid)

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


def python_server(pinning, certs):
    return ServerProcess([PYTHON, str(ROOT / "server.py"), "--host", "127.0.0.1", "--port", "0"], certs,
                         r"serving https://127\.0\.0\.1:(\d+)/", pinning)


def step4_server(pinning, certs):
    """The tutorial's step 4 server: the finished server's design, with none of its additions."""
    return ServerProcess([PYTHON, str(ROOT / "steps" / "4-mutual-tls" / "server.py"), "--port", "0"], certs,
                         r"serving https://localhost:(\d+)/", pinning)


def no_tls_server(pinning, certs, log_line=True):
    """The keep-alive reference (serve_without_tls, below), in a process of its own."""
    return ServerProcess([PYTHON, __file__, "--no-tls", *([] if log_line else ["--no-log-line"])], certs,
                         r"serving http://127\.0\.0\.1:(\d+)/", pinning)


def openssl_server(pinning, certs, tickets=1):
    port = free_port()
    # -WWW serves files from the working folder over HTTP/1.0; -Verify 1 requires a client certificate;
    # -num_tickets: TLS 1.3 session tickets sent after each full handshake (server.py sends one).
    server = ServerProcess(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-WWW",
                            "-cert", "cert.pem", "-key", "key.pem", "-CAfile", "cert.pem", "-Verify", "1",
                            "-num_tickets", str(tickets), "-naccept", "1000000"], certs, r"ACCEPT", pinning)
    server.port = port
    return server


# The keep-alive reference: server.py's own server, handler and log line, without TLS.

# The subject of the certificate gen_certs.sh makes, which the TLS clients present.
CLIENT_SUBJECT = ((("countryName", "US"),), (("stateOrProvinceName", "California"),),
                  (("localityName", "Mountain View"),), (("organizationName", "Your Organization"),),
                  (("organizationalUnitName", "Your Unit"),), (("commonName", "localhost"),))


def serve_without_tls(log_line):
    """Serve server.py's HelloHandler, by server.py's HelloServer, over plain TCP; runs in a process
    of its own (`bench.py --no-tls [--no-log-line]`). Only the handshake is left out: each
    connection answers getpeercert() with the subject the TLS clients' certificate has, so the
    handler does the same work and writes the same log line."""
    sys.path.insert(0, str(ROOT))
    import server

    class PlainConnection(socket.socket):
        def getpeercert(self, binary_form=False):
            return {"subject": CLIENT_SUBJECT}

    class Handler(server.HelloHandler):
        if not log_line:
            def log_request(self, code="-", size="-"):
                pass

    class PlainServer(server.HelloServer):
        def finish_request(self, sock, client_address):
            # server.py's finish_request, less the TLS handshake and close_notify.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = PlainConnection(sock.family, sock.type, sock.proto, fileno=sock.detach())
            try:
                self.RequestHandlerClass(connection, client_address, self)
            finally:
                self.set_idle(connection, False)
                server.hang_up(connection)

    httpd = PlainServer(("127.0.0.1", 0), context=None)
    httpd.RequestHandlerClass = Handler
    server.LOG.start()
    print(f"no-TLS reference: serving http://127.0.0.1:{httpd.server_address[1]}/hello", flush=True)
    httpd.serve_forever()


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
    weather = Weather(server)
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
    cpu = server.cpu_seconds() - cpu_before
    return {"latencies": latencies, "failed": failures, "elapsed": elapsed, "cpu": cpu,
            "others": weather.others(cpu)}


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
        "busy_percent": 100 * sum(run["cpu"] for run in runs) / sum(run["elapsed"] for run in runs),
        "others_percent": 100 * sum(run["others"] for run in runs) / len(runs),
    }


def alternate(servers, rounds, certs, clients, requests_each, per_connection):
    """Load (server, uses TLS) pairs by turns, so that the machine's ups and downs hit all alike;
    return each server's runs, one a round."""
    runs = [[] for _ in servers]
    for _ in range(rounds):
        for (server, tls), measured in zip(servers, runs):
            measured.append(load(server, certs, tls, clients, requests_each, per_connection))
    return runs


def cpu_us(run):
    return 1e6 * run["cpu"] / (len(run["latencies"]) + run["failed"])


def by_round(compare, runs, reference_runs):
    """compare(server's CPU per request, its reference's) in each round: a server is compared
    with the reference measured just after it, under the same weather on a shared machine."""
    return [compare(cpu_us(run), cpu_us(reference)) for run, reference in zip(runs, reference_runs)]


# The machine's weather: how much of the servers' CPU other programs took during a run.
# On a shared machine they are what makes one run differ from the next.

class Weather:
    def __init__(self, server):
        self.cpus = server.pinning.server_cpus
        self.busy, self.own, self.began = cpu_busy_seconds(), own_cpu_seconds(), time.monotonic()

    def others(self, server_seconds):
        """The share of the servers' CPU (of every CPU, if not pinned) that other programs used since
        this began, given the CPU time the server under load used meanwhile."""
        busy, elapsed = cpu_busy_seconds(), time.monotonic() - self.began
        cpus = self.cpus or list(busy)
        ran = sum(busy[cpu] - self.busy.get(cpu, 0.0) for cpu in cpus) - server_seconds
        if not self.cpus:  # the bench and its load workers ran on these CPUs too
            ran -= own_cpu_seconds() - self.own
        return max(0.0, ran / elapsed / len(cpus))


def cpu_busy_seconds():
    """Per CPU, the time it has spent running anything (user, nice and system time), from /proc/stat."""
    busy = {}
    for line in Path("/proc/stat").read_text().splitlines():
        match = re.match(r"cpu(\d+) (\d+) (\d+) (\d+) ", line)
        if match:
            busy[int(match.group(1))] = sum(int(ticks) for ticks in match.groups()[1:]) / TICKS
    return busy


def own_cpu_seconds():
    """CPU time of this bench and of every process it started and has waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


# client.py from start to exit, against the interpreter's floor.

def client_run_seconds(server, certs, runs=15):
    url = f"https://localhost:{server.port}/hello"
    commands = {"client.py": ([PYTHON, str(ROOT / "client.py"), url], certs),
                # client.py's start-up alone: compiled (-B, as a script is) and imported, nothing fetched.
                "importing client.py": ([PYTHON, "-B", "-c", "import client"], ROOT),
                "floor": ([PYTHON, "-c", "import ssl, http.client"], certs)}
    times = {name: [] for name in commands}
    for _ in range(runs):
        for name, (command, folder) in commands.items():  # interleaved, so that noise hits all alike
            start = time.perf_counter()
            subprocess.run(command, cwd=folder, check=True, stdout=subprocess.DEVNULL)
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


def row(name, figures, versus=""):
    return (f"{name:<34} {figures['requests']:>8} {figures['failed']:>6} {figures['per_second']:>9.0f} "
            f"{figures['p50_ms']:>8.2f} {figures['p99_ms']:>8.2f} {figures['cpu_us']:>10.0f} "
            f"{figures['busy_percent']:>4.0f}% {versus:>7} {figures['others_percent']:>5.0f}%")


SUFFIXES = {"x": "x", "µs": " µs", "%": "%"}


def amount(value, unit, digits=None):
    """value with its unit: 1.23x, 21.5 µs, 8.0%."""
    digits = (2 if unit == "x" else 1) if digits is None else digits
    return f"{value:.{digits}f}{SUFFIXES[unit]}"


def report(figures, rounds, rss, client_times, setup):
    """The table and the targets, as lines of text. figures: each server's summary(); rounds: the
    round-by-round comparisons ("handshake" and "step 4": ratios; "ticket", "tls" and "log line":
    differences in µs);
    rss: KiB after 1,000 and after 100,000 requests; setup: "machine", and "cpus" and "watched"
    from Pinning."""
    hs, hs_ref, hs_two = figures["handshake"], figures["handshake reference"], figures["handshake two tickets"]
    hs_step4 = figures["handshake step 4"]
    ka, ka_ref, ka_quiet = figures["keepalive"], figures["keepalive reference"], figures["keepalive no log line"]
    many = figures["64 clients"]
    median = {name: statistics.median(values) for name, values in rounds.items()}
    # The log line measured on the handler without TLS, as a share of what a request costs server.py.
    log_share = 100 * median["log line"] / ka["cpu_us"]
    log_shares = [100 * cpu / ka["cpu_us"] for cpu in rounds["log line"]]
    checks = [
        ("server CPU per full handshake, vs openssl s_server", median["handshake"], 1.3, "x", rounds["handshake"]),
        ("server CPU that TLS adds to a keep-alive request", median["tls"], 25, "µs", rounds["tls"]),
        ("the log line's share of a keep-alive request", log_share, 10, "%", log_shares),
        ("64 clients: p99 latency vs p50", many["p99_ms"] / many["p50_ms"], 2.0, "x", None),
        ("memory after 100,000 requests vs after 1,000", rss[1] / rss[0], 1.1, "x", None),
        ("client.py start to exit, vs importing ssl and http.client", client_times["client.py"] / client_times["floor"],
         1.25, "x", None),
    ]
    lines = [
        f"Machine: {setup['machine']}",
        setup["cpus"],
        "",
        f"{'':<34} {'requests':>8} {'failed':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/req':>10} {'busy':>5} "
        f"{'vs ref':>7} {'others':>6}",
        row("full handshake: server.py", hs, amount(median["handshake"], "x")),
        row("full handshake: openssl s_server", hs_ref),
        row("the same, with OpenSSL's 2 tickets", hs_two),
        row("full handshake: step 4's server", hs_step4, amount(median["step 4"], "x")),
        row("keep-alive: server.py", ka, f"{median['tls']:+.0f} µs"),
        row("keep-alive: same handler, no TLS", ka_ref),
        row("keep-alive: the same, no log line", ka_quiet),
        row("64 clients, new connections", many),
        f"busy: the server's CPU time per second of load; others: the share of {setup['watched']} "
        "that other programs used meanwhile",
        "",
        f"session ticket: {median['ticket']:.0f} µs of s_server's CPU each; server.py and the reference send one "
        "per handshake, as Go does",
        "step 4's server sends OpenSSL's two, and is compared with s_server sending two",
        f"log line: {median['log line']:.1f} µs of {ka['cpu_us']:.0f} µs per keep-alive request ({log_share:.1f}%)",
        f"memory: {rss[0] / 1024:.1f} MiB after 1,000 requests, {rss[1] / 1024:.1f} MiB after 100,000",
        f"client.py, start to exit: {1000 * client_times['client.py']:.1f} ms, of which importing it "
        f"{1000 * client_times['importing client.py']:.1f} ms; "
        f"python -c 'import ssl, http.client': {1000 * client_times['floor']:.1f} ms",
        "",
        f"{'target':<58} {'measured':>8} {'limit':>8}",
    ]
    failed = sum(figures[name]["failed"] for name in figures)
    lines.append(f"{'failed requests, all runs':<58} {failed:>8} {0:>8}  {'met' if failed == 0 else 'MISSED'}")
    for name, measured, limit, unit, spread in checks:
        verdict = "met" if measured <= limit else "MISSED"
        if spread:  # how the rounds fell: a verdict that a few rounds decide is the machine's noise
            verdict = f"{verdict:<6}  {sum(value > limit for value in spread)} of {len(spread)} rounds over"
        lines.append(f"{name:<58} {amount(measured, unit):>8} {amount(limit, unit, 2 if unit == 'x' else 0):>8}  "
                     f"{verdict}")
    return lines


def main():
    if not Path("/proc/self/stat").exists():
        raise SystemExit("bench: needs Linux (/proc) to read the server's CPU time")
    if shutil.which("openssl") is None:
        raise SystemExit("bench: needs the openssl command")
    began = time.perf_counter()
    pinning = Pinning()
    with tempfile.TemporaryDirectory(prefix="mtls-bench-") as folder:
        certs = Path(folder)
        subprocess.run(["bash", str(ROOT / "gen_certs.sh"), folder], check=True, stdout=subprocess.DEVNULL)
        (certs / "hello").write_bytes(BODY)
        figures, rounds = {}, {}
        server = python_server(pinning, certs)
        reference = openssl_server(pinning, certs)
        two_tickets = openssl_server(pinning, certs, tickets=2)
        step4 = step4_server(pinning, certs)
        plain = no_tls_server(pinning, certs)
        quiet = no_tls_server(pinning, certs, log_line=False)
        try:
            load(server, certs, True, 8, 25, 1)  # warm up
            for warming in (reference, two_tickets, step4):
                load(warming, certs, True, 8, 25, 1)
            for warming in (server, plain, quiet):
                load(warming, certs, warming is server, 8, 100, 100)
            # 8 clients; 8 rounds of 256 requests, each on a new connection; then 12 rounds of
            # 2,504 requests over 8 connections.
            hs, hs_ref, hs_two, hs_step4 = alternate(
                [(server, True), (reference, True), (two_tickets, True), (step4, True)], 8, certs, 8, 32, 1)
            ka, ka_ref, ka_quiet = alternate([(server, True), (plain, False), (quiet, False)], 12, certs, 8, 313, 313)
            figures["64 clients"] = summary([load(server, certs, True, 64, 30, 1)])
            client_times = client_run_seconds(server, certs)
        finally:
            for process in (server, reference, two_tickets, step4, plain, quiet):
                process.stop()
        figures.update({"handshake": summary(hs), "handshake reference": summary(hs_ref),
                        "handshake two tickets": summary(hs_two), "handshake step 4": summary(hs_step4),
                        "keepalive": summary(ka),
                        "keepalive reference": summary(ka_ref), "keepalive no log line": summary(ka_quiet)})
        rounds["handshake"] = by_round(lambda cpu, reference_cpu: cpu / reference_cpu, hs, hs_ref)
        rounds["ticket"] = by_round(lambda cpu, reference_cpu: cpu - reference_cpu, hs_two, hs_ref)
        rounds["step 4"] = by_round(lambda cpu, reference_cpu: cpu / reference_cpu, hs_step4, hs_two)
        rounds["tls"] = by_round(lambda cpu, reference_cpu: cpu - reference_cpu, ka, ka_ref)
        rounds["log line"] = by_round(lambda cpu, reference_cpu: cpu - reference_cpu, ka_ref, ka_quiet)

        # A fresh server, for its memory: 1,000 requests, then 99,000 more, reconnecting every 100.
        server = python_server(pinning, certs)
        try:
            load(server, certs, True, 8, 125, 100)
            rss_early = server.rss_kib()
            load(server, certs, True, 8, 12375, 100)
            rss_late = server.rss_kib()
        finally:
            server.stop()

    setup = {"machine": machine(), "cpus": pinning.header(), "watched": pinning.watched()}
    print("\n".join(report(figures, rounds, (rss_early, rss_late), client_times, setup)))
    print(f"bench took {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--no-tls"]:
        serve_without_tls(log_line="--no-log-line" not in sys.argv)
    else:
        main()
