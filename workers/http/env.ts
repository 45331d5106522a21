import type { Principal } from "./auth.ts";

/** The Hono environment every router shares: bindings plus what middleware sets per request. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    principal?: Principal;
  };
}
