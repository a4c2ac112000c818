/**
 * The order the test files start in: longest first, from the times in test/support/file-times.json
 * (one CI run's, each file's own seconds; `node scripts/file-times.mjs <log>` writes them). vitest
 * without its results cache (a fresh clone: every CI run) starts the largest files first, so a
 * small file with one long test (the README's commands, ~50 s) started last and ran alone at the
 * end. A file this run has results for (a local re-run) is placed by them; a file in neither by
 * DEFAULT_SECONDS.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const DEFAULT_SECONDS = 5;

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const known = JSON.parse(readFileSync(new URL('./file-times.json', import.meta.url), 'utf8')) as Record<string, number>;
    const root = this.ctx.config.root;
    const seconds = (f: TestSpecification): number => {
      const rel = relative(root, f.moduleId).split('\\').join('/');
      const cached = this.ctx.cache.getFileTestResults(`${f.project.name}:${rel}`);
      return cached ? cached.duration / 1000 : (known[rel] ?? DEFAULT_SECONDS);
    };
    const by = new Map(files.map((f) => [f, seconds(f)]));
    return [...files].sort((a, b) => by.get(b)! - by.get(a)!);
  }
}
