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
  const mbb = o.val('maximum_bytes_billed');
  if (mbb && typeof mbb.value === 'number') t.maximum_bytes_billed = mbb.value;
  const timeout = o.val('job_execution_timeout_seconds') ?? o.val('timeout_seconds');
  if (timeout && typeof timeout.value === 'number') t.timeout_ms = Math.round(timeout.value * 1000);
  return t;
}
