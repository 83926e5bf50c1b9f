"""Shared helpers: certificates from the real gen_certs.sh, the real server on a
free port, and the real peers (client.py, curl, openssl s_client) as subprocesses.

Nothing here imitates TLS. Every wait has a generous limit that only stops a
hung test; no test measures time.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS = ROOT / "steps"
HANG_LIMIT = 60  # seconds; only a hang takes this long

# The peers must not see a proxy or a CA bundle from the environment, and a `make` run by a test
# must not inherit the variables of the `make test` around it (such as PYTHON=...).
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if not k.lower().endswith("_proxy")
             and k not in ("CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTHON")}


def run(args, cwd=None, input=None):
    """Run a command to the end; return (exit status, stdout, stderr) as text."""
    done = subprocess.run([str(a) for a in args], cwd=cwd, input=input, capture_output=True,
                          text=True, timeout=HANG_LIMIT, env=CLEAN_ENV)
    return done.returncode, done.stdout, done.stderr


def gen_certs(folder, *options):
    """Run the real gen_certs.sh into folder; fail the test if it fails."""
    status, out, err = run(["bash", ROOT / "gen_certs.sh", *options, folder])
    if status != 0:
        raise AssertionError(f"gen_certs.sh failed: {err}")
    return Path(folder)


def openssl_sign(folder, name, issuer, issuer_key, extensions, start=None, end=None, key=None, subject=None):
    """Sign a new certificate for CN=name with `openssl ca`, which, unlike
    `openssl x509`, can set any validity period (for expired certificates).
    extensions is the text of an OpenSSL extensions section. subject, in
    openssl's -subj form, replaces /CN=name: it may have no CN, several, a
    multi-valued part (/CN=a+CN=b) or any UTF-8. Returns the paths of the
    certificate and its key."""
    folder = Path(folder)
    work = folder / f"{name}.ca"
    work.mkdir()
    (work / "index.txt").write_text("")
    (work / "openssl.cnf").write_text(
        "[ca]\ndefault_ca = test\n"
        f"[test]\ndatabase = {work}/index.txt\nnew_certs_dir = {work}\nrand_serial = yes\n"
        "default_md = sha256\npolicy = any\nunique_subject = no\ndefault_days = 30\n"
        "[any]\ncommonName = optional\n"
        "[req]\ndistinguished_name = dn\n[dn]\n"
        f"[ext]\n{extensions}\n")
    key = Path(key) if key else folder / f"{name}-key.pem"
    if not key.exists():
        check(run(["openssl", "genrsa", "-out", key, "2048"]))
    csr = work / "req.csr"
    check(run(["openssl", "req", "-new", "-key", key, "-utf8", "-multivalue-rdn", "-subj", subject or f"/CN={name}",
               "-out", csr, "-config", work / "openssl.cnf"]))
    cert = folder / f"{name}.pem"
    dates = ["-startdate", start, "-enddate", end] if start else []
    self_sign = ["-selfsign", "-keyfile", key] if issuer is None else ["-cert", issuer, "-keyfile", issuer_key]
    # -preserveDN: the subject exactly as requested, in its order, rather than rebuilt from the policy.
    check(run(["openssl", "ca", "-batch", "-notext", "-utf8", "-preserveDN", "-config", work / "openssl.cnf",
               "-extensions", "ext",
               *self_sign, *dates, "-in", csr, "-out", cert]))
    return cert, key


def check(result):
    status, out, err = result
    if status != 0:
        raise AssertionError(f"command failed ({status}): {out}{err}")
    return out


CLIENT_EXTENSIONS = """basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always"""

SERVER_EXTENSIONS = """basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always"""


class Server:
    """The real server script on a free port, its log collected line by line.

        with Server(certs_folder) as server:
            server.url  # https://localhost:PORT/hello
    """

    READY = re.compile(r"^server\.py: serving (https?://(\S+):(\d+)/hello) \(Ctrl-C stops\)$")

    def __init__(self, cwd, *args, script=ROOT / "server.py", host="localhost", stderr=subprocess.PIPE,
                 preexec_fn=None):
        """host=None: a tutorial step, which takes only --port and listens on localhost. stderr other
        than PIPE (a file descriptor, DEVNULL) goes to the server as is, and self.log stays empty;
        preexec_fn runs in the server's process before Python starts."""
        self.cwd, self.args, self.script, self.host = cwd, args, script, host
        self.stderr, self.preexec_fn = stderr, preexec_fn
        self.log = []
        self.changed = threading.Condition()

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, str(self.script), *(["--host", self.host] if self.host else []), "--port", "0",
             *map(str, self.args)],
            cwd=self.cwd, stdout=subprocess.PIPE, stderr=self.stderr, text=True, env=CLEAN_ENV,
            preexec_fn=self._before_exec)
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        ready = self.process.stdout.readline().rstrip("\n")
        match = self.READY.match(ready)
        if not match:
            self.process.kill()
            self.process.wait()
            self.reader.join(HANG_LIMIT)
            raise AssertionError(f"server did not start: {ready!r} {self.log}")
        self.ready = ready
        self.url, self.port = match.group(1), int(match.group(3))
        self.base = self.url.rsplit("/", 1)[0]
        return self

    def _before_exec(self):
        # Ctrl-C (SIGINT) must reach the server even where the suite runs in the background.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if self.preexec_fn:
            self.preexec_fn()

    def _read_log(self):
        if self.process.stderr is None:
            return
        for line in self.process.stderr:
            with self.changed:
                self.log.append(line.rstrip("\n"))
                self.changed.notify_all()

    def wait_for_log(self, pattern, start=0):
        """Wait until a log line from index start on matches pattern; return its match."""
        regex = re.compile(pattern)
        with self.changed:
            for _ in range(HANG_LIMIT * 10):
                for line in self.log[start:]:
                    match = regex.search(line)
                    if match:
                        return match
                self.changed.wait(0.1)
        raise AssertionError(f"no log line matches {pattern!r}; the log: {self.log}")

    def wait_for_lines(self, pattern, count, start=0):
        """Wait until count log lines from index start on match pattern; return their matches."""
        regex = re.compile(pattern)
        with self.changed:
            for _ in range(HANG_LIMIT * 10):
                matches = [m for m in map(regex.search, self.log[start:]) if m]
                if len(matches) >= count:
                    return matches
                self.changed.wait(0.1)
        raise AssertionError(f"fewer than {count} log lines match {pattern!r}; the log: {self.log}")

    def mark(self):
        """An index into the log, for wait_for_log(..., start=mark)."""
        with self.changed:
            return len(self.log)

    def stop(self, signum=signal.SIGTERM):
        """SIGTERM, as `kill` sends (or signum, such as SIGINT for Ctrl-C); return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        status = self.process.wait(HANG_LIMIT)
        self.reader.join(HANG_LIMIT)
        self.process.stdout.close()
        if self.process.stderr:
            self.process.stderr.close()
        return status

    def __exit__(self, *exc):
        self.stop()


def client(*args, cwd, script=ROOT / "client.py"):
    """Run the real client; return (exit status, stdout, stderr)."""
    return run([sys.executable, script, *args], cwd=cwd)


def curl(*args, cwd):
    return run(["curl", "--silent", "--show-error", "--noproxy", "*", *args], cwd=cwd)


def s_client(port, *args, cwd, request=None):
    """openssl s_client to 127.0.0.1:port; sends request, or an HTTP GET of /hello."""
    if request is None:
        request = "GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    return run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
                "-quiet", *args], cwd=cwd, input=request)


def free_port():
    """A port that nothing listens on (bound, read back, closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nginx_path():
    """The nginx command, or None. Debian installs it in /usr/sbin, which a user's PATH may lack."""
    path = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/sbin", "/usr/local/sbin"])
    return shutil.which("nginx", path=path)


class Nginx:
    """The real nginx in the foreground with the repository's nginx/mtls-proxy.conf, never the
    system's service: the file is copied to top/nginx/ with each port replaced as ports says
    ({port in the file: port to use}), so its certificates are top/pki/; its pid file goes in
    top/nginx-run/, the folder given with -p. Its stderr is collected in self.log.

        with Nginx(top, {9443: free_port(), 8443: first.port, 8444: second.port}) as nginx:
            nginx.url  # https://localhost:PORT/hello
    """

    def __init__(self, top, ports):
        self.top, self.ports = Path(top), ports
        self.log = []

    def __enter__(self):
        config = (ROOT / "nginx" / "mtls-proxy.conf").read_text()
        found = re.findall(r"\b127\.0\.0\.1:(\d+)\b", config)
        if sorted(found) != sorted(map(str, self.ports)):
            raise AssertionError(f"nginx/mtls-proxy.conf has the ports {found}, not {sorted(self.ports)}")
        config = re.sub(r"\b127\.0\.0\.1:(\d+)\b", lambda m: f"127.0.0.1:{self.ports[int(m.group(1))]}", config)
        (self.top / "nginx").mkdir(exist_ok=True)
        (self.top / "nginx" / "mtls-proxy.conf").write_text(config)
        (self.top / "nginx-run").mkdir(exist_ok=True)
        self.port = self.ports[9443]
        self.url = f"https://localhost:{self.port}/hello"
        # As `nginx -p "$PWD/nginx-run" -c "$PWD/nginx/mtls-proxy.conf"` in top.
        self.process = subprocess.Popen(
            [nginx_path(), "-p", str(self.top / "nginx-run"), "-c", str(self.top / "nginx" / "mtls-proxy.conf")],
            cwd=self.top, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env=CLEAN_ENV)
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + HANG_LIMIT
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"nginx did not start: {self.log}")

    def _read_log(self):
        for line in self.process.stderr:
            self.log.append(line.rstrip("\n"))

    def stop(self):
        """SIGQUIT, nginx's graceful stop; return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
        try:
            status = self.process.wait(HANG_LIMIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait()
        self.reader.join(HANG_LIMIT)
        self.process.stderr.close()
        return status

    def __exit__(self, *exc):
        self.stop()
