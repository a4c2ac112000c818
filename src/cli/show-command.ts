/**
 * `vigil show`: look at data without a warehouse client. Compiles the project, runs one node's
 * SQL (a model's compiled SELECT, a test's failing-rows query, a source's table) or an inline
 * templated query against the target with a limit, and prints the rows as an aligned table, JSON
 * or CSV. Like `dbt show`, a model is previewed from its compiled SQL, not from its built table,
 * so it shows what the model would hold now, built or not.
 */
import { formatDiagnostic, hasErrors, ProjectError, UsageError, WarehouseError } from '../errors.js';
import { loadProject } from '../project/load-project.js';
import { compileProject } from '../compile/compile-project.js';
import { unquotedColumnHint } from '../compile/generic-tests.js';
import { loadCache, saveCache, writeCompiledSql } from '../project/artifacts.js';
import { queryReads, type ManifestNode } from '../compile/manifest.js';
import type { Relation } from '../adapters/dialect.js';
import { compiledPosition, ExactNumber, exactJson, jsonValue, valueText, type Preview } from '../adapters/adapter.js';
import { redact } from '../secrets.js';
import { err, out, parseVars, select, open, type Common } from './commands.js';
import { maxOf } from '../extremes.js';

export type ShowFormat = 'table' | 'json' | 'csv';

export interface ShowOptions extends Common {
  inline?: string;
  limit?: string;
  output?: ShowFormat;
}

/** Table cells longer than this are cut (`--output json` or `csv` gives them whole). */
export const MAX_CELL = 60;

/** At most this many rows are printed: a preview, held in memory (a bigger number reached the warehouse as an out-of-range LIMIT). */
const MAX_LIMIT = 1_000_000;

/** --limit: a whole number of rows, at least 1, at most MAX_LIMIT. */
export function parseLimit(v: string | undefined): number {
  if (v === undefined) return 5;
  if (!/^\d+$/.test(v.trim()) || Number(v) < 1) throw new UsageError(`--limit must be a whole number of rows, at least 1 (got '${v}')`);
  if (Number(v) > MAX_LIMIT) throw new UsageError(`--limit ${v.trim()}: vigil show prints at most ${MAX_LIMIT.toLocaleString('en-US')} rows (a preview); export more with the warehouse's own tools`);
  return Number(v);
}

function describeNode(n: ManifestNode): string {
  return n.resource_type === 'source' ? `source ${n.source_name}.${n.name}` : `${n.resource_type} ${n.name}`;
}

