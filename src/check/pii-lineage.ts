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
 * (`<model>__restricted`) read by name is its unmasked rows: every PII column of it is live.
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
 * (a typo) is an error at its YAML line, the lineage knowing the SQL's columns.
 */
import { join } from 'node:path';
import { diag, didYouMean, type Diagnostic } from '../errors.js';
import type { Dialect } from '../adapters/dialect.js';
import type { Manifest, ModelNode, SnapshotNode } from '../compile/manifest.js';
import { declassified, isPii, policyOf } from '../compile/masking.js';
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
  if (!hasPii(manifest)) return [];
  const { columnLineage, relationResolver, companionOf } = await import('../docs/column-lineage.js');
  const live = new Map<string, Map<string, string>>();
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
  const models = modelsAndSnapshotsInOrder(manifest.nodes).map((id) => manifest.nodes[id]).filter((n): n is ModelNode | SnapshotNode => n?.resource_type === 'model' || n?.resource_type === 'snapshot');
  const lineage = await columnLineage(
    models.map((m) => {
      // a snapshot as the SELECT that builds it: dbt_scd_id holds its key columns as text
      const sql = m.resource_type === 'model' ? (m.unmasked_sql ?? m.compiled_sql) : firstVersionsSql(dialect, m);
      return { unique_id: m.unique_id, sql: dialect.parsableSql?.(sql) ?? sql };
    }),
    {
      resolve: relationResolver(manifest, { companions: true }),
      columnsOf: (id) => {
        const n = manifest.nodes[id] ?? manifest.sources[id];
        return header(id) ?? (n && 'columns' in n && n.columns.length ? n.columns.map((c) => c.name) : undefined);
      },
      // a source's (and a seed's without its CSV) are only those its YAML declares
      partial: (id) => (manifest.sources[id] ? true : manifest.nodes[id]?.resource_type === 'seed' ? !header(id) : undefined),
    },
  );
  const ds: Diagnostic[] = [];
  /** The live PII a traced column is read from, by label (its source or model column). */
  const liveFrom = (col: { from: Array<{ node: string; column: string }> }): string[] => col.from.flatMap((r) => live.get(r.node)?.get(r.column.toLowerCase()) ?? []);
  for (const m of models) {
    const l = lineage.get(m.unique_id);
    const readsLive = m.depends_on.filter((p) => live.has(p));
    if (!l) continue;
    if (l.error || l.untraced.length) {
      if (readsLive.length) {
        const what = l.error ? `its SQL does not parse as DuckDB SQL (${l.error.split('\n')[0]})` : l.untraced.join('; ');
        ds.push(diag('W_PII', `${m.resource_type} '${m.name}' reads PII (${readsLive.flatMap((p) => [...live.get(p)!.values()]).join(', ')}) and its column lineage is incomplete: ${what}; PII may reach it unseen`, where(m, undefined), 'name its columns explicitly, or add the no_unmasked_pii test to it', 'warn'));
      }
      if (l.error) continue;
    }
    const declared = new Map(m.columns.map((c) => [c.name.toLowerCase(), c]));
    if (m.resource_type === 'model' && m.unmasked_sql && l.complete) {
      // the published SELECT names every declared column but a dropped one (compile/masking.ts
      // maskedSelect): one its SQL does not return fails the build (and the column meant is left out)
      const returned = l.columns.map((c) => c.name);
      const has = new Set(returned.map((n) => n.toLowerCase()));
      for (const c of m.columns) {
        if (has.has(c.name.toLowerCase()) || policyOf(c) === 'drop') continue;
        const hint = didYouMean(c.name, returned);
        ds.push(
          diag(
            'E_MASKING',
            `column '${c.name}' of model '${m.name}' is declared, but its SQL returns no such column (a model with policies publishes exactly its declared columns: its relation would not build)${hint ? ` — did you mean '${hint}'?` : ''}`,
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
  return ds;
}
