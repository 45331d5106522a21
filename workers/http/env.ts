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
