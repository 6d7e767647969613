"""The ingest's MQTT 5 receiver: packet codec (split reads, long remaining lengths) and one connection against a
scripted fake broker (CONNECT fields, SUBACK, batched PUBACKs, DISCONNECT → reconnect, old acks dropped)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from seniorsafe.telemetry.mqttwire import (
    CONNACK,
    PINGRESP,
    SUBACK,
    Control,
    MqttReceiver,
    ProtocolError,
    Publish,
    ReceiverOptions,
    connack_result,
    connect_packet,
    decode_varint,
    encode_varint,
    parse_packets,
    puback_packets,
    publish_packet,
    suback_result,
    subscribe_packet,
)


@pytest.mark.parametrize(("value", "encoded"), [
    (0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (16_383, b"\xff\x7f"), (16_384, b"\x80\x80\x01"),
    (2_097_151, b"\xff\xff\x7f"), (2_097_152, b"\x80\x80\x80\x01"), (268_435_455, b"\xff\xff\xff\x7f"),
])
def test_varint_round_trip(value: int, encoded: bytes) -> None:
    assert encode_varint(value) == encoded
    assert decode_varint(b"xx" + encoded + b"yy", 2) == (value, 2 + len(encoded))
    assert decode_varint(encoded[:-1], 0) is None  # incomplete


def test_varint_limits() -> None:
    with pytest.raises(ValueError):
        encode_varint(268_435_456)
    with pytest.raises(ProtocolError):
        decode_varint(b"\xff\xff\xff\xff\x01", 0)


def test_parse_publishes_and_controls() -> None:
    props = b"\x01\x01"  # payload format indicator: must be skipped
    data = (publish_packet("a/b", b'{"x":1}', 7) + b"\xd0\x00" + publish_packet("c", b"", 0, qos=0)
            + publish_packet("d/e", b"zz", 65535, dup=True, properties=props) + b"\x90\x04\x00\x01\x00\x01")
    publishes, controls, used = parse_packets(data)
    assert used == len(data)
    assert publishes == [Publish("a/b", b'{"x":1}', 7, False), Publish("c", b"", 0, False),
                         Publish("d/e", b"zz", 65535, True)]
    assert controls == [Control(PINGRESP, 0, b""), Control(SUBACK, 0, b"\x00\x01\x00\x01")]
    assert suback_result(controls[1].body) == (1, [1])


@pytest.mark.parametrize("payload_size", [10, 200, 20_000, 3_000_000])  # 1-, 2-, 3- and 4-byte remaining lengths
def test_split_at_every_position(payload_size: int) -> None:
    payload = bytes(range(256)) * (payload_size // 256) + b"p" * (payload_size % 256)
    one = publish_packet("seniorsafe/v1/hubs/h-1/events", payload, 42)
    stream = one + publish_packet("t", b"second", 43)
    cuts = range(len(stream)) if len(stream) < 500 else [0, 1, 2, 3, 4, 5, 6, 40, len(one) - 1, len(one),
                                                         len(one) + 1, len(stream) - 1]
    for cut in cuts:
        got: list[Publish] = []
        buf = stream[:cut]
        for chunk in (b"", stream[cut:]):
            buf += chunk
            publishes, _, used = parse_packets(buf)
            got += publishes
            buf = buf[used:]
        assert buf == b""
        assert [(p.topic, p.packet_id) for p in got] == [("seniorsafe/v1/hubs/h-1/events", 42), ("t", 43)]
        assert got[0].payload == payload and got[1].payload == b"second"


def test_byte_by_byte() -> None:
    stream = b"".join(publish_packet(f"t/{i}", b"x" * i * 50, i + 1) for i in range(10)) + b"\xd0\x00"
    buf, got, pings = b"", [], 0
    for i in range(len(stream)):
        buf += stream[i:i + 1]
        publishes, controls, used = parse_packets(buf)
        got += publishes
        pings += len(controls)
        buf = buf[used:]
    assert [p.packet_id for p in got] == list(range(1, 11)) and pings == 1
    assert [len(p.payload) for p in got] == [i * 50 for i in range(10)]


def test_qos2_is_refused() -> None:
    with pytest.raises(ProtocolError):
        parse_packets(publish_packet("t", b"x", 1, qos=2))


def test_pubacks_one_buffer() -> None:
    assert puback_packets([1, 0, 258, 65535]) == b"\x40\x02\x00\x01" b"\x40\x02\x01\x02" b"\x40\x02\xff\xff"


def test_connect_and_subscribe_packets() -> None:
    pkt = connect_packet("ingest-1", username="u", password="p", keepalive=30, session_expiry=604800,
                         receive_maximum=65535)
    assert pkt[0] == 0x10
    length, body = decode_varint(pkt, 1) or (0, 0)
    assert len(pkt) == body + length
    assert pkt[body:body + 7] == b"\x00\x04MQTT\x05" and pkt[body + 7] == 0xC0  # user + password, no clean start
    # properties (session expiry 604800, receive maximum 65535), then the payload: client id, user, password
    assert pkt[body + 10:] == b"\x08\x11\x00\x09\x3a\x80\x21\xff\xff\x00\x08ingest-1\x00\x01u\x00\x01p"
    assert b"\x11\x00\x09\x3a\x80" in pkt and b"\x21\xff\xff" in pkt and pkt.endswith(b"\x00\x01u\x00\x01p")
    sub = subscribe_packet(1, ["$share/ingest/r/hubs/+/events"])
    assert sub[0] == 0x82 and sub.endswith(b"$share/ingest/r/hubs/+/events\x01")
    assert connack_result(b"\x01\x00\x03\x21\x00\x0a") == (True, 0, "")
    assert connack_result(b"\x00\x87\x05\x1f\x00\x02no") == (False, 0x87, "no")


# ---------------------------------------------------------------------------------------------- fake broker


class FakeBroker:
    """Accepts connections, answers CONNACK/SUBACK, and hands each connection's reader/writer to the test."""

    def __init__(self) -> None:
        self.connections: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]] = asyncio.Queue()
        self.server: Any = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connect = await _read_packet(reader)
        writer.write(bytes([CONNACK << 4, 3, 0, 0, 0]))
        subscribe = await _read_packet(reader)
        writer.write(b"\x90\x06" + subscribe[2:4] + b"\x00\x01\x01\x01")  # granted QoS 1 ×3 (packet id echoed)
        await self.connections.put((reader, writer, connect))


