/**
 * Dashboards are checked at compile time: a table of broken definitions, each reported at
 * its JSON line with a did-you-mean, and `vigil compile`/`vigil build` refusing them (exit 2).
 * Exposures: `vigil ls -s +dashboard:overview`. The warehouse catalog check after a build.
 *
 * The first case of each table runs `vigil dashboards validate` as a user does (exit 2, the
 * message on stderr, no stack trace); the others run the compile that command runs
 * (`compileForCommand`) in this process and read the lines it would print: the same messages,
 * without a process start (~0.85 s of CPU) for each of 40 cases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, REPO, removeDir, vigil } from '../helpers.js';
import { compileForCommand } from '../../src/cli/commands.js';
import { formatDiagnostic, ProjectError } from '../../src/errors.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function shipped(): string {
  const dir = makeProject({}, false);
  dirs.push(dir);
  for (const p of ['project.yaml', 'models', 'macros', 'tests', 'dashboards']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
  return dir;
}

type Json = Record<string, any>;
const overview = (): Json => JSON.parse(readFileSync(join(REPO, 'dashboards/overview.json'), 'utf8'));

/**
 * `vigil dashboards validate` on `dir`: through the CLI for `viaCli`, else the compile it runs, in
 * this process, with the error lines it would print to stderr.
 */
function validate(dir: string, viaCli: boolean): { code: number; stderr: string } {
  if (viaCli) {
    const r = vigil(dir, ['dashboards', 'validate']);
    expect(r.stderr, 'no stack trace').not.toMatch(/\n\s+at /);
    // the message on stderr, as before: not anywhere in the output
    return { code: r.code, stderr: r.stderr };
  }
  try {
    compileForCommand({ projectDir: dir }, { writeArtifacts: false, saveCache: false });
    return { code: 0, stderr: '' };
  } catch (e) {
    if (!(e instanceof ProjectError)) throw e;
    // what reportError (cli/program.ts) prints for a ProjectError, before its exit 2
    return { code: 2, stderr: e.diagnostics.map(formatDiagnostic).join('\n') };
  }
}

