/**
 * dashboards/*.json -> validated, compiled dashboards. Pure (the files are given).
 *
 * Every referenced model must exist (and not be ephemeral), and every referenced column must
 * be one of the model's declared columns (models/**.yml) — or, with `catalog`, one of the
 * columns the warehouse reports after a build. A typo is reported at its JSON line:
 *   dashboards/overview.json:41:27: error: tabs[0].tiles[2].measures[0].column: column
 *   'error_rte' not in ai_audit_daily — did you mean 'error_rate'? [E_DASHBOARD]
 * Each tile gets its SQL for the target: dimensions, aggregated measures, tile filters and
 * the dashboard filters' defaults.
 */
import { diag, didYouMean, type Diagnostic } from '../errors.js';
import type { Dialect } from '../adapters/dialect.js';
import type { Manifest, ModelNode } from '../compile/manifest.js';
import { partitionReadConfig } from '../compile/partition-reads.js';
import { STATE_TABLE } from '../sync/sync-types.js';
import { SYNC_STATE_COLUMNS } from '../alerts/sync-state.js';
import { keptSource, parseYaml, validateYaml, type YamlSource } from '../project/yaml-source.js';
import { DashboardSchema, type Dashboard, type DashboardFilter, type ResolvedTile, type Tile, type TileType } from './schema.js';
import { LINK_PARAM_RE } from './base-url.js';
import { rawRowsSql, type CompiledRawRows } from './raw-rows.js';
import { PII_QUERY_HINT, type PiiQuery } from '../check/pii-lineage.js';
import { withheldBecause } from '../compile/masking.js';
import type { CompiledDashboard, CompiledTile } from './types.js';
import { colorProblem, linkShapeProblem, unsafeUrlProblem } from './safe-values.js';
import { typeFamily } from '../adapters/type-family.js';
import { compileTile, DRILL_TEMPLATE_RE, human, isDate, isTimestamp, keepsOwnWindow, kpiWindow, measureLabel, measureName, RELATIVE_RE } from './tile-sql.js';
import { docRef } from '../install.js';

export interface DashboardFile {
  path: string;
  text: string;
}

export interface ParsedDashboard {
  dashboard: Dashboard;
  file: string;
  yaml: YamlSource;
}

/**
 * What is wrong with a text of `{{ field }}` templates (a drill-down value, a raw-row match, a
 * tile link or a link template's param): anything else between braces (a filter, a dash, a
 * `{% tag %}` or `{# comment #}`) would reach the page as written, a brace left open, a name that
 * is not one of the tile's `fields`. `what` names the text in the messages ("drill-down value";
 * empty: the text itself).
 */
function fieldTemplateProblems(tpl: string, fields: string[], what: string): Array<{ message: string; hint?: string }> {
  const out: Array<{ message: string; hint?: string }> = [];
  const fix = "write {{ field }} with one of the tile's fields";
  const quoted = `${what ? `${what} ` : ''}'${tpl}'`;
  const tag = TAG_RE.exec(tpl)?.[0];
  if (tag) out.push({ message: `${quoted} has '${tag}': only {{ field }} is filled in from the row, a tag or comment would reach the page as written`, hint: fix });
  for (const m of tpl.matchAll(/\{\{(.*?)\}\}/g)) if (!/^\s*[A-Za-z_]\w*\s*$/.test(m[1])) out.push({ message: `${quoted}: '{{${m[1]}}}' is not a field template`, hint: fix });
  if (/\{\{|\}\}/.test(tpl.replace(/\{\{.*?\}\}/g, ''))) out.push({ message: `${quoted} has an unclosed {{ or a stray }}`, hint: fix });
  for (const m of tpl.matchAll(DRILL_TEMPLATE_RE)) {
    if (fields.includes(m[1])) continue;
    const hint = didYouMean(m[1], fields);
    out.push({ message: `${what ? `${what} uses ` : ''}'${m[1]}'${what ? ', which' : ''} is not one of the tile's fields${hint ? ` — did you mean '${hint}'?` : ''} (${fields.join(', ')})` });
  }
  return out;
}

/** A template's tag or comment delimiter: nothing fills them in a dashboard. */
const TAG_RE = /\{%|%\}|\{#|#\}/;

/**
 * What is wrong with a text shown as written (a title, label or description): template braces,
 * which nothing fills in, or undefined.
 */
function plainTextProblem(text: string, what: 'title' | 'label' | 'description'): { message: string; hint: string } | undefined {
  const found = /\{\{|\}\}/.exec(text)?.[0] ?? TAG_RE.exec(text)?.[0];
  if (!found) return undefined;
  return {
    message: `${what} '${text}' has '${found}', but a ${what} is shown as written: it is not a template`,
    hint: 'write the text itself; {{ field }} templates go in drill-down filter values, link URLs and params, and raw_rows.match',
  };
}

/** YYYY-MM-DD, and a timestamp: the date, then optionally a time of day and a zone. */
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?)?$/i;

/** What a column type's values are, for the checks of filter values: undefined when not one of these. */
function valueKind(type: string | undefined): 'number' | 'boolean' | 'date' | 'timestamp' | 'text' | undefined {
  if (!type) return undefined;
  const f = typeFamily(type, 'local');
  if (f === 'int' || f === 'float' || f === 'numeric') return 'number';
  if (f === 'bool') return 'boolean';
  if (f === 'date') return 'date';
  if (f === 'instant' || f === 'local') return 'timestamp';
  if (f === 'string') return 'text';
  return undefined;
}

/**
 * What is wrong with a filter value for a column of declared `type` — what the warehouse would
 * fail to compare it with (a text on a number, 2026-02-30 on a date), or undefined. `relative`:
 * the relative times of tile filters ("-7d", "today") count as dates.
 */
function filterValueProblem(v: unknown, type: string | undefined, relative: boolean): string | undefined {
  const kind = valueKind(type);
  if (v === null || v === undefined || !kind) return undefined;
  const shown = JSON.stringify(v);
  switch (kind) {
    case 'number':
      return typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) ? undefined : `${shown} is not a number`;
    case 'boolean':
      // a quoted "true" is a string literal, which BigQuery does not compare with a BOOL
      if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return `${shown} is a string: write ${v.trim().toLowerCase()}, without quotes`;
      return typeof v === 'boolean' ? undefined : `${shown} is not a boolean (true or false)`;
    case 'text':
      return typeof v === 'string' ? undefined : `${shown} is not text: write it as a string ("${String(v)}")`;
    case 'date':
    case 'timestamp': {
      if (typeof v === 'string' && relative && RELATIVE_RE.test(v)) return undefined;
      const m = typeof v === 'string' ? (kind === 'date' ? DATE_RE : TIMESTAMP_RE).exec(v) : null;
      if (!m) return `${shown} is not a ${kind === 'date' ? 'date (YYYY-MM-DD)' : 'timestamp (YYYY-MM-DD, or YYYY-MM-DD HH:MM:SS)'}${relative ? ' or a relative time ("-7d", "-24h", "today")' : ''}`;
      const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const day = new Date(0);
      day.setUTCFullYear(y, mo - 1, d);
      return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d ? undefined : `${shown} is not a date of the calendar`;
    }
  }
}

/** Aggregations whose value is a number whatever the column (min, max and none keep its type). */
const NUMBER_AGGS = new Set(['sum', 'avg', 'count', 'count_distinct', 'median', 'p50', 'p90', 'p95', 'p99', 'ratio', 'share', 'weighted_avg', 'age_minutes', 'oldest_age_minutes']);

/**
 * What is wrong with a drill-down's value for a select filter over a column of `targetType`: a
 * lone {{ field }} carries the row's value as it is typed (its column's declared type in the
 * source model, a number for most aggregates); a value with text in it is text. Undefined when
 * it fits, or when a type is not known.
 */
