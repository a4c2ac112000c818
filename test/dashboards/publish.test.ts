/**
 * `vigil dashboards publish --metabase URL`, through the real CLI (dist/), against a fake
 * Metabase on 127.0.0.1 that validates request shapes as Metabase's API does
 * (test/support/fake-metabase.ts): credentials only from the environment (missing: exit 2;
 * wrong: Metabase's 401, exit 1), never printed; a 429 and a 500 on the way are retried without
 * creating anything twice; the second publish creates nothing and changes nothing; an edited
 * tile title updates its card (PUT) instead of adding one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { makeProject, removeDir, VIGIL, vigilAsync, vigilProcessAsync, type CliResult } from '../helpers.js';
import { startFakeMetabase, type FakeMetabase } from '../support/fake-metabase.js';
import { FAKE_PD_CERT_PATH } from '../support/fake-pagerduty.js';

const API_KEY = 'mb_api_key_0123456789abcdef';
const SESSION = 'f1e2d3c4-b5a6-4789-9abc-def012345678';

const L = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });
const DASHBOARD = {
  name: 'ops',
  title: 'Ops',
  filters: [
    { name: 'date_range', type: 'date_range', column: 'date', default: '7d' },
    { name: 'capability', type: 'select', column: 'capability', default: null },
  ],
  tabs: [
    {
      name: 'main',
      title: 'Main',
      tiles: [
        { id: 'total', type: 'kpi', title: 'Total (24h)', model: 'daily', measures: [{ name: 'total', column: 'n', agg: 'sum' }], filters: [{ column: 'date', op: '>=', value: '-1d' }], compare: 'previous_period', layout: L(0, 0, 4, 2) },
        { id: 'trend', type: 'line', title: 'Error rate', model: 'daily', dimensions: [{ column: 'date', granularity: 'day' }], measures: [{ name: 'err', column: 'err_rate', agg: 'avg', format: 'percent' }], target_band: { min: 0, max: 0.05 }, layout: L(4, 0, 8, 4) },
      ],
    },
    {
      name: 'detail',
      title: 'Detail',
      tiles: [{ id: 'tbl', type: 'table', title: 'By capability', model: 'daily', dimensions: [{ column: 'capability' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], conditional_formatting: [{ field: 'n', op: '>', value: 10, color: '#f04438' }], layout: L(0, 0, 12, 4) }],
    },
  ],
};

let mb: FakeMetabase;
let dir: string;
const outputs: CliResult[] = [];
const publish = async (args: string[] = [], env: Record<string, string> = { METABASE_API_KEY: API_KEY }) => {
  const r = await vigilAsync(dir, ['dashboards', 'publish', '--metabase', mb.url, ...args], env);
  outputs.push(r);
  return r;
};
/** The requests of one run: what it logged from `from` on. */
const since = (from: number) => mb.log.slice(from);

beforeAll(async () => {
  mb = await startFakeMetabase({ apiKey: API_KEY, session: SESSION });
  dir = makeProject({
    'project.yaml': `name: ops_project\ndefault_target: dev\ntargets:\n  dev:\n    type: duckdb\n    path: .vigil/dev.duckdb\n    schema: analytics\n`,
    'models/daily.sql': `select current_date as date, 'chat' as capability, 12 as n, 0.01 as err_rate`,
    'models/daily.yml': `models:\n  - name: daily\n    columns:\n      - { name: date, data_type: date }\n      - { name: capability, data_type: varchar }\n      - { name: n, data_type: integer }\n      - { name: err_rate, data_type: double }\n`,
    'dashboards/ops.json': JSON.stringify(DASHBOARD, null, 2),
  });
});
afterAll(async () => {
  await mb?.close();
  if (dir) removeDir(dir);
});

