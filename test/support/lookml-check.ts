/**
 * Test support: check a set of generated LookML files the way Looker's validator would catch
 * the mistakes an exporter makes, without a Looker instance.
 * - `.lkml` files (views, models) are parsed by the real LookML parser (npm `lookml-parser`);
 *   a syntax error is a problem.
 * - `.dashboard.lookml` files are YAML (a list of one dashboard), parsed with `yaml` as YAML 1.1
 *   (as Looker reads them: a value 1.1 reads otherwise than 1.2, such as an unquoted `yes`, is a
 *   problem), and checked for shape: element names, known types, grid positions on the 24 columns, `pivots` and sort
 *   fields among `fields`, conditional formatting and reference lines with their keys.
 * - Every field reference is resolved to a declared dimension (a dimension group: one per
 *   timeframe) or measure of its view, and the view must be reachable from the explore the
 *   element or filter names (the explore's own view or one it joins): element `fields`,
 *   `pivots`, `sorts`, `filters`, `listen`, `series_labels`, conditional formatting fields, dashboard filters'
 *   `field`; in views: `${field}` in sql, a measure's `filters:` keys, `drill_fields` and sets,
 *   `{% condition view.field %}` in derived tables, `{{ view.field._value }}` in links; in the
 *   model: each explore's view and its joins' `sql_on`. Links use only the Liquid variables Looker
 *   documents for them (LINK_VARIABLES); a box plot has a dimension and its five measures.
 * - Names: views, fields, sets, explores, joins and models follow Looker's rule for identifiers
 *   (a-z, 0-9 and _, starting with a letter: cloud.google.com/looker/docs/reference/param-field-dimension).
 * Returns the problems found ('file: what'), empty when all is well.
 */
import lookml from 'lookml-parser';
import YAML from 'yaml';

const TIMEFRAMES_DEFAULT = ['raw', 'time', 'date', 'week', 'month', 'quarter', 'year'];
const ELEMENT_TYPES = new Set(['text', 'single_value', 'looker_line', 'looker_area', 'looker_column', 'looker_bar', 'looker_pie', 'looker_grid', 'looker_boxplot', 'looker_scatter', 'table']);
const FORMATTING_TYPES = new Set(['equal to', 'not equal to', 'greater than', 'less than', 'between', 'not between', 'null', 'not null', 'along a scale...']);

type Json = Record<string, any>;


/**
 * The Liquid variables Looker documents for a `link` (its Liquid variable reference: value,
 * rendered_value, filterable_value, link, linked_value); another field's are `_value`,
 * `_rendered_value`, `_filterable_value`... (`view.field._<variable>`).
 */
const LINK_VARIABLES = new Set(['value', 'rendered_value', 'filterable_value', 'link', 'linked_value']);
/** Looker's names for views, fields and the other LookML objects: a-z, 0-9 and _, starting with a letter. */
const LOOKER_NAME = /^[a-z][a-z0-9_]*$/;

interface ViewInfo {
  fields: Set<string>;
  sets: Map<string, string[]>;
  node: Json;
}

