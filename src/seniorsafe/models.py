"""Every table, imported in one place so metadata (and Alembic) see them all."""

from seniorsafe.accounts.models import Organisation, RefreshToken, User
from seniorsafe.audit.models import AuditEntry
from seniorsafe.db import Base
from seniorsafe.homes.models import Home, Hub, Robot, Sensor
from seniorsafe.seniors.models import Guardian, Senior, StaffAssignment
from seniorsafe.telemetry import models as telemetry_models  # noqa: F401 - registers the telemetry tables

__all__ = [
    "AuditEntry", "Base", "Guardian", "Home", "Hub", "Organisation", "RefreshToken", "Robot", "Senior", "Sensor",
    "StaffAssignment", "User",
]
