/**
 * A JSON document with a version, kept in one row of a warehouse table and replaced only by
 * compare-and-set: the primitive under the alert state (src/alerts/state.ts) and the job
 * leases of `vigil serve` (src/serve/lease.ts), so scheduled runs on different machines that
 * share a target coordinate through it. Rows are keyed by `id`; one table holds many documents.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createOwnTable, type Adapter } from '../adapters/adapter.js';

/** Whether a compare-and-set took: `unknown` where the warehouse does not count the rows a statement changed (read back to tell). */
export type CasOutcome = 'won' | 'lost' | 'unknown';

/**
 * The storage primitive: read the current version, create the empty version-0 document when
 * there is none (idempotent: concurrent first runs write the same bytes), or replace it only
 * if it is still `expected`. A backend with a journal also appends to the document: a line
 * (its `journal`, cleared by the next replacement) that moves the version as a replacement
 * does, written at the cost of the line, not of the document (src/alerts/state.ts).
 */
export interface CasBackend {
  get(): Promise<CasDocument | undefined>;
  init(body: string): Promise<void>;
  cas(expected: number, body: string): Promise<CasOutcome>;
  /** Append `line` to the journal if the document is still at `expected` (absent: only whole documents are written). */
  append?(expected: number, line: string): Promise<CasOutcome>;
  close(): Promise<void>;
}

export interface CasDocument {
  version: number;
  body: string;
  /** lines appended since the body was written (backends with a journal), each ending in a newline */
  journal?: string;
}

/**
 * Replace the document if it is still at version `expected`, stamping it with a fresh random
 * `writeId` first. Where cas() cannot tell whose write won (no affected-row counts), the write
 * that stands is the one read back. Returns the new version, or undefined when another writer won.
 */
export async function casWrite<D extends { writeId?: string }>(
  cas: CasBackend,
  expected: number,
  doc: D,
  serialize: (d: D) => string = (d) => JSON.stringify(d),
  parse: (cur: CasDocument) => { writeId?: string } = (cur) => JSON.parse(cur.body) as { writeId?: string },
): Promise<number | undefined> {
  doc.writeId = randomBytes(8).toString('hex');
  return settled(cas, await cas.cas(expected, serialize(doc)), expected, doc.writeId, parse);
}

/**
 * Append a journal line made by `line(writeId)` (it records the fresh writeId it is given, as the
 * document read back with it says) if the document is still at `expected`: the new version,
 * or undefined when another writer won.
 */
export async function casAppend(cas: CasBackend, expected: number, line: (writeId: string) => string, parse: (cur: CasDocument) => { writeId?: string }): Promise<number | undefined> {
  if (!cas.append) throw new Error('internal: this document has no journal');
  const writeId = randomBytes(8).toString('hex');
  return settled(cas, await cas.append(expected, line(writeId)), expected, writeId, parse);
}

async function settled(cas: CasBackend, outcome: CasOutcome, expected: number, writeId: string, parse: (cur: CasDocument) => { writeId?: string }): Promise<number | undefined> {
  if (outcome === 'won') return expected + 1;
  if (outcome === 'lost') return undefined;
  const now = await cas.get();
  return now && parse(now).writeId === writeId ? now.version : undefined;
}

/**
 * The document `id` in table `schema.table` of the warehouse. The table is created on the first
 * write: reading (dry runs, status) leaves the warehouse untouched. The document, the version
 * and the id travel as bind parameters, never as SQL text. A compare-and-set knows it won from
 * the rows its UPDATE changed (Postgres, DuckDB, BigQuery's numDmlAffectedRows); where the
 * warehouse does not say, the caller re-reads to see whose write won.
 *
 * `journal`: the table has a `journal` column (added to a table without it at the first
 * append), for CasBackend.append.
 */
