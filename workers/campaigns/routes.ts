import { createRouter } from "../http/router.ts";

export const campaignRoutes = createRouter();
