/**
 * `vigil sync` on Postgres, both sides. Reading (the application's database): keyset batches
 * in (cursor, primary key) order through `COPY (SELECT ...) TO STDOUT` into a CSV file, so no
 * row is parsed in JavaScript and memory stays flat. Writing (a Postgres target): COPY the
 * file in and move the cursor in one transaction. Every runtime value — key tuples, cursors,
 * stream names — is a bind parameter; COPY takes none, so its bounds travel as transaction-
 * local settings (`set_config`) that the statement reads back with `current_setting`.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import type { Relation, SqlParam } from '../dialect.js';
import { StandardSyncWriter } from '../../sync/standard-sync-writer.js';
import { bcAfterDate, csvSeparators, fromBatchValue, isArrayColumn, keyColumns, RecordMeter, type BatchFile, type BatchInfo, type CsvSeparators, type CursorBounds, type SourceBatch, type WindowStart, type StreamSpec, type SyncColumn, type SyncReader, type TableIdentity } from '../../sync/sync-types.js';
import { checkout, pgError, type PostgresAdapter } from './postgres-adapter.js';
import { didYouMean } from '../../errors.js';
import { streamProblem, type RetiredRows } from '../../sync/sync-types.js';
import { retentionPredicate } from '../../retention/retention.js';
import { postgresDialect } from './postgres-dialect.js';
import { typeFamily } from '../type-family.js';

const TIME_TYPES = ['timestamp with time zone', 'timestamp without time zone', 'date'];

/**
 * Array type `type` (format_type() prints `integer[]` for any dimensions) with the `dims` its
 * column declares (attndims: `integer[][]` for 2; 0 when made by CREATE TABLE AS, as 1).
 * DuckDB's list types fix the levels: `integer[][]` is INTEGER[][] (a value with other
 * dimensions fails its batch, naming the column: duckDbDialect.jsonTextArray).
 */
function withDims(type: string, dims: number): string {
  return type.endsWith('[]') && dims > 1 ? type + '[]'.repeat(dims - 1) : type;
}

/**
 * How the reader's queries are planned. A batch is a range of the (cursor, primary key) index,
 * read in that order; left to itself, Postgres chose a parallel bitmap scan and an external merge
 * sort (three processes, ~50 MB written to disk per 100,000 rows) over walking the index, which
 * already has the order: 0.86-0.98 s against 0.66 s for 220,000 rows, and two more cores taken
 * from the application and from the warehouse loading the previous batch. So: no parallel workers
 * (a sync is one polite client of the application's database) and sorts and bitmap scans priced
 * out. Priced out, not forbidden: without an index on (cursor, key) the planner still sorts.
 */
const READ_PLAN = 'set local max_parallel_workers_per_gather = 0; set local enable_sort = off; set local enable_bitmapscan = off';

/**
 * What every statement of the reader runs under: dates and timestamps as ISO text and timestamptz
 * in UTC, whatever the server, the role or the url's `options` default to (a 'SQL, DMY' DateStyle
 * writes 15/03/2026 and '01/01/2026 05:00:00 EST'). The cursor texts it returns are kept in the
 * target's state and read back by another session: they must not depend on one. So must every
 * value's text: floats with every digit they need (an extra_float_digits of 0 wrote
 * 0.12345678901234568 as 0.123456789012346), bytea as hex (escape wrote \000\377 into DuckDB's
 * text column), intervals in Postgres' own style.
 */
const SESSION_STYLE = "set local timezone = 'UTC'; set local datestyle = 'ISO, YMD'; set local extra_float_digits = 3; set local bytea_output = 'hex'; set local intervalstyle = 'postgres'; " + READ_PLAN;

/** COPY's options for `separators` beyond CSV's defaults, each character as an escape (E'\x1f'). */
function separatorOptions(separators: CsvSeparators | undefined): string {
  if (!separators || separators === 'rfc4180') return '';
  const hex = (ch: string) => `E'\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}'`;
  const { delimiter, quote } = csvSeparators(separators);
  return `, delimiter ${hex(delimiter)}, quote ${hex(quote)}`;
}

/** Types whose text never starts with a byte order mark (bomQuote). */
const NOT_TEXT = new Set(['int', 'float', 'numeric', 'bool', 'date', 'instant', 'local', 'time', 'json', 'bytes', 'interval', 'uuid', 'inet']);

/**
 * COPY's `force_quote` for the first column when its text may start with U+FEFF: DuckDB's CSV
 * reader drops a UTF-8 byte order mark at the start of a file as an encoding mark, and a batch
 * file starts with its first row's first value (was: '\uFEFFx' landed as 'x', and '\uFEFF' alone
 * as NULL, exit 0). Quoted, the file starts with the quote; NULL stays unquoted.
 */
function bomQuote(columns: SyncColumn[], q: (c: string) => string): string {
  const first = columns[0];
  return first && !isArrayColumn(first) && !NOT_TEXT.has(typeFamily(first.pgType, 'local')) ? `, force_quote (${q(first.name)})` : '';
}

/** `k is null` for each key column the source does not declare NOT NULL; undefined: none. */
function nullKey(spec: StreamSpec, columns: SyncColumn[], q: (c: string) => string): string[] | undefined {
  const cols = spec.primaryKey.filter((k) => !columns.find((c) => c.name === k)?.notNull);
  return cols.length ? cols.map((k) => `${q(k)} is null`) : undefined;
}

export class PostgresSyncReader implements SyncReader {
  /**
   * The snapshot the files of the batch being read share: one REPEATABLE READ transaction from
   * its first file to its last. Read in separate READ COMMITTED transactions, a row updated
   * between two files of one batch (its cursor moved past the first file's end) would arrive in
   * both, twice in one batch, where the delete-by-key of the next batch cannot help.
   */
  private snapshot: PoolClient | null = null;

  constructor(private readonly db: PostgresAdapter) {}

  /** Run `fn` in the batch's snapshot (opened if none is); closed after it when `endsBatch`, or when it fails. */
  private async inSnapshot<T>(endsBatch: boolean, fn: (c: PoolClient) => Promise<T>): Promise<T> {
    if (!this.snapshot) {
      const c = await checkout(this.db.pool);
      try {
        await c.query('begin isolation level repeatable read read only');
        // idle while the warehouse loads what was read (seconds, a batch at most): a server's
        // idle_in_transaction_session_timeout must not end the batch's snapshot meanwhile
        await c.query(`${SESSION_STYLE}; set local idle_in_transaction_session_timeout = 0`);
      } catch (e) {
        c.release(true);
        throw pgError(e, 'begin');
      }
      this.snapshot = c;
    }
    try {
      const r = await fn(this.snapshot);
      if (endsBatch) await this.release();
      return r;
    } catch (e) {
      await this.release(true);
      throw e;
    }
  }

