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
  it('lines a macro expanded into stay between the lines around the call', () => {
    for (const l of [5, 6, 7]) expect(templatePosition(TEMPLATE, RENDERED, { line: l }).line).toBe(7);
  });
  it('a multi-line config() that renders to one empty line shifts everything below it', () => {
    expect(templatePosition(TEMPLATE, RENDERED, { line: 2, column: 1 })).toEqual({ line: 4, column: 1 });
  });
});
