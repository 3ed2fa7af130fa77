// git-ot: records this Pi session in the repository's git history
// (refs/opentraces/*), by running `git ot hook pi <event>` with the event
// as JSON on stdin. Written by `git ot install pi`; `git ot uninstall pi`
// removes this file. Where git-ot is not installed it does nothing.
// git-ot-extension-marker
import { execFileSync, spawn } from "node:child_process";
import { accessSync, constants, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, isAbsolute, join, resolve } from "node:path";

// The command that runs git-ot: null to find `git-ot` on PATH, else in
// git's exec-path (the two places `git ot` looks).
const RUNNER: string[] | null = null;
// The events handed to git-ot.
const EVENTS = ["session_start", "message_end", "tool_call", "tool_result", "agent_end",
  "session_compact", "session_tree", "model_select", "session_shutdown"];
// Tools that may change files. Around bash the agent waits while git-ot
// snapshots the working tree; write and edit change the one file their
// input names, which is read here before and after the tool (FILE_TOOLS).
const WRITE_TOOLS = new Set(["write", "edit", "bash"]);
const FILE_TOOLS = new Set(["write", "edit"]);
// The largest file read here; a larger one (or one that is not UTF-8
// text) is left to git-ot's snapshots, as bash is.
const FILE_LIMIT = 1 << 20;
// The longest the agent waits for one call of git-ot.
const WAIT_MS = 30000;

