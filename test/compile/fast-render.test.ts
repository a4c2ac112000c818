/**
 * The fast template path must render exactly what nunjucks renders. Differential test over
 * the shipped project, the golden fixture and a table of edge cases; plus the fallback and
 * error positions.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import { loadProject } from '../../src/project/load-project.js';
import { compileProject } from '../../src/compile/compile-project.js';
import { fastTemplate, renderFast, UnsupportedTemplate } from '../../src/compile/fast-render.js';
import { addJinjaCompat } from '../../src/compile/jinja-compat.js';
import { projectFiles, REPO } from '../helpers.js';

function bothPaths(files: ReturnType<typeof loadProject>) {
  const fast = compileProject(files, { env: { SOME_VAR: 'v' } });
  const slow = compileProject(files, { env: { SOME_VAR: 'v' }, fastPath: false });
  return { fast, slow };
}

describe('fast render path', () => {
  it.each([
    ['shipped project', REPO],
    ['golden fixture', join(REPO, 'test/fixtures/projects/golden')],
  ])('renders the %s exactly like nunjucks', (_name, dir) => {
    const { fast, slow } = bothPaths(loadProject(dir));
    expect(fast.diagnostics).toEqual(slow.diagnostics);
    expect(Object.keys(fast.manifest.nodes).length).toBeGreaterThan(5);
    expect(fast.manifest).toEqual(slow.manifest);
  });

  const cases: Array<[string, Record<string, unknown>]> = [
    ["{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ 7 % 4 }} {{ -x }} {{ 'a' ~ 1 ~ true ~ 2.0 }}", { x: 4 }],
    ['{% if a and not b %}yes{% elif b %}b{% else %}no{% endif %}|{{ "t" if a else "f" }}|{{ "t" if b }}', { a: true, b: false }],
    ['{% set n = 3 %}{{ n * 2 }}{% if n > 2 and n <= 3 %}!{% endif %}{{ 1 < 2 < 3 }}', {}],
    ["{{ [1, 2, 'x'] }} {{ {'a': 1}['a'] }} {{ obj.name }}", { obj: { name: 'n' } }],
    ["{{ 'abc' | upper }} {{ [3,1,2] | join('-') }} {{ name | default('anon') }} {{ 'x' in ['x'] }}", {}],
    ['{# comment #}a\n{%- if true %}\n  b\n{%- endif %}\nc {{ "{{" }}', {}],
    // Python's: a chain is `a > b and b > c`, a negative index counts from the end, % floors, 1e3 a float
    ["{{ 3 > 2 > 1 }} {{ 0 < 5 < 3 }} {{ [1, 2, 3][-1] }} {{ 'abc'[-2] }} {{ -7 % 3 }} {{ 1e3 }} {{ -x // 3 }}", { x: 7 }],
    // Python's truth on both paths: an empty list or dict is false; and/or give an operand
    ['{% if l %}T{% else %}F{% endif %}{{ l or "x" }}{{ "y" if not d }}{{ d and 1 }}{% if l or d %}!{% endif %}', { l: [], d: {} }],
    ['{{ f(1, k=2) }} {{ obj.say("hi") }}', { f: (...a: unknown[]) => JSON.stringify(a), obj: { w: 'w', say(x: string) { return x + (this as { w: string }).w; } } }],
  ];
  it.each(cases)('edge case %s', (src, ctx) => {
    const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });
    const t = fastTemplate(src, env);
    expect(renderFast(t, env, ctx)).toBe(new nunjucks.Template(src, env).render(ctx));
  });

  it("an inline if without else is Jinja's Undefined when false on the fast path itself, as on nunjucks': default replaces it, printed, joined or filtered it is ''", () => {
    const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });
    addJinjaCompat(env);
    const src = "{{ ('x' if b) | default('d') }}|[{{ 'x' if b }}]|{{ 'a' ~ ('x' if b) }}|[{{ ('x' if b) | upper }}]|{{ ('x' if b) == '' }}|{{ ('x' if not b) | default('d') }}";
    // (renderFast throws UnsupportedTemplate rather than fall back: this is the fast path's output)
    expect(renderFast(fastTemplate(src, env), env, { b: false })).toBe('d|[]|a|[]|False|x');
    expect(new nunjucks.Template(src, env).render({ b: false })).toBe('d|[]|a|[]|False|x');
  });

  it('falls back to nunjucks for loops and macro definitions, with the same output', () => {
    const env = new nunjucks.Environment(null, { autoescape: false });
    expect(() => renderFast(fastTemplate('{% for i in [1,2] %}{{ i }}{% endfor %}', env), env, {})).toThrow(UnsupportedTemplate);
    expect(() => renderFast(fastTemplate('{% macro m() %}x{% endmacro %}{{ m() }}', env), env, {})).toThrow(UnsupportedTemplate);
    // ref() is called before the loop: the partial fast render's record is discarded, not doubled
    const r = compileProject(
      projectFiles({ models: { 'models/b.sql': 'select 1 as x', 'models/a.sql': "select * from {{ ref('b') }}, {% for c in ['a', 'b'] %}{{ c }}{{ ',' if not loop.last }}{% endfor %} from t" } }),
      { env: {} },
    );
    const a = r.manifest.nodes['model.fixture.a'] as { compiled_sql: string; depends_on: string[] };
    expect(a.compiled_sql).toBe('select * from "analytics"."b", a,b from t');
    expect(a.depends_on).toEqual(['model.fixture.b']);
  });

  it("a none in a joined list is an error on both paths (was: joined as '', Jinja joins 'None'); Jinja's tests none, in, boolean, true, false select and reject", () => {
    for (const fastPath of [true, false]) {
      for (const [src, message] of [
        ["select '{{ [none, 'a'] | join(',') }}' as x", /join\(\): item 0 of the list is none.*reject\('none'\)/],
        ["{% for c in ['a'] %}{{ c }}{% endfor %}\nselect '{{ [1, var('v', none)] | join(',') }}' as x", /join\(\): item 1 of the list is none/],
        ["select '{{ [{'n': 'a'}, {'n': none}] | join(',', attribute='n') }}' as x", /join\(\): item 1 of the list has no value for 'n'.*rejectattr\('n', 'none'\)/],
      ] as const) {
        const r = compileProject(projectFiles({ models: { 'models/a.sql': src } }), { env: {}, fastPath });
        const e = r.diagnostics.find((d) => d.severity === 'error');
        expect(e, `${src} (fast path: ${fastPath})`).toMatchObject({ code: 'E_TEMPLATE', file: 'models/a.sql', line: src.split('\n').length });
        expect(e!.message).toMatch(message);
      }
      const ok = compileProject(
        projectFiles({ models: { 'models/a.sql': "select '{{ [none, 'a'] | reject('none') | join(',') }}' as a, '{{ [1, 2, 3] | select('in', [1, 3]) | join(',') }}' as b, {{ [true, 1, false] | select('boolean') | list | length }} as c, '{{ [{'n': 'x'}, {'n': none}] | rejectattr('n', 'none') | join(',', attribute='n') }}' as d, '{{ [true, false, 1] | select('true') | list | length }}{{ [true, false, 0] | select('false') | list | length }}' as e" } }),
        { env: {}, fastPath },
      );
      expect(ok.diagnostics.filter((d) => d.severity === 'error'), `fast path: ${fastPath}`).toEqual([]);
      expect((ok.manifest.nodes['model.fixture.a'] as { compiled_sql: string }).compiled_sql, `fast path: ${fastPath}`).toBe("select 'a' as a, '1,3' as b, 2 as c, 'x' as d, '11' as e");
    }
  });

  it("an undefined item in a joined list (a macro parameter not passed, an attribute missing) is an error on both paths whose way out removes it (was: suggested reject('none'), which keeps it)", () => {
    for (const fastPath of [true, false]) {
      for (const [src, message, fixed] of [
        ["{% macro m(a, b) %}{{ [a, b] | join(',') }}{% endmacro %}\nselect '{{ m('x') }}' as x", /join\(\): item 1 of the list is undefined \(a macro parameter not passed, or an attribute its object lacks\): joined it would read '' in dbt and here, a value missing unseen \(leave it out with \| reject\('undefined'\), or give it a value\)/, ["| join(", "| reject('undefined') | join("]],
        ["select '{{ [{'n': 'a'}, {'m': 1}] | join(',', attribute='n') }}' as x", /join\(\): item 1 of the list has no 'n': .*\| rejectattr\('n', 'undefined'\)/, ["| join(", "| rejectattr('n', 'undefined') | join("]],
      ] as const) {
        const r = compileProject(projectFiles({ models: { 'models/a.sql': src } }), { env: {}, fastPath });
        const e = r.diagnostics.find((d) => d.severity === 'error');
        expect(e, `${src} (fast path: ${fastPath})`).toMatchObject({ code: 'E_TEMPLATE', file: 'models/a.sql' });
        expect(e!.message).toMatch(message);
        expect(e!.message).not.toContain("reject('none')");
        // the way out the message gives compiles
        const ok = compileProject(projectFiles({ models: { 'models/a.sql': src.replace(fixed[0], fixed[1]) } }), { env: {}, fastPath });
        expect(ok.diagnostics.filter((d) => d.severity === 'error'), `fast path: ${fastPath}`).toEqual([]);
        expect((ok.manifest.nodes['model.fixture.a'] as { compiled_sql: string }).compiled_sql).toMatch(/select '(x|a)' as x$/);
      }
    }
  });

  it('an undefined value printed into the SQL is an error on both paths, at its line, with a did-you-mean', () => {
    for (const fastPath of [true, false]) {
      for (const [src, message] of [
        ["{{ config(materialized='table') }}\nselect {{ this.schem }} as s", /this.*schem/],
        ['select 1 as a,\n  {{ undefined_thing }} as b', /'undefined_thing' is undefined/],
        ["select 1\n{# two #}\nwhere x = '{{ var('x', none) }}'", /is (none|undefined)/],
        // a loop sends the template to nunjucks: still strict
        ["{% for c in ['a'] %}{{ c }}{% endfor %}\n{{ tagret.name }}", /tagret/],
        // filtered, joined with ~ or tested by a bare if, an undefined value is an error too
        ["select 1\nwhere x = '{{ missing_x | upper }}'", /'missing_x' is undefined/],
        ["select 1\nwhere x = '{{ 'c_' ~ missing_name }}'", /'missing_name' is undefined/],
        ['select 1\n{% if missing_flag %}where 1 = 1{% endif %}', /'missing_flag' is undefined/],
        ["{% for c in ['a'] %}{{ c }}{% endfor %}\nwhere x = '{{ missing_x | upper }}'", /'missing_x' is undefined: filter 'upper'/],
        ["{% for c in ['a'] %}{{ c }}{% endfor %}\nwhere x = '{{ 'c_' ~ missing_name }}'", /'missing_name' is undefined: joined with ~/],
        ["{% for c in ['a'] %}{{ c }}{% endfor %}\n{% if missing_flag %}where 1 = 1{% endif %}", /'missing_flag' is undefined: \{% if %\}/],
        ['select 1 as x\n{% for c in missing_cols %}, {{ c }}{% endfor %}', /'missing_cols' is undefined: a \{% for %\} over it would loop zero times/],
        // not undefined, but not a number to print either
        ['select 1 as x,\n {{ 1 / 0 }} as y', /not a finite number: it would print Infinity or NaN into the SQL \(Infinity\)/],
        ["{% for c in ['a'] %}{{ c }}{% endfor %}\n{{ 0 / 0 }}", /not a finite number.*\(NaN\)/],
      ] as const) {
        const r = compileProject(projectFiles({ models: { 'models/a.sql': src } }), { env: {}, fastPath });
        const e = r.diagnostics.find((d) => d.severity === 'error');
        expect(e, `${src} (fast path: ${fastPath})`).toMatchObject({ code: 'E_TEMPLATE', file: 'models/a.sql', line: src.split('\n').length });
        expect(e!.message).toMatch(message);
      }
    }
    // what takes an absent value: | default, is defined; a macro's body is checked where it is called
    for (const fastPath of [true, false]) {
      const ok = compileProject(projectFiles({ models: { 'models/a.sql': "select '{{ missing | default('d') | upper }}' as x{% if missing is defined %}, 1 as y{% endif %}" } }), { env: {}, fastPath });
      expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    }
    const inMacro = compileProject(projectFiles({ macros: { 'macros/m.sql': "{% macro m(x) %}'{{ 'c_' ~ missing_name }}'{% endmacro %}" }, models: { 'models/a.sql': 'select {{ m(1) }} as x' } }), { env: {} });
    expect(inMacro.diagnostics.find((d) => d.severity === 'error')?.message).toMatch(/'missing_name' is undefined: joined with ~ it would read 'undefined'/);
    // a name the template declares may be undefined, as in dbt: a macro's optional parameter not
    // passed; a macro's output is a string (Python's methods; a secret in it is still a secret)
    for (const fastPath of [true, false]) {
      const opt = compileProject(
        projectFiles({
          macros: { 'macros/m.sql': "{% macro col(name, alias) %}{{ name }}{% if alias %} as {{ alias }}{% endif %}{% endmacro %}\n{% macro dash() %}a-a{% endmacro %}\n{% macro tok() %}{{ env_var('VIGIL_SECRET_FR_TOK') }}{% endmacro %}" },
          models: { 'models/a.sql': "select {{ col('x') }}, {{ col('y', 'z') }}, '{{ dash().replace('a', 'b') }}' as d", 'models/t.sql': "{{ config(materialized='table') }}select '{{ tok() | upper }}' as t" },
        }),
        { env: { VIGIL_SECRET_FR_TOK: 'hunter22hunter' }, fastPath },
      );
      expect((opt.manifest.nodes['model.fixture.a'] as { compiled_sql: string } | undefined)?.compiled_sql, `fast path: ${fastPath}`).toBe("select x, y as z, 'b-b' as d");
      expect(opt.diagnostics.find((d) => d.severity === 'error' && d.file === 'models/t.sql')?.message).toMatch(/filter 'upper' would change the placeholder of the secret VIGIL_SECRET_FR_TOK/);
    }
    // an error in a macro's own code is reported in the macro's file, at its line, on both paths
    const macros = { 'macros/m.sql': "{% macro inner(x) %}x{% endmacro %}\n{% macro outer(x) %}\n  {{ innr(x) }}\n{% endmacro %}\n{% macro und(x) %}\n'{{ undefined_var }}'\n{% endmacro %}\n" };
    for (const fastPath of [true, false]) {
      for (const [model, at, message] of [
        ['select {{ outer(1) }} as x', { line: 3, column: 6 }, /unknown function or macro 'innr' — did you mean 'inner'\?/],
        // called on another line than 1: still the macro's line, not the caller's
        ['select 1 as y,\n  {{ outer(1) }} as x', { line: 3, column: 6 }, /unknown function or macro 'innr' — did you mean 'inner'\?/],
        // (at the expression printed, as the fast renderer places it: nunjucks' own placed it at the {{)
        ["select 1 as x {% for i in [1] %}, {{ und(1) }} as y{% endfor %}", { line: 6, column: 5 }, /'undefined_var' is undefined: it would print nothing into the SQL/],
      ] as const) {
        const r = compileProject(projectFiles({ macros, models: { 'models/a.sql': model } }), { env: {}, fastPath });
        const e = r.diagnostics.find((d) => d.severity === 'error');
        expect(e, `${model} (fast path: ${fastPath})`).toMatchObject({ file: 'macros/m.sql', ...at });
        expect(e!.message).toMatch(message);
      }
    }
    // a function tested without its call is always true (`{% if is_incremental %}` filtered a
    // --full-refresh to the new rows): an error at it, on both paths, in macros too; a macro's
    // parameter holding a function may be tested, and so may `caller`
    const inc = "{{ config(materialized='incremental') }}\nselect 1 as id\n";
    for (const fastPath of [true, false]) {
      for (const [src, expr] of [
        [`${inc}{% if is_incremental %}where id > 0{% endif %}`, 'is_incremental'],
        [`${inc}{% if not is_incremental %}where id > 0{% endif %}`, 'is_incremental'],
        [`${inc}{% if target.name == 'dev' and is_incremental %}where id > 0{% endif %}`, 'is_incremental'],
        [`${inc}{{ 'where id > 0' if is_incremental else '' }}`, 'is_incremental'],
        [`${inc}{% for c in [1] %}{% endfor %}{% if is_incremental %}where id > 0{% endif %}`, 'is_incremental'],
        [`${inc}{% if var %}where id > 0{% endif %}`, 'var'],
      ] as const) {
        const r = compileProject(projectFiles({ models: { 'models/a.sql': src } }), { env: {}, fastPath });
        const e = r.diagnostics.find((d) => d.severity === 'error');
        expect(e, `${src} (fast path: ${fastPath})`).toMatchObject({ code: 'E_TEMPLATE', file: 'models/a.sql', line: 3 });
        expect(e!.message).toBe(`'${expr}' is a function: tested without its call it is always true; call it: ${expr}()`);
      }
      const ok = compileProject(
        projectFiles({
          macros: { 'macros/m.sql': "{% macro wrap(f) %}{% if f %}{{ f() }}{% endif %}{% endmacro %}\n{% macro one() %}1{% endmacro %}\n{% macro c() %}{% if caller %}{{ caller() }}{% endif %}{% endmacro %}" },
          models: {
            'models/a.sql': `${inc}{% if is_incremental() %}where id > 0{% endif %}`,
            'models/b.sql': 'select {{ wrap(one) }} as x',
            // and/or short-circuit: the right side is checked only when it is evaluated
            'models/c.sql': "select 1 as x{% if target.type == 'bigquery' and target.dataset %}, 2 as y{% endif %}{% if my_flag is defined and my_flag.x %}, 3 as z{% endif %}{{ ', 4 as w' if my_flag is defined and my_flag.x else '' }}{% if false and is_incremental %}, 5 as v{% endif %}",
          },
        }),
        { env: {}, fastPath },
      );
      expect(ok.diagnostics.filter((d) => d.severity === 'error'), `fast path: ${fastPath}`).toEqual([]);
    }
    const inMacroIf = compileProject(projectFiles({ macros: { 'macros/m.sql': '{% macro inc_filter() %}\n{% if is_incremental %}where 1 = 1{% endif %}\n{% endmacro %}' }, models: { 'models/a.sql': 'select 1 as x {{ inc_filter() }}' } }), { env: {} });
    expect(inMacroIf.diagnostics.find((d) => d.severity === 'error')).toMatchObject({ file: 'macros/m.sql', line: 2, message: expect.stringContaining("'is_incremental' is a function") });
    // a macro called with an argument it has not: an error where the call is written, as Jinja's
    // "takes no keyword argument" (was: dropped, a misspelled keyword silently took the default)
    const mm = { 'macros/m.sql': '{% macro opt(a, b=none) %}{{ a }}{% if b %}{{ b }}{% endif %}{% endmacro %}\n{% macro cents(x) %}{{ x }}{% endmacro %}\n{% macro good() %}{{ opt(1, b=2) }}{% endmacro %}\n{% macro outer() %}\n{{ opt(1, q=2) }}\n{% endmacro %}' };
    for (const fastPath of [true, false]) {
      for (const [model, at, message] of [
        ['select\n  {{ opt(1, c=3) }} as x', { file: 'models/a.sql', line: 2 }, "macro 'opt' has no argument 'c' — did you mean 'a'? (its arguments: a, b)"],
        ['select\n  {{ cents(1, 2) }} as x', { file: 'models/a.sql', line: 2 }, "macro 'cents' takes 1 argument at most, given 2 (its arguments: x)"],
        // (at the call that passes the keyword, not the first call of the macro in the file)
        ['select {{ outer() }} as x', { file: 'macros/m.sql', line: 5 }, "macro 'opt' has no argument 'q' — did you mean 'a'? (its arguments: a, b)"],
      ] as const) {
        const r = compileProject(projectFiles({ macros: mm, models: { 'models/a.sql': model } }), { env: {}, fastPath });
        expect(r.diagnostics.find((d) => d.severity === 'error'), `${model} (fast path: ${fastPath})`).toMatchObject({ ...at, message });
      }
      const ok = compileProject(projectFiles({ macros: mm, models: { 'models/a.sql': "select {{ opt(1) }}, {{ opt(1, 2) }}, {{ opt(a=1, b=2) }}, {{ opt(1, b=2) }}, {{ cents(x=3) }} as x" } }), { env: {}, fastPath });
      expect((ok.manifest.nodes['model.fixture.a'] as { compiled_sql: string }).compiled_sql, `fast path: ${fastPath}`).toBe('select 1, 12, 12, 12, 3 as x');
    }
    // the fast path names the nearest known name
    const dym = compileProject(projectFiles({ models: { 'models/a.sql': 'select {{ tagret.name }}' } }), { env: {} });
    expect(dym.diagnostics[0].message).toMatch(/'tagret' is undefined — did you mean 'target'\?/);
    const attr = compileProject(projectFiles({ models: { 'models/a.sql': 'select {{ target.nmae }}' } }), { env: {} });
    expect(attr.diagnostics[0].message).toMatch(/'target' has no attribute 'nmae' — did you mean 'name'\?/);
    const macro = compileProject(projectFiles({ models: { 'models/a.sql': "select {{ count_iff('x') }}" } }), { env: {} });
    expect(macro.diagnostics[0]).toMatchObject({ line: 1, column: 11 });
    expect(macro.diagnostics[0].message).toMatch(/unknown function or macro 'count_iff' — did you mean 'count_if'\?/);
  });

  it("a keyword argument given twice is an error on both paths, at the second (nunjucks alone would keep the last; Jinja refuses the template)", () => {
    for (const fastPath of [true, false]) {
      for (const src of ["{{ config(materialized='table',\n  alias='x', materialized='view') }}select 1 as id", "{% for c in ['a'] %}{% endfor %}{{ config(materialized='table',\n  alias='x', materialized='view') }}select 1 as id"]) {
        const r = compileProject(projectFiles({ models: { 'models/a.sql': src } }), { env: {}, fastPath });
        expect(r.diagnostics.filter((d) => d.severity === 'error'), `${src} (fast path: ${fastPath})`).toEqual([
          expect.objectContaining({ code: 'E_TEMPLATE', file: 'models/a.sql', line: 2, column: 14, message: expect.stringContaining("keyword argument 'materialized' is given twice in one call") }),
        ]);
      }
      // in a branch the render does not take too: Jinja refuses the template as it parses it
      const untaken = compileProject(projectFiles({ models: { 'models/a.sql': "{% if var('flip', false) %}\n{{ config(materialized='table', materialized='view') }}\n{% endif %}\nselect 1 as x" } }), { env: {}, fastPath });
      expect(untaken.diagnostics.filter((d) => d.severity === 'error'), `untaken branch (fast path: ${fastPath})`).toEqual([expect.objectContaining({ line: 2, column: 33, message: expect.stringContaining("keyword argument 'materialized' is given twice") })]);
      // the same key in a dict literal stays Python's (the last wins), as does a key in two calls
      const ok = compileProject(projectFiles({ models: { 'models/a.sql': "{{ config({'materialized': 'view', 'materialized': 'table'}) }}{{ config(alias='y') }}select 1 as id" } }), { env: {}, fastPath });
      expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    }
  });

  it("a method a value has not is said as such on both paths (Python's string methods for a did-you-mean); an unknown name before it is the error", () => {
    for (const fastPath of [true, false]) {
      const loop = fastPath ? '' : "{% for c in ['a'] %}{% endfor %}";
      for (const [expr, message] of [
        ["'abc'.uper()", "'abc' has no method 'uper' — did you mean 'upper'?"],
        ['target.nosuch()', /^'target' has no (method|attribute) 'nosuch'/],
        ['dbt_utils.star()', "'dbt_utils' is undefined"],
        ['tagret.name.upper()', "'tagret' is undefined — did you mean 'target'?"],
      ] as const) {
        const r = compileProject(projectFiles({ models: { 'models/a.sql': `select 1 as x,\n${loop}{{ ${expr} }} as y` } }), { env: {}, fastPath });
        const e = r.diagnostics.find((d) => d.severity === 'error');
        expect(e, `${expr} (fast path: ${fastPath})`).toMatchObject({ code: 'E_TEMPLATE', line: 2 });
        if (typeof message === 'string') expect(e!.message, `${expr} (fast path: ${fastPath})`).toBe(message);
        else expect(e!.message).toMatch(message);
      }
    }
  });

  it("exceptions.raise_compiler_error stops the compile with its message, at the call, on both paths", () => {
    for (const fastPath of [true, false]) {
      const src = `select 1 as id\n{% if var('region', 'eu') not in ['eu', 'us'] %}{{ exceptions.raise_compiler_error("unknown region " ~ var('region', 'eu')) }}{% endif %}`;
      const ok = compileProject(projectFiles({ models: { 'models/a.sql': src } }), { env: {}, fastPath });
      expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const bad = compileProject(projectFiles({ models: { 'models/a.sql': src.replaceAll("'eu')", "'mars')") } }), { env: {}, fastPath });
      expect(bad.diagnostics.filter((d) => d.severity === 'error'), `fast path: ${fastPath}`).toEqual([expect.objectContaining({ code: 'E_TEMPLATE', file: 'models/a.sql', line: 2, message: 'unknown region mars (exceptions.raise_compiler_error)' })]);
    }
  });

  it('reports errors at the right line on both paths', () => {
    // a runtime error on the first line keeps its position (nunjucks drops a line 0)
    for (const fastPath of [true, false]) {
      const first = compileProject(projectFiles({ models: { 'models/a.sql': "{% for c in [1] %}{% endfor %}select '{{ env_var('VIGIL_SECRET_FR_X')[0:3] }}' as t" } }), { env: { VIGIL_SECRET_FR_X: 'hunter22hunter' }, fastPath });
      expect(first.diagnostics.filter((d) => d.severity === 'error'), `fast path: ${fastPath}`).toEqual([expect.objectContaining({ code: 'E_TEMPLATE', line: 1, column: expect.any(Number), message: expect.stringMatching(/^a slice would change the placeholder of the secret VIGIL_SECRET_FR_X/) })]);
    }
    for (const fastPath of [true, false]) {
      const r = compileProject(projectFiles({ models: { 'models/a.sql': 'select 1,\n\n  {{ not_a_function() }}' } }), { env: {}, fastPath });
      expect(r.diagnostics[0]).toMatchObject({ code: 'E_TEMPLATE', line: 3 });
      expect(r.diagnostics[0].message).toContain("unknown function or macro 'not_a_function'");
      const p = compileProject(projectFiles({ models: { 'models/a.sql': 'select 1\n\n   {{ foo( }}' } }), { env: {}, fastPath });
      expect(p.diagnostics[0]).toMatchObject({ code: 'E_TEMPLATE', line: 3 });
    }
  });
});
