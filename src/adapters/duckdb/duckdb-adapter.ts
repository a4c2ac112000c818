/**
 * DuckDB adapter: the embedded default warehouse. One database instance per run and a
 * small pool of connections (one per executor thread). Every replacement is atomic: a
 * failing rebuild leaves the previous table or view readable.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { availableParallelism, totalmem } from 'node:os';
import type { DuckDBConnection, DuckDBInstance, DuckDBType, DuckDBValue, DuckDBValueConverter } from '@duckdb/node-api';
import { loadDuckDb } from './duckdb-module.js';
import { WarehouseBusyError, WarehouseError } from '../../errors.js';
import { aroundTransaction, castLossFailure, newReplaceColumnFailure, castLossSql, droppedColumnsFailure, retypedColumns, ExactNumber, hasHooks, hooksOfRun, incrementalMessage, maskingAfterRun, mergeDuplicatesFailure, mergeDuplicatesSql, storedDuplicatesSql, storedDuplicatesWarning, builtDuplicatesWarning, duplicatesWarning, joinWarnings, maskingChangeFailure, partitionCountSql, recordedMasking, withMaskingLine, nullKeysSql, nullKeyWarning, partitionDeleteSql, preciseTime, replaceBy, schemaChangeFailure, withHooks, type Adapter, type Column, type LoadRequest, type MaterializeRequest, type MaterializeResult, type Preview, type ReferencingKey, type Row } from '../adapter.js';
import { loadColumnType, type Relation, type SqlParam } from '../dialect.js';
import type { SyncWriter } from '../../sync/sync-types.js';
import { duckDbDialect } from './duckdb-dialect.js';
import type { DuckDbTargetConfig } from './duckdb-config.js';
import { warehouse } from './index.js';
import { StandardSyncWriter } from '../../sync/standard-sync-writer.js';
import { RelationCatalog } from '../relation-catalog.js';
import { arrayDims, bcAfterDate, csvSeparators, fromBatchValue, isArrayColumn, type BatchFile, type BatchInfo, type ColumnChanges, type SyncColumn } from '../../sync/sync-types.js';

const NUMERIC_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL|VARINT|BIGNUM)\b/;

/** A value of getRowObjectsJson as preview shows it, by its type; in lists, arrays, structs, maps and unions too. */
function previewValue(type: DuckDBType, v: unknown): unknown {
  if (v === null || v === undefined) return v;
  // (the nested types by their fields: the classes are in the module loaded on demand)
  const t = type as Partial<{ valueType: DuckDBType; keyType: DuckDBType; entryNames: readonly string[]; entryTypes: readonly DuckDBType[]; memberTags: readonly string[]; memberTypes: readonly DuckDBType[] }>;
  if (t.entryNames && t.entryTypes && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, previewValue(t.entryTypes![t.entryNames!.indexOf(k)] ?? type, x)]));
  if (t.memberTags && t.memberTypes && typeof v === 'object' && 'tag' in v) return { ...v, value: previewValue(t.memberTypes[t.memberTags.indexOf(String(v.tag))] ?? type, (v as { value?: unknown }).value) };
  if (t.keyType && t.valueType && Array.isArray(v)) return v.map((e: { key: unknown; value: unknown }) => ({ key: previewValue(t.keyType!, e.key), value: previewValue(t.valueType!, e.value) }));
  if (t.valueType && Array.isArray(v)) return v.map((x) => previewValue(t.valueType!, x));
  const name = String(type);
  if (NUMERIC_TYPE.test(name) && typeof v === 'string' && /^-?\d/.test(v)) return new ExactNumber(v);
  // a FLOAT (4 bytes) as its shortest decimal: 0.1, not the double 0.10000000149011612
  if (typeof v === 'number' && name === 'FLOAT') return shortestFloat32(v);
  if (isInterval(v)) return intervalText(v.months, v.days, BigInt(v.micros));
  return v;
}

function isInterval(v: unknown): v is { months: number; days: number; micros: string | number } {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).join() === 'months,days,micros';
}

/** The shortest decimal that reads back as the same 4-byte float. */
function shortestFloat32(v: number): number {
  for (let p = 1; p < 9; p++) {
    const x = Number(v.toPrecision(p));
    if (Math.fround(x) === v) return x;
  }
  return v;
}

/** A type that holds a date or a timestamp (in a list or a struct too). */
const hasTime = (t: DuckDBType) => /DATE|TIMESTAMP/.test(t.toString());

let converters: Promise<{ js: DuckDBValueConverter<unknown>; json: DuckDBValueConverter<unknown> }> | undefined;

/** A date's or timestamp's value, as DuckDB's client hands it over. */
type TimeValue = { isFinite: boolean; days?: number; micros?: bigint; nanos?: bigint; millis?: bigint; seconds?: bigint };

/**
 * `query`'s values (js): getRowObjectsJS's, except a timestamp with digits below the millisecond,
 * which keeps them (PreciseTime): a Date would round 10:00:00.123456 to .123, another value.
 * `preview`'s (json): getRowObjectsJson's. In both an infinite date or timestamp is the text
 * DuckDB prints, 'infinity' or '-infinity' (the client's JS converter refused one; its JSON text
 * of a date was 5881580-07-11).
 */
function valueConverters(): Promise<{ js: DuckDBValueConverter<unknown>; json: DuckDBValueConverter<unknown> }> {
  converters ??= loadDuckDb().then((api) => {
    const js = api.JSDuckDBValueConverter as DuckDBValueConverter<unknown>;
    const json = api.JsonDuckDBValueConverter as DuckDBValueConverter<unknown>;
    const times = [api.DuckDBDateValue, api.DuckDBTimestampValue, api.DuckDBTimestampTZValue, api.DuckDBTimestampSecondsValue, api.DuckDBTimestampMillisecondsValue, api.DuckDBTimestampNanosecondsValue];
    const infinite = (value: unknown): string | undefined => {
      if (!times.some((c) => value instanceof c) || (value as TimeValue).isFinite) return undefined;
      const v = value as TimeValue;
      return Number(v.days ?? v.micros ?? v.nanos ?? v.millis ?? v.seconds) > 0 ? 'infinity' : '-infinity';
    };
    const precise = (units: bigint, perMs: bigint, digits: number): Date | undefined => {
      const ms = units / perMs - (units % perMs < 0n ? 1n : 0n);
      // (beyond a Date's range: DuckDB's own converter says so)
      return ms >= -8_640_000_000_000_000n && ms <= 8_640_000_000_000_000n ? preciseTime(Number(ms), String(units - ms * perMs).padStart(digits, '0')) : undefined;
    };
    const convert: DuckDBValueConverter<unknown> = (value, type, self) => {
      const inf = infinite(value);
      if (inf) return inf;
      if ((value instanceof api.DuckDBTimestampValue || value instanceof api.DuckDBTimestampTZValue) && value.micros % 1000n !== 0n) return precise(value.micros, 1000n, 3) ?? js(value, type, self);
      if (value instanceof api.DuckDBTimestampNanosecondsValue && value.nanos % 1_000_000n !== 0n) return precise(value.nanos, 1_000_000n, 6) ?? js(value, type, self);
      return js(value, type, self);
    };
    return { js: convert, json: (value, type, self) => infinite(value) ?? json(value, type, self) };
  });
  return converters;
}