export async function warehouseCas(adapter: Adapter, schema: string, table: string, id: string, opts: { journal?: boolean } = {}): Promise<CasBackend & { relation: string }> {
  const d = adapter.dialect;
  const p = (i: number) => d.param(i);
  const rel = d.relation({ schema, identifier: table });
  const pk = adapter.warehouse.capabilities.primaryKeys ? ' primary key' : '';
  // (asked once, for init(): a table created since is found by get() itself, and `create table if not exists` is harmless)
  let exists = (await adapter.relationExists({ schema, identifier: table })) !== null;
  // whether the table has the journal column (a table an earlier version created has not, until the first append adds it)
  let journal = !!opts.journal && (!exists || (await adapter.columns({ schema, identifier: table })).some((c) => c.name.toLowerCase() === 'journal'));
  const counted = async (sql: string, params: Array<string | number>): Promise<CasOutcome> => {
    try {
      if (!adapter.executeCounted) {
        await adapter.execute(sql, params);
        return 'unknown';
      }
      const n = await adapter.executeCounted(sql, params);
      // (BigQuery: two identical first rows move together)
      return n === undefined ? 'unknown' : n > 0 ? 'won' : 'lost';
    } catch (e) {
      // BigQuery refuses one of two concurrent DML statements on a table; Postgres may fail serialization
      if (/concurrent update|could not serialize|serialization failure|deadlock|conflict/i.test((e as Error).message)) return 'lost';
      throw e;
    }
  };
  const str = d.type('string');
  return {
    relation: rel,
    get: async () => {
      let rows: Array<{ version: unknown; body: unknown; journal?: unknown }>;
      try {
        rows = await adapter.query<{ version: unknown; body: unknown; journal?: unknown }>(`select version, body${journal ? ', journal' : ''} from ${rel} where id = ${p(1)} order by version desc limit 1`, [id]);
      } catch (e) {
        // no table yet: no document (reading never creates it)
        if (/does not exist|not found/i.test((e as Error).message)) return undefined;
        throw e;
      }
      const r = rows[0];
      return r ? { version: Number(r.version), body: String(r.body), ...(typeof r.journal === 'string' && r.journal ? { journal: r.journal } : {}) } : undefined;
    },
    init: async (body) => {
      if (!exists) {
        // (two first runs creating it at once both come through: createOwnTable)
        await createOwnTable(adapter, { schema, identifier: table }, `id ${str}${pk}, version ${d.type('int')} not null, body ${str} not null, updated_at ${d.type('timestamp')}${opts.journal ? `, journal ${str}` : ''}`);
        exists = true;
      }
      try {
        // (BigQuery allows WHERE only after a FROM: select from a one-row subquery.) Two first
        // runs may both insert where keys are not enforced (BigQuery): the rows are identical,
        // version 0, and the first compare-and-set UPDATE moves them all at once.
        await adapter.execute(
          `insert into ${rel} (id, version, body, updated_at) select * from (select cast(${p(1)} as ${str}) as id, 0 as version, cast(${p(2)} as ${str}) as body, ${d.current_timestamp()} as updated_at) as first_state where not exists (select 1 from ${rel} where id = ${p(3)})`,
          [id, body, id],
        );
      } catch (e) {
        // a concurrent first run inserted it: fine
        if (!/duplicate|unique|primary key|constraint|conflict/i.test((e as Error).message)) throw e;
      }
    },
    // (a new body clears the journal: its lines are in it)
    cas: (expected, body) => counted(`update ${rel} set version = ${p(1)}, body = ${p(2)}, updated_at = ${d.current_timestamp()}${journal ? ', journal = null' : ''} where id = ${p(3)} and version = ${p(4)}`, [expected + 1, body, id, expected]),
    ...(opts.journal
      ? {
          append: async (expected: number, line: string) => {
            if (!journal) {
              // a table an earlier version created: the column is added once (a concurrent run may add it first)
              try {
                await adapter.execute(`alter table ${rel} add column if not exists journal ${str}`);
              } catch (e) {
                if (!/already exists|duplicate column/i.test((e as Error).message)) throw e;
              }
              journal = true;
            }
            return counted(`update ${rel} set version = ${p(1)}, journal = coalesce(journal, '') || cast(${p(2)} as ${str}), updated_at = ${d.current_timestamp()} where id = ${p(3)} and version = ${p(4)}`, [expected + 1, line, id, expected]);
          },
        }
      : {}),
    close: async () => {},
  };
}

