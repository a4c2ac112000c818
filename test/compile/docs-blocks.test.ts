/**
 * {% docs %} blocks in .md files and doc('name') in descriptions, as dbt documents them: the
 * text replaces the call in the manifest; an unknown name, a block defined twice or left open is
 * an error at file:line, never an empty or literal description.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, removeDir, vigil } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const project = (files: Record<string, string>) => {
  const dir = makeProject({ 'models/orders.sql': 'select 1 as id, 2 as amount', ...files });
  dirs.push(dir);
  return dir;
};

describe('docs blocks', () => {
  it('doc() in model, column and source descriptions is replaced by the block text, whitespace control included', () => {
    const dir = project({
      'models/docs/orders.md': '# notes\n{% docs orders %}\nOne row per **order**.\n\nPlaced in the shop.\n{% enddocs %}\n\n{%- docs amount -%}\nTotal in dollars.\n{%- enddocs -%}\n',
      'models/schema.yml': `models:\n  - name: orders\n    description: "{{ doc('orders') }}"\n    columns:\n      - name: amount\n        description: 'Amount: {{ doc("amount") }} (see finance)'\nsources:\n  - name: raw\n    description: "{{doc('orders')}}"\n    tables:\n      - name: t\n        description: plain\n`,
    });
    const r = vigil(dir, ['compile']);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8'));
    const orders = m.nodes['model.fixture.orders'];
    expect(orders.description).toBe('One row per **order**.\n\nPlaced in the shop.');
    expect(orders.columns[0].description).toBe('Amount: Total in dollars. (see finance)');
    expect(m.sources['source.fixture.raw.t'].description).toBe('plain');
    // the source's own description, on each of its tables (dbt's source_description; was: dropped)
    expect(m.sources['source.fixture.raw.t'].source_description).toBe('One row per **order**.\n\nPlaced in the shop.');
    expect(m.docs.orders).toEqual({ file: 'models/docs/orders.md', line: 2, text: 'One row per **order**.\n\nPlaced in the shop.' });
  });

  it('an unknown name is an error at its YAML line with the nearest name', () => {
    const dir = project({
      'models/docs.md': '{% docs order_status %}\nWhere the order is.\n{% enddocs %}\n',
      'models/schema.yml': "models:\n  - name: orders\n    columns:\n      - name: id\n      - name: amount\n        description: \"{{ doc('order_statu') }}\"\n",
    });
    const r = vigil(dir, ['compile']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("models/schema.yml:6:26: error: doc('order_statu') not found — did you mean 'order_status'? [E_DOC]");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("an unknown name in a source's own description is an error at its line, once for all its tables", () => {
    const dir = project({
      'models/docs.md': '{% docs app_db %}\nThe app.\n{% enddocs %}\n',
      'models/src.yml': "sources:\n  - name: app\n    description: \"From {{ doc('app_dbb') }}\"\n    tables:\n      - name: a\n      - name: b\n",
    });
    const r = vigil(dir, ['compile']);
    expect(r.code).toBe(2);
    // (was: exit 0, the description dropped)
    expect(r.stderr).toContain("models/src.yml:3:27: error: doc('app_dbb') not found — did you mean 'app_db'? [E_DOC]");
    expect(r.stderr.match(/app_dbb/g)).toHaveLength(1);
  });

  it("a unit test's description: doc() replaced; an unknown name or another template an error at its line", () => {
    const ut = (desc: string) =>
      `unit_tests:\n  - name: ut_orders\n    model: orders\n    description: "${desc}"\n    given: []\n    expect:\n      rows:\n        - { id: 1, amount: 2 }\n`;
    const ok = project({ 'models/docs.md': '{% docs order_checks %}\nChecks the **order** math.\n{% enddocs %}\n', 'models/ut.yml': ut("{{ doc('order_checks') }}") });
    const r = vigil(ok, ['compile']);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(ok, 'target/manifest.json'), 'utf8'));
    // (was: '{{ doc(\'order_checks\') }}' as written, on the site too)
    expect(m.nodes['unit_test.fixture.ut_orders'].description).toBe('Checks the **order** math.');
    const bad = project({ 'models/docs.md': '{% docs order_checks %}\nChecks.\n{% enddocs %}\n', 'models/ut.yml': ut("{{ doc('order_check') }} {{ var('x') }}") });
    const b = vigil(bad, ['compile']);
    // (was: exit 0, both shown as written)
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("models/ut.yml:4:22: error: doc('order_check') not found — did you mean 'order_checks'? [E_DOC]");
    expect(b.stderr).toContain("models/ut.yml:4:44: error: description has {{ var('x') }}, which nothing renders: it would show as written [E_DOC]");
  });

  it('any other template in a description is an error at its line (did you mean doc()); {% raw %} keeps braces as text', () => {
    const dir = project({
      'models/docs.md': '{% docs x %}\nX.\n{% enddocs %}\n',
      'models/schema.yml': [
        'models:',
        '  - name: orders',
        '    columns:',
        '      - name: id',
        `        description: "Some {{ doc('x') }} and {{ docs('x') }} {{ var('nope') }} {{ unknown_thing }} {% if x %}y{% endif %}"`,
        '      - name: amount',
        "        description: 'two names: {{ doc(\"p\", \"x\") }}'",
        '',
      ].join('\n'),
    });
    const r = vigil(dir, ['compile']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // (was: exit 0, all but doc('x') on the site, in the manifest and in BigQuery as written)
    expect(r.stderr).toContain("models/schema.yml:5:47: error: description has {{ docs('x') }}, which nothing renders — did you mean doc()? [E_DOC]");
    expect(r.stderr).toContain("models/schema.yml:5:63: error: description has {{ var('nope') }}, which nothing renders: it would show as written [E_DOC]");
    expect(r.stderr).toContain('models/schema.yml:5:81: error: description has {{ unknown_thing }}, which nothing renders: it would show as written [E_DOC]');
    expect(r.stderr).toContain('models/schema.yml:5:101: error: description has {% if x %}, which nothing renders: it would show as written [E_DOC]');
    expect(r.stderr).toContain('models/schema.yml:5:112: error: description has {% endif %}, which nothing renders: it would show as written [E_DOC]');
    expect(r.stderr).toContain(`models/schema.yml:7:34: error: {{ doc("p", "x") }}: doc() takes one docs block name in quotes, doc('name') [E_DOC]`);
    expect(r.stderr).toContain("hint: only {{ doc('name') }} is replaced in a description: write the text itself ({% raw %}...{% endraw %} keeps braces as text)");
    expect(r.stderr).toContain('6 errors found');

    const raw = project({ 'models/schema.yml': "models:\n  - name: orders\n    description: 'Read it with {% raw %}{{ ref(\"orders\") }}{% endraw %}.'\n" });
    const ok = vigil(raw, ['compile']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(raw, 'target/manifest.json'), 'utf8')).nodes['model.fixture.orders'].description).toBe('Read it with {{ ref("orders") }}.');
  });

  it('a block defined twice or left open is an error at its line', () => {
    const dir = project({ 'models/a.md': '{% docs x %}one{% enddocs %}\n', 'models/b.md': '\n\n{% docs x %}two{% enddocs %}\n{% docs y %}\nnever closed\n' });
    const r = vigil(dir, ['compile']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("models/b.md:3:1: error: docs block 'x' is defined twice (first at models/a.md:1) [E_DOC]");
    expect(r.stderr).toContain("models/b.md:4:1: error: docs block 'y' has no {% enddocs %} [E_DOC]");
  });
});
