/**
 * `vigil debug` on BigQuery: the credentials it found (never the secret), the project reachable
 * with them, the dataset, and a dry run of `select 1` (free) — like `dbt debug`.
 */
import { UsageError } from '../../errors.js';
import type { DebugStep, OpenContext } from '../warehouse.js';
import type { BigQueryTargetConfig } from './bigquery-config.js';
import { BigQueryAdapter, bqError } from './bigquery-adapter.js';

export async function* debugBigQuery(cfg: BigQueryTargetConfig, ctx: OpenContext): AsyncGenerator<DebugStep> {
  let a: BigQueryAdapter;
  try {
    a = await BigQueryAdapter.open(cfg, 1, undefined, ctx.target, ctx.root);
  } catch (e) {
    yield { check: 'credentials', ok: false, detail: (e as Error).message, fatal: true, usage: e instanceof UsageError };
    return;
  }
  yield { check: 'credentials', ok: true, detail: a.credentials ?? 'found' };
  try {
    const [meta] = await a.client.dataset(cfg.dataset, { projectId: cfg.project }).getMetadata();
    const location = (meta as { location?: string }).location;
    const mismatch = cfg.location && location && cfg.location.toLowerCase() !== location.toLowerCase();
    yield { check: `dataset ${cfg.project}.${cfg.dataset}`, ok: !mismatch, detail: mismatch ? `is in ${location}, but the target says location: ${cfg.location}; jobs would not find it` : `exists${location ? ` (${location})` : ''}` };
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code === 404) yield { check: `dataset ${cfg.project}.${cfg.dataset}`, ok: true, detail: 'does not exist yet: vigil build creates it' };
    else {
      yield { check: `project ${cfg.project}`, ok: false, detail: bqError(e, `datasets.get ${cfg.dataset}`).message.split('\n').join(' '), fatal: true };
      return;
    }
  }
  try {
    const r = await a.dryRun('select 1');
    yield { check: 'dry run of select 1', ok: true, detail: `OK, ${r.bytesProcessed} bytes` };
  } catch (e) {
    yield { check: 'dry run of select 1', ok: false, detail: (e as Error).message.split('\n').join(' ') };
  }
}