/** An INTERVAL as DuckDB casts it to text: `1 year 2 months -3 days 04:05:06.5`. */
export function intervalText(months: number, days: number, micros: bigint): string {
  const unit = (n: number, w: string) => `${n} ${w}${Math.abs(n) === 1 ? '' : 's'}`;
  const parts: string[] = [];
  const years = Math.trunc(months / 12);
  if (years) parts.push(unit(years, 'year'));
  if (months % 12) parts.push(unit(months % 12, 'month'));
  if (days) parts.push(unit(days, 'day'));
  if (micros || !parts.length) {
    const neg = micros < 0n;
    const m = neg ? -micros : micros;
    const two = (n: bigint) => String(n).padStart(2, '0');
    const frac = m % 1_000_000n ? `.${String(m % 1_000_000n).padStart(6, '0').replace(/0+$/, '')}` : '';
    parts.push(`${neg ? '-' : ''}${two(m / 3_600_000_000n)}:${two((m / 60_000_000n) % 60n)}:${two((m / 1_000_000n) % 60n)}${frac}`);
  }
  return parts.join(' ');
}

/**
 * A DuckDB error with its position: DuckDB prints `LINE n: <text>` and a caret under the
 * offending character on the next line. A long line is shown as a window of it (`...` on either
 * side): the window is found in the statement's own line to get the real column.
 */
export function duckError(e: unknown, sql: string): WarehouseError {
  const message = e instanceof Error ? e.message : String(e);
  const m = /LINE (\d+): (.*)\n( *)\^/.exec(message);
  const line = m ? Number(m[1]) : Number(/LINE (\d+):/.exec(message)?.[1] ?? NaN);
  let column: number | undefined;
  if (m) {
    const shown = m[2];
    const caret = m[3].length - `LINE ${m[1]}: `.length;
    const dots = shown.startsWith('...') ? 3 : 0;
    const snippet = shown.slice(dots).replace(/\.\.\.$/, '');
    const at = dots ? (sql.split('\n')[line - 1] ?? '').indexOf(snippet) : 0;
    column = at >= 0 ? at + caret - dots + 1 : undefined;
  }
  const position = Number.isFinite(line) ? { line, column } : undefined;
  return new WarehouseError(message, sql, { cause: e, position });
}

/**
 * An incremental table that holds no row (built by `build --empty`, or emptied by hand) is filled
 * from the model's full query, in place: its incremental query would read `max(...)` of nothing
 * (NULL) and add nothing, run after run, while the build said OK.
 */
async function emptyTable(c: DuckDBConnection, rel: string): Promise<boolean> {
  return (await DuckDbAdapter.read(c, `select 1 as one from ${rel} limit 1`)).length === 0;
}

/**
 * A schema's or relation's name as DuckDB looks it up: without its case, quoted or not (`"Marts"."Sec"`
 * is the table marts.sec). The catalog cache and the catalog queries compare names so: a case the
 * relation was not created with found nothing, and an incremental model was rebuilt whole by a
 * `create or replace table` on every run (full_refresh: false too), then failed on its columns.
 */
const fold = (name: string) => name.toLowerCase();

/** A table's comment, read on the build's connection. */
async function commentOf(c: DuckDBConnection, rel: Relation): Promise<string | null> {
  const rows = await DuckDbAdapter.read<{ comment: string | null }>(c, `select comment from duckdb_tables() where database_name = current_database() and lower(schema_name) = lower($1) and lower(table_name) = lower($2)`, [rel.schema, rel.identifier]);
  return rows[0]?.comment ?? null;
}

export class DuckDbAdapter implements Adapter {
  readonly warehouse = warehouse;
  readonly type = 'duckdb';
  readonly dialect = duckDbDialect;
  /** read_csv is told new_line '\r\n' */
  readonly loadsCrlf = true;
  readonly maxConcurrency: number;
  readonly previewNamesEmpty = true;
  /** Which of DuckDB's settings the target sets itself (a sync tunes only the others). */
  configured = { threads: false, memory_limit: false };
  private idle: DuckDBConnection[] = [];
  private waiters: Array<(c: DuckDBConnection) => void> = [];
  private all: DuckDBConnection[] = [];
  private tmpSeq = 0;
  /** The relations of each schema, listed once and kept current (names folded: fold). One object: exclusive()'s scoped adapter shares it. */
  private readonly catalog = new RelationCatalog();

  private constructor(
    private readonly instance: DuckDBInstance,
    readonly path: string,
    poolSize: number,
  ) {
    this.maxConcurrency = poolSize;
  }

