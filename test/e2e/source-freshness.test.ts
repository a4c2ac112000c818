/**
 * `vigil source freshness` through the real CLI, on DuckDB and a real Postgres: a table's
 * freshness merged into its source's as dbt merges them, and a loaded_at_field that is text
 * refused by its type (never parsed in the machine's time zone).
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, removeDir, REPO, vigil } from '../helpers.js';
import { pgProjectYaml, uniqueSchema } from '../support/postgres.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** A UTC time `minutes` ago as 'YYYY-MM-DD HH:MM:SS' (what a seed's timestamp column holds). */
const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString().slice(0, 19).replace('T', ' ');

/** Rows 3 days old, and a heartbeat a minute old that the source's filter leaves out. */
function seed(): { csv: string; old: string; recent: string } {
  const old = ago(3 * 24 * 60);
  const recent = ago(1);
  return { csv: `id,kind,loaded_at,loaded_txt,twelve\n1,data,${old},${old},12\n2,heartbeat,${recent},${recent},12\n`, old, recent };
}

const SEED_TYPES = 'seeds:\n  - name: ev\n    config:\n      column_types: { loaded_txt: string, twelve: string }\n';

type Result = { source: string; status: string; max_loaded_at: string | null; criteria?: unknown; message: string };
const results = (dir: string) => Object.fromEntries((JSON.parse(readFileSync(join(dir, 'target/sources.json'), 'utf8')).results as Result[]).map((r) => [r.source.split('.')[1], r]));

