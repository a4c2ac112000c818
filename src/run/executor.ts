/**
 * The executor behind `vigil run`, `vigil test` and `vigil build`: runs the selected
 * models and tests in DAG order, up to `threads` at a time, skipping everything downstream
 * of a failed model or error-severity test. Prints one progress line per node and returns
 * the results that become target/run_results.json.
 */
import { atCompiledLine, compiledPosition, HookError, partitionField, runHooks, type Adapter, type DroppedKey, type Hook, type MaterializeRequest, type Row } from '../adapters/adapter.js';
import { didYouMean, WarehouseError } from '../errors.js';
import type { Manifest, ModelNode, SeedNode, SnapshotNode, TestNode, UnitTestNode } from '../compile/manifest.js';
import type { GrantPlan } from '../adapters/grants.js';
import type { Dialect, Relation } from '../adapters/dialect.js';
import type { SeedLoaded } from '../seeds/load-seeds.js';
import { selectNodes, withTests, type IndirectSelection, type SelectionResult } from '../compile/selector.js';
import { buildGraph, topoSort } from '../compile/graph.js';
import { droppedViewsPhrase } from '../format.js';
import type { QueryPii } from '../check/pii-lineage.js';
import { maskExpr, maskingRecord, needsMasking } from '../compile/masking.js';
import { unquotedColumnHint } from '../compile/generic-tests.js';
import { maxOf } from '../extremes.js';
import { companionMark, warnStaleCompanions } from './companions.js';

export type Command = 'run' | 'test' | 'build' | 'seed' | 'snapshot';
export type NodeStatus = 'success' | 'error' | 'skipped' | 'pass' | 'fail' | 'warn';

export interface NodeResult {
  unique_id: string;
  name: string;
  /** operation: an on_run_start / on_run_end hook */
  resource_type: 'model' | 'seed' | 'snapshot' | 'test' | 'unit_test' | 'operation';
  status: NodeStatus;
  execution_time: number;
  message: string;
  failures?: number;
  sample?: Row[];
  relation?: string;
  /** models: the restricted companion built and the grants changed (docs/governance.md) */
  governance?: string;
  /** models: something to know about the build beside its result (new rows with a NULL unique key) */
  warning?: string;
  /**
   * dbt's adapter_response: `rows_affected`, the rows the warehouse says the statement wrote —
   * an incremental run's inserted or merged rows (BigQuery's numDmlAffectedRows), a seed's rows, a
   * snapshot's new versions. Absent where no count is known (a view, a table created whole).
   */
  adapter_response?: { rows_affected: number };
  file: string;
  compiled_path: string;
}

export interface RunOptions {
  command: Command;
  select?: string[];
  exclude?: string[];
  /** Exactly these nodes, in place of select/exclude and without their tests (`vigil retry`: what failed or was skipped, as dbt retry runs it). */
  ids?: string[];
  /** A previous run's manifest, for state: selectors (--state). */
  state?: Manifest;
  /** --indirect-selection: which tests selecting what they test selects (eager when not given). */
  indirectSelection?: IndirectSelection;
  threads: number;
  fullRefresh: boolean;
  /** --defer: the manifest's unselected nodes name the state's relations, so no stale restricted companion is judged by it */
  deferred?: boolean;
  /** Stop scheduling new nodes after the first failure. */
  failFast?: boolean;
  /** Aborted (Ctrl-C): no new node starts; the running ones finish; the rest are skipped. Its reason names the signal ('SIGINT', 'SIGTERM'). */
  signal?: AbortSignal;
  /**
   * Called right before each node starts, synchronously: it may abort `signal` (vigil serve: the
   * job's lease ran out while it ran, so this node must not start beside another serve's run).
   */
  checkpoint?: () => boolean | void;
  /** Unit tests: 'only' (vigil test --unit), 'exclude' (vigil test --data), default both. */
  unit?: 'only' | 'exclude';
  /** Runs unit tests (an in-memory DuckDB); required when the plan has unit tests. */
  unitRunner?: { run(t: UnitTestNode, pii?: () => Promise<QueryPii | undefined>): Promise<{ status: 'pass' | 'fail' | 'error'; message: string }> };
  /** `--empty`: snapshots keep their history (no version added or closed); one not built yet is made with no rows. */
  empty?: boolean;
  /** Loads a seed (its CSV read and checked before the run): required when the plan has seeds. */
  seedLoader?: (n: SeedNode, adapter: Adapter) => Promise<SeedLoaded>;
  /**
   * The plan `planRun` made of this manifest, or of the one it was derived from (`--defer`
   * rewrites nodes' SQL, not their ids or dependencies): not made a second time.
   */
  plan?: Pick<ReturnType<typeof planRun>, 'nodes' | 'waitsFor' | 'unmatched'>;
  /** The project's folder: a seed's CSV header gives its columns to the PII lineage of failing tests' samples. */
  root?: string;
  out: (line: string) => void;
}

export interface RunSummary {
  results: NodeResult[];
  elapsed: number;
  /** Selector atoms that matched nothing. */
  unmatched: SelectionResult['unmatched'];
  ok: boolean;
  /** Stopped by opts.signal before every node ran. */
  interrupted?: boolean;
}

type PlanNode = ModelNode | SeedNode | SnapshotNode | TestNode | UnitTestNode;

