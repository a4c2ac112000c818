/**
 * The test side of the command host (test/support/cli-host.mjs): runs a `vigil` command in the
 * worker's long-lived host and waits for its answer synchronously, as spawnSync would, so that
 * vigil() keeps its synchronous signature. The wait sleeps 1–5 ms at a time (Atomics.wait); a
 * host that died, or a command past its timeout (the host is then killed), answers like a
 * process that did: code -1 and a line on stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOST = join(dirname(fileURLToPath(import.meta.url)), 'cli-host.mjs');

export interface HostResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Host {
  child: ChildProcess;
  dir: string;
  n: number;
  /** a command was handed over and its answer not read yet */
  busy?: boolean;
}

// one host per worker process, also when (isolate: false) this module is loaded again
const g = globalThis as { __vigilCliHost?: Host };

/** Hosts this process started: killed and their folders removed when it exits. */
const started = new Set<Host>();
let cleanupInstalled = false;

function start(): Host {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-host-'));
  const log = openSync(join(dir, 'host.log'), 'a');
  const child = spawn(process.execPath, [HOST, dir], { stdio: ['ignore', log, log, 'ipc'], env: process.env });
  closeSync(log);
  child.unref();
  (child.channel as { unref?: () => void } | undefined)?.unref?.();
  const host = { child, dir, n: 0 };
  started.add(host);
  if (!cleanupInstalled) {
    cleanupInstalled = true;
    process.once('exit', () => {
      for (const h of started) {
        h.child.kill('SIGKILL');
        rmSync(h.dir, { recursive: true, force: true });
      }
    });
  }
  return host;
}

/** The worker's host, a new one when there is none or it has died since its last answer. */
function host(): Host {
  const h = g.__vigilCliHost;
  if (h && h.child.exitCode === null && h.child.signalCode === null && alive(h.child.pid!)) return h;
  return (g.__vigilCliHost = start());
}

/** The worker's host process, if one runs. */
export function hostPid(): number | undefined {
  return g.__vigilCliHost?.child.pid;
}

/** Whether the process still runs (a zombie — exited, not yet reaped by this blocked thread — does not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && process.platform === 'linux') return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Whether the worker's host is running a command now (another one must then be a process). */
export function hostBusy(): boolean {
  return g.__vigilCliHost?.busy === true;
}

/** Hands the request to the host; then each poll() answers the result, or undefined while it runs. */
function ask(cwd: string, args: string[], env: Record<string, string>, timeoutMs: number, resent = false): { poll: (i: number) => HostResult | undefined } {
  const h = host();
  const n = ++h.n;
  const req = join(h.dir, `req-${n}.json`);
  writeFileSync(`${req}.tmp`, JSON.stringify({ cwd, args, env }));
  renameSync(`${req}.tmp`, req);
  h.busy = true;
  const res = join(h.dir, `res-${n}.json`);
  const deadline = Date.now() + timeoutMs;
  const answer = (): HostResult | undefined => {
    let text: string;
    try {
      text = readFileSync(res, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    unlinkSync(res);
    const r = JSON.parse(text) as HostResult & { restart?: boolean };
    if (r.restart && g.__vigilCliHost === h) g.__vigilCliHost = undefined;
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  };
  let next: ((i: number) => HostResult | undefined) | undefined;
  const poll = (i: number): HostResult | undefined => {
    if (next) return next(i);
    try {
      const r = answer();
      if (r) {
        h.busy = false;
        return r;
      }
      if (i % 50 !== 49) return undefined;
      const dead = !alive(h.child.pid!);
      if (!dead && Date.now() <= deadline) return undefined;
      // it may have answered just before it ended (a host replaced past its memory limit)
      const last = answer();
      if (last) {
        h.busy = false;
        return last;
      }
      if (!dead) h.child.kill('SIGKILL');
      h.busy = false;
      if (g.__vigilCliHost === h) g.__vigilCliHost = undefined;
      // a host that died before it took the command up: the command goes to a new one, once
      if (dead && existsSync(req) && !resent) {
        next = ask(cwd, args, env, Math.max(1, deadline - Date.now()), true).poll;
        return undefined;
      }
      let log = '';
      try {
        log = readFileSync(join(h.dir, 'host.log'), 'utf8');
      } catch {
        // no log
      }
      return { code: -1, stdout: '', stderr: `vigil test host ${dead ? 'died' : `killed after ${timeoutMs} ms`} running vigil ${args.join(' ')}\n${log}` };
    } catch (e) {
      h.busy = false;
      if (g.__vigilCliHost === h) g.__vigilCliHost = undefined;
      throw e;
    }
  };
  return { poll };
}

/** Runs `vigil <args>` in the host, in `cwd`, with exactly `env`; waits at most `timeoutMs`, blocking this thread. */
export function runInHost(cwd: string, args: string[], env: Record<string, string>, timeoutMs: number): HostResult {
  const { poll } = ask(cwd, args, env, timeoutMs);
  for (let i = 0; ; i++) {
    const r = poll(i);
    if (r) return r;
    Atomics.wait(sleeper, 0, 0, i < 100 ? 1 : 5);
  }
}

/** runInHost() without blocking: servers of this process answer the command meanwhile. */
export async function runInHostAsync(cwd: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<HostResult> {
  const { poll } = ask(cwd, args, env, timeoutMs);
  for (let i = 0; ; i++) {
    const r = poll(i);
    if (r) return r;
    await new Promise((resolve) => setTimeout(resolve, i < 100 ? 1 : 5));
  }
}
