/**
 * `npm run test:readme`: README as a test. Starts the production-like server (`npm run serve`'s
 * bundle on workerd) on fresh state on port 8787 with the demo data, runs every ```sh block of
 * README.md in order in ONE bash session from the repository root — as a reader pasting block after
 * block into one terminal — and checks each `# => TEXT` expectation against that command's stdout.
 *
 * How the blocks run (the rules README's walkthroughs are written to):
 * - Without `set -e`, like an interactive shell, so a `grep -q` that misses inside a poll loop does
 *   not end the session. Instead an ERR trap reports every command that exits non-zero where no
 *   condition tests it (a poll's `grep -q … && break` is tested, so it is not reported); each such
 *   command fails the run, like a failed expectation.
 * - A command whose last line ends with `# => TEXT` (a line or several joined by `\`, `|`, `&&`,
 *   `||` or an open quote) has its stdout captured to a numbered file and echoed; the run fails
 *   unless that stdout contains TEXT, compared as written or with whitespace outside double-quoted
 *   strings removed on both sides (so compact JSON matches whatever spacing the server prints).
 * - Background jobs a block starts (`&`) are the block's to stop; whatever is left is killed with
 *   the session's process group, and the server is stopped in every case.
 *
 * Every failure is printed with its README line, the command, what was expected and what came out;
 * the exit code is 1 when anything failed.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type RunningServer } from "../bench/support/server.ts";
import { loadDemoData } from "./demo-data.ts";
import { devVars, root } from "./dev-vars.ts";

/** README walkthroughs address the server as `localhost:8787`. */
const PORT = 8787;
/** The whole walkthrough session may take this long (the server's start comes on top). */
const SESSION_TIMEOUT_MS = 150_000;
const EXPECT = /\s+# => (.*)$/;

/** One `# => ` promise: README line, the command as written, the text its stdout must contain. */
interface Expectation {
  id: number;
  line: number;
  command: string;
  expected: string;
}

/** The ```sh blocks of README, each line with its README line number. */
function shellBlocks(markdown: string): { line: number; text: string }[][] {
  const blocks: { line: number; text: string }[][] = [];
  let current: { line: number; text: string }[] | undefined;
  markdown.split("\n").forEach((text, index) => {
    if (current === undefined) {
      if (text === "```sh") current = [];
      return;
    }
    if (text.startsWith("```")) {
      blocks.push(current);
      current = undefined;
      return;
    }
    current.push({ line: index + 1, text });
  });
  return blocks;
}

/** Quote state after a line: whether a single- or double-quoted string is still open. */
function quoteStateAfter(text: string, open: "'" | '"' | null): "'" | '"' | null {
  let quote = open;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote === "'") {
      if (ch === "'") quote = null;
    } else if (quote === '"') {
      if (ch === "\\") i++;
      else if (ch === '"') quote = null;
    } else if (ch === "\\") i++;
    else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "#" && (i === 0 || /\s/.test(text[i - 1]!))) break; // a comment: the rest is not shell
  }
  return quote;
}

/** Whether the command goes on past this line (an open quote, or a trailing `\`, `|`, `&&`, `||`). */
function continues(text: string, quote: "'" | '"' | null): boolean {
  return quote !== null || /(\\|\||&&)\s*$/.test(text.replace(/\s+#.*$/, ""));
}

/** The bash script: README's lines as written, commands with an expectation wrapped to capture stdout. */
function buildScript(blocks: { line: number; text: string }[][], outDir: string): { script: string; expectations: Expectation[]; lineOf: number[] } {
  const out: string[] = [];
  const lineOf: number[] = []; // script line (1-based) → README line
  const emit = (text: string, readmeLine: number) => {
    out.push(text);
    lineOf[out.length] = readmeLine;
  };
  const expectations: Expectation[] = [];
  emit("__fail() { echo \"__README_ERR__ $1 $2\" >&2; }", 0);
  emit("trap '__fail $LINENO $?' ERR", 0);
  emit(`cd ${JSON.stringify(root)}`, 0);
  for (const block of blocks) {
    let start = 0; // first line of the command being read
    let quote: "'" | '"' | null = null;
    for (let i = 0; i < block.length; i++) {
      const { text } = block[i]!;
      quote = quoteStateAfter(text, quote);
      if (continues(text, quote)) continue;
      const lines = block.slice(start, i + 1);
      const expect = quote === null ? EXPECT.exec(text) : null;
      if (expect) {
        const id = expectations.length + 1;
        const file = join(outDir, `${id}.out`);
        const command = lines.map((l) => l.text).join("\n");
        expectations.push({ id, line: block[i]!.line, command, expected: expect[1]!.trim() });
        lines.forEach((l, k) => {
          const body = k === lines.length - 1 ? l.text.replace(EXPECT, "") : l.text;
          emit(k === 0 ? `{ ${body}` : body, l.line);
        });
        emit(`} > ${JSON.stringify(file)}; cat ${JSON.stringify(file)}; echo`, block[i]!.line);
      } else {
        for (const l of lines) emit(l.text, l.line);
      }
      start = i + 1;
    }
    for (const l of block.slice(start)) emit(l.text, l.line); // an unterminated command: let bash say so
  }
  return { script: `${out.join("\n")}\n`, expectations, lineOf };
}

/** Whitespace outside double-quoted strings removed, so JSON compares by content. */
function compact(text: string): string {
  let result = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      result += ch;
      if (ch === "\\") result += text[++i] ?? "";
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      result += ch;
    } else if (!/\s/.test(ch)) result += ch;
  }
  return result;
}

