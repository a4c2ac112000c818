/**
 * Selector grammar and run planning on the golden fixture's manifest (pure, no database).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadProject } from '../../src/project/load-project.js';
import { compileProject } from '../../src/compile/compile-project.js';
import { selectNodes } from '../../src/compile/selector.js';
import { planRun } from '../../src/run/executor.js';
import { findCycles, buildGraph, topoSort } from '../../src/compile/graph.js';
import { REPO } from '../helpers.js';

const { manifest } = compileProject(loadProject(join(REPO, 'test/fixtures/projects/golden')), { env: {} });
const names = (ids: Set<string>, type?: string) =>
  [...ids].filter((id) => !type || id.startsWith(type + '.')).map((id) => id.split('.').slice(2).join('.')).sort();

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
  it('--exclude removes nodes, and unmatched atoms come back with a hint', () => {
    expect(names(selectNodes(manifest, ['path:models'], ['path:models/staging']).ids, 'model')).toEqual(['capability_trend', 'events_daily_overwrite', 'events_hourly']);
    expect(selectNodes(manifest, ['events_hourlie'], undefined).unmatched).toEqual([{ atom: 'events_hourlie', hint: 'events_hourly' }]);
  });
  it('an unknown method is an error', () => {
    expect(() => selectNodes(manifest, ['colour:red'], undefined)).toThrow(/unknown selector method 'colour:'/);
  });
});

describe('planRun', () => {
  it('build: models wait for upstream models and their tests; ephemerals are not run', () => {
    const p = planRun(manifest, { command: 'build' });
    const ids = p.nodes.map((n) => n.name);
    expect(ids).not.toContain('int_buckets');
    const waits = (name: string) => (p.waitsFor.get(p.nodes.find((n) => n.name === name)!.unique_id) ?? []).map((id) => id.split('.').pop()).sort();
    // events_hourly reads stg_events directly and through the ephemeral int_buckets
    expect(waits('events_hourly')).toEqual(['stg_events']);
    // stg_events reads the source: it waits for the source's tests
    expect(waits('stg_events')).toEqual(['not_null_app_events_id', 'unique_app_events_id']);
    expect(waits('capability_trend')).toEqual([
      'accepted_values_events_hourly_capability',
      'events_hourly',
      'expression_is_true_events_hourly',
      'expression_is_true_events_hourly_error_rate',
      'relationships_events_hourly_capability',
      'unique_combination_of_columns_events_hourly_hour_capability',
    ]);
  });
  it('run has no tests; test has no models; a selected model brings its tests (eager)', () => {
    expect(planRun(manifest, { command: 'run' }).nodes.every((n) => n.resource_type === 'model')).toBe(true);
    expect(planRun(manifest, { command: 'test' }).nodes.every((n) => n.resource_type === 'test')).toBe(true);
    const p = planRun(manifest, { command: 'test', select: ['capability_trend'] });
    expect(p.nodes.map((n) => n.name)).toEqual(['not_null_capability_trend_day']);
    const ex = planRun(manifest, { command: 'test', select: ['capability_trend'], exclude: ['not_null_capability_trend_day'] });
    expect(ex.nodes).toEqual([]);
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
