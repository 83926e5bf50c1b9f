#!/usr/bin/env python3
"""An HTTPS server that talks only to clients holding a certificate it trusts.

This is the final step of the mutual TLS tutorial in README.md. It answers
GET /hello with "Hello, world!" and refuses, during the TLS handshake, every
client that does not present a certificate signed by the CA in --ca.

Run it in the folder holding cert.pem and key.pem (`./gen_certs.sh` makes them):

    python3 server.py              # serves https://localhost:8443/hello
    python3 server.py --port 0     # any free port; the line it prints says which
    python3 server.py --allow bob  # only clients whose certificate is for "bob"

Every limit it puts on a client has an option (see --help). SIGTERM (`kill`)
and Ctrl-C stop it cleanly: requests in progress finish first. SIGHUP
(`kill -HUP`) reads --cert, --key, --ca and --crl again, for new connections.
"""

import argparse
import base64
import dataclasses
import errno
import functools
import http.server
import io
import ipaddress
import os
import queue
import re
import shlex
import signal
import socket
import ssl
import sys
import threading
import time
from http import HTTPStatus
from typing import Iterable, List, Optional, Tuple

# What one client may cost the server, as Go's http.Server and nginx limit it. Each has an option
# of the same name (--max-connections, --handshake-timeout, ...), so that tests can shorten them.
MAX_CONNECTIONS = 256  # connections served at once: each holds a thread, so a flood cannot use up memory
HANDSHAKE_TIMEOUT = 10.0  # seconds for a new connection's whole TLS handshake, however slowly its bytes come
HEADER_TIMEOUT = 10.0  # seconds for a request's line and headers (and any body we discard), in all
IDLE_TIMEOUT = 30.0  # seconds a kept-alive connection may wait for its next request
DRAIN_TIMEOUT = 5.0  # seconds that requests in progress get to finish once the server is told to stop

# Limits with no option.
HANG_UP_TIMEOUT = 1.0  # seconds a closing connection is read from, so that our last words are not lost to a reset
MAX_DISCARDED_BODY = 64 * 1024  # bytes of body a GET or HEAD may carry: we read and drop them; more is refused
ACCEPT_PAUSE = 0.1  # seconds to stop accepting when out of file descriptors or memory, instead of spinning
REPEAT_LOG_INTERVAL = 1.0  # seconds between log lines about one recurring problem, so a flood cannot flood the log
LOG_QUEUE_LINES = 1000  # log lines that may wait for a slow stderr; more are dropped, and counted
LOG_WRITE_INTERVAL = 0.01  # seconds between the log's writes: many lines cost one write, not a thread switch each
LOG_FLUSH_TIMEOUT = 1.0  # seconds a stopping server waits for stderr to take its last lines


# The log. What a client sends ends up in it, so that text is escaped: no client can
# start a new line, close a quoted field early, or send the terminal escape sequences.

def escape_unprintable(text: str) -> str:
    """text with each character that str.isprintable() rejects (control, format and separator
    characters, U+2028 and U+202E among them) written as \\xNN, \\uNNNN or \\UNNNNNNNN."""
    if text.isprintable():  # nearly always, and quick to check
        return text
    return "".join(char if char.isprintable() else escape_character(char) for char in text)


