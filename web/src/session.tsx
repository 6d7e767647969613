// Who is signed in. On start we try a silent refresh (the httpOnly cookie) before showing the login form.
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { api, login as apiLogin, logout as apiLogout, onSessionChange, refreshSession, type Organisation, type User } from "./api";

type State =
  | { status: "loading" }
  | { status: "signedOut"; expired?: boolean }
  | { status: "signedIn"; me: User; org: Organisation | null };

interface Session {
  state: State;
  login: (email: string, password: string) => Promise<void>;
  logout: (everywhere?: boolean) => Promise<void>;
}

const Ctx = createContext<Session | null>(null);

async function loadMe(): Promise<{ me: User; org: Organisation | null }> {
  const [me, org] = await Promise.all([api.me(), api.organisation().catch(() => null)]);
  return { me, org };
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ status: "loading" });

  useEffect(() => {
    let cancelled = false;
    refreshSession()
      .then(async (ok) => {
        if (!ok) throw new Error("no session");
        const loaded = await loadMe();
        if (!cancelled) setState({ status: "signedIn", ...loaded });
      })
      .catch(() => !cancelled && setState({ status: "signedOut" }));
    const off = onSessionChange((signedIn) => {
      if (!signedIn) setState((s) => (s.status === "signedIn" ? { status: "signedOut", expired: true } : s));
    });
    return () => {
      cancelled = true;
      off();
    };
  }, []);

  const login = async (email: string, password: string) => {
    await apiLogin(email, password);
    setState({ status: "signedIn", ...(await loadMe()) });
  };
  const logout = async (everywhere = false) => {
    await apiLogout(everywhere).catch(() => undefined);
    setState({ status: "signedOut" });
  };
  return <Ctx.Provider value={{ state, login, logout }}>{children}</Ctx.Provider>;
}

export function useSession(): Session {
  const v = useContext(Ctx);
  if (!v) throw new Error("SessionProvider missing");
  return v;
}

export function useMe(): User {
  const { state } = useSession();
  if (state.status !== "signedIn") throw new Error("not signed in");
  return state.me;
}

export function useOrg(): Organisation | null {
  const { state } = useSession();
  return state.status === "signedIn" ? state.org : null;
}
