/** test/support/sequencer.ts: the longest files first, by this run's results, else file-times.json, else 5 s. */
import { describe, expect, it } from 'vitest';
import type { TestSpecification, Vitest } from 'vitest/node';
import LongestFirst from './sequencer.js';

describe('the order the test files start in', () => {
  it('longest first: the README commands (one small file, ~50 s) before a file of unknown time (5 s) and the 2 ms errors.test; a result of this machine over the committed time', async () => {
    const root = '/repo';
    // (this machine's last run of serve.test took 1 s: it goes after a file of unknown time)
    const results: Record<string, number> = { 'test/serve/serve.test.ts': 1_000 };
    const ctx = { config: { root }, cache: { getFileTestResults: (key: string) => (results[key.slice(key.indexOf(':') + 1)] === undefined ? undefined : { duration: results[key.slice(key.indexOf(':') + 1)], failed: false }) } } as unknown as Vitest;
    const spec = (rel: string) => ({ moduleId: `${root}/${rel}`, project: { name: '' } }) as unknown as TestSpecification;
    const files = ['test/compile/errors.test.ts', 'test/unknown.test.ts', 'test/serve/serve.test.ts', 'test/e2e/readme-commands.test.ts'].map(spec);
    const order = (await new LongestFirst(ctx).sort(files)).map((f) => f.moduleId.slice(root.length + 1));
    expect(order).toEqual(['test/e2e/readme-commands.test.ts', 'test/unknown.test.ts', 'test/serve/serve.test.ts', 'test/compile/errors.test.ts']);
  });
});
