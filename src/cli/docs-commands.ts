/**
 * `vigil docs generate` writes the docs site under target/docs/ (src/docs/); `vigil docs serve`
 * serves that folder on localhost.
 */
import { createReadStream, existsSync, readdirSync, renameSync, rmSync, statSync, type BigIntStats } from 'node:fs';
import { createServer } from 'node:http';
import { basename, dirname, extname, join, normalize, relative, sep } from 'node:path';
import { UsageError, WarehouseError } from '../errors.js';
import type { Relation } from '../adapters/dialect.js';
import type { Adapter, Column } from '../adapters/adapter.js';
import { err, filledFlag, out } from './output.js';
import { open } from './commands.js';
import { listenOn } from './listen.js';
import { counted } from '../format.js';
import { writeProjectFile } from '../project/artifacts.js';
import { redactionVersion, redactStrings } from '../secrets.js';
import { pidAlive } from '../run/cas-document.js';

interface DocsOptions {
  projectDir: string;
  target?: string;
  vars?: string;
  emptyCatalog?: boolean;
}

export async function runDocsGenerate(o: DocsOptions): Promise<void> {
  const t0 = performance.now();
  const { setupAlerts } = await import('./alerts-commands.js');
  // (the docs run no alert query: vigil alerts check says whether one carries PII)
  const s = await setupAlerts(o, undefined, { pii: false });
  const m = s.result.manifest;
  let catalog: Map<string, Array<{ name: string; data_type: string }>> | undefined;
  if (!o.emptyCatalog) {
    const relations: Array<[string, Relation]> = [
      ...Object.values(m.sources).map((x) => [x.unique_id, x.relation] as [string, Relation]),
      ...Object.values(m.nodes).flatMap((n) => ((n.resource_type === 'model' || n.resource_type === 'seed' || n.resource_type === 'snapshot') && n.relation ? [[n.unique_id, n.relation] as [string, Relation]] : [])),
    ];
    out(`Reading column types of ${counted(relations.length, 'relation')} from target ${s.target.name} (${s.target.type})…`);
    let adapter;
    try {
      // only read: nothing is created in the warehouse (a DuckDB file not built yet stays so)
      adapter = await open({ files: s.files, target: s.target }, 4, { readOnly: true });
    } catch (e) {
      if (e instanceof WarehouseError) throw new WarehouseError(`${e.message}\n(vigil docs generate --empty-catalog builds the site from YAML types, without the warehouse)`, e.sql, { cause: e });
      throw e;
    }
    let missing: number;
    try {
      ({ catalog, missing } = await readCatalog(adapter, relations));
    } finally {
      await adapter.close();
    }
    if (missing) err(`  ${missing} of ${counted(relations.length, 'relation')} ${missing === 1 ? 'is' : 'are'} not built in ${s.target.name}: their columns come from YAML and lineage (vigil build first for types)`);
  }
  const { collectDocs } = await import('../docs/collect.js');
  const { renderSite } = await import('../docs/site.js');
  const { dialectOf } = await import('../adapters/index.js');
  // redacted before it is rendered: HTML and the search index escape a value with & < ' "; the
  // pages hold nothing else, so they are written as they are (unless a secret became known since)
  const collected = await collectDocs({ root: s.files.root, result: s.result, rules: s.rules, catalog, now: new Date(), dialect: dialectOf(s.target.type) });
  const version = redactionVersion();
  const model = redactStrings(collected);
  const files = renderSite(model);
  const dir = join(s.files.root, s.files.paths.target, 'docs');
  writeSite(dir, files, redactionVersion() === version);
  const count = (k: string) => model.nodes.filter((n) => n.kind === k).length;
  const derived = model.nodes.filter((n) => n.kind === 'model' || n.kind === 'snapshot');
  const cols = derived.reduce((a, n) => a + n.columns.length, 0);
  const traced = derived.reduce((a, n) => a + n.columns.filter((c) => c.from.length).length, 0);
  const notes = derived.filter((n) => n.lineage_notes.length);
  out(
    `Wrote ${relative(process.cwd(), dir) || '.'}/: ${files.size - 3} page${files.size - 3 === 1 ? '' : 's'} (${count('model')} models, ${count('source')} sources, ${count('seed')} seeds, ${count('snapshot')} snapshots, ${count('test')} data tests, ${count('unit_test')} unit tests, ${count('exposure')} dashboards, ${count('alert')} alerts) in ${((performance.now() - t0) / 1000).toFixed(2)}s`,
  );
  out(`Column lineage: ${traced} of ${cols} model and snapshot columns traced to upstream columns${notes.length ? `; ${notes.length} node${notes.length === 1 ? '' : 's'} with constructs not traced (listed on their pages)` : ''}`);
  out(`Open ${relative(process.cwd(), join(dir, 'index.html'))} or run: vigil docs serve`);
}

