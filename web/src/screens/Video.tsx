// Live robot camera (WebRTC) and robot controls, on demand from a senior's page and inside a danger
// alert. Loaded lazily: it is the only screen that needs RTCPeerConnection.
//
// Signaling (src/seniorsafe/webrtc/signaling.py) is on the Socket.IO namespace `/webrtc`, authenticated
// with the access token: `webrtc.watch {senior_id, reason}` → `{peer_id, iceServers}` (or `{error}`);
// the ROBOT then offers (`webrtc.offer {peer_id, sdp, type}`), we answer with `webrtc.answer`.
// We do not trickle: the answer is sent once ICE gathering is complete, so it carries every candidate
// (the robot, aiortc, takes candidates only from the SDP). `webrtc.leave {peer_id}` hangs up;
// `webrtc.ended {peer_id, reason}` comes when the server ends it (incident resolved, robot left).
// Every viewing is audited by the server (video_viewings, audit log).
import { useEffect, useRef, useState } from "react";
import { io, type Socket } from "socket.io-client";
import { api, getAccessToken, Unavailable, type Robot, type RobotStatus, type SeniorDetail } from "../api";
import { tEnum, useI18n } from "../i18n";
import { useLive, useLiveStatus } from "../realtime";
import { Link } from "../router";
import { Empty, Section, Show, Spinner, useLoad } from "../ui";

export default function Video({ seniorId }: { seniorId: string }) {
  const { t } = useI18n();
  const [senior] = useLoad(() => api.senior(seniorId), [seniorId]);
  return (
    <div className="page">
      <Link to={`/seniors/${seniorId}`} className="back-link">
        ← {t("common.back")}
      </Link>
      <Show value={senior}>
        {(s) => (
          <>
            <h1>
              {s.name} — {t("video.title")}
            </h1>
            <SeniorVideoPanel seniorId={s.id} senior={s} />
          </>
        )}
      </Show>
    </div>
  );
}

export function SeniorVideoPanel({
  seniorId,
  senior,
  alertId,
  compact,
}: {
  seniorId: string;
  senior?: SeniorDetail;
  alertId?: string;
  compact?: boolean;
}) {
  const { t } = useI18n();
  const [robots] = useLoad(async () => {
    const s = senior ?? (await api.senior(seniorId));
    if (!s.home_id) return { s, robots: [] as Robot[], rooms: [] as string[] };
    const [robots, home] = await Promise.all([api.robots(s.home_id), api.homeOf(s.id).catch(() => null)]);
    return { s, robots: robots.filter((r) => r.status === "active"), rooms: home?.rooms ?? [] };
  }, [seniorId]);
  return (
    <Show value={robots}>
      {({ s, robots, rooms }) => {
        if (!robots.length) return <Empty>{t("video.noRobot")}</Empty>;
        const robot = robots[0];
        return (
          <div className={compact ? "video-compact" : "grid"}>
            <Section title={t("video.title")} id="video">
              <Player seniorId={s.id} />
            </Section>
            <RobotControls robot={robot} rooms={rooms} alertId={alertId} />
          </div>
        );
      }}
    </Show>
  );
}

type PlayerState = "idle" | "starting" | "playing" | "unavailable" | "error";

function waitForGathering(pc: RTCPeerConnection, ms = 4000): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      pc.removeEventListener("icegatheringstatechange", done);
      resolve(); // send what we have; host candidates come first
    }, ms);
    pc.addEventListener("icegatheringstatechange", done);
  });
}