/** Runs the script in one bash process group; resolves with everything it printed. */
function runBash(scriptPath: string): Promise<{ transcript: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const bash = spawn("bash", ["--noprofile", "--norc", scriptPath], {
      cwd: root,
      detached: true, // its own process group, so background jobs a block leaves behind can be killed with it
      env: { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH ?? ""}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let transcript = "";
    let stderr = "";
    bash.stdout.on("data", (chunk: Buffer) => {
      transcript += chunk.toString();
    });
    bash.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      transcript += chunk.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(bash.pid);
    }, SESSION_TIMEOUT_MS);
    bash.on("exit", () => {
      clearTimeout(timer);
      killGroup(bash.pid); // background jobs a block did not stop
      resolve({ transcript, stderr, timedOut });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    // the group is gone already
  }
}

async function portAnswers(): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${PORT}/health`, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const blocks = shellBlocks(readme);
  const work = mkdtempSync(join(tmpdir(), "tally-readme-"));
  const { script, expectations, lineOf } = buildScript(blocks, work);
  const scriptPath = join(work, "readme.sh");
  writeFileSync(scriptPath, script);

  if (await portAnswers()) {
    console.error(`test:readme: something already answers on port ${PORT}; stop it first (the walkthroughs need a fresh server there)`);
    return 1;
  }
  const started = Date.now();
  console.log(`test:readme: ${blocks.length} sh blocks, ${expectations.length} expectations; starting the production-like server on port ${PORT}…`);
  let server: RunningServer | undefined;
  try {
    server = await startServer({ mode: "serve", port: PORT });
    console.log(await loadDemoData(server.url, devVars().JWT_SECRET!));
    console.log(`test:readme: server up and demo data loaded in ${((Date.now() - started) / 1000).toFixed(0)} s; running the walkthroughs…`);
    const session = Date.now();
    const { transcript, stderr, timedOut } = await runBash(scriptPath);

    const failures: string[] = [];
    if (timedOut) failures.push(`the walkthroughs did not finish within ${SESSION_TIMEOUT_MS / 1000} s (killed)`);
    for (const e of expectations) {
      const file = join(work, `${e.id}.out`);
      const actual = existsSync(file) ? readFileSync(file, "utf8") : undefined;
      const ok = actual !== undefined && (actual.includes(e.expected) || compact(actual).includes(compact(e.expected)));
      if (!ok) {
        failures.push(
          `README.md:${e.line}: expected output containing\n    ${e.expected}\n  command:\n    ${e.command.replaceAll("\n", "\n    ")}\n  got:\n    ${
            actual === undefined ? "(the command never ran)" : actual.trim().replaceAll("\n", "\n    ") || "(nothing)"
          }`,
        );
      }
    }
    for (const match of stderr.matchAll(/^__README_ERR__ (\d+) (\d+)$/gm)) {
      const readmeLine = lineOf[Number(match[1])] ?? 0;
      failures.push(`README.md:${readmeLine}: a command exited with status ${match[2]}`);
    }
    const seconds = ((Date.now() - session) / 1000).toFixed(0);
    if (failures.length > 0) {
      console.log(`--- transcript of the walkthroughs ---\n${transcript.replace(/^__README_ERR__ .*\n/gm, "")}--- end of transcript ---`);
      console.error(`\ntest:readme: ${failures.length} failure(s) in ${seconds} s:\n\n${failures.join("\n\n")}`);
      return 1;
    }
    console.log(`test:readme: all ${expectations.length} expectations of ${blocks.length} blocks held (${seconds} s)`);
    return 0;
  } catch (error) {
    console.error("test:readme:", error);
    return 1;
  } finally {
    const stopping = Date.now();
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
    console.log(`test:readme: server stopped in ${((Date.now() - stopping) / 1000).toFixed(0)} s; ${(performance.now() / 1000).toFixed(0)} s in all`);
  }
}

process.exit(await main());
