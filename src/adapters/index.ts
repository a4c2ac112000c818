/**
 * The warehouse registry (adapters/registry.ts lists them) and the one way to connect to a
 * target. Importing this loads no database driver: each warehouse's `open` imports its SDK.
 */
import type { ZodType } from 'zod';
import { diag, ProjectError } from '../errors.js';
import type { Adapter } from './adapter.js';
import type { Dialect } from './dialect.js';
import * as registered from './registry.js';
import type { Warehouse } from './warehouse.js';

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

/** Model config keys the registered warehouses add (partitioning, labels...), merged. */
export function warehouseModelConfig(): Record<string, ZodType> {
  return Object.assign({}, ...WAREHOUSES.map((w) => w.modelConfig ?? {}));
}

/** The dialect of a target type (the offline engine's when the type is unknown: its error is reported elsewhere). */
export function dialectOf(type: string | undefined): Dialect {
  return (type && getWarehouse(type)?.dialect) || offlineDialect();
}

/** Connect to a resolved target (its config was validated by compile). */
export async function openAdapter(target: { name: string; type: string; config: Record<string, unknown> }, root: string, threads = 1): Promise<Adapter> {
  const w = getWarehouse(target.type);
  if (!w) throw new ProjectError([diag('E_TARGET', `target '${target.name}': unknown type '${target.type}' (supported: ${warehouseTypes().join(', ')})`, { file: 'project.yaml' })]);
  return w.open(target.config, { root, threads: Math.max(1, threads), target: target.name });
}
