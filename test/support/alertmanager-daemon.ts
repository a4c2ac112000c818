/**
 * The real Alertmanager daemon on 127.0.0.1, for the differential tests (inhibition and silences,
 * notification timing): started on a free port, known to be the one answering, and stopped
 * without hanging. One place for what both tests need (was: each spawned its own, and a daemon
 * that did not start, or had already ended, could leave a test waiting until its timeout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../src/free-port.js';

export const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

export interface AlertmanagerDaemon {
  proc: ChildProcess;
  /** http://127.0.0.1:<port> */
  base: string;
  /** what it printed so far */
  log(): string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ended = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;

/**
 * Starts the daemon with `args` (besides the address) and waits until it answers. The port is
 * free when asked for, but another test's server may take it before the daemon binds it: a daemon
 * that ends (it cannot bind) is started again on another port, and the one answering must be still
 * running (an answer from another test's daemon on that port is not taken for its own).
 */
export async function startAlertmanagerDaemon(args: string[], tries = 3): Promise<AlertmanagerDaemon> {
  let log = '';
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const proc = spawn(ALERTMANAGER, [...args, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (d) => (log += String(d)));
    proc.stderr?.on('data', (d) => (log += String(d)));
    const daemon: AlertmanagerDaemon = { proc, base, log: () => log, stop: () => stopDaemon(proc) };
    // (up to 30 s: a loaded CI machine)
    for (let i = 0; i < 300 && !ended(proc); i++) {
      try {
        if ((await fetch(`${base}/-/ready`, { signal: AbortSignal.timeout(2000) })).ok) break;
      } catch {
        /* not up yet */
      }
      await sleep(100);
    }
    // (a moment more: a daemon that could not bind ends at once, but another one may have answered first)
    await sleep(150);
    if (!ended(proc)) {
      try {
        if ((await fetch(`${base}/-/ready`, { signal: AbortSignal.timeout(2000) })).ok) return daemon;
      } catch {
        /* not answering */
      }
    }
    await stopDaemon(proc);
    if (attempt >= tries) throw new Error(`Alertmanager did not start (${attempt} attempts):\n${log.slice(-3000)}`);
  }
}

/** SIGTERM, then SIGKILL after 10 s; never waits for an exit that already happened. */
async function stopDaemon(proc: ChildProcess): Promise<void> {
  if (ended(proc)) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}
