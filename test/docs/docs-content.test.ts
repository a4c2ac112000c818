/**
 * What `vigil docs generate` writes, on small projects without a warehouse (--empty-catalog):
 * every file through the one redaction path, a source's own description (dbt's
 * source_description) on its tables' pages, column descriptions as Markdown like a model's, and
 * a dashboard reading vigil_sync_state (a table `vigil sync` keeps, no node) on the shipped project.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, REPO, removeDir, vigil } from '../helpers.js';
import { redactStrings } from '../../src/secrets.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
const project = (files: Record<string, string>) => {
  const dir = makeProject(files);
  dirs.push(dir);
  return dir;
};

/** Every file under `dir`, with its text. */
function filesUnder(dir: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const e of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const abs = join(dir, e);
    if (statSync(abs).isFile()) out.push([e, readFileSync(abs, 'latin1')]);
  }
  return out;
}

describe('vigil docs generate: secrets', () => {
  it('no secret value reaches the site: pasted into a model, in a YAML description, HTML-escaped or JSON-escaped', () => {
    const env = { H17_DB_PASSWORD: 'pw_ZYXW98765', H17_API_TOKEN: `tk<&"'QWERTY42` };
    const dir = project({
      'models/m.sql': "select 1 as id, 'pw_ZYXW98765' as pasted\n",
      'models/m.yml': `models:\n  - name: m\n    description: "the password is pw_ZYXW98765"\n    columns:\n      - name: pasted\n        description: 'token: tk<&"''QWERTY42'\n`,
    });
    const r = vigil(dir, ['docs', 'generate', '--empty-catalog'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const site = filesUnder(join(dir, 'target/docs'));
    expect(site.map(([f]) => f)).toEqual(expect.arrayContaining(['docs.json', 'search.js', 'nodes/model.fixture.m.html']));
    // (was: docs.json, the model's page and search.js held pw_ZYXW98765)
    for (const [f, text] of site) {
      expect(text, f).not.toContain('ZYXW98765');
      expect(text, f).not.toContain('QWERTY42');
    }
    const page = readFileSync(join(dir, 'target/docs/nodes/model.fixture.m.html'), 'utf8');
    expect(page).toContain('the password is &lt;redacted:H17_DB_PASSWORD&gt;');
    expect(page).toContain('token: &lt;redacted:H17_API_TOKEN&gt;');
  });
});

describe('redactStrings: the docs model redacted before it is rendered', () => {
  /** A docs-sized model: `nodes` nodes of 30 columns, strings of every length. */
  const docsModel = (nodes: number, extra = '') => ({
    nodes: Array.from({ length: nodes }, (_, i) => ({
      id: `model.p.m${i}`,
      description: `Model ${i}: the number of orders per customer${i === 7 ? extra : ''}`,
      sql: `select ${Array.from({ length: 30 }, (_, j) => `c${j}`).join(', ')} from src_${i}`,
      columns: Array.from({ length: 30 }, (_, j) => ({ name: `c${j}`, type: 'VARCHAR', description: j % 3 ? `column ${j} of m${i}` : '', from: [{ node: `model.p.m${i - 1}`, column: `c${j}` }], tests: ['not_null'] })),
    })),
  });
  const env = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`VIGIL_SECRET_S${i}`, `s3cr3t-value-${i}-${'x'.repeat(i)}`]));

  it('finds a secret in any string or key, as written, JSON-escaped, upper- or lower-cased', () => {
    const quoted = { ...env, H_TOKEN: 'Ab"Cd\\eF99' };
    const out = redactStrings({ a: ['x AB"CD\\EF99 y', { 'key ab"cd\\ef99': 'https://u:pw12345@h/x' }], b: 's3cr3t-value-3-xxx', n: 1 }, quoted);
    expect(out).toEqual({ a: ['x <redacted:H_TOKEN> y', { 'key <redacted:H_TOKEN>': 'https://u:***@h/x' }], b: '<redacted:VIGIL_SECRET_S3>', n: 1 });
  });

  it('a model of 2,000 nodes x 30 columns with 20 secrets: holding none, the same object back (one search of it serialized); holding one, that string redacted and the rest as they were (its speed: docs/benchmarks.md)', () => {
    const model = docsModel(2000);
    // holding none: the same model back
    expect(redactStrings(model, env)).toBe(model);
    const out = redactStrings(docsModel(2000, ' (s3cr3t-value-4-xxxx)'), env);
    expect(out.nodes[7].description).toBe('Model 7: the number of orders per customer (<redacted:VIGIL_SECRET_S4>)');
    expect(out.nodes[8].columns[1]).toEqual(model.nodes[8].columns[1]);
  });
});

