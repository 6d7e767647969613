"""`seniorsafe up`: everything on one machine for a newcomer; Ctrl-C stops it all cleanly."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)


def _child(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "seniorsafe.cli", *args], env=env)


def run_all(host: str, port: int, var_dir: Path) -> None:
    from seniorsafe.embedded import embedded_defaults

    var_dir.mkdir(parents=True, exist_ok=True)
    with embedded_defaults(var_dir) as servers:
        env = {**os.environ, **servers}
        env.setdefault("STORAGE_DIR", str((var_dir / "objects").resolve()))
        subprocess.run([sys.executable, "-m", "seniorsafe.cli", "db", "upgrade"], env=env, check=True)
        subprocess.run([sys.executable, "-m", "seniorsafe.cli", "seed-demo"], env=env, check=True)
        children = {"api": _child(["api", "--host", host, "--port", str(port)], env)}
        print(f"\nSenior Safe Things is starting at http://{host}:{port}  (API docs: /docs)\n"
              "Sign in with a demo account above. Ctrl-C stops everything.\n", flush=True)
        stopping = False

        def _stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        try:
            while not stopping:
                for name, proc in children.items():
                    if proc.poll() is not None:
                        log.error("%s exited with %s; stopping", name, proc.returncode)
                        stopping = True
                time.sleep(0.5)
        finally:
            for proc in children.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            for proc in children.values():
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
            print("stopped", flush=True)
