/**
 * `vigil check`: type-check everything compiled for a target before anything is built or billed.
 * Sources are declared from their YAML columns (every column needs a data_type), models are
 * checked in DAG order with the statements the adapter would send (each model's output columns
 * become what its dependents see), declared column types are compared with the inferred ones
 * (contracts), then data tests, alert queries and dashboard tiles. Every problem is reported at
 * the file a person edits: the model's .sql line, the YAML line of a column or test, the alert's
 * query block, the dashboard's tile. One problem per root cause: whatever reads a model that
 * failed is not checked, and is counted as skipped.
 *
 * The warehouse does the analysis (`Warehouse.checker`): ZetaSQL for BigQuery, an in-memory
 * DuckDB for DuckDB, a rolled-back transaction for Postgres. This module knows none of them.
 */
import { modelsAndSnapshotsInOrder } from '../compile/graph.js';
import { selectionParents } from '../compile/selector.js';
import { policyOf } from '../compile/masking.js';
import { SYNC_STATE_COLUMNS } from '../alerts/sync-state.js';
import { join } from 'node:path';
import { compiledPosition } from '../adapters/adapter.js';
import { dialectOf } from '../adapters/index.js';
import { loadColumnType } from '../adapters/dialect.js';
import { parseSeed, readSeedFile } from '../seeds/seed-csv.js';
import { seedDiagnostics } from '../seeds/load-seeds.js';
import { firstVersionsSql, snapshotCheckStatements, spelledAsQuery } from '../run/snapshot.js';
import type { Checker, CheckOutcome } from '../adapters/warehouse.js';
import type { CompileResult } from '../compile/compile-project.js';
import { queryReads, type ModelNode, type SourceNode, type TestNode } from '../compile/manifest.js';
import { templatePosition } from '../compile/source-lines.js';
import { diag, type Diagnostic } from '../errors.js';
import type { ProjectFiles } from '../project/load-project.js';
import { mapLimit } from '../run/concurrency.js';
import { materializeRequest } from '../run/executor.js';
import { counted } from '../format.js';

/** An alert's compiled query and where its template sits in the alert's YAML. */
export interface CheckedQuery {
  name: string;
  file: string;
  sql: string;
  text: string;
  at: { line: number; column: number; indent?: number };
}

export interface CheckInput {
  files: ProjectFiles;
  result: CompileResult;
  checker: Checker;
  /** Unique ids to check (models, tests, sources); undefined: everything. Upstream models are always analyzed. */
  select?: Set<string>;
  alerts?: CheckedQuery[];
  progress?: (line: string) => void;
}

export interface CheckReport {
  diagnostics: Diagnostic[];
  counts: { models: number; tests: number; alerts: number; tiles: number; statements: number; skipped: number };
}

type Loc = { file: string; line?: number; column?: number };

/** YAML positions of the columns of models and source tables, by `model.column` / `source.table.column`. */
function columnLocations(files: ProjectFiles): Map<string, Loc> {
  const out = new Map<string, Loc>();
  for (const pf of files.properties) {
    (pf.data.models ?? []).forEach((m, mi) =>
      (m.columns ?? []).forEach((c, ci) => {
        const base = ['models', mi, 'columns', ci];
        out.set(`model:${m.name}.${c.name}`, { file: pf.path, ...pf.yaml.locate(c.data_type === undefined ? base : [...base, 'data_type']) });
      }),
    );
    (pf.data.sources ?? []).forEach((s, si) =>
      s.tables.forEach((t, ti) =>
        (t.columns ?? []).forEach((c, ci) => {
          const base = ['sources', si, 'tables', ti, 'columns', ci];
          out.set(`source:${s.name}.${t.name}.${c.name}`, { file: pf.path, ...(c.data_type === undefined ? pf.yaml.locate(base) : pf.yaml.locate([...base, 'data_type'])) });
        }),
      ),
    );
  }
  return out;
}

