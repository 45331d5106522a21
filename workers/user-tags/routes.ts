import { createRouter } from "../http/router.ts";

export const userTagRoutes = createRouter();
