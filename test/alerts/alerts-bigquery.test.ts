/**
 * Alerts on BigQuery, offline: every shipped alert query compiled for the `prod` target (with
 * the evaluation time bound) and every statement of the warehouse state store parse with
 * sql-parser-cst's BigQuery grammar. BigQuery itself cannot be reached from here.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'sql-parser-cst';
import { loadProject } from '../../src/project/load-project.js';
import { compileProject } from '../../src/compile/compile-project.js';
import { loadAlerts } from '../../src/alerts/load-alerts.js';
import { duckDbDialect } from '../../src/adapters/duckdb/duckdb-dialect.js';
import { warehouseStore } from '../../src/alerts/state.js';
import { bigQueryDialect } from '../../src/adapters/bigquery/bigquery-dialect.js';
import type { Adapter } from '../../src/adapters/adapter.js';
import { REPO } from '../helpers.js';

describe('shipped alert queries for BigQuery', () => {
  const files = loadProject(REPO);
  const alerts = loadAlerts(files);
  const queries = alerts.rules.filter((r) => r.queryText).map((r) => ({ key: r.rule.name, file: r.file, text: r.queryText!, ...r.queryAt }));
  const result = compileProject(files, { target: 'prod', env: { AI_AUDIT_BQ_PROJECT: 'vigil-golden' }, queries });
  it('compile without errors', () => {
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(Object.keys(result.queries).sort()).toEqual(queries.map((q) => q.key).sort());
  });
  it.each(queries.map((q) => q.key))('%s parses, with the evaluation time bound', (key) => {
    const sql = bigQueryDialect.bindEvalTime(result.queries[key].sql, new Date('2026-03-10T18:00:00Z'));
    expect(sql).not.toMatch(/CURRENT_(DATE|TIMESTAMP)\(\)/i);
    expect(sql).toMatch(/`vigil-golden`\.`analytics`\.|`raw`\.`ai_audit_logs`/);
    expect(() => parse(sql, { dialect: 'bigquery' })).not.toThrow();
  });
});

describe('the alert state store on BigQuery', () => {
  it('creates, inserts, compare-and-sets and reads back with statements BigQuery parses, the document as a parameter', async () => {
    const statements: string[] = [];
    const exists = new Set<string>();
    let stored: { version: number; body: string } | undefined;
    // the journal's table: one row per line (seq: the version the line moved the document to)
    let journal: Array<{ seq: number; line: string }> = [];
    const adapter = {
      type: 'bigquery',
      warehouse: { capabilities: { primaryKeys: false } },
      dialect: bigQueryDialect,
      maxConcurrency: 1,
      async relationExists(r: { identifier: string }) {
        return exists.has(r.identifier) ? 'table' : null;
      },
      async columns() {
        return [];
      },
      async ensureSchema() {},
      async execute(sql: string, params: unknown[] = []) {
        statements.push(sql);
        // runtime values never in the SQL text: one '?' per parameter
        expect(sql.split('?').length - 1).toBe(params.length);
        if (/^create table/i.test(sql)) exists.add(/`(\w+)` *\(/.exec(sql)![1]);
        else if (/^insert into \S+vigil_alert_state_journal/i.test(sql)) {
          // a delivery mark: its line, then the version below
          journal.push({ seq: params[1] as number, line: params[2] as string });
        } else if (/^insert/i.test(sql)) stored ??= { version: 0, body: String(params[1]) };
        else if (/^delete from \S+vigil_alert_state_journal/i.test(sql)) journal = journal.filter((j) => j.seq > (params[1] as number));
        else if (/^update .* set version = \?, updated_at/i.test(sql)) {
          const [next, , expected] = params as [number, string, number];
          if (stored && stored.version === expected) stored = { ...stored, version: next };
        } else if (/^update/i.test(sql)) {
          const [next, body, , expected] = params as [number, string, string, number];
          if (stored && stored.version === expected) stored = { version: next, body };
        }
      },
      async query(sql: string, params: unknown[] = []) {
        statements.push(sql);
        if (/vigil_alert_state_journal/.test(sql)) {
          if (!exists.has('vigil_alert_state_journal')) throw new Error('Not found: Table analytics.vigil_alert_state_journal');
          return journal.filter((j) => j.seq <= (params[1] as number)).map((j) => ({ line: j.line }));
        }
        return stored ? [{ version: stored.version, body: stored.body }] : [];
      },
    } as unknown as Adapter;
    const store = await warehouseStore(adapter, 'analytics');
    const doc = await store.lock('test');
    doc.silences.push({ id: 'abc', matchers: [{ label: 'capability', op: '=', value: "it's \\ quoted" }], startsAt: '2026-01-01T00:00:00Z', endsAt: '2026-01-02T00:00:00Z', comment: 'x', createdBy: 't', createdAt: '2026-01-01T00:00:00Z' });
    doc.outbox.push({ id: 'n1', receiver: 'hook', type: 'slack', createdAt: '2026-01-01T00:00:00Z', status: 'pending', attempts: 0, items: [] });
    await store.save(doc);
    // a delivery mark: a journal line, read back to tell whose write won (no affected-row count here)
    doc.outbox[0].status = 'sending';
    await store.saveProgress(doc);
    expect((await store.read()).outbox[0].status).toBe('sending');
    expect(journal.map((j) => j.line).join('')).toContain('"status":"sending"');
    await store.unlock(doc);
    const back = await store.read();
    expect(back.silences[0].matchers[0].value).toBe("it's \\ quoted");
    expect(back.lock).toBeUndefined();
    expect(back.outbox[0].status).toBe('sending');
    expect(journal).toEqual([]);
    expect(statements.some((s) => /^create table if not exists `analytics`.`vigil_alert_state`/i.test(s))).toBe(true);
    expect(statements.some((s) => /^create table if not exists `analytics`.`vigil_alert_state_journal`/i.test(s))).toBe(true);
    expect(statements.filter((s) => /^update/i.test(s)).length).toBe(4); // lock, save, mark, unlock
    for (const s of statements) expect(() => parse(s, { dialect: 'bigquery', paramTypes: ['?'] }), s.slice(0, 200)).not.toThrow();
    // the silence comment and matchers are nowhere in the SQL text
    expect(statements.join('\n')).not.toContain("it's");
  });
});