function drillValueProblem(tpl: string, tile: Tile, types: Record<string, string>, targetType: string | undefined): string | undefined {
  const want = valueKind(targetType);
  if (!want) return undefined;
  const lone = /^\s*\{\{\s*([A-Za-z_]\w*)\s*\}\}\s*$/.exec(tpl)?.[1];
  if (!lone) {
    if (tpl.includes('{{')) return want === 'number' || want === 'boolean' ? `'${tpl}' makes a text, not a ${want}` : undefined;
    // a drill-down value is text (the schema takes no JSON true): filterValueProblem's "without quotes" could not be followed
    if (want === 'boolean') return `a drill-down's fixed value is text ('${tpl}'), which a boolean cannot be compared with: set it from a boolean field of the row ("{{ field }}")`;
    return filterValueProblem(tpl, targetType, false);
  }
  const dim = tile.dimensions.find((x) => x.column === lone);
  const m = dim ? undefined : tile.measures.find((x) => measureName(x) === lone);
  const have = dim ? valueKind(types[dim.column]) : m ? (NUMBER_AGGS.has(m.agg) ? 'number' : valueKind(types[m.column])) : undefined;
  if (!have || have === want) return undefined;
  // a date or timestamp comes as its text (YYYY-MM-DD, ISO), compared with a date, timestamp or text; a text may hold dates
  const dated = (k: string) => k === 'date' || k === 'timestamp';
  if ((dated(have) && (dated(want) || want === 'text')) || (have === 'text' && dated(want))) return undefined;
  const what = dim ? `${lone} is a ${types[dim.column]}` : `${lone} (${m!.agg}) is a ${have}`;
  return `the row's ${what}, which it cannot be compared with`;
}

/** A YAML parser's error on a dashboard file that is valid JSON, as an error of JSON (E_JSON). */
function jsonWorded(x: Diagnostic, text: string): Diagnostic {
  if (!/keys must be unique/i.test(x.message)) return { ...x, code: 'E_JSON', hint: 'the file is read as strict JSON' };
  const at = x.line ? text.split('\n')[x.line - 1]?.slice((x.column ?? 1) - 1) : undefined;
  const key = at ? /^"((?:[^"\\]|\\.)*)"/.exec(at)?.[1] : undefined;
  return { ...x, code: 'E_JSON', message: `${key === undefined ? 'a key' : `key "${key}"`} is given twice in one object`, hint: 'keep one of them: a JSON reader silently keeps the last and drops the other' };
}

/** Parse and schema-check every dashboard file; problems go to `ds`. */
export function parseDashboards(files: DashboardFile[], ds: Diagnostic[]): ParsedDashboard[] {
  const out: ParsedDashboard[] = [];
  const names = new Map<string, string>();
  for (const f of files) {
    // strict JSON first (the YAML parser below would accept comments and trailing commas)
    try {
      JSON.parse(f.text);
    } catch (e) {
      const msg = (e as Error).message;
      const pos = Number(/position (\d+)/.exec(msg)?.[1] ?? NaN);
      const before = Number.isNaN(pos) ? '' : f.text.slice(0, pos);
      const line = before ? before.split('\n').length : undefined;
      const column = before ? pos - before.lastIndexOf('\n') : undefined;
      ds.push(diag('E_JSON', `not valid JSON: ${msg.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, '')}`, { file: f.path, line, column }, 'JSON has no comments or trailing commas; strings use double quotes'));
      continue;
    }
    // JSON is YAML 1.2: the YAML parser gives every node its line and column. What it refuses of a
    // text JSON.parse read is a key given twice (JSON.parse keeps the last): said in JSON's words
    const yamlDs: Diagnostic[] = [];
    // (read ahead by loadProject, or kept from the last run: load-project.ts)
    const y = keptSource(f) ?? parseYaml(f.text, f.path, yamlDs);
    for (const x of yamlDs) ds.push(x.code === 'E_YAML' ? jsonWorded(x, f.text) : x);
    if (!y) continue;
    const d = validateYaml(y, DashboardSchema, ds);
    if (!d) continue;
    const prev = names.get(d.name);
    if (prev) {
      ds.push(diag('E_DASHBOARD', `dashboard '${d.name}' is defined twice (also in ${prev})`, { file: f.path, ...y.locate(['name']) }, 'dashboard names must be unique'));
      continue;
    }
    names.set(d.name, f.path);
    // the rendered site's own page: a dashboard of that name would be written over by it
    if (d.name === 'index') {
      ds.push(diag('E_DASHBOARD', "dashboard name 'index' is taken: the rendered site's list of dashboards is index.html", { file: f.path, ...y.locate(['name']) }, 'give the dashboard another name'));
      continue;
    }
    out.push({ dashboard: d, file: f.path, yaml: y });
  }
  return out;
}

export interface CompileDashboardsInput {
  parsed: ParsedDashboard[];
  manifest: Manifest;
  dialect: Dialect;
  project: string;
  /** Columns the warehouse reports per model (after a build); overrides the declared ones. */
  catalog?: Map<string, string[]>;
  /** Link templates tiles refer to by name (project.yaml `dashboards.links`). */
  links?: Record<string, string>;
}