def escape_character(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def quote_field(text: str) -> str:
    """text made safe between double quotes in a log line: `"` and `\\` escaped with a backslash,
    and every unprintable character as escape_unprintable writes it."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return text
    return "".join(("\\" + char if char in '"\\' else char) if char.isprintable() else escape_character(char)
                   for char in text)


class LogWriter:
    """Lines for stderr, written by a thread of their own, so that no request ever waits for stderr.

    This is the logging cookbook's QueueHandler and QueueListener, without the LogRecord
    (a plain line costs about a quarter as much). When stderr is slow, blocked, broken or closed,
    lines wait in a bounded queue; when the queue is full they are dropped and counted,
    and the count is logged as soon as stderr takes lines again. Lines are written
    together, at most every LOG_WRITE_INTERVAL, so that a busy server does not wake the
    writer thread for every line.
    """

    def __init__(self) -> None:
        self.lines: "queue.Queue[object]" = queue.Queue(LOG_QUEUE_LINES)
        self.lost = 0
        self.lost_lock = threading.Lock()
        self.stamp = (0, "")  # (second, its "YYYY/MM/DD HH:MM:SS "): formatted once a second, not per line
        self.thread = threading.Thread(target=self.run, name="log writer", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def timestamp(self) -> str:
        second = int(time.time())
        if second != self.stamp[0]:
            self.stamp = (second, time.strftime("%Y/%m/%d %H:%M:%S ", time.localtime(second)))
        return self.stamp[1]

    def write(self, message: str) -> None:
        """Queue one line, with a timestamp as Go's log package writes it; never wait."""
        try:
            self.lines.put_nowait(self.timestamp() + escape_unprintable(message) + "\n")
        except queue.Full:
            with self.lost_lock:
                self.lost += 1

    def flush(self, timeout: float) -> bool:
        """Wait up to timeout seconds for every line queued so far to be written."""
        written = threading.Event()
        try:
            self.lines.put(written, timeout=timeout)
        except queue.Full:
            return False
        return written.wait(timeout)

    def run(self) -> None:
        while True:
            items = [self.lines.get()]
            while True:  # take what else is waiting, to write it all at once
                try:
                    items.append(self.lines.get_nowait())
                except queue.Empty:
                    break
            lines = [item for item in items if isinstance(item, str)]
            with self.lost_lock:
                lost, self.lost = self.lost, 0
            if lost:
                lines.append(f"{self.timestamp()}log: {lost} lines were lost: stderr was not taking them\n")
            if not write_stderr("".join(lines)):
                with self.lost_lock:
                    self.lost += lost + len(lines) - (1 if lost else 0)
            for item in items:
                if isinstance(item, threading.Event):
                    item.set()
            time.sleep(LOG_WRITE_INTERVAL)


def write_stderr(text: str) -> bool:
    """Write text to file descriptor 2 directly, in as few writes as it takes; False if it failed."""
    data = memoryview(text.encode("utf-8", "backslashreplace"))
    try:
        while data:
            data = data[os.write(2, data):]
    except OSError:  # closed, a broken pipe (`| head -1`), or a non-blocking pipe that is full
        return False
    return True


LOG = LogWriter()


def log(message: str) -> None:
    """Log one line on stderr: `2006/01/02 15:04:05 message`, as Go's log package writes it."""
    LOG.write(message)


class OccasionalLog:
    """Log a recurring problem at most once per REPEAT_LOG_INTERVAL, with how often it happened."""

    def __init__(self) -> None:
        self.count = 0
        self.next_time = 0.0

    def log(self, message: str) -> None:
        self.count += 1
        now = time.monotonic()
        if now >= self.next_time:
            log(message if self.count == 1 else f"{message} ({self.count} times since the last such line)")
            self.count = 0
            self.next_time = now + REPEAT_LOG_INTERVAL


def format_address(address: Tuple) -> str:
    """Show a socket address as host:port, with brackets around IPv6 hosts."""
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# Who the client is: its certificate's subject, written as RFC 4514 says.

RFC_4514_NAMES = {"commonName": "CN", "localityName": "L", "stateOrProvinceName": "ST", "organizationName": "O",
                  "organizationalUnitName": "OU", "countryName": "C", "streetAddress": "STREET",
                  "domainComponent": "DC", "userId": "UID"}


def describe_subject(subject: Tuple) -> str:
    """Turn getpeercert()'s subject into RFC 4514's "CN=bob,O=Example": the most specific
    part first, the attributes of a multi-valued part joined with "+", and in each value
    the characters that would change that structure escaped."""
    return ",".join("+".join(f"{RFC_4514_NAMES.get(key, key)}={escape_dn_value(value)}" for key, value in rdn)
                    for rdn in reversed(subject))


def escape_dn_value(value: str) -> str:
    """One attribute value, escaped as RFC 4514 (section 2.4) requires."""
    escaped = ["\\" + char if char in '",+;<>\\' else "\\00" if char == "\0" else char for char in value]
    if value[:1] in ("#", " "):
        escaped[0] = "\\" + value[0]
    if value[-1:] == " ":
        escaped[-1] = "\\ "
    return "".join(escaped)


def common_names(subject: Tuple) -> List[str]:
    """Every Common Name in a subject, as getpeercert() or parse_distinguished_name gives it."""
    return [value for rdn in subject for key, value in rdn if key == "commonName"]


def refusal(subject: Tuple, allowed_names: "set[str]") -> str:
    """Why a client with this certificate subject may not ask anything; "" if it may."""
    if not allowed_names:
        return ""
    names = common_names(subject)
    # A certificate with no name, or two, must not be matched on a guess.
    if not names:
        return "client certificate has no Common Name"
    if len(names) > 1:
        return f"client certificate has {len(names)} Common Names"
    if names[0] not in allowed_names:
        return f"client {names[0]!r} is not allowed"
    return ""


# Who the client is behind a proxy. nginx ends the client's TLS and calls us with a certificate of
# its own, which proves only that nginx is calling; it says whom each request is for in a header,
# written as RFC 4514 says (its $ssl_client_s_dn). Anyone can send a header, so we believe it
# only on connections whose certificate is the proxy's (--trusted-proxy).

CLIENT_SUBJECT_HEADER = "X-Client-Subject"


def dn_characters(excluded: str) -> str:
    """A regular expression's class of the characters a value may hold unescaped: printable ASCII
    but excluded, and the bytes of UTF-8 (as http.server gives a header: one byte, one character)."""
    printable = "".join(re.escape(chr(code)) for code in range(0x20, 0x7F) if chr(code) not in excluded)
    return f"[{printable}\\x80-\\xff]"


# RFC 4514's grammar of one attribute (type=value) and what follows it. The value is `#` and the hex of
# its DER encoding, as OpenSSL writes types it does not know; or text, in which `"+,;<>\`, a space or
# `#` first and a space last are escaped with a backslash, and any byte may be written \XX (nginx
# writes controls and the UTF-8 of non-ASCII characters so). Raw controls are refused.
_DN_TYPE = r"([A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)"  # a name such as CN, or an OID such as 2.5.4.3
_DN_PAIR = r'\\(?:[0-9A-Fa-f]{2}|[ "#+,;<=>\\])'  # an escaped byte or character
_DN_FIRST, _DN_MIDDLE, _DN_LAST = dn_characters('"+,;<>\\ #'), dn_characters('"+,;<>\\'), dn_characters('"+,;<>\\ ')
_DN_TEXT = f"((?:(?:{_DN_FIRST}|{_DN_PAIR})(?:(?:{_DN_MIDDLE}|{_DN_PAIR})*(?:{_DN_LAST}|{_DN_PAIR}))?)?)"
DN_ATTRIBUTE = re.compile(f"{_DN_TYPE}=(?:#((?:[0-9A-Fa-f]{{2}})+)|{_DN_TEXT})([,+]|\\Z)")
DN_ESCAPE = re.compile(r"\\([0-9A-Fa-f]{2}|.)")
# The names RFC 4514 writes for getpeercert()'s, back again; matched without regard to case,
# so that OpenSSL's "street" is STREET. Other types keep their name as written.
DN_LONG_NAMES = {short: name for name, short in RFC_4514_NAMES.items()}
# DER's string types (their tag: how their bytes are text), for a value written in hex.
DER_STRINGS = {0x0C: "utf-8", 0x12: "ascii", 0x13: "ascii", 0x14: "latin-1", 0x16: "ascii", 0x1A: "ascii",
               0x1C: "utf-32-be", 0x1E: "utf-16-be"}


def parse_distinguished_name(text: str) -> Tuple:
    """Read an RFC 4514 string such as "CN=bob,O=Example" (its bytes as Latin-1 characters, as
    http.server decodes a header) into getpeercert()'s form of a subject, so that describe_subject
    and refusal treat it as a certificate's own; ValueError, saying why, if text is anything else
    (nothing is guessed: a wrong guess would be someone else's name)."""
    rdns: List[List[Tuple[str, str]]] = [[]]
    position = 0
    while True:
        match = DN_ATTRIBUTE.match(text, position)
        if not match:
            raise ValueError(f"not an RFC 4514 name (from character {position + 1} on)")
        name, hex_value, text_value, separator = match.groups()
        value = der_string(bytes.fromhex(hex_value)) if hex_value else unescape_dn_value(text_value)
        rdns[-1].append((DN_LONG_NAMES.get(name.upper(), name), value))
        if not separator:
            break
        if separator == ",":  # a new part; "+" adds to this one
            rdns.append([])
        position = match.end()
    # The string names the most specific part first; a certificate, and getpeercert(), the other way round.
    return tuple(tuple(reversed(rdn)) for rdn in reversed(rdns))


def unescape_dn_value(value: str) -> str:
    """An attribute value with its escapes undone: its bytes, raw or \\XX, are UTF-8."""
    if value.isascii() and "\\" not in value:
        return value
    raw = DN_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)) if len(match.group(1)) == 2 else match.group(1),
                        value)
    try:
        return raw.encode("latin-1").decode("utf-8")  # every character stands for one byte here
    except UnicodeDecodeError:
        raise ValueError("not an RFC 4514 name (a value is not UTF-8)") from None


