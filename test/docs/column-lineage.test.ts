/**
 * Column-level lineage from compiled SQL (src/docs/column-lineage.ts): hand-written expected
 * lineage for a table of SQL shapes, then the shipped project's real compiled SQL, then a
 * snapshot's columns through `vigil docs generate`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { columnLineage, type ColumnLineage, type LineageContext, type NodeLineage } from '../../src/docs/column-lineage.js';
import { makeProject, removeDir, REPO, vigil } from '../helpers.js';

const ORDERS = 'model.shop.orders';
const CUSTOMERS = 'model.shop.customers';
const EVENTS = 'source.shop.raw.events';

/** A project: analytics.orders, analytics.customers (models), raw.events (a source); any other table is not the project's. */
const relations: Record<string, string> = {
  'analytics.orders': ORDERS,
  'analytics.customers': CUSTOMERS,
  'raw.events': EVENTS,
};
const declared: Record<string, string[]> = {
  [ORDERS]: ['id', 'customer_id', 'amount', 'status', 'created_at'],
  [CUSTOMERS]: ['id', 'name', 'country'],
  [EVENTS]: ['id', 'payload', 'created_at'],
};
const ctx: LineageContext = {
  resolve: (parts) => {
    if (parts.length === 1 && parts[0].startsWith('__vigil_eph_')) return `model.shop.${parts[0].slice('__vigil_eph_'.length)}`;
    return relations[parts.slice(-2).join('.')];
  },
  columnsOf: (id) => declared[id],
};

/** `name kind node.column, node.column` — compact, order-insensitive in the sources. */
function show(c: ColumnLineage): string {
  const from = c.from.map((f) => `${f.node.replace(/^(model|source)\.shop\./, '')}.${f.column}`).sort();
  return `${c.name} ${c.kind}${from.length ? ` ${from.join(', ')}` : ''}`;
}

interface Case {
  name: string;
  sql: string;
  columns: string[];
  untraced?: string[];
  error?: RegExp;
}

