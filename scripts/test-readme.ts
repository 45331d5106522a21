/**
 * `npm run test:readme`: the walkthroughs as a test. Starts the production-like server (`npm run
 * serve`'s bundle on workerd) on fresh state on port 8787 with the demo data, then runs the ```sh
 * blocks of README.md and of every docs/*.md (in name order), one bash session per file from the
 * repository root — as a reader pasting a guide's blocks one after another into a new terminal, so
 * each guide must stand on its own (its own tokens and ids) — and checks each `# => TEXT` expectation
 * against that command's stdout. `npm run test:readme -- --list` only counts the blocks and
 * expectations of each file, without a server.
 *
 * How the blocks run (the rules the walkthroughs are written to):
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
 * Every failure is printed with its file and line, the command, what was expected and what came out;
 * the exit code is 1 when anything failed.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type RunningServer } from "../bench/support/server.ts";
import { loadDemoData } from "./demo-data.ts";
import { devVars, root } from "./dev-vars.ts";

/** The walkthroughs address the server as `localhost:8787`. */
const PORT = 8787;
/** All the walkthrough sessions together may take this long (the server's start comes on top). */
const SESSION_TIMEOUT_MS = 150_000;
const EXPECT = /\s+# => (.*)$/;

/** One `# => ` promise: file and line, the command as written, the text its stdout must contain. */
interface Expectation {
  id: number;
  file: string;
  line: number;
  command: string;
  expected: string;
}

/** A markdown file with walkthroughs: its path from the repository root and its ```sh blocks. */
interface Guide {
  file: string;
  blocks: { line: number; text: string }[][];
}

/** README.md, then docs/*.md in name order: every file of the repository's documentation that holds a ```sh block. */
function guides(): Guide[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs]
    .map((file) => ({ file, blocks: shellBlocks(readFileSync(join(root, file), "utf8")) }))
    .filter((guide) => guide.blocks.length > 0);
}

/** The ```sh blocks of a markdown file, each line with its line number. */
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

/**
 * The bash script of one file: its lines as written, commands with an expectation wrapped to capture
 * stdout. Expectation ids start after `firstId - 1`, so every file's outputs get names of their own.
 */
function buildScript(guide: Guide, outDir: string, firstId: number): { script: string; expectations: Expectation[]; lineOf: number[] } {
  const { file, blocks } = guide;
  const out: string[] = [];
  const lineOf: number[] = []; // script line (1-based) → line of the markdown file
  const emit = (text: string, fileLine: number) => {
    out.push(text);
    lineOf[out.length] = fileLine;
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
        const id = firstId + expectations.length;
        const output = join(outDir, `${id}.out`);
        const command = lines.map((l) => l.text).join("\n");
        expectations.push({ id, file, line: block[i]!.line, command, expected: expect[1]!.trim() });
        lines.forEach((l, k) => {
          const body = k === lines.length - 1 ? l.text.replace(EXPECT, "") : l.text;
          emit(k === 0 ? `{ ${body}` : body, l.line);
        });
        emit(`} > ${JSON.stringify(output)}; cat ${JSON.stringify(output)}; echo`, block[i]!.line);
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

/** Runs the script in one bash process group for at most `timeoutMs`; resolves with everything it printed. */
function runBash(scriptPath: string, timeoutMs: number): Promise<{ transcript: string; stderr: string; timedOut: boolean }> {
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
    }, Math.max(timeoutMs, 0));
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
  const found = guides();
  const work = mkdtempSync(join(tmpdir(), "tally-readme-"));
  const sessions: { guide: Guide; scriptPath: string; expectations: Expectation[]; lineOf: number[] }[] = [];
  let nextId = 1;
  for (const [index, guide] of found.entries()) {
    const { script, expectations, lineOf } = buildScript(guide, work, nextId);
    nextId += expectations.length;
    const scriptPath = join(work, `session-${index + 1}.sh`);
    writeFileSync(scriptPath, script);
    sessions.push({ guide, scriptPath, expectations, lineOf });
  }
  const blockCount = sessions.reduce((n, s) => n + s.guide.blocks.length, 0);
  const expectations = sessions.flatMap((s) => s.expectations);
  const perFile = sessions.map((s) => `${s.guide.file} ${s.guide.blocks.length}/${s.expectations.length}`).join(", ");
  const counts = `${sessions.length} files, ${blockCount} sh blocks, ${expectations.length} expectations (blocks/expectations: ${perFile})`;

  if (process.argv.includes("--list")) {
    console.log(`test:readme: ${counts}`);
    rmSync(work, { recursive: true, force: true });
    return 0;
  }
  if (await portAnswers()) {
    console.error(`test:readme: something already answers on port ${PORT}; stop it first (the walkthroughs need a fresh server there)`);
    rmSync(work, { recursive: true, force: true });
    return 1;
  }
  const started = Date.now();
  console.log(`test:readme: ${counts}; starting the production-like server on port ${PORT}…`);
  let server: RunningServer | undefined;
  try {
    server = await startServer({ mode: "serve", port: PORT });
    console.log(await loadDemoData(server.url, devVars().JWT_SECRET!));
    console.log(`test:readme: server up and demo data loaded in ${((Date.now() - started) / 1000).toFixed(0)} s; running the walkthroughs…`);
    const session = Date.now();
    const deadline = session + SESSION_TIMEOUT_MS;
    const failures: string[] = [];
    const transcripts: string[] = [];
    for (const { guide, scriptPath, expectations: expected, lineOf } of sessions) {
      const { transcript, stderr, timedOut } = await runBash(scriptPath, deadline - Date.now());
      transcripts.push(`--- ${guide.file} ---\n${transcript.replace(/^__README_ERR__ .*\n/gm, "")}`);
      if (timedOut) failures.push(`${guide.file}: the walkthroughs did not finish within ${SESSION_TIMEOUT_MS / 1000} s in all (killed)`);
      for (const e of expected) {
        const file = join(work, `${e.id}.out`);
        const actual = existsSync(file) ? readFileSync(file, "utf8") : undefined;
        const ok = actual !== undefined && (actual.includes(e.expected) || compact(actual).includes(compact(e.expected)));
        if (!ok) {
          failures.push(
            `${e.file}:${e.line}: expected output containing\n    ${e.expected}\n  command:\n    ${e.command.replaceAll("\n", "\n    ")}\n  got:\n    ${
              actual === undefined ? "(the command never ran)" : actual.trim().replaceAll("\n", "\n    ") || "(nothing)"
            }`,
          );
        }
      }
      for (const match of stderr.matchAll(/^__README_ERR__ (\d+) (\d+)$/gm)) {
        const fileLine = lineOf[Number(match[1])] ?? 0;
        failures.push(`${guide.file}:${fileLine}: a command exited with status ${match[2]}`);
      }
    }
    const seconds = ((Date.now() - session) / 1000).toFixed(0);
    if (failures.length > 0) {
      console.log(`--- transcript of the walkthroughs ---\n${transcripts.join("")}--- end of transcript ---`);
      console.error(`\ntest:readme: ${failures.length} failure(s) in ${seconds} s:\n\n${failures.join("\n\n")}`);
      return 1;
    }
    console.log(`test:readme: all ${expectations.length} expectations of ${blockCount} blocks in ${sessions.length} files held (${seconds} s)`);
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