/** Who holds a lease kept in such a document: until when, and which process on which host. */
export interface LeaseHolder {
  host: string;
  pid: number;
  until: string;
  /** when the holding process started (a restarted container may reuse the host name and the pid) */
  started?: string;
  /** Linux: its start in clock ticks since boot (/proc/<pid>/stat), which no clock step moves */
  proc_start?: string;
  /** when the lease was taken */
  since?: string;
  /** how long a lease is: a renewal moves `until` by it (documents without it: until − since) */
  lease_ms?: number;
}

/** When this process started: told apart from an earlier process that had the same pid. */
export const PROCESS_STARTED = new Date(Math.round(Date.now() - process.uptime() * 1000)).toISOString();

/** Linux: when process `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined elsewhere. */
export function procStart(pid: number | 'self'): string | undefined {
  const s = procStat(pid);
  // a zombie, or a stopped process (SIGSTOP, a frozen cgroup), runs no job: as gone
  return s && !/^[ZXTt]$/.test(s.state) ? s.start : undefined;
}

/** Process `pid`'s state letter (R, S, D, T, t, Z, X) and start time in clock ticks, from /proc (undefined: not readable). */
function procStat(pid: number | 'self'): { state: string; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // (the name in parentheses may hold spaces: the fields are counted after its closing one, from field 3)
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], start: fields[19] };
  } catch {
    return undefined;
  }
}

/** This process's procStart, recorded with its leases. */
export const PROC_START = procStart('self');

/**
 * Whether process `pid` runs on this host (one of another user's too; a stopped one too): not a
 * zombie, which ended (what it left — a batch folder, a browser profile — is no one's).
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !/^[ZX]$/.test(procStat(pid)?.state ?? '');
}

/**
 * Whether the process recorded as `pid` on `host` (with its procStart as `proc_start`, when it
 * had one) is gone: on this host, no such pid, a zombie (it ended; its parent has not collected
 * it — a container whose first process reaps none keeps it for good), or another process has it
 * now (one started at another time). A stopped one (SIGSTOP: it may be continued) counts as
 * there. Another host's cannot be told: false.
 */
export function processGone(h: { host: string; pid: number; proc_start?: string }): boolean {
  if (h.host !== hostname()) return false;
  if (!pidAlive(h.pid)) return true;
  if (!h.proc_start) return false;
  const s = procStat(h.pid);
  return s !== undefined && s.start !== h.proc_start;
}


/**
 * A lease still holds: not run out, and (on this host) its process still runs. A lease recorded
 * with this very pid on this host by a process that started at another time belonged to a
 * process that is gone (a container restarted with the same host name and pid), not to us.
 * On this host, a holder whose process still runs (the same pid and the same start, proc_start;
 * not stopped, not a zombie) holds for one lease past `until`: a clock stepped forward, a process
 * suspended a moment, does not hand its job to another; one that has not renewed for a whole
 * lease more is wedged and does. Across hosts only `until` tells (see docs/operations.md).
 * `leaseMs`: the reader's own lease, the most a holder recorded without `lease_ms` is given.
 */
export function leaseLive(h: LeaseHolder | undefined, now = Date.now(), leaseMs = Infinity): boolean {
  if (!h) return false;
  const here = h.host === hostname();
  if (here && h.pid === process.pid && h.started !== undefined && h.started !== PROCESS_STARTED) return false;
  if (here && !pidAlive(h.pid)) return false;
  // (for one lease more at most: a holder that has not renewed by then is wedged, whatever its pid.
  // until − since is a lease only until the first renewal: after a 3 h run it was 3 h)
  const lease = typeof h.lease_ms === 'number' ? h.lease_ms : (h.since ? Math.min(leaseMs, Math.max(0, Date.parse(h.until) - Date.parse(h.since))) : 0);
  if (here && h.proc_start !== undefined && procStart(h.pid) === h.proc_start && Date.parse(h.until) + lease > now) return true;
  return Date.parse(h.until) > now;
}
