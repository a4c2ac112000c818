/**
 * The quick template parser (src/compile/quick-parse.ts) against nunjucks' own parser: for every
 * template in the repository, hand-picked edge cases and thousands of generated ones, it either
 * declines (undefined: nunjucks parses) or builds exactly nunjucks' tree — node types, values and
 * 0-based line/column of every node. It must also take the templates it exists for.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import { quickParse } from '../../src/compile/quick-parse.js';
import { installJinjaCompat, jinjaToNunjucks } from '../../src/compile/jinja-compat.js';
import { REPO } from '../helpers.js';

// nunjucks' parser as Vigil renders with it (a float literal stays a float: py-values.ts)
installJinjaCompat();

type AnyNode = { typename: string; lineno: number; colno: number; fields?: string[]; children?: AnyNode[]; [k: string]: unknown };
const nj = nunjucks as unknown as { parser: { parse(src: string, ext: unknown[], opts: unknown): AnyNode } };

/** A node as plain data: type, position, value and every field, recursively. */
function dump(n: unknown): unknown {
  if (!n || typeof n !== 'object' || !('typename' in n)) return n instanceof RegExp ? String(n) : n;
  const node = n as AnyNode;
  const out: Record<string, unknown> = { t: node.typename, at: `${node.lineno}:${node.colno}` };
  for (const f of node.fields ?? []) out[f] = Array.isArray(node[f]) ? (node[f] as unknown[]).map(dump) : dump(node[f]);
  return out;
}

/** nunjucks' tree, or 'error' when it refuses the template. */
function reference(src: string): unknown {
  try {
    return dump(nj.parser.parse(src, [], {}));
  } catch {
    return 'error';
  }
}

/** Compare one template; returns whether the quick parser took it. */
function check(src: string): boolean {
  const quick = quickParse(src);
  const ref = reference(src);
  if (quick === undefined) return false;
  expect(ref, `nunjucks refuses what the quick parser took: ${JSON.stringify(src)}`).not.toBe('error');
  expect(dump(quick), JSON.stringify(src)).toEqual(ref);
  return true;
}

function filesUnder(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p, ext));
    else if (ext.test(e)) out.push(p);
  }
  return out;
}

