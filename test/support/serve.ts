/**
 * Test support for `vigil serve`: start it as a user would (the built CLI), wait for the address
 * it listens on, and poll for a condition. Every process started is killed by `killAll()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { VIGIL } from '../helpers.js';

export interface Served {
  child: ChildProcess;
  /** http://127.0.0.1:<port> */
  base: string;
  /** stdout and stderr so far */
  log: () => string;
  /** the exit code (128 for a signal) */
  exited: Promise<number>;
}

const children: ChildProcess[] = [];

export function killAll(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
}

/** `vigil serve ...args` in `dir`; resolves once it listens, rejects with its output if it exits first. */
export async function startServe(dir: string, args: string[] = [], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [VIGIL, 'serve', ...args], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  child.stdout!.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (text += b.toString()));
  const exited = new Promise<number>((r) => child.on('exit', (code, sig) => r(code ?? (sig ? 128 : -1))));
  let gone = false;
  void exited.then(() => (gone = true));
  const base = await waitFor(
    () => {
      if (gone) throw new Error(`vigil serve exited before listening:\n${text}`);
      return /listening on (http:\/\/(?:[\d.]+|\[[0-9a-f:]+\]):\d+)/.exec(text)?.[1];
    },
    30_000,
    () => text,
  );
  return { child, base, log: () => text, exited };
}

/** Poll `probe` until it returns something other than undefined/false, or fail after `ms` with `what()`. */
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, ms: number, what: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out; so far:\n${what()}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
