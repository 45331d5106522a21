// The Worker's three layers, checked by `npm run lint` (and so by .ci/run):
//   workers/          may import durable-objects/ and shared/
//   durable-objects/  may import shared/ only
//   shared/           imports nothing of ours
// A type-only import (`import type`) may point anywhere: it is erased before the code runs, so it
// neither loads a module nor closes a cycle at run time (stub.ts files import their class this way).
/** @type {import("dependency-cruiser").IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "objects-import-only-shared",
      severity: "error",
      comment: "A Durable Object imports only shared/ (and other objects' stub.ts); move what it needs from workers/ into shared/.",
      from: { path: "^durable-objects/" },
      to: { path: "^(workers|test|scripts|bench|ui|client)/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "shared-imports-nothing-of-ours",
      severity: "error",
      comment: "shared/ is the bottom layer: it imports no workers/, durable-objects/ or other project code.",
      from: { path: "^shared/" },
      to: { path: "^(workers|durable-objects|test|scripts|bench|ui|client)/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "workers-import-no-tooling",
      severity: "error",
      comment: "The Worker ships what workers/ imports: tests, scripts and benchmarks stay out of it.",
      from: { path: "^workers/" },
      to: { path: "^(test|scripts|bench)/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "no-cycles",
      severity: "error",
      comment: "Modules import one way; a cycle (not counting type-only imports) means a helper belongs lower down, e.g. a stub in its own stub.ts.",
      from: { path: "^(workers|durable-objects|shared)/" },
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
    {
      name: "resolvable",
      severity: "error",
      comment: "An import of ours that does not resolve to a file (a moved or misspelt path).",
      from: { path: "^(workers|durable-objects|shared)/" },
      to: { couldNotResolve: true, pathNot: "^cloudflare:" },
    },
  ],
  options: {
    // Packages are leaves: their own imports are not crawled.
    doNotFollow: { path: "node_modules" },
    // Type-only imports are kept (and marked "type-only") so the rules above can allow them.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    // Resolve packages' subpath exports (`hono/cors`) the way the bundler does.
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["workerd", "worker", "import", "types", "default"] },
    exclude: { path: "\\.d\\.ts$" },
  },
};