export function compileDashboards(input: CompileDashboardsInput, ds: Diagnostic[]): CompiledDashboard[] {
  const { manifest, dialect } = input;
  const models = new Map<string, ModelNode>();
  for (const n of Object.values(manifest.nodes)) if (n.resource_type === 'model') models.set(n.name, n);
  // the sync state table `vigil sync` keeps, readable by tiles as if it were a model (freshness gauges)
  const syncState = syncStateModel(manifest);
  if (syncState && !models.has(SYNC_STATE_MODEL)) models.set(SYNC_STATE_MODEL, syncState);
  const out: CompiledDashboard[] = [];
  const byName = new Map(input.parsed.map((p) => [p.dashboard.name, p.dashboard]));
  // a model that enabled: false leaves out is said to be disabled, as a ref() to it is
  const disabled = new Map(Object.values(manifest.disabled ?? {}).filter((x) => x.resource_type === 'model').map((x) => [x.name, x.file]));
  /** Why a tile cannot read `name`, which is no model of the manifest. */
  const noModel = (name: string): { message: string; hint?: string } => {
    if (disabled.has(name)) return { message: `model '${name}' (${disabled.get(name)}) is disabled (enabled=false), so nothing builds it`, hint: `enable '${name}', or read another model` };
    // (a seed, snapshot or source of that name: a tile reads models only — say so, not "not found")
    const other = Object.values(manifest.nodes).find((n) => n.name === name && n.resource_type !== 'model') ?? Object.values(manifest.sources).find((n) => n.name === name);
    if (other) return { message: `'${name}' is a ${other.resource_type}, not a model: a tile reads models only`, hint: `add a model that selects from it (select * from {{ ${other.resource_type === 'source' ? `source('${(other as { source_name: string }).source_name}', '${name}')` : `ref('${name}')`} }}) and read that` };
    const hint = didYouMean(name, models.keys());
    return { message: `model '${name}' not found${hint ? ` — did you mean '${hint}'?` : ''}` };
  };

  for (const p of input.parsed) {
    const d = p.dashboard;
    const at = (path: (string | number)[], msg: string, hint?: string, severity: 'error' | 'warn' = 'error') =>
      ds.push(diag('E_DASHBOARD', `${path.map((x) => (typeof x === 'number' ? `[${x}]` : `.${x}`)).join('').replace(/^\./, '')}: ${msg}`, { file: p.file, ...p.yaml.locate(path) }, hint, severity));
    let ok = true;
    const err = (path: (string | number)[], msg: string, hint?: string) => {
      ok = false;
      at(path, msg, hint);
    };
    // a declared column with `policy: drop` is not in the published relation (docs/governance.md#policies): no tile reads it
    const columnsOf = (model: string): string[] | undefined => input.catalog?.get(model) ?? (models.get(model)?.columns.length ? models.get(model)!.columns.filter((c) => c.policy !== 'drop').map((c) => c.name) : undefined);
    const dropped = (model: string, col: string) => !input.catalog?.has(model) && !!models.get(model)?.columns.some((c) => c.name === col && c.policy === 'drop');
    /** Whether a dashboard filter reaches a tile of `model`: it names the model, or the model has its column. */
    const reaches = (model: string) => (f: DashboardFilter) => (f.applies_to ? f.applies_to.includes(model) : (columnsOf(model)?.includes(f.column) ?? false));
    const checkColumn = (model: string, col: string, path: (string | number)[]) => {
      if (col === '*') return;
      const cols = columnsOf(model);
      if (!cols) return;
      if (!cols.includes(col)) {
        const hint = didYouMean(col, cols);
        err(path, `column '${col}' not in ${model}${dropped(model, col) ? ' (its YAML gives it policy: drop, which leaves it out of the published relation)' : ''}${hint ? ` — did you mean '${hint}'?` : ''}`, hint ? undefined : hasColumns(model, col, cols));
      }
    };
    // (the columns a model's YAML declares are all it has for a dashboard, once it declares any: said so, the built table may have more)
    const hasColumns = (model: string, col: string, cols: string[]) =>
      input.catalog?.has(model) || dropped(model, col) ? `${model} has: ${cols.join(', ')}` : `${model}'s YAML declares: ${cols.join(', ')} — a dashboard reads the columns a model's YAML declares, all of them once it declares any: declare '${col}' there`;
    const tileIds = new Map<string, string>();
    const warnedUndeclared = new Set<string>();
    /** A tile's raw-row action (raw-rows.ts): its model, columns and templates checked. */
    const compileRawRows = (tile: Tile, fields: string[], tileTypes: Record<string, string>, fail: (path: (string | number)[], msg: string, hint?: string) => void): CompiledRawRows | undefined => {
      const rr = tile.raw_rows!;
      let good = true;
      const bad = (path: (string | number)[], msg: string, hint?: string) => {
        good = false;
        fail(path, msg, hint);
      };
      if (tile.type !== 'table') bad([], `raw_rows is a row action of table tiles; this tile is a ${tile.type}`);
      const node = models.get(rr.model);
      if (!node || node === syncState) {
        const why = noModel(rr.model);
        fail(['model'], why.message, why.hint);
        return undefined;
      }
      if (!node.relation) {
        fail(['model'], `model '${rr.model}' is ephemeral: it has no table or view to read`);
        return undefined;
      }
      const cols = columnsOf(rr.model);
      const declared = new Map(node.columns.map((c) => [c.name, c]));
      const has = (col: string, path: (string | number)[]) => {
        if (!cols || cols.includes(col)) return true;
        const hint = didYouMean(col, cols);
        bad(path, `column '${col}' not in ${rr.model}${dropped(rr.model, col) ? ' (its YAML gives it policy: drop, which leaves it out of the published relation)' : ''}${hint ? ` — did you mean '${hint}'?` : ''}`, hint ? undefined : hasColumns(rr.model, col, cols));
        return false;
      };
      const fieldsIn = (tpl: string, path: (string | number)[]) => {
        for (const p of fieldTemplateProblems(tpl, fields, '')) bad(path, p.message, p.hint);
      };
      for (const [col, tpl] of Object.entries(rr.match)) {
        has(col, ['match', col]);
        fieldsIn(tpl, ['match', col]);
      }
      let day: CompiledRawRows['day'];
      if (rr.day) {
        const type = node.columns.find((c) => c.name === rr.day!.column)?.data_type;
        if (has(rr.day.column, ['day', 'column']) && type && !isTimestamp(type) && !isDate(type)) bad(['day', 'column'], `day.column '${rr.day.column}' is a ${type}: a day is a range of a timestamp or date column`);
        const exact = /^\s*\{\{\s*([A-Za-z_]\w*)\s*\}\}\s*$/.exec(rr.day.value);
        if (!exact) bad(['day', 'value'], `day.value '${rr.day.value}' must be one field of the tile, like "{{ date }}"`);
        else {
          fieldsIn(rr.day.value, ['day', 'value']);
          const ft = tileTypes[exact[1]];
          if (fields.includes(exact[1]) && ft && !isTimestamp(ft) && !isDate(ft)) bad(['day', 'value'], `day.value reads '${exact[1]}', a ${ft}: the row's day comes from a date or timestamp field`);
        }
        day = { column: rr.day.column, value: rr.day.value, type };
      }
      if (!Object.keys(rr.match).length && !rr.day) bad([], 'raw_rows needs match (columns equal to the row\'s values) or day (the row\'s day), or it would list any rows');
      // the masking policy: content and PII columns are never selected
      const withheld = node.columns.filter((c) => withheldBecause(c)).map((c) => c.name);
      let columns: string[];
      if (rr.columns) {
        columns = rr.columns;
        rr.columns.forEach((c, i) => {
          if (!has(c, ['columns', i])) return;
          const why = declared.has(c) ? withheldBecause(declared.get(c)!) : withheldBecause({ name: c });
          if (why) bad(['columns', i], `column '${c}' of ${rr.model} is never shown by a raw-row action: ${why}`, `prompt and response content and PII stay out of dashboards (${docRef('dashboards.md')}, Raw rows)`);
        });
      } else if (!node.columns.length) {
        bad([], `the columns of ${rr.model} are not declared in YAML, so which of them hold content cannot be known: list the ones to show in raw_rows.columns`);
        columns = [];
      } else columns = node.columns.filter((c) => !withheldBecause(c)).map((c) => c.name);
      if (!good) return undefined;
      const relation = dialect.relation(node.relation);
      const columnTypes: Record<string, string> = Object.fromEntries(node.columns.filter((c) => c.data_type).map((c) => [c.name, c.data_type!]));
      return { label: rr.label, model: rr.model, relation, match: rr.match, ...(day ? { day } : {}), columns, withheld, limit: rr.limit, ...(dialect.readFilter?.(partitionReadConfig(manifest.nodes, node)) ? { readFilter: dialect.readFilter(partitionReadConfig(manifest.nodes, node)) } : {}), columnTypes };
    };

    // titles, labels and descriptions are shown as written, on the site and in the exports
    const plain = (text: string | undefined, path: (string | number)[], what: 'title' | 'label' | 'description') => {
      const p = text === undefined ? undefined : plainTextProblem(text, what);
      if (p) err(path, p.message, p.hint);
    };
    plain(d.title, ['title'], 'title');
    plain(d.description, ['description'], 'description');
    d.filters.forEach((f, i) => plain(f.label, ['filters', i, 'label'], 'label'));
    d.tabs.forEach((tab, ti) => {
      plain(tab.title, ['tabs', ti, 'title'], 'title');
      tab.tiles.forEach((t, xi) => {
        const base = ['tabs', ti, 'tiles', xi];
        plain(t.title, [...base, 'title'], 'title');
        plain(t.description, [...base, 'description'], 'description');
        t.dimensions.forEach((x, i) => plain(x.label, [...base, 'dimensions', i, 'label'], 'label'));
        t.measures.forEach((x, i) => plain(x.label, [...base, 'measures', i, 'label'], 'label'));
        t.thresholds.forEach((x, i) => plain(x.label, [...base, 'thresholds', i, 'label'], 'label'));
        plain(t.target_band?.label, [...base, 'target_band', 'label'], 'label');
        t.links.forEach((x, i) => plain(x.label, [...base, 'links', i, 'label'], 'label'));
        plain(t.raw_rows?.label, [...base, 'raw_rows', 'label'], 'label');
      });
    });

    // names a page or a URL refers to: a tab by its anchor (#tab-<name>), a filter by its parameter
    const twice = (list: Array<{ name: string }>, key: string, what: string) => {
      const first = new Map<string, number>();
      list.forEach((x, i) => {
        if (first.has(x.name)) err([key, i, 'name'], `${what} name '${x.name}' is used twice in this dashboard (also ${key}[${first.get(x.name)}])`, `${what} names must be unique within a dashboard`);
        else first.set(x.name, i);
      });
    };
    twice(d.tabs, 'tabs', 'tab');
    twice(d.filters, 'filters', 'filter');
    // a filter by its label: Looker sets a dashboard filter by its title (label, else the name
    // made readable: the drill-down URLs of the LookML export), the site's chips show it (label,
    // else the name); either the same as another filter's, letter case aside, names two as one
    const labelAt = new Map<string, number>();
    d.filters.forEach((f, i) => {
      const shown = [...new Set([f.label ?? human(f.name), f.label ?? f.name].map((l) => l.toLowerCase()))];
      const other = shown.map((l) => labelAt.get(l)).find((j) => j !== undefined);
      if (other !== undefined) {
        const o = d.filters[other];
        const said = (x: DashboardFilter) => (x.label === undefined ? `is labelled by its name ('${human(x.name)}')` : `is labelled '${x.label}'`);
        err(['filters', i, f.label === undefined ? 'name' : 'label'], `filter '${f.name}' ${said(f)} and filter '${o.name}' (filters[${other}]) ${said(o)}: the site would show two filters alike, and Looker, which sets a filter by its title, could not tell them apart`, 'filter labels must be unique within a dashboard, letter case aside: give one its own "label"');
      }
      for (const l of shown) if (!labelAt.has(l)) labelAt.set(l, i);
    });

    // dashboard filters: each must apply to at least one tile's model
    const tileModels = new Set(d.tabs.flatMap((t) => t.tiles.map((x) => x.model)));
    d.filters.forEach((f, fi) => {
      for (const [ai, m] of (f.applies_to ?? []).entries()) {
        if (!models.has(m)) {
          const why = noModel(m);
          err(['filters', fi, 'applies_to', ai], why.message, why.hint);
        }
        else checkColumn(m, f.column, ['filters', fi, 'column']);
      }
      if (!f.applies_to && ![...tileModels].some((m) => columnsOf(m)?.includes(f.column) ?? true)) {
        const hint = didYouMean(f.column, [...new Set([...tileModels].flatMap((m) => columnsOf(m) ?? []))]);
        err(['filters', fi, 'column'], `no tile's model has a column '${f.column}', so the filter would do nothing${hint ? ` — did you mean '${hint}'?` : ''}`);
      }
      if (f.applies_to?.length && f.applies_to.every((m) => models.has(m)) && !f.applies_to.some((m) => tileModels.has(m)))
        err(['filters', fi, 'applies_to'], `applies_to names no model a tile of this dashboard reads (${f.applies_to.join(', ')}), so the filter would do nothing`, `the tiles read: ${[...tileModels].sort().join(', ')}`);
      // a select's default against the column's declared type, as tile filter values are (every tile it reaches would fail)
      if (f.type === 'select') {
        for (const m of f.applies_to ?? [...tileModels]) {
          const t = models.get(m)?.columns.find((c) => c.name === f.column)?.data_type;
          const problem = filterValueProblem(f.default, t, false);
          if (problem) {
            err(['filters', fi, 'default'], `${f.column} of ${m} is a ${t}: ${problem}`);
            break;
          }
        }
      }
      if (f.type === 'date_range' && f.default !== undefined && f.default !== null && !/^[1-9]\d*d$/.test(String(f.default))) err(['filters', fi, 'default'], `a date_range default is a number of days like "7d", got '${String(f.default)}'`);
      // a date range over a column that is not a date (its declared type, in a model it reaches)
      if (f.type === 'date_range') {
        for (const m of f.applies_to ?? [...tileModels]) {
          const t = models.get(m)?.columns.find((c) => c.name === f.column)?.data_type;
          if (t && !isDate(t) && !isTimestamp(t)) {
            err(['filters', fi, 'column'], `a date_range filters a date or timestamp column; ${f.column} of ${m} is a ${t}`);
            break;
          }
        }
      }
    });

    const tabs: CompiledDashboard['tabs'] = [];
    // the dashboard filters already checked on a model (at the first of its tiles they reach: the
    // Looker export gives every view of a tile a filter reaches that field)
    const filterNamed = new Set<string>();
    d.tabs.forEach((tab, ti) => {
      const tiles: CompiledTile[] = [];
      tab.tiles.forEach((tile, xi) => {
        const base = ['tabs', ti, 'tiles', xi];
        const prev = tileIds.get(tile.id);
        if (prev) err([...base, 'id'], `tile id '${tile.id}' is used twice in this dashboard (also ${prev})`);
        tileIds.set(tile.id, `tabs[${ti}].tiles[${xi}]`);
        const node = models.get(tile.model);
        if (!node && tile.model === SYNC_STATE_MODEL) {
          const schemas = [...new Set(Object.values(manifest.sources).filter((x) => x.sync).map((x) => x.relation.schema))];
          err([...base, 'model'], schemas.length ? `vigil_sync_state is read from the one schema sources sync into; these sync into ${schemas.join(', ')}` : 'no source is synced (sync: in a sources .yml), so there is no vigil_sync_state to read', `see ${docRef('sync.md')}`);
          return;
        }
        if (!node) {
          const why = noModel(tile.model);
          err([...base, 'model'], why.message, why.hint);
          return;
        }
        if (!node.relation) {
          err([...base, 'model'], `model '${tile.model}' is ephemeral: it has no table or view to read`, 'read a model materialized as a view or table');
          return;
        }
        if (!columnsOf(tile.model) && !warnedUndeclared.has(tile.model)) {
          warnedUndeclared.add(tile.model);
          at([...base, 'model'], `columns of ${tile.model} are not declared in YAML, so they cannot be checked before a build`, 'declare them under models: in a .yml file, or run vigil dashboards validate --warehouse after vigil build', 'warn');
        }
        tile.dimensions.forEach((dim, i) => checkColumn(tile.model, dim.column, [...base, 'dimensions', i, 'column']));
        tile.measures.forEach((m, i) => {
          checkColumn(tile.model, m.column, [...base, 'measures', i, 'column']);
          if (m.agg === 'ratio') {
            if (!m.denominator) err([...base, 'measures', i], `agg 'ratio' needs denominator: (the column to divide by)`);
            else checkColumn(tile.model, m.denominator, [...base, 'measures', i, 'denominator']);
          }
          if (m.agg === 'weighted_avg') {
            if (!m.weight) err([...base, 'measures', i], `agg 'weighted_avg' needs weight: (the weighting column)`);
            else checkColumn(tile.model, m.weight, [...base, 'measures', i, 'weight']);
          }
          if (m.column === '*' && m.agg !== 'count') err([...base, 'measures', i, 'column'], `'*' only goes with agg 'count'`);
        });
        const types: Record<string, string> = Object.fromEntries(node.columns.filter((c) => c.data_type).map((c) => [c.name, c.data_type!]));
        // against the columns' declared types: what the render's query would fail on (date_trunc of
        // a text, avg of a text, a text read as a boolean)
        const family = (col: string | undefined) => (col && types[col] ? typeFamily(types[col], 'local') : undefined);
        const numeric = (f: string | undefined) => f === 'int' || f === 'float' || f === 'numeric';
        tile.dimensions.forEach((dim, i) => {
          const t = types[dim.column];
          if (dim.granularity && t && !isDate(t) && !isTimestamp(t)) err([...base, 'dimensions', i, 'granularity'], `granularity '${dim.granularity}' truncates a date or timestamp, but ${dim.column} is a ${t}`, 'remove granularity, or use a date or timestamp column');
        });
        tile.measures.forEach((m, i) => {
          const NUMERIC_AGGS = ['sum', 'avg', 'median', 'p50', 'p90', 'p95', 'p99', 'ratio', 'weighted_avg'];
          for (const [key, col] of [['column', m.column], ['denominator', m.agg === 'ratio' ? m.denominator : undefined], ['weight', m.agg === 'weighted_avg' ? m.weight : undefined]] as const) {
            const f = family(col);
            if (f && NUMERIC_AGGS.includes(m.agg) && !numeric(f)) err([...base, 'measures', i, key], `agg '${m.agg}' adds up numbers, but ${col} is a ${types[col!]}`, numeric(family(m.column)) || key !== 'column' ? undefined : "count it (agg 'count' or 'count_distinct') instead");
          }
          const f = family(m.column);
          if (m.agg === 'share' && f && f !== 'bool') err([...base, 'measures', i, 'column'], `agg 'share' is the share of rows where ${m.column} is true, but it is a ${types[m.column]}`, 'share a boolean column (e.g. is_error)');
          if ((m.agg === 'age_minutes' || m.agg === 'oldest_age_minutes') && types[m.column] && !isDate(types[m.column]) && !isTimestamp(types[m.column])) err([...base, 'measures', i, 'column'], `agg '${m.agg}' is the age of a timestamp, but ${m.column} is a ${types[m.column]}`);
          // keys an aggregation does not read: accepted, they would do nothing
          if (m.denominator !== undefined && m.agg !== 'ratio') err([...base, 'measures', i, 'denominator'], `denominator: goes with agg 'ratio' (this measure is '${m.agg}')`);
          if (m.weight !== undefined && m.agg !== 'weighted_avg') err([...base, 'measures', i, 'weight'], `weight: goes with agg 'weighted_avg' (this measure is '${m.agg}')`);
          if (m.better !== undefined && tile.type !== 'kpi' && tile.type !== 'heatmap') err([...base, 'measures', i, 'better'], `better: colors a KPI's change or a heatmap's scale; a ${tile.type} tile draws neither`);
        });
        tile.filters.forEach((f, i) => {
          checkColumn(tile.model, f.column, [...base, 'filters', i, 'column']);
          const needsValue = !['is null', 'is not null'].includes(f.op);
          if (!needsValue && f.value !== undefined) err([...base, 'filters', i, 'value'], `op '${f.op}' takes no value`);
          if (needsValue && (f.value === undefined || f.value === null || (Array.isArray(f.value) && !f.value.length))) err([...base, 'filters', i], `op '${f.op}' needs a value`, f.op === '=' ? "use op 'is null' to match missing values" : undefined);
          if (typeof f.value === 'string' && /^-|^today$/i.test(f.value) && !RELATIVE_RE.test(f.value)) err([...base, 'filters', i, 'value'], `'${f.value}' is not a relative time`, 'use "-7d" (days back from today), "-24h" (hours back from now) or "today"');
          if (typeof f.value === 'string' && /^-\d+h$/.test(f.value) && types[f.column]?.toLowerCase() === 'date') err([...base, 'filters', i, 'value'], `'${f.value}' counts hours, but ${f.column} is a date`, 'use days ("-1d") on a date column, hours on a timestamp');
          // values against the column's declared type (the render's query would fail on them)
          const t = types[f.column];
          const dated = !!t && (isDate(t) || isTimestamp(t));
          const values = Array.isArray(f.value) ? f.value : [f.value];
          if (t && typeof f.value === 'string' && RELATIVE_RE.test(f.value) && !dated) err([...base, 'filters', i, 'value'], `'${f.value}' is a relative time, but ${f.column} is a ${t}`, 'relative times filter date and timestamp columns');
          if (dated && typeof f.value === 'string' && /^\d+[dh]$/i.test(f.value)) err([...base, 'filters', i, 'value'], `'${f.value}' is not a date: a relative time counts back with a minus — did you mean '-${f.value}'?`);
          // (a relative time, well formed or not, is checked above)
          const relativeLike = typeof f.value === 'string' && (/^-|^today$/i.test(f.value) || (dated && /^\d+[dh]$/i.test(f.value)));
          const typed = relativeLike ? [] : values.map((v) => filterValueProblem(v, t, true));
          typed.forEach((problem, vi) => {
            if (problem) err([...base, 'filters', i, 'value', ...(Array.isArray(f.value) ? [vi] : [])], `${f.column} is a ${t}: ${problem}`);
          });
          // null in a list: `in` compares with =, never true for null; a `not in` with a null is true for no row
          if (Array.isArray(f.value))
            f.value.forEach((v, vi) => {
              if (v !== null) return;
              if (f.op === 'in') err([...base, 'filters', i, 'value', vi], `null in an 'in' list matches no row (null equals nothing)`, `leave it out; op 'is null' selects the rows where ${f.column} is null`);
              else err([...base, 'filters', i, 'value', vi], `null in a 'not in' list: the filter selects no rows (${f.column} not in (..., null) is never true)`, `leave it out: 'not in' already leaves out the rows where ${f.column} is null (op 'is not null' says so)`);
            });
        });
        const names = [...tile.dimensions.map((x) => x.column), ...tile.measures.map(measureName)];
        const dup = names.find((n, i) => names.indexOf(n) !== i);
        if (dup) err([...base, 'measures'], `two fields of this tile are named '${dup}'`, 'give one of the measures its own "name"');
        // a name: is held to 63 by the schema; the default agg_column is a column alias too, which
        // PostgreSQL cuts to 63 (the tile then found no value of its name)
        tile.measures.forEach((m, mi) => {
          const n = measureName(m);
          if (m.name === undefined && m.agg !== 'none' && n.length > 63) err([...base, 'measures', mi], `the measure's name, ${n} (agg_column, as it has no name), has ${n.length} characters: at most 63`, 'give the measure a shorter "name"');
        });
        const raw = tile.measures.filter((m) => m.agg === 'none').length;
        if (raw && raw !== tile.measures.length) err([...base, 'measures'], "agg 'none' (raw rows) cannot be mixed with aggregated measures in one tile");
        const links: ResolvedTile['links'] = [];
        for (const [li, l] of tile.links.entries()) {
          if (l.url !== undefined) {
            for (const p of fieldTemplateProblems(l.url, names, 'the link')) err([...base, 'links', li, 'url'], p.message, p.hint);
            // what the site would not link, the exports would carry as written
            const unsafe = unsafeUrlProblem(l.url);
            if (unsafe) err([...base, 'links', li, 'url'], unsafe.message, unsafe.hint);
            const shape = linkShapeProblem(l.url);
            if (shape) err([...base, 'links', li, 'url'], shape.message, shape.hint);
            links.push({ label: l.label, url: l.url });
            continue;
          }
          const url = projectLink(l.template!, l.params ?? {}, input.links ?? {}, names, (path, msg, hint) => err([...base, 'links', li, ...path], msg, hint));
          if (url) links.push({ label: l.label, url });
        }
        const rawRows = tile.raw_rows ? compileRawRows(tile, names, types, (path, msg, hint) => err([...base, 'raw_rows', ...path], msg, hint)) : undefined;
        if (tile.type === 'kpi' && tile.compare) {
          const w = kpiWindow(tile, d.filters, reaches(tile.model), types);
          if (!w) err([...base, 'compare'], `compare: ${tile.compare} needs a time window: a relative filter on the tile ("-7d", "-24h", "today") or a date_range dashboard filter with a default that applies to it`);
          else if (tile.compare === 'previous_period_to_date' && !isTimestamp(w.type))
            err([...base, 'compare'], `compare: previous_period_to_date cuts the previous period at the same time of day, which needs a timestamp column; ${w.column} is ${w.type ? `a ${w.type}` : 'of undeclared type'}`, w.type ? 'window a timestamp column (e.g. created_at >= "today"), or use compare: previous_period' : `declare data_type: timestamp for ${w.column} in the model's YAML`);
        }
        if (tile.bands && (tile.type !== 'line' || tile.measures.length < 2 || tile.dimensions.some((x) => x.role === 'series')))
          err([...base, 'bands'], 'bands shade between consecutive measures of a line tile: it needs type line, two or more measures and no series dimension');
        // every color a definition gives: the site drops what is not one, the exports would carry it
        const colorAt = (color: string, path: (string | number)[]) => {
          const p = colorProblem(color);
          if (p) err(path, p, 'use a hex color like "#59a14f", rgb(...) or a CSS color name');
        };
        for (const [name, color] of Object.entries(tile.colors ?? {})) colorAt(color, [...base, 'colors', name]);
        // without a series dimension a chart's series are its measures, named by their labels (render.ts
        // cartesianSeries; a scatter's by its y measure): a key that is none of them colors nothing.
        // Keys of slices and series dimensions are data values, which cannot be known here.
        if (tile.colors && ['line', 'area', 'bar', 'scatter'].includes(tile.type) && !tile.dimensions.some((x) => x.role === 'series')) {
          const labels = (tile.type === 'scatter' ? tile.measures.slice(1, 2) : tile.measures).map(measureLabel);
          for (const name of Object.keys(tile.colors)) {
            if (labels.includes(name)) continue;
            const hint = didYouMean(name, labels);
            err([...base, 'colors', name], `colors names '${name}', which is none of this tile's series${hint ? ` — did you mean '${hint}'?` : ''} (without a series dimension they are its measures: ${labels.map((l) => `'${l}'`).join(', ')})`, hint ? undefined : "name a series by its measure's label, or give the tile a dimension with role \"series\"");
          }
        }
        // role y is a heatmap's rows; on another chart it takes the dimension off the x axis
        tile.dimensions.forEach((x, i) => {
          if (x.role === 'y' && tile.type !== 'heatmap') err([...base, 'dimensions', i, 'role'], `role 'y' is the rows of a heatmap; a ${tile.type} tile has no dimension on its y axis`, tile.type === 'line' || tile.type === 'area' || tile.type === 'bar' ? "use role 'x' for the axis, or 'series' for one series per value" : 'remove role');
        });
        // role series: one line, stack or point color per value (line, area, bar, scatter; a heatmap
        // takes it as its rows); on a box or donut it takes the dimension off the boxes or slices, a table has none
        const seriesAt = tile.dimensions.flatMap((x, i) => (x.role === 'series' ? [i] : []));
        const SERIES_ELSE: Partial<Record<TileType, string>> = { box: 'the dimension gives one box per value', donut: 'the dimension is the slices', table: 'a table shows each dimension as a column' };
        for (const i of seriesAt) {
          if (SERIES_ELSE[tile.type]) err([...base, 'dimensions', i, 'role'], `role 'series' is one line, stack or point color per value (line, area, bar and scatter tiles); a ${tile.type} tile has no series`, `remove role: ${SERIES_ELSE[tile.type]}`);
          else if (['line', 'area', 'bar'].includes(tile.type) && tile.dimensions.length === 1) err([...base, 'dimensions', i, 'role'], `role 'series' splits the ${tile.type} chart by a second dimension; its only dimension must be the x axis`, "remove role, or add the x dimension (e.g. the date) beside it");
        }
        if (seriesAt.length > 1 && !SERIES_ELSE[tile.type]) err([...base, 'dimensions', seriesAt[1], 'role'], `a tile has one series dimension (also dimensions[${seriesAt[0]}])`);
        tile.thresholds.forEach((t, ti2) => colorAt(t.color, [...base, 'thresholds', ti2, 'color']));
        tile.conditional_formatting.forEach((r, ri) => colorAt(r.color, [...base, 'conditional_formatting', ri, 'color']));
        if (tile.sample) {
          checkColumn(tile.model, tile.sample.key, [...base, 'sample', 'key']);
          if (!tile.measures.length || tile.measures.some((m) => m.agg !== 'none')) err([...base, 'sample'], "sample draws raw rows: it needs measures with agg 'none'");
          if (tile.limit !== undefined) err([...base, 'limit'], 'a sample sets how many rows it draws (sample.rows): remove limit');
        }
        if (tile.scale && tile.type !== 'scatter') err([...base, 'scale'], 'scale (log axes) is for scatter tiles');
        // a key the tile's type does not draw would be accepted and do nothing
        for (const [key, types, what] of TYPE_KEYS) {
          const v = tile[key];
          // absent, empty or false: asks for nothing
          if (v === undefined || v === false || (Array.isArray(v) && !v.length) || (v && typeof v === 'object' && !Array.isArray(v) && !Object.keys(v).length) || types.includes(tile.type)) continue;
          err([...base, key], `${key} ${what}, which a ${tile.type} tile does not have: it applies to ${types.join(', ')} tiles`);
        }
        // a band from above to below shades nothing on the site, and an empty range in the exports
        if (tile.target_band && tile.target_band.min > tile.target_band.max) err([...base, 'target_band', 'min'], `target_band: min (${tile.target_band.min}) is above max (${tile.target_band.max}), so the band is empty`, `swap them: min ${tile.target_band.max}, max ${tile.target_band.min}`);
        if (tile.max !== undefined && tile.max <= 0 && tile.type === 'gauge') err([...base, 'max'], `max is the end of the gauge's scale, which starts at 0: it must be above 0, got ${tile.max}`);
        if (tile.top_n) {
          checkColumn(tile.model, tile.top_n.column, [...base, 'top_n', 'column']);
          if (!tile.measures.length || tile.measures[0].agg === 'none') err([...base, 'top_n'], 'top_n ranks by the first measure, which must be aggregated');
          // the ranking (tile-sql.ts, and the Looker top-N view) reads the column's own values: a
          // dimension cut to days would keep the days of its n largest single timestamps, each
          // drawn with those rows alone (was: a "top 1 day" of 7 beside a day of 11, exit 0)
          const cut = tile.dimensions.find((x) => x.column === tile.top_n!.column && x.granularity);
          if (cut) err([...base, 'top_n', 'column'], `top_n ranks the values of '${cut.column}' as its rows hold them, not the ${cut.granularity}s the tile groups it by: it would keep the ${cut.granularity}s holding its ${tile.top_n.n} largest single values, each drawn with those rows alone`, `rank another column (e.g. the series), or filter the window instead (a relative filter on ${cut.column})`);
        }
        const fieldNames = [...tile.dimensions.map((x) => x.column), ...tile.measures.map(measureName)];
        const fieldHint = (f: string) => {
          const hint = didYouMean(f, fieldNames);
          return hint ? ` — did you mean '${hint}'?` : '';
        };
        tile.sort.forEach((s, i) => {
          if (!fieldNames.includes(s.field)) err([...base, 'sort', i, 'field'], `sort field '${s.field}' is not one of the tile's dimensions or measures${fieldHint(s.field)} (${fieldNames.join(', ')})`);
        });
        tile.conditional_formatting.forEach((c, i) => {
          if (!fieldNames.includes(c.field)) err([...base, 'conditional_formatting', i, 'field'], `field '${c.field}' is not one of the tile's dimensions or measures${fieldHint(c.field)} (${fieldNames.join(', ')})`);
        });
        if (tile.drilldown) {
          const dd = tile.drilldown;
          const targetDash = dd.dashboard ? byName.get(dd.dashboard) : d;
          if (!targetDash) {
            const hint = didYouMean(dd.dashboard!, byName.keys());
            err([...base, 'drilldown', 'dashboard'], `drill-down to dashboard '${dd.dashboard}', which does not exist${hint ? ` — did you mean '${hint}'?` : ''}`, `dashboards: ${[...byName.keys()].join(', ')}`);
          } else {
            const targetTabs = new Set(targetDash.tabs.map((t) => t.name));
            if (!targetTabs.has(dd.tab)) {
              const hint = didYouMean(dd.tab, targetTabs);
              err([...base, 'drilldown', 'tab'], `drill-down to tab '${dd.tab}', which ${dd.dashboard ? `dashboard '${dd.dashboard}'` : 'this dashboard'} does not have${hint ? ` — did you mean '${hint}'?` : ''}`, `tabs: ${[...targetTabs].join(', ')}`);
            }
          }
          const targetTab = targetDash?.tabs.find((t) => t.name === dd.tab);
          for (const [filter, tpl] of Object.entries(dd.filters)) {
            const fs = (targetDash ?? d).filters;
            const where = [...base, 'drilldown', 'filters', filter];
            const tf = fs.find((f) => f.name === filter);
            if (!tf) {
              const hint = didYouMean(filter, fs.map((f) => f.name));
              err(where, `drill-down sets filter '${filter}', which ${dd.dashboard ? `dashboard '${dd.dashboard}'` : 'the dashboard'} does not define${hint ? ` — did you mean '${hint}'?` : ''} (filters: ${fs.map((f) => f.name).join(', ') || 'none'})`);
            }
            // {{ column }} only: anything else between braces would reach the page as text
            for (const p of fieldTemplateProblems(tpl, fieldNames, 'drill-down value')) err(where, p.message, p.hint);
            if (tf?.type === 'date_range' && !/^[1-9]\d*d$/.test(tpl)) err(where, `filter '${filter}' is a date range: a drill-down sets it to a number of days like "7d", got '${tpl}'`);
            // a filter that reaches no tile of the target tab would change nothing on the page it opens
            // (a date range does not reach a tile that keeps its own window on its column)
            const reached = tf && targetTab ? targetTab.tiles.filter((x) => (tf.applies_to ? tf.applies_to.includes(x.model) : (columnsOf(x.model)?.includes(tf.column) ?? true))) : [];
            if (tf && targetTab && !reached.some((x) => !keepsOwnWindow(x, tf))) {
              err(where, reached.length ? `drill-down sets filter '${filter}', which filters no tile of tab '${dd.tab}' (each tile there with a column '${tf.column}' keeps its own window on it)` : `drill-down sets filter '${filter}', which filters no tile of tab '${dd.tab}' (no tile's model there has a column '${tf.column}')`);
            }
            // a select set from the row: the value's type against the column's declared type there
            if (tf?.type === 'select') {
              const targetType = reached.map((x) => models.get(x.model)?.columns.find((c) => c.name === tf.column)?.data_type).find((t) => t);
              const problem = drillValueProblem(tpl, tile, types, targetType);
              if (problem) err(where, `filter '${filter}' filters ${tf.column}, a ${targetType}: ${problem}`);
            }
          }
        }
        const needs = shapeProblem(tile);
        if (needs) err([...base, 'type'], needs);
        if (tile.layout.x + tile.layout.w > 12) err([...base, 'layout'], `the tile spans columns ${tile.layout.x}–${tile.layout.x + tile.layout.w - 1}; the grid has 12 (x + w must be <= 12)`);
        // one tile drawn over another hides it (on the site and in the BI tools' grids)
        const L = tile.layout;
        const over = tab.tiles.slice(0, xi).find((o) => o.layout.x < L.x + L.w && L.x < o.layout.x + o.layout.w && o.layout.y < L.y + L.h && L.y < o.layout.y + o.layout.h);
        if (over) err([...base, 'layout'], `the tile overlaps tile '${over.id}' (rows ${L.y}–${L.y + L.h - 1}, columns ${L.x}–${L.x + L.w - 1} against rows ${over.layout.y}–${over.layout.y + over.layout.h - 1}, columns ${over.layout.x}–${over.layout.x + over.layout.w - 1})`, 'move one of them (layout.y, layout.x)');
        if (!ok) return;
        // the sync state stand-in (syncStateModel) is read where vigil sync keeps it, and may not exist yet
        const readsSyncState = node === syncState;
        const compiled = compileTile({ ...tile, links }, tab.name, { name: node.name, relation: dialect.relation(node.relation), readFilter: dialect.readFilter?.(partitionReadConfig(manifest.nodes, node)), ...(readsSyncState ? { syncState: node.relation } : {}) }, d.filters, dialect, reaches(tile.model), types, rawRows);
        // where the file names each column the tile's queries return (the PII check's locations)
        const columnsAt = Object.fromEntries([...tile.dimensions.map((x, i) => [x.column, p.yaml.locate([...base, 'dimensions', i, 'column'])] as const), ...tile.measures.map((m, i) => [measureName(m), p.yaml.locate([...base, 'measures', i, 'column'])] as const)]);
        const rawColumnsAt = rawRows ? Object.fromEntries(rawRows.columns.map((c) => [c, p.yaml.locate([...base, 'raw_rows', ...(tile.raw_rows!.columns ? ['columns', tile.raw_rows!.columns.indexOf(c)] : [])])] as const)) : undefined;
        // the columns it filters or ranks on without showing them: the Looker export makes each a
        // field of its view (export.ts), listed row by row by the view's drill set
        const shown = new Set([...tile.dimensions.map((x) => x.column), ...tile.measures.flatMap((m) => [m.column, m.denominator ?? '', m.weight ?? ''])].map((c) => c.toLowerCase()));
        const namedAt: NonNullable<CompiledTile['namedAt']> = {};
        const name = (to: typeof namedAt, skip: Set<string>, c: string, path: Array<string | number>) => {
          if (!skip.has(c.toLowerCase()) && !(c in to)) to[c] = p.yaml.locate(path);
        };
        tile.filters.forEach((f, i) => name(namedAt, shown, f.column, [...base, 'filters', i, 'column']));
        if (tile.top_n) name(namedAt, shown, tile.top_n.column, [...base, 'top_n', 'column']);
        d.filters.forEach((f, i) => {
          const key = `${f.name}\0${tile.model}`;
          if (!compiled.appliesFilters.includes(f.name) || filterNamed.has(key)) return;
          filterNamed.add(key);
          name(namedAt, shown, f.column, ['filters', i, 'column']);
        });
        const rawNamedAt: NonNullable<CompiledTile['namedAt']> = {};
        if (rawRows) {
          const listed = new Set(rawRows.columns.map((c) => c.toLowerCase()));
          for (const c of Object.keys(rawRows.match)) name(rawNamedAt, listed, c, [...base, 'raw_rows', 'match', c]);
          if (rawRows.day) name(rawNamedAt, listed, rawRows.day.column, [...base, 'raw_rows', 'day', 'column']);
        }
        tiles.push({ ...compiled, line: p.yaml.locate([...base, 'id']).line, columnsAt, ...(rawColumnsAt ? { rawColumnsAt } : {}), ...(Object.keys(namedAt).length ? { namedAt } : {}), ...(Object.keys(rawNamedAt).length ? { rawNamedAt } : {}) });
      });
      tabs.push({ name: tab.name, title: tab.title, tiles });
    });
    if (!ok) continue;
    out.push({ dashboard: d, file: p.file, tabs, models: [...tileModels].sort(), dialect: dialect.name, project: input.project });
  }
  return out;
}

