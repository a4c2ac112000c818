/**
 * Runs compiled unit tests on one session (UnitSession): the target's when its warehouse runs
 * them (Postgres: one connection, a transaction rolled back per test), else one in-memory DuckDB.
 * Checks that every given casts to its declared types, runs the model over the givens, casts the
 * expected rows to the types the model produced, and compares (order-insensitive unless
 * `ordered`, floats within `tolerance`, decimals exactly). A failure comes back as a readable
 * diff. `preflight` checks what can be checked before anything runs.
 */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { offlineDialect } from '../adapters/index.js';
import { literalStandard } from '../adapters/dialect.js';
import type { UnitResultSet, UnitSession } from '../adapters/warehouse.js';
import { cellOf, expectFilter, lossyValue, type UnitTestNode } from './unit-tests.js';
import { redact, reveal } from '../secrets.js';
import { loadDuckDb } from '../adapters/duckdb/duckdb-module.js';
import { typeFamily } from '../adapters/type-family.js';
import { diag, didYouMean, type Diagnostic } from '../errors.js';
import type { QueryPii } from '../check/pii-lineage.js';
import { canonicalJson } from '../stable-json.js';

export interface UnitResult {
  status: 'pass' | 'fail' | 'error';
  message: string;
}

type Json = unknown;

const q = (id: string) => offlineDialect().quoteIdent(id);

const lit = literalStandard;

