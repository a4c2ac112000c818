/**
 * Job leases of `vigil serve`, kept in the target warehouse (table `vigil_serve_leases`, one
 * compare-and-set document per job), so `serve` processes on different hosts that share a
 * target run each scheduled slot of a job once, and never two runs of a job at the same time.
 *
 * A document remembers the last slot claimed and who holds the job now. Claiming slot S
 * succeeds only when no live holder has the job and no one claimed S (or a later slot) before:
 * the second process to wake for S finds it taken and skips. A holder whose lease ran out, or
 * whose process is gone (same host), no longer holds anything.
 *
 * Sync jobs also hold a lease per stream they sync (document `stream:<source>.<table>`, same
 * table): two jobs that select one stream (a delta and a nightly full) never sync it at once,
 * whichever processes run them; the second waits for the first a little (holdStreams), then
 * gives its run back and runs again once the stream is free (serve-command.ts).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import type { Adapter } from '../adapters/adapter.js';
import { casWrite, leaseLive, processGone, thisProcess, warehouseCas } from '../run/cas-document.js';
import { redact } from '../secrets.js';

export const LEASE_TABLE = 'vigil_serve_leases';

export interface Holder {
  owner: string;
  host: string;
  pid: number;
  started?: string;
  proc_start?: string;
  /** this boot and PID namespace (HOST_NS): another container with the host's name is not this host */
  ns?: string;
  since: string;
  until: string;
  /** how long the lease is (each renewal moves `until` by it) */
  lease_ms?: number;
  /** a stream's lease: the job that holds it */
  job?: string;
}

export interface LeaseDoc {
  /** the last slot claimed (ISO), by whoever claimed it */
  slot?: string;
  /** the slot before it: put back when the run is abandoned (SIGTERM), so it runs again */
  previous_slot?: string;
  holder?: Holder;
  /** how the last run ended (slot and started_at: since they are recorded) */
  last?: { status: 'success' | 'error' | 'abandoned'; finished_at: string; by: string; message?: string; slot?: string; started_at?: string };
  /** when its last successful run ended, whichever process ran it (kept through failures) */
  last_success_at?: string;
  /** failed runs since the last successful one */
  consecutive_failures?: number;
  writeId?: string;
}

/** Who holds a stream, as a job waiting for it says. */
const streamBusy = (h: Holder) => `held by job ${h.job ?? '?'} on ${h.host} (pid ${h.pid}) since ${h.since}`;

/**
 * Why holder `h`, no longer live (leaseLive), holds nothing, as serve's catch-up says it: its
 * process is gone (this host: no such pid, or another process with it), or else its lease ran out
 * — it stopped renewing it: died, hung, was stopped (SIGSTOP) or lost its connection; from here
 * nothing tells which (was: "died with its process" for a holder only stopped, continued later).
 */
export function leaseLost(h: Holder): string {
  if (processGone(h)) return `died with its process (pid ${h.pid} on ${h.host} is gone)`;
  return `lost its lease: pid ${h.pid} on ${h.host} stopped renewing it until it ran out (the process died, hung, was stopped or lost its connection)`;
}

/** `holder`: the live holder that has the job (a run still going), when that is why not. */
export type Claim = { ok: true } | { ok: false; why: string; holder?: Holder };