export async function runShow(o: ShowOptions): Promise<void> {
  const limit = parseLimit(o.limit);
  const hasSelect = !!o.select?.length;
  if (hasSelect === (o.inline !== undefined)) throw new UsageError(hasSelect ? 'give -s or --inline, not both' : "what should it show? -s <model> (a model, test or source), or --inline \"select ... from {{ ref('model') }}\"");
  if (o.inline !== undefined && !o.inline.trim()) throw new UsageError('--inline is empty: give a query, e.g. --inline "select * from {{ ref(\'model\') }}"');

  const files = loadProject(o.projectDir, { keepYaml: true });
  const cache = loadCache(files);
  const result = compileProject(files, {
    target: o.target,
    env: process.env,
    vars: parseVars(o.vars),
    cache: cache.renders,
    queries: o.inline !== undefined ? [{ key: 'inline', file: '--inline', text: o.inline, line: 1, column: 1 }] : undefined,
  });
  for (const d of result.diagnostics.filter((x) => x.severity === 'warn')) err(formatDiagnostic(d));
  if (hasErrors(result.diagnostics) || !result.target) throw new ProjectError(result.diagnostics.filter((x) => x.severity === 'error'));
  saveCache(files, cache);
  const m = result.manifest;

  let what: string;
  let sql = '';
  let source: Relation | undefined;
  let reads: string[] = [];
  /** a seed shown: named when it was never loaded */
  let n0: string | undefined;
  /** a model or test shown: its files, which a warehouse error names as build's do */
  let node: { file: string; compiled_path: string; /** a test's column written unquoted (TestNode.column_unquoted) */ unquoted?: string } | undefined;
  if (o.inline !== undefined) {
    what = 'the inline query';
    sql = result.queries.inline.sql;
    reads = result.queries.inline.depends_on;
  } else {
    const { ids } = select(m, o);
    const all: ManifestNode[] = [...Object.values(m.nodes), ...Object.values(m.sources)];
    const rank = { model: 0, seed: 1, source: 2, test: 3 } as Record<string, number>;
    const nodes = all.filter((n) => ids.has(n.unique_id) && n.resource_type !== 'unit_test').sort((a, b) => (rank[a.resource_type] ?? 3) - (rank[b.resource_type] ?? 3) || a.name.localeCompare(b.name));
    if (nodes.length !== 1) {
      const names = nodes.slice(0, 8).map(describeNode).join(', ');
      throw new UsageError(nodes.length ? `show looks at one node; the selection has ${nodes.length}: ${names}${nodes.length > 8 ? ', ...' : ''}` : 'the selection has no model, test or source to show (show cannot run a unit test or a dashboard)');
    }
    const n = nodes[0];
    what = describeNode(n);
    if (n.resource_type === 'seed') n0 = n.name;
    if (n.resource_type === 'source' || n.resource_type === 'seed') source = n.relation;
    else if (n.resource_type === 'model' || n.resource_type === 'test') {
      sql = n.compiled_sql;
      // (what its SQL reads: show runs no hook, so what only they read is not why it failed)
      reads = n.resource_type === 'model' ? queryReads(n) : n.depends_on;
      node = { file: `${n.file}${n.resource_type === 'test' && n.line ? `:${n.line}` : ''}`, compiled_path: n.compiled_path, ...(n.resource_type === 'test' && n.column_unquoted && n.column !== undefined ? { unquoted: n.column } : {}) };
      // as dbt show compiles it: the SQL run is in its file under target/compiled
      if (writeCompiledSql(files, cache, n.compiled_path, n.compiled_sql)) saveCache(files, cache);
    }
    else throw new UsageError(`show cannot run ${describeNode(n)}`);
  }

  // only read: nothing is created (a DuckDB file not built yet stays so) and a statement smuggled
  // into the query cannot write (DuckDB read-only; Postgres: one statement in a read-only
  // transaction; BigQuery: a dry run first, anything but one SELECT refused — adapter.preview)
  const adapter = await open({ files, target: result.target }, 1, { readOnly: true });
  let rows: Array<Record<string, unknown>>;
  let columns: Preview['columns'] | undefined;
  const t0 = performance.now();
  try {
    if (source) sql = `select * from ${adapter.dialect.relation(source)}`;
    // one row more than asked, to say whether there are more; the SQL starts on line 1, so a
    // warehouse error's LINE n is the compiled SQL's line n
    const shown = `select * from (${sql}\n) as vigil_show limit ${limit + 1}`;
    // (values as the warehouse spells them: a DECIMAL's digits, a TIME, timestamps to the µs)
    const read = adapter.preview ? adapter.preview(shown).then((p) => ((columns = p.columns), p.rows)) : adapter.query(shown);
    rows = await read.catch(async (e: unknown) => {
      // a model's or test's error names its file and the compiled SQL's line, as build's do
      const pos = node && e instanceof WarehouseError ? compiledPosition(e.sql, e.position, sql) : undefined;
      const where = node ? `${node.file} (compiled SQL: ${node.compiled_path}${pos ? `:${pos.line}${pos.column ? `:${pos.column}` : ''}` : ''})\n  ` : '';
      // the usual reason: what it reads was never built in this target
      const unbuilt: string[] = [];
      // (through ephemeral models: inlined, they read what they ref)
      const walk = [...reads];
      for (const seen = new Set<string>(); walk.length; ) {
        const id = walk.shift()!;
        const n = m.nodes[id];
        if (seen.has(id) || !n) continue;
        seen.add(id);
        if (n.resource_type === 'model' && n.config?.materialized === 'ephemeral') walk.push(...n.depends_on);
        else if ((n.resource_type === 'model' || n.resource_type === 'seed') && n.relation && !(await adapter.relationExists(n.relation).catch(() => 'table'))) unbuilt.push(n.name);
      }
      if (source && !reads.length && n0 && !(await adapter.relationExists(source).catch(() => 'table'))) unbuilt.push(n0);
      if (!(e instanceof Error)) throw e;
      // (a test's column written unquoted, as dbt writes it, that the warehouse did not read as its name: as build says)
      const said = node?.unquoted !== undefined && e instanceof Error ? unquotedColumnHint(node.unquoted, adapter.dialect, e.message) : undefined;
      const hint = said ? `\n  ${said}` : '';
      if (!unbuilt.length) throw e instanceof WarehouseError && where ? new WarehouseError(`${where}${e.message.split('\n').filter((l, i) => i === 0 || l.trim()).join('\n  ')}${hint}`, e.sql, { cause: e, position: e.position }) : e;
      throw new WarehouseError(`${where}${e.message.split('\n')[0]}\n  hint: ${unbuilt.map((x) => `'${x}'`).join(', ')} ${unbuilt.length === 1 ? 'is' : 'are'} not built in target ${result.target!.name}: vigil build -s ${unbuilt.join(' ')} (show runs the SQL, which reads the tables of what it refs)`, sql, { cause: e });
    });
  } finally {
    await adapter.close();
  }
  const more = rows.length > limit;
  if (more) rows = rows.slice(0, limit);
  const secs = ((performance.now() - t0) / 1000).toFixed(2);
  err(`Previewing ${what} on ${result.target.name} (${result.target.type}): ${rows.length} row${rows.length === 1 ? '' : 's'}${more ? ` (the first ${limit}; --limit N for more)` : ''} in ${secs}s`);
  const format = o.output ?? 'table';
  if (format === 'json') out(toJson(rows));
  else if (format === 'csv') out(toCsv(rows, columns));
  else out(toTable(rows, columns));
}

