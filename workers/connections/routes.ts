import { createRouter } from "../http/router.ts";
import { presenceRoutes } from "./presence-routes.ts";
import { requestRoutes } from "./request-routes.ts";
import { rewardRoutes } from "./reward-routes.ts";

/** API.md §5: officers' presence, nearby search, connection requests, reports, offers and charities. */
export const connectionRoutes = createRouter();

connectionRoutes.route("/", presenceRoutes);
connectionRoutes.route("/", requestRoutes);
connectionRoutes.route("/", rewardRoutes);