const cases: Case[] = [
  {
    name: 'renames and casts are direct',
    sql: `select id as order_id, cast(amount as double) as amount_usd, status::varchar as state, try_cast(created_at as date) as day, customer_id
          from analytics.orders`,
    columns: ['order_id direct orders.id', 'amount_usd direct orders.amount', 'state direct orders.status', 'day direct orders.created_at', 'customer_id direct orders.customer_id'],
  },
  {
    name: "arithmetic of two tables' columns in a join with aliases",
    sql: `select o.id, o.amount / length(c.name) as per_letter, c.country
          from analytics.orders as o join analytics.customers as c on c.id = o.customer_id`,
    columns: ['id direct orders.id', 'per_letter derived customers.name, orders.amount', 'country direct customers.country'],
  },
  {
    name: 'a chain of CTEs',
    sql: `with base as (select id, amount, status from analytics.orders),
               taxed as (select id, amount * 1.2 as gross, status from base),
               final as (select id as order_id, gross, upper(status) as status from taxed)
          select * from final`,
    columns: ['order_id direct orders.id', 'gross derived orders.amount', 'status derived orders.status'],
  },
  {
    name: 'select * through a CTE from a node with known columns',
    sql: `with o as (select * from analytics.orders) select * from o`,
    columns: ['id direct orders.id', 'customer_id direct orders.customer_id', 'amount direct orders.amount', 'status direct orders.status', 'created_at direct orders.created_at'],
  },
  {
    name: '* exclude and * replace',
    sql: `select * exclude (created_at, customer_id) replace (amount * 100 as amount) from analytics.orders`,
    columns: ['id direct orders.id', 'amount derived orders.amount', 'status direct orders.status'],
  },
  {
    name: 'union all by position: names from the left, sources from both',
    sql: `select id, status as label from analytics.orders
          union all
          select id, name from analytics.customers`,
    columns: ['id direct customers.id, orders.id', 'label direct customers.name, orders.status'],
  },
  {
    name: 'union all by name',
    sql: `select id, status from analytics.orders union all by name select name as status, id, country from analytics.customers`,
    columns: ['id direct customers.id, orders.id', 'status direct customers.name, orders.status', 'country direct customers.country'],
  },
  {
    name: "EXCEPT: the values are the left side's",
    sql: `select id from analytics.orders except select id from analytics.customers`,
    columns: ['id direct orders.id'],
  },
  {
    name: 'group by with aggregates (count(*) reads no column)',
    sql: `select customer_id, count(*) as orders, sum(amount) as total, count(distinct status) as statuses, count(*) filter (where status = 'paid') as paid
          from analytics.orders group by customer_id`,
    columns: ['customer_id direct orders.customer_id', 'orders derived', 'total derived orders.amount', 'statuses derived orders.status', 'paid derived orders.status'],
  },
  {
    name: 'window functions: arguments, partitions and orders',
    sql: `select id, sum(amount) over (partition by customer_id order by created_at) as running, row_number() over (partition by status order by id) as rn
          from analytics.orders`,
    columns: ['id direct orders.id', 'running derived orders.amount, orders.created_at, orders.customer_id', 'rn derived orders.id, orders.status'],
  },
  {
    name: 'CASE: conditions and results',
    sql: `select case when amount > 100 then 'big' when status = 'refunded' then null else 'small' end as size,
                 case status when 'paid' then amount else 0 end as paid_amount
          from analytics.orders`,
    columns: ['size derived orders.amount, orders.status', 'paid_amount derived orders.amount, orders.status'],
  },
  {
    name: 'a scalar subquery contributes the columns it reads (correlated ones included)',
    sql: `select c.id, (select max(o.amount) from analytics.orders o where o.customer_id = c.id) as biggest
          from analytics.customers c`,
    columns: ['id direct customers.id', 'biggest derived customers.id, orders.amount, orders.customer_id'],
  },
  {
    name: 'a subquery in FROM',
    sql: `select t.cid, t.total * 2 as doubled from (select customer_id as cid, sum(amount) as total from analytics.orders group by 1) as t`,
    columns: ['cid direct orders.customer_id', 'doubled derived orders.amount'],
  },
  {
    name: "a table that is not the project's: relation:<as written>",
    sql: `select e.kind, e.at as happened_at from ext.Events_Archive as e`,
    columns: ['kind direct relation:ext.Events_Archive.kind', 'happened_at direct relation:ext.Events_Archive.at'],
  },
  {
    name: 'a source with declared columns',
    sql: `select id, json_extract_string(payload, '$.kind') as kind from raw.events`,
    columns: ['id direct raw.events.id', 'kind derived raw.events.payload'],
  },
  {
    name: 'unparseable SQL: error set, nothing thrown',
    sql: `select id, from analytics.orders where`,
    columns: [],
    error: /syntax error/,
  },
  {
    name: 'unnest in FROM: its column derived from the list argument',
    sql: `select o.id, u.tag from analytics.orders o, unnest(string_split(o.status, ',')) as u(tag)`,
    columns: ['id direct orders.id', 'tag derived orders.status'],
    untraced: [],
  },
  {
    name: 'JOIN ... USING: one column, from the left side',
    sql: `select * from analytics.orders join analytics.customers using (id)`,
    columns: [
      'id direct orders.id',
      'customer_id direct orders.customer_id',
      'amount direct orders.amount',
      'status direct orders.status',
      'created_at direct orders.created_at',
      'name direct customers.name',
      'country direct customers.country',
    ],
  },
  {
    name: 'a CTE shadows a table of the same name; lateral column aliases',
    sql: `with customers as (select customer_id as id, amount from analytics.orders)
          select id, amount * 2 as doubled, doubled + 1 as plus_one from customers`,
    columns: ['id direct orders.customer_id', 'doubled derived orders.amount', 'plus_one derived orders.amount'],
  },
  {
    name: 'unaliased expressions get the names DuckDB gives them; duplicates are renamed as DuckDB does',
    sql: `select amount * 2, cast(created_at as date), count(*) over (), id, id from analytics.orders`,
    columns: ['(amount * 2) derived orders.amount', 'CAST(created_at AS "DATE") direct orders.created_at', 'count() OVER () derived', 'id direct orders.id', 'id_1 direct orders.id'],
  },
  {
    name: 'an ambiguous column is attributed to each candidate, with a note',
    sql: `select id, name from analytics.orders, analytics.customers`,
    columns: ['id direct customers.id, orders.id', 'name direct customers.name'],
    untraced: ['column id: ambiguous between analytics.orders, analytics.customers (attributed to each)'],
  },
  {
    name: 'select * from a table whose columns are unknown',
    sql: `select * from ext.mystery`,
    columns: [],
    untraced: ['*: the columns of ext.mystery are unknown'],
  },
  {
    name: 'COLUMNS(...) is reported, the other columns traced',
    sql: `select id, max(columns('^a')) from analytics.orders group by id`,
    columns: ['id direct orders.id'],
    untraced: ['COLUMNS(...) expression'],
  },
  {
    name: 'current_date is a function when no column has that name; JSON -> is not a lambda',
    sql: `select created_at < current_date as is_past, payload -> 'kind' as kind, list_transform([id], x -> x + 1) as ids from raw.events`,
    columns: ['is_past derived raw.events.created_at', 'kind derived raw.events.payload', 'ids derived raw.events.id'],
  },
  {
    name: 'PIVOT with an IN list: its columns are traced',
    sql: `select * from analytics.orders pivot (sum(amount) for status in ('paid', 'open') group by customer_id)`,
    columns: ['customer_id direct orders.customer_id', 'paid derived orders.amount, orders.status', 'open derived orders.amount, orders.status'],
  },
  {
    name: "a FROM item's alias as a value is its whole row; (t).a is t.a",
    sql: `select o as r, to_json(c) as j, (o).amount as a, ((c).name) as n from analytics.orders o join analytics.customers c on c.id = o.customer_id`,
    columns: ['r derived orders.amount, orders.created_at, orders.customer_id, orders.id, orders.status', 'j derived customers.country, customers.id, customers.name', 'a direct orders.amount', 'n direct customers.name'],
  },
  {
    name: "a column named like a FROM item's alias is the column",
    sql: `select status from analytics.orders status`,
    columns: ['status direct orders.status'],
  },
  {
    name: 'a struct column: (s).f is a field of it',
    sql: `select (s).id as i from (select struct_pack(id := id, n := name) as s from analytics.customers) t`,
    columns: ['i derived customers.id, customers.name'],
  },
  {
    // (was: the default branch, no source at all: `#2` of a PII column passed the PII check)
    name: '#n is the n-th column of the FROM items, one after the other (a USING column once per side); unaliased, it is named as that column',
    sql: `select #2 as x, #2, upper(#3) as u, #6 from analytics.orders o join analytics.customers c using (id)`,
    columns: ['x direct orders.customer_id', 'customer_id direct orders.customer_id', 'u derived orders.amount', 'id direct customers.id'],
  },
  {
    name: '#n past a relation whose columns are unknown is reported',
    sql: `select #1 as a, #4 as b, #5 from raw.events, ext.mystery`,
    columns: ['a direct raw.events.id', 'b derived'],
    untraced: ['#4: the columns of ext.mystery are unknown, so which one it is is unknown', '#5: the columns of ext.mystery are unknown, so which one it is is unknown', 'column 3: an unaliased expression whose DuckDB name could not be derived'],
  },
  {
    // (was: only the function's arguments were read: `status.upper()` derived from nothing, and a PII column published through it unseen)
    name: "DuckDB's dot call: x.f(a) is f(x, a), t.x.f() is f(t.x), chained, on a select-list alias, in a lambda's body",
    sql: `select status.upper() as s, o.amount.round(2) as a, o.status.lower().trim() as t, o.id as n, n.abs() as m, o.status.concat(c.name) as sc,
            list_transform([o.id], x -> x.add(c.id)) as l, payload.json_extract('$.k') as k
          from analytics.orders o join analytics.customers c on c.id = o.customer_id, raw.events e`,
    columns: ['s derived orders.status', 'a derived orders.amount', 't derived orders.status', 'n direct orders.id', 'm derived orders.id', 'sc derived customers.name, orders.status', 'l derived customers.id, orders.id', 'k derived raw.events.payload'],
  },
  {
    name: 'a schema-qualified function (a macro made in a schema) whose schema names no column reads its arguments only',
    sql: `select main.my_macro(amount) as a, analytics.f(c.name) as b from analytics.orders o join analytics.customers c on c.id = o.customer_id`,
    columns: ['a derived orders.amount', 'b derived customers.name'],
  },
];

