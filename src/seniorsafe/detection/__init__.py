"""Detection core: personal models, hard rules and the live per-home detector (pure Python).

Public API (used by the detector and trainer services)::

    from seniorsafe.detection import (
        SensorInfo, Event, AlertDecision, Thresholds, PersonalModel, HomeDetector,
    )
"""

from .detector import HomeDetector
from .events import ALERT_KINDS, ROOMS, SENSOR_KINDS, AlertDecision, Event, SensorInfo
from .formats import InputError
from .personal import ModelFitter, PersonalModel
from .thresholds import Thresholds

__all__ = [
    "ALERT_KINDS",
    "ROOMS",
    "SENSOR_KINDS",
    "AlertDecision",
    "Event",
    "HomeDetector",
    "InputError",
    "ModelFitter",
    "PersonalModel",
    "SensorInfo",
    "Thresholds",
]