function show(v: Json): string {
  if (v === null || v === undefined) return 'null';
  // a string is shown as it is, unless that would read as something else (nothing, a NULL, padding)
  if (typeof v === 'string') return v === '' || v !== v.trim() || v === 'null' ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/**
 * `numeric`: whether the column holds floats (compared within the tolerance); any other column
 * compares as written — a VARCHAR '007' is not '7', and a BIGINT or a DECIMAL (exact text in the
 * rows read, the expected value cast to the same type) is not rounded to a double. Undefined:
 * told apart by the values (numbers, or text that reads as one).
 */
function cellEq(a: Json, b: Json, tolerance: number, numeric?: boolean): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  if (numeric === false || (numeric && JSON.stringify(a) === JSON.stringify(b))) return JSON.stringify(a) === JSON.stringify(b);
  const na = typeof a === 'number' ? a : typeof a === 'string' && a.trim() !== '' ? Number(a) : NaN;
  const nb = typeof b === 'number' ? b : typeof b === 'string' && b.trim() !== '' ? Number(b) : NaN;
  if (Number.isFinite(na) && Number.isFinite(nb) && (typeof a === 'number' || typeof b === 'number' || /^-?[\d.]+(e[+-]?\d+)?$/i.test(String(a)))) {
    return Math.abs(na - nb) <= tolerance;
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

/** An exact decimal's text without the zeros its scale adds (`3.00` -> `3`, `-0.50` -> `-0.5`); other values as they are. */
export function decimalValue(v: Json): Json {
  if (typeof v !== 'string' || !/^[-+]?\d+(\.\d*)?$/.test(v)) return v;
  const t = v.replace(/^\+/, '').replace(/^(-?)0+(?=\d)/, '$1');
  const trimmed = t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t;
  return trimmed === '-0' ? '0' : trimmed;
}

/**
 * A JSON value (text, or parsed) in one form per value: keys sorted, no spacing, numbers as
 * numbers (`{"b": 1.0, "a": 2}` is `{"a":2,"b":1}`), as Postgres' jsonb compares them. Text that
 * does not parse, or holds a number of more digits than a double keeps exactly, as it is.
 */
export function jsonValue(v: Json): Json {
  const text = typeof v === 'string' ? v : v !== null && typeof v === 'object' ? JSON.stringify(v) : undefined;
  if (text === undefined || /\d{16,}/.test(text.replace(/"(?:[^"\\]|\\.)*"/g, '""'))) return v;
  try {
    return canonicalJson(JSON.parse(text));
  } catch {
    return v;
  }
}

const DAY_US = 86_400_000_000n;
const MONTH_US = 30n * DAY_US;

/**
 * An interval as DuckDB (`{months, days, micros}`) or Postgres (`1 year 2 mons -3 days
 * +04:05:06.5`) returns it, in one form per class of intervals its warehouse's = holds equal:
 * Postgres compares lengths (months of 30 days, days of 24 hours: 24:00:00 = 1 day, 30 days =
 * 1 mon); DuckDB carries whole days of the micros into days and whole 30 days into months, each
 * part keeping its sign (1 day = 24 hours, but 1 day -01:00:00 is not 23:00:00). Anything else as it is.
 */
export function intervalValue(v: Json): Json {
  let months: bigint;
  let days: bigint;
  let micros: bigint;
  if (v && typeof v === 'object' && !Array.isArray(v) && 'months' in v && 'days' in v && 'micros' in v) {
    const o = v as Record<string, Json>;
    try {
      [months, days, micros] = [BigInt(String(o.months)), BigInt(String(o.days)), BigInt(String(o.micros))];
    } catch {
      return v;
    }
    // DuckDB's Interval::Normalize (BigInt division truncates, as C++'s)
    days += micros / DAY_US;
    micros %= DAY_US;
    months += days / 30n;
    days %= 30n;
  } else if (typeof v === 'string') {
    const m = /^\s*((?:[-+]?\d+ (?:years?|mons?|days?)\s*)*)([-+]?)(?:(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?\s*$/.exec(v);
    if (!m || (!m[1] && m[3] === undefined)) return v;
    let total = 0n;
    for (const [, n, unit] of m[1].matchAll(/([-+]?\d+) (year|mon|day)s?/g)) total += BigInt(n) * (unit === 'year' ? 12n * MONTH_US : unit === 'mon' ? MONTH_US : DAY_US);
    if (m[3] !== undefined) {
      const t = (BigInt(m[3]) * 3600n + BigInt(m[4]) * 60n + BigInt(m[5])) * 1_000_000n + BigInt((m[6] ?? '').padEnd(6, '0'));
      total += m[2] === '-' ? -t : t;
    }
    // Postgres' interval_cmp_value: the length
    months = total / MONTH_US;
    days = (total % MONTH_US) / DAY_US;
    micros = total % DAY_US;
  } else return v;
  const parts: string[] = [];
  if (months) parts.push(`${months} mon${months === 1n ? '' : 's'}`);
  if (days) parts.push(`${days} day${days === 1n ? '' : 's'}`);
  if (micros || !parts.length) {
    const abs = micros < 0n ? -micros : micros;
    const sec = abs / 1_000_000n;
    const us = abs % 1_000_000n;
    const two = (n: bigint) => String(n).padStart(2, '0');
    parts.push(`${micros < 0n ? '-' : ''}${two(sec / 3600n)}:${two((sec / 60n) % 60n)}:${two(sec % 60n)}${us ? `.${String(us).padStart(6, '0').replace(/0+$/, '')}` : ''}`);
  }
  return parts.join(' ');
}

/** At most this many rows of each kind (missing, extra, changed; ordered: differing rows) in a unit test's diff; the rest are counted. */
export const DIFF_ROWS = 50;

const more = (n: number, what: string) => `... and ${n.toLocaleString('en-US')} more ${what}`;

/**
 * Compare expected with actual rows on the expected columns; returns the diff lines (empty =
 * equal), at most DIFF_ROWS rows of each kind. `shown`: the actual rows as the lines show them,
 * one for one (masked: maskedSample).
 */
export function diffRows(expected: Array<Record<string, Json>>, actual: Array<Record<string, Json>>, columns: string[], ordered: boolean, tolerance: number, numericColumns?: ReadonlySet<string>, shown: Array<Record<string, Json>> = actual): string[] {
  const cellsEqual = (a: Json, b: Json, tol: number, col?: string) => cellEq(a, b, tol, numericColumns && col !== undefined ? numericColumns.has(col) : undefined);
  const fmt = (r: Record<string, Json>) => `{${columns.filter((c) => Object.hasOwn(r, c)).map((c) => `${c}: ${show(r[c])}`).join(', ')}}`;
  const seen = new Map(actual.map((a, i) => [a, shown[i] ?? a]));
  /** an actual row as shown */
  const as = (a: Record<string, Json>) => seen.get(a) ?? a;
  // an expected row is compared on the columns it lists
  const cols = (e: Record<string, Json> | undefined) => (e ? columns.filter((c) => Object.hasOwn(e, c)) : columns);
  const same = (e: Record<string, Json>, a: Record<string, Json>) => cols(e).every((c) => cellsEqual(e[c], a[c], tolerance, c));
  const lines: string[] = [];
  if (ordered) {
    const n = Math.max(expected.length, actual.length);
    let differing = 0;
    for (let i = 0; i < n; i++) {
      const e = expected[i];
      const a = actual[i];
      let line: string | undefined;
      if (e && a) {
        const changed = cols(e).filter((c) => !cellsEqual(e[c], a[c], tolerance, c));
        if (changed.length) line = `row ${i + 1}: ${changed.map((c) => `${c} expected ${show(e[c])}, got ${show(as(a)[c])}`).join('; ')}`;
      } else if (e) line = `row ${i + 1} missing: ${fmt(e)}`;
      else line = `row ${i + 1} extra: ${fmt(as(a))}`;
      if (line !== undefined && differing++ < DIFF_ROWS) lines.push(line);
    }
    if (differing > DIFF_ROWS) lines.push(more(differing - DIFF_ROWS, 'rows differ'));
    return lines;
  }
  // The actual rows that may equal an expected row: those with its values in the columns compared
  // exactly (all but floats), found in an index of them, then checked on the float columns. Every
  // pair was compared before: 10,000 expected and 10,000 actual rows took 40 s.
  const exactCols = (e: Record<string, Json>) => (numericColumns ? cols(e).filter((c) => !numericColumns.has(c)) : []);
  // (as cellEq compares them: NULL only equals NULL, other values by their JSON, which never holds a raw \u0000)
  const keyOf = (r: Record<string, Json>, ks: string[]) => ks.map((c) => (r[c] === null || r[c] === undefined ? '\u0000' : JSON.stringify(r[c]))).join('\u0001');
  const everyRow = actual.map((_, i) => i);
  const indexes = new Map<string, Map<string, number[]>>();
  const candidates = (e: Record<string, Json>): number[] => {
    const ks = exactCols(e);
    if (!ks.length) return everyRow.filter((i) => same(e, actual[i]));
    const sig = JSON.stringify(ks);
    let index = indexes.get(sig);
    if (!index) {
      index = new Map();
      for (const [i, a] of actual.entries()) {
        const k = keyOf(a, ks);
        const at = index.get(k);
        if (at) at.push(i);
        else index.set(k, [i]);
      }
      indexes.set(sig, index);
    }
    const hits = index.get(keyOf(e, ks)) ?? [];
    // (the bucket itself when nothing else is compared: shared, not copied, for many equal rows)
    return ks.length === cols(e).length ? hits : hits.filter((i) => same(e, actual[i]));
  };
  // as many expected rows as can be paired with an actual row each (not the first fit: {id: 1}
  // taking the row {id: 1, cat: a} that {id: 1, cat: a} needs)
  const pairOf = maxMatching(expected.map(candidates), actual.length);
  const paired = new Set(pairOf.filter((i) => i >= 0));
  const remaining = actual.filter((_, i) => !paired.has(i));
  const missing = expected.filter((_, i) => pairOf[i] < 0);
  // pair a missing row with the extra row it shares the most cells with: that is a changed row
  // (each pairing reads every extra row: only for the rows the diff shows)
  const changed: string[] = [];
  const stillMissing: Array<Record<string, Json>> = [];
  let unexamined = 0;
  for (const e of missing) {
    if (changed.length + stillMissing.length >= DIFF_ROWS) {
      unexamined++;
      continue;
    }
    let best = -1;
    let bestScore = 0;
    remaining.forEach((a, i) => {
      const score = cols(e).filter((c) => cellsEqual(e[c], a[c], tolerance, c)).length;
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    });
    if (best >= 0 && bestScore >= Math.ceil(cols(e).length / 2)) {
      const a = remaining.splice(best, 1)[0];
      const diffCols = cols(e).filter((c) => !cellsEqual(e[c], a[c], tolerance, c));
      const keyCols = cols(e).filter((c) => !diffCols.includes(c));
      changed.push(`row {${keyCols.map((c) => `${c}: ${show(e[c])}`).join(', ')}}: ${diffCols.map((c) => `${c} expected ${show(e[c])}, got ${show(as(a)[c])}`).join('; ')}`);
    } else stillMissing.push(e);
  }
  if (stillMissing.length) lines.push('missing rows (expected, not produced):', ...stillMissing.map((r) => `  ${fmt(r)}`));
  if (remaining.length) lines.push('extra rows (produced, not expected):', ...remaining.slice(0, DIFF_ROWS).map((r) => `  ${fmt(as(r))}`), ...(remaining.length > DIFF_ROWS ? [`  ${more(remaining.length - DIFF_ROWS, 'extra rows')}`] : []));
  if (changed.length) lines.push('changed cells:', ...changed.map((c) => `  ${c}`));
  if (unexamined) lines.push(more(unexamined, `expected rows not produced (missing, or changed into one of the extra rows: the diff pairs the first ${DIFF_ROWS})`));
  return lines;
}

/**
 * A maximum bipartite matching: `adj[l]` the right vertices left vertex l may pair with; returns
 * each left vertex's right vertex, or -1. Augmenting paths found breadth-first (no recursion: a
 * test may expect thousands of rows), after a first-fit start.
 */
export function maxMatching(adj: number[][], nRight: number): number[] {
  const left = adj.map(() => -1);
  const right = new Array<number>(nRight).fill(-1);
  adj.forEach((vs, l) => {
    const v = vs.find((x) => right[x] < 0);
    if (v !== undefined) [left[l], right[v]] = [v, l];
  });
  for (let start = 0; start < adj.length; start++) {
    if (left[start] >= 0) continue;
    // from a right vertex: the right vertex that led to the left vertex holding it
    const via = new Map<number, number>();
    const from = new Map<number, number>();
    let queue = [start];
    let free = -1;
    while (queue.length && free < 0) {
      const next: number[] = [];
      for (const l of queue) {
        for (const v of adj[l]) {
          if (from.has(v)) continue;
          from.set(v, l);
          if (right[v] < 0) {
            free = v;
            break;
          }
          via.set(right[v], v);
          next.push(right[v]);
        }
        if (free >= 0) break;
      }
      queue = next;
    }
    // flip the path: each right vertex on it to the left vertex that reached it
    for (let v = free; v >= 0; ) {
      const l = from.get(v)!;
      const prev = l === start ? -1 : via.get(l)!;
      [left[l], right[v]] = [v, l];
      v = prev;
    }
  }
  return left;
}

/** The offline engine's session: one in-memory DuckDB (nothing in it outlives the run). */
class DuckDbUnitSession implements UnitSession {
  readonly engine = 'an in-memory DuckDB';
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(): Promise<DuckDbUnitSession> {
    const { DuckDBInstance } = await loadDuckDb();
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    await conn.run("SET TimeZone = 'UTC'");
    return new DuckDbUnitSession(instance, conn);
  }

  async query(sql: string): Promise<UnitResultSet> {
    const r = await this.conn.runAndReadAll(sql);
    const names = r.columnNames();
    // (each row's columns its own keys, as Postgres' rows: a column named __proto__ set on an object
    // was its prototype, not a value, and compared equal to any)
    const rows = (r.getRowsJson() as unknown[][]).map((values) => Object.fromEntries(names.map((n, i) => [n, values[i]])));
    // (a JSON column is a VARCHAR with the alias JSON: named so, it is compared as JSON)
    return { names, types: r.columnTypes().map((x) => (x.alias === 'JSON' ? 'JSON' : x.toString())), rows };
  }

  columnsOf(sql: string): Promise<string[] | undefined> {
    return this.conn.runAndReadAll(`describe select * from (\n${sql}\n) as __vigil_bound`).then((r) => (r.getRowObjectsJson() as Array<{ column_name: string }>).map((d) => d.column_name), () => undefined);
  }

  castError(value: string, type: string): Promise<string | undefined> {
    return this.conn.runAndReadAll(`select cast(${value} as ${type})`).then(() => undefined, (e: unknown) => firstLine(e));
  }

  isolated<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async close(): Promise<void> {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

export class UnitRunner {
  private session?: Promise<UnitSession>;
  /** One connection, one test at a time: each takes milliseconds, and a connection is not shared safely. */
  private queue: Promise<unknown> = Promise.resolve();
  /** the tests whose givens `preflight` read whole: their run does not read them again */
  private readonly givensRead = new Set<string>();

  /** `open`: the target's session (Warehouse.unitSession); default an in-memory DuckDB. */
  constructor(private readonly open: () => Promise<UnitSession> = () => DuckDbUnitSession.open()) {}

  private connection(): Promise<UnitSession> {
    this.session ??= this.open();
    return this.session;
  }

  /**
   * The mistakes in the tests' YAML that DuckDB finds before anything runs (exit 2): a given value
   * that does not cast to its column's type, at its row; an expect column the model does not
   * produce — its SQL bound, not run, for the columns it surely produces (its YAML's columns are
   * documentation, maybe of some only). A model that does not bind is left to its test's run.
   */
  preflight(tests: UnitTestNode[]): Promise<Diagnostic[]> {
    const next = this.queue.then(async () => {
      const ds: Diagnostic[] = [];
      const c = await this.connection();
      for (const t of tests) ds.push(...(await c.isolated(() => this.preflightOne(c, t))));
      return ds;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async preflightOne(c: UnitSession, t: UnitTestNode): Promise<Diagnostic[]> {
    const ds: Diagnostic[] = [];
    for (const g of t.givens) {
      const e = await c.query(`select * from (\n${g.sql}\n) as given`).then(() => undefined, (x: unknown) => x);
      if (e === undefined) continue;
      // each row with a value that does not cast, at its line; else the engine's word, at the given
      // (DuckDB: one probe query; another engine: cell by cell)
      const hits = g.probe ? ((await c.query(g.probe).then((r) => r.rows, () => [])) as Array<{ i: number; problem: string }>) : await castProblems(c, g.cells ?? []);
      const at = hits.flatMap((h) => (g.row_lines?.[Number(h.i)] ? [{ line: g.row_lines[Number(h.i)], problem: h.problem }] : []));
      if (at.length) for (const h of at) ds.push(diag('E_UNIT', `given ${g.input}: ${h.problem}`, { file: g.row_file ?? t.file, line: h.line }));
      else ds.push(diag('E_UNIT', `given ${g.input}: ${firstLine(e)}`, { file: t.file, line: g.line }));
    }
    if (ds.length) return ds;
    this.givensRead.add(t.unique_id);
    const filter = t.expect_where ? expectFilter(t.expect_where.sql) : undefined;
    const sql = filter && t.compiled_sql.endsWith(filter) ? t.compiled_sql.slice(0, -filter.length) : t.compiled_sql;
    const names = await c.columnsOf(reveal(sql, t.env_vars));
    if (!names) return ds;
    // expect.where naming a column the model does not produce (the model binds): the YAML's mistake
    if (t.expect_where && sql !== t.compiled_sql) {
      const e = await c.query(`select * from (\n${reveal(t.compiled_sql, t.env_vars)}\n) as __vigil_where limit 0`).then(() => undefined, (x: unknown) => x);
      // (DuckDB's binder, Postgres' words)
      const m = e === undefined ? null : /Referenced column "([^"]+)" not found|column "([^".]+)" does not exist/.exec(firstLine(e));
      const col = m?.[1] ?? m?.[2];
      // (only a column the where names itself, outside a subquery: one a subquery reads from its
      // own relation is that relation's, and the database's message says it as it is)
      if (col !== undefined && !names.includes(col) && namedInWhere(t.expect_where.sql, col)) {
        const hint = didYouMean(col, names);
        ds.push(diag('E_UNIT', `expect.where: '${t.model}' does not produce column '${col}'${hint ? ` — did you mean '${hint}'?` : ''}`, { file: t.file, line: t.expect_where.line }, `${t.model} produces: ${names.join(', ')}`));
      }
    }
    const expected = [...new Set(t.expect_rows.flatMap((r) => Object.keys(r)))];
    for (const col of expected.filter((x) => !names.includes(x))) {
      const ri = t.expect_rows.findIndex((r) => Object.hasOwn(r, col));
      // (the nearest of the columns that row does not name)
      const hint = didYouMean(col, names.filter((n) => !Object.hasOwn(t.expect_rows[ri], n)));
      const line = t.expect_lines?.[ri];
      ds.push(diag('E_UNIT', `expect: '${t.model}' does not produce column '${col}'${hint ? ` — did you mean '${hint}'?` : ''}`, { file: line ? (t.expect_file ?? t.file) : t.file, line: line ?? t.expect_line }, `${t.model} produces: ${names.join(', ')}`));
    }
    return ds;
  }

  /**
   * `pii`: the PII lineage of the test's compiled SQL (piiLineage, asked at a failure): when the
   * model reads a relation that is not one of its givens (one named in its SQL: rows of the
   * warehouse), the diff shows the produced rows as a failing data test's sample (maskedSample);
   * rows made only of the givens are the test author's own and shown as they are.
   */
  run(t: UnitTestNode, pii?: () => Promise<QueryPii | undefined>): Promise<UnitResult> {
    const next = this.queue.then(async () => {
      const c = await this.connection();
      return c.isolated(() => this.runOne(c, t, pii));
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runOne(c: UnitSession, t: UnitTestNode, pii?: () => Promise<QueryPii | undefined>): Promise<UnitResult> {
    const where = `${t.file}:${t.line}`;
    for (const g of this.givensRead.has(t.unique_id) ? [] : t.givens) {
      try {
        // read every cell: count(*) alone would let DuckDB skip the casts
        await c.query(`select * from (\n${g.sql}\n) as given`);
      } catch (e) {
        return { status: 'error', message: `${t.file}:${g.line}: given ${g.input}: ${firstLine(e)}` };
      }
    }
    let names: string[];
    let types: string[];
    let actual: Array<Record<string, Json>>;
    try {
      const r = await c.query(reveal(t.compiled_sql, t.env_vars));
      names = r.names;
      types = r.types;
      actual = r.rows;
    } catch (e) {
      // the model alone runs: the mistake is in expect.where
      const filter = t.expect_where ? expectFilter(t.expect_where.sql) : undefined;
      if (filter && t.compiled_sql.endsWith(filter)) {
        const ok = await c.query(reveal(t.compiled_sql.slice(0, -filter.length), t.env_vars)).then(() => true, () => false);
        if (ok) return { status: 'error', message: `${t.file}:${t.expect_where!.line}: expect.where: ${redact(firstLine(e))}` };
      }
      return { status: 'error', message: `${where}: model ${t.model} failed on the given rows (SQL: ${t.compiled_path}): ${redact(firstLine(e))}` };
    }
    const columns = [...new Set(t.expect_rows.flatMap((r) => Object.keys(r)))];
    const unknown = columns.filter((col) => !names.includes(col));
    if (unknown.length) {
      const said = unknown.map((u) => {
        const hint = didYouMean(u, names.filter((n) => !columns.includes(n)));
        return `'${u}'${hint ? ` (did you mean '${hint}'?)` : ''}`;
      });
      return { status: 'error', message: `${t.file}:${t.expect_line}: expect: ${t.model} does not produce ${said.join(', ')} (it produces: ${names.join(', ')})` };
    }
    // (rows that name no column, `rows: [{}]`: as many rows, with nothing to compare)
    let expected: Array<Record<string, Json>> = t.expect_rows.map(() => ({}));
    if (t.expect_rows.length && columns.length) {
      const typeOf = (col: string) => types[names.indexOf(col)];
      // a value the column's type would round or misread (7.5 for a BIGINT, 0 for a BOOLEAN) would
      // compare equal after the cast: refused instead
      for (const [ri, row] of t.expect_rows.entries()) {
        for (const col of columns) {
          const lossy = Object.hasOwn(row, col) ? lossyValue(row[col], typeOf(col), t.expect_written?.[ri]?.[col], t.engine) : undefined;
          if (lossy) return { status: 'error', message: `${t.file}:${t.expect_line}: expect: row ${ri + 1}, ${col}: ${lossy}` };
        }
      }
      // each value cast in its cell (one VALUES types a column once across its rows: Postgres took
      // 'abc' beside 1 for an integer before any cast)
      const values = t.expect_rows.map((r) => `(${columns.map((col) => `cast(${lit(cellOf(r, col) ?? null)} as ${typeOf(col)})`).join(', ')})`).join(', ');
      const sql = `select * from (values ${values}) as v(${columns.map(q).join(', ')})`;
      try {
        expected = (await c.query(sql)).rows;
        // a column an expect row leaves out is not compared for that row
        expected.forEach((row, i) => {
          for (const col of columns) if (!Object.hasOwn(t.expect_rows[i], col)) delete row[col];
        });
      } catch (e) {
        return { status: 'error', message: `${t.file}:${t.expect_line}: expect: a value does not cast to the model's column type: ${firstLine(e)}` };
      }
    }
    // floats within the tolerance; decimals exactly, by value, as dbt compares what the warehouse
    // returns (with SQL's =: Postgres' numeric keeps its operands' scale, 3.00 where 3 is expected)
    const numeric = new Set(names.filter((n, i) => typeFamily(types[i], 'local') === 'float'));
    const exact = names.filter((n, i) => typeFamily(types[i], 'local') === 'numeric');
    for (const rows of [expected, actual]) for (const row of rows) for (const col of exact) if (Object.hasOwn(row, col)) row[col] = decimalValue(row[col]);
    // intervals by their length, as the warehouse's = compares them (24 hours = 1 day, 30 days = 1 month)
    const intervals = names.filter((n, i) => typeFamily(types[i], 'local') === 'interval');
    for (const rows of [expected, actual]) for (const row of rows) for (const col of intervals) if (Object.hasOwn(row, col)) row[col] = intervalValue(row[col]);
    // JSON by its value, as jsonb's = compares it (key order and spacing are not the value: DuckDB
    // keeps a JSON's text as written, Postgres' json_build_object writes {"k" : 1})
    const jsons = names.filter((n, i) => typeFamily(types[i], 'local') === 'json');
    for (const rows of [expected, actual]) for (const row of rows) for (const col of jsons) if (Object.hasOwn(row, col)) row[col] = jsonValue(row[col]);
    let diff = diffRows(expected, actual, columns.length ? columns : names, t.ordered, t.tolerance, numeric);
    if (!diff.length && (t.expect_rows.length > 0 || actual.length === 0)) return { status: 'pass', message: 'pass' };
    if (diff.length && pii) {
      const p = await pii();
      const { maskedSample } = await import('../check/pii-lineage.js');
      // (its SQL did not parse: what it reads is unknown, every column may hold PII)
      // (a given read from a seed's CSV is the seed's data, read as its relation (pii_sql), which an
      // inlined ephemeral parent's CTE hides from the relations seen: masked by the lineage then too)
      const shown = !p ? actual : !p.relations ? maskedSample(actual, { ...p, traced: new Set(), unseen: ['(its SQL did not parse)'] }) : p.relations.length || t.pii_sql !== undefined ? maskedSample(actual, p, { names: false }) : actual;
      if (shown !== actual) diff = diffRows(expected, actual, columns.length ? columns : names, t.ordered, t.tolerance, numeric, shown);
    }
    if (!diff.length) return { status: 'fail', message: `${where}: expected no rows, got ${actual.length}` };
    return { status: 'fail', message: `${where}: ${t.model} on the given rows differs from expect:\n    ${diff.join('\n    ')}` };
  }

  /** Close the session (after the tests queued before it). */
  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await this.queue;
    await (await s?.catch(() => undefined))?.close();
  }
}

/** The given cells that do not cast to their column's type, each with its row: `amount: "abc" does not cast to numeric(10,2)`. */
async function castProblems(c: UnitSession, cells: NonNullable<UnitTestNode['givens'][number]['cells']>): Promise<Array<{ i: number; problem: string }>> {
  const byRow = new Map<number, string[]>();
  for (const cell of cells) {
    if ((await c.castError(cell.value, cell.type)) === undefined) continue;
    const said = byRow.get(cell.row) ?? byRow.set(cell.row, []).get(cell.row)!;
    said.push(`${cell.column}: ${cell.shown} does not cast to ${cell.type}`);
  }
  return [...byRow].map(([i, p]) => ({ i, problem: p.join('; ') }));
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/**
 * Whether `where` names column `col` itself: unqualified (not after a `.`), plain or quoted, outside
 * string literals, comments and parenthesized subqueries (`(select ...)`, `(with ...)`), whose
 * unqualified names are first their own FROM's columns.
 */
export function namedInWhere(where: string, col: string): boolean {
  let top = '';
  let depth = 0;
  /** the depth of the subquery being left out (0: none) */
  let sub = 0;
  for (let i = 0; i < where.length; i++) {
    const ch = where[i];
    const end = ch === "'" || ch === '"' ? quotedEnd(where, i) : ch === '-' && where[i + 1] === '-' ? lineEnd(where, i) : ch === '/' && where[i + 1] === '*' ? commentEnd(where, i) : undefined;
    if (end !== undefined) {
      // (a quoted identifier stays: it may be the column)
      if (!sub) top += ch === '"' ? where.slice(i, end) : ' ';
      i = end - 1;
      continue;
    }
    if (ch === '(') {
      depth++;
      if (!sub && /^\s*(?:select|with)\b/i.test(where.slice(i + 1))) sub = depth;
    } else if (ch === ')') {
      depth--;
      if (sub && depth < sub) {
        sub = 0;
        top += ' ';
        continue;
      }
    }
    if (!sub) top += ch;
  }
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const quoted = `"${esc(col.replace(/"/g, '""'))}"`;
  const plain = /^[A-Za-z_][\w$]*$/.test(col) ? `|${esc(col)}(?![\\w$"])` : '';
  return new RegExp(`(?<![.\\w$"])(?:${quoted}${plain})`, 'i').test(top);
}

/** The index after the literal or quoted identifier opening at `i` (a doubled quote inside is one). */
function quotedEnd(s: string, i: number): number {
  const q = s[i];
  let j = i + 1;
  while (j < s.length) {
    if (s[j] === q && s[j + 1] === q) j += 2;
    else if (s[j] === q) return j + 1;
    else j++;
  }
  return s.length;
}
const lineEnd = (s: string, i: number): number => (s.indexOf('\n', i) < 0 ? s.length : s.indexOf('\n', i));
const commentEnd = (s: string, i: number): number => (s.indexOf('*/', i + 2) < 0 ? s.length : s.indexOf('*/', i + 2) + 2);
