/**
 * `vigil retention plan` and `vigil retention apply` (docs/governance.md#retention): the plan
 * counts, per table with a `retention:` config, what would go and writes it to
 * target/retention_plan.json; apply deletes exactly that (the plan's fixed cutoffs), in batches.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { counted } from '../format.js';
import type { Adapter } from '../adapters/adapter.js';
import { diag, ProjectError, UsageError, WarehouseError, type Diagnostic } from '../errors.js';
import { writeTargetJson } from '../project/artifacts.js';
import { VIGIL_VERSION } from '../version.js';
import {
  actor,
  applyEntry,
  checkColumns,
  countAffected,
  cutoffOf,
  DEFAULT_MINIMUM,
  deleteReach,
  ensureLog,
  logRelation,
  parseWarehouseTime,
  PLAN_FILE,
  retentionTables,
  type PlanEntry,
  type RetentionPlan,
  type RetentionTable,
} from '../retention/retention.js';
import { compileForCommand, durationFlag, open, select, timestampFlag, type Common, type Compiled } from './commands.js';
import { err, out } from './output.js';
import { stopBetweenBatches } from './stop-between-batches.js';
import { docRef } from '../install.js';
import { redact } from '../secrets.js';

/** The adapters a retention command needs: the target's, and each source database apply_to: source names. */
async function openAll(c: Compiled, tables: RetentionTable[], opts: { readOnly?: boolean } = {}): Promise<{ adapterOf: (target: string) => Adapter; targetOf: (target: string) => { name: string; schema: string; database?: string }; close: () => Promise<void> }> {
  const { resolveTarget } = await import('../compile/resolve-target.js');
  const { openAdapter } = await import('../adapters/index.js');
  const opened = new Map<string, Adapter>();
  const where = new Map<string, { name: string; schema: string; database?: string }>();
  const close = async () => {
    for (const a of opened.values()) await a.close().catch(() => {});
  };
  try {
    opened.set(c.target.name, await open(c, 1, opts));
    where.set(c.target.name, { name: c.target.name, schema: c.target.schema, database: c.target.database });
    for (const name of new Set(tables.map((t) => t.source_target).filter((x): x is string => !!x && x !== c.target.name))) {
      const ds: Diagnostic[] = [];
      const t = resolveTarget(c.files, { target: name, env: process.env }, ds);
      if (!t) throw new ProjectError(ds);
      opened.set(name, await openAdapter(t, c.files.root, 1, opts));
      where.set(name, { name, schema: t.schema, database: t.database });
    }
  } catch (e) {
    await close();
    throw e;
  }
  return {
    adapterOf: (name) => opened.get(name)!,
    targetOf: (name) => where.get(name)!,
    close,
  };
}

function selected(c: Compiled, o: Common): RetentionTable[] {
  const { ids } = select(c.result.manifest, o);
  const tables = retentionTables(c.result.manifest, ids);
  if (!tables.length) {
    const any = retentionTables(c.result.manifest, new Set([...Object.keys(c.result.manifest.sources), ...Object.keys(c.result.manifest.nodes)])).length;
    throw new UsageError(any ? 'none of the selected tables has a retention config' : 'no source table or model has a retention config (retention: { column: created_at, keep: 90d } on a source table or in a model\'s config; ' + docRef('governance.md#retention') + ')');
  }
  return tables;
}

const plural = counted;

