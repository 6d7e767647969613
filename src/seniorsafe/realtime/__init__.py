"""The live gateway: python-socketio beside FastAPI in the api process.

- `server.Gateway`: authentication on connect (`auth={"token": <access token>}`), rooms computed with
  `seniors.service.visible_to`, the `snapshot` event, `senior.watch`/`senior.unwatch`, `auth.refresh`,
  periodic re-checks that disconnect signed-out or expired sessions.
- `bridge.Bridge`: bus (Redis pub/sub) → Socket.IO; runs in every api process and emits to local sockets only.
- The wire protocol (events and payloads) is documented in docs/protocols.md, section "Socket.IO".

Hook for other domains (robots, WebRTC signaling) — add handlers without editing this package::

    from seniorsafe.realtime import Gateway, register_handlers

    @register_handlers
    def setup(gateway: Gateway) -> None:
        gateway.sio.on("webrtc.offer", handler)            # any Socket.IO event
        gateway.connect_handlers.append(robot_connect)     # non-user clients, e.g. auth={"robot_id", "secret"}
        gateway.disconnect_handlers.append(robot_gone)

`robot_connect(gateway, sid, environ, auth)` returns True when it authenticated the client (e.g. with
`homes.service.verify_robot_credential`, then `await gateway.sio.save_session(sid, {...})` and
`await gateway.sio.enter_room(sid, ...)`), None when the auth payload is not its kind, or raises
`socketio.exceptions.ConnectionRefusedError`. User sessions (`auth["token"]`) never reach connect handlers.
`gateway.state` is the process's AppState (db, bus, settings); `gateway.users[sid]` the user's session.
Registrars run for every gateway, including ones created before the registration; the module that calls
`register_handlers` must be imported by the api process (e.g. from app.py).

Cross-process emits: `await gateway.sio.emit(event, data, to=sid_or_room)` reaches sockets on any api
process (AsyncRedisManager on `{redis_prefix}socketio`). Publishing on the bus (`Bus.publish("org:{org_id}",
{"event": "robot.status", "org_id", "senior_id", "data"})`) reaches every client allowed to see the senior.
"""

from seniorsafe.realtime.server import Gateway, register_handlers

__all__ = ["Gateway", "register_handlers"]
