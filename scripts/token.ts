/**
 * Mints a local HS256 token: `npm run token -- --sub 42 --roles admin[,officer] [--employer-id 7] [--retailer-id r1] [--hours 24]`.
 * A trusted backend that sends purchases and events gets `--sub shop --roles service` (any text is a sub).
 * The secret is JWT_SECRET from the environment, else from `.dev.vars`.
 */
import { parseArgs } from "node:util";
import { sign } from "hono/jwt";
import { devVars } from "./dev-vars.ts";

const { values } = parseArgs({
  options: {
    sub: { type: "string", default: "1" },
    roles: { type: "string", default: "admin" },
    "employer-id": { type: "string" },
    "retailer-id": { type: "string" },
    hours: { type: "string", default: "24" },
  },
});

const roles = values.roles.split(",").map((r) => r.trim()).filter(Boolean);
// The roles workers/http/auth.ts accepts (ROLES); kept here so this script needs nothing from the Worker.
const known = ["admin", "officer", "citizen", "employer", "retailer", "service"];
const unknown = roles.filter((r) => !known.includes(r));
if (unknown.length > 0) {
  console.error(`unknown role ${unknown.join(", ")}; use ${known.join(", ")}`);
  process.exit(2);
}
const secret = process.env.JWT_SECRET ?? devVars().JWT_SECRET;
if (!secret) {
  console.error("JWT_SECRET is not set (environment or .dev.vars)");
  process.exit(2);
}
const claims: Record<string, unknown> = {
  sub: values.sub,
  roles,
  exp: Math.floor(Date.now() / 1000) + Number(values.hours) * 3600,
};
if (values["employer-id"]) claims.employerId = values["employer-id"];
if (values["retailer-id"]) claims.retailerId = values["retailer-id"];
console.log(await sign(claims, secret, "HS256"));
