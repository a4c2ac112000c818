/**
 * A JSON document with a version, kept in one row of a warehouse table and replaced only by
 * compare-and-set: the primitive under the alert state (src/alerts/state.ts) and the job
 * leases of `vigil serve` (src/serve/lease.ts), so scheduled runs on different machines that
 * share a target coordinate through it. Rows are keyed by `id`; one table holds many documents.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { createOwnTable, type Adapter } from '../adapters/adapter.js';
import { isPermissionDenied, WarehouseError } from '../errors.js';

/** Whether a compare-and-set took: `unknown` where the warehouse does not count the rows a statement changed (read back to tell). */
export type CasOutcome = 'won' | 'lost' | 'unknown';

/**
 * The storage primitive: read the current version, create the empty version-0 document when
 * there is none (idempotent: concurrent first runs write the same bytes), or replace it only
 * if it is still `expected`. A backend with a journal also appends to the document: a line
 * (its `journal`, superseded by the next replacement) that moves the version as a replacement
 * does, written at the cost of the line, not of the document (src/alerts/state.ts).
 */
export interface CasBackend {
  get(): Promise<CasDocument | undefined>;
  init(body: string): Promise<void>;
  cas(expected: number, body: string): Promise<CasOutcome>;
  /** Append `line` to the journal if the document is still at `expected` (absent: only whole documents are written). */
  append?(expected: number, line: string): Promise<CasOutcome>;
  /** Drop the journal lines of the bodies before the one written at `version` (called once that write is known to have won). */
  compact?(version: number): Promise<void>;
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
  const writeId = doc.writeId;
  return settled(cas, () => cas.cas(expected, serialize(doc)), expected, writeId, parse);
}

/**
 * Append a journal line made by `line(writeId)` (it records the fresh writeId it is given, as the
 * document read back with it says) if the document is still at `expected`: the new version,
 * or undefined when another writer won.
 */
export async function casAppend(cas: CasBackend, expected: number, line: (writeId: string) => string, parse: (cur: CasDocument) => { writeId?: string }): Promise<number | undefined> {
  if (!cas.append) throw new Error('internal: this document has no journal');
  const writeId = randomBytes(8).toString('hex');
  const text = line(writeId);
  return settled(cas, () => cas.append!(expected, text), expected, writeId, parse);
}

/**
 * The journal of a document cannot be used (its table could not be made): the caller writes whole
 * documents instead. Thrown by CasBackend.append before anything is written.
 */
export class JournalUnavailableError extends WarehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, '', options);
    this.name = 'JournalUnavailableError';
  }
}

/**
 * The outcome of a write: `won`/`lost` as the warehouse counted, else the document read back. A
 * write whose statement failed (an error, not a refused compare-and-set) may have committed all the
 * same — BigQuery can answer 5xx, or no answer at all, after the UPDATE took — so it is read back
 * too: our writeId there, it won; the version moved by another writer, it lost; the version
 * unchanged, the write did not take, and its error is thrown (was: thrown whatever the document
 * said, and a journal line's error then read as the lock lost).
 */
async function settled(cas: CasBackend, write: () => Promise<CasOutcome>, expected: number, writeId: string, parse: (cur: CasDocument) => { writeId?: string }): Promise<number | undefined> {
  let outcome: CasOutcome;
  let failed: unknown;
  try {
    outcome = await write();
  } catch (e) {
    if (e instanceof JournalUnavailableError) throw e;
    outcome = 'unknown';
    failed = e;
  }
  if (outcome === 'won') return expected + 1;
  if (outcome === 'lost') return undefined;
  let now: CasDocument | undefined;
  try {
    now = await cas.get();
  } catch (e) {
    // (nothing to tell by: the write's own error, else the read's)
    throw failed ?? e;
  }
  if (now && parse(now).writeId === writeId) return now.version;
  if (failed !== undefined && (!now || now.version === expected)) throw failed;
  return undefined;
}

/**
 * The document `id` in table `schema.table` of the warehouse. The table is created on the first
 * write: reading (dry runs, status) leaves the warehouse untouched. The document, the version
 * and the id travel as bind parameters, never as SQL text. A compare-and-set knows it won from
 * the rows its UPDATE changed (Postgres, DuckDB, BigQuery's numDmlAffectedRows); where the
 * warehouse does not say, the caller re-reads to see whose write won.
 *
 * `journal`: for CasBackend.append, a second table `<table>_journal` (created at the first
 * append) holding one row per line: (id, seq, line), seq the version the line moved the document
 * to. A line is an INSERT of its own row, then the compare-and-set UPDATE of the version alone
 * (the body is not touched), so a mark costs its line whatever the size of the document; a
 * journal kept in a column of the document's row (as Vigil did before) was the whole column
 * rewritten at each line, so it had to be folded into a whole write every 128 KB, and each fold
 * rewrote the document (a 29 MB state: 90 whole writes for 20,000 instances). The row is written
 * before the version moves: a reader takes only rows up to the version it read, so a row whose
 * UPDATE did not follow (killed, or the compare-and-set lost) is never read as written; a row
 * left on an older body is skipped by its line's base (src/alerts/state.ts) and dropped by the
 * next compact(); a reader whose two statements (the body, then its lines) a whole write and its
 * compact() came between sees the version moved, and reads again. A table an earlier version made has a `journal` column: its lines are read
 * first, and cleared by the next replacement.
 */
