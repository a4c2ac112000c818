/**
 * Adapter registry: target type -> config schema and a lazy constructor, so the heavy
 * drivers load only when a command actually talks to a warehouse.
 */
import { diag, ProjectError } from '../errors.js';
import type { Adapter } from './adapter.js';
import type { ResolvedTarget } from '../compile/compile-project.js';
import type { ProjectFiles } from '../project/load-project.js';
import { showPath } from '../project/yaml-source.js';

export async function openAdapter(target: ResolvedTarget, files: ProjectFiles, threads = 1): Promise<Adapter> {
  switch (target.type) {
    case 'duckdb': {
      const { duckDbConfigSchema } = await import('./duckdb/duckdb-config.js');
      const r = duckDbConfigSchema.safeParse(target.config);
      if (!r.success) {
        throw new ProjectError(
          r.error.issues.map((i) => {
            const path = ['targets', target.name, ...i.path.map((p) => p as string | number)];
            const message = i.code === 'unrecognized_keys' ? `unknown key(s) ${(i as { keys: string[] }).keys.join(', ')}` : i.message;
            return diag('E_TARGET', `${showPath(path)}: ${message}`, { file: 'project.yaml', ...files.projectYaml.locate(path) });
          }),
        );
      }
      const { DuckDbAdapter } = await import('./duckdb/duckdb-adapter.js');
      return DuckDbAdapter.open(r.data, files.root, threads);
    }
    default:
      throw new ProjectError([diag('E_TARGET', `the ${target.type} adapter is not available in this version of vigil yet`, { file: 'project.yaml' })]);
  }
}
