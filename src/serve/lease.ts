/**
 * Job leases of `vigil serve`, kept in the target warehouse (table `vigil_serve_leases`, one
 * compare-and-set document per job), so `serve` processes on different hosts that share a
 * target run each scheduled slot of a job once, and never two runs of a job at the same time.
 *
 * A document remembers the last slot claimed and who holds the job now. Claiming slot S
 * succeeds only when no live holder has the job and no one claimed S (or a later slot) before:
 * the second process to wake for S finds it taken and skips. A holder whose lease ran out, or
 * whose process is gone (same host), no longer holds anything.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Adapter } from '../adapters/adapter.js';
import { casWrite, leaseLive, PROC_START, PROCESS_STARTED, warehouseCas } from '../run/cas-document.js';
import { redact } from '../secrets.js';

export const LEASE_TABLE = 'vigil_serve_leases';

export interface Holder {
  owner: string;
  host: string;
  pid: number;
  started?: string;
  proc_start?: string;
  since: string;
  until: string;
  /** how long the lease is (each renewal moves `until` by it) */
  lease_ms?: number;
}

export interface LeaseDoc {
  /** the last slot claimed (ISO), by whoever claimed it */
  slot?: string;
  /** the slot before it: put back when the run is abandoned (SIGTERM), so it runs again */
  previous_slot?: string;
  holder?: Holder;
  /** how the last run ended */
  last?: { status: 'success' | 'error' | 'abandoned'; finished_at: string; by: string; message?: string };
  writeId?: string;
}

/** `holder`: the live holder that has the job (a run still going), when that is why not. */
export type Claim = { ok: true } | { ok: false; why: string; holder?: Holder };

export class JobLeases {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly schema: string,
    private readonly leaseMs: number,
  ) {}

  private doc(adapter: Adapter, job: string) {
    return warehouseCas(adapter, this.schema, LEASE_TABLE, `job:${job}`);
  }

  /** What the warehouse says about a job (undefined: never run by any serve). */
  async read(adapter: Adapter, job: string): Promise<LeaseDoc | undefined> {
    const cur = await (await this.doc(adapter, job)).get();
    return cur ? (JSON.parse(cur.body) as LeaseDoc) : undefined;
  }

  /** Take job `job` for `slot`, or say why not. */
  async claim(adapter: Adapter, job: string, slot: Date): Promise<Claim> {
    const cas = await this.doc(adapter, job);
    for (let attempt = 0; attempt < 5; attempt++) {
      let cur = await cas.get();
      if (!cur) {
        await cas.init('{}');
        cur = (await cas.get())!;
      }
      const d = JSON.parse(cur.body) as LeaseDoc;
      if (d.holder && d.holder.owner !== this.owner && leaseLive(d.holder, Date.now(), this.leaseMs)) return { ok: false, why: `running on ${d.holder.host} (pid ${d.holder.pid}) since ${d.holder.since}`, holder: d.holder };
      // (a holder that died without releasing, kill -9, did not finish its run: its slot is due again)
      const died = d.holder !== undefined && d.holder.owner !== this.owner;
      if (d.slot && Date.parse(d.slot) >= slot.getTime() && !died) return { ok: false, why: `the run for ${slot.toISOString()} was already claimed${d.last ? ` (${d.last.by}: ${d.last.status})` : ''}` };
      const now = Date.now();
      const next: LeaseDoc = { ...d, slot: slot.toISOString(), previous_slot: died ? d.previous_slot : d.slot, holder: { owner: this.owner, host: hostname(), pid: process.pid, started: PROCESS_STARTED, ...(PROC_START ? { proc_start: PROC_START } : {}), since: new Date(now).toISOString(), until: new Date(now + this.leaseMs).toISOString(), lease_ms: this.leaseMs } };
      if ((await casWrite(cas, cur.version, next)) !== undefined) return { ok: true };
    }
    return { ok: false, why: 'another serve process claimed it at the same moment' };
  }

  /** Push our lease further while a long job runs; false when it was taken over. */
  async renew(adapter: Adapter, job: string): Promise<boolean> {
    return this.update(adapter, job, (d) => {
      d.holder!.until = new Date(Date.now() + this.leaseMs).toISOString();
    });
  }

  /** Give the job back, recording how the run ended. */
  async release(adapter: Adapter, job: string, status: 'success' | 'error' | 'abandoned', message?: string): Promise<boolean> {
    return this.update(adapter, job, (d) => {
      delete d.holder;
      // a run stopped before its end did not happen: its slot is due again (catch-up at the next start)
      if (status === 'abandoned') d.slot = d.previous_slot;
      d.last = { status, finished_at: new Date().toISOString(), by: `${hostname()} pid ${process.pid}`, ...(message ? { message: redact(message).slice(0, 500) } : {}) };
    });
  }

  private async update(adapter: Adapter, job: string, change: (d: LeaseDoc) => void): Promise<boolean> {
    const cas = await this.doc(adapter, job);
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
