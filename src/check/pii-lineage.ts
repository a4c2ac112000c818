/**
 * The compile-time PII check (docs/governance.md#masking): no column marked PII reaches a
 * published relation unmasked, through any chain of models. Column lineage from the compiled SQL
 * (docs/column-lineage.ts, DuckDB's parser) says what each output column is derived from; a
 * column is *live PII* when it is a PII column of a source or model (compile/masking.ts `isPii`)
 * that its relation publishes unmasked, or a model column derived (directly or through any
 * expression) from live PII. A model column derived from live PII is an error unless its YAML
 * gives it a policy (the published relation masks it) or declassifies it (`meta: { pii: false }`:
 * reviewed, holds no personal data, e.g. a character count). Ephemeral models pass the taint on
 * (their own PII columns too: nothing masks them). A model's restricted companion
 * (`<model>__restricted`) read by name is its unmasked rows: every PII column of it is live. A
 * relation read by name (no ref(): no depends_on) is resolved against every node, as any is, and
 * what it reads is traced before its reader (piiLineage's rounds), for models and queries alike.
 *
 * A source's columns are its YAML's, which need not be all of them (Vigil does not read the
 * warehouse at compile): `*` over a source is expanded as far as they go and reported. A seed's
 * are its CSV header's, a model's its compiled SELECT's.
 *
 * What it cannot see: anything the lineage leaves untraced (`select *` over a relation whose
 * columns are unknown or only declared, table functions, COLUMNS(...), SQL DuckDB's parser
 * refuses) — reported as warnings on the models that read live PII — and meaning: a UDF or a
 * JSON path is a derivation like any other, so `json_extract(prompt_json, '$.length')` is
 * flagged (declassify it) and a macro that copies PII through a string the parser cannot see is
 * not.
 *
 * It also holds a model with policies to its SQL: a declared column the SQL does not return
 * (a typo, or another spelling: the published SELECT quotes the declared name) is an error at
 * its YAML line, the lineage knowing the SQL's columns.
 *
 * Queries outside the models are read against the same live PII (piiLineage's `queries`): an
 * alert's (every column of its rows reaches its notifications and its state: one carrying live
 * PII is an error, as a model's), a dashboard tile's and its raw rows' (what they show is written
 * into the site, its PNGs and the BI exports: the same), a failing data test's (its printed
 * sample masks them) and a failing unit test's (the rows its model read from the warehouse). A column an alert or a tile reads of a model whose lineage is incomplete
 * and reads live PII, which the lineage did not trace (or derived from one), is that model's
 * W_PII repeated at the query's line naming it; an error on a raw-rows page (`rowLevel`).
 */
import { join } from 'node:path';
import { diag, didYouMean, type Diagnostic } from '../errors.js';
import { EPHEMERAL_CTE_PREFIX, type Dialect } from '../adapters/dialect.js';
import type { Manifest, ModelNode, SnapshotNode } from '../compile/manifest.js';
import { queryReads } from '../compile/manifest.js';
import { declassified, isPii, MASK_TEXT, policyOf, undeclaredContent } from '../compile/masking.js';
import { modelsAndSnapshotsInOrder } from '../compile/graph.js';
import { firstVersionsSql } from '../run/snapshot.js';
import { seedHeaderNames } from '../seeds/seed-csv.js';

/** Where a model's column is written: its YAML line, or the model file. */
export type ColumnLocator = (model: { name: string; file: string; properties_file?: string }, column: string | undefined) => { file: string; line?: number; column?: number };

/** Does the project mark anything PII? (Nothing to check otherwise: no lineage is computed.) */
export function hasPii(manifest: Manifest): boolean {
  return [...Object.values(manifest.sources), ...Object.values(manifest.nodes)].some((n) => 'columns' in n && (n.columns ?? []).some((c) => isPii(c)));
}

/** `root`: the project's folder, where a seed's CSV header gives its columns (else its YAML's). */
export async function piiLeaks(manifest: Manifest, dialect: Dialect, where: ColumnLocator, root?: string): Promise<Diagnostic[]> {
  return (await piiLineage(manifest, dialect, { where, root })).diagnostics;
}

/** Why a query's column lineage is incomplete: its SQL does not parse, or what could not be traced. */
const incompleteBecause = (l: { error?: string; untraced: string[] }): string => (l.error ? `its SQL does not parse as DuckDB SQL (${l.error.split('\n')[0]})` : l.untraced.join('; '));

