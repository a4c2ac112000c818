/**
 * The one way Vigil loads DuckDB's client (`@duckdb/node-api`). The build bundles that package
 * (about 120 small CommonJS files: loading them one by one cost ~130 ms of every command that
 * opens DuckDB); only its native binding, `@duckdb/node-bindings`, stays in node_modules. A
 * bundled CommonJS module arrives as a default export, the package from node_modules (tests
 * running the TypeScript sources) with named exports: both are accepted here.
 */
type DuckDbApi = typeof import('@duckdb/node-api');

let loaded: Promise<DuckDbApi> | undefined;

export function loadDuckDb(): Promise<DuckDbApi> {
  loaded ??= import('@duckdb/node-api').then((m) => ((m as { DuckDBInstance?: unknown }).DuckDBInstance ? m : (m as unknown as { default: DuckDbApi }).default));
  return loaded;
}
