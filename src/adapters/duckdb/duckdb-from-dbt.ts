/** A dbt-duckdb profiles.yml output as a DuckDB target (`vigil init --from-dbt`). */
import type { DbtOutputReader } from '../warehouse.js';

export function duckDbFromDbt(o: DbtOutputReader): Record<string, unknown> | undefined {
  const t: Record<string, unknown> = {};
  const path = o.val('path')?.value;
  if (typeof path === 'string' && /^md:|^motherduck:/i.test(path)) {
    o.notConverted('path', `outputs.${o.name}: MotherDuck (${path}) is not supported: only local DuckDB files`);
    return undefined;
  }
  if (path === undefined || path === ':memory:') {
    t.path = '.vigil/dev.duckdb';
    o.note('path', `outputs.${o.name}: an in-memory DuckDB keeps nothing between commands: the target uses .vigil/dev.duckdb`);
  } else t.path = path;
  t.schema = o.val('schema')?.value ?? 'main';
  const settings = o.raw.settings;
  o.use('settings');
  if (settings && typeof settings === 'object' && !Array.isArray(settings)) {
    for (const [k, x] of Object.entries(settings)) {
      if (k === 'memory_limit' && typeof x === 'string') t.memory_limit = x;
      else if (k === 'threads' && typeof x === 'number') t.threads = x;
      else o.notConverted(['settings', k], `outputs.${o.name}.settings.${k}: not converted (Vigil sets DuckDB's threads and memory_limit only)`);
    }
  }
  return t;
}
