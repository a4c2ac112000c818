/**
 * serve's job leases on a real DuckDB (the same compare-and-set documents as on Postgres and
 * BigQuery): one claim per slot, a live holder keeps the job, an abandoned run gives its slot
 * back, and a holder recorded by an earlier process with this very host and pid (a restarted
 * container) holds nothing. Stream leases: a sync job holds the streams it syncs, and another
 * job (another serve's) waits for them, or gives its run back when they stay held; waiting only
 * reads, and a failure midway leaves none of them held.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { HOST_NS, leaseLive, PROC_START, procStart, processGone, PROCESS_STARTED, setSingleHost } from '../../src/run/cas-document.js';
import { JobLeases, LEASE_TABLE, leaseLost, type LeaseDoc } from '../../src/serve/lease.js';

let db: DuckDbAdapter;
beforeAll(async () => {
  db = await DuckDbAdapter.open({ type: 'duckdb', path: ':memory:', schema: 'analytics' }, '.', 1);
});
afterAll(async () => {
  await db?.close();
});

const doc = async (job: string): Promise<LeaseDoc> => JSON.parse(String((await db.query<{ body: string }>(`select body from analytics.${LEASE_TABLE} where id = $1`, [`job:${job}`]))[0].body));
const slot = (iso: string) => new Date(iso);

/** A process stopped by SIGSTOP (its pid, and its procStart read while it ran) for `check`; killed after. */
async function whileStopped(check: (pid: number, start: string | undefined) => void | Promise<void>): Promise<void> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 200));
    const start = procStart(child.pid!);
    expect(start).toMatch(/^\d+$/);
    child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 200));
    await check(child.pid!, start);
  } finally {
    child.kill('SIGKILL');
  }
}

