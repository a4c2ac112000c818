/**
 * `vigil sync`: copy source tables from the application's Postgres into the target, exactly
 * once. Per stream: read batches in (cursor, primary key) order with keyset pagination —
 * ties on the cursor never straddle a batch edge — through `COPY (SELECT ...) TO STDOUT` into
 * a CSV file (no rows are parsed in JavaScript, memory stays flat), then apply each batch with
 * its new cursor in one warehouse transaction. Every delta run starts `lookback` behind the
 * saved cursor, so rows whose transaction committed late with an earlier timestamp are picked
 * up; replacing rows by primary key makes the re-read harmless.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Adapter } from '../adapters/adapter.js';
import { scratchIdentifier, type Relation } from '../adapters/dialect.js';
import type { SourceNode } from '../compile/manifest.js';
import { ProjectError, WarehouseError, type Diagnostic } from '../errors.js';
import { pidAlive } from '../run/cas-document.js';
import { redact } from '../secrets.js';
import { counted } from '../format.js';
import { copyLogLines, DEFAULT_MINIMUM, lastApply } from '../retention/retention.js';
import { columnNamed } from '../adapters/adapter.js';
import { durationBefore, formatDuration } from '../time/duration.js';
import { REFILL_TABLE, STATE_TABLE, SyncConflict, type RetiredRows, type SyncColumn, type BatchFile, type BatchInfo, type SourceBatch, type StreamSpec, type StreamState, type SyncReader, type SyncWriter, type TableIdentity, identityText, caseClashes, cursorText, keyColumns, numbersAsText, primaryKeyOf, streamProblem } from './sync-types.js';
import { docRef } from '../install.js';
import { isReservedWord } from '../compile/generic-tests.js';
import { StreamBusy, type StreamLock } from './stream-lock.js';

export interface SyncRunOptions {
  mode: 'delta' | 'full';
  /** delta: start here instead of the saved cursor */
  since?: Date;
  /** full: re-read this many seconds back from now (the nightly repair); default: everything */
  lookbackSeconds?: number;
  fullRefresh: boolean;
  out: (line: string) => void;
  /** Stop at a safe point: after the batch being applied commits, no further batch or stream starts. */
  signal?: AbortSignal;
  /**
   * Called right before each stream and each batch starts, synchronously: it may abort `signal`
   * (vigil serve: the job's lease ran out), and says true when the run's lease is gone, so that a
   * batch already read is not written (a stop asked for otherwise, SIGTERM, lets it commit).
   */
  checkpoint?: () => boolean | void;
  /** Why each source database that could not be opened was not (its streams' state records it). */
  sourceErrors?: Map<string, string>;
  /** The retention logs a stream with `retention: { apply_to: source }` copies its lines from and to. */
  retentionLogs?: RetentionLogs;
  /**
   * Take a stream's lock before anything of it is read (stream-lock.ts: `vigil sync`, so that no
   * retention apply of its copy runs meanwhile), given back when the stream is done; throws
   * StreamBusy when another holds it. Serve's jobs hold their streams themselves.
   */
  lock?: (stream: string) => Promise<StreamLock>;
  /** The warehouse's target name, said when its connection is lost (connectionLost). */
  targetName?: string;
}

/** The run log of `vigil retention apply` in each source database (by target name), and the warehouse's. */
export interface RetentionLogs {
  from: Map<string, { adapter: Adapter; log: Relation }>;
  to: Relation;
  /** the warehouse's target name (its log's `target_name`) and the project's `retention.minimum`: what a stream's last apply deleted (retiredRows) */
  target?: string;
  minimum?: string;
}

export interface StreamResult {
  stream: string;
  status: 'success' | 'error' | 'interrupted';
  rows: number;
  batches: number;
  seconds: number;
  message: string;
  /** the stream is declared wrongly for its source (exit 2): nothing read, no failure recorded */
  diagnostics?: Diagnostic[];
  /** another sync of the stream committed a batch while this one ran (SyncConflict): no failure recorded */
  conflict?: boolean;
}

/** The batch files' folder in the temporary folder: named after the process that writes it. */
const BATCH_DIR_PREFIX = 'vigil-sync-';
const BATCH_DIR = new RegExp(`^${BATCH_DIR_PREFIX}(\\d+)-`);

/**
 * Remove the batch folders of syncs killed before they could remove their own (kill -9, a lost
 * machine): up to three files of a batch each (~27-109 MB). A folder whose process still runs,
 * or one named before folders carried their process, is left alone.
 */
export function removeStaleBatchDirs(base = tmpdir()): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = BATCH_DIR.exec(name)?.[1];
    if (pid && !pidAlive(Number(pid))) rmSync(join(base, name), { recursive: true, force: true });
  }
}

/** A batch's last primary key as the state keeps it (`cursor_id`): the value, or a JSON array for a composite key. */
function lastId(pk: string[]): string {
  return pk.length === 1 ? pk[0] : JSON.stringify(pk);
}

/**
 * A failure as the state records it: its first line, and DuckDB's line naming the column a CSV
 * value did not convert for (`Error when converting column "n". Could not convert string "NaN"
 * to 'DECIMAL'`); never its `Original Line:`, which holds a row of the source.
 */
export function failureText(message: string): string {
  const lines = message.split('\n');
  const column = lines.find((l) => l.startsWith('Error when converting column '));
  return column && column !== lines[0] ? `${lines[0]}; ${column}` : lines[0];
}

/**
 * A stream's failure as it is said and kept in the state table's last_error (which dashboards
 * read): its first line (failureText), secrets redacted, and — when the table has a column that
 * carries PII (declared, or named like prompt content) — the values the warehouse quoted from
 * its rows masked, as any node reading PII (check/pii-lineage.ts redactedError).
 */
async function errorText(e: unknown, s: SourceNode, described: string[], targetName: string | undefined): Promise<string> {
  let text = e instanceof Error ? failureText(e.message) : String(e);
  // a connection lost (a server restarted, a backend terminated, a network cut): which side's
  // (was: "Client has encountered a connection error and is not queryable" alone, the source and
  // the target often the same kind of server)
  if (connectionLost(e)) {
    const side = e !== null && typeof e === 'object' && FROM_SOURCE.has(e) ? `the source database '${s.sync!.from}'` : `the target${targetName ? ` '${targetName}'` : ''}`;
    if (!text.includes(side)) text = `lost the connection to ${side}: ${text} (nothing the stream committed is lost: run vigil sync again)`;
  }
  const { isPii, undeclaredContent } = await import('../compile/policy.js');
  const pii = [...s.columns.filter((c) => isPii(c)).map((c) => c.name), ...described.filter((n) => undeclaredContent(n, s.columns))];
  if (!pii.length) return redact(text);
  const { redactedError } = await import('../check/pii-lineage.js');
  return redact(redactedError(text, pii.map((c) => `${s.source_name}.${s.name}.${c}`)).replace(/\n\s*/g, ' '));
}

