/**
 * Raw-row actions (`raw_rows`) and project link templates (`dashboards.links`): what the
 * compile refuses (at the line of the key, with a did-you-mean), the masking policy, the query
 * each dialect gets (and that it returns exactly the rows of the day in DuckDB, whatever the
 * session's time zone), the BigQuery query through Google's analyzer, and the link a template
 * becomes. The rendered pages are in drill-browser.test.ts (Chromium) and drill-pages.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProject } from '../../src/project/load-project.js';
import { compileProject } from '../../src/compile/compile-project.js';
import { compileDashboards, parseDashboards, projectLink } from '../../src/dashboards/compile-dashboards.js';
import { rawRowsSql, rawRowValues, type CompiledRawRows } from '../../src/dashboards/raw-rows.js';
import { withheldBecause } from '../../src/compile/masking.js';
import { duckDbDialect } from '../../src/adapters/duckdb/duckdb-dialect.js';
import { postgresDialect } from '../../src/adapters/postgres/postgres-dialect.js';
import { bigQueryDialect } from '../../src/adapters/bigquery/bigquery-dialect.js';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { formatDiagnostic, type Diagnostic } from '../../src/errors.js';
import type { Manifest } from '../../src/compile/manifest.js';
import type { Dialect } from '../../src/adapters/dialect.js';
import { REPO, removeDir } from '../helpers.js';

type Json = Record<string, any>;
const files = loadProject(REPO);
const compiled = compileProject(files, { env: {} });
const LINKS = files.project.dashboards?.links ?? {};
const capabilityText = readFileSync(join(REPO, 'dashboards/capability.json'), 'utf8');
const capability = (): Json => JSON.parse(capabilityText);
/** The anomaly table: the tile with the raw-row action and the PagerDuty link. */
const anomaly = (d: Json): Json => d.tabs[0].tiles.find((t: Json) => t.id === 'anomaly_table');
const ANOMALY = capability().tabs[0].tiles.findIndex((t: Json) => t.id === 'anomaly_table');

/** Compile capability.json as edited, against the shipped models (or `manifest`), for `dialect`. */
function compileEdited(edit: (d: Json) => void, opts: { manifest?: Manifest; dialect?: Dialect; links?: Record<string, string> } = {}) {
  const d = capability();
  edit(d);
  const ds: Diagnostic[] = [];
  const parsed = parseDashboards([{ path: 'dashboards/capability.json', text: JSON.stringify(d, null, 2) }], ds);
  const out = compileDashboards({ parsed, manifest: opts.manifest ?? compiled.manifest, dialect: opts.dialect ?? duckDbDialect, project: 'ai_audit', links: opts.links ?? LINKS }, ds);
  return { out, errors: ds.filter((x) => x.severity === 'error').map(formatDiagnostic), text: JSON.stringify(d, null, 2) };
}

