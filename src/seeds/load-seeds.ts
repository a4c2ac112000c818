/**
 * Seeds for a run: every planned seed's CSV read and checked up front (a problem in any of them
 * is a project error at file:line, exit 2, before anything is loaded), then each loaded through
 * the warehouse's bulk load when its turn comes: the file itself when every warehouse reads it
 * alike, else a normalized rewrite in a temporary folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diag, ProjectError, type Diagnostic } from '../errors.js';
import type { Adapter } from '../adapters/adapter.js';
import type { ManifestNode, SeedNode } from '../compile/manifest.js';
import type { ProjectFiles } from '../project/load-project.js';
import { loadFileFor, parseSeed, readSeedFile, type ScannedSeed } from './seed-csv.js';

export interface SeedLoader {
  load(n: SeedNode, adapter: Adapter): Promise<number>;
  cleanup(): void;
}

export function prepareSeeds(files: ProjectFiles, nodes: ManifestNode[]): SeedLoader {
  const scanned = new Map<string, ScannedSeed>();
  const ds: Diagnostic[] = [];
  // paths are the project root's, never the working directory's
  const abs = (n: SeedNode) => join(files.root, n.file);
  for (const n of nodes) {
    if (n.resource_type !== 'seed') continue;
    const r = parseSeed(readSeedFile(abs(n)), n.config);
    if (Array.isArray(r)) for (const p of r) ds.push(diag('E_SEED', `seed '${n.name}': ${p.message}`, { file: n.file, line: p.line, column: p.column }, p.hint));
    else scanned.set(n.unique_id, r);
  }
  if (ds.length) throw new ProjectError(ds);
  let dir: string | undefined;
  return {
    async load(n, adapter) {
      const seed = scanned.get(n.unique_id);
      if (!seed) throw new Error(`seed '${n.name}' was not prepared`);
      const tmp = join((dir ??= mkdtempSync(join(tmpdir(), 'vigil-seed-'))), `${n.name}.csv`);
      const how = seed.asIs ? { file: abs(n), header: true, delimiter: n.config.delimiter ?? ',' } : loadFileFor(seed, readSeedFile(abs(n)), abs(n), tmp, n.config.delimiter);
      try {
        return await adapter.loadTable({ relation: n.relation, columns: seed.columns, ...how });
      } finally {
        rmSync(tmp, { force: true });
      }
    },
    cleanup() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
