/**
 * Seeds for a run: every planned seed's CSV read and checked up front (a problem in any of them
 * is a project error at file:line, exit 2, before anything is loaded), then each loaded through
 * the warehouse's bulk load when its turn comes: the file itself when every warehouse reads it
 * alike (records ending in CRLF: where the bulk load reads them, `Adapter.loadsCrlf`), else a
 * normalized rewrite in a temporary folder.
 *
 * Where the warehouse can swap a table in cheaply (`Adapter.replaceTable`: DuckDB), a file is
 * loaded speculatively while it is being checked: into a staging table, with the types its first
 * rows suggest. The check decides: the same types and row count, and the staging table becomes
 * the seed at its turn (one rename); anything else, it is dropped and the seed loaded as above.
 * The warehouse then reads the file while Vigil checks it, instead of after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diag, ProjectError, type Diagnostic } from '../errors.js';
import type { Adapter, DroppedKey } from '../adapters/adapter.js';
import { scratchIdentifier, type Dialect, type Relation } from '../adapters/dialect.js';
import type { ManifestNode, SeedNode } from '../compile/manifest.js';
import type { ProjectFiles } from '../project/load-project.js';
import { loadFileFor, loadsAsIs, parseSeed, readSeedFile, type ScannedSeed, type SeedProblem } from './seed-csv.js';

/** A seed's CSV problems (parseSeed's) as diagnostics at the file's lines. */
export function seedDiagnostics(n: SeedNode, problems: SeedProblem[]): Diagnostic[] {
  return problems.map((p) => diag('E_SEED', `seed '${n.name}': ${p.message}`, { file: n.file, line: p.line, column: p.column }, p.hint));
}

/** Every seed of `nodes` read and checked as `vigil seed` checks it (nothing loaded): the problems. */
export function checkSeedFiles(root: string, nodes: ManifestNode[]): Diagnostic[] {
  return nodes.flatMap((n) => {
    if (n.resource_type !== 'seed') return [];
    const r = parseSeed(readSeedFile(join(root, n.file)), n.config);
    return Array.isArray(r) ? seedDiagnostics(n, r) : [];
  });
}

export interface SeedLoader {
  /** rows loaded, and the views the load dropped (Postgres, when the seed's columns changed) */
  load(n: SeedNode, adapter: Adapter): Promise<SeedLoaded>;
  /** the temporary files, and the staging tables of seeds the run did not reach (a failure upstream, Ctrl-C) */
  cleanup(): Promise<void>;
}

export interface SeedLoaded {
  rows: number;
  dropped: Relation[];
  /** foreign keys of other tables the load dropped with the table (its columns changed: Postgres' cascade) */
  droppedKeys?: DroppedKey[];
}

/** Rows of a seed whose types guess the whole file's for a speculative load. */
const SAMPLE_ROWS = 2000;

interface Speculation {
  stage: Relation;
  columns: ScannedSeed['columns'];
  newline: ScannedSeed['newline'];
  /** rows loaded, or undefined when the load failed (a value the sample's types do not take) */
  rows: Promise<number | undefined>;
}

/**
 * A seed's staging table, under the names Vigil keeps to itself (`<name>__vigil_seed`, refused at
 * compile as a model's, seed's or snapshot's name): `vigil_seed_stage_<name>` could be a model's,
 * and loading the seed dropped that model's table (or failed for good on its view).
 */
const stageOf = (n: SeedNode, d: Pick<Dialect, 'maxIdentifierBytes'>): Relation => ({ ...n.relation, identifier: scratchIdentifier(d, n.relation.identifier, 'seed') });
const sameColumns = (a: ScannedSeed['columns'], b: ScannedSeed['columns']) => a.length === b.length && a.every((c, i) => c.name === b[i].name && c.type === b[i].type && JSON.stringify(c.decimal) === JSON.stringify(b[i].decimal));

/**
 * Read and check every planned seed. `opening`: the warehouse being opened; when it can swap
 * tables in, each file is also loaded speculatively while it is checked.
 */
