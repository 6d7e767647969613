"""The bridge's lean Redis pub/sub reader: RESP framing across partial reads, and a real subscription."""

from __future__ import annotations

import asyncio
import uuid

import hiredis
import pytest

from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from seniorsafe.realtime.subscriber import PatternSubscriber, ReplyError, encode_command, take_replies


def test_replies_are_split_only_when_complete() -> None:
    wire = (b"*3\r\n$10\r\npsubscribe\r\n$3\r\np:*\r\n:1\r\n"
            b"*4\r\n$8\r\npmessage\r\n$3\r\np:*\r\n$3\r\np:a\r\n$5\r\nhello\r\n")
    reader = hiredis.Reader()
    seen = []
    for i in range(len(wire)):  # byte by byte: nothing is returned before it is whole
        reader.feed(wire[i:i + 1])
        got = take_replies(reader)
        assert not got or i in (wire.index(b":1\r\n") + 3, len(wire) - 1)
        seen += got
    assert seen == [[b"psubscribe", b"p:*", 1], [b"pmessage", b"p:*", b"p:a", b"hello"]]
    reader.feed(b"$-1\r\n+OK\r\n")
    assert take_replies(reader) == [None, b"OK"]
    reader.feed(b"-WRONGPASS invalid\r\n")
    with pytest.raises(ReplyError):
        take_replies(reader)
    assert encode_command("PSUBSCRIBE", "a:*") == b"*2\r\n$10\r\nPSUBSCRIBE\r\n$3\r\na:*\r\n"


async def test_pattern_subscriber_receives_every_message_in_order(settings: Settings, state: AppState) -> None:
    base = state.bus.key("pub", f"subtest:{uuid.uuid4().hex[:8]}:")
    subscriber = PatternSubscriber(settings.redis_url, [base + "*"])
    received: list[tuple[bytes, bytes]] = []

    async def consume() -> None:
        async for batch in subscriber.batches():
            received.extend(batch)
            if len(received) >= 500:
                return

    task = asyncio.create_task(consume())
    await asyncio.wait_for(subscriber.subscribed.wait(), 5)
    big = b"x" * 200_000  # spans several reads
    pipe = state.bus.redis.pipeline(transaction=False)
    for i in range(499):
        pipe.publish(base + f"c{i % 7}", b"%d" % i)
    pipe.publish(base + "big", big)
    await pipe.execute()
    await asyncio.wait_for(task, 10)
    assert [p for _, p in received[:499]] == [b"%d" % i for i in range(499)]
    assert received[499] == ((base + "big").encode(), big)