  /** Close the batch's snapshot, if one is open (a run that stopped or failed mid-batch). */
  async release(broken = false): Promise<void> {
    const c = this.snapshot;
    this.snapshot = null;
    if (!c) return;
    // read only: ending it either way changes nothing; a client whose query failed is not reused
    await c.query(broken ? 'rollback' : 'commit').catch(() => undefined);
    c.release(broken);
  }

  private rel(spec: StreamSpec): string {
    return this.db.dialect.relation({ schema: spec.schema, identifier: spec.table });
  }

  async describe(spec: StreamSpec): Promise<SyncColumn[]> {
    // a timestamp's precision (timestamptz(3), Prisma's default) is left out: the copy keeps
    // microseconds, which hold every such value, and the type is the one every writer knows
    // (timestamptz(3) was refused as a cursor and copied to DuckDB as a TIMESTAMP without zone)
    // a user-defined type (an enum, a domain, an extension's or a composite type) exists in the
    // source only: a domain is copied as its base type, any other as text (`type "mood" does not
    // exist` blocked a Postgres target on every run); `source` keeps the source's own type
    // (`v`: the column's type past its domains, whose elements `e` are then resolved the same way:
    // a domain over mood[] is text[]; it was text, one value '{sad,"x,y"}')
    const rows = (
      await this.db.query<{ name: string; type: string; source: string; notnull: boolean; dims: number }>(
        `select a.attname as name, format_type(a.atttypid, a.atttypmod) as source, a.attnotnull as notnull, a.attndims as dims,
       case when b.oid = e.oid and e.oid < 16384 and v.oid = a.atttypid then format_type(a.atttypid, a.atttypmod)
            else (case when b.oid < 16384 then format_type(b.oid, b.typmod) else 'text' end) || case when e.oid <> v.oid then '[]' else '' end end as type
     from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
     cross join lateral (
       with recursive d(oid, typmod, depth) as (select a.atttypid, a.atttypmod, 0
         union all select bt.typbasetype, bt.typtypmod, d.depth + 1 from d join pg_type bt on bt.oid = d.oid where bt.typtype = 'd')
       select d.oid, d.typmod from d order by d.depth desc limit 1) v
     join pg_type t on t.oid = v.oid
     cross join lateral (select case when t.typcategory = 'A' and t.typelem <> 0 then t.typelem else t.oid end as oid) e
     cross join lateral (
       with recursive d(oid, typmod, depth) as (select e.oid, v.typmod, 0
         union all select bt.typbasetype, bt.typtypmod, d.depth + 1 from d join pg_type bt on bt.oid = d.oid where bt.typtype = 'd')
       select d.oid, d.typmod from d order by d.depth desc limit 1) b
     where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped order by a.attnum`,
        [spec.schema, spec.table],
      )
    ).map((r) => ({ ...r, type: withDims(r.type.replace(/^(timestamp|time)\(\d+\)/, '$1'), r.dims), source: withDims(r.source, r.dims) }));
    const where = `${spec.schema}.${spec.table}`;
    if (!rows.length) {
      const tables = (await this.db.query<{ name: string }>(`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f')`, [spec.schema])).map((r) => r.name);
      const hint = didYouMean(spec.table, tables);
      throw streamProblem(spec, `table ${where} does not exist in the source database${hint ? ` — did you mean '${hint}'?` : tables.length ? `; check the table name and the source's sync.schema` : `; schema ${spec.schema} has no tables there: check the source's sync.schema`}`);
    }
    const names = rows.map((r) => r.name);
    for (const [key, col] of [...spec.primaryKey.map((c) => ['primary_key', c] as const), ['cursor', spec.cursor] as const]) {
      const hint = didYouMean(col, names);
      if (!names.includes(col)) throw streamProblem(spec, `${key} column '${col}' is not in ${where}${hint ? ` — did you mean '${hint}'?` : ''}`, key, `${where} has: ${names.join(', ')}`);
    }
    const cursorType = rows.find((r) => r.name === spec.cursor)!.type;
    if (!TIME_TYPES.includes(cursorType)) throw streamProblem(spec, `cursor column '${spec.cursor}' is ${cursorType}, not a timestamp`, 'cursor', 'use created_at or updated_at');
    // money leaves Postgres as the session's lc_monetary prints it ('$1,234.56'), text no
    // warehouse reads as a number, and a Postgres target whose lc_monetary differs reads it as
    // another amount (or refuses it): it is copied as the exact numeric it casts to, with the
    // locale's fractional digits (an int64 of minor units: 19 digits)
    let moneyScale: number | undefined;
    if (rows.some((r) => r.type.replace(/(\[\])+$/, '') === 'money')) moneyScale = Number((await this.firstRow('select scale(0::money::numeric) as s'))!.s);
    return rows.map((r) => {
      const type = moneyScale !== undefined && r.type.replace(/(\[\])+$/, '') === 'money' ? r.type.replace(/^money/, `numeric(19,${moneyScale})`) : r.type;
      return { name: r.name, pgType: type, notNull: r.notnull, ...(type !== r.source ? { sourceType: r.source } : {}) };
    });
  }

  /**
   * A btree index (not partial) whose leading columns are (cursor, key...) in that order: keyset
   * reads walk it instead of sorting the table.
   */
  async keyOrdered(spec: StreamSpec): Promise<boolean | 'view'> {
    const kind = await this.db.query<{ relkind: string }>(`select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2`, [spec.schema, spec.table]);
    if (kind[0]?.relkind === 'v') return 'view';
    const want = keyColumns(spec.cursor, spec.primaryKey);
    return (await this.btreeIndexes(spec)).some((cols) => want.every((c, i) => cols[i] === c));
  }

  /** btreeIndexes' answers, by table: keyOrdered and cursorBounds both ask, once per run each. */
  private readonly indexes = new Map<string, Promise<string[][]>>();

  /** The columns of each btree index of the table (not partial), in order (none for a view); asked of the catalog once per reader. */
  private btreeIndexes(spec: StreamSpec): Promise<string[][]> {
    const key = `${spec.schema}.${spec.table}`;
    let known = this.indexes.get(key);
    if (!known) {
      known = this.readIndexes(spec);
      this.indexes.set(key, known);
      known.catch(() => this.indexes.delete(key));
    }
    return known;
  }