describe('broken dashboard definitions', () => {
  let dir: string;
  beforeAll(() => {
    dir = shipped();
  });
  it.each<[string, (d: Json) => void, RegExp]>([
    ['unknown column (the issue example)', (d) => (d.tabs[0].tiles[2].measures[0].column = 'error_rte'), /^dashboards\/overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[2\]\.measures\[0\]\.column: column 'error_rte' not in ai_audit_daily — did you mean 'error_rate'\?/m],
    ['unknown model', (d) => (d.tabs[0].tiles[0].model = 'ai_audit_dayly'), /overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[0\]\.model: model 'ai_audit_dayly' not found — did you mean 'ai_audit_daily'\?/],
    ['unknown dimension column', (d) => (d.tabs[0].tiles[4].dimensions[1].column = 'capabilty'), /tabs\[0\]\.tiles\[4\]\.dimensions\[1\]\.column: column 'capabilty' not in ai_audit_daily — did you mean 'capability'\?/],
    // (another tool's word: was "did you mean 'kpi'?", the nearest spelling)
    ['bad tile type', (d) => (d.tabs[0].tiles[5].type = 'pie'), /tabs\[0\]\.tiles\[5\]\.type: 'pie' is not one of 'kpi', 'line', 'area', .* — did you mean 'donut'\?/],
    // (was: "model 'ai_audit_logs' not found")
    ['a source, not a model', (d) => (d.tabs[0].tiles[0].model = 'ai_audit_logs'), /tabs\[0\]\.tiles\[0\]\.model: 'ai_audit_logs' is a source, not a model: a tile reads models only \[E_DASHBOARD\]\n\s+hint: add a model that selects from it \(select \* from \{\{ source\('raw', 'ai_audit_logs'\) \}\}\) and read that/],
    ['drill-down to a missing tab', (d) => (d.tabs[0].tiles[4].drilldown.tab = 'capabilities'), /tabs\[0\]\.tiles\[4\]\.drilldown\.tab: drill-down to tab 'capabilities', which dashboard 'capability' does not have — did you mean 'capability'\?/],
    ['drill-down to a missing dashboard', (d) => (d.tabs[0].tiles[4].drilldown.dashboard = 'capabilty'), /drill-down to dashboard 'capabilty', which does not exist — did you mean 'capability'\?/],
    ['unknown key', (d) => (d.tabs[0].tiles[0].titel = 'x'), /tabs\[0\]\.tiles\[0\]\.titel: unknown key 'titel' — did you mean 'title'\?/],
    ['a typo in a choice', (d) => (d.tabs[0].tiles[0].type = 'tabel'), /tabs\[0\]\.tiles\[0\]\.type: 'tabel' is not one of 'kpi', .* — did you mean 'table'\?/],
    ['duplicate tile id', (d) => (d.tabs[0].tiles[1].id = 'interactions_24h'), /tabs\[0\]\.tiles\[1\]\.id: tile id 'interactions_24h' is used twice in this dashboard/],
    // (was: no did-you-mean)
    ['sort on a field the tile does not have', (d) => (d.tabs[0].tiles[5].sort[0].field = 'interaction'), /tabs\[0\]\.tiles\[5\]\.sort\[0\]\.field: sort field 'interaction' is not one of the tile's dimensions or measures — did you mean 'interactions'\? \(provider, interactions\)/],
    ['a KPI with a dimension', (d) => (d.tabs[0].tiles[0].dimensions = [{ column: 'date' }]), /tabs\[0\]\.tiles\[0\]\.type: a kpi tile shows one number: exactly one measure and no dimensions/],
    ['an ephemeral model', (d) => (d.tabs[0].tiles[0].model = 'int_capability_daily'), /model 'int_capability_daily' is ephemeral: it has no table or view to read/],
    ['a tile wider than the grid', (d) => (d.tabs[0].tiles[0].layout.x = 10), /tabs\[0\]\.tiles\[0\]\.layout: the tile spans columns 10–12; the grid has 12/],
    ['ratio without a denominator', (d) => delete d.tabs[0].tiles[2].measures[0].denominator, /tabs\[0\]\.tiles\[2\]\.measures\[0\]: agg 'ratio' needs denominator:/],
    ['a drill-down value naming a field the tile does not have', (d) => (d.tabs[0].tiles[4].drilldown.filters.capability = '{{ capabilty }}'), /^dashboards\/overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[4\]\.drilldown\.filters\.capability: drill-down value uses 'capabilty', which is not one of the tile's fields — did you mean 'capability'\? \(date, capability, interactions\)/m],
    ['a drill-down value that is not a field template', (d) => (d.tabs[0].tiles[4].drilldown.filters.capability = '{{ capability | upper }}'), /^dashboards\/overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[4\]\.drilldown\.filters\.capability: drill-down value '\{\{ capability \| upper \}\}': '\{\{ capability \| upper \}\}' is not a field template/m],
    ['a drill-down value with an unclosed template', (d) => (d.tabs[0].tiles[4].drilldown.filters.capability = '{{ capability'), /drill-down value '\{\{ capability' has an unclosed \{\{ or a stray \}\}/],
    ['a list of values with an operator other than in', (d) => (d.tabs[0].tiles[5].filters = [{ column: 'provider', op: '!=', value: ['openai'] }]), /overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[5\]\.filters\[0\]\.value: a list of values takes op 'in' or 'not in', not '!='/],
    ['a link with something else than a field between braces', (d) => (d.tabs[0].tiles[5].links = [{ label: 'x', url: 'https://x.example/p/{{ provider | upper }}' }]), /tabs\[0\]\.tiles\[5\]\.links\[0\]\.url: the link 'https:\/\/x\.example\/p\/\{\{ provider \| upper \}\}': '\{\{ provider \| upper \}\}' is not a field template/],
    ['a link to a field the tile does not have', (d) => (d.tabs[0].tiles[5].links = [{ label: 'x', url: 'https://x.example/p/{{ provder }}' }]), /the link uses 'provder', which is not one of the tile's fields — did you mean 'provider'\?/],
    ['a javascript: link', (d) => (d.tabs[0].tiles[5].links = [{ label: 'x', url: 'javascript:alert(1)//{{ provider }}' }]), /tabs\[0\]\.tiles\[5\]\.links\[0\]\.url: a link is http\(s\):\/\/, mailto: or a path, not javascript:/],
    ['a tile over another', (d) => (d.tabs[0].tiles[1].layout = { ...d.tabs[0].tiles[0].layout }), /tabs\[0\]\.tiles\[1\]\.layout: the tile overlaps tile 'interactions_24h'/],
    ['a row far past any page', (d) => (d.tabs[0].tiles[0].layout.y = 1e15), /tabs\[0\]\.tiles\[0\]\.layout\.y/],
    ['a date range over a text column', (d) => (d.filters[0].column = 'provider'), /filters\[0\]\.column: a date_range filters a date or timestamp column; provider of \w+ is a varchar/],
    ['a relative time without its minus', (d) => (d.tabs[0].tiles[0].filters[0].value = '7d'), /tabs\[0\]\.tiles\[0\]\.filters\[0\]\.value: '7d' is not a date: a relative time counts back with a minus — did you mean '-7d'\?/],
    ['a relative time on a text column', (d) => (d.tabs[0].tiles[5].filters = [{ column: 'provider', op: '>=', value: '-7d' }]), /'-7d' is a relative time, but provider is a varchar/],
    ['a word against a number column', (d) => (d.tabs[0].tiles[5].filters = [{ column: 'interaction_count', op: '>', value: 'lots' }]), /interaction_count is a bigint: "lots" is not a number/],
    ['a color name typo', (d) => (d.tabs[0].tiles[5].colors = { openai: 'greeen' }), /tabs\[0\]\.tiles\[5\]\.colors\.openai: 'greeen' is not a color — did you mean 'green'\?/],
    ['CSS in a threshold color', (d) => (d.tabs[0].tiles[0].thresholds = [{ value: 1, color: 'red; background:url(x)' }]), /tabs\[0\]\.tiles\[0\]\.thresholds\[0\]\.color: 'red; background:url\(x\)' is not a color/],
    ['a granularity on a text dimension (date_trunc of a text at render)', (d) => (d.tabs[0].tiles[4].dimensions[1].granularity = 'day'), /tabs\[0\]\.tiles\[4\]\.dimensions\[1\]\.granularity: granularity 'day' truncates a date or timestamp, but capability is a varchar/],
    // (was: accepted, the ranking read the raw dates: the weeks of the 3 largest single days, each drawn with that day alone)
    ['top_n on a dimension cut by a granularity', (d) => ((d.tabs[0].tiles[4].dimensions[0].granularity = 'week'), (d.tabs[0].tiles[4].top_n = { column: 'date', n: 3 })), /^dashboards\/overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[4\]\.top_n\.column: top_n ranks the values of 'date' as its rows hold them, not the weeks the tile groups it by: it would keep the weeks holding its 3 largest single values, each drawn with those rows alone \[E_DASHBOARD\]\n {2}hint: rank another column/m],
    ['a sum of a text column', (d) => (d.tabs[0].tiles[5].measures[0] = { name: 'interactions', column: 'provider', agg: 'sum' }), /tabs\[0\]\.tiles\[5\]\.measures\[0\]\.column: agg 'sum' adds up numbers, but provider is a varchar \[E_DASHBOARD\]\n {2}hint: count it \(agg 'count' or 'count_distinct'\) instead/],
    ['a share of a text column (read as a boolean at render)', (d) => (d.tabs[0].tiles[5].measures[0] = { name: 'interactions', column: 'capability', agg: 'share' }), /tabs\[0\]\.tiles\[5\]\.measures\[0\]\.column: agg 'share' is the share of rows where capability is true, but it is a varchar/],
    ['a denominator on a measure that is no ratio (it would do nothing)', (d) => (d.tabs[0].tiles[5].measures[0].denominator = 'error_count'), /tabs\[0\]\.tiles\[5\]\.measures\[0\]\.denominator: denominator: goes with agg 'ratio' \(this measure is 'sum'\)/],
    ['is null with a value', (d) => (d.tabs[0].tiles[5].filters = [{ column: 'provider', op: 'is null', value: 'x' }]), /tabs\[0\]\.tiles\[5\]\.filters\[0\]\.value: op 'is null' takes no value/],
    ['a dashboard named index (the site\'s own page)', (d) => (d.name = 'index'), /overview\.json:\d+:\d+: error: dashboard name 'index' is taken: the rendered site's list of dashboards is index\.html/],
    ['two tabs of one name (one anchor for both)', (d) => d.tabs.push({ name: 'overview', title: 'Again', tiles: [{ ...d.tabs[0].tiles[0], id: 'again' }] }), /error: tabs\[1\]\.name: tab name 'overview' is used twice in this dashboard \(also tabs\[0\]\)/],
    ['two filters of one name', (d) => (d.filters[1].name = d.filters[0].name), /error: filters\[1\]\.name: filter name '\w+' is used twice in this dashboard \(also filters\[0\]\)/],
    ['two filters of one label, letter case aside (Looker sets a filter by its title; two chips alike on the site)', (d) => (d.filters[2].label = 'provider'), /^dashboards\/overview\.json:\d+:\d+: error: filters\[2\]\.label: filter 'capability' is labelled 'provider' and filter 'provider' \(filters\[1\]\) is labelled 'Provider': the site would show two filters alike, and Looker, which sets a filter by its title, could not tell them apart \[E_DASHBOARD\]\n {2}hint: filter labels must be unique within a dashboard, letter case aside/m],
    ['a filter without a label, labelled by its name as another is', (d) => ((d.filters[2].label = 'Provider'), delete d.filters[1].label), /^dashboards\/overview\.json:\d+:\d+: error: filters\[2\]\.label: filter 'capability' is labelled 'Provider' and filter 'provider' \(filters\[1\]\) is labelled by its name \('Provider'\)/m],
    ['a filter labelled by its name, after one labelled so', (d) => ((d.filters[1].label = 'capability'), delete d.filters[2].label), /^dashboards\/overview\.json:\d+:\d+: error: filters\[2\]\.name: filter 'capability' is labelled by its name \('Capability'\) and filter 'provider' \(filters\[1\]\) is labelled 'capability'/m],
    ['a drill-down date range that is not a number of days', (d) => (d.tabs[0].tiles[1].drilldown.filters.date_range = 'last week'), /^dashboards\/overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[1\]\.drilldown\.filters\.date_range: filter 'date_range' is a date range: a drill-down sets it to a number of days like "7d", got 'last week'/m],
    [
      'a drill-down filter that reaches no tile of the target tab',
      (d) => {
        d.filters.push({ name: 'model', type: 'select', column: 'model', applies_to: ['ai_cost_daily'] });
        d.tabs[0].tiles[4].drilldown = { tab: 'overview', filters: { model: '{{ capability }}' } };
      },
      /^dashboards\/overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[4\]\.drilldown\.filters\.model: drill-down sets filter 'model', which filters no tile of tab 'overview' \(no tile's model there has a column 'model'\)/m,
    ],
    // shown as written: a blank one was accepted, then Metabase refused the card (name: "value must be a non-blank string")
    ['a blank tile title', (d) => (d.tabs[0].tiles[1].title = '   '), /overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[1\]\.title: must not be empty or blank/],
    ['a blank tab title', (d) => (d.tabs[0].title = ' '), /overview\.json:\d+:\d+: error: tabs\[0\]\.title: must not be empty or blank/],
    ['a blank dashboard title', (d) => (d.title = '\t'), /overview\.json:\d+:\d+: error: title: must not be empty or blank/],
    ['a blank measure label', (d) => (d.tabs[0].tiles[2].measures[0].label = ' '), /overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[2\]\.measures\[0\]\.label: must not be empty or blank/],
    ['an empty filter label', (d) => (d.filters[1].label = ''), /overview\.json:\d+:\d+: error: filters\[1\]\.label: must not be empty or blank/],
  ])('%s', (name, mutate, expected) => {
    const d = overview();
    mutate(d);
    writeFileSync(join(dir, 'dashboards/overview.json'), JSON.stringify(d, null, 2));
    const r = validate(dir, name === 'unknown column (the issue example)');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(expected);
  });

  it('a JSON syntax error is reported at its line', () => {
    writeFileSync(join(dir, 'dashboards/overview.json'), '{\n  "name": "overview",\n  "title": "x",\n  "tabs": [\n    {"name": "a" "title": "b"}\n  ]\n}\n');
    const r = vigil(dir, ['dashboards', 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dashboards\/overview\.json:5:\d+: error: /m);
  });

  it('a key given twice (JSON.parse keeps the last) is an error of JSON at the second one (was: E_YAML, "fix the YAML syntax")', () => {
    const text = JSON.stringify(overview(), null, 2).replace('\n  "title": ', '\n  "title": "First",\n  "title": ');
    writeFileSync(join(dir, 'dashboards/overview.json'), text);
    const r = vigil(dir, ['dashboards', 'validate']);
    expect(r.code).toBe(2);
    const line = text.split('\n').findIndex((l, i, all) => l.startsWith('  "title": ') && all[i - 1].startsWith('  "title": ')) + 1;
    expect(r.stderr).toContain(`dashboards/overview.json:${line}:3: error: key "title" is given twice in one object [E_JSON]\n  hint: keep one of them: a JSON reader silently keeps the last and drops the other`);
    expect(r.stderr).not.toContain('YAML');
    cpSync(join(REPO, 'dashboards/overview.json'), join(dir, 'dashboards/overview.json'));
  });

  it('vigil compile and vigil build refuse a broken dashboard', () => {
    const d = overview();
    d.tabs[0].tiles[2].measures[0].column = 'error_rte';
    writeFileSync(join(dir, 'dashboards/overview.json'), JSON.stringify(d, null, 2));
    for (const cmd of ['compile', 'build']) {
      const r = vigil(dir, [cmd]);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr).toContain("column 'error_rte' not in ai_audit_daily — did you mean 'error_rate'?");
    }
    cpSync(join(REPO, 'dashboards/overview.json'), join(dir, 'dashboards/overview.json'));
  });
});

describe('dashboards in the manifest and against the warehouse', () => {
  let dir: string;
  beforeAll(() => {
    dir = shipped();
  });
  it('--select: a pattern that selects nothing is exit 2 with a did-you-mean, also beside one that does', () => {
    const dir = shipped();
    const r = vigil(dir, ['dashboards', 'export', '--format', 'json', '-s', 'overveiw', '-s', 'overview', '--out', join(dir, 'x.json')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("error: --select overveiw matched no dashboard — did you mean 'overview'?");
    // the selector of `vigil ls -s +dashboard:overview`: named (was: no did-you-mean)
    const ls = vigil(dir, ['dashboards', 'export', '--format', 'json', '-s', 'dashboard:overview', '--out', join(dir, 'x.json')]);
    expect(ls.code, ls.stderr).toBe(2);
    expect(ls.stderr).toContain("error: --select dashboard:overview matched no dashboard — did you mean 'overview'?");
    const ok = vigil(dir, ['dashboards', 'export', '--format', 'json', '-s', 'over*', '-s', 'capability', '--out', join(dir, 'x.json')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Exported 2 dashboards');
    // an empty selector is said as the node commands say it (was: "--select  matched no dashboard")
    const blank = vigil(dir, ['dashboards', 'export', '--format', 'json', '-s', ' ', '--out', join(dir, 'x.json')]);
    expect(blank.code).toBe(2);
    expect(blank.stderr).toBe("error: selector ' ' is empty: give what to select (a dashboard's name or a glob), or leave the flag out to select every dashboard\n");
  });

  it('looker with --select into the folder of a full export: the model and views stay whole (the other dashboards keep working)', () => {
    const dir = shipped();
    const out = join(dir, 'lookml');
    expect(vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', out]).code).toBe(0);
    const model = readFileSync(join(out, 'ai_audit.model.lkml'), 'utf8');
    const view = readFileSync(join(out, 'ai_audit_daily.view.lkml'), 'utf8');
    const one = vigil(dir, ['dashboards', 'export', '--format', 'looker', '-s', 'overview', '--out', out]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).not.toContain('capability.dashboard.lookml');
    expect(readFileSync(join(out, 'ai_audit.model.lkml'), 'utf8')).toBe(model);
    expect(readFileSync(join(out, 'ai_audit_daily.view.lkml'), 'utf8')).toBe(view);
  });

  /** Two dashboards over one model: g with a top_n heatmap (its own LookML view), other without. */
  const heatBoards = () => {
    const heat = { id: 'heat', type: 'heatmap', title: 'Heat', model: 'counts', dimensions: [{ column: 'day', role: 'x' }, { column: 'capability', role: 'y' }], measures: [{ name: 'n', column: 'n', agg: 'sum' }], top_n: { column: 'capability', n: 5 }, layout: { x: 0, y: 0, w: 12, h: 4 } };
    const board = (name: string, tile: Json) => JSON.stringify({ name, title: name, tabs: [{ name: 't', title: 'T', tiles: [tile] }] });
    const dir = makeProject({
      'models/counts.sql': "select 'chat' as capability, 12 as n, current_date as day",
      'models/counts.yml': 'models:\n  - name: counts\n    columns:\n      - name: capability\n      - name: n\n      - name: day\n        data_type: date\n',
      'dashboards/g.json': board('g', heat),
      'dashboards/other.json': board('other', { ...heat, top_n: undefined }),
    });
    dirs.push(dir);
    return { heat, board, dir };
  };

  it("an export removes the files an earlier export in its format wrote there and this one did not (a renamed dashboard, a removed top_n), and nothing else", () => {
    const { heat, board, dir } = heatBoards();
    const out = join(dir, 'lookml');
    const first = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    const before = readdirSync(out).sort();
    const topN = before.filter((f) => f.endsWith('.view.lkml') && f !== 'counts.view.lkml');
    expect(topN).toHaveLength(1);
    expect(before).toEqual(['counts.view.lkml', 'fixture.model.lkml', 'g.dashboard.lookml', 'other.dashboard.lookml', ...topN].sort());
    // the user's files stay: one without the header, one with another format's
    writeFileSync(join(out, 'notes.lkml'), '# mine\nview: mine {}\n');
    writeFileSync(join(out, 'g.json'), '{}');
    // g renamed g2, its top_n removed
    rmSync(join(dir, 'dashboards/g.json'));
    writeFileSync(join(dir, 'dashboards/g2.json'), board('g2', { ...heat, top_n: undefined }));
    const again = vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['counts.view.lkml', 'fixture.model.lkml', 'g.json', 'g2.dashboard.lookml', 'notes.lkml', 'other.dashboard.lookml']);
    expect(again.stdout).toContain(`removed lookml/g.dashboard.lookml`);
    expect(again.stdout).toContain(`removed lookml/${topN[0]}`);
    expect(again.stdout).toMatch(/\(4 files\) to .*; removed 2 files an earlier export wrote$/m);
    // -s: the dashboards not selected keep their files; another format removes none of these
    const one = vigil(dir, ['dashboards', 'export', '--format', 'looker', '-s', 'g2', '--out', out]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).not.toContain('removed');
    const json = vigil(dir, ['dashboards', 'export', '--format', 'json', '--out', out]);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).not.toContain('removed');
    expect(readdirSync(out).sort()).toEqual(['counts.view.lkml', 'fixture.model.lkml', 'g.json', 'g2.dashboard.lookml', 'g2.json', 'notes.lkml', 'other.dashboard.lookml', 'other.json']);
  });

  it("looker with --select after another dashboard changed: the file it leaves is named as out of date with the model and views just written (was: exit 0 without a word, its element on a top_n view the export had removed)", () => {
    const { heat, board, dir } = heatBoards();
    const out = join(dir, 'lookml');
    expect(vigil(dir, ['dashboards', 'export', '--format', 'looker', '--out', out]).code).toBe(0);
    // nothing changed: -s other says nothing of g
    const same = vigil(dir, ['dashboards', 'export', '--format', 'looker', '-s', 'other', '--out', out]);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).not.toContain('g.dashboard.lookml');
    // g's tile renamed: its top_n view is another one now, and the old one is removed
    writeFileSync(join(dir, 'dashboards/g.json'), board('g', { ...heat, id: 'heat2' }));
    const one = vigil(dir, ['dashboards', 'export', '--format', 'looker', '-s', 'other', '--out', out]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain('removed lookml/g__heat__top_n.view.lkml');
    expect(readFileSync(join(out, 'g.dashboard.lookml'), 'utf8')).toContain('g__heat__top_n.in_top_n');
    expect(one.stderr).toContain('warning: lookml/g.dashboard.lookml is not what its dashboard exports now, and the model and views were written from the dashboards as they are now');
    expect(one.stderr).toContain('export it too (-s g) or without -s');
  });

  it('shipped dashboards validate; exposures select their models', () => {
    const v = vigil(dir, ['dashboards', 'validate']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/Validated 5 dashboards \(9 tabs, \d+ tiles\)/);
    // (without their tests, which ls lists with what it selects, as dbt ls does)
    const ls = vigil(dir, ['ls', '-s', '+dashboard:overview', '--resource-type', 'model', '--resource-type', 'source', '--resource-type', 'exposure']);
    expect(ls.stdout.split('\n').filter(Boolean).sort()).toEqual(['ai_audit_daily', 'ai_audit_workspace_stats', 'overview', 'raw.ai_audit_logs', 'raw.workflows', 'stg_ai_audit_logs', 'stg_workflows'].sort());
    const down = vigil(dir, ['ls', '-s', 'ai_cost_daily+', '--resource-type', 'exposure']);
    expect(down.stdout.trim()).toBe('cost_governance');
    const json = vigil(dir, ['ls', '-s', 'dashboard:capability', '--output', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ resource_type: 'exposure', name: 'capability', depends_on: expect.arrayContaining(['model.ai_audit.stg_ai_audit_logs']) });
  });

  it('--warehouse checks the built tables: a column declared in YAML but not built is caught', () => {
    expect(vigil(dir, ['demo', '--rows', '5000', '--days', '10']).code).toBe(0);
    expect(vigil(dir, ['build']).code).toBe(0);
    const ok = vigil(dir, ['dashboards', 'validate', '--warehouse']);
    expect(ok.code, ok.stderr).toBe(0);
    // one line, saying what it checked against
    expect(ok.stdout.trim()).toMatch(/^Validated 5 dashboards \(9 tabs, \d+ tiles\) against the warehouse catalog of target dev: \d+ models, every column found\.$/);
    // declare a column the model does not produce, and use it
    const yml = join(dir, 'models/marts/marts.yml');
    writeFileSync(yml, readFileSync(yml, 'utf8').replace('      - name: workspace_count\n', '      - name: seats\n        data_type: bigint\n      - name: workspace_count\n'));
    const d = overview();
    d.tabs[0].tiles[2].measures[0].column = 'seats';
    writeFileSync(join(dir, 'dashboards/overview.json'), JSON.stringify(d, null, 2));
    expect(vigil(dir, ['dashboards', 'validate']).code).toBe(0); // the YAML says it exists
    const bad = vigil(dir, ['dashboards', 'validate', '--warehouse']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/column 'seats' not in ai_audit_daily/);
    // (was: "Validated 5 dashboards ..." printed before the error)
    expect(bad.stdout).not.toContain('Validated');
    // a column the built table has and the YAML does not declare: the hint names the YAML, not the table (was: "ai_audit_daily has: ...")
    writeFileSync(yml, readFileSync(yml, 'utf8').replace('      - name: seats\n        data_type: bigint\n', ''));
    const undeclared = vigil(dir, ['dashboards', 'validate', '--warehouse']);
    expect(undeclared.code).toBe(2);
    expect(undeclared.stderr).toMatch(/column 'seats' not in ai_audit_daily \[E_DASHBOARD\]\n {2}hint: ai_audit_daily's YAML declares: date, .* — a dashboard reads the columns a model's YAML declares, all of them once it declares any: declare 'seats' there/);
  });
});

describe('more broken definitions', () => {
  let dir: string;
  beforeAll(() => {
    dir = shipped();
    // a model enabled: false leaves out (what a tile reading it is told)
    writeFileSync(join(dir, 'models/weird.sql'), "{{ config(enabled=false) }}\nselect 1 as n\n");
  });
  it.each<[string, (d: Json) => void, RegExp]>([
    // which way is good news: a choice, checked with a did-you-mean; only where something draws it
    ['a typo in better', (d) => (d.tabs[0].tiles[0].measures[0].better = 'hgher'), /tabs\[0\]\.tiles\[0\]\.measures\[0\]\.better: 'hgher' is not one of 'higher', 'lower' — did you mean 'higher'\?/],
    ['better on a line (nothing draws it)', (d) => (d.tabs[0].tiles[2].measures[0].better = 'lower'), /tabs\[0\]\.tiles\[2\]\.measures\[0\]\.better: better: colors a KPI's change or a heatmap's scale; a line tile draws neither/],
    // (was: "model 'weird' not found", as if it did not exist)
    ['a tile reading a disabled model', (d) => (d.tabs[0].tiles[5].model = 'weird'), /tabs\[0\]\.tiles\[5\]\.model: model 'weird' \(models\/weird\.sql\) is disabled \(enabled=false\), so nothing builds it \[E_DASHBOARD\]\n {2}hint: enable 'weird', or read another model/],
    ['applies_to naming a disabled model', (d) => (d.filters[1].applies_to = ['weird']), /filters\[1\]\.applies_to\[0\]: model 'weird' \(models\/weird\.sql\) is disabled/],
    // (was: no did-you-mean)
    ['a typo in a dashboard filter column', (d) => (d.filters[1].column = 'provder'), /filters\[1\]\.column: no tile's model has a column 'provder', so the filter would do nothing — did you mean 'provider'\?/],
    ['a relative time that is not one', (d) => (d.tabs[0].tiles[0].filters[0].value = '-7 days'), /tabs\[0\]\.tiles\[0\]\.filters\[0\]\.value: '-7 days' is not a relative time/],
    ['hours on a date column', (d) => (d.tabs[0].tiles[1].filters[0].value = '-24h'), /'-24h' counts hours, but date is a date/],
    ['= without a value', (d) => delete d.tabs[0].tiles[1].filters[1].value, /tabs\[0\]\.tiles\[1\]\.filters\[1\]: op '>' needs a value/],
    ['compare without a time window', (d) => (d.tabs[0].tiles[0].filters = []), /tabs\[0\]\.tiles\[0\]\.compare: compare: previous_period_to_date needs a time window/],
    ['the same hours of a previous day on a date column', (d) => (d.tabs[0].tiles[1].compare = 'previous_period_to_date'), /tabs\[0\]\.tiles\[1\]\.compare: compare: previous_period_to_date cuts the previous period at the same time of day, which needs a timestamp column; date is a date/],
    ['a comparison that is not one', (d) => (d.tabs[0].tiles[1].compare = 'previous_week'), /tabs\[0\]\.tiles\[1\]\.compare: .*previous_period.*previous_period_to_date/],
    ['a link to a field the tile does not have', (d) => (d.tabs[0].tiles[4].links = [{ label: 'x', url: 'https://x/{{ capabilty }}' }]), /tabs\[0\]\.tiles\[4\]\.links\[0\]\.url: the link uses 'capabilty'/],
    ['two fields with one name', (d) => d.tabs[0].tiles[5].measures.push({ name: 'interactions', column: 'error_count', agg: 'sum' }), /two fields of this tile are named 'interactions'/],
    ['raw rows mixed with aggregates', (d) => d.tabs[0].tiles[7].measures.push({ column: 'interaction_count', agg: 'sum' }), /agg 'none' \(raw rows\) cannot be mixed/],
    ['bands on a donut', (d) => (d.tabs[0].tiles[5].bands = true), /tabs\[0\]\.tiles\[5\]\.bands: bands shade between consecutive measures of a line tile/],
    ['a color that is not one', (d) => (d.tabs[0].tiles[4].colors = { chat: 'url(x)' }), /tabs\[0\]\.tiles\[4\]\.colors\.chat: 'url\(x\)' is not a color/],
    ['a sample of aggregated rows', (d) => (d.tabs[0].tiles[2].sample = { rows: 10, key: 'date' }), /tabs\[0\]\.tiles\[2\]\.sample: sample draws raw rows/],
    ['a sample and a limit', (d) => Object.assign(d.tabs[0].tiles[7], { sample: { rows: 10, key: 'provider' }, limit: 5 }), /tabs\[0\]\.tiles\[7\]\.limit: a sample sets how many rows it draws \(sample\.rows\): remove limit/],
    ['a sample keyed on a column the model does not have', (d) => (d.tabs[0].tiles[7].sample = { rows: 10, key: 'provder' }), /tabs\[0\]\.tiles\[7\]\.sample\.key: column 'provder' not in ai_audit_daily — did you mean 'provider'\?/],
    ['log axes on a line', (d) => (d.tabs[0].tiles[2].scale = { y: 'log' }), /tabs\[0\]\.tiles\[2\]\.scale: scale \(log axes\) is for scatter tiles/],
    ['a scale that is not one', (d) => (d.tabs[0].tiles[2].scale = { y: 'logarithmic' }), /tabs\[0\]\.tiles\[2\]\.scale\.y: 'logarithmic' is not one of 'linear', 'log'/],
    ['stacked on a line (a key its type does not draw)', (d) => (d.tabs[0].tiles[2].stacked = true), /tabs\[0\]\.tiles\[2\]\.stacked: stacked stacks the series of an area or bar chart, which a line tile does not have: it applies to area, bar tiles/],
    ['thresholds on a donut', (d) => (d.tabs[0].tiles[5].thresholds = [{ value: 1, color: '#e15759' }]), /tabs\[0\]\.tiles\[5\]\.thresholds: thresholds mark values .* which a donut tile does not have: it applies to line, area, bar, box, scatter, gauge, kpi tiles/],
    ['a comparison on a line', (d) => (d.tabs[0].tiles[2].compare = 'previous_period'), /tabs\[0\]\.tiles\[2\]\.compare: compare sets the comparison shown under a KPI's number, which a line tile does not have/],
    ['colors on a KPI', (d) => (d.tabs[0].tiles[0].colors = { x: '#59a14f' }), /tabs\[0\]\.tiles\[0\]\.colors: colors colors series or slices, which a kpi tile does not have/],
    ['conditional formatting on a box', (d) => (d.tabs[0].tiles[7].conditional_formatting = [{ field: 'provider', op: '>', value: 1, color: '#e15759' }]), /tabs\[0\]\.tiles\[7\]\.conditional_formatting: conditional_formatting colors the cells of a table, which a box tile does not have/],
    ['a target band on a donut', (d) => (d.tabs[0].tiles[5].target_band = { min: 0, max: 1 }), /tabs\[0\]\.tiles\[5\]\.target_band: target_band shades a band of the value axis, which a donut tile does not have/],
    ['a gauge scale on a KPI', (d) => (d.tabs[0].tiles[0].max = 0), /tiles\[0\]\.max: max sets the end of a gauge's scale, which a kpi tile does not have/],
    ['a gauge whose scale ends at 0', (d) => d.tabs[0].tiles.push({ id: 'g', type: 'gauge', title: 'G', model: 'ai_audit_daily', measures: [{ column: 'error_count', agg: 'sum' }], max: 0, layout: { x: 0, y: 60, w: 3, h: 2 } }), /tiles\[8\]\.max: max is the end of the gauge's scale, which starts at 0: it must be above 0, got 0/],
    ['a zero-day date range', (d) => (d.filters[0].default = '0d'), /filters\[0\]\.default: a date_range default is a number of days like "7d"/],
    // a chart without a series dimension: its series are its measures, named by their labels
    ['a typo in a series color (the series are the measures)', (d) => (d.tabs[0].tiles[2].colors = { 'Eror rate': '#e15759' }), /tabs\[0\]\.tiles\[2\]\.colors\.Eror rate: colors names 'Eror rate', which is none of this tile's series — did you mean 'Error rate'\?/],
    ['a select default that is no number, on a number column', (d) => d.filters.push({ name: 'count', type: 'select', column: 'interaction_count', default: 'abc' }), /filters\[3\]\.default: interaction_count of ai_audit_daily is a bigint: "abc" is not a number/],
    ["role y on a line (a heatmap's rows)", (d) => (d.tabs[0].tiles[2].dimensions[0].role = 'y'), /tabs\[0\]\.tiles\[2\]\.dimensions\[0\]\.role: role 'y' is the rows of a heatmap; a line tile has no dimension on its y axis/],
    ['a filter that applies only to models no tile reads', (d) => (d.filters[1].applies_to = ['ai_cost_daily']), /filters\[1\]\.applies_to: applies_to names no model a tile of this dashboard reads \(ai_cost_daily\), so the filter would do nothing/],
    // (were: accepted, the band drawn empty and exported as an inverted range; the ranking done and shown nowhere)
    ['a target band from above to below', (d) => (d.tabs[0].tiles[2].target_band = { min: 0.05, max: 0 }), /^dashboards\/overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[2\]\.target_band\.min: target_band: min \(0\.05\) is above max \(0\), so the band is empty \[E_DASHBOARD\]\n {2}hint: swap them: min 0, max 0\.05/m],
    ['top_n on a KPI', (d) => (d.tabs[0].tiles[0].top_n = { column: 'provider', n: 3 }), /^dashboards\/overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[0\]\.top_n: top_n keeps the rows of a column's n values with the largest first measure, which a kpi tile does not have: it applies to line, area, bar, donut, heatmap, box, scatter, table tiles/m],
    ['a limit on a KPI', (d) => (d.tabs[0].tiles[0].limit = 5), /tabs\[0\]\.tiles\[0\]\.limit: limit caps the rows of a chart or table, which a kpi tile does not have/],
    ['a sort on a gauge', (d) => d.tabs[0].tiles.push({ id: 'g', type: 'gauge', title: 'G', model: 'ai_audit_daily', measures: [{ name: 'errors', column: 'error_count', agg: 'sum' }], sort: [{ field: 'errors', dir: 'desc' }], layout: { x: 0, y: 60, w: 3, h: 2 } }), /tiles\[8\]\.sort: sort orders the rows of a chart or table, which a gauge tile does not have/],
    ['a typo in a drill-down filter', (d) => (d.tabs[0].tiles[4].drilldown.filters = { capabilty: '{{ capability }}' }), /tabs\[0\]\.tiles\[4\]\.drilldown\.filters\.capabilty: drill-down sets filter 'capabilty', which dashboard 'capability' does not define — did you mean 'capability'\?/],
    // role series where it does nothing or takes the dimension off the boxes or slices
    ['role series on a box (one box for all rows)', (d) => (d.tabs[0].tiles[7].dimensions[0].role = 'series'), /tabs\[0\]\.tiles\[7\]\.dimensions\[0\]\.role: role 'series' is one line, stack or point color per value \(line, area, bar and scatter tiles\); a box tile has no series \[E_DASHBOARD\]\n {2}hint: remove role: the dimension gives one box per value/],
    ['role series on a donut', (d) => (d.tabs[0].tiles[5].dimensions[0].role = 'series'), /tabs\[0\]\.tiles\[5\]\.dimensions\[0\]\.role: role 'series' .* a donut tile has no series/],
    ['role series on the only dimension of a line (no x axis left)', (d) => (d.tabs[0].tiles[2].dimensions[0].role = 'series'), /tabs\[0\]\.tiles\[2\]\.dimensions\[0\]\.role: role 'series' splits the line chart by a second dimension; its only dimension must be the x axis/],
    // filter values against the columns' declared types (the render's query failed on them)
    ['a word on a date column', (d) => (d.tabs[0].tiles[5].filters = [{ column: 'date', op: '=', value: 'notadate' }]), /tabs\[0\]\.tiles\[5\]\.filters\[0\]\.value: date is a date: "notadate" is not a date \(YYYY-MM-DD\) or a relative time/],
    ['a day that is not in the calendar', (d) => (d.tabs[0].tiles[5].filters = [{ column: 'date', op: 'in', value: ['2026-02-28', '2026-02-30'] }]), /tabs\[0\]\.tiles\[5\]\.filters\[0\]\.value\[1\]: date is a date: "2026-02-30" is not a date of the calendar/],
    ['a word on a boolean column', (d) => d.tabs[0].tiles[0].filters.push({ column: 'is_error', op: '=', value: 'abc' }), /tabs\[0\]\.tiles\[0\]\.filters\[1\]\.value: is_error is a boolean: "abc" is not a boolean \(true or false\)/],
    ['a quoted true on a boolean column (a string to BigQuery)', (d) => d.tabs[0].tiles[0].filters.push({ column: 'is_error', op: '=', value: 'true' }), /tabs\[0\]\.tiles\[0\]\.filters\[1\]\.value: is_error is a boolean: "true" is a string: write true, without quotes/],
    ['an hour that is not one on a timestamp column', (d) => d.tabs[0].tiles[0].filters.push({ column: 'created_at', op: '<', value: '2026-03-01 25:00' }), /tabs\[0\]\.tiles\[0\]\.filters\[1\]\.value: created_at is a \w+: "2026-03-01 25:00" is not a timestamp/],
    ['a number on a text column', (d) => (d.tabs[0].tiles[5].filters = [{ column: 'provider', op: '=', value: 5 }]), /tabs\[0\]\.tiles\[5\]\.filters\[0\]\.value: provider is a varchar: 5 is not text/],
    ['a select default that is no date, on a date column', (d) => d.filters.push({ name: 'day', type: 'select', column: 'date', default: 'yesterday' }), /filters\[3\]\.default: date of \w+ is a date: "yesterday" is not a date \(YYYY-MM-DD\)/],
    // null in a list: the tile would always be empty (not in) or never match null (in)
    ['null in a not in list', (d) => (d.tabs[0].tiles[5].filters = [{ column: 'capability', op: 'not in', value: [null, 'plain'] }]), /tabs\[0\]\.tiles\[5\]\.filters\[0\]\.value\[0\]: null in a 'not in' list: the filter selects no rows .*\n {2}hint: .*'is not null'/],
    ['null in an in list', (d) => (d.tabs[0].tiles[5].filters = [{ column: 'capability', op: 'in', value: ['plain', null] }]), /tabs\[0\]\.tiles\[5\]\.filters\[0\]\.value\[1\]: null in an 'in' list matches no row .*\n {2}hint: .*'is null'/],
    // a relative link resolves against the page's folder on the site: nothing is there
    ['a relative link', (d) => (d.tabs[0].tiles[5].links = [{ label: 'x', url: 'workspaces/{{ interactions }}' }]), /tabs\[0\]\.tiles\[5\]\.links\[0\]\.url: link 'workspaces\/\{\{ interactions \}\}' is relative/],
    ['a link that starts with a field', (d) => (d.tabs[0].tiles[5].links = [{ label: 'x', url: '{{ provider }}/runbook' }]), /tabs\[0\]\.tiles\[5\]\.links\[0\]\.url: link '\{\{ provider \}\}\/runbook' starts with a field, so it is relative/],
    // a protocol-relative link leads to another site (was: linked off-site, with or without a base URL)
    ['a protocol-relative link', (d) => (d.tabs[0].tiles[5].links = [{ label: 'x', url: '//evil.example/{{ provider }}' }]), /^dashboards\/overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[5\]\.links\[0\]\.url: link '\/\/evil\.example\/\{\{ provider \}\}' is protocol-relative \(it starts with \/\/\): it leads to another site \[E_DASHBOARD\]\n {2}hint: spell out the scheme \(https:\/\/evil\.example\/\{\{ provider \}\}\)/m],
    ['a link a browser reads as protocol-relative (/\\host)', (d) => (d.tabs[0].tiles[5].links = [{ label: 'x', url: '/\\evil.example/{{ provider }}' }]), /tabs\[0\]\.tiles\[5\]\.links\[0\]\.url: link '\/\\evil\.example\/\{\{ provider \}\}' is protocol-relative/],
    ['a scheme split by a tab (a browser drops it: javascript:)', (d) => (d.tabs[0].tiles[5].links = [{ label: 'x', url: 'java\tscript:alert(1)//{{ provider }}' }]), /tabs\[0\]\.tiles\[5\]\.links\[0\]\.url: a link is http\(s\):\/\/, mailto: or a path, not javascript:/],
    // a tag or comment between braces reaches the page as written (was: accepted, the literal text used)
    ['a tag in a drill-down value', (d) => (d.tabs[0].tiles[4].drilldown.filters.capability = '{% if capability %}{{ capability }}{% endif %}'), /^dashboards\/overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[4\]\.drilldown\.filters\.capability: drill-down value '\{% if capability %\}\{\{ capability \}\}\{% endif %\}' has '\{%': only \{\{ field \}\} is filled in from the row.*\n {2}hint: write \{\{ field \}\} with one of the tile's fields/m],
    ['a comment in a link', (d) => (d.tabs[0].tiles[5].links = [{ label: 'x', url: 'https://x.example/{# note #}{{ provider }}' }]), /tabs\[0\]\.tiles\[5\]\.links\[0\]\.url: the link 'https:\/\/x\.example\/\{# note #\}\{\{ provider \}\}' has '\{#'/],
    ['a tag in a raw-row match', (d) => Object.assign(d.tabs[0].tiles[5], { type: 'table', colors: undefined, raw_rows: { model: 'stg_ai_audit_logs', match: { provider: '{% raw %}{{ provider }}' }, columns: ['created_at', 'provider'] } }), /tabs\[0\]\.tiles\[5\]\.raw_rows\.match\.provider: '\{% raw %\}\{\{ provider \}\}' has '\{%'/],
    // titles, labels and descriptions are shown as written (was: 'Total {{ team }}' on the site and in the LookML)
    ['a template in a tile title', (d) => (d.tabs[0].tiles[5].title = 'Mix of {{ provider }}'), /^dashboards\/overview\.json:\d+:\d+: error: tabs\[0\]\.tiles\[5\]\.title: title 'Mix of \{\{ provider \}\}' has '\{\{', but a title is shown as written: it is not a template \[E_DASHBOARD\]\n {2}hint: write the text itself; \{\{ field \}\} templates go in drill-down filter values, link URLs and params, and raw_rows\.match/m],
    ['a tag in a tab title', (d) => (d.tabs[0].title = '{% if x %}Overview{% endif %}'), /tabs\[0\]\.title: title '\{% if x %\}Overview\{% endif %\}' has '\{%'/],
    ['a template in the dashboard title', (d) => (d.title = 'Audit {{ provider }}'), /overview\.json:\d+:\d+: error: title: title 'Audit \{\{ provider \}\}' has '\{\{'/],
    ['a comment in the dashboard description', (d) => (d.description = 'x {# y #}'), /overview\.json:\d+:\d+: error: description: description 'x \{# y #\}' has '\{#'/],
    ['a template in a filter label', (d) => (d.filters[1].label = '{{ provider }}'), /filters\[1\]\.label: label '\{\{ provider \}\}' has '\{\{', but a label is shown as written/],
    ['a template in a measure label', (d) => (d.tabs[0].tiles[5].measures[0].label = 'Total {{ x }}'), /tabs\[0\]\.tiles\[5\]\.measures\[0\]\.label: label 'Total \{\{ x \}\}' has '\{\{'/],
    ['a template in a dimension label', (d) => (d.tabs[0].tiles[5].dimensions[0].label = '}} x'), /tabs\[0\]\.tiles\[5\]\.dimensions\[0\]\.label: label '\}\} x' has '\}\}'/],
    ['a tag in a tile description', (d) => (d.tabs[0].tiles[5].description = '{% if x %}y{% endif %}'), /tabs\[0\]\.tiles\[5\]\.description: description '\{% if x %\}y\{% endif %\}' has '\{%'/],
    ['a template in a link label', (d) => (d.tabs[0].tiles[5].links = [{ label: 'Open {{ provider }}', url: 'https://x.example/{{ provider }}' }]), /tabs\[0\]\.tiles\[5\]\.links\[0\]\.label: label 'Open \{\{ provider \}\}' has '\{\{'/],
    ['a template in a threshold label', (d) => (d.tabs[0].tiles[2].thresholds = [{ value: 0.05, color: '#e15759', label: '{{ x }}' }]), /tabs\[0\]\.tiles\[2\]\.thresholds\[0\]\.label: label '\{\{ x \}\}' has '\{\{'/],
    [
      'a drill-down setting a select on a number column from a text field',
      (d) => {
        d.filters.push({ name: 'count', type: 'select', column: 'interaction_count' });
        d.tabs[0].tiles[4].drilldown = { tab: 'overview', filters: { count: '{{ capability }}' } };
      },
      /tabs\[0\]\.tiles\[4\]\.drilldown\.filters\.count: filter 'count' filters interaction_count, a bigint: the row's capability is a varchar, which it cannot be compared with/,
    ],
    [
      // (a drill-down value is a string in the schema: "write true, without quotes" was advice the schema then refused)
      'a drill-down setting a select on a boolean column to a fixed value',
      (d) => {
        d.filters.push({ name: 'err', type: 'select', column: 'is_error' });
        d.tabs[0].tiles[4].drilldown = { tab: 'overview', filters: { err: 'true' } };
      },
      /tabs\[0\]\.tiles\[4\]\.drilldown\.filters\.err: filter 'err' filters is_error, a boolean: a drill-down's fixed value is text \('true'\), which a boolean cannot be compared with: set it from a boolean field of the row \("\{\{ field \}\}"\)/,
    ],
    [
      'a drill-down date range into a tab whose tiles keep their own windows',
      (d) => {
        d.tabs.push({ name: 'week', title: 'Week', tiles: [{ id: 'week_errors', type: 'kpi', title: 'Errors (7d)', model: 'ai_audit_daily', measures: [{ column: 'error_count', agg: 'sum' }], filters: [{ column: 'date', op: '>=', value: '-6d' }], layout: { x: 0, y: 0, w: 3, h: 2 } }] });
        d.tabs[0].tiles[4].drilldown = { tab: 'week', filters: { date_range: '30d' } };
      },
      /tabs\[0\]\.tiles\[4\]\.drilldown\.filters\.date_range: drill-down sets filter 'date_range', which filters no tile of tab 'week' \(each tile there with a column 'date' keeps its own window on it\)/,
    ],
  ])('%s', (name, mutate, expected) => {
    const d = overview();
    mutate(d);
    writeFileSync(join(dir, 'dashboards/overview.json'), JSON.stringify(d, null, 2));
    const r = validate(dir, ['a relative time that is not one', 'a protocol-relative link', 'a tag in a drill-down value', 'a template in a tile title'].includes(name));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(expected);
  });

  it('filter values of the declared types validate: dates, relative times as bounds, timestamps, booleans, lists', () => {
    const d = overview();
    d.tabs[0].tiles[0].filters.push({ column: 'is_error', op: '=', value: false }, { column: 'is_error', op: '!=', value: true }, { column: 'created_at', op: '<', value: '2026-03-01T10:00:00Z' }, { column: 'created_at', op: '<', value: '2026-03-01 10:00:00.5' });
    d.tabs[0].tiles[5].filters = [{ column: 'date', op: '<', value: 'today' }, { column: 'date', op: 'not in', value: ['2024-02-29', '2026-01-31'] }, { column: 'interaction_count', op: '>', value: '0' }];
    d.tabs[0].tiles[5].links = [{ label: 'Trace', url: '{{ provider }}' }, { label: 'App', url: '/providers/{{ provider }}' }, { label: 'Mail', url: 'mailto:ops@example.com?subject={{ provider }}' }];
    d.tabs[0].tiles[4].drilldown = { tab: 'overview', filters: { provider: '{{ date }}' } };
    writeFileSync(join(dir, 'dashboards/overview.json'), JSON.stringify(d, null, 2));
    const r = validate(dir, false);
    expect(r.code, r.stderr).toBe(0);
  });

  it('keys that ask for nothing (false, an empty list or map) are no error on any tile type', () => {
    const d = overview();
    Object.assign(d.tabs[0].tiles[0], { stacked: false, colors: {}, target_band: undefined, conditional_formatting: [] });
    writeFileSync(join(dir, 'dashboards/overview.json'), JSON.stringify(d, null, 2));
    const r = validate(dir, false);
    expect(r.code, r.stderr).toBe(0);
  });

  it('colors by measure label, and any key where the series are data values, validate', () => {
    const d = overview();
    d.tabs[0].tiles[2].colors = { 'Error rate': '#e15759' };
    d.tabs[0].tiles[4].colors = { any_capability: '#59a14f' };
    writeFileSync(join(dir, 'dashboards/overview.json'), JSON.stringify(d, null, 2));
    const r = validate(dir, false);
    expect(r.code, r.stderr).toBe(0);
  });

  it("a sample is ordered by a hash of its key and seed (the same rows on every render, not the first ones)", () => {
    writeFileSync(join(dir, 'dashboards/overview.json'), readFileSync(join(REPO, 'dashboards/overview.json'), 'utf8'));
    const r = vigil(dir, ['dashboards', 'export', '--format', 'json', '--out', 'exported', '-s', 'capability']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const exported = JSON.parse(readFileSync(join(dir, 'exported/capability.json'), 'utf8')) as Json;
    const tile = exported.tiles.prompt_vs_duration;
    expect(tile.sql).toMatch(/\norder by hash\("id", 1\)\nlimit 1500$/);
  });

  it('comments and trailing commas are not JSON', () => {
    writeFileSync(join(dir, 'dashboards/overview.json'), readFileSync(join(REPO, 'dashboards/overview.json'), 'utf8').replace('"name": "overview",', '"name": "overview", // the main one'));
    const r = vigil(dir, ['dashboards', 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dashboards\/overview\.json:2:\d+: error: not valid JSON/m);
  });
});
