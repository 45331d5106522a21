/**
 * Builds the pages into `dist/` (Workers Static Assets, `[assets]` in wrangler.toml): the client code
 * under `ui/` bundled by esbuild with its styles, and Swagger UI's files for `/docs`, all from npm, so
 * the pages load nothing from another host. wrangler runs it before `dev` and `deploy` (`[build]`);
 * `npm test` runs it because the test runtime reads the same `[assets]` directory.
 */
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";

const root = join(import.meta.dirname, "..");
const out = join(root, "dist");
const ui = join(root, "ui");
const swaggerDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

/**
 * Swagger UI's stylesheet draws its icons from `data:` URLs, which a CSP of `'self'` refuses: each becomes a
 * file under /docs/img/ (named by its content's hash) and the stylesheet points at it.
 */
function withImageFiles(css: string): string {
  mkdirSync(join(out, "docs", "img"), { recursive: true });
  return css.replace(/url\((["']?)data:image\/([a-z+]+)(?:;charset=utf-8)?(;base64)?,(.*?)\1\)/g, (_all, _quote, type: string, base64, data: string) => {
    const bytes = base64 ? Buffer.from(data, "base64") : Buffer.from(decodeURIComponent(data.replace(/\\"/g, '"')));
    const name = `${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}.${type === "svg+xml" ? "svg" : type}`;
    writeFileSync(join(out, "docs", "img", name), bytes);
    return `url("/docs/img/${name}")`;
  });
}

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
copyFileSync(join(swaggerDir, "swagger-ui-bundle.js"), join(out, "docs", "swagger-ui-bundle.js"));
writeFileSync(join(out, "docs", "swagger-ui.css"), withImageFiles(readFileSync(join(swaggerDir, "swagger-ui.css"), "utf8")));
console.log("tally: pages built into dist/");
