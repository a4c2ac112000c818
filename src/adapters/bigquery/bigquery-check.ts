/**
 * `vigil check` on BigQuery, offline, with Google's SQL analyzer (zetasql.ts). The catalog is
 * built from the declared columns of the sources; every model is analyzed in DAG order and its
 * output columns registered for its dependents; the exact statements the adapter sends (the
 * CREATE ... PARTITION BY / CLUSTER BY / OPTIONS script, the MERGE / insert_overwrite scripts
 * with their DECLAREs) are analyzed too, and so are Vigil's own rules BigQuery enforces but no
 * analyzer sees: partitioning and clustering column types, at most four clustering columns,
 * require_partition_filter reads, aggregate percentiles, the column names of a table or seed.
 */
import type { MaterializeRequest } from '../adapter.js';
import { partitionField } from '../adapter.js';
import type { Relation } from '../dialect.js';
import { didYouMean } from '../../errors.js';
import { typeFamily } from '../type-family.js';
import type { CheckColumn, Checker, CheckOutcome, DeclaredTable } from '../warehouse.js';
import { BigQueryAdapter, partitionForm } from './bigquery-adapter.js';
import type { BigQueryTargetConfig } from './bigquery-config.js';
import { bigQueryHelpersSql, bigQueryTypeOf } from './bigquery-dialect.js';
import { bigQueryLanguageOptions, stopZetaServer, zetaBuild, zetaWithAnswers, ZetaAnalyzer, ZetaCatalog, type Analysis, type TypeProto } from './zetasql.js';
import { ZETA_ANSWERS_FILE, ZetaAnswers } from './zeta-answers.js';

/** A declared column type (any warehouse's spelling) as BigQuery spells it. */
export function bigQueryTypeOfDeclared(t: string): string {
  const fam = typeFamily(t, 'instant');
  const simple: Record<string, string> = { int: 'INT64', float: 'FLOAT64', numeric: 'NUMERIC', string: 'STRING', bool: 'BOOL', date: 'DATE', instant: 'TIMESTAMP', local: 'DATETIME', time: 'TIME', json: 'JSON', bytes: 'BYTES', interval: 'INTERVAL', uuid: 'STRING', inet: 'STRING' };
  if (simple[fam]) return /^numeric|^decimal/i.test(t.trim()) ? t.trim().toUpperCase() : simple[fam];
  const array = /^array\s*<(.*)>$/i.exec(t.trim()) ?? /^(.*)\[\]$/.exec(t.trim());
  if (array) return `ARRAY<${bigQueryTypeOfDeclared(array[1])}>`;
  return t.trim();
}

/** A Postgres type of each kind, as `format_type()` spells it (what bigQueryTypeOf reads). */
const POSTGRES_SPELLING: Record<string, string> = {
  int: 'bigint', float: 'double precision', numeric: 'numeric', string: 'text', bool: 'boolean', date: 'date', instant: 'timestamp with time zone',
  local: 'timestamp without time zone', json: 'jsonb', time: 'time without time zone', bytes: 'bytea', interval: 'interval', uuid: 'uuid', inet: 'inet',
};

/**
 * A declared column type of a source `vigil sync` copies from Postgres, as sync creates the column
 * in BigQuery (bigQueryTypeOf): the declared types are the Postgres table's, so a bare `timestamp`
 * has no time zone (DATETIME), `timestamptz` is a TIMESTAMP, and what sync lands as text (time,
 * interval, bytea, uuid, ...) is a STRING.
 */
export function bigQueryTypeOfSynced(t: string): string {
  const array = /^array\s*<(.*)>$/i.exec(t.trim()) ?? /^(.*)\[\]$/.exec(t.trim());
  if (array) return `ARRAY<${bigQueryTypeOfSynced(array[1])}>`;
  // a numeric keeps its precision and scale: they decide NUMERIC, BIGNUMERIC or STRING
  const numeric = /^(numeric|decimal)\s*(\(.*\))?$/i.exec(t.trim());
  if (numeric) return bigQueryTypeOf(`numeric${(numeric[2] ?? '').replace(/\s+/g, '')}`);
  return bigQueryTypeOf(POSTGRES_SPELLING[typeFamily(t, 'local')] ?? t);
}

