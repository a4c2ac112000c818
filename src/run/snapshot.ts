/**
 * Snapshots (SCD type 2), in SQL every warehouse here runs: each run versions the rows of the
 * snapshot's query by its unique_key. A new key, a changed row (timestamp strategy: a later
 * updated_at; check strategy: a check column that differs, or every row when a check column is
 * new to the table) or a key back after a delete gets a new version; the version it supersedes is
 * closed; with invalidate_hard_deletes, a key gone from the query has its current version closed.
 * A NULL or duplicated key is refused before anything is written.
 *
 * Columns: the query's, then `dbt_valid_from`, `dbt_valid_to` (NULL: current), `dbt_updated_at`
 * (updated_at; with check and no updated_at, the run's time), `dbt_scd_id` (the key and
 * dbt_valid_from as text, a NULL part as ''). With check and updated_at, a changed row whose
 * updated_at is not after its current version's start (a history an older Vigil wrote, whose
 * check versions started at the run's time; a source whose updated_at lags) starts at the run's
 * time instead, said in a warning; so does a key back after a delete whose updated_at is not
 * after its last version's end (or any version's start), with timestamp too.
 *
 * The steps are ordered so that a run stopped between them leaves nothing lost and the next run
 * finishes the work: 1. insert the new versions; 2. close every current version that has a newer
 * current one; 3. close the current versions of deleted keys. The run's time they write is one
 * value, read once (runTimeSql).
 */
import { columnNamed, type Adapter, type Column } from '../adapters/adapter.js';
import { scratchIdentifier, type Dialect } from '../adapters/dialect.js';
import type { SnapshotNode } from '../compile/manifest.js';
import { didYouMean, WarehouseError } from '../errors.js';
import { secondDigits, typeFamily } from '../adapters/type-family.js';
import { counted } from '../format.js';
import { randomBytes } from 'node:crypto';

export const SNAPSHOT_COLUMNS = ['dbt_valid_from', 'dbt_valid_to', 'dbt_updated_at', 'dbt_scd_id'];

/**
 * The pieces both a first run and a later run spell: the key columns, a column of a row `a` as a
 * value to compare (`val`: the dialect's `comparable`, from the query's column types `types`),
 * dbt_valid_from of a row `a` (`now`: the run's time, for a check without updated_at), its dbt_scd_id.
 */
function pieces(d: Dialect, n: SnapshotNode, types: Column[] = [], now = 'current_timestamp') {
  const q = (x: string) => d.quoteIdent(x);
  const keys = Array.isArray(n.config.unique_key) ? n.config.unique_key : [n.config.unique_key];
  const text = d.type('string');
  const typeOf = new Map(types.map((c) => [c.name.toLowerCase(), c.data_type]));
  // (a type `=`, `is distinct from` and GROUP BY do not take as it is: Postgres' json, BigQuery's
  // JSON, ARRAY and STRUCT, compared as what the dialect makes of them)
  const val = (a: string, c: string) => (d.comparable ? d.comparable(`${a}.${q(c)}`, typeOf.get(c.toLowerCase()) ?? '') : `${a}.${q(c)}`);
  const keyMatch = (a: string, b: string) => keys.map((k) => `${val(a, k)} = ${val(b, k)}`).join(' and ');
  // a row `a`'s key values to group by
  const keyGroup = (a: string) => keys.map((k) => val(a, k)).join(', ');
  // updated_at (required with timestamp; with check, as dbt: the run's time without it)
  const validFrom = (a: string) => (n.config.updated_at ? `${a}.${q(n.config.updated_at)}` : now);
  // each part coalesced, as dbt's snapshot_hash_arguments: a NULL updated_at made it NULL
  const scd = (a: string, from = validFrom(a)) => [...keys.map((k) => val(a, k)), from].map((x) => `coalesce(cast(${x} as ${text}), '')`).join(` || '|' || `);
  return { q, keys, val, keyMatch, keyGroup, validFrom, scd };
}

/**
 * The SELECT of a snapshot's first run: its query's rows as first versions (also what `vigil
 * check` declares). `types`: the query's columns (their types decide how keys are compared).
 */
export function firstVersionsSql(d: Dialect, n: SnapshotNode, types: Column[] = []): string {
  const { q, validFrom, scd } = pieces(d, n, types);
  const vf = validFrom('s');
  return `select s.*, ${vf} as ${q('dbt_valid_from')}, case when 1 = 0 then ${vf} end as ${q('dbt_valid_to')}, ${vf} as ${q('dbt_updated_at')}, ${scd('s')} as ${q('dbt_scd_id')} from (\n${n.compiled_sql}\n) as s`;
}

/**
 * What every run of a snapshot asks its query before it writes (pure): the rows with a NULL key
 * (counted: refused when any), and the keys on more than one row (refused when any).
 */
export function keyCheckStatements(d: Dialect, n: SnapshotNode, queryCols: Column[]): { nullKeys: string; duplicateKeys: string } {
  const { q, keys, val, keyGroup } = pieces(d, n, queryCols);
  const src = `(\n${n.compiled_sql}\n)`;
  return {
    nullKeys: `select count(*) as n from ${src} as s where ${keys.map((k) => `s.${q(k)} is null`).join(' or ')}`,
    // (the key's text aggregated: a grouped expression inside another, TO_JSON_STRING(s.k) in a
    // cast, is not grouped to BigQuery)
    duplicateKeys: `select ${keys.map((k, i) => `min(cast(${val('s', k)} as ${d.type('string')})) as k${i}`).join(', ')}, count(*) as n, count(*) over () as dup_keys from ${src} as s group by ${keyGroup('s')} having count(*) > 1 order by count(*) desc, 1 limit 3`,
  };
}

