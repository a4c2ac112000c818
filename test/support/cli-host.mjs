/**
 * The suite's command host: one long-lived Node process per test worker that runs `vigil`
 * commands one after another by calling the built CLI's main() (dist/cli/program.js), the code a
 * `vigil` process runs (dist/cli/main.js adds only the exit). A command that starts a process of
 * its own pays Node's start, the loading of the CLI's ~1.3 MB of modules and V8's cold start:
 * 0.3–0.7 s of CPU for a command that takes 10–200 ms warm, over ~800 commands a suite run.
 *
 * Protocol (test/support/cli-client.ts writes the other side), in the folder given as argv[2]:
 * the client writes `req-<n>.json` ({ cwd, args, env }, renamed into place whole); the host runs
 * it and writes `res-<n>.json` ({ code, stdout, stderr, restart? }) the same way. Each command
 * runs in its folder (process.chdir), with exactly the environment it was given, with
 * process.argv as a `vigil` process would see it and its stdout and stderr captured; listeners
 * it added to the process are removed afterwards. When the client's process goes away (the IPC
 * channel closes) the host exits; past MAX_RSS it asks to be replaced after answering.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, readlinkSync, renameSync, unlinkSync, watch, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { syncBuiltinESMExports } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const VIGIL = join(REPO, 'bin', 'vigil.js');
const dir = process.argv[2];
const MAX_RSS = 1.5 * 1024 ** 3;
/** where fetch (undici, bundled with Node) keeps its connection pool and TLS sessions, once a command used fetch */
const UNDICI_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
/** process events a command may listen to (SIGINT handlers of long runs, serve's rejection handler) */
const EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'unhandledRejection', 'uncaughtException', 'warning', 'beforeExit', 'exit'];

const { main } = await import(pathToFileURL(join(REPO, 'dist', 'cli', 'program.js')).href);

process.on('disconnect', () => process.exit(0));

/*
 * NODE_EXTRA_CA_CERTS, as a process started with it has it: Node reads the file once at start and
 * adds its certificates to the default root store, the store a TLS connection uses when it is
 * given no `ca` of its own (a given `ca` replaces the whole store, extra certificates included).
 * TLS clients (https.Agent, fetch, pdjs) build their contexts through tls.connect, which calls
 * tls.createSecureContext; the wrapper below gives a command's connections the same store (and
 * syncBuiltinESMExports() gives it to a named import too). Not emulated: Node's warning at start
 * when the file cannot be read, and --use-openssl-ca. What a real start does with the variable
 * is tested by a process: test/alerts/delivery.test.ts.
 */
const atStart = process.env.NODE_EXTRA_CA_CERTS;
const createSecureContext = tls.createSecureContext;
tls.createSecureContext = function (options) {
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  // (Node replaces the store only when `ca` is given a value: null or '' keep it)
  if (!extra || extra === atStart || options?.ca) return createSecureContext.call(this, options);
  let pem;
  try {
    pem = readFileSync(extra, 'utf8');
  } catch {
    return createSecureContext.call(this, options); // Node warns at start and goes on without them
  }
  return createSecureContext.call(this, { ...options, ca: [...tls.rootCertificates, pem] });
};
syncBuiltinESMExports();

let busy = false;

