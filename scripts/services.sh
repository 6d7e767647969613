#!/usr/bin/env bash
# Make sure the servers the tests talk to are installed and running on this machine.
# --install-only: install missing Debian packages (as root) without starting anything (used by `make run`).
# Debian packages do not start on install here, so each server is started with its own command.
set -euo pipefail

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v mosquitto >/dev/null || need_apt+=(mosquitto mosquitto-clients)
command -v psql >/dev/null || need_apt+=(postgresql postgresql-client)
command -v turnserver >/dev/null || need_apt+=(coturn)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
command -v chromium >/dev/null || need_apt+=(chromium chromium-driver)
command -v openssl >/dev/null || need_apt+=(openssl)
[ -d /usr/share/fonts/truetype/nanum ] || need_apt+=(fonts-nanum)  # Korean glyphs in screenshots
command -v npm >/dev/null || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing packages: ${need_apt[*]} (install them as root)" >&2
    exit 1
  fi
fi

if [ "${1:-}" = "--install-only" ]; then
  exit 0
fi

wait_for() {  # name, command
  for _ in $(seq 1 50); do
    if eval "$2" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "$1 did not become ready" >&2
  return 1
}

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  wait_for PostgreSQL "pg_isready -h 127.0.0.1 -p 5432 -q"
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis "redis-cli -h 127.0.0.1 -p 6379 ping"
fi

if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  echo "starting Mosquitto"
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
  wait_for Mosquitto "exec 3<>/dev/tcp/127.0.0.1/1883"
fi

echo "services ready: PostgreSQL, Redis, Mosquitto (coturn, nginx and Chromium are started by the tests that use them)"