def der_string(data: bytes) -> str:
    """The text of a value written in hex: the DER encoding (tag, length, bytes) of one string."""
    try:
        [(tag, contents)] = der_elements(data)  # der_elements, below, reads the CRLs too
        return contents.decode(DER_STRINGS[tag])
    except (ValueError, IndexError, KeyError):  # not one element, not a string, not its encoding
        raise ValueError("not an RFC 4514 name (a value in hex is not a string)") from None


@functools.lru_cache(maxsize=1024)  # a proxy sends the same few subjects again and again: read each once
def read_client_subject(header: str) -> Tuple[Tuple, str]:
    """The subject in a proxy's X-Client-Subject, and how the log shows it; ValueError if malformed."""
    subject = parse_distinguished_name(header)
    return subject, describe_subject(subject)


def make_server_context(cert: str, key: str, ca: str, crl: Optional[str] = None) -> ssl.SSLContext:
    """The TLS settings of the server: who we are, and whom we let in."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # SSL 3.0, TLS 1.0 and TLS 1.1 have known attacks; refuse clients that offer nothing newer.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # Our identity: the certificate we present, and the private key that proves it is ours.
    context.load_cert_chain(cert, key)
    # The only CA whose client certificates we accept. Never the system's public CAs, which
    # would admit anyone who can buy a certificate.
    context.load_verify_locations(ca)
    # Mutual TLS: a client without a certificate signed by that CA fails the handshake.
    context.verify_mode = ssl.CERT_REQUIRED
    # Reject malformed certificates too, as Python 3.13 does by default, on every version.
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    # One TLS 1.3 session ticket per full handshake, as Go's server sends, instead of OpenSSL's two.
    # Each carries the client's certificate and costs an eighth to a fifth of the handshake's CPU to make
    # (`make bench` measures it); one is all a client needs to resume its next connection, which
    # brings it a new ticket in turn.
    context.num_tickets = 1
    if crl:
        # The CA's list of revoked certificates: a client whose certificate it lists is refused
        # during the handshake, as is every client once the list is out of date. Checking the
        # client's own certificate (the leaf) is enough, because our CA signs client certificates
        # directly: there is no intermediate CA in between that could be revoked too.
        context.load_verify_locations(crl)
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return context


@dataclasses.dataclass(frozen=True)
class Limits:
    """What the server grants each client; the defaults are the constants at the top."""
    max_connections: int = MAX_CONNECTIONS
    handshake_timeout: float = HANDSHAKE_TIMEOUT
    header_timeout: float = HEADER_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT
    drain_timeout: float = DRAIN_TIMEOUT


@dataclasses.dataclass(frozen=True)
class CertificateFiles:
    """The files the server's TLS settings are read from: --cert, --key, --ca and --crl."""
    cert: str
    key: str
    ca: str
    crl: Optional[str] = None

    def __str__(self) -> str:
        return ", ".join(path for path in (self.cert, self.key, self.ca, self.crl) if path)


class RequestReader(io.RawIOBase):
    """A connection's incoming bytes, read under a deadline, like Go's SetReadDeadline.

    A socket timeout limits each read, so a client that sends one byte just
    within it, again and again, would never be timed out. Here every read
    may wait only for what is left until the deadline, which the handler moves.
    """

    def __init__(self, connection: ssl.SSLSocket, deadline: float) -> None:
        super().__init__()
        self.connection = connection
        self.deadline = deadline  # a time.monotonic() value
        self.cut = False  # whether the client closed the connection without TLS's goodbye

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("deadline passed")
        self.connection.settimeout(remaining)
        try:
            return self.connection.recv_into(buffer)
        except ssl.SSLEOFError:  # the connection ended with no close_notify: an end of file, all the same
            self.cut = True
            return 0