/**
 * The run's time as SQL, one value for every statement of a run (new versions at the run's time,
 * the closes of deleted keys, the starts of lagging rows), as dbt's one snapshot_get_time() per
 * run: the warehouse's current_timestamp read once (`text`, as the warehouse spells it), as a
 * literal of current_timestamp's type. DuckDB and BigQuery give each statement its own
 * current_timestamp (a deleted key was closed a few milliseconds after the versions inserted
 * before it); Postgres, whose run is one transaction, gives its start to each, the value read.
 */
export function runTimeSql(d: Dialect, text: string): string {
  return `cast(${d.literal(text)} as ${d.type('timestamp')})`;
}

/** What a later run asks first: the warehouse's time, as text (`now`), for runTimeSql(). */
export function runTimeQuery(d: Dialect): string {
  return `select cast(${d.current_timestamp()} as ${d.type('string')}) as now`;
}

/** What a later run of a snapshot writes with, built by laterRunStatements. */
export interface LaterRun {
  /**
   * check with updated_at and a check column new to the table (`columns`): this run's versions
   * start at the run's time in updated_at's type (`type`), not at updated_at
   */
  atRunTime?: { columns: string[]; type?: string };
  /**
   * check with updated_at, and timestamp: changed rows whose updated_at is not after their current
   * version's dbt_valid_from, or keys back after a delete whose updated_at is not after their last
   * version's end (counted, a few keys: a warning), whose versions start at the run's time instead
   */
  lagging?: string;
  /** check with updated_at, and timestamp: changed rows whose new version would not start after their current (or last) one even so (refused when any) */
  late?: string;
  /** 1. the new versions */
  insert: string;
  /** 2. current versions with a newer current version closed */
  close: string;
  /** 3. invalidate_hard_deletes: the current versions of keys gone from the query, counted, then closed */
  goneCount?: string;
  goneClose?: string;
}

/**
 * The statements of a run against an existing snapshot table (pure): `n` with its configured
 * columns as the query spells them, `queryCols` the query's columns with their types, `now` the
 * run's time (runTimeSql), `added` the columns the table lacks, `validToType` dbt_valid_to's type
 * in the table. `vigil check` analyzes them as a later run sends them (no column added).
 * `keysBack`: the table holds a key with no current version (keysBackSql).
 */