/** What an E_PII on a query's column tells to do (an alert's, a dashboard tile's). */
export const PII_QUERY_HINT = 'read it from a model that publishes it masked (its YAML gives it a policy: mask | hash | redact | drop), or, reviewed, declassify it there with meta: { pii: false }';

/** A query that is not a model (an alert's, a dashboard tile's, a data test's), compiled: what it reads. */
export interface PiiQuery {
  id: string;
  sql: string;
  depends_on: string[];
  /**
   * an alert's or a tile's: its columns carrying live PII are errors (E_PII), its incomplete
   * lineage a warning, and so is a column it reads of a model whose lineage could not tell it
   * from PII (see unknownPii); where a column is written (undefined: the query). `rowLevel` (a
   * raw-rows page, listing rows one by one): such a column is an error too.
   */
  checked?: { what: string; where: (column: string | undefined) => Location; hint: string; rowLevel?: boolean };
}
/** Which columns of a query carry live PII. */
export interface QueryPii {
  /** by lower-cased name: the live PII each is read from (labels) */
  live: Map<string, string[]>;
  /** the columns the lineage traced, lower-cased; undefined when the SQL did not parse */
  traced?: Set<string>;
  /** the live PII it reads directly, when its lineage is incomplete (PII may reach a column unseen) */
  unseen: string[];
  /** its columns, lower-cased, read or derived from a model column whose lineage cannot tell it from PII (a W_PII model's untraced column) */
  unknown: Set<string>;
  /** a `checked` query's problems (also in piiLineage's diagnostics) */
  diagnostics: Diagnostic[];
  /**
   * the relations its SQL reads, not its own CTEs, as written (lower-cased, dotted), a node of the
   * project or not: what a unit test reads besides its givens (src/testing/unit-runner.ts);
   * undefined when its SQL did not parse
   */
  relations?: string[];
  /** the live PII it reads, by label, whatever its columns show: its warehouse errors are masked (redactedError) */
  reads?: string[];
  /**
   * it reads PII through a PIVOT whose columns are not all known (no IN list): the names of its
   * untraced columns are values of the data (`pivot ... on email`), masked in a sample as values are
   */
  namesFromData?: boolean;
}
type Location = ReturnType<ColumnLocator>;

/**
 * The PII check of the models (`where` given: its diagnostics) and the live PII of `queries`
 * read against it. Without `where` (or `everyModel`), only the models the queries read are traced.
 * In a project that marks no PII nothing is traced, unless `relations` asks what the queries read
 * (QueryPii.relations: then only they are, and nothing of them is live).
 * `live`: by node (source, seed, snapshot, model), its columns (lower-cased) that carry live PII,
 * each with the PII it is read from — a snapshot's and an ephemeral model's copies too (the docs
 * site tags them).
 */