class HelloHandler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.1 keeps the connection open for more requests: one connection (and handshake) serves many.
    protocol_version = "HTTP/1.1"
    # Send each response, headers and body, in one piece (one packet; with TLS, one record)
    # instead of two writes.
    wbufsize = 64 * 1024

    def setup(self) -> None:
        self.connection = self.request
        # The first request must arrive within header_timeout of the handshake's end.
        self.reader = RequestReader(self.connection, time.monotonic() + self.server.limits.header_timeout)
        self.rfile = io.BufferedReader(self.reader)
        self.wfile = self.connection.makefile("wb", self.wbufsize)
        self.requests_served = 0
        # The handshake proved who the client is, once for the whole connection.
        subject = self.connection.getpeercert()["subject"]
        self.peer_subject = describe_subject(subject)
        self.peer_refusal = refusal(subject, self.server.allowed_names)
        # Exactly one Common Name, as --allow demands: a second one must not make anyone a proxy.
        self.peer_is_proxy = (self.server.trusted_proxy is not None
                              and common_names(subject) == [self.server.trusted_proxy])

    def handle_one_request(self) -> None:
        """Read one request and answer it: http.server's own steps, with a deadline on every read."""
        limits = self.server.limits
        kept_alive = self.requests_served > 0
        # Whom this request is for: the connection's client, until identify() reads the proxy's header.
        self.client_subject, self.refusal, self.via = self.peer_subject, self.peer_refusal, ""
        if kept_alive:
            self.reader.deadline = time.monotonic() + limits.idle_timeout
        waiting = True
        try:
            if not self.wait_for_request():
                self.close_connection = True
                return
            waiting = False
            if kept_alive:
                # From its first byte on, a request has header_timeout to arrive in full.
                self.reader.deadline = time.monotonic() + limits.header_timeout
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.parse_request():
                return  # parse_request has sent an error, and the connection closes
            method = getattr(self, "do_" + self.command, None)
            if method is None:
                self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({self.command!r})")
                return
            if not self.discard_body():
                return
        except socket.timeout:
            self.close_connection = True
            if not (waiting and kept_alive):  # an idle connection ends quietly, as in Go and nginx
                log(f"{format_address(self.client_address)} no complete request within "
                    f"{limits.header_timeout:g} seconds")
            return
        self.requests_served += 1
        method()
        self.wfile.flush()

    def wait_for_request(self) -> bool:
        """Wait for the next request's first byte; False if the client left or the server is stopping.

        Meanwhile the connection counts as idle: a stopping server closes it instead of waiting.
        """
        if not self.server.set_idle(self.connection, True):
            return False
        try:
            return bool(self.rfile.peek(1))
        finally:
            self.server.set_idle(self.connection, False)

    def discard_body(self) -> bool:
        """Read and drop the body of a GET or HEAD, so that none of it is ever taken for a
        request of its own (request smuggling); False if the request was refused instead."""
        if "Transfer-Encoding" in self.headers:
            # Not implemented, so refused: a body whose end we cannot find must not be read at all.
            self.send_error(HTTPStatus.NOT_IMPLEMENTED, "Transfer-Encoding is not supported")
            return False
        lengths = self.headers.get_all("Content-Length", [])
        if not lengths:
            return True
        length = lengths[0].strip(" \t")
        if len(lengths) > 1 or not (length.isascii() and length.isdigit()):
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad Content-Length")
            return False
        if len(length) > 18 or int(length) > MAX_DISCARDED_BODY:  # 19 digits are too many: no need for int()
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                            f"A {self.command} request may carry at most {MAX_DISCARDED_BODY} bytes")
            return False
        if len(self.rfile.read(int(length))) < int(length):
            self.close_connection = True  # the client left half way through its body
            return False
        return True

    def identify(self) -> bool:
        """Take the client's identity from X-Client-Subject if the trusted proxy sent the request;
        False if the request was refused instead (400).

        Done for every request: a proxy sends many clients' requests on one connection.
        """
        values = self.headers.get_all(CLIENT_SUBJECT_HEADER)
        if not self.peer_is_proxy:
            if values:
                # Anyone can write a header: from a client it proves nothing, and so it changes nothing.
                hint = "" if self.server.trusted_proxy else " (there is no --trusted-proxy)"
                log(f"{format_address(self.client_address)} ignored {CLIENT_SUBJECT_HEADER} "
                    f"from a client that is not the trusted proxy{hint}")
            return True
        # nginx sets the header on every request: without it, the proxy's own identity would stand in
        # for a client's (and --allow judge the proxy), so a proxy that lost the line fails loudly.
        if not values:
            problem = f"{CLIENT_SUBJECT_HEADER} is missing"
        elif len(values) > 1:
            problem = f"{CLIENT_SUBJECT_HEADER} was sent {len(values)} times"  # which one would be the client?
        else:
            try:
                subject, self.client_subject = read_client_subject(values[0])
            except ValueError as error:
                problem = f'{CLIENT_SUBJECT_HEADER} "{quote_field(values[0])}" is {error}'
            else:
                self.refusal = refusal(subject, self.server.allowed_names)
                self.via = self.peer_subject
                return True
        log(f"{format_address(self.client_address)} bad request from the trusted proxy: {problem}")
        self.reply(400, f"400 bad request: {problem}\n".encode())
        return False

    def do_GET(self) -> None:
        if not self.identify():
            return
        # Authentication is done; here we decide whether this client may ask.
        if self.refusal:
            log(f"{format_address(self.client_address)} forbidden: {quote_field(self.refusal)}")
            # A refused client gets nothing more on its connection; a proxy's carries others' requests.
            self.reply(403, f"403 forbidden: {self.refusal}\n".encode(), close=not self.via)
        elif self.path.split("?", 1)[0] == "/hello":  # as in Go, the query does not change the route
            self.reply(200, b"Hello, world!\n")
        else:
            self.reply(404, b"404 page not found\n")

    do_HEAD = do_GET

    def reply(self, status: int, body: bytes, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if close or self.server.stopping:
            # A refused client gets nothing more on this connection; a stopping server takes no more requests.
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_request(self, code="-", size="-") -> None:
        via = f' via="{quote_field(self.via)}"' if self.via else ""  # the proxy that vouched for the client
        log(f'{format_address(self.client_address)} "{quote_field(self.requestline)}" {code} '
            f'client="{quote_field(self.client_subject)}"{via}')

    def log_message(self, format: str, *args) -> None:
        # http.server's messages quote what the client sent with repr(), which leaves `"` as it is.
        log(f"{format_address(self.client_address)} {quote_field(format % args)}")


class HelloServer(http.server.ThreadingHTTPServer):
    # socketserver's default backlog of 5 makes a burst of clients wait a second and retry.
    request_queue_size = 128

    def __init__(self, address: Tuple[str, int], context: ssl.SSLContext, allowed_names: Iterable[str] = (),
                 limits: Limits = Limits(), files: Optional[CertificateFiles] = None,
                 trusted_proxy: Optional[str] = None) -> None:
        self.context = context
        self.files = files  # where context came from, read again on SIGHUP
        self.reload_requested = False
        self.terminals = [fd for fd in (0, 1, 2) if os.isatty(fd)]  # where we were started, if in a terminal
        self.allowed_names = set(allowed_names)
        self.trusted_proxy = trusted_proxy  # the Common Name whose X-Client-Subject we believe
        self.limits = limits
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.changed = threading.Condition(threading.Lock())  # guards the three below
        self.open_connections = 0
        self.idle: "set[ssl.SSLSocket]" = set()  # connections waiting for a handshake or a request
        self.stopping = False
        self.refusals = OccasionalLog()
        self.accept_errors = OccasionalLog()
        self.stop_signal = "a request to stop"
        super().__init__(address, HelloHandler)

    def get_request(self) -> Tuple[socket.socket, Tuple]:
        try:
            return super().get_request()
        except OSError as error:
            # Out of descriptors or memory, the listening socket stays readable and accept() fails
            # at once: without a pause the server would spin, and log nothing.
            if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                self.accept_errors.log(f"cannot accept connections: {error.strerror}; "
                                       f"trying again every {ACCEPT_PAUSE:g} seconds")
                time.sleep(ACCEPT_PAUSE)
            raise

    def process_request(self, sock: socket.socket, client_address: Tuple) -> None:
        """Serve the connection in a thread of its own, unless max_connections are open already."""
        with self.changed:
            full = self.open_connections >= self.limits.max_connections
            if not full:
                self.open_connections += 1
        if full:
            # Closed at once: a connection we cannot serve must not wait, holding a descriptor.
            sock.close()
            self.refusals.log(f"refusing connections: {self.limits.max_connections} are open "
                              "(the limit set by --max-connections)")
            return
        try:
            super().process_request(sock, client_address)
        except BaseException:
            self.connection_closed()
            raise

    def process_request_thread(self, sock: socket.socket, client_address: Tuple) -> None:
        try:
            super().process_request_thread(sock, client_address)
        finally:
            self.connection_closed()

    def shutdown_request(self, request: socket.socket) -> None:
        """socketserver's last step for a connection: close the plain socket. finish_request has
        closed the connection already (wrap_socket took the socket's descriptor), so this does
        not try, as socketserver's does, to shut down a descriptor that is no longer there."""
        request.close()

    def connection_closed(self) -> None:
        with self.changed:
            self.open_connections -= 1
            self.changed.notify_all()

    def finish_request(self, sock: socket.socket, client_address: Tuple) -> None:
        """Handshake and serve one connection, in that connection's own thread.

        Wrapping the listening socket instead would run every handshake inside
        accept(), where one client that connects and says nothing stops the
        whole server.
        """
        # Send small responses at once instead of waiting ~40 ms for the peer's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # A client that stalls mid-handshake is dropped, not waited on forever. For a handshake,
        # Python counts the timeout for the whole of it, not for each read.
        sock.settimeout(self.limits.handshake_timeout)
        # self.context is read once: the connection keeps that context, even if a reload replaces it.
        # suppress_ragged_eofs=False: RequestReader learns whether the client said goodbye (see below).
        connection = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False,
                                              suppress_ragged_eofs=False)
        if not self.set_idle(connection, True):  # the server is stopping
            connection.close()
            return
        try:
            connection.do_handshake()
        except (ssl.SSLError, OSError) as error:
            self.set_idle(connection, False)
            if not self.stopping:
                log(f"TLS handshake error from {format_address(client_address)}: "
                    f"{handshake_reason(error, self.limits.handshake_timeout, self.files and self.files.crl)}")
            hang_up(connection)
            return
        self.set_idle(connection, False)
        cut = False
        try:
            cut = self.RequestHandlerClass(connection, client_address, self).reader.cut
        finally:
            self.set_idle(connection, False)
            if cut:
                # The client closed without a close_notify, as Python's clients do: it is gone, so there
                # is nobody to say ours to, and nothing unread for the kernel to answer with a reset.
                connection.close()
            else:
                close_tls(connection)

    def set_idle(self, connection: ssl.SSLSocket, idle: bool) -> bool:
        """Note whether connection waits for its client (a stop closes it) or serves a request
        (a stop lets it finish). False, and not idle, if the server is stopping."""
        with self.changed:
            if not idle:
                self.idle.discard(connection)
            elif self.stopping:
                return False
            else:
                self.idle.add(connection)
            return True

    def finish_connections(self, timeout: float) -> int:
        """Close idle connections, let requests in progress finish for up to timeout seconds,
        and return how many connections were still open then."""
        with self.changed:
            self.stopping = True
            for connection in self.idle:
                # Ends the connection's wait: its thread reads end-of-file and closes, and the client
                # sees the connection end. The plain socket's shutdown, because SSLSocket's would
                # drop the TLS state that the other thread is using (so no close_notify either).
                try:
                    socket.socket.shutdown(connection, socket.SHUT_RDWR)
                except OSError:
                    pass
            self.changed.wait_for(lambda: self.open_connections == 0, timeout)
            return self.open_connections

    def request_stop(self, signum: int, frame: object) -> None:
        """The handler of SIGTERM and SIGINT: make serve_forever return.

        shutdown() waits for serve_forever, which runs in this very thread,
        so it is called from a thread of its own.
        """
        self.stop_signal = signal.Signals(signum).name
        threading.Thread(target=self.shutdown, daemon=True).start()

    def request_reload(self, signum: int, frame: object) -> None:
        """The handler of SIGHUP: have serve_forever reload the certificate files.

        A handler runs in the main thread between two of its bytecodes, perhaps while the
        thread holds the log's lock: so it only sets a flag, and service_actions() does the
        work, within serve_forever's poll interval (half a second).

        A terminal that closes sends SIGHUP too: if ours has, the server stops, as it did
        before SIGHUP meant reload, rather than serve on with nowhere to write its log.
        """
        if any(not os.isatty(fd) for fd in self.terminals):
            self.request_stop(signum, frame)
        else:
            self.reload_requested = True

    def service_actions(self) -> None:
        """Called by serve_forever, in the main thread, after each connection accepted and each poll interval."""
        super().service_actions()
        if self.reload_requested:
            self.reload_requested = False
            self.reload_context()

    def reload_context(self) -> None:
        """Read the certificate files into a new context, for the connections that follow.

        Connections already open keep the old context and finish undisturbed. The new
        context also has new session ticket keys and an empty session cache: no client
        resumes a session from before the reload, so each is checked against the new files.
        Files that fail leave the old context in place.
        """
        if self.files is None:
            return
        try:
            context = read_context(self.files)
        except CertificateFilesError as error:
            log(f"reload failed: {error.problem}; still serving with the previous certificates")
            return
        self.context = context  # one assignment: a new connection gets the old context or the new one
        log(f"reloaded {self.files}")

    def handle_error(self, request: socket.socket, client_address: Tuple) -> None:
        # A connection that breaks mid-request is that client's problem: one line, no traceback.
        log(f"connection from {format_address(client_address)} failed: {quote_field(repr(sys.exc_info()[1]))}")


