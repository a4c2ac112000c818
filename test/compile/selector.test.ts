/**
 * Selector grammar and run planning on the golden fixture's manifest (pure, no database).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadProject } from '../../src/project/load-project.js';
import { compileProject } from '../../src/compile/compile-project.js';
import { selectNodes, withTests } from '../../src/compile/selector.js';
import { planRun } from '../../src/run/executor.js';
import { plan } from '../../src/cli/commands.js';
import { findCycles, buildGraph, topoSort } from '../../src/compile/graph.js';
import { BASIC_PROJECT_YAML, makeProject, projectFiles, removeDir, REPO } from '../helpers.js';

const { manifest } = compileProject(loadProject(join(REPO, 'test/fixtures/projects/golden')), { env: {} });
/** A unique_id's name: a generic test's id ends with its hash (test.<project>.<name>.<hash>). */
const nameOfId = (id: string) => (id.startsWith('test.') ? id.split('.')[2] : id.split('.').slice(2).join('.'));
const names = (ids: Set<string>, type?: string) =>
  [...ids].filter((id) => !type || id.startsWith(type + '.')).map(nameOfId).sort();

describe('selectNodes', () => {
  it('selects everything by default', () => {
    expect(names(selectNodes(manifest, undefined, undefined).ids, 'model')).toEqual(['capability_trend', 'events_daily_overwrite', 'events_hourly', 'int_buckets', 'stg_events']);
  });
  it('name, +name, name+', () => {
    expect(names(selectNodes(manifest, ['events_hourly'], undefined).ids)).toEqual(['events_hourly']);
    expect(names(selectNodes(manifest, ['+events_hourly'], undefined).ids, 'model')).toEqual(['events_hourly', 'int_buckets', 'stg_events']);
    expect(names(selectNodes(manifest, ['+events_hourly'], undefined).ids, 'source')).toEqual(['app.events']);
    expect(names(selectNodes(manifest, ['stg_events+'], undefined).ids, 'model')).toEqual(['capability_trend', 'events_daily_overwrite', 'events_hourly', 'int_buckets', 'stg_events']);
  });
  it('tag:, path:, source:, globs, unions and intersections', () => {
    expect(names(selectNodes(manifest, ['path:models/staging'], undefined).ids)).toEqual(['int_buckets', 'stg_events']);
    expect(names(selectNodes(manifest, ['path:models/staging capability_trend'], undefined).ids)).toEqual(['capability_trend', 'int_buckets', 'stg_events']);
    expect(names(selectNodes(manifest, ['stg_events+,path:models/marts'], undefined).ids, 'model')).toEqual(['capability_trend', 'events_daily_overwrite', 'events_hourly']);
    expect(names(selectNodes(manifest, ['source:app+'], undefined).ids, 'model')).toEqual(['capability_trend', 'events_daily_overwrite', 'events_hourly', 'int_buckets', 'stg_events']);
    expect(names(selectNodes(manifest, ['*_hourly'], undefined).ids)).toEqual(['events_hourly', 'expression_is_true_events_hourly']);
    expect(names(selectNodes(manifest, ['test_type:unique'], undefined).ids)).toEqual(['unique_app_events_id']);
  });
  it("in an intersection a part takes the tests of what it selects, as dbt's eager indirect selection does; an intersection of parts that each match but not together is unmatched", () => {
    expect(names(selectNodes(manifest, ['events_hourly,test_type:expression_is_true'], undefined).ids)).toEqual(['expression_is_true_events_hourly', 'expression_is_true_events_hourly_error_rate']);
    expect(names(selectNodes(manifest, ['source:app.events,test_type:unique'], undefined).ids)).toEqual(['unique_app_events_id']);
    const none = selectNodes(manifest, ['events_hourly,test_type:unique'], undefined);
    expect(none.ids.size).toBe(0);
    expect(none.unmatched).toEqual([{ atom: 'events_hourly,test_type:unique', note: 'each part selects something, together nothing' }]);
    // a part that matches nothing is said for itself, not again for the whole
    expect(selectNodes(manifest, ['events_hourlie,test_type:unique'], undefined).unmatched).toEqual([{ atom: 'events_hourlie', hint: 'events_hourly' }]);
  });
  it("test_type: a generic test's name, or dbt's kinds generic, singular, data and unit", () => {
    const all = names(selectNodes(manifest, ['resource_type:test'], undefined).ids);
    const generic = names(selectNodes(manifest, ['test_type:generic'], undefined).ids);
    const singular = names(selectNodes(manifest, ['test_type:singular'], undefined).ids);
    expect(generic.length).toBeGreaterThan(0);
    expect(singular.length).toBeGreaterThan(0);
    expect([...generic, ...singular].sort()).toEqual(all);
    expect(names(selectNodes(manifest, ['test_type:data'], undefined).ids)).toEqual(all);
    expect(generic).toContain('unique_app_events_id');
    // unit tests: the shipped project has them (the golden fixture has none)
    const shipped = compileProject(loadProject(REPO), { env: {} }).manifest;
    const unit = [...selectNodes(shipped, ['test_type:unit'], undefined).ids];
    expect(unit.length).toBe(Object.values(shipped.nodes).filter((n) => n.resource_type === 'unit_test').length);
    expect(unit.length).toBeGreaterThan(0);
    expect(unit.every((id) => id.startsWith('unit_test.'))).toBe(true);
  });
  it('--exclude removes nodes, and unmatched atoms come back with a hint', () => {
    expect(names(selectNodes(manifest, ['path:models'], ['path:models/staging']).ids, 'model')).toEqual(['capability_trend', 'events_daily_overwrite', 'events_hourly']);
    expect(selectNodes(manifest, ['events_hourlie'], undefined).unmatched).toEqual([{ atom: 'events_hourlie', hint: 'events_hourly' }]);
    // a source: or tag: value gets the nearest source or tag, with its prefix and graph operators kept
    expect(selectNodes(manifest, ['source:ap+'], undefined).unmatched).toEqual([{ atom: 'source:ap+', hint: 'source:app+' }]);
    expect(selectNodes(manifest, ['source:app.event'], undefined).unmatched).toEqual([{ atom: 'source:app.event', hint: 'source:app.events' }]);
    const tag = selectNodes(manifest, ['tag:nope-at-all'], undefined).unmatched;
    expect(tag).toEqual([{ atom: 'tag:nope-at-all', hint: undefined }]);
  });
  it("source: takes dbt's three forms, package.source.table with the project as package; more parts are an invalid selector (was: matched nothing)", () => {
    expect(names(selectNodes(manifest, ['source:golden.app.events'], undefined).ids, 'source')).toEqual(['app.events']);
    expect(names(selectNodes(manifest, ['source:golden.app.*'], undefined).ids, 'source')).toEqual(['app.events']);
    expect(names(selectNodes(manifest, ['source:app.events'], undefined).ids, 'source')).toEqual(['app.events']);
    expect(names(selectNodes(manifest, ['source:app'], undefined).ids, 'source')).toEqual(['app.events']);
    // another package, or the package on one or two parts: nothing (the nearest named)
    expect(selectNodes(manifest, ['source:other.app.events'], undefined).unmatched).toEqual([{ atom: 'source:other.app.events', hint: 'source:golden.app.events' }]);
    expect(selectNodes(manifest, ['source:golden'], undefined).unmatched).toEqual([{ atom: 'source:golden', hint: undefined }]);
    expect(() => selectNodes(manifest, ['source:golden.app.events.id'], undefined)).toThrow("selector 'source:golden.app.events.id': invalid source selector: give source:<source>, source:<source>.<table> or source:<package>.<source>.<table>");
  });
  it('result: is refused, and so not offered among the methods (was: listed, then refused)', () => {
    expect(() => selectNodes(manifest, ['result:error'], undefined)).toThrow("result: is not supported; vigil retry re-runs what failed or was skipped in the last run");
    expect(() => selectNodes(manifest, ['reslt:error'], undefined)).toThrow(/^unknown selector method 'reslt:' \(methods: name, fqn, package, tag, path, file, source, test_name, test_type, unit_test, resource_type, dashboard, exposure, config\.<key>, state\)$/);
  });
  it('an unknown method is an error with the list of methods and a did-you-mean', () => {
    expect(() => selectNodes(manifest, ['colour:red'], undefined)).toThrow(/unknown selector method 'colour:' \(methods: name, fqn, package, tag, path, file, source, test_name, test_type, unit_test, resource_type, dashboard, exposure, config\.<key>, state\)/);
    expect(() => selectNodes(manifest, ['tags:x'], undefined)).toThrow(/unknown selector method 'tags:' — did you mean 'tag:'\?/);
    expect(() => selectNodes(manifest, ['confg.materialized:table'], undefined)).toThrow(/did you mean 'config\.<key>:'\?/);
  });
  it('n+name, name+n: generations of ancestors and descendants; @name: descendants and their ancestors', () => {
    expect(names(selectNodes(manifest, ['1+events_hourly'], undefined).ids, 'model')).toEqual(['events_hourly', 'int_buckets', 'stg_events']);
    expect(names(selectNodes(manifest, ['1+int_buckets'], undefined).ids)).toEqual(['int_buckets', 'stg_events']);
    expect(names(selectNodes(manifest, ['stg_events+1'], undefined).ids, 'model')).toEqual(['events_daily_overwrite', 'events_hourly', 'int_buckets', 'stg_events']);
    expect(names(selectNodes(manifest, ['int_buckets+1'], undefined).ids, 'model')).toEqual(['events_hourly', 'int_buckets']);
    // @int_buckets: its descendants (events_hourly, capability_trend) and all their ancestors (stg_events, the source)
    const at = selectNodes(manifest, ['@int_buckets'], undefined).ids;
    expect(names(at, 'model')).toEqual(['capability_trend', 'events_hourly', 'int_buckets', 'stg_events']);
    expect(names(at, 'source')).toEqual(['app.events']);
    expect(() => selectNodes(manifest, ['@+int_buckets'], undefined)).toThrow(/@ already takes the ancestors/);
    expect(() => selectNodes(manifest, ['+'], undefined)).toThrow(/names nothing/);
  });
  it('config.<key>:value and bare paths', () => {
    expect(names(selectNodes(manifest, ['config.materialized:incremental'], undefined).ids)).toEqual(['events_daily_overwrite', 'events_hourly']);
    expect(names(selectNodes(manifest, ['config.cluster_by:capability'], undefined).ids)).toEqual(['events_hourly']);
    expect(names(selectNodes(manifest, ['config.materialized:table,path:models/marts'], undefined).ids, 'model')).toEqual(['capability_trend']);
    expect(names(selectNodes(manifest, ['models/staging'], undefined).ids)).toEqual(['int_buckets', 'stg_events']);
    expect(names(selectNodes(manifest, ['models/marts/events_hourly.sql'], undefined).ids)).toEqual(['events_hourly']);
  });
  it('an empty selector (-s "", -s "$UNSET") or an empty part of an intersection is an error, not "nothing selected"', () => {
    for (const sel of ['', '  ']) expect(() => selectNodes(manifest, [sel], undefined), JSON.stringify(sel)).toThrow(/is empty: give what to select/);
    expect(() => selectNodes(manifest, ['a,'], undefined)).toThrow(/selector 'a,': an empty part between commas/);
    expect(() => selectNodes(manifest, undefined, [''])).toThrow(/is empty/);
  });

  it('state: needs a previous manifest (--state), result: points at vigil retry: clear errors, not a crash', () => {
    expect(() => selectNodes(manifest, ['state:modified'], undefined)).toThrow(/state: compares with a previous run's manifest: pass --state/);
    expect(() => selectNodes(manifest, ['result:error+'], undefined)).toThrow(/result: is not supported; vigil retry re-runs what failed/);
  });
  it('names with regular-expression characters are matched literally; the did-you-mean keeps the graph operators', () => {
    expect(selectNodes(manifest, ['events(hourly'], undefined).unmatched).toEqual([{ atom: 'events(hourly', hint: 'events_hourly' }]);
    expect(selectNodes(manifest, ['+stg_event+'], undefined).unmatched).toEqual([{ atom: '+stg_event+', hint: '+stg_events+' }]);
    expect(selectNodes(manifest, ['2+stg_event'], undefined).unmatched).toEqual([{ atom: '2+stg_event', hint: '2+stg_events' }]);
    expect(selectNodes(manifest, ['@stg_event'], undefined).unmatched).toEqual([{ atom: '@stg_event', hint: '@stg_events' }]);
  });
});

describe('selectNodes: globs, file names, --exclude, hints (a hostile check of node selection)', () => {
  it("path: globs as dbt's Path.glob: * and ? stay within a folder, ** crosses folders; a glob matching a folder selects what is in it (was: * crossed /)", () => {
    // the golden models are all in models/staging and models/marts
    expect(selectNodes(manifest, ['path:models/*.sql'], undefined).unmatched).toEqual([{ atom: 'path:models/*.sql', hint: undefined }]);
    expect(selectNodes(manifest, ['models/*.sql'], undefined).ids.size).toBe(0);
    expect(names(selectNodes(manifest, ['models/*/*.sql'], undefined).ids)).toEqual(['capability_trend', 'events_daily_overwrite', 'events_hourly', 'int_buckets', 'stg_events']);
    expect(names(selectNodes(manifest, ['path:models/**/events_*.sql'], undefined).ids)).toEqual(['events_daily_overwrite', 'events_hourly']);
    expect(names(selectNodes(manifest, ['path:models/**/stg_?vents.sql'], undefined).ids)).toEqual(['stg_events']);
    expect(names(selectNodes(manifest, ['path:models/st*'], undefined).ids)).toEqual(['int_buckets', 'stg_events']);
  });
  it('[abc], [a-z] and [!a] match one character, as dbt documents; a [ without its ] is itself', () => {
    expect(names(selectNodes(manifest, ['name:[cs]t[a-z]*'], undefined).ids)).toEqual(['stg_events']);
    // bare, the glob is dbt's fqn too: `staging.int_buckets` matches it
    expect(names(selectNodes(manifest, ['[cs]t[a-z]*'], undefined).ids)).toEqual(['int_buckets', 'stg_events']);
    expect(names(selectNodes(manifest, ['events_[dh]*'], undefined).ids)).toEqual(['events_daily_overwrite', 'events_hourly']);
    expect(names(selectNodes(manifest, ['events_[!d]*'], undefined).ids)).toEqual(['events_hourly']);
    expect(names(selectNodes(manifest, ['path:models/[m]arts/capability_trend.sql'], undefined).ids)).toEqual(['capability_trend']);
    expect(selectNodes(manifest, ['events[hourly'], undefined).unmatched).toEqual([{ atom: 'events[hourly', hint: 'events_hourly' }]);
    expect(selectNodes(manifest, ['events_[z-a]ourly'], undefined).ids.size).toBe(0);
  });
  it("a bare file name selects by file name, as dbt's default method (file:): orders.sql is orders (was: a path from the project root, suggesting a source)", () => {
    expect(names(selectNodes(manifest, ['events_hourly.sql'], undefined).ids)).toEqual(['events_hourly']);
    expect(names(selectNodes(manifest, ['file:stg_events'], undefined).ids)).toEqual(['stg_events']);
    expect(names(selectNodes(manifest, ['file:stg_*.sql+1'], undefined).ids, 'model')).toEqual(['events_daily_overwrite', 'events_hourly', 'int_buckets', 'stg_events']);
    expect(selectNodes(manifest, ['event_hourly.sql'], undefined).unmatched).toEqual([{ atom: 'event_hourly.sql', hint: 'events_hourly.sql' }]);
  });
  it('a path, a bare path or a config key that matches nothing gets the nearest one (were: no did-you-mean)', () => {
    expect(selectNodes(manifest, ['path:models/mart+'], undefined).unmatched).toEqual([{ atom: 'path:models/mart+', hint: 'path:models/marts+' }]);
    expect(selectNodes(manifest, ['models/stagin'], undefined).unmatched).toEqual([{ atom: 'models/stagin', hint: 'models/staging' }]);
    // a model's file in another folder: its path
    expect(selectNodes(manifest, ['models/events_hourly.sql'], undefined).unmatched).toEqual([{ atom: 'models/events_hourly.sql', hint: 'models/marts/events_hourly.sql' }]);
    expect(selectNodes(manifest, ['config.materalized:table'], undefined).unmatched).toEqual([{ atom: 'config.materalized:table', hint: 'config.materialized:table' }]);
    // a key some node has: the nearest value, as before
    expect(selectNodes(manifest, ['config.materialized:tabel'], undefined).unmatched).toEqual([{ atom: 'config.materialized:tabel', hint: 'config.materialized:table' }]);
  });
  it("@name+ is refused, as dbt refuses it ('@' prefix and '+' suffix are incompatible)", () => {
    expect(() => selectNodes(manifest, ['@int_buckets+'], undefined)).toThrow(/selector '@int_buckets\+': @ already takes every descendant; drop the \+/);
    expect(() => selectNodes(manifest, ['@int_buckets+1'], undefined)).toThrow(/@ already takes every descendant/);
  });
  it('a select expression whose every node --exclude excludes is unmatched, naming the --exclude (was: "Nothing to do", exit 0)', () => {
    const r = selectNodes(manifest, ['stg_events', 'capability_trend'], ['stg_events', 'tag:nope-at-all']);
    expect(r.unmatched).toEqual([
      { atom: 'tag:nope-at-all', hint: undefined },
      { atom: 'stg_events', says: "selects only what --exclude 'stg_events' excludes" },
    ]);
    expect(selectNodes(manifest, ['events_hourly'], ['path:models/marts']).unmatched).toEqual([{ atom: 'events_hourly', says: "selects only what --exclude 'path:models/marts' excludes" }]);
    // what is left of it is not
    expect(selectNodes(manifest, ['stg_events+'], ['stg_events']).unmatched).toEqual([]);
    // nor a state: selection (nothing may be left when nothing changed)
    expect(selectNodes(manifest, ['state:old'], ['path:models'], manifest).unmatched).toEqual([]);
  });
  it('withTests: the selection and the tests of what it selects, not those excluded (dbt\'s eager indirect selection, for ls and compile as for test)', () => {
    const sel = selectNodes(manifest, ['capability_trend'], undefined);
    expect(names(withTests(manifest, sel))).toEqual(['capability_trend', 'not_null_capability_trend_day']);
    expect(names(withTests(manifest, selectNodes(manifest, ['capability_trend'], ['not_null_capability_trend_day'])))).toEqual(['capability_trend']);
    expect(names(withTests(manifest, selectNodes(manifest, ['source:app'], undefined)))).toEqual(['app.events', 'not_null_app_events_id', 'unique_app_events_id']);
  });
});

describe("selectNodes: dbt's fqn and package methods, the default method, disabled nodes", () => {
  const dir = makeProject({
    'project.yaml': BASIC_PROJECT_YAML.replace('name: fixture', 'name: pb'),
    'models/a.sql': 'select 1 as id',
    'models/staging/b.sql': "select * from {{ ref('a') }}",
    'models/staging/deep/c.sql': 'select 1 as x',
    'models/s1.sql': 'select 1 as y',
    'models/s2.sql': "{{ config(enabled=false) }}\nselect 1 as y",
    'seeds/staging/sd.csv': 'id\n1\n',
  });
  afterAll(() => removeDir(dir));
  const m = compileProject(loadProject(dir), { env: {} }).manifest;
  const sel = (s: string, ex?: string) => selectNodes(m, [s], ex === undefined ? undefined : [ex]);
  it('a bare value that is no path or file name is an fqn, as dbt defaults: a folder, the project, dotted parts, globs over them (were: matched nothing)', () => {
    expect(m.nodes['model.pb.c']).toMatchObject({ fqn: ['pb', 'staging', 'deep', 'c'] });
    expect(m.nodes['seed.pb.sd']).toMatchObject({ fqn: ['pb', 'staging', 'sd'] });
    expect(names(sel('staging').ids)).toEqual(['b', 'c', 'sd']);
    expect(names(sel('staging.deep').ids)).toEqual(['c']);
    expect(names(sel('pb').ids)).toEqual(['a', 'b', 'c', 's1', 'sd']);
    expect(names(sel('pb.staging.b').ids)).toEqual(['b']);
    expect(names(sel('*.staging.*').ids)).toEqual(['b', 'c', 'sd']);
    expect(names(sel('fqn:b').ids)).toEqual(['b']);
    expect(names(sel('fqn:pb.staging').ids)).toEqual(['b', 'c', 'sd']);
    expect(names(sel('package:pb').ids)).toEqual(['a', 'b', 'c', 's1', 'sd']);
    expect(names(sel('package:p*').ids)).toEqual(['a', 'b', 'c', 's1', 'sd']);
    for (const s of ['staging', 'pb', 'pb.staging.b', '*.staging.*', 'fqn:b', 'package:pb']) expect(sel(s).unmatched, s).toEqual([]);
    // a miss still gets its did-you-mean, a folder among the candidates
    expect(sel('stagin').unmatched).toEqual([{ atom: 'stagin', hint: 'staging' }]);
    expect(sel('package:other').unmatched).toEqual([{ atom: 'package:other', hint: undefined }]);
  });
  it("a selector naming a disabled node says it is disabled (was: did you mean 's1'?), in -s and --exclude", () => {
    const said = [{ atom: 's2', disabled: "model 's2' (models/s2.sql) is disabled (enabled: false)" }];
    expect(sel('s2').unmatched).toEqual(said);
    expect(sel('a', 's2').unmatched).toEqual(said);
    expect(sel('name:s2').unmatched).toEqual([{ atom: 'name:s2', disabled: "model 's2' (models/s2.sql) is disabled (enabled: false)" }]);
    expect(m.disabled).toEqual({ 'model.pb.s2': { resource_type: 'model', name: 's2', file: 'models/s2.sql', fqn: ['pb', 's2'] } });
  });
});

describe('selectNodes against dbt: nested configs, test configs, sources, resource types, disabled nodes (a hostile check)', () => {
  const dir = makeProject({
    'project.yaml': BASIC_PROJECT_YAML.replace('name: fixture', 'name: proj'),
    'models/orders.sql': "{{ config(meta={'owner': 'alice', 'pii': true, 'tier': 2, 'teams': ['a', 'b']}) }}\nselect 1 as id",
    'models/orders_child.sql': "select * from {{ ref('orders') }}",
    'models/staging/stg_customers.sql': 'select 1 as id',
    'models/staging/stg_disabled.sql': "{{ config(enabled=false) }}\nselect 1 as id",
    'models/props.yml': [
      'sources:',
      '  - name: raw',
      '    tables:',
      '      - name: orders',
      '        columns:',
      '          - name: id',
      '            data_tests: [not_null]',
      'models:',
      '  - name: orders',
      '    columns:',
      '      - name: id',
      '        data_tests:',
      '          - unique: { config: { severity: warn, where: "id > 0" } }',
      '',
    ].join('\n'),
    'tests/no_negative.sql': "{{ config(severity='warn', tags=['quality']) }}\nselect * from {{ ref('orders') }} where id < 0",
  });
  afterAll(() => removeDir(dir));
  const m = compileProject(loadProject(dir), { env: {} }).manifest;
  const sel = (s: string) => selectNodes(m, [s], undefined);
  it("config.<key> follows dotted keys into a mapping, as dbt's _getattr_descend (config.meta.pii:true, dbt-core#5890); booleans in any case, numbers as text, a list by any element (was: config['meta.owner'], nothing)", () => {
    for (const s of ['config.meta.owner:alice', 'config.meta.pii:true', 'config.meta.pii:True', 'config.meta.tier:2', 'config.meta.teams:b', 'config.meta.owner:al*']) expect(names(sel(s).ids), s).toEqual(['orders']);
    expect(sel('config.meta.pii:false').ids.size).toBe(0);
    // a key below a value that is no mapping is no key
    expect(sel('config.meta.owner.name:alice').ids.size).toBe(0);
    // the did-you-mean walks the keys and values too
    expect(sel('config.meta.ownr:alice').unmatched).toEqual([{ atom: 'config.meta.ownr:alice', hint: 'config.meta.owner:alice' }]);
    expect(sel('config.meta.owner:alic+').unmatched).toEqual([{ atom: 'config.meta.owner:alic+', hint: 'config.meta.owner:alice+' }]);
    expect(() => sel('config.meta.:x')).toThrow(/an empty key in config\.meta\./);
  });
  it("a data test's severity, where and tags are its config, as in dbt: config.severity:warn selects the tests of that severity, in any case (was: nothing)", () => {
    expect(names(sel('config.severity:warn').ids)).toEqual(['no_negative', 'unique_orders_id']);
    expect(names(sel('config.severity:WARN').ids)).toEqual(['no_negative', 'unique_orders_id']);
    expect(names(sel('config.severity:error').ids)).toEqual(['not_null_raw_orders_id']);
    expect(names(sel('config.where:id*').ids)).toEqual(['unique_orders_id']);
    expect(names(sel('config.tags:quality').ids)).toEqual(['no_negative']);
    expect(Object.values(m.nodes).find((n) => n.name === 'unique_orders_id')).toMatchObject({ severity: 'warn', where: 'id > 0' });
  });
  it("a bare name is dbt's fqn, which does not look at sources: `orders` is the model, not the source table orders; `raw.orders`, source: and name: select the source (was: both, and the source's tests ran with `vigil test -s orders`)", () => {
    expect(names(sel('orders').ids)).toEqual(['orders']);
    expect(names(withTests(m, sel('orders')))).toEqual(['no_negative', 'orders', 'unique_orders_id']);
    expect(names(sel('orders+').ids, 'model')).toEqual(['orders', 'orders_child']);
    expect(names(sel('orders+').ids, 'source')).toEqual([]);
    expect(names(sel('raw.orders').ids)).toEqual(['raw.orders']);
    expect(names(sel('raw.*').ids)).toEqual(['raw.orders']);
    expect(names(sel('source:raw').ids)).toEqual(['raw.orders']);
    expect(names(sel('name:orders').ids)).toEqual(['orders', 'raw.orders']);
    // `*` is still everything, sources included
    expect(names(sel('*').ids, 'source')).toEqual(['raw.orders']);
    // a miss suggests what a bare value selects: a source as source.table
    expect(sel('raw.ordrs').unmatched).toEqual([{ atom: 'raw.ordrs', hint: 'raw.orders' }]);
  });
  it("resource_type: a type Vigil does not know is an error with the nearest, as dbt's 'Invalid resource_type selector'; one of dbt's that Vigil has not (analysis) says so (were: matched nothing)", () => {
    expect(() => sel('resource_type:bogus')).toThrow("selector 'resource_type:bogus': unknown resource type 'bogus' (resource types: model, seed, snapshot, test, unit_test, source, exposure)");
    expect(() => sel('resource_type:modle')).toThrow(/unknown resource type 'modle' — did you mean 'resource_type:model'\?/);
    expect(() => sel('resource_type:dashboard')).toThrow(/did you mean 'resource_type:exposure'\?/);
    expect(sel('resource_type:analysis').unmatched).toEqual([{ atom: 'resource_type:analysis', why: 'Vigil has no analysis nodes (its resource types: model, seed, snapshot, test, unit_test, source, exposure)' }]);
    expect(names(sel('resource_type:source').ids)).toEqual(['raw.orders']);
    expect(sel('resource_type:*').unmatched).toEqual([]);
  });
  it('a path:, fqn: or file: selector naming a disabled model says it is disabled (were: did you mean stg_customers, or nothing)', () => {
    const said = "model 'stg_disabled' (models/staging/stg_disabled.sql) is disabled (enabled: false)";
    for (const s of ['path:models/staging/stg_disabled.sql', 'models/staging/stg_disabled.sql', 'fqn:proj.staging.stg_disabled', 'staging.stg_disabled', 'file:stg_disabled.sql', 'stg_disabled.sql', 'file:stg_disabled']) {
      expect(sel(s).unmatched, s).toEqual([{ atom: s, disabled: said }]);
    }
    expect(m.disabled?.['model.proj.stg_disabled']?.fqn).toEqual(['proj', 'staging', 'stg_disabled']);
    // a manifest of an older Vigil, without the fqn: by its name, as before
    const old = { ...m, disabled: { 'model.proj.stg_disabled': { resource_type: 'model' as const, name: 'stg_disabled', file: 'models/staging/stg_disabled.sql' } } };
    expect(selectNodes(old, ['fqn:proj.stg_disabled'], undefined).unmatched).toEqual([{ atom: 'fqn:proj.stg_disabled', disabled: said }]);
  });
  it('dashboards carry no tag of their own: tag:* selects what is tagged (was: every dashboard, by a hidden tag `dashboard`)', () => {
    const shipped = compileProject(loadProject(REPO), { env: {} }).manifest;
    expect(Object.keys(shipped.exposures ?? {}).length).toBeGreaterThan(0);
    expect([...selectNodes(shipped, ['tag:*'], undefined).ids].filter((id) => id.startsWith('exposure.'))).toEqual([]);
    expect(selectNodes(shipped, ['tag:dashboard'], undefined).ids.size).toBe(0);
    expect(selectNodes(shipped, ['dashboard:*'], undefined).ids.size).toBe(Object.keys(shipped.exposures ?? {}).length);
    // dbt's exposure:<package>.<name>, the project as package (was: matched nothing); more parts are an invalid selector
    const one = Object.values(shipped.exposures ?? {})[0];
    expect([...selectNodes(shipped, [`exposure:${shipped.metadata.project}.${one.name}`], undefined).ids]).toEqual([one.unique_id]);
    expect([...selectNodes(shipped, [`dashboard:*.${one.name}`], undefined).ids]).toEqual([one.unique_id]);
    expect(() => selectNodes(shipped, [`exposure:a.b.${one.name}`], undefined)).toThrow(`selector 'exposure:a.b.${one.name}': invalid exposure selector: give exposure:<name> or exposure:<package>.<name>`);
  });
});

describe("selectNodes against dbt: config defaults, test_name:, test_type:schema, an --exclude of everything (a hostile check)", () => {
  const dir = makeProject({
    'project.yaml': BASIC_PROJECT_YAML.replace('name: fixture', 'name: pd'),
    'models/a.sql': "{{ config(meta={'set': '[x]'}) }}\nselect 1 as id",
    'models/inc.sql': "{{ config(materialized='incremental', on_schema_change='fail') }}\nselect 1 as id",
    'models/props.yml': 'sources:\n  - name: raw\n    tables:\n      - name: t\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n',
    'seeds/sd.csv': 'id\n1\n',
    'snapshots/snaps.sql': "{% snapshot sn %}{{ config(strategy='check', unique_key='id', check_cols='all') }}select * from {{ ref('a') }}{% endsnapshot %}",
    'tests/singular_a.sql': "select * from {{ ref('a') }} where id < 0",
  });
  afterAll(() => removeDir(dir));
  const m = compileProject(loadProject(dir), { env: {} }).manifest;
  const sel = (s: string) => selectNodes(m, [s], undefined);
  it("config.<key>: reads dbt's defaults of the node's type where the manifest holds no value: enabled, a seed's, snapshot's and test's materialized, on_schema_change, a seed's delimiter (were: matched nothing)", () => {
    expect(names(sel('config.enabled:true').ids)).toEqual(['a', 'inc', 'not_null_a_id', 'raw.t', 'sd', 'singular_a', 'sn', 'unique_a_id']);
    expect(names(sel('config.enabled:TRUE').ids)).toEqual(names(sel('config.enabled:true').ids));
    expect(names(sel('config.materialized:seed').ids)).toEqual(['sd']);
    expect(names(sel('config.materialized:snapshot').ids)).toEqual(['sn']);
    expect(names(sel('config.materialized:test').ids)).toEqual(['not_null_a_id', 'singular_a', 'unique_a_id']);
    expect(names(sel('config.materialized:view').ids)).toEqual(['a']);
    // (a model's own value wins over the default)
    expect(names(sel('config.on_schema_change:ignore').ids)).toEqual(['a', 'sd', 'sn']);
    expect(names(sel('config.on_schema_change:fail').ids)).toEqual(['inc']);
    expect(names(sel('config.delimiter:;').ids)).toEqual([]);
    expect(sel('config.on_schema_change:ignor').unmatched).toEqual([{ atom: 'config.on_schema_change:ignor', hint: 'config.on_schema_change:ignore' }]);
    // dbt's configs Vigil has no equivalent of: said, not invented
    expect(sel('config.docs.show:true').unmatched).toEqual([{ atom: 'config.docs.show:true', why: "'docs' is a dbt config Vigil has no equivalent of (no node has it)" }]);
    expect(sel('config.contract.enforced:false').unmatched).toEqual([{ atom: 'config.contract.enforced:false', why: "'contract' is a dbt config Vigil has no equivalent of (no node has it)" }]);
    // state:modified.configs still compares the configs as set, not the defaults
    expect(selectNodes(m, ['state:modified.configs'], undefined, m).ids.size).toBe(0);
  });
  it("config.<key>: dbt compares by equality: a value with glob characters matches itself too (was: `[x]` only as a set of one character)", () => {
    expect(names(sel('config.meta.set:[x]').ids)).toEqual(['a']);
  });
  it("test_name: selects generic tests by their test, as dbt's (was: unknown method); test_type:schema is dbt's older name of generic (was: matched nothing)", () => {
    expect(names(sel('test_name:unique').ids)).toEqual(['unique_a_id']);
    expect(names(sel('test_name:not_*').ids)).toEqual(['not_null_a_id']);
    expect(sel('test_name:uniqe').unmatched).toEqual([{ atom: 'test_name:uniqe', hint: 'test_name:unique' }]);
    // a singular test has no generic test's name
    expect(sel('test_name:singular_a').ids.size).toBe(0);
    expect(names(sel('test_type:schema').ids)).toEqual(names(sel('test_type:generic').ids));
    expect(names(sel('test_type:schema').ids)).toEqual(['not_null_a_id', 'unique_a_id']);
    // Vigil's test_type:<a generic test's name> still works
    expect(names(sel('test_type:unique').ids)).toEqual(['unique_a_id']);
  });
  it("an --exclude that leaves nothing of the project, with no -s, is unmatched as with -s (was: nothing selected, exit 0); not a state: one, which may when nothing changed", () => {
    expect(selectNodes(m, undefined, ['*']).unmatched).toEqual([{ atom: "'*'", text: "--exclude '*' excludes every node of the project: nothing is left to select", wholeProject: true }]);
    expect(selectNodes(m, undefined, ['package:pd']).unmatched).toEqual([{ atom: "'package:pd'", text: "--exclude 'package:pd' excludes every node of the project: nothing is left to select", wholeProject: true }]);
    // several that together leave nothing are named together
    const all = selectNodes(m, undefined, ['resource_type:model resource_type:seed resource_type:snapshot', 'resource_type:source']);
    expect(all.unmatched.map((u) => u.text)).toEqual(["--exclude 'resource_type:model' 'resource_type:seed' 'resource_type:snapshot' 'resource_type:source' excludes every node of the project: nothing is left to select"]);
    expect(selectNodes(m, undefined, ['resource_type:seed']).unmatched).toEqual([]);
    expect(selectNodes(m, undefined, ['state:unmodified'], m).unmatched).toEqual([]);
  });
});

describe('planRun', () => {
  it('build: models wait for upstream models and their tests; ephemerals are not run', () => {
    const p = planRun(manifest, { command: 'build' });
    const ids = p.nodes.map((n) => n.name);
    expect(ids).not.toContain('int_buckets');
    const waits = (name: string) => (p.waitsFor.get(p.nodes.find((n) => n.name === name)!.unique_id) ?? []).map(nameOfId).sort();
    // events_hourly reads stg_events directly and through the ephemeral int_buckets
    expect(waits('events_hourly')).toEqual(['stg_events']);
    // stg_events reads the source: it waits for the source's tests
    expect(waits('stg_events')).toEqual(['not_null_app_events_id', 'unique_app_events_id']);
    // (a singular test reading events_hourly holds its children back too, as dbt's build does)
    expect(waits('capability_trend')).toEqual([
      'accepted_values_events_hourly_capability',
      'assert_hourly_not_in_future',
      'events_hourly',
      'expression_is_true_events_hourly',
      'expression_is_true_events_hourly_error_rate',
      'relationships_events_hourly_capability',
      'unique_combination_of_columns_events_hourly_hour_capability',
    ]);
  });
  it("a model waits for the failing-able tests of parents this run does not build, and of singular tests; a test reading a model's descendant does not hold it (were: built past a failed test under retry or -s; a singular test blocked nothing; a relationships test to a descendant was a cycle, every child skipped)", () => {
    const m = compileProject(
      projectFiles({
        models: { 'models/a.sql': 'select 1 as id, 1 as flag', 'models/b.sql': "select * from {{ ref('a') }}", 'models/c.sql': "select * from {{ ref('b') }}" },
        yml: { 'models/a.yml': "models:\n  - name: a\n    columns:\n      - name: flag\n        tests: [{ accepted_values: { values: [0], quote: false } }]\n      - name: id\n        tests: [{ relationships: { to: \"ref('c')\", field: id } }]\n" },
        tests: { 'tests/a_chk.sql': "select * from {{ ref('a') }} where id = 1" },
      }),
      { env: {} },
    ).manifest;
    const waits = (p: ReturnType<typeof planRun>, name: string) => (p.waitsFor.get(p.nodes.find((n) => n.name === name)!.unique_id) ?? []).map(nameOfId).sort();
    const all = planRun(m, { command: 'build' });
    expect(waits(all, 'b')).toEqual(['a', 'a_chk', 'accepted_values_a_flag']);
    expect(waits(all, 'c')).toEqual(['b']);
    expect(waits(all, 'relationships_a_id')).toEqual(['a', 'c']);
    // a's test selected without a (vigil retry after it failed, or -s): b still waits for it
    const retry = planRun(m, { command: 'build', select: ['accepted_values_a_flag', 'b'] });
    expect(waits(retry, 'b')).toEqual(['accepted_values_a_flag']);
  });

  it("two facts on one dimension, each with a relationships test to it: no cycle; a test holds back what reads all it reads, as dbt's build (the review found a first version of the rule deadlock here)", () => {
    const m = compileProject(
      projectFiles({
        models: {
          'models/dim.sql': 'select 1 as id',
          'models/fct_orders.sql': "select 1 as id, id as customer_id from {{ ref('dim') }}",
          'models/fct_payments.sql': "select 1 as id, id as customer_id from {{ ref('dim') }}",
          'models/dim_metrics.sql': "select * from {{ ref('dim') }}",
          'models/orders_daily.sql': "select * from {{ ref('fct_orders') }}",
        },
        yml: {
          'models/f.yml': "models:\n  - name: fct_orders\n    columns:\n      - name: customer_id\n        tests: [{ relationships: { to: \"ref('dim')\", field: id } }]\n  - name: fct_payments\n    columns:\n      - name: customer_id\n        tests: [{ relationships: { to: \"ref('dim')\", field: id } }]\n",
        },
      }),
      { env: {} },
    ).manifest;
    const p = planRun(m, { command: 'build' });
    const waits = (name: string) => (p.waitsFor.get(p.nodes.find((n) => n.name === name)!.unique_id) ?? []).map(nameOfId).sort();
    expect(waits('fct_orders')).toEqual(['dim']);
    expect(waits('fct_payments')).toEqual(['dim']);
    expect(waits('dim_metrics')).toEqual(['dim']);
    expect(waits('orders_daily')).toEqual(['fct_orders', 'relationships_fct_orders_customer_id']);
  });

  it('run has no tests; test has no models; a selected model brings its tests (eager)', () => {
    expect(planRun(manifest, { command: 'run' }).nodes.every((n) => n.resource_type === 'model')).toBe(true);
    expect(planRun(manifest, { command: 'test' }).nodes.every((n) => n.resource_type === 'test')).toBe(true);
    const p = planRun(manifest, { command: 'test', select: ['capability_trend'] });
    expect(p.nodes.map((n) => n.name)).toEqual(['not_null_capability_trend_day']);
    const ex = planRun(manifest, { command: 'test', select: ['capability_trend'], exclude: ['not_null_capability_trend_day'] });
    expect(ex.nodes).toEqual([]);
  });
  it('an excluded node takes its data tests and unit tests with it, however the selection reached them (was: `-s a+ --exclude b` ran b\'s tests)', () => {
    expect(names(selectNodes(manifest, ['stg_events+'], ['capability_trend']).ids).filter((n) => n.includes('capability_trend'))).toEqual([]);
    expect(planRun(manifest, { command: 'build', select: ['stg_events+'], exclude: ['capability_trend'] }).nodes.map((n) => n.name)).not.toContain('not_null_capability_trend_day');
    const shipped = compileProject(loadProject(REPO), { env: {} }).manifest;
    const unit = Object.values(shipped.nodes).find((n) => n.resource_type === 'unit_test')!;
    const model = (unit as { attached_to: string }).attached_to.split('.').pop()!;
    const built = planRun(shipped, { command: 'build', select: [`+${model}+`], exclude: [model] }).nodes;
    expect(built.map((n) => n.unique_id)).not.toContain(unit.unique_id);
    expect(built.some((n) => n.resource_type === 'unit_test' && (n as { attached_to: string }).attached_to.endsWith(`.${model}`))).toBe(false);
    expect(planRun(shipped, { command: 'build', select: [`+${model}+`] }).nodes.map((n) => n.unique_id)).toContain(unit.unique_id);
  });
});

describe('selectNodes: a source a seed fills, a snapshot file, properties YAML (a hostile check of node selection)', () => {
  const dir = makeProject({
    'project.yaml': BASIC_PROJECT_YAML.replace('name: fixture', 'name: sx'),
    'seeds/sample_events.csv': 'event_id,status\n1,ok\n2,error\n',
    'seeds/sample_events.yml': 'seeds:\n  - name: sample_events\n    description: The sample.\n',
    'models/sources.yml': 'sources:\n  - name: app\n    schema: analytics\n    tables:\n      - name: events\n        identifier: sample_events\n        columns:\n          - name: event_id\n            tests: [unique, not_null]\n',
    'models/events_daily.sql': "select status, count(*) as n from {{ source('app', 'events') }} group by 1",
    'models/events_daily.yml': 'models:\n  - name: events_daily\n    columns:\n      - name: status\n        tests: [not_null]\n',
    'models/users.sql': 'select 1 as id, current_timestamp as updated_at',
    'snapshots/snap.sql': "{% snapshot users_snap %}\n{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at') }}\nselect * from {{ ref('users') }}\n{% endsnapshot %}\n",
    'snapshots/hist/more.sql': "{% snapshot more_snap %}\n{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at') }}\nselect * from {{ ref('users') }}\n{% endsnapshot %}\n",
    'models/snaps.yml': "snapshots:\n  - name: yaml_snap\n    relation: ref('users')\n    config: { unique_key: id, strategy: timestamp, updated_at: updated_at }\n",
  });
  afterAll(() => removeDir(dir));
  const m = compileProject(loadProject(dir), { env: {} }).manifest;
  const ls = (s: string[] | undefined, ex?: string[]) => names(withTests(m, selectNodes(m, s, ex)));
  const SOURCE_TESTS = ['not_null_app_events_event_id', 'unique_app_events_event_id'];
  it("a source's tests go with the source, not with the seed that fills it, as dbt's (were: --exclude the seed dropped them, -s the seed brought them)", () => {
    // excluding the seed keeps the source's tests (was: dropped without a word)
    const kept = ls(undefined, ['resource_type:seed']);
    for (const t of SOURCE_TESTS) expect(kept).toContain(t);
    expect(ls(undefined, ['sample_events'])).toEqual(expect.arrayContaining(SOURCE_TESTS));
    // selecting the seed selects it alone (was: and the source's tests)
    expect(ls(['resource_type:seed'])).toEqual(['sample_events']);
    expect(ls(['sample_events'])).toEqual(['sample_events']);
    expect(ls(['+unique_app_events_event_id']).filter((x) => x === 'sample_events')).toEqual([]);
    // the source selects them, and excluding the source takes them
    expect(ls(['source:app'])).toEqual(['app.events', ...SOURCE_TESTS]);
    expect(ls(undefined, ['source:app']).filter((x) => SOURCE_TESTS.includes(x))).toEqual([]);
    // in an intersection, a seed part brings none of them
    expect(selectNodes(m, ['resource_type:seed,test_type:unique'], undefined).ids.size).toBe(0);
  });
  it("the seed's graph operators reach the tests of the source it fills: seed+ and state:modified+ test the data the seed loads (were: left out, only the model reading it)", () => {
    const ALL = ['events_daily', 'not_null_events_daily_status', 'sample_events', ...SOURCE_TESTS].sort();
    expect(ls(['sample_events+'])).toEqual(ALL);
    expect(ls(['sample_events+1'])).toEqual(ALL);
    expect(ls(['@sample_events']).filter((x) => SOURCE_TESTS.includes(x))).toEqual(SOURCE_TESTS);
    // in an intersection too: the unique test of what the seed reaches
    expect(ls(['sample_events+,test_type:unique'])).toEqual(['unique_app_events_event_id']);
    // excluding the seed and what follows it takes them
    expect(ls(undefined, ['sample_events+']).filter((x) => SOURCE_TESTS.includes(x))).toEqual([]);
    // build runs them after loading the seed
    const plan = planRun(m, { command: 'build', select: ['sample_events+'] });
    expect(plan.nodes.map((n) => n.name)).toEqual(expect.arrayContaining(SOURCE_TESTS));
  });
  it('build still loads the seed before the tests of the source it fills, when both run', () => {
    const plan = planRun(m, { command: 'build' });
    const unique = plan.nodes.find((n) => n.name === 'unique_app_events_event_id')!;
    expect(plan.waitsFor.get(unique.unique_id)).toContain('seed.sx.sample_events');
    expect((m.nodes[unique.unique_id] as { depends_on: string[] }).depends_on).toContain('seed.sx.sample_events');
    // the seed excluded: the tests run, on the table as it is
    const without = planRun(m, { command: 'build', exclude: ['sample_events'] });
    expect(without.nodes.map((n) => n.name)).toEqual(expect.arrayContaining(SOURCE_TESTS));
    expect(without.nodes.map((n) => n.name)).not.toContain('sample_events');
  });
  it("a {% snapshot %} block's fqn has its file's name, as dbt's (was: selector 'snap' matched nothing); a YAML snapshot's has not", () => {
    expect(m.nodes['snapshot.sx.users_snap']).toMatchObject({ fqn: ['sx', 'snap', 'users_snap'] });
    expect(m.nodes['snapshot.sx.more_snap']).toMatchObject({ fqn: ['sx', 'hist', 'more', 'more_snap'] });
    expect(m.nodes['snapshot.sx.yaml_snap']).toMatchObject({ fqn: ['sx', 'yaml_snap'] });
    expect(ls(['snap'])).toEqual(['users_snap']);
    expect(selectNodes(m, ['snap'], undefined).unmatched).toEqual([]);
    expect(ls(['fqn:sx.snap.users_snap'])).toEqual(['users_snap']);
    expect(ls(['hist.more'])).toEqual(['more_snap']);
    expect(ls(['users_snap'])).toEqual(['users_snap']);
  });
  it("path: selects a node by its properties YAML too, as dbt's patch_path (was: only the tests written there; the seed's: matched nothing)", () => {
    expect(ls(['path:models/events_daily.yml'])).toEqual(['events_daily', 'not_null_events_daily_status']);
    expect(ls(['models/events_daily.yml'])).toEqual(['events_daily', 'not_null_events_daily_status']);
    expect(ls(['path:seeds/sample_events.yml'])).toEqual(['sample_events']);
    expect(selectNodes(m, ['path:seeds/sample_events.yml'], undefined).unmatched).toEqual([]);
    expect(ls(['path:models/snaps.yml'])).toEqual(['yaml_snap']);
    // a glob over properties files; the folder of a properties file is not the node's folder
    expect(ls(['path:seeds/*.yml'])).toEqual(['sample_events']);
  });
});

describe('a singular test, or a relationships test to a source that a seed fills', () => {
  const dir = makeProject({
    'project.yaml': BASIC_PROJECT_YAML.replace('name: fixture', 'name: sy'),
    'seeds/sample_events.csv': 'event_id,status\n1,ok\n2,error\n',
    'models/sources.yml': 'sources:\n  - name: app\n    schema: analytics\n    tables:\n      - name: events\n        identifier: sample_events\n',
    'models/other.sql': "{{ config(materialized='table') }}\nselect 'ok' as status",
    'models/other.yml': "models:\n  - name: other\n    columns:\n      - name: status\n        tests:\n          - relationships:\n              to: source('app', 'events')\n              field: status\n",
    'tests/events_ok.sql': "select * from {{ source('app', 'events') }} where status is null",
    'tests/reads_both.sql': "select * from {{ source('app', 'events') }} join {{ ref('sample_events') }} using (event_id) where 1 = 0",
  });
  afterAll(() => removeDir(dir));
  const m = compileProject(loadProject(dir), { env: {} }).manifest;
  const ls = (s: string[] | undefined, ex?: string[]) => names(withTests(m, selectNodes(m, s, ex)));
  it('waits for the seed in a build (were: run before the seed loaded — "Table with name sample_events does not exist" — and the models after them skipped) and goes with the source, as its generic tests do', () => {
    const plan = planRun(m, { command: 'build' });
    for (const t of ['test.sy.events_ok', 'test.sy.reads_both']) expect(plan.waitsFor.get(t)).toContain('seed.sy.sample_events');
    const rel = plan.nodes.find((n) => n.name === 'relationships_other_status')!;
    expect(plan.waitsFor.get(rel.unique_id)).toContain('seed.sy.sample_events');
    // run order only: excluding the seed keeps them (the table as it is), selecting the seed alone brings none of them (but the test that reads it by ref())
    expect(ls(undefined, ['sample_events'])).toEqual(expect.arrayContaining(['events_ok', 'relationships_other_status']));
    expect(ls(['sample_events'])).toEqual(['reads_both', 'sample_events']);
    expect(ls(['sample_events+'])).toEqual(expect.arrayContaining(['events_ok', 'reads_both']));
    // one that reads the seed by ref() too depends on it for selection as well
    expect(m.nodes['test.sy.reads_both']).not.toHaveProperty('waits_for');
    expect(ls(undefined, ['sample_events'])).not.toContain('reads_both');
  });
  it("a generic test whose templated where: reads that source waits for the seed and goes with the source too; an alert's or dashboard's query reading it reads the source, not the seed (were: the seed a full dependency, and among the query's reads)", () => {
    const dir2 = makeProject({
      'project.yaml': BASIC_PROJECT_YAML.replace('name: fixture', 'name: sy'),
      'seeds/sample_events.csv': 'event_id,status\n1,ok\n2,error\n',
      'models/sources.yml': 'sources:\n  - name: app\n    schema: analytics\n    tables:\n      - name: events\n        identifier: sample_events\n',
      'models/other.sql': "{{ config(materialized='table') }}\nselect 'ok' as status",
      'models/other.yml': "models:\n  - name: other\n    columns:\n      - name: status\n        tests:\n          - not_null:\n              config:\n                where: \"status in (select status from {{ source('app', 'events') }})\"\n",
    });
    try {
      const c = compileProject(loadProject(dir2), { env: {}, queries: [{ key: 'q', file: 'alerts/a.yaml', text: "select count(*) as n from {{ source('app', 'events') }}", line: 1, column: 1 }] });
      expect(c.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(c.queries.q.depends_on).toEqual(['source.sy.app.events']);
      const mm = c.manifest;
      const nn = Object.values(mm.nodes).find((n) => n.name === 'not_null_other_status')!;
      expect(nn, Object.keys(mm.nodes).join(' ')).toBeDefined();
      expect(planRun(mm, { command: 'build' }).waitsFor.get(nn.unique_id)).toContain('seed.sy.sample_events');
      expect(names(withTests(mm, selectNodes(mm, undefined, ['sample_events'])))).toContain('not_null_other_status');
      expect(names(withTests(mm, selectNodes(mm, ['sample_events'], undefined)))).not.toContain('not_null_other_status');
    } finally {
      removeDir(dir2);
    }
  });
});

describe('graph', () => {
  it('finds cycles and orders acyclic graphs deterministically', () => {
    const g = buildGraph(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', []], ['e', ['d']]]));
    expect(findCycles(g)).toEqual([['a', 'b', 'c', 'a']]);
    expect(topoSort(g)).toEqual(['d', 'e']);
    const deep = new Map<string, string[]>();
    for (let i = 0; i < 20000; i++) deep.set(`n${i}`, i ? [`n${i - 1}`] : []);
    expect(topoSort(buildGraph(deep))).toHaveLength(20000); // no stack overflow on long chains
  });
});

describe("--indirect-selection: dbt's eager, cautious, buildable and empty (was: refused, eager only)", () => {
  // a <- b <- c; a relationships test from b to a, another from c to a; unique on a; a unit test of b
  const dir = makeProject({
    'project.yaml': BASIC_PROJECT_YAML.replace('name: fixture', 'name: pi'),
    'models/a.sql': 'select 1 as id',
    'models/b.sql': "select id, id as a_id from {{ ref('a') }}",
    'models/c.sql': "select id, a_id from {{ ref('b') }}",
    'models/props.yml': [
      'models:',
      '  - name: a',
      '    columns: [{ name: id, data_tests: [unique] }]',
      '  - name: b',
      "    columns: [{ name: a_id, data_tests: [{ relationships: { to: ref('a'), field: id } }] }]",
      '  - name: c',
      "    columns: [{ name: a_id, data_tests: [{ relationships: { to: ref('a'), field: id } }] }]",
      'unit_tests:',
      '  - name: ut_b',
      '    model: b',
      "    given: [{ input: ref('a'), rows: [{ id: 1 }] }]",
      '    expect: { rows: [{ id: 1, a_id: 1 }] }',
      '',
    ].join('\n'),
  });
  afterAll(() => removeDir(dir));
  const m = compileProject(loadProject(dir), { env: {} }).manifest;
  const run = (mode: 'eager' | 'cautious' | 'buildable' | 'empty', s: string | undefined, ex?: string) => {
    const r = selectNodes(m, s === undefined ? undefined : [s], ex === undefined ? undefined : [ex], undefined, mode);
    expect(r.unmatched).toEqual([]);
    return names(withTests(m, r));
  };
  const rel = (model: string) => Object.values(m.nodes).find((n) => n.resource_type === 'test' && n.test_type === 'relationships' && n.attached_to === `model.pi.${model}`)!.name;
  it('a model alone: eager takes every test reading it, cautious and buildable those whose every node read is selected (buildable: or upstream), empty none', () => {
    expect(run('eager', 'a')).toEqual(['a', rel('b'), rel('c'), 'unique_a_id'].sort());
    expect(run('cautious', 'a')).toEqual(['a', 'unique_a_id']);
    expect(run('buildable', 'a')).toEqual(['a', 'unique_a_id']);
    expect(run('empty', 'a')).toEqual(['a']);
    // c's test reads c and a: a is upstream of c, so buildable takes it; cautious does not
    expect(run('cautious', 'c')).toEqual(['c']);
    expect(run('buildable', 'c')).toEqual(['c', rel('c')].sort());
    expect(run('eager', 'c')).toEqual(['c', rel('c')].sort());
    // a unit test goes with its model, but under empty
    expect(run('cautious', 'b')).toEqual(['b', 'ut_b']);
    expect(run('empty', 'b')).toEqual(['b']);
  });
  it('a union completes a test whose nodes its parts select apart; graph operators select tests themselves in every mode; intersections and --exclude as dbt combines them', () => {
    expect(run('cautious', 'a b')).toEqual(['a', 'b', rel('b'), 'unique_a_id', 'ut_b'].sort());
    expect(run('empty', 'a+')).toEqual(['a', 'b', 'c', rel('b'), rel('c'), 'unique_a_id', 'ut_b'].sort());
    expect(run('cautious', 'a,test_type:unique')).toEqual(['unique_a_id']);
    // --exclude takes the tests its mode selects of what it excludes: cautious, not a test that also reads a node left in
    expect(run('cautious', undefined, 'a')).toEqual(['b', 'c', rel('b'), rel('c'), 'ut_b'].sort());
    expect(run('eager', undefined, 'a')).toEqual(['b', 'c', 'ut_b']);
    // (b+ selects c's test itself, as a descendant: excluding c leaves it, as in dbt)
    expect(run('cautious', 'a b+', 'c')).toEqual(['a', 'b', rel('b'), rel('c'), 'unique_a_id', 'ut_b'].sort());
    expect(run('eager', 'a b+', 'c')).toEqual(['a', 'b', rel('b'), 'unique_a_id', 'ut_b'].sort());
    // (eager is what it was: withTests adds the tests)
    expect(names(selectNodes(m, ['a'], undefined).ids)).toEqual(['a']);
  });
  it("unit_test:<name> and unit_test:<package>.<name> select unit tests, as dbt's (was: unknown method); more parts are an invalid selector", () => {
    expect(names(selectNodes(m, ['unit_test:ut_b'], undefined).ids)).toEqual(['ut_b']);
    expect(names(selectNodes(m, ['unit_test:pi.ut_*'], undefined).ids)).toEqual(['ut_b']);
    expect(names(selectNodes(m, ['+unit_test:ut_b'], undefined).ids)).toEqual(['a', 'b', 'ut_b']);
    expect(selectNodes(m, ['unit_test:ut_c'], undefined).unmatched).toEqual([{ atom: 'unit_test:ut_c', hint: 'unit_test:ut_b' }]);
    expect(selectNodes(m, ['unit_test:px.ut_b'], undefined).unmatched).toEqual([{ atom: 'unit_test:px.ut_b', hint: 'unit_test:pi.ut_b' }]);
    // a dbt project's name, however far from the project's: the project's (was: no hint)
    expect(selectNodes(m, ['unit_test:jaffle_shop.ut_b'], undefined).unmatched).toEqual([{ atom: 'unit_test:jaffle_shop.ut_b', hint: 'unit_test:pi.ut_b' }]);
    expect(selectNodes(m, ['jaffle_shop.b'], undefined).unmatched).toEqual([{ atom: 'jaffle_shop.b', hint: 'pi.b' }]);
    expect(selectNodes(m, ['fqn:jaffle_shop.b+'], undefined).unmatched).toEqual([{ atom: 'fqn:jaffle_shop.b+', hint: 'fqn:pi.b+' }]);
    expect(() => selectNodes(m, ['unit_test:pi.b.ut_b'], undefined)).toThrow("selector 'unit_test:pi.b.ut_b': invalid unit test selector: give unit_test:<name> or unit_test:<package>.<name>");
  });
  it('vigil test and build run what the mode selects', () => {
    const planned = (command: 'test' | 'build', mode: 'cautious' | 'empty') => planRun(m, { command, select: ['a'], indirectSelection: mode }).nodes.map((n) => n.name).sort();
    expect(planned('test', 'cautious')).toEqual(['unique_a_id']);
    expect(planned('build', 'cautious')).toEqual(['a', 'unique_a_id']);
    expect(planned('build', 'empty')).toEqual(['a']);
    expect(planRun(m, { command: 'test', select: ['a'] }).nodes.map((n) => n.name).sort()).toEqual([rel('b'), rel('c'), 'unique_a_id'].sort());
  });
  it("a selection another mode leaves without tests says which tests the mode left (was: 'nothing to run' / 'together nothing', as if there were none: a typo to hunt for)", async () => {
    // c's relationships test reads a, which `-s c` does not select: cautious leaves it
    await expect(plan(m, { command: 'test', select: ['c'], indirectSelection: 'cautious' })).rejects.toThrow(
      `the selection selects 1 model (c), and vigil test runs data and unit tests: nothing to run; --indirect-selection cautious leaves the test eager (the default) selects (${rel('c')}): each reads a node not selected`,
    );
    await expect(plan(m, { command: 'build', select: ['a'], indirectSelection: 'empty' })).resolves.toBeDefined();
    await expect(plan(m, { command: 'test', select: ['b'], indirectSelection: 'empty' })).rejects.toThrow(`--indirect-selection empty leaves the 2 tests eager (the default) selects (${[rel('b'), 'ut_b'].sort().join(', ')}): none is selected itself`);
    // (eager, and a selection whose tests eager would not take either: as before)
    await expect(plan(m, { command: 'test', select: ['c'], exclude: [rel('c')], indirectSelection: 'cautious' })).rejects.toThrow(/nothing to run\n/);
    const r = selectNodes(m, ['c,test_type:relationships'], undefined, undefined, 'cautious');
    expect(r.unmatched).toEqual([{ atom: 'c,test_type:relationships', note: `each part selects something, together nothing: --indirect-selection cautious leaves the test eager (the default) selects (${rel('c')}): each reads a node not selected` }]);
    expect(selectNodes(m, ['c,test_type:unique'], undefined, undefined, 'cautious').unmatched).toEqual([{ atom: 'c,test_type:unique', note: 'each part selects something, together nothing' }]);
  });
});