function Player({ seniorId }: { seniorId: string }) {
  const { t } = useI18n();
  const live = useLiveStatus();
  const video = useRef<HTMLVideoElement>(null);
  const call = useRef<{ socket: Socket; pc: RTCPeerConnection | null; peerId: string | null } | null>(null);
  const [state, setState] = useState<PlayerState>("idle");
  const [message, setMessage] = useState<string>("");
  const [reason, setReason] = useState(t("video.reasonDefault"));

  const hangUp = (next: PlayerState = "idle") => {
    const c = call.current;
    call.current = null;
    if (c) {
      if (c.peerId && c.socket.connected) c.socket.emit("webrtc.leave", { peer_id: c.peerId });
      c.pc?.close();
      // give the leave message a moment to go out before closing the namespace
      setTimeout(() => c.socket.disconnect(), 300);
    }
    if (video.current) video.current.srcObject = null;
    setState(next);
  };

  useEffect(() => () => hangUp(), []); // eslint-disable-line react-hooks/exhaustive-deps

  const fail = (e: unknown, unavailable = false) => {
    setMessage(e instanceof Error ? e.message : String(e));
    hangUp(unavailable ? "unavailable" : "error");
  };

  const start = async () => {
    setState("starting");
    setMessage("");
    const socket = io("/webrtc", {
      path: "/socket.io",
      transports: ["websocket", "polling"],
      auth: (cb) => cb({ token: getAccessToken() }),
      reconnection: false,
      timeout: 8000,
    });
    const c: { socket: Socket; pc: RTCPeerConnection | null; peerId: string | null } = { socket, pc: null, peerId: null };
    call.current = c;
    const offers = new Map<string, { sdp: string; type: RTCSdpType }>();
    let iceServers: RTCIceServer[] = [];

    const answer = async (offer: { sdp: string; type: RTCSdpType }) => {
      if (call.current !== c || c.pc || !c.peerId) return;
      const pc = new RTCPeerConnection({ iceServers });
      c.pc = pc;
      pc.ontrack = (e) => {
        if (video.current) {
          video.current.srcObject = e.streams[0] ?? new MediaStream([e.track]);
          void video.current.play().catch(() => undefined);
          setState("playing");
        }
      };
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === "failed" && call.current === c) fail(new Error("connection failed"));
      };
      await pc.setRemoteDescription(offer);
      await pc.setLocalDescription(await pc.createAnswer());
      await waitForGathering(pc);
      const ack = await socket.timeout(8000).emitWithAck("webrtc.answer", {
        peer_id: c.peerId,
        sdp: pc.localDescription!.sdp,
        type: pc.localDescription!.type,
      });
      if (ack?.error) throw new Error(ack.detail ?? ack.error);
    };

    socket.on("webrtc.offer", (d: { peer_id: string; sdp: string; type: RTCSdpType }) => {
      if (d.peer_id === c.peerId) void answer(d).catch((e) => fail(e));
      else offers.set(d.peer_id, d); // the offer overtook the watch reply
    });
    socket.on("webrtc.ended", (d: { peer_id: string; reason?: string }) => {
      if (d.peer_id === c.peerId && call.current === c) {
        setMessage(d.reason ?? "");
        hangUp();
      }
    });
    socket.on("connect_error", (e) => call.current === c && fail(e));
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", reject);
      });
      const reply = await socket
        .timeout(15000)
        .emitWithAck("webrtc.watch", { senior_id: seniorId, reason: reason.trim() || undefined });
      if (reply?.error) return fail(new Error(reply.detail ?? reply.error), reply.error === "unavailable");
      iceServers = reply.iceServers ?? [];
      c.peerId = reply.peer_id;
      const early = offers.get(reply.peer_id);
      if (early) await answer(early);
    } catch (e) {
      fail(e, e instanceof Unavailable);
    }
  };

  const busy = state === "starting" || state === "playing";
  return (
    <div className="player">
      <video ref={video} autoPlay playsInline muted aria-label={t("video.title")} data-testid="robot-video" data-state={state} />
      <p className="muted small">{t("video.audited")}</p>
      {state === "unavailable" && (
        <p className="muted" role="status" data-testid="video-unavailable">
          {message}
        </p>
      )}
      {state === "error" && (
        <p className="error-box" role="alert">
          {t("common.error")}: {message}
        </p>
      )}
      {!busy && (
        <div className="inline-form">
          <label htmlFor="video-reason">{t("video.reason")}</label>
          <input id="video-reason" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={200} />
        </div>
      )}
      <div className="actions">
        {!busy ? (
          <button type="button" className="btn btn-primary" onClick={() => void start()} disabled={live !== "live"}>
            ▶ {t("video.start")}
          </button>
        ) : (
          <button type="button" className="btn" onClick={() => hangUp()}>
            ■ {t("video.stop")}
          </button>
        )}
        {live !== "live" && <span className="muted small">{t(`live.${live}`)}</span>}
      </div>
      {state === "starting" && <Spinner />}
    </div>
  );
}