/** Which nodes a command runs, and what each waits for. */
export function planRun(manifest: Manifest, opts: Pick<RunOptions, 'command' | 'select' | 'exclude' | 'ids' | 'unit' | 'state' | 'indirectSelection'>): { nodes: PlanNode[]; waitsFor: Map<string, string[]>; unmatched: RunSummary['unmatched']; selected: Set<string> } {
  const selection = opts.ids ? { ids: new Set(opts.ids.filter((id) => manifest.nodes[id])), excluded: new Set<string>(), unmatched: [] } : selectNodes(manifest, opts.select, opts.exclude, opts.state, opts.indirectSelection);
  const { ids, unmatched } = selection;
  // a test runs when it is selected itself or when anything it tests is selected (the tests of an
  // excluded node are excluded with it); `ids` are exactly what runs
  const withIndirect = opts.ids ? ids : withTests(manifest, selection);
  const planned = new Set<string>();
  const wantModels = opts.command === 'run' || opts.command === 'build';
  const wantSeeds = opts.command === 'seed' || opts.command === 'build';
  const wantTests = (opts.command === 'test' || opts.command === 'build') && opts.unit !== 'only';
  const wantUnit = (opts.command === 'test' || opts.command === 'build') && opts.unit !== 'exclude';
  for (const n of Object.values(manifest.nodes)) {
    if (n.resource_type === 'seed') {
      if (wantSeeds && ids.has(n.unique_id)) planned.add(n.unique_id);
    } else if (n.resource_type === 'snapshot') {
      if ((opts.command === 'snapshot' || opts.command === 'build') && ids.has(n.unique_id)) planned.add(n.unique_id);
    } else if (n.resource_type === 'model') {
      if (wantModels && ids.has(n.unique_id) && n.config.materialized !== 'ephemeral') planned.add(n.unique_id);
    } else if (n.resource_type === 'unit_test') {
      if (wantUnit && withIndirect.has(n.unique_id)) planned.add(n.unique_id);
    } else if (wantTests && withIndirect.has(n.unique_id)) planned.add(n.unique_id);
  }
  // what each node reads, walking through unplanned nodes (ephemerals, unselected models) up to the
  // planned ones: `nearest` is its planned part, what the node waits for; `upstream` all of it,
  // whose tests a model or snapshot waits for. Iterative (a chain of 10,000 unplanned models
  // overflowed the stack), memoized per node.
  const walkMemo = new Map<string, string[]>();
  const upstream = (id: string): string[] => {
    const hit = walkMemo.get(id);
    if (hit) return hit;
    const out = new Set<string>();
    const stack = [...(manifest.nodes[id]?.depends_on ?? [])];
    while (stack.length) {
      const p = stack.pop()!;
      if (out.has(p)) continue;
      out.add(p);
      if (planned.has(p) || !manifest.nodes[p]) continue;
      const known = walkMemo.get(p);
      if (known) for (const q of known) out.add(q);
      else stack.push(...manifest.nodes[p].depends_on);
    }
    const arr = [...out];
    walkMemo.set(id, arr);
    return arr;
  };
  // unit tests need no warehouse: they wait for nothing
  const nearest = (id: string): string[] => (manifest.nodes[id]?.resource_type === 'unit_test' ? [] : upstream(id).filter((p) => planned.has(p)));
  // dbt's rule for the tests a model (or snapshot) waits for: those whose every node read is
  // upstream of the model (a generic test's node, each node a singular or relationships test reads). So a
  // relationships test from fct_orders to dim_customers holds back what reads both, not what reads
  // only one (waiting there made two facts on one dimension a cycle), and one from a to
  // its descendant c runs after c. Each test is filed under the latest node it reads (in
  // dependency order): a model finds it through that node, and checks the others are upstream.
  const rank = new Map<string, number>();
  {
    const deps = new Map<string, string[]>();
    for (const [id, n] of Object.entries(manifest.nodes)) if (n.resource_type !== 'test' && n.resource_type !== 'unit_test') deps.set(id, n.depends_on);
    for (const id of Object.keys(manifest.sources)) deps.set(id, []);
    topoSort(buildGraph(deps)).forEach((id, i) => rank.set(id, i));
  }
  const testsOf = new Map<string, string[]>();
  for (const id of planned) {
    const n = manifest.nodes[id];
    if (n.resource_type !== 'test') continue;
    const reads = n.depends_on.length ? n.depends_on : n.attached_to ? [n.attached_to] : [];
    const latest = reads.reduce<string | undefined>((a, b) => (a === undefined || (rank.get(b) ?? -1) > (rank.get(a) ?? -1) ? b : a), undefined);
    if (latest) (testsOf.get(latest) ?? testsOf.set(latest, []).get(latest)!).push(id);
  }
  /** Whether `a` is upstream of `m`: a walk up from m that leaves out what comes before a in dependency order. */
  const isUpstream = (a: string, m: string): boolean => {
    const ra = rank.get(a);
    if (ra === undefined) return false;
    const seen = new Set<string>();
    const stack = [...(manifest.nodes[m]?.depends_on ?? [])];
    while (stack.length) {
      const x = stack.pop()!;
      if (x === a) return true;
      if (seen.has(x)) continue;
      seen.add(x);
      if ((rank.get(x) ?? -1) < ra) continue;
      stack.push(...(manifest.nodes[x]?.depends_on ?? []));
    }
    return false;
  };
  const unitOf = new Map<string, string[]>();
  for (const id of planned) {
    const n = manifest.nodes[id];
    if (n.resource_type === 'unit_test') (unitOf.get(n.attached_to) ?? unitOf.set(n.attached_to, []).get(n.attached_to)!).push(id);
  }
  const waitsFor = new Map<string, string[]>();
  for (const id of planned) {
    const n = manifest.nodes[id];
    const deps = new Set(nearest(id));
    if ((n.resource_type === 'model' || n.resource_type === 'snapshot') && opts.command === 'build') {
      // a model or snapshot also waits for the tests of what it reads: upstream models, seeds,
      // snapshots and sources — also of those this run does not build (`vigil retry` re-runs a
      // failed test of a model it does not rebuild: its children were built although the test
      // failed again). (A snapshot that did not wait kept the rows its parent's test failed on.)
      const up = upstream(id);
      const upSet = new Set(up);
      for (const d of up) for (const t of testsOf.get(d) ?? []) if (manifest.nodes[t].depends_on.every((r) => upSet.has(r) || isUpstream(r, id))) deps.add(t);
      // and for its own unit tests, which run before it is built
      for (const u of unitOf.get(id) ?? []) deps.add(u);
    }
    waitsFor.set(id, [...deps]);
  }
  const nodes = [...planned].map((id) => manifest.nodes[id]);
  return { nodes, waitsFor, unmatched, selected: ids };
}

/** What a model asks its warehouse to build. */
export function materializeRequest(n: ModelNode, fullRefresh: boolean): MaterializeRequest {
  const uk = n.config.unique_key;
  return {
    kind: n.config.materialized as 'view' | 'table' | 'incremental',
    relation: n.relation!,
    sql: n.compiled_sql,
    incrementalSql: n.compiled_sql_incremental,
    // (a none key is no key: compile leaves it out)
    uniqueKey: uk === undefined || uk === null ? undefined : Array.isArray(uk) ? uk : [uk],
    strategy: n.config.incremental_strategy,
    // (dbt: true always rebuilds, false never, unset follows --full-refresh)
    fullRefresh: n.config.full_refresh ?? fullRefresh,
    onSchemaChange: n.config.on_schema_change,
    config: n.config,
    ...(n.config_at ? { configAt: n.config_at } : {}),
    description: n.description,
    columns: n.columns,
    ...(n.config.materialized === 'incremental' ? { masking: maskingRecord(n.columns) } : {}),
  };
}

/**
 * An incremental model with retention rebuilt whole (--full-refresh), or filled from its whole
 * query because its table held no row (`refilled`: retention apply may have deleted every row):
 * the rows `vigil retention apply` deleted are back unless its query filters them; said, not
 * filtered here (retention deletes only what a reviewed plan counted, and logs it). '' without retention.
 */
function retentionRebuilt(n: ModelNode, refilled = false): string {
  const rt = n.config.retention;
  if (!rt) return '';
  return `${refilled ? 'its table held no row, so this run filled it' : '--full-refresh rebuilt it'} whole from its query: any rows vigil retention apply deleted (retention: ${rt.column} older than ${rt.keep}) are back unless the query filters them out; vigil retention plan -s ${n.name}, then vigil retention apply, deletes them again`;
}

/** run_results.json's adapter_response of a count the warehouse gave (none when it gave none: never a made-up 0). */
function rowsAffected(rows: number | undefined): Pick<NodeResult, 'adapter_response'> {
  return typeof rows === 'number' && Number.isFinite(rows) ? { adapter_response: { rows_affected: rows } } : {};
}

/** `database.schema.identifier` of a relation, the parts it has. */
function displayRel(r: Relation): string {
  return [r.database, r.schema, r.identifier].filter(Boolean).join('.');
}

/** `analytics.ai_audit_daily`: how a person names a relation in a progress line. */
function displayRelation(n: ModelNode | SeedNode | SnapshotNode): string {
  return n.relation ? displayRel(n.relation) : n.name;
}

/**
 * The names of a query's columns, before it runs: DuckDB's and Postgres' preview of no rows,
 * BigQuery's dry run (its schema); undefined where the warehouse names none.
 */
async function queryColumns(w: Adapter, sql: string): Promise<string[] | undefined> {
  if (w.preview && w.previewNamesEmpty) return (await w.preview(`select * from (\n${sql}\n) as vigil_test limit 0`)).columns.map((c) => c.name);
  if (!w.dryRun) return undefined;
  const dry = (await w.dryRun(sql)) as { fields?: Array<{ name: string }> };
  return dry.fields?.map((f) => f.name);
}