// readsOnly: begin
// Whether a bash command only reads: git-ot's rules (git_ot/capture/readonly.py),
// which its tests hold this function to. Such a call needs no snapshot: it
// goes to the inbox as the read tools do. (Plain JavaScript, for the tests.)
const READERS = ["cat", "head", "tail", "wc", "nl", "ls", "pwd", "grep", "rg"];
function readsOnly(command) {
  if (typeof command !== "string" || command.length === 0 || command.length > 1000) return false;
  if (!/^[A-Za-z0-9 ._\/=:,+@%'-]+$/.test(command)) return false;
  if (command.includes("--pre") || command.includes("--hostname-bin")) return false;
  if (READERS.includes(command.split(" ")[0])) return true;
  const sed = "sed -n '";
  if (!command.startsWith(sed)) return false;
  const rest = command.slice(sed.length);
  const at = rest.indexOf("p' ");
  if (at < 0) return false;
  const script = rest.slice(0, at), files = rest.slice(at + 3);
  return /^[0-9,]+$/.test(script) && !(" " + files).includes(" -") && !files.includes("'-");
}
// readsOnly: end

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

function git(cwd: string, args: string[]): string | null {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

// The repository's inbox (git-ot's store/inbox.py), by working directory:
// events that need no look at the working tree are left there as files,
// with no process started; null where git-ot keeps no state.
// (The first git-ot run makes the inbox: looked for again at each event.)
const commons = new Map<string, string | null>();
function inbox(cwd: string): string | null {
  if (!commons.has(cwd)) commons.set(cwd, git(cwd, ["rev-parse", "--path-format=absolute", "--git-common-dir"]));
  const common = commons.get(cwd);
  if (!common) return null;
  const dir = join(common, "opentraces", "inbox");
  try {
    return statSync(dir).isDirectory() ? dir : null;
  } catch {
    return null;
  }
}

// Arrival times in nanoseconds, increasing within this process.
let last = 0n;
function now(): bigint {
  let t = BigInt(Date.now()) * 1000000n;
  if (t <= last) t = last + 1n;
  last = t;
  return t;
}

function leave(dir: string, event: string, body: string): boolean {
  const path = join(dir, `${now()}.${process.pid}.pi.${event}.json`);
  try {
    writeFileSync(path + ".tmp", body);
    renameSync(path + ".tmp", path);
    return true;
  } catch {
    return false;
  }
}

function drain(command: string[]): void {
  try {
    spawn(command[0], [...command.slice(1), "hook", "drain"], { stdio: "ignore", detached: true }).unref();
  } catch {}
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

// The file a write or edit call names, as Pi's tools resolve it
// (path-utils resolveToCwd: a leading "@" dropped, Unicode spaces as
// spaces, "~" as the home directory, relative to the session's cwd).
function toolPath(input: any, cwd: string): string | null {
  const raw = input && typeof input.path === "string" ? input.path : null;
  if (!raw) return null;
  let p = (raw.startsWith("@") ? raw.slice(1) : raw).replace(/[\u00A0\u2000-\u200A\u202F\u205F\u3000]/g, " ");
  if (p === "~") p = homedir();
  else if (p.startsWith("~/")) p = homedir() + p.slice(1);
  return isAbsolute(p) ? p : resolve(cwd, p);
}

// A file's text now: null when it does not exist, undefined when it cannot
// be read here (not a regular file, too large, not UTF-8).
const utf8 = new TextDecoder("utf-8", { fatal: true });
function readText(path: string, limit = FILE_LIMIT): string | null | undefined {
  let st;
  try {
    st = statSync(path);
  } catch (e: any) {
    return e && e.code === "ENOENT" ? null : undefined;
  }
  if (!st.isFile() || st.size > limit) return undefined;
  try {
    return utf8.decode(readFileSync(path));
  } catch {
    return undefined;
  }
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
  // `live`: the working tree must be seen now (a snapshot), so git-ot runs;
  // otherwise the event goes to the inbox, and `ends` starts the drain
  // that spools it and seals (a turn's or the session's end).
  const send = (ctx: any, event: any, fields: object, live = false, ends = false): Promise<void> => {
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
    const dir = live ? null : inbox(ctx.cwd);
    if (dir) {
      // After the calls still running, whose events came first.
      queue = queue.then(() => {
        if (!leave(dir, event.type, body)) return run(command, event.type, body);
        if (ends) drain(command);
      });
    } else {
      queue = queue.then(() => run(command, event.type, body));
    }
    return queue;
  };
  const on = (name: string, handler: (event: any, ctx: any) => any) => {
    if (EVENTS.includes(name)) pi.on(name, handler);
  };
  on("session_start", (e, ctx) => {
    // The commit and branch it starts from, looked at now.
    const commit = git(ctx.cwd, ["rev-parse", "-q", "--verify", "HEAD"]);
    const ref = git(ctx.cwd, ["symbolic-ref", "-q", "HEAD"]);
    const gitHead = { commit, branch: ref && ref.startsWith("refs/heads/") ? ref.slice(11) : null };
    send(ctx, e, { reason: e.reason, previousSessionFile: e.previousSessionFile, gitHead });
  });
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
  // A write or edit call's file before it ran, by call id, read in the
  // tool_call handler, which Pi awaits before the tool runs.
  const before = new Map<string, { path: string; text: string | null }>();
  on("tool_call", async (e, ctx) => {
    let live = WRITE_TOOLS.has(e.toolName)
      && !(e.toolName === "bash" && readsOnly(e.input && e.input.command) && inbox(ctx.cwd));
    const content = e.input && e.input.content;
    if (FILE_TOOLS.has(e.toolName)
        && !(typeof content === "string" && Buffer.byteLength(content) > FILE_LIMIT)) {
      const path = toolPath(e.input, ctx.cwd);
      const text = path ? readText(path) : undefined;
      // Without the inbox git-ot runs now, and snapshots as for bash.
      if (path && text !== undefined && inbox(ctx.cwd)) {
        before.set(e.toolCallId, { path, text });
        live = false;
      }
    }
    const sent = send(ctx, e, { toolName: e.toolName, toolCallId: e.toolCallId, input: e.input }, live);
    if (live) await sent;
  });
  on("tool_result", async (e, ctx) => {
    let live = WRITE_TOOLS.has(e.toolName)
      && !(e.toolName === "bash" && readsOnly(e.input && e.input.command) && inbox(ctx.cwd));
    const fields: any = { toolName: e.toolName, toolCallId: e.toolCallId, input: e.input,
      content: texts(e.content), details: e.details, isError: e.isError };
    const was = before.get(e.toolCallId);
    if (was) {
      before.delete(e.toolCallId);
      // The file before and after: git-ot makes the step's patch and states
      // of them, with no snapshot of the working tree. An edit may have
      // grown it: a larger limit here. Unreadable now (not UTF-8, grown
      // past it), the call has no states, and its lines are no one's.
      const text = readText(was.path, 4 * FILE_LIMIT);
      if (text !== undefined) fields.files = [{ path: was.path, before: was.text, after: text }];
      live = !inbox(ctx.cwd);
    }
    const sent = send(ctx, e, fields, live);
    if (live) await sent;
  });
  on("agent_end", (e, ctx) => { send(ctx, e, {}, false, true); });
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
  // Pi exits after this: everything sent must be in (spooled, or in the
  // inbox with the drain that seals it started).
  on("session_shutdown", async (e, ctx) => { await send(ctx, e, { reason: e.reason }, false, true); });
}
