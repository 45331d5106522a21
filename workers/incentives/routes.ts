import { createRouter } from "../http/router.ts";

export const incentiveRoutes = createRouter();