export async function warehouseCas(
  adapter: Adapter,
  schema: string,
  table: string,
  id: string,
  /** linesFor: whether lines may have been appended on this body (false: its journal is not read — before its table exists, a failing statement at every read) */
  opts: { journal?: boolean; linesFor?: (body: string) => boolean } = {},
): Promise<CasBackend & { relation: string }> {
  const d = adapter.dialect;
  const p = (i: number) => d.param(i);
  const rel = d.relation({ schema, identifier: table });
  const pk = adapter.warehouse.capabilities.primaryKeys ? ' primary key' : '';
  // (asked once, for init(): a table created since is found by get() itself, and `create table if not exists` is harmless)
  let exists = (await adapter.relationExists({ schema, identifier: table })) !== null;
  // whether the table has the journal column an earlier version kept its lines in (read, and cleared by a replacement)
  const journal = !!opts.journal && exists && (await adapter.columns({ schema, identifier: table })).some((c) => c.name.toLowerCase() === 'journal');
  const jrel = d.relation({ schema, identifier: `${table}_journal` });
  // (known to exist: a table not seen yet is asked for at every read, since another run may have made it meanwhile)
  let journalTable = false;
  // the seq of the last line's row this backend inserted whose compare-and-set did not win (or
  // whose outcome is unknown): a retry at the same version replaces it. Two rows of one seq and one
  // body would both be read once the version reaches it, the older after the newer as often as not
  let unsettled: number | undefined;
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
      const versionNow = `select version from ${rel} where id = ${p(1)} order by version desc limit 1`;
      for (let attempt = 1; ; attempt++) {
        let rows: Array<{ version: unknown; body: unknown; journal?: unknown }>;
        try {
          rows = await adapter.query<{ version: unknown; body: unknown; journal?: unknown }>(`select version, body${journal ? ', journal' : ''} from ${rel} where id = ${p(1)} order by version desc limit 1`, [id]);
        } catch (e) {
          // no table yet: no document (reading never creates it)
          if (/does not exist|not found/i.test((e as Error).message)) return undefined;
          throw e;
        }
        const r = rows[0];
        if (!r) return undefined;
        const version = Number(r.version);
        let lines = typeof r.journal === 'string' ? r.journal : '';
        let read = false;
        if (opts.journal && (opts.linesFor?.(String(r.body)) ?? true)) {
          try {
            // (up to the version read: a row whose compare-and-set has not followed, or lost, is not written)
            const js = await adapter.query<{ line: unknown }>(`select line from ${jrel} where id = ${p(1)} and seq <= ${p(2)} order by seq`, [id, version]);
            journalTable = read = true;
            for (const j of js) lines += String(j.line);
          } catch (e) {
            if (journalTable || !/does not exist|not found/i.test((e as Error).message)) throw e;
          }
        }
        // The body and its lines are two statements: a whole write and its compact() between them
        // deleted the lines of the body read (a reader saw the marks since it as never made: a sent
        // message pending). The version unchanged since, no write came between (every write moves it)
        if (read && Number((await adapter.query<{ version: unknown }>(versionNow, [id]))[0]?.version) !== version) {
          // (bounded: a document rewritten under every read cannot be read whole; the last read
          // returned as it was would miss the lines of its body, sent messages shown pending)
          if (attempt < 10) continue;
          throw new WarehouseError(`could not read ${rel} (id ${id}): it was rewritten during each of ${attempt} reads in a row (another run writing it without pause); retry`, '');
        }
        return { version, body: String(r.body), ...(lines ? { journal: lines } : {}) };
      }
    },
    init: async (body) => {
      if (!exists) {
        // (two first runs creating it at once both come through: createOwnTable)
        await createOwnTable(adapter, { schema, identifier: table }, `id ${str}${pk}, version ${d.type('int')} not null, body ${str} not null, updated_at ${d.type('timestamp')}`);
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
            if (!journalTable) {
              try {
                // (two runs creating it at once both come through: createOwnTable)
                if (!(await adapter.relationExists({ schema, identifier: `${table}_journal` }))) await createOwnTable(adapter, { schema, identifier: `${table}_journal` }, `id ${str} not null, seq ${d.type('int')} not null, line ${str} not null`);
              } catch (e) {
                // only a refusal (the role may not create tables) turns the journal off for the run;
                // any other failure of the check or the create (a connection lost, a statement
                // cancelled) is this line's: thrown as such (the whole document written instead, the
                // next line checks again). Was: every failure, the journal off for the rest of the run
                if (isPermissionDenied(e)) throw new JournalUnavailableError(`the journal table ${jrel} could not be made: ${(e as Error).message}`, { cause: e });
                throw e;
              }
              journalTable = true;
            }
            // the line first, then the version: read only once the version reaches it (see above)
            const seq = expected + 1;
            if (unsettled === seq) await adapter.execute(`delete from ${jrel} where id = ${p(1)} and seq = ${p(2)}`, [id, seq]);
            await adapter.execute(`insert into ${jrel} (id, seq, line) values (${p(1)}, ${p(2)}, ${p(3)})`, [id, seq, line]);
            unsettled = seq;
            const outcome = await counted(`update ${rel} set version = ${p(1)}, updated_at = ${d.current_timestamp()} where id = ${p(2)} and version = ${p(3)}`, [seq, id, expected]);
            if (outcome === 'won') unsettled = undefined;
            return outcome;
          },
          compact: async (version: number) => {
            if (journalTable) await adapter.execute(`delete from ${jrel} where id = ${p(1)} and seq <= ${p(2)}`, [id, version]);
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
  /** Linux: the machine's boot and the holder's PID namespace (HOST_NS): which pids its pid is one of */
  ns?: string;
}

/**
 * Linux: this boot of the machine and this process's PID namespace (`<boot_id>/pid:[<inode>]`),
 * recorded with a lease beside the host name. Two processes with one host name are not always
 * on one machine's pids: containers with the host's network (docker --network host, Kubernetes
 * hostNetwork) have its host name and pid namespaces of their own, and two machines may share a
 * name. A holder recorded with another ns is judged as one on another host: by its lease's end
 * (was: its pid looked up among this process's pids — not there, so "gone", and a live serve's
 * job taken over at once, run twice at the same time). Undefined elsewhere.
 */
export const HOST_NS = ((): string | undefined => {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return `${boot}/${readlinkSync('/proc/self/ns/pid')}`;
  } catch {
    return undefined;
  }
})();

