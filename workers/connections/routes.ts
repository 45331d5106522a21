import { createRouter } from "../http/router.ts";

export const connectionRoutes = createRouter();
