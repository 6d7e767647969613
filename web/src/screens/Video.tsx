// Live robot camera (WebRTC) and robot controls, on demand from a senior's page and inside a danger
// alert. Loaded lazily: it is the only screen that needs RTCPeerConnection.
//
// Signaling goes through the Socket.IO gateway (`webrtc.offer` with an acknowledgement carrying the
// answer, `webrtc.candidate` both ways, `webrtc.closed` from the server), ICE servers (our TURN) come
// from GET /api/v1/webrtc/ice-servers. Every viewing is audited by the server.
import { useEffect, useRef, useState } from "react";
import { api, Unavailable, type Robot, type SeniorDetail } from "../api";
import { tEnum, useI18n } from "../i18n";
import { emit, on, useLive, useLiveStatus } from "../realtime";
import { Link } from "../router";
import { Empty, NotAvailable, Section, Show, Spinner, useLoad } from "../ui";

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

interface RobotStatus {
  robot_id?: string;
  state?: string;
  battery?: number;
  room?: string;
  position?: string;
  at?: string;
}

export function SeniorVideoPanel({ seniorId, senior, compact }: { seniorId: string; senior?: SeniorDetail; compact?: boolean }) {
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
              {s.video_consent ? <Player robot={robot} /> : <Empty>{t("video.noConsent")}</Empty>}
            </Section>
            <RobotControls robot={robot} rooms={rooms} />
          </div>
        );
      }}
    </Show>
  );
}

function Player({ robot }: { robot: Robot }) {
  const { t } = useI18n();
  const live = useLiveStatus();
  const video = useRef<HTMLVideoElement>(null);
  const pc = useRef<RTCPeerConnection | null>(null);
  const [state, setState] = useState<"idle" | "starting" | "playing" | "unavailable" | "error">("idle");
  const [message, setMessage] = useState<string>("");

  const stop = () => {
    pc.current?.close();
    pc.current = null;
    if (video.current) video.current.srcObject = null;
    void emit("webrtc.close", { robot_id: robot.id }).catch(() => undefined);
    setState("idle");
  };

  useEffect(() => () => stop(), []); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(
    () =>
      on("webrtc.closed", (p) => {
        if ((p as { robot_id?: string })?.robot_id === robot.id) stop();
      }),
    [robot.id], // eslint-disable-line react-hooks/exhaustive-deps
  );

  const start = async () => {
    setState("starting");
    setMessage("");
    try {
      const ice = await api.iceServers();
      const conn = new RTCPeerConnection({ iceServers: ice.ice_servers ?? ice.iceServers ?? [] });
      pc.current = conn;
      conn.addTransceiver("video", { direction: "recvonly" });
      conn.addTransceiver("audio", { direction: "recvonly" });
      conn.ontrack = (e) => {
        if (video.current && e.streams[0]) {
          video.current.srcObject = e.streams[0];
          setState("playing");
        }
      };
      const offCand = on("webrtc.candidate", (p) => {
        const d = p as { robot_id?: string; candidate?: RTCIceCandidateInit };
        if (d.robot_id === robot.id && d.candidate) void conn.addIceCandidate(d.candidate).catch(() => undefined);
      });
      conn.onicecandidate = (e) => {
        if (e.candidate) void emit("webrtc.candidate", { robot_id: robot.id, candidate: e.candidate.toJSON() }).catch(() => undefined);
      };
      conn.onconnectionstatechange = () => {
        if (["failed", "closed"].includes(conn.connectionState)) {
          offCand();
          if (conn.connectionState === "failed") setState("error");
        }
      };
      await conn.setLocalDescription(await conn.createOffer());
      const answer = await emit<{ sdp: string; type: RTCSdpType; error?: string }>("webrtc.offer", {
        robot_id: robot.id,
        sdp: conn.localDescription!.sdp,
        type: conn.localDescription!.type,
      });
      if (!answer || answer.error) throw new Error(answer?.error ?? "no answer");
      await conn.setRemoteDescription({ type: answer.type ?? "answer", sdp: answer.sdp });
    } catch (e) {
      pc.current?.close();
      pc.current = null;
      setState(e instanceof Unavailable ? "unavailable" : "error");
      setMessage(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <div className="player">
      <video ref={video} autoPlay playsInline muted aria-label={t("video.title")} data-testid="robot-video" data-state={state} />
      <p className="muted small">{t("video.audited")}</p>
      {state === "unavailable" && <NotAvailable />}
      {state === "error" && (
        <p className="error-box" role="alert">
          {t("common.error")}: {message}
        </p>
      )}
      <div className="actions">
        {state === "idle" || state === "error" || state === "unavailable" ? (
          <button type="button" className="btn btn-primary" onClick={() => void start()} disabled={live !== "live"}>
            ▶ {t("video.start")}
          </button>
        ) : (
          <button type="button" className="btn" onClick={stop}>
            ■ {t("video.stop")}
          </button>
        )}
        {live !== "live" && <span className="muted small">{t(`live.${live}`)}</span>}
      </div>
      {state === "starting" && <Spinner />}
    </div>
  );
}

function RobotControls({ robot, rooms }: { robot: Robot; rooms: string[] }) {
  const { t, fmtTime } = useI18n();
  const [status, setStatus] = useState<RobotStatus | null>(null);
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
      await api.robotCommand(robot.id, command, args);
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
              {status.room || status.position ? ` · ${tEnum(t, "room", status.room ?? status.position)}` : ""}
              {status.at ? ` · ${fmtTime(status.at)}` : ""}
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
        <button type="button" className="btn" onClick={() => void send("dock")}>
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
