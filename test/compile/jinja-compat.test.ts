/**
 * Jinja features real dbt projects use, rendered by Vigil's template environment (both its fast
 * path and nunjucks). Each expected output is written by hand from Jinja's documentation
 * (jinja.palletsprojects.com: Template Designer Documentation, "Assignments"/namespace, the
 * "do" extension, builtin filters tojson/map/selectattr/rejectattr, dict methods), not taken
 * from Vigil's output.
 */
import { describe, expect, it } from 'vitest';
import { dialectOf } from '../../src/adapters/index.js';
import { emptyCalls, TemplateEnv } from '../../src/compile/template-env.js';

function render(src: string, fast: boolean): string {
  const env = new TemplateEnv({ dialect: dialectOf('duckdb'), vars: { cols: ['a', 'b'] }, env: {}, target: { name: 'dev' }, project: 'shop' });
  env.useFastPath = fast;
  const t = env.compileTemplate('m.sql', src);
  if ('message' in t) return `ERROR ${t.message}`;
  const out = env.render(t, src, emptyCalls(), false);
  return typeof out === 'string' ? out : `ERROR ${out.message}`;
}

const CASES: Array<[string, string, string]> = [
  // Jinja: "a namespace object ... allows to carry a value from within a loop body to an outer scope"
  ['namespace carries a value out of a loop', '{% set ns = namespace(found=false) %}{% for x in [1, 2, 3] %}{% if x == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}', 'true'],
  ['namespace with several attributes', '{% set ns = namespace(total=0, n=0) %}{% for x in [3, 4] %}{% set ns.total = ns.total + x %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.total }}/{{ ns.n }}', '7/2'],
  // the "do" extension: "works exactly like the regular variable expression ({{ ... }}) just that it doesn't print anything"
  ['do: append to a list, print nothing', '{% set l = [] %}{% do l.append(1) %}{% do l.append(2) %}{{ l | join(",") }}', '1,2'],
  ['do prints nothing', 'a{% do [1].append(2) %}b', 'ab'],
  // dict methods
  ['dict.items() in a for loop', '{% set d = {"x": 1, "y": 2} %}{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}', 'x=1;y=2;'],
  ['dict.keys() and dict.values()', '{% set d = {"x": 1, "y": 2} %}{{ d.keys() | join(",") }}|{{ d.values() | join(",") }}', 'x,y|1,2'],
  ['dict.get() with a default', '{% set d = {"x": 1} %}{{ d.get("x") }}{{ d.get("z", 0) }}', '10'],
  // tojson: "Serialize an object to a string of JSON"
  ['tojson of a dict', '{{ {"a": [1, 2], "b": "x"} | tojson }}', '{"a":[1,2],"b":"x"}'],
  ['tojson of a string', '{{ "it\'s" | tojson }}', '"it\'s"'],
  // map: "Applies a filter on a sequence of objects or looks up an attribute"
  ['map(attribute=...)', '{% set users = [{"name": "ann"}, {"name": "bob"}] %}{{ users | map(attribute="name") | join(", ") }}', 'ann, bob'],
  ['map a filter over a list', '{{ ["a", "b"] | map("upper") | join(",") }}', 'A,B'],
  // selectattr / rejectattr with tests
  ['selectattr with a test', '{% set cols = [{"n": "id", "pk": true}, {"n": "x", "pk": false}] %}{{ cols | selectattr("pk") | map(attribute="n") | join(",") }}', 'id'],
  ['selectattr equalto', '{% set cols = [{"n": "id", "t": "int"}, {"n": "s", "t": "text"}, {"n": "k", "t": "int"}] %}{{ cols | selectattr("t", "equalto", "int") | map(attribute="n") | join(",") }}', 'id,k'],
  ['rejectattr', '{% set cols = [{"n": "id", "t": "int"}, {"n": "s", "t": "text"}] %}{{ cols | rejectattr("t", "==", "int") | map(attribute="n") | join(",") }}', 's'],
  ['selectattr in', '{% set cols = [{"n": "a"}, {"n": "b"}, {"n": "c"}] %}{{ cols | selectattr("n", "in", ["a", "c"]) | map(attribute="n") | join(",") }}', 'a,c'],
  // a dbt idiom: columns from a var, joined
  ['loop.last in a select list', '{% for c in var("cols") %}{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}', 'a, b'],
  // Jinja's grammar takes a trailing comma in calls, lists and dicts (nunjucks does not)
  ['trailing comma in a call', "{{ [1, 2] | join(',',) }}", '1,2'],
  ['trailing comma in a list and a dict, over lines', '{% set l = [\n  "a",\n  "b",\n] %}{% set d = {"k": 1,} %}{{ l | join("") }}{{ d.k }}', 'ab1'],
  ['a comma inside a string is kept', "{{ 'x,)' }}", 'x,)'],
  // Jinja's constants and Python's str methods ("Python Methods" in the Template Designer
  // Documentation; the outputs are Python's, except endswith() of a list: Python takes a tuple,
  // which nunjucks does not have)
  ['True, False and None', "{% if True %}t{% endif %}{% if not False %}f{% endif %}{{ 'n' if None is none }}", 'tfn'],
  ['str.lower(), upper(), strip(), title(), capitalize()', "{{ 'AbC'.lower() }} {{ 'abc'.upper() }} [{{ '  x y  '.strip() }}] {{ 'xxhixx'.strip('x') }} {{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }}", 'abc ABC [x y] hi Hello World Hello'],
  ['str.split() on white space, with a separator and maxsplit', "{{ ' a  b c '.split() | length }} {{ 'a,b,,c'.split(',') | join('|') }} {{ 'a-b-c'.split('-', 1) | join('|') }}", '3 a|b||c a|b-c'],
  ['str.replace() replaces every occurrence, or count of them', "{{ 'a-b-c'.replace('-', '_') }} {{ 'a-b-c'.replace('-', '_', 1) }}", 'a_b_c a_b-c'],
  ['str.startswith(), endswith(), find(), count(), isdigit(), join()', "{{ 'stg_x'.startswith('stg_') }} {{ 'x.sql'.endswith(['.py', '.sql']) }} {{ 'abcabc'.find('c') }} {{ 'abcabc'.count('b') }} {{ '42'.isdigit() }} {{ ', '.join(['a', 'b']) }}", 'true true 2 2 true a, b'],
  ["a string's slice is a string", "{{ 'abcdef'[2:] }} {{ 'abcdef'[:2] }} {{ 'abcdef'[::-1] }} {{ [1, 2, 3][1:] | join(',') }}", 'cdef ab fedcba 2,3'],
  // ref with the project's name (dbt's two-argument form)
  ["ref('<this project>', 'model')", "{{ ref('shop', 'orders') }}", '\u27E6ref:orders\u27E7'],
];