  private async readIndexes(spec: StreamSpec): Promise<string[][]> {
    const rows = await this.db.query<{ cols: string[] }>(
      `select array(select a.attname::text from unnest(i.indkey::int2[]) with ordinality k(attnum, ord) join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum order by k.ord) as cols
     from pg_index i join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = t.relnamespace join pg_class ic on ic.oid = i.indexrelid join pg_am am on am.oid = ic.relam
     where n.nspname = $1 and t.relname = $2 and am.amname = 'btree' and i.indpred is null and i.indisvalid`,
      [spec.schema, spec.table],
    );
    return rows.map((r) => r.cols);
  }

  /**
   * The source's clock as SQL, in the terms the cursor column compares with (the `type` its
   * values have, `pgType`: its base type): a timestamptz's instant; for a `timestamp` without
   * time zone or a `date`, the wall time of the database's own TimeZone (zoneOfDatabase), which
   * an application's `now()` / `localtimestamp` defaults write — every statement here runs in
   * UTC, so the UTC wall time made every row of a zone east of it "in the future" for hours.
   * `base`: the type the clock's text is read back as. `now`: the clock's function — in a
   * batch's snapshot `transaction_timestamp()`, its start, which the snapshot taken after it
   * follows (a later file's statement_timestamp() is later than the snapshot it reads: a long
   * first load's cursor stopped there, past the rows committed meanwhile, which it did not see).
   */
  private async clockSql(pgType: string, now = 'statement_timestamp()'): Promise<{ sql: string; base: 'timestamptz' | 'timestamp'; zone?: string }> {
    if (pgType !== 'timestamp without time zone' && pgType !== 'date') return { sql: now, base: 'timestamptz' };
    const zone = await this.db.zoneOfDatabase();
    return { sql: `(${now} at time zone ${this.db.dialect.literal(zone)})`, base: 'timestamp', zone };
  }

  async uniqueKey(spec: StreamSpec): Promise<boolean | 'view'> {
    const kind = await this.db.query<{ relkind: string }>(`select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2`, [spec.schema, spec.table]);
    if (['v', 'm', 'f'].includes(kind[0]?.relkind ?? '')) return 'view';
    // (indkey 0: an expression, never one of the key's columns; the INCLUDE columns after indnkeyatts do not count)
    const rows = await this.db.query<{ ok: boolean }>(
      `select exists (select 1 from pg_index i join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = t.relnamespace
       where n.nspname = $1 and t.relname = $2 and i.indisunique and i.indpred is null and i.indisvalid
         and not exists (select 1 from unnest(i.indkey::int2[]) with ordinality k(attnum, ord) left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum where k.ord <= i.indnkeyatts and (a.attname is null or a.attname::text not in (select jsonb_array_elements_text($3::jsonb))))) as ok`,
      [spec.schema, spec.table, JSON.stringify(spec.primaryKey)],
    );
    return !!rows[0]?.ok;
  }

  async nullKeyRows(spec: StreamSpec, columns: SyncColumn[]): Promise<number> {
    const cond = nullKey(spec, columns, (c) => this.db.dialect.quoteIdent(c));
    return cond ? Number((await this.firstRow(`select count(*) as n from ${this.rel(spec)} where ${cond.join(' or ')}`))?.n ?? 0) : 0;
  }

  async nullCursorRows(spec: StreamSpec, columns: SyncColumn[]): Promise<number> {
    const c = this.db.dialect.quoteIdent(spec.cursor);
    // (the (cursor, key) index holds NULLs and 'infinity': a count of them reads only those entries)
    const cond = columns.find((x) => x.name === spec.cursor)?.notNull ? `${c} = 'infinity'` : `${c} is null or ${c} = 'infinity'`;
    return Number((await this.firstRow(`select count(*) as n from ${this.rel(spec)} where ${cond}`))?.n ?? 0);
  }

