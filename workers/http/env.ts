/**
 * The Hono environment every router shares: bindings plus what middleware sets per request.
 * The caller's `principal` is declared by `auth.ts` (Hono's `ContextVariableMap`), so this
 * module imports nothing from it and the two do not form a cycle.
 */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
  };
}

/**
 * The request's `waitUntil`, for work other requests may wait on (`sendCoalesced`). A request
 * dispatched without an execution context (a test calling `app.fetch(request)`) has none: its
 * own await is what keeps such work going then.
 */
export function waitUntilOf(c: { executionCtx: { waitUntil(promise: Promise<unknown>): void } }): (promise: Promise<unknown>) => void {
  return (promise) => {
    try {
      c.executionCtx.waitUntil(promise);
    } catch {
      // No execution context.
    }
  };
}
