// git-ot: records this Pi session in the repository's git history
// (refs/opentraces/*), by running `git ot hook pi <event>` with the event
// as JSON on stdin. Written by `git ot install pi`; `git ot uninstall pi`
// removes this file. Where git-ot is not installed it does nothing.
// git-ot-extension-marker
import { execFileSync, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

// The command that runs git-ot: null to find `git-ot` on PATH, else in
// git's exec-path (the two places `git ot` looks).
const RUNNER: string[] | null = null;
// The events handed to git-ot.
const EVENTS = ["session_start", "message_end", "tool_call", "tool_result", "agent_end",
  "session_compact", "session_tree", "model_select", "session_shutdown"];
// Tools that may change files: the agent waits while git-ot snapshots the
// working tree before and after them.
const WRITE_TOOLS = new Set(["write", "edit", "bash"]);
// The longest the agent waits for one call of git-ot.
const WAIT_MS = 30000;

function gitOt(): string[] | null {
  if (RUNNER) return RUNNER;
  // Only absolute PATH entries: a clone cannot plant a git-ot of its own.
  for (const dir of (process.env.PATH || "").split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    try {
      accessSync(join(dir, "git-ot"), constants.X_OK);
      return [join(dir, "git-ot")];
    } catch {}
  }
  try {
    const dir = execFileSync("git", ["--exec-path"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    accessSync(join(dir, "git-ot"), constants.X_OK);
    return [join(dir, "git-ot")];
  } catch {}
  return null;
}

function run(command: string[], event: string, body: string): Promise<void> {
  return new Promise((resolve) => {
    let child: any;
    try {
      child = spawn(command[0], [...command.slice(1), "hook", "pi", event], { stdio: ["pipe", "ignore", "ignore"] });
    } catch {
      resolve();
      return;
    }
    const timer = setTimeout(() => { child.unref(); resolve(); }, WAIT_MS);
    const done = () => { clearTimeout(timer); resolve(); };
    child.on("error", done);
    child.on("close", done);
    child.stdin.on("error", () => {});
    child.stdin.end(body);
  });
}

// Text blocks only: images stay in Pi's session file.
function texts(content: any): any {
  return Array.isArray(content) ? content.filter((b: any) => b && b.type === "text") : content;
}

function model(m: any): any {
  return m ? { provider: m.provider, id: m.id } : undefined;
}

export default async function (pi: any) {
  const command = gitOt();
  if (!command) return;
  let version: string | undefined;
  try {
    version = (await import("@mariozechner/pi-coding-agent")).VERSION;
  } catch {}
  // One call at a time, in the order Pi fired the events: the spool's
  // order is the order steps are folded in.
  let queue: Promise<void> = Promise.resolve();
  const send = (ctx: any, event: any, fields: object): Promise<void> => {
    let body: string;
    try {
      const sm = ctx.sessionManager;
      body = JSON.stringify({
        type: event.type, sessionId: sm.getSessionId(), sessionFile: sm.getSessionFile(),
        cwd: ctx.cwd, model: model(ctx.model), piVersion: version, ...fields,
      });
    } catch {
      return queue;
    }
    queue = queue.then(() => run(command, event.type, body));
    return queue;
  };
  const on = (name: string, handler: (event: any, ctx: any) => any) => {
    if (EVENTS.includes(name)) pi.on(name, handler);
  };
  on("session_start", (e, ctx) => { send(ctx, e, { reason: e.reason, previousSessionFile: e.previousSessionFile }); });
  on("message_end", (e, ctx) => {
    const m = e.message || {};
    const content = texts(m.content);
    if (m.role === "user") {
      send(ctx, e, { message: { role: m.role, content } });
    } else if (m.role === "assistant"
      && (typeof content === "string" ? content : (content || []).map((b: any) => b.text || "").join("")).trim()) {
      send(ctx, e, { message: { role: m.role, content, model: m.model, provider: m.provider, usage: m.usage,
        stopReason: m.stopReason } });
    }
  });
  on("tool_call", async (e, ctx) => {
    const sent = send(ctx, e, { toolName: e.toolName, toolCallId: e.toolCallId, input: e.input });
    if (WRITE_TOOLS.has(e.toolName)) await sent;
  });
  on("tool_result", async (e, ctx) => {
    const sent = send(ctx, e, { toolName: e.toolName, toolCallId: e.toolCallId, input: e.input,
      content: texts(e.content), details: e.details, isError: e.isError });
    if (WRITE_TOOLS.has(e.toolName)) await sent;
  });
  on("agent_end", (e, ctx) => { send(ctx, e, {}); });
  on("session_compact", (e, ctx) => {
    const c = e.compactionEntry || {};
    send(ctx, e, { compactionEntry: { id: c.id, tokensBefore: c.tokensBefore, firstKeptEntryId: c.firstKeptEntryId },
      fromExtension: e.fromExtension });
  });
  on("session_tree", (e, ctx) => {
    send(ctx, e, { newLeafId: e.newLeafId, oldLeafId: e.oldLeafId, fromExtension: e.fromExtension });
  });
  on("model_select", (e, ctx) => {
    send(ctx, e, { model: model(e.model), previousModel: model(e.previousModel), source: e.source });
  });
  // Pi exits after this: everything sent must be in, and the session sealed.
  on("session_shutdown", async (e, ctx) => { await send(ctx, e, { reason: e.reason }); });
}
