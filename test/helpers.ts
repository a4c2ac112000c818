/**
 * Test helpers: temporary projects on disk, the real `vigil` CLI run as a user would, and
 * in-memory project files for the pure compiler.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseYaml, validateYaml } from '../src/project/yaml-source.js';
import { ProjectFileSchema, PropertiesFileSchema } from '../src/project/schema.js';
import type { ProjectFiles } from '../src/project/load-project.js';
import type { Diagnostic } from '../src/errors.js';
import { hostBusy, runInHost, runInHostAsync } from './support/cli-client.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
export const VIGIL = join(REPO, 'bin', 'vigil.js');

export const BASIC_PROJECT_YAML = `name: fixture
default_target: dev
targets:
  dev:
    type: duckdb
    path: .vigil/dev.duckdb
    schema: analytics
`;

/** An alert rule file the alert tests share: 'many' fires per capability of model `counts` whose n > 10. */
export const COUNTS_ALERT = `alerts:
  - name: many
    severity: critical
    query: select capability, n from {{ ref('counts') }}
    group_by: [capability]
    condition: { type: threshold, column: n, op: ">", value: 10 }
    summary: "{{ capability }} has {{ n }}"
`;

/** Write a project into a fresh temp folder; returns its path. */
export function makeProject(files: Record<string, string>, withDefaultProjectYaml = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-test-'));
  const all = withDefaultProjectYaml && !('project.yaml' in files) ? { 'project.yaml': BASIC_PROJECT_YAML, ...files } : files;
  for (const [rel, text] of Object.entries(all)) {
    const abs = join(dir, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  }
  return dir;
}

/** Every path into a (YAML) value: maps by key, lists by index, the value itself first. */
export function valuePaths(v: unknown, at: PropertyKey[] = []): PropertyKey[][] {
  const out: PropertyKey[][] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...valuePaths(x, [...at, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...valuePaths(x, [...at, k]));
  return out;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Variables Node reads only when a process starts (NODE_EXTRA_CA_CERTS too: the command host gives a command's TLS connections its certificates, see cli-host.mjs). */
const AT_START = ['NODE_OPTIONS', 'UV_THREADPOOL_SIZE'];

/**
 * What only a `vigil` process can run: a variable read at start, a crash the command provokes
 * (kill -9 of itself), a command that runs until a signal.
 */
function needsProcess(args: string[], env: Record<string, string | undefined>): boolean {
  if (Object.keys(env).some((k) => AT_START.includes(k) || k.startsWith('VIGIL_TEST_CRASH'))) return true;
  // a lone --version is answered by bin/vigil.js without the command line
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) return true;
  return args.includes('--watch') || args.includes('serve') || args.includes('run-scheduler');
}

/**
 * Run the built CLI (dist/) in `cwd`, as a user would: its main(), in the worker's command host
 * (test/support/cli-host.mjs), which runs command after command without a process start each.
 * `env` is added to this process's environment; a variable given as undefined is left out.
 * What needsProcess() names, or VIGIL_TEST_PROCESSES=1 for the whole run, runs a `vigil`
 * process instead, as vigilProcess() always does.
 */
export function vigil(cwd: string, args: string[], env: Record<string, string | undefined> = {}): CliResult {
  if (!inHost(args, env)) return vigilProcess(cwd, args, env);
  return runInHost(cwd, args, hostEnv(env), 120_000);
}

/** Whether a command runs in the host: not what needsProcess() names, nor beside a command the host runs already (two at once stay two). */
function inHost(args: string[], env: Record<string, string | undefined>): boolean {
  return process.env.VIGIL_TEST_PROCESSES !== '1' && !needsProcess(args, env) && !hostBusy();
}

/** This process's environment with `env` added, as a child process would get it. */
export function hostEnv(env: Record<string, string | undefined>): Record<string, string> {
  const all: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) all[k] = v;
  return all;
}

/** A `vigil` process in `cwd` (for what only a process shows: its exit, its start, its signals). */
export function vigilProcess(cwd: string, args: string[], env: Record<string, string | undefined> = {}): CliResult {
  const r = spawnSync(process.execPath, [VIGIL, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * vigil() with a module loader hook (Node's module.register) that records every chunk of dist/
 * the process loads; `sources`: their source files from the chunks' source maps (src/..., and a
 * bundled package as node_modules/<name>). What a command loads is what its start-up pays for.
 */
export function vigilLoading(cwd: string, args: string[], env: Record<string, string> = {}): CliResult & { sources: Set<string> } {
  const hooks = join(cwd, '.vigil-test-hooks.mjs');
  const register = join(cwd, '.vigil-test-register.mjs');
  const log = join(cwd, '.vigil-test-loaded.log');
  if (!existsSync(register)) {
    writeFileSync(hooks, `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { if (url.includes('/dist/')) appendFileSync(process.env.VIGIL_TEST_LOADED, url + '\\n'); return next(url, context); }\n`);
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  }
  rmSync(log, { force: true });
  const r = vigil(cwd, args, { ...env, NODE_OPTIONS: `--import=${pathToFileURL(register).href}`, VIGIL_TEST_LOADED: log });
  const sources = new Set<string>();
  for (const url of existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) {
    const map = JSON.parse(readFileSync(new URL(`${url}.map`), 'utf8')) as { sources: string[] };
    for (const f of map.sources) sources.add(f.replace(/^(\.\.\/)+/, '').replace(/^.*(node_modules\/(?:@[^/]+\/)?[^/]+)\/.*$/, '$1'));
  }
  return { ...r, sources };
}

/**
 * Like vigil(), without blocking this process: needed when a server in this process must answer
 * the CLI. In the host when it is free; a second command at once is a process of its own.
 */
export function vigilAsync(cwd: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  if (inHost(args, env)) return runInHostAsync(cwd, args, hostEnv(env), 120_000);
  return vigilProcessAsync(cwd, args, env);
}

/** vigilAsync() as a `vigil` process, always. */
export function vigilProcessAsync(cwd: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VIGIL, ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Build in-memory ProjectFiles for the pure compiler, without touching the disk. */
export function projectFiles(opts: {
  projectYaml?: string;
  models?: Record<string, string>;
  macros?: Record<string, string>;
  tests?: Record<string, string>;
  yml?: Record<string, string>;
}): ProjectFiles {
  const diagnostics: Diagnostic[] = [];
  const projectYaml = parseYaml(opts.projectYaml ?? BASIC_PROJECT_YAML, 'project.yaml', diagnostics)!;
  const project = validateYaml(projectYaml, ProjectFileSchema, diagnostics)!;
  const properties = Object.entries(opts.yml ?? {}).flatMap(([path, text]) => {
    const y = parseYaml(text, path, diagnostics);
    if (!y) return [];
    const data = validateYaml(y, PropertiesFileSchema, diagnostics);
    return data ? [{ path, data, yaml: y }] : [];
  });
  const files = (rec: Record<string, string> | undefined) => Object.entries(rec ?? {}).map(([path, text]) => ({ path, text }));
  return {
    root: '/nonexistent',
    project,
    projectYaml,
    paths: { models: 'models', macros: 'macros', tests: 'tests', alerts: 'alerts', dashboards: 'dashboards', seeds: 'seeds', target: 'target' },
    models: files(opts.models),
    macros: files(opts.macros),
    singularTests: files(opts.tests),
    properties,
    diagnostics,
  };
}

/** One query of a sync test's target, as text: the DuckDB file of the project in `dir` (`duckdb`), else the Postgres `client` reaches. */
export async function syncTargetRows(kind: 'duckdb' | 'postgres', dir: string, client: { query(sql: string): Promise<{ rows: unknown[] }> }, sql: string): Promise<Array<Record<string, string>>> {
  if (kind === 'duckdb') return duckRows<Record<string, string>>(dir, sql);
  return (await client.query(sql)).rows as Array<Record<string, string>>;
}

/** `sql`'s rows in the DuckDB of the project in `dir` (.vigil/dev.duckdb, schema analytics), opened and closed around it. */
export async function duckRows<T extends Record<string, unknown>>(dir: string, sql: string): Promise<T[]> {
  const { DuckDbAdapter } = await import('../src/adapters/duckdb/duckdb-adapter.js');
  const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
  try {
    return await db.query<T>(sql);
  } finally {
    await db.close();
  }
}
