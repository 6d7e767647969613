"""Sensor telemetry: the hub protocol (MQTT and HTTP), loss-free ingest into the time series, queries."""
