/**
 * The README's command lines on the demo data, in the README's order, through the real CLI in a
 * copy of the shipped project: each must work on a fresh machine and again two days later (a
 * re-run; `vigil demo` regenerates the data up to a new --now). Was: the second
 * `vigil demo --scenario compliance_red && vigil build` failed assert_daily_totals_match_staging
 * (the incremental ai_audit_daily kept the earlier demo's counts outside its lookback), exit 1.
 * The demo lines get small --rows/--days and a fixed --now; the Postgres line runs in a database
 * of its own.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { makeProject, removeDir, REPO, VIGIL, vigil } from '../helpers.js';
import { RESOURCE_TYPES } from '../../src/compile/selector.js';
import { buildProgram } from '../../src/cli/program.js';
import { startTestPostgres, uniqueSchema, type TestPostgres } from '../support/postgres.js';

const dirs: string[] = [];
let server: TestPostgres | undefined;
const databases: string[] = [];
afterAll(async () => {
  dirs.forEach(removeDir);
  if (server) {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    for (const db of databases) await c.query(`drop database if exists ${db} with (force)`);
    await c.end();
    await server.stop();
  }
});

/** The README's inline command lines that start from `vigil demo`, in order, each as its commands' argv. */
function readmeDemoLines(): string[][][] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const lines = [...readme.matchAll(/`((?:npm ci && )?(?:npx )?vigil demo[^`]*)`|^((?:npm ci && )?npx vigil demo[^#\n]*)/gm)].map((m) => (m[1] ?? m[2]).trim());
  return lines.map((l) =>
    l
      .split('&&')
      .map((c) => c.trim().replace(/^npx /, ''))
      .filter((c) => c.startsWith('vigil '))
      .map((c) => [...c.slice('vigil '.length).matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2])),
  );
}

describe("the README's command list", () => {
  it('vigil ls --resource-type names every kind the CLI accepts (was: unit_test and exposure left out)', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const listed = /^vigil ls .*--resource-type ([\w|]+)\]/m.exec(readme)?.[1].split('|');
    expect(listed).toEqual(RESOURCE_TYPES);
  });

  it('names every subcommand the CLI has (was: vigil alerts outbox left out)', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const block = readme.split('\n## Commands\n')[1].split('```')[1];
    // each command line without its description (two or more spaces, then the text)
    const lines = block.split('\n').filter((l) => l.startsWith('vigil ')).map((l) => l.replace(/\s{2,}.*$/, ''));
    const missing: string[] = [];
    for (const c of buildProgram([]).commands) {
      const text = lines.filter((l) => l === `vigil ${c.name()}` || l.startsWith(`vigil ${c.name()} `)).join(' ');
      for (const s of c.commands.map((x) => x.name()).filter((n) => n !== 'help')) {
        if (!new RegExp(`(^|[\\s|])${s}([\\s|]|$)`).test(text)) missing.push(`vigil ${c.name()} ${s}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe("the README's demo command lines, twice", () => {
  it('each line works on a fresh project and again two days later', async () => {
    const lines = readmeDemoLines();
    const shown = lines.map((l) => l.map((c) => c.join(' ')).join(' && '));
    // the quick start, the alert scenarios, the Postgres pipeline
    expect(shown).toEqual([
      'demo && build',
      'demo --scenario spike && build --full-refresh && alerts evaluate --dry-run',
      "demo --scenario compliance_red && build && alerts evaluate --dry-run -s compliance_*",
      'demo --target app && sync --full-refresh && build --full-refresh',
    ]);
    const dir = makeProject({}, false);
    dirs.push(dir);
    for (const p of ['project.yaml', 'models', 'macros', 'tests', 'alerts']) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    server = await startTestPostgres();
    const db = uniqueSchema('readme_app');
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`create database ${db}`);
    await admin.end();
    databases.push(db);
    const url = new URL(server.url);
    url.pathname = `/${db}`;
    const env = { DATABASE_URL: url.toString() };
    for (const now of ['2026-03-10T08:00:00Z', '2026-03-12T08:00:00Z']) {
      for (const line of lines) {
        for (const args of line) {
          const full = args[0] === 'demo' ? [...args, '--rows', '3000', '--days', '21', '--now', now] : args;
          const r = vigil(dir, full, env);
          expect(r.code, `--now ${now}: vigil ${full.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
          if (args[0] === 'build') expect(r.stdout).toMatch(/ERROR=0 SKIP=0/);
          // what the earlier build made incrementally of the demo's tables: dropped, and said
          if (args[0] === 'demo' && !args.includes('--target') && now !== '2026-03-10T08:00:00Z') expect(r.stdout).toContain('dropped incremental model analytics.ai_audit_daily, built from the earlier demo data');
          if (args.includes('--target')) expect(r.stdout).toContain(`Next: node ${VIGIL} sync --full-refresh && node ${VIGIL} build --full-refresh`);
        }
      }
    }
  }, 300_000);
});
