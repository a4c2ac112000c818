/**
 * What the docs site shows, gathered once: every node of the manifest (models, sources, seeds,
 * snapshots, data tests, unit tests, dashboards) and every alert, with descriptions (doc()
 * resolved at compile), columns with their declared and built types, policies (a model column's
 * masking policy, column meta and tags) and tests, raw and compiled SQL, table-level edges and column-level lineage derived
 * from the compiled SQL (src/docs/column-lineage.ts).
 *
 * Pure apart from reading raw SQL files and seeds' CSV headers: the warehouse catalog is passed in.
 * Without the catalog (or before the first build), a seed's columns are its CSV header's and a
 * source's its YAML's, which need not be all of them (the lineage says so, as the PII check's).
 */
import { join } from 'node:path';
import type { CompileResult } from '../compile/compile-project.js';
import { readProjectText, SQL_FILE } from '../project/paths.js';
import type { ColumnInfo, Manifest } from '../compile/manifest.js';
import type { CompiledRule } from '../alerts/evaluate.js';
import type { Dialect } from '../adapters/dialect.js';
import { columnLineage, lineageSpell, relationResolver, type ColumnRef } from './column-lineage.js';
import { modelsAndSnapshotsInOrder } from '../compile/graph.js';
import { policyOf } from '../compile/masking.js';
import { firstVersionsSql } from '../run/snapshot.js';
import { STATE_TABLE } from '../sync/sync-types.js';
import { seedHeaderNames } from '../seeds/seed-csv.js';
import { piiLineage } from '../check/pii-lineage.js';
import { counted } from '../format.js';

export type DocsKind = 'source' | 'seed' | 'model' | 'snapshot' | 'test' | 'unit_test' | 'exposure' | 'alert';

export interface DocsColumn {
  name: string;
  /** type in the warehouse (built relation), when known */
  type?: string;
  /** data_type declared in YAML (the contract) */
  declared_type?: string;
  description?: string;
  meta?: Record<string, unknown>;
  /** how a model's published relation shows it (compile/masking.ts policyOf): mask, hash, redact or drop */
  policy?: string;
  /** the PII it carries as it is (the PII check's live PII: a snapshot's or an ephemeral model's copy too), the columns it is read from */
  pii?: string;
  tags?: string[];
  /** names of the data tests on this column */
  tests: Array<{ id: string; name: string }>;
  /** column-level lineage: the upstream columns it is derived from */
  from: ColumnRef[];
  /** 'direct' (a reference, possibly renamed or cast) or 'derived' (an expression) */
  how?: 'direct' | 'derived';
  /** downstream columns derived from it */
  used_by: ColumnRef[];
}

export interface DocsNode {
  id: string;
  kind: DocsKind;
  name: string;
  /** dashboards: their title; sources: source.table */
  label: string;
  description?: string;
  file?: string;
  tags: string[];
  /** key facts shown under the title (materialization, relation, severity, schedule, ...) */
  facts: Array<[string, string]>;
  columns: DocsColumn[];
  parents: string[];
  /** tables it reads that are no node: the sync state `vigil sync` keeps */
  also_reads?: string[];
  /** a source table: the description of the source it is declared in (dbt's source_description) */
  source?: { name: string; description: string };
  children: string[];
  tests: string[];
  raw_sql?: string;
  compiled_sql?: string;
  /** why column lineage is incomplete for this node */
  lineage_notes: string[];
}

export interface DocsModel {
  project: string;
  target: string;
  generated_at: string;
  /** the __overview__ docs block, if any */
  overview?: string;
  nodes: DocsNode[];
  /** whether column types came from the warehouse */
  catalog: boolean;
}

export interface CollectInput {
  root: string;
  result: CompileResult;
  rules: CompiledRule[];
  /** unique id -> columns as built in the warehouse (undefined: not built or no catalog) */
  catalog?: Map<string, Array<{ name: string; data_type: string }>>;
  now: Date;
  /** the target's dialect: its compiled SQL, readable by the lineage parser */
  dialect: Dialect;
}