def hang_up(connection: ssl.SSLSocket) -> None:
    """Close a connection without resetting it, in at most HANG_UP_TIMEOUT seconds.

    Under TLS 1.3 a client learns that we refused its certificate only when it
    reads, after it has sent its request. Closing with that request unread
    makes the kernel answer with a reset, which can destroy our alert before
    the client reads it. So we stop sending, read until the client closes too,
    or the time is up, and then close.
    """
    deadline = time.monotonic() + HANG_UP_TIMEOUT
    try:
        connection.shutdown(socket.SHUT_WR)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            connection.settimeout(remaining)
            if not connection.recv(65536):
                break
    except OSError:
        pass
    connection.close()


def close_tls(connection: ssl.SSLSocket) -> None:
    """Send TLS's close_notify, without waiting for the client's, then hang up.

    Without it, a client that reads to the end of the stream cannot tell our
    goodbye from an attacker cutting the connection, and OpenSSL 3 says so.
    """
    try:
        connection.setblocking(False)
        connection.unwrap()  # sends close_notify, then finds no answer waiting
    except (ssl.SSLError, OSError):
        pass
    hang_up(connection)


def handshake_reason(error: Exception, timeout: float, crl: Optional[str] = None) -> str:
    """Say in words why a handshake failed, like Go's "http: TLS handshake error"; crl is the
    --crl file, named when it is the reason."""
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = f"client certificate rejected: {error.verify_message}"
        if crl and error.verify_code == 12:  # X509_V_ERR_CRL_HAS_EXPIRED: OpenSSL then refuses everyone
            return (f"{reason}; {crl} is out of date, so every client is refused: write it anew with "
                    f"`{crl_command(crl)}`, then reload (SIGHUP)")
        if crl and error.verify_code == 3:  # X509_V_ERR_UNABLE_TO_GET_CRL
            return f"{reason}; {crl} has no CRL from the CA that signed this client's certificate"
        return reason
    if isinstance(error, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError)):
        return "client closed the connection during the handshake"
    if isinstance(error, ssl.SSLError) and error.reason:
        hints = {
            "HTTP_REQUEST": "client sent plain HTTP to the HTTPS port",
            "PEER_DID_NOT_RETURN_A_CERTIFICATE": "client sent no certificate",
            "UNSUPPORTED_PROTOCOL": "client offered only TLS versions older than 1.2",
            "WRONG_VERSION_NUMBER": "client did not speak TLS",
        }
        return hints.get(error.reason, error.reason.lower().replace("_", " "))
    if isinstance(error, socket.timeout):
        return f"no handshake within {timeout:g} seconds"
    return str(error)


