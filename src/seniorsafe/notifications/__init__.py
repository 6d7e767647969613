"""Notifications outside the dashboard: email (SMTP), Web Push (VAPID), SMS/voice (HTTP provider).

`service.enqueue_*` writes `notification_deliveries` rows in the caller's transaction; `worker.dispatch_due`
sends the due ones and retries failures with exponential backoff.
"""