/**
 * The tiles' queries for the PII check (check/pii-lineage.ts), as alertPiiQueries the alerts':
 * every column a tile's query returns is drawn on the site and its PNGs and carried into the BI
 * exports, and a raw-rows page lists its columns (those the masking policy withholds are never
 * selected), so one carrying live PII is an error at the line that names it (else the tile's
 * id), and one whose lineage cannot tell it from PII a warning there — an error on a raw-rows
 * page, which lists it row by row. A drill-down page is its tab's tiles with filter values set:
 * the same columns.
 */
export function dashboardPiiQueries(ds: CompiledDashboard[], manifest: Manifest, dialect: Dialect): PiiQuery[] {
  const ids = new Map(Object.values(manifest.nodes).flatMap((n) => (n.resource_type === 'model' ? [[n.name, n.unique_id] as const] : [])));
  return ds.flatMap((d) =>
    d.tabs.flatMap((tab) =>
      tab.tiles.flatMap((t): PiiQuery[] => {
        const model = ids.get(t.model);
        // (the sync state stand-in is no model of the project: nothing upstream to carry PII)
        if (!model) return [];
        const what = `tile '${t.tile.id}' of dashboard '${d.dashboard.name}'`;
        const at = (to: Record<string, { line: number; column: number }> | undefined) => (column: string | undefined) => {
          const found = column === undefined ? undefined : (to?.[column] ?? Object.entries(to ?? {}).find(([k]) => k.toLowerCase() === column.toLowerCase())?.[1]);
          return { file: d.file, ...(found ?? { line: t.line ?? 1, column: 1 }) };
        };
        const id = `dashboard.${d.dashboard.name}.${t.tile.id}`;
        const out: PiiQuery[] = [{ id, sql: t.sql, depends_on: [model], checked: { what, where: at(t.columnsAt), hint: PII_QUERY_HINT } }];
        const rr = t.rawRows;
        const rawModel = rr && ids.get(rr.model);
        if (rr && rawModel) {
          // the query of a row's page, any row: the values do not change its columns
          const values = Object.fromEntries([...Object.keys(rr.match).map((c) => [c, ''] as const), ...(rr.day ? [[rr.day.column, '1970-01-01'] as const] : [])]);
          out.push({ id: `${id}#raw_rows`, sql: rawRowsSql(rr, values, dialect), depends_on: [rawModel], checked: { what: `the raw rows of ${what}`, where: at(t.rawColumnsAt), hint: PII_QUERY_HINT, rowLevel: true } });
        }
        // the columns it filters or ranks on (its filters, top_n, the dashboard filters reaching
        // it; a raw-rows page's match and day), not shown: the Looker export makes each a field of
        // a view, whose drill set lists every row's value
        const carried = ` (a field of its Looker view, whose drill set lists each row's value)`;
        const named = Object.keys(t.namedAt ?? {});
        if (named.length) out.push({ id: `${id}#filtered`, sql: `select ${named.map((c) => dialect.quoteIdent(c)).join(', ')} from ${t.relation}`, depends_on: [model], checked: { what: `the filters of ${what}${carried}`, where: at(t.namedAt), hint: PII_QUERY_HINT } });
        const rawNamed = Object.keys(t.rawNamedAt ?? {});
        if (rr && rawModel && rawNamed.length) out.push({ id: `${id}#raw_rows_filtered`, sql: `select ${rawNamed.map((c) => dialect.quoteIdent(c)).join(', ')} from ${rr.relation}`, depends_on: [rawModel], checked: { what: `the raw rows' match of ${what}${carried}`, where: at(t.rawNamedAt), hint: PII_QUERY_HINT } });
        return out;
      }),
    ),
  );
}

