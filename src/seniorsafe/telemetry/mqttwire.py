"""A minimal MQTT 5 *receiving* client for the ingest hot path: packet codec + one asyncio connection.

Why not paho/aiomqtt: a general-purpose Python client costs ≈ 0.3 ms per message (one socket read per packet,
callbacks, a PUBACK write per message, a thread hand-off). The ingest needs only CONNECT, SUBSCRIBE, receiving
QoS 0/1 PUBLISH, batched PUBACKs, PINGREQ and DISCONNECT, so this module reads the socket in 64 KiB chunks,
parses every complete PUBLISH of the buffer in one tight loop and writes the PUBACKs of a committed batch in a
single write. Everything runs on the ingest's asyncio loop: no thread, no lock.

Not supported (never used by the ingest): QoS 2 (the subscription grants QoS 1 at most, so the broker never sends
QoS 2), topic aliases (we announce Topic Alias Maximum 0, the default), AUTH, TLS, publishing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

log = logging.getLogger(__name__)

# Fixed-header first bytes / packet types.
CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK = 1, 2, 3, 4, 8, 9
PINGREQ, PINGRESP, DISCONNECT, AUTH = 12, 13, 14, 15
PINGREQ_PACKET = b"\xc0\x00"
DISCONNECT_PACKET = b"\xe0\x00"  # normal disconnection (reason 0 omitted): the broker drops the will
READ_CHUNK = 65536
MAX_REMAINING_LENGTH = 268_435_455

# MQTT 5 property identifiers used here.
PROP_SESSION_EXPIRY = 0x11
PROP_RECEIVE_MAXIMUM = 0x21
PROP_REASON_STRING = 0x1F


class ProtocolError(Exception):
    """The peer sent something this client does not accept; the connection is dropped and re-established."""


class Publish(NamedTuple):
    topic: str
    payload: bytes
    packet_id: int  # 0 for QoS 0 (nothing to acknowledge)
    dup: bool


class Control(NamedTuple):
    """Any other packet from the server: type (upper nibble), flags (lower nibble), body (after the header)."""

    kind: int
    flags: int
    body: bytes


# ---------------------------------------------------------------------------------------------- encoding


def encode_varint(n: int) -> bytes:
    """MQTT variable byte integer (remaining length, property lengths): 1–4 bytes, 7 bits each, LSB first."""
    if not 0 <= n <= MAX_REMAINING_LENGTH:
        raise ValueError(f"{n} does not fit an MQTT variable byte integer")
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def utf8_string(s: str) -> bytes:
    b = s.encode()
    if len(b) > 0xFFFF:
        raise ValueError("MQTT strings are at most 65535 bytes")
    return len(b).to_bytes(2, "big") + b


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + encode_varint(len(body)) + body


def connect_packet(client_id: str, *, username: str | None = None, password: str | None = None,
                   keepalive: int = 30, clean_start: bool = False, session_expiry: int = 0,
                   receive_maximum: int = 65535) -> bytes:
    """CONNECT, MQTT 5: persistent session (clean_start False + expiry) so the broker queues QoS 1 messages while
    the ingest is down; Receive Maximum = how many unacknowledged QoS 1 PUBLISHes the broker may send us."""
    flags = (0x02 if clean_start else 0) | (0x80 if username is not None else 0) | (
        0x40 if password is not None else 0)
    props = bytes([PROP_SESSION_EXPIRY]) + session_expiry.to_bytes(4, "big")
    props += bytes([PROP_RECEIVE_MAXIMUM]) + receive_maximum.to_bytes(2, "big")
    body = utf8_string("MQTT") + bytes([5, flags]) + keepalive.to_bytes(2, "big") + encode_varint(len(props)) + props
    body += utf8_string(client_id)  # no will (so no will properties either)
    if username is not None:
        body += utf8_string(username)
    if password is not None:
        body += utf8_string(password)
    return _packet(CONNECT << 4, body)


def subscribe_packet(packet_id: int, filters: Sequence[str], qos: int = 1) -> bytes:
    body = packet_id.to_bytes(2, "big") + encode_varint(0)
    for topic_filter in filters:
        body += utf8_string(topic_filter) + bytes([qos])
    return _packet((SUBSCRIBE << 4) | 0x02, body)


def puback_packets(packet_ids: Sequence[int]) -> bytes:
    """The PUBACKs of a batch as one buffer: 4 bytes each (MQTT 5 allows omitting reason 0 and properties)."""
    return b"".join(b"\x40\x02" + pid.to_bytes(2, "big") for pid in packet_ids if pid)


def publish_packet(topic: str, payload: bytes, packet_id: int = 0, *, dup: bool = False, qos: int = 1,
                   properties: bytes = b"") -> bytes:
    """A server → client PUBLISH (MQTT 5). Used by the tests and the benchmark, never by the ingest."""
    first = (PUBLISH << 4) | (0x08 if dup else 0) | (qos << 1)
    body = utf8_string(topic) + (packet_id.to_bytes(2, "big") if qos else b"")
    body += encode_varint(len(properties)) + properties + payload
    return _packet(first, body)


# ---------------------------------------------------------------------------------------------- decoding


def decode_varint(buf: bytes, pos: int) -> tuple[int, int] | None:
    """(value, position after it), or None when the buffer ends inside the integer."""
    value, shift, end = 0, 0, len(buf)
    while pos < end:
        digit = buf[pos]
        pos += 1
        value |= (digit & 0x7F) << shift
        if digit < 0x80:
            return value, pos
        shift += 7
        if shift > 21:
            raise ProtocolError("malformed variable byte integer (more than 4 bytes)")
    return None


def _publish(buf: bytes, first: int, start: int, end: int) -> Publish:
    qos = (first >> 1) & 0x03
    if qos == 3:
        raise ProtocolError("PUBLISH with QoS 3")
    if qos == 2:
        raise ProtocolError("QoS 2 PUBLISH although every subscription grants QoS 1")
    tlen = (buf[start] << 8) | buf[start + 1]
    pos = start + 2 + tlen
    topic = buf[start + 2:pos].decode()
    packet_id = 0
    if qos:
        packet_id = (buf[pos] << 8) | buf[pos + 1]
        pos += 2
    plen = buf[pos]
    if plen < 0x80:
        pos += 1 + plen
    else:
        decoded = decode_varint(buf, pos)
        if decoded is None:
            raise ProtocolError("truncated PUBLISH properties")
        pos = decoded[1] + decoded[0]
    if pos > end:
        raise ProtocolError("PUBLISH header runs past the packet")
    return Publish(topic, buf[pos:end], packet_id, bool(first & 0x08))


def first_packet(buf: bytes) -> tuple[bytes, int] | None:
    """(body, end) of the first packet in `buf` if it is complete, else None."""
    if len(buf) < 2:
        return None
    length, body = buf[1], 2
    if length >= 0x80:
        decoded = decode_varint(buf, 1)
        if decoded is None:
            return None
        length, body = decoded
    return (buf[body:body + length], body + length) if body + length <= len(buf) else None


def parse_packets(buf: bytes) -> tuple[list[Publish], list[Control], int]:
    """Every complete packet at the start of `buf`: (publishes, other packets, bytes consumed). The caller keeps
    `buf[consumed:]` (a partial packet) and prepends it to the next read."""
    publishes: list[Publish] = []
    controls: list[Control] = []
    pos, end = 0, len(buf)
    while pos + 1 < end:
        first = buf[pos]
        length = buf[pos + 1]
        body = pos + 2
        if length >= 0x80:
            decoded = decode_varint(buf, pos + 1)
            if decoded is None:
                break
            length, body = decoded
        stop = body + length
        if stop > end:
            break
        if first >> 4 == PUBLISH:
            publishes.append(_publish(buf, first, body, stop))
        else:
            controls.append(Control(first >> 4, first & 0x0F, buf[body:stop]))
        pos = stop
    return publishes, controls, pos


def _reason_string(props: bytes) -> str:
    """The Reason String property (0x1F) of a CONNACK/DISCONNECT property block, if any (others are skipped)."""
    pos = 0
    while pos < len(props):
        ident = props[pos]
        pos += 1
        if ident == PROP_REASON_STRING:
            n = int.from_bytes(props[pos:pos + 2], "big")
            return props[pos + 2:pos + 2 + n].decode(errors="replace")
        return ""  # other properties first: not worth a full property parser for a log line
    return ""


def connack_result(body: bytes) -> tuple[bool, int, str]:
    """(session present, reason code, reason string) of a CONNACK body."""
    if len(body) < 2:
        raise ProtocolError("short CONNACK")
    props = b""
    decoded = decode_varint(body, 2) if len(body) > 2 else None
    if decoded is not None:
        props = body[decoded[1]:decoded[1] + decoded[0]]
    return bool(body[0] & 0x01), body[1], _reason_string(props)


def suback_result(body: bytes) -> tuple[int, list[int]]:
    """(packet id, reason codes) of a SUBACK body (MQTT 5: codes ≥ 0x80 are refusals)."""
    packet_id = int.from_bytes(body[:2], "big")
    decoded = decode_varint(body, 2)
    if decoded is None:
        raise ProtocolError("short SUBACK")
    return packet_id, list(body[decoded[1] + decoded[0]:])


def disconnect_reason(body: bytes) -> tuple[int, str]:
    if not body:
        return 0, ""
    props = b""
    decoded = decode_varint(body, 1) if len(body) > 1 else None
    if decoded is not None:
        props = body[decoded[1]:decoded[1] + decoded[0]]
    return body[0], _reason_string(props)


# ---------------------------------------------------------------------------------------------- connection


@dataclass
class ReceiverOptions:
    host: str
    port: int
    client_id: str
    filters: list[str]
    username: str | None = None
    password: str | None = None
    keepalive: int = 30
    session_expiry: int = 7 * 86400
    receive_maximum: int = 65535
    connect_timeout: float = 10.0
    backoff: tuple[float, float] = (0.5, 5.0)


OnPublishes = Callable[[int, list[Publish]], None]


class MqttReceiver:
    """One persistent-session MQTT 5 subscriber connection, reconnecting with backoff.

    `on_publishes(generation, publishes)` is called on the event loop for every chunk read from the socket.
    `generation` counts connections: packet ids are valid only on the connection that delivered them, so
    `ack(generation, ids)` silently drops acknowledgements of an older connection (the broker redelivers those
    messages with DUP set).
    """

    def __init__(self, options: ReceiverOptions, on_publishes: OnPublishes) -> None:
        self.options = options
        self.on_publishes = on_publishes
        self.generation = 0
        self.connected = asyncio.Event()
        self.subscribed = asyncio.Event()
        self.received = 0
        self.acked = 0
        self._writer: asyncio.StreamWriter | None = None
        self._last_read = 0.0

    # ------------------------------------------------------------ public

    def ack(self, generation: int, packet_ids: Sequence[int]) -> int:
        """Send the PUBACKs of a committed batch in one write; returns how many were sent."""
        writer = self._writer
        if generation != self.generation or writer is None or writer.is_closing():
            return 0
        data = puback_packets(packet_ids)
        if data:
            writer.write(data)
            self.acked += len(data) // 4
        return len(data) // 4

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, subscribe and read until `stop` is set; reconnect with backoff on any failure."""
        delay = self.options.backoff[0]
        while not stop.is_set():
            try:
                await self._session(stop)
                delay = self.options.backoff[0]
            except (OSError, EOFError, ProtocolError, TimeoutError, asyncio.IncompleteReadError) as exc:
                log.warning("MQTT connection to %s:%s lost: %s; reconnecting in %.1f s", self.options.host,
                            self.options.port, exc or type(exc).__name__, delay)
            finally:
                await self._close()
            if stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, self.options.backoff[1])

    # ------------------------------------------------------------ one connection

    async def _session(self, stop: asyncio.Event) -> None:
        o = self.options
        reader, writer = await asyncio.wait_for(asyncio.open_connection(o.host, o.port), o.connect_timeout)
        self._writer = writer
        writer.write(connect_packet(o.client_id, username=o.username, password=o.password, keepalive=o.keepalive,
                                    session_expiry=o.session_expiry, receive_maximum=o.receive_maximum))
        rest = await asyncio.wait_for(self._connack(reader), o.connect_timeout)
        self.generation += 1
        self.connected.set()
        writer.write(subscribe_packet(1, o.filters))
        pinger = asyncio.create_task(self._keepalive(writer))
        stopper = asyncio.create_task(stop.wait())
        reading = asyncio.create_task(self._read_loop(reader, rest))
        try:
            done, _ = await asyncio.wait({reading, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if reading in done:
                reading.result()  # raises the reason the connection ended
            else:
                writer.write(DISCONNECT_PACKET)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(writer.drain(), 1.0)
        finally:
            for task in (pinger, stopper, reading):
                task.cancel()
            for task in (pinger, stopper, reading):
                with contextlib.suppress(BaseException):
                    await task

    async def _connack(self, reader: asyncio.StreamReader) -> bytes:
        buf = b""
        while True:
            chunk = await reader.read(READ_CHUNK)
            if not chunk:
                raise EOFError("connection closed before CONNACK")
            buf += chunk
            if buf[0] >> 4 != CONNACK:
                raise ProtocolError("expected CONNACK first")
            first = first_packet(buf)
            if first is None:
                continue  # the CONNACK is not complete yet
            body, end = first
            present, code, reason = connack_result(body)
            if code >= 0x80:
                raise ProtocolError(f"broker refused the connection: reason 0x{code:02x} {reason}".rstrip())
            log.info("connected to the broker as %s (session present: %s)", self.options.client_id, present)
            # A resumed session's queued PUBLISHes may follow in the same read: the read loop takes them.
            return buf[end:]

    async def _read_loop(self, reader: asyncio.StreamReader, buf: bytes) -> None:
        self._last_read = time.monotonic()
        generation = self.generation
        while True:
            if buf:
                publishes, controls, used = parse_packets(buf)
                buf = buf[used:]
                if publishes:
                    self.received += len(publishes)
                    self.on_publishes(generation, publishes)
                for control in controls:
                    self._control(control)
            chunk = await reader.read(READ_CHUNK)
            if not chunk:
                raise EOFError("the broker closed the connection")
            self._last_read = time.monotonic()
            buf = buf + chunk if buf else chunk

    def _control(self, packet: Control) -> None:
        if packet.kind == PINGRESP:
            return
        if packet.kind == SUBACK:
            self._suback(packet.body)
        elif packet.kind == DISCONNECT:
            code, reason = disconnect_reason(packet.body)
            raise ProtocolError(f"broker sent DISCONNECT reason 0x{code:02x} {reason}".rstrip())
        else:
            raise ProtocolError(f"unexpected packet type {packet.kind} from the broker")

    def _suback(self, body: bytes) -> None:
        _, codes = suback_result(body)
        refused = [f"{f} (0x{c:02x})" for f, c in zip(self.options.filters, codes, strict=False) if c >= 0x80]
        if refused or len(codes) != len(self.options.filters):
            log.error("broker refused the ingest subscriptions: %s (check the backend account's ACL)",
                      ", ".join(refused) or f"{len(codes)} codes for {len(self.options.filters)} filters")
            return
        self.subscribed.set()
        log.info("subscribed: %s", ", ".join(self.options.filters))

    async def _keepalive(self, writer: asyncio.StreamWriter) -> None:
        """PINGREQ every keepalive/2 s; a broker silent for 1.5 × keepalive is a dead connection."""
        interval = max(self.options.keepalive / 2, 0.5)
        while True:
            await asyncio.sleep(interval)
            if time.monotonic() - self._last_read > self.options.keepalive * 1.5:
                log.warning("no data from the broker for %.0f s: closing the connection", self.options.keepalive * 1.5)
                writer.close()
                return
            writer.write(PINGREQ_PACKET)

    async def _close(self) -> None:
        self.connected.clear()
        self.subscribed.clear()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
