/**
 * dbt's configs of how a data test's result is computed and kept (docs/models.md#thresholds-and-stored-failures):
 * `fail_calc` (default `count(*)`), `warn_if` / `error_if` (default `!= 0`), `limit`,
 * `store_failures`, `store_failures_as` (table, view, ephemeral; it wins over store_failures, as in
 * dbt) and `schema` (where the failures go). Checked here, for a generic test's YAML and a singular
 * test's config(), so both refuse the same values with the same words. Pure.
 */

export const TEST_RESULT_KEYS = ['fail_calc', 'warn_if', 'error_if', 'limit', 'store_failures', 'store_failures_as', 'schema'] as const;

/** A threshold: a comparison and a number, as dbt writes it after fail_calc (`count(*) != 0`). */
const THRESHOLD = /^\s*(!=|<>|>=|<=|=|>|<)\s*(-?(?:\d+(?:\.\d*)?|\.\d+))\s*$/;
/** A range, as dbt's docs write one (`between 5 and 10`; `not between` too): SQL's BETWEEN, both ends in. */
const RANGE = /^\s*(not\s+)?between\s+(-?(?:\d+(?:\.\d*)?|\.\d+))\s+and\s+(-?(?:\d+(?:\.\d*)?|\.\d+))\s*$/i;

export interface TestResultConfig {
  fail_calc?: string;
  warn_if?: string;
  error_if?: string;
  limit?: number;
  /** table or view: the failing rows are kept there (absent: not stored; `ephemeral` and store_failures: false store nothing) */
  store_failures_as?: 'table' | 'view';
  /** the `schema:` the failures go to (absent: `<target schema>_dbt_test__audit`) */
  schema?: string;
}

export type TestResultProblem = { key: (typeof TEST_RESULT_KEYS)[number]; message: string; hint?: string };

