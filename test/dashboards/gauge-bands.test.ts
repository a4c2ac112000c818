/**
 * A gauge's bands: one rule for the site and the Metabase export (the export used to color
 * 15–60 green and never used red on the freshness gauge).
 */
import { describe, expect, it } from 'vitest';
import { gaugeBands } from '../../src/dashboards/gauge-bands.js';
import { exportDashboards } from '../../src/dashboards/export.js';
import { compileProject } from '../../src/compile/compile-project.js';
import { loadProject } from '../../src/project/load-project.js';
import { REPO } from '../helpers.js';

const G = '#12B76A';
const O = '#F79009';
const R = '#D92D20';

describe('gaugeBands', () => {
  it('a last threshold that closes the scale: each color up to its threshold', () => {
    expect(gaugeBands([{ value: 60, color: O }, { value: 15, color: G }, { value: 120, color: R }], 120, 'below')).toEqual([
      { min: 0, max: 15, color: G },
      { min: 15, max: 60, color: O },
      { min: 60, max: 120, color: R },
    ]);
  });

  it('otherwise thresholds are lines: the color below the first, then each from its threshold up', () => {
    expect(gaugeBands([{ value: 5, color: O, label: 'warn' }, { value: 10, color: R }], 20, 'below')).toEqual([
      { min: 0, max: 5, color: 'below' },
      { min: 5, max: 10, color: O, label: 'warn' },
      { min: 10, max: 20, color: R },
    ]);
    // a threshold at 0 colors from the start; none: no bands
    expect(gaugeBands([{ value: 0, color: O }], 10, 'below')).toEqual([{ min: 0, max: 10, color: O }]);
    expect(gaugeBands([], 10, 'below')).toEqual([]);
  });

  it("the Metabase export of the shipped freshness gauge has the site's green, orange and red", () => {
    const r = compileProject(loadProject(REPO), { env: {}, target: 'dev' });
    const files = exportDashboards(r.dashboards.filter((d) => d.dashboard.name === 'workspace'), 'metabase', { metabaseDatabase: 1 });
    const payload = JSON.parse([...files.values()][0]) as { cards: Array<{ body: { visualization_settings: Record<string, unknown> } }> };
    const gauges = payload.cards.map((c) => c.body.visualization_settings['gauge.segments']).filter(Boolean);
    expect(gauges).toEqual([
      [
        { min: 0, max: 5, color: G, label: '' },
        { min: 5, max: 15, color: O, label: '' },
        { min: 15, max: 30, color: R, label: '' },
      ],
    ]);
  });
});
