/**
 * The pages' live sockets: one mechanism that opens a socket route with the tab's token, reconnects with
 * backoff whenever it drops, keeps idle sockets alive, and says so on screen.
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { Notice } from "./layout.tsx";

/** `open`, or why there is no socket now and when the next try is. */
export type SocketState = { kind: "connecting" } | { kind: "open" } | { kind: "dropped"; retryAt: number };

export interface LiveSocket {
  state: SocketState;
  /** Sends `message` as JSON when the socket is open; false when it is not (the caller resends on the next open). */
  send: (message: unknown) => boolean;
}

/**
 * A socket on `path` (null: none) with `?token=` when signed in, reconnecting with backoff (1 s, 2 s, 4 s … 30 s)
 * whenever it drops. `onMessage` gets each parsed JSON message except the keep-alive's answer; `ping` is the
 * route's keep-alive text (docs/sockets.md: `ping` for the leaderboard, `{"type":"ping"}` for the others).
 */
export function useSocket(path: string | null, token: string | null, onMessage: (message: { type?: string }) => void, ping: string): LiveSocket {
  const [state, setState] = useState<SocketState>({ kind: "connecting" });
  const socket = useRef<WebSocket | undefined>(undefined);
  // The latest handler, so a re-render does not reopen the socket.
  const handler = useRef(onMessage);
  handler.current = onMessage;
  useEffect(() => {
    if (!path) return;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    let stopped = false;
    const connect = () => {
      const url = new URL(path, location.href);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      if (token) url.searchParams.set("token", token);
      setState({ kind: "connecting" });
      const ws = new WebSocket(url);
      socket.current = ws;
      ws.onopen = () => {
        failures = 0;
        setState({ kind: "open" });
      };
      ws.onmessage = (event) => {
        const text = String(event.data);
        if (text === "pong") return;
        const message = JSON.parse(text) as { type?: string };
        if (message.type !== "pong") handler.current(message);
      };
      ws.onclose = () => {
        if (stopped) return;
        const delay = Math.min(30_000, 1000 * 2 ** failures++);
        setState({ kind: "dropped", retryAt: Date.now() + delay });
        retry = setTimeout(connect, delay);
      };
    };
    connect();
    // Keeps idle proxies from closing a quiet socket; answered by the runtime without waking the object.
    const keepAlive = setInterval(() => socket.current?.readyState === WebSocket.OPEN && socket.current.send(ping), 30_000);
    return () => {
      stopped = true;
      clearTimeout(retry);
      clearInterval(keepAlive);
      socket.current?.close();
      socket.current = undefined;
    };
  }, [path, token, ping]);
  const send = useCallback((message: unknown) => {
    const ws = socket.current;
    if (ws?.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(message));
    return true;
  }, []);
  return { state, send };
}

/** `Date.now()`, re-rendering the caller every `everyMs`. */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/**
 * The socket's state as a line (`live-state`), and an alert while it is dropped saying that `what` may be out of
 * date until it reconnects. `open` may say more than "Live" (e.g. as of when).
 */
export function LiveState({ state, open, what }: { state: SocketState; open?: string; what: string }) {
  const now = useNow(1000);
  return (
    <>
      <p class="live-state" data-testid="live-state">
        {state.kind === "open" ? (open ?? "Live")
          : state.kind === "connecting" ? "Connecting to live updates…"
          : `Live updates dropped: reconnecting in ${Math.max(0, Math.ceil((state.retryAt - now) / 1000))} s`}
      </p>
      {state.kind === "dropped" && <Notice kind="error">The live connection dropped; {what} may be out of date until it reconnects.</Notice>}
    </>
  );
}
