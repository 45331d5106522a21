/**
 * How the pages reach the API: the generated typed client (client/) on this origin with the tab's
 * token, and the sentences a person reads when a call is refused.
 */
import { useCallback, useEffect, useState } from "preact/hooks";
import { tallyClient, type components, type TallyClient } from "../client/index.ts";
import { currentSession } from "./session.ts";

type Problem = components["schemas"]["Problem"];

/** The typed client for this origin, sending the signed-in token when there is one. */
export function api(): TallyClient {
  return tallyClient(location.origin, currentSession().token ?? undefined);
}

/** What an openapi-fetch call resolves to, as far as the pages care. */
export interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

function isProblem(error: unknown): error is Problem {
  return typeof error === "object" && error !== null && "status" in error;
}

/** One sentence for a refused call: sign in for 401, the token's limits for 403, when to retry for 429. */
export function refusal(response: Response, error: unknown): string {
  const problem = isProblem(error) ? error : undefined;
  const detail = problem?.detail ?? problem?.title ?? response.statusText;
  const fields = problem?.errors?.map((e) => `${e.path || "body"}: ${e.message}`).join("; ");
  switch (response.status) {
    case 401:
      return `Sign in first: this needs a valid bearer token (401: ${detail}).`;
    case 403:
      return `The signed-in token is not allowed to do this (403: ${detail}).`;
    case 429:
      return `Too many requests: try again in ${response.headers.get("retry-after") ?? "a few"} s (429).`;
    default:
      return `${response.status} ${problem?.title ?? ""}: ${detail}${fields ? ` (${fields})` : ""}`;
  }
}

export interface Loaded<T> {
  data?: T;
  /** The refusal sentence, or the network failure. */
  error?: string;
  status?: number;
  loading: boolean;
  reload: () => void;
}

/**
 * Calls `load` when `deps` change (and every `refreshMs` when given), keeping the last answer on screen
 * while the next one is on its way. A `load` that returns null has nothing to ask (yet).
 */
export function useLoad<T>(load: () => Promise<Answer<T>> | null, deps: unknown[], refreshMs?: number): Loaded<T> {
  const [state, setState] = useState<Omit<Loaded<T>, "reload">>({ loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  useEffect(() => {
    let live = true;
    const call = load();
    if (!call) {
      setState({ loading: false });
      return;
    }
    setState((s) => ({ ...s, loading: true }));
    call.then(
      ({ data, error, response }) => {
        if (!live) return;
        setState(data !== undefined && response.ok
          ? { data, loading: false, status: response.status }
          : { error: refusal(response, error), loading: false, status: response.status });
      },
      (failure: unknown) => live && setState({ error: `Tally did not answer: ${String(failure)}`, loading: false }),
    );
    const timer = refreshMs ? setTimeout(reload, refreshMs) : undefined;
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { ...state, reload };
}

/** Runs a call that changes something; resolves to the refusal sentence, or null when it succeeded. */
export async function act(call: Promise<Answer<unknown>>): Promise<string | null> {
  try {
    const { error, response } = await call;
    return response.ok ? null : refusal(response, error);
  } catch (failure) {
    return `Tally did not answer: ${String(failure)}`;
  }
}

/** A money amount as people write it. */
export function money(amount: { value: string; currency: string } | null | undefined): string {
  return amount ? `${amount.value} ${amount.currency}` : "–";
}

/** A timestamp in UTC, to the second. */
export function utc(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 19).replace("T", " ")} UTC` : "–";
}
