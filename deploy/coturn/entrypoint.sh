#!/bin/sh
# Container entrypoint for coturn: render turnserver.prod.conf with this deployment's values. The relay port
# range comes from TURN_MIN_PORT/TURN_MAX_PORT, the same variables compose.yaml publishes, so the published
# range can never be smaller than the one coturn allocates from. Paths and ports have container defaults
# and can be overridden (the test suite runs this script against a real turnserver on loopback ports).
set -eu
: "${TURN_SECRET:?TURN_SECRET must be set (at least 32 characters)}"
: "${TURN_REALM:?TURN_REALM must be set (the public host name)}"
: "${TURN_PUBLIC_IP:?TURN_PUBLIC_IP must be set}"
private_ip=${TURN_PRIVATE_IP:-$(hostname -i | cut -d' ' -f1)}
template=${TURN_TEMPLATE:-/etc/seniorsafe/turnserver.conf.template}
out=${TURN_CONFIG_OUT:-/tmp/turnserver.conf}
certs=${TURN_CERT_DIR:-/etc/letsencrypt/live/$TURN_REALM}
sed -e "s#@PRIVATE_IP@#$private_ip#g" -e "s#@PUBLIC_IP@#$TURN_PUBLIC_IP#g" -e "s#@REALM@#$TURN_REALM#g" \
    -e "s#@TURN_SECRET@#$TURN_SECRET#g" \
    -e "s#^min-port=.*#min-port=${TURN_MIN_PORT:-49160}#" -e "s#^max-port=.*#max-port=${TURN_MAX_PORT:-49359}#" \
    -e "s#^listening-port=.*#listening-port=${TURN_LISTEN_PORT:-3478}#" \
    -e "s#^tls-listening-port=.*#tls-listening-port=${TURN_TLS_PORT:-5349}#" \
    -e "s#^cert=.*#cert=$certs/fullchain.pem#" -e "s#^pkey=.*#pkey=$certs/privkey.pem#" \
    -e "s#^syslog#log-file=stdout#" -e "s#^pidfile=.*#pidfile=${TURN_PID_FILE:-/tmp/turnserver.pid}#" \
    -e "s#^userdb=.*#userdb=${TURN_DB:-/var/lib/coturn/turndb}#" \
    "$template" > "$out"
exec turnserver -c "$out"