# The command line.

def port_number(text: str) -> int:
    """The type of --port: a whole number from 0 to 65535."""
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port number (0 to 65535)")
    return port


def positive_integer(text: str) -> int:
    """The type of --max-connections: a whole number from 1 up."""
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a number from 1 up")
    return number


def seconds(text: str) -> float:
    """The type of the timeouts: more than 0 seconds, and at most a day."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 86400:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds (more than 0, at most 86400)")
    return value


def client_name(text: str) -> str:
    """The type of --allow: a Common Name, which cannot be empty."""
    if not text:
        raise argparse.ArgumentTypeError("an empty name would admit certificates that have no name; "
                                         "pass a client's Common Name")
    return text


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="HTTPS server that requires client certificates.")
    parser.add_argument("--host", default="localhost", help="address to listen on (default: localhost)")
    parser.add_argument("--port", type=port_number, default=8443, help="port to listen on, 0 for any free one (default: 8443)")
    parser.add_argument("--cert", default="cert.pem", help="server certificate (default: cert.pem)")
    parser.add_argument("--key", default="key.pem", help="private key of --cert (default: key.pem)")
    parser.add_argument("--ca", default="cert.pem", help="CA that signs client certificates (default: cert.pem)")
    parser.add_argument("--crl", metavar="FILE",
                        help="the CA's list of revoked certificates (PEM); refuse the clients it lists")
    parser.add_argument("--allow", action="append", default=[], metavar="NAME", type=client_name,
                        help="admit only clients whose certificate Common Name is NAME (repeatable)")
    parser.add_argument("--trusted-proxy", metavar="NAME", type=client_name,
                        help=f"take each request's client from its {CLIENT_SUBJECT_HEADER} header (nginx's "
                             "$ssl_client_s_dn) on connections from the client whose Common Name is NAME only")
    parser.add_argument("--max-connections", type=positive_integer, default=MAX_CONNECTIONS, metavar="N",
                        help=f"connections served at once; more are closed at once (default: {MAX_CONNECTIONS})")
    parser.add_argument("--handshake-timeout", type=seconds, default=HANDSHAKE_TIMEOUT, metavar="SECONDS",
                        help=f"for a new connection's whole TLS handshake (default: {HANDSHAKE_TIMEOUT:g})")
    parser.add_argument("--header-timeout", type=seconds, default=HEADER_TIMEOUT, metavar="SECONDS",
                        help=f"for a request's line and headers, in all (default: {HEADER_TIMEOUT:g})")
    parser.add_argument("--idle-timeout", type=seconds, default=IDLE_TIMEOUT, metavar="SECONDS",
                        help=f"for a kept-alive connection's next request (default: {IDLE_TIMEOUT:g})")
    parser.add_argument("--drain-timeout", type=seconds, default=DRAIN_TIMEOUT, metavar="SECONDS",
                        help=f"for requests in progress to finish on SIGTERM or Ctrl-C (default: {DRAIN_TIMEOUT:g})")
    return parser.parse_args(argv)


def gen_certs_command(path: str, *options: str) -> str:
    """The gen_certs.sh command, as typed from the current folder, that makes path's kind of file
    in path's folder: the shell script beside server.py, by the shorter of its two paths."""
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