/** The line of the first occurrence of `needle` in `text` (1-based). */
const lineOf = (text: string, needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length;
/** The line of the object holding `needle` (its opening brace). */
const objectLineOf = (text: string, needle: string) => text.slice(0, text.lastIndexOf('{', text.indexOf(needle))).split('\n').length;

describe('raw_rows and link templates: what the compile refuses', () => {
  it('the shipped dashboards compile, with the raw-row action and the PagerDuty link on the anomaly table', () => {
    expect(compiled.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
    const t = compiled.dashboards.find((d) => d.dashboard.name === 'capability')!.tabs[0].tiles.find((x) => x.tile.id === 'anomaly_table')!;
    expect(t.rawRows).toMatchObject({ model: 'stg_ai_audit_logs', label: 'Raw logs', match: { capability: '{{ capability }}' }, day: { column: 'created_at', value: '{{ date }}', type: 'timestamptz' }, limit: 100 });
    expect(t.tile.links.map((l) => l.url)).toContain('https://example.pagerduty.com/incidents/new?title=Volume%20{{ anomaly_state }}%3A%20{{ capability }}%20on%20{{ date }}');
  });

  const base = `tabs\\[0\\]\\.tiles\\[${ANOMALY}\\]`;
  it.each<[string, (d: Json) => void, string, RegExp]>([
    ['an unknown model', (d) => (anomaly(d).raw_rows.model = 'stg_ai_audit_log'), '"stg_ai_audit_log"', new RegExp(`${base}\\.raw_rows\\.model: model 'stg_ai_audit_log' not found — did you mean 'stg_ai_audit_logs'\\?`)],
    ['a match column the model does not have', (d) => (anomaly(d).raw_rows.match = { capabilty: '{{ capability }}' }), '"capabilty"', new RegExp(`${base}\\.raw_rows\\.match\\.capabilty: column 'capabilty' not in stg_ai_audit_logs — did you mean 'capability'\\?`)],
    ['a template field the tile does not have', (d) => (anomaly(d).raw_rows.match.capability = '{{ capabilty }}'), '"{{ capabilty }}"', new RegExp(`${base}\\.raw_rows\\.match\\.capability: 'capabilty' is not one of the tile's fields — did you mean 'capability'\\? \\(date, capability, `)],
    ['a shown column the model does not have', (d) => (anomaly(d).raw_rows.columns[1] = 'ids'), '"ids"', new RegExp(`${base}\\.raw_rows\\.columns\\[1\\]: column 'ids' not in stg_ai_audit_logs — did you mean 'id'\\?`)],
    ['a day on a text column', (d) => (anomaly(d).raw_rows.day.column = 'provider'), '"provider",\n', new RegExp(`${base}\\.raw_rows\\.day\\.column: day\\.column 'provider' is a varchar: a day is a range of a timestamp or date column`)],
    ['a day read from a text field', (d) => (anomaly(d).raw_rows.day.value = '{{ capability }}'), '"value": "{{ capability }}"', new RegExp(`${base}\\.raw_rows\\.day\\.value: day\\.value reads 'capability', a varchar`)],
    ['a day that is not one field', (d) => (anomaly(d).raw_rows.day.value = 'on {{ date }}'), '"on {{ date }}"', new RegExp(`${base}\\.raw_rows\\.day\\.value: day\\.value 'on \\{\\{ date \\}\\}' must be one field of the tile`)],
    ['nothing to match', (d) => Object.assign(anomaly(d).raw_rows, { match: {}, day: undefined }), '"raw_rows"', new RegExp(`${base}\\.raw_rows: raw_rows needs match .* or day`)],
    ['an unknown key', (d) => (anomaly(d).raw_rows.limt = 5), '"limt"', new RegExp(`${base}\\.raw_rows\\.limt: unknown key 'limt'`)],
    ['a link template that is not defined', (d) => (anomaly(d).links[1].template = 'pagerduty_incidnet'), '"pagerduty_incidnet"', new RegExp(`${base}\\.links\\[1\\]\\.template: link template 'pagerduty_incidnet' is not defined — did you mean 'pagerduty_incident'\\?`)],
    ['a param the template does not have', (d) => (anomaly(d).links[1].params = { title: 'x', titel: 'y' }), '"titel"', new RegExp(`${base}\\.links\\[1\\]\\.params\\.titel: link template 'pagerduty_incident' has no \\{\\{ titel \\}\\} — did you mean 'title'\\?`)],
    ['a placeholder without its param', (d) => (anomaly(d).links[1].params = {}), '"params"', new RegExp(`${base}\\.links\\[1\\]\\.params: link template 'pagerduty_incident' has \\{\\{ title \\}\\}: give params\\.title`)],
    ['a param using a field the tile does not have', (d) => (anomaly(d).links[1].params.title = '{{ capabilty }} on {{ date }}'), '"{{ capabilty }} on {{ date }}"', new RegExp(`${base}\\.links\\[1\\]\\.params\\.title: 'capabilty' is not one of the tile's fields — did you mean 'capability'\\?`)],
    ['a link with both url and template', (d) => (anomaly(d).links[1].url = 'https://x'), '{"PagerDuty incident"', new RegExp(`${base}\\.links\\[1\\]: a link has either url .* or template`)],
  ])('%s', (_n, edit, at, expected) => {
    const r = compileEdited(edit);
    expect(r.out).toEqual([]);
    expect(r.errors.join('\n')).toMatch(expected);
    // at the line of the key it is about
    const hit = r.errors.find((e) => expected.test(e))!;
    const line = at.startsWith('{') ? objectLineOf(r.text, at.slice(1)) : lineOf(r.text, at);
    expect(hit).toMatch(new RegExp(`^dashboards/capability\\.json:${line}:\\d+: error: `));
  });

  it('raw_rows is a row action of tables', () => {
    const r = compileEdited((d) => (d.tabs[0].tiles[3].raw_rows = { model: 'stg_ai_audit_logs', match: { capability: '{{ capability }}' } }));
    expect(r.errors.join('\n')).toMatch(/tabs\[0\]\.tiles\[3\]\.raw_rows: raw_rows is a row action of table tiles; this tile is a bar/);
  });
});

describe('the masking policy', () => {
  /** The shipped manifest with stg_ai_audit_logs.workspace_id marked as PII. */
  const marked = (): Manifest => {
    const m: Manifest = structuredClone(compiled.manifest);
    const node = Object.values(m.nodes).find((n) => n.resource_type === 'model' && n.name === 'stg_ai_audit_logs')!;
    if (node.resource_type !== 'model') throw new Error('no model');
    node.columns = node.columns.map((c) => (c.name === 'workspace_id' ? { ...c, meta: { pii: 'possible' } } : c));
    return m;
  };

  it('content columns and columns marked pii/content in YAML are withheld; the others are not', () => {
    for (const name of ['request_metadata', 'prompt', 'prompt_text', 'messages', 'content', 'completion_text', 'Prompt']) expect(withheldBecause({ name }), name).toMatch(/prompt or response content/);
    expect(withheldBecause({ name: 'notes', meta: { pii: 'possible' } })).toMatch(/meta: \{ pii: possible \}/);
    expect(withheldBecause({ name: 'body', meta: { content: true } })).toMatch(/meta: \{ content: true \}/);
    for (const c of [{ name: 'prompt_chars' }, { name: 'capability' }, { name: 'x', meta: { pii: false } }, { name: 'y', meta: { pii: 'none' } }]) expect(withheldBecause(c), c.name).toBeUndefined();
    // the masking policy decides (compile/masking.ts): a column with any policy is withheld; a content name reviewed as not PII is not
    for (const policy of ['mask', 'hash', 'redact', 'drop'] as const) expect(withheldBecause({ name: 'user_email', policy }), policy).toBe(`its YAML gives it policy: ${policy}`);
    expect(withheldBecause({ name: 'messages', meta: { pii: false } })).toBeUndefined();
  });

  it('listing a withheld column is an error at its line; left to the default, it is not selected', () => {
    const r = compileEdited(() => undefined, { manifest: marked() });
    expect(r.errors.join('\n')).toMatch(new RegExp(`^dashboards/capability\\.json:${lineOf(r.text, '"workspace_id"')}:\\d+: error: tabs\\[0\\]\\.tiles\\[${ANOMALY}\\]\\.raw_rows\\.columns\\[2\\]: column 'workspace_id' of stg_ai_audit_logs is never shown by a raw-row action: its YAML marks it meta: \\{ pii: possible \\}`, 'm'));
    const ok = compileEdited((d) => delete anomaly(d).raw_rows.columns, { manifest: marked() });
    expect(ok.errors).toEqual([]);
    const rr = ok.out[0].tabs[0].tiles.find((t) => t.tile.id === 'anomaly_table')!.rawRows!;
    expect(rr.columns).not.toContain('workspace_id');
    expect(rr.columns).toContain('capability');
    expect(rr.withheld).toEqual(['workspace_id']);
    expect(rawRowsSql(rr, { capability: 'chat', created_at: '2026-03-10' }, duckDbDialect)).not.toMatch(/workspace_id/);
  });
});

describe('the query of a row', () => {
  const rrFor = (dialect: Dialect): CompiledRawRows => {
    const r = compileEdited(() => undefined, { dialect });
    expect(r.errors).toEqual([]);
    return r.out[0].tabs[0].tiles.find((t) => t.tile.id === 'anomaly_table')!.rawRows!;
  };
  const COLS = 'created_at, id, workspace_id, provider, model, status, is_error, duration_ms, prompt_chars, total_tokens';
  const cols = (q: (c: string) => string) => COLS.split(', ').map(q).join(', ');
  const row = { date: new Date('2026-03-10T00:00:00Z'), capability: "o'brien", deviation_state_14d: 'spike' };

  it('the row gives the values: the capability as it is, the day as YYYY-MM-DD; a row without one has none', () => {
    const rr = rrFor(duckDbDialect);
    expect(rawRowValues(rr, row)).toEqual({ capability: "o'brien", created_at: '2026-03-10' });
    expect(rawRowValues(rr, { ...row, date: '2026-03-10' })).toEqual({ capability: "o'brien", created_at: '2026-03-10' });
    expect(rawRowValues(rr, { ...row, capability: null })).toBeUndefined();
    expect(rawRowValues(rr, { ...row, date: 'yesterday' })).toBeUndefined();
  });

  it.each<[string, Dialect, string]>([
    [
      'DuckDB',
      duckDbDialect,
      `select ${cols((c) => `"${c}"`)}\nfrom "analytics"."stg_ai_audit_logs"\nwhere "capability" = 'o''brien'\n  and "created_at" >= cast('2026-03-10T00:00:00.000Z' as timestamptz)\n  and "created_at" < cast('2026-03-11T00:00:00.000Z' as timestamptz)\norder by "created_at" desc\nlimit 100`,
    ],
    [
      'Postgres',
      postgresDialect,
      `select ${cols((c) => `"${c}"`)}\nfrom "analytics"."stg_ai_audit_logs"\nwhere "capability" = 'o''brien'\n  and "created_at" >= cast('2026-03-10T00:00:00.000Z' as timestamptz)\n  and "created_at" < cast('2026-03-11T00:00:00.000Z' as timestamptz)\norder by "created_at" desc\nlimit 100`,
    ],
    [
      'BigQuery',
      bigQueryDialect,
      `select ${cols((c) => `\`${c}\``)}\nfrom \`analytics\`.\`stg_ai_audit_logs\`\nwhere \`capability\` = 'o\\'brien'\n  and \`created_at\` >= TIMESTAMP '2026-03-10T00:00:00.000Z'\n  and \`created_at\` < TIMESTAMP '2026-03-11T00:00:00.000Z'\norder by \`created_at\` desc\nlimit 100`,
    ],
  ])('%s: values as literals, the day as a range on the bare column, newest first', (_n, dialect, expected) => {
    const rr = rrFor(dialect);
    expect(rawRowsSql(rr, rawRowValues(rr, row)!, dialect)).toBe(expected);
  });

  it('the day ends at a month boundary too', () => {
    const rr = rrFor(duckDbDialect);
    const sql = rawRowsSql(rr, { capability: 'chat', created_at: '2026-02-28' }, duckDbDialect);
    expect(sql).toContain(`"created_at" < cast('2026-03-01T00:00:00.000Z' as timestamptz)`);
  });

  describe('in DuckDB, in a session that is not on UTC', () => {
    let db: DuckDbAdapter;
    let dir: string;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vigil-rawrows-'));
      db = await DuckDbAdapter.open({ type: 'duckdb', path: 'x.duckdb', schema: 'analytics' }, dir, 1);
      await db.execute(`create schema analytics`);
      await db.execute(`create table analytics.stg_ai_audit_logs as select * from (values
        (1, 'w1', 'openai', 'm', 'success', false, 1.0, 10.0, 100.0, 'chat', timestamptz '2026-03-09 23:59:59.999+00'),
        (2, 'w1', 'openai', 'm', 'success', false, 1.0, 10.0, 100.0, 'chat', timestamptz '2026-03-10 00:00:00+00'),
        (3, 'w2', 'openai', 'm', 'error', true, 1.0, 10.0, 100.0, 'chat', timestamptz '2026-03-10 12:00:00+00'),
        (4, 'w2', 'openai', 'm', 'success', false, 1.0, 10.0, 100.0, 'chat', timestamptz '2026-03-10 23:59:59.999+00'),
        (5, 'w2', 'openai', 'm', 'success', false, 1.0, 10.0, 100.0, 'chat', timestamptz '2026-03-11 00:00:00+00'),
        (6, 'w3', 'openai', 'm', 'success', false, 1.0, 10.0, 100.0, 'o''brien', timestamptz '2026-03-10 08:00:00+00'),
        (7, 'w3', 'openai', 'm', 'success', false, 1.0, 10.0, 100.0, 'search', timestamptz '2026-03-10 08:00:00+00')
      ) as t(id, workspace_id, provider, model, status, is_error, duration_ms, prompt_chars, total_tokens, capability, created_at)`);
      // the query means the same in any session time zone
      await db.execute(`set TimeZone = 'America/Los_Angeles'`);
    });
    afterAll(async () => {
      await db?.close();
      if (dir) removeDir(dir);
    });

    it('returns exactly the rows of the capability on that UTC day, newest first', async () => {
      const rr = rrFor(duckDbDialect);
      const ids = async (values: Record<string, string>) => (await db.query(rawRowsSql(rr, values, duckDbDialect))).map((r) => Number(r.id));
      expect(await ids({ capability: 'chat', created_at: '2026-03-10' })).toEqual([4, 3, 2]);
      expect(await ids({ capability: "o'brien", created_at: '2026-03-10' })).toEqual([6]);
      expect(await ids({ capability: 'chat', created_at: '2026-03-11' })).toEqual([5]);
    });
  });
});