function printTable(entries: PlanEntry[]): void {
  const rows = [
    ['table', 'where', 'keep', 'cutoff', 'rows', 'oldest', 'newest'],
    ...entries.map((e) => [
      e.table,
      `${e.target}:${e.relation.schema}.${e.relation.identifier}`,
      `${e.keep}${e.override_days ? ` (or ${e.override_days})` : ''}${e.below_minimum ? ` < minimum ${e.minimum}` : ''}`,
      e.cutoff,
      `${e.rows.toLocaleString('en-US')}${e.partitions !== undefined ? ` (${plural(e.partitions, 'partition')})` : ''}`,
      e.oldest ?? '-',
      e.newest ?? '-',
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  rows.forEach((r, k) => {
    out(r.map((cell, i) => (i === 4 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd());
    if (k === 0) out(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

export async function runRetentionPlan(o: Common & { at?: string }): Promise<void> {
  const asOf = o.at === undefined ? new Date() : timestampFlag('--at', o.at);
  if (asOf.getTime() > Date.now() + 1000) throw new UsageError(`--at ${o.at} is in the future: a plan for a later time would delete rows that the retention period still keeps`);
  const c = compileForCommand(o, { writeArtifacts: false });
  const tables = selected(c, o);
  const minimum = c.files.project.retention?.minimum ?? DEFAULT_MINIMUM;
  const { getWarehouse } = await import('../adapters/index.js');
  // a plan only reads: a DuckDB file is opened read-only, beside a BI tool or a vigil show reading it
  const conns = await openAll(c, tables, { readOnly: true });
  const entries: PlanEntry[] = [];
  const reach: string[] = [];
  try {
    const problems: Diagnostic[] = [];
    const checks = new Map<string, Awaited<ReturnType<typeof checkColumns>>>();
    for (const t of tables) {
      const name = t.source_target ?? c.target.name;
      const checked = await checkColumns(conns.adapterOf(name), t, `target '${name}'`);
      problems.push(...checked.problems);
      checks.set(t.unique_id, checked);
    }
    if (problems.length) throw new ProjectError(problems);
    out(`vigil ${VIGIL_VERSION} retention plan: target ${c.target.name} (${c.target.type}), ${plural(tables.length, 'table')}, as of ${asOf.toISOString()}, minimum keep ${minimum}`);
    for (const t of tables) {
      const adapter = conns.adapterOf(t.source_target ?? c.target.name);
      const target = conns.targetOf(t.source_target ?? c.target.name);
      const { cutoff, floor, belowMinimum } = cutoffOf(asOf, t.keep, minimum);
      const base = {
        unique_id: t.unique_id,
        table: t.name,
        target: target.name,
        apply_to: t.apply_to,
        relation: t.relation,
        column: t.column,
        column_type: checks.get(t.unique_id)!.columnType,
        keep: t.keep,
        override_days: t.override_days ?? null,
        minimum,
        batch_size: t.batch_size,
        as_of: asOf.toISOString(),
        cutoff: cutoff.toISOString(),
        override_floor: t.override_days ? floor.toISOString() : null,
        below_minimum: belowMinimum,
        at: t.at,
      };
      // (counted with the columns as the warehouse spells them; the plan keeps the config's spelling, which apply compares)
      const { column, overrideDays } = checks.get(t.unique_id)!;
      const counted = await countAffected(adapter, { ...base, column, override_days: overrideDays ?? null, partition: t.partition }, !!getWarehouse(adapter.type)?.capabilities.partitions);
      entries.push({ ...base, ...counted });
      // rows of other tables the delete reaches (a foreign key's ON DELETE CASCADE): said, never silent
      reach.push(...(await deleteReach(adapter, { ...base, column, override_days: overrideDays ?? null }, counted.rows)));
    }
  } finally {
    await conns.close();
  }
  out('');
  printTable(entries);
  const plan: RetentionPlan = { vigil_version: VIGIL_VERSION, generated_at: new Date().toISOString(), target: c.target.name, as_of: asOf.toISOString(), minimum, tables: entries };
  const file = writeTargetJson(c.files, PLAN_FILE, plan);
  const total = entries.reduce((a, e) => a + e.rows, 0);
  // (the tables with rows to delete, of the tables planned: "0 rows in 0 tables" hid that 1 was planned)
  const affected = entries.filter((e) => e.rows).length;
  const where = affected === entries.length ? plural(affected, 'table') : `${affected} of ${plural(entries.length, 'table')}`;
  out(`\n${total ? `${plural(total, 'row')} in ${where} would be deleted` : `No rows would be deleted (${plural(entries.length, 'table')} planned, none past its cutoff)`}. Plan written to ${file.slice(c.files.root.length + 1)}; vigil retention apply deletes exactly these rows.`);
  for (const line of reach) err(`warning: ${line}`);
  for (const e of entries.filter((x) => x.below_minimum)) err(`warning: ${e.table} keeps ${e.keep}, shorter than the project's retention minimum ${minimum} (${e.at.file}:${e.at.line ?? 1}): apply refuses it without --force`);
}

/**
 * The first line of a warehouse's error of an apply, the values it quotes from the rows masked when
 * the table has a column that carries PII (declared, or named like prompt content), as a stream's
 * sync failure and a node's error are (check/pii-lineage.ts redactedError): DuckDB's `key "email:
 * a@x.com" is still referenced` named the key of the row it could not delete.
 */
async function failureLine(c: Compiled, adapter: Adapter, e: PlanEntry, message: string): Promise<string> {
  const line = message.split('\n')[0];
  const declared = (c.result.manifest.sources[e.unique_id] ?? c.result.manifest.nodes[e.unique_id])?.columns ?? [];
  const { isPii, undeclaredContent } = await import('../compile/policy.js');
  const names = (await adapter.columns(e.relation).catch(() => [])).map((x) => x.name);
  const pii = [...declared.filter((x) => isPii(x)).map((x) => x.name), ...names.filter((n) => undeclaredContent(n, declared))];
  if (!pii.length) return line;
  const { redactedError } = await import('../check/pii-lineage.js');
  return redactedError(line, pii.map((n) => `${e.table}.${n}`)).replace(/\n\s*/g, ' ');
}

/** What makes `e` not a table of a plan vigil retention plan wrote (the fields apply reads), or undefined. */
function planEntryProblem(e: unknown): string | undefined {
  if (!e || typeof e !== 'object' || Array.isArray(e)) return 'not a table of a plan';
  const x = e as Record<string, unknown>;
  for (const k of ['unique_id', 'table', 'target', 'column', 'keep', 'cutoff', 'as_of']) if (typeof x[k] !== 'string') return `no ${k}`;
  const r = x.relation as Record<string, unknown> | null | undefined;
  if (!r || typeof r !== 'object' || typeof r.schema !== 'string' || typeof r.identifier !== 'string') return 'no relation';
  if (typeof x.rows !== 'number' || !Number.isInteger(x.rows) || x.rows < 0) return 'no count of rows';
  if (typeof x.batch_size !== 'number' || !Number.isInteger(x.batch_size) || x.batch_size < 1) return 'no batch_size';
  for (const k of ['oldest', 'newest', 'override_days', 'override_floor']) if (x[k] !== null && x[k] !== undefined && typeof x[k] !== 'string') return `${k} is not text`;
  return undefined;
}

export async function runRetentionApply(o: Common & { plan?: string; force?: boolean; wait?: string }): Promise<void> {
  const waitMs = o.wait === undefined ? undefined : durationFlag('--wait', o.wait);
  const c = compileForCommand(o, { writeArtifacts: false });
  const path = o.plan ? resolve(process.cwd(), o.plan) : join(c.files.root, c.files.paths.target, PLAN_FILE);
  if (!existsSync(path)) throw new UsageError(`no plan at ${o.plan ?? `${c.files.paths.target}/${PLAN_FILE}`}: run vigil retention plan first (apply deletes exactly what a plan counted)`);
  // (a folder is no plan: was "is not a retention plan (EISDIR ...); run vigil retention plan again")
  if (statSync(path).isDirectory()) throw new UsageError(`${o.plan ? `--plan ${o.plan}` : `${c.files.paths.target}/${PLAN_FILE}`}: that is a folder: give the plan file vigil retention plan wrote`);
  let plan: RetentionPlan;
  try {
    plan = JSON.parse(readFileSync(path, 'utf8')) as RetentionPlan;
    if (!Array.isArray(plan.tables) || typeof plan.target !== 'string') throw new Error('not a retention plan');
    // (each table as plan wrote it: a truncated or hand-edited one failed with an internal error, "reading 'schema'")
    plan.tables.forEach((e, i) => {
      const bad = planEntryProblem(e);
      if (bad) throw new Error(`tables[${i}]: ${bad}`);
    });
  } catch (e) {
    throw new UsageError(`${o.plan ?? `${c.files.paths.target}/${PLAN_FILE}`} is not a retention plan (${(e as Error).message}); run vigil retention plan again`);
  }
  if (!(Date.parse(plan.as_of) <= Date.now() + 1000)) throw new UsageError(`the plan is as of ${plan.as_of}, which is not a time in the past: its cutoffs would delete rows still in their retention period; run vigil retention plan again`);
  if (plan.target !== c.target.name) throw new UsageError(`the plan was made for target '${plan.target}', this is target '${c.target.name}': run vigil retention plan --target ${c.target.name}`);
  // the plan's tables, narrowed by -s; each must still have the retention config it was planned with
  const current = new Map(selected(c, o).map((t) => [t.unique_id, t]));
  const entries = o.select?.length || o.exclude?.length ? plan.tables.filter((e) => current.has(e.unique_id)) : plan.tables;
  if (!entries.length) throw new UsageError('the plan has none of the selected tables: run vigil retention plan with the same selection');
  const minimum = c.files.project.retention?.minimum ?? DEFAULT_MINIMUM;
  const problems: Diagnostic[] = [];
  for (const e of entries) {
    const t = current.get(e.unique_id);
    // where the rows are deleted is part of it: the same relation name in the warehouse and in
    // the application's database (apply_to: source) are two tables
    const now = t ? { column: t.column, keep: t.keep, override_days: t.override_days ?? null, relation: `${t.relation.schema}.${t.relation.identifier}`, apply_to: t.apply_to ?? null, target: t.source_target ?? c.target.name } : undefined;
    const planned = { column: e.column, keep: e.keep, override_days: e.override_days, relation: `${e.relation.schema}.${e.relation.identifier}`, apply_to: e.apply_to ?? null, target: e.target };
    if (JSON.stringify(now) !== JSON.stringify(planned)) {
      problems.push(diag('E_RETENTION', `${e.table}: the plan was made for ${JSON.stringify(planned)}, the project now says ${now ? JSON.stringify(now) : 'no retention'}`, t?.at ?? e.at, 'run vigil retention plan again'));
      continue;
    }
    // the plan's instants must follow from its keep and the project's minimum now (an edited plan, a changed minimum)
    const { belowMinimum, cutoff, floor } = cutoffOf(new Date(e.as_of), e.keep, minimum);
    if (!(Date.parse(e.as_of) <= Date.now() + 1000) || cutoff.toISOString() !== e.cutoff || (e.override_days !== null && floor.toISOString() !== e.override_floor)) {
      problems.push(diag('E_RETENTION', `${e.table}: the plan's cutoff ${e.cutoff}${e.override_days ? ` and floor ${e.override_floor}` : ''} do not follow from keep ${e.keep} and the project's retention minimum ${minimum} as of ${e.as_of}`, t!.at, 'run vigil retention plan again'));
      continue;
    }
    if (belowMinimum && !o.force) problems.push(diag('E_RETENTION', `${e.table}: keep ${e.keep} is shorter than the project's retention minimum ${minimum}; nothing was deleted`, t!.at, `lower retention.minimum in project.yaml, or pass --force if ${e.keep} is meant`));
  }
  if (problems.length) throw new ProjectError(problems);

  const conns = await openAll(c, [...current.values()].filter((t) => entries.some((e) => e.unique_id === t.unique_id)));
  const runId = randomUUID();
  const who = actor();
  const stop = stopBetweenBatches(err);
  let lock: { release(): Promise<void> } | undefined;
  let lockDb: Adapter | undefined;
  try {
    // the synced streams whose warehouse copy this deletes in: held from the count to the log's
    // last line, so no sync of them runs meanwhile (one that read the log before this apply copied
    // back what it deleted) — stream-lock.ts; a DuckDB file has one process at a time
    const streams = entries.filter((e) => e.apply_to === 'warehouse' && e.target === c.target.name && c.result.manifest.sources[e.unique_id]?.sync).map((e) => e.table);
    const { getWarehouse } = await import('../adapters/index.js');
    if (streams.length && !getWarehouse(c.target.type)?.capabilities.singleProcess) {
      const { streamLocker, lockLeaseMs, StreamBusy } = await import('../sync/stream-lock.js');
      lockDb = await open(c, 1);
      try {
        // (a role that may not keep the lease table: warned, applied without the lease)
        const locker = streamLocker(lockDb, c.target.schema, 'vigil retention apply', { leaseMs: lockLeaseMs(c.files), ...(waitMs !== undefined ? { waitMs } : {}), signal: stop.signal, warn: err, doing: 'deleting', beside: 'a sync of these streams may run meanwhile and copy back what this apply deletes' });
        lock = await locker(streams, (line) => out(line));
      } catch (x) {
        if (!(x instanceof StreamBusy)) throw x;
        err(`error: ${x.message}: nothing was deleted; run vigil retention apply again once it is done (the plan stands)`);
        process.exitCode = stop.exitCode() ?? 1;
        return;
      }
    }
    // the column's type as the warehouse has it now (the bounds are compared in it; a plan
    // written before it was recorded has none), and the columns as it spells them
    const gone: Diagnostic[] = [];
    for (const [i, e] of entries.entries()) {
      const checked = await checkColumns(conns.adapterOf(e.target), current.get(e.unique_id)!, `target '${e.target}'`);
      gone.push(...checked.problems);
      entries[i] = { ...e, column_type: checked.columnType, column: checked.column, override_days: checked.overrideDays ?? null, partition: current.get(e.unique_id)!.partition };
    }
    if (gone.length) throw new ProjectError(gone);
    // every table counted again before anything is deleted: more rows before a cutoff than the
    // plan counted, or a row older than its oldest or newer than its newest, means the data
    // changed under it (a backfill, a moved timestamp) — the count alone passed a backfilled row
    // beside a planned row moved out of reach. (Rows the plan counted and a stopped apply already
    // deleted leave fewer rows within the same bounds: deleted oldest first.)
    const remaining = new Map<string, number>();
    const drift: string[] = [];
    const at = (t: string | null) => (t === null ? undefined : parseWarehouseTime(t).getTime());
    for (const e of entries) {
      const now = await countAffected(conns.adapterOf(e.target), e, false);
      remaining.set(e.unique_id, now.rows);
      if (now.rows > e.rows) drift.push(`${e.table}: the plan counted ${e.rows.toLocaleString('en-US')} rows before ${e.cutoff}, there are ${now.rows.toLocaleString('en-US')} now`);
      else if (now.rows && (at(now.oldest)! < (at(e.oldest) ?? -Infinity) || at(now.newest)! > (at(e.newest) ?? Infinity))) {
        const which = at(now.oldest)! < (at(e.oldest) ?? -Infinity) ? `oldest ${now.oldest} (the plan's: ${e.oldest})` : `newest ${now.newest} (the plan's: ${e.newest})`;
        drift.push(`${e.table}: rows before ${e.cutoff} the plan did not count: the ${which}`);
      }
    }
    if (drift.length) {
      err(`error: the data changed since the plan (${plan.generated_at}); nothing was deleted:\n  ${drift.join('\n  ')}\nRun vigil retention plan again and review it.`);
      process.exitCode = 1;
      return;
    }
    out(`vigil ${VIGIL_VERSION} retention apply: plan of ${plan.generated_at} (as of ${plan.as_of}), ${plural(entries.length, 'table')}, run ${runId} by ${who}`);
    const t0 = performance.now();
    let total = 0;
    let failed = 0;
    const logs = new Set<string>();
    const floors = new Map<string, boolean>();
    for (const [i, e] of entries.entries()) {
      if (stop.signal.aborted) break;
      const adapter = conns.adapterOf(e.target);
      const target = conns.targetOf(e.target);
      const rest = remaining.get(e.unique_id)!;
      const head = `${i + 1} of ${entries.length}`;
      // (nothing left to delete is an apply too: logged, a success with 0 rows deleted and the
      // plan's cutoff — retention_applied_at and the last successful cutoff move on)
      if (rest) for (const line of await deleteReach(adapter, e, rest)) err(`warning: ${line}`);
      if (rest) out(`${head} START ${e.table}: ${plural(rest, 'row')} before ${e.cutoff}${rest < e.rows ? ` (${(e.rows - rest).toLocaleString('en-US')} of the plan's ${e.rows.toLocaleString('en-US')} already gone)` : ''}, batches of ${e.batch_size.toLocaleString('en-US')}, in ${e.target}:${e.relation.schema}.${e.relation.identifier}`);
      const t1 = performance.now();
      try {
        const log = logRelation(target.schema, target.database);
        const logName = `${target.name}:${log.schema}.${log.identifier}`;
        logs.add(logName);
        // once per log: one made by an earlier Vigil that this role may not alter (it does not own
        // it) is written without override_floor, said once
        if (!floors.has(logName))
          floors.set(
            logName,
            await ensureLog(adapter, log, (missing, why) =>
              err(`warning: cannot add ${missing.join(', ')} to ${log.schema}.${log.identifier} (made by an earlier Vigil; ${redact(why)}): this apply's lines are logged without their override_floor, so a sync of the copy falls back to today's retention.minimum for them, as for lines logged before Vigil recorded it; add the column as the log's owner (or run an apply as its owner once)`),
            ),
          );
        const r = await applyEntry(adapter, e, rest, { runId, actor: who, log, out, signal: stop.signal, crashAfterBatch: process.env.VIGIL_TEST_CRASH_AFTER_BATCH === '1', withoutFloor: !floors.get(logName) });
        if (!rest) {
          out(`${head} OK ${e.table}: nothing before ${e.cutoff}${e.rows ? ` (the plan's ${plural(e.rows, 'row')} are gone already)` : ''}`);
          continue;
        }
        total += r.deleted;
        const s = (performance.now() - t1) / 1000;
        const done = `deleted ${plural(r.deleted, 'row')} [${s.toFixed(2)}s, ${Math.round(r.deleted / Math.max(s, 1e-3)).toLocaleString('en-US')} rows/s]`;
        if (r.appeared) {
          // the data changed under the plan while apply ran: what came is left, and said
          failed++;
          out(`${head} ERROR ${e.table}: ${done}; ${plural(r.appeared, 'more row')} before ${e.cutoff} appeared while apply ran (written meanwhile: a backfill, a sync) and ${r.appeared === 1 ? 'was' : 'were'} not deleted: the plan counted ${e.rows.toLocaleString('en-US')}, apply set out to delete ${rest.toLocaleString('en-US')}; run vigil retention plan again and review it`);
        } else out(`${head} ${r.stopped ? 'STOPPED' : 'OK'} ${e.table}: ${done}`);
      } catch (x) {
        if (!(x instanceof WarehouseError)) throw x;
        failed++;
        out(`${head} ERROR ${e.table}: ${await failureLine(c, adapter, e, x.message)}`);
      }
    }
    out(`\nFinished in ${((performance.now() - t0) / 1000).toFixed(2)}s: ${plural(total, 'row')} deleted, ${failed} failed${stop.signalled() ? `; stopped by ${stop.signalled()}` : ''}.${logs.size ? ` Logged in ${[...logs].join(', ')} (run ${runId}).` : ''}`);
    if (stop.exitCode()) process.exitCode = stop.exitCode();
    else if (failed) process.exitCode = 1;
  } finally {
    stop.dispose();
    await lock?.release();
    await lockDb?.close().catch(() => {});
    await conns.close();
  }
}
