"""Routes for homes, hubs, sensors and robots (thin: logic is in service)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from seniorsafe.deps import AdminUser, CurrentUser, Session, State, client_ip
from seniorsafe.homes import service
from seniorsafe.homes.schemas import (
    DEVICE_ID,
    DeviceCredential,
    HomeIn,
    HomeOut,
    HomeUpdate,
    HubCreated,
    HubIn,
    HubOut,
    HubUpdate,
    RobotCreated,
    RobotIn,
    RobotOut,
    RobotUpdate,
    SensorIn,
    SensorOut,
    SensorUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["homes and devices"])

DeviceId = Annotated[str, Path(pattern=DEVICE_ID)]
SensorPk = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/homes", response_model=list[HomeOut], summary="Homes the caller may see")
async def list_homes(principal: CurrentUser, session: Session) -> list[HomeOut]:
    return [HomeOut.model_validate(h) for h in await service.list_homes(session, principal)]


@router.post("/seniors/{senior_id}/home", response_model=HomeOut, status_code=201, summary="Register a home")
async def create_home(senior_id: uuid.UUID, body: HomeIn, principal: AdminUser, request: Request,
                      session: Session) -> HomeOut:
    return HomeOut.model_validate(await service.create_home(session, principal, senior_id, body, client_ip(request)))


@router.get("/seniors/{senior_id}/home", response_model=HomeOut, summary="A senior's home")
async def senior_home(senior_id: uuid.UUID, principal: CurrentUser, session: Session) -> HomeOut:
    return HomeOut.model_validate(await service.home_of_senior(session, principal, senior_id))


@router.get("/homes/{home_id}", response_model=HomeOut, summary="One home")
async def get_home(home_id: uuid.UUID, principal: CurrentUser, session: Session) -> HomeOut:
    return HomeOut.model_validate(await service.get_visible_home(session, principal, home_id))


@router.patch("/homes/{home_id}", response_model=HomeOut, summary="Update a home")
async def update_home(home_id: uuid.UUID, body: HomeUpdate, principal: AdminUser, request: Request,
                      session: Session, state: State) -> HomeOut:
    home = await service.update_home(session, state.bus, principal, home_id, body, client_ip(request))
    return HomeOut.model_validate(home)


@router.get("/homes/{home_id}/hubs", response_model=list[HubOut], summary="Hubs of a home")
async def list_hubs(home_id: uuid.UUID, principal: CurrentUser, session: Session) -> list[HubOut]:
    return [HubOut.model_validate(h) for h in await service.list_hubs(session, principal, home_id)]


@router.post("/homes/{home_id}/hubs", response_model=HubCreated, status_code=201,
             summary="Register a hub; its credential is in the response, once")
async def register_hub(home_id: uuid.UUID, body: HubIn, principal: AdminUser, request: Request,
                       session: Session) -> HubCreated:
    hub, credential = await service.register_hub(session, principal, home_id, body, client_ip(request))
    return HubCreated(**HubOut.model_validate(hub).model_dump(), credential=credential)


@router.get("/hubs/{hub_id}", response_model=HubOut, summary="One hub")
async def get_hub(hub_id: DeviceId, principal: CurrentUser, session: Session) -> HubOut:
    return HubOut.model_validate(await service.get_visible_hub(session, principal, hub_id))


@router.patch("/hubs/{hub_id}", response_model=HubOut, summary="Rename a hub")
async def rename_hub(hub_id: DeviceId, body: HubUpdate, principal: AdminUser, request: Request,
                     session: Session) -> HubOut:
    return HubOut.model_validate(await service.rename_hub(session, principal, hub_id, body.name, client_ip(request)))


@router.post("/hubs/{hub_id}/credential", response_model=DeviceCredential,
             summary="Issue a new credential (the old one stops working)")
async def rotate_hub_credential(hub_id: DeviceId, principal: AdminUser, request: Request,
                                session: Session) -> DeviceCredential:
    return await service.rotate_hub_credential(session, principal, hub_id, client_ip(request))


@router.post("/hubs/{hub_id}/revoke", response_model=HubOut, summary="Revoke a hub's credential")
async def revoke_hub(hub_id: DeviceId, principal: AdminUser, request: Request, session: Session) -> HubOut:
    return HubOut.model_validate(await service.revoke_hub(session, principal, hub_id, client_ip(request)))


@router.delete("/hubs/{hub_id}", status_code=204, summary="Remove a hub and its sensors")
async def delete_hub(hub_id: DeviceId, principal: AdminUser, request: Request, session: Session,
                     state: State) -> Response:
    await service.delete_hub(session, state.bus, principal, hub_id, client_ip(request))
    return Response(status_code=204)


@router.get("/homes/{home_id}/sensors", response_model=list[SensorOut], summary="Sensors of a home")
async def list_sensors(home_id: uuid.UUID, principal: CurrentUser, session: Session) -> list[SensorOut]:
    return [SensorOut.model_validate(s) for s in await service.list_sensors(session, principal, home_id)]


@router.post("/hubs/{hub_id}/sensors", response_model=SensorOut, status_code=201, summary="Add a sensor to a hub")
async def add_sensor(hub_id: DeviceId, body: SensorIn, principal: AdminUser, request: Request,
                     session: Session, state: State) -> SensorOut:
    sensor = await service.add_sensor(session, state.bus, principal, hub_id, body, client_ip(request))
    return SensorOut.model_validate(sensor)


@router.get("/sensors/{sensor_pk}", response_model=SensorOut, summary="One sensor")
async def get_sensor(sensor_pk: SensorPk, principal: CurrentUser, session: Session) -> SensorOut:
    return SensorOut.model_validate(await service.get_visible_sensor(session, principal, sensor_pk))


@router.patch("/sensors/{sensor_pk}", response_model=SensorOut, summary="Update a sensor")
async def update_sensor(sensor_pk: SensorPk, body: SensorUpdate, principal: AdminUser, request: Request,
                        session: Session, state: State) -> SensorOut:
    sensor = await service.update_sensor(session, state.bus, principal, sensor_pk, body, client_ip(request))
    return SensorOut.model_validate(sensor)


@router.delete("/sensors/{sensor_pk}", status_code=204, summary="Remove a sensor")
async def delete_sensor(sensor_pk: SensorPk, principal: AdminUser, request: Request, session: Session,
                        state: State) -> Response:
    await service.delete_sensor(session, state.bus, principal, sensor_pk, client_ip(request))
    return Response(status_code=204)


@router.get("/homes/{home_id}/robots", response_model=list[RobotOut], summary="Robots of a home")
async def list_robots(home_id: uuid.UUID, principal: CurrentUser, session: Session) -> list[RobotOut]:
    return [RobotOut.model_validate(r) for r in await service.list_robots(session, principal, home_id)]


@router.post("/homes/{home_id}/robots", response_model=RobotCreated, status_code=201,
             summary="Register a robot; its credential is in the response, once")
async def register_robot(home_id: uuid.UUID, body: RobotIn, principal: AdminUser, request: Request,
                         session: Session) -> RobotCreated:
    robot, credential = await service.register_robot(session, principal, home_id, body, client_ip(request))
    return RobotCreated(**RobotOut.model_validate(robot).model_dump(), credential=credential)


@router.get("/robots/{robot_id}", response_model=RobotOut, summary="One robot")
async def get_robot(robot_id: DeviceId, principal: CurrentUser, session: Session) -> RobotOut:
    return RobotOut.model_validate(await service.get_visible_robot(session, principal, robot_id))


@router.patch("/robots/{robot_id}", response_model=RobotOut, summary="Update a robot")
async def update_robot(robot_id: DeviceId, body: RobotUpdate, principal: AdminUser, request: Request,
                       session: Session) -> RobotOut:
    return RobotOut.model_validate(await service.update_robot(session, principal, robot_id, body, client_ip(request)))


@router.post("/robots/{robot_id}/credential", response_model=DeviceCredential, summary="Issue a new robot credential")
async def rotate_robot_credential(robot_id: DeviceId, principal: AdminUser, request: Request,
                                  session: Session) -> DeviceCredential:
    return await service.rotate_robot_credential(session, principal, robot_id, client_ip(request))


@router.post("/robots/{robot_id}/revoke", response_model=RobotOut, summary="Revoke a robot's credential")
async def revoke_robot(robot_id: DeviceId, principal: AdminUser, request: Request, session: Session) -> RobotOut:
    return RobotOut.model_validate(await service.revoke_robot(session, principal, robot_id, client_ip(request)))


@router.delete("/robots/{robot_id}", status_code=204, summary="Remove a robot")
async def delete_robot(robot_id: DeviceId, principal: AdminUser, request: Request, session: Session) -> Response:
    await service.delete_robot(session, principal, robot_id, client_ip(request))
    return Response(status_code=204)