describe('columnLineage: hand-written cases', () => {
  let results: Map<string, NodeLineage>;
  it('traces every case in one call, without throwing', async () => {
    results = await columnLineage(cases.map((c, i) => ({ unique_id: `model.shop.case${i}`, sql: c.sql })), ctx);
    expect(results.size).toBe(cases.length);
  });
  cases.forEach((c, i) => {
    it(c.name, () => {
      const r = results.get(`model.shop.case${i}`)!;
      if (c.error) expect(r.error).toMatch(c.error);
      else expect(r.error).toBeUndefined();
      expect(r.columns.map(show)).toEqual(c.columns);
      expect(r.untraced).toEqual(c.untraced ?? []);
    });
  });

  it('an ephemeral model inlined as a __vigil_eph_ CTE is a reference to that model, whose computed columns expand *', async () => {
    const r = await columnLineage(
      [
        { unique_id: 'model.shop.eph', sql: 'select id, amount * 2 as double_amount from analytics.orders' },
        // the CTE's body is not what is traced: resolve() names the ephemeral model
        { unique_id: 'model.shop.mart', sql: 'with "__vigil_eph_eph" as (select 1 as bogus)\nselect * from (\nselect e.*, e.id + 1 as next_id from "__vigil_eph_eph" as e\n) as __vigil_model' },
      ],
      ctx,
    );
    expect(r.get('model.shop.eph')!.columns.map(show)).toEqual(['id direct orders.id', 'double_amount derived orders.amount']);
    expect(r.get('model.shop.mart')!.columns.map(show)).toEqual(['id direct eph.id', 'double_amount direct eph.double_amount', 'next_id derived eph.id']);
    expect(r.get('model.shop.mart')!.untraced).toEqual([]);
  });

  it("a relation whose columns are only partly known (a source's declared ones): * says so, other names are its columns, a model traced incomplete is partial too", async () => {
    const r = await columnLineage(
      [
        { unique_id: 'star', sql: 'select * exclude (payload) from raw.events' },
        { unique_id: 'named', sql: 'select e.id, prompt, e.ssn from raw.events e' },
        { unique_id: 'row', sql: 'select e as r from raw.events e' },
        { unique_id: 'model.shop.wide', sql: 'select o.id, x.* from analytics.orders o, other.t x' },
        { unique_id: 'reader', sql: 'select * from analytics.wide' },
        { unique_id: 'full', sql: 'select * from analytics.orders' },
      ],
      { ...ctx, resolve: (parts, from) => (parts.join('.') === 'analytics.wide' ? 'model.shop.wide' : ctx.resolve(parts, from)), partial: (id) => (id === EVENTS ? true : undefined) },
    );
    expect(r.get('star')!.columns.map(show)).toEqual(['id direct raw.events.id', 'created_at direct raw.events.created_at']);
    expect(r.get('star')!.untraced).toEqual(['*: raw.events may have columns besides its 3 known ones (id, payload, created_at)']);
    expect(r.get('star')!.complete).toBe(false);
    expect(r.get('named')!.columns.map(show)).toEqual(['id direct raw.events.id', 'prompt direct raw.events.prompt', 'ssn direct raw.events.ssn']);
    expect(r.get('named')!.untraced).toEqual([]);
    expect(r.get('row')!.columns.map(show)).toEqual(['r derived raw.events.created_at, raw.events.e, raw.events.id, raw.events.payload']);
    expect(r.get('row')!.untraced).toEqual(['e as a value (its whole row): e may have columns besides its 3 known ones (id, payload, created_at)']);
    expect(r.get('reader')!.untraced).toEqual(['*: analytics.wide may have columns besides its known one (id)']);
    expect(r.get('full')!.untraced).toEqual([]);
    expect(r.get('full')!.complete).toBe(true);
  });

  it("a CTE or subquery of `select *` over a partly known relation is partly known: a qualified name not among its columns is the relation's, not its whole row", async () => {
    const r = await columnLineage(
      [
        { unique_id: 'cte', sql: 'with e as (select * from raw.events), o as (select * from analytics.orders) select o.id, e.tier from o join e on o.id = e.id' },
        { unique_id: 'sub', sql: 'select s.tier as t from (select * from raw.events) s' },
        { unique_id: 'unqualified', sql: 'with e as (select * from raw.events) select tier from e' },
        { unique_id: 'excluded', sql: 'with e as (select * exclude (tier) from raw.events) select e.tier from e' },
        { unique_id: 'row', sql: 'with e as (select * from raw.events) select to_json(e) as j from e' },
        { unique_id: 'known', sql: 'with o as (select id from analytics.orders) select o.amount from o' },
      ],
      { ...ctx, partial: (id) => (id === EVENTS ? true : undefined) },
    );
    const star = '*: raw.events may have columns besides its 3 known ones (id, payload, created_at)';
    expect(r.get('cte')!.columns.map(show)).toEqual(['id direct orders.id', 'tier direct raw.events.tier']);
    expect(r.get('cte')!.untraced).toEqual([star]);
    expect(r.get('sub')!.columns.map(show)).toEqual(['t direct raw.events.tier']);
    expect(r.get('sub')!.untraced).toEqual([star]);
    expect(r.get('unqualified')!.columns.map(show)).toEqual(['tier direct raw.events.tier']);
    expect(r.get('excluded')!.columns.map(show)).toEqual(['tier derived']);
    // its whole row is still all its columns
    expect(r.get('row')!.columns.map(show)).toEqual(['j derived raw.events.created_at, raw.events.e, raw.events.id, raw.events.payload']);
    expect(r.get('row')!.untraced).toEqual([star, 'e as a value (its whole row): e may have columns besides its 3 known ones (id, payload, created_at)']);
    // a CTE whose columns are all known: an unknown name is unknown, not the whole row
    expect(r.get('known')!.columns.map(show)).toEqual(['amount derived']);
    expect(r.get('known')!.untraced).toEqual(['column o.amount: not among the known columns of o']);
  });

  it('a CTE named like an ephemeral model that resolve() does not know is descended into', async () => {
    const r = await columnLineage([{ unique_id: 'm', sql: 'with __vigil_eph_other as (select id from analytics.orders) select * from __vigil_eph_other' }], {
      resolve: (parts, from) => ctx.resolve(parts.length === 1 && parts[0] === '__vigil_eph_other' ? ['nothing'] : parts, from),
      columnsOf: ctx.columnsOf,
    });
    expect(r.get('m')!.columns.map(show)).toEqual(['id direct orders.id']);
  });

  it('odd input: empty SQL, a non-SELECT statement, a throwing context', async () => {
    const r = await columnLineage(
      [
        { unique_id: 'empty', sql: '-- nothing' },
        { unique_id: 'ddl', sql: 'create table x (a int)' },
        { unique_id: 'ok', sql: 'select a from t' },
      ],
      {
        resolve: () => {
          throw new Error('boom');
        },
        columnsOf: () => {
          throw new Error('boom');
        },
      },
    );
    expect(r.get('empty')!.error).toBe('no SQL statement');
    expect(r.get('ddl')!.error).toMatch(/SELECT/);
    expect(r.get('ok')!.columns.map(show)).toEqual(['a direct relation:t.a']);
  });

  // its speed is measured by the bench (`node bench/run.js compile`: docs generate of 1,000 models), not here
  it('1,000 models of 50 lines each: every column traced through the whole chain', async () => {
    const model = (i: number): string => {
      const a = i === 0 ? 'raw.events' : `analytics.m${i - 1}`;
      const lines = [
        `-- model ${i}`,
        'with base as (',
        '  select',
        '    id,',
        '    payload,',
        '    created_at,',
        '    cast(created_at as date) as created_date',
        `  from ${a}`,
        '  where id is not null',
        '),',
        'people as (',
        '  select',
        '    id as person_id,',
        '    name,',
        '    country',
        '  from analytics.customers',
        '),',
        'joined as (',
        '  select',
        '    b.*,',
        '    p.name,',
        '    p.country,',
        "    case when b.id > 100 then 'big' when b.id > 10 then 'mid' else 'small' end as size,",
        '    row_number() over (partition by p.country order by b.created_at desc) as rn',
        '  from base as b',
        '  left join people as p on p.person_id = b.id',
        ')',
        'select',
        '  id,',
        '  payload,',
        '  created_at,',
        '  created_date,',
        '  name,',
        '  country,',
        '  size,',
        '  rn,',
        '  (select max(id) from base as b2 where b2.created_date = joined.created_date) as max_id,',
        '  count(*) over (partition by country) as per_country,',
        '  id + 1',
        'from joined',
        'where rn <= 10',
        "  and size <> 'small'",
        "  and created_date >= date '2020-01-01'",
        '  and country is not null',
        '-- filler',
        '-- filler',
        '-- filler',
        '-- filler',
        '-- filler',
        `-- end of model ${i}`,
      ];
      expect(lines.length).toBe(50);
      return lines.join('\n');
    };
    const inputs = Array.from({ length: 1000 }, (_, i) => ({ unique_id: `model.shop.m${i}`, sql: model(i) }));
    const bigCtx: LineageContext = {
      resolve: (parts, from) => (parts[0] === 'analytics' && /^m\d+$/.test(parts[1]) ? `model.shop.${parts[1]}` : ctx.resolve(parts, from)),
      columnsOf: ctx.columnsOf,
    };
    await columnLineage(inputs.slice(0, 5), bigCtx); // warm up (loading DuckDB)
    const started = performance.now();
    const r = await columnLineage(inputs, bigCtx);
    const ms = performance.now() - started;
    const last = r.get('model.shop.m999')!;
    expect(last.untraced).toEqual([]);
    expect(last.columns.map(show)).toEqual([
      'id direct m998.id',
      'payload direct m998.payload',
      'created_at direct m998.created_at',
      'created_date direct m998.created_at',
      'name direct customers.name',
      'country direct customers.country',
      'size derived m998.id',
      'rn derived customers.country, m998.created_at',
      'max_id derived m998.created_at, m998.id',
      'per_country derived customers.country',
      '(id + 1) derived m998.id',
    ]);
    console.log(`column lineage of 1,000 models x 50 lines: ${ms.toFixed(0)} ms`);
  });
});

