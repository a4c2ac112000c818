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
import { RESOURCE_TYPES, selectorConfigOf, withTests } from '../compile/selector.js';
import { didYouMean, UsageError } from '../errors.js';

export interface LsOptions extends SelectionFlags {
  projectDir: string;
  target?: string;
  vars?: string;
  resourceType?: string[];
  /** --exclude-resource-type: kinds left out (dbt's) */
  excludeResourceType?: string[];
  output: 'name' | 'path' | 'json' | 'selector';
  /** --output-keys: the keys of each JSON line (dbt's), instead of all of them */
  outputKeys?: string[];
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
  // (dbt ignores --output-keys without --output json: a line of names it did not ask for)
  if (o.outputKeys?.length && o.output !== 'json') throw new UsageError(`--output-keys goes with --output json (this is --output ${o.output})`);
  // the tests of what is selected too, as `vigil test`/`build` run them (dbt's ls lists them)
  const ids = withTests(m, select(m, o));
  // (dbt's `all` and `default`: every kind)
  const kinds = (given: string[] | undefined) => (given?.some((t) => t === 'all' || t === 'default') ? [] : (given ?? []));
  const only = kinds(o.resourceType);
  const not = o.excludeResourceType?.some((t) => t === 'all' || t === 'default') ? RESOURCE_TYPES : kinds(o.excludeResourceType);
  // (`--resource-type model --exclude-resource-type model` too: a command line that can list
  // nothing, whatever the project holds, was a warning and exit 0)
  if (not.length && (only.length ? only : RESOURCE_TYPES).every((t) => not.includes(t)))
    throw new UsageError(`${only.length ? `--resource-type ${o.resourceType!.join(' ')} and ` : ''}--exclude-resource-type ${o.excludeResourceType!.join(' ')} leave${only.length ? '' : 's'} out every kind of node: nothing to list`);
  const nodes = [...Object.values(m.nodes), ...Object.values(m.sources), ...Object.values(m.exposures ?? {})]
    .filter((n) => ids.has(n.unique_id) && (!only.length || only.includes(n.resource_type)) && !not.includes(n.resource_type))
    // by code point, as dbt ls (Python's sort) orders them; localeCompare also cost ICU's collator start (~10 ms of a 150 ms command)
    .sort((a, b) => (a.unique_id < b.unique_id ? -1 : a.unique_id > b.unique_id ? 1 : 0));
  const lines: string[] = [];
  if (o.output === 'json') {
    const keys = o.outputKeys?.length ? new Set(checkOutputKeys(o.outputKeys)) : undefined;
    for (const n of nodes) {
      // (the record as printed, fqn only when asked for: no copy of each without it — ~10% of a
      // 10,000-model `vigil ls --output json`)
      const record = lsRecord(m, n, !!keys?.has('fqn'));
      lines.push(JSON.stringify(keys ? Object.fromEntries(Object.entries(record).filter(([k]) => keys.has(k))) : record));
    }
  } else if (o.output === 'selector') {
    // as dbt ls --output selector: what selects the node again
    const p = m.metadata.project;
    for (const n of nodes)
      lines.push(n.resource_type === 'source' ? `source:${p}.${n.source_name}.${n.name}` : n.resource_type === 'exposure' ? `exposure:${p}.${n.name}` : n.resource_type === 'unit_test' ? `unit_test:${p}.${n.name}` : (n.fqn ?? [p, n.name]).join('.'));
  } else {
    for (const n of nodes) lines.push(o.output === 'path' ? n.file : n.resource_type === 'source' ? `${n.source_name}.${n.name}` : n.name);
  }
  // one write
  if (lines.length) out(lines.join('\n'));
  // as dbt ls: nothing printed is said, on stderr (stdout stays a clean list), exit 0
  else if (ids.size && (only.length || not.length)) err(`warning: no nodes selected: ${[...(only.length ? [`--resource-type ${only.join(' ')}`] : []), ...(not.length ? [`--exclude-resource-type ${not.join(' ')}`] : [])].join(' and ')} leaves none of the ${ids.size} selected (${[...new Set([...ids].map((id) => id.split('.')[0]))].sort().join(', ')})`);
}