export async function piiLineage(
  manifest: Manifest,
  dialect: Dialect,
  opts: { where?: ColumnLocator; root?: string; queries?: PiiQuery[]; relations?: boolean; everyModel?: boolean },
): Promise<{ diagnostics: Diagnostic[]; queries: Map<string, QueryPii>; live: Map<string, Map<string, string>>; reading: Map<string, string[]> }> {
  const queries = opts.queries ?? [];
  const out = new Map<string, QueryPii>();
  const live = new Map<string, Map<string, string>>();
  // by model or snapshot: the live PII its SQL reads (whatever it publishes), for its warehouse errors
  const reading = new Map<string, string[]>();
  const pii = hasPii(manifest);
  if ((!pii && !(opts.relations && queries.length)) || (!opts.where && !opts.everyModel && !queries.length)) return { diagnostics: [], queries: out, live, reading };
  const where: ColumnLocator = opts.where ?? (() => ({ file: '' }));
  const root = opts.root;
  const { columnLineage, lineageSpell, relationResolver, companionOf, companionModel } = await import('../docs/column-lineage.js');
  const label = (id: string, col: string) => {
    const s = manifest.sources[id];
    return s ? `source ${s.source_name}.${s.name}.${col}` : `${id.split('.').slice(2).join('.').replace(/#restricted$/, '__restricted')}.${col}`;
  };
  const headers = new Map<string, string[] | undefined>();
  const header = (id: string): string[] | undefined => {
    const n = manifest.nodes[id];
    if (n?.resource_type !== 'seed' || root === undefined) return undefined;
    if (!headers.has(id)) headers.set(id, seedHeaderNames(join(root, n.file), n.config));
    return headers.get(id);
  };
  for (const s of Object.values(manifest.sources)) {
    // a source publishes nothing: its PII columns are live whatever their policy says
    const pii = new Map(s.columns.filter((c) => isPii(c)).map((c) => [c.name.toLowerCase(), label(s.unique_id, c.name)]));
    if (pii.size) live.set(s.unique_id, pii);
  }
  const nodes = Object.values(manifest.nodes);
  for (const n of nodes) {
    // seeds and snapshots publish their PII columns as they are (no masking there)
    if (n.resource_type === 'seed' || n.resource_type === 'snapshot') {
      const pii = new Map(n.columns.filter((c) => isPii(c)).map((c) => [c.name.toLowerCase(), label(n.unique_id, c.name)]));
      if (pii.size) live.set(n.unique_id, pii);
    }
  }
  // snapshots too: a snapshot keeps its query's columns as they are, so a column it copies from
  // live PII is live in it (a model reading the snapshot was not checked: the PII passed through)
  const parsable = (sql: string) => dialect.parsableSql?.(sql) ?? sql;
  // what each node's or query's SQL reads by name (a relation it names, resolved as every name is:
  // a model's restricted companion as companionOf(it), a snapshot, a seed, another model), ref()
  // and source() or not; its own relation (an incremental model's `this`) left out
  const resolve = relationResolver(manifest, { companions: true });
  let named = new Map<string, Set<string>>();
  // and every relation it names, a node or not (QueryPii.relations)
  let relations = new Map<string, Set<string>>();
  const reads = (id: string, dependsOn: string[]): string[] => [...new Set([...dependsOn, ...(named.get(id) ?? [])])];
  /** The model or snapshot a read names (a companion: its model). */
  const builtBy = (id: string) => companionModel(id) ?? id;
  const inOrder = modelsAndSnapshotsInOrder(manifest.nodes);
  // (only the queries asked about: the models they read, through any chain — by ref() or by name)
  // (none in a project that marks no PII: the queries alone, for what they read)
  let upstream = !pii ? new Set<string>() : opts.where || opts.everyModel ? undefined : ancestors(manifest, queries.flatMap((q) => q.depends_on));
  let order = inOrder;
  let models: Array<ModelNode | SnapshotNode> = [];
  let lineage: Awaited<ReturnType<typeof columnLineage>> = new Map();
  // a name is known to be read only once its reader is traced: traced again, with what it read by
  // name among the relations traced (upstream) and traced before it (order), until nothing changes
  // (once when nothing reads a model or snapshot of the project by name)
  for (;;) {
    const now = new Map<string, Set<string>>();
    const names = new Map<string, Set<string>>();
    const only = upstream;
    models = order
      .filter((id) => !only || only.has(id))
      .map((id) => manifest.nodes[id])
      .filter((n): n is ModelNode | SnapshotNode => n?.resource_type === 'model' || n?.resource_type === 'snapshot');
    lineage = await columnLineage(
      [
        ...models.map((m) => {
          // a snapshot as the SELECT that builds it: dbt_scd_id holds its key columns as text
          const sql = m.resource_type === 'model' ? (m.unmasked_sql ?? m.compiled_sql) : firstVersionsSql(dialect, m);
          return { unique_id: m.unique_id, sql: parsable(sql) };
        }),
        // after every model: they read them
        ...queries.map((q) => ({ unique_id: q.id, sql: parsable(q.sql) })),
      ],
      {
        resolve: (parts, from) => {
          // (an inlined ephemeral model is a CTE of the reader's: not a relation it reads)
          if (!(parts.length === 1 && parts[0].startsWith(EPHEMERAL_CTE_PREFIX))) (names.get(from) ?? names.set(from, new Set()).get(from)!).add(parts.join('.'));
          const id = resolve(parts, from);
          if (id && builtBy(id) !== from) (now.get(from) ?? now.set(from, new Set()).get(from)!).add(id);
          return id;
        },
        columnsOf: (id) => {
          const n = manifest.nodes[id] ?? manifest.sources[id];
          return header(id) ?? (n && 'columns' in n && n.columns.length ? n.columns.map((c) => c.name) : undefined);
        },
        // a source's (and a seed's without its CSV) are only those its YAML declares
        partial: (id) => (manifest.sources[id] ? true : manifest.nodes[id]?.resource_type === 'seed' ? !header(id) : undefined),
        // a name the SQL writes unquoted, as the warehouse reads it (Postgres: lower case); one from
        // `*` keeps its relation's spelling
        spell: lineageSpell(dialect),
      },
    );
    named = now;
    relations = names;
    const byName = [...now.values()].flatMap((ids) => [...ids].map(builtBy)).filter((id) => manifest.nodes[id]?.resource_type === 'model' || manifest.nodes[id]?.resource_type === 'snapshot');
    const missing = upstream && pii ? byName.filter((id) => !upstream!.has(id)) : [];
    const at = new Map(models.map((m, i) => [m.unique_id, i]));
    const early = models.some((m, i) => [...(now.get(m.unique_id) ?? [])].some((id) => (at.get(builtBy(id)) ?? -1) > i));
    if (!missing.length && !early) break;
    // a query or model reads a project relation by name that was not traced: every model and
    // snapshot is traced from now on (growing the set a name at a time re-traced it once per link
    // of a chain of names: 100 links 0.2 s -> 3.5 s; R9), so at most a round to find what each reads
    // and one to trace it in order
    if (missing.length) upstream = undefined;
    // parents first, what a node reads by name too (unless that makes a cycle: then as ref() orders them)
    const withNamed = modelsAndSnapshotsInOrder(
      Object.fromEntries(Object.entries(manifest.nodes).map(([id, n]) => [id, { resource_type: n.resource_type, depends_on: reads(id, n.depends_on).map(builtBy) }])),
    );
    const next = withNamed.length === inOrder.length ? withNamed : inOrder;
    // nothing new to trace, nor to trace in another order (a cycle of names): as it is
    if (!missing.length && next.join('\n') === order.join('\n')) break;
    order = next;
  }
  const ds: Diagnostic[] = [];
  /**
   * The live PII read by the ephemeral models and views a node reads (their SQL runs in its query:
   * a warehouse error there is the reader's), whatever they publish: its warehouse errors may quote it.
   */
  const inlined = (id: string, dependsOn: string[]): string[] =>
    reads(id, dependsOn).flatMap((p) => {
      const n = manifest.nodes[builtBy(p)];
      return n?.resource_type === 'model' && (!n.relation || n.config.materialized === 'view' || p !== n.unique_id) ? (reading.get(n.unique_id) ?? []) : [];
    });
  /**
   * A column of a source, seed or snapshot that its YAML does not declare, named like prompt or
   * response content: PII by its name (docs/governance.md#policies), stored and read as it is (a
   * seed's CSV header, a source's undeclared column): live under any name a model gives it. (A
   * declared one is live above when PII, or was reviewed: meta: { pii: false }.)
   */
  const contentByName = (node: string, column: string): string[] => {
    const n = manifest.sources[node] ?? manifest.nodes[node];
    if (!n || !(n.resource_type === 'source' || n.resource_type === 'seed' || n.resource_type === 'snapshot')) return [];
    return undeclaredContent(column, n.columns) ? [label(node, column)] : [];
  };
  /** The live PII a traced column is read from, by label (its source or model column). */
  const liveFrom = (col: { from: Array<{ node: string; column: string }> }): string[] => col.from.flatMap((r) => live.get(r.node)?.get(r.column.toLowerCase()) ?? contentByName(r.node, r.column));
  /**
   * The columns of models whose lineage cannot tell them from PII, by model: those the lineage did
   * not trace (`traced`; none when the SQL did not parse) of a model that reads live PII with an
   * incomplete lineage (the W_PII below: `why`), and those derived from such a column (`derived`),
   * but for the ones its YAML masks (a policy) or declassifies (meta: { pii: false }).
   */
  const unknown = new Map<string, { why?: string; traced?: Set<string>; derived: Map<string, string>; declared: Map<string, ModelNode['columns'][number]>; masks: boolean }>();
  /** Why a model's column may be PII unseen (unknown), or undefined. */
  const unknownPii = (node: string, column: string): string | undefined => {
    const u = unknown.get(node);
    const c = column.toLowerCase();
    if (!u) return undefined;
    const d = u.declared.get(c);
    if (declassified(d) || (u.masks && d && policyOf(d))) return undefined;
    return u.derived.get(c) ?? (u.why && !u.traced?.has(c) ? u.why : undefined);
  };
  for (const m of models) {
    const l = lineage.get(m.unique_id);
    const readsLive = reads(m.unique_id, queryReads(m)).filter((p) => live.has(p));
    const readsPii = [...readsLive.flatMap((p) => [...live.get(p)!.values()]), ...inlined(m.unique_id, queryReads(m))];
    if (readsPii.length) reading.set(m.unique_id, [...new Set(readsPii)]);
    if (!l) continue;
    const declared = new Map(m.columns.map((c) => [c.name.toLowerCase(), c]));
    const u = { derived: new Map<string, string>(), declared, masks: m.resource_type === 'model' && !!m.relation } as NonNullable<ReturnType<typeof unknown.get>>;
    if (l.error || l.untraced.length) {
      if (readsLive.length) {
        const what = incompleteBecause(l);
        const reads = `${m.resource_type} '${m.name}' reads PII (${readsLive.flatMap((p) => [...live.get(p)!.values()]).join(', ')}) and its column lineage is incomplete: ${what}`;
        ds.push(diag('W_PII', `${reads}; PII may reach it unseen`, where(m, undefined), 'name its columns explicitly, or add the no_unmasked_pii test to it', 'warn'));
        Object.assign(u, { why: reads, traced: l.error ? undefined : new Set(l.columns.map((c) => c.name.toLowerCase())) });
        unknown.set(m.unique_id, u);
      }
      if (l.error) continue;
    }
    // a column derived from one whose lineage is unknown: unknown too
    for (const col of l.columns) {
      const ref = col.from.find((r) => unknownPii(r.node, r.column) !== undefined);
      if (ref) u.derived.set(col.name.toLowerCase(), `${unknownPii(ref.node, ref.column)} (through ${manifest.nodes[ref.node]?.name ?? ref.node}.${ref.column})`);
    }
    if (u.derived.size) unknown.set(m.unique_id, u);
    if (m.resource_type === 'model' && m.unmasked_sql && l.complete) {
      // the published SELECT names every declared column but a dropped one, quoted (compile/
      // masking.ts maskedSelect): one its SQL does not return under that exact name (the lineage's,
      // as the warehouse spells it) fails the build, or (a warehouse that reads quoted names
      // without case, DuckDB) publishes it renamed
      const returned = l.columns.map((c) => c.name);
      const has = new Set(returned);
      for (const c of m.columns) {
        if (has.has(c.name) || policyOf(c) === 'drop') continue;
        const spelled = returned.find((r) => r.toLowerCase() === c.name.toLowerCase());
        const hint = spelled ?? didYouMean(c.name, returned);
        const why = spelled
          ? `its SQL returns it as '${spelled}': the published SELECT names the declared spelling, quoted (${dialect.quoteIdent(c.name)}), so ${dialect.unquotedName ? 'its relation would not build' : `the column would be published renamed '${c.name}'`}`
          : 'its SQL returns no such column (a model with policies publishes exactly its declared columns: its relation would not build)';
        ds.push(
          diag(
            'E_MASKING',
            `column '${c.name}' of model '${m.name}' is declared, but ${why}${hint ? ` — did you mean '${hint}'?` : ''}`,
            where(m, c.name),
            hint ? `rename it '${hint}' in ${m.properties_file ?? 'its YAML'}` : `its SQL returns: ${returned.join(', ')}`,
          ),
        );
      }
    }
    if (m.resource_type === 'snapshot') {
      // a stored copy, as a seed (nothing masks it): its columns copied or derived from live PII
      // are live, as are the ones its YAML marks PII (set above), unless declassified
      const mine = live.get(m.unique_id) ?? new Map<string, string>();
      for (const col of l.columns) {
        const from = liveFrom(col);
        if (from.length && !declassified(declared.get(col.name.toLowerCase()))) mine.set(col.name.toLowerCase(), [...new Set(from)].join(', '));
      }
      if (mine.size) live.set(m.unique_id, mine);
      continue;
    }
    // a model with policies publishes exactly its declared columns
    const published = (name: string) => !m.unmasked_sql || declared.has(name.toLowerCase());
    const mine = new Map<string, string>();
    // its restricted companion: the unmasked rows, every PII column of them as it is
    const companion = m.restricted ? new Map<string, string>() : undefined;
    for (const col of l.columns) {
      const c = declared.get(col.name.toLowerCase());
      if (companion || !m.relation) {
        // (an ephemeral model's own PII columns reach its readers as they are: nothing masks them)
        const from = liveFrom(col);
        if (!from.length && isPii(c ?? { name: col.name })) from.push(label(companion ? companionOf(m.unique_id) : m.unique_id, col.name));
        if (from.length && !declassified(c)) (companion ?? mine).set(col.name.toLowerCase(), [...new Set(from)].join(', '));
      }
      // a published column named like prompt or response content is PII by its name (docs/
      // governance.md): masked when declared — undeclared, nothing masks it
      if (m.relation && published(col.name) && !declared.has(col.name.toLowerCase()) && isPii({ name: col.name })) {
        ds.push(diag('E_PII', `column '${col.name}' of model '${m.name}' is named like prompt or response content and is published unmasked: a content column is masked when its YAML declares it`, where(m, col.name), `declare it under the model's columns: in ${m.properties_file ?? 'its YAML'} (masked by default), or with meta: { pii: false } if it holds no content`));
        continue;
      }
      const from = liveFrom(col);
      if (!from.length || !published(col.name)) continue;
      if (declassified(c)) continue;
      if (m.relation && c && policyOf(c)) continue; // the published relation masks it
      mine.set(col.name.toLowerCase(), [...new Set(from)].join(', '));
      if (!m.relation) continue; // ephemeral: inlined into its readers, which are checked
      ds.push(
        diag(
          'E_PII',
          `column '${col.name}' of model '${m.name}' publishes PII unmasked: it is ${col.kind === 'direct' ? 'a copy of' : 'derived from'} ${[...new Set(from)].join(', ')}`,
          where(m, col.name),
          `give it a policy in ${m.properties_file ?? 'its YAML'} (policy: mask | hash | redact | drop), or mark it meta: { pii: false } if it holds no personal data`,
        ),
      );
    }
    // the model's own PII columns published as they are (a policy-less PII column is masked by compile)
    if (mine.size) live.set(m.unique_id, mine);
    if (companion?.size) live.set(companionOf(m.unique_id), companion);
  }
  const diagnostics = opts.where ? ds : [];
  for (const q of queries) {
    const l = lineage.get(q.id);
    const readsLive = reads(q.id, q.depends_on).filter((p) => live.has(p)).flatMap((p) => [...live.get(p)!.values()]);
    const r: QueryPii = {
      live: new Map(),
      traced: l?.error ? undefined : new Set(l?.columns.map((c) => c.name.toLowerCase())),
      unseen: l && (l.error || l.untraced.length) ? readsLive : [],
      unknown: new Set(),
      diagnostics: [],
      relations: l && !l.error ? [...(relations.get(q.id) ?? [])] : undefined,
      reads: [...new Set([...readsLive, ...inlined(q.id, q.depends_on)])],
      // (DuckDB's parser serializes no PIVOT statement: `pivot t on email` does not parse)
      namesFromData: readsLive.length > 0 && !!l && (l.untraced.some((u) => u.startsWith('PIVOT in FROM')) || (!!l.error && /\bpivot\b/i.test(q.sql))),
    };
    for (const col of l?.columns ?? []) {
      const from = [...new Set(liveFrom(col))];
      if (from.length) r.live.set(col.name.toLowerCase(), from);
      else if (col.from.some((x) => unknownPii(x.node, x.column) !== undefined)) r.unknown.add(col.name.toLowerCase());
    }
    out.set(q.id, r);
    if (!q.checked || !l) continue;
    const { what, hint } = q.checked;
    if (r.unseen.length) {
      const why = incompleteBecause(l);
      r.diagnostics.push(diag('W_PII', `${what} reads PII (${r.unseen.join(', ')}) and its column lineage is incomplete: ${why}; PII may reach it unseen`, q.checked.where(undefined), 'name its columns explicitly', 'warn'));
    }
    for (const col of l.columns) {
      const from = r.live.get(col.name.toLowerCase());
      if (from) {
        r.diagnostics.push(diag('E_PII', `column '${col.name}' of ${what} carries PII unmasked: it is ${col.kind === 'direct' ? 'a copy of' : 'derived from'} ${from.join(', ')}`, q.checked.where(col.name), hint));
        continue;
      }
      // the model's W_PII, repeated where the column is shown
      const ref = col.from.find((x) => unknownPii(x.node, x.column) !== undefined);
      if (!ref) continue;
      const model = manifest.nodes[ref.node];
      const of = `${model?.name ?? ref.node}.${ref.column}`;
      const msg = `column '${col.name}' of ${what} ${col.kind === 'direct' ? 'reads' : 'is derived from'} ${of}, whose lineage is unknown: ${unknownPii(ref.node, ref.column)}`;
      const fix = `give ${of} a policy in ${model && 'properties_file' in model && model.properties_file ? model.properties_file : 'its YAML'} (policy: mask | hash | redact | drop), or, reviewed, meta: { pii: false }; or name its model's columns explicitly so the lineage can follow them`;
      r.diagnostics.push(
        q.checked.rowLevel
          ? diag('E_PII', `${msg}: rows are listed one by one only with columns known to hold no PII`, q.checked.where(col.name), fix)
          : diag('W_PII', `${msg}; PII may reach it unseen`, q.checked.where(col.name), fix, 'warn'),
      );
    }
    diagnostics.push(...r.diagnostics);
  }
  return { diagnostics, queries: out, live, reading };
}