describe('columnLineage: the shipped project, compiled', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(removeDir));

  interface ManifestNode {
    unique_id: string;
    resource_type: string;
    name: string;
    compiled_sql?: string;
    depends_on?: string[];
    relation?: { schema: string; identifier: string };
    columns?: Array<{ name: string }>;
  }

  it('every model parses, and ai_audit_daily columns trace back to ai_audit_logs', async () => {
    // `vigil` is the built CLI (`npm test` builds it first; bin/vigil.js builds dist/ when it is missing)
    const dir = mkdtempSync(join(tmpdir(), 'vigil-lineage-'));
    dirs.push(dir);
    for (const f of ['project.yaml', 'models', 'macros', 'seeds', 'snapshots', 'tests']) {
      if (existsSync(join(REPO, f))) cpSync(join(REPO, f), join(dir, f), { recursive: true });
    }
    const compiled = vigil(dir, ['compile']);
    expect(compiled.code, compiled.stdout + compiled.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'target', 'manifest.json'), 'utf8')) as { nodes: Record<string, ManifestNode>; sources: Record<string, ManifestNode> };

    const byRelation = new Map<string, string>();
    const declaredColumns = new Map<string, string[]>();
    for (const n of [...Object.values(manifest.nodes), ...Object.values(manifest.sources)]) {
      if (n.relation) byRelation.set(`${n.relation.schema}.${n.relation.identifier}`.toLowerCase(), n.unique_id);
      else if (n.resource_type === 'model') byRelation.set(`__vigil_eph_${n.name}`.toLowerCase(), n.unique_id);
      if (n.columns?.length) declaredColumns.set(n.unique_id, n.columns.map((c) => c.name));
    }
    const projectCtx: LineageContext = {
      resolve: (parts) => byRelation.get(parts.slice(-2).join('.')),
      columnsOf: (id) => declaredColumns.get(id),
    };
    // models in dependency order
    const models = Object.values(manifest.nodes).filter((n) => n.resource_type === 'model');
    const ordered: ManifestNode[] = [];
    const seen = new Set<string>();
    const visit = (n: ManifestNode): void => {
      if (seen.has(n.unique_id)) return;
      seen.add(n.unique_id);
      for (const d of n.depends_on ?? []) if (manifest.nodes[d]) visit(manifest.nodes[d]);
      ordered.push(n);
    };
    models.forEach(visit);
    expect(models.length).toBeGreaterThanOrEqual(5);

    const lineage = await columnLineage(ordered.map((n) => ({ unique_id: n.unique_id, sql: n.compiled_sql ?? '' })), projectCtx);
    for (const n of models) {
      const l = lineage.get(n.unique_id)!;
      expect(l.error, n.name).toBeUndefined();
      expect(l.columns.length, n.name).toBeGreaterThan(0);
      expect(l.untraced, n.name).toEqual([]);
    }

    // follow the lineage through the models down to source columns
    const sourcesOf = (node: string, column: string): string[] => {
      const l = lineage.get(node);
      if (!l) return [`${node}.${column}`];
      const c = l.columns.find((x) => x.name.toLowerCase() === column.toLowerCase());
      if (!c) return [];
      return [...new Set(c.from.flatMap((f) => sourcesOf(f.node, f.column)))].sort();
    };
    const daily = 'model.ai_audit.ai_audit_daily';
    const logs = 'source.ai_audit.raw.ai_audit_logs';
    const col = (name: string) => lineage.get(daily)!.columns.find((c) => c.name === name);
    expect(col('date')).toEqual({ name: 'date', kind: 'direct', from: [{ node: 'model.ai_audit.stg_ai_audit_logs', column: 'created_date' }] });
    expect(sourcesOf(daily, 'date')).toEqual([`${logs}.created_at`]);
    expect(sourcesOf(daily, 'capability')).toEqual([`${logs}.capability`]);
    expect(sourcesOf(daily, 'workspace_count')).toEqual([`${logs}.workflow_id`]);
    expect(sourcesOf(daily, 'avg_latency_ms')).toEqual([`${logs}.response_metadata`]);
    expect(sourcesOf(daily, 'error_count')).toEqual([`${logs}.response_metadata`, `${logs}.response_status`]);
    expect(col('interaction_count')).toEqual({ name: 'interaction_count', kind: 'derived', from: [] });

    // the mart over the ephemeral int_capability_daily reads it as a model, not as its inlined CTE
    const anomalies = lineage.get('model.ai_audit.ai_audit_capability_anomalies')!;
    expect(anomalies.columns.find((c) => c.name === 'interaction_count')).toEqual({
      name: 'interaction_count',
      kind: 'direct',
      from: [{ node: 'model.ai_audit.int_capability_daily', column: 'interaction_count' }],
    });
    expect(sourcesOf('model.ai_audit.ai_audit_capability_anomalies', 'capability')).toEqual([`${logs}.capability`]);
  });
});

