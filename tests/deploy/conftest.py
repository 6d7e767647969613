"""Running nginx from deploy/nginx/nginx.conf on loopback ports, in a folder of the test's own."""

from __future__ import annotations

import contextlib
import getpass
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from seniorsafe.processes import free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        pytest.fail("nginx is not installed (scripts/services.sh installs it)")
    return found


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def render_nginx(folder: Path, values: dict[str, str]) -> Path:
    """Fill ${NAME} placeholders like the nginx image's envsubst does (only the names given)."""
    text = (DEPLOY / "nginx" / "nginx.conf").read_text()
    missing = set(re.findall(r"\$\{([A-Z_]+)\}", text)) - set(values)
    assert not missing, f"no value for {missing}"
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    conf = folder / "nginx.conf"
    conf.write_text(text)
    return conf


@contextlib.contextmanager
def nginx_running(folder: Path, api_upstream: str, dashboard_root: Path) -> Iterator[dict[str, int]]:
    for sub in ("logs", "temp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy(DEPLOY / "nginx" / "proxy_params", folder / "proxy_params")
    cert, key = self_signed_cert(folder)
    ports = {"http": free_port(), "https": free_port()}
    conf = render_nginx(folder, {
        # Workers run as the test's own user so they can read the test's temporary folders.
        "NGINX_USER": getpass.getuser(), "NGINX_PID_PATH": str(folder / "nginx.pid"),
        "NGINX_LOG_DIR": str(folder / "logs"),
        "NGINX_TEMP_DIR": str(folder / "temp"), "NGINX_MIME_TYPES": "/etc/nginx/mime.types",
        "NGINX_PROXY_PARAMS": str(folder / "proxy_params"), "NGINX_HTTP_PORT": f"127.0.0.1:{ports['http']}",
        "NGINX_HTTPS_PORT": f"127.0.0.1:{ports['https']}", "NGINX_PUBLIC_HTTPS_PORT": str(ports["https"]),
        "API_UPSTREAM": api_upstream, "DASHBOARD_ROOT": str(dashboard_root), "TLS_CERT": str(cert),
        "TLS_KEY": str(key),
    })
    nginx = nginx_binary()
    check = subprocess.run([nginx, "-t", "-p", str(folder), "-c", str(conf), "-e", str(folder / "logs/error.log")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    subprocess.run([nginx, "-p", str(folder), "-c", str(conf), "-e", str(folder / "logs/error.log")], check=True)
    try:
        time.sleep(0.3)
        yield ports
    finally:
        subprocess.run([nginx, "-p", str(folder), "-c", str(conf), "-e", str(folder / "logs/error.log"), "-s", "stop"],
                       capture_output=True)
