/**
 * A snapshot's later-run statements on BigQuery, each analyzed by Google's SQL analyzer (the
 * checker `vigil check --target prod` uses) against the stored table and the query's relation:
 * a snapshot whose updated_at is a DATE or DATETIME closes a deleted key at the run's time in
 * that type (was: `set dbt_valid_to = current_timestamp`, a TIMESTAMP BigQuery does not assign to
 * a DATE: every run wrote its versions, then failed). The run's time is read once and sent as a
 * literal (was: each statement's own CURRENT_TIMESTAMP).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQueryChecker } from '../../src/adapters/bigquery/bigquery-check.js';
import { bigQueryDialect } from '../../src/adapters/bigquery/bigquery-dialect.js';
import { runSnapshot } from '../../src/run/snapshot.js';
import type { SnapshotNode } from '../../src/compile/manifest.js';
import { removeDir } from '../helpers.js';

const root = mkdtempSync(join(tmpdir(), 'vigil-snapbq-'));
afterAll(() => removeDir(root));

interface Analysis {
  ok: boolean;
  message?: string;
}

/** The statements one later run sends, with what the analyzer said of each that is not OK. */
async function laterRun(opts: { strategy: 'check' | 'timestamp'; type: string; extra?: Array<{ name: string; type: string }>; checkCols?: string[] | 'all'; key?: string }): Promise<{ sent: string[]; refused: string[] }> {
  const cfg = { type: 'bigquery', project: 'p', dataset: 'analytics', location: 'US' };
  const checker = await BigQueryChecker.open(cfg as never, root);
  // (the analyzer the checker holds: each statement is asked as the adapter would send it)
  const analyzer = (checker as unknown as { analyzer: { script(sql: string, p: unknown[], o: object): Promise<Analysis>; analyze(sql: string, o: object): Promise<Analysis> } }).analyzer;
  const query = [
    { name: 'id', type: 'INT64' },
    { name: 'v', type: 'STRING' },
    { name: 'ua', type: opts.type },
    ...(opts.extra ?? []),
  ];
  const stored = [...query, ...['dbt_valid_from', 'dbt_valid_to', 'dbt_updated_at'].map((name) => ({ name, type: opts.type })), { name: 'dbt_scd_id', type: 'STRING' }];
  await checker.declare({ database: 'p', schema: 'raw', identifier: 'src' } as never, query);
  await checker.declare({ database: 'p', schema: 'snaps', identifier: 'snap' } as never, stored);
  const node = {
    unique_id: 'snapshot.x.snap',
    resource_type: 'snapshot',
    name: 'snap',
    file: 'snapshots/s.sql',
    config: { strategy: opts.strategy, unique_key: opts.key ?? 'id', updated_at: 'ua', ...(opts.strategy === 'check' ? { check_cols: opts.checkCols ?? ['v'] } : {}), invalidate_hard_deletes: true },
    relation: { database: 'p', schema: 'snaps', identifier: 'snap' },
    compiled_sql: 'select * from `p`.`raw`.`src`',
  } as unknown as SnapshotNode;
  const sent: string[] = [];
  const refused: string[] = [];
  const asked = (sql: string, r: Analysis) => {
    sent.push(sql);
    if (!r.ok) refused.push(`${r.message}: ${sql}`);
  };
  const adapter = {
    dialect: bigQueryDialect,
    ensureSchema: async () => {},
    relationExists: async () => 'table',
    columns: async (rel: { identifier: string }) => (rel.identifier === 'snap' ? stored : query).map((c) => ({ name: c.name, data_type: c.type })),
    execute: async (sql: string) => {
      // (the query's columns are read through a view of it: not the statements looked at here)
      if (/^(drop|create) view/i.test(sql)) return;
      asked(sql, await analyzer.script(sql, [], { reads: true }));
    },
    query: async (sql: string) => {
      asked(sql, await analyzer.analyze(sql, { reads: true }));
      // the warehouse's time (as BigQuery spells a TIMESTAMP as text); one key gone from the query, nothing else to say
      if (/ as now$/.test(sql)) return [{ now: '2026-05-01 02:38:55.032409+00' }];
      // one changed row whose updated_at did not advance (a key back after a delete): the check that its version starts after its last one is sent too
      if (/ as started_at, /.test(sql)) return [{ k0: '1', now_at: '2026-01-01', was_at: '2026-04-30', started_at: null, is_current: 0, n: 1 }];
      return /dbt_valid_to` is null and not exists/.test(sql) ? [{ n: 1 }] : [];
    },
  };
  try {
    await runSnapshot(adapter as never, node);
  } finally {
    await checker.close();
  }
  return { sent, refused };
}

describe('snapshot statements on BigQuery, analyzed', () => {
  it.each([
    ['check', 'DATE'],
    ['timestamp', 'DATETIME'],
    ['timestamp', 'TIMESTAMP'],
  ] as const)('%s with a %s updated_at and invalidate_hard_deletes: every statement analyzes; a deleted key is closed at the run time in that type', async (strategy, type) => {
    const r = await laterRun({ strategy, type });
    expect(r.refused).toEqual([]);
    // the run's time: the warehouse's, read once, a literal in every statement that writes it
    expect(r.sent).toContain('select cast(CURRENT_TIMESTAMP() as STRING) as now');
    const now = "cast('2026-05-01 02:38:55.032409+00' as TIMESTAMP)";
    const close = r.sent.find((s) => /^update .* set `dbt_valid_to` = cast\(cast\('/.test(s));
    expect(close, r.sent.join('\n')).toContain(`cast(${now} as ${type})`);
    expect(r.sent.join('\n')).not.toMatch(/current_timestamp(?!\(\) as STRING\) as now)/i);
    // a key back, or a changed row, whose updated_at is not after its versions' starts or ends: counted, then the run's time checked against them (each analyzed above)
    expect(r.sent.filter((s) => /^select .* as now_at, .* from \(/s.test(s)), r.sent.join('\n')).toHaveLength(2);
    // check: a changed row whose updated_at is not after its current version's start is versioned at the run's time (the insert analyzed above)
    if (strategy === 'check') expect(r.sent.find((s) => /^insert/.test(s))).toContain(`then cast(${now} as ${type}) else s.\`ua\` end`);
  }, 120_000);

  it.each([['all'], [['v', 'payload', 'tags', 'meta']]] as const)("check_cols %j over JSON, ARRAY and STRUCT columns (what vigil sync makes of jsonb and text[]): every statement of a later run analyzes (was: `s.payload is distinct from t.payload`, refused: \"Grouping is not defined for arguments of type JSON\", on every run after the first)", async (checkCols) => {
    const extra = [{ name: 'payload', type: 'JSON' }, { name: 'tags', type: 'ARRAY<STRING>' }, { name: 'meta', type: 'STRUCT<a INT64, b STRING>' }];
    const r = await laterRun({ strategy: 'check', type: 'TIMESTAMP', extra, checkCols: checkCols as never });
    expect(r.refused).toEqual([]);
    const insert = r.sent.find((s) => /^insert into/.test(s))!;
    for (const c of ['payload', 'tags', 'meta']) expect(insert).toContain(`TO_JSON_STRING(s.\`${c}\`) is distinct from TO_JSON_STRING(t.\`${c}\`)`);
  }, 120_000);

  it('a JSON unique_key: the key checks, the insert and the closing updates compare it as its JSON text, and analyze', async () => {
    const r = await laterRun({ strategy: 'timestamp', type: 'TIMESTAMP', extra: [{ name: 'k', type: 'JSON' }], key: 'k' });
    expect(r.refused).toEqual([]);
    const close = r.sent.find((s) => /^update/.test(s));
    expect(close).toContain('TO_JSON_STRING(v.`k`) = TO_JSON_STRING(o.`k`)');
    expect(close).toContain('x.k0 = TO_JSON_STRING(t.`k`)');
  }, 120_000);
});
