/**
 * `vigil ls`: the selected nodes of the compiled project, by name, path or as JSON lines.
 * Answered from the project snapshot (project/snapshot.ts) when nothing it depends on changed:
 * then no YAML is parsed and nothing is compiled; otherwise the project is compiled (and the
 * snapshot kept for next time).
 */
import type { ResolvedTarget } from '../compile/compile-project.js';
import type { ColumnInfo, Manifest } from '../compile/manifest.js';
import type { ProjectFiles } from '../project/load-project.js';
import type { Diagnostic } from '../errors.js';
import { formatDiagnostic } from '../errors.js';
import { findProjectRoot } from '../project/paths.js';
import { readSnapshot } from '../project/snapshot.js';
import { err, out } from './output.js';
import { select, type SelectionFlags } from './selection.js';
import { withTests } from '../compile/selector.js';

export interface LsOptions extends SelectionFlags {
  projectDir: string;
  target?: string;
  vars?: string;
  resourceType?: string[];
  output: 'name' | 'path' | 'json';
}

/**
 * The project snapshot: the manifest as `vigil ls` keeps it, the compile's warnings, and what
 * `vigil sync` needs besides (sync-command.ts): project.yaml's settings, the folders and the
 * target when it may be kept (command-kit.ts: projectSnapshot, keptTarget). Only types here: the
 * fast path of `vigil ls` loads nothing it does not read.
 */
export interface ProjectSnapshot {
  manifest: Manifest;
  warnings: Diagnostic[];
  project: ProjectFiles['project'];
  paths: ProjectFiles['paths'];
  target?: ResolvedTarget;
}

export async function runLsFast(o: LsOptions): Promise<void> {
  const root = findProjectRoot(o.projectDir);
  const snap = root ? await readSnapshot<ProjectSnapshot>(root, 'project', o) : undefined;
  if (!snap) {
    const { runLs } = await import('./commands.js');
    return runLs(o);
  }
  for (const d of snap.warnings) err(formatDiagnostic(d));
  printLs(snap.manifest, o);
}

/**
 * What `vigil ls` keeps of a manifest in its snapshot: every node with what selection and the
 * listing read (names, files, tags, config, dependencies, checksums, columns' names, types and
 * policies for `state:modified.contract`), without the text only the build reads (compiled SQL,
 * unit tests' rows, descriptions — but on BigQuery, which writes them: `.persisted_descriptions`):
 * 630 KB → 220 KB for the shipped project, read back on every `vigil ls`.
 * Sources are kept whole: `state:modified` compares a source with its previous version field by field.
 */
const BUILD_ONLY = new Set(['compiled_sql', 'compiled_sql_incremental', 'unmasked_sql', 'compiled_path', 'compiled_path_incremental', 'compiled_body_line', 'givens', 'expect_rows', 'expect_line', 'description']);
export function lsManifest(m: Manifest): Manifest {
  const nodes: Record<string, unknown> = {};
  const described = !!m.metadata?.persists_descriptions;
  for (const [id, n] of Object.entries(m.nodes)) {
    const kept: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(n)) if (!BUILD_ONLY.has(k) || (described && k === 'description')) kept[k] = v;
    if (Array.isArray(kept.columns)) kept.columns = (kept.columns as ColumnInfo[]).map((c) => ({ name: c.name, data_type: c.data_type, policy: c.policy, meta: c.meta, ...(described ? { description: c.description } : {}) }));
    nodes[id] = kept;
  }
  return { ...m, nodes } as Manifest;
}

export function printLs(m: Manifest, o: LsOptions): void {
  // the tests of what is selected too, as `vigil test`/`build` run them (dbt's ls lists them)
  const ids = withTests(m, select(m, o));
  const nodes = [...Object.values(m.nodes), ...Object.values(m.sources), ...Object.values(m.exposures ?? {})]
    .filter((n) => ids.has(n.unique_id) && (!o.resourceType?.length || o.resourceType.includes(n.resource_type)))
    // by code point, as dbt ls (Python's sort) orders them; localeCompare also cost ICU's collator start (~10 ms of a 150 ms command)
    .sort((a, b) => (a.unique_id < b.unique_id ? -1 : a.unique_id > b.unique_id ? 1 : 0));
  const lines: string[] = [];
  if (o.output === 'json') {
    for (const n of nodes) {
      const base = { unique_id: n.unique_id, name: n.name, resource_type: n.resource_type, file: n.file, tags: n.tags };
      const extra =
        n.resource_type === 'model'
          ? { materialized: n.config.materialized, relation: n.relation, depends_on: n.depends_on }
          : n.resource_type === 'test'
            ? { test_type: n.test_type, severity: n.severity, depends_on: n.depends_on }
            : n.resource_type === 'unit_test'
              ? { model: n.model, depends_on: n.depends_on }
              : n.resource_type === 'exposure'
                ? { type: n.type, title: n.title, depends_on: n.depends_on }
                : { relation: n.relation };
      lines.push(JSON.stringify({ ...base, ...extra }));
    }
  } else {
    for (const n of nodes) lines.push(o.output === 'path' ? n.file : n.resource_type === 'source' ? `${n.source_name}.${n.name}` : n.name);
  }
  // one write
  if (lines.length) out(lines.join('\n'));
  // as dbt ls: nothing printed is said, on stderr (stdout stays a clean list), exit 0
  else if (ids.size && o.resourceType?.length) err(`warning: no nodes selected: --resource-type ${o.resourceType.join(' ')} leaves none of the ${ids.size} selected (${[...new Set([...ids].map((id) => id.split('.')[0]))].sort().join(', ')})`);
}