export function laterRunStatements(d: Dialect, n: SnapshotNode, queryCols: Column[], now: string, added: Column[] = [], validToType?: string, keysBack = false): LaterRun {
  const { q, keys, val, keyMatch, keyGroup, validFrom, scd } = pieces(d, n, queryCols, now);
  const rel = d.relation(n.relation);
  const src = `(\n${n.compiled_sql}\n)`;
  const cols = queryCols.map((c) => c.name);
  const keyText = keys.map((k, i) => `cast(${val('s', k)} as ${d.type('string')}) as k${i}`).join(', ');
  // check_cols: all compares the query's columns; a check column the table did not have makes
  // every row changed, as dbt's column_added (its NULL in the stored version is no value)
  const checkCols = n.config.strategy === 'check' ? (n.config.check_cols === 'all' ? cols.filter((c) => !keys.includes(c)) : n.config.check_cols!) : [];
  const columnAdded = added.some((c) => checkCols.includes(c.name));
  // timestamp: a later updated_at, or one where the stored version had none; a NULL updated_at
  // is no change (the comparison is NULL: `not (NULL)` inserted the row again on every run)
  const [su, tu] = [`s.${q(n.config.updated_at ?? '')}`, `t.${q('dbt_updated_at')}`];
  const changed = n.config.strategy === 'timestamp' ? `coalesce(${su} > ${tu}, ${tu} is null and ${su} is not null)` : columnAdded ? '1 = 1' : checkCols.map((c) => `${val('s', c)} is distinct from ${val('t', c)}`).join(' or ') || '1 = 0';
  // a new version for the rows of no current version, or whose current one differs
  const toInsert = `not exists (select 1 from ${rel} as t where ${keyMatch('t', 's')} and t.${q('dbt_valid_to')} is null and not (${changed}))`;
  // check with updated_at, a check column new to the table: every row changed though no updated_at
  // advanced, so this run's versions start at the run's time (at updated_at they would start with
  // the versions they close, refused on every run)
  const checkUpdatedAt = n.config.strategy === 'check' && !!n.config.updated_at;
  const atRunTime = columnAdded && checkUpdatedAt;
  const uaType = n.config.updated_at ? queryCols.find((c) => c.name.toLowerCase() === n.config.updated_at!.toLowerCase())?.data_type : undefined;
  // timestamp: a key back after a delete whose updated_at did not advance (restored as it was, or
  // NULL) is new to `toInsert` (no current version); at its updated_at it overlapped its closed
  // version and repeated its dbt_scd_id — started at the run's time as check's are. (An updated_at
  // that is no date or time, a version number, has no run's time: Postgres refuses the cast even
  // in a branch never taken, failing every run — such a key starts at its updated_at, as in dbt.)
  const timed = !uaType || ['date', 'local', 'instant'].includes(typeFamily(uaType, 'local'));
  // (only where a key can be back after a delete: hard_deletes: invalidate, or a table that holds
  // a key with no current version, closed under invalidate and run without it since (`keysBack`,
  // keysBackSql) — started at its updated_at that key overlapped its closed version with its
  // dbt_scd_id. Otherwise a key keeps its current version through a delete and an update is
  // compared with it as the plain insert does: the summary of every key a run would group cost a
  // no-change run of 1,000,000 rows 2.6 s → 7.0 s on DuckDB)
  const timestamp = n.config.strategy === 'timestamp' && timed && (!!n.config.invalidate_hard_deletes || keysBack);
  // the run's time, in updated_at's type
  const runAt = uaType ? `cast(${now} as ${uaType})` : now;
  const [cf, text] = [`c.${q('dbt_valid_from')}`, d.type('string')];
  // `a` does not start after the current version `c` (one without a start is earlier than one with)
  const notAfter = (a: string) => `not coalesce(${a} > ${cf}, ${cf} is null and ${a} is not null)`;
  // check with updated_at: a changed row whose updated_at is not after its current version's start
  // (a history written when versions started at the run's time; a source whose updated_at lags
  // the change) gets a version starting at the run's time, which keeps the versions ordered (dbt
  // starts it at updated_at, before the version it closes)
  const ua = validFrom('s');
  // (joined, not a correlated subquery: Postgres runs one in a SELECT list or a SET once per row,
  // reading the table each time — minutes at 20,000 changed rows. `cur`: per key, the latest
  // start of a current version or end of a closed one; a row does not start after its versions
  // when it does not after that. A key back after a delete has no current version: its version
  // started at an updated_at no later than its last one's end overlapped it, and at that one's
  // own updated_at repeated its dbt_scd_id)
  const keyCols = (a: string) => keys.map((k, i) => `${val(a, k)} as k${i}`).join(', ');
  const keyJoin = (x: string, a: string) => keys.map((k, i) => `${x}.k${i} = ${val(a, k)}`).join(' and ');
  // (`last_from`: the latest start of any version. A deleted key's version is closed at the run's
  // time, which is before its start when its updated_at is ahead of the run's time — a wall time of
  // a zone east of the session's, a clock ahead: back with that updated_at, it started after that
  // end with the closed version's dbt_scd_id)
  const latest = `select ${keyCols('c')}, max(coalesce(c.${q('dbt_valid_to')}, ${cf})) as ${q('dbt_valid_from')}, max(${cf}) as last_from, max(case when c.${q('dbt_valid_to')} is null then 1 else 0 end) as is_current from ${rel} as c group by ${keyGroup('c')}`;
  const lags = (checkUpdatedAt && !atRunTime) || timestamp;
  // `a` does not start after any version's start or end (a NULL start, the first ones' of a
  // timestamp snapshot, is earlier than any)
  const notAfterAny = (a: string, c: string) => `(not coalesce(${a} > ${c}.${q('dbt_valid_from')}, ${c}.${q('dbt_valid_from')} is null and ${a} is not null) or not coalesce(${a} > ${c}.last_from, ${c}.last_from is null and ${a} is not null))`;
  const from = atRunTime ? runAt : lags ? `case when cur.k0 is not null and ${notAfterAny(ua, 'cur')} then ${runAt} else ${ua} end` : ua;
  const runTime = atRunTime ? { columns: added.filter((c) => checkCols.includes(c.name)).map((c) => c.name), ...(uaType ? { type: uaType } : {}) } : undefined;
  const lagging = lags ? `select ${keyText}, cast(${ua} as ${text}) as now_at, cast(${cf} as ${text}) as was_at, cast(case when c.last_from > ${cf} then c.last_from end as ${text}) as started_at, c.is_current, count(*) over () as n from ${src} as s join (${latest}) as c on ${keyJoin('c', 's')} where ${toInsert} and ${notAfterAny(ua, 'c')} order by 1 limit 3` : undefined;
  // ... and the run's time not after it either (a DATE updated_at today, a version starting in the future): refused
  // (a key back after a delete too: the run's time not after its last version's end — a DATE
  // updated_at, deleted and back the same day — would start at that end, with that version's dbt_scd_id)
  const late = checkUpdatedAt || timestamp ? `select ${keyText}, cast(${runAt} as ${text}) as now_at, cast(${cf} as ${text}) as was_at, c.is_current, count(*) over () as n from ${src} as s join (${latest}) as c on ${keyJoin('c', 's')} where ${toInsert}${atRunTime ? '' : ` and ${notAfterAny(ua, 'c')}`} and ${notAfter(runAt)} order by 1 limit 3` : undefined;
  const into = `insert into ${rel} (${[...cols, ...SNAPSHOT_COLUMNS].map(q).join(', ')}) select`;
  // (a start computed per row, written three times: computed once, in a subquery)
  // (timestamp: dbt_updated_at keeps the row's updated_at, which later runs compare: an update
  // stamped between it and the run's time is still a change)
  const insert = lags
    ? `${into} ${cols.map((c) => `f.${q(c)}`).join(', ')}, f.${q('dbt_valid_from')}, null, ${timestamp ? `f.${q(n.config.updated_at!)}` : `f.${q('dbt_valid_from')}`}, ${scd('f', `f.${q('dbt_valid_from')}`)} from (select ${cols.map((c) => `s.${q(c)}`).join(', ')}, ${from} as ${q('dbt_valid_from')} from ${src} as s left join (${latest}) as cur on ${keyJoin('cur', 's')} where ${toInsert}) as f`
    : `${into} ${cols.map((c) => `s.${q(c)}`).join(', ')}, ${from}, null, ${from}, ${scd('s', from)} from ${src} as s where ${toInsert}`;
  // each current version with a later current version of its key ends where the next one starts
  // (one row of `x` per key and start: a row updated joins one, as BigQuery requires)
  const [vf, of] = [`v.${q('dbt_valid_from')}`, `o.${q('dbt_valid_from')}`];
  const next = `select ${keyCols('o')}, ${of} as was_from, min(${vf}) as next_from from ${rel} as o join ${rel} as v on ${keyMatch('v', 'o')} and v.${q('dbt_valid_to')} is null and coalesce(${vf} > ${of}, ${of} is null and ${vf} is not null) where o.${q('dbt_valid_to')} is null group by ${keyGroup('o')}, ${of}`;
  const tf = `t.${q('dbt_valid_from')}`;
  const close = `update ${rel} as t set ${q('dbt_valid_to')} = x.next_from from (${next}) as x where t.${q('dbt_valid_to')} is null and ${keyJoin('x', 't')} and (x.was_from = ${tf} or (x.was_from is null and ${tf} is null))`;
  const gone = `t.${q('dbt_valid_to')} is null and not exists (select 1 from ${src} as s where ${keyMatch('s', 't')})`;
  return {
    ...(runTime ? { atRunTime: runTime } : {}),
    ...(lagging ? { lagging } : {}),
    ...(late ? { late } : {}),
    insert,
    close,
    ...(n.config.invalidate_hard_deletes
      ? {
          goneCount: `select count(*) as n from ${rel} as t where ${gone}`,
          // (the run's time in dbt_valid_to's type: a DATE or DATETIME updated_at's on BigQuery, which casts no TIMESTAMP to them)
          goneClose: `update ${rel} as t set ${q('dbt_valid_to')} = ${validToType ? `cast(${now} as ${validToType})` : now} where ${gone}`,
        }
      : {}),
  };
}

