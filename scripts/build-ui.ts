/**
 * Builds the pages into `dist/` (Workers Static Assets, `[assets]` in wrangler.toml): the client code
 * under `ui/` bundled by esbuild with its styles, and Swagger UI's files for `/docs`, all from npm, so
 * the pages load nothing from another host. wrangler runs it before `dev` and `deploy` (`[build]`);
 * `npm test` runs it because the test runtime reads the same `[assets]` directory.
 */
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";

const root = join(import.meta.dirname, "..");
const out = join(root, "dist");
const ui = join(root, "ui");
const swaggerDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "ui"), { recursive: true });
mkdirSync(join(out, "docs"), { recursive: true });

await build({
  entryPoints: { "ui/app": join(ui, "main.tsx"), "docs/docs": join(ui, "docs.ts") },
  outdir: out,
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  jsx: "automatic",
  jsxImportSource: "preact",
  logLevel: "warning",
});
copyFileSync(join(ui, "index.html"), join(out, "ui", "index.html"));
copyFileSync(join(ui, "docs.html"), join(out, "docs", "index.html"));
copyFileSync(join(ui, "favicon.svg"), join(out, "ui", "favicon.svg"));
copyFileSync(join(ui, "docs.css"), join(out, "docs", "docs.css"));
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) copyFileSync(join(swaggerDir, file), join(out, "docs", file));
console.log("tally: pages built into dist/");
