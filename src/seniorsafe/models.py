"""Every table, imported in one place so metadata (and Alembic) see them all."""

from seniorsafe.accounts.models import Organisation, RefreshToken, User
from seniorsafe.alerts.models import Alert, AlertEvent, PersonalModelVersion
from seniorsafe.audit.models import AuditEntry
from seniorsafe.db import Base
from seniorsafe.homes.models import Home, Hub, Robot, Sensor
from seniorsafe.notifications.models import Delivery, PushSubscription, UserNotificationPrefs
from seniorsafe.robots.models import RobotCommand, RobotStatus
from seniorsafe.seniors.models import Guardian, Senior, StaffAssignment
from seniorsafe.telemetry import models as telemetry_models  # noqa: F401 - registers the telemetry tables
from seniorsafe.webrtc.models import VideoSession, VideoViewing

__all__ = [
    "Alert",
    "AlertEvent",
    "AuditEntry",
    "Base",
    "Delivery",
    "Guardian",
    "Home",
    "Hub",
    "Organisation",
    "PersonalModelVersion",
    "PushSubscription",
    "RefreshToken",
    "Robot",
    "RobotCommand",
    "RobotStatus",
    "Senior",
    "Sensor",
    "StaffAssignment",
    "User",
    "UserNotificationPrefs",
    "VideoSession",
    "VideoViewing",
]
