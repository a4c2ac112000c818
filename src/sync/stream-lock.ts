/**
 * A synced stream's lock outside `vigil serve`: `vigil sync` holds it for each stream while it
 * syncs it, and `vigil retention apply` for each synced stream whose warehouse copy it deletes in,
 * so the two never overlap on a stream — a sync reads the retention log once, as it starts, and
 * copied back every row an apply deleted meanwhile (docs/sync.md). It is the stream's lease that
 * serve's sync jobs hold (JobLeases: document `stream:<source>.<table>` in `vigil_serve_leases`),
 * so serve's jobs take turns with these commands too; renewed every third of it while held, given
 * back at the end (a process killed outright holds it until its lease runs out, or — on the same
 * host — until its pid is gone). A DuckDB target takes none: one process has the file. A role
 * that may not keep the lease table (no CREATE on the target's schema, no rights on a table an
 * owner made) goes on without leases, warned once (streamLocker), as before Vigil took them.
 */
import type { Adapter } from '../adapters/adapter.js';
import type { ProjectFiles } from '../project/load-project.js';
import { JobLeases, LEASE_TABLE } from '../serve/lease.js';
import { MIN_LEASE_MS } from '../serve/config.js';
import { durationMs } from '../time/duration.js';
import { redact } from '../secrets.js';
import { isPermissionDenied } from '../errors.js';

/** The longest a command waits for a stream another holds (at most one lease: serve.lease). */
export const LOCK_WAIT_MS = 60_000;
const POLL_MS = 1000;

/** The stream is held by another (who, in `message`), still after the wait: the command did nothing to it. */
export class StreamBusy extends Error {}

export interface StreamLock {
  /** Give the streams back (and stop renewing them). */
  release(): Promise<void>;
}

/** The lease a command holds a stream with: the project's `serve.lease` (default 10 minutes), as serve's jobs do. */
export function lockLeaseMs(files: ProjectFiles): number {
  const lease = files.project.serve?.lease;
  return Math.max(MIN_LEASE_MS, lease ? durationMs(lease) : 10 * 60_000);
}

/**
 * Take every one of `streams` for `holder` (the command: `vigil sync`), all or none, on `adapter`
 * (a connection of its own: renewals go while the command's work runs), in the target's `schema`.
 * Waits for a holder `waitMs` (the command's --wait; default LOCK_WAIT_MS or one lease, whichever
 * is shorter), saying once whom it waits for (`say`); then throws StreamBusy naming the stream and
 * its holder.
 */
export async function lockStreams(adapter: Adapter, schema: string, streams: string[], holder: string, o: { leaseMs: number; waitMs?: number; say: (line: string) => void; signal?: AbortSignal }): Promise<StreamLock> {
  const leases = new JobLeases(schema, o.leaseMs);
  const waitMs = o.waitMs ?? Math.min(LOCK_WAIT_MS, o.leaseMs);
  const r = await leases.holdStreams(adapter, streams, holder, { waitMs, pollMs: POLL_MS, maxPollMs: 5 * POLL_MS, signal: o.signal, say: o.say });
  if (!r.ok) throw new StreamBusy(`stream ${r.why}${o.signal?.aborted ? '' : waitMs ? `, still after ${Math.max(1, Math.round(waitMs / 1000))}s` : ' (not waited for: --wait 0s)'}`);
  let renewing: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = leases.renewStreams(adapter, streams).then(
      (ok) => ok || o.say(`warning: lost the lease of ${streams.join(', ')} (taken over after it ran out): another sync or retention apply may start on it meanwhile`),
      (e: unknown) => o.say(`warning: could not renew the lease of ${streams.join(', ')}: ${redact(String((e as Error).message ?? e).split('\n')[0])}`),
    );
  }, Math.max(1000, o.leaseMs / 3));
  timer.unref();
  return {
    release: async () => {
      clearInterval(timer);
      await renewing;
      await leases.releaseStreams(adapter, streams).catch((e: unknown) => o.say(`warning: could not release the lease of ${streams.join(', ')} (it runs out by itself): ${redact(String((e as Error).message ?? e).split('\n')[0])}`));
    },
  };
}

/**
 * lockStreams for each call of the function returned — unless the role may not keep leases in
 * `schema` (isPermissionDenied): then `warn` says so once, naming what goes without them
 * (`beside`: "a retention apply or a serve job may run beside this sync"), and that call and every
 * later one go on without a lease. Any other failure is thrown.
 */
export function streamLocker(adapter: Adapter, schema: string, holder: string, o: { leaseMs: number; waitMs?: number; signal?: AbortSignal; warn: (line: string) => void; doing: string; beside: string }): (streams: string[], say: (line: string) => void) => Promise<StreamLock> {
  let without = false;
  const none: StreamLock = { release: async () => {} };
  return async (streams, say) => {
    if (without) return none;
    try {
      return await lockStreams(adapter, schema, streams, holder, { leaseMs: o.leaseMs, ...(o.waitMs !== undefined ? { waitMs: o.waitMs } : {}), say, signal: o.signal });
    } catch (e) {
      if (!isPermissionDenied(e)) throw e;
      without = true;
      // (Postgres names it; elsewhere the statement fails and the role goes unnamed)
      const role = (await adapter.query<{ who: string }>('select current_user as who').catch(() => []))[0]?.who;
      const table = `${schema}.${LEASE_TABLE}`;
      o.warn(`warning: cannot hold stream leases in ${table} (${redact(String((e as Error).message ?? e).split('\n')[0])}): ${o.doing} without them — ${o.beside}; grant CREATE on schema ${schema} to ${role ?? 'the role the target connects as'}, or create the table once as an owner (any vigil sync or serve) and grant select, insert, update on it`);
      return none;
    }
  };
}