  /** Run `fn` in a transaction under SESSION_STYLE. */
  private styled<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return this.db.transaction(async (c) => {
      await c.query(SESSION_STYLE);
      return fn(c);
    });
  }

  /** The first row of one query, run under SESSION_STYLE. */
  private firstRow(sql: string, params: unknown[] = []): Promise<Record<string, unknown> | undefined> {
    return this.styled(async (c) => {
      const r = await c.query(sql, params).catch((e: unknown) => {
        throw pgError(e, sql);
      });
      return r.rows[0] as Record<string, unknown> | undefined;
    });
  }

  /**
   * The source's clock (statement_timestamp; for a cursor without time zone the wall time of the
   * database's TimeZone: clockSql) and where the cursor's values stand against it: the newest
   * value at or before the clock, and the few after it ('infinity' is nullCursorRows'). A value
   * within a minute after the clock is not counted: an application server's clock a little ahead
   * of the database's stamps such rows all the time (the cursor still stops at the clock:
   * readBatch). Where an index leads with the cursor, each is a range of it (two statements: an
   * aggregate's FILTER cannot use the index); without one (an unindexed table, a view) both come
   * from one scan.
   */
  async cursorBounds(spec: StreamSpec, columns: SyncColumn[], saved: string | null, savedZone?: string | null): Promise<CursorBounds> {
    const c = this.db.dialect.quoteIdent(spec.cursor);
    const col = columns.find((x) => x.name === spec.cursor);
    const type = col?.sourceType ?? col?.pgType ?? 'timestamp with time zone';
    const clockSql = await this.clockSql(col?.pgType ?? type);
    const indexed = (await this.btreeIndexes(spec)).some((cols) => cols[0] === spec.cursor);
    return this.styled(async (cl) => {
      const one = async (sql: string, params: unknown[] = []) =>
        (
          await cl.query(sql, params).catch((e: unknown) => {
            throw pgError(e, sql);
          })
        ).rows[0] as Record<string, unknown>;
      // a cursor saved in other terms than the column's now (a wall time of another zone, or an
      // instant where the column is now a wall time, or back: the column retyped, the database's
      // TimeZone changed) is moved to the earlier of its two readings, the other converted into
      // this run's terms (was: read as it was, a Tokyo wall time taken for a UTC instant after a
      // retype to timestamptz: 9 hours ahead, moved back to the clock, and the rows written since
      // the last run up to the lookback were never read). (NULL zone: an instant, or a wall time
      // an older Vigil recorded no zone for: the earlier reading re-reads, never skips.)
      let rezoned: string | undefined;
      if (saved && savedZone !== undefined && (savedZone ?? null) !== (clockSql.zone ?? null)) {
        const lit = (z: string) => this.db.dialect.literal(z);
        const instant = savedZone ? `(cast(cast($1 as text) as timestamp) at time zone ${lit(savedZone)})` : 'cast(cast($1 as text) as timestamptz)';
        const inTerms = clockSql.zone ? `((${instant}) at time zone ${lit(clockSql.zone)})` : instant;
        const r = await one(`select case when cast(cast(${inTerms} as text) as timestamptz) < cast(cast($1 as text) as timestamptz) then cast(${inTerms} as text) end as r`, [saved]);
        if (r.r !== null && r.r !== undefined) {
          rezoned = String(r.r);
          saved = rezoned;
        }
      }
      const k = await one(`select ${clockSql.sql}::text as t${saved ? `, cast($1 as ${clockSql.base}) > ${clockSql.sql} as a` : ''}`, saved ? [saved] : []);
      const clock = String(k.t);
      const upto = `cast(cast($1 as ${clockSql.base}) as ${type})`;
      const past = `${c} > cast(cast($1 as ${clockSql.base}) + interval '1 minute' as ${type}) and ${c} < 'infinity'`;
      let max: string | null;
      let ahead: Record<string, unknown>;
      if (indexed) {
        max = (await one(`select max(${c})::text as m from ${this.rel(spec)} where ${c} <= ${upto}`, [clock])).m as string | null;
        ahead = await one(`select count(*) as n, max(${c})::text as m from ${this.rel(spec)} where ${past}`, [clock]);
      } else {
        const r = await one(`select (max(${c}) filter (where ${c} <= ${upto}))::text as m, count(*) filter (where ${past}) as n, (max(${c}) filter (where ${past}))::text as am from ${this.rel(spec)}`, [clock]);
        max = r.m as string | null;
        ahead = { n: r.n, m: r.am };
      }
      // the newest row's time as an instant (for the state's source_max_cursor: status, /health and
      // the latency alert judge its age): a wall time read in the database's TimeZone (was: the
      // wall time taken for UTC — "8h old" on fresh rows of a database in America/Los_Angeles)
      if (max !== null && clockSql.zone) max = String((await one(`select (cast(cast($1 as text) as timestamp) at time zone ${this.db.dialect.literal(clockSql.zone)})::text as m`, [max])).m);
      return { clock, ...(clockSql.zone ? { zone: clockSql.zone } : {}), max: max ?? null, ahead: { rows: Number(ahead.n ?? 0), latest: (ahead.m as string | null) ?? null }, savedAhead: !!k.a, ...(rezoned ? { rezoned } : {}) };
    });
  }

  async retiredRows(spec: StreamSpec, columns: SyncColumn[], lower: string | null): Promise<number> {
    if (!spec.retired) return 0;
    const q = (c: string) => this.db.dialect.quoteIdent(c);
    const type = columns.find((c) => c.name === spec.cursor);
    const from = lower ? ` and ${q(spec.cursor)} >= cast($1 as ${type?.sourceType ?? type?.pgType ?? 'timestamptz'})` : '';
    return Number((await this.firstRow(`select count(*) as n from ${this.rel(spec)} where ${q(spec.cursor)} < 'infinity'${from} and ${retiredSql(spec.retired, columns)}`, lower ? [lower] : []))?.n ?? 0);
  }

  async keptRows(spec: StreamSpec, columns: SyncColumn[], upto: string): Promise<number> {
    const q = (c: string) => this.db.dialect.quoteIdent(c);
    const type = columns.find((c) => c.name === spec.cursor);
    const retired = spec.retired ? ` and not coalesce(${retiredSql(spec.retired, columns)}, false)` : '';
    return Number((await this.firstRow(`select count(*) as n from ${this.rel(spec)} where ${q(spec.cursor)} <= cast($1 as ${type?.sourceType ?? type?.pgType ?? 'timestamptz'})${retired}`, [upto]))?.n ?? 0);
  }

  /**
   * Where a `--since` or `--lookback` pass starts, in the cursor column's terms: the instant
   * (`--since`, or the source's clock less `lookbackSeconds`: the repair's "now" is the clock its
   * rows are stamped by) as itself for a timestamptz cursor, as the wall time of the database's
   * TimeZone for a `timestamp` or `date` one (was: the UTC wall time, which Postgres compared with
   * the local one — a repair in a zone west of UTC missed the hours of its offset). `afterDelta`:
   * it is later than `deltaStart` (where a delta run of the stream starts: lookbackFrom's text).
   */
  async windowStart(spec: StreamSpec, columns: SyncColumn[], from: { since?: Date; lookbackSeconds?: number }, deltaStart: string | null): Promise<WindowStart> {
    const col = columns.find((x) => x.name === spec.cursor);
    const clock = await this.clockSql(col?.pgType ?? 'timestamp with time zone');
    const instant = from.since ? 'cast(cast($1 as text) as timestamptz)' : 'statement_timestamp() - make_interval(secs => cast(cast($1 as text) as double precision))';
    const lower = clock.zone ? `((${instant}) at time zone ${this.db.dialect.literal(clock.zone)})` : `(${instant})`;
    const r = (await this.firstRow(`select ${lower}::text as l, (${instant})::text as i${deltaStart ? `, ${lower} > cast(cast($2 as text) as ${clock.base}) as a` : ''}`, [from.since ? from.since.toISOString() : String(from.lookbackSeconds ?? 0), ...(deltaStart ? [deltaStart] : [])]))!;
    return { lower: String(r.l), instant: String(r.i), ...(clock.zone ? { zone: clock.zone } : {}), afterDelta: !!r.a };
  }

  async relationIdentity(schema: string, table: string): Promise<{ servers: string[]; relation: string } | null> {
    // the server by its start, to the microsecond, and the cluster by its system identifier, which
    // a physical replica and a copy of its files share with it (a sync reading the application's
    // replica into its primary: by the start time they were two servers) where the role may read
    // it (a role that may not, on one side only, still shares the start time); the database and
    // the relation by their oids
    const [{ control }] = await this.db.query<{ control: boolean }>(`select has_function_privilege('pg_control_system()', 'execute') as control`);
    const cluster = control ? `(select 'cluster ' || system_identifier::text from pg_control_system())` : 'null::text';
    const r = await this.db.query<{ started: string; cluster: string | null; id: string }>(
      `select pg_postmaster_start_time()::text as started, ${cluster} as cluster, d.oid || ' ' || c.oid as id from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_database d on d.datname = current_database() where n.nspname = $1 and c.relname = $2`,
      [schema, table],
    );
    return r[0] ? { servers: [r[0].started, ...(r[0].cluster ? [r[0].cluster] : [])], relation: r[0].id } : null;
  }

  async tableIdentity(spec: StreamSpec): Promise<TableIdentity | null> {
    // one catalog query, however many partitions: the relation, and from it what it reads rows
    // from — a partitioned table's partitions (and an inheritance parent's children) at any depth,
    // a view's relations (through the views it reads) at any depth. pg_class is read by oid from
    // an array (its index): joined to the recursive CTE, whose size the planner cannot tell, it was
    // read whole on every run of every stream (a catalog of 50,000 relations: 2 ms -> 80 ms)
    const rows = await this.db.query<{ oid: string; relkind: string; storage: string | null; def: string | null; name: string; root: boolean }>(
      `with recursive rels(oid) as (
         select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p', 'v')
         union
         select x.oid from rels r cross join lateral (
           select d.refobjid as oid from pg_rewrite w join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = w.oid and d.refclassid = 'pg_class'::regclass
           where w.ev_class = r.oid and d.refobjid <> r.oid
           union all
           select i.inhrelid from pg_inherits i where i.inhparent = r.oid
         ) x
       )
       select c.oid::text as oid, c.relkind::text as relkind, pg_relation_filenode(c.oid)::text as storage, case when c.relkind = 'v' then pg_get_viewdef(c.oid) end as def,
         format('%I.%I', n.nspname, c.relname) as name, (n.nspname = $1 and c.relname = $2) as root
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where c.oid = any(array(select oid from rels)) and c.relkind in ('r', 'p', 'v', 'm', 'f') order by c.oid`,
      [spec.schema, spec.table],
    );
    const root = rows.find((r) => r.root);
    if (!root) return null;
    if (root.relkind === 'v') {
      // (not the view's own oid: dropped and created again alike, it reads the same rows)
      const digest = createHash('sha256');
      for (const r of rows) digest.update(`${r.root ? 'root' : r.oid}:${r.relkind}:${r.storage ?? ''}:${r.def ?? ''}\n`);
      return { relation: 'view', storage: digest.digest('hex').slice(0, 32) };
    }
    const parts = rows.filter((r) => !r.root && r.storage !== null && r.relkind !== 'v');
    if (!parts.length) return { relation: String(root.oid), storage: root.storage ?? null };
    // (a parent that holds rows of its own, inheritance's: one of the parts)
    if (root.storage !== null) parts.unshift(root);
    return { relation: String(root.oid), storage: null, parts: parts.map((p) => ({ oid: String(p.oid), storage: String(p.storage), name: p.name })) };
  }

  async partRowsBefore(spec: StreamSpec, columns: SyncColumn[], parts: Array<{ oid: string; name: string }>, before: string, perPart: number): Promise<Array<{ part: string; row: string[] }>> {
    if (!parts.length) return [];
    const q = (c: string) => this.db.dialect.quoteIdent(c);
    const typeOf = (n: string) => {
      const c = columns.find((x) => x.name === n);
      return c?.sourceType ?? c?.pgType ?? 'text';
    };
    const cols = [spec.cursor, ...spec.primaryKey];
    const retired = spec.retired ? ` and not coalesce(${retiredSql(spec.retired, columns)}, false)` : '';
    // each part by its name as the catalog quoted it (format %I.%I: never the project's text), newest first: its index on (cursor, key) walked backwards
    const sql = parts
      .map((p, i) => `(select ${i} as p, ${cols.map((c, j) => `${q(c)}::text as c${j}`).join(', ')} from only ${p.name} where ${q(spec.cursor)} < cast($1 as ${typeOf(spec.cursor)})${retired} order by ${cols.map((c) => `${q(c)} desc`).join(', ')} limit ${Math.max(1, Math.floor(perPart))})`)
      .join(' union all ');
    return this.styled(async (c) => {
      const r = await c.query(sql, [before]).catch((e: unknown) => {
        throw pgError(e, sql);
      });
      return (r.rows as Array<Record<string, unknown>>).map((x) => ({ part: parts[Number(x.p)].name, row: cols.map((_, j) => String(x[`c${j}`])) }));
    });
  }

  async holdsRow(spec: StreamSpec, columns: SyncColumn[], cursor: string, key: string[]): Promise<boolean> {
    const q = (c: string) => this.db.dialect.quoteIdent(c);
    const typeOf = (n: string) => {
      const c = columns.find((x) => x.name === n);
      return c?.sourceType ?? c?.pgType ?? 'text';
    };
    const keyed = spec.primaryKey.map((k, i) => `${q(k)} = cast($${i + 2} as ${typeOf(k)})`).join(' and ');
    const r = await this.firstRow(`select exists (select 1 from ${this.rel(spec)} where ${keyed} and ${q(spec.cursor)} >= cast($1 as ${typeOf(spec.cursor)})) as held`, [cursor, ...key]);
    return !!r?.held;
  }

  async holdsAnyRow(spec: StreamSpec, columns: SyncColumn[], rows: string[][]): Promise<boolean> {
    if (!rows.length) return false;
    const q = (c: string) => this.db.dialect.quoteIdent(c);
    const typeOf = (n: string) => {
      const c = columns.find((x) => x.name === n);
      return c?.sourceType ?? c?.pgType ?? 'text';
    };
    const cols = [spec.cursor, ...spec.primaryKey];
    const tuples = rows.map((r, j) => `(${cols.map((c, i) => `cast($${j * cols.length + i + 1} as ${typeOf(c)})`).join(', ')})`);
    const r = await this.firstRow(`select exists (select 1 from ${this.rel(spec)} where (${cols.map(q).join(', ')}) in (${tuples.join(', ')})) as held`, rows.flat());
    return !!r?.held;
  }

  async lookbackFrom(cursor: string, seconds: number): Promise<string> {
    return String((await this.firstRow(`select (cast($1 as timestamptz) - make_interval(secs => $2))::text as t`, [cursor, seconds]))!.t);
  }

  async readBatch(spec: StreamSpec, columns: SyncColumn[], from: { lower: string | null; after: string[] | null }, size: number, file: string, endsBatch: boolean): Promise<SourceBatch> {
    const q = (c: string) => this.db.dialect.quoteIdent(c);
    const typeOf = new Map(columns.map((c) => [c.name, c.sourceType ?? c.pgType]));
    const keyCols = keyColumns(spec.cursor, spec.primaryKey);
    const order = keyCols.map(q).join(', ');
    // ORDER BY takes an output column's name before the table's: the COPY's outputs are named after
    // the columns they convert (a timestamp's text), so its sort is by the table's (`s`), in the index's order
    const orderBy = keyCols.map((k) => `s.${q(k)}`).join(', ');
    // aliased: ORDER BY would otherwise sort by these text outputs instead of the columns
    const keyText = keyCols.map((k, i) => `${q(k)}::text as __vigil_k${i}`).join(', ');
    const rel = `${this.rel(spec)} as s`;
    // the cursor the stream keeps after the row whose key is read with it: the source's clock in
    // this snapshot when the row is stamped after it (a future row as the cursor: every later delta
    // read from that time, missing every row written before it, and said OK) — the snapshot's
    // clock (its transaction's start), not this file's: the files of a batch, and of a first load,
    // read one snapshot for as long as they take
    const clock = (await this.clockSql(columns.find((c) => c.name === spec.cursor)?.pgType ?? '', 'transaction_timestamp()')).sql;
    const clockCursor = `case when s.${q(spec.cursor)} > cast(${clock} as ${typeOf.get(spec.cursor)}) then ${clock}::text end as __vigil_cursor`;
    /** A row of the key queries: its key tuple (text), and the cursor the stream keeps after it. */
    const keyRow = (row: unknown[] | undefined) => (row ? { key: row.slice(0, keyCols.length).map((v) => String(v)), cursor: (row[keyCols.length] as string | null) ?? null } : null);
    /** A key tuple whose values come from `value(i)` (a parameter or a setting), cast to the columns' types. */
    const tuple = (value: (i: number) => string) => `(${keyCols.map((k, i) => `cast(${value(i)} as ${typeOf.get(k)})`).join(', ')})`;
    const lowerCond = (value: (i: number) => string) => `${q(spec.cursor)} >= cast(${value(0)} as ${typeOf.get(spec.cursor)})`;
    // the bound query: parameters $1..; the COPY: settings vigil.a0.. (after), vigil.u0.. (upto), vigil.lower
    const afterP = (i: number) => `$${i + 1}`;
    const startParams = from.after ?? (from.lower ? [from.lower] : []);
    // a row stamped 'infinity' sorts after every other: read, it would become the cursor and every
    // later row would sit before it, never read again (nullCursorRows counts such rows, as NULLs)
    // (so would a NULL in a key column, which no keyset position or delete by key matches: a view's, left out and counted)
    // (and a row retention deleted from the copy is never copied again: retiredSql)
    const finite = [`${q(spec.cursor)} < 'infinity'`, ...(nullKey(spec, columns, q) ?? []).map((c) => `not ${c}`), ...(spec.retired ? [`not coalesce(${retiredSql(spec.retired, columns)}, false)`] : [])].join(' and ');
    const startCond = [from.after ? `(${order}) > ${tuple(afterP)}` : from.lower ? lowerCond(afterP) : '', finite].filter(Boolean).join(' and ');
    const setting = (prefix: string) => (i: number) => `current_setting('vigil.${prefix}${i}')`;
    // timestamps leave Postgres in UTC: as ISO 8601 ('2026-01-01T10:00:00.000000Z'), a form every
    // warehouse's CSV reader parses the same way, or — for a writer that reads Postgres' own '+00'
    // suffix (spec.timestamps 'sql-offset': DuckDB, Postgres) — as Postgres writes them, in the
    // transaction's UTC time zone and ISO date style: to_char on every row costs ~15 % of the COPY
    // arrays leave as JSON arrays ('["GDPR","SOC2"]'), which every writer turns back into its
    // array type (Dialect.jsonTextArray); Postgres' own '{GDPR,SOC2}' quotes only some elements
    // a date or timestamp before year 1 leaves as DuckDB writes it ('0044-03-15 (BC) 12:00:00+00',
    // BcText), unless the writer reads Postgres' '... BC' (`trailing`): only such values are rewritten, but
    // every value of such a column is cast to text for it (~0.1 s per 1,000,000 values)
    const bc = spec.bcDates !== 'trailing';
    const dated = (c: SyncColumn) => TIME_TYPES.includes(c.pgType.replace(/(\[\])+$/, ''));
    const selectList = columns
      .map((c) => {
        const name = q(c.name);
        // a type copied as a numeric it is not (money, a domain over numeric): cast to it
        const col = c.sourceType !== undefined && /^numeric\(/.test(c.pgType) ? `${name}::${c.pgType}` : name;
        if (isArrayColumn(c)) {
          // numeric elements as JSON strings: a JSON number is read back as a double (0.1234567890123456789 -> 0.12345678901234568);
          // float ones too: DuckDB's from_json and Postgres' jsonb read a JSON -0 as 0;
          // and a type copied as text (a composite, an extension's): its elements' text, not the
          // JSON array_to_json makes of them (a composite's object, hstore's cast to json)
          const asText = /^(numeric\b|real|double precision)/.test(c.pgType) || (c.sourceType !== undefined && /^text(\[\])+$/.test(c.pgType));
          const json = `array_to_json(${col}${asText ? '::text[]' : ''})::text`;
          return `${bc && dated(c) ? `regexp_replace(${json}, '"([0-9]+-[0-9]{2}-[0-9]{2})T?([^"]*) BC"', '"\\1 (BC) \\2"', 'g')` : json} as ${name}`;
        }
        // (to_char makes ±infinity NULL: they leave as their text, which a warehouse that cannot hold them refuses)
        const text = c.pgType === 'timestamp with time zone' && spec.timestamps !== 'sql-offset' ? `case when isfinite(${col}) then to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') else ${col}::text end` : null;
        // a timestamptz after the copy's last one fails the read, naming the column: DuckDB's
        // read_csv makes one NULL, exit 0 (as it does any TIMESTAMPTZ text it cannot read, so no
        // text could fail there); the message cast to timestamptz is the error
        const lit = (v: string) => this.db.dialect.literal(v);
        const far = spec.maxInstant && c.pgType === 'timestamp with time zone' ? ` when ${col} > ${lit(spec.maxInstant)} and ${col} < 'infinity' then cast(cast(${lit(`column ${c.name}: `)} || ${col}::text || ${lit(` is after ${spec.maxInstant}, the latest timestamptz the copy holds`)} as timestamptz) as text)` : '';
        if (bc && dated(c)) return `case when ${col} < '0001-01-01' then ${bcAfterDate(`${col}::text`)}${far} else ${text ?? `${col}::text`} end as ${name}`;
        if (far) return `case${far.replace(/^ when/, ' when')} else ${text ?? `${col}::text`} end as ${name}`;
        return text ? `${text} as ${name}` : col === name ? col : `${col} as ${name}`;
      })
      .join(', ');
    const { to: copyTo } = await import('pg-copy-streams');
    let rows = 0;
    // the longest record, for a warehouse whose CSV reader needs a buffer that holds it (DuckDB)
    const meter = spec.separators === 'ascii' ? new RecordMeter(csvSeparators('ascii').quote.charCodeAt(0)) : undefined;
    let upto: string[] | null = null;
    let last: string[] | null = null;
    let cursor: string | null = null;
    // the last file of a batch, or of the table, closes the batch's snapshot (a file that comes
    // back short is the table's last: the batch ends with it)
    let short = false;
    await this.inSnapshot(endsBatch, async (c) => {
      const bound = await c.query({ text: `select ${keyText}, ${clockCursor} from ${rel}${startCond ? ` where ${startCond}` : ''} order by ${orderBy} offset ${Math.max(0, size - 1)} limit 1`, values: startParams, rowMode: 'array' }).catch((e: unknown) => {
        throw pgError(e, 'batch bound');
      });
      const b = keyRow(bound.rows[0] as unknown[] | undefined);
      upto = b?.key ?? null;
      last = upto;
      cursor = b?.cursor ?? null;
      const conds = [
        from.after ? `(${order}) > ${tuple(setting('a'))}` : from.lower ? lowerCond(setting('a')) : '',
        upto ? `(${order}) <= ${tuple(setting('u'))}` : '',
        finite,
      ].filter(Boolean);
      const settings: Array<[string, string]> = [...startParams.map((v, i) => [`vigil.a${i}`, v] as [string, string]), ...(upto ?? []).map((v, i) => [`vigil.u${i}`, v] as [string, string])];
      for (const [k, v] of settings) await c.query('select set_config($1, $2, true)', [k, v]);
      const where = conds.length ? ` where ${conds.join(' and ')}` : '';
      const select = `select ${selectList} from ${rel}${where} order by ${orderBy}`;
      try {
        const copy = c.query(copyTo(`copy (${select}) to stdout with (format csv${separatorOptions(spec.separators)}${bomQuote(columns, q)})`));
        await pipeline(copy, inPieces(WRITE_PIECE, meter), createWriteStream(file));
        // the stream ends at COPY's CopyDone; its row count comes with the CommandComplete after
        // it, which the client may not have read yet when the file is written (a count of 0 then
        // ended the batch early and lost the file's rows): a query queued behind the COPY
        // resolves only once the client has read all of it
        await c.query('select 1');
        rows = Number((copy as unknown as { rowCount: number }).rowCount ?? 0);
      } catch (e) {
        throw pgError(e, select);
      }
      // the batch's last key becomes the stream's cursor when the batch commits
      if (!last && rows > 0) {
        const desc = keyCols.map((k) => `s.${q(k)} desc`).join(', ');
        const r = await c.query({ text: `select ${keyText}, ${clockCursor} from ${rel}${where} order by ${desc} limit 1`, rowMode: 'array' }).catch((e: unknown) => {
          throw pgError(e, 'last key');
        });
        const l = keyRow(r.rows[0] as unknown[] | undefined);
        last = l?.key ?? null;
        cursor = l?.cursor ?? null;
      }
      short = !upto;
    });
    if (short) await this.release();
    return { file, rows, upto, last, longestRecord: meter?.max, ...(cursor ? { cursor } : {}) };
  }
}