export function lookmlProblems(files: Map<string, string>): string[] {
  const problems: string[] = [];
  const views = new Map<string, ViewInfo>();
  const models = new Map<string, Json>();
  const parsed = new Map<string, Json>();
  const named = (where: string, kind: string, name: string) => {
    if (!LOOKER_NAME.test(name)) problems.push(`${where}: ${kind} name '${name}' is not a Looker name (a-z, 0-9 and _, starting with a letter)`);
  };
  for (const [file, text] of files) {
    if (!file.endsWith('.lkml')) continue;
    try {
      parsed.set(file, lookml.parse(text));
    } catch (e) {
      problems.push(`${file}: LookML syntax: ${String(e)}`);
    }
  }
  // 1. views: their fields and sets
  for (const [file, doc] of parsed) {
    for (const [name, v] of Object.entries<Json>(doc.view ?? {})) {
      if (views.has(name)) problems.push(`${file}: view ${name} defined twice`);
      named(file, 'view', name);
      for (const kind of ['dimension', 'dimension_group', 'measure', 'filter', 'set']) for (const f of Object.keys(v[kind] ?? {})) named(`${file}: view ${name}`, kind, f);
      const fields = new Set<string>();
      for (const d of Object.keys(v.dimension ?? {})) fields.add(d);
      for (const [g, def] of Object.entries<Json>(v.dimension_group ?? {}))
        for (const tf of def.timeframes ?? TIMEFRAMES_DEFAULT) {
          // a dimension group's timeframe field and a dimension of the same name: Looker refuses the view
          if (fields.has(`${g}_${tf}`)) problems.push(`${file}: view ${name}: dimension group ${g} names a field ${g}_${tf}, which a dimension has`);
          fields.add(`${g}_${tf}`);
        }
      for (const m of Object.keys(v.measure ?? {})) {
        if (fields.has(m)) problems.push(`${file}: view ${name}: measure ${m} has the name of a dimension`);
        fields.add(m);
      }
      const sets = new Map<string, string[]>(Object.entries<Json>(v.set ?? {}).map(([s, def]) => [s, def.fields ?? []]));
      views.set(name, { fields, sets, node: v });
      if (!v.sql_table_name && !v.derived_table) problems.push(`${file}: view ${name} has neither sql_table_name nor derived_table`);
    }
    if (doc.connection !== undefined || doc.explore) {
      models.set(file.replace(/\.model\.lkml$/, ''), { ...doc, $file: file });
      named(file, 'model', file.replace(/^.*\//, '').replace(/\.model\.lkml$/, ''));
    }
  }
  const resolves = (ref: string, allowed?: Set<string>): string | undefined => {
    const m = /^(\w+)\.(\w+)$/.exec(ref);
    if (!m) return `'${ref}' is not view.field`;
    if (allowed && !allowed.has(m[1])) return `${ref}: view ${m[1]} is not in the explore (views: ${[...allowed].join(', ')})`;
    const v = views.get(m[1]);
    if (!v) return `${ref}: no view ${m[1]}`;
    if (!v.fields.has(m[2])) return `${ref}: view ${m[1]} has no field ${m[2]}`;
    return undefined;
  };
  const check = (where: string, ref: string, allowed?: Set<string>) => {
    const p = resolves(ref, allowed);
    if (p) problems.push(`${where}: ${p}`);
  };
  // 2. inside views: ${field} in sql, measure filters, drill_fields and sets, link and derived table references
  for (const [name, v] of views) {
    const where = `view ${name}`;
    const local = (field: string, what: string) => {
      if (!v.fields.has(field)) problems.push(`${where}: ${what} '${field}' is not a field of the view`);
    };
    const fieldsIn = (sql: unknown, what: string) => {
      for (const m of String(sql ?? '').matchAll(/\$\{(\w+)(?:\.(\w+))?\}/g)) {
        if (m[1] === 'TABLE' && !m[2]) continue;
        if (m[2]) check(`${where}: ${what}`, `${m[1]}.${m[2]}`);
        else local(m[1], what);
      }
    };
    for (const kind of ['dimension', 'dimension_group', 'measure'] as const) {
      for (const [fname, def] of Object.entries<Json>(v.node[kind] ?? {})) {
        fieldsIn(def.sql, `${kind} ${fname} sql`);
        for (const k of Object.keys(def.filters ?? {})) if (!k.startsWith('$')) local(k, `measure ${fname} filters`);
        for (const d of def.drill_fields ?? []) {
          if (d.endsWith('*')) {
            if (!v.sets.has(d.slice(0, -1))) problems.push(`${where}: ${kind} ${fname} drill_fields: no set ${d.slice(0, -1)}`);
          } else local(d, `${kind} ${fname} drill_fields`);
        }
        const links = Array.isArray(def.link) ? def.link : def.link ? [def.link] : [];
        for (const l of links) {
          if (!l.label || !l.url) problems.push(`${where}: ${kind} ${fname}: a link without label or url`);
          // another field of the row: {{ view.field._value }} (or its _filterable_value, _rendered_value)
          for (const m of String(l.url ?? '').matchAll(/\{[{%][^}]*?\b(\w+)\.(\w+)\._(\w+)/g)) {
            check(`${where}: ${fname} link`, `${m[1]}.${m[2]}`);
            if (!LINK_VARIABLES.has(m[3])) problems.push(`${where}: ${fname} link uses ${m[1]}.${m[2]}._${m[3]}, which Looker does not define`);
          }
          for (const m of String(l.url ?? '').matchAll(/\{\{\s*(\w+)\s*[|}]/g)) if (!LINK_VARIABLES.has(m[1])) problems.push(`${where}: ${fname} link uses {{ ${m[1]} }}, which Looker does not define`);
          // Liquid tags: only assign and if/endif over those variables
          for (const m of String(l.url ?? '').matchAll(/\{%\s*(\w+)([^%]*)%\}/g)) {
            if (!['assign', 'if', 'endif'].includes(m[1])) problems.push(`${where}: ${fname} link uses the Liquid tag {% ${m[1]} %}`);
            if (m[1] === 'assign' && !new RegExp(`^\\s*\\w+\\s*=\\s*(${[...LINK_VARIABLES].join('|')}|\\w+\\.\\w+\\._\\w+)\\s*\\|`).test(m[2])) problems.push(`${where}: ${fname} link assigns from something Looker does not define: {% assign${m[2]}%}`);
          }
        }
      }
    }
    for (const [s, fields] of v.sets) for (const f of fields) local(f, `set ${s}`);
    for (const m of String(v.node.derived_table?.sql ?? '').matchAll(/\{%\s*condition\s+([\w.]+)\s*%\}/g)) check(`${where}: derived_table condition`, m[1]);
  }
  // 3. models: explores name views; joins' sql_on reference fields of views in the explore
  const exploreViews = new Map<string, Set<string>>();
  for (const [model, doc] of models) {
    if (!doc.connection) problems.push(`${doc.$file}: no connection`);
    for (const [ex, def] of Object.entries<Json>(doc.explore ?? {})) {
      named(doc.$file, 'explore', ex);
      for (const j of Object.keys(def.join ?? {})) named(`${doc.$file}: explore ${ex}`, 'join', j);
      const base = def.from ?? def.view_name ?? ex;
      if (!views.has(base)) problems.push(`${doc.$file}: explore ${ex}: no view ${base}`);
      const allowed = new Set([ex, ...Object.keys(def.join ?? {})]);
      for (const [j, jd] of Object.entries<Json>(def.join ?? {})) {
        if (!views.has(jd.from ?? j)) problems.push(`${doc.$file}: explore ${ex}: join ${j}: no view`);
        if (!jd.sql_on && !jd.foreign_key) problems.push(`${doc.$file}: explore ${ex}: join ${j} without sql_on`);
        for (const m of String(jd.sql_on ?? '').matchAll(/\$\{(\w+)\.(\w+)\}/g)) check(`${doc.$file}: explore ${ex}: join ${j}`, `${m[1]}.${m[2]}`, allowed);
      }
      exploreViews.set(`${model}::${ex}`, allowed);
    }
  }
  // 4. dashboards: YAML, shape, and every field an element or filter references
  for (const [file, text] of files) {
    if (!file.endsWith('.dashboard.lookml')) continue;
    let docs: unknown;
    try {
      // as Looker reads it: YAML 1.1, where yes/no/on/off/y/n are booleans; a value YAML 1.2
      // reads otherwise (an unquoted `title_text: yes`) is one the exporter meant another way
      docs = YAML.parse(text, { version: '1.1' });
      for (const d of yamlDifferences(docs, YAML.parse(text))) problems.push(`${file}: YAML: ${d}`);
    } catch (e) {
      problems.push(`${file}: YAML: ${String(e)}`);
      continue;
    }
    if (!Array.isArray(docs) || docs.length !== 1) {
      problems.push(`${file}: not a list of one dashboard`);
      continue;
    }
    const dash = docs[0] as Json;
    for (const k of ['dashboard', 'title', 'layout', 'elements']) if (dash[k] === undefined) problems.push(`${file}: no ${k}`);
    if (`${dash.dashboard}.dashboard.lookml` !== file) problems.push(`${file}: dashboard '${dash.dashboard}' is not named after its file`);
    const scope = (where: string, model: unknown, explore: unknown): Set<string> | undefined => {
      const s = exploreViews.get(`${model}::${explore}`);
      if (!s) problems.push(`${where}: no explore ${explore} in model ${model}`);
      return s;
    };
    const names = new Set<string>();
    for (const f of (dash.filters ?? []) as Json[]) {
      const where = `${file}: filter ${f.name}`;
      if (!f.name || !f.title || !f.type) problems.push(`${where}: name, title and type are required`);
      names.add(f.name);
      if (f.field) {
        const s = scope(where, f.model, f.explore);
        if (s) check(where, f.field, s);
      }
    }
    const elementNames = new Set<string>();
    for (const e of (dash.elements ?? []) as Json[]) {
      const where = `${file}: element ${e.name}`;
      if (!e.name || elementNames.has(e.name)) problems.push(`${where}: missing or duplicate name`);
      elementNames.add(e.name);
      if (!ELEMENT_TYPES.has(e.type)) problems.push(`${where}: unknown type ${e.type}`);
      for (const k of ['row', 'col', 'width', 'height']) if (!Number.isInteger(e[k]) || e[k] < 0) problems.push(`${where}: ${k} must be a whole number >= 0`);
      if (e.col + e.width > 24) problems.push(`${where}: beyond the 24 columns`);
      if (e.type === 'text') continue;
      const s = scope(where, e.model, e.explore);
      if (!s) continue;
      const fields: string[] = e.fields ?? [];
      if (!fields.length) problems.push(`${where}: no fields`);
      for (const r of fields) check(`${where}: fields`, r, s);
      for (const r of e.pivots ?? []) {
        check(`${where}: pivots`, r, s);
        if (!fields.includes(r)) problems.push(`${where}: pivot ${r} is not among the fields`);
      }
      // Looker's box plot draws one box per row from five measures, in order: min, 25th
      // percentile, median, 75th percentile, max (cloud.google.com/looker/docs/boxplot-options)
      if (e.type === 'looker_boxplot') {
        const isMeasure = (r: string) => !!views.get(r.split('.')[0])?.node.measure?.[r.split('.')[1]];
        const measures = fields.filter(isMeasure);
        if (measures.length !== 5 || fields.filter((r) => !isMeasure(r)).length < 1) problems.push(`${where}: a box plot needs a dimension and five measures (min, 25th percentile, median, 75th percentile, max), has ${fields.length - measures.length} dimension(s) and ${measures.length} measure(s)`);
      }
      if (e.pivots?.length && !(Number.isInteger(e.column_limit) && e.column_limit > 0 && e.column_limit <= 200)) problems.push(`${where}: a pivot without a column_limit of 1..200`);
      for (const r of e.sorts ?? []) {
        const [ref, dir] = String(r).split(' ');
        check(`${where}: sorts`, ref, s);
        if (!fields.includes(ref)) problems.push(`${where}: sort ${ref} is not among the fields`);
        if (dir && dir !== 'desc' && dir !== 'asc') problems.push(`${where}: sort direction ${dir}`);
      }
      for (const r of Object.keys(e.filters ?? {})) check(`${where}: filters`, r, s);
      for (const [r, label] of Object.entries<unknown>(e.series_labels ?? {})) {
        if (!fields.includes(r)) problems.push(`${where}: series label of ${r}, not among the fields`);
        if (typeof label !== 'string' || !label) problems.push(`${where}: series label of ${r} is not a text`);
      }
      for (const [fname, r] of Object.entries<string>(e.listen ?? {})) {
        if (!names.has(fname)) problems.push(`${where}: listens to filter ${fname}, which the dashboard does not have`);
        check(`${where}: listen`, r, s);
      }
      for (const c of (e.conditional_formatting ?? []) as Json[]) {
        if (!FORMATTING_TYPES.has(c.type)) problems.push(`${where}: conditional formatting type '${c.type}'`);
        if ((c.type === 'between') !== Array.isArray(c.value)) problems.push(`${where}: conditional formatting ${c.type} with value ${JSON.stringify(c.value)}`);
        for (const r of c.fields ?? []) {
          check(`${where}: conditional_formatting`, r, s);
          if (!fields.includes(r)) problems.push(`${where}: conditional formatting on ${r}, not among the fields`);
        }
      }
      if (e.conditional_formatting && e.enable_conditional_formatting !== true) problems.push(`${where}: conditional_formatting without enable_conditional_formatting`);
      for (const r of (e.reference_lines ?? []) as Json[]) {
        if (r.reference_type === 'range' && !(typeof r.range_start === 'number' && typeof r.range_end === 'number')) problems.push(`${where}: a range reference line without numeric range_start/range_end`);
        else if (r.reference_type === 'line' && typeof r.line_value !== 'number') problems.push(`${where}: a line reference without a numeric line_value`);
        else if (r.reference_type !== 'range' && r.reference_type !== 'line') problems.push(`${where}: reference_type ${r.reference_type}`);
      }
      if (e.show_comparison && fields.length < 2) problems.push(`${where}: a comparison needs a second field to compare with`);
    }
  }
  return problems;
}

/** Where YAML 1.1 (`a`) and 1.2 (`b`) read a document differently: `path: 1.1 value, 1.2 value`. */
function yamlDifferences(a: unknown, b: unknown, path = ''): string[] {
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) return a.flatMap((x, i) => yamlDifferences(x, b[i], `${path}[${i}]`));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b) && !(a instanceof Date)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => yamlDifferences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`));
  }
  return Object.is(a, b) ? [] : [`${path || '(document)'} is ${JSON.stringify(a)} in YAML 1.1 (as Looker reads it), ${JSON.stringify(b)} in YAML 1.2: quote it`];
}
