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
  loaded ??= Promise.all([import('@duckdb/node-api'), import('@duckdb/node-api/lib/vectors/dataAccessors.js')]).then(([m, accessors]) => {
    keepByteOrderMarks(accessors);
    return (m as { DuckDBInstance?: unknown }).DuckDBInstance ? m : (m as unknown as { default: DuckDbApi }).default;
  });
  return loaded;
}

/**
 * The client decodes every VARCHAR it reads with one `new TextDecoder()`, which drops a U+FEFF
 * that starts the text as a byte order mark: a value read back lost it (a synced key '\uFEFFb'
 * read from the state as 'b' failed every later run of its stream, "another vigil sync of this
 * stream committed a batch"). Its decoder is replaced by one that keeps it; the client reads it
 * through the module's exports at each call.
 */
function keepByteOrderMarks(accessors: unknown): void {
  const target = ((accessors as { default?: unknown }).default ?? accessors) as { textDecoder?: TextDecoder };
  if (!(target.textDecoder instanceof TextDecoder)) throw new Error("@duckdb/node-api has no textDecoder in lib/vectors/dataAccessors.js: check that DuckDB's client keeps a text's leading U+FEFF before upgrading it");
  target.textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
}