/**
 * The rows a retention apply deleted (RetiredRows), as a condition on the source's columns: the
 * apply's own predicate (retentionPredicate, in the source's column types), its instants written
 * as literals — the COPY takes no bind parameters.
 */
function retiredSql(r: RetiredRows, columns: SyncColumn[]): string {
  const type = (name: string | undefined) => columns.find((c) => c.name === name);
  const e = { column: r.column, column_type: type(r.column)?.sourceType ?? type(r.column)?.pgType, override_days: r.overrideDays ?? null, cutoff: r.cutoff, override_floor: r.overrideFloor, as_of: r.asOf };
  const { params } = retentionPredicate(postgresDialect, e);
  const literal = (i: number) => postgresDialect.literal(params[i - 1] as string | null);
  return retentionPredicate({ ...postgresDialect, param: literal, timestampParam: (i) => `cast(${literal(i)} as timestamptz)` }, e).sql;
}

/**
 * COPY's rows reach Node in the socket's ~10 KB reads; written as they come, a 1,000,000-row sync
 * makes ~45,000 write calls. Joined into pieces of `size` bytes it makes ~420: ~0.1 s less CPU per
 * 245,760 rows, measured, on the two cores the warehouse's load shares.
 */
const WRITE_PIECE = 1 << 20;
function inPieces(size: number, meter?: RecordMeter): Transform {
  let parts: Buffer[] = [];
  let bytes = 0;
  const take = () => {
    const piece = Buffer.concat(parts, bytes);
    parts = [];
    bytes = 0;
    return piece;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      meter?.add(chunk);
      parts.push(chunk);
      bytes += chunk.length;
      done(null, bytes >= size ? take() : undefined);
    },
    flush(done) {
      done(null, bytes ? take() : undefined);
    },
  });
}