/** The name tiles read the sync state by (`model: "vigil_sync_state"`). */
export const SYNC_STATE_MODEL = STATE_TABLE;

/**
 * `vigil_sync_state` as a model a tile can read: the table `vigil sync` keeps in the schema its
 * sources sync into (one row per stream: last_synced_at, source_max_cursor, last_status...).
 * Only when the project syncs into one schema; until the first sync the table does not exist,
 * and such a tile shows "not synced yet" instead of failing (queryTiles).
 */
function syncStateModel(manifest: Manifest): ModelNode | undefined {
  const synced = Object.values(manifest.sources).filter((x) => x.sync);
  const schemas = [...new Set(synced.map((x) => x.relation.schema))];
  if (schemas.length !== 1) return undefined;
  const relation = { ...(synced[0].relation.database ? { database: synced[0].relation.database } : {}), schema: schemas[0], identifier: STATE_TABLE };
  const node: Partial<ModelNode> = { unique_id: `model.vigil.${STATE_TABLE}`, resource_type: 'model', name: STATE_TABLE, file: '', tags: [], columns: SYNC_STATE_COLUMNS, depends_on: [], relation, compiled_sql: '', compiled_path: '' };
  return node as ModelNode;
}

/** Keys that only some tile types draw: the key, the types, what it acts on (for the message). */
const TYPE_KEYS: Array<[keyof Tile, TileType[], string]> = [
  ['stacked', ['area', 'bar'], 'stacks the series of an area or bar chart'],
  ['compare', ['kpi'], "sets the comparison shown under a KPI's number"],
  ['thresholds', ['line', 'area', 'bar', 'box', 'scatter', 'gauge', 'kpi'], 'mark values on a value axis, a gauge or a KPI'],
  ['target_band', ['line', 'area', 'bar', 'box', 'scatter'], 'shades a band of the value axis'],
  ['colors', ['line', 'area', 'bar', 'donut', 'scatter'], 'colors series or slices'],
  ['conditional_formatting', ['table'], 'colors the cells of a table'],
  ['max', ['gauge'], "sets the end of a gauge's scale"],
  ['limit', ['line', 'area', 'bar', 'donut', 'heatmap', 'box', 'scatter', 'table'], 'caps the rows of a chart or table'],
  ['sort', ['line', 'area', 'bar', 'donut', 'heatmap', 'box', 'scatter', 'table'], 'orders the rows of a chart or table'],
  ['top_n', ['line', 'area', 'bar', 'donut', 'heatmap', 'box', 'scatter', 'table'], "keeps the rows of a column's n values with the largest first measure"],
];

