/**
 * The PII check of dashboard tiles (docs/governance.md, "Dashboard tiles"): a tile whose query
 * shows a column copied from a source column marked PII, through a model that gives it no
 * policy, is an E_PII at the line of the tile's dimension, from `vigil check` and from
 * `dashboards validate`, `render`, `export` and `publish`, which write and send nothing for it;
 * with `policy: hash` everything passes. A raw-rows page is checked as the query it runs: the
 * masked column is withheld there (not refused), an unmasked one is an error at `raw_rows`.
 * A column whose lineage is unknown (a model reading PII through COLUMNS(...)) is a warning at
 * the tile's line, an error on a raw-rows page.
 * A project that marks no PII does not load the lineage at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, removeDir, vigil, vigilAsync, vigilLoading } from '../helpers.js';
import { startFakeMetabase, type FakeMetabase } from '../support/fake-metabase.js';

const dirs: string[] = [];
let mb: FakeMetabase;
beforeAll(async () => {
  mb = await startFakeMetabase({ apiKey: 'mb_api_key_0123456789abcdef' });
});
afterAll(async () => {
  await mb?.close();
  dirs.forEach(removeDir);
});

const L = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });
const AT = '2026-11-01T00:00:00Z';

/** Seed `people` in schema raw, read as source app.people (email marked PII); model contacts copies email as contact. */
const FILES = {
  'seeds/people.csv': 'id,team,email\n1,a,ann@example.com\n2,b,bob@example.com\n',
  'seeds/people.yml': 'seeds:\n  - name: people\n    config: { schema: raw }\n',
  'models/sources.yml':
    'sources:\n  - name: app\n    schema: raw\n    tables:\n      - name: people\n        columns:\n          - { name: id, data_type: integer }\n          - { name: team, data_type: varchar }\n          - { name: email, data_type: varchar, meta: { pii: true } }\n',
  'models/contacts.sql': "select id, team, email as contact from {{ source('app', 'people') }}\n",
};
const contactsYml = (policy: string) => `models:\n  - name: contacts\n    columns:\n      - { name: id, data_type: integer }\n      - { name: team, data_type: varchar }\n      - { name: contact, data_type: varchar${policy} }\n`;
const HASHED = contactsYml(', policy: hash');
const UNMASKED = contactsYml('');

const people = (who: Record<string, unknown>) =>
  JSON.stringify(
    {
      name: 'people',
      title: 'People',
      tabs: [
        {
          name: 't',
          title: 'T',
          tiles: [
            { id: 'n', type: 'kpi', title: 'People', model: 'contacts', measures: [{ column: 'id', agg: 'count' }], layout: L(0, 0, 4, 2) },
            { id: 'who', type: 'table', title: 'Contacts', model: 'contacts', measures: [{ column: 'id', agg: 'count' }], layout: L(0, 2, 12, 4), ...who },
          ],
        },
      ],
    },
    null,
    2,
  );
/** A dashboard that shows no PII, beside it. */
const TEAMS = JSON.stringify({ name: 'teams', title: 'Teams', tabs: [{ name: 't', title: 'T', tiles: [{ id: 'teams', type: 'bar', title: 'Teams', model: 'contacts', dimensions: [{ column: 'team' }], measures: [{ column: 'id', agg: 'count' }], layout: L(0, 0, 12, 4) }] }] }, null, 2);

/** The line of the first `needle` in `text`, after `after` (1-based). */
const lineOf = (text: string, needle: string, after = '') => text.slice(0, text.indexOf(needle, text.indexOf(after))).split('\n').length;

function project(contacts: string, who: Record<string, unknown>): { dir: string; text: string } {
  const text = people(who);
  const dir = makeProject({ ...FILES, 'models/contacts.yml': contacts, 'dashboards/people.json': text, 'dashboards/teams.json': TEAMS });
  dirs.push(dir);
  return { dir, text };
}

