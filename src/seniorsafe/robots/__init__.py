"""Safety-check robots: protocol over the hub (MQTT), commands with ack/timeout/retry, status, safety checks."""
