/**
 * The signed-in bearer token, kept in the tab's session storage, and what its payload says. The
 * payload is decoded for display only: the server checks every token it receives.
 */
import { useEffect, useState } from "preact/hooks";

const KEY = "tally.token";
const CHANGED = "tally-session";

/** The claims the pages show and use to decide which controls to offer. */
export interface Claims {
  sub?: string;
  roles?: string[];
  employerId?: string;
  exp?: number;
}

export interface Session {
  token: string | null;
  claims: Claims | null;
}

/** The payload of a JWT, unverified; null when the text is not a JWT. */
export function decodeClaims(token: string): Claims | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const claims: unknown = JSON.parse(json);
    return typeof claims === "object" && claims !== null ? (claims as Claims) : null;
  } catch {
    return null;
  }
}

/** The current session from session storage. */
export function currentSession(): Session {
  const token = sessionStorage.getItem(KEY);
  return { token, claims: token ? decodeClaims(token) : null };
}

/** Keeps `token` for this tab (null signs out) and tells every mounted page. */
export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
  window.dispatchEvent(new Event(CHANGED));
}

/** The session, re-rendering the caller when someone signs in or out. */
export function useSession(): Session {
  const [session, setSession] = useState(currentSession);
  useEffect(() => {
    const update = () => setSession(currentSession());
    window.addEventListener(CHANGED, update);
    return () => window.removeEventListener(CHANGED, update);
  }, []);
  return session;
}

/** Whether the session's token carries `role`. */
export function hasRole(session: Session, role: string): boolean {
  return session.claims?.roles?.includes(role) ?? false;
}
