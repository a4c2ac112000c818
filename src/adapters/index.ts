/**
 * The warehouse registry (adapters/registry.ts lists them) and the one way to connect to a
 * target. Importing this loads no database driver: each warehouse's `open` imports its SDK.
 */
import type { ZodType } from 'zod';
import { diag, ProjectError, WarehouseError } from '../errors.js';
import { conceal, redact, reveal } from '../secrets.js';
import type { Adapter, Hook, MaterializeRequest } from './adapter.js';
import type { Dialect } from './dialect.js';
import * as registered from './registry.js';
import type { Checker, CheckOutcome, UnitSession, Warehouse, WarehouseSchemas } from './warehouse.js';

export type { Warehouse } from './warehouse.js';

export const WAREHOUSES: readonly Warehouse[] = Object.values(registered as Record<string, Warehouse>);

export function getWarehouse(type: string): Warehouse | undefined {
  return WAREHOUSES.find((w) => w.type === type);
}

/** The `type:` values a target may have. */
export function warehouseTypes(): string[] {
  return WAREHOUSES.map((w) => w.type);
}

/**
 * The engine of everything Vigil runs offline — unit tests of models, alert tests, demo data
 * generation — whatever the target: an in-memory DuckDB.
 */
export const OFFLINE_ENGINE = 'duckdb';

export function offlineWarehouse(): Warehouse {
  return getWarehouse(OFFLINE_ENGINE)!;
}

export function offlineDialect(): Dialect {
  return offlineWarehouse().dialect;
}

/** An in-memory database of the offline engine. */
export function openOfflineEngine(root: string, schema = 'main', threads = 1): Promise<Adapter> {
  return offlineWarehouse().open({ type: OFFLINE_ENGINE, path: ':memory:', schema }, { root, threads });
}

let schemas: Promise<ReadonlyMap<string, WarehouseSchemas>> | undefined;

/** Every registered warehouse's YAML schemas, by type (this loads zod; the registry alone does not). */
export function warehouseSchemas(): Promise<ReadonlyMap<string, WarehouseSchemas>> {
  return (schemas ??= Promise.all(WAREHOUSES.map(async (w) => [w.type, await w.schemas()] as const)).then((e) => new Map(e)));
}

/** Model config keys the registered warehouses add (partitioning, labels...), merged. */
export async function warehouseModelConfig(): Promise<Record<string, ZodType>> {
  return Object.assign({}, ...[...(await warehouseSchemas()).values()].map((s) => s.model ?? {}));
}

/** The dialect of a target type (the offline engine's when the type is unknown: its error is reported elsewhere). */
export function dialectOf(type: string | undefined): Dialect {
  return (type && getWarehouse(type)?.dialect) || offlineDialect();
}

/** Import the driver of a target type ahead of openAdapter (Warehouse.prepare); nothing for an unknown type. */
export async function prepareDriver(type: string): Promise<void> {
  await getWarehouse(type)?.prepare?.();
}

/** Connect to a resolved target (its config was validated by compile). */
export async function openAdapter(target: { name: string; type: string; config: Record<string, unknown> }, root: string, threads = 1, opts: { readOnly?: boolean } = {}): Promise<Adapter> {
  const w = getWarehouse(target.type);
  if (!w) throw new ProjectError([diag('E_TARGET', `target '${target.name}': unknown type '${target.type}' (supported: ${warehouseTypes().join(', ')})`, { file: 'project.yaml' })]);
  return revealing(await w.open(target.config, { root, threads: Math.max(1, threads), target: target.name, readOnly: opts.readOnly }));
}

/**
 * The session unit tests of a target run on (Warehouse.unitSession: the target itself, Postgres);
 * undefined when its warehouse leaves them to the offline engine (an in-memory DuckDB).
 */
export function unitSessionOf(target: { name: string; type: string; config: Record<string, unknown> }, root: string): (() => Promise<UnitSession>) | undefined {
  const w = getWarehouse(target.type);
  if (!w?.unitSession) return undefined;
  return () => w.unitSession!(target.config, { root, threads: 1, target: target.name });
}

/** Every statement of a materialization, for conceal(). */
function requestStatements(r: MaterializeRequest): string {
  return [r.sql, r.incrementalSql ?? '', ...[...(r.preHooks ?? []), ...(r.postHooks ?? [])].flatMap((h) => [h.sql, h.sql_incremental ?? ''])].join('\n');
}

/** A materialization with its secrets' values in place of their placeholders. */
function revealRequest(r: MaterializeRequest): MaterializeRequest {
  const shown = (h: Hook): Hook => ({ ...h, sql: reveal(h.sql), ...(h.sql_incremental === undefined ? {} : { sql_incremental: reveal(h.sql_incremental) }) });
  return { ...r, sql: reveal(r.sql), incrementalSql: r.incrementalSql === undefined ? undefined : reveal(r.incrementalSql), preHooks: r.preHooks?.map(shown), postHooks: r.postHooks?.map(shown) };
}

/** `vigil check` sends statements too (to the analyzer, or a rolled-back transaction): the same reveal and conceal. */
export function revealingChecker(c: Checker): Checker {
  const back = (sent: string) => (o: CheckOutcome): CheckOutcome => (o.ok ? o : { ...o, message: redact(conceal(o.message, sent)), sql: conceal(o.sql, sent) });
  return {
    engine: c.engine,
    concurrency: c.concurrency,
    declare: (rel, cols, table) => c.declare(rel, cols, table),
    model: async (r) => back(requestStatements(r))(await c.model(revealRequest(r))),
    query: async (sql, opts) => back(sql)(await c.query(reveal(sql), opts)),
    statement: async (sql) => back(sql)(await c.statement(reveal(sql))),
    sameType: (a, b) => c.sameType(a, b),
    close: () => c.close(),
    ...(c.reused ? { reused: () => c.reused!() } : {}),
  };
}

/**
 * Every statement sent to a target has its secrets' placeholders replaced by their values
 * (secrets.ts), and every error coming back has them hidden again: the values exist only in
 * the statements on their way to the warehouse.
 */
function revealing(a: Adapter): Adapter {
  const hide = (sent: string) => (e: unknown): never => {
    // the error and its causes (a hook's error wraps the warehouse's)
    for (let x: unknown = e, depth = 0; x instanceof Error && depth < 5; x = x.cause, depth++) {
      x.message = redact(conceal(x.message, sent));
      if (x.stack) x.stack = redact(conceal(x.stack, sent));
      if (x instanceof WarehouseError) x.sql = redact(conceal(x.sql, sent));
    }
    throw e;
  };
  return new Proxy(a, {
    get(t, p) {
      const v = Reflect.get(t, p) as unknown;
      if (typeof v !== 'function') return v;
      const f = v as (...args: unknown[]) => Promise<unknown>;
      if (p === 'execute' || p === 'executeCounted' || p === 'query' || p === 'preview' || p === 'dryRun') return async (sql: string, ...rest: unknown[]) => f.call(t, reveal(sql), ...rest).catch(hide(sql));
      if (p === 'materialize' || p === 'estimate') {
        return async (r: MaterializeRequest) => f.call(t, revealRequest(r)).catch(hide(requestStatements(r)));
      }
      // (the adapter `exclusive` hands its callback sends the statements: revealing too — a
      // snapshot's env_var() secret went out as its placeholder)
      if (p === 'exclusive') return (rel: unknown, fn: (inner: Adapter) => Promise<unknown>) => f.call(t, rel, (inner: Adapter) => fn(revealing(inner)));
      return f.bind(t);
    },
  });
}