/** The failures a stream's source reader threw (taggedReader): a lost connection is said to be the source's. */
const FROM_SOURCE = new WeakSet<object>();

/** `reader`, each failure of its methods noted in FROM_SOURCE. */
function taggedReader(reader: SyncReader | undefined): SyncReader | undefined {
  if (!reader) return undefined;
  const note = (e: unknown): never => {
    if (e !== null && typeof e === 'object') FROM_SOURCE.add(e);
    throw e;
  };
  return new Proxy(reader, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        try {
          const r = (v as (...a: unknown[]) => unknown).apply(t, args);
          return r instanceof Promise ? r.catch(note) : r;
        } catch (e) {
          return note(e);
        }
      };
    },
  });
}

/**
 * Whether `e` (or what it wraps) is a database connection lost or refused mid-run: PostgreSQL's
 * connection exceptions (SQLSTATE class 08) and shutdowns (57P01-57P03: a backend terminated, the
 * server stopping or restarting), node-postgres' own words for a dead client, a socket reset.
 */
export function connectionLost(e: unknown): boolean {
  for (let x = e, depth = 0; x !== null && typeof x === 'object' && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    const { code, message } = x as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code) || ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED'].includes(code))) return true;
    if (typeof message === 'string' && /Connection terminated|connection error and is not queryable|server closed the connection unexpectedly|\[SQLSTATE (08[0-9A-Z]{3}|57P0[123])\]/.test(message)) return true;
  }
  return false;
}

/**
 * The key must identify a row: deletes by key and keyset positions match no NULL (a NULL key's
 * row was inserted again on every re-read, or skipped at a batch edge), and a key two rows share
 * lets one replace the other. A table's key columns must be NOT NULL and covered by its primary
 * key or a unique index; a view can be checked for neither, so its rows with a NULL key are left
 * out, counted, and its uniqueness is the project's to keep.
 */
async function checkKey(spec: StreamSpec, columns: SyncColumn[], src: SyncReader, out: (line: string) => void): Promise<void> {
  const where = `${spec.schema}.${spec.table}`;
  const key = `(${spec.primaryKey.join(', ')})`;
  const unique = await src.uniqueKey(spec);
  if (unique === 'view') {
    const nulls = await src.nullKeyRows(spec, columns);
    if (nulls > 0) out(`  ${spec.stream}: warning: ${counted(nulls, 'row')} of ${where} ha${nulls === 1 ? 's' : 've'} a NULL in the primary key ${key} and ${nulls === 1 ? 'is' : 'are'} not synced (${spec.declaredAt})`);
    return;
  }
  const nullable = spec.primaryKey.filter((k) => !columns.find((c) => c.name === k)?.notNull);
  if (nullable.length)
    throw streamProblem(spec, `primary_key ${nullable.map((k) => `'${k}'`).join(', ')} may be NULL in ${where}: a row with a NULL key is never matched by key (it doubled on every re-read, or was skipped at a batch edge)`, 'primary_key', `name columns declared NOT NULL (the table's primary key), or sync a view that leaves such rows out`);
  if (!unique)
    throw streamProblem(spec, `primary_key ${key} is not unique in ${where}: no primary key or unique index holds only its columns, and rows sharing a key would replace each other in the copy`, 'primary_key', `name the table's primary key (or the columns of a unique index)`);
}

/** The copy holds rows with a NULL in a primary_key column: no read replaces them, each would copy their rows again beside them. */
async function refuseNullKeys(spec: StreamSpec, rel: Relation, target: Adapter): Promise<void> {
  const d = target.dialect;
  const where = spec.primaryKey.map((k) => `${d.quoteIdent(k)} is null`).join(' or ');
  if (!(await target.query(`select 1 as x from ${d.relation(rel)} where ${where} limit 1`)).length) return;
  const n = Number((await target.query<{ n: unknown }>(`select count(*) as n from ${d.relation(rel)} where ${where}`))[0]?.n ?? 0);
  const key = `(${spec.primaryKey.join(', ')})`;
  throw streamProblem(
    spec,
    `${rel.schema}.${rel.identifier} holds ${counted(n, 'row')} with a NULL in primary_key ${key} (copied before ${spec.primaryKey.length === 1 ? 'that column was' : 'those columns were'} in the copy, or before it became the key): no read replaces ${n === 1 ? 'it' : 'them'} by key, and each would copy ${n === 1 ? 'its row' : 'their rows'} again beside ${n === 1 ? 'it' : 'them'}: nothing was synced`,
    'primary_key',
    `vigil sync --full-refresh -s source:${spec.stream} reads the copy again without them (or delete them from ${rel.schema}.${rel.identifier})`,
  );
}

/**
 * A stream whose retention deletes in the source (apply_to: source): its lines of the source
 * database's retention log copied into the warehouse's, as deletes are not propagated — models
 * there read when retention last ran (docs/governance.md#the-log-vigil_retention_log). A failure
 * is a warning: the rows are synced.
 */
async function copyRetentionLog(s: SourceNode, target: Adapter, opts: SyncRunOptions, said: { floor?: boolean }): Promise<void> {
  const from = s.sync && s.retention?.apply_to === 'source' && s.retention.source?.target === s.sync.from ? opts.retentionLogs?.from.get(s.sync.from) : undefined;
  if (!from || !opts.retentionLogs) return;
  const stream = `${s.source_name}.${s.name}`;
  const to = `${opts.retentionLogs.to.schema}.${opts.retentionLogs.to.identifier}`;
  // (the warehouse's log is never altered here: the sync's role need not own it; said once a run)
  const dropped = () => {
    if (!said.floor) opts.out(`  ${stream}: warning: ${to} has no override_floor column (made by an earlier Vigil; a sync does not alter it): lines of ${s.sync!.from}'s retention log were copied without their floor, and read as lines logged before Vigil recorded it (today's retention.minimum stands in); a vigil retention apply run by the log's owner adds the column`);
    said.floor = true;
  };
  try {
    const n = await copyLogLines(from.adapter, from.log, target, opts.retentionLogs.to, stream, dropped);
    if (n) opts.out(`  ${stream}: ${counted(n, 'line')} of ${s.sync!.from}'s retention log copied into ${opts.retentionLogs.to.schema}.${opts.retentionLogs.to.identifier}`);
  } catch (e) {
    opts.out(`  ${stream}: warning: ${s.sync!.from}'s retention log (${from.log.schema}.${from.log.identifier}) was not copied: ${redact(e instanceof Error ? e.message.split('\n')[0] : String(e))}`);
  }
}