async def _read_packet(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(2)
    length, extra = head[1], b""
    while head[-1] & 0x80:
        head += await reader.readexactly(1)
    decoded = decode_varint(head, 1)
    assert decoded is not None
    length = decoded[0]
    extra = await reader.readexactly(length)
    return head + extra


async def test_receiver_acks_in_one_write_and_reconnects(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="seniorsafe.telemetry.mqttwire")
    fake = FakeBroker()
    port = await fake.start()
    received: list[tuple[int, Publish]] = []
    got = asyncio.Event()

    def on_publishes(generation: int, publishes: list[Publish]) -> None:
        received.extend((generation, p) for p in publishes)
        got.set()

    filters = [f"$share/ingest/r/hubs/+/{c}" for c in ("events", "state", "heartbeat")]
    rx = MqttReceiver(ReceiverOptions("127.0.0.1", port, "ingest-x", filters, username="u", password="pw",
                                      backoff=(0.05, 0.1)), on_publishes)
    stop = asyncio.Event()
    task = asyncio.create_task(rx.run(stop))
    reader, writer, connect = await asyncio.wait_for(fake.connections.get(), 5)
    assert b"ingest-x" in connect and connect[9] == 0xC0
    await asyncio.wait_for(rx.subscribed.wait(), 5)
    assert "subscribed: $share/ingest/r/hubs/+/events" in caplog.text
    data = b"".join(publish_packet("r/hubs/h/events", b"%d" % i, i) for i in range(1, 1001))
    for cut in range(0, len(data), 777):  # packets split across reads
        writer.write(data[cut:cut + 777])
        await writer.drain()
    while len(received) < 1000:
        got.clear()
        await asyncio.wait_for(got.wait(), 5)
    assert [p.packet_id for _, p in received] == list(range(1, 1001))
    generation = received[0][0]
    assert rx.ack(generation, [p.packet_id for _, p in received]) == 1000
    acks = await reader.readexactly(4000)
    assert acks == puback_packets(list(range(1, 1001)))
    writer.write(b"\xe0\x02\x8b\x00")  # DISCONNECT: server shutting down
    await writer.drain()
    reader2, writer2, _ = await asyncio.wait_for(fake.connections.get(), 5)
    await asyncio.wait_for(rx.subscribed.wait(), 5)
    assert rx.generation == generation + 1
    assert rx.ack(generation, [1, 2, 3]) == 0  # packet ids of the old connection are never acknowledged here
    writer2.write(publish_packet("r/hubs/h/events", b"again", 5, dup=True))
    await writer2.drain()
    while received[-1][1].payload != b"again":
        got.clear()
        await asyncio.wait_for(got.wait(), 5)
    assert received[-1] == (generation + 1, Publish("r/hubs/h/events", b"again", 5, True))
    rx.ack(rx.generation, [5])
    assert await reader2.readexactly(4) == b"\x40\x02\x00\x05"
    stop.set()
    await asyncio.wait_for(task, 5)
    assert await reader2.read() == b"\xe0\x00"  # a clean DISCONNECT on stop
    fake.server.close()


async def test_resumed_session_backlog_in_the_connack_read_is_received() -> None:
    """A broker resuming a session sends CONNACK and the queued PUBLISHes at once, often in one segment."""
    received: list[Publish] = []
    got = asyncio.Event()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_packet(reader)
        backlog = b"".join(publish_packet("r/hubs/h/events", b"%d" % i, i) for i in range(1, 4))
        writer.write(bytes([CONNACK << 4, 3, 1, 0, 0]) + backlog)  # session present, then the backlog
        subscribe = await _read_packet(reader)
        writer.write(b"\x90\x04" + subscribe[2:4] + b"\x00\x01")
        await writer.drain()
        await asyncio.sleep(5)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])

    def on_publishes(_generation: int, publishes: list[Publish]) -> None:
        received.extend(publishes)
        if len(received) >= 3:
            got.set()

    rx = MqttReceiver(ReceiverOptions("127.0.0.1", port, "ingest-r", ["r/hubs/+/events"], backoff=(0.05, 0.1)),
                      on_publishes)
    stop = asyncio.Event()
    task = asyncio.create_task(rx.run(stop))
    await asyncio.wait_for(got.wait(), 5)
    assert [p.payload for p in received] == [b"1", b"2", b"3"]
    stop.set()
    await asyncio.wait_for(task, 5)
    server.close()


async def test_refused_connection_retries(caplog: pytest.LogCaptureFixture) -> None:
    attempts = 0

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        await _read_packet(reader)
        writer.write(b"\x20\x03\x00\x86\x00")  # bad user name or password
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(refuse, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    rx = MqttReceiver(ReceiverOptions("127.0.0.1", port, "x", ["t"], backoff=(0.02, 0.05)), lambda g, p: None)
    stop = asyncio.Event()
    task = asyncio.create_task(rx.run(stop))
    for _ in range(100):
        if attempts >= 3:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)
    server.close()
    assert attempts >= 3 and "0x86" in caplog.text and not rx.connected.is_set()