/**
 * The statements that replace a test's stored failures (dbt's test materialization: drop the old
 * relation, create the new one from the failing rows), the columns `masked` names stored as the
 * mask policy shows them ('****', NULL as NULL) under the names the sample gives them; and what
 * the failures are counted from: the stored relation (as dbt counts them) when nothing was
 * masked, else undefined (the test's own query).
 */
export function failureStoreStatements(o: { kind: 'table' | 'view'; relation: Relation; rows: string; columns: string[]; masked: { hidden: Set<string>; renamed: Map<string, string> }; existing: 'table' | 'view' | null; dialect: Dialect }): { statements: string[]; countFrom?: string } {
  const q = o.dialect.relation(o.relation);
  const select = o.masked.hidden.size
    ? `select ${o.columns.map((c) => (o.masked.hidden.has(c) ? `${maskExpr('mask', c, o.dialect)} as ${o.dialect.quoteIdent(o.masked.renamed.get(c) ?? c)}` : o.dialect.quoteIdent(c))).join(', ')}\nfrom (\n${o.rows}\n) as vigil_test`
    : o.rows;
  return {
    statements: [...(o.existing ? [`drop ${o.existing} if exists ${q}`] : []), `create ${o.kind} ${q} as\n${select}`],
    ...(o.masked.hidden.size ? {} : { countFrom: `select * from ${q}` }),
  };
}


function fmtTime(s: number): string {
  return `[${s.toFixed(2)}s]`;
}

/**
 * A failed node's message: its file, and the compiled file (the `@incremental.sql` one when an
 * incremental run failed) with the line:column the warehouse's error points at, found by where
 * that SQL sits in the statement that was executed.
 */
function describeError(e: unknown, node: PlanNode): string {
  // a hook's failure points at the hook, where it is written
  // (one run after the build committed: the relation is the new one already)
  if (e instanceof HookError) {
    const after = e.hook.kind === 'post_hook' && e.hook.transaction === false ? `, run after the build committed: the build of ${node.name} stays` : '';
    return `${e.hook.origin} (${e.hook.kind} of ${node.file}${after})\n    ${indent(e.cause instanceof Error ? e.cause.message : String(e.cause))}`;
  }
  let raw = e instanceof Error ? e.message : String(e);
  const candidates: Array<[string | undefined, string]> =
    node.resource_type === 'model' ? [[node.compiled_sql_incremental, node.compiled_path_incremental ?? node.compiled_path], [node.compiled_sql, node.compiled_path]] : node.resource_type === 'seed' ? [] : [[node.compiled_sql, node.compiled_path]];
  let path = node.compiled_path;
  let pos: { line: number; column?: number } | undefined;
  if (e instanceof WarehouseError) {
    for (const [sql, p] of candidates) {
      pos = sql === undefined ? undefined : compiledPosition(e.sql, e.position, sql);
      if (pos) {
        path = p;
        raw = atCompiledLine(raw, e.position!.line, pos.line);
        break;
      }
    }
  }
  const where = `${node.file}${node.resource_type === 'test' && node.line ? `:${node.line}` : ''} (compiled SQL: ${path}${pos ? `:${pos.line}${pos.column ? `:${pos.column}` : ''}` : ''})`;
  return `${where}\n    ${indent(raw)}`;
}

function indent(message: string): string {
  return message.split('\n').filter((l, i) => i === 0 || l.trim()).join('\n    ');
}

/** Why a node was skipped after the run's signal came: its reason names the signal ('SIGINT' is Ctrl-C). */
function stoppedBy(reason: unknown): string {
  if (reason === 'SIGINT') return 'interrupted (Ctrl-C)';
  if (reason === 'lease') return 'interrupted (the job lost its lease)';
  return typeof reason === 'string' && /^SIG[A-Z0-9]+$/.test(reason) ? `interrupted (${reason})` : 'interrupted';
}

