#!/usr/bin/env node
// Each test file's own time from a vitest run's output (the default reporter's
// `✓ test/x.test.ts (12 tests) 3456ms` lines), written to test/support/file-times.json for the
// longest-first order of test/support/sequencer.ts: node scripts/file-times.mjs <log>
import { readFileSync, writeFileSync } from 'node:fs';

const log = readFileSync(process.argv[2] ?? 0, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
const times = {};
for (const m of log.matchAll(/^ +[✓❯×] (test\/\S+\.test\.ts) \([^)]*\) ([0-9.]+)(ms|s)$/gm)) times[m[1]] = Math.round((m[3] === 'ms' ? Number(m[2]) / 1000 : Number(m[2])) * 10) / 10;
if (!Object.keys(times).length) {
  console.error('no test file times in the log (the default reporter prints them: vitest run)');
  process.exit(2);
}
const sorted = Object.fromEntries(Object.entries(times).sort((a, b) => b[1] - a[1]));
writeFileSync(new URL('../test/support/file-times.json', import.meta.url), `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`${Object.keys(sorted).length} files, ${Object.values(sorted).reduce((a, b) => a + b, 0).toFixed(0)} s in all -> test/support/file-times.json`);
