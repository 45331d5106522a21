import { SignJWT, exportJWK, generateKeyPair, type JWK } from "jose";
import { sign } from "hono/jwt";
import { env } from "cloudflare:workers";

const base64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** An unsigned token (`alg: none`) with an admin's claims: must never be accepted. */
export function noneToken(claims: Record<string, unknown> = { sub: "1", roles: ["admin"], exp: inAnHour() }): string {
  return `${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims)}.`;
}

/** An HS256 token under the right secret, with exactly the claims given (no `exp` unless passed). */
export function hs256(claims: Record<string, unknown>): Promise<string> {
  return sign(claims, env.JWT_SECRET, "HS256");
}

/** An admin token that expired a minute ago. */
export function expiredToken(): Promise<string> {
  return hs256({ sub: "1", roles: ["admin"], exp: Math.floor(Date.now() / 1000) - 60 });
}

/** A key pair of an identity provider, made in the test, and its public JWK with a `kid`. */
export async function identityProvider(alg: "RS256" | "ES256", kid: string) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  const issue = (claims: Record<string, unknown>, options: { issuer?: string; audience?: string | string[]; exp?: number | null } = {}) => {
    let jwt = new SignJWT(claims).setProtectedHeader({ alg, kid }).setIssuedAt();
    if (options.issuer) jwt = jwt.setIssuer(options.issuer);
    if (options.audience) jwt = jwt.setAudience(options.audience);
    if (options.exp !== null) jwt = jwt.setExpirationTime(options.exp ?? inAnHour());
    return jwt.sign(privateKey);
  };
  return { jwk, issue, publicKey };
}

/** An admin token of an issuer Tally does not trust. */
export async function wrongIssuerToken(): Promise<string> {
  const idp = await identityProvider("RS256", "evil-1");
  return idp.issue({ sub: "1", roles: ["admin"] }, { issuer: "https://evil.test", audience: "tally" });
}