/** What a tile type needs to draw anything. */
function shapeProblem(t: Tile): string | undefined {
  const m = t.measures.length;
  const dims = t.dimensions.length;
  switch (t.type) {
    case 'kpi':
    case 'gauge':
      return m === 1 && dims === 0 ? undefined : `a ${t.type} tile shows one number: exactly one measure and no dimensions (has ${m} and ${dims})`;
    case 'line':
    case 'area':
    case 'bar':
      return dims >= 1 && dims <= 2 && m >= 1 ? undefined : `a ${t.type} tile needs one or two dimensions (x, and optionally a series) and at least one measure`;
    case 'donut':
      return dims === 1 && m === 1 ? undefined : 'a donut tile needs one dimension (the slices) and one measure';
    case 'heatmap':
      return dims === 2 && m === 1 ? undefined : 'a heatmap tile needs two dimensions (x and y) and one measure (the color)';
    case 'scatter':
      return m === 2 ? undefined : 'a scatter tile needs two measures (x and y; agg none for raw rows)';
    case 'box':
      return dims >= 1 && m >= 1 ? undefined : 'a box tile needs a dimension (one box per value) and a measure (or p-columns)';
    case 'table':
      return dims + m >= 1 ? undefined : 'a table tile needs at least one column';
  }
}

