/**
 * The template environment's var(): the hash of each value it records for state:modified.vars
 * (varStamp), taken once per value in an environment (one compile), on its fast path and in
 * nunjucks alike.
 */
import { describe, expect, it } from 'vitest';
import { dialectOf } from '../../src/adapters/index.js';
import { emptyCalls, TEXT_CACHE, TemplateEnv, varStamp, type RenderCalls } from '../../src/compile/template-env.js';

/** A mapping of `n` keys that counts how often its keys are listed (what varStamp's sorted repr does). */
function counted(n: number): { value: Record<string, number>; listings: () => number } {
  const plain = Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
  let listings = 0;
  const value = new Proxy(plain, {
    ownKeys(t) {
      listings++;
      return Reflect.ownKeys(t);
    },
  });
  return { value, listings: () => listings };
}

function renderer(vars: Record<string, unknown>, fast: boolean) {
  const env = new TemplateEnv({ dialect: dialectOf('duckdb'), vars, env: {}, target: { name: 'dev' }, project: 'shop' });
  env.useFastPath = fast;
  return (src: string, ctx: Record<string, unknown> = {}): { out: string; calls: RenderCalls } => {
    const t = env.compileTemplate('m.sql', src);
    if ('message' in t) throw new Error(t.message);
    const calls = emptyCalls();
    const out = env.render(t, src, calls, false, undefined, ctx);
    if (typeof out !== 'string') throw new Error(out.message);
    return { out, calls };
  };
}

describe('var(): the hash of its value for state:modified.vars', () => {
  it('a project var read by every model is hashed once per compile, not once per var() call (was: a sorted repr and a sha256 per call: minutes for a big mapping read by thousands of models)', () => {
    for (const fast of [true, false]) {
      const big = counted(50);
      const render = renderer({ big: big.value, small: 3 }, fast);
      const first = render("select {{ var('big')['k7'] }} as k, {{ var('small') }} as s");
      expect(first.out, String(fast)).toBe('select 7 as k, 3 as s');
      expect(first.calls.varsUsed, String(fast)).toEqual({ big: varStamp({ ...big.value }), small: varStamp(3) });
      const once = big.listings();
      expect(once, String(fast)).toBeGreaterThan(0);
      for (let i = 0; i < 5; i++) {
        const again = render(`select {{ var('big')['k${i}'] }} as k, {{ var('big')['k1'] }} as j`);
        expect(again.out, String(fast)).toBe(`select ${i} as k, 1 as j`);
        expect(again.calls.varsUsed, String(fast)).toEqual({ big: first.calls.varsUsed!.big });
      }
      expect(big.listings(), String(fast)).toBe(once);
    }
  });
  it("a call's default: hashed once per value; defaults of different values (1 and '1') keep their own hashes", () => {
    for (const fast of [true, false]) {
      const render = renderer({}, fast);
      const d = counted(20);
      const first = render("select {{ var('a', d)['k2'] }}, {{ var('b', d)['k3'] }}", { d: d.value });
      expect(first.out, String(fast)).toBe('select 2, 3');
      expect(first.calls.varsUsed, String(fast)).toEqual({ a: varStamp({ ...d.value }), b: varStamp({ ...d.value }) });
      const once = d.listings();
      const c = render("select {{ var('c', d)['k4'] }}", { d: d.value }).calls.varsUsed;
      expect(d.listings(), String(fast)).toBe(once);
      expect(c, String(fast)).toEqual({ c: first.calls.varsUsed!.a });
      const kinds = render("select {{ var('n', 1) }}, {{ var('s', '1') }}, {{ var('t', true) }}, {{ var('z', none) is none }}, {{ var('l', [1, 2]) }}").calls.varsUsed!;
      expect(kinds, String(fast)).toEqual({ n: varStamp(1), s: varStamp('1'), t: varStamp(true), z: varStamp(null), l: varStamp([1, 2]) });
      expect(new Set(Object.values(kinds)).size, String(fast)).toBe(5);
      // the same primitive default again: the same hash
      expect(render("select {{ var('n2', 1) }}, {{ var('s2', '1') }}").calls.varsUsed, String(fast)).toEqual({ n2: kinds.n, s2: kinds.s });
    }
  });
  it('two environments (two compiles, another --vars) hash their own values', () => {
    const a = renderer({ x: { k: 1 } }, true)("select {{ var('x')['k'] }}");
    const b = renderer({ x: { k: 2 } }, true)("select {{ var('x')['k'] }}");
    expect(a.calls.varsUsed!.x).not.toBe(b.calls.varsUsed!.x);
    expect(a.calls.varsUsed!.x).toBe(varStamp({ k: 1 }));
  });
});

/**
 * Templates compiled once per process (template-env.ts jinjaTemplate, fastParsed): every
 * environment — each unit test's frozen clock and vars, each compile of a long-lived process —
 * takes what one compiled, and renders it with its own globals; a changed text is compiled anew.
 */