/**
 * Whether a snapshot's table holds a key none of whose versions is current (a row, or none): one
 * closed under hard_deletes: invalidate, a later timestamp run without it having to start that key,
 * back, after its closed version (laterRunStatements' `keysBack`). Cheap where no version is
 * closed, a no-change history's case.
 */
export function keysBackSql(d: Dialect, n: SnapshotNode, queryCols: Column[], now: string): string {
  const { q, keyGroup } = pieces(d, n, queryCols, now);
  const rel = d.relation(n.relation);
  // (grouped, not an anti-join: a history of many updates, every closed version's key current, made
  // the NOT EXISTS read the table twice, 337 ms against 180 ms for 2,000,000 versions on DuckDB)
  return `select 1 as one from ${rel} as c group by ${keyGroup('c')} having max(case when c.${q('dbt_valid_to')} is null then 1 else 0 end) = 0 limit 1`;
}

/**
 * What `vigil check` analyzes of a snapshot besides its first run: the statements of a later run
 * against the table the first run made (`node` as spelledAsQuery gives it, `queryCols`: the
 * query's columns; `validToType`: the type of the first run's dbt_valid_to), in the order a run
 * sends them.
 */
export function snapshotCheckStatements(d: Dialect, node: SnapshotNode, queryCols: Column[], validToType?: string): Array<{ what: string; sql: string }> {
  // (the run's time a literal, as every run sends it: this one stands for any)
  // (a timestamp run without invalidate sends the search for keys back, and its statements as a
  // run with such a key does: analyzed as that one)
  const at = runTimeSql(d, '2000-01-01 00:00:00+00');
  const back = node.config.strategy === 'timestamp' && !node.config.invalidate_hard_deletes;
  const s = { ...keyCheckStatements(d, node, queryCols), ...laterRunStatements(d, node, queryCols, at, [], validToType, back) };
  const all: Array<[string, string | undefined]> = [
    ['the count of NULL keys', s.nullKeys],
    ['the search for duplicate keys', s.duplicateKeys],
    ['the search for keys back after a delete', back ? keysBackSql(d, node, queryCols, at) : undefined],
    ["the count of changed rows whose updated_at is not later than their current version's", s.lagging],
    ["the check that changed rows' new versions start after their current version", s.late],
    ['the insert of the new versions', s.insert],
    ['the update closing the versions they supersede', s.close],
    ['the count of deleted keys', s.goneCount],
    ['the update closing deleted keys', s.goneClose],
  ];
  return all.filter((x): x is [string, string] => !!x[1]).map(([what, sql]) => ({ what, sql }));
}

/** What a run of a snapshot reports: its line's message, and a warning to show under it. */
export interface SnapshotResult {
  message: string;
  /** the versions it inserted (first run: every row) */
  rows?: number;
  warning?: string;
}

/**
 * `empty` (`vigil build --empty`): the snapshot's history is left as it is, as an incremental
 * table that holds rows keeps them: its query (which may read a model built empty) is compared
 * with nothing, so no version is added or closed (with invalidate_hard_deletes an empty query
 * closed every current version). A snapshot not yet built is made with its columns and no rows,
 * which the next run fills as a first run does.
 */
export async function runSnapshot(adapter: Adapter, node: SnapshotNode, opts: { empty?: boolean } = {}): Promise<SnapshotResult> {
  await adapter.ensureSchema(node.relation.schema);
  if (opts.empty) return emptyRun(adapter, node);
  // one run of a snapshot at a time, across processes (two `vigil snapshot`s, `vigil serve` on two
  // hosts), its steps in one transaction (Postgres: the relation's lock, as a model's build takes
  // it): the later run waits, then compares with what the first committed, and the counts it
  // reports are its own. Without it both inserted the same new version: two current versions of
  // the key, never closed. (DuckDB: one process writes a database file, and its exclusive() is
  // the transaction alone: a run stopped between its steps left a key with two current versions;
  // BigQuery: unprotected, docs/models.md#snapshots)
  return adapter.exclusive ? adapter.exclusive(node.relation, (a) => snapshotRun(a, node)) : snapshotRun(adapter, node);
}

/**
 * The snapshot's query's columns, and the node spelled as its query spells them, once the query is
 * checked: a configured column the query does not have would fail a run (a check column only the
 * second), and one named like the snapshot's own columns cannot be kept beside them — refused
 * before anything is written.
 */
async function checkedQuery(adapter: Adapter, node: SnapshotNode): Promise<{ queryCols: Awaited<ReturnType<typeof queryColumns>>; n: SnapshotNode }> {
  const queryCols = await queryColumns(adapter, node);
  const names = queryCols.map((c) => c.name);
  const problem = missingColumns(node, pieces(adapter.dialect, node).keys, names, 'its query') ?? snapshotColumnsSelected(node, names) ?? untimedUpdatedAt(node, queryCols);
  if (problem) throw new WarehouseError(problem, '');
  return { queryCols, n: spelledAsQuery(node, names) };
}