describe('quickParse', () => {
  it("builds nunjucks' tree for every template of the repository it takes, and takes most models", () => {
    const files = ['models', 'macros', 'tests', 'alerts'].flatMap((d) => filesUnder(join(REPO, d), /\.sql$/));
    expect(files.length).toBeGreaterThan(20);
    let taken = 0;
    const models = files.filter((f) => f.includes('/models/'));
    for (const f of files) if (check(jinjaToNunjucks(readFileSync(f, 'utf8'))) && f.includes('/models/')) taken++;
    // models with {% if is_incremental() %} and the like are nunjucks'; the plain ones are taken
    expect(taken).toBeGreaterThan(models.length / 3);
  });

  it('takes the templates it exists for', () => {
    for (const src of [
      "{{ config(materialized='view', tags=['gen', 'layer2']) }}\n-- generated model 7\nselect a.id, {{ cents('a.v') }} as v_cents, a.v\nfrom {{ ref('m_00000') }} as a\n",
      "select * from {{ source('raw', 'ai_audit_logs') }} where created_at > '{{ var(\"start\", \"2026-01-01\") }}'",
      '{{ this }} {{ this.schema }} {{ target.name }} {{ adapter.quote ( "x" ) }}',
      "{{ config(alias = 'x', enabled = true, persist = none, n = 3, f = 1.5, xs = [], nested = [[1], ['a', \"b\"]]) }}",
      '',
      'plain SQL with { braces } and # hashes and -- comments\r\n\ttabs\u00a0',
      "{{ f(1, 'a', k='v', 2) }}",
    ]) {
      expect(quickParse(src), JSON.stringify(src)).toBeDefined();
      check(src);
    }
  });

  it('declines what it does not parse, and agrees with nunjucks on edge cases', () => {
    const declined = [
      '{% if x %}a{% endif %}',
      '{# note #} select 1',
      '{{- ref("a") }}',
      '{{ ref("a") -}}',
      '{{ a | upper }}',
      '{{ a ~ b }}',
      '{{ -1 }}',
      '{{ not x }}',
      '{{ x if y else z }}',
      "{{ 'it\\'s' }}",
      '{{ {"a": 1} }}',
      '{{ (a) }}',
      '{{ a[0] }}',
      '{{ f(a,) }}',
      '{{ f(a b) }}',
      '{{ a == b }}',
      '{{ a.1 }}',
      '{{ a.true }}',
      '{{ a$b }}',
      '{{ 12abc }}',
      '{{ r/x/ }}',
      '{{ }}',
      '{{ a',
      "{{ 'unterminated }}",
      'text #} more',
      '{{ f(x=) }}',
      '{{ [1, 2 }}',
    ];
    for (const src of declined) {
      expect(quickParse(src), JSON.stringify(src)).toBeUndefined();
    }
    const edge = [
      '{{x}}',
      '{{  x  }}',
      '{{\nref(\n"a"\n)\n}}',
      '{{ a . b . c }}',
      '{{ f ( ) }}',
      '{{ f()() }}',
      '{{ f().x(1).y }}',
      '{{ [a, b.c, f(1)] }}',
      '{{ 1. }}',
      '{{ 007 }}',
      '{{ true }}{{ false }}{{ none }}{{ null }}',
      '{{ True }}',
      '{{ f(k=v, w=x.y) }}',
      '{{ f(a.b=1) }}',
      '{{{ x }}',
      '{ {{ x }} }',
      '{{ x }}}',
      'a\n\nb {{ x }}\n c',
      "{{ 'a\nb' }} {{ x }}",
      '{{ "mixed \'quotes\'" }}',
      '\u00a0{{\u00a0x\u00a0}}',
      '{{ x }}{{ y }}',
    ];
    for (const src of edge) check(src);
  });

  it('agrees with nunjucks on 5,000 generated templates', () => {
    // a small deterministic generator (mulberry32): expressions of the grammar, text with the
    // characters that matter to the lexer, random whitespace, and random damage
    let seed = 20261203;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T,>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const ws = () => pick(['', ' ', ' ', '  ', '\n', '\t', ' \n ', '\u00a0']);
    const names = ['ref', 'source', 'config', 'var', 'x', 'a_1', '_b', 'this', 'target', 'true', 'false', 'none', 'null', 'not', 'in', 'r', 'True'];
    const expr = (depth: number): string => {
      const r = rand();
      if (depth > 2 || r < 0.3) return pick([`'${pick(['a', 'x y', '', 'b"c', 'd\\e'])}'`, `"${pick(['a', "it's", ''])}"`, pick(['1', '12', '1.5', '3.', '0']), pick(names)]);
      if (r < 0.45) return `[${ws()}${Array.from({ length: Math.floor(rand() * 3) }, () => expr(depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
      if (r < 0.6) return `${pick(names)}${ws()}.${ws()}${pick(names)}`;
      const args = Array.from({ length: Math.floor(rand() * 4) }, () => (rand() < 0.3 ? `${pick(names)}${ws()}=${ws()}${expr(depth + 1)}` : expr(depth + 1)));
      return `${pick(names)}${ws()}(${ws()}${args.join(`${ws()},${ws()}`)}${ws()})${rand() < 0.2 ? `.${pick(names)}` : ''}`;
    };
    const text = () => pick(['select ', 'from x\n', '-- c\n', '{ ', ' }', '#', '%', "'q'", '\r\n', 'a{b', '', ' ', '\u00a0']);
    const damage = (s: string) => {
      if (rand() > 0.25 || !s.length) return s;
      const at = Math.floor(rand() * s.length);
      return rand() < 0.5 ? s.slice(0, at) + s.slice(at + 1) : s.slice(0, at) + pick(['{', '}', '(', ')', ',', '=', '.', "'", '"', '-', '#', '%', '|', ' ', '\n']) + s.slice(at);
    };
    let taken = 0;
    for (let n = 0; n < 5000; n++) {
      let src = '';
      for (let k = Math.floor(rand() * 4); k >= 0; k--) src += text() + `{{${ws()}${expr(0)}${ws()}}}` + text();
      if (check(damage(src))) taken++;
    }
    // the generator mostly writes what the quick parser takes: it is not declining everything
    expect(taken).toBeGreaterThan(1000);
  });
});