  /** Open (creating folders as needed) the database file named by the target. */
  static async open(cfg: DuckDbTargetConfig, projectRoot: string, poolSize = 1, readOnly = false): Promise<DuckDbAdapter> {
    const { DuckDBInstance } = await loadDuckDb();
    let path = cfg.path === ':memory:' ? ':memory:' : resolve(projectRoot, cfg.path);
    // only read (`vigil docs generate`): a file not there is an empty database, not one created
    // (nor its folder); one there is opened read-only, beside a process that writes it
    if (readOnly && path !== ':memory:' && !existsSync(path)) path = ':memory:';
    if (path !== ':memory:' && !readOnly) mkdirSync(dirname(path), { recursive: true });
    const options: Record<string, string> = {};
    if (readOnly && path !== ':memory:') options.access_mode = 'READ_ONLY';
    if (cfg.threads) options.threads = String(cfg.threads);
    if (cfg.memory_limit) options.memory_limit = cfg.memory_limit;
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, options);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (/lock/i.test(msg)) {
        const pid = /\(PID (\d+)\)/.exec(msg)?.[1];
        const holder = pid ? commandOf(Number(pid)) : undefined;
        throw new WarehouseBusyError(`${cfg.path} is in use by another process${holder ? ` (PID ${pid}: ${holder})` : ''} (${msg.split('\n')[0]}); close it (a BI tool, another vigil run) and retry`, holder, { cause: e }, pid ? Number(pid) : undefined);
      }
      // a damaged file (a truncated copy, another program's file at its path) is no one's to repair: say what to do with it
      // (a damaged write-ahead log beside a sound file — a torn write, a disk that filled — is the
      // log's alone: moving the database aside for it would throw away every checkpointed table,
      // the alert state and the sync cursors with them)
      const walDamaged = /Corrupt WAL|\.wal"/i.test(msg);
      const damaged = !walDamaged && /not a valid DuckDB database file|Corrupt database file|checksum|Could not read enough bytes from file|database file .* is (?:truncated|damaged)/i.test(msg);
      const hint = walDamaged
        ? `\n  hint: the database's write-ahead log ${cfg.path}.wal is damaged, not the database. Move the log aside (mv ${cfg.path}.wal ${cfg.path}.wal.damaged) and retry: the database opens as of its last checkpoint, without the changes made since (run vigil build again to redo them); keep ${cfg.path} itself`
        : damaged
          ? `\n  hint: the file is not a DuckDB database this version can read (damaged, truncated, or another program's). Move it aside (mv ${cfg.path} ${cfg.path}.damaged) and build it again: vigil build (and vigil sync, vigil seed, or vigil demo for the demo data); the alert state and sync cursors kept in it start over, so firing alerts notify again and a sync copies its streams from the beginning`
          : '';
      throw new WarehouseError(
        `could not open DuckDB database ${cfg.path}: ${msg}${hint}`,
        '',
        { cause: e },
      );
    }
    const a = new DuckDbAdapter(instance, path, Math.max(1, poolSize));
    a.configured = { threads: cfg.threads !== undefined, memory_limit: cfg.memory_limit !== undefined };
    try {
      // the pool's connections side by side (DuckDB makes each in its own thread); all settled
      // before any is closed, so a failure never closes a connection another thread still uses
      const made = await Promise.allSettled(
        Array.from({ length: a.maxConcurrency }, async () => {
          const c = await instance.connect();
          a.all.push(c);
          // dates are computed in UTC whatever the laptop's time zone is
          await c.run("SET TimeZone = 'UTC'");
        }),
      );
      const failed = made.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      a.idle.push(...a.all);
      if (path !== ':memory:') await a.reattach();
    } catch (e) {
      // not left open (and the file locked) for the rest of the process
      await a.close().catch(() => undefined);
      throw e;
    }
    return a;
  }

  /**
   * --defer to another DuckDB file: attach it read-only under `alias` (for every connection of
   * this instance) and remember it in main.vigil_attachments, so the views built on it still read
   * when Vigil opens this file again (DuckDB does not persist attachments).
   */
  async attachReadOnly(file: string, alias: string): Promise<void> {
    await this.attach(file, alias);
    await this.execute('create table if not exists main.vigil_attachments (alias varchar primary key, path varchar not null)');
    await this.execute('insert or replace into main.vigil_attachments values ($1, $2)', [alias, file]);
  }

  private attach(file: string, alias: string): Promise<void> {
    return this.execute(`attach if not exists ${duckDbDialect.literal(file)} as ${duckDbDialect.quoteIdent(alias)} (read_only)`);
  }

  /** Attach again what attachReadOnly remembered; a file that is gone or locked is left out (its views then say which catalog is missing). */
  private async reattach(): Promise<void> {
    const known = await this.query<{ n: number | bigint }>("select count(*) as n from duckdb_tables() where database_name = current_database() and schema_name = 'main' and table_name = 'vigil_attachments'");
    if (!Number(known[0].n)) return;
    for (const r of await this.query<{ alias: string; path: string }>('select alias, path from main.vigil_attachments')) {
      if (!existsSync(r.path)) continue;
      await this.attach(r.path, r.alias).catch(() => {});
    }
  }

  private acquire(): Promise<DuckDBConnection> {
    const c = this.idle.pop();
    if (c) return Promise.resolve(c);
    return new Promise((res) => this.waiters.push(res));
  }

  private release(c: DuckDBConnection): void {
    const w = this.waiters.shift();
    if (w) w(c);
    else this.idle.push(c);
  }

  async withConnection<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const c = await this.acquire();
    try {
      return await fn(c);
    } finally {
      this.release(c);
    }
  }

  /** Run one statement on a connection (with bind parameters); the number of rows it changed. */
  static async run(c: DuckDBConnection, sql: string, params?: SqlParam[]): Promise<number> {
    try {
      const r = params?.length ? await c.run(sql, params as DuckDBValue[]) : await c.run(sql);
      return r.rowsChanged;
    } catch (e) {
      throw duckError(e, sql);
    }
  }

  static async read<T extends Row>(c: DuckDBConnection, sql: string, params?: SqlParam[]): Promise<T[]> {
    const convert = (await valueConverters()).js;
    try {
      const r = params?.length ? await c.runAndReadAll(sql, params as DuckDBValue[]) : await c.runAndReadAll(sql);
      // (the converter only where a date or timestamp can be: its checks on every value cost ~10 % of a read)
      return (r.columnTypes().some(hasTime) ? r.convertRowObjects(convert) : r.getRowObjectsJS()) as T[];
    } catch (e) {
      throw duckError(e, sql);
    }
  }

  async preview(sql: string): Promise<Preview> {
    return this.withConnection(async (c) => {
      let r;
      try {
        // one statement, as on Postgres and BigQuery: DuckDB runs every statement of a text and
        // returns the last one's rows, so a `COPY ... TO` or an `ATTACH` (which write files
        // beside a read-only database) smuggled in would run, and another query's rows be shown
        if ((await c.extractStatements(sql)).count > 1) throw new WarehouseError("the query is more than one statement (a ';' ends one): a preview runs one query, so nothing was run", sql);
        r = await c.runAndReadAll(sql);
      } catch (e) {
        if (e instanceof WarehouseError) throw e;
        throw duckError(e, sql);
      }
      // DuckDB's JSON-safe values: exact decimals and big integers as text, dates, times and
      // timestamps as DuckDB prints them (to the µs, or ns), NaN and infinities as text
      const types = r.columnTypes();
      const columns = r.columnNames().map((name, i) => ({ name, numeric: NUMERIC_TYPE.test(String(types[i])), time: /^(DATE$|TIMESTAMP)/.test(String(types[i])), type: String(types[i]) }));
      const json = (await valueConverters()).json;
      const rows = ((types.some(hasTime) ? r.convertRowObjects(json) : r.getRowObjectsJson()) as Row[]).map((row) => {
        columns.forEach(({ name }, i) => (row[name] = previewValue(types[i], row[name])));
        return row;
      });
      return { columns, rows };
    });
  }

  execute(sql: string, params?: SqlParam[]): Promise<void> {
    return this.withConnection(async (c) => {
      await DuckDbAdapter.run(c, sql, params);
    });
  }

  executeCounted(sql: string, params?: SqlParam[]): Promise<number> {
    return this.withConnection((c) => DuckDbAdapter.run(c, sql, params));
  }

  query<T extends Row = Row>(sql: string, params?: SqlParam[]): Promise<T[]> {
    return this.withConnection((c) => DuckDbAdapter.read<T>(c, sql, params));
  }

  /** Run `fn` in one transaction on one connection: committed when it returns, rolled back when it throws. */
  transaction<T>(fn: (run: (sql: string, params?: SqlParam[]) => Promise<number>) => Promise<T>): Promise<T> {
    return this.withConnection(async (c) => {
      await DuckDbAdapter.run(c, 'begin transaction');
      try {
        const r = await fn((sql, params) => DuckDbAdapter.run(c, sql, params));
        await DuckDbAdapter.run(c, 'commit');
        return r;
      } catch (e) {
        await c.run('rollback').catch(() => undefined);
        throw e;
      }
    });
  }

  /** `fn` in a transaction on `c`: committed when it returns, rolled back when it throws. */
  private static async committed<T>(c: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
    await DuckDbAdapter.run(c, 'begin transaction');
    try {
      const r = await fn();
      await DuckDbAdapter.run(c, 'commit');
      return r;
    } catch (e) {
      await c.run('rollback').catch(() => undefined);
      throw e;
    }
  }

  /**
   * `fn` with its statements in one transaction on one connection (what a snapshot run takes:
   * its steps — new versions inserted, the ones they supersede closed, deleted keys closed —
   * commit together, so a run stopped or failing between them leaves no key with two current
   * versions for readers to find); the adapter it is given sends them there (execute, query,
   * columns, relationExists, ensureSchema; relationExists asks the catalog, not the cache).
   * DuckDB lets one process write a file: no lock across processes is needed.
   */
  async exclusive<T>(rel: Relation, fn: (adapter: Adapter) => Promise<T>): Promise<T> {
    try {
      return await this.withConnection(async (c) => {
        const on: Pick<DuckDbAdapter, 'execute' | 'executeCounted' | 'query' | 'relationExists'> = {
          execute: async (sql, params) => void (await DuckDbAdapter.run(c, sql, params)),
          executeCounted: (sql, params) => DuckDbAdapter.run(c, sql, params),
          query: <R extends Row = Row>(sql: string, params?: SqlParam[]) => DuckDbAdapter.read<R>(c, sql, params),
          relationExists: async (r) => {
            const [row] = await DuckDbAdapter.read<{ table_type: string }>(c, `select table_type from information_schema.tables where table_catalog = current_database() and lower(table_schema) = lower($1) and lower(table_name) = lower($2)`, [r.schema, r.identifier]);
            return row ? (row.table_type === 'VIEW' ? 'view' : 'table') : null;
          },
        };
        // (columns and ensureSchema call this.query and this.execute: the connection's too)
        const scoped = Object.assign(Object.create(this) as DuckDbAdapter, on);
        return DuckDbAdapter.committed(c, () => fn(scoped));
      });
    } finally {
      // (what the cache knew of the schema may have changed: a first run creates the table)
      this.catalog.forget(fold(rel.schema));
    }
  }

  syncWriter(): SyncWriter {
    return new DuckDbSyncWriter(this);
  }

  /**
   * The foreign keys referencing `rel` (duckdb_constraints(): DuckDB's keys are in the table's own
   * schema, and have no action: a delete of a referenced row is refused). `vigil retention` says
   * them before apply fails on one (was: plan said nothing, and apply failed at the first batch).
   */
  async referencingKeys(rel: Relation): Promise<ReferencingKey[]> {
    const rows = await this.query<{ constraint_name: string; schema_name: string; table_name: string; columns: string[]; ref_columns: string[] }>(
      `select constraint_name, schema_name, table_name, constraint_column_names as columns, referenced_column_names as ref_columns from duckdb_constraints()
       where constraint_type = 'FOREIGN KEY' and database_name = coalesce($1, current_database()) and lower(schema_name) = lower($2) and lower(referenced_table) = lower($3)
       order by schema_name, table_name, constraint_name`,
      [rel.database ?? null, rel.schema, rel.identifier],
    );
    return rows.map((r) => ({ constraint: r.constraint_name, table: { ...(rel.database ? { database: rel.database } : {}), schema: r.schema_name, identifier: r.table_name }, columns: [...r.columns], refColumns: [...r.ref_columns], onDelete: 'no action' }));
  }

  /** Retention: a batch of rows by `rowid`, and the log statement, in one transaction. */
  deleteBatch(rel: Relation, where: string, params: SqlParam[], limit: number, then: (deleted: number) => { sql: string; params: SqlParam[] }): Promise<number> {
    const r = this.dialect.relation(rel);
    return this.transaction(async (run) => {
      const n = await run(`delete from ${r} where rowid in (select rowid from ${r} where ${where} limit ${Math.floor(limit)}) and ${where}`, params);
      const log = then(n);
      await run(log.sql, log.params);
      return n;
    });
  }

  async loadTable(req: LoadRequest): Promise<number> {
    const d = this.dialect;
    const rel = d.relation(req.relation);
    const cols = req.columns.map((c) => `${d.quoteIdent(c.name)} ${loadColumnType(d, c)}`);
    const pk = req.primaryKey?.length ? `, primary key (${req.primaryKey.map((k) => d.quoteIdent(k)).join(', ')})` : '';
    const spec = `{${req.columns.map((c) => `${d.literal(c.name)}: ${d.literal(loadColumnType(d, c))}`).join(', ')}}`;
    // read_csv refuses a record over max_line_size (2,000,000 bytes unless told: a seed with a long
    // text or JSON field failed after its check passed, the whole line in the message); a record
    // must fit its buffer twice over (one may straddle two), as applyBatch's do
    const maxLine = req.maxRecordBytes !== undefined && req.maxRecordBytes > 1_900_000 ? Math.ceil(req.maxRecordBytes) + 4096 : 0;
    const longLines = maxLine ? `, max_line_size = ${maxLine}, buffer_size = ${Math.max(32 << 20, 2 * maxLine)}` : '';
    await this.ensureSchema(req.relation.schema);
    const rows = await this.transaction(async (run) => {
      await run(`drop table if exists ${rel}`);
      await run(`create table ${rel} (${cols.join(', ')}${pk})`);
      // how records end (LoadRequest.newline): said, not sniffed (a quoted CRLF inside the first
      // record of an LF file made the sniffer take CRLF, and the parser fail); the columns and their
      // types are given. One statement without parameters: the driver hands it to DuckDB's threads at once
      const loading = run(`insert into ${rel} select * from read_csv(${d.literal(req.file)}, header = ${req.header ? 'true' : 'false'}, auto_detect = false, columns = ${spec}, delim = ${d.literal(req.delimiter ?? ',')}, quote = '"', escape = '"', allow_quoted_nulls = false, new_line = ${req.newline === '\r\n' ? "'\\r\\n'" : "'\\n'"}${longLines})`);
      req.onStarted?.();
      return loading;
    });
    this.remember(req.relation, 'table');
    return rows;
  }

  async replaceTable(from: Relation, to: Relation): Promise<void> {
    const d = this.dialect;
    await this.transaction(async (run) => {
      await run(`drop table if exists ${d.relation(to)}`);
      await run(`alter table ${d.relation(from)} rename to ${d.quoteIdent(to.identifier)}`);
    });
    this.catalog.changed(fold(from.schema), fold(from.identifier), null);
    this.remember(to, 'table');
  }

  async relationExists(rel: Relation): Promise<'table' | 'view' | null> {
    return this.catalog.kind(fold(rel.schema), fold(rel.identifier), async () => {
      const rows = await this.query<{ table_name: string; table_type: string }>(
        `select table_name, table_type from information_schema.tables where table_catalog = current_database() and lower(table_schema) = lower($1)`,
        [rel.schema],
      );
      return new Map(rows.map((r) => [fold(r.table_name), r.table_type === 'VIEW' ? ('view' as const) : ('table' as const)]));
    });
  }

  tableComment(rel: Relation): Promise<string | null> {
    return this.withConnection((c) => commentOf(c, rel));
  }

  async commentTable(rel: Relation, comment: string): Promise<void> {
    await this.execute(`comment on table ${this.dialect.relation(rel)} is ${this.dialect.literal(comment)}`);
  }

  async commentView(rel: Relation, comment: string): Promise<void> {
    await this.execute(`comment on view ${this.dialect.relation(rel)} is ${this.dialect.literal(comment)}`);
  }

  viewComments(schema: string): Promise<Array<{ identifier: string; comment: string | null }>> {
    return this.query<{ identifier: string; comment: string | null }>(
      `select view_name as identifier, comment from duckdb_views() where database_name = current_database() and lower(schema_name) = lower($1) and not internal order by 1`,
      [schema],
    );
  }

  remember(rel: Relation, kind: 'table' | 'view'): void {
    this.catalog.changed(fold(rel.schema), fold(rel.identifier), kind);
  }

  async columns(rel: Relation): Promise<Column[]> {
    const rows = await this.query<{ column_name: string; data_type: string }>(
      `select column_name, data_type from information_schema.columns where table_catalog = current_database() and lower(table_schema) = lower($1) and lower(table_name) = lower($2) order by ordinal_position`,
      [rel.schema, rel.identifier],
    );
    return rows.map((r) => ({ name: r.column_name, data_type: r.data_type }));
  }

  async schemaColumns(schema: string): Promise<{ key: (identifier: string) => string; columns: Map<string, Column[]> }> {
    const rows = await this.query<{ table_name: string; column_name: string; data_type: string }>(
      `select table_name, column_name, data_type from information_schema.columns where table_catalog = current_database() and lower(table_schema) = lower($1) order by table_name, ordinal_position`,
      [schema],
    );
    const columns = new Map<string, Column[]>();
    for (const r of rows) {
      const k = fold(r.table_name);
      let list = columns.get(k);
      if (!list) columns.set(k, (list = []));
      list.push({ name: r.column_name, data_type: r.data_type });
    }
    return { key: fold, columns };
  }

  async ensureSchema(schema: string): Promise<void> {
    await this.execute(this.dialect.createSchema(schema));
  }

  async materialize(req: MaterializeRequest): Promise<MaterializeResult> {
    const existing = await this.relationExists(req.relation);
    return this.withConnection(async (c) => {
      // an incremental run appends to the table (its incremental query) unless the table holds
      // no row (filled from the full query, in place): decided once, before any hook runs, and
      // the hooks run as they render with that is_incremental(), as the model's SQL does
      const appends = req.kind === 'incremental' && existing === 'table' && !req.fullRefresh && !(await emptyTable(c, this.dialect.relation(req.relation)));
      req = hooksOfRun(req, appends);
      let open = false;
      // one transaction; inside one already (the hooks' own), the work simply joins it
      const inTx = async <T>(fn: () => Promise<T>): Promise<T> => {
        if (open) return fn();
        open = true;
        try {
          return await DuckDbAdapter.committed(c, fn);
        } finally {
          open = false;
        }
      };
      const run = (sql: string) => DuckDbAdapter.run(c, sql);
      // an incremental table's comment records the masking it was built with: written after the
      // hooks, in their transaction (a post-hook may set the comment: its text is kept); build()
      // turns it off for an incremental run into a table without the record, and gives the record
      // an incremental run leaves (maskingAfterRun)
      const stamp: { on: boolean; record?: Record<string, string> } = { on: req.kind === 'incremental' && !!req.masking };
      const stamped = async (inside: Pick<MaterializeRequest, 'preHooks' | 'postHooks'>): Promise<MaterializeResult> => {
        const r = await withHooks(inside, run, () => this.build(c, req, existing, inTx, stamp, appends));
        const comment = stamp.on ? withMaskingLine(await commentOf(c, req.relation), stamp.record ?? req.masking!) : undefined;
        if (comment !== undefined) await run(`comment on table ${this.dialect.relation(req.relation)} is ${this.dialect.literal(comment)}`);
        return r;
      };
      const body = (inside: Pick<MaterializeRequest, 'preHooks' | 'postHooks'>) => (hasHooks(inside) || stamp.on ? inTx(() => stamped(inside)) : this.build(c, req, existing, inTx, stamp, appends));
      if (!hasHooks(req)) return body(req);
      try {
        // hooks and the build commit together or not at all; those with transaction: false run
        // before it begins and after it commits
        return await aroundTransaction(req, run, body);
      } catch (e) {
        this.catalog.forget(fold(req.relation.schema));
        throw e;
      }
    });
  }

  private async build(c: DuckDBConnection, req: MaterializeRequest, existing: 'table' | 'view' | null, inTx: <T>(fn: () => Promise<T>) => Promise<T>, stamp: { on: boolean; record?: Record<string, string> }, appends: boolean): Promise<MaterializeResult> {
    const d = this.dialect;
    const rel = d.relation(req.relation);
    if (req.kind === 'view') {
      if (existing === 'table') await inTx(async () => {
        await DuckDbAdapter.run(c, `drop table ${rel}`);
        await DuckDbAdapter.run(c, d.createView(req.relation, req.sql));
      });
      else await DuckDbAdapter.run(c, d.createView(req.relation, req.sql));
      this.remember(req.relation, 'view');
      return { message: 'created view' };
    }
    const incremental = req.kind === 'incremental' && existing === 'table' && !req.fullRefresh;
    if (!incremental) {
      if (existing === 'view') await inTx(async () => {
        await DuckDbAdapter.run(c, `drop view ${rel}`);
        await DuckDbAdapter.run(c, d.createTableAs(req.relation, req.sql));
      });
      else await DuckDbAdapter.run(c, d.createTableAs(req.relation, req.sql));
      this.remember(req.relation, 'table');
      if (req.kind !== 'incremental') return { message: 'created table' };
      // a merge's first build (or --full-refresh) stores a key its rows hold twice, as dbt does: said
      const keys = req.strategy === 'merge' && req.uniqueKey?.length ? req.uniqueKey : undefined;
      const built = keys ? duplicatesWarning((await DuckDbAdapter.read<{ n: unknown; key: unknown }>(c, mergeDuplicatesSql(rel, keys.map((k) => d.quoteIdent(k)), d.type('string'))))[0], (n, key) => builtDuplicatesWarning(rel, keys, n, key)) : undefined;
      return { message: 'created incremental table', ...joinWarnings(built) };
    }
    // incremental: stage the new rows, then delete+insert (or append) in one transaction
    const tmp = d.quoteIdent(`__vigil_incr_${req.relation.identifier}_${++this.tmpSeq}`);
    // (a table that held no row when the build began: filled from the full query)
    const empty = !appends;
    // the masking the table was built with (its comment): kept up to date where it was recorded, or the table held no row
    const built = stamp.on && !empty ? recordedMasking(await commentOf(c, req.relation)) : undefined;
    stamp.on &&= empty || !!built;
    await DuckDbAdapter.run(c, `create or replace temp table ${tmp} as\n${empty ? req.sql : (req.incrementalSql ?? req.sql)}`);
    try {
      const targetCols = await DuckDbAdapter.read<{ column_name: string; column_type: string }>(c, `select column_name, column_type from (describe ${rel})`);
      const newCols = await DuckDbAdapter.read<{ column_name: string; column_type: string }>(c, `select column_name, column_type from (describe ${tmp})`);
      // DuckDB's names are case-insensitive: a column renamed only in case is the same column
      const have = new Map(targetCols.map((r) => [r.column_name.toLowerCase(), r.column_name]));
      const added = newCols.filter((r) => !have.has(r.column_name.toLowerCase()));
      if (built && req.masking) {
        const changed = maskingChangeFailure(rel, built, req.masking, newCols.filter((r) => have.has(r.column_name.toLowerCase())).map((r) => r.column_name));
        if (changed) throw new WarehouseError(changed, '');
        const writes = new Set(newCols.map((r) => r.column_name.toLowerCase()));
        stamp.record = maskingAfterRun(built, req.masking, targetCols.filter((r) => !writes.has(r.column_name.toLowerCase())).map((r) => r.column_name));
      }
      const policy = req.onSchemaChange ?? 'ignore';
      if (policy === 'fail') {
        const as = (rows: typeof newCols) => rows.map((r) => ({ name: r.column_name, type: r.column_type }));
        const failure = schemaChangeFailure(rel, as(targetCols), as(newCols), true);
        if (failure) throw new WarehouseError(failure, '');
      }
      const replace = replaceBy(req);
      if (policy !== 'fail') {
        const now = new Set(newCols.map((r) => r.column_name.toLowerCase()));
        const gone = droppedColumnsFailure(rel, targetCols.filter((r) => !now.has(r.column_name.toLowerCase())).map((r) => r.column_name), policy, !!replace);
        if (gone) throw new WarehouseError(gone, '');
        // (a key column added to a table that holds rows: NULL in each, they would all stay beside the new rows)
        const fresh = policy === 'append_new_columns' && !empty ? newReplaceColumnFailure(rel, added.map((r) => r.column_name), replace) : undefined;
        if (fresh) throw new WarehouseError(fresh, '');
        // a column whose type changed: the write casts its new values to the table's type
        const retyped = retypedColumns(targetCols.map((r) => ({ name: r.column_name, type: r.column_type })), newCols.map((r) => ({ name: r.column_name, type: r.column_type })), true, true);
        const lost = retyped.length ? castLossFailure(rel, policy, retyped, (await DuckDbAdapter.read(c, castLossSql(tmp, retyped, (n) => d.quoteIdent(n), d.type('string'), (col) => `cast(printf('%.15g', ${col}) as double)`, true)))[0]) : undefined;
        if (lost) throw new WarehouseError(lost, '');
      }
      const nullKeys = replace && 'keys' in replace ? Number((await DuckDbAdapter.read<{ n: unknown }>(c, nullKeysSql(tmp, replace.keys.map((k) => d.quoteIdent(k)))))[0].n) : 0;
      if (replace && 'keys' in replace && req.strategy === 'merge') {
        const dup = mergeDuplicatesFailure(rel, replace.keys, (await DuckDbAdapter.read<{ n: unknown; key: unknown }>(c, mergeDuplicatesSql(tmp, replace.keys.map((k) => d.quoteIdent(k)), d.type('string'))))[0]);
        if (dup) throw new WarehouseError(dup, '');
      }
      // (a key the table holds in more than one row: all of them replaced by its one new row, as on every warehouse; said)
      const stored = replace && 'keys' in replace && req.strategy === 'merge' ? duplicatesWarning((await DuckDbAdapter.read<{ n: unknown; key: unknown }>(c, storedDuplicatesSql(rel, tmp, replace.keys.map((k) => d.quoteIdent(k)), d.type('string'))))[0], (n, key) => storedDuplicatesWarning(rel, replace.keys, n, key)) : undefined;
      const partitions = replace && 'partition' in replace ? Number((await DuckDbAdapter.read<{ n: unknown }>(c, partitionCountSql(tmp, replace.partition, d.quoteIdent(replace.partition.field))))[0].n) : 0;
      let deleted = 0;
      const rows = await inTx(async () => {
        if (added.length && policy === 'append_new_columns') {
          for (const a of added) await DuckDbAdapter.run(c, `alter table ${rel} add column ${d.quoteIdent(a.column_name)} ${a.column_type}`);
        }
        // (written under the table's spelling of each name; a column no longer selected is
        // refused above unless append_new_columns appends, which leaves it NULL in the new rows)
        const written = newCols.filter((r) => policy === 'append_new_columns' || have.has(r.column_name.toLowerCase()));
        const into = written.map((r) => d.quoteIdent(have.get(r.column_name.toLowerCase()) ?? r.column_name));
        const from = written.map((r) => d.quoteIdent(r.column_name));
        if (replace && 'keys' in replace) {
          const keys = replace.keys.map((k) => d.quoteIdent(k));
          const tuple = keys.length === 1 ? keys[0] : `(${keys.join(', ')})`;
          deleted = await DuckDbAdapter.run(c, `delete from ${rel} where ${tuple} in (select ${keys.join(', ')} from ${tmp})`);
        } else if (replace) {
          deleted = await DuckDbAdapter.run(c, partitionDeleteSql(rel, tmp, replace.partition, d.quoteIdent(replace.partition.field)));
        }
        return DuckDbAdapter.run(c, `insert into ${rel} (${into.join(', ')}) select ${from.join(', ')} from ${tmp}`);
      });
      return { message: incrementalMessage(replace, rows, deleted, partitions), rows, ...(empty ? { refilled: true } : {}), ...joinWarnings(nullKeys ? nullKeyWarning(nullKeys, (replace as { keys: string[] }).keys) : undefined, stored) };
    } finally {
      await c.run(`drop table if exists ${tmp}`).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    for (const c of this.all) c.closeSync();
    this.all = [];
    this.idle = [];
    this.instance.closeSync();
  }
}

