import { dereference, validate, type Schema } from "@cfworker/json-schema";
import { exports } from "cloudflare:workers";

/** The parts of an OpenAPI 3.1 document the checks below read. */
interface MediaType {
  schema?: Schema;
}
interface ResponseObject {
  content?: Record<string, MediaType>;
}
export interface Operation {
  operationId?: string;
  summary?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, ResponseObject>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** Paths the Worker serves that are not API operations: the document itself and its viewer. */
const NOT_OPERATIONS = new Set(["/openapi.json", "/docs"]);

interface Route {
  template: string;
  pattern: RegExp;
  literalSegments: number;
  operations: Record<string, Operation>;
}

interface Contract {
  document: OpenApiDocument;
  routes: Route[];
  lookup: Record<string, Schema | boolean>;
}

let contract: Promise<Contract> | undefined;

/** The document /openapi.json serves, read once per test file through the Worker itself. */
export async function openApiDocument(): Promise<OpenApiDocument> {
  return (await loadContract()).document;
}

function loadContract(): Promise<Contract> {
  contract ??= (async () => {
    const response = await exports.default.fetch(new Request("https://tally.test/openapi.json"));
    if (response.status !== 200) throw new Error(`/openapi.json answered ${response.status}`);
    const document = (await response.json()) as OpenApiDocument;
    const routes = Object.entries(document.paths).map(([template, item]) => {
      const segments = template.split("/");
      const source = segments.map((s) => (/^\{.+\}$/.test(s) ? "[^/]+" : s.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))).join("/");
      const operations = Object.fromEntries(Object.entries(item).filter(([method]) => METHODS.includes(method)));
      return { template, pattern: new RegExp(`^${source}$`), literalSegments: segments.filter((s) => !s.startsWith("{")).length, operations };
    });
    // A literal segment beats a parameter, as in the routers: `/campaigns/active` before `/campaigns/{campaignId}`.
    routes.sort((a, b) => b.literalSegments - a.literalSegments);
    // One lookup over the whole document, so `#/components/schemas/...` references resolve.
    // @cfworker/json-schema interprets schemas without generating code: workerd refuses `new Function`.
    const lookup = dereference(document as unknown as Schema);
    return { document, routes, lookup };
  })();
  return contract;
}

/**
 * Fails unless the document declares `response` for this request: an operation for the method and
 * path, the status among its responses, the content type among that status's media types, and
 * the body valid against its schema. A request no operation matches may only be refused with a
 * 404 or 405 problem. OPTIONS (CORS preflight) and HEAD are not operations of their own.
 *
 * @example
 * await expectDeclaredResponse("GET", "/records/top/10/7", await app.fetch(request));
 */
export async function expectDeclaredResponse(method: string, url: string, response: Response): Promise<void> {
  const lower = method.toLowerCase();
  const path = new URL(url, "https://tally.test").pathname;
  if (lower === "options" || lower === "head" || NOT_OPERATIONS.has(path)) return;
  const { document, routes, lookup } = await loadContract();
  const where = `${method.toUpperCase()} ${path} → ${response.status}`;
  const route = routes.find((r) => r.pattern.test(path) && r.operations[lower]);
  if (!route) {
    if (response.status !== 404 && response.status !== 405) {
      throw new Error(`${where}: no operation in /openapi.json matches this request`);
    }
    const problem = document.components!.schemas!.Problem!;
    await expectBody(where, lookup, { content: { "application/problem+json": { schema: problem } } }, response);
    return;
  }
  const operation = route.operations[lower]!;
  const declared = operation.responses[String(response.status)] ?? operation.responses[`${String(response.status)[0]}XX`] ?? operation.responses.default;
  if (!declared) {
    throw new Error(
      `${where}: ${operation.operationId ?? route.template} declares only ${Object.keys(operation.responses).join(", ")}`,
    );
  }
  if (response.status === 101) return;
  await expectBody(`${where} (${operation.operationId})`, lookup, declared, response);
}

async function expectBody(where: string, lookup: Record<string, Schema | boolean>, declared: ResponseObject, response: Response): Promise<void> {
  const text = await response.clone().text();
  const contentType = response.headers.get("content-type")?.split(";")[0]?.trim() ?? "";
  if (!declared.content) {
    if (text) throw new Error(`${where}: a body (${contentType}) where the document declares none`);
    return;
  }
  const media = declared.content[contentType];
  if (!media) {
    throw new Error(`${where}: content type "${contentType}", the document declares ${Object.keys(declared.content).join(", ")}`);
  }
  if (!media.schema) return;
  // A JSON media type is parsed; any other (CSV) is checked as the string it is.
  let body: unknown = text;
  if (/json$/.test(contentType)) {
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${where}: the body is not JSON: ${text.slice(0, 200)}`);
    }
  }
  // The schema object is the one inside the validated document, so its references resolve in the lookup.
  const result = validate(body, media.schema, "2020-12", lookup, false);
  if (!result.valid) {
    const errors = result.errors.map((e) => `${e.instanceLocation}: ${e.error}`);
    throw new Error(`${where}: the body does not match the document:\n  ${errors.join("\n  ")}\nbody: ${text.slice(0, 2000)}`);
  }
}