describe('Jinja compatibility', () => {
  for (const [name, src, expected] of CASES) {
    it(name, () => {
      expect(render(src, true)).toBe(expected);
      expect(render(src, false)).toBe(expected);
    });
  }
  it("ref('other_package', 'model') is a clear error: Vigil has no packages", () => {
    expect(render("{{ ref('dbt_utils', 'x') }}", false)).toMatch(/ref\('dbt_utils', 'x'\): 'dbt_utils' is not this project \(shop\) and Vigil has no packages; write ref\('x'\)/);
  });
  it('set on something that is not a namespace is an error', () => {
    expect(render('{% set s = "x" %}{% set s.a = 1 %}', false)).toMatch(/only a namespace\(\) \(or a dict\)/);
  });
  it('an unknown selectattr test is an error naming the tests', () => {
    expect(render('{{ [] | selectattr("a", "equals", 1) | list }}', false)).toMatch(/unknown test 'equals'/);
  });
});

describe('splitNestedBraces: a dict closed before the tag end is one tag, as Jinja reads it', () => {
  it('splits "}}" inside a tag, leaves comments, raw blocks and text alone', async () => {
    const { splitNestedBraces } = await import('../../src/compile/jinja-compat.js');
    expect(splitNestedBraces("{{ f(d={'a': {'b': 1}}) }}")).toBe("{{ f(d={'a': {'b': 1} }) }}");
    expect(splitNestedBraces("{{ {'a': 1}}}")).toBe("{{ {'a': 1} }}");
    expect(splitNestedBraces("{% set d = {'a': {'b': '}}'}} %}")).toBe("{% set d = {'a': {'b': '}}'} } %}");
    // a raw block and a comment are copied as they are; what follows still splits (was: the scan
    // ran on from an unbalanced bracket in a comment and changed later tags)
    expect(splitNestedBraces("{% raw %}{{ {'a': {'b': 1}}}}{% endraw %} {{ {'a': {'b': 1}}}}")).toBe("{% raw %}{{ {'a': {'b': 1}}}}{% endraw %} {{ {'a': {'b': 1} } }}");
    expect(splitNestedBraces("{# {{ x[ #} {{ y }} {{ f(d={'a':{'b':1}}) }}")).toBe("{# {{ x[ #} {{ y }} {{ f(d={'a':{'b':1} }) }}");
    expect(splitNestedBraces('select {{ x }} from t')).toBe('select {{ x }} from t');
  });
});