export async function prepareSeeds(files: ProjectFiles, nodes: ManifestNode[], opening?: Promise<Adapter>): Promise<SeedLoader> {
  const scanned = new Map<string, ScannedSeed>();
  const speculated = new Map<string, Speculation>();
  const ds: Diagnostic[] = [];
  // paths are the project root's, never the working directory's
  const abs = (n: SeedNode) => join(files.root, n.file);
  // a warehouse that fails to open is reported by the run, after the seeds are checked
  const adapter = opening ? await opening.catch(() => undefined) : undefined;
  const speculate = adapter?.replaceTable !== undefined;
  if (speculate) {
    // a run killed (kill -9, a second Ctrl-C) after a staging table was loaded and before its swap
    // left it, beside the seeds, for BI tools to find and for good once its seed is gone. The
    // warehouses that speculate are files one process writes at a time (DuckDB): any staging
    // table there now is a dead run's
    // (the suffix stageOf's scratch names end with, its underscores escaped for LIKE)
    const suffix = scratchIdentifier({}, '', 'seed').replace(/_/g, '\\_');
    const left = await adapter!.query<{ s: string; t: string }>(`select table_schema as s, table_name as t from information_schema.tables where table_catalog = current_database() and table_type = 'BASE TABLE' and table_name like '%${suffix}' escape '\\'`).catch(() => []);
    for (const r of left) await adapter!.execute(`drop table if exists ${adapter!.dialect.relation({ schema: r.s, identifier: r.t })}`).catch(() => {});
  }
  for (const n of nodes) {
    if (n.resource_type !== 'seed') continue;
    const bytes = readSeedFile(abs(n));
    if (speculate) {
      const guess = parseSeed(bytes, n.config, { maxRows: SAMPLE_ROWS });
      if (!Array.isArray(guess) && loadsAsIs(guess, adapter!.loadsCrlf)) {
        const stage = stageOf(n, adapter!.dialect);
        let started!: () => void;
        const running = new Promise<void>((resolve) => (started = resolve));
        const rows = adapter!.loadTable({ relation: stage, columns: guess.columns, file: abs(n), header: true, delimiter: n.config.delimiter ?? ',', newline: guess.newline, maxRecordBytes: guess.maxRecordBytes, onStarted: started }).then(
          (r) => r,
          () => undefined,
        );
        speculated.set(n.unique_id, { stage, columns: guess.columns, newline: guess.newline, rows });
        // the statements before the load need this thread; the load itself does not
        await Promise.race([running, rows]);
      }
    }
    // the warehouse reads the file on its own threads meanwhile
    const r = parseSeed(bytes, n.config);
    if (Array.isArray(r)) ds.push(...seedDiagnostics(n, r));
    else scanned.set(n.unique_id, r);
  }
  const dropStages = async () => {
    for (const s of speculated.values()) {
      await s.rows;
      await adapter!.execute(`drop table if exists ${adapter!.dialect.relation(s.stage)}`).catch(() => {});
    }
  };
  if (ds.length) {
    await dropStages();
    throw new ProjectError(ds);
  }
  let dir: string | undefined;
  return {
    async load(n, target) {
      const seed = scanned.get(n.unique_id);
      if (!seed) throw new Error(`seed '${n.name}' was not prepared`);
      const spec = speculated.get(n.unique_id);
      if (spec) {
        speculated.delete(n.unique_id);
        const rows = await spec.rows;
        if (rows !== undefined && rows === seed.rows && loadsAsIs(seed, target.loadsCrlf) && seed.newline === spec.newline && sameColumns(spec.columns, seed.columns) && target.replaceTable) {
          try {
            await target.replaceTable(spec.stage, n.relation);
          } catch (e) {
            // (e.g. a view by the seed's name: no later run would drop the staging table)
            await target.execute(`drop table if exists ${target.dialect.relation(spec.stage)}`).catch(() => {});
            throw e;
          }
          return { rows, dropped: [] };
        }
        await target.execute(`drop table if exists ${target.dialect.relation(spec.stage)}`);
      }
      const tmp = join((dir ??= mkdtempSync(join(tmpdir(), 'vigil-seed-'))), `${n.name}.csv`);
      const how = loadsAsIs(seed, target.loadsCrlf) ? { file: abs(n), header: true, delimiter: n.config.delimiter ?? ',', newline: seed.newline } : loadFileFor(seed, readSeedFile(abs(n)), abs(n), tmp, n.config.delimiter, target.loadsCrlf);
      let dropped: Relation[] = [];
      let droppedKeys: DroppedKey[] = [];
      try {
        const rows = await target.loadTable({ relation: n.relation, columns: seed.columns, ...how, maxRecordBytes: seed.maxRecordBytes, onDropped: (views, keys) => ((dropped = views), (droppedKeys = keys)) });
        return { rows, dropped, droppedKeys };
      } finally {
        rmSync(tmp, { force: true });
      }
    },
    async cleanup() {
      if (dir) rmSync(dir, { recursive: true, force: true });
      if (speculated.size) await dropStages();
    },
  };
}