/**
 * What the last `vigil retention apply` of a stream's warehouse copy deleted (retention's default
 * apply_to: warehouse), as the source spells its columns: those rows are not copied again, by any
 * mode — a full pass re-read every source row and undid the apply (docs/sync.md). Undefined
 * without retention, or without such an apply.
 */
async function retiredRows(s: SourceNode, columns: SyncColumn[], target: Adapter, opts: SyncRunOptions, out: (line: string) => void): Promise<RetiredRows | undefined> {
  const logs = opts.retentionLogs;
  if (!s.retention || s.retention.apply_to === 'source' || !logs?.target) return undefined;
  const stream = `${s.source_name}.${s.name}`;
  const last = await lastApply(target, logs.to, stream, `${s.relation.schema}.${s.relation.identifier}`, logs.target);
  if (!last) return undefined;
  const names = columns.map((c) => c.name);
  const column = columnNamed(last.column, names);
  const override = last.overrideColumn ? columnNamed(last.overrideColumn, names) : undefined;
  const missing = [column, ...(override ? [override] : [])].filter((c) => !names.includes(c));
  if (missing.length) {
    out(`  ${stream}: warning: retention's last apply on ${s.relation.schema}.${s.relation.identifier} aged rows by ${missing.join(', ')}, which the source does not have: the rows it deleted may be copied again (${s.file}:${s.line})`);
    return undefined;
  }
  // the floor that apply used, as its line logged it (was: as_of less today's retention.minimum — a
  // minimum lowered since left out rows the apply kept, one raised since copied back rows it
  // deleted); a line logged before the floor was recorded: today's minimum
  const floor = last.overrideFloor ?? durationBefore(last.asOf, logs.minimum ?? DEFAULT_MINIMUM);
  return { column, ...(override ? { overrideDays: override } : {}), cutoff: last.cutoff.toISOString(), asOf: last.asOf.toISOString(), overrideFloor: override ? floor.toISOString() : null };
}

/** A stream whose copy `rel` in `target` is its source table itself (the same server, database and table): refused, exit 2. */
async function refuseSelfCopy(spec: StreamSpec, rel: Relation, src: SyncReader, target: Adapter): Promise<void> {
  const own = target.syncReader?.();
  if (!own?.relationIdentity) return;
  const from = await src.relationIdentity!(spec.schema, spec.table);
  const to = from ? await own.relationIdentity(rel.schema, rel.identifier) : null;
  if (!from || !to || from.relation !== to.relation || !from.servers.some((x) => to.servers.includes(x))) return;
  throw streamProblem(
    spec,
    `its copy ${rel.schema}.${rel.identifier} in the ${target.type} target is ${spec.schema}.${spec.table} of the source database itself (the same database and table, or its replica's): syncing it would delete and insert the application's rows, and a --full-refresh empty the table; nothing was synced`,
    undefined,
    `land the copies in a schema of their own (the source's schema:, e.g. raw), or read the table from sync.schema of another database`,
  );
}

/** How many of the copy's newest rows a source table given a new file is looked up by, once the row at the saved cursor is gone. */
const NEWEST_ROWS_PROBED = 50;

/** How many of its newest rows stamped before where the delta starts a partition new since the last run is looked up by in the copy. */
const PART_ROWS_PROBED = 20;

/**
 * How the stream's source table is not the one its saved cursor was read from (undefined: it is):
 * another table of its name (dropped and created again, or the database restored from a dump:
 * another oid), or its storage replaced (TRUNCATE) while the row the cursor was taken from is gone.
 * A new file alone is no proof: VACUUM FULL, CLUSTER and a rewriting ALTER TABLE give one too and
 * keep the rows, so the row at the saved cursor is looked up (one index probe), then the copy's newest rows, before refusing.
 * A view whose definition or read relations changed is looked up the same way. A partitioned
 * table's partitions new since the last run (TRUNCATEd, dropped and created again, attached) are
 * looked up by their rows stamped before `deltaStart()`, which a delta does not read: when the copy
 * holds none of them the partition is refused (emptied or dropped alone, it is a delete: not propagated).
 */