/** The configs of `cfg` (a test's arguments and config), or the first problem with one. */
export function checkTestResultConfig(cfg: Record<string, unknown>): { config: TestResultConfig } | { problem: TestResultProblem } {
  const out: TestResultConfig = {};
  const fc = cfg.fail_calc;
  if (fc !== undefined && fc !== null) {
    if (typeof fc !== 'string' || !fc.trim()) return { problem: { key: 'fail_calc', message: `fail_calc must be an SQL expression over the failing rows (a non-empty string, e.g. 'count(*)' or 'sum(n_records)'), got ${JSON.stringify(fc)}` } };
    // (a comment would hide what the test query writes after it: `sum(x) -- c != 0 as should_warn`)
    // (nor a template: it is not rendered, and `count(distinct {{ var('k') }})` failed at run time
    // as a syntax error, exit 1; dbt renders it)
    if (/\{[{%#]/.test(fc)) return { problem: { key: 'fail_calc', message: `fail_calc is SQL, not a template: Vigil does not render it (got ${JSON.stringify(fc)})`, hint: 'write the expression itself (count(distinct customer_id))' } };
    if (/;|--|\/\*/.test(fc)) return { problem: { key: 'fail_calc', message: `fail_calc is one SQL expression: it may not hold ';' or a comment (got ${JSON.stringify(fc)})` } };
    if (fc.trim() !== 'count(*)') out.fail_calc = fc.trim();
  }
  for (const k of ['warn_if', 'error_if'] as const) {
    const v = cfg[k];
    if (v === undefined || v === null) continue;
    const range = typeof v === 'string' ? RANGE.exec(v) : null;
    if (range) {
      // (a range whose low end is above its high end holds no number: SQL's BETWEEN is never true,
      // and its NOT BETWEEN always)
      if (Number(range[2]) > Number(range[3])) return { problem: { key: k, message: range[1] ? `${k}: not between ${range[2]} and ${range[3]} is every number (between ${range[2]} and ${range[3]} holds none: the low end first)` : `${k}: between ${range[2]} and ${range[3]} holds no number (the low end first)`, hint: `write ${k}: "${range[1] ? 'not ' : ''}between ${range[3]} and ${range[2]}"` } };
      out[k] = (v as string).trim();
      continue;
    }
    const m = typeof v === 'string' ? THRESHOLD.exec(v) : null;
    if (!m) {
      const near = typeof v === 'string' && /^\s*==/.test(v) ? `write '=${v.replace(/^\s*==/, '')}' (SQL's equality)` : typeof v === 'number' ? `quote it with a comparison: ${k}: "!=${v}" or ">${v}"` : `e.g. ${k}: ">10", "!=0", ">=5", "<3", "between 5 and 10"`;
      return { problem: { key: k, message: `${k} must be a comparison and a number, or a range, as dbt writes it after fail_calc (${k}: ">10", "between 5 and 10"), got ${JSON.stringify(v)}`, hint: near } };
    }
    // (kept as written, as dbt prints it: `configured to fail if > 10`; the default left out)
    if (`${m[1]}${Number(m[2])}` !== '!=0') out[k] = (v as string).trim();
  }
  const lim = cfg.limit;
  if (lim !== undefined && lim !== null) {
    if (typeof lim !== 'number' || !Number.isSafeInteger(lim) || lim < 0) return { problem: { key: 'limit', message: `limit must be a whole number of rows, 0 or more, got ${JSON.stringify(lim)}` } };
    out.limit = lim;
  }
  const sf = cfg.store_failures;
  if (sf !== undefined && sf !== null && typeof sf !== 'boolean') return { problem: { key: 'store_failures', message: `store_failures is true or false, got ${JSON.stringify(sf)}` } };
  const sfa = cfg.store_failures_as;
  if (sfa !== undefined && sfa !== null && sfa !== 'table' && sfa !== 'view' && sfa !== 'ephemeral') {
    return { problem: { key: 'store_failures_as', message: `store_failures_as must be 'table', 'view' or 'ephemeral', got ${JSON.stringify(sfa)}`, hint: typeof sfa === 'string' && ['table', 'view', 'ephemeral'].includes(sfa.toLowerCase()) ? `write it in lower case: '${sfa.toLowerCase()}'` : undefined } };
  }
  // store_failures_as wins over store_failures (dbt's): ephemeral stores nothing, table and view store
  const as = sfa === 'table' || sfa === 'view' ? sfa : sfa === 'ephemeral' ? undefined : sf === true ? 'table' : undefined;
  if (as) out.store_failures_as = as;
  const sc = cfg.schema;
  if (sc !== undefined && sc !== null) {
    if (typeof sc !== 'string' || !/^[A-Za-z0-9_-]+$/.test(sc)) return { problem: { key: 'schema', message: `schema (where the test's failures are stored) must be one name of letters, digits, _ and -, got ${JSON.stringify(sc)}` } };
    out.schema = sc;
  }
  return { config: out };
}

/**
 * dbt's test query (default__get_test_sql): the fail_calc value, and whether it crosses warn_if and
 * error_if, computed by the warehouse over the failing rows (`limit` of them when set).
 */
export function testResultSql(failingRows: string, c: TestResultConfig): string {
  // (dbt's defaults, count(*) != 0 for both: the count alone, compared by the caller (should: defaults):
  // the query every test ran before thresholds, which DuckDB answers faster than the three columns)
  if (c.fail_calc === undefined && c.warn_if === undefined && c.error_if === undefined) return `select count(*) as failures from (\n${failingRows}\n) as vigil_test`;
  const fc = c.fail_calc ?? 'count(*)';
  return `select\n  ${fc} as failures,\n  ${fc} ${thresholdSql(c.warn_if)} as should_warn,\n  ${fc} ${thresholdSql(c.error_if)} as should_error\nfrom (\n${failingRows}\n) as vigil_test`;
}

/**
 * A threshold as the test query writes it: its comparison and its number apart (`!= -2`), since
 * Postgres reads `!=-2` as the operator `!=-` (an operator name holding `!` may end in `-`) and
 * the test failed with "operator does not exist: numeric !=- integer".
 */
function thresholdSql(t: string | undefined): string {
  const r = t === undefined ? null : RANGE.exec(t);
  if (r) return `${r[1] ? 'not ' : ''}between ${r[2]} and ${r[3]}`;
  const m = t === undefined ? null : THRESHOLD.exec(t);
  return m ? `${m[1]} ${m[2]}` : (t ?? '!= 0');
}

/** The failing rows, at most `limit` of them (dbt's get_limit_subquery_sql). */
export function limitedSql(sql: string, limit: number | undefined): string {
  return limit === undefined ? sql : `select * from (\n${sql}\n) as vigil_test_limit\nlimit ${limit}`;
}

/**
 * Whether a test's result warns and fails, as dbt's test query computes them: its columns, or
 * (the query of a test with dbt's defaults, which computes only the count) `failures != 0`.
 */
export function should(res: { failures: unknown; should_warn?: unknown; should_error?: unknown }): { warn: boolean; error: boolean } {
  if (!('should_warn' in res)) return { warn: Number(res.failures) !== 0, error: Number(res.failures) !== 0 };
  return { warn: truthy(res.should_warn), error: truthy(res.should_error) };
}

/** A warehouse's boolean, as a driver gives it (true, 't', 1). */
export function truthy(v: unknown): boolean {
  return v === true || v === 1 || v === 't' || v === 'true' || v === 'TRUE' || (typeof v === 'bigint' && v !== 0n);
}
