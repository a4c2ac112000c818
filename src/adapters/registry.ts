/**
 * Every warehouse Vigil can use: one line each. Adding a warehouse is its folder under
 * src/adapters/ plus one line here (see docs/architecture.md, "Adding a warehouse").
 */
export { warehouse as duckdb } from './duckdb/index.js';
export { warehouse as postgres } from './postgres/index.js';
export { warehouse as bigquery } from './bigquery/index.js';