/** `--empty`: a snapshot's table made with its columns and no rows when it has none; an existing history untouched. */
async function emptyRun(adapter: Adapter, node: SnapshotNode): Promise<SnapshotResult> {
  if (await adapter.relationExists(node.relation)) return { message: 'history kept, --empty: no version added or closed', rows: 0 };
  const d = adapter.dialect;
  const { queryCols, n } = await checkedQuery(adapter, node);
  await adapter.execute(`create table ${d.relation(n.relation)} as select * from (\n${firstVersionsSql(d, n, queryCols)}\n) as __vigil_empty where 1 = 0`);
  return { message: 'no rows, --empty', rows: 0 };
}

async function snapshotRun(adapter: Adapter, node: SnapshotNode): Promise<SnapshotResult> {
  const d = adapter.dialect;
  const { queryCols, n } = await checkedQuery(adapter, node);
  const { q, keys } = pieces(d, n, queryCols);
  const rel = d.relation(n.relation);
  const checks = keyCheckStatements(d, n, queryCols);

  // a NULL key matches no stored version (`=`): its rows would get a new version on every run,
  // none of them current — refused before anything is written
  const [nk] = await adapter.query<{ n: unknown }>(checks.nullKeys);
  const nullKeys = Number(nk?.n ?? 0);
  if (nullKeys) throw new WarehouseError(`snapshot '${n.name}': ${nullKeys} row${nullKeys === 1 ? '' : 's'} of its query ${nullKeys === 1 ? 'has' : 'have'} a NULL unique_key (${keys.join(', ')}): a NULL key matches no stored version, so every run would add ${nullKeys === 1 ? 'it' : 'them'} again; filter ${nullKeys === 1 ? 'it' : 'them'} out in the query (where ${keys.map((k) => `${k} is not null`).join(' and ')}) or give ${nullKeys === 1 ? 'it' : 'them'} a key (coalesce)`, '');
  // a key on two rows: each is compared with the version the other left (check: a new version on
  // every run, the values alternating), both current after the first run — refused the same way
  const dups = await adapter.query<Record<string, unknown>>(checks.duplicateKeys);
  if (dups.length) {
    const total = Number(dups[0].dup_keys);
    const said = dups.map((r) => `${keyValue(r, keys.length)}: ${Number(r.n)} rows`).join('; ');
    throw new WarehouseError(`snapshot '${n.name}': ${total} unique_key value${total === 1 ? '' : 's'} (${keys.join(', ')}) ${total === 1 ? 'is' : 'are'} on more than one row of its query (${said}${total > dups.length ? '; ...' : ''}): each run would compare one row of a key with the version another left, adding versions forever; make the key unique in the query (deduplicate, or add the column that tells the rows apart to unique_key)`, '');
  }
  if (!(await adapter.relationExists(n.relation))) {
    // first run: every row is a first version; dbt_valid_to takes dbt_valid_from's type, NULL
    await adapter.execute(`create table ${rel} as ${firstVersionsSql(d, n, queryCols)}`);
    const [c] = await adapter.query<{ n: unknown }>(`select count(*) as n from ${rel}`);
    const rows = Number(c?.n ?? 0);
    return { message: `${counted(rows, 'row')}, first versions`, rows };
  }
  // a later run: the table must be a snapshot's (a table a model built, say), checked before
  // anything alters it; then the query's columns against the table's (those of earlier runs)
  const allCols = await adapter.columns(n.relation);
  const lacking = SNAPSHOT_COLUMNS.filter((s) => !allCols.some((c) => c.name.toLowerCase() === s));
  if (lacking.length) throw new WarehouseError(`snapshot '${n.name}': ${rel} exists and is not a snapshot table (missing ${lacking.join(', ')}): nothing was changed; drop it (or give the snapshot another name) and run again`, '');
  const tableCols = allCols.filter((c) => !SNAPSHOT_COLUMNS.includes(c.name.toLowerCase()));
  // a key column the table lacks (dropped or renamed by hand; a unique_key changed to a column new
  // to the query) would be added NULL in every stored version: none matched again, every row a
  // second current version, the old ones never closed — refused before anything alters the table
  const keyless = missingColumns(n, keys, tableCols.map((c) => c.name), `the table ${rel}`, ['unique_key']);
  if (keyless) throw new WarehouseError(`${keyless}: its stored versions could never be matched to the query's rows (each run would add a current version of every row, the old ones never closed); nothing was changed; give the table its key column back (one renamed: alter table ${rel} rename column ... to ${q(keys.find((k) => !tableCols.some((c) => c.name.toLowerCase() === k.toLowerCase()))!)}), keep the unique_key its history was written with, or drop the table to start its history afresh`, '');
  // a current version with a NULL in a key column (a unique_key changed to a column added after
  // it was written; a history dbt wrote, which takes NULL keys) equals no row (`=`): never closed,
  // its key given a second current version — refused the same way, with how to mend them
  const nullKey = keys.map((k) => `${q(k)} is null`).join(' or ');
  const [nkc] = await adapter.query<{ n: unknown }>(`select count(*) as n from ${rel} where ${q('dbt_valid_to')} is null and (${nullKey})`);
  const nullCurrent = Number(nkc?.n ?? 0);
  if (nullCurrent)
    throw new WarehouseError(`snapshot '${n.name}': ${counted(nullCurrent, 'current version')} of ${rel} ${nullCurrent === 1 ? 'has' : 'have'} a NULL in unique_key (${keys.join(', ')}): a NULL key matches no row of the query, so ${nullCurrent === 1 ? 'it' : 'they'} would never be closed and ${nullCurrent === 1 ? 'its key' : 'their keys'} would get a second current version; nothing was changed; fill the column in (update ${rel} set ... where ${nullKey}), close ${nullCurrent === 1 ? 'it' : 'them'} (set dbt_valid_to), or keep the unique_key the history was written with`, '');
  const stored = new Map(tableCols.map((c) => [c.name.toLowerCase(), c]));
  // a column whose kind of value changed (an integer column now holding 10.7): inserted, its
  // values would be cast to the stored type (10.7 kept as 11) and, compared again, differ on every
  // run — refused, with the two ways out. What the stored type holds whole passes: the same kind
  // (bigint into integer, numeric(12,2) into numeric: a value too big is the warehouse's error),
  // integers into a float or numeric column, a NULL the query selects; a string column whose
  // length limit the query's type outgrows is widened, as dbt does.
  const widened: Column[] = [];
  const retyped = queryCols.filter((c) => {
    const t = stored.get(c.name.toLowerCase());
    if (!t || isNullType(c.data_type) || isNullType(t.data_type) || c.data_type.toLowerCase() === t.data_type.toLowerCase()) return false;
    const [was, now] = [typeFamily(t.data_type, 'local'), typeFamily(c.data_type, 'local')];
    if (was === now) {
      if (was === 'string' && narrower(t.data_type, c.data_type)) widened.push(c);
      // within a kind, what the stored type cannot hold: more decimal places or digits than
      // numeric(p,s) keeps, a double into a 4-byte float
      if (was === 'numeric') return !holdsDecimal(t.data_type, c.data_type);
      if (was === 'float') return FLOAT4.test(t.data_type.trim()) && !FLOAT4.test(c.data_type.trim());
      // more fractional seconds than the stored type keeps (timestamp(0), DuckDB's TIMESTAMP_S):
      // rounded, an updated_at compared again was later than its version's on every run, each run
      // adding one more current version of the key
      if (TIMES.has(was)) return !holdsTime(t.data_type, c.data_type);
      return false;
    }
    return !((now === 'int' && (was === 'float' || was === 'numeric')) || (now === 'numeric' && was === 'float'));
  });
  // updated_at's values are also stored as dbt_valid_from and dbt_updated_at (timestamp strategy,
  // check with updated_at): their types must keep its fractional seconds as well
  const ua = n.config.updated_at ? queryCols.find((c) => c.name === n.config.updated_at) : undefined;
  const versionCols = ua
    ? allCols.filter((c) => ['dbt_valid_from', 'dbt_updated_at'].includes(c.name.toLowerCase()) && TIMES.has(typeFamily(c.data_type, 'local')) && typeFamily(c.data_type, 'local') === typeFamily(ua.data_type, 'local') && !holdsTime(c.data_type, ua.data_type))
    : [];
  if (retyped.length || versionCols.length) {
    const said = [
      ...retyped.map((c) => `${c.name} is ${c.data_type} in the query, ${stored.get(c.name.toLowerCase())!.data_type} in the table`),
      ...versionCols.map((c) => `${c.name} (holding updated_at's values) is ${c.data_type} in the table, ${ua!.data_type} in the query`),
    ].join('; ');
    const alters = [...retyped.map((c) => ({ name: c.name, type: c.data_type })), ...versionCols.map((c) => ({ name: c.name, type: ua!.data_type }))];
    const back = retyped[0] ? { name: retyped[0].name, type: stored.get(retyped[0].name.toLowerCase())!.data_type } : { name: ua!.name, type: versionCols[0].data_type };
    const many = alters.length > 1;
    throw new WarehouseError(`snapshot '${n.name}': ${said}: stored, the values would be cast to the table's type (and differ from the query's on every run); change the table's column${many ? 's' : ''} (${alters.map((a) => `alter table ${rel} alter column ${q(a.name)} type ${a.type}`).join('; ')}) or cast ${retyped.length > 1 ? 'them' : 'it'} back in the snapshot's query (cast(${back.name} as ${back.type}))`, '');
  }
  // columns the query gained are added to the table (earlier versions NULL), as dbt does; columns
  // it no longer selects stay, NULL in the new versions (a column the query selects as a bare
  // NULL has no type of its own: added as a string)
  const added = queryCols.filter((c) => !stored.has(c.name.toLowerCase()));
  const dropped = tableCols.filter((c) => !queryCols.some((x) => x.name.toLowerCase() === c.name.toLowerCase())).map((c) => c.name);
  // the run's time, read once: every statement below writes the same
  const [clock] = await adapter.query<{ now: unknown }>(runTimeQuery(d));
  if (typeof clock?.now !== 'string') throw new WarehouseError(`snapshot '${n.name}': the warehouse did not tell its time (${runTimeQuery(d)})`, '');
  const keysBack = n.config.strategy === 'timestamp' && !n.config.invalidate_hard_deletes && (await adapter.query(keysBackSql(d, n, queryCols, runTimeSql(d, clock.now)))).length > 0;
  const run = laterRunStatements(d, n, queryCols, runTimeSql(d, clock.now), added, allCols.find((c) => c.name.toLowerCase() === 'dbt_valid_to')?.data_type, keysBack);
  // changed rows whose updated_at did not advance past their current version's start (or a key
  // back, its last version's end): versioned at the run's time, said. Read first: the refusal
  // below is of some of them, asked only when there are any (a timestamp run's usual case: none)
  const lagging = run.lagging ? await adapter.query<Record<string, unknown>>(run.lagging) : [];
  if (run.late && (run.atRunTime || lagging.length)) {
    // check with updated_at, and timestamp: a new version starts at the row's updated_at, or at the
    // run's time (in updated_at's type) when that is not after its current version's start; it must be later
    // than the start of the version it closes (step 2 closes the earlier one; one without a start
    // is earlier than one with) — refused otherwise (a DATE updated_at's run time is today: two
    // current versions)
    const late = await adapter.query<Record<string, unknown>>(run.late);
    if (late.length) {
      const total = Number(late[0].n);
      const said = late.map((r) => `${keyValue(r, keys.length)}: ${r.now_at ?? 'NULL'}, ${Number(r.is_current) ? 'current from' : 'back, its last version closed at'} ${r.was_at ?? 'NULL'}`).join('; ');
      const type = run.atRunTime?.type ?? queryCols.find((c) => c.name === n.config.updated_at)?.data_type ?? 'timestamp';
      const why = run.atRunTime
        ? `a check column is new to the table (${run.atRunTime.columns.join(', ')}), so every row gets a version starting at the run's time in updated_at's type (${type}), but`
        : `${counted(total, 'changed row')} ${total === 1 ? 'has' : 'have'} an updated_at (${n.config.updated_at}) no later than the dbt_valid_from of ${total === 1 ? 'its' : 'their'} current version, so ${total === 1 ? 'its' : 'their'} new version would start at the run's time in updated_at's type (${type}), but`;
      throw new WarehouseError(`snapshot '${n.name}': ${why} ${total} current version${total === 1 ? ' starts' : 's start'}${late.some((r) => !Number(r.is_current)) ? ` (or closed one${total === 1 ? ' ends' : 's end'}, of a key back after a delete)` : ''} no earlier (the run's time: ${said}${total > late.length ? '; ...' : ''}): nothing was written; run the snapshot again once that time has passed (a DATE updated_at: tomorrow)`, '');
    }
  }
  let warning: string | undefined;
  if (lagging.length) {
    const total = Number(lagging[0].n);
    // (a key back after a delete: the end of its last version)
    const said = lagging.map((r) => `${keyValue(r, keys.length)}: ${r.now_at ?? 'NULL'}, ${Number(r.is_current) ? 'current from' : 'back, its last version closed at'} ${r.was_at ?? 'NULL'}${r.started_at ? ` (a version of it starts at ${r.started_at})` : ''}`).join('; ');
    warning = `${counted(total, 'changed row')} ${total === 1 ? 'has an' : 'have an'} updated_at (${n.config.updated_at}) no later than the dbt_valid_from of ${total === 1 ? 'its' : 'their'} current version (${said}${total > lagging.length ? '; ...' : ''}): ${total === 1 ? 'its new version starts' : 'their new versions start'} at the run's time instead, so the versions stay in order (a history written by a Vigil whose check versions started at the run's time, or a source whose updated_at lags its changes)`;
  }
  for (const c of widened) await adapter.execute(d.alterColumnType?.(rel, q(c.name), c.data_type) ?? `alter table ${rel} alter column ${q(c.name)} type ${c.data_type}`);
  for (const c of added) await adapter.execute(`alter table ${rel} add column ${q(c.name)} ${isNullType(c.data_type) ? d.type('string') : c.data_type}`);
  const before = await count(adapter, rel);
  // 1. new versions: no current version of the key, or the current one differs
  await adapter.execute(run.insert);
  const inserted = (await count(adapter, rel)) - before;
  // 2. a current version with a newer current version of its key is closed where the newer one starts
  await adapter.execute(run.close);
  // 3. keys gone from the query
  let deleted = 0;
  if (run.goneCount && run.goneClose) {
    const [g] = await adapter.query<{ n: unknown }>(run.goneCount);
    deleted = Number(g?.n ?? 0);
    if (deleted) await adapter.execute(run.goneClose);
  }
  const notes = [added.length ? `column${added.length === 1 ? '' : 's'} added: ${added.map((c) => c.name).join(', ')}` : '', dropped.length ? `no longer selected (kept, NULL in new versions): ${dropped.join(', ')}` : ''].filter(Boolean);
  return { message: `${inserted} new version${inserted === 1 ? '' : 's'}${n.config.invalidate_hard_deletes ? `, ${deleted} deleted` : ''}${notes.length ? `; ${notes.join('; ')}` : ''}`, rows: inserted, ...(warning ? { warning } : {}) };
}

