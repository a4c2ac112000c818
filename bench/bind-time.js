// What src/compile/eval-time.ts does for DuckDB (bench scripts are plain Node and cannot import
// the TypeScript source): current_date/current_timestamp/now() bound to the evaluation time.
export function bindEvalTime(sql, at) {
  const day = at.slice(0, 10);
  return sql.replace(/\b(current_timestamp|now\s*\(\s*\))(?![\w(])/gi, `cast('${at}' as timestamptz)`).replace(/\bcurrent_date(?![\w(])/gi, `cast('${day}' as date)`);
}
