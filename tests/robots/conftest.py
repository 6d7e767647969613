"""Robot fixtures: a private Mosquitto (the telemetry engineer's LocalBroker), the dispatcher, a simulated robot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from seniorsafe.app import build_state
from seniorsafe.config import Settings
from seniorsafe.deps import AppState
from seniorsafe.robots.dispatcher import RobotDispatcher
from seniorsafe.simulate.robot_sim import RobotSim, SimOptions, World
from tests.conftest import Org
from tests.robots.helpers import RobotHome, make_robot_home


@pytest.fixture(scope="session")
def robot_broker(tmp_path_factory: pytest.TempPathFactory, run_id: str) -> Iterator[Any]:
    from seniorsafe.telemetry.broker import LocalBroker

    with LocalBroker(tmp_path_factory.mktemp("robot-mosquitto"), root=f"ssrobot-{run_id}/v1") as running:
        yield running


@pytest.fixture(scope="session")
def robot_settings(settings: Settings, robot_broker: Any) -> Settings:
    return robot_broker.backend_settings(settings, robot_ack_timeout_seconds=0.6, smtp_host="127.0.0.1",
                                         robot_max_attempts=3, robot_offline_seconds=3600)


@pytest.fixture(scope="session")
async def dispatcher(robot_settings: Settings) -> AsyncIterator[tuple[RobotDispatcher, AppState]]:
    state = build_state(robot_settings)
    disp = RobotDispatcher(state, tick=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(disp.run(stop))
    await asyncio.wait_for(disp.ready.wait(), 10)
    await asyncio.sleep(0.2)  # subscriptions settle
    yield disp, state
    stop.set()
    await asyncio.wait_for(task, 10)
    await state.bus.close()
    await state.db.dispose()


@pytest.fixture
async def home(client: httpx.AsyncClient, org: Org, robot_settings: Settings) -> RobotHome:
    from seniorsafe.telemetry import dynsec

    h = await make_robot_home(client, org)
    await asyncio.to_thread(dynsec.upsert_hub, robot_settings, h.hub_id, h.hub_secret)
    return h


SimFactory = Callable[..., Any]


@pytest.fixture
async def start_sim(home: RobotHome, robot_settings: Settings) -> AsyncIterator[SimFactory]:
    """Start the simulated robot of `home` (as the hub, with the hub's credential), 30× faster than life."""
    running: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    async def start(scenario: str = "fine", **options: Any) -> RobotSim:
        opts = SimOptions(robot_id=home.robot_id, hub_id=home.hub_id, port=robot_settings.mqtt_port,
                          username=home.hub_id, password=home.hub_secret, topic_root=robot_settings.mqtt_topic_root,
                          time_scale=30.0, status_every=30.0, **options)
        sim = RobotSim(opts, World(scenario=scenario, person_room="bedroom"))
        stop = asyncio.Event()
        running.append((stop, asyncio.create_task(sim.run(stop))))
        for _ in range(100):
            if sim.client is not None:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        return sim

    yield start
    for stop, task in running:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.fixture(autouse=True)
def api_uses_robot_settings(state: AppState, robot_settings: Settings) -> Iterator[None]:
    """The api process stores each command's ack timeout and attempts from its settings: use the fast ones."""
    saved = state.settings
    state.settings = robot_settings
    yield
    state.settings = saved
