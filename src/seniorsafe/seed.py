"""A demo organisation for newcomers: an admin, two staff, a guardian, seniors with homes and sensors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from seniorsafe.accounts.models import Organisation, Role, User
from seniorsafe.accounts.security import hash_password, new_opaque_token, token_digest
from seniorsafe.audit.service import record
from seniorsafe.homes.models import DeviceStatus, Home, Hub, Robot, Room, Sensor, SensorKind
from seniorsafe.seniors.models import Guardian, Mobility, RiskLevel, Senior, Sex, StaffAssignment

DEMO_ORG = "Haeundae Home Care (demo)"
DEMO_PASSWORD = "demo-password-1"


@dataclass
class DemoLogin:
    email: str
    role: str


DEMO_LOGINS = [
    DemoLogin("admin@demo.example.org", "admin"),
    DemoLogin("minji@demo.example.org", "staff"),
    DemoLogin("junho@demo.example.org", "staff"),
    DemoLogin("guardian@demo.example.org", "guardian"),
]

DEMO_SENIORS = [
    ("김복순", date(1941, 3, 2), Sex.female, ["hypertension", "osteoarthritis"], Mobility.cane),
    ("이영수", date(1938, 11, 20), Sex.male, ["type 2 diabetes"], Mobility.independent),
    ("박순자", date(1944, 6, 14), Sex.female, ["mild cognitive impairment"], Mobility.walker),
    ("최만석", date(1936, 1, 9), Sex.male, ["COPD", "atrial fibrillation"], Mobility.independent),
]

DEMO_SENSORS = [
    ("bed", SensorKind.presence, Room.bedroom, "bed pressure mat"),
    ("pir-bedroom", SensorKind.motion, Room.bedroom, "bedroom motion"),
    ("pir-living", SensorKind.motion, Room.living, "living room motion"),
    ("pir-kitchen", SensorKind.motion, Room.kitchen, "kitchen motion"),
    ("pir-bathroom", SensorKind.motion, Room.bathroom, "bathroom motion"),
    ("door-bathroom", SensorKind.door, Room.bathroom, "bathroom door"),
    ("door-front", SensorKind.door, Room.entrance, "front door"),
    ("fridge", SensorKind.contact, Room.kitchen, "fridge door"),
    ("tv", SensorKind.power, Room.living, "TV power"),
    ("kettle", SensorKind.power, Room.kitchen, "kettle power"),
    ("button", SensorKind.button, Room.living, "emergency button"),
    ("smoke", SensorKind.smoke, Room.kitchen, "smoke detector"),
]


DEMO_ROBOT_ID = "demo-robot-001"


def demo_hub_id(index: int) -> str:
    return f"demo-hub-{index + 1:03d}"


async def issue_demo_robot_credential(session: AsyncSession) -> tuple[str, str, str] | None:
    """A fresh credential for the demo robot: (robot id, its hub id, secret). Demo data only."""
    robot = await session.get(Robot, DEMO_ROBOT_ID)
    if robot is None:
        return None
    secret = new_opaque_token()
    robot.credential_hash, robot.credential_issued_at = token_digest(secret), datetime.now(UTC)
    await session.commit()
    return robot.id, robot.hub_id, secret


async def seed_demo(session: AsyncSession) -> bool:
    """Create the demo organisation unless it exists. Returns True when it was created."""
    if await session.scalar(select(Organisation.id).where(Organisation.name == DEMO_ORG)):
        return False
    org = Organisation(name=DEMO_ORG, phone="051-000-0000", settings={})
    session.add(org)
    await session.flush()
    users: dict[str, User] = {}
    names = {"admin": "관리자", "minji": "정민지", "junho": "한준호", "guardian": "김지현"}
    for login in DEMO_LOGINS:
        user = User(id=uuid.uuid4(), org_id=org.id, email=login.email, name=names[login.email.split("@")[0]],
                    role=Role(login.role), password_hash=hash_password(DEMO_PASSWORD), is_active=True)
        users[login.email.split("@")[0]] = user
        session.add(user)
    await session.flush()
    for index, (name, birth, sex, conditions, mobility) in enumerate(DEMO_SENIORS):
        senior = Senior(org_id=org.id, name=name, birth_date=birth, sex=sex, address=f"부산 해운대구 {index + 1}길",
                        phone=f"010-0000-{index + 1:04d}", health_conditions=conditions, medications=[],
                        mobility=mobility, video_consent=index % 2 == 0, risk_level=RiskLevel.unknown, settings={})
        session.add(senior)
        await session.flush()
        staff = users["minji"] if index % 2 == 0 else users["junho"]
        session.add(StaffAssignment(senior_id=senior.id, user_id=staff.id, is_primary=True))
        guardian_user = users["guardian"] if index == 0 else None
        session.add(Guardian(senior_id=senior.id, name="김지현" if index == 0 else f"보호자 {index + 1}",
                             relation="daughter", phone=f"010-1000-{index + 1:04d}",
                             email=users["guardian"].email if guardian_user else None,
                             notification_preferences={"channels": ["sms", "push"], "severities": ["danger"],
                                                       "quiet_hours": None},
                             user_id=guardian_user.id if guardian_user else None, priority=1))
        home = Home(org_id=org.id, senior_id=senior.id, address=senior.address, timezone="Asia/Seoul",
                    rooms=["bedroom", "living", "kitchen", "bathroom", "entrance"])
        session.add(home)
        await session.flush()
        hub = Hub(id=demo_hub_id(index), org_id=org.id, home_id=home.id, name=f"{name} hub",
                  status=DeviceStatus.active)
        session.add(hub)
        await session.flush()
        for sensor_id, kind, room, label in DEMO_SENSORS:
            session.add(Sensor(org_id=org.id, home_id=home.id, hub_id=hub.id, sensor_id=sensor_id, kind=kind,
                               room=room, label=label, config={}))
        if index == 0:
            session.add(Robot(id=DEMO_ROBOT_ID, org_id=org.id, home_id=home.id, hub_id=hub.id, model="SafeBot S1",
                              dock_room=Room.living, status=DeviceStatus.active))
    record(session, action="organisation.seeded", entity="organisation", entity_id=org.id, org_id=org.id)
    await session.commit()
    return True