describe("vigil docs generate: a snapshot's columns are its query's, then the four it adds", () => {
  it('dbt_valid_from, dbt_valid_to, dbt_updated_at, dbt_scd_id trace to the snapshot, and from it to what they are made of', () => {
    const dir = makeProject({
      'seeds/src.csv': 'id,k2,v,u\n1,a,x,2024-01-01\n2,b,y,2024-01-02\n',
      'snapshots/snap.sql': "{% snapshot snap %}\n{{ config(unique_key=['id', 'k2'], strategy='check', check_cols=['v']) }}\nselect id, k2, v from {{ ref('src') }}\n{% endsnapshot %}\n",
      'snapshots/snapts.sql': "{% snapshot snapts %}\n{{ config(unique_key='id', strategy='timestamp', updated_at='u') }}\nselect id, v, u from {{ ref('src') }}\n{% endsnapshot %}\n",
      'snapshots/snapcu.sql': "{% snapshot snapcu %}\n{{ config(unique_key='id', strategy='check', check_cols=['v'], updated_at='u') }}\nselect id, v, u from {{ ref('src') }}\n{% endsnapshot %}\n",
      'models/fct.sql': "select s.id, s.dbt_valid_from, t.dbt_scd_id from {{ ref('snap') }} as s join {{ ref('snapts') }} as t on t.id = s.id",
      'models/snapall.sql': "select * from {{ ref('snap') }}",
    });
    try {
      expect(vigil(dir, ['build']).code).toBe(0);
      const g = vigil(dir, ['docs', 'generate']);
      expect(g.code, g.stdout + g.stderr).toBe(0);
      // (was: "1 node with constructs not traced": s.dbt_valid_from not among the known columns of s)
      expect(g.stdout).not.toMatch(/not traced/);
      const nodes = JSON.parse(readFileSync(join(dir, 'target/docs/docs.json'), 'utf8')).nodes as Array<{ id: string; lineage_notes: string[]; columns: Array<{ name: string; how?: string; from: Array<{ node: string; column: string }> }> }>;
      const lineage = (id: string) => {
        const n = nodes.find((x) => x.id === id)!;
        return { notes: n.lineage_notes, columns: n.columns.map((c) => `${c.name} ${c.how} ${c.from.map((f) => `${f.node.split('.').pop()}.${f.column}`).join(', ')}`.trim()) };
      };
      // check strategy: the run's time, from no column; the key columns make dbt_scd_id
      expect(lineage('snapshot.fixture.snap')).toEqual({
        notes: [],
        columns: ['id direct src.id', 'k2 direct src.k2', 'v direct src.v', 'dbt_valid_from derived', 'dbt_valid_to derived', 'dbt_updated_at derived', 'dbt_scd_id derived src.id, src.k2'],
      });
      // timestamp strategy: updated_at's column
      expect(lineage('snapshot.fixture.snapts').columns).toEqual(['id direct src.id', 'v direct src.v', 'u direct src.u', 'dbt_valid_from direct src.u', 'dbt_valid_to derived src.u', 'dbt_updated_at direct src.u', 'dbt_scd_id derived src.id, src.u']);
      // check with updated_at: its column too, as dbt (was: the run's time, updated_at ignored)
      expect(lineage('snapshot.fixture.snapcu').columns).toEqual(lineage('snapshot.fixture.snapts').columns);
      expect(lineage('model.fixture.fct')).toEqual({ notes: [], columns: ['id direct snap.id', 'dbt_valid_from direct snap.dbt_valid_from', 'dbt_scd_id direct snapts.dbt_scd_id'] });
      // select *: every column of the snapshot (was: its four with no lineage)
      expect(lineage('model.fixture.snapall').columns).toEqual(['id', 'k2', 'v', 'dbt_valid_from', 'dbt_valid_to', 'dbt_updated_at', 'dbt_scd_id'].map((c) => `${c} direct snap.${c}`));
    } finally {
      removeDir(dir);
    }
  });
});