/**
 * The snapshot query's columns and types, as the warehouse types them: read from a view over the
 * query, created beside the snapshot's table and dropped again (no rows are read). Its name is
 * this run's own (`<name>__vigil_columns_<random>`): two runs at once where no lock keeps them
 * apart (BigQuery) dropped each other's.
 */
async function queryColumns(adapter: Adapter, n: SnapshotNode): Promise<Column[]> {
  const probe = { ...n.relation, identifier: scratchIdentifier(adapter.dialect, n.relation.identifier, `columns_${randomBytes(4).toString('hex')}`) };
  const rel = adapter.dialect.relation(probe);
  // (a failed create leaves nothing to drop: in a transaction, Postgres', a drop after it failed
  // too, and its error hid the query's)
  await adapter.execute(`create view ${rel} as ${n.compiled_sql}`);
  let cols: Column[];
  try {
    cols = await adapter.columns(probe);
  } catch (e) {
    await adapter.execute(`drop view if exists ${rel}`).catch(() => undefined);
    throw e;
  }
  await adapter.execute(`drop view if exists ${rel}`);
  return cols;
}

/** The type a view gives a column the query selects as a bare NULL (DuckDB: "NULL", quoted). */
function isNullType(t: string): boolean {
  return t.replace(/"/g, '').trim().toLowerCase() === 'null';
}

/** A 4-byte float type (DuckDB's FLOAT, Postgres' real). */
const FLOAT4 = /^(real|float4|float)$/i;

/** The kinds of date-time types whose precision is their fractional seconds. */
const TIMES = new Set(['local', 'instant', 'time']);

/** Whether date-time type `stored` keeps every fractional second of `query` (secondDigits). */
function holdsTime(stored: string, query: string): boolean {
  return secondDigits(query) <= secondDigits(stored);
}

/** Whether decimal type `stored` (numeric(p,s), or unbounded) holds every value of `query` without rounding. */
function holdsDecimal(stored: string, query: string): boolean {
  const ps = (t: string) => {
    const m = /\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)/.exec(t);
    return m ? { p: Number(m[1]), s: Number(m[2] ?? 0) } : undefined;
  };
  const [a, b] = [ps(stored), ps(query)];
  if (!a) return true;
  if (!b) return false;
  return b.s <= a.s && b.p - b.s <= a.p - a.s;
}

