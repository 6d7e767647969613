"""Local servers started by the project's own tools (brokers, TURN, the demo stack, test and bench servers):
ports to give them, waiting for them to listen, stopping them."""

from __future__ import annotations

import random
import socket
import subprocess
import time
from pathlib import Path
from typing import Any


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int, kinds: tuple[int, ...]) -> bool:
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port(*, also_udp: bool = False) -> int:
    """A free TCP port (and UDP, with `also_udp`: a TURN server listens on both) *below* the kernel's ephemeral
    range. A port the kernel hands out (bind to 0) can be taken by any outgoing connection — e.g. a server's own
    components connecting to each other — between this check and the server's bind ("address already in
    use"); ports outside that range are only taken by listeners."""
    kinds = (socket.SOCK_STREAM, socket.SOCK_DGRAM) if also_udp else (socket.SOCK_STREAM,)
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randint(10_000, max(10_001, low - 1))
        if _bindable(port, kinds):
            return port
    while True:  # an unusual port range: fall back to the kernel's choice
        with socket.socket(socket.AF_INET, kinds[-1]) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if _bindable(port, kinds):
            return port


def wait_for_port(port: int, timeout: float = 10.0, what: str = "a server",
                  proc: subprocess.Popen[Any] | None = None) -> None:
    """Return once something accepts TCP connections on 127.0.0.1:`port`; TimeoutError after `timeout`, or at
    once when `proc` (the server being waited for) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise TimeoutError(f"{what} exited (code {proc.returncode}) before listening on port {port}") from None
            time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on port {port}")


def stop_process(proc: subprocess.Popen[Any] | None, grace_seconds: float = 10.0) -> None:
    """Ask the process to stop (SIGTERM), wait up to `grace_seconds`, then kill it; a no-op once it has exited."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