/**
 * Rows as JSON, numbers exact: a DECIMAL's digits or an integer past 2^53 are written as the
 * number they are (JSON numbers have no precision limit; JSON.stringify's would round them).
 */
export function toJson(rows: Array<Record<string, unknown>>): string {
  return exactJson(rows.map(jsonRow), 2);
}

function jsonRow(r: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, jsonValue(v)]));
}

/** A value as text: NULL for SQL null, ISO for dates, base64 for bytes, JSON for lists and structs (numbers in them as in --output json). */
export function textValue(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v instanceof ExactNumber) return String(v);
  return valueText(v);
}

function columnsOf(rows: Array<Record<string, unknown>>, columns?: Preview['columns']): string[] {
  return columns ? columns.map((c) => c.name) : rows.length ? Object.keys(rows[0]) : [];
}

/** The column names as printed (redacted as the cells are). */
const heads = (cols: string[]) => cols.map((c) => redact(c));

const isMidnight = (v: unknown) => v instanceof Date && v.getTime() % 86_400_000 === 0;

/**
 * Columns to print as dates (YYYY-MM-DD): the drivers hand DATE values over as midnight UTC,
 * so a column whose values are all at midnight is shown as a date (a timestamp column that
 * happens to hold only midnights is shown the same way in table and CSV; JSON keeps full ISO).
 */
function dateColumns(rows: Array<Record<string, unknown>>, cols: string[]): Set<string> {
  return new Set(cols.filter((c) => rows.some((r) => r[c] instanceof Date) && rows.every((r) => r[c] === null || r[c] === undefined || isMidnight(r[c]))));
}

/**
 * The cells as text, a secret's value in them redacted as all output is (docs/models.md
 * "Secrets"): before a long cell is cut, which would leave a part of it no redaction knows.
 */
function texts(rows: Array<Record<string, unknown>>, cols: string[]): Array<Array<string | null>> {
  const dates = dateColumns(rows, cols);
  return rows.map((r) => cols.map((c) => {
    const t = dates.has(c) && r[c] instanceof Date ? (r[c] as Date).toISOString().slice(0, 10) : textValue(r[c]);
    return t === null ? t : redact(t);
  }));
}

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; NULL is an empty field, an empty string `""`. */
export function toCsv(rows: Array<Record<string, unknown>>, columns?: Preview['columns']): string {
  const cols = columnsOf(rows, columns);
  const field = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  // (an empty string is "", told from NULL's empty field, as PostgreSQL's COPY ... CSV writes them)
  return [heads(cols).map(field).join(','), ...texts(rows, cols).map((r) => r.map((v) => (v === '' ? '""' : field(v ?? ''))).join(','))].join('\n');
}

/**
 * An aligned table: numbers right-aligned, NULL shown as NULL, line breaks as ⏎ and the other
 * control characters as their Unicode symbol (a tab ␉: printed raw, they broke the alignment),
 * `|` as `\|`, long cells cut at MAX_CELL with an ellipsis.
 */
export function toTable(rows: Array<Record<string, unknown>>, columns?: Preview['columns']): string {
  const cols = columnsOf(rows, columns);
  if (!cols.length) return '(no rows)';
  const visible = (t: string) => t.replace(/\r?\n/g, '⏎').replace(/[\u0000-\u001f\u007f]/g, (c) => String.fromCharCode(c === '\u007f' ? 0x2421 : 0x2400 + c.charCodeAt(0)));
  // a `|` in a cell or name would start a column: escaped as Markdown tables escape it (after the cut, which leaves the escape whole)
  const pipes = (t: string) => t.replace(/\|/g, '\\|');
  const cell = (v: string | null) => {
    const t = visible(v ?? 'NULL');
    return pipes(t.length > MAX_CELL ? t.slice(0, MAX_CELL - 1) + '…' : t);
  };
  const numeric = cols.map((c, i) => columns?.[i].numeric ?? rows.every((r) => r[c] === null || r[c] === undefined || typeof r[c] === 'number' || typeof r[c] === 'bigint'));
  const body = texts(rows, cols).map((r) => r.map(cell));
  const head = heads(cols).map((c) => pipes(visible(c)));
  const width = head.map((c, i) => Math.max(c.length, maxOf(body.map((b) => b[i].length), 0)));
  const line = (cells: string[], align = true) => `| ${cells.map((s, i) => (align && numeric[i] ? s.padStart(width[i]) : s.padEnd(width[i]))).join(' | ')} |`;
  return [line(head, false), `| ${width.map((w) => '-'.repeat(w)).join(' | ')} |`, ...body.map((b) => line(b))].join('\n');
}