describe('vigil docs generate: descriptions', () => {
  it("a source's own description, doc() resolved, is on each of its tables' pages and in the manifest", () => {
    const dir = project({
      'models/app.md': '{% docs app %}\nThe **application** database.\n{% enddocs %}\n',
      'models/src.yml': `sources:\n  - name: app\n    description: "Copied hourly. {{ doc('app') }}"\n    tables:\n      - name: users\n      - name: orders\n        description: One row per order.\n  - name: plain\n    tables:\n      - name: t\n`,
      'models/m.sql': "select * from {{ source('app', 'users') }}\n",
    });
    const c = vigil(dir, ['compile']);
    expect(c.code, c.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8'));
    // (was: dropped)
    expect(m.sources['source.fixture.app.users'].source_description).toBe('Copied hourly. The **application** database.');
    expect(m.sources['source.fixture.app.orders'].source_description).toBe('Copied hourly. The **application** database.');
    expect(m.sources['source.fixture.plain.t'].source_description).toBeUndefined();
    const g = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(g.code, g.stderr).toBe(0);
    const page = (id: string) => readFileSync(join(dir, `target/docs/nodes/${id}.html`), 'utf8');
    expect(page('source.fixture.app.users')).toContain('<p class="none">No description.</p><h2>Source app</h2><p>Copied hourly. The <strong>application</strong> database.</p>');
    expect(page('source.fixture.app.orders')).toContain('<p>One row per order.</p><h2>Source app</h2><p>Copied hourly.');
    expect(page('source.fixture.plain.t')).not.toContain('<h2>Source');
  });

  it("a docs block's text is rendered as a YAML description is: {% raw %} keeps braces as text, any other template an error at its .md line (was: published as written, exit 0)", () => {
    const dir = project({
      'models/m.sql': 'select 1 as uid\n',
      'models/docs.md': '# ids\n\n{% docs uid %}The **user** id {{ bare }}\n{% raw %}{{ not_a_template }}{% endraw %} and {% if x %}y{% endif %}{% enddocs %}\n',
      'models/m.yml': "models:\n  - name: m\n    columns:\n      - name: uid\n        description: \"{{ doc('uid') }}\"\n",
    });
    const g = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(g.code, g.stderr).toBe(2);
    expect(g.stderr).not.toMatch(/\n\s+at /);
    expect(g.stderr).toContain("models/docs.md:3:31: error: docs block 'uid' has {{ bare }}, which nothing renders: it would show as written [E_DOC]");
    expect(g.stderr).toContain("models/docs.md:4:47: error: docs block 'uid' has {% if x %}, which nothing renders: it would show as written [E_DOC]");
    expect(g.stderr).toContain("models/docs.md:4:58: error: docs block 'uid' has {% endif %}, which nothing renders: it would show as written [E_DOC]");
    expect(g.stderr).toContain('3 errors found');
    expect(g.stderr).not.toContain('not_a_template');
    // fixed: the raw block is its text, on the page and in the manifest
    writeFileSync(join(dir, 'models/docs.md'), '{% docs uid %}\nThe **user** id; write {% raw %}{{ not_a_template }}{% endraw %} as it is.\n{% enddocs %}\n');
    const ok = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(ok.code, ok.stderr).toBe(0);
    const html = readFileSync(join(dir, 'target/docs/nodes/model.fixture.m.html'), 'utf8');
    expect(html).toContain('<td><p>The <strong>user</strong> id; write {{ not_a_template }} as it is.</p></td>');
    expect(html).not.toContain('raw %}');
    expect(vigil(dir, ['compile']).code).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8'));
    expect(m.nodes['model.fixture.m'].columns[0].description).toBe('The **user** id; write {{ not_a_template }} as it is.');
    expect(m.docs.uid.text).toBe('The **user** id; write {{ not_a_template }} as it is.');
  });

  it('column descriptions are Markdown as model descriptions are; a link keeps the parentheses of its URL', () => {
    const dir = project({
      'models/m.sql': 'select 1 as id, 2 as amount\n',
      'models/m.yml': 'models:\n  - name: m\n    description: "See [ext](https://example.com/a(b)) and [wiki](https://en.wikipedia.org/wiki/Foo_(bar))."\n    columns:\n      - name: id\n        description: "## Heading\\n- item one\\n- item [two](https://example.com/x(y)z)"\n      - name: amount\n        description: In **dollars**.\n',
    });
    const g = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(g.code, g.stderr).toBe(0);
    const html = readFileSync(join(dir, 'target/docs/nodes/model.fixture.m.html'), 'utf8');
    // (was: '## Heading - item one ...' as written, inline markup only)
    expect(html).toContain('<td><h3>Heading</h3>\n<ul>\n<li>item one</li>\n<li>item <a href="https://example.com/x(y)z">two</a></li>\n</ul></td>');
    expect(html).toContain('<td><p>In <strong>dollars</strong>.</p></td>');
    // (was: href="https://example.com/a(b" and a stray ')')
    expect(html).toContain('<p>See <a href="https://example.com/a(b)">ext</a> and <a href="https://en.wikipedia.org/wiki/Foo_(bar)">wiki</a>.</p>');
  });
});

describe('vigil docs generate: Markdown and pages', () => {
  it("a doc block's ordered list, fenced code, pipe table and code spans are rendered as dbt docs renders them; HTML and links other than http(s) stay text", () => {
    const doc = [
      'Steps:',
      '',
      '1. first step',
      '2. second step',
      '',
      '```sql',
      'select *',
      'from t',
      'where a = 1',
      '```',
      '',
      '| column | meaning |',
      '|---|---|',
      '| a | the **first** |',
      '| b | the second |',
      '',
      'Write `**x**` for bold, or **y**. <img src=x onerror=alert(1)> [bad](javascript:alert(1)) [rel](other.html) <script>alert(2)</script>',
    ].join('\n');
    const dir = project({
      'models/m.sql': 'select 1 as a, 2 as b\n',
      'models/m.md': `{% docs m_doc %}\n${doc}\n{% enddocs %}\n`,
      'models/m.yml': "models:\n  - name: m\n    description: '{{ doc(\"m_doc\") }}'\n",
    });
    const g = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(g.code, g.stderr).toBe(0);
    const html = readFileSync(join(dir, 'target/docs/nodes/model.fixture.m.html'), 'utf8');
    // (was: <p>1. first step 2. second step</p>)
    expect(html).toContain('<ol>\n<li>first step</li>\n<li>second step</li>\n</ol>');
    // (was: <p>``<code>sql select * from t where a = 1 </code>``</p>: line breaks lost, stray backticks)
    expect(html).toContain('<pre><code class="language-sql">select *\nfrom t\nwhere a = 1\n</code></pre>');
    // (was: one paragraph)
    expect(html).toContain('<table>\n<thead>\n<tr>\n<th>column</th>\n<th>meaning</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>a</td>\n<td>the <strong>first</strong></td>\n</tr>');
    // a code span before emphasis (was: <code><strong>x</strong></code>)
    expect(html).toContain('Write <code>**x**</code> for bold, or <strong>y</strong>.');
    // raw HTML is text; a javascript: or relative link is no link
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; [bad](javascript:alert(1)) [rel](other.html) &lt;script&gt;alert(2)&lt;/script&gt;');
    expect(html).not.toMatch(/<img src=x|href="javascript:|href="other\.html"|<script>alert/);
  });

  it('models whose names are not ASCII each have their own page, which every link, search entry and anchor finds (was: 売上 and 顧客 both nodes/model.fixture.__.html, one lost)', () => {
    const names = ['売上', '顧客', 'café', 'cafè'];
    const dir = project(Object.fromEntries(names.map((n, i) => [`models/x/${n}.sql`, `select ${i} as col_${i}\n`])));
    const g = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(g.code, g.stderr).toBe(0);
    const site = join(dir, 'target/docs');
    const pages = readdirSync(join(site, 'nodes'));
    expect(pages).toHaveLength(names.length);
    const index = readFileSync(join(site, 'index.html'), 'utf8');
    const search = JSON.parse(readFileSync(join(site, 'search.js'), 'utf8').replace(/^window\.VIGIL_SEARCH = /, '').replace(/;\s*$/, '')) as Array<{ k: string; n: string; u: string }>;
    const seen = new Set<string>();
    for (const [i, name] of names.entries()) {
      const href = new RegExp(`<li><a href="([^"]+)">${name}</a></li>`).exec(index)?.[1];
      expect(href, name).toBeDefined();
      seen.add(href!);
      const page = readFileSync(join(site, decodeURIComponent(href!)), 'utf8');
      expect(page, name).toContain(`</span>${name}</h1>`);
      expect(search.find((e) => e.k === 'model' && e.n === name)?.u, name).toBe(href);
      const column = search.find((e) => e.n === `${name}.col_${i}`)!.u;
      expect(column.split('#')[0], name).toBe(href);
      expect(page, name).toContain(`<tr id="${column.split('#')[1]}">`);
    }
    expect(seen.size).toBe(names.length);
  });
});

describe('dashboards reading vigil_sync_state (the shipped project)', () => {
  it("a dashboard's own description is on its page, in docs.json, the search and the manifest's exposure; without one, the generated sentence (was: always the generated sentence)", () => {
    const dashboard = (name: string, description?: string) =>
      JSON.stringify({ name, title: name.toUpperCase(), ...(description === undefined ? {} : { description }), tabs: [{ name: 't', title: 'T', tiles: [{ id: 'k', type: 'kpi', title: 'N', model: 'm', measures: [{ name: 'n', column: 'n', agg: 'sum' }], layout: { x: 0, y: 0, w: 4, h: 2 } }] }] });
    const dir = project({
      'models/m.sql': 'select 1 as n\n',
      'dashboards/told.json': dashboard('told', 'What users do, and how often it **fails**.'),
      'dashboards/untold.json': dashboard('untold'),
    });
    const c = vigil(dir, ['compile']);
    expect(c.code, c.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8'));
    expect(m.exposures['exposure.fixture.told'].description).toBe('What users do, and how often it **fails**.');
    expect(m.exposures['exposure.fixture.untold'].description).toBeUndefined();
    const g = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(g.code, g.stderr).toBe(0);
    const site = join(dir, 'target/docs');
    expect(readFileSync(join(site, 'nodes/exposure.fixture.told.html'), 'utf8')).toContain('<p>What users do, and how often it <strong>fails</strong>.</p>');
    expect(readFileSync(join(site, 'nodes/exposure.fixture.untold.html'), 'utf8')).toContain('<p>Dashboard &quot;UNTOLD&quot; (1 tile).</p>');
    const docs = JSON.parse(readFileSync(join(site, 'docs.json'), 'utf8')) as { nodes: Array<{ id: string; description?: string }> };
    expect(docs.nodes.find((n) => n.id === 'exposure.fixture.told')?.description).toBe('What users do, and how often it **fails**.');
    const search = JSON.parse(readFileSync(join(site, 'search.js'), 'utf8').replace(/^window\.VIGIL_SEARCH = /, '').replace(/;\s*$/, '')) as Array<{ n: string; d: string }>;
    expect(search.find((e) => e.n === 'TOLD')?.d).toContain('What users do, and how often it');
  });

  it("an exposure's depends_on holds node ids only; the sync state it reads is on its page", () => {
    const dir = makeProject({}, false);
    dirs.push(dir);
    for (const p of ['project.yaml', 'models', 'macros', 'tests', 'dashboards', 'alerts']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    const c = vigil(dir, ['compile']);
    expect(c.code, c.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'target/manifest.json'), 'utf8'));
    // (was: model.ai_audit.vigil_sync_state, in neither nodes nor sources)
    for (const e of Object.values(m.exposures) as Array<{ unique_id: string; depends_on: string[] }>) for (const id of e.depends_on) expect(id in m.nodes || id in m.sources, `${e.unique_id} -> ${id}`).toBe(true);
    const ws = m.exposures['exposure.ai_audit.workspace'];
    expect(ws.depends_on).toContain('model.ai_audit.ai_workspace_activity');
    expect(ws.sync_state).toEqual({ schema: 'raw', identifier: 'vigil_sync_state' });
    expect(m.exposures['exposure.ai_audit.overview'].sync_state).toBeUndefined();
    const g = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(g.code, g.stderr).toBe(0);
    // (was: nothing said of it)
    expect(readFileSync(join(dir, 'target/docs/nodes/exposure.ai_audit.workspace.html'), 'utf8')).toContain('<p><strong>Also reads:</strong> vigil_sync_state (raw.vigil_sync_state) — the sync state table vigil sync keeps, not a node of the project</p>');
    expect(readFileSync(join(dir, 'target/docs/nodes/exposure.ai_audit.overview.html'), 'utf8')).not.toContain('Also reads');
    expect(readFileSync(join(dir, 'target/docs/nodes/alert.ai_audit.ai_audit_sync_stalled.html'), 'utf8')).toContain('<strong>Also reads:</strong> vigil_sync_state —');
  });
});

describe('vigil docs generate: a deep lineage', () => {
  it('a page draws the 100 nodes of its lineage nearest to it and says the rest are not drawn; the index draws them all (was: every page all 300 of a chain, 1,000 models 362 MB, 3,000 out of memory)', () => {
    const n = 300;
    const files: Record<string, string> = { 'models/m0.sql': 'select 1 as id' };
    for (let i = 1; i < n; i++) files[`models/m${i}.sql`] = `select id from {{ ref('m${i - 1}') }}`;
    const dir = project(files);
    const r = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const pages = readdirSync(join(dir, 'target/docs/nodes'));
    expect(pages).toHaveLength(n);
    const drawn = (text: string) => [...text.matchAll(/data-node="model\.[^.]+\.(m\d+)"/g)].map((m) => m[1]);
    const text = (m: string) => readFileSync(join(dir, 'target/docs/nodes', pages.find((p) => p.endsWith(`.${m}.html`))!), 'utf8');
    for (const p of pages) expect(drawn(readFileSync(join(dir, 'target/docs/nodes', p), 'utf8')).length).toBeLessThanOrEqual(100);
    // the nearest: 50 up and 49 down from the middle, each way cut
    const mid = drawn(text('m150'));
    expect(new Set(mid)).toEqual(new Set(Array.from({ length: 100 }, (_, i) => `m${i + 100}`)));
    expect(text('m150')).toContain('The graph shows the 100 nodes of its lineage nearest to this one; more upstream and downstream are not drawn');
    expect(text('m0')).toContain('more downstream are not drawn');
    expect(drawn(text('m0'))).toEqual(expect.arrayContaining(['m0', 'm1', 'm99']));
    // a short lineage is drawn whole, with no note
    const small = project({ 'models/a.sql': 'select 1 as id', 'models/b.sql': "select id from {{ ref('a') }}" });
    expect(vigil(small, ['docs', 'generate', '--empty-catalog']).code).toBe(0);
    const b = readFileSync(join(small, 'target/docs/nodes', readdirSync(join(small, 'target/docs/nodes')).find((p) => p.endsWith('.b.html'))!), 'utf8');
    expect(b).not.toContain('are not drawn');
    expect(b).toContain('data-node="model.');
    expect(new Set(drawn(readFileSync(join(dir, 'target/docs/index.html'), 'utf8'))).size).toBe(n);
  }, 120_000);
});

describe('nearestLineage', () => {
  it("a node with more parents than the page draws still draws what reads it (was: 99 of 150 sources drawn, none of its 3 readers)", async () => {
    const { nearestLineage } = await import('../../src/docs/site.js');
    const byId = new Map<string, { id: string; kind: string; parents: string[]; children: string[] }>();
    const node = (id: string, kind = 'model') => byId.get(id) ?? (byId.set(id, { id, kind, parents: [], children: [] }), byId.get(id)!);
    const edge = (p: string, c: string) => (node(p).children.push(c), node(c).parents.push(p));
    for (let i = 0; i < 150; i++) edge(`source.s${String(i).padStart(3, '0')}`, 'model.wide');
    for (const r of ['r1', 'r2', 'r3']) edge('model.wide', `model.${r}`);
    edge('model.r1', 'exposure.dash');
    node('test.not_null_wide', 'test');
    edge('model.wide', 'test.not_null_wide');
    const { ids, cutUp, cutDown } = nearestLineage('model.wide', byId as never);
    expect(ids).toHaveLength(100);
    // the nearest first: its 3 readers and 96 of its parents; what reads a reader is 2 steps away
    expect(ids).toEqual(expect.arrayContaining(['model.wide', 'model.r1', 'model.r2', 'model.r3']));
    expect(ids).not.toContain('test.not_null_wide');
    expect(ids.filter((x) => x.startsWith('source.'))).toHaveLength(96);
    expect([cutUp, cutDown]).toEqual([true, true]);
    // the other way round: many readers, few parents
    const many = new Map<string, { id: string; kind: string; parents: string[]; children: string[] }>([['model.base', { id: 'model.base', kind: 'model', parents: ['source.one'], children: [] }], ['source.one', { id: 'source.one', kind: 'source', parents: [], children: ['model.base'] }]]);
    for (let i = 0; i < 150; i++) {
      many.get('model.base')!.children.push(`model.c${i}`);
      many.set(`model.c${i}`, { id: `model.c${i}`, kind: 'model', parents: ['model.base'], children: [] });
    }
    const other = nearestLineage('model.base', many as never);
    expect(other.ids).toContain('source.one');
    expect(other.ids).toHaveLength(100);
    expect([other.cutUp, other.cutDown]).toEqual([false, true]);
  });
});
