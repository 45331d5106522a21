/**
 * Where a webhook may send (issue #24, finding 6): `https:` to public addresses only, so Tally's
 * deliveries cannot be pointed at a private network or at Tally itself. Address ranges come from
 * ipaddr.js (IANA special-purpose registries), not a hand-kept list.
 */
import ipaddr from "ipaddr.js";

/** The hosts `ALLOW_LOCAL_WEBHOOKS=true` admits, over `http:` or `https:`: a receiver on this machine. */
const LOCAL_RECEIVER_HOSTS = new Set(["127.0.0.1", "localhost"]);

/** Names that only ever mean this machine or a private network, never a public host. */
const PRIVATE_NAME_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa", ".lan"];

/**
 * Why `text` may not be a webhook URL, or undefined when it may. `allowLocal` is the var
 * `ALLOW_LOCAL_WEBHOOKS` being `"true"` (local runs and tests).
 *
 * The hostname is judged by its form: an IP literal in any notation the URL parser accepts
 * (`0x7f.1`, `2130706433`, `[::ffff:127.0.0.1]` all normalise to the address) must be public
 * unicast; a name must not be a local one. A name that resolves to a private address is not
 * caught here — the Worker cannot see the address its `fetch` connects to.
 *
 * @example
 * webhookUrlProblem("https://10.0.0.1/hook", false) // "must not point at a private, loopback, …"
 */
export function webhookUrlProblem(text: string, allowLocal: boolean): string | undefined {
  if (!URL.canParse(text)) return "must be a URL";
  const url = new URL(text);
  if (url.username || url.password) return "must not carry credentials";
  // A trailing dot names the same host (`localhost.`): judge it without.
  const host = url.hostname.replace(/\.$/, "").toLowerCase();
  if (allowLocal && LOCAL_RECEIVER_HOSTS.has(host) && (url.protocol === "http:" || url.protocol === "https:")) return undefined;
  if (url.protocol !== "https:") {
    return allowLocal ? "must be https (plain http only for 127.0.0.1 or localhost)" : "must be https";
  }
  const literal = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (ipaddr.isValid(literal)) {
    let address = ipaddr.parse(literal);
    // ::ffff:10.0.0.1 reaches 10.0.0.1: judge the IPv4 address it carries.
    if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress()) address = (address as ipaddr.IPv6).toIPv4Address();
    const range = address.range();
    if (range !== "unicast") return `must not point at a ${range} address (only public addresses are reached)`;
    return undefined;
  }
  if (host === "localhost" || !host.includes(".") || PRIVATE_NAME_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    return "must not name a local host (only public addresses are reached)";
  }
  return undefined;
}

/** Whether the var admitting local receivers is on. */
export function allowsLocalWebhooks(env: Env): boolean {
  return (env as { ALLOW_LOCAL_WEBHOOKS?: string }).ALLOW_LOCAL_WEBHOOKS === "true";
}