/** Whether string type `was` has a length limit `now` outgrows (varchar(20) against varchar(320) or text). */
function narrower(was: string, now: string): boolean {
  const len = (t: string) => Number(/\((\d+)\)\s*$/.exec(t)?.[1] ?? Infinity);
  return len(now) > len(was);
}

/**
 * The node with its configured columns (unique_key, updated_at, check_cols) as the query spells
 * them: a name differing only in case is the query's column, as unquoted SQL reads it (quoted as
 * configured, Postgres found no "ID" for unique_key='ID' over a column id).
 */
export function spelledAsQuery(n: SnapshotNode, cols: string[]): SnapshotNode {
  const named = (c: string) => columnNamed(c, cols);
  const c = n.config;
  const config = {
    ...c,
    unique_key: Array.isArray(c.unique_key) ? c.unique_key.map(named) : named(c.unique_key),
    ...(c.updated_at !== undefined ? { updated_at: named(c.updated_at) } : {}),
    ...(Array.isArray(c.check_cols) ? { check_cols: c.check_cols.map(named) } : {}),
  };
  return { ...n, config };
}

/** The configured columns (unique_key, updated_at, check_cols; `only` those keys) that are not among `cols` (the columns `of` the query or the table), said with a did-you-mean. */
function missingColumns(n: SnapshotNode, keys: string[], cols: string[], of: string, only?: string[]): string | undefined {
  const wanted: Array<[string, string]> = [
    ...keys.map((k): [string, string] => ['unique_key', k]),
    ...(n.config.updated_at ? [['updated_at', n.config.updated_at] as [string, string]] : []),
    ...(n.config.strategy === 'check' && Array.isArray(n.config.check_cols) ? n.config.check_cols.map((c): [string, string] => ['check_cols', c]) : []),
  ];
  const want = only ? wanted.filter(([key]) => only.includes(key)) : wanted;
  const have = new Set(cols.map((c) => c.toLowerCase()));
  const missing = want.filter(([, c]) => !have.has(c.toLowerCase()));
  if (!missing.length) return undefined;
  const said = missing.map(([key, c]) => {
    const hint = didYouMean(c, cols);
    return `${key} '${c}' is not a column of ${of}${hint ? ` — did you mean '${hint}'?` : ''}`;
  });
  return `snapshot '${n.name}': ${said.join('; ')} (its columns: ${cols.join(', ')})`;
}