/** Every node `ids` read by ref() and source(), through any chain (the ids too). */
function ancestors(manifest: Manifest, ids: string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...ids];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(manifest.nodes[id]?.depends_on ?? []));
  }
  return seen;
}

/**
 * Which of a failing test's columns its sample (and its stored failures) shows as `'****'`, and
 * the names to show in place of those named after PII values (a PIVOT's: `****`, `****_2`).
 */
export function maskedColumns(columns: string[], pii: QueryPii | undefined, opts: { names?: boolean } = {}): { hidden: Set<string>; renamed: Map<string, string> } {
  const hidden = (col: string): boolean => {
    const c = col.toLowerCase();
    // a column the lineage did not trace, of a query reading PII it could not follow, may hold it
    // and one read from a model column whose lineage could not tell it from PII (that model's W_PII)
    return isPii({ name: col }) || (!!pii && (pii.live.has(c) || pii.unknown.has(c) || (pii.unseen.length > 0 && !pii.traced?.has(c))));
  };
  const cols = columns.filter(hidden);
  // a PIVOT's columns named after PII values (`pivot ... on email`): those names are masked too,
  // numbered to tell the columns apart (`****`, `****_2`)
  const renamed = new Map<string, string>();
  if (pii?.namesFromData && opts.names !== false) {
    for (const c of cols) if (!isPii({ name: c }) && !pii.live.has(c.toLowerCase()) && !pii.traced?.has(c.toLowerCase())) renamed.set(c, renamed.size ? `${MASK_TEXT}_${renamed.size + 1}` : MASK_TEXT);
  }
  return { hidden: new Set(cols), renamed };
}