describe('vigil source freshness on DuckDB', () => {
  const { csv, old } = seed();
  const dir = makeProject({
    'seeds/ev.csv': csv,
    'seeds/props.yml': SEED_TYPES,
    'models/src.yml': `sources:
  - name: app
    schema: analytics
    loaded_at_field: loaded_at
    freshness:
      warn_after: { count: 1, period: hour }
      error_after: { count: 1, period: day }
      filter: "kind <> 'heartbeat'"
    tables:
      - name: warn_only
        identifier: ev
        freshness:
          warn_after: { count: 10, period: minute }
      - name: no_error
        identifier: ev
        freshness:
          error_after: null
      - name: own_filter
        identifier: ev
        freshness:
          filter: "kind = 'heartbeat'"
      - name: off
        identifier: ev
        freshness: null
      - name: text_ts
        identifier: ev
        loaded_at_field: loaded_txt
      - name: twelve
        identifier: ev
        loaded_at_field: twelve
      - name: cast_ts
        identifier: ev
        loaded_at_field: "cast(loaded_txt as timestamp)"
      - name: forever
        identifier: ev
        loaded_at_field: "cast('infinity' as timestamp)"
      - name: none_left
        identifier: ev
        freshness:
          filter: "kind = 'none'"
`,
  });
  dirs.push(dir);

  it("a table's freshness is merged into its source's key by key, as dbt's (was: it replaced the whole block, a 3-day-old table setting warn_after a WARN, exit 0)", () => {
    expect(vigil(dir, ['seed']).code).toBe(0);
    const r = vigil(dir, ['source', 'freshness']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const by = results(dir);
    // warn_after its own; error_after and filter its source's (the heartbeat a minute old left out)
    expect(by.warn_only).toMatchObject({ status: 'error', criteria: { warn_after: { count: 10, period: 'minute' }, error_after: { count: 1, period: 'day' }, filter: "kind <> 'heartbeat'" } });
    expect(r.stdout).toMatch(/ERROR freshness of app\.warn_only: newest loaded_at \S+ is 3\.0d old \(warn after 10 minute, error after 1 day\)/);
    // error_after: null is no error limit (was: a schema error, exit 2)
    expect(by.no_error).toMatchObject({ status: 'warn', criteria: { warn_after: { count: 1, period: 'hour' }, filter: "kind <> 'heartbeat'" } });
    expect(r.stdout).toMatch(/WARN freshness of app\.no_error: newest loaded_at \S+ is 3\.0d old \(warn after 1 hour\)/);
    // its own filter replaces its source's
    expect(by.own_filter.status).toBe('pass');
    // freshness: null: none at all, not checked
    expect(by.off).toBeUndefined();
    const manifest = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8'));
    expect(manifest.sources['source.fixture.app.off'].freshness).toBeNull();
  });

  it('a text loaded_at_field is a RUNTIME ERROR naming the column and its type, with the cast to write (was: parsed by JavaScript in the time zone of the machine, "12" the year 2001)', () => {
    for (const TZ of ['UTC', 'Asia/Tokyo']) {
      const r = vigil(dir, ['source', 'freshness'], { TZ });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/RUNTIME ERROR freshness of app\.text_ts: models\/src\.yml:\d+: loaded_at_field loaded_txt is a column of type VARCHAR \(newest "[^"]+"\), not a timestamp or date: cast it in loaded_at_field, e\.g\. loaded_at_field: "cast\(loaded_txt as timestamp\)"/);
      expect(r.stdout).toMatch(/RUNTIME ERROR freshness of app\.twelve: models\/src\.yml:\d+: loaded_at_field twelve is a column of type VARCHAR \(newest "12"\), not a timestamp or date/);
      // the cast, and a timestamp column without zone: UTC, whatever the machine's zone
      const by = results(dir);
      expect(by.cast_ts).toMatchObject({ status: 'error', max_loaded_at: `${old.replace(' ', 'T')}.000Z` });
      expect(by.warn_only.max_loaded_at).toBe(`${old.replace(' ', 'T')}.000Z`);
    }
  });

  it("an 'infinity' newest value is a RUNTIME ERROR saying so, with the filter that leaves it out (was: a timestamp said to be 'not a timestamp or date', to be cast); a filter that leaves no row is named", () => {
    const r = vigil(dir, ['source', 'freshness']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/RUNTIME ERROR freshness of app\.forever: models\/src\.yml:\d+: loaded_at_field cast\('infinity' as timestamp\) is 'infinity' at its newest, no time a row was loaded: leave such rows out with the freshness filter, e\.g\. filter: "\(kind <> 'heartbeat'\) and cast\('infinity' as timestamp\) < 'infinity'"/);
    expect(r.stdout).not.toMatch(/forever.*not a timestamp or date/);
    expect(r.stdout).toMatch(/NO DATA freshness of app\.none_left: "analytics"\."ev" has no rows where kind = 'none'/);
  });
});

describe('vigil source freshness of the shipped project', () => {
  it('passes right after vigil demo: workflows are judged by last_accessed_at (was: created_at, days old at once, an ERROR and exit 1)', () => {
    const dir = makeProject({}, false);
    dirs.push(dir);
    for (const p of ['project.yaml', 'models', 'macros']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    const d = vigil(dir, ['demo']);
    expect(d.code, d.stderr).toBe(0);
    const r = vigil(dir, ['source', 'freshness']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/ERROR freshness/);
    const by = results(dir);
    expect(Object.keys(by).sort()).toEqual(['ai_audit_logs', 'audit_events', 'audit_trails', 'market_snapshots', 'usage_log', 'workflows', 'workspace_data_snapshots']);
    expect(by.workflows.status).toBe('pass');
    expect(r.stdout).toMatch(/PASS freshness of raw\.workflows: newest last_accessed_at /);
  });
});

describe('vigil source freshness on Postgres', () => {
  it('a text column is refused by its type; a timestamp without zone and a date are read in UTC (was: the text parsed in the machine\'s time zone)', () => {
    const { csv, recent } = seed();
    const schema = uniqueSchema('fresh');
    const dir = makeProject({
      'project.yaml': pgProjectYaml(schema),
      'seeds/ev.csv': csv,
      'seeds/props.yml': SEED_TYPES,
      'models/src.yml': `sources:
  - name: app
    schema: ${schema}
    loaded_at_field: loaded_at
    freshness:
      warn_after: { count: 1, period: hour }
      error_after: { count: 2, period: day }
    tables:
      - name: ts
        identifier: ev
      - name: txt
        identifier: ev
        loaded_at_field: loaded_txt
      - name: d
        identifier: ev
        loaded_at_field: "cast(loaded_at as date)"
      - name: forever
        identifier: ev
        loaded_at_field: "cast('infinity' as timestamptz)"
`,
    });
    dirs.push(dir);
    const env = { VIGIL_TEST_PG_URL: inject('pgUrl'), TZ: 'Asia/Tokyo' };
    expect(vigil(dir, ['seed'], env).code).toBe(0);
    const r = vigil(dir, ['source', 'freshness'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/RUNTIME ERROR freshness of app\.txt: models\/src\.yml:\d+: loaded_at_field loaded_txt is a column of type text \(newest "[^"]+"\), not a timestamp or date: cast it in loaded_at_field/);
    const by = results(dir);
    expect(by.ts).toMatchObject({ status: 'pass', max_loaded_at: `${recent.replace(' ', 'T')}.000Z` });
    expect(by.d.max_loaded_at).toBe(`${recent.slice(0, 10)}T00:00:00.000Z`);
    // 'infinity' (the driver's Infinity: was shown as "newest null", not a timestamp)
    expect(r.stdout).toMatch(/RUNTIME ERROR freshness of app\.forever: models\/src\.yml:\d+: loaded_at_field cast\('infinity' as timestamptz\) is 'infinity' at its newest, no time a row was loaded: leave such rows out with the freshness filter, e\.g\. filter: "cast\('infinity' as timestamptz\) < 'infinity'"/);
  });
});
