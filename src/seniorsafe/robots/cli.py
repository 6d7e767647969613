"""`seniorsafe robots` (the dispatcher worker) and `seniorsafe robot-sim` (a simulated robot)."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer

from seniorsafe.config import get_settings
from seniorsafe.monitoring import configure_logging, run_service


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def robots_cmd() -> None:
    """Run the robot dispatcher: command delivery with retries, acks, status, safety checks on danger alerts."""
    from seniorsafe.app import build_state
    from seniorsafe.robots.dispatcher import run_dispatcher

    configure_logging(get_settings())

    async def main() -> None:
        state = build_state(get_settings())
        stop = asyncio.Event()
        _stop_on_signals(stop)
        try:
            await run_dispatcher(state, stop)
        finally:
            await state.bus.close()
            await state.db.dispose()

    run_service(main(), "robots")


def robot_sim_cmd(
    robot_id: Annotated[str, typer.Option(help="the robot's id (registered in its home)")],
    hub_id: Annotated[str, typer.Option(help="the home's hub id")],
    hub_secret: Annotated[str | None, typer.Option(help="hub credential (direct MQTT to the backend broker)")] = None,
    local_prefix: Annotated[str | None, typer.Option(help="talk to the hub agent's local broker instead, "
                                                          "e.g. seniorsafe/robot")] = None,
    mqtt_host: Annotated[str, typer.Option(help="broker host")] = "127.0.0.1",
    mqtt_port: Annotated[int, typer.Option(help="broker port")] = 1883,
    api_url: Annotated[str | None, typer.Option(help="api URL for video signaling, e.g. http://127.0.0.1:8000")]
    = None,
    robot_secret: Annotated[str | None, typer.Option(help="the robot's own credential (video signaling)")] = None,
    scenario: Annotated[str, typer.Option(help="fine | fall | absent")] = "fine",
    person_room: Annotated[str, typer.Option(help="where the resident is")] = "bedroom",
    dock_room: Annotated[str, typer.Option(help="where the dock is")] = "living",
    time_scale: Annotated[float, typer.Option(help="1 = real time; 10 = ten times faster")] = 1.0,
) -> None:
    """Simulate a safety-check robot: the real robot protocol, movement, battery, and a synthetic camera."""
    from seniorsafe.simulate.robot_sim import SimOptions, World, run_sim

    configure_logging(get_settings())
    settings = get_settings()
    options = SimOptions(robot_id=robot_id, hub_id=hub_id, host=mqtt_host, port=mqtt_port,
                         username=None if local_prefix else hub_id, password=None if local_prefix else hub_secret,
                         topic_root=settings.mqtt_topic_root, local_prefix=local_prefix, time_scale=time_scale)
    world = World(scenario=scenario, person_room=person_room, dock_room=dock_room)
    world.place(dock_room)

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await run_sim(options, world, api_url, robot_secret, stop)

    asyncio.run(main())