function next() {
  if (busy) return;
  let file;
  try {
    file = readdirSync(dir)
      .filter((f) => /^req-\d+\.json$/.test(f))
      .sort((a, b) => Number(a.slice(4, -5)) - Number(b.slice(4, -5)))[0];
  } catch {
    process.exit(0); // the folder is gone: the client's run is over
  }
  if (!file) return;
  busy = true;
  const n = file.slice(4, -5);
  const req = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  unlinkSync(join(dir, file));
  run(req)
    .catch((e) => ({ code: 3, stdout: '', stderr: `vigil test host: ${e instanceof Error ? e.stack : String(e)}\n` }))
    .then((res) => {
      const left = leftOpen();
      if (left.length) {
        const line = `vigil ${req.args.join(' ')} (in ${req.cwd}) left open: ${left.join(', ')}; this host is replaced\n`;
        process.stderr.write(line);
        // VIGIL_TEST_HOST_LOG=<file>: every such command of the run in one place
        if (process.env.VIGIL_TEST_HOST_LOG) appendFileSync(process.env.VIGIL_TEST_HOST_LOG, line);
      }
      const restart = process.memoryUsage().rss > MAX_RSS || left.length > 0;
      writeFileSync(join(dir, `res-${n}.tmp`), JSON.stringify({ ...res, restart }));
      renameSync(join(dir, `res-${n}.tmp`), join(dir, `res-${n}.json`));
      if (restart) process.exit(0);
      busy = false;
      next();
    });
}

/** A captured stream write: the chunk kept, the callback called as a pipe would. */
function capture(sink) {
  return (chunk, encoding, cb) => {
    sink.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8');
    const done = typeof encoding === 'function' ? encoding : cb;
    if (done) process.nextTick(done);
    return true;
  };
}

/** Database files a command left open (a process would have closed them by exiting). */
function leftOpen() {
  if (!existsSync('/proc/self/fd')) return [];
  const out = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (/\.(duckdb|wal)$/.test(target)) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** `VIGIL_TEST_CPU_LOG=<file>`: a JSON line per command run here (its arguments, CPU and wall ms), to see where the suite's CPU goes (docs/benchmarks.md). */
const CPU_LOG = process.env.VIGIL_TEST_CPU_LOG;

async function run(req) {
  if (!CPU_LOG) return runCommand(req);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  try {
    return await runCommand(req);
  } finally {
    const used = process.cpuUsage(cpu);
    appendFileSync(CPU_LOG, `${JSON.stringify({ args: req.args, cpu_ms: Math.round((used.user + used.system) / 1000), wall_ms: Math.round(performance.now() - t0) })}\n`);
  }
}

async function runCommand(req) {
  // a folder that does not exist: what spawnSync answers (no process at all)
  if (!existsSync(req.cwd)) return { code: -1, stdout: '', stderr: `spawnSync ${process.execPath} ENOENT (no folder ${req.cwd})\n` };
  const cwd = process.cwd();
  const env = { ...process.env };
  const argv = process.argv;
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const listeners = new Map(EVENTS.map((e) => [e, process.listeners(e)]));
  const out = { text: '' };
  const err = { text: '' };
  let code;
  try {
    process.chdir(req.cwd);
    for (const k of Object.keys(process.env)) if (!(k in req.env)) delete process.env[k];
    Object.assign(process.env, req.env);
    process.argv = [process.execPath, VIGIL, ...req.args];
    process.exitCode = undefined;
    process.stdout.write = capture(out);
    process.stderr.write = capture(err);
    code = await main(process.argv);
  } catch (e) {
    err.text += `vigil test host: ${e instanceof Error ? e.stack : String(e)}\n`;
    code = 3;
  } finally {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
    process.exitCode = undefined;
    process.argv = argv;
    for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
    Object.assign(process.env, env);
    process.chdir(cwd);
    for (const [e, before] of listeners) for (const l of process.listeners(e)) if (!before.includes(l)) process.removeListener(e, l);
    // no kept-alive connection or TLS session of this command serves the next one (a process
    // would have closed them; a resumed session would skip the next command's certificate check)
    http.globalAgent.destroy();
    https.globalAgent.destroy();
    https.globalAgent = new https.Agent(https.globalAgent.options);
    const dispatcher = globalThis[UNDICI_DISPATCHER];
    if (dispatcher) {
      globalThis[UNDICI_DISPATCHER] = new dispatcher.constructor();
      await dispatcher.close().catch(() => {});
    }
  }
  return { code, stdout: out.text, stderr: err.text };
}

watch(dir, next);
// a change the watcher did not report (it should not happen) still gets an answer
setInterval(next, 50);
next();
