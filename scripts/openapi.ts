/**
 * `node scripts/openapi.ts [FILE]`: writes the OpenAPI document the Worker serves at /openapi.json
 * (to FILE, else stdout) without starting a server — it imports the app under Node and asks it for
 * the document, which is what `npm run lint:api` and `npm run api:client` read.
 */
import { registerHooks } from "node:module";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { root } from "./dev-vars.ts";

// The Durable Object classes extend `DurableObject` from the workerd-only module `cloudflare:workers`;
// building the document never instantiates them, so an empty base class stands in for it here.
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === "cloudflare:workers") {
      return { url: "data:text/javascript,export class DurableObject {}", shortCircuit: true };
    }
    return nextResolve(specifier, context);
  },
});

interface DocumentSource {
  app: { getOpenAPI31Document(config: unknown): unknown };
  openApiConfig: unknown;
}

/** The document /openapi.json serves, built from the route schemas. */
export async function openApiDocument(): Promise<unknown> {
  // Imported by URL so the Node type check does not follow it into the Worker's sources (typed for workerd).
  const { app, openApiConfig } = (await import(pathToFileURL(join(root, "workers", "app.ts")).href)) as DocumentSource;
  return app.getOpenAPI31Document(openApiConfig);
}

if (import.meta.main) {
  const text = `${JSON.stringify(await openApiDocument(), null, 2)}\n`;
  const file = process.argv[2];
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  else process.stdout.write(text);
}
