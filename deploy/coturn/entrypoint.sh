#!/bin/sh
# Container entrypoint for coturn: render turnserver.prod.conf with this deployment's values. The relay port
# range comes from TURN_MIN_PORT/TURN_MAX_PORT, the same variables compose.yaml publishes, so the published
# range can never be smaller than the one coturn allocates from.
set -eu
: "${TURN_SECRET:?TURN_SECRET must be set (at least 32 characters)}"
: "${TURN_REALM:?TURN_REALM must be set (the public host name)}"
: "${TURN_PUBLIC_IP:?TURN_PUBLIC_IP must be set}"
private_ip=${TURN_PRIVATE_IP:-$(hostname -i | cut -d' ' -f1)}
sed -e "s#@PRIVATE_IP@#$private_ip#g" -e "s#@PUBLIC_IP@#$TURN_PUBLIC_IP#g" -e "s#@REALM@#$TURN_REALM#g" \
    -e "s#@TURN_SECRET@#$TURN_SECRET#g" \
    -e "s#^min-port=.*#min-port=${TURN_MIN_PORT:-49160}#" -e "s#^max-port=.*#max-port=${TURN_MAX_PORT:-49359}#" \
    -e "s#^syslog#log-file=stdout#" -e "s#^pidfile=.*#pidfile=/tmp/turnserver.pid#" \
    -e "s#^userdb=.*#userdb=/var/lib/coturn/turndb#" \
    /etc/seniorsafe/turnserver.conf.template > /tmp/turnserver.conf
exec turnserver -c /tmp/turnserver.conf
