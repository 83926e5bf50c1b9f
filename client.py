#!/usr/bin/env python3
"""An HTTPS client that proves who it is with a certificate: mutual TLS.

This is the final step of the mutual TLS tutorial in README.md. It trusts
only the CA in --ca (cert.pem), presents --cert and --key (cert.pem and
key.pem) as its own identity, fetches URL and prints the body it gets.
The whole fetch must end within --timeout seconds (10).

    python3 client.py                                  # https://localhost:8443/hello
    python3 client.py https://localhost:8443/hello --ca ca.pem --cert client.pem --key client-key.pem
"""

import argparse
import http.client
import os
import socket
import ssl
import sys
import time
import urllib.parse
from typing import NoReturn, Optional, Union

TIMEOUT = 10  # seconds for the whole fetch, connecting to last byte, so a slow server cannot hold us
LONGEST_TIMEOUT = 86400  # seconds (a day) that --timeout accepts: more is a typo, and sockets refuse far more
MAX_BODY = 10 * 2**20  # bytes (10 MiB) of body we keep; an endless answer would fill the memory
ERROR_EXCERPT = 200  # characters of an error page shown in our one line of error

# Unicode categories that move the cursor, clear the screen, reorder or hide text in a terminal:
# control (Cc, with ESC), format (Cf, with U+202E RIGHT-TO-LEFT OVERRIDE) and line and paragraph separators.
UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp"}


def make_client_context(ca: str, cert: str, key: str) -> ssl.SSLContext:
    """The TLS settings of the client: whom we trust, and who we are."""
    # Verifies the server's certificate and that it names the host we asked for.
    # cafile= means we trust this CA only, not the system's public CAs.
    context = ssl.create_default_context(cafile=ca)
    # SSL 3.0, TLS 1.0 and TLS 1.1 have known attacks; Python 3.9 would still accept TLS 1.0.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # Match the host name against subjectAltName only, as Go, browsers and urllib3 2 do;
    # Python would otherwise fall back to the deprecated Common Name.
    context.hostname_checks_common_name = False
    # Reject malformed certificates too, as Python 3.13 does by default, on every version.
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    # Our identity, presented when the server asks for a client certificate. OpenSSL asks for
    # a passphrase only if the key is encrypted.
    context.load_cert_chain(cert, key, password=lambda: ask_passphrase(key))
    # Its sockets end every read by the fetch's deadline (see DeadlineSocket).
    context.sslsocket_class = DeadlineSocket
    return context


class KeyIsEncrypted(Exception):
    """The key needs a passphrase, and there is no terminal to type it on."""


def ask_passphrase(key: str) -> str:
    """The passphrase of an encrypted key, typed on the terminal."""
    if sys.stdin is None or not sys.stdin.isatty():
        # With no one to answer, OpenSSL's own prompt would end in a bare OSError.
        raise KeyIsEncrypted(key)
    import getpass  # here, not at the top: only an encrypted key needs it, and every start would pay for it

    return getpass.getpass(f"client.py: passphrase of {key}: ")


def fetch(url: str, context: ssl.SSLContext, timeout: float = TIMEOUT) -> tuple[int, str, bytes]:
    """GET url over TLS within timeout seconds in all; return the status, the reason and the body."""
    deadline = time.monotonic() + timeout
    parts = urllib.parse.urlsplit(url)
    connection = DeadlineConnection(parts.hostname, parts.port or 443, context, deadline)
    try:
        connection.request("GET", request_target(parts))
        response = connection.getresponse()
        body = response.read(MAX_BODY + 1)  # one byte more than we keep, to tell "too large" from "just fits"
        if len(body) > MAX_BODY:
            raise BodyTooLarge()
        return response.status, response.reason, body
    finally:
        connection.close()


def request_target(parts: urllib.parse.SplitResult) -> str:
    """The path and query as HTTP sends them: ASCII, with anything else percent-encoded as browsers do."""
    # Characters that mean something in a path or query (RFC 3986), and % to keep escapes already made.
    keep = "/?:@!$&'()*+,;=%"
    target = urllib.parse.quote(parts.path or "/", safe=keep)
    return target + ("?" + urllib.parse.quote(parts.query, safe=keep) if parts.query else "")


class DeadlineSocket(ssl.SSLSocket):
    """A TLS socket that gives each read only the time left before its deadline.

    http.client reads the status line, the headers and the body in many small reads,
    and a socket timeout bounds each read alone: a server that sends a byte every few
    seconds, or one `100 Continue` after another, would never trip it.
    """

    deadline: Optional[float] = None  # a time.monotonic() value; None until connected

    def recv_into(self, buffer: Union[bytearray, memoryview], nbytes: Optional[int] = None, flags: int = 0) -> int:
        if self.deadline is not None:
            self.settimeout(time_left(self.deadline))
        return super().recv_into(buffer, nbytes, flags)


