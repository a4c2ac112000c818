/**
 * patchCompile (what --watch does after an edit of model files only) against compileProject of
 * the same files from scratch: after each edit the patched result is byte for byte the full
 * compile's manifest (as written to target/manifest.json), or the patch declines and the watcher
 * compiles in full. Declining is tested too: an edit that changes what a model reads, its config
 * or the macros it calls; an ephemeral model (inlined into its children); a model with hooks or
 * unit tests; a new model; a YAML edit; an edit that leaves a --vars key read by nothing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileProject, patchCompile, type CompileOptions, type CompileResult, type RenderCache } from '../../src/compile/compile-project.js';
import { loadProject, reloadProject, type ProjectFiles } from '../../src/project/load-project.js';
import { manifestJson } from '../../src/project/artifacts.js';
import { makeProject, removeDir } from '../helpers.js';
import { addSecret, resetSecrets } from '../../src/secrets.js';
import type { Manifest } from '../../src/compile/manifest.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const PROPS = `models:
  - name: plain
    description: a plain view
    columns:
      - name: c
        tests: [not_null]
unit_tests:
  - name: tested_keeps_rows
    model: tested
    given:
      - input: ref('base')
        rows: [{ id: 1 }]
    expect:
      rows: [{ id: 1 }]
`;

describe('patchCompile', () => {
  it('gives what a full compile gives after each edit of model files, and declines what it cannot patch', () => {
    const dir = makeProject({
      'macros/m.sql': '{% macro cents(col) %}cast({{ col }} * 100 as bigint){% endmacro %}\n',
      'models/base.sql': "{{ config(materialized='table') }}\nselect 1 as id, 'x' as k\n",
      'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('base') }}\n",
      'models/uses_eph.sql': "select * from {{ ref('eph') }}\n",
      'models/inc.sql': "{{ config(materialized='incremental', unique_key='id') }}\nselect * from {{ ref('base') }}\n{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}\n",
      'models/hooked.sql': "{{ config(post_hook='select 1') }}\nselect * from {{ ref('base') }}\n",
      'models/tested.sql': "select id from {{ ref('base') }}\n",
      'models/plain.sql': "select {{ cents('id') }} as c from {{ ref('base') }}\n",
      'models/other.sql': "select k from {{ ref('base') }}\n",
      'models/schema.yml': PROPS,
    });
    dirs.push(dir);
    const cache: RenderCache = new Map();
    const opts: CompileOptions = { env: process.env, cache, incremental: true };
    let files: ProjectFiles = loadProject(dir);
    let last: CompileResult = compileProject(files, opts);
    expect(last.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);

    /** Write `edits`, re-read them as --watch does, and try the patch; compare it with a full compile. */
    const edit = (edits: Record<string, string>): 'patched' | 'declined' => {
      for (const [p, text] of Object.entries(edits)) writeFileSync(join(dir, p), text);
      files = reloadProject(files, Object.keys(edits));
      const full = compileProject(loadProject(dir), { env: process.env });
      expect(full.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const patched = patchCompile(last, files, Object.keys(edits));
      if (patched) {
        expect(manifestJson(patched.manifest)).toBe(manifestJson(full.manifest));
        expect(patched.order).toEqual(full.order);
        expect(patched.diagnostics).toEqual(full.diagnostics);
        last = patched;
        return 'patched';
      }
      last = compileProject(files, opts);
      return 'declined';
    };

    // a body edit that keeps what the model reads: patched
    expect(edit({ 'models/plain.sql': "-- cents per id\nselect {{ cents('id') }} as c, 2 as two from {{ ref('base') }}\n" })).toBe('patched');
    // an incremental model: both of its SQL texts
    expect(edit({ 'models/inc.sql': "{{ config(materialized='incremental', unique_key='id') }}\nselect id, k from {{ ref('base') }}\n{% if is_incremental() %}where id >= (select max(id) from {{ this }}){% endif %}\n" })).toBe('patched');
    // a table an ephemeral model reads: its children name its relation, which did not change
    expect(edit({ 'models/base.sql': "{{ config(materialized='table') }}\nselect 2 as id, 'y' as k\n" })).toBe('patched');
    // two at once
    expect(edit({ 'models/plain.sql': "select {{ cents('id') }} as c from {{ ref('base') }} -- again\n", 'models/other.sql': "select k, 1 as one from {{ ref('base') }}\n" })).toBe('patched');

    // an editor's temporary copy named with the edit changes no model: still patched
    writeFileSync(join(dir, 'models/other.sql___jb_tmp___'), 'x');
    expect(edit({ 'models/other.sql': "select k, 2 as one from {{ ref('base') }}\n", 'models/other.sql___jb_tmp___': 'x' })).toBe('patched');

    // declined: each of these can change other nodes
    expect(edit({ 'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect id from {{ ref('base') }}\n" })).toBe('declined');
    expect(edit({ 'models/plain.sql': "select {{ cents('id') }} as c from {{ ref('base') }} join {{ ref('other') }} using (k)\n" })).toBe('declined');
    expect(edit({ 'models/other.sql': "{{ config(materialized='table') }}\nselect k, 1 as one from {{ ref('base') }}\n" })).toBe('declined');
    expect(edit({ 'models/other.sql': "{{ config(materialized='table') }}\nselect k, {{ cents('1') }} as one from {{ ref('base') }}\n" })).toBe('declined');
    expect(edit({ 'models/hooked.sql': "{{ config(post_hook='select 1') }}\n\nselect * from {{ ref('base') }}\n" })).toBe('declined');
    expect(edit({ 'models/tested.sql': "select id from {{ ref('base') }} -- edited\n" })).toBe('declined');
    expect(edit({ 'models/new_one.sql': 'select 1 as x\n' })).toBe('declined');
    expect(edit({ 'models/schema.yml': PROPS.replace('a plain view', 'a plainer view') })).toBe('declined');
    // a description from a docs block: resolved after the nodes are built, so a full compile
    expect(edit({ 'models/schema.yml': PROPS.replace('a plain view', "\"{{ doc('plain_doc') }}\""), 'models/docs.md': '{% docs plain_doc %}The plain model{% enddocs %}\n' })).toBe('declined');
    // (the same refs as before, so only the description decides)
    expect(edit({ 'models/plain.sql': "select {{ cents('id') }} as c from {{ ref('base') }} join {{ ref('other') }} using (k) -- doc\n" })).toBe('declined');
    expect(JSON.stringify(last.manifest.nodes['model.fixture.plain'])).toContain('The plain model');
    // and after a full compile, patching goes on
    expect(edit({ 'models/other.sql': "{{ config(materialized='table') }}\nselect k, {{ cents('2') }} as one from {{ ref('base') }}\n" })).toBe('patched');

    // the render cache the patches updated is what a full compile would have left: all hits
    expect(compileProject(loadProject(dir), { env: process.env, cache }).cacheHits).toBe(files.models.length);
  });

  it('declines an edit that leaves a --vars key read by nothing: the full compile refuses it (was: patched, so --watch built what vigil compile refuses)', () => {
    const dir = makeProject({ 'models/a.sql': "select {{ var('k', 1) }} as id\n", 'models/b.sql': 'select 2 as id\n' });
    dirs.push(dir);
    const opts: CompileOptions = { env: process.env, incremental: true, vars: { k: 7 } };
    let files = loadProject(dir);
    let last = compileProject(files, opts);
    expect(last.diagnostics).toEqual([]);
    writeFileSync(join(dir, 'models/a.sql'), "select {{ var('k', 1) }} + 1 as id\n");
    files = reloadProject(files, ['models/a.sql']);
    last = patchCompile(last, files, ['models/a.sql'])!;
    expect(last.manifest.nodes['model.fixture.a']).toMatchObject({ compiled_sql: 'select 7 + 1 as id' });
    writeFileSync(join(dir, 'models/a.sql'), 'select 1 as id\n');
    files = reloadProject(files, ['models/a.sql']);
    expect(patchCompile(last, files, ['models/a.sql'])).toBeUndefined();
    expect(compileProject(files, opts).diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/^--vars: 'k' is read by no model/)]);
  });

  it('manifestJson is JSON.stringify of the manifest, also for the parts it reuses', () => {
    const dir = makeProject({ 'models/a.sql': 'select 1 as id\n', 'models/b.sql': "select * from {{ ref('a') }} -- \u27e6 \u2014 \"q\"\n" });
    dirs.push(dir);
    const r = compileProject(loadProject(dir), { env: process.env, incremental: true });
    expect(manifestJson(r.manifest)).toBe(JSON.stringify(r.manifest));
    expect(manifestJson(r.manifest)).toBe(JSON.stringify(r.manifest)); // (from its cache)
  });

  it('manifestJson redacts, and redacts again what it kept when a secret becomes known', () => {
    const m = { metadata: { project: 'p' }, nodes: { 'model.p.a': { description: 'pw s3cret-value-for-test' } }, sources: {} } as unknown as Manifest;
    expect(manifestJson(m)).toContain('s3cret-value-for-test');
    addSecret('VIGIL_TEST_ROUTING', 's3cret-value-for-test');
    try {
      expect(manifestJson(m)).not.toContain('s3cret-value-for-test');
      expect(manifestJson(m)).toContain('<redacted:VIGIL_TEST_ROUTING>');
    } finally {
      resetSecrets();
    }
  });
});