export async function checkProject(input: CheckInput): Promise<CheckReport> {
  const { files, result, checker } = input;
  const m = result.manifest;
  const ds: Diagnostic[] = [];
  const counts = { models: 0, tests: 0, alerts: 0, tiles: 0, statements: 0, skipped: 0 };
  const failed = new Set<string>();
  const cols = columnLocations(files);
  const texts = new Map([...files.models, ...files.singularTests].map((f) => [f.path, f]));
  const wanted = (id: string) => !input.select || input.select.has(id);

  // what the selection needs: itself and everything upstream
  const needed = new Set<string>();
  const visit = (id: string) => {
    if (needed.has(id)) return;
    needed.add(id);
    for (const p of m.nodes[id]?.depends_on ?? []) visit(p);
  };
  const selected = (id: string) => !input.select || input.select.has(id);
  // as `vigil build -s` runs them: a test runs when it, or anything it tests, is selected
  const testWanted = (t: TestNode) => selected(t.unique_id) || selectionParents(t).some(selected);
  for (const id of [...Object.keys(m.nodes), ...Object.keys(m.sources)]) {
    const n = m.nodes[id];
    if (n?.resource_type === 'test' ? testWanted(n) : wanted(id)) visit(id);
  }
  // alert queries and dashboard tiles that read something selected
  const alerts = (input.alerts ?? []).filter((a) => !input.select || (result.queries[a.name]?.depends_on ?? []).some(selected));
  for (const a of alerts) for (const d of result.queries[a.name]?.depends_on ?? []) visit(d);
  const modelId = (name: string) => `model.${files.project.name}.${name}`;
  const tiles = result.dashboards.flatMap((d) => d.tabs.flatMap((tab) => tab.tiles.filter((t) => selected(modelId(t.model))).map((tile) => ({ d, tile }))));
  for (const { tile } of tiles) visit(modelId(tile.model));
  if (!input.select) for (const id of Object.keys(m.sources)) needed.add(id);

  // ---- sources, from their declared columns
  for (const s of Object.values(m.sources) as SourceNode[]) {
    if (!needed.has(s.unique_id)) continue;
    const where = { file: s.file, line: s.line };
    if (!s.columns.length) {
      ds.push(diag('E_CHECK', `source ${s.source_name}.${s.name} declares no columns; vigil check builds its catalog from them`, where, 'list its columns with their data_type under the table in YAML'));
      failed.add(s.unique_id);
      continue;
    }
    const untyped = s.columns.filter((c) => !c.data_type);
    for (const c of untyped) ds.push(diag('E_CHECK', `source ${s.source_name}.${s.name}: column '${c.name}' has no data_type`, cols.get(`source:${s.source_name}.${s.name}.${c.name}`) ?? where, 'vigil check types every source column: add data_type (e.g. data_type: timestamptz)'));
    if (untyped.length) {
      failed.add(s.unique_id);
      continue;
    }
    const problems = await checker.declare(
      s.relation,
      s.columns.map((c) => ({ name: c.name, type: c.data_type! })),
      { synced: !!s.sync, timeIngestionPartitioning: s.time_ingestion_partitioning },
    );
    for (const p of problems) ds.push(diag('E_CHECK', `source ${s.source_name}.${s.name}: ${p.column ? `column '${p.column}': ` : ''}${p.message}`, cols.get(`source:${s.source_name}.${s.name}.${p.column}`) ?? where));
    if (problems.length) failed.add(s.unique_id);
  }

  // ---- seeds, from their CSV's column types (as `vigil seed` would load them)
  for (const n of Object.values(m.nodes)) {
    if (n.resource_type !== 'seed' || !needed.has(n.unique_id)) continue;
    const raw = readSeedFile(join(files.root, n.file));
    const parsed = parseSeed(raw, n.config);
    if (Array.isArray(parsed)) {
      ds.push(...seedDiagnostics(n, parsed));
      failed.add(n.unique_id);
      continue;
    }
    const dialect = dialectOf(result.target?.type);
    const problems = await checker.declare(n.relation, parsed.columns.map((c) => ({ name: c.name, type: loadColumnType(dialect, c) })), { created: true });
    // (a column is named in the CSV's header line)
    const header = raw.toString('utf8').split('\n')[0].toLowerCase();
    const at = (c: string) => (c && header.includes(c.toLowerCase()) ? header.indexOf(c.toLowerCase()) + 1 : undefined);
    for (const p of problems) ds.push(diag('E_CHECK', `seed '${n.name}': ${p.column ? `column '${p.column}': ` : ''}${p.message}`, { file: n.file, line: 1, column: at(p.column) }));
    if (problems.length) failed.add(n.unique_id);
  }

  const blockedBy = (deps: string[]) => deps.find((d) => failed.has(d));

  // ---- models and snapshots, in DAG order (result.order holds models only: a snapshot reading a
  // model comes after it, a model reading a snapshot after that)
  for (const id of modelsAndSnapshotsInOrder(m.nodes)) {
    const n = m.nodes[id];
    if (!needed.has(id)) continue;
    if (n.resource_type === 'snapshot') {
      // its first-run SELECT declares its columns
      if (blockedBy(n.depends_on)) {
        failed.add(id);
        continue;
      }
      // (the query's column types decide how its keys are compared: a failing query is reported below)
      const dialect = dialectOf(result.target?.type);
      const query = await checker.query(n.compiled_sql);
      const queryCols = query.ok ? query.columns.map((c) => ({ name: c.name, data_type: c.type })) : [];
      // its configured columns as the query spells them, as `vigil snapshot` sends them (unique_key='ID' over a column id)
      const spelled = spelledAsQuery(n, queryCols.map((c) => c.name));
      const out = await checker.model({ kind: 'table', relation: n.relation, sql: firstVersionsSql(dialect, spelled, queryCols), fullRefresh: true });
      counts.statements++;
      if (!out.ok) {
        ds.push(diag('E_CHECK', `snapshot '${n.name}': ${out.message}`, { file: n.file, line: n.line }));
        failed.add(id);
        continue;
      }
      // then what every later run sends against the table the first made: the key checks, the
      // new versions' insert, the closing updates (a check column of a type the warehouse
      // compares no values of fails there, on the second run)
      const validTo = out.columns.find((c) => c.name.toLowerCase() === 'dbt_valid_to')?.type;
      for (const { what, sql } of snapshotCheckStatements(dialect, spelled, queryCols, validTo)) {
        counts.statements++;
        const r = await checker.statement(sql);
        if (!r.ok) {
          ds.push(diag('E_CHECK', `snapshot '${n.name}': ${r.message}`, { file: n.file, line: n.line }, `in ${what}, which every run after the first sends (vigil snapshot)`));
          failed.add(id);
          break;
        }
      }
      continue;
    }
    if (n.resource_type !== 'model') continue;
    // (by what its SQL reads: a hook's ref() orders the build, and vigil check sends no hook)
    if (blockedBy(queryReads(n))) {
      failed.add(id);
      counts.skipped++;
      continue;
    }
    counts.models++;
    // an ephemeral model is never sent alone: it is inlined where it is used
    const out = n.relation ? await checker.model(materializeRequest(n, false)) : await checker.query(n.compiled_sql, { partial: true });
    counts.statements += n.relation ? (n.config.materialized === 'incremental' ? 3 : 2) : 1;
    // contracts: the declared types against what the model produces (its SELECT's columns)
    const produced = out.ok ? out.columns : out.columns;
    const contract: Diagnostic[] = [];
    for (const c of produced ? n.columns : []) {
      // a masked column (docs/governance.md#masking): dropped, it is not published; masked, hashed
      // or redacted, it is published as text, and its declared type is the unmasked value's
      const policy = policyOf(c);
      if (policy === 'drop') continue;
      const got = produced!.find((x) => x.name.toLowerCase() === c.name.toLowerCase());
      const at = cols.get(`model:${n.name}.${c.name}`) ?? { file: n.properties_file ?? n.file };
      if (!got) {
        if (produced!.length) contract.push(diag('E_CONTRACT', `model ${n.name}: column '${c.name}' is declared but the model does not produce it (it produces ${produced!.map((x) => x.name).join(', ')})`, at));
      } else if (c.data_type && !policy && !checker.sameType(c.data_type, got.type)) {
        contract.push(diag('E_CONTRACT', `model ${n.name}: column '${c.name}' is declared ${c.data_type} but the model produces ${got.type}`, at, 'fix the SQL (a cast) or the declared data_type'));
      }
    }
    ds.push(...contract);
    if (!out.ok) {
      failed.add(id);
      // a statement built from the YAML (column descriptions) failing because of a contract problem: one root cause
      if (!(out.columns && contract.length)) ds.push(modelProblem(n, out, texts.get(n.file)?.text));
    }
  }

  // ---- data tests, alert queries and dashboard tiles: independent of each other
  const jobs: Array<() => Promise<void>> = [];
  for (const t of Object.values(m.nodes)) {
    if (t.resource_type !== 'test' || !testWanted(t)) continue;
    if (blockedBy(t.depends_on)) {
      counts.skipped++;
      continue;
    }
    counts.tests++;
    counts.statements++;
    jobs.push(async () => {
      const out = await checker.query(t.compiled_sql);
      if (!out.ok) ds.push(testProblem(t, out, texts.get(t.file)?.text));
    });
  }
  for (const a of alerts) {
    if (blockedBy(result.queries[a.name]?.depends_on ?? [])) {
      counts.skipped++;
      continue;
    }
    counts.alerts++;
    counts.statements++;
    jobs.push(async () => {
      const out = await checker.query(a.sql);
      if (!out.ok) {
        const p = compiledPosition(out.sql, out.position, a.sql);
        const t = p ? templatePosition(a.text, a.sql, p) : undefined;
        const loc = t ? { file: a.file, line: a.at.line + t.line - 1, column: t.column === undefined ? undefined : (t.line === 1 ? a.at.column : (a.at.indent ?? 0) + 1) + t.column - 1 } : { file: a.file, line: a.at.line, column: a.at.column };
        ds.push(diag('E_CHECK', `alert ${a.name}: ${out.message}`, loc));
        return;
      }
      // an alert's window is read as one period: both ends the same kind of value
      const ws = out.columns.find((c) => c.name === 'window_start');
      const we = out.columns.find((c) => c.name === 'window_end');
      if (ws && we && !checker.sameType(ws.type, we.type)) {
        ds.push(diag('E_CHECK', `alert ${a.name}: window_start is ${ws.type} but window_end is ${we.type}; both ends of the window must be the same type`, { file: a.file, line: a.at.line, column: a.at.column }, 'cast one of them, e.g. {{ to_date(...) }}'));
      }
    });
  }
  // a tile of the sync state (model vigil_sync_state) reads the table vigil sync keeps: declared from its columns
  const stateTables = new Map(tiles.filter(({ tile }) => tile.syncState).map(({ tile }) => [JSON.stringify(tile.syncState), tile.syncState!]));
  for (const rel of stateTables.values()) {
    const problems = await checker.declare(rel, SYNC_STATE_COLUMNS.map((c) => ({ name: c.name, type: c.data_type! })));
    if (problems.length) throw new Error(`vigil check could not declare ${rel.schema}.${rel.identifier}: ${problems.map((p) => p.message).join('; ')}`);
  }
  for (const { d, tile } of tiles) {
    const text = files.dashboards?.find((f) => f.path === d.file)?.text ?? '';
    if (blockedBy([modelId(tile.model)])) {
      counts.skipped++;
      continue;
    }
    const sqls = [tile.sql, tile.previousSql].filter((x): x is string => !!x);
    counts.tiles += sqls.length;
    counts.statements += sqls.length;
    jobs.push(async () => {
      for (const sql of sqls) {
        const out = await checker.query(sql);
        if (out.ok) continue;
        const idAt = text.indexOf(`"${tile.tile.id}"`);
        const line = idAt < 0 ? 1 : text.slice(0, idAt).split('\n').length;
        ds.push(diag('E_CHECK', `dashboard ${d.dashboard.name}, tile '${tile.tile.id}': ${out.message}`, { file: d.file, line }, 'the tile query Vigil generates from the dashboard reads the model: check the columns and measures it names'));
        return;
      }
    });
  }
  await mapLimit(jobs, checker.concurrency, (job) => job());
  // the same report whatever order the answers came in
  ds.sort((a, b) => (a.file ?? '').localeCompare(b.file ?? '') || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  input.progress?.(`checked ${counted(counts.models, 'model')}, ${counted(counts.tests, 'test')}, ${counted(counts.alerts, 'alert query', 'alert queries')}, ${counted(counts.tiles, 'tile query', 'tile queries')}`);
  return { diagnostics: ds, counts };
}

/** A model's problem at its .sql line (or at its config() when Vigil's generated DDL is at fault). */
function modelProblem(n: ModelNode, out: Extract<CheckOutcome, { ok: false }>, template: string | undefined): Diagnostic {
  const candidates: Array<[string | undefined, string]> = [
    [n.compiled_sql, n.compiled_path],
    [n.compiled_sql_incremental, n.compiled_path_incremental ?? n.compiled_path],
  ];
  for (const [sql, path] of candidates) {
    if (!sql) continue;
    const p = compiledPosition(out.sql, out.position, sql);
    if (!p) continue;
    const offset = path === n.compiled_path ? (n.compiled_body_line ?? 1) - 1 : 0;
    const bodyLine = p.line - offset;
    const body = sql.split('\n').slice(offset).join('\n');
    const t = template !== undefined && bodyLine >= 1 ? templatePosition(template, body, { line: bodyLine, column: p.column }) : undefined;
    return diag('E_CHECK', out.message, { file: n.file, line: t?.line ?? 1, column: t?.column }, `compiled SQL: ${path}:${p.line}${p.column ? `:${p.column}` : ''}`);
  }
  // the statement Vigil builds around the model (its config: partitioning, options, ...): a rule
  // about one key points where that key is written (config(), the properties YAML, project.yaml)
  const keyAt = out.rule ? n.config_at?.[out.rule] : undefined;
  if (keyAt) return diag('E_CHECK', out.message, keyAt, `from the model's config: ${out.rule}`);
  const cfgAt = template ? positionOf(template, /\bconfig\s*\(/) : undefined;
  const stmtLine = out.position ? ` (line ${out.position.line}${out.position.column ? `:${out.position.column}` : ''} of the statement Vigil sends)` : '';
  return diag('E_CHECK', `${out.message}${out.rule ? '' : stmtLine}`, { file: n.file, ...(cfgAt ?? { line: 1 }) }, out.rule ? `from the model's config: ${out.rule}` : "the statement is generated from the model's config() and YAML");
}

function testProblem(t: TestNode, out: Extract<CheckOutcome, { ok: false }>, template: string | undefined): Diagnostic {
  const p = compiledPosition(out.sql, out.position, t.compiled_sql);
  if (t.test_type === 'singular' && p && template !== undefined) {
    const pos = templatePosition(template, t.compiled_sql, p);
    return diag('E_CHECK', `test ${t.name}: ${out.message}`, { file: t.file, ...pos }, `compiled SQL: ${t.compiled_path}:${p.line}${p.column ? `:${p.column}` : ''}`);
  }
  return diag('E_CHECK', `test ${t.name}: ${out.message}`, { file: t.file, line: t.line }, `the query Vigil generates for this ${t.test_type} test: ${t.compiled_path}${p ? `:${p.line}${p.column ? `:${p.column}` : ''}` : ''}`);
}

function positionOf(text: string, re: RegExp): { line: number; column: number } | undefined {
  const m = re.exec(text);
  if (!m) return undefined;
  const before = text.slice(0, m.index);
  return { line: before.split('\n').length, column: m.index - before.lastIndexOf('\n') };
}
