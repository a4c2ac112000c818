/**
 * PostgreSQL adapter (driver `pg`): a warehouse target. A pool of connections, sessions in
 * UTC (or the TimeZone the url's `options` set), helper functions installed once, and atomic replacement: a table is built under a
 * temporary name and swapped in with the old one in one transaction, so readers see either
 * the old or the new table, and a failing build leaves the old one in place.
 */
import { planGrants, type GrantPlan, type Privilege } from '../grants.js';
import { columnsBy, reconcileGrants, selectGrants } from './postgres-grants.js';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient, QueryArrayConfig, QueryArrayResult } from 'pg';
import { WarehouseError } from '../../errors.js';
import { aroundTransaction, castLossFailure, castOverflowFailure, newReplaceColumnFailure, castLossSql, columnNamed, retypedColumns, hooksOfRun, droppedColumnsFailure, ExactNumber, incrementalMessage, maskingAfterRun, mergeDuplicatesFailure, mergeDuplicatesSql, storedDuplicatesSql, storedDuplicatesWarning, builtDuplicatesWarning, duplicatesWarning, joinWarnings, maskingChangeFailure, partitionCountSql, recordedMasking, withMaskingLine, nullKeysSql, nullKeyWarning, partitionDeleteSql, preciseTime, exactInteger, replaceBy, schemaChangeFailure, withHooks, type Adapter, type DroppedKey, type Column, type LoadRequest, type MaterializeRequest, type MaterializeResult, type Preview, type ReferencingKey, type Row } from '../adapter.js';
import { RelationCatalog } from '../relation-catalog.js';
import { loadColumnType, scratchIdentifier, type Relation, type SqlParam } from '../dialect.js';
import type { SyncReader, SyncWriter } from '../../sync/sync-types.js';
import { PG_HELPERS_HINT, PG_HELPERS_PRESENT_SQL, PG_HELPERS_SQL, postgresDialect } from './postgres-dialect.js';
import type { PostgresTargetConfig } from './postgres-config.js';
import { warehouse } from './index.js';
import { PostgresSyncReader, PostgresSyncWriter } from './postgres-sync.js';
import { backendPid, isLockWaitCut, lockForSwap, lockRelation, lockWaitFailure, relationHolder, watchWait, type SideConnection, type SwapLocks } from './postgres-locks.js';

/**
 * The views that read a relation ($1, as SQL names it), directly or through other views: what
 * `drop ... cascade` drops with it; `depth`: how far from it (1: reads it), `kind` v (a view) or m
 * (a materialized view).
 */
const DEPENDENT_VIEWS_SQL = `with recursive deps(oid, depth) as (
    select r.ev_class, 1 from pg_depend d join pg_rewrite r on r.oid = d.objid
     where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass and d.refobjid = to_regclass($1) and r.ev_class <> d.refobjid
    union
    select r.ev_class, deps.depth + 1 from deps join pg_depend d on d.refobjid = deps.oid and d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass
      join pg_rewrite r on r.oid = d.objid where r.ev_class <> d.refobjid
  )
  select n.nspname as schema, c.relname as name, max(deps.depth) as depth, c.relkind as kind from deps join pg_class c on c.oid = deps.oid join pg_namespace n on n.oid = c.relnamespace
  group by n.nspname, c.relname, c.relkind order by 1, 2`;

/** The foreign keys of other tables referencing a table ($1, as SQL names it): what `drop ... cascade` drops with it besides views (a partition's copies of one left out). */
const REFERENCING_KEYS_SQL = `select n.nspname as schema, c.relname as name, k.conname as constraint from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
  where k.contype = 'f' and k.confrelid = to_regclass($1) and k.conrelid <> k.confrelid and k.conparentid = 0 order by 1, 2, 3`;

/**
 * What a backend `options` string (libpq's, as a url's `?options=` carries it: `-c name=value`,
 * `-cname=value` or `--name=value`, words split at white space, `\\` escaping the next character)
 * sets `name` to (case-insensitive; the last one wins, as on the server); undefined when it does not.
 */
export function optionSetting(options: string, name: string): string | undefined {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < options.length; i++) {
    const ch = options[i];
    if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? '') + (ch === '\\' && i + 1 < options.length ? options[++i] : ch);
  }
  if (word !== undefined) words.push(word);
  let value: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const set = w === '-c' ? words[++i] : w.startsWith('--') ? w.slice(2) : w.startsWith('-c') ? w.slice(2) : undefined;
    const eq = set?.indexOf('=') ?? -1;
    if (set && eq > 0 && set.slice(0, eq).replace(/-/g, '_').toLowerCase() === name.toLowerCase()) value = set.slice(eq + 1);
  }
  return value;
}

/**
 * A client of the pool for a while (a transaction, a sync batch's snapshot): pg emits 'error' on
 * a checked-out client whose connection the server ends (a restart, a failover,
 * pg_terminate_backend), and with no listener that killed the process — `vigil serve` and every
 * schedule with it. Listened to while it is out: the query in flight fails instead, and a client
 * that saw an error is not given back to the pool (`release()` destroys it).
 */
export async function checkout(pool: Pool): Promise<PoolClient> {
  let c: PoolClient;
  try {
    c = await pool.connect();
  } catch (e) {
    throw pgError(e, '');
  }
  let broken: Error | undefined;
  const onError = (e: Error) => (broken = e);
  c.on('error', onError);
  const release = c.release.bind(c);
  c.release = (destroy?: boolean | Error) => {
    c.off('error', onError);
    c.release = release;
    return release(destroy ?? broken ?? false);
  };
  return c;
}

/** Turn a driver error into a WarehouseError whose message carries `LINE n:` like DuckDB's. */
export function pgError(e: unknown, sql: string): WarehouseError {
  const err = e as { message?: string; position?: string; code?: string; detail?: string; hint?: string };
  let message = err.message ?? String(e);
  if (err.code) message += ` [SQLSTATE ${err.code}]`;
  if (err.detail) message += `\nDETAIL: ${err.detail}`;
  if (err.hint) message += `\nHINT: ${err.hint}`;
  const pos = Number(err.position);
  let position: { line: number; column: number } | undefined;
  if (pos > 0) {
    const before = sql.slice(0, pos - 1);
    const line = before.split('\n').length;
    const text = sql.split('\n')[line - 1] ?? '';
    position = { line, column: pos - 1 - (before.lastIndexOf('\n') + 1) + 1 };
    message += `\nLINE ${line}: ${text.trim()}`;
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(message)) message += '\n(is the server running, and is the url in project.yaml / DATABASE_URL right?)';
  if (/password authentication failed|no pg_hba.conf entry/.test(message)) message += '\n(check the user and password in the connection url)';
  if ((err.code === '42883' || err.code === '3F000' || err.code === '42501') && /vigil_internal/.test(err.message ?? '')) message += `\n${PG_HELPERS_HINT}`;
  return new WarehouseError(message, sql, { cause: e, position });
}

/**
 * The helper functions models call (PG_HELPERS_SQL), installed where they are missing or differ;
 * a role that may not create them (42501) goes on without them — a model calling one fails, with
 * PG_HELPERS_HINT. `refused` undoes what the refused statement began (a checker's savepoint).
 */
export async function installHelpers(run: (sql: string) => Promise<Array<Record<string, unknown>>>, refused?: () => Promise<unknown>): Promise<void> {
  if ((await run(PG_HELPERS_PRESENT_SQL))[0]?.ok) return;
  try {
    await run(PG_HELPERS_SQL);
  } catch (e) {
    const err = e as { code?: string; cause?: { code?: string } };
    if ((err.code ?? err.cause?.code) !== '42501') throw e;
    await refused?.();
  }
}

/**
 * The helpers for the transaction open on `c` only, when the server lacks them (installHelpers):
 * a role that may not create them goes on without them, its refusal rolled back to a savepoint.
 */
export async function helpersInTransaction(c: PoolClient): Promise<void> {
  await c.query('savepoint vigil_helpers');
  await installHelpers(async (sql) => (await c.query(sql)).rows, () => c.query('rollback to savepoint vigil_helpers'));
}

/** `run` under the savepoint `name` on `c` (in a transaction): a failure rolls back only what it did, and is thrown. */
export async function underSavepoint<R>(c: PoolClient, name: string, run: () => Promise<R>): Promise<R> {
  await c.query(`savepoint ${name}`);
  try {
    const r = await run();
    await c.query(`release savepoint ${name}`);
    return r;
  } catch (e) {
    await c.query(`rollback to savepoint ${name}`);
    throw e;
  }
}

/**
 * One connection of its own to the target (a pool of one, without installing the helpers), set up
 * by `setup` (a transaction begun, a query asked): what `vigil check` and unit tests on Postgres
 * work on. When the setup fails, the connection and pool are given back and its error thrown as
 * pgError's of `what` (the statement the setup sent).
 */
export async function dedicatedConnection<T>(cfg: PostgresTargetConfig, what: string, setup: (db: PostgresAdapter, c: PoolClient) => Promise<T>): Promise<T> {
  const db = await PostgresAdapter.open(cfg, 1, { helpers: false });
  let c: PoolClient | undefined;
  try {
    c = await checkout(db.pool);
    return await setup(db, c);
  } catch (e) {
    c?.release();
    await db.close().catch(() => undefined);
    throw pgError(e, what);
  }
}

