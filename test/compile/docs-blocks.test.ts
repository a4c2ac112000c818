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

  it('a block defined twice or left open is an error at its line', () => {
    const dir = project({ 'models/a.md': '{% docs x %}one{% enddocs %}\n', 'models/b.md': '\n\n{% docs x %}two{% enddocs %}\n{% docs y %}\nnever closed\n' });
    const r = vigil(dir, ['compile']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("models/b.md:3:1: error: docs block 'x' is defined twice (first at models/a.md:1) [E_DOC]");
    expect(r.stderr).toContain("models/b.md:4:1: error: docs block 'y' has no {% enddocs %} [E_DOC]");
  });
});