function readRaw(root: string, file: string | undefined): string | undefined {
  if (!file || !SQL_FILE.test(file)) return undefined;
  try {
    return readProjectText(join(root, file));
  } catch {
    return undefined;
  }
}

export async function collectDocs(input: CollectInput): Promise<DocsModel> {
  const { result, rules, catalog, root } = input;
  const m: Manifest = result.manifest;
  const project = m.metadata.project;
  const nodes = new Map<string, DocsNode>();
  /** `published`: a model's relation, which applies the columns' policies (elsewhere a policy masks nothing) */
  const columnsFrom = (cols: ColumnInfo[], built: Array<{ name: string; data_type?: string }> | undefined, published = false): DocsColumn[] => {
    const out: DocsColumn[] = [];
    const declared = new Map(cols.map((c) => [c.name.toLowerCase(), c]));
    const seen = new Set<string>();
    const policy = (c: ColumnInfo | undefined) => (published && c ? policyOf(c) : undefined);
    for (const b of built ?? []) {
      const d = declared.get(b.name.toLowerCase());
      seen.add(b.name.toLowerCase());
      out.push({ name: b.name, type: b.data_type, declared_type: d?.data_type, description: d?.description, meta: d?.meta, policy: policy(d), tags: d?.tags, tests: [], from: [], used_by: [] });
    }
    for (const c of cols) if (!seen.has(c.name.toLowerCase())) out.push({ name: c.name, declared_type: c.data_type, description: c.description, meta: c.meta, policy: policy(c), tags: c.tags, tests: [], from: [], used_by: [] });
    return out;
  };
  const add = (n: DocsNode) => nodes.set(n.id, n);
  /** the seeds whose columns are their CSV header's (no catalog for them) */
  const headers = new Set<string>();
  const rel = (r: { database?: string; schema: string; identifier: string } | null | undefined) => (r ? [r.database, r.schema, r.identifier].filter(Boolean).join('.') : undefined);

  for (const s of Object.values(m.sources)) {
    add({
      id: s.unique_id,
      kind: 'source',
      name: s.name,
      label: `${s.source_name}.${s.name}`,
      description: s.description,
      file: s.file,
      tags: s.tags,
      facts: [['relation', rel(s.relation)!], ...(s.loaded_at_field ? ([['loaded_at_field', s.loaded_at_field]] as Array<[string, string]>) : []), ...(s.sync ? ([['synced from', `${s.sync.from} (${s.sync.schema}), cursor ${s.sync.cursor}`]] as Array<[string, string]>) : [])],
      columns: columnsFrom(s.columns, catalog?.get(s.unique_id)),
      parents: [],
      ...(s.source_description ? { source: { name: s.source_name, description: s.source_description } } : {}),
      children: [],
      tests: [],
      lineage_notes: [],
    });
  }
  // models and snapshots: SQL files with upstream nodes
  const fromSql = (kind: 'model' | 'snapshot', x: { unique_id: string; name: string; description?: string; file: string; tags: string[]; columns: ColumnInfo[]; depends_on: string[]; compiled_sql: string; relation?: unknown }, facts: Array<[string, string]>): DocsNode => ({
    id: x.unique_id,
    kind,
    name: x.name,
    label: x.name,
    description: x.description,
    file: x.file,
    tags: x.tags,
    facts,
    columns: columnsFrom(x.columns, catalog?.get(x.unique_id), kind === 'model' && !!x.relation),
    parents: [...x.depends_on],
    children: [],
    tests: [],
    raw_sql: readRaw(root, x.file),
    compiled_sql: x.compiled_sql,
    lineage_notes: [],
  });
  for (const n of Object.values(m.nodes)) {
    if (n.resource_type === 'model') {
      add(fromSql('model', n, [['materialized', n.config.materialized], ...(n.relation ? ([['relation', rel(n.relation)!]] as Array<[string, string]>) : []), ...(n.properties_file ? ([['properties', n.properties_file]] as Array<[string, string]>) : [])]));
    } else if (n.resource_type === 'seed') {
      // not built (or no catalog): the CSV header's columns, declared or not, as `vigil seed` loads them
      const header = catalog?.has(n.unique_id) ? undefined : seedHeaderNames(join(root, n.file), n.config);
      if (header) headers.add(n.unique_id);
      add({ id: n.unique_id, kind: 'seed', name: n.name, label: n.name, description: n.description, file: n.file, tags: n.tags, facts: [['relation', rel(n.relation)!], ['file', n.file]], columns: columnsFrom(n.columns, catalog?.get(n.unique_id) ?? header?.map((name) => ({ name }))), parents: [], children: [], tests: [], lineage_notes: [] });
    } else if (n.resource_type === 'snapshot') {
      add(fromSql('snapshot', n, [['relation', rel(n.relation)!], ['strategy', String(n.config.strategy)], ['unique_key', ([] as string[]).concat(n.config.unique_key as string | string[]).join(', ')]]));
    } else if (n.resource_type === 'test') {
      add({
        id: n.unique_id,
        kind: 'test',
        name: n.name,
        label: n.name,
        file: n.file,
        tags: n.tags,
        facts: [['test', n.test_type], ['severity', n.severity], ...(n.column ? ([['column', n.column]] as Array<[string, string]>) : [])],
        columns: [],
        parents: [...n.depends_on],
        children: [],
        tests: [],
        raw_sql: n.test_type === 'singular' ? readRaw(root, n.file) : undefined,
        compiled_sql: n.compiled_sql,
        lineage_notes: [],
      });
    } else if (n.resource_type === 'unit_test') {
      add({ id: n.unique_id, kind: 'unit_test', name: n.name, label: n.name, description: n.description, file: n.file, tags: n.tags, facts: [['model', n.model], ['given', n.givens.map((g) => g.input).join(', ')], ['expected rows', String(n.expect_rows.length)]], columns: [], parents: [n.attached_to], children: [], tests: [], compiled_sql: n.compiled_sql, lineage_notes: [] });
    }
  }
  for (const e of Object.values(m.exposures ?? {})) {
    add({ id: e.unique_id, kind: 'exposure', name: e.name, label: e.title, description: e.description ?? `Dashboard "${e.title}" (${counted(e.tiles, 'tile')}).`, file: e.file, tags: e.tags, facts: [['type', e.type], ['tiles', String(e.tiles)]], columns: [], parents: [...e.depends_on], ...(e.sync_state ? { also_reads: [`${STATE_TABLE} (${rel(e.sync_state)})`] } : {}), children: [], tests: [], lineage_notes: [] });
  }
  for (const r of rules) {
    const q = result.queries[r.rule.name];
    const parents = q ? q.depends_on : r.rule.model ? [`model.${project}.${r.rule.model}`] : [];
    add({
      id: `alert.${project}.${r.rule.name}`,
      kind: 'alert',
      name: r.rule.name,
      label: r.rule.name,
      description: r.rule.description ?? r.rule.summary,
      file: r.file,
      tags: Object.entries(r.rule.labels).map(([k, v]) => `${k}=${v}`),
      facts: [['severity', r.rule.severity], ['condition', r.rule.condition.type], ['schedule', 'cron' in r.rule.schedule ? `${r.rule.schedule.cron} (${r.rule.schedule.timezone})` : JSON.stringify(r.rule.schedule)], ['summary', r.rule.summary]],
      columns: [],
      parents: parents.filter((p) => nodes.has(p)),
      ...(r.rule.sync_state || (r.rule.condition.type === 'freshness' && r.rule.condition.sync) ? { also_reads: [STATE_TABLE] } : {}),
      children: [],
      tests: [],
      raw_sql: r.queryText,
      compiled_sql: r.sql,
      lineage_notes: [],
    });
  }

  // edges, and tests onto what (and which column) they test
  for (const n of nodes.values()) {
    n.parents = [...new Set(n.parents)].filter((p) => nodes.has(p));
    for (const p of n.parents) nodes.get(p)!.children.push(n.id);
  }
  for (const n of Object.values(m.nodes)) {
    if (n.resource_type !== 'test' && n.resource_type !== 'unit_test') continue;
    const on = n.attached_to ? nodes.get(n.attached_to) : undefined;
    if (!on) continue;
    on.tests.push(n.unique_id);
    if (n.resource_type === 'test' && n.column) on.columns.find((c) => c.name.toLowerCase() === n.column!.toLowerCase())?.tests.push({ id: n.unique_id, name: n.test_type });
  }

  // column lineage from the compiled SQL, parents first
  // models and snapshots (result.order holds the models alone: a snapshot's columns were not traced);
  // a snapshot as the SELECT that builds it: its query's columns, then dbt_valid_from, ... (derived there)
  const order = modelsAndSnapshotsInOrder(m.nodes).filter((id) => nodes.has(id));
  const built = (id: string): string => {
    const n = m.nodes[id];
    return n?.resource_type === 'snapshot' ? firstVersionsSql(input.dialect, n) : nodes.get(id)!.compiled_sql!;
  };
  const lineage = await columnLineage(
    order.map((id) => ({ unique_id: id, sql: input.dialect.parsableSql?.(built(id)) ?? built(id) })),
    {
      resolve: relationResolver(m),
      columnsOf: (id) => {
        const n = nodes.get(id);
        return n && n.columns.length ? n.columns.map((c) => c.name) : undefined;
      },
      // the warehouse's columns are all of them; without, a source's are its YAML's (some of them),
      // a seed's its CSV header's (all), a model's or snapshot's its lineage's (partial when incomplete)
      partial: (id) => (catalog?.has(id) ? false : m.sources[id] ? true : m.nodes[id]?.resource_type === 'seed' ? !headers.has(id) : undefined),
      // a name written unquoted as the warehouse names it (Postgres: lower case), as the PII check reads it
      spell: lineageSpell(input.dialect),
    },
  );
  for (const id of order) {
    const n = nodes.get(id)!;
    const l = lineage.get(id);
    if (!l) continue;
    if (l.error) {
      n.lineage_notes.push(`not traced: the compiled SQL does not parse as DuckDB SQL (${l.error.split('\n')[0]})`);
      continue;
    }
    n.lineage_notes.push(...l.untraced);
    for (const lc of l.columns) {
      let c = n.columns.find((x) => x.name.toLowerCase() === lc.name.toLowerCase());
      if (!c) {
        c = { name: lc.name, tests: [], from: [], used_by: [] };
        n.columns.push(c);
      }
      c.from = lc.from;
      c.how = lc.kind;
      for (const f of lc.from) {
        const up = nodes.get(f.node)?.columns.find((x) => x.name.toLowerCase() === f.column.toLowerCase());
        if (up) up.used_by.push({ node: id, column: c.name });
      }
    }
  }
  // the PII check's live PII (the same lineage it refuses a leak by): every column that carries it,
  // a snapshot's copy or an ephemeral model's too, is tagged
  const { live } = await piiLineage(m, input.dialect, { root, everyModel: true });
  for (const [id, cols] of live) {
    const n = nodes.get(id);
    if (!n) continue;
    for (const [name, from] of cols) {
      const c = n.columns.find((x) => x.name.toLowerCase() === name);
      if (c) c.pii = from;
    }
  }
  const kindOrder: DocsKind[] = ['source', 'seed', 'snapshot', 'model', 'exposure', 'alert', 'test', 'unit_test'];
  return {
    project,
    target: m.metadata.target,
    generated_at: input.now.toISOString(),
    overview: m.docs?.__overview__?.text,
    nodes: [...nodes.values()].sort((a, b) => kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind) || a.name.localeCompare(b.name)),
    catalog: !!catalog,
  };
}
