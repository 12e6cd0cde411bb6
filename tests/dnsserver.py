"""A small authoritative DNS server for tests, built with dnspython's message API: it serves a dict
of records on 127.0.0.1 (UDP and TCP, one random free port) from a thread.

    with DnsServer() as dns:
        dns.set("example.com", "TXT", '"v=spf1 include:spf.platform.example ~all"')
        dns.set("bounces.example.com", "CNAME", "rp.platform.example.")
        ... mailadmin domains verify example.com --resolver dns.address ...

Records are (name, type) -> rdata texts in zone-file syntax; `set` replaces, `add` appends, `remove`
forgets. Answers: the records (a CNAME is followed once inside the served data), NOERROR with no
answer for a name that exists without that type (NODATA; a name above a served one exists too),
NXDOMAIN for any other name. A UDP answer larger than the asker's limit (512 octets, or its EDNS
size) is sent truncated (TC), so the asker retries over TCP, as with a real server. `SilentServer`
is a bound UDP socket that never answers (a server that times out).
"""

from __future__ import annotations

import socket
import struct
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

TTL = 300


class DnsServer:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[str]] = {}
        self.queries: list[tuple[str, str, str]] = []  # (name, type, udp|tcp) as asked
        self.rcode: int | None = None  # set (dns.rcode.SERVFAIL, REFUSED) to answer every query with it
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.udp, self.tcp = _bind_pair()
        self.port = self.udp.getsockname()[1]

    # -- the data ----------------------------------------------------------------------------
    @staticmethod
    def _key(name: str, rdtype: str) -> tuple[str, str]:
        return name.lower().rstrip(".") + ".", rdtype.upper()

    def set(self, name: str, rdtype: str, *rdatas: str) -> None:
        """Serve exactly these rdatas (zone-file text, e.g. '"a" "b"' for one TXT of two strings)."""
        with self._lock:
            self.records[self._key(name, rdtype)] = list(rdatas)

    def add(self, name: str, rdtype: str, *rdatas: str) -> None:
        with self._lock:
            self.records.setdefault(self._key(name, rdtype), []).extend(rdatas)

    def remove(self, name: str, rdtype: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self.records if k[0] == self._key(name, "A")[0] and (rdtype is None or k[1] == rdtype.upper())]:
                del self.records[key]

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    @property
    def address(self) -> str:
        """What --resolver takes."""
        return f"127.0.0.1:{self.port}"

    # -- answering ---------------------------------------------------------------------------
    def answer(self, wire: bytes, transport: str) -> tuple[bytes | None, int]:
        """The response to one query, and the largest size the asker accepts (UDP)."""
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 - garbage in: no answer, as a real server drops it
            return None, 0
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text().lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name.rstrip("."), rdtype, transport))
        if self.rcode is not None:
            response.set_rcode(self.rcode)
            return response.to_wire(max_size=65535), 65535
        with self._lock:
            records = {k: list(v) for k, v in self.records.items()}
        owner = question.name
        for _hop in range(8):
            key = (owner.to_text().lower(), rdtype)
            if key in records:
                response.answer.append(dns.rrset.from_text_list(owner, TTL, "IN", rdtype, records[key]))
                break
            cname = (owner.to_text().lower(), "CNAME")
            if cname in records and rdtype != "CNAME":
                rrset = dns.rrset.from_text_list(owner, TTL, "IN", "CNAME", records[cname])
                response.answer.append(rrset)
                owner = rrset[0].target
                continue
            if not response.answer and not self._exists(owner.to_text().lower(), records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            break
        limit = 65535 if transport == "tcp" else max(512, query.payload if query.edns >= 0 else 512)
        return response.to_wire(max_size=65535), limit

    @staticmethod
    def _exists(name: str, records) -> bool:
        """A served name, or one above a served name (an empty non-terminal exists: NODATA)."""
        return any(owner == name or owner.endswith("." + name) for owner, _type in records)

    # -- serving -----------------------------------------------------------------------------
    def _serve_udp(self) -> None:
        self.udp.settimeout(0.1)
        while not self._stop.is_set():
            try:
                wire, peer = self.udp.recvfrom(65535)
            except (socket.timeout, OSError):
                continue
            reply, limit = self.answer(wire, "udp")
            if reply is None:
                continue
            if len(reply) > limit:  # too big for UDP: the header and question only, with TC set
                truncated = dns.message.from_wire(reply)
                truncated.answer.clear()
                truncated.flags |= dns.flags.TC
                reply = truncated.to_wire()
            self.udp.sendto(reply, peer)

    def _serve_tcp(self) -> None:
        self.tcp.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _peer = self.tcp.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(2)
                try:
                    while True:
                        size = _read(conn, 2)
                        if size is None:
                            break
                        wire = _read(conn, struct.unpack("!H", size)[0])
                        if wire is None:
                            break
                        reply, _limit = self.answer(wire, "tcp")
                        if reply is None:
                            break
                        conn.sendall(struct.pack("!H", len(reply)) + reply)
                except OSError:
                    pass

    def start(self) -> "DnsServer":
        for target in (self._serve_udp, self._serve_tcp):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self.udp.close()
        self.tcp.close()

    def __enter__(self) -> "DnsServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class SilentServer:
    """A UDP socket bound on 127.0.0.1 that never answers: the asker times out."""

    def __init__(self) -> None:
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.udp.getsockname()[1]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> "SilentServer":
        return self

    def __exit__(self, *exc) -> None:
        self.udp.close()


def _bind_pair() -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket on the same free port of 127.0.0.1."""
    for _attempt in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind(("127.0.0.1", port))
        except OSError:
            udp.close()
            tcp.close()
            continue
        tcp.listen(16)
        return udp, tcp
    raise RuntimeError("no free port for both UDP and TCP on 127.0.0.1")


def _read(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def txt(*strings: str) -> str:
    """One TXT rdata of these character-strings, in zone-file syntax."""
    return " ".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in strings)


def serve_records(server: DnsServer, records: list[dict]) -> None:
    """Serve what `domains dns -o json` printed, as published correctly: one TXT record of the
    printed strings, or the CNAME."""
    for record in records:
        if record["type"] == "TXT":
            server.set(record["name"], "TXT", txt(*record["strings"]))
        else:
            server.set(record["name"], "CNAME", record["value"] + ".")