describe('compiled templates, shared between environments', () => {
  const MACROS = "{% macro lookback() %}{{ var('days') }} days to {{ current_timestamp() }}{% endmacro %}";
  const envWith = (days: number, now: string) => {
    const d = dialectOf('duckdb');
    const te = new TemplateEnv({ dialect: { ...d, current_timestamp: () => `'${now}'` }, vars: { days }, env: {}, target: { name: 'dev' }, project: 'shop' });
    const r = te.addMacros('macros/shared.sql', MACROS);
    if ('message' in r) throw new Error(r.message);
    return te;
  };
  const render = (te: TemplateEnv, src: string, path = 'models/m.sql') => {
    const t = te.compileTemplate(path, src);
    if ('message' in t) return `error: ${t.message}`;
    const out = te.render(t, src, emptyCalls(), false);
    return typeof out === 'string' ? out : `error: ${out.message}`;
  };

  it("one compile of a macro file and of a model serves each environment, each rendering with its own vars and clock", () => {
    for (const fast of [true, false]) {
      const a = envWith(1, '2026-01-01');
      const b = envWith(7, '2026-02-01');
      a.useFastPath = fast;
      b.useFastPath = fast;
      const src = `select {{ lookback() }}{% if true %} as x{% endif %} -- ${fast}`;
      expect(render(a, src)).toBe(`select 1 days to '2026-01-01' as x -- ${fast}`);
      expect(render(b, src)).toBe(`select 7 days to '2026-02-01' as x -- ${fast}`);
      const ta = a.compileTemplate('models/m.sql', src);
      const tb = b.compileTemplate('models/m.sql', src);
      if ('message' in ta || 'message' in tb) throw new Error('no template');
      // (the proof it is compiled once: the same parse tree, the same generated function)
      if (fast) expect(ta.fast).toBe(tb.fast);
      else expect((ta.nj as unknown as { rootRenderFunc: unknown }).rootRenderFunc).toBe((tb.nj as unknown as { rootRenderFunc: unknown }).rootRenderFunc);
    }
  });

  it('kept within a budget of characters, not only of texts: past it the oldest text is compiled anew, a text over it is not kept (was: 2,000 texts of any size, ~15 bytes a character each: GBs in a long --watch of a big model)', () => {
    const saved = { ...TEXT_CACHE };
    try {
      TEXT_CACHE.chars = 5000;
      for (const fast of [true, false]) {
        const compiled = (te: TemplateEnv, src: string) => {
          const t = te.compileTemplate('models/big.sql', src);
          if ('message' in t) throw new Error(t.message);
          return fast ? t.fast : (t.nj as unknown as { rootRenderFunc: unknown }).rootRenderFunc;
        };
        const env = () => {
          const te = envWith(1, 'now');
          te.useFastPath = fast;
          return te;
        };
        const text = (tag: string, n: number) => `select {{ var('days') }} as a -- ${tag} ${fast} ${'x'.repeat(n)}`;
        const a = text('a', 2000);
        const first = compiled(env(), a);
        // within the budget: taken
        expect(compiled(env(), a)).toBe(first);
        // two more texts of 2,000 characters: the first one goes
        compiled(env(), text('b', 2000));
        compiled(env(), text('c', 2000));
        const again = compiled(env(), a);
        expect(again).not.toBe(first);
        expect(render(env(), a)).toMatch(/^select 1 as a -- a/);
        // one text over the budget: never kept
        const huge = text('huge', 6000);
        expect(compiled(env(), huge)).not.toBe(compiled(env(), huge));
      }
    } finally {
      Object.assign(TEXT_CACHE, saved);
    }
  });

  it('a changed text at the same path is compiled anew; a text that does not compile says so each time', () => {
    for (const fast of [true, false]) {
      const te = envWith(1, 'now');
      te.useFastPath = fast;
      expect(render(te, 'select {{ var("days") }} as a')).toBe('select 1 as a');
      expect(render(te, 'select {{ var("days") + 1 }} as a')).toBe('select 2 as a');
      const broken = 'select {% if %} 1';
      const first = render(te, broken);
      expect(first).toMatch(/^error: /);
      expect(render(te, broken)).toBe(first);
      expect(render(envWith(2, 'now'), broken)).toBe(first);
      // a macro file changed under the same path: its new macros, in a new environment
      const te2 = new TemplateEnv({ dialect: dialectOf('duckdb'), vars: {}, env: {}, target: { name: 'dev' }, project: 'shop' });
      te2.useFastPath = fast;
      const r = te2.addMacros('macros/shared.sql', '{% macro lookback() %}changed{% endmacro %}');
      if ('message' in r) throw new Error(r.message);
      expect(render(te2, 'select {{ lookback() }}')).toBe('select changed');
    }
  });
});