export class PostgresSyncWriter extends StandardSyncWriter {
  /** COPY FROM reads Postgres' own timestamp output */
  readonly timestamps = 'sql-offset' as const;
  /** ...and its own '0044-03-15 BC' */
  readonly bcDates = 'trailing' as const;
  constructor(protected readonly db: PostgresAdapter) {
    super(db);
  }

  /**
   * The state's times are UTC whatever the session's TimeZone (a url's `options` may set one for
   * the models): a cursor text without an offset (a `timestamp` or `date` cursor, the source's
   * clock for one) is stored as UTC — in a session of another zone it was that zone's, and a zone
   * set after a sync moved every such cursor by its offset (rows skipped) ...
   */
  protected cursorParam(index: number): string {
    const text = `cast($${index} as text)`;
    return `(case when ${text} ~ ':[0-9][0-9]([.][0-9]+)?([zZ]|[-+][0-9][0-9](:?[0-9][0-9]){0,2})( BC)?$' then cast(${text} as timestamptz) else cast(${text} as timestamp) at time zone 'UTC' end)`;
  }

  /** ... and read back as a UTC session prints them ('2026-03-15 10:00:00.123456+00', '... 10:00:00+00 BC') */
  protected timeText(column: string): string {
    return `(case when isfinite(${column}) then regexp_replace(cast(${column} at time zone 'UTC' as text), '( BC)?$', '+00\\1') else cast(${column} as text) end)`;
  }