describe('BigQuery: the raw-row queries through Google\'s analyzer (ZetaSQL)', () => {
  it('analyzes against the declared columns of stg_ai_audit_logs, and a wrong literal type is caught', async () => {
    const bq = compileProject(files, { target: 'prod', env: { AI_AUDIT_BQ_PROJECT: 'vigil-golden' } });
    expect(bq.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
    const tiles = bq.dashboards.flatMap((d) => d.tabs.flatMap((t) => t.tiles)).filter((t) => t.rawRows);
    expect(tiles.map((t) => t.tile.id).sort()).toEqual(['anomaly_table', 'recent_incidents']);
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    const node = Object.values(bq.manifest.nodes).find((n) => n.resource_type === 'model' && n.name === 'stg_ai_audit_logs')!;
    if (node.resource_type !== 'model' || !node.relation) throw new Error('no relation');
    const typeOf = (t: string | undefined) => (/timestamp/i.test(t ?? '') ? T.TIMESTAMP : /^date$/i.test(t ?? '') ? T.DATE : /bigint|int/i.test(t ?? '') ? T.INT64 : /double|float/i.test(t ?? '') ? T.FLOAT64 : /bool/i.test(t ?? '') ? T.BOOL : T.STRING);
    const rel = node.relation;
    const catalog = new ZetaCatalog(srv.z, lo, rel.database).addTable([rel.database!, rel.schema, rel.identifier], node.columns.map((c) => ({ name: c.name, type: typeOf(c.data_type) })));
    const a = new ZetaAnalyzer(srv, catalog, lo);
    try {
      for (const t of tiles) {
        const sql = rawRowsSql(t.rawRows!, { capability: "o'brien", created_at: '2026-03-10' }, bigQueryDialect);
        expect(sql).toContain(`\`vigil-golden\`.\`analytics\`.\`stg_ai_audit_logs\``);
        expect(await a.analyze(sql), sql).toMatchObject({ ok: true });
      }
      // the analyzer does check: a day compared as a string to the timestamp column is refused
      const bad = rawRowsSql(tiles[0].rawRows!, { capability: 'chat', created_at: '2026-03-10' }, bigQueryDialect).replace("TIMESTAMP '2026-03-10T00:00:00.000Z'", '1');
      expect(await a.analyze(bad)).toMatchObject({ ok: false });
    } finally {
      await a.release();
    }
  }, 120_000);
});

describe('project link templates', () => {
  const fields = ['date', 'capability', 'deviation_state_14d'];
  it('fill the params from the row, each URL-encoded once', () => {
    const errors: string[] = [];
    const url = projectLink('pd', { title: 'Volume {{ deviation_state_14d }}: {{ capability }} on {{date}}', svc: 'P1 2' }, { pd: 'https://acme.pagerduty.com/incidents/new?service_id={{ svc }}&title={{ title }}' }, fields, (_p, m) => errors.push(m));
    expect(errors).toEqual([]);
    expect(url).toBe('https://acme.pagerduty.com/incidents/new?service_id=P1%202&title=Volume%20{{ deviation_state_14d }}%3A%20{{ capability }}%20on%20{{date}}');
  });

  it('project.yaml refuses a template that is not an http(s) URL, at its line', async () => {
    const { ProjectFileSchema } = await import('../../src/project/schema.js');
    const r = ProjectFileSchema.safeParse({ name: 'x', targets: {}, dashboards: { links: { pd: 'javascript:alert(1)', ok: 'https://x.pagerduty.com/incidents/new?title={{ title }}', sp: 'https://x/a b', br: 'https://x/?t={{ ti tle }}' } } });
    expect(r.success).toBe(false);
    const msgs = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(msgs).toEqual(expect.arrayContaining([expect.stringMatching(/^dashboards\.links\.pd: 'javascript:alert\(1\)' is not an http\(s\) URL/), expect.stringMatching(/^dashboards\.links\.sp: .* has spaces/), expect.stringMatching(/^dashboards\.links\.br: .* has a placeholder that is not/)]));
    expect(msgs.some((m) => m.startsWith('dashboards.links.ok'))).toBe(false);
  });
});

describe('Metabase: a select filter on a BOOLEAN column', () => {
  it("compares the column as the text Metabase fills its tag with, which BigQuery takes (was: `is_error in ('true')`, BOOL against STRING, refused by BigQuery), and DuckDB reads alike", async () => {
    const { metabaseFilter } = await import('../../src/dashboards/export.js');
    const f = { name: 'errored', label: 'Errored', type: 'select', column: 'is_error', default: true } as Parameters<typeof metabaseFilter>[0];
    const mf = metabaseFilter(f, bigQueryDialect, 'yesno');
    expect(mf).toMatchObject({ tagType: 'text', parameterType: 'string/=', default: ['true'], label: 'Errored (true or false)' });
    // Metabase's substitution of the tag: a text value is a quoted string
    const where = (clause: string, value: string) => clause.replace(/^\[\[/, '').replace(/\]\]$/, '').replace(`{{${f.name}}}`, `'${value}'`);
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    const catalog = new ZetaCatalog(srv.z, lo, 'p').addTable(['p', 'd', 't'], [{ name: 'is_error', type: T.BOOL }]);
    const a = new ZetaAnalyzer(srv, catalog, lo);
    try {
      expect(await a.analyze(`select count(*) from \`p\`.\`d\`.\`t\` where true ${where(mf.clause, 'true')}`)).toMatchObject({ ok: true });
      // the analyzer does refuse the plain comparison
      expect(await a.analyze("select count(*) from `p`.`d`.`t` where true and `is_error` in ('true')")).toMatchObject({ ok: false });
    } finally {
      await a.release();
    }
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const duck = metabaseFilter(f, duckDbDialect, 'yesno');
      const count = async (v: string) => Number((await conn.runAndReadAll(`select count(*) from (values (true), (false), (true), (null)) as t(is_error) where true ${where(duck.clause, v)}`)).getRows()[0][0]);
      expect([await count('true'), await count('false')]).toEqual([2, 1]);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  }, 120_000);
});

describe('Metabase: a date range on a TIMESTAMP column', () => {
  it("casts the day it starts at for BigQuery, as the site's window does (was: `created_at >= CURRENT_DATE() + INTERVAL ... DAY`, TIMESTAMP against DATE, refused by BigQuery)", async () => {
    const { makeProject } = await import('../helpers.js');
    const { metabasePlans } = await import('../../src/dashboards/export.js');
    const dir = makeProject({
      'project.yaml': 'name: q\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n  bq: { type: bigquery, project: p, dataset: d, location: US }\n',
      'models/logs.sql': "select timestamp '2026-12-06 10:00:00' as created_at, current_date as day, 12 as n",
      'models/logs.yml': 'models:\n  - name: logs\n    columns:\n      - { name: created_at, data_type: timestamp }\n      - { name: day, data_type: date }\n      - { name: n, data_type: integer }\n',
      'dashboards/d.json': JSON.stringify({
        name: 'd',
        title: 'D',
        filters: [{ name: 'date_range', type: 'date_range', column: 'created_at', default: '7d' }],
        tabs: [{ name: 'main', title: 'Main', tiles: [{ id: 'total', type: 'kpi', title: 'Total', model: 'logs', measures: [{ name: 'total', column: 'n', agg: 'sum' }], layout: { x: 0, y: 0, w: 4, h: 2 } }] }],
      }),
    });
    const { startZetaServer, bigQueryLanguageOptions, ZetaCatalog, ZetaAnalyzer, typeBuilders } = await import('../../src/adapters/bigquery/zetasql.js');
    const srv = await startZetaServer(REPO);
    const lo = await bigQueryLanguageOptions(srv);
    const T = typeBuilders(srv.z);
    const catalog = new ZetaCatalog(srv.z, lo, 'p').addTable(['p', 'd', 'logs'], [{ name: 'created_at', type: T.TIMESTAMP }, { name: 'day', type: T.DATE }, { name: 'n', type: T.INT64 }]);
    const a = new ZetaAnalyzer(srv, catalog, lo);
    try {
      const r = compileProject(loadProject(dir), { target: 'bq', env: {} });
      expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const [plan] = metabasePlans(r.dashboards, { metabaseDatabase: 1 });
      const sql = (plan.cards[0].body.dataset_query as { native: { query: string } }).native.query;
      // Metabase's substitution: the optional clause kept, its number tag filled
      const filled = sql.replace(/\[\[|\]\]/g, '').replace('{{date_range}}', '7');
      expect(await a.analyze(filled), filled).toMatchObject({ ok: true });
      expect(sql).toContain('`created_at` >= TIMESTAMP((CURRENT_DATE() + INTERVAL (-({{date_range}} - 1)) DAY))');
    } finally {
      await a.release();
      removeDir(dir);
    }
  }, 120_000);
});