function RobotControls({ robot, rooms, alertId }: { robot: Robot; rooms: string[]; alertId?: string }) {
  const { t, fmtTime } = useI18n();
  const [initial] = useLoad(() => api.robotStatus(robot.id), [robot.id]);
  const [liveStatus, setStatus] = useState<RobotStatus | null>(null);
  const status = liveStatus ?? (initial.state === "ok" ? initial.data : null);
  const [room, setRoom] = useState(rooms[0] ?? robot.dock_room);
  const [text, setText] = useState("");
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  useLive(["robot.status"], (p) => {
    const d = p as RobotStatus;
    if (d.robot_id === robot.id) setStatus(d);
  });
  const send = async (command: string, args: Record<string, unknown> = {}) => {
    setResult(null);
    try {
      await api.robotCommand(robot.id, command, args, alertId);
      setResult({ ok: true, text: t("video.sent") });
    } catch (e) {
      setResult({ ok: false, text: e instanceof Unavailable ? t("common.notAvailable") : e instanceof Error ? e.message : String(e) });
    }
  };
  return (
    <Section title={t("video.controls")} id="robot">
      <dl className="kv">
        <dt>{t("video.robotStatus")}</dt>
        <dd data-testid="robot-status">
          {status ? (
            <>
              {status.state ?? "—"}
              {typeof status.battery === "number" ? ` · 🔋${status.battery}%` : ""}
              {status.room ? ` · ${tEnum(t, "room", status.room)}` : ""}
              {status.reported_at ? ` · ${fmtTime(status.reported_at)}` : ""}
            </>
          ) : (
            <span className="muted">—</span>
          )}
        </dd>
        <dt>{t("admin.model")}</dt>
        <dd>
          {robot.model} ({robot.id})
        </dd>
      </dl>
      <div className="inline-form">
        <label htmlFor="robot-room">{t("video.goTo")}</label>
        <div className="row">
          <select id="robot-room" value={room} onChange={(e) => setRoom(e.target.value)}>
            {[...new Set([...rooms, robot.dock_room])].map((r) => (
              <option key={r} value={r}>
                {tEnum(t, "room", r)}
              </option>
            ))}
          </select>
          <button type="button" className="btn" onClick={() => void send("go_to", { room })}>
            {t("video.goTo")}
          </button>
        </div>
      </div>
      <div className="actions">
        <button type="button" className="btn btn-primary" onClick={() => void send("safety_check")}>
          {t("video.check")}
        </button>
        <button type="button" className="btn" onClick={() => void send("return_to_dock")}>
          {t("video.dock")}
        </button>
      </div>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim()) void send("speak", { text: text.trim() });
        }}
      >
        <label htmlFor="robot-speak">{t("video.speak")}</label>
        <div className="row">
          <input id="robot-speak" value={text} onChange={(e) => setText(e.target.value)} placeholder={t("video.speakPlaceholder")} />
          <button type="submit" className="btn" disabled={!text.trim()}>
            {t("video.speak")}
          </button>
        </div>
      </form>
      {result && (
        <p className={result.ok ? "notice" : "error-box"} role="status">
          {result.text}
        </p>
      )}
    </Section>
  );
}