async function replacedSource(spec: StreamSpec, columns: SyncColumn[], src: SyncReader, state: StreamState & { cursor_value: string; source_identity: string }, identity: TableIdentity, zone: string | undefined, copy: { writer: SyncWriter; rel: Relation }, deltaStart: () => Promise<string>): Promise<string | undefined> {
  const [wasHead, wasParts] = state.source_identity.split('+');
  const [was, wasStorage] = wasHead.split('/');
  const now = identity.relation;
  const storage = identity.storage ?? '';
  const isView = now === 'view' || was === 'view';
  // (an identity recorded by the first builds of this check began with the database's oid, which
  // pg_upgrade before PostgreSQL 15 changes: the table's alone is compared)
  const tableOid = (x: string) => x.split(':').at(-1)!;
  if (!isView && tableOid(was) !== tableOid(now)) return `was dropped and created again (another table of its name: oid ${tableOid(now)}, was ${tableOid(was)})`;
  if (identity.parts) {
    // (a state recorded before partitions were: taken to be of the table as it is)
    if (wasParts === undefined || !src.partRowsBefore || !copy.writer.heldRows) return undefined;
    const known = new Set(wasParts.split(',').filter(Boolean));
    const fresh = identity.parts.filter((p) => !known.has(`${p.oid}:${p.storage}`));
    if (!fresh.length) return undefined;
    const rows = await src.partRowsBefore(spec, columns, fresh, await deltaStart(), PART_ROWS_PROBED);
    if (!rows.length) return undefined;
    const held = await copy.writer.heldRows(copy.rel, columns, spec.cursor, spec.primaryKey, rows.map((r) => r.row));
    // a partition none of whose probed rows the copy holds, as a plain table whose file changed is
    // judged (one row held: the rows it had, rewritten by VACUUM FULL, CLUSTER; a late row stamped
    // before the cursor beside them is not a refill; was: refused for that one row)
    const partsHeld = new Set(rows.filter((_, i) => held.has(i)).map((r) => r.part));
    const missing = rows.filter((r) => !partsHeld.has(r.part));
    if (!missing.length) return undefined;
    const parts = [...new Set(missing.map((m) => m.part))];
    const first = missing[0].row;
    return `has ${parts.length === 1 ? 'a partition' : `${parts.length} partitions`} emptied and refilled, created again or attached (${parts.slice(0, 5).join(', ')}${parts.length > 5 ? ', ...' : ''}) holding rows stamped before the saved cursor that the copy does not have (${spec.primaryKey.join(', ')} ${first.slice(1).join(', ')} at ${cursorText(first[0], zone)})`;
  }
  if (wasStorage === storage || !wasStorage || !storage || !state.cursor_id || !src.holdsRow) return undefined;
  let key: string[];
  try {
    key = spec.primaryKey.length === 1 ? [state.cursor_id] : (JSON.parse(state.cursor_id) as string[]);
  } catch {
    return undefined;
  }
  if (await src.holdsRow(spec, columns, state.cursor_value, key)) return undefined;
  // that row deleted (as any row may be) before a VACUUM FULL, CLUSTER, pg_repack: the table is
  // still the one the copy was read from when it holds one of the copy's newest rows, key and
  // cursor alike (was: refused as TRUNCATEd). A refill that reuses ids (RESTART IDENTITY) stamps
  // its rows anew, so matches none of them. (A key or cursor whose text the source does not read
  // back: no match, refused as before.)
  if (copy.writer.newestRows && src.holdsAnyRow) {
    const held = await copy.writer
      .newestRows(copy.rel, spec.cursor, spec.primaryKey, NEWEST_ROWS_PROBED)
      .then((rows) => src.holdsAnyRow!(spec, columns, rows))
      .catch(() => false);
    if (held) return undefined;
  }
  const gone = `the row the saved cursor was taken from, ${spec.primaryKey.join(', ')} ${key.join(', ')} at ${cursorText(state.cursor_value, zone)}, is gone`;
  if (isView)
    return `no longer shows the rows it did (a view: its definition, or a table it reads, changed — CREATE OR REPLACE VIEW, a TRUNCATE, a DROP and CREATE — and ${gone}, as are the copy's newest rows)`;
  return `was emptied and refilled (TRUNCATE: its storage is new, and ${gone})`;
}

/**
 * The statement that makes the index a stream's reads want, for Postgres: names quoted unless
 * plain (a key word unquoted is the key word — `user` is current_user, and an index on it an
 * expression Postgres refuses).
 */
export function indexAdvice(schema: string, table: string, key: string[]): string {
  const q = (c: string) => (/^[a-z_][a-z0-9_]*$/.test(c) && !isReservedWord(c) ? c : `"${c.replace(/"/g, '""')}"`);
  return `create index on ${q(schema)}.${q(table)} (${key.map(q).join(', ')})`;
}

