import { createRouter } from "../http/router.ts";

export const adRoutes = createRouter();
