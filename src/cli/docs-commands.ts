/**
 * `vigil docs generate` writes the docs site under target/docs/ (src/docs/); `vigil docs serve`
 * serves that folder on localhost.
 */
import { createReadStream, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, type BigIntStats } from 'node:fs';
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
import { processGone } from '../run/cas-document.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

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
export function writeSite(dir: string, files: Map<string, string>, redacted: boolean): void {
  // target/docs a mount point of its own (a volume a web server serves): it cannot be renamed
  // (EBUSY), and a folder beside it is on another file system, so the site is written in a hidden
  // folder inside it and its entries swapped one by one (was: an internal error with a stack trace)
  // a symlinked target/docs (a link to the folder a web server serves) likewise: a rename would
  // replace the link by a folder of its own, the linked folder left serving the old site
  const mounted = isMountPoint(dir) || isLinkToFolder(dir);
  const stage = mounted ? dir : dirname(dir);
  const name = mounted ? `.${basename(dir)}` : basename(dir);
  // what a generate killed on the way left beside the site: removed only when its process is gone,
  // which only its own host can tell (a target/ shared over NFS holds other hosts' folders, whose
  // pids mean nothing here: removing one under a live generate made it swap in half a site)
  let siblings: string[] = [];
  try {
    siblings = readdirSync(stage);
  } catch {
    // no target/ yet
  }
  for (const f of siblings) {
    const owner = siteFolderOwner(name, f);
    if (owner && processGone(owner)) rmSync(join(stage, f), { recursive: true, force: true });
  }
  // (the host and a random part too: two containers sharing target/ may both run as pid 1)
  const tag = `${hostTag(hostname())}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const fresh = join(stage, `${name}.${tag}.new`);
  const old = join(stage, `${name}.${tag}.old`);
  try {
    for (const [rel, text] of files) writeProjectFile(join(fresh, rel), text, { redacted, atomic: false });
    if (mounted) swapEntries(fresh, dir, old, (f) => siteFolderOwner(name, f) !== undefined);
    else swapIn(fresh, dir, old);
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
}

/** Whether `dir` is a symbolic link to a folder. */
function isLinkToFolder(dir: string): boolean {
  try {
    return !!lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink() && statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** Whether `dir` is a folder on another device than its parent's. */
function isMountPoint(dir: string): boolean {
  try {
    const st = statSync(dir, { throwIfNoEntry: false });
    return !!st?.isDirectory() && st.dev !== statSync(dirname(dir)).dev;
  } catch {
    return false;
  }
}

/**
 * `fresh`'s entries put in place of `dir`'s (those moved to `old`, then removed by the caller),
 * all three folders on one file system: the site is whole again after a rename per entry (a
 * handful: index.html, docs.json, nodes/ ...). `staging`: the generates' own folders, left. A
 * rename failing half-way (EACCES on one entry, an I/O error) puts the previous site's entries
 * back and the fresh ones back in `fresh` before it is thrown (was: `dir` left with half of each
 * site, the previous one's other half in `old` for the next generate to remove). `rename`: the
 * file system's (a test fails one).
 */
export function swapEntries(fresh: string, dir: string, old: string, staging: (f: string) => boolean, rename: (from: string, to: string) => void = renameSync): void {
  rmSync(old, { recursive: true, force: true });
  mkdirSync(old);
  let n = 0;
  const setAside: Array<{ entry: string; as: string }> = [];
  const placed: string[] = [];
  const aside = (e: string) => {
    const as = `${n++}-${e}`;
    try {
      rename(join(dir, e), join(old, as));
      setAside.push({ entry: e, as });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  };
  try {
    for (const e of readdirSync(dir)) if (!staging(e)) aside(e);
    for (const e of readdirSync(fresh)) {
      try {
        rename(join(fresh, e), join(dir, e));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        // (a folder another generate put there meanwhile)
        aside(e);
        rename(join(fresh, e), join(dir, e));
      }
      placed.push(e);
    }
  } catch (err) {
    // best effort, in reverse: what cannot be moved back stays where it is (in `old` or `fresh`)
    for (const e of placed.reverse()) {
      try {
        rename(join(dir, e), join(fresh, e));
      } catch {
        // (left in the site folder)
      }
    }
    for (const { entry, as } of setAside.reverse()) {
      try {
        if (!existsSync(join(dir, entry))) rename(join(old, as), join(dir, entry));
      } catch {
        // (left in `old`)
      }
    }
    try {
      if (readdirSync(old).length === 0) rmSync(old, { recursive: true });
    } catch {
      // (the caller's next generate removes it)
    }
    throw err;
  }
}

/** A host name as part of a folder name: no dots (they separate the parts), nothing a path may not hold. */
function hostTag(host: string): string {
  return encodeURIComponent(host).replace(/\./g, '%2E');
}

/** The host and pid of a folder writeSite() leaves beside site `name` (`docs.<host>.<pid>.<random>.new`, `.docs.…` inside a mounted one), else undefined. */
function siteFolderOwner(name: string, f: string): { host: string; pid: number } | undefined {
  if (!f.startsWith(`${name}.`)) return undefined;
  const m = /^([^.]+)\.(\d+)\.[0-9a-f]+\.(?:new|old)$/.exec(f.slice(name.length + 1));
  if (!m) return undefined;
  try {
    return { host: decodeURIComponent(m[1]), pid: Number(m[2]) };
  } catch {
    return undefined;
  }
}

/**
 * `fresh` put in place of `dir` (the site there before moved to `old`). Another generate may swap
 * its own site in between the two renames (two `vigil docs generate` at once): `dir` is then
 * there again, or already gone when this one moves it; either way a whole site, which this one
 * moves aside in turn (was: the second rename failed with ENOTEMPTY, or the first with ENOENT,
 * as an internal error with a stack trace). `rename`: the file system's (a test sequences the
 * other generate's swap into it).
 */
export function swapIn(fresh: string, dir: string, old: string, rename: (from: string, to: string) => void = renameSync): void {
  for (let tries = 1; ; tries++) {
    rmSync(old, { recursive: true, force: true });
    let moved = false;
    try {
      rename(dir, old);
      moved = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    try {
      rename(fresh, dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && tries < 10) continue;
      if (moved) {
        try {
          rename(old, dir);
        } catch {
          // (another site is in its place: that one stays)
        }
      }
      // (another generate's site put in each time: a message, not an internal error's stack trace)
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new WarehouseError(`could not put the docs site in place of ${relative(process.cwd(), dir) || dir}: another vigil docs generate put its own there during each of ${tries} tries (its site stays); run one generate at a time`, '', { cause: e });
      throw e;
    }
  }
}

/** How long `docs serve` waits for a generate's swap before answering 404. */
const SWAP_WAIT_MS = 1000;

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.css': 'text/css', '.png': 'image/png' };

export async function runDocsServe(o: { projectDir: string; host: string; port: number }): Promise<void> {
  // (an empty host is every interface to Node: say 0.0.0.0 or :: for that)
  filledFlag('--host', o.host, 'an address to listen on (127.0.0.1; 0.0.0.0 or :: for every interface)');
  const { loadProject } = await import('../project/load-project.js');
  const files = loadProject(o.projectDir);
  const dir = join(files.root, files.paths.target, 'docs');
  if (!existsSync(join(dir, 'index.html'))) throw new UsageError(`no docs site in ${relative(process.cwd(), dir) || dir}: run vigil docs generate first`);
  // a generate swapping in its site: the folder (or, in a mounted or linked target/docs, its
  // entries) is away for the instant between two renames, and a longer one on a slow disk. Told
  // by the previous site's `.old` folder of a live generate, which is there from the swap's first
  // rename until it is removed: not by its `.new` one, there for the whole write before (a page no
  // site has, /favicon.ico, was answered a second late all that time, and for good beside the
  // `.new` folder a killed generate left)
  const swapping = (): boolean => {
    const inStage = (stage: string, name: string) => {
      try {
        return readdirSync(stage).some((f) => {
          const owner = f.endsWith('.old') ? siteFolderOwner(name, f) : undefined;
          return owner !== undefined && !processGone(owner);
        });
      } catch {
        return false;
      }
    };
    return !existsSync(join(dir, 'index.html')) || inStage(dirname(dir), basename(dir)) || inStage(dir, `.${basename(dir)}`);
  };
  const server = createServer(async (req, res) => {
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
    const parts = rel.split(sep);
    // (nor a generate's own folder inside a mounted or linked target/docs: a site half written, or the one it replaced)
    const servable = !parts.includes('..') && siteFolderOwner('.docs', parts[0]) === undefined && abs.startsWith(dir + sep);
    const lookup = (): BigIntStats | undefined => {
      try {
        // (a path through a file, /index.html/x, is ENOTDIR: not found either)
        const found = servable ? statSync(abs, { bigint: true, throwIfNoEntry: false }) : undefined;
        return found?.isFile() ? found : undefined;
      } catch {
        return undefined;
      }
    };
    let st = lookup();
    // (a page missed while a generate swaps its site in: looked up again once that is over, up to
    // a second, rather than answered 404 for a page that is there before and after)
    for (let waited = 0; !st && servable && waited < SWAP_WAIT_MS && swapping(); waited += 20) {
      await new Promise((r) => setTimeout(r, 20));
      st = lookup();
    }
    if (!st) {
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
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // (a page that goes between the stat and the read — a generate swapping in a site without it
    // — or one that cannot be read: this response ends cut short, the server serves on; was: an
    // unhandled stream error that stopped docs serve with a stack trace)
    const body = createReadStream(abs);
    body.on('error', () => res.destroy());
    body.pipe(res);
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
