#!/bin/sh
# Container entrypoint for the eclipse-mosquitto image: render the project's template and, on first start,
# create the dynamic-security file whose admin is the backend's MQTT account (MQTT_USERNAME/MQTT_PASSWORD).
set -eu
: "${MQTT_USERNAME:?MQTT_USERNAME must be set}"
: "${MQTT_PASSWORD:?MQTT_PASSWORD must be set}"
data=/mosquitto/data
plugin=$(ls /usr/lib/mosquitto_dynamic_security.so /usr/lib/*/mosquitto_dynamic_security.so 2>/dev/null | head -1)
sed -e "s#@PORT@#1883#" -e "s#@BIND@#0.0.0.0#" -e "s#@DATA_DIR@#$data#" -e "s#@DYNSEC_PLUGIN@#$plugin#" \
    -e "s#@USER@#mosquitto#" /etc/seniorsafe/mosquitto.conf.template > /mosquitto/config/mosquitto.conf
if [ ! -f "$data/dynamic-security.json" ]; then
    mosquitto_ctrl dynsec init "$data/dynamic-security.json" "$MQTT_USERNAME" "$MQTT_PASSWORD"
    chown mosquitto "$data/dynamic-security.json"
fi
exec mosquitto -c /mosquitto/config/mosquitto.conf