/** `sourceDbs`: the readers of the sync sources (`sync.from` targets), by target name. */
export async function syncStreams(sources: SourceNode[], sourceDbs: Map<string, SyncReader>, target: Adapter, opts: SyncRunOptions): Promise<StreamResult[]> {
  const writer = target.syncWriter();
  /** The table a --full-refresh refills beside the copy `rel` (`<table>__vigil_refill`, cut with a hash where the warehouse keeps shorter names). */
  const refillOf = (rel: Relation): Relation => ({ ...rel, identifier: scratchIdentifier(target.dialect, rel.identifier, 'refill') });
  const results: StreamResult[] = [];
  // warnings said once a run (copyRetentionLog)
  const said: { floor?: boolean } = {};
  removeStaleBatchDirs();
  const dir = mkdtempSync(join(tmpdir(), `${BATCH_DIR_PREFIX}${process.pid}-`));
  try {
    for (const [streamIndex, s] of sources.entries()) {
      const sync = s.sync!;
      opts.checkpoint?.();
      if (opts.signal?.aborted) {
        results.push({ stream: `${s.source_name}.${s.name}`, status: 'interrupted', rows: 0, batches: 0, seconds: 0, message: 'not started: stopping' });
        continue;
      }
      const stream = `${s.source_name}.${s.name}`;
      const t0 = performance.now();
      const rel: Relation = { schema: s.relation.schema, identifier: s.relation.identifier };
      const stateRel: Relation = { schema: s.relation.schema, identifier: STATE_TABLE };
      let rows = 0;
      let batches = 0;
      let sourceMax: string | null = null;
      // the source's TimeZone a timestamp or date cursor's wall time is in (null: timestamptz; undefined: not read yet)
      let cursorZone: string | null | undefined;
      // the stream's cursor column and key, once this run knows the state's cursor is of that column
      // and the copy holds no row the key cannot replace (recorded by recordRun)
      let recorded: { cursor: string; key: string; identity?: string | null } | undefined;
      // the source table this run reads (tableIdentity's text), recorded with the run: undefined where the reader tells none
      let identity: string | null | undefined;
      let lock: StreamLock | undefined;
      // --full-refresh of a copy others read meanwhile: the table it refills beside the copy (beginRefill), until it is swapped in or dropped
      let refill: Relation | undefined;
      const refillState: Relation = { schema: s.relation.schema, identifier: REFILL_TABLE };
      // the source table's columns as described (its undeclared ones too): which carry PII (errorText)
      let described: string[] = [];
      try {
        // (before the retention log is read: an apply of the copy holds the stream while it deletes)
        lock = await opts.lock?.(stream);
        const src = taggedReader(sourceDbs.get(sync.from));
        const spec: StreamSpec = { stream, schema: sync.schema, table: s.relation.identifier, cursor: sync.cursor, primaryKey: sync.primary_key, declaredAt: `${s.file}:${s.line}`, at: { file: s.file, line: s.line, ...sync.lines }, timestamps: writer.timestamps, separators: writer.separators, bcDates: writer.bcDates, maxInstant: writer.maxInstant };
        // before anything is written: a copy that is the source table itself (a warehouse in the
        // application's database, the copies' schema the source's) had each batch delete the
        // application's rows by key and insert them again — cascading to the tables referencing
        // it — and a --full-refresh truncate it (was: OK, exit 0)
        if (src?.relationIdentity) await refuseSelfCopy(spec, rel, src, target);
        await writer.ensureState(rel.schema);
        if (!src) {
          const e = new WarehouseError(`stream ${stream}: the source database '${sync.from}' could not be opened${opts.sourceErrors?.has(sync.from) ? `: ${opts.sourceErrors.get(sync.from)}` : ''}`, '');
          FROM_SOURCE.add(e);
          throw e;
        }
        const columns = await src.describe(spec);
        described = columns.map((c) => c.name);
        const retired = await retiredRows(s, columns, target, opts, opts.out);
        if (retired) spec.retired = retired;
        const clashes = writer.namesIgnoreCase ? caseClashes(columns) : [];
        if (clashes.length) {
          const named = clashes.map((g) => g.map((n) => `"${n}"`).join(' and ')).join('; ');
          throw streamProblem(spec, `columns ${named} of ${sync.schema}.${s.relation.identifier} would be one column in the ${target.type} copy, whose column names ignore case: nothing was synced`, undefined, `a stream copies every column of its table (sources.yml selects or renames none): sync a view in the source that renames one of them (create view ... as select ..., "${clashes[0][1]}" as ${clashes[0][1].toLowerCase()}_2 ...), or sync into a postgres target, whose names keep their case`);
        }
        await checkKey(spec, columns, src, opts.out);
        const indexed = await src.keyOrdered(spec);
        const ordered = indexed === true;
        if (!ordered) {
          const key = keyColumns(sync.cursor, sync.primary_key);
          const advice = indexed === 'view' ? '(a view: index its base table)' : indexAdvice(sync.schema, s.relation.identifier, key);
          opts.out(`  ${stream}: warning: ${sync.schema}.${s.relation.identifier} has no index on (${key.join(', ')}): every batch sorts the rows left to read (${s.file}:${s.line}); ${advice}`);
        }
        const nulls = await src.nullCursorRows(spec, columns);
        if (nulls > 0) opts.out(`  ${stream}: warning: ${nulls.toLocaleString('en-US')} row${nulls === 1 ? '' : 's'} of ${sync.schema}.${s.relation.identifier} ha${nulls === 1 ? 's' : 've'} no ${sync.cursor} (NULL, or 'infinity', which would stop every later row) and ${nulls === 1 ? 'is' : 'are'} not synced (${s.file}:${s.line}); the cursor column should be NOT NULL and finite`);
        const changed = await writer.ensureTables(rel, columns);
        // rows of the copy with a NULL in a key column (copied before that column was added to the
        // copy, then made the key, or the key changed to it) are matched by no delete by key: every
        // read copied their rows again beside them (was: a --mode full after such a key change
        // doubled every row, and each delta every updated one, exit 0)
        // (looked for once per key: a scan of the copy on Postgres, billed on BigQuery — whose state,
        // like one a role may not alter, records no key: looked for there when a key column is added)
        const keyText = JSON.stringify(sync.primary_key);
        const keyAdded = changed.added.some((c) => sync.primary_key.includes(c.name));
        const found = !opts.fullRefresh && !changed.created && !keyAdded ? await writer.readState(stateRel, stream) : undefined;
        const keyUnchecked = keyAdded || (found ? found.key_columns !== undefined && found.key_columns !== keyText : true);
        if (!opts.fullRefresh && !changed.created && keyUnchecked) {
          await refuseNullKeys(spec, rel, target).catch(async (e: unknown) => {
            // a key column this run added to the copy (NULL in each row) goes again, so the next run
            // adds it and looks again: a state that records no key (BigQuery, a role that may not
            // alter it) would not (was: the run after the refused one took the copy, and its
            // --mode full copied every row again beside its old copy)
            for (const c of changed.added.filter((x) => sync.primary_key.includes(x.name)))
              await target.execute(`alter table ${target.dialect.relation(rel)} drop column ${target.dialect.quoteIdent(c.name)}`).catch(() => undefined);
            throw e;
          });
        }
        const typed = (c: SyncColumn) => `${c.name} (${c.pgType})`;
        const table = `${rel.schema}.${rel.identifier}`;
        if (changed.added.length) opts.out(`  ${stream}: new in the source: ${changed.added.map(typed).join(', ')}; added to ${table}, where the rows synced before hold NULL until vigil sync --mode full (or --full-refresh) reads them again`);
        const asText = numbersAsText(changed.created ? columns : changed.added, (t) => target.dialect.syncColumnType(t));
        if (asText.length) opts.out(`  ${stream}: warning: ${asText.map(typed).join(', ')} ${asText.length === 1 ? 'is' : 'are'} copied into ${table} as text, exact: a number type there would round or refuse ${asText.length === 1 ? 'its values' : 'their values'}; a source column declared numeric(p,s) that the warehouse's decimal types hold is copied as one (${docRef('sync.md')}) (${s.file}:${s.line})`);
        for (const r of changed.retyped ?? []) opts.out(`  ${stream}: warning: ${typed(r.column)} lands in ${table}'s ${r.copyType} column (a new copy makes it ${r.type}: the source's type changed, or the copy is older than that rule), which rounds or refuses its values; drop ${table} and sync again (--full-refresh empties the table but keeps its column types) (${s.file}:${s.line})`);
        if (changed.gone.length) opts.out(`  ${stream}: no longer in the source: ${changed.gone.join(', ')}; kept in ${table}, NULL in the rows synced from now on (a renamed column is one gone and one new)`);
        if (opts.fullRefresh && writer.beginRefill && (await writer.hasRows(rel))) {
          // readers of the copy (a build, a BI tool) go on seeing it whole while the run refills a
          // table beside it, swapped in by one transaction at the end (was: emptied at once and
          // refilled batch by batch — a build meanwhile built from a partial copy without a word)
          refill = refillOf(rel);
          await writer.beginRefill(rel, refill, stateRel, refillState, stream, columns);
          opts.out(`  ${stream}: --full-refresh refills ${refill.schema}.${refill.identifier}; ${table} keeps its rows for its readers until the refill is complete, then takes the new ones in one transaction`);
        } else {
          if (opts.fullRefresh) await writer.reset(rel, stateRel, stream);
          // what a --full-refresh killed on the way left beside the copy (the stream's lease is this run's)
          const left = writer.dropRefill ? refillOf(rel) : undefined;
          if (left && (await target.relationExists(left))) {
            await writer.dropRefill!(left, refillState, stream);
            opts.out(`  ${stream}: dropped ${left.schema}.${left.identifier}, left by a --full-refresh that did not finish (killed?): ${table} kept its rows and its cursor`);
          }
        }
        // where the batches go, and the state they move: the refill's own while there is one
        const into = refill ?? rel;
        const intoState = refill ? refillState : stateRel;
        // (the state read for the key check above, when it was: nothing written to it since)
        let state = found && intoState === stateRel ? found : await writer.readState(intoState, stream);
        // a copy created by this run (its table dropped: what a type change asks for) or found empty
        // while the state has a cursor holds none of the rows before the cursor: read them all
        // again (was: from the cursor, the copy kept the last few minutes). The cursor goes first
        // (one transaction), so a run stopped on the way goes on from where it stopped.
        let restart = !opts.fullRefresh && !!state?.cursor_value && (changed.created || !(await writer.hasRows(rel)));
        // ...unless retention emptied it: every source row up to the cursor is one its last apply
        // deleted (was: the cursor forgotten, and every later delta read the whole source again,
        // counting the same left-out rows, the cursor never back)
        if (restart && !changed.created && retired && (await src.keptRows(spec, columns, state!.cursor_value!)) === 0) {
          restart = false;
          opts.out(`  ${stream}: ${table} is empty, as retention's last apply left it (it deleted every row up to the cursor ${state!.cursor_value}): the stream goes on from its cursor`);
        }
        if (restart) {
          opts.out(`  ${stream}: ${table} is ${changed.created ? 'new' : 'empty'} but the state has a cursor (${state!.cursor_value}): the stream starts again from the beginning${opts.since || opts.mode === 'full' ? ` (not from ${opts.since ? '--since' : 'the --mode full window'})` : ''}`);
          await writer.reset(rel, stateRel, stream);
          state = await writer.readState(stateRel, stream);
        }
        // a cursor read from another column than the stream's `cursor:` names now (changed from
        // created_at to updated_at, say) says nothing of this one: the rows updated since they were
        // copied, stamped before that cursor, were never read again (was: the saved created_at taken
        // for an updated_at, their old versions kept in the copy while every run said OK). The copy
        // keeps its rows and the stream reads from the beginning, replacing them by key.
        if (!refill && state?.cursor_value && state.cursor_column && state.cursor_column !== sync.cursor && writer.forgetCursor) {
          opts.out(`  ${stream}: the saved cursor (${cursorText(state.cursor_value, state.cursor_zone ?? undefined)}) is a value of ${state.cursor_column}, and the stream's cursor is now ${sync.cursor} (${s.file}:${s.line}): it starts again from the beginning, replacing the copy's rows by key${opts.since || (opts.mode === 'full' && opts.lookbackSeconds) ? ` (not from ${opts.since ? '--since' : 'the --mode full window'})` : ''}`);
          await writer.forgetCursor(stateRel, stream, sync.cursor);
          state = await writer.readState(stateRel, stream);
        }
        let tableId: TableIdentity | null = null;
        if (src.tableIdentity) {
          tableId = await src.tableIdentity(spec);
          identity = tableId ? identityText(tableId) : null;
        }
        if (!refill) recorded = { cursor: sync.cursor, key: keyText };
        // a cursor never passes the source's clock: a row stamped in the future is synced, but as
        // the cursor it made every later delta read from its time, missing every row written
        // before it while each run said OK (and status said 0s behind)
        const bounds = await src.cursorBounds(spec, columns, state?.cursor_value ?? null, state?.cursor_zone);
        sourceMax = bounds.max;
        cursorZone = bounds.zone ?? null;
        // (a cursor without time zone: the database's local time, in its TimeZone setting)
        const clockShown = bounds.zone ? `${bounds.clock} ${bounds.zone}` : bounds.clock;
        if (bounds.rezoned && state?.cursor_value) {
          const was = state.cursor_zone ? `the wall time of ${state.cursor_zone}` : 'an instant (or a wall time an older Vigil recorded without its zone)';
          const now = bounds.zone ? `the wall time of ${bounds.zone}` : 'an instant';
          opts.out(`  ${stream}: the saved cursor (${cursorText(state.cursor_value, state.cursor_zone ?? undefined)}) was ${was}, and ${sync.schema}.${s.relation.identifier}'s ${sync.cursor} is now ${now} (its type or the database's TimeZone changed): moved back to ${cursorText(bounds.rezoned, bounds.zone)}, so no row written since the last run is skipped`);
          await writer.clampCursor(stateRel, stream, bounds.rezoned);
          state = await writer.readState(stateRel, stream);
        }
        if (bounds.ahead.rows > 0) {
          const n = bounds.ahead.rows;
          opts.out(`  ${stream}: warning: ${counted(n, 'row')} of ${sync.schema}.${s.relation.identifier} ha${n === 1 ? 's' : 've'} ${sync.cursor} after the source's clock (${clockShown}; the latest ${bounds.ahead.latest}) (${s.file}:${s.line}): synced, but the cursor stops at the source's clock, so every run reads ${n === 1 ? 'it' : 'them'} again; the cursor column should hold no time in the future`);
        }
        if (bounds.savedAhead && state?.cursor_value) {
          opts.out(`  ${stream}: warning: the saved cursor (${state.cursor_value}) is after the source's clock (${clockShown}): a row stamped in the future became the cursor, and the delta runs since read from there; moved back to the source's clock, so this run reads from its lookback before it`);
          await writer.clampCursor(stateRel, stream, bounds.clock);
          state = await writer.readState(stateRel, stream);
        }
        // a source table dropped and created again, or emptied and refilled, since the cursor was
        // saved: the copy's rows and the cursor are of another table (was: a delta read from the
        // old cursor, kept the rows the source no longer has and never read the new ones stamped
        // before it, exit 0)
        if (!refill && tableId && state?.cursor_value && state.source_identity) {
          const savedCursor = state.cursor_value;
          const replaced = await replacedSource(spec, columns, src, state as StreamState & { cursor_value: string; source_identity: string }, tableId, bounds.zone, { writer, rel }, () => src.lookbackFrom(savedCursor, sync.lookback_seconds));
          if (replaced) {
            const where = `${sync.schema}.${s.relation.identifier}`;
            if (opts.mode === 'full' && !opts.since && !opts.lookbackSeconds && writer.forgetCursor) {
              opts.out(`  ${stream}: ${where} ${replaced} since the last run: --mode full reads it from the beginning, replacing the copy's rows by key (rows the source no longer has stay in ${table}: --full-refresh drops them)`);
              await writer.forgetCursor(stateRel, stream, sync.cursor);
              state = await writer.readState(stateRel, stream);
            } else
              throw streamProblem(
                spec,
                `${where} ${replaced} since the last run: the copy ${table} and the saved cursor (${cursorText(state.cursor_value!, bounds.zone)}) are of the table it was, so a ${opts.mode === 'full' ? 'windowed pass' : 'delta'} would keep rows the source no longer has and miss its rows stamped before the cursor: nothing was synced`,
                undefined,
                `vigil sync --full-refresh -s source:${stream} makes the copy the table as it is now; vigil sync --mode full -s source:${stream} reads it all again, replacing rows by key and keeping those it no longer has`,
              );
          }
        }
        // (the table recorded only once checked: a run failing before the check recorded a replaced table as the one its cursor is of)
        if (recorded) recorded = { ...recorded, identity };
        // where this run starts: a delta from its saved cursor less the lookback (from the
        // beginning without one); a --since or --mode full --lookback pass from its window's start,
        // but never after the delta's — the cursor follows the batches, so a window starting after
        // it skipped the rows in between for good (was: `--since` an hour after the cursor copied
        // the last hour, moved the cursor past the rows before it and said OK)
        const zoned = (t: string) => cursorText(t, bounds.zone);
        const windowed = opts.since ? { since: opts.since } : opts.mode === 'full' && opts.lookbackSeconds ? { lookbackSeconds: opts.lookbackSeconds } : undefined;
        const deltaStart = state?.cursor_value && !opts.fullRefresh && !restart && (windowed || opts.mode !== 'full') ? await src.lookbackFrom(state.cursor_value, sync.lookback_seconds) : null;
        let lower: string | null = null;
        let why = '';
        if (restart) lower = null;
        else if (windowed) {
          const w = await src.windowStart(spec, columns, windowed, deltaStart);
          const flag = windowed.since ? `--since ${w.instant}` : `--lookback ${formatDuration(opts.lookbackSeconds! * 1000)} (from ${w.instant}, the source's clock less it)`;
          if (!deltaStart || w.afterDelta) {
            lower = deltaStart;
            opts.out(`  ${stream}: ${flag} is after where this stream's delta starts (${deltaStart ? `its cursor ${zoned(state!.cursor_value!)} less its lookback` : 'the beginning: it has no cursor'}): reading from there, so no row after the cursor is skipped`);
          } else {
            lower = w.lower;
            why = w.zone ? ` (${flag})` : '';
          }
        } else if (opts.mode !== 'full') lower = deltaStart;
        opts.out(`  ${stream}: reading ${sync.schema}.${s.relation.identifier} from ${lower ? `${sync.cursor} >= ${zoned(lower)}${why}` : 'the beginning'} in batches of ${sync.batch_size.toLocaleString('en-US')}`);
        if (retired) {
          const n = await src.retiredRows(spec, columns, lower);
          if (n > 0) opts.out(`  ${stream}: ${counted(n, 'row')} older than retention's last cutoff ${retired.cutoff}${retired.overrideDays ? ` (or their own ${retired.overrideDays} period)` : ''} not copied: vigil retention apply deleted ${n === 1 ? 'it' : 'them'} from ${table} (${s.file}:${s.line})`);
        }
        // A table that starts empty is loaded without deletes (nothing to replace), so its run reads
        // ONE snapshot of the source, from the first file to the last, as Postgres' own initial
        // table copy does: in a snapshot per batch, a row whose cursor moved past the read position
        // between two batches (an update during the load) would arrive in both, its old version
        // never deleted. With rows already there, each batch deletes by key what it replaces and
        // reads a snapshot of its own (the source's vacuum is held back one batch at most).
        const replace = await writer.hasRows(into);
        // the state as this run found it: each batch moves the cursor only from there (BatchInfo.fence)
        const foundId = state?.cursor_id ?? null;
        let fence: { rowsSynced: number; cursorIds: [string | null, string | null] } = { rowsSynced: state?.rows_synced ?? 0, cursorIds: [foundId, foundId] };
        // A batch (one transaction, batch_size rows) is read as one file, or as the writer's
        // filesPerBatch files, which it loads one by one as they arrive; the files of a batch
        // read one snapshot of the source. The source reads the next file while the warehouse
        // loads this one: both cores busy. The run's first file is small (at most 20,000 rows),
        // so the warehouse starts loading at once; a warehouse that takes a batch as one file
        // gets it as a batch of its own.
        // (without the index each file would sort what is left again: one file per batch then)
        const split = ordered ? Math.max(1, writer.filesPerBatch ?? 1) : 1;
        const fileRows = Math.ceil(sync.batch_size / split);
        let planned = 0; // rows of the current batch already asked for
        let fileIndex = 0;
        let stopping = false; // no further reads: the loop is done, stopped or failed
        type FileRead = SourceBatch & { endsBatch: boolean };
        /** Ask the source for the next file: the rest of the batch, at most fileRows. */
        const readNext = (after: string[] | null): Promise<FileRead> => {
          const first = fileIndex === 0;
          const size = Math.min(sync.batch_size - planned, first ? Math.min(fileRows, 20_000) : fileRows);
          planned = first && split === 1 ? 0 : (planned + size) % sync.batch_size;
          const endsBatch = planned === 0;
          // files named by position, not after the stream: a source or table name may hold '/' (no
          // such folder: ENOENT), '..' (a file outside the temp folder) or glob characters
          const read = src.readBatch(spec, columns, { lower: after ? null : lower, after }, size, join(dir, `stream-${streamIndex}.${fileIndex++}.csv`), endsBatch && replace).then((b) => ({ ...b, endsBatch }));
          read.catch(() => undefined); // awaited when taken (or by the cleanup); never an unhandled rejection
          return read;
        };
        // Files read ahead, one after the other (each starts after the key where the previous one
        // ended), so the source does not wait for the warehouse to take a file: two of a batch in
        // several files (~27 MB each at the default batch_size), one whole batch otherwise.
        const depth = split > 1 ? 2 : 1;
        const ahead: Array<Promise<FileRead | null>> = [readNext(null)];
        const readAhead = () => {
          while (ahead.length < depth) {
            const next = ahead[ahead.length - 1].then((b) => (b?.upto && !stopping ? readNext(b.upto) : null));
            next.catch(() => undefined); // awaited when taken; never an unhandled rejection
            ahead.push(next);
          }
        };
        let interrupted = false;
        let ended = false; // the source has no row beyond the last file taken
        let waited = 0;
        /** The next file (null: none), with the reads ahead topped up. */
        const take = async (): Promise<FileRead | null> => {
          const tRead = performance.now();
          const cur = await ahead.shift()!;
          waited += performance.now() - tRead;
          if (!cur?.upto) ended = true;
          else {
            // (with one file read ahead, the next read starts when this one is taken)
            if (!ahead.length) ahead.push(readNext(cur.upto));
            readAhead();
          }
          return cur;
        };
        readAhead();
        try {
          while (!ended) {
            opts.checkpoint?.();
            if (opts.signal?.aborted) {
              // every batch so far is committed with its cursor: the next run goes on from there
              interrupted = true;
              break;
            }
            waited = 0;
            const first = await take();
            if (!first || first.rows === 0 || !first.last) {
              if (first) rmSync(first.file, { force: true });
              break;
            }
            // (the read may have taken long: a process stopped meanwhile writes no batch after its
            // lease ran out; a stop asked for while it read, SIGTERM, lets this batch commit first,
            // as the signal promises: "after the batch being applied commits")
            if (opts.checkpoint?.()) {
              rmSync(first.file, { force: true });
              interrupted = true;
              break;
            }
            const tWrite = performance.now();
            // the batch's files as the writer loads them; each removed once loaded
            let loaded = { rows: 0, last: first.last, cursor: first.cursor ?? first.last[0] };
            let allLoaded = false;
            const files = async function* (): AsyncGenerator<BatchFile> {
              let cur = first;
              for (;;) {
                try {
                  if (cur.rows > 0 && cur.last) {
                    loaded = { rows: loaded.rows + cur.rows, last: cur.last, cursor: cur.cursor ?? cur.last[0] };
                    yield { path: cur.file, rows: cur.rows, longestRecord: cur.longestRecord };
                  }
                } finally {
                  rmSync(cur.file, { force: true });
                }
                if (cur.endsBatch || ended || cur.rows === 0) break;
                const next = await take();
                if (!next) break;
                cur = next;
              }
              allLoaded = true;
            };
            // the cursor moves to the last key of the files loaded: asked only once all are
            const info = (): BatchInfo => {
              if (!allLoaded) throw new WarehouseError(`stream ${stream}: the writer asked for the batch's cursor before loading all of its files; nothing was committed`, '');
              return { rows: loaded.rows, lastCursor: loaded.cursor, lastId: lastId(primaryKeyOf(sync.cursor, sync.primary_key, loaded.last)), fence };
            };
            let b: BatchInfo;
            try {
              b = await writer.applyBatch(into, columns, files(), sync.primary_key, intoState, stream, sourceMax, replace, info);
            } finally {
              // (a writer that failed before taking its first file leaves it: removed here)
              rmSync(first.file, { force: true });
            }
            if (process.env.VIGIL_SYNC_TIMING) opts.out(`    waited for reads ${waited.toFixed(0)} ms, apply ${(performance.now() - tWrite).toFixed(0)} ms, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`);
            batches++;
            rows += b.rows;
            fence = { rowsSynced: fence.rowsSynced + b.rows, cursorIds: [foundId, b.lastId] };
            const secs = (performance.now() - t0) / 1000;
            opts.out(`  ${stream}: batch ${batches}, ${counted(rows, 'row')}, ${Math.round(rows / Math.max(secs, 1e-3)).toLocaleString('en-US')} rows/s`);
          }
        } finally {
          // no read starts after this; those in flight finish (or fail), their files go, and a
          // batch's snapshot left open (stopped or failed mid-batch) is closed
          stopping = true;
          for (const b of await Promise.all(ahead.map((a) => a.catch(() => null)))) if (b) rmSync(b.file, { force: true });
          await src.release();
        }
        const seconds = (performance.now() - t0) / 1000;
        const done = `${counted(rows, 'row')} in ${counted(batches, 'batch', 'batches')}`;
        if (interrupted) {
          const dropped = !!refill;
          if (refill) {
            await writer.dropRefill!(refill, refillState, stream);
            refill = undefined;
          }
          // (last_run_rows: what the copy took — none of a refill dropped)
          await writer.recordRun(stateRel, stream, 'interrupted', null, sourceMax, dropped ? 0 : rows, cursorZone, recorded);
          const rest = dropped ? `the refill is dropped: ${table} keeps its rows and its cursor from before this run (run --full-refresh again to refill it)` : opts.mode === 'full' || opts.since ? 'the cursor stays where this pass found it or took it, whichever is later: a delta run goes on from there, and this pass is not resumed (run it again for the rest)' : 'the next run continues from its cursor';
          results.push({ stream, status: 'interrupted', rows, batches, seconds, message: `stopped after ${done}; ${rest}` });
        } else {
          if (refill) {
            await writer.finishRefill!(rel, refill, stateRel, refillState, stream, columns);
            refill = undefined;
            opts.out(`  ${stream}: ${table} refilled: ${counted(rows, 'row')}, swapped in`);
            recorded = { cursor: sync.cursor, key: keyText, identity };
          }
          await writer.recordRun(stateRel, stream, 'success', null, sourceMax, rows, cursorZone, recorded);
          results.push({ stream, status: 'success', rows, batches, seconds, message: done });
          await copyRetentionLog(s, target, opts, said);
        }
      } catch (e) {
        if (e instanceof ProjectError) {
          // the project's mistake, not the stream's: no failure recorded (the state says when it last synced)
          results.push({ stream, status: 'error', rows, batches, seconds: (performance.now() - t0) / 1000, message: e.diagnostics.map((d) => `${d.message}${d.file ? ` (${d.file}${d.line ? `:${d.line}` : ''})` : ''}`).join('; '), diagnostics: e.diagnostics });
          continue;
        }
        const message = await errorText(e, s, described, opts.targetName);
        // the cursor stays where the last committed batch left it; the failure is counted — but
        // not when another run of the stream holds it: the state is that run's to write (nor when
        // another held its lock: nothing of it was read)
        // (last_run_rows: what the copy took — none of a refill, dropped below)
        if (!(e instanceof SyncConflict) && !(e instanceof StreamBusy)) await writer.recordRun(stateRel, stream, 'error', message, sourceMax, refill ? 0 : rows, cursorZone, refill ? undefined : recorded).catch(() => undefined);
        results.push({ stream, status: 'error', rows, batches, seconds: (performance.now() - t0) / 1000, message: e instanceof StreamBusy ? `${message}: not synced (run vigil sync again once it is done)` : message, ...(e instanceof SyncConflict ? { conflict: true } : {}) });
      } finally {
        // a refill not swapped in (a failure; a stop is dropped above): dropped, the copy as it was
        if (refill) await writer.dropRefill!(refill, refillState, stream).catch((e: unknown) => opts.out(`  ${stream}: warning: could not drop ${refill!.schema}.${refill!.identifier} (the stream's next run drops it): ${redact(String((e as Error).message ?? e).split('\n')[0])}`));
        await lock?.release();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