/** DuckDB: each batch goes from its CSV file into the table in one transaction with its cursor. */
class DuckDbSyncWriter extends StandardSyncWriter {
  /** read_csv parses Postgres' '2026-01-01 10:00:00.123+00' as exactly as ISO 8601 */
  readonly timestamps = 'sql-offset' as const;
  /** read_csv takes any one-byte separators; ~20 % faster on files with no '"' to undo (sync-types.ts) */
  readonly separators = 'ascii' as const;
  /** TIMESTAMPTZ's last microsecond: read_csv makes a later one NULL without an error (TIMESTAMP's, a DATE's fail) */
  readonly maxInstant = '294247-01-10 04:00:54.775806+00';
  /** "v" and "V" are one column in DuckDB */
  readonly namesIgnoreCase = true;
  /**
   * A batch in four files (61,440 rows each with the default batch_size): DuckDB loads the first
   * while the source still writes the others. The transaction is still the batch, so a batch of
   * a multiple of 122,880 rows still writes whole row groups (docs/sync.md).
   */
  readonly filesPerBatch = 4;
  private tuned = false;
  /** Each copy's array columns' list dimensions (by relation, then column): a copy's type rules, not the declaration (ensureTables) */
  private listDims = new Map<string, Map<string, number>>();
  /** the memory_limit set (MiB): as tuned, more once a long record needed it (applyBatch) */
  private memoryMb = 96;
  constructor(protected readonly db: DuckDbAdapter) {
    super(db);
  }