/**
 * A project link template (project.yaml `dashboards.links`) filled with a tile link's `params`,
 * as a URL template over the row: each param's text is URL-encoded, its {{ field }} templates
 * kept (they are encoded when filled from the row), so the whole value ends up encoded. Errors
 * (an unknown template, a placeholder without a param, a param the template does not have, a
 * field the tile does not have) go to `fail`.
 */
export function projectLink(name: string, params: Record<string, string>, templates: Record<string, string>, fields: string[], fail: (path: (string | number)[], msg: string, hint?: string) => void): string | undefined {
  const tpl = templates[name];
  if (tpl === undefined) {
    const hint = didYouMean(name, Object.keys(templates));
    const known = Object.keys(templates);
    fail(['template'], `link template '${name}' is not defined${hint ? ` — did you mean '${hint}'?` : ''}`, known.length ? `project.yaml dashboards.links has: ${known.join(', ')}` : 'define it in project.yaml under dashboards: { links: { NAME: "https://..." } }');
    return undefined;
  }
  let ok = true;
  const placeholders = [...tpl.matchAll(LINK_PARAM_RE)].map((m) => m[1]);
  for (const p of placeholders) {
    if (Object.hasOwn(params, p)) continue;
    ok = false;
    fail(['params'], `link template '${name}' has {{ ${p} }}: give params.${p}`);
  }
  for (const [p, v] of Object.entries(params)) {
    if (!placeholders.includes(p)) {
      ok = false;
      const hint = didYouMean(p, placeholders);
      fail(['params', p], `link template '${name}' has no {{ ${p} }}${hint ? ` — did you mean '${hint}'?` : ''} (it has: ${placeholders.join(', ') || 'none'})`);
    }
    for (const problem of fieldTemplateProblems(v, fields, '')) {
      ok = false;
      fail(['params', p], problem.message, problem.hint);
    }
  }
  if (!ok) return undefined;
  // literal text encoded, {{ field }} kept for the row
  const encodeParam = (v: string) => v.split(/(\{\{\s*[A-Za-z_]\w*\s*\}\})/).map((part, i) => (i % 2 ? part.replace(/\s+/g, ' ') : encodeURIComponent(part))).join('');
  return tpl.replace(LINK_PARAM_RE, (_m, p: string) => encodeParam(params[p]));
}
