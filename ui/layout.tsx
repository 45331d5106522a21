/** The frame every page shares: navigation, the sign-in box, and the message boxes. */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { decodeClaims, setToken, useSession } from "./session.ts";

/** A message a person must see: an error (role=alert) or a status line (role=status). */
export function Notice({ kind, children }: { kind: "error" | "info"; children: ComponentChildren }) {
  return <p class={`notice ${kind}`} role={kind === "error" ? "alert" : "status"}>{children}</p>;
}

/** The sign-in box: paste a bearer token (kept for this tab only); shows who it names and their roles. */
export function SignIn() {
  const session = useSession();
  const [text, setText] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  if (session.token) {
    const { sub, roles, employerId, exp } = session.claims ?? {};
    const expired = exp !== undefined && exp * 1000 < Date.now();
    return (
      <section class="signin" aria-label="Signed in">
        <p data-testid="signed-in">
          Signed in as <strong>{sub ?? "?"}</strong> ({roles?.join(", ") || "no roles"}
          {employerId ? `, employer ${employerId}` : ""}){expired ? " — this token has expired" : ""}
        </p>
        <button type="button" onClick={() => setToken(null)}>Sign out</button>
      </section>
    );
  }
  return (
    <form
      class="signin"
      aria-label="Sign in"
      onSubmit={(event) => {
        event.preventDefault();
        const token = text.trim();
        if (!decodeClaims(token)) return setProblem("That is not a JWT (three dot-separated parts). Mint one with npm run token.");
        setProblem(null);
        setText("");
        setToken(token);
      }}
    >
      <label for="token">Bearer token</label>
      <input id="token" name="token" type="password" autocomplete="off" value={text} onInput={(e) => setText(e.currentTarget.value)} placeholder="paste a JWT" />
      <button type="submit">Sign in</button>
      {problem && <Notice kind="error">{problem}</Notice>}
    </form>
  );
}

/** Navigation, sign-in, then the page under its heading. */
export function Layout({ title, children }: { title: string; children: ComponentChildren }) {
  document.title = `${title} · Tally`;
  return (
    <>
      <header>
        <nav aria-label="Pages">
          <a href="/ui/" class="brand">Tally</a>
          <a href="/ui/analytics">Analytics</a>
          <a href="/ui/connections">Connections</a>
          <a href="/ui/status">Status</a>
          <a href="/docs">API docs</a>
        </nav>
        <SignIn />
      </header>
      <main>
        <h1>{title}</h1>
        {children}
      </main>
    </>
  );
}
