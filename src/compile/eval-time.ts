/**
 * In alert and dashboard queries `current_date()` / `current_timestamp()` (and the bare SQL
 * keywords they render to) mean the evaluation time, so `--at` and the offline tests see the
 * right day.
 */
export function bindEvalTime(sql: string, dialect: 'duckdb' | 'postgres' | 'bigquery', at: Date): string {
  const iso = at.toISOString();
  const day = iso.slice(0, 10);
  if (dialect === 'bigquery') {
    return sql.replace(/\bCURRENT_TIMESTAMP\s*\(\s*\)/gi, `TIMESTAMP '${iso}'`).replace(/\bCURRENT_DATE\s*\(\s*\)/gi, `DATE '${day}'`);
  }
  const ts = dialect === 'postgres' ? `cast('${iso}' as timestamptz)` : `cast('${iso}' as timestamptz)`;
  return sql
    .replace(/\b(current_timestamp|now\s*\(\s*\))(?![\w(])/gi, ts)
    .replace(/\bcurrent_date(?![\w(])/gi, `cast('${day}' as date)`);
}