/**
 * Any value of a sample row whose column carries PII (`pii`: a test's, piiLineage; none in a
 * project that marks no PII), may carry it unseen (its lineage unknown), or is named like prompt
 * or response content, shown as the mask policy shows it: `'****'`, NULL as NULL.
 */
export function maskedSample<R extends Record<string, unknown>>(rows: R[], pii: QueryPii | undefined, opts: { names?: boolean } = {}): R[] {
  if (!rows.length) return rows;
  const { hidden, renamed } = maskedColumns(Object.keys(rows[0]), pii, opts);
  if (!hidden.size) return rows;
  return rows.map((r) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) o[renamed.get(k) ?? k] = hidden.has(k) && v !== null && v !== undefined ? MASK_TEXT : v;
    return o as R;
  });
}

/**
 * Quoted text after these words names something of the schema or the SQL (`column "emial"`), not a
 * value (DuckDB's `Could not write file "/data/dev.duckdb.wal": No space left on device`: the file
 * a full disk refused, which the one line has to name); so does the signature DuckDB's binder quotes (`argument types 'lower(INTEGER)'`, `the
 * function call "date_diff(STRING_LITERAL, ...)"`).
 */
const NAMES_BEFORE = /\b(?:file|relation|column|columns|constraint|table|schema|type|types|function|call|index|role|database|sequence|view|catalog|extension|operator|collation|cursor|parameter|setting|specifier|macro|alias|field|name|mean|unique_key|partition_by|roles|snapshot)\s*$/i;

