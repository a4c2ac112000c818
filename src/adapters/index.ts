/**
 * Adapter registry: target type -> a lazy constructor, so the heavy drivers load only when
 * a command actually talks to a warehouse. Target configs were validated by compile.
 */
import { diag, ProjectError } from '../errors.js';
import type { Adapter } from './adapter.js';
import type { ResolvedTarget } from '../compile/compile-project.js';
import type { ProjectFiles } from '../project/load-project.js';
import type { DuckDbTargetConfig } from './duckdb/duckdb-config.js';
import type { PostgresTargetConfig } from './postgres/postgres-config.js';
import type { BigQueryTargetConfig } from './bigquery/bigquery-config.js';

export async function openAdapter(target: ResolvedTarget, files: ProjectFiles, threads = 1): Promise<Adapter> {
  switch (target.type) {
    case 'duckdb': {
      const { DuckDbAdapter } = await import('./duckdb/duckdb-adapter.js');
      return DuckDbAdapter.open(target.config as DuckDbTargetConfig, files.root, threads);
    }
    case 'postgres': {
      const { PostgresAdapter } = await import('./postgres/postgres-adapter.js');
      return PostgresAdapter.open(target.config as PostgresTargetConfig, threads);
    }
    case 'bigquery': {
      const { BigQueryAdapter } = await import('./bigquery/bigquery-adapter.js');
      return BigQueryAdapter.open(target.config as BigQueryTargetConfig, threads);
    }
    default:
      throw new ProjectError([diag('E_TARGET', `the ${target.type} adapter is not available in this version of vigil yet`, { file: 'project.yaml' })]);
  }
}
