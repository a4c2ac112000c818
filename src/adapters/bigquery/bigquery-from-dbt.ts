/** A dbt-bigquery profiles.yml output as a BigQuery target (`vigil init --from-dbt`). */
import type { DbtOutputReader } from '../warehouse.js';

export function bigQueryFromDbt(o: DbtOutputReader): Record<string, unknown> | undefined {
  const t: Record<string, unknown> = {};
  const project = o.val('project') ?? o.val('database');
  const dataset = o.val('dataset') ?? o.val('schema');
  o.use('method', 'keyfile', 'keyfile_json', 'dataset', 'schema', 'project', 'database');
  if (!project || !dataset) {
    o.notConverted(undefined, `outputs.${o.name}: a BigQuery output without project or dataset: not converted`);
    return undefined;
  }
  t.project = project.value;
  t.dataset = dataset.value;
  const method = String(o.raw.method ?? 'oauth');
  if (method === 'service-account') {
    const k = o.val('keyfile');
    if (k) t.credentials = k.value;
  } else if (method === 'service-account-json') {
    const c = o.secret('keyfile_json', `VIGIL_${o.envName}_CREDENTIALS`, `the service account key JSON of the BigQuery target '${o.name}'`);
    if (c) t.credentials = c;
  } else if (method !== 'oauth') {
    for (const k of ['token', 'refresh_token', 'client_secret', 'client_id', 'token_uri']) {
      o.use(k);
      const x = o.raw[k];
      if (typeof x === 'string' && !/\{\{/.test(x)) o.forbid(x);
    }
    o.notConverted('method', `outputs.${o.name}.method: ${method}: not converted (Vigil uses a key file, the key JSON, or application default credentials); its secrets were not written`);
  }
  for (const k of ['location', 'priority'] as const) {
    const x = o.val(k);
    if (x) t[k] = x.value;
  }
  // a number, or its digits as text; a template (`{{ env_var('MAX_BYTES') | as_number }}`) is
  // listed: the target takes a number there (it was dropped without a word, and with it the limit)
  const number = (key: string, what: string): number | undefined => {
    const x = o.val(key);
    if (!x) return undefined;
    if (typeof x.value === 'number') return x.value;
    if (typeof x.value === 'string' && !x.templated && /^\s*\d+(\.\d+)?\s*$/.test(x.value)) return Number(x.value);
    o.notConverted(key, `outputs.${o.name}.${key}: ${JSON.stringify(x.value)}: not converted (a Vigil target takes a number there, not a template): set ${what}`);
    return undefined;
  };
  const mbb = number('maximum_bytes_billed', "the target's maximum_bytes_billed in project.yaml yourself; until then no query is refused for the bytes it would bill");
  if (mbb !== undefined) t.maximum_bytes_billed = mbb;
  const timeoutKey = o.raw.job_execution_timeout_seconds !== undefined ? 'job_execution_timeout_seconds' : 'timeout_seconds';
  const timeout = number(timeoutKey, "the target's timeout_ms (milliseconds) in project.yaml yourself");
  if (timeout !== undefined) t.timeout_ms = Math.round(timeout * 1000);
  return t;
}