describe('vigil dashboards publish --metabase', () => {
  it('without METABASE_API_KEY or METABASE_SESSION: exit 2 naming both, nothing sent', async () => {
    const r = await publish([], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/METABASE_API_KEY .*METABASE_SESSION/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(mb.log).toEqual([]);
  });

  it('a credential an HTTP header cannot carry (a line break, a pasted typographic character): exit 2 naming the variable and the character, nothing sent, no part of the value printed (was: retried as a network failure, exit 1, the key printed with its line break turned into a space)', async () => {
    const from = mb.log.length;
    const r = await publish(['--metabase-database', '2'], { METABASE_API_KEY: `${API_KEY}\nsecond line` });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('error: METABASE_API_KEY holds a line break at character 28, which an HTTP header (X-API-KEY) cannot carry');
    expect(r.stderr).not.toContain('mb_api_key');
    expect(r.stderr).not.toContain('retrying');
    const s = await publish([], { METABASE_SESSION: `\u201c${SESSION}\u201d` });
    expect(s.code, s.stderr).toBe(2);
    expect(s.stderr).toContain('error: METABASE_SESSION holds a character beyond ASCII (U+201C) at character 1');
    expect(s.stderr).not.toContain(SESSION.slice(0, 8));
    expect(since(from)).toEqual([]);
  });

  it('an unknown database name: exit 2 with a did-you-mean', async () => {
    const r = await publish(['--metabase-database', 'Analytcs']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--metabase-database 'Analytcs': no such database in Metabase — did you mean 'Analytics'?");
  });

  it('first publish: collection, cards and dashboard created in shapes Metabase accepts; a 429 and a 500 on the way are retried, nothing created twice', async () => {
    const from = mb.log.length;
    // GET /api/database answered 429, then the POST /api/collection answered 500 (not processed)
    mb.script([{ status: 429, retryAfter: 0 }, { status: 200 }, { status: 200 }, { status: 500 }]);
    const r = await publish(['--metabase-database', 'analytics']);
    expect(r.stderr).toMatch(/GET \/api\/database: HTTP 429; retrying/);
    expect(r.stderr).toMatch(/POST \/api\/collection: HTTP 500; retrying/);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("database 'Analytics' (#2), collection 'ops_project'");
    expect(r.stdout).toMatch(/ops: 3 cards \(3 created, 0 updated, 0 unchanged\), dashboard #\d+ created -> http:\/\/127\.0\.0\.1:\d+\/dashboard\/\d+/);
    const posts = since(from).filter((x) => x.method === 'POST').map((x) => x.path);
    expect(posts).toEqual(['/api/collection', '/api/card', '/api/card', '/api/card', '/api/dashboard']);
    expect(mb.state.collections.filter((c) => c.name === 'ops_project')).toHaveLength(1);
    // what Metabase holds: every card on the project's collection and database, the dashboard's dashcards on those cards, on its tabs
    const col = mb.state.collections.find((c) => c.name === 'ops_project')!;
    expect(mb.state.cards).toHaveLength(3);
    for (const c of mb.state.cards) expect(c).toMatchObject({ collection_id: col.id, dataset_query: { type: 'native', database: 2 } });
    const trend = mb.state.cards.find((c) => c.name === 'Total (24h)')!;
    expect(trend.display).toBe('smartscalar');
    expect(mb.state.cards.find((c) => c.name === 'Error rate')!.visualization_settings).toMatchObject({ 'graph.goal_value': 0.05, 'graph.show_goal': true });
    expect(mb.state.cards.find((c) => c.name === 'By capability')!.visualization_settings['table.column_formatting']).toEqual([{ columns: ['n'], type: 'single', operator: '>', value: 10, color: '#f04438', highlight_row: false }]);
    const [dash] = mb.state.dashboards;
    expect(dash).toMatchObject({ name: 'Ops', collection_id: col.id });
    expect(dash.tabs.map((t: any) => t.name)).toEqual(['Main', 'Detail']);
    expect(dash.dashcards).toHaveLength(3);
    expect(new Set(dash.dashcards.map((d: any) => d.card_id))).toEqual(new Set(mb.state.cards.map((c) => c.id)));
    expect(dash.dashcards.find((d: any) => d.card_id === trend.id)).toMatchObject({ row: 0, col: 0, size_x: 8, size_y: 4, dashboard_tab_id: dash.tabs[0].id });
    expect(dash.parameters.map((p: any) => p.id)).toEqual(['date_range', 'capability']);
    expect(dash.dashcards.flatMap((d: any) => d.parameter_mappings).length).toBeGreaterThan(0);
  });

  it('second publish: no POST (nothing created), no PUT (nothing changed)', async () => {
    const from = mb.log.length;
    const r = await publish(['--metabase-database', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(since(from).filter((x) => x.method !== 'GET')).toEqual([]);
    expect(r.stdout).toMatch(/ops: 3 cards \(0 created, 0 updated, 3 unchanged\), dashboard #\d+ unchanged/);
    expect(mb.state.cards).toHaveLength(3);
    expect(mb.state.dashboards).toHaveLength(1);
  });

  it('an edited tile title: its card is updated (PUT), nothing created, the dashboard keeps its dashcards; with a session instead of a key', async () => {
    const edited = structuredClone(DASHBOARD);
    edited.tabs[1].tiles[0].title = 'Interactions by capability';
    writeFileSync(join(dir, 'dashboards/ops.json'), JSON.stringify(edited, null, 2));
    const dashcards = structuredClone(mb.state.dashboards[0].dashcards);
    const from = mb.log.length;
    const r = await publish(['--metabase-database', 'Analytics'], { METABASE_SESSION: SESSION });
    expect(r.code, r.stderr).toBe(0);
    const changes = since(from).filter((x) => x.method !== 'GET');
    expect(changes.map((x) => `${x.method} ${x.path}`)).toEqual([`PUT /api/card/${mb.state.cards.find((c) => c.name === 'Interactions by capability')!.id}`]);
    expect(changes[0].auth).toBe(SESSION);
    expect(mb.state.cards.map((c) => c.name).sort()).toEqual(['Error rate', 'Interactions by capability', 'Total (24h)']);
    expect(mb.state.dashboards[0].dashcards).toEqual(dashcards);
    expect(r.stdout).toMatch(/\(0 created, 1 updated, 2 unchanged\)/);
    expect(readFileSync(join(dir, 'dashboards/ops.json'), 'utf8')).toContain('Interactions by capability');
  });

  it("a PUT of a card answered 200 that changed nothing (a proxy answering for Metabase): exit 1 naming the card, and the next run updates it (was: exit 0, 'updated', the old query still shown)", async () => {
    const titled = (title: string) => {
      const edited = structuredClone(DASHBOARD);
      edited.tabs[1].tiles[0].title = title;
      writeFileSync(join(dir, 'dashboards/ops.json'), JSON.stringify(edited, null, 2));
    };
    // (how many requests come before the card's PUT: a run that applies it)
    titled('Interactions, by capability');
    const from = mb.log.length;
    const first = await publish(['--metabase-database', '2']);
    expect(first.code, first.stderr).toBe(0);
    const before = since(from).findIndex((x) => x.method === 'PUT');
    expect(before).toBeGreaterThan(0);
    titled('Interactions per capability');
    mb.script([...Array(before).fill({ status: 200 }), { status: 200, body: '{}' }]);
    const r = await publish(['--metabase-database', '2']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/error: Metabase: dashboard 'ops' \(dashboards\/ops\.json\), tile '[^']+' \("Interactions per capability"\): PUT \/api\/card\/\d+ was answered with success, but the card does not hold what was sent \(name as before\)/);
    expect(r.stdout).not.toMatch(/1 updated/);
    expect(mb.state.cards.map((c) => c.name)).toContain('Interactions, by capability');
    const again = await publish(['--metabase-database', '2']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/\(0 created, 1 updated, 2 unchanged\)/);
    expect(mb.state.cards.map((c) => c.name)).toContain('Interactions per capability');
  });

  it('a card updated on a Metabase that reads its query back in MBQL 5 (0.57+: the SQL at stages[0].native) is updated, exit 0 (was: exit 1, "does not hold what was sent (dataset_query as before)" on every update)', async () => {
    const edited = structuredClone(DASHBOARD);
    edited.tabs[1].tiles[0].title = 'Interactions across capabilities';
    writeFileSync(join(dir, 'dashboards/ops.json'), JSON.stringify(edited, null, 2));
    mb.mbql5 = true;
    try {
      const r = await publish(['--metabase-database', '2']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      // (the cards it did not change are unchanged in that shape too: was every card sent again, "3 updated", on every publish)
      expect(r.stdout).toMatch(/\(0 created, 1 updated, 2 unchanged\)/);
      expect(mb.state.cards.map((c) => c.name)).toContain('Interactions across capabilities');
      const from = mb.log.length;
      const again = await publish(['--metabase-database', '2']);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toMatch(/ops: 3 cards \(0 created, 0 updated, 3 unchanged\), dashboard #\d+ unchanged/);
      expect(since(from).filter((x) => x.method === 'PUT')).toEqual([]);
    } finally {
      mb.mbql5 = false;
    }
  });

  it('a list answered in a shape this code does not know: exit 1 saying so, nothing created (was: taken for "none", a second collection and every card created)', async () => {
    for (const [steps, what] of [
      [[{ status: 200 }, { status: 200, body: '{"unexpected":true}' }], 'GET /api/collection'],
      [[{ status: 200 }, { status: 200 }, { status: 200, body: '{"items":[]}' }], 'GET /api/collection/'],
    ] as const) {
      const from = mb.log.length;
      mb.script([...steps]);
      const r = await publish(['--metabase-database', '2']);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toContain(`error: Metabase: ${what}`);
      expect(r.stderr).toMatch(/expected a list \(or \{ data: \[\.\.\.\] \}\), got \{"(unexpected|items)".*nothing was created from it/);
      expect(since(from).filter((x) => x.method !== 'GET')).toEqual([]);
    }
    expect(mb.state.collections.filter((c) => c.name === 'ops_project')).toHaveLength(1);
    expect(mb.state.cards).toHaveLength(3);
  });

  it('Metabase refuses (a wrong key: 401): exit 1 with the status, Metabase\'s message and the variable it refused (was: the status alone)', async () => {
    const r = await publish([], { METABASE_API_KEY: 'mb_wrong_key_fedcba9876543210' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: Metabase: GET /api/database: HTTP 401 Unauthenticated — Metabase did not accept METABASE_API_KEY (sent as X-API-KEY): a wrong, revoked or expired API key');
    expect(r.stderr).not.toContain('mb_wrong_key_fedcba9876543210');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const s = await publish([], { METABASE_SESSION: 'wrong-session-0123456789' });
    expect(s.code).toBe(1);
    expect(s.stderr).toContain('error: Metabase: GET /api/database: HTTP 401 Unauthenticated — Metabase did not accept METABASE_SESSION (sent as X-Metabase-Session): a wrong or expired session id');
    expect(s.stderr).not.toContain('wrong-session-0123456789');
  });

  it("an answer cut to fit the message is redacted before the cut: a proxy's page echoing the key across the cut shows no part of it (was: the key's first characters)", async () => {
    mb.script([{ status: 403, body: `${'x'.repeat(480)}X-API-KEY: ${API_KEY} refused` }]);
    const r = await publish(['--metabase-database', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/HTTP 403 x{480}X-API-KEY: <redact/);
    expect(r.stderr).not.toContain(API_KEY.slice(0, 8));
  });

  it('a card Metabase refuses: exit 1 naming the dashboard, its file and the tile (was: POST /api/card alone)', async () => {
    const fresh = await startFakeMetabase({ apiKey: API_KEY });
    try {
      // GET /api/database, GET /api/collection, POST /api/collection, GET /api/collection (another run's first?), GET its items, then the first card's POST refused
      fresh.script([{ status: 200 }, { status: 200 }, { status: 200 }, { status: 200 }, { status: 200 }, { status: 400, body: '{"errors":{"display":"value must be a non-blank string."}}' }]);
      const r = await vigilAsync(dir, ['dashboards', 'publish', '--metabase', fresh.url, '--metabase-database', '2'], { METABASE_API_KEY: API_KEY });
      outputs.push(r);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toContain(`error: Metabase: dashboard 'ops' (dashboards/ops.json), tile 'total' ("Total (24h)"): POST /api/card: HTTP 400 {"display":"value must be a non-blank string."}`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(fresh.state.cards).toEqual([]);
    } finally {
      await fresh.close();
    }
  });

  it("a PUT of the dashboard answered 200 that placed nothing (a Metabase before 0.47 ignores dashcards): exit 1 saying so and naming what was not published; the next run places them (was: exit 0, 'created', an empty dashboard)", async () => {
    const fresh = await startFakeMetabase({ apiKey: API_KEY });
    const two = makeProject({
      'project.yaml': readFileSync(join(dir, 'project.yaml'), 'utf8'),
      'models/daily.sql': readFileSync(join(dir, 'models/daily.sql'), 'utf8'),
      'models/daily.yml': readFileSync(join(dir, 'models/daily.yml'), 'utf8'),
      'dashboards/ops.json': JSON.stringify(DASHBOARD, null, 2),
      'dashboards/ops2.json': JSON.stringify({ ...DASHBOARD, name: 'ops2', title: 'Ops two' }, null, 2),
    });
    try {
      // GET /api/database, GET /api/collection, POST /api/collection, GET /api/collection, GET its items,
      // 3 x POST /api/card, GET the items (another run's copies?), POST /api/dashboard, GET the items,
      // GET /api/dashboard/:id, then the PUT answered 200 without being applied
      fresh.script([...Array(12).fill({ status: 200 }), { status: 200, body: '{}' }]);
      const r = await vigilAsync(two, ['dashboards', 'publish', '--metabase', fresh.url, '--metabase-database', '2'], { METABASE_API_KEY: API_KEY });
      outputs.push(r);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toMatch(/error: Metabase: dashboard 'ops' \(dashboards\/ops\.json\): PUT \/api\/dashboard\/\d+ was answered with success, but the dashboard does not hold what was sent: 0 of its 3 cards on it/);
      expect(r.stderr).toContain('Published 0 of 2 dashboards; not published: ops (failed), ops2 (not attempted)');
      expect(r.stdout).not.toContain('Published 2');
      expect(fresh.state.dashboards.map((d) => d.dashcards.length)).toEqual([0]);
      const again = await vigilAsync(two, ['dashboards', 'publish', '--metabase', fresh.url, '--metabase-database', '2'], { METABASE_API_KEY: API_KEY });
      outputs.push(again);
      expect(again.code, again.stderr).toBe(0);
      expect(fresh.state.cards).toHaveLength(6);
      expect(fresh.state.dashboards.map((d) => d.dashcards.length)).toEqual([3, 3]);
    } finally {
      await fresh.close();
      removeDir(two);
    }
  });

  it("a card whose SQL quotes a name Metabase reads as a variable ({{) or the start of a comment (/*, before the filters' clauses): exit 2 at the tile's file:line before anything is created (was: the cards posted, {{q}} a variable no tag defines)", async () => {
    const odd = makeProject({
      'project.yaml': `name: odd_project\ndefault_target: dev\ntargets:\n  dev:\n    type: duckdb\n    path: .vigil/dev.duckdb\n    schema: analytics\n`,
      'models/ev.sql': `select 'p' as provider, {% raw %}'c' as "p{{q}}"{% endraw %}, 'b' as "x/*y", 1 as n`,
      'models/ev.yml': 'models:\n  - name: ev\n    columns:\n      - { name: provider, data_type: varchar }\n      - { name: "p{{q}}", data_type: varchar }\n      - { name: "x/*y", data_type: varchar }\n      - { name: n, data_type: integer }\n',
      'dashboards/odd.json': JSON.stringify({ name: 'odd', title: 'Odd', filters: [{ name: 'provider', type: 'select', column: 'provider', default: null }], tabs: [{ name: 't', title: 'T', tiles: [
        { id: 'braces', type: 'table', title: 'Braces', model: 'ev', dimensions: [{ column: 'p{{q}}' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L(0, 0, 12, 4) },
        { id: 'comment', type: 'table', title: 'Comment', model: 'ev', dimensions: [{ column: 'x/*y' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: L(0, 4, 12, 4) },
      ] }] }, null, 2),
    });
    try {
      const from = mb.log.length;
      const r = await vigilAsync(odd, ['dashboards', 'publish', '--metabase', mb.url, '--metabase-database', '2'], { METABASE_API_KEY: API_KEY });
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(/dashboards\/odd\.json:\d+: error: Metabase: the SQL of tile 'braces' quotes the name "p\{\{q\}\}", which holds '\{\{'/);
      expect(r.stderr).toMatch(/dashboards\/odd\.json:\d+: error: Metabase: the SQL of tile 'comment' quotes the name "x\/\*y", which holds '\/\*'/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(since(from).filter((x) => x.method !== 'GET')).toEqual([]);
    } finally {
      removeDir(odd);
    }
  });

  it('the credentials never appear in any output', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(6);
    for (const o of outputs) for (const s of [API_KEY, SESSION]) expect(o.stdout + o.stderr).not.toContain(s);
  });

  it('--help documents the flags and the environment variables', async () => {
    const r = await vigilAsync(dir, ['dashboards', 'publish', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['--metabase <url>', '--metabase-database <id|name>', '--collection <name>', 'METABASE_API_KEY', 'METABASE_SESSION']) expect(r.stdout).toContain(s);
  });
});

describe('vigil dashboards export: the flags of each format', () => {
  it('--format metabase needs --metabase-database (an id); a flag of another format is refused (exit 2)', async () => {
    const run = (args: string[]) => vigilAsync(dir, ['dashboards', 'export', '--out', 'target/exp', ...args]);
    const missing = await run(['--format', 'metabase']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--format metabase needs --metabase-database ID');
    expect((await run(['--format', 'metabase', '--metabase-database', 'Analytics'])).stderr).toContain("must be the database's id");
    // not rounded into another id in the JSON
    expect((await run(['--format', 'metabase', '--metabase-database', '99999999999999999999'])).stderr).toContain("must be the database's id (a positive whole number up to 2147483647)");
    expect((await run(['--format', 'json', '--looker-connection', 'x'])).stderr).toContain('--looker-connection applies to --format looker, not json');
    expect((await run(['--format', 'looker', '--metabase-database', '2'])).code).toBe(2);
    const ok = await run(['--format', 'metabase', '--metabase-database', '2']);
    expect(ok.code, ok.stderr).toBe(0);
    const file = JSON.parse(readFileSync(join(dir, 'target/exp/ops.metabase.json'), 'utf8'));
    expect(file.cards.every((c: { body: { dataset_query: { database: number } } }) => c.body.dataset_query.database === 2)).toBe(true);
  });
  it('looker: a warning (not an error) when DuckDB SQL goes to a connection named for BigQuery', async () => {
    const r = await vigilAsync(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'target/lk', '--looker-connection', 'bigquery_prod']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("warning: this LookML is written in duckdb SQL (target dev), but the Looker connection 'bigquery_prod' is named for BigQuery");
    expect(readFileSync(join(dir, 'target/lk/ops_project.model.lkml'), 'utf8')).toContain('connection: "bigquery_prod"');
  });
});

describe('MetabaseClient and helpers (in process)', () => {
  it('a POST answered 500 that did create its object: found by the recheck, not sent again', async () => {
    const { createServer } = await import('node:http');
    const { MetabaseClient } = await import('../../src/dashboards/metabase-publish.js');
    let posts = 0;
    const server = createServer((req, res) => {
      if (req.method === 'POST') posts++;
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'created, then failed' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const client = new MetabaseClient(`http://127.0.0.1:${port}`, { header: 'X-API-KEY', variable: 'METABASE_API_KEY', value: 'k' }, undefined, () => {}, async () => {});
      await expect(client.call('POST', '/api/card', { name: 'x' }, async () => ({ id: 5 }))).resolves.toEqual({ id: 5 });
      expect(posts).toBe(1);
      // nothing found: sent again, then given up with the status and Metabase's message
      await expect(client.call('POST', '/api/card', { name: 'x' }, async () => undefined)).rejects.toThrow('POST /api/card: HTTP 500 created, then failed (gave up after 4 attempts)');
      expect(posts).toBe(5);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
  it('a Metabase that never answers is given up at the publish deadline, not after every attempt has timed out', async () => {
    const { createServer } = await import('node:http');
    const { MetabaseClient, PUBLISH_POLICY } = await import('../../src/dashboards/metabase-publish.js');
    let requests = 0;
    // takes the request, never answers
    const server = createServer(() => void requests++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      // PUBLISH_POLICY scaled down: 4 attempts of 300 ms would be 1.2 s against a deadline of 700 ms
      const policy = { ...PUBLISH_POLICY, deadlineMs: 700, timeoutMs: 300, baseDelayMs: 5, maxDelayMs: 5, attempts: 4 };
      const client = new MetabaseClient(`http://127.0.0.1:${port}`, { header: 'X-API-KEY', variable: 'METABASE_API_KEY', value: 'k' }, policy, () => {}, async () => {});
      // given up for the deadline (every attempt timing out would be 4 requests and say so), said
      // without a wall-clock bound: a loaded machine's timers run late
      await expect(client.call('GET', '/api/database')).rejects.toThrow(/GET \/api\/database: .*gave up after [12] attempts: the next would be past the publish deadline of 0\.7 s/);
      expect(requests).toBeLessThanOrEqual(2);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
  it('a redirect is not followed (the key would go with it); a Retry-After past the deadline, a null answer and a POST answered without an id are failures said as such', async () => {
    const { createServer } = await import('node:http');
    const { MetabaseClient, MetabaseError, listDatabases, MetabasePublisher } = await import('../../src/dashboards/metabase-publish.js');
    const seen: Array<{ port: string; key: string | undefined }> = [];
    let answer: (res: import('node:http').ServerResponse) => void = () => {};
    const other = createServer((req, res) => {
      seen.push({ port: 'other', key: req.headers['x-api-key'] as string | undefined });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('[]');
    });
    const server = createServer((req, res) => {
      seen.push({ port: 'metabase', key: req.headers['x-api-key'] as string | undefined });
      answer(res);
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const sleeps: number[] = [];
    try {
      const port = (server.address() as { port: number }).port;
      const otherPort = (other.address() as { port: number }).port;
      const client = new MetabaseClient(`http://127.0.0.1:${port}`, { header: 'X-API-KEY', variable: 'METABASE_API_KEY', value: 'mb_key' }, undefined, () => {}, async (ms: number) => void sleeps.push(ms));
      answer = (res) => {
        res.writeHead(302, { Location: `http://127.0.0.1:${otherPort}/api/database` });
        res.end();
      };
      await expect(client.call('GET', '/api/database')).rejects.toThrow(`GET /api/database: HTTP 302 redirect to http://127.0.0.1:${otherPort}/api/database, not followed`);
      expect(seen).toEqual([{ port: 'metabase', key: 'mb_key' }]);
      answer = (res) => {
        res.writeHead(429, { 'Retry-After': '86400' });
        res.end('{"message":"slow down"}');
      };
      await expect(client.call('GET', '/api/database')).rejects.toThrow('Retry-After 86400 s is past the publish deadline of 60 s');
      expect(sleeps).toEqual([]);
      answer = (res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('null');
      };
      await expect(listDatabases(client)).rejects.toThrow('GET /api/database: HTTP 200 with an unexpected answer: null');
      answer = (res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(res.req.method === 'POST' ? '{"name":"ai_audit"}' : '[]');
      };
      const publisher = new MetabasePublisher(client, `http://127.0.0.1:${port}`, () => {}, 'ai_audit');
      const err = await publisher.collection({ name: 'ai_audit', description: null } as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MetabaseError);
      expect((err as Error).message).toBe('POST /api/collection: the answer has no id: {"name":"ai_audit"}');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => other.close(() => r()));
    }
  });
  it("two projects with a dashboard of the same name published into one --collection: each keeps its own cards and dashboard (was: the second overwrote the first's, and each run of one rewrote the other's); a card of Vigil's older marker is taken over, not doubled", async () => {
    const fresh = await startFakeMetabase({ apiKey: API_KEY });
    const projectOf = (name: string) =>
      makeProject({
        'project.yaml': `name: ${name}\ndefault_target: dev\ntargets:\n  dev:\n    type: duckdb\n    path: .vigil/dev.duckdb\n    schema: analytics\n`,
        'models/daily.sql': readFileSync(join(dir, 'models/daily.sql'), 'utf8'),
        'models/daily.yml': readFileSync(join(dir, 'models/daily.yml'), 'utf8'),
        'dashboards/ops.json': JSON.stringify({ ...DASHBOARD, title: `Ops of ${name}` }, null, 2),
      });
    const a = projectOf('team_a');
    const b = projectOf('team_b');
    const run = async (d: string) => {
      const r = await vigilAsync(d, ['dashboards', 'publish', '--metabase', fresh.url, '--metabase-database', '2', '--collection', 'Shared'], { METABASE_API_KEY: API_KEY });
      outputs.push(r);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      return r;
    };
    try {
      await run(a);
      const r = await run(b);
      expect(r.stdout).toMatch(/ops: 3 cards \(3 created, 0 updated, 0 unchanged\), dashboard #\d+ created/);
      expect(r.stderr).not.toContain('warning');
      expect(fresh.state.cards).toHaveLength(6);
      expect(fresh.state.dashboards.map((x) => x.name).sort()).toEqual(['Ops of team_a', 'Ops of team_b']);
      expect(fresh.state.cards.filter((c) => c.description.includes('(vigil:team_b:ops/')).length).toBe(3);
      // each again: nothing sent but GETs
      const from = fresh.log.length;
      expect((await run(a)).stdout).toMatch(/3 unchanged\), dashboard #\d+ unchanged/);
      expect((await run(b)).stdout).toMatch(/3 unchanged\), dashboard #\d+ unchanged/);
      expect(fresh.log.slice(from).filter((x) => x.method !== 'GET')).toEqual([]);
      // a card and a dashboard published by a Vigil before the project was in the marker: taken over
      const c = projectOf('team_c');
      const old = fresh.state.cards.find((x) => x.description.includes('(vigil:team_a:ops/total)'))!;
      for (const x of [...fresh.state.cards, ...fresh.state.dashboards]) if (x.description.includes('(vigil:team_a:')) x.description = x.description.replace('(vigil:team_a:', '(vigil:');
      const r2 = await run(c);
      expect(r2.stdout).toMatch(/ops: 3 cards \(0 created, 3 updated, 0 unchanged\), dashboard #\d+ updated/);
      expect(old.description).toContain('(vigil:team_c:ops/total)');
      expect(fresh.state.cards).toHaveLength(6);
      // older markers of a dashboard this project does not publish (another project's, not yet
      // taken over): no strays of this one (was: a warning to archive them, the other's live items)
      for (const x of [...fresh.state.cards, ...fresh.state.dashboards]) if (x.description.includes('(vigil:team_b:ops')) x.description = x.description.replace('(vigil:team_b:ops', '(vigil:fin');
      const r3 = await run(c);
      expect(r3.stderr).not.toContain('warning');
      expect(r3.stdout).toMatch(/ops: 3 cards \(0 created, 0 updated, 3 unchanged\)/);
    } finally {
      await fresh.close();
      removeDir(a);
      removeDir(b);
    }
  });

  it('a tile or a dashboard renamed since the last publish: what was published under the old name is named in a warning, left in Metabase (was: a second dashboard of the same title beside the old one, without a word)', async () => {
    const fresh = await startFakeMetabase({ apiKey: API_KEY });
    const two = makeProject({
      'project.yaml': `name: ops_project\ndefault_target: dev\ntargets:\n  dev:\n    type: duckdb\n    path: .vigil/dev.duckdb\n    schema: analytics\n`,
      'models/daily.sql': readFileSync(join(dir, 'models/daily.sql'), 'utf8'),
      'models/daily.yml': readFileSync(join(dir, 'models/daily.yml'), 'utf8'),
      'dashboards/ops.json': JSON.stringify(DASHBOARD, null, 2),
    });
    const run = async (args: string[] = []) => {
      const r = await vigilAsync(two, ['dashboards', 'publish', '--metabase', fresh.url, '--metabase-database', '2', ...args], { METABASE_API_KEY: API_KEY });
      outputs.push(r);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      return r;
    };
    try {
      expect((await run()).stderr).not.toContain('warning');
      const first = fresh.state.dashboards[0].id;
      // the table tile's id renamed: its old card is named (with -s too: the selected dashboard's cards)
      const renamed = structuredClone(DASHBOARD);
      renamed.tabs[1].tiles[0].id = 'by_capability';
      writeFileSync(join(two, 'dashboards/ops.json'), JSON.stringify(renamed, null, 2));
      const oldCard = fresh.state.cards.find((c) => c.name === 'By capability')!.id;
      const r1 = await run(['-s', 'ops']);
      expect(r1.stderr).toContain(`warning: collection 'ops_project' holds 1 item Vigil published before that no selected dashboard publishes now (a tile or dashboard removed, or its id or name changed): card #${oldCard} (vigil:ops_project:ops/tbl); it is left as it is and no longer updated: archive it in Metabase`);
      // the dashboard renamed: the old dashboard and all its cards are named
      writeFileSync(join(two, 'dashboards/ops.json'), JSON.stringify({ ...renamed, name: 'ops2' }, null, 2));
      const r2 = await run();
      expect(r2.stderr).toMatch(new RegExp(`holds 5 items Vigil published before that no dashboard publishes now .*: .*dashboard #${first} \\(vigil:ops_project:ops\\)`));
      expect(r2.stderr).toContain('(vigil:ops_project:ops/tbl)');
      expect(r2.stderr).toContain('(vigil:ops_project:ops/by_capability)');
      expect(fresh.state.dashboards).toHaveLength(2);
      // nothing archived or deleted by Vigil
      expect(fresh.log.filter((x) => x.method === 'DELETE')).toEqual([]);
    } finally {
      await fresh.close();
      removeDir(two);
    }
  });

  it("a description quoting another item's marker: each card and the dashboard found by the marker Vigil appends, the second publish sends nothing (was: tile 'tbl' read as 'ops/total', its card overwritten and a new one created on every run)", async () => {
    const fresh = await startFakeMetabase({ apiKey: API_KEY });
    const quoting = structuredClone(DASHBOARD) as any;
    quoting.description = 'Also on the site; see (vigil:other) for the old one.';
    quoting.tabs[1].tiles[0].description = 'The same total as (vigil:ops/total), per capability.';
    const three = makeProject({
      'project.yaml': `name: ops_project\ndefault_target: dev\ntargets:\n  dev:\n    type: duckdb\n    path: .vigil/dev.duckdb\n    schema: analytics\n`,
      'models/daily.sql': readFileSync(join(dir, 'models/daily.sql'), 'utf8'),
      'models/daily.yml': readFileSync(join(dir, 'models/daily.yml'), 'utf8'),
      'dashboards/ops.json': JSON.stringify(quoting, null, 2),
    });
    try {
      for (const run of [1, 2, 3]) {
        const from = fresh.log.length;
        const r = await vigilAsync(three, ['dashboards', 'publish', '--metabase', fresh.url, '--metabase-database', '2'], { METABASE_API_KEY: API_KEY });
        outputs.push(r);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stderr).not.toContain('warning');
        if (run > 1) {
          expect(fresh.log.slice(from).filter((x) => x.method !== 'GET')).toEqual([]);
          expect(r.stdout).toMatch(/ops: 3 cards \(0 created, 0 updated, 3 unchanged\), dashboard #\d+ unchanged/);
        }
      }
      expect(fresh.state.cards.map((c) => c.name).sort()).toEqual(['By capability', 'Error rate', 'Total (24h)']);
      expect(fresh.state.dashboards).toHaveLength(1);
    } finally {
      await fresh.close();
      removeDir(three);
    }
  });

  it('two publishes of one project at the same time (two processes that both found no collection and no cards): one collection, one card per tile and one dashboard stay, the copies each run made archived by it; the next run creates nothing and warns of nothing (was: two collections, each with its own cards and dashboard)', async () => {
    const fresh = await startFakeMetabase({ apiKey: API_KEY });
    const race = makeProject({
      'project.yaml': readFileSync(join(dir, 'project.yaml'), 'utf8'),
      'models/daily.sql': readFileSync(join(dir, 'models/daily.sql'), 'utf8'),
      'models/daily.yml': readFileSync(join(dir, 'models/daily.yml'), 'utf8'),
      'dashboards/ops.json': JSON.stringify(DASHBOARD, null, 2),
    });
    const run = async () => {
      const r = await vigilProcessAsync(race, ['dashboards', 'publish', '--metabase', fresh.url, '--metabase-database', '2'], { METABASE_API_KEY: API_KEY });
      outputs.push(r);
      return r;
    };
    try {
      // both read the collections before either creates one, then both read its items before either creates a card
      fresh.barrier('GET', /^\/api\/collection$/, 2);
      fresh.barrier('GET', /^\/api\/collection\/\d+\/items$/, 2);
      const [a, b] = await Promise.all([run(), run()]);
      for (const r of [a, b]) expect(r.code, r.stdout + r.stderr).toBe(0);
      const live = <T extends { archived?: boolean }>(xs: T[]) => xs.filter((x) => !x.archived);
      const cols = live(fresh.state.collections).filter((c) => c.name === 'ops_project');
      expect(cols).toHaveLength(1);
      const cards = live(fresh.state.cards);
      expect(cards.map((c) => c.collection_id)).toEqual([cols[0].id, cols[0].id, cols[0].id]);
      expect(cards.map((c) => c.name).sort()).toEqual(['By capability', 'Error rate', 'Total (24h)']);
      const dashes = live(fresh.state.dashboards);
      expect(dashes).toHaveLength(1);
      expect(dashes[0].collection_id).toBe(cols[0].id);
      expect(dashes[0].dashcards.map((d: { card_id: number }) => d.card_id).sort()).toEqual(cards.map((c) => c.id).sort());
      // what was archived is only what the two runs created twice, each its own copy
      expect(fresh.state.collections.filter((c) => c.name === 'ops_project' && c.archived).length).toBeLessThanOrEqual(1);
      expect(a.stdout + a.stderr + b.stdout + b.stderr).not.toContain('also says');
      const from = fresh.log.length;
      const again = await run();
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stderr).not.toContain('warning');
      expect(again.stdout).toMatch(/ops: 3 cards \(0 created, 0 updated, 3 unchanged\), dashboard #\d+ unchanged/);
      expect(fresh.log.slice(from).filter((x) => x.method !== 'GET')).toEqual([]);
      // into the collection that exists: a dashboard added, both runs find none of its cards
      writeFileSync(join(race, 'dashboards/ops2.json'), JSON.stringify({ ...DASHBOARD, name: 'ops2', title: 'Ops two' }, null, 2));
      fresh.barrier('GET', /^\/api\/collection\/\d+\/items$/, 2);
      const [c, d] = await Promise.all([run(), run()]);
      for (const r of [c, d]) expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(c.stderr + d.stderr).toMatch(/note: card of ops2\/\w+ was created at the same moment by another publish \(#\d+\); this run's copy #\d+ is archived/);
      const cards2 = live(fresh.state.cards).filter((x) => x.description.includes('(vigil:ops_project:ops2/'));
      expect(cards2.map((x) => x.name).sort()).toEqual(['By capability', 'Error rate', 'Total (24h)']);
      const dashes2 = live(fresh.state.dashboards).filter((x) => x.name === 'Ops two');
      expect(dashes2).toHaveLength(1);
      expect(dashes2[0].dashcards.map((x: { card_id: number }) => x.card_id).sort()).toEqual(cards2.map((x) => x.id).sort());
      expect(live(fresh.state.cards)).toHaveLength(6);
      expect(live(fresh.state.dashboards)).toHaveLength(2);
      const last = await run();
      expect(last.code, last.stdout + last.stderr).toBe(0);
      expect(last.stderr).not.toContain('warning');
      expect(last.stdout).toMatch(/ops2: 3 cards \(0 created, 0 updated, 3 unchanged\), dashboard #\d+ unchanged/);
    } finally {
      await fresh.close();
      removeDir(race);
    }
  });

  it('a publish killed (SIGKILL) half-way, at a card or at the dashboard whose POST Metabase processed but did not answer: the next run finds what it created and ends with one of each, no warning', async () => {
    for (const at of ['card', 'dashboard'] as const) {
      const fresh = await startFakeMetabase({ apiKey: API_KEY });
      const killed = makeProject({
        'project.yaml': readFileSync(join(dir, 'project.yaml'), 'utf8'),
        'models/daily.sql': readFileSync(join(dir, 'models/daily.sql'), 'utf8'),
        'models/daily.yml': readFileSync(join(dir, 'models/daily.yml'), 'utf8'),
        'dashboards/ops.json': JSON.stringify(DASHBOARD, null, 2),
      });
      try {
        // where the POST comes among a publish's requests: learnt from an undisturbed one
        const learn = await startFakeMetabase({ apiKey: API_KEY });
        const learnt = await vigilProcessAsync(killed, ['dashboards', 'publish', '--metabase', learn.url, '--metabase-database', '2'], { METABASE_API_KEY: API_KEY });
        await learn.close();
        expect(learnt.code, learnt.stderr).toBe(0);
        // the second card's POST, or the dashboard's
        const k = at === 'card' ? learn.log.findIndex((x) => x.path === '/api/card') + 1 : learn.log.findIndex((x) => x.path === '/api/dashboard');
        let arrived!: () => void;
        const held = new Promise<void>((r) => (arrived = r));
        fresh.script([...Array(k).fill({ status: 200 }), { status: 200, hang: true }]);
        const child = spawn(process.execPath, [VIGIL, 'dashboards', 'publish', '--metabase', fresh.url, '--metabase-database', '2'], { cwd: killed, env: { ...process.env, METABASE_API_KEY: API_KEY }, stdio: 'ignore' });
        const poll = setInterval(() => fresh.log.length > k && arrived(), 20);
        await held;
        clearInterval(poll);
        const gone = new Promise((r) => child.on('close', r));
        child.kill('SIGKILL');
        await gone;
        expect(fresh.log.at(-1)).toMatchObject({ method: 'POST', path: at === 'card' ? '/api/card' : '/api/dashboard' });
        const r = await vigilProcessAsync(killed, ['dashboards', 'publish', '--metabase', fresh.url, '--metabase-database', '2'], { METABASE_API_KEY: API_KEY });
        outputs.push(r);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stderr).not.toContain('warning');
        expect(fresh.state.collections.filter((c) => c.name === 'ops_project')).toHaveLength(1);
        expect(fresh.state.cards.map((c) => c.name).sort()).toEqual(['By capability', 'Error rate', 'Total (24h)']);
        expect(fresh.state.dashboards).toHaveLength(1);
        expect(fresh.state.dashboards[0].dashcards).toHaveLength(3);
      } finally {
        await fresh.close();
        removeDir(killed);
      }
    }
  });

  it("a card of a user's own placed on a published dashboard: kept on it by the next publishes, its card never sent anything; a publish with nothing changed sends nothing (was: every publish removed it from the dashboard, without a word)", async () => {
    const fresh = await startFakeMetabase({ apiKey: API_KEY });
    const { mine, run, api } = ownProject(fresh);
    try {
      await run();
      const [dash] = fresh.state.dashboards;
      // the user, in Metabase: a question of their own in the collection, placed on the first tab
      const own = await api('POST', '/api/card', { name: 'My own question', display: 'table', visualization_settings: {}, collection_id: dash.collection_id, dataset_query: { type: 'native', database: 2, native: { query: 'select 1' } } });
      const theirs = { id: -1, card_id: own.id, dashboard_tab_id: dash.tabs[0].id, row: 20, col: 0, size_x: 6, size_y: 3, parameter_mappings: [] };
      await api('PUT', `/api/dashboard/${dash.id}`, { dashcards: [...dash.dashcards.map(({ card: _c, ...dc }: any) => dc), theirs] });
      expect(dash.dashcards).toHaveLength(4);
      const from = fresh.log.length;
      await run();
      expect(fresh.log.slice(from).filter((x) => x.method !== 'GET')).toEqual([]);
      // a tile changed: the dashboard is put again, the user's card stays on it where they put it
      const edited = structuredClone(DASHBOARD);
      edited.tabs[0].tiles[1].layout = L(4, 0, 8, 5);
      writeFileSync(join(mine, 'dashboards/ops.json'), JSON.stringify(edited, null, 2));
      const from2 = fresh.log.length;
      expect((await run()).stdout).toMatch(/dashboard #\d+ updated/);
      expect(fresh.log.slice(from2).filter((x) => x.method === 'PUT').map((x) => x.path)).toEqual([`/api/dashboard/${dash.id}`]);
      expect(dash.dashcards).toHaveLength(4);
      expect(dash.dashcards.find((d: any) => d.card_id === own.id)).toMatchObject({ row: 20, col: 0, size_x: 6, size_y: 3, dashboard_tab_id: dash.tabs[0].id });
      expect(fresh.state.cards.find((c) => c.id === own.id)).toMatchObject({ name: 'My own question', description: null, archived: false });
      // a tile's card archived in Metabase: published anew, its old place taken by the new card, the user's kept
      const gone = fresh.state.cards.find((c) => c.name === 'Error rate')!;
      await api('PUT', `/api/card/${gone.id}`, { archived: true });
      expect((await run()).stdout).toMatch(/\(1 created, 0 updated, 2 unchanged\), dashboard #\d+ updated/);
      expect(dash.dashcards.map((d: any) => d.card_id)).not.toContain(gone.id);
      expect(dash.dashcards.map((d: any) => d.card_id)).toContain(own.id);
      expect(dash.dashcards).toHaveLength(4);
    } finally {
      await fresh.close();
      removeDir(mine);
    }
  });

  it("a tab of a user's own with a card of theirs on a published dashboard, and a user's duplicate of a Vigil card: kept, after Vigil's tabs, by the next publishes (was: deleted with the card on it by the next publish that put the dashboard; the duplicate dropped)", async () => {
    const fresh = await startFakeMetabase({ apiKey: API_KEY });
    const { mine, run, api } = ownProject(fresh);
    try {
      await run();
      const [dash] = fresh.state.dashboards;
      const vigilTabs = dash.tabs.map((t: any) => t.name);
      expect(vigilTabs.length).toBeGreaterThan(0);
      // the user, in Metabase: a tab of their own with a question of theirs on it, and an empty one
      const own = await api('POST', '/api/card', { name: 'My own question', display: 'table', visualization_settings: {}, collection_id: dash.collection_id, dataset_query: { type: 'native', database: 2, native: { query: 'select 1' } } });
      // and a duplicate of one of Vigil's cards (Metabase's "Duplicate" keeps the description, marker and all) placed on Vigil's first tab
      const original = fresh.state.cards.find((c) => c.name === 'Error rate')!;
      const { id: _id, ...copy } = original as any;
      const dup = await api('POST', '/api/card', { name: 'Error rate (my copy)', display: copy.display, visualization_settings: copy.visualization_settings, collection_id: copy.collection_id, dataset_query: copy.dataset_query, description: copy.description });
      await api('PUT', `/api/dashboard/${dash.id}`, {
        tabs: [...dash.tabs.map((t: any) => ({ id: t.id, name: t.name })), { id: -7, name: 'Mine' }, { id: -8, name: 'Empty' }],
        dashcards: [
          ...dash.dashcards.map(({ card: _c, ...dc }: any) => dc),
          { id: -1, card_id: own.id, dashboard_tab_id: -7, row: 0, col: 0, size_x: 6, size_y: 3, parameter_mappings: [] },
          { id: -2, card_id: dup.id, dashboard_tab_id: dash.tabs[0].id, row: 30, col: 0, size_x: 6, size_y: 3, parameter_mappings: [] },
        ],
      });
      const mineTab = dash.tabs.find((t: any) => t.name === 'Mine');
      expect(mineTab).toBeDefined();
      // a tile changed: the dashboard is put again
      const edited = structuredClone(DASHBOARD);
      edited.tabs[0].tiles[1].layout = L(4, 0, 8, 5);
      writeFileSync(join(mine, 'dashboards/ops.json'), JSON.stringify(edited, null, 2));
      const r = await run();
      expect(r.stdout).toMatch(/dashboard #\d+ updated/);
      expect(r.stdout + r.stderr).not.toMatch(/no longer has/);
      // Vigil's tabs first, the user's after them; the user's card on it where they put it; the empty tab gone
      expect(dash.tabs.map((t: any) => t.name)).toEqual([...vigilTabs, 'Mine']);
      expect(dash.tabs.find((t: any) => t.name === 'Mine').id).toBe(mineTab.id);
      expect(dash.dashcards.find((d: any) => d.card_id === own.id)).toMatchObject({ dashboard_tab_id: mineTab.id, row: 0, col: 0, size_x: 6, size_y: 3 });
      // the copy stays where the user put it (was: dropped, its marker read as Vigil's), never updated by the publish
      expect(dash.dashcards.find((d: any) => d.card_id === dup.id)).toMatchObject({ dashboard_tab_id: dash.tabs[0].id, row: 30, col: 0 });
      expect(fresh.state.cards.find((c) => c.id === dup.id)).toMatchObject({ name: 'Error rate (my copy)', archived: false });
      expect(fresh.log.filter((x) => x.method === 'PUT' && x.path === `/api/card/${dup.id}`)).toEqual([]);
      // and a publish with nothing changed sends nothing
      const from = fresh.log.length;
      await run();
      expect(fresh.log.slice(from).filter((x) => x.method !== 'GET')).toEqual([]);
    } finally {
      await fresh.close();
      removeDir(mine);
    }
  });

  it("tabs reordered in the dashboard's file: the dashboard is put with the new order, Metabase's positions follow (was: 'unchanged', the tabs kept the old order; the check compared tabs by id, not by place); the user moving a tab of Vigil's is put back", async () => {
    const fresh = await startFakeMetabase({ apiKey: API_KEY });
    const { mine, run, api } = ownProject(fresh);
    try {
      await run();
      const [dash] = fresh.state.dashboards;
      const ids = Object.fromEntries(dash.tabs.map((t: any) => [t.name, t.id]));
      expect(dash.tabs.map((t: any) => t.name)).toEqual(['Main', 'Detail']);
      const swapped = structuredClone(DASHBOARD);
      swapped.tabs.reverse();
      writeFileSync(join(mine, 'dashboards/ops.json'), JSON.stringify(swapped, null, 2));
      const r = await run();
      expect(r.stdout).toMatch(/dashboard #\d+ updated/);
      // the same tabs (ids kept, so their cards stay), in the new order
      expect(dash.tabs.map((t: any) => [t.name, t.id, t.position])).toEqual([['Detail', ids.Detail, 0], ['Main', ids.Main, 1]]);
      // nothing changed since: nothing sent
      let from = fresh.log.length;
      await run();
      expect(fresh.log.slice(from).filter((x) => x.method !== 'GET')).toEqual([]);
      // the user drags Main first in Metabase: the next publish puts the file's order back
      await api('PUT', `/api/dashboard/${dash.id}`, { tabs: [{ id: ids.Main, name: 'Main' }, { id: ids.Detail, name: 'Detail' }] });
      from = fresh.log.length;
      expect((await run()).stdout).toMatch(/dashboard #\d+ updated/);
      expect(fresh.log.slice(from).filter((x) => x.method === 'PUT').map((x) => x.path)).toEqual([`/api/dashboard/${dash.id}`]);
      expect(dash.tabs.map((t: any) => t.name)).toEqual(['Detail', 'Main']);
    } finally {
      await fresh.close();
      removeDir(mine);
    }
  });

  it("engineWarning: the database's engine against the cards' SQL", async () => {
    const { engineWarning } = await import('../../src/dashboards/metabase-publish.js');
    expect(engineWarning({ id: 3, name: 'BQ', engine: 'bigquery-cloud-sdk' }, 'duckdb', 'dev', [{ name: 'dev', type: 'duckdb' }, { name: 'prod', type: 'bigquery' }])).toMatch(/duckdb SQL \(target dev\), but Metabase database 'BQ' \(#3\) is bigquery-cloud-sdk: .*--target prod/);
    expect(engineWarning({ id: 3, name: 'BQ', engine: 'bigquery-cloud-sdk' }, 'bigquery', 'prod')).toBeUndefined();
    expect(engineWarning({ id: 2, name: 'A', engine: 'duckdb' }, 'duckdb', 'dev')).toBeUndefined();
  });
});

/**
 * A project of its own publishing DASHBOARD to `fresh` (each run exit 0, its output kept), and the
 * Metabase API as a user would call it beside the publishes.
 */
function ownProject(fresh: { url: string }) {
  const mine = makeProject({
    'project.yaml': readFileSync(join(dir, 'project.yaml'), 'utf8'),
    'models/daily.sql': readFileSync(join(dir, 'models/daily.sql'), 'utf8'),
    'models/daily.yml': readFileSync(join(dir, 'models/daily.yml'), 'utf8'),
    'dashboards/ops.json': JSON.stringify(DASHBOARD, null, 2),
  });
  const run = async () => {
    const r = await vigilProcessAsync(mine, ['dashboards', 'publish', '--metabase', fresh.url, '--metabase-database', '2'], { METABASE_API_KEY: API_KEY });
    outputs.push(r);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return r;
  };
  const api = async (method: string, path: string, body: unknown) => {
    const res = await fetch(fresh.url + path, { method, headers: { 'X-API-KEY': API_KEY, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as any;
  };
  return { mine, run, api };
}

describe('vigil dashboards publish --metabase https://...', () => {
  it('a certificate the run does not trust: exit 1 at the first request, not retried, nothing sent; trusted through NODE_EXTRA_CA_CERTS it publishes', async () => {
    const secure = await startFakeMetabase({ apiKey: API_KEY, tls: true });
    try {
      const r = await vigilAsync(dir, ['dashboards', 'publish', '--metabase', secure.url], { METABASE_API_KEY: API_KEY });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('error: Metabase: GET /api/database: TLS verification failed (DEPTH_ZERO_SELF_SIGNED_CERT): self-signed certificate; not retried (a private CA: NODE_EXTRA_CA_CERTS=<its .pem>)');
      expect(r.stderr).not.toContain('retrying');
      expect(secure.log).toEqual([]);
      const ok = await vigilAsync(dir, ['dashboards', 'publish', '--metabase', secure.url], { METABASE_API_KEY: API_KEY, NODE_EXTRA_CA_CERTS: FAKE_PD_CERT_PATH });
      expect(ok.code, ok.stderr).toBe(0);
      expect(secure.state.dashboards).toHaveLength(1);
    } finally {
      await secure.close();
    }
  });
});