export class PostgresAdapter implements Adapter {
  readonly warehouse = warehouse;
  readonly type = 'postgres';
  /** COPY's CSV format takes the line break of the file's first line for every record's */
  readonly loadsCrlf = true;
  readonly dialect = postgresDialect;
  readonly maxConcurrency: number;
  readonly previewNamesEmpty = true;
  private readonly catalog = new RelationCatalog();
  private tmpSeq = 0;
  /** Told of a lock waited for past a moment (who holds it), a swap tried again after a deadlock: the CLI prints it. */
  onRetry?: (message: string) => void;
  /** the privileges of views a `drop ... cascade` dropped (beforeCascade) */
  private cascaded = new Map<string, Privilege[]>();

  private constructor(
    readonly pool: Pool,
    poolSize: number,
    /** A connection of this adapter's without its own TimeZone (zoneOfDatabase). */
    private readonly connectUnzoned?: () => Promise<SideConnection>,
  ) {
    this.maxConcurrency = poolSize;
  }

  private zone?: Promise<string>;
  private session?: Promise<string>;

  /** The TimeZone of the pool's sessions (Adapter.sessionZone): the url's options', else UTC; read once. */
  sessionZone(): Promise<string> {
    this.session ??= this.pool.query('show timezone').then(
      (r) => String(r.rows[0].TimeZone),
      (e: unknown) => {
        this.session = undefined;
        throw pgError(e, 'show timezone');
      },
    );
    return this.session;
  }

  /**
   * The TimeZone a session of this database gets when it sets none itself (the server's
   * postgresql.conf, ALTER SYSTEM, ALTER DATABASE / ROLE ... SET timezone, the url's options):
   * the zone of the local time its `now()::timestamp` defaults write. Every connection of the
   * pool sets UTC at its start unless the url's options set a zone, which outranks all of those,
   * so it is read on one connection opened without that (once per adapter).
   */
  zoneOfDatabase(): Promise<string> {
    this.zone ??= (async () => {
      if (!this.connectUnzoned) return 'UTC';
      const c = await this.connectUnzoned();
      try {
        return String((await c.query('show timezone')).rows[0].TimeZone);
      } finally {
        await c.end().catch(() => undefined);
      }
    })().catch((e: unknown) => {
      this.zone = undefined;
      throw new WarehouseError(`could not read the database's TimeZone setting (on a connection of its own): ${(e as Error).message.split('\n')[0]}`, 'show timezone', { cause: e });
    });
    return this.zone;
  }