/**
 * A value the warehouse writes without quotes (a number, a date it built), each form with the
 * value in its capture groups: DuckDB's `Type INT64 with value 4155550123 can't be cast`, `Could
 * not cast value 4155550123 to DECIMAL(4,0)`, `Overflow in multiplication of INT32 (123456789 *
 * 100000)!`, `Date out of range: 123456789-1-1`, `Time out of range: 50123:0:0.0` (make_time), `Invalid
 * UTF8 Codepoint 123456789`; Postgres' `date out of range: 123456789-01-01`, `date field value out of
 * range: 2020-123456789-01` (make_date's month), `time field value out of range: 123456789:00:00`,
 * `requested character too large for encoding: 123456789`.
 */
const UNQUOTED_VALUES: RegExp[] = [
  /(\bwith value )(\S+)( can't be cast)/g,
  /(\bCould not cast value )(\S+)( to )/g,
  /(\bOverflow in \w+ of \w+ \()(\S+)( [-+*\/%] )(\S+)(\)!?)/g,
  /(\b(?:date|time)(?: field value)? out of range: )([^\s"']+)/gi,
  /(\bInvalid UTF8 Codepoint )(\S+)/g,
  /(\brequested character too large for encoding: )(\S+)/g,
];

/**
 * A warehouse's error of a node (a model, snapshot, seed, test, alert or tile query) that reads
 * live PII (`reads`: its labels, piiLineage's `reading` or QueryPii.reads), with the values the
 * warehouse quoted from the data masked (docs/governance.md#warehouse-errors): a quoted literal
 * (`'111-22-3333'`, `"a@x.com"`) becomes `'****' (11 characters)`, Postgres' `Key (email)=(...)` and
 * `Failing row contains (...)` hold `****`, and the value where else the message repeats it. Kept:
 * what names the schema (`column "emial"`, `constraint "t_pkey"`, after those words), text the
 * node's SQL holds itself (`sql`: a format, a literal of its own), and the SQL lines (`LINE 2:`).
 * A node that reads no PII keeps its error as it is.
 */
export function redactedError(message: string, reads: string[] | undefined, sql: string[] = []): string {
  if (!reads?.length) return message;
  const text = sql.join('\n').replace(/"/g, '').toLowerCase();
  const inSql = (v: string): boolean => {
    const l = v.toLowerCase();
    for (let i = text.indexOf(l); i >= 0; i = text.indexOf(l, i + 1)) {
      if (!/\w/.test(text[i - 1] ?? '') && !/\w/.test(text[i + l.length] ?? '')) return true;
    }
    return false;
  };
  const values = new Set<string>();
  const hide = (v: string): string => {
    if (v.trim()) values.add(v);
    return `****`;
  };
  const sized = (q: string, v: string) => `${q}****${q} (${[...v].length} character${[...v].length === 1 ? '' : 's'})`;
  const lines = message.split('\n').map((line) => {
    // the SQL, a caret under it, the names the warehouse suggests (DuckDB's `Candidate bindings:
    // "name", "ssn"`, Postgres' `HINT: Perhaps you need a different "datestyle" setting.`)
    if (/^\s*(LINE \d+:|\^\s*$|Candidate bindings:|HINT:)/.test(line)) return line;
    line = line
      .replace(/(\bKey \([^)]*\)=\()(.*)(\)(?= already exists| is (?:not present|still referenced|duplicated)| conflicts with))/, (_m, a: string, v: string, b: string) => `${a}${hide(v)}${b}`)
      .replace(/(\bFailing row contains \()(.*)(\))/, (_m, a: string, v: string, b: string) => `${a}${hide(v)}${b}`);
    // (numbers are not searched for elsewhere in the message: `100` would mask `(100 characters)`)
    for (const re of UNQUOTED_VALUES) line = line.replace(re, (_m, ...g: unknown[]) => g.slice(0, -2).map((x, i) => (i % 2 === 1 && !inSql(String(x)) ? '****' : String(x))).join(''));
    // (an apostrophe after a letter is English, not a quote: Vigil's own `the run's time`; and a
    // quote before a letter is inside the value, which the warehouse does not escape: DuckDB's
    // `string 'O'Brien' to INT32`, Postgres' `"a"b"`; the value then ends at a quote no letter follows)
    return line.replace(/(?<!\w)'((?:[^'\n]|''|'(?=\w))*)'(?!\w)|(?<!\w)'((?:[^'\n]|'')*)'|"((?:[^"\n]|""|"(?=\w))*)"(?!\w)|"((?:[^"\n]|"")*)"/g, (m: string, s1: string | undefined, s2: string | undefined, d1: string | undefined, d2: string | undefined, at: number, whole: string) => {
      const single = s1 ?? s2;
      const double = d1 ?? d2;
      const q = single !== undefined ? "'" : '"';
      const v = (single ?? double ?? '').replace(q === "'" ? /''/g : /""/g, q);
      if (!v || v === '****' || NAMES_BEFORE.test(whole.slice(0, at)) || inSql(v)) return m;
      // DuckDB's `Duplicate key "email: a@x.com"`: the column stays
      const keyed = /^key\s*$/i.test(whole.slice(Math.max(0, at - 4), at)) ? /^((?:[^:,]+: )?)(.*)$/.exec(v) : null;
      values.add(keyed ? keyed[2] : v);
      return keyed ? `${q}${keyed[1]}****${q} (${[...keyed[2]].length} characters)` : sized(q, v);
    });
  });
  // the value where the message shows it again (DuckDB's strptime echoes it on its own line)
  const again = [...values].filter((v) => v.length >= 3 && !inSql(v)).sort((a, b) => b.length - a.length);
  const out = lines.map((line) => (/^\s*LINE \d+:/.test(line) ? line : again.reduce((l, v) => l.split(v).join('****'), line)));
  const changed = out.join('\n') !== message;
  return changed ? `${out.join('\n')}\n    (values the warehouse quoted are masked: it reads PII — ${reads.slice(0, 3).join(', ')}${reads.length > 3 ? `, and ${reads.length - 3} more` : ''})` : message;
}