  async applyBatch(rel: Relation, columns: SyncColumn[], files: AsyncIterable<BatchFile>, pk: string[], stateRel: Relation, stream: string, sourceMax: string | null, replace: boolean, batch: () => BatchInfo): Promise<BatchInfo> {
    const d = this.db.dialect;
    const q = (s: string) => d.quoteIdent(s);
    const target = d.relation(rel);
    const cols = columns.map((x) => q(x.name));
    const arrays = columns.filter(isArrayColumn);
    const stage = replace || arrays.length > 0;
    return this.db.transaction(async (c, run) => {
      let inserted = 0;
      if (stage) {
        // array columns arrive as JSON text: staged as text, converted on the way in; the synced
        // columns only, without the copy's constraints (was: like the copy — an identity or NOT
        // NULL column of its own that the sync does not fill failed every batch that replaces)
        await run(`create temp table __vigil_stage on commit drop as select ${cols.join(', ')} from ${target} with no data`);
        for (const a of arrays) await run(`alter table __vigil_stage alter column ${q(a.name)} type text using null`);
      }
      for await (const file of files) inserted += await this.db.copyIn(c, stage ? '__vigil_stage' : target, cols, file.path);
      if (stage) {
        const keys = pk.map(q);
        if (replace) await run(`delete from ${target} as t using __vigil_stage as s where ${keys.map((k) => `t.${k} = s.${k}`).join(' and ')}`);
        const values = columns.map((x) => fromBatchValue(d, x, q(x.name)));
        inserted = await run(`insert into ${target} (${cols.join(', ')}) select ${values.join(', ')} from __vigil_stage`);
      }
      return this.finishBatch(run, inserted, stateRel, stream, sourceMax, batch);
    });
  }

