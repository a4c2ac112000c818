/** Mapping a line of rendered SQL back to the template line that produced it. */
import { describe, expect, it } from 'vitest';
import { templatePosition } from '../../src/compile/source-lines.js';

const TEMPLATE = [
  "{{ config(",
  "    materialized='table'",
  ") }}",
  'select',
  '  a,',
  "  {{ json_number('m', 'k') }} as b,",
  "  {{ multi_line_macro() }} as c,",
  '  d',
  "from {{ ref('x') }}",
  'where e > 1',
].join('\n');
const RENDERED = [
  '',
  'select',
  '  a,',
  "  try_cast(json_extract_string(m, '$.\"k\"') as double) as b,",
  '  case',
  '    when z then 1',
  '  end as c,',
  '  d',
  'from "analytics"."x"',
  'where e > 1',
].join('\n');

describe('templatePosition', () => {
  it('maps verbatim lines exactly, keeping the column', () => {
    expect(templatePosition(TEMPLATE, RENDERED, { line: 3, column: 3 })).toEqual({ line: 5, column: 3 });
    expect(templatePosition(TEMPLATE, RENDERED, { line: 10, column: 7 })).toEqual({ line: 10, column: 7 });
    expect(templatePosition(TEMPLATE, RENDERED, { line: 8, column: 3 })).toEqual({ line: 8, column: 3 });
  });
  it('a line a helper produced maps to the helper call; the column only up to where the lines differ', () => {
    expect(templatePosition(TEMPLATE, RENDERED, { line: 4, column: 3 })).toEqual({ line: 6, column: 3 });
    expect(templatePosition(TEMPLATE, RENDERED, { line: 4, column: 40 })).toEqual({ line: 6 });
    expect(templatePosition(TEMPLATE, RENDERED, { line: 9, column: 6 })).toEqual({ line: 9, column: 6 });
  });
  it("a position after a {{ ref() }} on its line keeps its column, counted from the line's end (was: the line only, as `vigil check` and build reported `where user_id = 42` after a source())", () => {
    const template = "select id from {{ source('app', 'events') }} where user_id = 42\n";
    const rendered = 'select id from "raw"."events" where user_id = 42\n';
    const col = rendered.indexOf('= 42') + 1;
    expect(templatePosition(template, rendered, { line: 1, column: col })).toEqual({ line: 1, column: template.indexOf('= 42') + 1 });
    // inside what the call rendered: the line only
    expect(templatePosition(template, rendered, { line: 1, column: rendered.indexOf('"events"') + 1 })).toEqual({ line: 1 });
  });
  it('lines a macro expanded into stay between the lines around the call', () => {
    for (const l of [5, 6, 7]) expect(templatePosition(TEMPLATE, RENDERED, { line: l }).line).toBe(7);
  });
  it('a multi-line config() that renders to one empty line shifts everything below it', () => {
    expect(templatePosition(TEMPLATE, RENDERED, { line: 2, column: 1 })).toEqual({ line: 4, column: 1 });
  });
  it('every line a multi-line macro call expands into maps to the call, even with no line after it that matches', () => {
    // macros/m.sql: {% macro bad_expr(c) %}\n  {{ c }} + 'x'\n{% endmacro %}; the ref renders differently
    const template = "select\n  id,\n  {{ bad_expr('n') }} as z\nfrom {{ ref('stg_events') }}";
    const rendered = "select\n  id,\n  \n  n + 'x'\n as z\nfrom `p`.`analytics`.`stg_events`";
    for (const l of [3, 4, 5]) expect(templatePosition(template, rendered, { line: l, column: 3 }).line, `rendered line ${l}`).toBe(3);
    expect(templatePosition(template, rendered, { line: 6, column: 1 })).toEqual({ line: 4, column: 1 });
  });
  it('lines of a loop and of a macro listing columns map to their template lines; template code spanning lines is code on each', () => {
    const template = [
      '{{ config(',
      "    materialized='table'",
      ') }}',
      '{% set xs = [1, 2] %}',
      'select',
      "  {{ cols('s') }},",
      '  {% for x in xs %}',
      '  {{ x }} as c{{ x }},',
      '  {% endfor %}',
      "  s.amount * 'a' as oops",
      "from {{ ref('stg') }} as s",
    ].join('\n');
    const rendered = ['', '', 'select', '  ', '  s.id,', '  s.user_id', ',', '  ', '  1 as c1,', '  ', '  2 as c2,', '  ', "  s.amount * 'a' as oops", 'from `p`.`d`.`stg` as s'].join('\n');
    for (const l of [4, 5, 6, 7]) expect(templatePosition(template, rendered, { line: l }).line, `rendered line ${l}`).toBe(6);
    expect(templatePosition(template, rendered, { line: 9 }).line).toBe(8);
    expect(templatePosition(template, rendered, { line: 13, column: 3 })).toEqual({ line: 10, column: 3 });
    expect(templatePosition(template, rendered, { line: 14, column: 1 })).toEqual({ line: 11, column: 1 });
  });
});
