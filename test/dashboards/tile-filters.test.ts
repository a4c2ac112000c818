/**
 * A tile's own filters beside the dashboard's date range, on a small DuckDB project rendered
 * `--at` a fixed day: an upper bound or `is not null` on the range's column is no window of the
 * tile's own, so the range still applies (on the site, in the Looker and Metabase exports); a
 * relative lower bound is one, and keeps the tile's window. Links made of one field, and a
 * dashboard file whose extension is upper case.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, removeDir, vigil } from '../helpers.js';

const AT = '2026-03-10T12:00:00Z';

const tile = (id: string, y: number, extra: Record<string, unknown>) => ({
  id,
  type: 'table',
  title: id,
  model: 'daily',
  dimensions: [{ column: 'day' }],
  measures: [{ column: 'n', agg: 'sum' }],
  layout: { x: 0, y, w: 6, h: 4 },
  ...extra,
});

const DASHBOARD = {
  name: 'd',
  title: 'D',
  filters: [{ name: 'date_range', type: 'date_range', column: 'day', default: '2d' }],
  tabs: [
    {
      name: 'main',
      title: 'Main',
      tiles: [
        tile('before_today', 0, { filters: [{ column: 'day', op: '<', value: 'today' }] }),
        tile('not_null', 4, { filters: [{ column: 'day', op: 'is not null' }] }),
        tile('own_window', 8, { filters: [{ column: 'day', op: '>=', value: '-4d' }] }),
        tile('links', 12, { dimensions: [{ column: 'day' }, { column: 'url' }], measures: [], links: [{ label: 'Open', url: '{{ url }}' }], filters: [{ column: 'day', op: '>=', value: '-30d' }] }),
      ],
    },
  ],
};

describe('tile filters on the date range column, and links of one field', () => {
  let dir: string;
  let html: string;
  /** The days a table tile of the rendered page shows. */
  const days = (id: string): string[] => {
    const start = html.indexOf(`data-tile="${id}"`);
    expect(start, id).toBeGreaterThan(0);
    const end = html.indexOf('data-tile="', start + 10);
    return [...html.slice(start, end < 0 ? undefined : end).matchAll(/<td>(\d{4}-\d\d-\d\d)<\/td>/g)].map((m) => m[1]);
  };

  beforeAll(() => {
    dir = makeProject({
      'seeds/days.csv': ['day,n,url', '2026-03-05,1,https://example.com/a?x=1', '2026-03-06,2,notaurl', '2026-03-07,3,', '2026-03-08,4,https://example.com/d', '2026-03-09,5,https://example.com/e', '2026-03-10,6,https://example.com/f', '2026-03-11,7,https://example.com/g', ''].join('\n'),
      'models/daily.sql': "select day, n, url from {{ ref('days') }}\n",
      'models/daily.yml': 'models:\n  - name: daily\n    columns:\n      - { name: day, data_type: date }\n      - { name: n, data_type: bigint }\n      - { name: url, data_type: varchar }\n',
      'dashboards/d.json': JSON.stringify(DASHBOARD, null, 2),
    });
    const b = vigil(dir, ['build']);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    const r = vigil(dir, ['dashboards', 'render', '--out', 'site', '--at', AT]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    html = readFileSync(join(dir, 'site/d.html'), 'utf8');
  }, 60_000);
  afterAll(() => dir && removeDir(dir));

  it('an upper bound or is not null on the column keeps the date range; a relative lower bound is the tile own window', () => {
    // 2d at 2026-03-10: the 9th and the 10th
    expect(days('before_today')).toEqual(['2026-03-09']);
    expect(days('not_null')).toEqual(['2026-03-09', '2026-03-10']);
    // -4d: the 6th to today, the date range left aside
    expect(days('own_window')).toEqual(['2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09', '2026-03-10']);
  });

  it('the exports: the element listens to the date range (Looker), the card has its clause (Metabase)', () => {
    const lk = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', 'lk']);
    expect(lk.code, lk.stderr).toBe(0);
    const lookml = readFileSync(join(dir, 'lk/d.dashboard.lookml'), 'utf8');
    const element = (id: string) => lookml.slice(lookml.indexOf(`- name: ${id}\n`), lookml.indexOf('- name: ', lookml.indexOf(`- name: ${id}\n`) + 5));
    expect(element('before_today')).toMatch(/listen:\n\s+date_range: daily\.day_date/);
    expect(element('not_null')).toMatch(/listen:\n\s+date_range: daily\.day_date/);
    expect(element('own_window')).not.toContain('listen:');
    // Looker replaces an element's own filter on the field it listens to: said, not left to surprise
    expect(lookml).toContain('before_today: its filter day < "today" (the element listens to date_range, whose value replaces it)');
    // a link of one field: its value is the URL, not encoded into one
    expect(readFileSync(join(dir, 'lk/daily.view.lkml'), 'utf8')).toContain('url: "{{ value }}"');

    const mb = vigil(dir, ['dashboards', 'export', '--format', 'metabase', '--metabase-database', '1', '--out', 'mb']);
    expect(mb.code, mb.stderr).toBe(0);
    const cards = (JSON.parse(readFileSync(join(dir, 'mb/d.metabase.json'), 'utf8')) as { cards: Array<{ key: string; body: { dataset_query: { native: { query: string; 'template-tags': Record<string, unknown> } } } }> }).cards;
    const native = (id: string) => cards.find((c) => c.key === `d/${id}`)!.body.dataset_query.native;
    for (const id of ['before_today', 'not_null']) {
      expect(Object.keys(native(id)['template-tags']), id).toEqual(['date_range']);
      expect(native(id).query, id).toContain('{{date_range}}');
    }
    expect(native('own_window')['template-tags']).toEqual({});
  });

  it('a link of one field links the rows whose value is an http(s) URL, as written; the others show the label as text', () => {
    const cells = [...html.matchAll(/<td class="links">(.*?)<\/td>/g)].map((m) => m[1]);
    expect(cells).toEqual([
      '<a href="https://example.com/a?x=1">Open</a>',
      '<span title="no http(s) URL in this row">Open</span>',
      '<span title="no http(s) URL in this row">Open</span>',
      '<a href="https://example.com/d">Open</a>',
      '<a href="https://example.com/e">Open</a>',
      '<a href="https://example.com/f">Open</a>',
    ]);
  });

  it('a dashboard file named .JSON is an error naming it, not left out without a word', () => {
    renameSync(join(dir, 'dashboards/d.json'), join(dir, 'dashboards/d.JSON'));
    try {
      const r = vigil(dir, ['dashboards', 'validate']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('dashboards/d.JSON:1:1: error: dashboards/d.JSON: dashboards are read from dashboards/*.json, with the extension in lower case: this one would not be read');
      expect(r.stderr).toContain('hint: rename it to dashboards/d.json');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      renameSync(join(dir, 'dashboards/d.JSON'), join(dir, 'dashboards/d.json'));
    }
  });
});