class DeadlineConnection(http.client.HTTPSConnection):
    """An HTTPS connection whose every step must be over by one deadline."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext, deadline: float) -> None:
        super().__init__(host, port, context=context)
        self.tls, self.deadline = context, deadline

    def connect(self) -> None:
        # Connecting and the TLS handshake are one call each, bounded whole by the socket's timeout.
        # (Looking up the name has the resolver's own limits, and a name with several addresses
        # gets the time left for each address it tries.)
        # self.sock is set at once, so that close() closes it whatever fails next.
        self.sock = socket.create_connection((self.host, self.port), time_left(self.deadline))
        self.sock.settimeout(time_left(self.deadline))  # the handshake gets what connecting left
        self.sock = self.tls.wrap_socket(self.sock, server_hostname=self.host)
        self.sock.deadline = self.deadline


class BodyTooLarge(http.client.HTTPException):
    """The server sent more than MAX_BODY bytes."""


def time_left(deadline: float) -> float:
    """Seconds until deadline; socket.timeout once it has passed (a timeout of 0 would not block at all)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("timed out")
    return left


def printable(text: str, keep: str = "") -> str:
    """text with each unprintable character (UNPRINTABLE) but those in keep written as an escape,
    \\x1b or \\u202e, so that text from a server cannot drive the terminal or disguise itself."""
    import unicodedata  # here, not at the top: only an error or a terminal needs it, and every start would pay
    return "".join(c if c in keep or unicodedata.category(c) not in UNPRINTABLE
                   else f"\\x{ord(c):02x}" if ord(c) < 0x100
                   else f"\\u{ord(c):04x}" if ord(c) < 0x10000
                   else f"\\U{ord(c):08x}" for c in text)


def explain(error: Exception, url: str, timeout: float = TIMEOUT) -> str:
    """One line saying what went wrong and what to try, for each failure a reader can meet."""
    parts = urllib.parse.urlsplit(url)
    where = parts.netloc
    if isinstance(error, ssl.SSLCertVerificationError):
        if error.verify_code in (9, 10):  # X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED
            return (f"the server's certificate is out of date ({error.verify_message}); "
                    "the server needs a new one, or this machine's clock is wrong")
        if error.verify_code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
            return (f"the server's certificate is not valid for {parts.hostname} "
                    f"({error.verify_message}); use a host name that the certificate lists")
        return (f"the server's certificate is not trusted ({error.verify_message}); "
                "pass the CA that signed it with --ca")
    if isinstance(error, ssl.SSLError) and "ALERT" in (error.reason or ""):
        # The server ended the handshake with a TLS alert. Under TLS 1.3 it checks our
        # certificate after our side of the handshake is done, so that alert arrives late,
        # on the first read.
        alert = error.reason.split("ALERT_", 1)[1].lower().replace("_", " ")
        if alert == "certificate revoked":
            return ("the server's CA has revoked our client certificate (certificate revoked); "
                    "ask its keeper for a new one (gen_certs.sh --renew NAME DIR)")
        if alert == "protocol version":
            return ("the server speaks no TLS version we accept (protocol version): we require TLS 1.2 "
                    "or newer, because older versions have known attacks; upgrade the server")
        if "certificate" in alert or alert == "unknown ca":
            return (f"the server refused our client certificate ({alert}); "
                    "pass one signed by the server's CA with --cert and --key")
        return f"the server ended the TLS handshake ({alert})"
    if isinstance(error, (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError)):
        return (f"{where} closed the connection ({error}); "
                "it may have refused our client certificate, see the server's log")
    if isinstance(error, socket.gaierror):
        return f"cannot find the host {parts.hostname} ({error.strerror}); check the URL"
    if isinstance(error, ConnectionRefusedError):
        return f"nothing is listening on {where}; start the server first (make server)"
    if isinstance(error, socket.timeout):
        return f"{where} did not answer within {timeout:g} seconds; is it the right server?"
    if isinstance(error, BodyTooLarge):
        return f"{where} sent more than {MAX_BODY // 2**20} MiB, more than this client keeps; is it the right URL?"
    return f"cannot fetch {url}: {error}"


def gen_certs_command(path: str, *options: str) -> str:
    """The gen_certs.sh command, as typed from the current folder, that makes path's kind of file
    in path's folder: the shell script beside client.py, by the shorter of its two paths."""
    import shlex  # here, not at the top: only an error needs it, and every start would pay for it

    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen_certs.sh")
    try:
        relative = os.path.relpath(script)
    except ValueError:  # another drive, on Windows
        relative = script
    command = relative if len(relative) < len(script) else script
    if not os.path.dirname(command):
        command = os.path.join(".", command)
    if os.path.basename(path) in ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem"):
        options = ("--ca", *options)  # the files of `gen_certs.sh --ca`
    folder = os.path.dirname(path)
    return " ".join(shlex.quote(word) for word in (command, *options, *([folder] if folder else [])))