class CertificateFilesError(Exception):
    """A certificate file the server cannot use: what is wrong with it, and what to do."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem = problem
        self.fix = fix


def read_context(files: CertificateFiles) -> ssl.SSLContext:
    """make_server_context from files; CertificateFilesError names the file that fails, and the fix."""
    for path, options in ((files.cert, ()), (files.key, ()), (files.ca, ()), (files.crl, ("--crl",))):
        if path is None:
            continue
        try:
            open(path, "rb").close()
        except OSError as error:
            raise CertificateFilesError(f"cannot read {path}: {error.strerror}",
                                        f"run `{gen_certs_command(path, *options)}` to create it")
    crls = read_crls(files.crl) if files.crl else []
    try:
        context = make_server_context(files.cert, files.key, files.ca, files.crl)
    except ssl.SSLError as error:
        if error.reason == "KEY_VALUES_MISMATCH":
            raise CertificateFilesError(f"{files.key} is not the key of {files.cert}",
                                        f"make a matching pair with `{gen_certs_command(files.cert, '--force')}`")
        if error.reason == "NO_CERTIFICATE_OR_CRL_FOUND":
            raise CertificateFilesError(f"{files.ca} holds no PEM certificate", "pass the CA's certificate with --ca")
        raise CertificateFilesError(f"{files.cert} or {files.key} is not a PEM certificate and key",
                                    f"make new ones with `{gen_certs_command(files.cert, '--force')}`")
    except OSError as error:  # a file removed since we looked (ssl.SSLError is an OSError too, so it comes first)
        raise CertificateFilesError(f"cannot read {files.cert}, {files.key} or {files.ca}: {error.strerror}",
                                    "check that they are there")
    # OpenSSL takes a CRL from any CA; a CRL that is not our CA's would make it refuse every client.
    authorities = context.get_ca_certs(binary_form=True)
    for crl in crls:
        if not any(crl_is_from(crl, ca) for ca in authorities):
            raise CertificateFilesError(f"{files.crl} is not from the CA in {files.ca}",
                                        f"pass that CA's CRL, which `{crl_command(files.ca)}` writes")
    return context


def crl_command(path: str) -> str:
    """The gen_certs.sh command that writes the CRL of the CA in path's folder."""
    return gen_certs_command(os.path.join(os.path.dirname(path), "crl.pem"), "--crl")


def read_crls(path: str) -> List[bytes]:
    """The CRLs in the file at path, as DER; CertificateFilesError if it holds none, a damaged one,
    or a certificate, which load_verify_locations would trust as a CA."""
    if os.path.basename(path) == "crl.pem":
        fix = f"write it anew with `{crl_command(path)}`"
    else:
        fix = f"pass the CA's CRL, which `{crl_command(path)}` writes"
    scratch = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # OpenSSL's own reading of the file, apart
    try:
        scratch.load_verify_locations(path)
        with open(path, "rb") as file:
            text = file.read()
    except ssl.SSLError as error:
        if error.reason == "NO_CERTIFICATE_OR_CRL_FOUND":
            raise CertificateFilesError(f"{path} holds no CRL", fix)
        raise CertificateFilesError(f"{path} holds a damaged CRL", fix)
    except OSError as error:  # removed since we looked
        raise CertificateFilesError(f"cannot read {path}: {error.strerror}", f"run `{crl_command(path)}` to create it")
    found = scratch.cert_store_stats()
    if not found["crl"]:
        raise CertificateFilesError(f"{path} holds no CRL", fix)
    if found["x509"]:
        raise CertificateFilesError(f"{path} holds a certificate as well as CRLs", "pass a file of CRLs only")
    crls = []
    for block in text.split(b"-----BEGIN X509 CRL-----")[1:]:
        try:
            crls.append(base64.b64decode(block.split(b"-----END", 1)[0]))
            crl_issuer(crls[-1])
        except (ValueError, IndexError):  # binascii.Error is a ValueError
            raise CertificateFilesError(f"{path} holds a damaged CRL", fix)
    return crls


# Which CA issued a CRL. The ssl module cannot read a CRL, so these few lines read its DER:
# a CRL is from a CA if its issuer is the CA's subject and, when both name a key, its
# Authority Key Identifier is the CA's Subject Key Identifier. This is how OpenSSL finds
# the CRL of a certificate's CA; two CAs made by gen_certs.sh --ca differ only in their keys.