type LsNode = Manifest['nodes'][string] | Manifest['sources'][string] | NonNullable<Manifest['exposures']>[string];

/**
 * The keys of a `vigil ls --output json` line: dbt's (`dbt ls --output json`: unique_id, name,
 * resource_type, package_name, original_file_path, alias, source_name, config, tags,
 * depends_on), Vigil's own beside them, and `fqn`, printed only when --output-keys asks for it.
 */
export const LS_JSON_KEYS = ['unique_id', 'name', 'resource_type', 'package_name', 'original_file_path', 'file', 'tags', 'config', 'alias', 'source_name', 'materialized', 'relation', 'test_type', 'severity', 'model', 'type', 'title', 'depends_on', 'fqn'] as const;

/** --output-keys' values (repeated, or several in one: `"name config"`, `name,config`), each a key of LS_JSON_KEYS. */
function checkOutputKeys(given: string[]): string[] {
  const keys = given.flatMap((v) => v.split(/[\s,]+/)).filter(Boolean);
  if (!keys.length) throw new UsageError(`--output-keys is empty: give the keys to print (${LS_JSON_KEYS.join(', ')})`);
  for (const k of keys) {
    if ((LS_JSON_KEYS as readonly string[]).includes(k)) continue;
    const hint = didYouMean(k, LS_JSON_KEYS);
    throw new UsageError(`--output-keys: '${k}' is no key of vigil ls --output json${hint ? ` — did you mean '${hint}'?` : ''} (keys: ${LS_JSON_KEYS.join(', ')})`);
  }
  return keys;
}

/**
 * One node as `vigil ls --output json` prints it: dbt's keys (its `config` with dbt's defaults
 * filled in, as `config.<key>:` selects: a data test's severity, where, fail_calc, warn_if,
 * error_if, limit, store_failures; a seed's delimiter, column_types, quote_columns; a snapshot's
 * strategy), and Vigil's (file, materialized, relation, test_type, severity, model, type, title).
 * `depends_on` is Vigil's list of unique_ids (dbt's `depends_on.nodes`).
 */
function lsRecord(m: Manifest, n: LsNode, fqn: boolean): Record<string, unknown> {
  const r: Record<string, unknown> = { unique_id: n.unique_id, name: n.name, resource_type: n.resource_type, package_name: m.metadata.project, original_file_path: n.file, file: n.file, tags: n.tags };
  const config = n.resource_type === 'unit_test' ? { enabled: true, tags: n.tags } : n.resource_type === 'exposure' ? undefined : selectorConfigOf(n);
  if (config) r.config = config;
  if (n.resource_type === 'model' || n.resource_type === 'seed' || n.resource_type === 'snapshot') r.alias = n.relation?.identifier ?? n.name;
  else if (n.resource_type === 'test') r.alias = n.audit_relation?.identifier ?? n.name;
  if (n.resource_type === 'source') r.source_name = n.source_name;
  if (n.resource_type === 'model') Object.assign(r, { materialized: n.config.materialized, relation: n.relation, depends_on: n.depends_on });
  else if (n.resource_type === 'test') Object.assign(r, { test_type: n.test_type, severity: n.severity, depends_on: n.depends_on });
  else if (n.resource_type === 'unit_test') Object.assign(r, { model: n.model, depends_on: n.depends_on });
  else if (n.resource_type === 'exposure') Object.assign(r, { type: n.type, title: n.title, depends_on: n.depends_on });
  else Object.assign(r, { relation: n.relation, ...('depends_on' in n ? { depends_on: n.depends_on } : {}) });
  if (fqn && 'fqn' in n && n.fqn) r.fqn = n.fqn;
  return r;
}