def seconds(text: str) -> float:
    """The value of --timeout: a number of seconds, more than 0 and at most LONGEST_TIMEOUT."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= LONGEST_TIMEOUT:  # also false for nan
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds above 0 and up to {LONGEST_TIMEOUT}")
    return value


def fail(message: str) -> NoReturn:
    """Stop with one line on stderr, escaped, since it may quote what the server sent."""
    sys.exit("client.py: " + printable(message))


def write_output(body: bytes) -> None:
    """Write the body to stdout, or stop with one line if it cannot be written."""
    if sys.stdout is None:
        fail("cannot write the answer: standard output is closed")
    if sys.stdout.isatty():
        # A terminal obeys the escape sequences in what it shows (retitling the window, writing
        # the clipboard, hiding text), so show those as text, as `ls` does with file names.
        # Pipes and files get the body byte for byte: it is the data.
        text = printable(body.decode("utf-8", "backslashreplace"), keep="\n\t")
        body = text.encode(sys.stdout.encoding or "utf-8", "backslashreplace")
    try:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    except OSError as error:
        # What is left in stdout's buffer would fail again, with a traceback, when Python
        # flushes it at exit: send it to /dev/null instead.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if isinstance(error, BrokenPipeError):
            # The reader stopped reading (`| head -c1`): nothing to report. Exit with the
            # status of a program that SIGPIPE ended (128 + 13), as `cat` would.
            sys.exit(141)
        fail(f"cannot write the answer: {error.strerror}")  # a full disk, for one


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Fetch a URL over mutual TLS and print the body.")
    parser.add_argument("url", nargs="?", default="https://localhost:8443/hello",
                        help="what to fetch (default: https://localhost:8443/hello)")
    parser.add_argument("--ca", default="cert.pem", help="CA that signed the server's certificate (default: cert.pem)")
    parser.add_argument("--cert", default="cert.pem", help="our client certificate (default: cert.pem)")
    parser.add_argument("--key", default="key.pem", help="private key of --cert (default: key.pem)")
    parser.add_argument("--timeout", type=seconds, default=TIMEOUT, metavar="SECONDS",
                        help=f"give up if the whole fetch takes longer (default: {TIMEOUT})")
    args = parser.parse_args(argv)
    try:
        parts = urllib.parse.urlsplit(args.url)
        # isprintable() is False for spaces, control, format and separator characters.
        valid = (parts.scheme == "https" and parts.hostname and parts.port != 0
                 and parts.hostname.isprintable() and " " not in parts.hostname)
        if valid and parts.hostname.isascii():
            # DNS carries labels of 1 to 63 characters: not a..b. (The idna codec checks the same,
            # but loading it costs every start a millisecond.)
            valid = all(0 < len(label) < 64 for label in parts.hostname.rstrip(".").split("."))
        elif valid:
            parts.hostname.encode("idna")  # a name DNS cannot carry raises UnicodeError
    except ValueError:  # UnicodeError is a ValueError too
        valid = False
    if not valid:
        parser.error(printable(f"{args.url} is not an https://HOST[:PORT]/PATH URL"))

    for path in (args.ca, args.cert, args.key):
        try:
            open(path, "rb").close()
        except OSError as error:
            fail(f"cannot read {path}: {error.strerror}; run `{gen_certs_command(path)}` to create it")
    try:
        context = make_client_context(args.ca, args.cert, args.key)
    except KeyIsEncrypted:
        fail(f"{args.key} is encrypted; run client.py in a terminal to type its passphrase")
    except ssl.SSLError as error:
        if error.reason == "KEY_VALUES_MISMATCH":
            fail(f"{args.key} is not the key of {args.cert}; pass the matching --key")
        if error.reason == "NO_CERTIFICATE_OR_CRL_FOUND":
            fail(f"{args.ca} holds no PEM certificate; pass the CA's certificate with --ca")
        with open(args.key, "rb") as file:
            if b"ENCRYPTED" in file.read():  # the PEM header of an encrypted key says so
                fail(f"cannot decrypt {args.key}: the passphrase is wrong")
        fail(f"{args.cert} or {args.key} is not a PEM certificate and key; "
             f"make new ones with `{gen_certs_command(args.cert, '--force')}`")

    try:
        status, reason, body = fetch(args.url, context, args.timeout)
    except (OSError, ValueError, http.client.HTTPException) as error:
        fail(explain(error, args.url, args.timeout))
    if status != 200:
        first_line = body.decode("utf-8", "replace").partition("\n")[0]
        if len(first_line) > ERROR_EXCERPT:
            first_line = first_line[:ERROR_EXCERPT] + "..."
        fail(f"the server answered {status} {reason} ({first_line})")
    # The body as sent, "Hello, world!" and its newline; on a terminal, escaped (see write_output).
    write_output(body)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)  # Ctrl-C: stop quietly, with the status shells expect