/**
 * Whether holder `h` ran on this host, among this process's pids: its host name, and its ns where
 * it recorded one. A holder that recorded an ns when this process cannot read its own (/proc not
 * readable: a hardened container, systemd's ProcSubset=pid, gVisor) is not taken for one of ours:
 * it could read /proc where we cannot, so it ran elsewhere (was: taken for ours, its pid looked up
 * among ours, not there — and its live job taken over at once). It is judged by its lease.
 * A holder recorded without one (an older Vigil's, or one without /proc) is judged by its name.
 */
export function onThisHost(h: { host: string; ns?: string }, ours: string | undefined = HOST_NS): boolean {
  return h.host === hostname() && (singleHost || h.ns === undefined || h.ns === ours);
}

let singleHost = false;
/**
 * `serve.single_host: true`: this host runs the project's one serve at a time, so a holder with
 * this host name is one of ours whatever PID namespace it recorded (a container restarted, a
 * machine rebooted): judged by its pid and start among ours, its job taken over at once when it
 * is gone, not when its lease runs out. Two serves in containers with one host name must not set it.
 */
export function setSingleHost(on: boolean): void {
  singleHost = on;
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
 * This process as a holder records it (a serve's job lease, a running sync's run_owner, the alert
 * state file's mutex), told apart from another by what processGone and leaseLive read: its host,
 * pid and start, and where Linux says them its start in ticks and its boot and PID namespace.
 */
export function thisProcess(): { host: string; pid: number; started: string; proc_start?: string; ns?: string } {
  return { host: hostname(), pid: process.pid, started: PROCESS_STARTED, ...(PROC_START ? { proc_start: PROC_START } : {}), ...(HOST_NS ? { ns: HOST_NS } : {}) };
}

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
export function processGone(h: { host: string; pid: number; proc_start?: string; ns?: string }): boolean {
  if (!onThisHost(h)) return false;
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
  const here = onThisHost(h);
  if (here && h.pid === process.pid && h.started !== undefined && h.started !== PROCESS_STARTED) return false;
  if (here && !pidAlive(h.pid)) return false;
  // (for one lease more at most: a holder that has not renewed by then is wedged, whatever its pid.
  // until − since is a lease only until the first renewal: after a 3 h run it was 3 h)
  const lease = typeof h.lease_ms === 'number' ? h.lease_ms : (h.since ? Math.min(leaseMs, Math.max(0, Date.parse(h.until) - Date.parse(h.since))) : 0);
  if (here && h.proc_start !== undefined && procStart(h.pid) === h.proc_start && Date.parse(h.until) + lease > now) return true;
  return Date.parse(h.until) > now;
}