/** `adapter` may be undefined when the plan holds only unit tests (they need no warehouse). */
export async function executeRun(manifest: Manifest, adapter: Adapter | undefined, opts: RunOptions): Promise<RunSummary> {
  const started = performance.now();
  const { waitsFor, unmatched, ...planned } = opts.plan ?? planRun(manifest, opts);
  // (a plan made before --defer holds the nodes of the manifest it was made of: this one's are taken)
  const nodes = opts.plan ? planned.nodes.map((n) => manifest.nodes[n.unique_id] as PlanNode) : planned.nodes;
  const total = nodes.length;
  const results = new Map<string, NodeResult>();
  const byId = new Map(nodes.map((n) => [n.unique_id, n]));
  let done = 0;
  let stop = false;
  /** a node was skipped because the signal (Ctrl-C, serve's SIGTERM) had come */
  let skippedBySignal = false;

  // the schemas the run's nodes write to, made once each before on_run_start (dbt's order:
  // create_schemas, then the start hooks), so a hook may create a table in target.schema
  const schemas = new Set(nodes.filter((n): n is ModelNode | SeedNode | SnapshotNode => (n.resource_type === 'model' || n.resource_type === 'seed' || n.resource_type === 'snapshot') && !!n.relation).map((n) => n.relation!.schema));
  // (and the schemas the tests that store their failures write them to: dbt's <schema>_dbt_test__audit)
  for (const n of nodes) if (n.resource_type === 'test' && n.store_failures_as && n.audit_relation) schemas.add(n.audit_relation.schema);
  const warehouse = (): Adapter => {
    if (!adapter) throw new Error('this plan needs a warehouse connection');
    return adapter;
  };
  // on_run_start: before any node; if one fails, no node runs (on_run_end still does)
  const operations: NodeResult[] = [];
  const runOperations = async (hooks: Hook[] | undefined) => {
    if (!adapter || !hooks?.length) return true;
    for (const [i, h] of hooks.entries()) {
      const t0 = performance.now();
      const base = { unique_id: `operation.${manifest.metadata.project}.${h.kind}.${i}`, name: `${h.kind}.${i}`, resource_type: 'operation' as const, file: h.origin.replace(/:\d+$/, ''), compiled_path: '' };
      try {
        await runHooks([h], (sql) => adapter.execute(sql));
        const r: NodeResult = { ...base, status: 'success', execution_time: (performance.now() - t0) / 1000, message: h.origin };
        operations.push(r);
        opts.out(`${h.kind} ${i + 1} of ${hooks.length} OK ${h.origin} ${fmtTime(r.execution_time)}`);
      } catch (e) {
        let cause = e instanceof HookError && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e);
        // a run hook may read any table: in a project marking PII, the values its error quotes
        // are masked as a node's reading PII are (docs/governance.md#warehouse-errors)
        const { hasPii, redactedError } = await import('../check/pii-lineage.js');
        if (hasPii(manifest)) cause = redactedError(cause, [`(${h.kind} hook: any table)`], [h.sql]);
        const r: NodeResult = { ...base, status: 'error', execution_time: (performance.now() - t0) / 1000, message: `${h.origin} (${h.kind})\n    ${indent(cause)}` };
        operations.push(r);
        opts.out(`${h.kind} ${i + 1} of ${hooks.length} ERROR ${h.origin} ${fmtTime(r.execution_time)}\n  ${r.message}`);
        return false;
      }
    }
    return true;
  };
  for (const s of schemas) await warehouse().ensureSchema(s);
  const startFailed = !(await runOperations(manifest.hooks?.on_run_start));
  // the alert history and the retention log (built-in sources Vigil writes) exist before anything
  // reads them, even before any alert fired or any apply ran
  const builtins = new Set(nodes.filter((n) => n.resource_type === 'model' || n.resource_type === 'snapshot' || n.resource_type === 'test').flatMap((n) => n.depends_on.filter((d) => manifest.sources[d]?.meta?.vigil_builtin)));
  if (!startFailed && builtins.size && adapter) {
    const { ensureAlertEventsTable } = await import('../alerts/history.js');
    const { ensureLog } = await import('../retention/retention.js');
    for (const id of builtins) {
      const s = manifest.sources[id];
      if (s.meta?.vigil_builtin === 'alert_events') await ensureAlertEventsTable(adapter, s.relation.schema, (m) => opts.out(`warning: alert history: ${m}`));
      else if (s.meta?.vigil_builtin === 'retention_log' && (await adapter.relationExists(s.relation)) === null) await ensureLog(adapter, s.relation);
    }
  }

  const report = (r: NodeResult, n: PlanNode) => {
    done++;
    results.set(r.unique_id, r);
    const idx = `${done} of ${total}`;
    const t = fmtTime(r.execution_time);
    if (n.resource_type === 'model') {
      const kind = n.config.materialized === 'incremental' ? 'incremental' : n.config.materialized;
      if (r.status === 'success') opts.out(`${idx} OK ${r.message}${r.governance ? ` (${r.governance})` : ''} ${t}${r.warning ? `\n  warning: ${r.warning}` : ''}`);
      else if (r.status === 'skipped') opts.out(`${idx} SKIP ${kind} ${r.relation} (${r.message})`);
      else opts.out(`${idx} ERROR creating ${kind} ${r.relation} ${t}\n  ${r.message}`);
    } else if (n.resource_type === 'snapshot') {
      if (r.status === 'success') opts.out(`${idx} OK snapshot ${r.relation} (${r.message}) ${t}${r.warning ? `\n  warning: ${r.warning}` : ''}`);
      else if (r.status === 'skipped') opts.out(`${idx} SKIP snapshot ${r.relation} (${r.message})`);
      else opts.out(`${idx} ERROR snapshot ${r.relation} ${t}\n  ${r.message}`);
    } else if (n.resource_type === 'seed') {
      if (r.status === 'success') opts.out(`${idx} OK loaded seed ${r.relation} (${r.message}) ${t}${r.warning ? `\n  warning: ${r.warning}` : ''}`);
      else if (r.status === 'skipped') opts.out(`${idx} SKIP seed ${r.relation} (${r.message})`);
      else opts.out(`${idx} ERROR loading seed ${r.relation} ${t}\n  ${r.message}`);
    } else if (n.resource_type === 'unit_test') {
      const label = `unit ${n.model}::${n.name}`;
      if (r.status === 'pass') opts.out(`${idx} PASS ${label} ${t}`);
      else if (r.status === 'skipped') opts.out(`${idx} SKIP ${label} (${r.message})`);
      else opts.out(`${idx} ${r.status === 'error' ? 'ERROR' : 'FAIL'} ${label} ${t}\n  ${r.message}`);
    } else {
      if (r.status === 'pass') opts.out(`${idx} PASS ${r.name} ${t}`);
      else if (r.status === 'skipped') opts.out(`${idx} SKIP test ${r.name} (${r.message})`);
      else if (r.status === 'error') opts.out(`${idx} ERROR test ${r.name} ${t}\n  ${r.message}`);
      else opts.out(`${idx} ${r.status === 'warn' ? 'WARN' : 'FAIL'} ${r.failures} ${r.name} ${t}\n  ${r.message}`);
    }
  };

  const runModel = async (n: ModelNode): Promise<NodeResult> => {
    const t0 = performance.now();
    const relation = displayRelation(n);
    const base = { unique_id: n.unique_id, name: n.name, resource_type: 'model' as const, relation, file: n.file, compiled_path: n.compiled_path };
    try {
      const configured = grantsOf(n);
      const grants = configured && grantsHere ? { select: configured.select, mode: n.config.grants_mode } : undefined;
      // every grantee of the model and of its restricted companion is a role, asked before anything
      // is built: the companion is built after the model's transaction committed, so a grant
      // refused there would leave the new model beside the old companion
      if (grantsHere) await grantees(n, configured);
      const req = materializeRequest(n, opts.fullRefresh);
      const r = await warehouse().materialize({ ...req, preHooks: n.pre_hooks, postHooks: n.post_hooks, grants });
      // a unique_key (or insert_overwrite's partition column) the table has not: the first run (or
      // a full refresh) builds fine and every incremental run after it would fail; said now (an
      // incremental run fails on it by itself)
      const field = req.strategy === 'insert_overwrite' ? partitionField(n.config.partition_by) : undefined;
      // (append and insert_overwrite do not use a unique_key: warned about at compile, not checked)
      const keys = req.strategy !== 'append' && req.strategy !== 'insert_overwrite' ? (req.uniqueKey ?? []) : [];
      if (req.kind === 'incremental' && (field || keys.length) && /^(re)?created\b/.test(r.message)) {
        const cols = (await warehouse().columns(n.relation!)).map((c) => c.name);
        const have = new Set(cols.map((c) => c.toLowerCase()));
        const absent = (what: string, names: string[]) => {
          const missing = names.filter((k) => !have.has(k.toLowerCase()));
          if (!missing.length) return;
          const said = missing.map((k) => {
            const near = didYouMean(k, cols);
            return `'${k}'${near ? ` (did you mean '${near}'?)` : ''}`;
          }).join(', ');
          throw new Error(`${what} ${said} is not a column of ${relation} (its columns: ${cols.join(', ')}): the table is built, but an incremental run would fail on it`);
        };
        absent('unique_key', keys);
        absent('partition_by', field ? [field] : []);
      }
      const notes = await governance(n, r.grants);
      // views the build dropped that this run does not build again (the model's own restricted
      // companion, among them, was made again by governance() above)
      const warning = [r.warning, lostViews(n.name, 'rebuilding', r.dropped, r.droppedKeys), req.kind === 'incremental' && (req.fullRefresh || (r.refilled && r.rows !== 0)) ? retentionRebuilt(n, !req.fullRefresh) : ''].filter(Boolean).join('\n  warning: ');
      // the message as the progress line says it: the relation after the adapter's verb ("inserted 5 rows into")
      return { ...base, status: 'success', execution_time: (performance.now() - t0) / 1000, message: `${r.message} ${relation}`, ...(notes ? { governance: notes } : {}), ...(warning ? { warning } : {}), ...rowsAffected(r.rows) };
    } catch (e) {
      let message = fullRefreshBarred(describeError(e, n), n);
      // a post-hook failed after the build committed — one with transaction: false (the grants
      // were applied before such hooks), or any on a warehouse without transactions (BigQuery: the
      // grants were not applied yet): the relation is the new one, so its grants, its restricted
      // companion and that one's grants are made to match it too, or the companion dropped when
      // `restricted:` left the config (were: left as before, a grantee the config removed still
      // reading, the unmasked rows too, until a build succeeded)
      const afterCommit = e instanceof HookError && e.hook.kind === 'post_hook' && e.hook.transaction === false;
      if (e instanceof HookError && e.hook.kind === 'post_hook' && (afterCommit || (adapter && !adapter.warehouse.capabilities.transactions))) {
        try {
          const notes = await governance(n, afterCommit ? { grant: [], revoke: [] } : undefined);
          if (notes) message += `\n    (${notes})`;
        } catch (g) {
          message += `\n    and its governance failed: ${indent(g instanceof Error ? g.message : String(g))}`;
        }
      }
      return { ...base, status: 'error', execution_time: (performance.now() - t0) / 1000, message };
    }
  };

  /**
   * A failure whose way out is --full-refresh, of a model whose config has full_refresh: false:
   * that flag does not rebuild it (dbt's full_refresh wins over the flag), which is said with the
   * config's place (was: "run with --full-refresh", which failed again the same way).
   */
  const fullRefreshBarred = (message: string, n: ModelNode): string => {
    if (n.config.full_refresh !== false || !message.includes('--full-refresh')) return message;
    const a = n.config_at?.full_refresh;
    return `${message}
    (full_refresh: false in its config${a ? ` (${a.file}${a.line ? `:${a.line}` : ''})` : ''} keeps --full-refresh from rebuilding it: take it out for that run)`;
  };

  /** Fails the model, before its build, when a grantee of it or of its companion is no role of the warehouse. */
  const grantees = async (n: ModelNode, configured: { select: string[] } | undefined): Promise<void> => {
    const w = warehouse();
    const asked = [...(configured?.select ?? []), ...(n.restricted?.grants ?? [])];
    if (!w.missingRoles || !asked.length) return;
    const missing = await w.missingRoles(asked);
    if (!missing.length) return;
    const at = (key: string) => {
      const a = n.config_at?.[key];
      return a ? `${a.file}${a.line ? `:${a.line}` : ''}` : n.file;
    };
    const where = missing.map((r) => `'${r}' (${n.restricted?.grants.includes(r) && !configured?.select.includes(r) ? `restricted.grants, ${at('restricted')}` : `grants, ${at('grants')}`})`);
    throw new Error(`${missing.length === 1 ? 'role' : 'roles'} ${where.join(', ')} ${missing.length === 1 ? 'is' : 'are'} no role of the warehouse: nothing was built (${displayRelation(n)}${n.restricted ? ` and its restricted view` : ''} left as they were); create the role or take it out of the config`);
  };

  // governance (docs/governance.md): the restricted companion, then the grants of both relations.
  // A warehouse without access control (DuckDB) says so once per run, and grants nothing.
  const governed = nodes.filter((n): n is ModelNode => n.resource_type === 'model' && (!!n.config.grants || !!n.restricted));
  const grantsHere = !!adapter?.warehouse.capabilities.grants;
  /**
   * The grants a build of `n` applies: its `grants:`; `grants_mode: add` without them grants
   * nothing and revokes nothing, and (Postgres) carries over the privileges of a relation the
   * build replaces, as `grants: { select: [] }` with add does (docs/governance.md#grants)
   */
  const grantsOf = (n: ModelNode): { select: string[] } | undefined => n.config.grants ?? (n.config.grants_mode === 'add' ? { select: [] } : undefined);
  if (governed.length && adapter && !grantsHere) {
    opts.out(`warning: ${adapter.type} has no access control: the grants of ${governed.length} model${governed.length === 1 ? '' : 's'} (${governed.map((n) => n.name).join(', ')}) are not applied, and a restricted companion is readable by whoever can open the database`);
  }
  /** `schema.identifier` of every relation a node of the manifest builds (made once, when a governed model first asks) */
  let built: Set<string> | undefined;
  const builtRelations = () => (built ??= new Set(Object.values(manifest.nodes).flatMap((x) => ((x.resource_type === 'model' || x.resource_type === 'seed' || x.resource_type === 'snapshot') && x.relation ? [`${x.relation.schema}.${x.relation.identifier}`] : []))));
  /** `schema.identifier` of every restricted companion of the manifest's models (made once, when a build dropped views) */
  let restrictedViews: Set<string> | undefined;
  const companions = () => (restrictedViews ??= new Set(Object.values(manifest.nodes).flatMap((x) => (x.resource_type === 'model' && x.restricted ? [`${x.restricted.relation.schema}.${x.restricted.relation.identifier}`] : []))));
  /** The relations the models of this run build (and their restricted companions): asked once, when a build dropped views. */
  let rebuilt: Set<string> | undefined;
  const rebuiltRelations = () =>
    (rebuilt ??= new Set(
      nodes.flatMap((x) =>
        x.resource_type === 'model' && x.relation
          ? [`${x.relation.schema}.${x.relation.identifier}`, ...(x.restricted ? [`${x.restricted.relation.schema}.${x.restricted.relation.identifier}`] : [])]
          : // (a test of the run storing its failures as a view stores them again after the model)
            x.resource_type === 'test' && x.store_failures_as && x.audit_relation
            ? [`${x.audit_relation.schema}.${x.audit_relation.identifier}`]
            : [],
      ),
    ));
  /** `schema.identifier` -> the test storing its failures there (made once, when a build dropped views) */
  let auditViews: Map<string, string> | undefined;
  const auditOf = () => (auditViews ??= new Map(Object.values(manifest.nodes).flatMap((x) => (x.resource_type === 'test' && x.store_failures_as && x.audit_relation ? [[`${x.audit_relation.schema}.${x.audit_relation.identifier}`, x.name] as const] : []))));
  /**
   * Views a build or load (`doing`) of node `name` dropped with it (Postgres' cascade) that no node
   * of this run builds again, and the foreign keys of other tables it dropped, said ('' when none):
   * a view that is a node of the project is built again by `-s name+`; the others (a materialized
   * view or a foreign key of the application's) are for their owner to re-create.
   */
  const lostViews = (name: string, doing: string, dropped: Relation[] | undefined, keys: DroppedKey[] | undefined): string => {
    const gone = (dropped ?? []).map((v) => `${v.schema}.${v.identifier}`).filter((v) => !rebuiltRelations().has(v));
    const ofProject = (v: string) => builtRelations().has(v) || companions().has(v);
    // (a test's stored failures, a view reading the model: no model's, but the project's own; was:
    // "not a model of this project ...; re-create it")
    const stored = gone.filter((v) => !ofProject(v) && auditOf().has(v));
    const ours = gone.filter(ofProject);
    const others = gone.filter((v) => !ofProject(v) && !auditOf().has(v));
    const them = (n: number) => (n === 1 ? 'it' : 'them');
    const said: string[] = [];
    if (ours.length) said.push(`${doing} it ${droppedViewsPhrase(ours.length)}, not rebuilt by this run: ${ours.join(', ')}; vigil run -s ${name}+ builds ${them(ours.length)} again`);
    if (stored.length) said.push(`${doing} it ${droppedViewsPhrase(stored.length)}, the stored failures of ${stored.length === 1 ? 'test' : 'tests'} ${stored.map((v) => auditOf().get(v)).join(', ')} (store_failures_as: view), not run by this run: ${stored.join(', ')}; vigil test -s ${stored.map((v) => auditOf().get(v)).join(' ')} stores ${them(stored.length)} again`);
    if (others.length) said.push(`${doing} it ${droppedViewsPhrase(others.length)}, not ${others.length === 1 ? 'a model' : 'models'} of this project: ${others.join(', ')}; re-create ${them(others.length)}`);
    // (a key of a table this run builds again is its post_hook's to add again: not said)
    keys = keys?.filter((k) => !rebuiltRelations().has(`${k.on.schema}.${k.on.identifier}`));
    if (keys?.length) said.push(`${doing} it dropped ${keys.length === 1 ? 'the foreign key' : `${keys.length} foreign keys`} of other tables referencing it (Postgres' drop ... cascade): ${keys.map((k) => `constraint ${k.constraint} on ${k.on.schema}.${k.on.identifier}`).join(', ')}; re-create ${them(keys.length)} (alter table ... add constraint ... foreign key)`);
    return said.join('\n  warning: ');
  };
  /** `applied`: the grants the adapter applied in the model's own transaction (the others are applied here). */
  const governance = async (n: ModelNode, applied: GrantPlan | undefined): Promise<string> => {
    const notes: string[] = [];
    const { applyGrants, describeGrants } = await import('./grants.js');
    if (n.restricted) {
      const req = { kind: 'view' as const, relation: n.restricted.relation, sql: n.restricted.compiled_sql, fullRefresh: false, grants: grantsHere ? { select: n.restricted.grants } : undefined };
      const r = await warehouse().materialize(req);
      // marked as Vigil's companion of this model: found and dropped once no model builds it (run/companions.ts)
      await warehouse().commentView?.(n.restricted.relation, companionMark(manifest.metadata.project, n.relation!));
      notes.push(`restricted view ${displayRelation({ ...n, relation: n.restricted.relation })}`);
      if (grantsHere) {
        const g = describeGrants(r.grants ?? (await applyGrants(warehouse(), n.restricted.relation, 'view', n.restricted.grants, 'replace')));
        if (g) notes.push(`restricted: ${g}`);
      }
    } else if (n.relation && (n.config.grants || needsMasking(n.columns))) {
      // `restricted:` taken out of a governed model's config: its companion view (the unmasked
      // rows, with its grants) would stay readable as it was; dropped, unless a node builds it
      const rel = { ...n.relation, identifier: `${n.relation.identifier}__restricted` };
      if (!builtRelations().has(`${rel.schema}.${rel.identifier}`) && (await warehouse().relationExists(rel)) === 'view') {
        await warehouse().execute(`drop view ${warehouse().dialect.relation(rel)}`);
        notes.push(`dropped the restricted view ${displayRelation({ ...n, relation: rel })} (restricted: is no longer in its config)`);
      }
    }
    // (add without grants: nothing to apply after the build, only what the adapter carried over)
    const configured = grantsOf(n);
    if (configured && grantsHere && (applied || n.config.grants)) {
      const g = describeGrants(applied ?? (await applyGrants(warehouse(), n.relation!, n.config.materialized === 'view' ? 'view' : 'table', configured.select, n.config.grants_mode ?? 'replace')));
      if (g) notes.push(g);
    }
    return notes.join('; ');
  };

  const runSnap = async (n: SnapshotNode): Promise<NodeResult> => {
    const t0 = performance.now();
    const base = { unique_id: n.unique_id, name: n.name, resource_type: 'snapshot' as const, relation: displayRelation(n), file: n.file, compiled_path: n.compiled_path };
    try {
      const { runSnapshot } = await import('./snapshot.js');
      const r = await runSnapshot(warehouse(), n, { empty: opts.empty });
      return { ...base, status: 'success', execution_time: (performance.now() - t0) / 1000, message: r.message, ...(r.warning ? { warning: r.warning } : {}), ...rowsAffected(r.rows) };
    } catch (e) {
      return { ...base, status: 'error', execution_time: (performance.now() - t0) / 1000, message: describeError(e, n) };
    }
  };

  const runSeed = async (n: SeedNode): Promise<NodeResult> => {
    const t0 = performance.now();
    const base = { unique_id: n.unique_id, name: n.name, resource_type: 'seed' as const, relation: displayRelation(n), file: n.file, compiled_path: n.compiled_path };
    try {
      if (!opts.seedLoader) throw new Error('no seed loader');
      const r = await opts.seedLoader(n, warehouse());
      // its columns changed: the views that read it were dropped with it (Postgres)
      const warning = lostViews(n.name, 'loading', r.dropped, r.droppedKeys);
      return { ...base, status: 'success', execution_time: (performance.now() - t0) / 1000, message: `${r.rows} row${r.rows === 1 ? '' : 's'}`, ...(warning ? { warning } : {}), ...rowsAffected(r.rows) };
    } catch (e) {
      return { ...base, status: 'error', execution_time: (performance.now() - t0) / 1000, message: `${n.file}\n    ${indent(e instanceof Error ? e.message : String(e))}` };
    }
  };

  const runUnit = async (n: UnitTestNode): Promise<NodeResult> => {
    const t0 = performance.now();
    const base = { unique_id: n.unique_id, name: n.name, resource_type: 'unit_test' as const, file: n.file, compiled_path: n.compiled_path };
    if (!opts.unitRunner) return { ...base, status: 'error', execution_time: 0, message: 'no unit test runner' };
    const r = await opts.unitRunner.run(n, () => piiOf(n));
    // (dbt's failures of a unit test: 0 when it passes, 1 when it fails; none when it errors)
    return { ...base, status: r.status, execution_time: (performance.now() - t0) / 1000, message: r.message, ...(r.status === 'error' ? {} : { failures: r.status === 'fail' ? 1 : 0 }) };
  };

  // a failing test's sample masks the columns carrying PII (docs/governance.md), and so does a
  // failing unit test's diff of the rows its model read from the warehouse (docs/models.md): the
  // PII lineage of the run's tests and unit tests, traced once, at the first failure
  // and a failed node's warehouse error masks the values it quotes when the node reads live PII
  // (redactedError): the lineage of every model too, traced once, at the first failure of either
  let runPii: Promise<Awaited<ReturnType<typeof import('../check/pii-lineage.js').piiLineage>> | undefined> | undefined;
  const lineageOfRun = () =>
    (runPii ??= (async () => {
      const { piiLineage } = await import('../check/pii-lineage.js');
      const tests = nodes.filter((t): t is TestNode | UnitTestNode => t.resource_type === 'test' || t.resource_type === 'unit_test');
      // a unit test reads its givens (CTEs of its SQL), not its model's parents: what it reads by name is what it reads
      // (a given read from a seed's CSV as the seed's relation: its data, PII and all, is the seed's)
      const queries = tests.map((t) => ({ id: t.unique_id, sql: (t.resource_type === 'unit_test' ? t.pii_sql : undefined) ?? t.compiled_sql, depends_on: t.resource_type === 'test' ? t.depends_on : [] }));
      // (a plan of unit tests alone opens no warehouse: they were compiled in the dialect of the engine they run on)
      const unit = tests.find((t): t is UnitTestNode => t.resource_type === 'unit_test');
      const dialect = adapter?.dialect ?? (await import('../adapters/index.js')).dialectOf(unit?.engine);
      return await piiLineage(manifest, dialect, { root: opts.root, queries, relations: !!unit, everyModel: true });
    })().catch(() => undefined));
  const piiOf = async (n: TestNode | UnitTestNode): Promise<QueryPii | undefined> => {
    const all = await lineageOfRun();
    // not traced (the lineage failed): every column may hold PII
    return all ? all.queries.get(n.unique_id) : { live: new Map(), traced: new Set(), unseen: ['(the PII lineage of the tests failed)'], unknown: new Set(), diagnostics: [], reads: ['(the PII lineage of the run failed)'] };
  };
  /**
   * A failed node's result, the values its warehouse error quotes masked when it reads live PII
   * (docs/governance.md#warehouse-errors); and a snapshot's warning, which quotes the keys of the
   * rows it versioned at the run's time, the same way.
   */
  const withoutPii = async (r: NodeResult, n: PlanNode): Promise<NodeResult> => {
    const warned = n.resource_type === 'snapshot' && !!r.warning;
    if (r.status !== 'error' && !warned) return r;
    const { hasPii, redactedError } = await import('../check/pii-lineage.js');
    const { isPii } = await import('../compile/masking.js');
    if (!hasPii(manifest)) return r;
    let reads: string[] | undefined;
    if (n.resource_type === 'test' || n.resource_type === 'unit_test') reads = (await piiOf(n))?.reads;
    else {
      const all = await lineageOfRun();
      const own = n.columns.filter((c) => isPii(c)).map((c) => `${n.name}.${c.name}`);
      reads = [...(!all ? ['(the PII lineage of the run failed)'] : n.resource_type === 'seed' ? [...(all.live.get(n.unique_id)?.values() ?? [])] : (all.reading.get(n.unique_id) ?? [])), ...own];
    }
    const sql = n.resource_type === 'model' ? [n.compiled_sql, n.compiled_sql_incremental, n.unmasked_sql, ...(n.pre_hooks ?? []), ...(n.post_hooks ?? [])].map((x) => (typeof x === 'string' ? x : x?.sql)) : n.resource_type === 'seed' ? [] : [n.compiled_sql];
    const masked = (text: string) => redactedError(text, [...new Set(reads)], sql.filter((x): x is string => !!x));
    return { ...r, ...(r.status === 'error' ? { message: masked(r.message) } : {}), ...(warned ? { warning: masked(r.warning!) } : {}) };
  };

  /**
   * A test storing its failures (store_failures, store_failures_as): its failing rows (at most
   * `limit` of them) replace the table or view of its audit relation, as dbt's test
   * materialization drops and creates it each run (a passing test leaves an empty table). The
   * columns a failing test's sample masks (docs/governance.md#failing-tests-samples) are stored
   * masked the same way, `'****'` (NULL as NULL), and in a view too: the PII a sample would not
   * print is never written to the warehouse a second time. Returns the relation's SQL when its
   * rows are the test's as the warehouse computed them (nothing masked): dbt counts its failures
   * from it; a masked relation's failures are counted from the query.
   */
  const storeFailures = async (n: TestNode, rows: string): Promise<string | undefined> => {
    const w = warehouse();
    const cols = await queryColumns(w, rows);
    if (!cols) throw new Error(`store_failures: ${w.dialect.name} did not name the columns of the failing rows before they are stored, so Vigil cannot mask the ones carrying PII; the failures were not stored (remove store_failures)`);
    const { maskedColumns } = await import('../check/pii-lineage.js');
    const masked = maskedColumns(cols, await piiOf(n));
    // the drop and the create in one transaction where the warehouse has them (Postgres, as dbt's
    // test materialization there; DuckDB's exclusive() is one transaction too; BigQuery: two statements): a create that fails leaves the last run's failures, and a
    // reader never finds the relation gone in between; under the lock a build of it takes, so two
    // runs storing one test's failures replace them one after the other
    const replace = async (a: Pick<Adapter, 'execute' | 'relationExists'>) => {
      const plan = failureStoreStatements({ kind: n.store_failures_as!, relation: n.audit_relation!, rows, columns: cols, masked, existing: await a.relationExists(n.audit_relation!), dialect: w.dialect });
      for (const sql of plan.statements) await a.execute(sql);
      return plan.countFrom;
    };
    return w.exclusive ? w.exclusive(n.audit_relation!, replace) : replace(w);
  };

  const runTest = async (n: TestNode): Promise<NodeResult> => {
    const t0 = performance.now();
    const base = { unique_id: n.unique_id, name: n.name, resource_type: 'test' as const, file: n.file, compiled_path: n.compiled_path };
    try {
      const { limitedSql, testResultSql, should } = await import('../compile/test-results-config.js');
      // dbt's test: the failing rows (at most limit), stored when it stores its failures, then
      // fail_calc over them and whether it crosses warn_if / error_if, computed by the warehouse
      const rows = limitedSql(n.compiled_sql, n.limit);
      const stored = n.store_failures_as && n.audit_relation ? await storeFailures(n, rows) : undefined;
      const [res] = await warehouse().query<{ failures: unknown; should_warn?: unknown; should_error?: unknown }>(testResultSql(stored ?? rows, n));
      const raw = res?.failures;
      const label = n.fail_calc ? `fail_calc ${n.fail_calc}` : 'failing rows';
      // (dbt refuses a result that is no number: a fail_calc of sum() over no rows is NULL)
      if (raw === null || raw === undefined || !Number.isFinite(Number(raw))) throw new Error(`fail_calc ${n.fail_calc ?? 'count(*)'} gave ${raw === null || raw === undefined ? 'NULL' : JSON.stringify(String(raw))}, not a number: write it so that it gives one over any rows (coalesce(sum(...), 0))`);
      const value = Number(raw);
      const where = `${n.file}${n.line ? `:${n.line}` : ''}`;
      const storedAt = n.audit_relation && n.store_failures_as ? `; failures stored in ${displayRel(n.audit_relation)}` : '';
      // dbt's statuses: fail when severity is error and error_if holds; else warn when warn_if
      // holds (error_if does not count under severity: warn); else pass, with failures 0
      const crossed = should(res);
      const status = n.severity === 'error' && crossed.error ? 'fail' : crossed.warn ? 'warn' : 'pass';
      if (status === 'pass') return { ...base, status: 'pass', execution_time: (performance.now() - t0) / 1000, message: `pass${n.fail_calc || n.warn_if || n.error_if || storedAt ? ` (${[...(n.fail_calc || n.warn_if || n.error_if ? [`${label}: ${value}`] : []), ...(storedAt ? [storedAt.slice(2)] : [])].join('; ')})` : ''}`, failures: 0 };
      const { maskedSample } = await import('../check/pii-lineage.js');
      const sample = maskedSample(await warehouse().query(`select * from (\n${rows}\n) as vigil_test limit 5`), await piiOf(n));
      const threshold = status === 'fail' ? `configured to fail if ${n.error_if ?? '!=0'}` : `configured to warn if ${n.warn_if ?? '!=0'}`;
      const what = n.fail_calc ? `${label} is ${value}` : `${value} row${value === 1 ? '' : 's'} failed`;
      const message = `${what}${n.fail_calc || n.warn_if || n.error_if ? `, ${threshold}` : ''} (${where}; query: ${n.compiled_path}${storedAt})${formatSample(sample)}`;
      return { ...base, status, execution_time: (performance.now() - t0) / 1000, message, failures: value, sample };
    } catch (e) {
      // (a column written unquoted, as dbt writes it, that the warehouse did not read as its name:
      // `where my col is null`, Postgres' `MyCol` read as mycol — its own HINT names another column)
      // (only for an error the quoting makes: not for a relation not built, another column)
      const said = n.column_unquoted && n.column !== undefined && e instanceof WarehouseError ? unquotedColumnHint(n.column, warehouse().dialect, e.message) : undefined;
      const hint = said ? `\n    ${said}` : '';
      return { ...base, status: 'error', execution_time: (performance.now() - t0) / 1000, message: describeError(e, n) + hint };
    }
  };

  const blocked = (r: NodeResult | undefined, n: PlanNode | undefined): boolean => {
    if (!r || !n) return false;
    if (r.status === 'error' || r.status === 'skipped') return true;
    return r.status === 'fail'; // error-severity test failure
  };

  // scheduler: count unfinished waits per node; start ready nodes, up to `threads` at once
  const remaining = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const n of nodes) {
    const deps = waitsFor.get(n.unique_id) ?? [];
    remaining.set(n.unique_id, deps.length);
    for (const dep of deps) (dependents.get(dep) ?? dependents.set(dep, []).get(dep)!).push(n.unique_id);
  }
  const ready: string[] = nodes.filter((n) => remaining.get(n.unique_id) === 0).map((n) => n.unique_id);
  const threads = Math.max(1, opts.threads);
  let inFlight = 0;
  await new Promise<void>((resolveAll) => {
    const finished = (id: string) => {
      for (const c of dependents.get(id) ?? []) {
        const left = remaining.get(c)! - 1;
        remaining.set(c, left);
        if (left === 0) ready.push(c);
      }
    };
    const pump = () => {
      while (ready.length && inFlight < threads) {
        const id = ready.shift()!;
        const n = byId.get(id)!;
        const deps = waitsFor.get(id) ?? [];
        const bad = deps.find((x) => blocked(results.get(x), byId.get(x)));
        opts.checkpoint?.();
        const interrupted = !!opts.signal?.aborted;
        if (interrupted) skippedBySignal = true;
        if (bad || stop || interrupted || startFailed) {
          const why = interrupted ? stoppedBy(opts.signal!.reason) : startFailed ? 'an on_run_start hook failed' : stop ? 'stopped after a failure (--fail-fast)' : `upstream ${byId.get(bad!)!.name} ${results.get(bad!)!.status === 'skipped' ? 'was skipped' : 'failed'}`;
          report({ unique_id: id, name: n.name, resource_type: n.resource_type, status: 'skipped', execution_time: 0, message: why, relation: n.resource_type === 'model' || n.resource_type === 'seed' || n.resource_type === 'snapshot' ? displayRelation(n) : undefined, file: n.file, compiled_path: n.compiled_path }, n);
          finished(id);
          continue;
        }
        inFlight++;
        void (n.resource_type === 'model' ? runModel(n) : n.resource_type === 'seed' ? runSeed(n) : n.resource_type === 'snapshot' ? runSnap(n) : n.resource_type === 'unit_test' ? runUnit(n) : runTest(n)).then((r) => withoutPii(r, n).catch(async () => ({ ...r, message: (await import('../check/pii-lineage.js')).redactedError(r.message, ['(its PII lineage failed)']) }))).then((r) => {
          inFlight--;
          report(r, n);
          if (opts.failFast && (r.status === 'error' || r.status === 'fail')) stop = true;
          finished(id);
          pump();
        });
      }
      if (inFlight === 0 && !ready.length) resolveAll();
    };
    pump();
  });
  // nodes never reached (only possible if the plan had a cycle) are reported, not dropped
  for (const n of nodes) {
    if (!results.has(n.unique_id)) report({ unique_id: n.unique_id, name: n.name, resource_type: n.resource_type, status: 'skipped', execution_time: 0, message: 'dependencies could not be resolved', relation: n.resource_type === 'model' || n.resource_type === 'seed' || n.resource_type === 'snapshot' ? displayRelation(n) : undefined, file: n.file, compiled_path: n.compiled_path }, n);
  }

  // interrupted: the signal kept a node from running. One that came during the last node(s) let
  // the run finish: it is the run it would have been (its on_run_end runs; serve does not give
  // its slot back to be run again)
  const interrupted = skippedBySignal;
  // on_run_end: after the last node, whatever happened to the nodes (not after Ctrl-C)
  // restricted companions no model of the project builds any more (a model renamed, given another
  // alias, removed): the unmasked rows under no policy, named in a warning (run/companions.ts)
  if (!interrupted && adapter && !opts.deferred && (opts.command === 'run' || opts.command === 'build')) {
    const modelSchemas = new Set(nodes.flatMap((n) => (n.resource_type === 'model' && n.relation ? [n.relation.schema] : [])));
    if (modelSchemas.size) {
      try {
        await warnStaleCompanions(adapter, manifest.metadata.project, modelSchemas, companions(), builtRelations(), opts.out);
      } catch (e) {
        opts.out(`warning: could not look for restricted views no model builds any more: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      }
    }
  }
  const startOps = operations.length;
  if (!interrupted) await runOperations(manifest.hooks?.on_run_end);
  const ordered = [...operations.slice(0, startOps), ...nodes.map((n) => results.get(n.unique_id)!).filter(Boolean), ...operations.slice(startOps)];
  const ok = !interrupted && ordered.every((r) => r.status === 'success' || r.status === 'pass' || r.status === 'warn');
  return { results: ordered, elapsed: (performance.now() - started) / 1000, unmatched, ok, interrupted };
}

/** A failing row's value as the sample shows it: NULL, a date in ISO form, at most 40 characters. */
function cell(v: unknown): string {
  const s = v === null || v === undefined ? 'NULL' : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)) : String(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

/**
 * A failed node's line in the closing summary of a run: its message's first line and what
 * completes it — a failing test's first row (`{unique_field: 1, n_records: 2}`), a unit test's
 * first differing row under its heading, an error's first line of the warehouse's message — with
 * "(see above)" where the message goes on (it was cut after a table's header, or after
 * "missing rows (expected, not produced):").
 */
export function failureLine(r: Pick<NodeResult, 'status' | 'message' | 'sample' | 'failures'>): string {
  const lines = r.message.split('\n').map((l) => l.trim()).filter(Boolean);
  const more = (shown: number) => (lines.length > shown ? ' ... (see above)' : '');
  if (r.status === 'fail' && r.sample?.length) {
    const row = r.sample[0];
    const head = lines[0].replace(/:$/, '');
    const rest = r.sample.length > 1 || (r.failures ?? 0) > 1;
    return `${head}: ${rest ? 'first row' : 'row'} {${Object.keys(row).map((c) => `${c}: ${cell(row[c])}`).join(', ')}}${rest ? ' ... (see above)' : ''}`;
  }
  if (r.status === 'fail') {
    // headings (ending in ':') and the first line under them
    let n = 1;
    while (n < lines.length && lines[n - 1].endsWith(':')) n++;
    return lines.slice(0, n).join(' ') + more(n);
  }
  return lines.slice(0, 2).join(' ') + more(2);
}

function formatSample(rows: Row[]): string {
  if (!rows.length) return '';
  const cols = Object.keys(rows[0]);
  const table = [cols, ...rows.map((r) => cols.map((c) => cell(r[c])))];
  const widths = cols.map((_, i) => maxOf(table.map((r) => r[i].length)));
  const lines = table.map((r) => r.map((v, i) => v.padEnd(widths[i])).join(' | ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('-+-'));
  return ':\n    ' + lines.join('\n    ');
}

export function summarize(s: RunSummary): string {
  const nodes = s.results.filter((r) => r.resource_type !== 'operation');
  const hooks = s.results.length - nodes.length;
  const count = (st: NodeStatus[]) => nodes.filter((r) => st.includes(r.status)).length;
  const parts = [`OK=${count(['success', 'pass'])}`, `WARN=${count(['warn'])}`, `ERROR=${count(['error', 'fail'])}`, `SKIP=${count(['skipped'])}`, `TOTAL=${nodes.length}`];
  const failedHooks = s.results.filter((r) => r.resource_type === 'operation' && r.status === 'error').length;
  const hookPart = hooks ? ` (and ${hooks} run hook${hooks === 1 ? '' : 's'}${failedHooks ? `, ${failedHooks} failed` : ''})` : '';
  return `Finished ${nodes.length} node${nodes.length === 1 ? '' : 's'}${hookPart} in ${s.elapsed.toFixed(2)}s: ${parts.join(' ')}`;
}