AUTHORITY_KEY_ID = bytes([0x55, 0x1D, 0x23])  # the OID 2.5.29.35, as DER writes it
SUBJECT_KEY_ID = bytes([0x55, 0x1D, 0x0E])  # 2.5.29.14


def der_elements(data: bytes) -> List[Tuple[int, bytes]]:
    """The (tag, contents) of each DER element in data, in order; ValueError if data is cut short."""
    elements = []
    position = 0
    while position < len(data):
        tag, length = data[position], data[position + 1]
        position += 2
        if length & 0x80:  # the long form: the length is in the next (length & 0x7F) bytes
            size = length & 0x7F
            length = int.from_bytes(data[position:position + size], "big")
            position += size
        if position + length > len(data):
            raise ValueError("DER element cut short")
        elements.append((tag, data[position:position + length]))
        position += length
    return elements


def signed_fields(der: bytes, version_tag: int) -> List[Tuple[int, bytes]]:
    """The fields of a certificate's or CRL's signed part, after its version (tagged version_tag)."""
    fields = der_elements(der_elements(der_elements(der)[0][1])[0][1])
    return fields[1:] if fields[0][0] == version_tag else fields


def extension(fields: List[Tuple[int, bytes]], tag: int, oid: bytes) -> Optional[bytes]:
    """The value of the extension oid, in the extensions field tagged tag; None if it is not there."""
    for field_tag, contents in fields:
        if field_tag == tag:
            for _, element in der_elements(der_elements(contents)[0][1]):
                parts = der_elements(element)  # the OID, maybe "critical", the value
                if parts[0] == (0x06, oid):
                    return parts[-1][1]
    return None


def crl_issuer(crl: bytes) -> Tuple[bytes, Optional[bytes]]:
    """A DER CRL's issuer name, and its Authority Key Identifier if it has one."""
    fields = signed_fields(crl, 0x02)  # signature, issuer, thisUpdate, ..., [0] extensions
    value = extension(fields, 0xA0, AUTHORITY_KEY_ID)
    key_id = dict(der_elements(der_elements(value)[0][1])).get(0x80) if value else None
    return fields[1][1], key_id


def ca_identity(cert: bytes) -> Tuple[bytes, Optional[bytes]]:
    """A DER certificate's subject name, and its Subject Key Identifier if it has one."""
    fields = signed_fields(cert, 0xA0)  # serial, signature, issuer, validity, subject, ..., [3] extensions
    value = extension(fields, 0xA3, SUBJECT_KEY_ID)
    return fields[4][1], der_elements(value)[0][1] if value else None


def crl_is_from(crl: bytes, ca: bytes) -> bool:
    """Whether the CA whose certificate is ca (DER) issued crl (DER), by its name and key."""
    try:
        subject, key_id = ca_identity(ca)
    except (ValueError, IndexError):  # a certificate this reader cannot follow issues no CRL we can match
        return False
    issuer, authority_key_id = crl_issuer(crl)
    return issuer == subject and (authority_key_id is None or key_id is None or authority_key_id == key_id)


def load_context(files: CertificateFiles) -> ssl.SSLContext:
    """read_context at start-up, where a failure is one line that says what to do, and exit status 1."""
    try:
        return read_context(files)
    except CertificateFilesError as error:
        sys.exit(f"server.py: {error}")


def keep_standard_streams_open() -> None:
    """Put /dev/null on each of file descriptors 0, 1 and 2 that is closed (as by `2>&-`).

    Otherwise the next socket would take its number, and what is meant for
    stderr, such as the log, would go to a client.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one


def url_host(host: str) -> str:
    """The host in the URL we print: a server listening on every address (0.0.0.0, ::, or "")
    is reached as localhost, the name in the tutorial's certificate."""
    try:
        everywhere = host == "" or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        everywhere = False
    return "localhost" if everywhere else host


def main(argv: Optional[List[str]] = None) -> None:
    keep_standard_streams_open()
    args = parse_args(argv)
    files = CertificateFiles(args.cert, args.key, args.ca, args.crl)
    context = load_context(files)
    limits = Limits(max_connections=args.max_connections, handshake_timeout=args.handshake_timeout,
                    header_timeout=args.header_timeout, idle_timeout=args.idle_timeout,
                    drain_timeout=args.drain_timeout)
    try:
        server = HelloServer((args.host, args.port), context, args.allow, limits, files, args.trusted_proxy)
    except socket.gaierror as error:
        sys.exit(f"server.py: cannot listen on {args.host}: {error.strerror}; check --host")
    except OSError as error:
        sys.exit(f"server.py: cannot listen on {format_address((args.host, args.port))}: "
                 f"{error.strerror}; stop whatever uses it or pick another --port")
    LOG.start()
    # `kill` (SIGTERM) stops the server as cleanly as Ctrl-C (SIGINT) does.
    signal.signal(signal.SIGTERM, server.request_stop)
    signal.signal(signal.SIGINT, server.request_stop)
    if hasattr(signal, "SIGHUP"):  # not on Windows
        # `kill -HUP` reads the certificate files again, as nginx does, without a restart.
        signal.signal(signal.SIGHUP, server.request_reload)
    url = f"https://{format_address((url_host(args.host), server.server_address[1]))}/hello"
    print(f"server.py: serving {url} (Ctrl-C stops)", flush=True)
    server.serve_forever()
    # Stop accepting, close idle connections, and give requests in progress time to finish.
    server.server_close()
    log(f"stopping on {server.stop_signal}: requests in progress have {limits.drain_timeout:g} seconds to finish")
    left = server.finish_connections(limits.drain_timeout)
    log(f"stopped; connections cut off: {left}" if left else "stopped")
    LOG.flush(LOG_FLUSH_TIMEOUT)


if __name__ == "__main__":
    main()