/**
 * The query's columns named like the snapshot's own (`dbt_valid_from`... in any case: a snapshot
 * of a snapshot, `select *`), said: the table cannot hold both (DuckDB's first run named the
 * snapshot's `dbt_valid_from_1` and kept the query's as the versions' columns, every later run
 * failing "already exists"; Postgres' failed "specified more than once").
 */
function snapshotColumnsSelected(n: SnapshotNode, cols: string[]): string | undefined {
  const clash = cols.filter((c) => SNAPSHOT_COLUMNS.includes(c.toLowerCase()));
  if (!clash.length) return undefined;
  return `snapshot '${n.name}': its query selects ${clash.join(', ')}, named like the column${clash.length === 1 ? '' : 's'} the snapshot adds (${SNAPSHOT_COLUMNS.join(', ')}): nothing was written; select ${clash.length === 1 ? 'it' : 'them'} under another name (${clash[0]} as source_${clash[0].toLowerCase()}) or leave ${clash.length === 1 ? 'it' : 'them'} out`;
}

/**
 * An updated_at the run's time cannot be written into (a version number), where a run writes it:
 * check's versions whose updated_at did not advance start at the run's time, and a deleted key's
 * version ends at it (dbt_valid_to has updated_at's type). Said before anything is written (the
 * first run went through, then every later run on Postgres failed "cannot cast type timestamp
 * with time zone to bigint"; DuckDB's at its first delete).
 */
function untimedUpdatedAt(n: SnapshotNode, cols: Column[]): string | undefined {
  const ua = n.config.updated_at;
  const writes = n.config.strategy === 'check' ? "with strategy 'check' a changed row whose updated_at did not advance gets a version starting at the run's time" : n.config.invalidate_hard_deletes ? "hard_deletes: invalidate ends a deleted key's version at the run's time (dbt_valid_to has updated_at's type)" : undefined;
  const col = ua && writes ? cols.find((c) => c.name.toLowerCase() === ua.toLowerCase()) : undefined;
  if (!col || isNullType(col.data_type) || ['date', 'local', 'instant', 'time', 'string'].includes(typeFamily(col.data_type, 'local'))) return undefined;
  const out = n.config.strategy === 'check' ? "or leave updated_at out (each version starts at the run's time)" : 'or use hard_deletes: ignore';
  return `snapshot '${n.name}': updated_at '${col.name}' is ${col.data_type}, not a date or time, but ${writes}, which it cannot hold: nothing was written; select a timestamp or date as updated_at, ${out}`;
}

/**
 * A key of a row the refusals read (its columns k0, k1...): `'3'`, or `('3', 'a')` for a key of
 * several columns, each value quoted as a warehouse quotes them, so that a PII key is masked as
 * any quoted value is (redactedError).
 */
function keyValue(r: Record<string, unknown>, n: number): string {
  // (a line break as \n: a message is masked line by line, and a value's quotes on two lines are none)
  const parts = Array.from({ length: n }, (_, i) => (r[`k${i}`] === null || r[`k${i}`] === undefined ? 'NULL' : `'${String(r[`k${i}`]).replace(/'/g, "''").replace(/\r/g, '\\r').replace(/\n/g, '\\n')}'`));
  return n === 1 ? parts[0] : `(${parts.join(', ')})`;
}

async function count(adapter: Adapter, rel: string): Promise<number> {
  const [c] = await adapter.query<{ n: unknown }>(`select count(*) as n from ${rel}`);
  return Number(c?.n ?? 0);
}