/**
 * The site written beside target/docs and swapped in whole: a generate that fails half-way (a full
 * disk, a file size limit) leaves the previous site as it was, not an index.html whose pages are
 * missing that `docs serve` would serve without a word (was: the old site removed first, then
 * the pages written one by one into its place).
 */
function writeSite(dir: string, files: Map<string, string>, redacted: boolean): void {
  const parent = dirname(dir);
  const name = basename(dir);
  // what a generate killed on the way left beside the site (its process gone)
  const leftover = new RegExp(`^${name}\\.(\\d+)\\.(?:new|old)$`);
  let siblings: string[] = [];
  try {
    siblings = readdirSync(parent);
  } catch {
    // no target/ yet
  }
  for (const f of siblings) {
    const pid = leftover.exec(f)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !pidAlive(Number(pid))) rmSync(join(parent, f), { recursive: true, force: true });
  }
  const fresh = `${dir}.${process.pid}.new`;
  const old = `${dir}.${process.pid}.old`;
  rmSync(fresh, { recursive: true, force: true });
  try {
    for (const [rel, text] of files) writeProjectFile(join(fresh, rel), text, { redacted, atomic: false });
    rmSync(old, { recursive: true, force: true });
    const had = existsSync(dir);
    if (had) renameSync(dir, old);
    try {
      renameSync(fresh, dir);
    } catch (e) {
      if (had) renameSync(old, dir);
      throw e;
    }
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.css': 'text/css', '.png': 'image/png' };

export async function runDocsServe(o: { projectDir: string; host: string; port: number }): Promise<void> {
  // (an empty host is every interface to Node: say 0.0.0.0 or :: for that)
  filledFlag('--host', o.host, 'an address to listen on (127.0.0.1; 0.0.0.0 or :: for every interface)');
  const { loadProject } = await import('../project/load-project.js');
  const files = loadProject(o.projectDir);
  const dir = join(files.root, files.paths.target, 'docs');
  if (!existsSync(join(dir, 'index.html'))) throw new UsageError(`no docs site in ${relative(process.cwd(), dir) || dir}: run vigil docs generate first`);
  const server = createServer((req, res) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad request');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const rel = normalize(path.endsWith('/') ? `${path}index.html` : path).replace(/^[/\\]+/, '');
    const abs = join(dir, rel);
    let st: BigIntStats | undefined;
    try {
      // (a path through a file, /index.html/x, is ENOTDIR: not found either)
      st = rel.split(sep).includes('..') || !abs.startsWith(dir + sep) ? undefined : statSync(abs, { bigint: true, throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (!st?.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    // revalidated on every load (a regenerated site shows at once), answered 304 while unchanged:
    // the browser reuses what it has (search.js is ~100 KB on every page of a large project)
    const etag = `W/"${st.ino.toString(16)}-${st.size.toString(16)}-${st.mtimeNs.toString(16)}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag, 'cache-control': 'no-cache' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(abs)] ?? 'application/octet-stream', 'cache-control': 'no-cache', etag, 'last-modified': st.mtime.toUTCString() });
    if (req.method === 'HEAD') res.end();
    else createReadStream(abs).pipe(res);
  });
  await listenOn(server, { host: o.host, port: o.port }, 'pick another with --port');
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  out(`Serving ${relative(process.cwd(), dir) || dir} at http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}/ (Ctrl-C to stop)`);
  await new Promise<void>((done) => {
    const stop = () => server.close(() => done());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/**
 * The columns of each relation that exists (by unique id) and how many do not: one listing of a
 * schema's columns where the warehouse has it (Adapter.schemaColumns; DuckDB asked once per
 * relation scanned its whole catalog each time: 2,000 relations 11.6 s), else one query each.
 */
export async function readCatalog(adapter: Adapter, relations: Array<[string, Relation]>): Promise<{ catalog: Map<string, Column[]>; missing: number }> {
  const catalog = new Map<string, Column[]>();
  let missing = 0;
  const bySchema = new Map<string, ReturnType<NonNullable<Adapter['schemaColumns']>>>();
  const listed = (rel: Relation) => {
    if (!adapter.schemaColumns || rel.database) return undefined;
    if (!bySchema.has(rel.schema)) bySchema.set(rel.schema, adapter.schemaColumns(rel.schema));
    return bySchema.get(rel.schema);
  };
  await Promise.all(
    relations.map(async ([id, rel]) => {
      if (!(await adapter.relationExists(rel))) {
        missing++;
        return;
      }
      const schema = await listed(rel);
      catalog.set(id, schema?.columns.get(schema.key(rel.identifier)) ?? (await adapter.columns(rel)));
    }),
  );
  return { catalog, missing };
}