export class JobLeases {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly schema: string,
    private readonly leaseMs: number,
  ) {}

  private doc(adapter: Adapter, id: string) {
    return warehouseCas(adapter, this.schema, LEASE_TABLE, id);
  }

  private holder(extra: Partial<Holder> = {}): Holder {
    const now = Date.now();
    return { owner: this.owner, ...thisProcess(), since: new Date(now).toISOString(), until: new Date(now + this.leaseMs).toISOString(), lease_ms: this.leaseMs, ...extra };
  }

  /** What the warehouse says about a job (undefined: never run by any serve). */
  async read(adapter: Adapter, job: string): Promise<LeaseDoc | undefined> {
    const cur = await (await this.doc(adapter, `job:${job}`)).get();
    return cur ? (JSON.parse(cur.body) as LeaseDoc) : undefined;
  }

  /** Take job `job` for `slot`, or say why not. */
  async claim(adapter: Adapter, job: string, slot: Date): Promise<Claim> {
    return this.take(adapter, `job:${job}`, (h) => `running on ${h.host} (pid ${h.pid}) since ${h.since}`, (d) => {
      // (a holder that died without releasing, kill -9, did not finish its run: its slot is due again)
      const died = d.holder !== undefined && d.holder.owner !== this.owner;
      if (d.slot && Date.parse(d.slot) >= slot.getTime() && !died) return `the run for ${slot.toISOString()} was already claimed${d.last ? ` (${d.last.by}: ${d.last.status})` : ''}`;
      return { ...d, slot: slot.toISOString(), previous_slot: died ? d.previous_slot : d.slot, holder: this.holder() };
    });
  }

  /**
   * Compare-and-set document `id` to what `next` makes of it, unless a live holder other than
   * this process has it (`busy` says who) or `next` refuses (a string: why).
   */
  private async take(adapter: Adapter, id: string, busy: (h: Holder) => string, next: (d: LeaseDoc) => LeaseDoc | string): Promise<Claim> {
    const cas = await this.doc(adapter, id);
    for (let attempt = 0; attempt < 5; attempt++) {
      let cur = await cas.get();
      if (!cur) {
        await cas.init('{}');
        cur = (await cas.get())!;
      }
      const d = JSON.parse(cur.body) as LeaseDoc;
      if (this.heldByOther(d.holder)) return { ok: false, why: busy(d.holder), holder: d.holder };
      const n = next(d);
      if (typeof n === 'string') return { ok: false, why: n };
      if ((await casWrite(cas, cur.version, n)) !== undefined) return { ok: true };
    }
    return { ok: false, why: 'another serve process claimed it at the same moment' };
  }

  /** A live holder other than this process (one whose lease ran out, or whose process is gone, holds nothing). */
  private heldByOther(h: Holder | undefined): h is Holder {
    return !!h && h.owner !== this.owner && leaseLive(h, Date.now(), this.leaseMs);
  }

  /** A lease's holder kept a lease longer (renew, renewStreams). */
  private readonly extend = (d: LeaseDoc) => {
    d.holder!.until = new Date(Date.now() + this.leaseMs).toISOString();
  };

  /** Push our lease further while a long job runs; false when it was taken over. */
  async renew(adapter: Adapter, job: string): Promise<boolean> {
    return this.update(adapter, `job:${job}`, this.extend);
  }

  /** Give the job back, recording how the run ended. */
  async release(adapter: Adapter, job: string, status: 'success' | 'error' | 'abandoned', message?: string): Promise<boolean> {
    return this.update(adapter, `job:${job}`, (d) => {
      const run = { slot: d.slot, started_at: d.holder?.since };
      delete d.holder;
      // a run stopped before its end did not happen: its slot is due again (catch-up at the next start)
      if (status === 'abandoned') d.slot = d.previous_slot;
      const finished = new Date().toISOString();
      d.last = { status, finished_at: finished, by: `${hostname()} pid ${process.pid}`, ...(message ? { message: redact(message).slice(0, 500) } : {}), ...run };
      // (what /health and /metrics show of the job after a restart, until it runs again)
      if (status === 'success') {
        d.last_success_at = finished;
        d.consecutive_failures = 0;
      } else if (status === 'error') d.consecutive_failures = (d.consecutive_failures ?? 0) + 1;
    });
  }

  /** Take stream `stream` for job `job`, or say who has it (a live holder other than this process). */
  async claimStream(adapter: Adapter, stream: string, job: string): Promise<Claim> {
    return this.take(adapter, `stream:${stream}`, streamBusy, (d) => ({ ...d, holder: this.holder({ job }) }));
  }

  /** Push our leases of `streams` further; false when one was taken over. */
  async renewStreams(adapter: Adapter, streams: string[]): Promise<boolean> {
    let all = true;
    for (const s of streams) all = (await this.update(adapter, `stream:${s}`, this.extend)) && all;
    return all;
  }

  /**
   * Give `streams` back: each is tried, a failure does not keep the rest held (the first one is
   * thrown after).
   */
  async releaseStreams(adapter: Adapter, streams: string[]): Promise<void> {
    let failed: unknown;
    for (const s of streams) {
      try {
        await this.update(adapter, `stream:${s}`, (d) => {
          delete d.holder;
        });
      } catch (e) {
        failed ??= e;
      }
    }
    if (failed !== undefined) throw failed;
  }

  /**
   * The streams of `streams` this process no longer holds (its lease ran out and another took it
   * over, or was given back since), each with who holds it now, if anyone: read only.
   */
  async streamsLost(adapter: Adapter, streams: string[]): Promise<Map<string, Holder | undefined>> {
    const lost = new Map<string, Holder | undefined>();
    for (const s of streams) {
      const cur = await (await this.doc(adapter, `stream:${s}`)).get();
      const h = cur ? (JSON.parse(cur.body) as LeaseDoc).holder : undefined;
      if (h?.owner !== this.owner) lost.set(s, h);
    }
    return lost;
  }

  /**
   * The first of `streams` (in order) a live holder other than this process has, and why: read
   * only (a document that does not exist is free, and is not made).
   */
  async streamHeld(adapter: Adapter, streams: string[]): Promise<{ stream: string; why: string; holder: Holder } | undefined> {
    for (const s of streams) {
      const cur = await (await this.doc(adapter, `stream:${s}`)).get();
      const h = cur ? (JSON.parse(cur.body) as LeaseDoc).holder : undefined;
      if (this.heldByOther(h)) return { stream: s, why: streamBusy(h), holder: h };
    }
    return undefined;
  }

  /**
   * Take every stream of `streams` for job `job`, all or none. While another job (of another
   * serve, or a holder this process left) holds one, it waits: it looks again (reads only: no
   * write while one is held, as concurrent DML on the lease table can fail the holder's renewal
   * on BigQuery) after `pollMs`, doubling up to `maxPollMs`, for at most `waitMs` (`say` is told
   * once whom it waits for). It claims them, in order, only once none is held; one taken by
   * another at that moment gives back the ones taken. `{ ok: false }` when the wait ran out
   * (`holder`: who had it) or `signal` stopped it. A failure (the warehouse) gives back what it
   * took before it is thrown.
   */
  async holdStreams(adapter: Adapter, streams: string[], job: string, opts: { waitMs: number; pollMs: number; maxPollMs?: number; signal?: AbortSignal; say?: (line: string) => void }): Promise<{ ok: true; waitedMs: number } | { ok: false; why: string; holder?: Holder }> {
    const t0 = Date.now();
    const sorted = [...new Set(streams)].sort();
    let said = false;
    let poll = opts.pollMs;
    for (;;) {
      let refused: { stream: string; why: string; holder?: Holder } | undefined = await this.streamHeld(adapter, sorted);
      if (!refused) {
        const taken: string[] = [];
        try {
          for (const s of sorted) {
            const c = await this.claimStream(adapter, s, job);
            if (!c.ok) {
              refused = { stream: s, why: c.why, holder: c.holder };
              break;
            }
            taken.push(s);
          }
          if (!refused) return { ok: true, waitedMs: Date.now() - t0 };
          // none held while waiting: a job that waits never holds up the one it waits for
          await this.releaseStreams(adapter, taken);
        } catch (e) {
          await this.releaseStreams(adapter, taken).catch(() => undefined);
          throw e;
        }
      }
      const why = `${refused.stream}, ${refused.why}`;
      const left = opts.waitMs - (Date.now() - t0);
      if (left <= 0) return { ok: false, why, holder: refused.holder };
      if (!said) {
        opts.say?.(`waits for stream ${why} (at most ${Math.max(1, Math.round(opts.waitMs / 1000))}s)`);
        said = true;
      }
      if (opts.signal?.aborted) return { ok: false, why: `stopped while it waited: ${why}` };
      // (woken early by the signal: node's timer rejects then)
      await sleep(Math.min(poll, left), undefined, { signal: opts.signal }).catch(() => undefined);
      poll = Math.min(poll * 2, Math.max(opts.pollMs, opts.maxPollMs ?? opts.pollMs));
      if (opts.signal?.aborted) return { ok: false, why: `stopped while it waited: ${why}` };
    }
  }

  private async update(adapter: Adapter, id: string, change: (d: LeaseDoc) => void): Promise<boolean> {
    const cas = await this.doc(adapter, id);
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = await cas.get();
      if (!cur) return false;
      const d = JSON.parse(cur.body) as LeaseDoc;
      if (d.holder?.owner !== this.owner) return false;
      change(d);
      if ((await casWrite(cas, cur.version, d)) !== undefined) return true;
    }
    return false;
  }
}