describe('vigil docs generate without the warehouse (--empty-catalog, or before the first build)', () => {
  it('on Postgres, a name written unquoted is the lower-case one Postgres gives the column, on its page and in what reads it, as the PII check reads it (was: "Upper" and "TEAM", columns Postgres does not have)', () => {
    const dir = makeProject({
      // (never connected to: --empty-catalog does not open the warehouse)
      'project.yaml': 'name: fixture\ndefault_target: pg\ntargets:\n  pg: { type: postgres, url: "postgres://nobody@127.0.0.1:1/none", schema: analytics }\n',
      'seeds/people.csv': 'id,name,team\n1,ann,a\n',
      'models/up.sql': `select id as "MixedCase", name as Upper, TEAM from {{ ref('people') }}`,
      'models/down.sql': `select "MixedCase", upper, team as t from {{ ref('up') }}`,
    });
    try {
      const g = vigil(dir, ['docs', 'generate', '--empty-catalog']);
      expect(g.code, g.stdout + g.stderr).toBe(0);
      type Col = { name: string; from: Array<{ node: string; column: string }>; used_by: Array<{ node: string; column: string }> };
      const nodes = JSON.parse(readFileSync(join(dir, 'target/docs/docs.json'), 'utf8')).nodes as Array<{ id: string; columns: Col[] }>;
      const cols = (id: string) => nodes.find((x) => x.id === id)!.columns.map((c) => `${c.name} <- ${c.from.map((f) => `${f.node.split('.').pop()}.${f.column}`).join(', ')}`);
      expect(cols('model.fixture.up')).toEqual(['MixedCase <- people.id', 'upper <- people.name', 'team <- people.team']);
      expect(cols('model.fixture.down')).toEqual(['MixedCase <- up.MixedCase', 'upper <- up.upper', 't <- up.team']);
    } finally {
      removeDir(dir);
    }
  });
  it("a seed's columns are its CSV header's; a source's declared ones are some of them; a snapshot's or an ephemeral model's copy of PII is tagged pii (was: sub.t and dbt_scd_id 'derived from customers.email', no note, no tag)", () => {
    const dir = makeProject({
      'seeds/customers.csv': 'id,name,email,tier\n1,Ann,a@x.com,gold\n',
      'seeds/customers.yml': 'seeds:\n  - name: customers\n    columns:\n      - name: email\n        meta: { pii: true }\n',
      'seeds/plain.csv': 'a,b\n1,2\n',
      'models/src.yml': 'sources:\n  - name: crm\n    schema: analytics\n    tables:\n      - name: people\n        identifier: customers\n        columns:\n          - name: email\n',
      'models/sub.sql': "select s.tier as t from (select * from {{ ref('customers') }}) s",
      'models/from_source.sql': "select * from {{ source('crm', 'people') }}",
      'models/stg.sql': "{{ config(materialized='ephemeral') }}\nselect id, email from {{ ref('customers') }}",
      'models/uses_stg.sql': "select id from {{ ref('stg') }}",
      'snapshots/snap.sql': "{% snapshot snap %}\n{{ config(unique_key='id', strategy='check', check_cols='all', target_schema='snapshots') }}\nselect * from {{ ref('customers') }}\n{% endsnapshot %}\n",
    });
    try {
      const g = vigil(dir, ['docs', 'generate', '--empty-catalog']);
      expect(g.code, g.stdout + g.stderr).toBe(0);
      type Col = { name: string; pii?: string; from: Array<{ node: string; column: string }> };
      const nodes = JSON.parse(readFileSync(join(dir, 'target/docs/docs.json'), 'utf8')).nodes as Array<{ id: string; lineage_notes: string[]; columns: Col[] }>;
      const node = (id: string) => nodes.find((x) => x.id === id)!;
      const from = (id: string, col: string) => node(id).columns.find((c) => c.name === col)!.from.map((f) => `${f.node.split('.').pop()}.${f.column}`);
      expect(node('seed.fixture.customers').columns.map((c) => c.name)).toEqual(['id', 'name', 'email', 'tier']);
      expect(node('seed.fixture.plain').columns.map((c) => c.name)).toEqual(['a', 'b']);
      expect(from('model.fixture.sub', 't')).toEqual(['customers.tier']);
      expect(node('model.fixture.sub').lineage_notes).toEqual([]);
      expect(from('snapshot.fixture.snap', 'dbt_scd_id')).toEqual(['customers.id']);
      expect(node('model.fixture.from_source').lineage_notes).toEqual(['*: analytics.customers may have columns besides its known one (email)']);
      // PII tags: the snapshot's and the ephemeral model's copies of customers.email
      const pii = (id: string) => node(id).columns.filter((c) => c.pii).map((c) => `${c.name}: ${c.pii}`);
      expect(pii('snapshot.fixture.snap')).toEqual(['email: customers.email']);
      expect(pii('model.fixture.stg')).toEqual(['email: customers.email']);
      expect(pii('model.fixture.uses_stg')).toEqual([]);
      const html = readFileSync(join(dir, 'target/docs/nodes/snapshot.fixture.snap.html'), 'utf8');
      expect(html.match(/<tr id="col-email">.*?<\/tr>/)?.[0]).toContain('<span class="tag policy" title="PII: customers.email">pii</span>');
      expect(html.match(/<tr id="col-tier">.*?<\/tr>/)?.[0]).not.toContain('pii');
    } finally {
      removeDir(dir);
    }
  });
});