  /**
   * --full-refresh: TRUNCATE, not DELETE. A DELETE of the whole table leaves every row behind as a
   * dead tuple until a vacuum: after four full refreshes of 1,000,000 rows the table held 2.7 M dead
   * rows and 1,750 MB where TRUNCATE leaves 487 MB, and each refresh took 12.2-14.4 s against
   * 10.6-12.6 s (docs/benchmarks.md). TRUNCATE is transactional in Postgres (rolled back with the
   * rest), but it waits for a lock no reader may hold: a BI query reading the table, or a
   * foreign key pointing at it, makes it fall back to DELETE (after 1 s of waiting: readers arriving meanwhile queue behind the TRUNCATE; or at once). So does a role allowed to DELETE but not to TRUNCATE.
   */
  async reset(rel: Relation, stateRel: Relation, stream: string): Promise<void> {
    await this.db.transaction(async (c, run) => {
      await this.empty(c, run, rel);
      await run(`update ${this.db.dialect.relation(stateRel)} set cursor_value = null, cursor_id = null, rows_synced = 0 where stream = $1`, [stream]);
    });
  }

  /** Empty `rel` inside the transaction of `c`: TRUNCATE, or DELETE where it waited 1 s for its lock or was refused (reset's comment). */
  private async empty(c: PoolClient, run: (sql: string, params?: SqlParam[]) => Promise<number>, rel: Relation): Promise<void> {
    const table = this.db.dialect.relation(rel);
    const before = String((await c.query('show lock_timeout')).rows[0].lock_timeout);
    await run('savepoint vigil_reset');
    try {
      await run("set local lock_timeout = '1s'");
      await run(`truncate table ${table}`);
      // the rest of the transaction waits for locks as the session would
      await run('select set_config($1, $2, true)', ['lock_timeout', before]);
      await run('release savepoint vigil_reset');
    } catch {
      await run('rollback to savepoint vigil_reset');
      await run(`delete from ${table}`);
    }
  }

  async beginRefill(rel: Relation, into: Relation, stateRel: Relation, refillState: Relation, stream: string, columns: SyncColumn[]): Promise<void> {
    const d = this.db.dialect;
    const cols = columns.map((x) => d.quoteIdent(x.name)).join(', ');
    await this.ensureState(refillState.schema, refillState.identifier);
    const running = await this.runningState(stateRel, stream);
    await this.db.transaction(async (_c, run) => {
      await run(`drop table if exists ${d.relation(into)}`);
      // the synced columns in the copy's types, and nothing else of it: no constraint (an identity
      // or NOT NULL column the sync does not fill), no default, no generated column
      await run(`create table ${d.relation(into)} as select ${cols} from ${d.relation(rel)} with no data`);
      await run(`delete from ${d.relation(refillState)} where stream = $1`, [stream]);
      // the stream runs (vigil sync status, a kill -9 told by its owner), its cursor as it was
      await run(running.sql, running.params);
    });
  }

  async finishRefill(rel: Relation, into: Relation, stateRel: Relation, refillState: Relation, stream: string, columns: SyncColumn[]): Promise<void> {
    const d = this.db.dialect;
    const [s, r] = [d.relation(stateRel), d.relation(refillState)];
    const cols = columns.map((x) => d.quoteIdent(x.name)).join(', ');
    await this.db.transaction(async (c, run) => {
      // statements as long as the copy is big: not cut by statement_timeout_ms, which would fail
      // every refill of a big enough copy after reading all of it
      await run("set local statement_timeout = '0'");
      // emptied as reset() empties it: TRUNCATE (readers that start meanwhile wait for the commit,
      // as for a table model's rebuild, and then read the new rows), or DELETE where a reader
      // holds the table (1 s) — a DELETE every time left a million dead rows per refill behind
      // (2.4 GB after four refreshes of 1,000,000 rows) and took 1.7x as long
      await this.empty(c, run, rel);
      // by name: a column the sync does not fill gets its default (or its generated value)
      await run(`insert into ${d.relation(rel)} (${cols}) select ${cols} from ${d.relation(into)}`);
      // the refill's cursor (none where it read no row: the source had none to read)
      await run(`update ${s} set cursor_value = null, cursor_id = null, rows_synced = 0 where stream = $1`, [stream]);
      await run(
        `insert into ${s} (stream, cursor_value, cursor_id, rows_synced) select stream, cursor_value, cursor_id, rows_synced from ${r} where stream = $1
         on conflict (stream) do update set cursor_value = excluded.cursor_value, cursor_id = excluded.cursor_id, rows_synced = excluded.rows_synced`,
        [stream],
      );
      await run(`delete from ${r} where stream = $1`, [stream]);
      await run(`drop table ${d.relation(into)}`);
    });
  }

  async dropRefill(into: Relation, refillState: Relation, stream: string): Promise<void> {
    const d = this.db.dialect;
    await this.db.transaction(async (_c, run) => {
      await run(`drop table if exists ${d.relation(into)}`);
      if (await this.db.relationExists(refillState)) await run(`delete from ${d.relation(refillState)} where stream = $1`, [stream]);
    });
  }
}