  /** The reader's cursor texts are Postgres' ('0100-01-05 00:00:00+00 BC', kept so in the source's queries): DuckDB reads the era only before the time */
  protected cursorParam(index: number): string {
    return `cast(${bcAfterDate(`$${index}`)} as timestamptz)`;
  }

  /**
   * A copy made before vigil read the declared dimensions has INTEGER[] for an `int[][]`:
   * its values load as the copy's list type has them (they did), not as the source declares.
   */
  async ensureTables(rel: Relation, columns: SyncColumn[]): Promise<ColumnChanges> {
    const changes = await super.ensureTables(rel, columns);
    const copy = await this.db.columns(rel);
    this.listDims.set(this.db.dialect.relation(rel), new Map(copy.map((c) => [c.name.toLowerCase(), arrayDims(c.data_type)])));
    return changes;
  }

  async applyBatch(rel: Relation, columns: SyncColumn[], files: AsyncIterable<BatchFile>, pk: string[], stateRel: Relation, stream: string, sourceMax: string | null, replace: boolean, batch: () => BatchInfo): Promise<BatchInfo> {
    const d = this.db.dialect;
    const q = (s: string) => d.quoteIdent(s);
    const target = d.relation(rel);
    const listDims = this.listDims.get(target);
    // array columns arrive as JSON text (postgres-sync.ts): read as text, converted on insert
    const colSpec = `{${columns.map((c) => `${d.literal(c.name)}: ${d.literal(isArrayColumn(c) ? 'VARCHAR' : this.columnType(c))}`).join(', ')}}`;
    const values = columns.map((c) => fromBatchValue(d, c, q(c.name), listDims?.get(c.name.toLowerCase()) || undefined)).join(', ');
    const { delimiter, quote } = csvSeparators(this.separators);
    const char = (ch: string) => `chr(${ch.charCodeAt(0)})`;
    // new_line fixed to COPY TO STDOUT's '\n': left to detection, a file whose first row holds a
    // quoted "\r\n" is taken for CRLF-separated and fails ("CSV Parser state machine reached an invalid state")
    // A record must fit in read_csv's buffer, twice over (one may straddle two buffers). 4 MB
    // buffers, not the default 32 MB that the allocator maps fresh for each file (page faults on
    // ~420 MB per 1,000,000 rows): ~4 % less time, measured. A file with a longer record (a 30 MB
    // prompt in a JSON value) gets buffers that hold it: with the defaults, a record over 2 MB
    // failed its batch on every run, and the stream never got past it.
    const readFor = (f: BatchFile) => {
      const longest = f.longestRecord ?? 0;
      const maxLine = Math.max(2 << 20, longest + 1024);
      return {
        longest,
        sql: `read_csv($1, header = false, auto_detect = false, columns = ${colSpec}, delim = ${char(delimiter)}, quote = ${char(quote)}, escape = ${char(quote)}, allow_quoted_nulls = false, new_line = '\\n', max_line_size = ${maxLine}, buffer_size = ${Math.max(4 << 20, 2 * maxLine)})`,
        // The tuned pool takes records of a few MB; a longer one needs ~10 times its size while
        // it loads (its buffers, then string copies that grow by doubling: a 60 MB JSON value ran
        // out of 384 MB and loaded in 512 MB). Wide rows need DuckDB's default (80 % of the
        // machine): it keeps long values in memory until their row group is written, and a commit
        // or checkpoint pins them all (in 96 MiB, 2,000 values of 100 KB did not commit, nor 600
        // in batches of 200; 8,000 of 30 KB did)
        memoryMb: f.rows && statSync(f.path).size / f.rows >= 16 << 10 ? Infinity : longest >= 4 << 20 ? Math.ceil((10 * longest + (128 << 20)) / 2 ** 20) : 0,
      };
    };
    const cols = columns.map((x) => q(x.name)).join(', ');
    if (!this.tuned) {
      // A sync shares the machine with its source: Postgres formats the next batch while DuckDB
      // loads this one. Unless the target says otherwise, DuckDB gets one core fewer than the
      // machine (at least one) and a small buffer pool (batches stream through, nothing needs
      // to stay cached). Measured on 2 cores, 1,000,000 rows: 14.6-15.0 s and 543-546 MB
      // against 16.2-18.3 s and 512-546 MB with both cores and 256 MB. 96 MiB since read_csv's
      // buffers are 4 MB (they were 32 MB of the pool each, and the demo's audit_events, 250,000
      // wide rows, ran out of 96 MB): peak RSS 364-380 MB against 389-435 MB at 128 MB in the same
      // time (4 alternating rounds); every demo stream loads at 64 MiB too (docs/benchmarks.md).
      if (!this.db.configured.threads) await this.db.execute(`set threads = ${Math.max(1, availableParallelism() - 1)}`);
      // (each thread beyond the first reads with its own buffers and builds its own row groups:
      // 16 MiB more each, so 96 MiB on 2 cores, 192 MiB on 8)
      const [t] = await this.db.query<{ threads: number }>("select current_setting('threads')::int as threads");
      this.memoryMb = 96 + 16 * Math.max(0, Number(t.threads) - 1);
      if (!this.db.configured.memory_limit) await this.db.execute(`set memory_limit = '${this.memoryMb}MiB'`);
      // memory a batch freed goes back to the system while the next one loads (DuckDB's allocator
      // otherwise keeps it): peak RSS of 1,000,000 rows 511-568 MB -> 408-434 MB for ~3 % more
      // time (4 alternating runs, docs/benchmarks.md)
      await this.db.execute('set allocator_background_threads = true');
      this.tuned = true;
    }
    // raised for a long record, the limit stays raised for the rest of the run: the commit's
    // checkpoint, and the next ones, pin the blocks that hold such a value (a 150 MB JSON value:
    // 143 MB), and a checkpoint that cannot is fatal to the database instance
    let memoryMb = this.memoryMb;
    // never past DuckDB's own default: 80 % of the machine's memory
    const maxMb = Math.floor((0.8 * totalmem()) / 2 ** 20);
    let longest = 0; // the batch's longest record so far
    try {
      return await this.db.transaction(async (run) => {
        let inserted = 0;
        let staged = false;
        for await (const file of files) {
          const read = readFor(file);
          longest = Math.max(longest, read.longest);
          if (!this.db.configured.memory_limit && read.memoryMb > memoryMb && memoryMb < maxMb) {
            memoryMb = Math.min(read.memoryMb, maxMb);
            await run(`set memory_limit = '${memoryMb}MiB'`);
          }
          if (!replace) {
            // nothing to replace: straight from each file into the table
            inserted += await run(`insert into ${target} (${cols}) select ${values} from ${read.sql}`, [file.path]);
          } else {
            await run(staged ? `insert into __vigil_stage select * from ${read.sql}` : `create or replace temp table __vigil_stage as select * from ${read.sql}`, [file.path]);
            staged = true;
          }
        }
        if (staged) {
          const keys = pk.map(q);
          const tuple = keys.length === 1 ? keys[0] : `(${keys.join(', ')})`;
          await run(`delete from ${target} where ${tuple} in (select ${keys.join(', ')} from __vigil_stage)`);
          inserted = await run(`insert into ${target} (${cols}) select ${values} from __vigil_stage`);
          await run('drop table __vigil_stage');
        }
        return this.finishBatch(run, inserted, stateRel, stream, sourceMax, batch);
      });
    } catch (e) {
      // out of memory loading or committing (DuckDB keeps a batch's long values in memory until
      // its row group is written: 2,000 values of 100 KB did not commit in 96 MiB): what to change
      if (!(e instanceof WarehouseError) || !/Out of Memory|failed to pin block/i.test(e.message)) throw e;
      const mb = (n: number) => `${Math.round(n / 2 ** 20).toLocaleString('en-US')} MB`;
      const given = this.db.configured.memory_limit ? "the target's memory_limit" : mb(memoryMb * 2 ** 20);
      const why =
        longest >= 4 << 20
          ? `a row of ${mb(longest)} did not load (DuckDB had ${given}; such a row needs ~10 times its size: set a larger memory_limit in the target)`
          : `DuckDB ran out of memory for the batch (it had ${given}): set a larger memory_limit in the target, or a smaller batch_size on the stream`;
      throw new WarehouseError(`${why}: ${e.message.split('\n')[0]}`, e.sql, { cause: e });
    } finally {
      this.memoryMb = memoryMb;
    }
  }

  async reset(rel: Relation, stateRel: Relation, stream: string): Promise<void> {
    await this.db.transaction(async (run) => {
      // an empty copy in place of the table, not a DELETE: deleting a million rows costs the
      // next commit a checkpoint that rewrites them (seconds); views on it read by name
      const t = this.db.dialect.relation(rel);
      await run(`create or replace table ${t} as select * from ${t} limit 0`);
      await run(`update ${this.db.dialect.relation(stateRel)} set cursor_value = null, cursor_id = null, rows_synced = 0 where stream = $1`, [stream]);
    });
  }
}

/** A process's command line (Linux), shortened: who holds a DuckDB file. */
function commandOf(pid: number): string | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // `node /path/to/vigil.js alerts evaluate ...` reads better as `vigil alerts evaluate ...`
    const i = args.findIndex((a) => /(^|\/)vigil(\.js)?$/.test(a) || /dist\/cli\/main\.js$/.test(a));
    return (i >= 0 ? ['vigil', ...args.slice(i + 1)] : args).join(' ').slice(0, 200);
  } catch {
    return undefined;
  }
}