  /**
   * Connect. `helpers: false` leaves the database as it is (vigil debug, vigil check): the helper
   * functions models call (vigil_internal.median) are otherwise installed, once per pool.
   */
  static async open(cfg: PostgresTargetConfig, poolSize = 4, opts: { helpers?: boolean; /** false: a server older than Postgres 14, that refuses client_connection_check_interval */ connectionCheck?: boolean; /** the target's name, said when it cannot be reached (a project has several Postgres targets: the warehouse, the application's database) */ target?: string } = {}): Promise<PostgresAdapter> {
    const pg = (await import('pg')).default;
    // bigint and numeric arrive as text by default; counts and sums are numbers to people (bigints past 2^53).
    // Per pool, not pg.types.setTypeParser: that would also change what `vigil sync` reads.
    // A DATE and a TIMESTAMP without zone are read in UTC, as DuckDB hands them over (the driver's
    // own parsers read them in the process's zone: under TZ=Asia/Tokyo a date came back as the
    // evening before, and alerts and dashboards showed the day before)
    const utc = (v: string, suffix: string, fallback: (v: string) => unknown) => (/^\d{4}-\d\d-\d\d( \d\d:\d\d:\d\d(\.\d+)?)?$/.test(v) ? new Date(`${v.replace(' ', 'T')}${suffix}`) : fallback(v));
    // a timestamp's digits below the millisecond (its µs) are kept (PreciseTime): a Date rounds them away
    const fine = (v: string, d: unknown) => {
      const frac = /:\d\d\.(\d{4,})/.exec(v)?.[1];
      if (!frac || !(d instanceof Date) || Number.isNaN(d.getTime())) return d;
      return preciseTime(Math.floor(d.getTime() / 1000) * 1000 + Number(frac.slice(0, 3)), frac.slice(3));
    };
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') => {
        const standard = (pg.types.getTypeParser as (o: number, f?: string) => (v: string) => unknown)(oid, format);
        if (oid === 20 || oid === 1700) return exactInteger;
        if (oid === 1082 && format !== 'binary') return (v: string) => utc(v, 'T00:00:00Z', standard);
        if (oid === 1114 && format !== 'binary') return (v: string) => fine(v, utc(v, 'Z', standard));
        if (oid === 1184 && format !== 'binary') return (v: string) => fine(v, standard(v));
        return standard;
      },
    };
    const ssl = cfg.ssl === undefined ? undefined : typeof cfg.ssl === 'boolean' ? cfg.ssl : { rejectUnauthorized: cfg.ssl.reject_unauthorized ?? true, ca: cfg.ssl.ca };
    const size = Math.max(1, cfg.pool_size ?? poolSize);
    // the url's own `options` (pg reads them from the url over the pool's) go first, ours after
    // them: for the same setting the later -c wins, and the session styles below must hold
    // (taken out of the query string as text: a socket url, postgres://u@/db?host=/sock, is no URL to new URL())
    let urlOptions = '';
    const connectionString = cfg.url.replace(/([?&])options=([^&#]*)(&?)/, (_m, lead: string, v: string, tail: string) => {
      try {
        urlOptions = decodeURIComponent(v.replace(/\+/g, ' '));
      } catch {
        urlOptions = v;
      }
      return tail ? lead : '';
    });
    // a build killed (kill -9, a crash) mid-query left its backend running that query to
    // its end (a model's minutes), holding the relation's lock: the next build waited for the dead
    // one. Checked each second, the backend ends once its client is gone (Postgres 14+: an older
    // server refuses the connection, opened again without it below); the url's own options win
    const check = opts.connectionCheck !== false && optionSetting(urlOptions, 'client_connection_check_interval') === undefined;
    const pool = new pg.Pool({
      connectionString,
      max: size,
      ssl,
      application_name: cfg.application_name ?? 'vigil',
      // dates and intervals in the styles the driver parses and the sync state is read back in,
      // whatever the server, database or role set (a 'SQL, DMY' DateStyle broke every delta sync);
      // the TimeZone UTC unless the url's options set one: that one is the models' (their now(),
      // date_trunc and ::date of a timestamptz), as asked — Vigil's own state reads and writes
      // its times whatever the session's zone (PostgresSyncWriter)
      options: `${urlOptions ? `${urlOptions} ` : ''}${optionSetting(urlOptions, 'TimeZone') === undefined ? '-c TimeZone=UTC ' : ''}-c DateStyle=ISO,YMD -c IntervalStyle=postgres${check ? ' -c client_connection_check_interval=1000' : ''}${cfg.statement_timeout_ms ? ` -c statement_timeout=${cfg.statement_timeout_ms}` : ''}`,
      connectionTimeoutMillis: 15_000,
      types: types as never,
    });
    pool.on('error', () => undefined); // an idle client dropped by the server: the next query reconnects
    const unzoned = async () => {
      const c = new pg.Client({ connectionString, ssl, application_name: cfg.application_name ?? 'vigil', ...(urlOptions ? { options: urlOptions } : {}), connectionTimeoutMillis: 15_000 });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    };
    const a = new PostgresAdapter(pool, size, unzoned);
    try {
      if (opts.helpers === false) await a.execute('select 1');
      else await installHelpers((sql) => a.query(sql));
    } catch (e) {
      await pool.end().catch(() => undefined);
      if (e instanceof WarehouseError && /concurrently|already exists/.test(e.message)) return PostgresAdapter.open(cfg, poolSize, opts);
      if (check && /client_connection_check_interval/.test((e as Error).message)) return PostgresAdapter.open(cfg, poolSize, { ...opts, connectionCheck: false });
      throw new WarehouseError(`could not connect to Postgres${opts.target ? ` (target '${opts.target}')` : ''}: ${(e as Error).message.split('\n')[0]}`, '', { cause: e });
    }
    return a;
  }

  async execute(sql: string, params?: SqlParam[]): Promise<void> {
    try {
      await this.pool.query(sql, params);
    } catch (e) {
      throw pgError(e, sql);
    }
  }

  async executeCounted(sql: string, params?: SqlParam[]): Promise<number | undefined> {
    try {
      return (await this.pool.query(sql, params)).rowCount ?? undefined;
    } catch (e) {
      throw pgError(e, sql);
    }
  }

  async query<T extends Row = Row>(sql: string, params?: SqlParam[]): Promise<T[]> {
    try {
      // (rows as arrays: two columns of one name, `select *` of a join, are name and name_1, as
      // DuckDB names them, not one value of the two — a failing test's sample showed one)
      const answered = (await this.pool.query({ text: sql, values: params, rowMode: 'array' })) as QueryArrayResult | QueryArrayResult[];
      // (a text of several statements, without parameters: a result each; the last one's rows, as DuckDB gives them)
      const r = Array.isArray(answered) ? answered[answered.length - 1] : answered;
      if (!r?.fields?.length) return [];
      const names = uniqueNames(r.fields.map((f) => f.name));
      return (r.rows as unknown[][]).map((values) => {
        const row: Row = {};
        for (let i = 0; i < names.length; i++) row[names[i]] = values[i];
        return row as T;
      });
    } catch (e) {
      throw pgError(e, sql);
    }
  }

  async preview(sql: string): Promise<Preview> {
    const pg = (await import('pg')).default;
    // every value as the server spells it (TimeZone UTC, DateStyle ISO: timestamps to the µs,
    // numeric exactly), parsed only where JavaScript holds it exactly: booleans, small integers,
    // floats, arrays of those and of text
    const parsed = new Set([16, 21, 23, 26, 700, 701, 1000, 1005, 1007, 1009, 1014, 1015, 1021, 1022]);
    // arrays of bigint, numeric, dates, times, intervals, json, uuid: lists (as DuckDB's) of their items as Postgres spells them
    const textArrays = new Set([1016, 1231, 1182, 1115, 1185, 1183, 1187, 1270, 199, 3807, 2951]);
    const arrayOf = (v: string) => (pg.types as unknown as { arrayParser: { create(s: string, f: (x: string) => string): { parse(): unknown[] } } }).arrayParser.create(v, (x) => x).parse();
    const getTypeParser = (oid: number, format?: 'text' | 'binary') => (parsed.has(oid) ? (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format) : textArrays.has(oid) ? arrayOf : (v: string) => v);
    // it only reads, and runs one statement: in a read-only transaction, rolled back (a function
    // that writes, nextval(), is refused), sent as one prepared statement (extended protocol: a
    // second statement smuggled in after a `;` is refused before any runs; sent as a simple
    // query, `select 1) s; delete from t; select (1` deleted the rows, then failed on its results)
    const r = await this.withClient(async (c) => {
      try {
        await c.query('begin transaction read only');
        const q: QueryArrayConfig = { text: sql, types: { getTypeParser } as never, rowMode: 'array' };
        // (queryMode: pg's, not in its types)
        return await c.query(Object.assign(q, { queryMode: 'extended' }));
      } catch (e) {
        throw previewError(e, sql);
      } finally {
        await c.query('rollback').catch(() => undefined);
      }
    });
    // (two columns of one name: the second is name_1, as DuckDB names it; it was dropped)
    const names = uniqueNames(r.fields.map((f) => f.name));
    const typeName = new Map(Object.entries(pg.types.builtins).map(([k, v]) => [v as number, k.toLowerCase()]));
    // (date, timestamp, timestamptz)
    const columns = r.fields.map((f, i) => ({ name: names[i], numeric: [20, 21, 23, 26, 700, 701, 1700].includes(f.dataTypeID), time: [1082, 1114, 1184].includes(f.dataTypeID), type: typeName.get(f.dataTypeID) }));
    // int8 and numeric, alone or in arrays (int8[], numeric[]): exact text (NaN as text)
    const exact = (v: unknown): unknown => (Array.isArray(v) ? v.map(exact) : typeof v === 'string' && /^-?\d/.test(v) ? new ExactNumber(v) : v);
    const exactArrays = new Set([1016, 1231]);
    const rows = (r.rows as unknown[][]).map((values) => {
      const row: Row = {};
      columns.forEach((c, i) => {
        const v = values[i];
        // (floats' NaN and infinities as text)
        row[c.name] = typeof v === 'number' ? (Number.isFinite(v) ? v : String(v)) : c.numeric || exactArrays.has(r.fields[i].dataTypeID) ? exact(v) : v;
      });
      return row;
    });
    return { columns, rows };
  }

  syncWriter(): SyncWriter {
    return new PostgresSyncWriter(this);
  }

  syncReader(): SyncReader {
    return new PostgresSyncReader(this);
  }

  /** COPY a CSV file into a table on one client (`pg-copy-streams`); the number of rows. */
  async copyIn(c: PoolClient, rel: string, columns: string[], file: string, csv: { header?: boolean; delimiter?: string } = {}): Promise<number> {
    const { from: copyFrom } = await import('pg-copy-streams');
    try {
      const opts = [`format csv`, ...(csv.header ? ['header true'] : []), ...(csv.delimiter && csv.delimiter !== ',' ? [`delimiter ${this.dialect.literal(csv.delimiter)}`] : [])];
      const stream = c.query(copyFrom(`copy ${rel} (${columns.join(', ')}) from stdin with (${opts.join(', ')})`));
      await pipeline(createReadStream(file), stream);
      return Number((stream as unknown as { rowCount: number }).rowCount ?? 0);
    } catch (e) {
      throw pgError(e, `copy ${rel} from stdin`);
    }
  }

  /**
   * The foreign keys referencing `rel` (pg_constraint), with their ON DELETE action: `vigil
   * retention` says what its deletes reach besides the rows it plans (Adapter.referencingKeys).
   */
  async referencingKeys(rel: Relation): Promise<ReferencingKey[]> {
    // (a partitioned table's key is cloned for each partition, the clones naming their parent key: the parent's only)
    const cols = (key: string, of: string) => `array(select a.attname::text from unnest(c.${key}) with ordinality k(n, i) join pg_attribute a on a.attrelid = c.${of} and a.attnum = k.n order by k.i)`;
    const rows = await this.query<{ conname: string; schema: string; identifier: string; action: string; columns: string[]; ref_columns: string[] }>(
      `select c.conname::text as conname, n.nspname::text as schema, t.relname::text as identifier, c.confdeltype::text as action, ${cols('conkey', 'conrelid')} as columns, ${cols('confkey', 'confrelid')} as ref_columns
       from pg_constraint c join pg_class t on t.oid = c.conrelid join pg_namespace n on n.oid = t.relnamespace
       where c.contype = 'f' and c.confrelid = to_regclass($1) and c.conparentid = 0 order by n.nspname, t.relname, c.conname`,
      // (the schema and the name: a database in a relation name is the connection's own)
      [this.dialect.relation({ schema: rel.schema, identifier: rel.identifier })],
    );
    const actions: Record<string, ReferencingKey['onDelete']> = { c: 'cascade', n: 'set null', d: 'set default', r: 'restrict', a: 'no action' };
    return rows.map((r) => ({ constraint: r.conname, table: { schema: r.schema, identifier: r.identifier }, columns: r.columns, refColumns: r.ref_columns, onDelete: actions[r.action] ?? 'no action' }));
  }

  /**
   * Retention: a batch of rows by `ctid` (a TID scan), and the log statement, in one transaction.
   * A row is its `(tableoid, ctid)`: a ctid is unique only within one table, and a partitioned
   * table (or a parent with INHERITS children) reads its partitions' rows, whose ctids repeat —
   * matching by ctid alone deleted the row at that ctid in every partition (a batch of 2 deleted
   * 4, and rows that came while apply ran beyond the count it set out to delete).
   */
  deleteBatch(rel: Relation, where: string, params: SqlParam[], limit: number, then: (deleted: number) => { sql: string; params: SqlParam[] }): Promise<number> {
    const r = this.dialect.relation(rel);
    return this.transaction(async (_c, run) => {
      const n = await run(
        `with batch as materialized (select tableoid as t, ctid as c from ${r} where ${where} limit ${Math.floor(limit)}) delete from ${r} where ctid = any(array(select c from batch)) and (tableoid, ctid) in (select t, c from batch) and ${where}`,
        params,
      );
      const log = then(n);
      await run(log.sql, log.params);
      return n;
    });
  }

  /** Run `fn` in one transaction on one client: committed when it returns, rolled back when it throws. */
  async transaction<T>(fn: (c: PoolClient, run: (sql: string, params?: SqlParam[]) => Promise<number>) => Promise<T>): Promise<T> {
    return this.withClient(async (c) => {
      await PostgresAdapter.run(c, 'begin');
      try {
        const r = await fn(c, (sql, params) => PostgresAdapter.run(c, sql, params));
        await PostgresAdapter.run(c, 'commit');
        return r;
      } catch (e) {
        await c.query('rollback').catch(() => undefined);
        throw e;
      }
    });
  }

  async loadTable(req: LoadRequest): Promise<number> {
    const d = this.dialect;
    const q = (x: string) => d.quoteIdent(x);
    const rel = d.relation(req.relation);
    const pk = req.primaryKey?.length ? `, primary key (${req.primaryKey.map(q).join(', ')})` : '';
    await this.ensureSchema(req.relation.schema);
    let cascaded = false;
    let dropped: Relation[] = [];
    let droppedKeys: DroppedKey[] = [];
    let viewsKept: KeptView[] | undefined;
    // one load (or build) of a relation at a time, across processes, as materialize() takes it: two
    // first loads of a seed at once both created the table ("duplicate key value violates unique
    // constraint pg_type_typname_nsp_index")
    const rows = await this.withClient((c) =>
      this.holdingLock(c, req.relation, async () => {
        const run = (sql: string) => PostgresAdapter.run(c, sql);
        await run('begin');
        try {
          // a timestamp without offset loads as UTC, as on every warehouse, whatever TimeZone the url set
          await run("set local timezone = 'UTC'");
          // a table there with the same columns is emptied and filled (as dbt reloads a seed): the
          // views that read it stay (dropping it dropped them, a restricted companion and its grants
          // too, without a word); else it is made again, and the views the cascade drops are said
          const have = await columnTypes(c, rel);
          const same = !pk && !req.indexes?.length && have.length === req.columns.length && req.columns.every((x, i) => have[i].name === x.name && have[i].type === (loadColumnType(d, x) === 'timestamptz' ? 'timestamp with time zone' : loadColumnType(d, x)));
          // the table's lock (and, when it is made again, its views' first: lockForSwap) taken
          // before the TRUNCATE or DROP, each try bounded, a long wait said
          const what = `the lock on ${req.relation.schema}.${req.relation.identifier} to load the seed into it`;
          const kept = 'the table is kept as it was';
          if (have.length) await lockForSwap(c, rel, same ? { views: [] } : await viewsToLock(c, rel), { what, open: this.connectUnzoned, say: this.onRetry, kept });
          const t0 = Date.now();
          const watch = watchWait(this.connectUnzoned, c, what, this.onRetry);
          try {
            if (same) await run(`truncate table ${rel}`);
            else {
              ({ views: dropped, keys: droppedKeys, kept: viewsKept } = await this.beforeCascade(c, rel));
              await run(`drop table if exists ${rel} cascade`);
              cascaded = true;
            }
          } catch (e) {
            if (!isLockWaitCut(e)) throw e;
            await c.query('rollback').catch(() => undefined);
            throw lockWaitFailure(e, Date.now() - t0, what, watch.holder ?? (await relationHolder(c, [rel], backendPid(c))), kept, (e as WarehouseError).sql ?? '');
          } finally {
            await watch.stop();
          }
          if (!same) await run(`create table ${rel} (${req.columns.map((x) => `${q(x.name)} ${loadColumnType(d, x)}`).join(', ')}${pk})`);
          const n = await this.copyIn(c, rel, req.columns.map((x) => q(x.name)), req.file, req);
          for (const ix of req.indexes ?? []) await run(`create index on ${rel} (${ix.map(q).join(', ')})`);
          if (dropped.length) dropped = await this.afterCascade(c, { views: dropped, kept: viewsKept });
          await run('commit');
          return n;
        } catch (e) {
          await c.query('rollback').catch(() => undefined);
          throw e;
        }
      }),
    );
    await this.execute(`analyze ${rel}`);
    if (cascaded) this.catalog.forget();
    this.catalog.changed(req.relation.schema, req.relation.identifier, 'table');
    if (dropped.length || droppedKeys.length) req.onDropped?.(dropped, droppedKeys);
    return rows;
  }

  /**
   * What a `drop ... cascade` of `rel` (as SQL names it) is about to drop with it, read before it:
   * the views (their privileges kept for a later build of one with grants_mode add: `schema.name`
   * → privileges) and the foreign keys of other tables.
   */
  private async beforeCascade(c: PoolClient, rel: string): Promise<{ views: Relation[]; keys: DroppedKey[]; kept?: KeptView[] }> {
    const views = await dependentViews(c, rel);
    for (const v of views) {
      const held = await privileges(c, this.dialect.relation(v));
      if (held.length) this.cascaded.set(`${v.schema}.${v.identifier}`, held);
    }
    return { views, keys: await referencingKeys(c, rel), kept: views.length ? await keptViews(c, rel) : undefined };
  }

  /**
   * Once the relation a `drop ... cascade` dropped is there again (same transaction): the views
   * the cascade took, made again as they were (restoreViews: a reader never finds them missing,
   * nor a role its grant on them); what is still dropped (those that could not be, and the views
   * that read them).
   */
  private async afterCascade(c: PoolClient, dropped: { views: Relation[]; kept?: KeptView[] }): Promise<Relation[]> {
    if (!dropped.kept?.length) return dropped.views;
    const made = new Set((await restoreViews(c, dropped.kept)).map((v) => `${v.schema}.${v.identifier}`));
    for (const k of made) this.cascaded.delete(k);
    return dropped.views.filter((v) => !made.has(`${v.schema}.${v.identifier}`));
  }

  async relationExists(rel: Relation): Promise<'table' | 'view' | null> {
    return this.catalog.kind(rel.schema, rel.identifier, async () => {
      const rows = await this.query<{ relname: string; relkind: string }>(
        `select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind in ('r', 'v', 'm', 'p')`,
        [rel.schema],
      );
      return new Map(rows.map((r) => [r.relname, r.relkind === 'v' || r.relkind === 'm' ? ('view' as const) : ('table' as const)]));
    });
  }

  tableComment(rel: Relation): Promise<string | null> {
    return this.withClient((c) => tableCommentOf(c, this.dialect.relation(rel)));
  }

  async commentTable(rel: Relation, comment: string): Promise<void> {
    await this.execute(`comment on table ${this.dialect.relation(rel)} is ${this.dialect.literal(comment)}`);
  }

  async commentView(rel: Relation, comment: string): Promise<void> {
    await this.execute(`comment on view ${this.dialect.relation(rel)} is ${this.dialect.literal(comment)}`);
  }

  viewComments(schema: string): Promise<Array<{ identifier: string; comment: string | null }>> {
    return this.query<{ identifier: string; comment: string | null }>(
      `select c.relname as identifier, obj_description(c.oid, 'pg_class') as comment from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind = 'v' order by 1`,
      [schema],
    );
  }

  async missingRoles(roles: string[]): Promise<string[]> {
    const names = [...new Set(roles)].filter((r) => r.toLowerCase() !== 'public');
    if (!names.length) return [];
    const rows = await this.query<{ name: string }>(`select r as name from json_array_elements_text($1::json) as r where not exists (select 1 from pg_roles where rolname = r)`, [JSON.stringify(names)]);
    return rows.map((r) => r.name);
  }

  dependentViews(rel: Relation): Promise<Relation[]> {
    return this.withClient((c) => dependentViews(c, this.dialect.relation(rel)));
  }

  async columns(rel: Relation): Promise<Column[]> {
    const rows = await this.query<{ column_name: string; data_type: string }>(
      `select a.attname as column_name, format_type(a.atttypid, a.atttypmod) as data_type
       from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped
       order by a.attnum`,
      [rel.schema, rel.identifier],
    );
    return rows.map((r) => ({ name: r.column_name, data_type: r.data_type }));
  }

  async ensureSchema(schema: string): Promise<void> {
    // created only when missing, as dbt-postgres (list_schemas, then create): `create schema if not
    // exists` needs CREATE on the database even when the schema is there (a role given its schema
    // by an owner failed every run)
    const [have] = await this.query<{ n: number }>('select count(*)::int as n from pg_namespace where nspname = $1', [schema]);
    if (have?.n) return;
    try {
      await this.execute(this.dialect.createSchema(schema));
    } catch (e) {
      // two runs creating the same schema at once: one wins, the other finds it
      if (!/already exists|duplicate key/.test((e as Error).message)) throw e;
    }
  }

  async withClient<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await checkout(this.pool);
    try {
      return await fn(c);
    } finally {
      c.release();
    }
  }

  static async run(c: PoolClient, sql: string, params?: SqlParam[]): Promise<number> {
    try {
      const r = await c.query(sql, params);
      return r.rowCount ?? 0;
    } catch (e) {
      throw pgError(e, sql);
    }
  }

  /**
   * `fn` with the relation's lock held (materialize()'s) and its statements in one transaction on
   * one client: the adapter it is given sends them there (execute, query, columns,
   * relationExists, ensureSchema; relationExists asks the catalog, not the cache).
   */
  async exclusive<T>(rel: Relation, fn: (adapter: Adapter) => Promise<T>): Promise<T> {
    try {
      return await this.withClient((c) =>
        this.holdingLock(c, rel, async () => {
          await PostgresAdapter.run(c, 'begin');
          const on: Pick<Adapter, 'execute' | 'query' | 'relationExists'> = {
            execute: async (sql, params) => void (await PostgresAdapter.run(c, sql, params)),
            query: async <R extends Row = Row>(sql: string, params?: SqlParam[]) => {
              try {
                return (await c.query(sql, params)).rows as R[];
              } catch (e) {
                throw pgError(e, sql);
              }
            },
            relationExists: (r) => relationKind(c, r),
          };
          // (columns and ensureSchema call this.query and this.execute: the client's too)
          const scoped = Object.assign(Object.create(this) as PostgresAdapter, on);
          try {
            const r = await fn(scoped);
            await PostgresAdapter.run(c, 'commit');
            return r;
          } catch (e) {
            await c.query('rollback').catch(() => undefined);
            throw e;
          }
        }),
      );
    } finally {
      // (what the cache knew of the schema may have changed: a first run creates the table)
      this.catalog.forget(rel.schema);
    }
  }

  async materialize(req: MaterializeRequest): Promise<MaterializeResult> {
    const d = this.dialect;
    const rel = d.relation(req.relation);
    let existing = await this.relationExists(req.relation);
    const remember = (kind: 'table' | 'view') => this.catalog.changed(req.relation.schema, req.relation.identifier, kind);
    let granted: GrantPlan | undefined;
    const result = await this.withClient(async (c) => {
      // one build of a relation at a time, across processes (two `vigil build`s, `vigil serve` on
      // two hosts): the later one waits, then sees what the first committed. Without it both
      // incremental runs deleted nothing of the other's rows and inserted theirs: every key twice
      return this.holdingLock(c, req.relation, async () => {
        // what is there now, asked on this client (the pool may have no other) with the lock held:
        // the catalog cache may be older than another process's build of it (which need not have
        // overlapped this one: a cache filled before it began said "none", and the build failed
        // with "already exists")
        const now = await relationKind(c, req.relation);
        if (now !== existing) this.catalog.forget(req.relation.schema);
        existing = now;
        // an incremental run appends to the table (its incremental query) unless the table holds
        // no row (built by `build --empty`, or emptied: filled from the full query, in place; its
        // incremental query would read max(...) of nothing and add nothing): decided once, before
        // any hook runs, and the hooks run as they render with that is_incremental(), as the SQL does
        const appends = req.kind === 'incremental' && existing === 'table' && !req.fullRefresh && (await c.query(`select 1 as one from ${rel} limit 1`)).rowCount !== 0;
        const run = hooksOfRun(req, appends);
        // hooks with transaction: false on this client outside the build's transaction (VACUUM can run there)
        return await aroundTransaction(run, (sql) => PostgresAdapter.run(c, sql), (inside) => this.build(c, { ...run, ...inside }, rel, existing, remember, (g) => (granted = g), appends));
      });
    });
    return granted ? { ...result, grants: granted } : result;
  }

  /**
   * `fn` holding on `c` the advisory lock of relation `r` (lockRelation: one build or load of a
   * relation at a time, across processes), released however `fn` ends.
   */
  private async holdingLock<T>(c: PoolClient, r: Relation, fn: () => Promise<T>): Promise<T> {
    const key = `vigil:${r.schema}.${r.identifier}`;
    await lockRelation(c, key, this.connectUnzoned, this.onRetry);
    try {
      return await fn();
    } finally {
      await c.query('select pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => undefined);
    }
  }

  /** materialize() with the relation's lock held on `c`. */
  private async build(c: PoolClient, req: MaterializeRequest, rel: string, existing: 'table' | 'view' | null, remember: (kind: 'table' | 'view') => void, setGranted: (g: GrantPlan) => void, appends: boolean): Promise<MaterializeResult> {
    const d = this.dialect;
    // grants_mode add never revokes: a relation the build drops (the table swapped out, a view
    // replaced outright, a view a cascade dropped earlier in this process) hands its privileges,
    // read before the drop, to the new one in the same transaction
    const carry = req.grants?.mode === 'add';
    // an incremental table's comment records the masking it was built with: written after the
    // hooks (a post-hook may set the comment: its text is kept), kept by an incremental run only
    // where it was recorded or the table held no row
    let stamp = req.kind === 'incremental' && !!req.masking;
    // (the record an incremental run leaves: incrementalWrite's)
    let record: Record<string, string> | undefined;
    const key = `${req.relation.schema}.${req.relation.identifier}`;
    const cascadedHeld = existing ? undefined : this.cascaded.get(key);
    let carried: Privilege[] = (carry && cascadedHeld) || [];
    this.cascaded.delete(key);
    // who could read the relation this build replaces (dropped below, or by an earlier cascade):
    // the progress line says what changed for them, not what the new relation was granted
    let replacedReaders: string[] | undefined = cascadedHeld ? readersOf(cascadedHeld) : undefined;
    // (and those of them that held SELECT on some columns only — `grant select (email) ...`, read
    // from pg_attribute.attacl — with those columns: readers too, whose access went with the drop)
    let replacedColumns: Record<string, string[]> = {};
    // every path below is one transaction; the model's hooks run in it, around the build (those
    // with transaction: false are not in `req`: materialize() runs them outside it), and its
    // grants after them: a rebuilt table is never readable without them, a failed grant keeps
    // the previous relation
    const inTx = async <T>(fn: () => Promise<T>): Promise<T> => {
      await PostgresAdapter.run(c, 'begin');
      try {
        const r = await withHooks(req, (sql) => PostgresAdapter.run(c, sql), fn);
        const comment = stamp ? withMaskingLine(await tableCommentOf(c, rel), record ?? req.masking!) : undefined;
        if (comment !== undefined) await PostgresAdapter.run(c, `comment on table ${rel} is ${d.literal(comment)}`);
        if (req.grants) {
          const plan = await reconcileGrants(c, (sql) => PostgresAdapter.run(c, sql), req.relation, req.grants);
          // (a replaced relation: what changed for the readers of the old one — the new one starts
          // with no grant; grants_mode add carried them over)
          const shown = replacedReaders ? withColumnReaders(planGrants(replacedReaders, req.grants.select, req.grants.mode), replacedColumns, req.grants.select, req.grants.mode) : plan;
          setGranted(carried.length ? { ...shown, carried } : shown);
        }
        await PostgresAdapter.run(c, 'commit');
        return r;
      } catch (e) {
        await c.query('rollback').catch(() => undefined);
        this.catalog.forget(req.relation.schema);
        throw e;
      }
    };
    // `drop ... cascade` drops the views that read the relation too (or a view that does),
    // wherever they are: named in the result, so a run that does not rebuild them says they are
    // gone; and what the catalog cache knows is asked again after such a build (undefined: no drop)
    let dropped: Relation[] | undefined;
    let droppedKeys: DroppedKey[] = [];
    let kept: KeptView[] | undefined;
    const drop = async (kind: 'table' | 'view') => {
      ({ views: dropped, keys: droppedKeys, kept } = await this.beforeCascade(c, rel));
      const held = await privileges(c, rel);
      replacedReaders = readersOf(held);
      replacedColumns = Object.fromEntries(columnsBy((await selectGrants(c, req.relation)).grants));
      // (with its column privileges: `never revokes` — was: a role holding SELECT on a column only lost it, unsaid)
      if (carry) carried = [...held, ...(await columnPrivileges(c, rel))];
      await PostgresAdapter.run(c, `drop ${kind} ${rel} cascade`);
    };
    // (the new relation in place: the views the drop took made again)
    const restore = async () => {
      if (dropped?.length) dropped = await this.afterCascade(c, { views: dropped, kept });
      kept = undefined;
    };
    const withDropped = (r: MaterializeResult): MaterializeResult => ({ ...r, ...(dropped?.length ? { dropped } : {}), ...(droppedKeys.length ? { droppedKeys } : {}) });
    if (req.kind === 'view') {
      await inTx(async () => {
        if (existing === 'table') await drop('table');
        try {
          await PostgresAdapter.run(c, 'savepoint vigil_view');
          await PostgresAdapter.run(c, d.createView(req.relation, req.sql));
        } catch (e) {
          // create or replace cannot drop or retype columns: replace the view outright
          if (!/SQLSTATE 42P16/.test((e as Error).message)) throw e;
          await PostgresAdapter.run(c, 'rollback to savepoint vigil_view');
          await drop('view');
          await PostgresAdapter.run(c, d.createView(req.relation, req.sql));
        }
        await restore();
        carried = await grantPrivileges(c, rel, carried);
      });
      if (dropped?.length) this.catalog.forget();
      remember('view');
      return withDropped({ message: 'created view' });
    }
    const incremental = req.kind === 'incremental' && existing === 'table' && !req.fullRefresh;
    if (!incremental) {
      // build beside the old relation, then swap in one transaction
      const tmpName = scratchIdentifier(d, req.relation.identifier, 'tmp');
      const tmp = d.relation({ ...req.relation, identifier: tmpName });
      let builtDups: string | undefined;
      await PostgresAdapter.run(c, `drop table if exists ${tmp}`);
      await inTx(async () => {
        await PostgresAdapter.run(c, d.createTableAs({ ...req.relation, identifier: tmpName }, req.sql));
        // a merge's first build (or --full-refresh) stores a key its rows hold twice, as dbt does: said
        if (req.kind === 'incremental' && req.strategy === 'merge' && req.uniqueKey?.length) {
          const names = (await columnTypes(c, tmp)).map((x) => x.name);
          const keys = req.uniqueKey.map((k) => d.quoteIdent(columnNamed(k, names)));
          builtDups = duplicatesWarning((await c.query(mergeDuplicatesSql(tmp, keys, d.type('string')))).rows[0] as { n: unknown; key: unknown }, (n, key) => builtDuplicatesWarning(rel, req.uniqueKey!, n, key));
        }
        // the swap: under a savepoint of its own, tried again on a deadlock with a reader (the
        // rebuilt table stays built: only the swap is redone)
        await swapIn(c, rel, `${req.relation.schema}.${req.relation.identifier}`, !!existing, this.onRetry, this.connectUnzoned, async () => {
          if (existing) await drop(existing);
          await PostgresAdapter.run(c, `alter table ${tmp} rename to ${d.quoteIdent(req.relation.identifier)}`);
          await restore();
        });
        carried = await grantPrivileges(c, rel, carried);
      });
      if (dropped?.length) this.catalog.forget();
      remember('table');
      return withDropped({ message: req.kind === 'incremental' ? 'created incremental table' : 'created table', ...joinWarnings(builtDups) });
    }
    const tmp = d.quoteIdent(`__vigil_incr_${++this.tmpSeq}`);
    // (an incremental table that held no row when the build began: filled from the full query, in place)
    const empty = !appends;
    const built = stamp && !empty ? recordedMasking(await tableCommentOf(c, rel)) : undefined;
    stamp &&= empty || !!built;
    const w = await inTx(async () => {
      const written = await incrementalWrite({ run: (sql) => PostgresAdapter.run(c, sql), rows: async (sql) => (await c.query(sql)).rows, columns: (r) => columnTypes(c, r) }, req, rel, tmp, empty ? req.sql : (req.incrementalSql ?? req.sql), built);
      record = written.masking;
      return written;
    });
    return { message: incrementalMessage(replaceBy(req), w.rows, w.deleted, w.partitions), rows: w.rows, ...(empty ? { refilled: true } : {}), ...joinWarnings(w.nullKeys ? nullKeyWarning(w.nullKeys, req.uniqueKey ?? []) : undefined, w.stored) };
  }

  async currentGrantees(rel: Relation): Promise<string[]> {
    // SELECT granted to roles other than the owner (PUBLIC, grantee 0, is not a role Vigil manages)
    const rows = await this.query<{ grantee: string }>(GRANTEES_SQL, [rel.schema, rel.identifier]);
    return rows.map((r) => r.grantee);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** A table's comment (`rel` as SQL names it), read on the build's client. */
async function tableCommentOf(c: PoolClient, rel: string): Promise<string | null> {
  return ((await c.query(`select obj_description(to_regclass($1), 'pg_class') as comment`, [rel])).rows[0] as { comment: string | null } | undefined)?.comment ?? null;
}

/** How many times a swap a deadlock ended is tried again. */
const SWAP_RETRIES = 3;

/**
 * The swap of a rebuilt table in for `rel` (as SQL names it; `existing`: there is one to drop),
 * `swap` sending its statements, in the transaction open on `c`: the locks it needs taken first,
 * the views that read `rel` before it (lockForSwap), under a savepoint; a deadlock with another
 * session (a reader taking its locks in another order: a foreign key's table, then this one) rolls
 * back to it and the swap is tried again, up to SWAP_RETRIES times, each said in one line.
 */
async function swapIn(c: PoolClient, rel: string, shown: string, existing: boolean, say: ((line: string) => void) | undefined, open: (() => Promise<SideConnection>) | undefined, swap: () => Promise<void>): Promise<void> {
  const what = `the lock on ${shown} to swap the rebuilt table in`;
  const kept = existing ? 'the old table is kept' : 'nothing was built';
  for (let retry = 0; ; retry++) {
    await PostgresAdapter.run(c, 'savepoint vigil_swap');
    try {
      const locks: SwapLocks = existing ? await viewsToLock(c, rel) : { views: [] };
      const views = locks.views;
      if (existing) await lockForSwap(c, rel, locks, { what, open, say, kept });
      // (the drop waits still for what the lock did not take: a table whose foreign key references this one)
      const t0 = Date.now();
      const watch = watchWait(open, c, what, say);
      try {
        await swap();
      } catch (e) {
        if (!isLockWaitCut(e)) throw e;
        await PostgresAdapter.run(c, 'rollback to savepoint vigil_swap');
        const others = (await referencingKeys(c, rel)).map((k) => postgresDialect.relation(k.on));
        throw lockWaitFailure(e, Date.now() - t0, what, watch.holder ?? (await relationHolder(c, [...views, rel, ...others], backendPid(c))), kept, (e as WarehouseError).sql ?? '');
      } finally {
        await watch.stop();
      }
      await PostgresAdapter.run(c, 'release savepoint vigil_swap');
      return;
    } catch (e) {
      const err = e as { code?: string; cause?: { code?: string; detail?: string } };
      if ((err.code ?? err.cause?.code) !== '40P01' || retry >= SWAP_RETRIES) throw e;
      await PostgresAdapter.run(c, 'rollback to savepoint vigil_swap');
      const self = backendPid(c);
      const other = [...(err.cause?.detail ?? '').matchAll(/process (\d+)/g)].map((m) => Number(m[1])).find((p) => p !== self);
      say?.(`${shown}: a deadlock with another session${other ? ` (backend pid ${other})` : ''} ended the swap of the rebuilt table: swapping it in again (${retry + 1} of ${SWAP_RETRIES})`);
      await new Promise((r) => setTimeout(r, 100 * 2 ** retry));
    }
  }
}

/** What incrementalWrite() sends statements through: the adapter's client, or `vigil check`'s savepoints. */
export interface IncrementalIo {
  run(sql: string): Promise<number>;
  rows(sql: string): Promise<Row[]>;
  /** a relation's columns (as SQL names it), as columnTypes() reads them */
  columns(rel: string): Promise<Array<{ name: string; type: string }>>;
}

/**
 * An incremental run into the table `rel` (as SQL names it), in the caller's transaction: the new
 * rows of `source` staged in the temp table `tmp`, on_schema_change applied, the rows they
 * replace deleted, and they inserted; refused when the table was built with other masking than
 * the model's (`builtMasking`, recorded in its comment; `masking`: the record the run leaves,
 * maskingAfterRun). `vigil check` sends the same on its empty
 * scratch table.
 */
export async function incrementalWrite(io: IncrementalIo, req: MaterializeRequest, rel: string, tmp: string, source: string, builtMasking?: Record<string, string>): Promise<{ rows: number; nullKeys: number; deleted: number; partitions: number; masking?: Record<string, string>; stored?: string }> {
  const d = postgresDialect;
  let nullKeys = 0;
  let stored: string | undefined;
  let deleted = 0;
  let partitions = 0;
  await io.run(`create temp table ${tmp} on commit drop as\n${source}`);
  const targetCols = await io.columns(rel);
  const newCols = await io.columns(tmp);
  const have = new Set(targetCols.map((x) => x.name));
  const added = newCols.filter((x) => !have.has(x.name));
  if (builtMasking && req.masking) {
    const changed = maskingChangeFailure(rel, builtMasking, req.masking, newCols.filter((x) => have.has(x.name)).map((x) => x.name));
    if (changed) throw new WarehouseError(changed, '');
  }
  const writes = new Set(newCols.map((x) => x.name));
  const masking = builtMasking && req.masking ? maskingAfterRun(builtMasking, req.masking, targetCols.filter((x) => !writes.has(x.name)).map((x) => x.name)) : undefined;
  const policy = req.onSchemaChange ?? 'ignore';
  if (policy === 'fail') {
    const failure = schemaChangeFailure(rel, targetCols, newCols);
    if (failure) throw new WarehouseError(failure, '');
  }
  const replace = replaceBy(req);
  if (policy !== 'fail') {
    const now = new Set(newCols.map((x) => x.name));
    const gone = droppedColumnsFailure(rel, targetCols.filter((x) => !now.has(x.name)).map((x) => x.name), policy, !!replace);
    if (gone) throw new WarehouseError(gone, '');
    // (a key column added to a table that holds rows: NULL in each, they would all stay beside the new rows)
    const fresh = policy === 'append_new_columns' ? newReplaceColumnFailure(rel, added.map((x) => x.name), replace) : undefined;
    if (fresh && (await io.rows(`select 1 as one from ${rel} limit 1`)).length) throw new WarehouseError(fresh, '');
    // a column whose type changed: the write casts its new values to the table's type
    const retyped = retypedColumns(targetCols, newCols);
    // (a value the table's type cannot hold at all fails the cast itself, Postgres having no
    // try_cast: said as the model's failure, not as the check query's error)
    const checked = retyped.length
      ? await io.rows(castLossSql(tmp, retyped, (n) => d.quoteIdent(n), d.type('string'), (col) => `cast(${col} as numeric)`)).catch((e: unknown) => {
          const code = (e as { code?: unknown }).code;
          if (typeof code === 'string' && code.startsWith('22')) throw new WarehouseError(castOverflowFailure(rel, policy, retyped, (e as Error).message), '');
          throw e;
        })
      : undefined;
    const lost = checked ? castLossFailure(rel, policy, retyped, checked[0]) : undefined;
    if (lost) throw new WarehouseError(lost, '');
  }
  if (added.length && policy === 'append_new_columns') {
    for (const a of added) await io.run(`alter table ${rel} add column ${d.quoteIdent(a.name)} ${a.type}`);
  }
  const cols = newCols.filter((x) => policy === 'append_new_columns' || have.has(x.name)).map((x) => d.quoteIdent(x.name));
  // names as the table spells them (unique_key='ID' is the column id, as unquoted SQL reads it)
  const names = targetCols.map((x) => x.name);
  if (replace && 'keys' in replace) {
    const keys = replace.keys.map((k) => d.quoteIdent(columnNamed(k, names)));
    nullKeys = Number((await io.rows(nullKeysSql(tmp, keys)))[0].n);
    if (req.strategy === 'merge') {
      const dup = mergeDuplicatesFailure(rel, replace.keys, (await io.rows(mergeDuplicatesSql(tmp, keys, d.type('string'))))[0] as { n: unknown; key: unknown });
      if (dup) throw new WarehouseError(dup, '');
      // (a key the table holds in more than one row: all of them replaced by its one new row, as on every warehouse; said)
      stored = duplicatesWarning((await io.rows(storedDuplicatesSql(rel, tmp, keys, d.type('string'))))[0] as { n: unknown; key: unknown }, (n, key) => storedDuplicatesWarning(rel, replace.keys, n, key));
    }
    // `=`, as dbt-postgres: a key holding a NULL matches nothing (as on DuckDB and BigQuery), and
    // the join is a hash join (`is not distinct from` was a nested loop over the whole table)
    const on = keys.map((k) => `t.${k} = s.${k}`).join(' and ');
    deleted = await io.run(`delete from ${rel} as t using ${tmp} as s where ${on}`);
  } else if (replace) {
    const column = d.quoteIdent(columnNamed(replace.partition.field, names));
    partitions = Number((await io.rows(partitionCountSql(tmp, replace.partition, column)))[0].n);
    deleted = await io.run(partitionDeleteSql(rel, tmp, replace.partition, column));
  }
  const rows = await io.run(`insert into ${rel} (${cols.join(', ')}) select ${cols.join(', ')} from ${tmp}`);
  return { rows, nullKeys, deleted, partitions, masking, stored };
}

/** What a relation is, asked of the catalog on `c` (no cache). */
async function relationKind(c: PoolClient, rel: Relation): Promise<'table' | 'view' | null> {
  const kind = (await c.query("select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p', 'v', 'm')", [rel.schema, rel.identifier])).rows[0]?.relkind as string | undefined;
  return kind === undefined ? null : kind === 'v' || kind === 'm' ? 'view' : 'table';
}

/** A preview's failure: pgError's, said plainly where the query was more than one statement or wrote. */
function previewError(e: unknown, sql: string): WarehouseError {
  const err = pgError(e, sql);
  const code = (e as { code?: string }).code;
  const first = err.message.split('\n')[0];
  if (code === '42601' && /multiple commands/.test(first)) return new WarehouseError(`the query is more than one statement (a ';' ends one): a preview runs one query, so nothing was run (${first})`, sql, { cause: e });
  if (code === '25006') return new WarehouseError(`the query writes, and a preview only reads (it runs in a read-only transaction, rolled back): nothing was changed (${first})`, sql, { cause: e, position: err.position });
  return err;
}

/** The views `drop ... cascade` of `rel` (as SQL names it) drops with it. */
async function dependentViews(c: PoolClient, rel: string): Promise<Relation[]> {
  return (await c.query(DEPENDENT_VIEWS_SQL, [rel])).rows.map((x: { schema: string; name: string }) => ({ schema: x.schema, identifier: x.name }));
}

/** A view `drop ... cascade` drops, as it was: what keptViews() reads to create it again. */
interface KeptView {
  rel: Relation;
  /** its oid, and those of the relations the cascade drops too that it reads: made again only once they are */
  oid: string;
  after: string[];
  depth: number;
  sql: string;
  options: string[] | null;
  owner: string;
  comment: string | null;
  columns: Array<{ name: string; comment: string }>;
  held: Privilege[];
  /** the privileges on its columns (`grant select (x) on ...`) */
  columnHeld: Array<Privilege & { column: string }>;
}

/** A view's definition ($1, its oid), options, owner and comments, the privileges on its columns, what it reads (oids), and what a plain `create view` would not bring back (`extras`: triggers, rules, column defaults). */
const KEPT_VIEW_SQL = `select c.oid::text as oid, pg_get_viewdef(c.oid) as sql, c.reloptions as options, pg_get_userbyid(c.relowner) as owner, obj_description(c.oid, 'pg_class') as comment,
    (select count(*) from pg_trigger t where t.tgrelid = c.oid) + (select count(*) from pg_rewrite r where r.ev_class = c.oid and r.rulename <> '_RETURN') + (select count(*) from pg_attrdef ad where ad.adrelid = c.oid) as extras,
    coalesce((select json_agg(json_build_object('name', a.attname, 'comment', d.description) order by a.attnum) from pg_attribute a join pg_description d on d.objoid = c.oid and d.classoid = 'pg_class'::regclass and d.objsubid = a.attnum where a.attrelid = c.oid), '[]') as columns,
    coalesce((select json_agg(json_build_object('column', a.attname, 'grantee', case when x.grantee = 0 then 'public' else ro.rolname end, 'privilege', x.privilege_type, 'grantable', x.is_grantable) order by a.attnum)
      from pg_attribute a cross join lateral aclexplode(a.attacl) x left join pg_roles ro on ro.oid = x.grantee where a.attrelid = c.oid and a.attnum > 0 and a.attacl is not null and x.grantee <> c.relowner), '[]') as column_grants,
    array(select distinct d.refobjid::text from pg_rewrite r join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid and d.refclassid = 'pg_class'::regclass and d.refobjid <> c.oid where r.ev_class = c.oid) as reads
  from pg_class c where c.oid = $1::regclass`;

/**
 * The views `drop ... cascade` of `rel` (as SQL names it) drops with it, as they are (definition,
 * options, owner, comments, privileges), read before the drop to create them again in the same
 * transaction once the new relation has its name (restoreViews): readers never find them missing.
 * One that cannot be made again so (a materialized view: its rows; a trigger, a rule, a column
 * default) is left out, and stays dropped, as the views that read it do.
 */
async function keptViews(c: PoolClient, rel: string): Promise<KeptView[]> {
  const rows = (await c.query(DEPENDENT_VIEWS_SQL, [rel])).rows as Array<{ schema: string; name: string; depth: number; kind: string }>;
  const kept: KeptView[] = [];
  const dependents = new Set<string>();
  for (const r of rows) {
    const v = { schema: r.schema, identifier: r.name };
    const name = postgresDialect.relation(v);
    if (r.kind !== 'v') {
      dependents.add(String((await c.query('select $1::regclass::oid::text as oid', [name])).rows[0].oid));
      continue;
    }
    const d = (await c.query(KEPT_VIEW_SQL, [name])).rows[0] as
      | { oid: string; sql: string; options: string[] | null; owner: string; comment: string | null; extras: string | number; columns: Array<{ name: string; comment: string }>; column_grants: Array<Privilege & { column: string }>; reads: string[] }
      | undefined;
    if (!d) continue;
    dependents.add(d.oid);
    if (Number(d.extras) > 0) continue;
    kept.push({ rel: v, oid: d.oid, after: d.reads, depth: Number(r.depth), sql: d.sql.trim().replace(/;$/, ''), options: d.options, owner: d.owner, comment: d.comment, columns: d.columns, held: await privileges(c, name), columnHeld: d.column_grants });
  }
  for (const k of kept) k.after = k.after.filter((o) => dependents.has(o));
  return kept.sort((a, b) => a.depth - b.depth);
}

/**
 * Create again, in the transaction open on `c`, the views keptViews() read before a `drop ...
 * cascade` (the nearest to the relation first), each under a savepoint: those made again. One
 * that cannot be (the new relation lacks a column it read; its owner a role this one cannot act
 * as) stays dropped, as `cascade` left it, and so do the views that read it; the others are made.
 */
async function restoreViews(c: PoolClient, kept: KeptView[]): Promise<Relation[]> {
  const d = postgresDialect;
  const me = String((await c.query('select current_user as me')).rows[0].me);
  // (a view reading one the cascade dropped that is not made again is not made either: its name,
  // written unqualified, could find another relation)
  const made = new Set<string>();
  const restored: Relation[] = [];
  for (const v of kept) {
    if (v.after.some((o) => !made.has(o))) continue;
    await PostgresAdapter.run(c, 'savepoint vigil_views');
    try {
      const name = d.relation(v.rel);
      await PostgresAdapter.run(c, `create view ${name}${v.options?.length ? ` with (${v.options.join(', ')})` : ''} as\n${v.sql}`);
      if (v.owner !== me) await PostgresAdapter.run(c, `alter view ${name} owner to ${d.quoteIdent(v.owner)}`);
      if (v.comment !== null) await PostgresAdapter.run(c, `comment on view ${name} is ${d.literal(v.comment)}`);
      for (const col of v.columns) await PostgresAdapter.run(c, `comment on column ${name}.${d.quoteIdent(col.name)} is ${d.literal(col.comment)}`);
      await grantPrivileges(c, name, v.held);
      for (const p of v.columnHeld) await PostgresAdapter.run(c, `grant ${p.privilege.toLowerCase()} (${d.quoteIdent(p.column)}) on table ${name} to ${p.grantee === 'public' ? 'public' : d.quoteIdent(p.grantee)}${p.grantable ? ' with grant option' : ''}`);
      await PostgresAdapter.run(c, 'release savepoint vigil_views');
      made.add(v.oid);
      restored.push(v.rel);
    } catch (e) {
      await PostgresAdapter.run(c, 'rollback to savepoint vigil_views');
      // a deadlock, a lock or statement timeout, a cancel: the swap's (swapIn tries it again or says the wait), not the views'
      const err = e as { code?: string; cause?: { code?: string } };
      if (['40P01', '55P03', '57014'].includes(err.code ?? err.cause?.code ?? '')) throw e;
    }
  }
  return restored;
}

/**
 * The plain views that read `rel` (as SQL names it), as SQL names them, the outermost first: the
 * order lockForSwap locks them in; and (`shared`) the other relations those views read, which
 * making them again after the drop reads too (restoreViews), locked with them in ACCESS SHARE
 * mode: two swaps of tables one view joins each held its table and waited for the other's (a deadlock).
 */
async function viewsToLock(c: PoolClient, rel: string): Promise<SwapLocks> {
  const rows = (await c.query(DEPENDENT_VIEWS_SQL, [rel])).rows as Array<{ schema: string; name: string; depth: number; kind: string }>;
  const views = rows.filter((x) => x.kind === 'v').map((x) => ({ depth: x.depth, name: postgresDialect.relation({ schema: x.schema, identifier: x.name }) }));
  if (!views.length) return { views: [] };
  // LOCK on a view locks every relation its query reads, in the same mode (Postgres 11+): only the
  // views that read nothing but the table and such views are locked (locking a view that joins
  // another table would hold that table too, for the whole swap); a reader of another view that
  // deadlocks with the drop is met by the swap's retry
  const reads = (await c.query(VIEW_READS_SQL, [[rel, ...views.map((v) => v.name)]])).rows as Array<{ name: string; oid: string; reads: string | null; reads_name: string | null; readable: boolean | null }>;
  const oidOf = new Map(reads.map((r) => [r.name, r.oid]));
  const readsOf = new Map<string, string[]>();
  for (const r of reads) if (r.reads) readsOf.set(r.oid, [...(readsOf.get(r.oid) ?? []), r.reads]);
  const ok = new Set([rel, ...views.map((v) => v.name)].map((n) => oidOf.get(n)).filter((o): o is string => !!o));
  const all = new Set(ok);
  const shared = [...new Map(reads.filter((r) => r.reads && r.reads_name && r.readable && !all.has(r.reads)).map((r) => [r.reads!, { name: r.reads_name!, oid: Number(r.reads) }])).values()];
  // (a view reading a view left out is left out too: until nothing changes)
  for (let changed = true; changed; ) {
    changed = false;
    for (const v of views) {
      const o = oidOf.get(v.name);
      if (!o || !ok.has(o) || !(readsOf.get(o) ?? []).some((x) => !ok.has(x))) continue;
      ok.delete(o);
      changed = true;
    }
  }
  return { views: views.filter((v) => ok.has(oidOf.get(v.name) ?? '')).sort((a, b) => b.depth - a.depth).map((v) => v.name), ...(shared.length ? { shared, oid: Number(oidOf.get(rel)) } : {}) };
}

/** For each relation $1 (names as SQL names them): its oid, and (a view) each relation its rewrite rule reads, by oid. */
const VIEW_READS_SQL = `select x as name, to_regclass(x)::oid::text as oid, d.refobjid::text as reads, d.refobjid::regclass::text as reads_name, has_table_privilege(d.refobjid, 'select') as readable
  from unnest($1::text[]) x
  left join pg_rewrite r on r.ev_class = to_regclass(x)
  left join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid and d.refclassid = 'pg_class'::regclass and d.refobjid <> r.ev_class`;

/** The foreign keys of other tables `drop ... cascade` of the table `rel` (as SQL names it) drops with it. */
async function referencingKeys(c: PoolClient, rel: string): Promise<DroppedKey[]> {
  return (await c.query(REFERENCING_KEYS_SQL, [rel])).rows.map((x: { schema: string; name: string; constraint: string }) => ({ constraint: x.constraint, on: { schema: x.schema, identifier: x.name } }));
}

/** A relation's columns (`rel` as SQL names it) with their types as Postgres spells them, in order; none when there is no such relation. */
async function columnTypes(c: PoolClient, rel: string): Promise<Array<{ name: string; type: string }>> {
  return (await c.query(`select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped order by a.attnum`, [rel])).rows;
}

/** The privileges on a relation (`rel` as SQL names it) of the roles other than its owner, PUBLIC's too (grantee `public`). */
async function privileges(c: PoolClient, rel: string): Promise<Privilege[]> {
  return (await c.query(PRIVILEGES_SQL, [rel])).rows;
}

/**
 * Grant `held` on `rel` (as SQL names it): one statement per privilege and grant option (a column
 * privilege: per grantee, its columns listed). A column privilege on a column `rel` no longer has
 * is not granted; what was granted is returned.
 */
async function grantPrivileges(c: PoolClient, rel: string, held: Privilege[]): Promise<Privilege[]> {
  const has = held.some((p) => p.column !== undefined) ? new Set((await c.query(COLUMNS_SQL, [rel])).rows.map((r: { name: string }) => r.name)) : new Set<string>();
  const granted = held.filter((p) => p.column === undefined || has.has(p.column));
  const groups = new Map<string, { privilege: string; grantable: boolean; to: string[]; columns: string[] }>();
  for (const p of granted) {
    const who = p.grantee === 'public' ? 'public' : postgresDialect.quoteIdent(p.grantee);
    const k = p.column === undefined ? `${p.privilege} ${p.grantable}` : `${p.privilege} ${p.grantable} ${who}`;
    if (!groups.has(k)) groups.set(k, { privilege: p.privilege, grantable: p.grantable, to: [], columns: [] });
    const g = groups.get(k)!;
    if (p.column !== undefined) g.columns.push(postgresDialect.quoteIdent(p.column));
    if (!g.to.includes(who)) g.to.push(who);
  }
  for (const g of groups.values()) await PostgresAdapter.run(c, `grant ${g.privilege.toLowerCase()}${g.columns.length ? ` (${g.columns.join(', ')})` : ''} on table ${rel} to ${g.to.join(', ')}${g.grantable ? ' with grant option' : ''}`);
  return granted;
}

/** The column privileges on `rel` (pg_attribute.attacl) of every role but the owner, `column` set. */
async function columnPrivileges(c: PoolClient, rel: string): Promise<Privilege[]> {
  return (await c.query(COLUMN_PRIVILEGES_SQL, [rel])).rows;
}

/**
 * What a replaced relation's readers lost, `plan` (its table readers against the config) with the
 * roles that held SELECT on some of its columns only (`columns`, by role): revoked too unless the
 * config names them (not with `add`), the columns said; a configured one is granted the table's
 * SELECT, as reconcileGrants grants it on a relation kept.
 */
function withColumnReaders(plan: GrantPlan, columns: Record<string, string[]>, wanted: string[], mode: 'replace' | 'add' = 'replace'): GrantPlan {
  const byColumn = Object.keys(columns);
  if (!byColumn.length) return plan;
  const revoke = mode === 'add' ? plan.revoke : [...new Set([...plan.revoke, ...byColumn.filter((p) => !wanted.includes(p))])].sort();
  const said = Object.fromEntries(byColumn.filter((p) => revoke.includes(p)).map((p) => [p, columns[p]]));
  return { ...plan, revoke, ...(Object.keys(said).length ? { columns: { ...plan.columns, ...said } } : {}) };
}

/** The roles holding SELECT among `held` (PUBLIC is no role Vigil manages). */
function readersOf(held: Privilege[]): string[] {
  return [...new Set(held.filter((p) => p.privilege === 'SELECT' && p.grantee !== 'public').map((p) => p.grantee))].sort();
}

/** (PUBLIC, grantee 0, as `public`: no role can be named so) */
const PRIVILEGES_SQL = `select case when a.grantee = 0 then 'public' else r.rolname end as grantee, a.privilege_type as privilege, a.is_grantable as grantable
  from pg_class c cross join lateral aclexplode(c.relacl) a left join pg_roles r on r.oid = a.grantee
  where c.oid = to_regclass($1) and a.grantee <> c.relowner order by 2, 1`;
const COLUMN_PRIVILEGES_SQL = `select case when a.grantee = 0 then 'public' else r.rolname end as grantee, a.privilege_type as privilege, a.is_grantable as grantable, t.attname as column
  from pg_class c join pg_attribute t on t.attrelid = c.oid and t.attnum > 0 and not t.attisdropped and t.attacl is not null
  cross join lateral aclexplode(t.attacl) a left join pg_roles r on r.oid = a.grantee
  where c.oid = to_regclass($1) and a.grantee <> c.relowner order by t.attnum, 2, 1`;
const COLUMNS_SQL = `select attname as name from pg_attribute where attrelid = to_regclass($1) and attnum > 0 and not attisdropped`;
/** Roles other than the owner granted SELECT on a relation ($1 schema, $2 name); PUBLIC (grantee 0) is not a role Vigil manages. */
const GRANTEES_SQL = `select distinct r.rolname as grantee from pg_class c join pg_namespace n on n.oid = c.relnamespace cross join lateral aclexplode(c.relacl) a join pg_roles r on r.oid = a.grantee where n.nspname = $1 and c.relname = $2 and a.privilege_type = 'SELECT' and a.grantee <> c.relowner`;

/** Column names made unique as DuckDB makes them: the second `id` is `id_1` (a name taken already skipped). */
function uniqueNames(names: string[]): string[] {
  const seen = new Set<string>();
  return names.map((name) => {
    let n = name;
    for (let i = 1; seen.has(n); i++) n = `${name}_${i}`;
    seen.add(n);
    return n;
  });
}