describe('job leases', () => {
  it('one claim per slot; the holder keeps the job; release records how it ended', async () => {
    const a = new JobLeases('analytics', 60_000);
    const b = new JobLeases('analytics', 60_000);
    expect(await a.claim(db, 'j1', slot('2026-12-02T05:00:00Z'))).toEqual({ ok: true });
    const busy = await b.claim(db, 'j1', slot('2026-12-02T05:05:00Z'));
    expect(busy.ok).toBe(false);
    expect(busy.ok ? '' : busy.why).toMatch(/^running on .* \(pid \d+\) since /);
    expect(await a.release(db, 'j1', 'success')).toBe(true);
    const again = await b.claim(db, 'j1', slot('2026-12-02T05:00:00Z'));
    expect(again.ok ? '' : again.why).toMatch(/the run for 2026-12-02T05:00:00\.000Z was already claimed \(.*: success\)/);
    expect(await b.claim(db, 'j1', slot('2026-12-02T05:05:00Z'))).toEqual({ ok: true });
    expect(await a.release(db, 'j1', 'error', 'not mine')).toBe(false); // only the holder releases
  });

  it('an abandoned run gives its slot back, so the same slot can be claimed again', async () => {
    const a = new JobLeases('analytics', 60_000);
    expect(await a.claim(db, 'j2', slot('2026-12-02T09:00:00Z'))).toEqual({ ok: true });
    expect(await a.release(db, 'j2', 'success')).toBe(true);
    expect(await a.claim(db, 'j2', slot('2026-12-03T09:00:00Z'))).toEqual({ ok: true });
    expect(await a.release(db, 'j2', 'abandoned', 'SIGTERM')).toBe(true);
    const d = await doc('j2');
    expect(d.slot).toBe('2026-12-02T09:00:00.000Z');
    expect(d.last).toMatchObject({ status: 'abandoned', message: 'SIGTERM' });
    expect(await new JobLeases('analytics', 60_000).claim(db, 'j2', slot('2026-12-03T09:00:00Z'))).toEqual({ ok: true });
  });

  it('a holder with this host and pid but another start time is a process that is gone', async () => {
    const until = new Date(Date.now() + 60_000).toISOString();
    expect(leaseLive({ host: hostname(), pid: process.pid, started: PROCESS_STARTED, until })).toBe(true);
    expect(leaseLive({ host: hostname(), pid: process.pid, started: '2000-01-01T00:00:00.000Z', until })).toBe(false);
    expect(leaseLive({ host: hostname(), pid: process.pid, until })).toBe(true); // (recorded before start times were)
    expect(leaseLive({ host: 'elsewhere', pid: 1, started: '2000-01-01T00:00:00.000Z', until })).toBe(true);
    expect(leaseLive({ host: hostname(), pid: process.pid, started: PROCESS_STARTED, until: new Date(Date.now() - 1).toISOString() })).toBe(false);
    // and a claim goes through such a holder
    const a = new JobLeases('analytics', 60_000);
    expect(await a.claim(db, 'j3', slot('2026-12-02T05:00:00Z'))).toEqual({ ok: true });
    await db.execute(`update analytics.${LEASE_TABLE} set body = replace(body, $1, '2000-01-01T00:00:00.000Z') where id = 'job:j3'`, [PROCESS_STARTED]);
    expect(await new JobLeases('analytics', 60_000).claim(db, 'j3', slot('2026-12-02T05:05:00Z'))).toEqual({ ok: true });
  });

  it('a holder that died without releasing (kill -9) did not finish its run: the same slot can be claimed again', async () => {
    const a = new JobLeases('analytics', 60_000);
    expect(await a.claim(db, 'j4', slot('2026-12-02T09:00:00Z'))).toEqual({ ok: true });
    expect(await a.release(db, 'j4', 'success')).toBe(true);
    expect(await a.claim(db, 'j4', slot('2026-12-03T09:00:00Z'))).toEqual({ ok: true });
    // the process dies: its start time no longer matches any live process with this pid
    await db.execute(`update analytics.${LEASE_TABLE} set body = replace(body, $1, '2000-01-01T00:00:00.000Z') where id = 'job:j4'`, [PROCESS_STARTED]);
    const b = new JobLeases('analytics', 60_000);
    expect(await b.claim(db, 'j4', slot('2026-12-03T09:00:00Z'))).toEqual({ ok: true });
    // and if b is stopped, the slot before the dead run's is the one due again
    expect(await b.release(db, 'j4', 'abandoned')).toBe(true);
    expect((await doc('j4')).slot).toBe('2026-12-02T09:00:00.000Z');
    // a finished run's slot, though, is not run twice
    const c = new JobLeases('analytics', 60_000);
    expect(await c.claim(db, 'j4', slot('2026-12-03T09:00:00Z'))).toEqual({ ok: true });
    expect(await c.release(db, 'j4', 'success')).toBe(true);
    const again = await new JobLeases('analytics', 60_000).claim(db, 'j4', slot('2026-12-03T09:00:00Z'));
    expect(again.ok).toBe(false);
  });

  it('on this host a holder whose process still runs keeps the job for one lease past its until (a clock stepped forward, a suspended process); a stopped process, or one that has not renewed for a lease more, does not', async () => {
    expect(PROC_START).toMatch(/^\d+$/); // (Linux: /proc/self/stat)
    const ago = (min: number) => new Date(Date.now() - min * 60_000).toISOString();
    const past = ago(1);
    expect(leaseLive({ host: hostname(), pid: process.pid, started: PROCESS_STARTED, proc_start: PROC_START, since: ago(11), until: past })).toBe(true);
    // a lease more without renewing: wedged, whatever its pid (was: held for ever)
    expect(leaseLive({ host: hostname(), pid: process.pid, started: PROCESS_STARTED, proc_start: PROC_START, since: ago(70), until: ago(60) })).toBe(false);
    // a stopped process (SIGSTOP) runs no job
    await whileStopped((pid, start) => {
      expect(procStart(pid)).toBeUndefined();
      expect(leaseLive({ host: hostname(), pid, proc_start: start, since: ago(11), until: past })).toBe(false);
    });
    // a pid reused by another process (another start) is not the holder; nor is a process that is gone
    expect(leaseLive({ host: hostname(), pid: process.pid, started: PROCESS_STARTED, proc_start: '1', until: past })).toBe(false);
    expect(leaseLive({ host: hostname(), pid: 2 ** 22 + 1, proc_start: PROC_START, until: new Date(Date.now() + 60_000).toISOString() })).toBe(false);
    expect(procStart(process.ppid)).toMatch(/^\d+$/);
    // across hosts only until tells
    expect(leaseLive({ host: 'elsewhere', pid: process.pid, proc_start: PROC_START, until: past })).toBe(false);
    // a claim does not go through such a holder (a 10-minute lease, as since/until say)
    const a = new JobLeases('analytics', 10 * 60_000);
    expect(await a.claim(db, 'j5', slot('2026-12-02T05:00:00Z'))).toEqual({ ok: true });
    const d = await doc('j5');
    expect(d.holder?.proc_start).toBe(PROC_START);
    expect(d.holder?.lease_ms).toBe(10 * 60_000);
    d.holder!.since = ago(11);
    d.holder!.until = past;
    await db.execute(`update analytics.${LEASE_TABLE} set body = $1 where id = 'job:j5'`, [JSON.stringify(d)]);
    const busy = await new JobLeases('analytics', 60_000).claim(db, 'j5', slot('2026-12-02T05:05:00Z'));
    expect(busy.ok ? '' : busy.why).toMatch(/^running on .* \(pid \d+\) since /);
  });

  it("a holder with this host name in another PID namespace (a container on the host's network: docker --network host, Kubernetes hostNetwork) is judged by its lease, as one on another host: its pid is not looked up among ours (was: not there, so gone, and a live serve's job taken over at once)", async () => {
    expect(HOST_NS).toMatch(/^[0-9a-f-]+\/pid:\[\d+\]$/);
    const soon = new Date(Date.now() + 60_000).toISOString();
    const past = new Date(Date.now() - 60_000).toISOString();
    // a pid that is not one of ours: in its own namespace it runs
    const there = { host: hostname(), pid: 2 ** 22 + 1, ns: 'f00dfeed-0000-0000-0000-000000000000/pid:[4026532999]', since: new Date().toISOString(), until: soon, lease_ms: 60_000 };
    expect(leaseLive(there)).toBe(true);
    expect(processGone(there)).toBe(false);
    expect(leaseLost({ ...there, owner: 'x', until: past })).toMatch(/^lost its lease: /);
    expect(leaseLive({ ...there, until: past })).toBe(false);
    // in our namespace (or recorded without one: an older Vigil's) the pid tells, as before
    expect(leaseLive({ ...there, ns: HOST_NS })).toBe(false);
    expect(leaseLive({ ...there, ns: undefined })).toBe(false);
    // a claim does not go through it, and a claim of ours records our namespace
    await db.execute(`delete from analytics.${LEASE_TABLE} where id = 'job:jns'`).catch(() => undefined);
    const a = new JobLeases('analytics', 60_000);
    expect(await a.claim(db, 'jns', slot('2026-12-02T05:00:00Z'))).toEqual({ ok: true });
    const d = await doc('jns');
    expect(d.holder?.ns).toBe(HOST_NS);
    d.holder = { ...there, owner: 'vm-container:7:abcd' };
    await db.execute(`update analytics.${LEASE_TABLE} set body = $1 where id = 'job:jns'`, [JSON.stringify(d)]);
    const busy = await new JobLeases('analytics', 60_000).claim(db, 'jns', slot('2026-12-02T05:05:00Z'));
    expect(busy.ok ? '' : busy.why).toMatch(/^running on .* \(pid 4194305\) since /);
  });

  it("/proc not readable (a hardened container, systemd's ProcSubset=pid): a holder with this host name that recorded a PID namespace is judged by its lease, not looked up among our pids (was: taken for ours, not there, so gone: a live serve's job taken over at once)", async () => {
    // this module as a process that cannot read /proc/sys/kernel/random/boot_id nor /proc/self/ns/pid sees it
    vi.resetModules();
    vi.doMock('node:fs', async (real: () => Promise<typeof import('node:fs')>) => {
      const fs = await real();
      const denied = (p: unknown) => {
        if (/^\/proc\/(sys|self\/ns)\//.test(String(p))) throw Object.assign(new Error(`EACCES: permission denied, open '${String(p)}'`), { code: 'EACCES' });
      };
      const readFileSync = ((p: string, ...a: unknown[]) => (denied(p), (fs.readFileSync as (...x: unknown[]) => unknown)(p, ...a))) as typeof fs.readFileSync;
      const readlinkSync = ((p: string, ...a: unknown[]) => (denied(p), (fs.readlinkSync as (...x: unknown[]) => unknown)(p, ...a))) as typeof fs.readlinkSync;
      return { ...fs, default: { ...fs, readFileSync, readlinkSync }, readFileSync, readlinkSync };
    });
    try {
      const m = await import('../../src/run/cas-document.js');
      expect(m.HOST_NS).toBeUndefined();
      const soon = new Date(Date.now() + 60_000).toISOString();
      const there = { host: hostname(), pid: 2 ** 22 + 1, ns: 'f00dfeed-0000-0000-0000-000000000000/pid:[4026532999]', since: new Date().toISOString(), until: soon, lease_ms: 60_000 };
      expect(m.processGone(there)).toBe(false);
      expect(m.leaseLive(there)).toBe(true);
      expect(m.leaseLive({ ...there, until: new Date(Date.now() - 60_000).toISOString() })).toBe(false);
      // one recorded without an ns (an older Vigil's, or one that could not read /proc either): by its pid, as before
      expect(m.processGone({ ...there, ns: undefined })).toBe(true);
      expect(m.leaseLive({ ...there, ns: undefined })).toBe(false);
    } finally {
      vi.doUnmock('node:fs');
      vi.resetModules();
    }
  });

  it("serve.single_host: a holder with this host name in another PID namespace (this host's container restarted, its machine rebooted) is judged by its pid among ours: gone, its job taken over at once (was: no way to say so; it waited for the lease to run out)", async () => {
    const soon = new Date(Date.now() + 60_000).toISOString();
    const there = { owner: 'old-container:1:abcd', host: hostname(), pid: 2 ** 22 + 3, started: '2026-12-01T00:00:00.000Z', ns: 'f00dfeed-0000-0000-0000-000000000000/pid:[4026532999]', since: new Date().toISOString(), until: soon, lease_ms: 60_000 };
    expect(leaseLive(there)).toBe(true);
    setSingleHost(true);
    try {
      expect(leaseLive(there)).toBe(false);
      expect(leaseLost(there)).toBe(`died with its process (pid ${2 ** 22 + 3} on ${hostname()} is gone)`);
      // one of another host name is still judged by its lease
      expect(leaseLive({ ...there, host: `${hostname()}-other` })).toBe(true);
      // a claim takes the job at once
      await db.execute(`delete from analytics.${LEASE_TABLE} where id = 'job:jsh'`).catch(() => undefined);
      expect(await new JobLeases('analytics', 60_000).claim(db, 'jsh', slot('2026-12-02T05:00:00Z'))).toEqual({ ok: true });
      const d = await doc('jsh');
      d.holder = there;
      await db.execute(`update analytics.${LEASE_TABLE} set body = $1 where id = 'job:jsh'`, [JSON.stringify(d)]);
      expect(await new JobLeases('analytics', 60_000).claim(db, 'jsh', slot('2026-12-02T05:05:00Z'))).toEqual({ ok: true });
    } finally {
      setSingleHost(false);
    }
    expect(leaseLive(there)).toBe(true);
  });

  it('why a holder no longer holds its job, as the catch-up says it: its process gone (died with it), else its lease ran out — a stopped (SIGSTOP) process, or one on another host, is not said to have died (was: "died with its process" for a holder only stopped, continued later)', async () => {
    const past = new Date(Date.now() - 60_000).toISOString();
    expect(leaseLost({ owner: 'x', host: hostname(), pid: 2 ** 22 + 1, proc_start: PROC_START, since: past, until: past })).toBe(`died with its process (pid ${2 ** 22 + 1} on ${hostname()} is gone)`);
    // this pid, another start: a restarted container's earlier process
    expect(leaseLost({ owner: 'x', host: hostname(), pid: process.pid, proc_start: '1', since: past, until: past })).toMatch(/^died with its process/);
    await whileStopped((pid, start) => {
      expect(leaseLost({ owner: 'x', host: hostname(), pid, proc_start: start, since: past, until: past })).toBe(`lost its lease: pid ${pid} on ${hostname()} stopped renewing it until it ran out (the process died, hung, was stopped or lost its connection)`);
    });
    expect(leaseLost({ owner: 'x', host: 'elsewhere', pid: 7, since: past, until: past })).toMatch(/^lost its lease: pid 7 on elsewhere stopped renewing it/);
  });

  it('a zombie (a process that ended and that its parent has not collected: a container whose first process reaps none keeps it for good) is gone: its lease holds nothing, status does not say it runs (was: "running" as long as the zombie stayed)', async () => {
    // sh starts a short child, then becomes sleep, which never collects it: a zombie for 30 s
    // (its child lives 0.5 s: long enough to be read alive below on a loaded machine — 50 ms was not always)
    const parent = spawn('sh', ['-c', 'sleep 0.5 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((r) => parent.stdout!.once('data', (b: Buffer) => r(String(b).trim()))));
      const start = procStart(pid);
      expect(start).toMatch(/^\d+$/);
      const until = new Date(Date.now() + 60_000).toISOString();
      expect(processGone({ host: hostname(), pid, proc_start: start })).toBe(false);
      expect(leaseLive({ host: hostname(), pid, proc_start: start, until })).toBe(true);
      for (let i = 0; i < 250 && procStart(pid) !== undefined; i++) await new Promise((r) => setTimeout(r, 20));
      expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toMatch(/\) Z /);
      expect(processGone({ host: hostname(), pid, proc_start: start })).toBe(true);
      expect(processGone({ host: hostname(), pid })).toBe(true);
      expect(leaseLive({ host: hostname(), pid, proc_start: start, until })).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
    // a stopped one may be continued: there
    await whileStopped((pid, start) => {
      expect(processGone({ host: hostname(), pid, proc_start: start })).toBe(false);
      expect(processGone({ host: hostname(), pid, proc_start: '1' })).toBe(true);
    });
  });

  it('a holder that renewed through a long run and then stopped keeps the job one lease past its until, not one lease plus how long it had run', async () => {
    const ago = (min: number) => new Date(Date.now() - min * 60_000).toISOString();
    const here = { host: hostname(), pid: process.pid, started: PROCESS_STARTED, proc_start: PROC_START };
    // a 3 h run with a 10-minute lease, last renewed 21 minutes ago: wedged (was: held for 2 h 49 min more)
    expect(leaseLive({ ...here, since: ago(180), until: ago(11), lease_ms: 10 * 60_000 })).toBe(false);
    // renewed 15 minutes ago: within one lease past its until
    expect(leaseLive({ ...here, since: ago(180), until: ago(5), lease_ms: 10 * 60_000 })).toBe(true);
    // a document written before lease_ms was: until − since, at most the reader's own lease
    expect(leaseLive({ ...here, since: ago(180), until: ago(11) }, Date.now(), 10 * 60_000)).toBe(false);
    expect(leaseLive({ ...here, since: ago(180), until: ago(5) }, Date.now(), 10 * 60_000)).toBe(true);
    expect(leaseLive({ ...here, since: ago(11), until: ago(1) }, Date.now(), 60 * 60_000)).toBe(true);
    // and a claim goes through such a holder, with the lease recorded or without it
    for (const recorded of [true, false]) {
      const job = recorded ? 'j6' : 'j7';
      expect(await new JobLeases('analytics', 10 * 60_000).claim(db, job, slot('2026-12-02T09:00:00Z'))).toEqual({ ok: true });
      const d = await doc(job);
      d.holder!.since = ago(180);
      d.holder!.until = ago(11);
      if (!recorded) delete d.holder!.lease_ms;
      await db.execute(`update analytics.${LEASE_TABLE} set body = $1 where id = $2`, [JSON.stringify(d), `job:${job}`]);
      expect(await new JobLeases('analytics', 10 * 60_000).claim(db, job, slot('2026-12-03T09:00:00Z'))).toEqual({ ok: true });
    }
  });

  it('release records the run (its slot, start, end) and the last success, which a restarted serve shows until the job runs again', async () => {
    const a = new JobLeases('analytics', 60_000);
    expect(await a.claim(db, 'j8', slot('2026-12-02T09:00:00Z'))).toEqual({ ok: true });
    const since = (await doc('j8')).holder!.since;
    expect(await a.release(db, 'j8', 'success')).toBe(true);
    const ok = await doc('j8');
    expect(ok.last).toMatchObject({ status: 'success', slot: '2026-12-02T09:00:00.000Z', started_at: since });
    expect(ok.last_success_at).toBe(ok.last!.finished_at);
    expect(ok.consecutive_failures).toBe(0);
    for (const day of ['03', '04']) {
      expect(await a.claim(db, 'j8', slot(`2026-12-${day}T09:00:00Z`))).toEqual({ ok: true });
      expect(await a.release(db, 'j8', 'error', 'boom')).toBe(true);
    }
    const bad = await doc('j8');
    expect(bad.last).toMatchObject({ status: 'error', slot: '2026-12-04T09:00:00.000Z', message: 'boom' });
    // the last success is kept through the failures, which are counted
    expect(bad.last_success_at).toBe(ok.last_success_at);
    expect(bad.consecutive_failures).toBe(2);
  });
});

describe('stream leases', () => {
  const lines: string[] = [];
  const opts = (waitMs: number, signal?: AbortSignal) => ({ waitMs, pollMs: 50, signal, say: (l: string) => lines.push(l) });
  /** (a stream no job has claimed yet has no document) */
  const streamDoc = async (stream: string): Promise<LeaseDoc> => JSON.parse(String((await db.query<{ body: string }>(`select body from analytics.${LEASE_TABLE} where id = $1`, [`stream:${stream}`]))[0]?.body ?? '{}'));

  it('a job holds the streams it syncs; another job (another serve) that needs one of them waits for it, says once for whom, and then has them all', async () => {
    lines.length = 0;
    const a = new JobLeases('analytics', 60_000);
    const b = new JobLeases('analytics', 60_000);
    expect(await a.holdStreams(db, ['raw.big'], 'sync_big_full', opts(0))).toMatchObject({ ok: true });
    expect((await streamDoc('raw.big')).holder).toMatchObject({ job: 'sync_big_full', owner: a.owner });
    // not at once: the second job's run waits (was: both synced the stream, the second to commit failed)
    const busy = await b.holdStreams(db, ['raw.aux', 'raw.big'], 'sync_big', opts(0));
    expect(busy.ok).toBe(false);
    expect(busy.ok ? '' : busy.why).toMatch(/^raw\.big, held by job sync_big_full on .* \(pid \d+\) since /);
    // all or none: it holds nothing while it does not have them all
    expect((await streamDoc('raw.aux')).holder).toBeUndefined();
    // it waits, and has them once the holder gives its streams back
    const waiting = b.holdStreams(db, ['raw.aux', 'raw.big'], 'sync_big', opts(60_000));
    await waitUntil(() => lines.length > 0);
    expect(lines).toEqual([expect.stringMatching(/^waits for stream raw\.big, held by job sync_big_full on .* \(pid \d+\) since \S+ \(at most 60s\)$/)]);
    await new Promise((r) => setTimeout(r, 200)); // (a few polls: said once)
    await a.releaseStreams(db, ['raw.big']);
    expect(await waiting).toMatchObject({ ok: true });
    expect(lines).toHaveLength(1);
    expect((await streamDoc('raw.big')).holder).toMatchObject({ job: 'sync_big', owner: b.owner });
    expect((await streamDoc('raw.aux')).holder).toMatchObject({ job: 'sync_big', owner: b.owner });
    // the holder renews them; another cannot renew what it does not hold
    expect(await b.renewStreams(db, ['raw.aux', 'raw.big'])).toBe(true);
    expect(await a.renewStreams(db, ['raw.big'])).toBe(false);
    await b.releaseStreams(db, ['raw.aux', 'raw.big']);
    expect((await streamDoc('raw.big')).holder).toBeUndefined();
  });

  it('a wait is bounded (then the caller gives its run back) and stopped by the signal; a holder whose process is gone holds nothing', async () => {
    const a = new JobLeases('analytics', 60_000);
    const b = new JobLeases('analytics', 60_000);
    expect(await a.holdStreams(db, ['raw.x'], 'sync_x', opts(0))).toMatchObject({ ok: true });
    const gaveUp = await b.holdStreams(db, ['raw.x'], 'sync_x_full', opts(300));
    expect(gaveUp).toMatchObject({ ok: false, holder: { job: 'sync_x', owner: a.owner } });
    const stop = new AbortController();
    const stopped = b.holdStreams(db, ['raw.x'], 'sync_x_full', opts(60_000, stop.signal));
    setTimeout(() => stop.abort('SIGTERM'), 100);
    const r = await stopped;
    expect(r.ok ? '' : r.why).toMatch(/^stopped while it waited: raw\.x, held by job sync_x /);
    // kill -9: the holder's process is gone (its start time no longer matches this pid's)
    await db.execute(`update analytics.${LEASE_TABLE} set body = replace(body, $1, '2000-01-01T00:00:00.000Z') where id = 'stream:raw.x'`, [PROCESS_STARTED]);
    expect(await b.holdStreams(db, ['raw.x'], 'sync_x_full', opts(0))).toMatchObject({ ok: true });
  });
});

describe('stream leases: what a wait costs the warehouse, and a failure midway', () => {
  const streamDoc = async (stream: string): Promise<LeaseDoc> => JSON.parse(String((await db.query<{ body: string }>(`select body from analytics.${LEASE_TABLE} where id = $1`, [`stream:${stream}`]))[0].body));
  /** The same DuckDB, each statement recorded; `fail` makes a statement throw (a connection lost midway). */
  const watched = (fail: (sql: string, params: unknown[]) => boolean = () => false) => {
    const calls: Array<{ kind: 'query' | 'execute'; sql: string; params: unknown[] }> = [];
    const adapter = new Proxy(db, {
      get(target, prop) {
        // (a write whose changed rows are counted is a write)
        if (prop === 'query' || prop === 'execute' || prop === 'executeCounted')
          return async (sql: string, params: unknown[] = []) => {
            calls.push({ kind: prop === 'query' ? 'query' : 'execute', sql, params });
            if (fail(sql, params)) throw new Error('connection to the warehouse lost');
            return prop === 'query' ? target.query(sql, params as never) : prop === 'execute' ? target.execute(sql, params as never) : target.executeCounted(sql, params as never);
          };
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    return { adapter, calls };
  };

  it('a job that waits for a held stream only reads the lease table (no claim written and given back at each look: on BigQuery concurrent DML on it can fail the holder\'s renewal), and looks less and less often', async () => {
    const a = new JobLeases('analytics', 60_000);
    const b = new JobLeases('analytics', 60_000);
    expect(await a.holdStreams(db, ['raw.h'], 'sync_h_full', { waitMs: 0, pollMs: 50 })).toMatchObject({ ok: true });
    const { adapter, calls } = watched();
    const r = await b.holdStreams(adapter, ['raw.g', 'raw.h'], 'sync_h', { waitMs: 1000, pollMs: 50, maxPollMs: 400 });
    expect(r).toMatchObject({ ok: false, holder: { job: 'sync_h_full', owner: a.owner } });
    expect(calls.filter((c) => c.kind === 'execute')).toEqual([]);
    // 50, 100, 200, 400 ms, then what is left of the second: at most 6 looks (was: one every 50 ms, each a claim of raw.g and its release)
    const looks = calls.filter((c) => c.kind === 'query' && c.params[0] === 'stream:raw.h');
    expect(looks.length).toBeGreaterThanOrEqual(2);
    expect(looks.length).toBeLessThanOrEqual(6);
    // (raw.g, free, was never claimed)
    expect((await db.query(`select 1 from analytics.${LEASE_TABLE} where id = 'stream:raw.g'`)).length).toBe(0);
    await a.releaseStreams(db, ['raw.h']);
  });

  it('a failure while it claims its streams gives back the ones it took (was: held until their lease ran out, stalling the other jobs of those streams)', async () => {
    const b = new JobLeases('analytics', 60_000);
    // the claim of the third stream fails: the connection is lost
    const { adapter } = watched((sql, params) => /^update/i.test(sql) && params[2] === 'stream:raw.f3');
    await expect(b.holdStreams(adapter, ['raw.f1', 'raw.f2', 'raw.f3'], 'sync_f', { waitMs: 0, pollMs: 50 })).rejects.toThrow(/connection to the warehouse lost/);
    for (const st of ['raw.f1', 'raw.f2']) expect((await streamDoc(st)).holder, st).toBeUndefined();
    // and another job has them at once
    expect(await new JobLeases('analytics', 60_000).holdStreams(db, ['raw.f1', 'raw.f2', 'raw.f3'], 'sync_f_full', { waitMs: 0, pollMs: 50 })).toMatchObject({ ok: true });
  });

  it('a release that fails for one stream still gives back the others, then says so', async () => {
    const b = new JobLeases('analytics', 60_000);
    expect(await b.holdStreams(db, ['raw.r1', 'raw.r2'], 'sync_r', { waitMs: 0, pollMs: 50 })).toMatchObject({ ok: true });
    const { adapter } = watched((sql, params) => /^update/i.test(sql) && params[2] === 'stream:raw.r1');
    await expect(b.releaseStreams(adapter, ['raw.r1', 'raw.r2'])).rejects.toThrow(/connection to the warehouse lost/);
    expect((await streamDoc('raw.r2')).holder).toBeUndefined();
    expect((await streamDoc('raw.r1')).holder).toMatchObject({ owner: b.owner });
    await b.releaseStreams(db, ['raw.r1']);
  });
});

async function waitUntil(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(ok()).toBe(true);
}