/** Column-name prefixes BigQuery reserves, in any case (docs: "Specify a schema" > Column names). */
const RESERVED_COLUMN_PREFIXES = ['_TABLE_', '_FILE_', '_PARTITION', '_ROW_TIMESTAMP', '__ROOT__', '_COLIDENTIFIER', '_CHANGE_SEQUENCE_NUMBER', '_CHANGE_TYPE', '_CHANGE_TIMESTAMP'];

/**
 * Why BigQuery refuses a column name of a table it creates, as its docs state ("Specify a schema":
 * Column names, Flexible column names): a reserved prefix, more than 300 characters, or a
 * character outside letters, marks, numbers, connectors, dashes, & % = + : ' < > # | and
 * whitespace. Undefined when it takes it.
 */
export function bigQueryColumnNameProblem(name: string): string | undefined {
  const prefix = RESERVED_COLUMN_PREFIXES.find((p) => name.toUpperCase().startsWith(p));
  if (prefix) return `BigQuery refuses a column name that starts with ${prefix}, a prefix it reserves (in any case)`;
  const length = [...name].length;
  if (length > 300) return `BigQuery takes column names of at most 300 characters; this one has ${length}`;
  const bad = /[^\p{L}\p{M}\p{N}\p{Pc}\p{Pd}&%=+:'<>#|\s]/u.exec(name);
  if (bad) return `BigQuery refuses '${bad[0]}' in a column name (it takes letters, numbers, _, -, & % = + : ' < > # | and spaces)`;
  return undefined;
}

/** Where `name` is written in `sql` as an output column: its last `AS name`, else its first mention (1-based). */
function columnPosition(sql: string, name: string): { line: number; column: number } | undefined {
  const n = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const word = `(?:\`${n}\`|(?<![\\w\`])${n}(?![\\w\`]))`;
  const aliases = [...sql.matchAll(new RegExp(`\\bas\\s+(${word})`, 'gi'))];
  const at = aliases.length ? aliases[aliases.length - 1].index! + aliases[aliases.length - 1][0].length - aliases[aliases.length - 1][1].length : new RegExp(word, 'i').exec(sql)?.index;
  if (at === undefined) return undefined;
  const before = sql.slice(0, at);
  return { line: before.split('\n').length, column: at - before.lastIndexOf('\n') };
}

/** Column types BigQuery clusters by (not FLOAT64, JSON, BYTES, ARRAY, STRUCT). */
const CLUSTERABLE = /^(INT64|STRING|DATE|DATETIME|TIMESTAMP|BOOL|NUMERIC|BIGNUMERIC|GEOGRAPHY|RANGE<.*>)$/;
const PARTITIONABLE = /^(DATE|DATETIME|TIMESTAMP|INT64)$/;

/** The PARTITION BY forms BigQuery takes (its DDL reference), as the messages name them. */
const PARTITION_FORMS =
  'a DATE column, DATE(<TIMESTAMP or DATETIME column>), TIMESTAMP_TRUNC(<TIMESTAMP column>, DAY|HOUR|MONTH|YEAR), DATETIME_TRUNC(<DATETIME column>, DAY|HOUR|MONTH|YEAR), ' +
  "DATE_TRUNC(<DATE column>, MONTH|YEAR) or RANGE_BUCKET(<INT64 column>, GENERATE_ARRAY(start, end, interval)); or partition_by={'field': ..., 'data_type': ..., 'granularity': ...}";

/** Per function of a PARTITION BY form: the column types and units BigQuery takes. */
const PARTITION_FUNCTIONS: Record<string, { types: string[]; units?: string[] }> = {
  DATE: { types: ['TIMESTAMP', 'DATETIME'] },
  TIMESTAMP_TRUNC: { types: ['TIMESTAMP'], units: ['DAY', 'HOUR', 'MONTH', 'YEAR'] },
  DATETIME_TRUNC: { types: ['DATETIME'], units: ['DAY', 'HOUR', 'MONTH', 'YEAR'] },
  DATE_TRUNC: { types: ['DATE'], units: ['MONTH', 'YEAR'] },
  RANGE_BUCKET: { types: ['INT64'] },
};

/**
 * What BigQuery refuses in the PARTITION BY that `partition_by` gives on a `type` column (its
 * list: a DATE column, DATE(<timestamp or datetime>), TIMESTAMP_TRUNC / DATETIME_TRUNC of their
 * own type, DATE_TRUNC(<date>, MONTH/YEAR), RANGE_BUCKET(<int64>, ...)). As in dbt, a missing
 * data_type is `date`, whose day partitions are the column as it is: a TIMESTAMP or DATETIME
 * column then needs its data_type said (the fix is named rather than guessed). `form`: a text
 * partition_by parsed (partitionForm).
 */
function partitionProblem(p: unknown, field: string, type: string, form?: ReturnType<typeof partitionForm>): string | undefined {
  const lower = type.toLowerCase();
  const fix =
    type === 'INT64'
      ? `partition_by={'field': '${field}', 'data_type': 'int64', 'range': {'start': 0, 'end': 100000, 'interval': 1000}} (RANGE_BUCKET)`
      : `partition_by={'field': '${field}', 'data_type': '${lower}'} (${type}_TRUNC(${field}, DAY); add 'granularity' for hour, month or year), or partition_by='date(${field})'`;
  if (typeof p === 'string') {
    if (form?.fn) {
      const want = PARTITION_FUNCTIONS[form.fn];
      // (a DATE column's days are the column itself)
      const itself = type === 'DATE' && (form.fn === 'DATE' || form.unit === 'DAY') ? `: write partition_by='${field}'` : '';
      if (!want.types.includes(type)) return `partition_by='${p}': BigQuery takes ${form.fn}() of a ${want.types.join(' or ')} column in a PARTITION BY; '${field}' is ${type}${itself}`;
      if (form.unit && want.units && !want.units.includes(form.unit)) return `partition_by='${p}': BigQuery takes ${form.fn}() by ${want.units.join(' or ')} only in a PARTITION BY${itself}`;
      return undefined;
    }
    if (type === 'DATE') return undefined;
    return `partition_by='${field}' partitions by the column as it is, which BigQuery takes of a DATE column only; '${field}' is ${type}: write ${fix}`;
  }
  // (data_type int64 without range, or with a granularity, is refused at compile)
  const o = (p ?? {}) as { data_type?: string; granularity?: string };
  const declared = String(o.data_type ?? '').toUpperCase();
  if (declared && declared !== type) return `partition_by: data_type is ${declared.toLowerCase()} but '${field}' is ${type}`;
  if (!declared && type !== 'DATE') return `partition_by has no data_type, which means date (as in dbt), but '${field}' is ${type}: BigQuery refuses PARTITION BY ${field} on a ${type} column. Write ${fix}`;
  // (as dbt-bigquery documents it: a date column has day, month and year partitions)
  if (type === 'DATE' && String(o.granularity ?? '').toLowerCase() === 'hour') return `partition_by: granularity hour applies to timestamp and datetime columns; '${field}' is DATE, whose partitions are by day, month or year`;
  return undefined;
}

/**
 * A partitioned or clustered table built from a query whose result is ordered (a top-level
 * ORDER BY without LIMIT): BigQuery refuses it ("Result of ORDER BY queries cannot be clustered",
 * "... cannot be partitioned by field"), and no analyzer does. `resolved`: the analyzed query
 * statement. (An ORDER BY inside a subquery, or with a LIMIT, is left alone.)
 */
function orderedTable(req: MaterializeRequest, resolved: { query?: Record<string, unknown> } | undefined): CheckOutcome | undefined {
  const c = req.config ?? {};
  const clustered = c.cluster_by !== undefined && (!Array.isArray(c.cluster_by) || c.cluster_by.length > 0);
  if (req.kind === 'view' || (c.partition_by === undefined && !clustered)) return undefined;
  let scan = resolved?.query as { node?: string; [k: string]: unknown } | undefined;
  // (WITH ... SELECT: the ordered scan is the WITH's query)
  while (scan?.node === 'resolvedWithScanNode') scan = (scan.resolvedWithScanNode as { query?: typeof scan }).query;
  if (scan?.node !== 'resolvedOrderByScanNode') return undefined;
  const laid = [c.partition_by !== undefined ? 'partitioned' : '', clustered ? 'clustered' : ''].filter(Boolean).join(' and ');
  const orders = [...req.sql.matchAll(/\border\s+by\b/gi)];
  const at = orders.length ? orders[orders.length - 1].index! : undefined;
  const before = at === undefined ? '' : req.sql.slice(0, at);
  return {
    ok: false,
    message: `the model's query ends in ORDER BY, and its table is ${laid}: BigQuery refuses to build a ${laid} table from an ordered result ("Result of ORDER BY queries cannot be ${clustered ? 'clustered' : 'partitioned'}"); remove the ORDER BY (a table's rows keep no order)`,
    sql: req.sql,
    ...(at === undefined ? {} : { position: { line: before.split('\n').length, column: at - before.lastIndexOf('\n') } }),
  };
}

export class BigQueryChecker implements Checker {
  readonly engine = "Google's SQL analyzer (ZetaSQL)";
  readonly concurrency = 4;
  /** Builds the statements the adapter would send (its pure builders; no client is used). */
  private readonly builder: BigQueryAdapter;

  private constructor(
    private readonly analyzer: ZetaAnalyzer,
    private readonly cfg: BigQueryTargetConfig,
    private readonly answers?: ZetaAnswers,
  ) {
    this.builder = new BigQueryAdapter(undefined as never, cfg, 1);
  }

  /** `partial`: the check is of a selection (-s, --exclude), which ages no kept answer; `targetPath`: the project's paths.target. */
  static async open(cfg: BigQueryTargetConfig, root: string, partial = false, targetPath?: string): Promise<BigQueryChecker> {
    // the analyzer's answers to the same questions are kept in <paths.target>/.cache: a check
    // after an edit asks only what changed, and one of an unchanged project starts no analyzer
    const answers = ZetaAnswers.open(root, zetaBuild(root), { partial, targetPath });
    const srv = zetaWithAnswers(root, answers);
    const lo = await bigQueryLanguageOptions(srv);
    const analyzer = new ZetaAnalyzer(srv, new ZetaCatalog(srv.z, lo, cfg.project), lo);
    const c = new BigQueryChecker(analyzer, cfg, answers);
    analyzer.catalog.addInformationSchema([`region-${(cfg.location ?? 'US').toLowerCase()}`]);
    // the UDF rolling_median() calls, as the adapter creates it
    const create = bigQueryHelpersSql(cfg.project).split(';\n').find((s) => /CREATE OR REPLACE FUNCTION/.test(s))!;
    const r = await analyzer.addFunction(create);
    if (!r.ok) throw new Error(`internal: vigil's median UDF does not analyze: ${r.message}`);
    return c;
  }

  private parts(rel: Relation): string[] {
    return [rel.database ?? this.cfg.project, rel.schema, rel.identifier];
  }


  async declare(rel: Relation, columns: CheckColumn[], table: DeclaredTable = {}): Promise<Array<{ column: string; message: string }>> {
    const problems: Array<{ column: string; message: string }> = [];
    const cols: Array<{ name: string; type: TypeProto; isPseudoColumn?: boolean }> = [];
    for (const c of columns) {
      const bq = table.synced ? bigQueryTypeOfSynced(c.type) : bigQueryTypeOfDeclared(c.type);
      const t = await this.analyzer.typeFromSql(bq);
      if (t.type) cols.push({ name: c.name, type: t.type });
      else problems.push({ column: c.name, message: `'${c.type}' is not a BigQuery type${bq !== c.type ? ` (read as ${bq})` : ''}: ${t.message}` });
    }
    // BigQuery's pseudo-columns (not in SELECT *): a wildcard table's suffix, an ingestion-time partition's time
    const T = this.analyzer.T;
    if (rel.identifier.endsWith('*')) cols.push({ name: '_TABLE_SUFFIX', type: T.STRING, isPseudoColumn: true });
    if (table.timeIngestionPartitioning) cols.push({ name: '_PARTITIONTIME', type: T.TIMESTAMP, isPseudoColumn: true }, { name: '_PARTITIONDATE', type: T.DATE, isPseudoColumn: true });
    // a table Vigil creates (a seed): BigQuery must take its column names
    if (table.created) {
      for (const c of columns) {
        const problem = bigQueryColumnNameProblem(c.name);
        if (problem) problems.push({ column: c.name, message: problem });
      }
    }
    if (!problems.length) this.table(rel, cols);
    return problems;
  }

  private readonly datasets = new Set<string>();

  private table(rel: Relation, cols: Array<{ name: string; type: TypeProto; isPseudoColumn?: boolean }>): void {
    const parts = this.parts(rel);
    this.analyzer.catalog.addTable(parts, cols);
    // data tests read a dataset's INFORMATION_SCHEMA (e.g. which columns exist)
    const ds = parts.slice(0, 2).join('.');
    if (!this.datasets.has(ds)) {
      this.datasets.add(ds);
      this.analyzer.catalog.addInformationSchema(parts.slice(0, 2));
    }
  }

  private outcome(a: Analysis, sql: string): CheckOutcome {
    if (a.ok) return { ok: true, columns: (a.columns ?? []).map((c) => ({ name: c.name, type: c.sql })) };
    // (an answer of the analyzer may be a kept one: what is added to it is added here, every time)
    const hint = /^Unrecognized name: _PARTITION(TIME|DATE)\b/i.test(a.message)
      ? ' (BigQuery has _PARTITIONTIME and _PARTITIONDATE on tables partitioned by ingestion time only: say so of a source table with time_ingestion_partitioning: true)'
      : '';
    return { ok: false, message: a.message + hint, sql, position: a.line === undefined ? undefined : { line: a.line, column: a.column } };
  }

  async query(sql: string, opts: { partial?: boolean } = {}): Promise<CheckOutcome> {
    return this.outcome(await this.analyzer.analyze(sql, { reads: !opts.partial }), sql);
  }

  async statement(sql: string): Promise<CheckOutcome> {
    const r = await this.analyzer.analyze(sql);
    return r.ok ? { ok: true, columns: [] } : this.outcome(r, sql);
  }

  async model(req: MaterializeRequest): Promise<CheckOutcome> {
    // a view reading a require_partition_filter table unfiltered is fine to create: the filter is
    // due where it is read, on the column the view selects it as (passesOn); a view that does not
    // select it can be read by no query, an error here
    const select = await this.analyzer.analyze(req.sql, { reads: req.kind === 'view' ? 'view' : true });
    if (!select.ok) return this.outcome(select, req.sql);
    const columns = select.columns ?? [];
    const selected = columns.map((c) => ({ name: c.name, type: c.sql }));
    const rule = this.tableRules(req, columns) ?? orderedTable(req, select.resolved);
    if (rule) return { ...rule, columns: selected } as CheckOutcome;
    // the statements `vigil build` sends for it, in the order it sends them. ZetaSQL knows
    // ALTER COLUMN SET OPTIONS on tables only; BigQuery has it on views too (column descriptions):
    // it is checked as the same statement on a table.
    let build: string;
    let update: string | undefined;
    try {
      build = this.builder.buildScript({ ...req, fullRefresh: true });
      // (none under full_refresh: true, which rebuilds on every run: its is_incremental() branch is never sent)
      if (req.kind === 'incremental' && !req.fullRefresh) update = this.builder.incrementalStatement(req, columns.map((x) => x.name), [], Object.fromEntries(columns.map((x) => [x.name.toLowerCase(), x.sql])));
    } catch (e) {
      // a config the builders refuse (insert_overwrite without partition_by, ...)
      return { ok: false, message: (e as Error).message, sql: '', rule: 'config', columns: selected };
    }
    const r = await this.analyzer.script(build.replace(/^ALTER VIEW (.*) ALTER COLUMN /gm, 'ALTER TABLE $1 ALTER COLUMN '), [], { reads: req.kind !== 'view' });
    if (!r.ok) return { ...this.outcome(r, build), columns: selected } as CheckOutcome;
    this.table(req.relation, columns.map((c) => ({ name: c.name, type: c.type })));
    const c = req.config ?? {};
    const field = partitionField(c.partition_by);
    const name = this.parts(req.relation).join('.').toLowerCase();
    if (req.kind === 'view') this.analyzer.views.add(name);
    else this.analyzer.views.delete(name);
    if (c.require_partition_filter === true && field) this.analyzer.requirePartitionFilter.set(name, { need: [[field]] });
    else if (select.ok && select.passesOn?.need.length) this.analyzer.requirePartitionFilter.set(name, select.passesOn);
    if (update !== undefined) {
      const inc = req.incrementalSql ? await this.analyzer.analyze(req.incrementalSql) : undefined;
      if (inc && !inc.ok) return this.outcome(inc, req.incrementalSql!);
      const u = await this.analyzer.script(update);
      if (!u.ok) return { ...this.outcome(u, update), columns: selected } as CheckOutcome;
    }
    return this.outcome(select, req.sql);
  }

  /** What BigQuery refuses in a table's config and no analyzer checks. */
  private tableRules(req: MaterializeRequest, columns: Array<{ name: string; sql: string }>): CheckOutcome | undefined {
    if (req.kind === 'view') return undefined;
    // (BigQuery documents these for a table's schema, not for a view's columns)
    for (const col of columns) {
      const problem = bigQueryColumnNameProblem(col.name);
      if (problem) return { ok: false, message: `column '${col.name.length > 60 ? `${col.name.slice(0, 60)}...` : col.name}': ${problem}`, sql: req.sql, position: columnPosition(req.sql, col.name) };
    }
    const c = req.config ?? {};
    const typeOf = (n: string) => columns.find((x) => x.name.toLowerCase() === n.toLowerCase())?.sql;
    const fail = (message: string, rule: string): CheckOutcome => ({ ok: false, message, sql: '', rule });
    const nearest = (name: string) => {
      const hint = didYouMean(name, columns.map((x) => x.name));
      return hint ? ` — did you mean '${hint}'?` : '';
    };
    // an expression as text: one of the forms BigQuery takes, whose column is the one it names
    const form = typeof c.partition_by === 'string' ? partitionForm(c.partition_by) : undefined;
    if (typeof c.partition_by === 'string' && !form) return fail(`partition_by='${c.partition_by}' is not a PARTITION BY BigQuery takes. It takes ${PARTITION_FORMS}`, 'partition_by');
    const field = form?.field ?? partitionField(c.partition_by);
    if (field) {
      const t = typeOf(field);
      if (!t) return fail(`partition_by: column '${field}' is not in the model's output${nearest(field)} (it has ${columns.map((x) => x.name).join(', ')})`, 'partition_by');
      if (!PARTITIONABLE.test(t)) return fail(`partition_by: BigQuery partitions by a DATE, TIMESTAMP, DATETIME or INT64 column; '${field}' is ${t}`, 'partition_by');
      const problem = partitionProblem(c.partition_by, field, t, form);
      if (problem) return fail(problem, 'partition_by');
    } else if (c.require_partition_filter === true) return fail('require_partition_filter needs partition_by', 'require_partition_filter');
    // (as a cluster_by column: a unique_key the table lacks was the analyzer's "Name dayy not found inside T", no did-you-mean)
    if (req.kind === 'incremental' && req.strategy !== 'insert_overwrite') {
      for (const key of req.uniqueKey ?? []) {
        if (!typeOf(key)) return fail(`unique_key: column '${key}' is not in the model's output${nearest(key)} (it has ${columns.map((x) => x.name).join(', ')})`, 'unique_key');
      }
    }
    const cluster = c.cluster_by === undefined ? [] : Array.isArray(c.cluster_by) ? c.cluster_by.map(String) : [String(c.cluster_by)];
    if (cluster.length > 4) return fail(`cluster_by: BigQuery clusters by at most four columns, got ${cluster.length} (${cluster.join(', ')})`, 'cluster_by');
    for (const col of cluster) {
      const t = typeOf(col);
      if (!t) return fail(`cluster_by: column '${col}' is not in the model's output${nearest(col)} (it has ${columns.map((x) => x.name).join(', ')})`, 'cluster_by');
      if (!CLUSTERABLE.test(t)) return fail(`cluster_by: BigQuery cannot cluster by '${col}', a ${t} column (INT64, STRING, DATE, DATETIME, TIMESTAMP, BOOL, NUMERIC, BIGNUMERIC, GEOGRAPHY only)`, 'cluster_by');
    }
    return undefined;
  }

  sameType(declared: string, inferred: string): boolean {
    return typeFamily(bigQueryTypeOfDeclared(declared), 'instant') === typeFamily(inferred, 'instant');
  }

  reused(): string | undefined {
    const a = this.answers;
    if (!a) return undefined;
    return `Analyzer answers: ${a.hits} reused, ${a.misses} new (${a.where ?? ZETA_ANSWERS_FILE}; delete it to ask everything again)${a.misses === 0 ? '; the analyzer was not started' : ''}`;
  }

  async close(): Promise<void> {
    await this.analyzer.release();
    this.answers?.save();
    await stopZetaServer();
  }
}