describe('dashboard tiles: the PII check', () => {
  it('a tile showing a PII source column through a model without a policy: E_PII at the dimension\'s line from check, validate, render, export and publish, nothing written or sent; with policy: hash all pass (was: rendered and exported, nothing said)', async () => {
    const { dir, text } = project(HASHED, { dimensions: [{ column: 'team' }, { column: 'contact' }] });
    expect(vigil(dir, ['build']).code).toBe(0);
    // masked by its model: nothing to say
    const ok = vigil(dir, ['check']);
    expect(ok.stdout + ok.stderr).not.toMatch(/PII/);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const rendered = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', AT]);
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(readFileSync(join(dir, 'site/people.html'), 'utf8')).not.toMatch(/@example\.com/);
    expect(vigil(dir, ['dashboards', 'export', '--format', 'json', '--out', 'ex']).code).toBe(0);

    // the policy removed (the relation still holds hashes: a rebuild would be refused at the model)
    writeFileSync(join(dir, 'models/contacts.yml'), UNMASKED);
    rmSync(join(dir, 'site'), { recursive: true });
    rmSync(join(dir, 'ex'), { recursive: true });
    const line = lineOf(text, '"column": "contact"');
    const E_TILE = new RegExp(`^dashboards/people\\.json:${line}:\\d+: error: column 'contact' of tile 'who' of dashboard 'people' carries PII unmasked: it is a copy of source app\\.people\\.email \\[E_PII\\]\\n  hint: read it from a model that publishes it masked`, 'm');
    const check = vigil(dir, ['check']);
    expect(check.code).toBe(2);
    expect(check.stderr).toMatch(/^models\/contacts\.yml:6:\d+: error: column 'contact' of model 'contacts' publishes PII unmasked/m);
    expect(check.stderr).toMatch(E_TILE);
    expect(check.stderr).not.toMatch(/tile '(n|teams)'|\n\s+at /);
    for (const args of [['dashboards', 'validate'], ['dashboards', 'render', '--out', 'site', '--at', AT], ['dashboards', 'export', '--format', 'json', '--out', 'ex']]) {
      const r = vigil(dir, args);
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(E_TILE);
      expect(r.stderr).not.toMatch(/model 'contacts' publishes|\n\s+at /);
    }
    expect(existsSync(join(dir, 'site'))).toBe(false);
    expect(existsSync(join(dir, 'ex'))).toBe(false);
    // answered from the dashboards snapshot the refused render kept: refused again
    const again = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', AT]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(E_TILE);
    expect(existsSync(join(dir, 'site'))).toBe(false);
    // publish: refused before Metabase is asked anything
    const before = mb.log.length;
    const pub = await vigilAsync(dir, ['dashboards', 'publish', '--metabase', mb.url, '--metabase-database', '2'], { METABASE_API_KEY: 'mb_api_key_0123456789abcdef' });
    expect(pub.code, pub.stdout + pub.stderr).toBe(2);
    expect(pub.stderr).toMatch(E_TILE);
    expect(mb.log.length).toBe(before);

    // the other dashboard shows no PII: selected alone, it renders and exports
    const teams = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', AT, '-s', 'teams']);
    expect(teams.code, teams.stderr).toBe(0);
    // (.vigil-site.json: the pages this render wrote, which the next one replaces: site-files.ts)
    expect(readdirSync(join(dir, 'site')).sort()).toEqual(['.vigil-site.json', 'index.html', 'teams.html']);
    expect(vigil(dir, ['dashboards', 'export', '--format', 'json', '--out', 'ex', '-s', 'teams']).code).toBe(0);
    // (a LookML export of one dashboard writes the views of all of them: the contact dimension too)
    const looker = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lk', '-s', 'teams']);
    expect(looker.code).toBe(2);
    expect(looker.stderr).toMatch(E_TILE);
  });

  it("a raw-rows page is checked as the query it runs: a masked column is withheld and passes; one without a policy is an error at raw_rows or its columns entry (was: listed on the page)", () => {
    const rawRows = (columns?: string[]) => ({ dimensions: [{ column: 'team' }], raw_rows: { label: 'Rows', model: 'contacts', match: { team: '{{ team }}' }, ...(columns ? { columns } : {}) } });
    const { dir, text } = project(HASHED, rawRows());
    expect(vigil(dir, ['build']).code).toBe(0);
    const ok = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', AT]);
    expect(ok.stderr).not.toMatch(/PII/);
    expect(ok.code, ok.stderr).toBe(0);
    const page = readFileSync(join(dir, 'site/people/rows/who--team=a.html'), 'utf8');
    expect(page).toMatch(/withheld from contacts: contact/);
    expect(vigil(dir, ['check']).code).toBe(0);

    writeFileSync(join(dir, 'models/contacts.yml'), UNMASKED);
    const r = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', AT]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^dashboards/people\\.json:${lineOf(text, '"raw_rows"')}:\\d+: error: column 'contact' of the raw rows of tile 'who' of dashboard 'people' carries PII unmasked: it is a copy of source app\\.people\\.email \\[E_PII\\]`, 'm'));
    // the tile itself shows team and a count: fine
    expect(r.stderr).not.toMatch(/column '\w+' of tile 'who'/);

    // listed in raw_rows.columns: at its entry
    const listed = people(rawRows(['id', 'contact']));
    writeFileSync(join(dir, 'dashboards/people.json'), listed);
    const c = vigil(dir, ['check']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(new RegExp(`^dashboards/people\\.json:${lineOf(listed, '"contact"', '"columns"')}:\\d+: error: column 'contact' of the raw rows of tile 'who'`, 'm'));
  });

  it("a column the model's YAML gives policy: drop is no column of the published relation: validate, export and check refuse a tile reading it at its line (was: validate exit 0, LookML exported the dimension, render failed)", () => {
    const { dir, text } = project(contactsYml(', policy: drop'), { dimensions: [{ column: 'team' }, { column: 'contact' }] });
    const line = lineOf(text, '"column": "contact"');
    const E_DROP = new RegExp(`^dashboards/people\\.json:${line}:\\d+: error: tabs\\[0\\]\\.tiles\\[1\\]\\.dimensions\\[1\\]\\.column: column 'contact' not in contacts \\(its YAML gives it policy: drop, which leaves it out of the published relation\\) \\[E_DASHBOARD\\]\\n  hint: contacts has: id, team$`, 'm');
    for (const args of [['dashboards', 'validate'], ['dashboards', 'export', '--format', 'looker', '--out', 'lk'], ['check']]) {
      const r = vigil(dir, args);
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(E_DROP);
      expect(r.stderr).not.toMatch(/\n\s+at |Binder Error/);
    }
    expect(existsSync(join(dir, 'lk'))).toBe(false);
    // a near name: the did-you-mean of any unknown column
    const near = people({ dimensions: [{ column: 'team' }, { column: 'teams' }] });
    writeFileSync(join(dir, 'dashboards/people.json'), near);
    expect(vigil(dir, ['dashboards', 'validate']).stderr).toMatch(/column 'teams' not in contacts — did you mean 'team'\?/);
  });

  it("a column whose lineage is unknown (a model reading PII through COLUMNS(...)): a warning at the tile's line naming the column and the model from validate, render (again from its snapshot) and export; an error on a raw-rows page; a policy or meta: { pii: false } settles it (was: nothing said, the addresses on the pages)", () => {
    const leakyYml = (email: string) => `models:\n  - name: leaky\n    columns:\n      - { name: kind, data_type: varchar }\n      - { name: ts, data_type: timestamp }\n      - { name: day, data_type: date }\n      - { name: email, data_type: varchar${email} }\n`;
    const tiles = (rawRows: boolean) =>
      JSON.stringify(
        {
          name: 'leaks',
          title: 'Leaks',
          tabs: [
            {
              name: 't',
              title: 'T',
              tiles: [
                { id: 'emails', type: 'table', title: 'Emails', model: 'leaky', dimensions: [{ column: 'email' }], measures: [{ column: 'kind', agg: 'count' }], layout: L(0, 0, 6, 4) },
                { id: 'contacts', type: 'table', title: 'Contacts', model: 'contacts', dimensions: [{ column: 'contact' }], measures: [{ column: 'kind', agg: 'count' }], layout: L(0, 4, 6, 4) },
                ...(rawRows ? [{ id: 'kinds', type: 'table', title: 'Kinds', model: 'leaky', dimensions: [{ column: 'kind' }], measures: [{ column: 'kind', agg: 'count', name: 'n' }], raw_rows: { model: 'leaky', match: { kind: '{{ kind }}' }, columns: ['kind', 'email'] }, layout: L(6, 0, 6, 4) }] : []),
              ],
            },
          ],
        },
        null,
        2,
      );
    const text = tiles(true);
    const dir = makeProject({
      'seeds/hostile.csv': 'id,ts,email,kind\n1,2026-10-30 22:00:00,ann@secret.example,a\n2,2026-10-30 20:00:00,bob@secret.example,b\n',
      'seeds/hostile.yml': 'seeds:\n  - name: hostile\n    columns:\n      - { name: email, meta: { pii: true } }\n',
      'models/leaky.sql': "{{ config(materialized='table') }} select kind, ts, cast(ts as date) as day, COLUMNS('^em') from {{ ref('hostile') }}\n",
      'models/leaky.yml': leakyYml(''),
      // a later model, deriving a column from it
      'models/contacts.sql': "select kind, upper(email) as contact from {{ ref('leaky') }}\n",
      'models/contacts.yml': 'models:\n  - name: contacts\n    columns:\n      - { name: kind, data_type: varchar }\n      - { name: contact, data_type: varchar }\n',
      'dashboards/leaks.json': text,
    });
    dirs.push(dir);
    const built = vigil(dir, ['build']);
    expect(built.code, built.stderr).toBe(0);
    // the model's own warning, at compile
    expect(vigil(dir, ['compile']).stderr).toMatch(/warning: model 'leaky' reads PII \(hostile\.email\) and its column lineage is incomplete: COLUMNS\(\.\.\.\) expression; PII may reach it unseen \[W_PII\]/);
    const W_TILE = new RegExp(`^dashboards/leaks\\.json:${lineOf(text, '"column": "email"')}:\\d+: warning: column 'email' of tile 'emails' of dashboard 'leaks' reads leaky\\.email, whose lineage is unknown: model 'leaky' reads PII \\(hostile\\.email\\) and its column lineage is incomplete: COLUMNS\\(\\.\\.\\.\\) expression; PII may reach it unseen \\[W_PII\\]\\n  hint: give leaky\\.email a policy in models/leaky\\.yml`, 'm');
    const W_DERIVED = new RegExp(`^dashboards/leaks\\.json:${lineOf(text, '"column": "contact"')}:\\d+: warning: column 'contact' of tile 'contacts' of dashboard 'leaks' reads contacts\\.contact, whose lineage is unknown: model 'leaky' reads PII \\(hostile\\.email\\) and its column lineage is incomplete: COLUMNS\\(\\.\\.\\.\\) expression \\(through leaky\\.email\\); PII may reach it unseen \\[W_PII\\]`, 'm');
    const E_RAW = new RegExp(`^dashboards/leaks\\.json:${lineOf(text, '"email"', '"raw_rows"')}:\\d+: error: column 'email' of the raw rows of tile 'kinds' of dashboard 'leaks' reads leaky\\.email, whose lineage is unknown: .*: rows are listed one by one only with columns known to hold no PII \\[E_PII\\]`, 'm');
    for (const args of [['dashboards', 'validate'], ['dashboards', 'render', '--out', 'site', '--at', AT], ['dashboards', 'export', '--format', 'json', '--out', 'ex'], ['check']]) {
      const r = vigil(dir, args);
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(W_TILE);
      expect(r.stderr).toMatch(E_RAW);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(dir, 'site'))).toBe(false);
    expect(existsSync(join(dir, 'ex'))).toBe(false);

    // without the raw rows: written, with the warning each time
    writeFileSync(join(dir, 'dashboards/leaks.json'), tiles(false));
    for (const args of [['dashboards', 'validate'], ['dashboards', 'render', '--out', 'site', '--at', AT], ['dashboards', 'render', '--out', 'site', '--at', AT], ['dashboards', 'export', '--format', 'looker', '--out', 'lk']]) {
      const r = vigil(dir, args);
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(W_TILE);
      expect(r.stderr, args.join(' ')).toMatch(W_DERIVED);
    }

    // reviewed and declassified: nothing to say, the raw rows list it
    writeFileSync(join(dir, 'models/leaky.yml'), leakyYml(', meta: { pii: false }'));
    writeFileSync(join(dir, 'dashboards/leaks.json'), text);
    const ok = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', AT]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/PII/);
    expect(readFileSync(join(dir, 'site/leaks/rows/kinds--kind=a.html'), 'utf8')).toContain('ann@secret.example');

    // masked by a policy: the tile reads the masked column, the raw rows withhold it
    writeFileSync(join(dir, 'models/leaky.yml'), leakyYml(', policy: hash'));
    writeFileSync(join(dir, 'dashboards/leaks.json'), text.replace(/"columns": \[\s*"kind",\s*"email"\s*\]/, '"columns": ["kind"]'));
    expect(vigil(dir, ['build']).code).toBe(0);
    const masked = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', AT]);
    expect(masked.code, masked.stderr).toBe(0);
    expect(masked.stderr).not.toMatch(/tile '(emails|kinds|contacts)'/);
    expect(readFileSync(join(dir, 'site/leaks.html'), 'utf8')).not.toContain('@secret.example');
  });

  it("a column a tile only filters or ranks on (its filters, top_n, a dashboard filter, its raw rows' match and day) is checked too: the Looker export makes it a field of the view, in the drill set that lists each row's value: E_PII at its line, nothing exported; unknown lineage a warning; masked, it passes (was: validate and the LookML export exit 0, dimension contact in set: detail)", () => {
    const filtered = (rows: boolean) =>
      JSON.stringify(
        {
          name: 'people',
          title: 'People',
          filters: [{ name: 'who', type: 'select', column: 'contact', default: null }],
          tabs: [
            {
              name: 't',
              title: 'T',
              tiles: [
                // first on a model that masks the column: the dashboard filter's field is checked on each model it reaches
                { id: 'm', type: 'kpi', title: 'Masked', model: 'masked', measures: [{ column: 'id', agg: 'count' }], layout: L(0, 6, 4, 2) },
                { id: 'n', type: 'kpi', title: 'People', model: 'contacts', measures: [{ column: 'id', agg: 'count' }], layout: L(0, 0, 4, 2) },
                { id: 'top', type: 'bar', title: 'Teams', model: 'contacts', dimensions: [{ column: 'team' }], measures: [{ column: 'id', agg: 'count' }], filters: [{ column: 'contact', op: '!=', value: 'x@example.com' }], top_n: { column: 'contact', n: 3 }, layout: L(4, 0, 8, 2) },
                ...(rows ? [{ id: 'rows', type: 'table', title: 'Teams', model: 'contacts', dimensions: [{ column: 'team' }], measures: [{ column: 'id', agg: 'count' }], raw_rows: { model: 'contacts', match: { contact: '{{ team }}' }, columns: ['id', 'team'] }, layout: L(0, 2, 12, 4) }] : []),
              ],
            },
          ],
        },
        null,
        2,
      );
    const text = filtered(true);
    const { dir } = project(UNMASKED, {});
    writeFileSync(join(dir, 'models/masked.sql'), "select id, email as contact from {{ source('app', 'people') }}\n");
    writeFileSync(join(dir, 'models/masked.yml'), 'models:\n  - name: masked\n    columns:\n      - { name: id, data_type: integer }\n      - { name: contact, data_type: varchar, policy: hash }\n');
    writeFileSync(join(dir, 'dashboards/people.json'), text);
    const E = (tile: string, at: string, after: string) =>
      new RegExp(`^dashboards/people\\.json:${lineOf(text, at, after)}:\\d+: error: column 'contact' of the ${tile === 'rows' ? "raw rows' match" : 'filters'} of tile '${tile}' of dashboard 'people' \\(a field of its Looker view, whose drill set lists each row's value\\) carries PII unmasked: it is a copy of source app\\.people\\.email \\[E_PII\\]`, 'm');
    // the dashboard filter at the first tile of contacts it reaches (n: the KPI; m reads it masked), the tile filter and top_n one error at the filter, the raw rows' match its own
    const errors = [E('n', '"column": "contact"', '"filters"'), E('top', '"column": "contact"', '"id": "top"'), E('rows', '"contact"', '"match"')];
    for (const args of [['dashboards', 'validate'], ['dashboards', 'export', '--format', 'looker', '--out', 'lk']]) {
      const r = vigil(dir, args);
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      for (const e of errors) expect(r.stderr).toMatch(e);
      expect(r.stderr.match(/E_PII/g)).toHaveLength(3);
    }
    expect(existsSync(join(dir, 'lk'))).toBe(false);

    // masked by its model: the fields are the hashes, exported without a word
    writeFileSync(join(dir, 'models/contacts.yml'), HASHED);
    const masked = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lk']);
    expect(masked.code, masked.stderr).toBe(0);
    expect(masked.stderr).not.toMatch(/PII/);
    expect(readFileSync(join(dir, 'lk/contacts.view.lkml'), 'utf8')).toMatch(/dimension: contact \{/);

    // a model whose lineage cannot tell the column from PII: a warning at the filter, still exported
    writeFileSync(join(dir, 'models/contacts.sql'), "select id, team, COLUMNS('^em') from {{ source('app', 'people') }}\n");
    writeFileSync(join(dir, 'models/contacts.yml'), 'models:\n  - name: contacts\n    columns:\n      - { name: id, data_type: integer }\n      - { name: team, data_type: varchar }\n      - { name: email, data_type: varchar }\n');
    const unknown = filtered(false).replace(/"contact"/g, '"email"');
    writeFileSync(join(dir, 'dashboards/people.json'), unknown);
    const w = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lk']);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toMatch(new RegExp(`^dashboards/people\\.json:${lineOf(unknown, '"column": "email"', '"id": "top"')}:\\d+: warning: column 'email' of the filters of tile 'top' of dashboard 'people' \\(a field of its Looker view, whose drill set lists each row's value\\) reads contacts\\.email, whose lineage is unknown: .*\\[W_PII\\]`, 'm'));
  });

  it('a project that marks no PII runs no lineage for its tiles; one that does, does', () => {
    const { dir } = project(HASHED, { dimensions: [{ column: 'team' }] });
    expect(vigil(dir, ['build']).code).toBe(0);
    const marked = vigilLoading(dir, ['dashboards', 'validate']);
    expect(marked.code, marked.stderr).toBe(0);
    expect(marked.sources).toContain('src/docs/column-lineage.ts');
    writeFileSync(join(dir, 'models/sources.yml'), FILES['models/sources.yml'].replace(', meta: { pii: true }', ''));
    writeFileSync(join(dir, 'models/contacts.yml'), UNMASKED);
    const plain = vigilLoading(dir, ['dashboards', 'validate']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.sources).not.toContain('src/docs/column-lineage.ts');
  });
});
