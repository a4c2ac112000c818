/**
 * `vigil dashboards validate | export | render`. Loaded lazily by program.ts.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, realpathSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { createHash } from 'node:crypto';
import { didYouMean, formatDiagnostic, hasErrors, ProjectError, UsageError, type Diagnostic } from '../errors.js';
import { redact, redactCells } from '../secrets.js';
import { writeProjectFile } from '../project/artifacts.js';
import { folderFlag, keepSnapshot, keptTarget, open, parseAt, projectFromSnapshot, requireDatabase, selectGlobs } from './command-kit.js';
import { err, out } from './output.js';
import type { ProjectFiles } from '../project/load-project.js';
import type { CompileResult, ResolvedTarget } from '../compile/compile-project.js';
import { limiter } from '../run/concurrency.js';
import type { Adapter } from '../adapters/adapter.js';
import type { CompiledDashboard, TileData } from '../dashboards/types.js';
import type { RawPage, Site, SitePage } from '../dashboards/site.js';
import { counted } from '../format.js';
import { isAppRoute } from '../dashboards/base-url.js';
import { SITE_LIST } from '../dashboards/site-files.js';
import { docRef } from '../install.js';
import { zoneOffsetMs } from '../time/zoned.js';


interface Common {
  projectDir: string;
  target?: string;
  vars?: string;
  select?: string[];
}

function pick(ds: CompiledDashboard[], select: string[] | undefined): CompiledDashboard[] {
  if (!select?.length) return ds;
  const globs = selectGlobs(select, "a dashboard's name or a glob", 'every dashboard');
  // every pattern must select something: a typo beside a good name is not silently dropped
  const names = ds.map((d) => d.dashboard.name);
  const patterns = select.map((s, i) => ({ s, re: globs[i]! }));
  const none = patterns.filter((p) => !names.some((n) => p.re.test(n))).map((p) => p.s);
  if (none.length) {
    // (`dashboard:overview`, as `vigil ls -s +dashboard:overview` selects a dashboard among nodes: here the name alone)
    const hints = none.map((s) => {
      const bare = s.replace(/^\+?dashboard:/, '');
      return names.includes(bare) ? bare : didYouMean(s, names);
    }).filter((h): h is string => !!h);
    throw new UsageError(`--select ${none.join(' ')} matched no dashboard${hints.length ? ` — did you mean ${hints.map((h) => `'${h}'`).join(', ')}?` : ''} (dashboards: ${names.join(', ')})`);
  }
  return ds.filter((d) => patterns.some((p) => p.re.test(d.dashboard.name)));
}

async function compiled(o: Common) {
  const { compileForCommand } = await import('./commands.js');
  const c = compileForCommand(o, { writeArtifacts: false });
  someDashboards(c.result.dashboards, c.files.paths);
  return c;
}

function someDashboards(ds: CompiledDashboard[], paths: ProjectFiles['paths']): void {
  if (!ds.length) throw new UsageError(`no dashboards in ${paths.dashboards}/*.json (see ${docRef('dashboards.md')})`);
}

/** The PII check's diagnostics of each dashboard's tiles, by dashboard name (only those with any). */
type TilesPii = Record<string, Diagnostic[]>;

/**
 * The PII check of the tiles' queries (docs/governance.md): what a tile or a raw-rows page shows
 * is written into the site, its PNGs and the BI exports, where nothing masks it. Nothing to do
 * in a project that marks no PII.
 */
async function tilesPii(c: { files: ProjectFiles; result: CompileResult; target: ResolvedTarget }, ds: CompiledDashboard[], reads?: Record<string, string[]>): Promise<TilesPii> {
  const { piiLineage, hasPii } = await import('../check/pii-lineage.js');
  if (!ds.length || !hasPii(c.result.manifest)) return {};
  const [{ dashboardPiiQueries }, { dialectOf }] = await Promise.all([import('../dashboards/compile-dashboards.js'), import('../adapters/index.js')]);
  const dialect = dialectOf(c.target.type);
  const of = new Map(ds.flatMap((d) => dashboardPiiQueries([d], c.result.manifest, dialect).map((q) => [q, d.dashboard.name] as const)));
  const { queries } = await piiLineage(c.result.manifest, dialect, { root: c.files.root, queries: [...of.keys()] });
  const out: TilesPii = {};
  for (const [q, name] of of) for (const d of queries.get(q.id)?.diagnostics ?? []) (out[name] ??= []).push(d);
  // by model: the live PII a tile's (or raw-rows page's) query of it reads, view or not (the values its warehouse errors quote are masked: TileQueries)
  if (reads) for (const q of of.keys()) {
    const r = queries.get(q.id)?.reads;
    const model = c.result.manifest.nodes[q.depends_on[0]];
    // (a tile's several queries of one model: each's live PII, together)
    if (r?.length && model) reads[model.name] = [...new Set([...(reads[model.name] ?? []), ...r])];
  }
  return out;
}

/** A dashboard whose tile shows live PII is neither rendered, exported nor published (E_PII: exit 2, nothing written); the check's warnings are printed. */
function refusePii(pii: TilesPii, ds: CompiledDashboard[]): void {
  const found = ds.flatMap((d) => pii[d.dashboard.name] ?? []);
  for (const w of found.filter((x) => x.severity === 'warn')) err(formatDiagnostic(w));
  if (hasErrors(found)) throw new ProjectError(found.filter((x) => x.severity === 'error'));
}

/** What `vigil dashboards render` needs of a compile, kept as snapshot `dashboards` (project/snapshot.ts). */
interface DashboardsSnapshot {
  project: ProjectFiles['project'];
  paths: ProjectFiles['paths'];
  dashboards: CompiledDashboard[];
  /** the target it was compiled for, when it may be kept (command-kit.ts keptTarget) */
  target?: ResolvedTarget;
  /** the compile's warnings, printed again on each use */
  warnings: string[];
  /** the PII check of every dashboard's tiles, applied to those a render selects */
  pii: TilesPii;
  /** by model: the live PII its tiles' queries read (TileQueries masks the values their errors quote) */
  piiReads: Record<string, string[]>;
}

/** The compiled dashboards: from the snapshot while nothing they depend on changed, else compiled (and a snapshot kept). */
async function compiledForRender(o: Common): Promise<{ files: ProjectFiles; target: ResolvedTarget; dashboards: CompiledDashboard[]; pii: TilesPii; piiReads: Record<string, string[]> }> {
  const { findProjectRoot } = await import('../project/paths.js');
  const { readSnapshot } = await import('../project/snapshot.js');
  const root = findProjectRoot(o.projectDir);
  const snap = root ? await readSnapshot<DashboardsSnapshot>(root, 'dashboards', o) : undefined;
  const p = root && snap ? await projectFromSnapshot(root, snap, o) : undefined;
  if (snap && p) {
    for (const w of snap.warnings) err(w);
    someDashboards(snap.dashboards, p.files.paths);
    return { files: p.files, target: p.target, dashboards: snap.dashboards, pii: snap.pii, piiReads: snap.piiReads };
  }
  // compiling: loaded here, a render answered from the snapshot needs neither the YAML readers nor the compiler
  const { compileForCommand } = await import('./commands.js');
  const c = compileForCommand(o, { writeArtifacts: false, snapshot: true });
  // every dashboard's, whichever a render selects: the snapshot answers the next ones
  const piiReads: Record<string, string[]> = {};
  const pii = await tilesPii(c, c.result.dashboards, piiReads);
  await keepSnapshot('dashboards', c, o, c.snapshot, (): DashboardsSnapshot => ({
    project: c.files.project,
    paths: c.files.paths,
    dashboards: c.result.dashboards,
    target: keptTarget(c.target),
    warnings: c.result.diagnostics.filter((x) => x.severity === 'warn').map(formatDiagnostic),
    pii,
    piiReads,
  }));
  someDashboards(c.result.dashboards, c.files.paths);
  return { files: c.files, target: c.target, dashboards: c.result.dashboards, pii, piiReads };
}


export async function runDashboardsValidate(o: Common & { warehouse?: boolean }): Promise<void> {
  const c = await compiled(o);
  const ds = c.result.dashboards;
  refusePii(await tilesPii(c, ds), ds);
  const tiles = ds.reduce((n, d) => n + d.tabs.reduce((m, t) => m + t.tiles.length, 0), 0);
  const validated = `Validated ${counted(ds.length, 'dashboard')} (${counted(ds.reduce((n, d) => n + d.tabs.length, 0), 'tab')}, ${counted(tiles, 'tile')})`;
  if (!o.warehouse) {
    out(`${validated} against the columns declared in YAML.`);
    return;
  }
  // after a build: the warehouse's own catalog is the truth
  await requireDatabase(c, 'vigil dashboards validate --warehouse');
  // only reads: a DuckDB file is opened read-only, beside a BI tool or a vigil show reading it
  const adapter = await open(c, 1, { readOnly: true });
  try {
    const models = new Set(ds.flatMap((d) => d.models));
    const catalog = new Map<string, string[]>();
    const problems: Diagnostic[] = [];
    for (const name of models) {
      const node = Object.values(c.result.manifest.nodes).find((n) => n.resource_type === 'model' && n.name === name);
      if (!node || node.resource_type !== 'model' || !node.relation) continue;
      const cols = await adapter.columns(node.relation);
      if (!cols.length) {
        problems.push({ severity: 'error', code: 'E_DASHBOARD', message: `model '${name}' is not built in target ${c.target.name} (no relation ${adapter.dialect.relation(node.relation)})`, hint: 'run vigil build first' });
        continue;
      }
      catalog.set(name, cols.map((x) => x.name));
    }
    const { parseDashboards, compileDashboards } = await import('../dashboards/compile-dashboards.js');
    const parsed = parseDashboards(c.files.dashboards ?? [], problems);
    compileDashboards({ parsed, manifest: c.result.manifest, dialect: adapter.dialect, project: c.files.project.name, catalog, links: c.files.project.dashboards?.links }, problems);
    for (const d of problems.filter((x) => x.severity === 'warn')) err(formatDiagnostic(d));
    if (hasErrors(problems)) throw new ProjectError(problems.filter((x) => x.severity === 'error'));
    // (said once it holds: a column the warehouse lacks is an error above)
    out(`${validated} against the warehouse catalog of target ${c.target.name}: ${counted(catalog.size, 'model')}, every column found.`);
  } finally {
    await adapter.close();
  }
}

/** A Metabase database id given on the command line (a name is resolved only by publish, which can ask Metabase). */
function databaseId(v: string): number {
  // (Metabase's ids are 32-bit integers: a longer number would be rounded in the JSON)
  if (!/^[1-9]\d*$/.test(v.trim()) || Number(v) > 2 ** 31 - 1) throw new UsageError(`--metabase-database must be the database's id (a positive whole number up to ${2 ** 31 - 1}) for export, got '${v}'; vigil dashboards publish also accepts its name (it asks Metabase for the id)`);
  return Number(v);
}

export async function runDashboardsExport(o: Common & { format: 'looker' | 'metabase' | 'json'; out: string; lookerConnection?: string; metabaseDatabase?: string; collection?: string; baseUrl?: string }): Promise<void> {
  // a flag is refused where it would do nothing
  for (const [flag, v] of [['--looker-connection', o.lookerConnection], ['--base-url', o.baseUrl]] as const) if (v !== undefined && o.format !== 'looker') throw new UsageError(`${flag} applies to --format looker, not ${o.format}`);
  for (const [flag, v] of [['--metabase-database', o.metabaseDatabase], ['--collection', o.collection]] as const) if (v !== undefined && o.format !== 'metabase') throw new UsageError(`${flag} applies to --format metabase, not ${o.format}`);
  if (o.format === 'metabase' && o.metabaseDatabase === undefined) throw new UsageError('--format metabase needs --metabase-database ID: every card names the Metabase database it queries (Admin > Databases shows the id in the URL; vigil dashboards publish can look it up by name)');
  if (o.lookerConnection !== undefined && !/^[A-Za-z0-9_.-]+$/.test(o.lookerConnection)) throw new UsageError(`--looker-connection '${o.lookerConnection}' is not a Looker connection name (letters, digits, _ . -)`);
  if (o.collection !== undefined && !o.collection.trim()) throw new UsageError('--collection must not be empty');
  const c = await compiled(o);
  const ds = pick(c.result.dashboards, o.select);
  // Looker: the model file and the views serve every dashboard of the LookML project: written
  // from all of them, so that exporting one into the folder of a full export leaves the others
  // working; only the selected dashboards' own files are written
  const whole = o.format === 'looker' && ds.length < c.result.dashboards.length;
  const written = whole ? c.result.dashboards : ds;
  refusePii(await tilesPii(c, written), written);
  const { exportDashboards, exportWarnings } = await import('../dashboards/export.js');
  // (app routes: under the project's base URL, as the site links them)
  const opts = { lookerConnection: o.lookerConnection, metabaseDatabase: o.metabaseDatabase === undefined ? undefined : databaseId(o.metabaseDatabase), collection: o.collection, baseUrl: o.format === 'looker' ? await baseUrlOf(o.baseUrl, c.files.project) : undefined };
  const others = new Set(whole ? c.result.dashboards.filter((d) => !ds.includes(d)).map((d) => `${d.dashboard.name}.dashboard.lookml`) : []);
  const every = exportDashboards(written, o.format, opts);
  const files = new Map([...every].filter(([p]) => !others.has(p)));
  const dir = folderFlag('--out', o.out);
  refuseOverProject(dir, o.out, { format: o.format }, [...files.keys()], c.files);
  for (const w of exportWarnings(ds, o.format, opts, projectTargets(c))) err(w);
  for (const [p, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const abs = join(dir, p);
    writeProjectFile(abs, text);
    out(`  ${relative(process.cwd(), abs) || abs}`);
  }
  // an earlier export's files this one did not write (a renamed dashboard, a removed top_n): the
  // model's include would still pull them in; the other dashboards' files of a --select stay
  const removed = removeStaleExports(dir, o.format, new Set([...files.keys(), ...others]));
  for (const p of removed) out(`  removed ${relative(process.cwd(), join(dir, p)) || p} (written by an earlier export, not by this one)`);
  // the other dashboards' files stay, but the model and views were just written from their
  // definitions as they are now: a file left from before an edit (a tile renamed, a top_n or a
  // column dropped) may name a view or field that is no longer there, and Looker refuses it
  const stale = [...others].filter((p) => {
    try {
      return readFileSync(join(dir, p), 'utf8') !== redact(every.get(p) ?? '');
    } catch {
      return false; // not there: nothing to disagree with
    }
  });
  if (stale.length) err(`warning: ${stale.map((p) => relative(process.cwd(), join(dir, p)) || p).join(', ')} ${stale.length === 1 ? 'is' : 'are'} not what ${stale.length === 1 ? 'its dashboard exports' : 'their dashboards export'} now, and the model and views were written from the dashboards as they are now: ${stale.length === 1 ? 'it' : 'they'} may name views or fields no longer there (Looker would refuse ${stale.length === 1 ? 'it' : 'them'}); export ${stale.length === 1 ? 'it' : 'them'} too (-s ${stale.map((p) => basename(p, '.dashboard.lookml')).join(' -s ')}) or without -s`);
  out(`Exported ${ds.length} dashboard${ds.length === 1 ? '' : 's'} as ${o.format} (${counted(files.size, 'file')}) to ${o.out}${removed.length ? `; removed ${counted(removed.length, 'file')} an earlier export wrote` : ''}`);
}

/** Where a path really is (through symbolic links), also when it does not exist yet: the real path of its nearest existing folder, then the rest. */
function realPath(p: string): string {
  const rest: string[] = [];
  for (let at = resolve(p); ; at = dirname(at)) {
    try {
      return join(realpathSync(at), ...rest);
    } catch {
      if (dirname(at) === at) return resolve(p);
      rest.unshift(basename(at));
    }
  }
}

/**
 * An export or a rendered site never writes over the project it is made from (exit 2, before
 * anything is written): not into the dashboards folder (its files are the dashboards' sources; a
 * .json written anywhere below it — a Metabase or JSON export's, the site's page list
 * .vigil-site.json — would be read as a dashboard next time, and every command would fail on it),
 * and no file of the project (a model, a dashboard, project.yaml...) under another name. Compared
 * by real path, so `dashboards`, `./dashboards/`, an absolute path or a symbolic link to it are
 * one folder. `what`: the export's format, or the site.
 */
function refuseOverProject(dir: string, given: string, what: { format: string } | { site: true }, paths: string[], files: ProjectFiles): void {
  const out = realPath(dir);
  const dashboards = realPath(resolve(files.root, files.paths.dashboards));
  const inside = out.startsWith(dashboards + sep);
  if ('site' in what) {
    if (out === dashboards || inside) throw new UsageError(`--out ${given} is ${inside ? 'inside ' : ''}the project's dashboards folder (${files.paths.dashboards}/), where every .json file is read as a dashboard: the site's page list (${SITE_LIST}) would be read as one, and every command would fail on it; render elsewhere (e.g. --out target/site)`);
  } else {
    const elsewhere = `write the export elsewhere (e.g. --out target/dashboards-${what.format})`;
    if (out === dashboards) throw new UsageError(`--out ${given} is the project's dashboards folder (${files.paths.dashboards}/): the export would write over the dashboards it is made from; ${elsewhere}`);
    if (what.format !== 'looker' && inside) throw new UsageError(`--out ${given} is inside the project's dashboards folder (${files.paths.dashboards}/), where every .json file is read as a dashboard: the exported .json files would be read as dashboards; ${elsewhere}`);
  }
  const inputs = new Map<string, string>();
  for (const f of [...files.models, ...(files.seeds ?? []), ...(files.snapshots ?? []), ...files.macros, ...files.singularTests, ...(files.dashboards ?? []), ...(files.docs ?? []), ...files.properties, { path: files.projectYaml.file }]) inputs.set(realPath(resolve(files.root, f.path)), f.path);
  for (const p of paths) {
    const own = inputs.get(realPath(join(dir, p)));
    if (own) throw new UsageError(`--out ${given}: ${'site' in what ? 'the site' : 'the export'} would write ${p} over the project's own file ${own}; ${'site' in what ? 'render elsewhere (e.g. --out target/site)' : `write the export elsewhere (e.g. --out target/dashboards-${what.format})`}`);
  }
}

/** How export.ts begins every file it writes that can hold a comment (the LookML files). */
const exportHeader = (format: string) => `# Generated by \`vigil dashboards export --format ${format}\``;

/**
 * Files of an earlier export in the same format that `keep` (paths relative to `dir`) does not
 * name: only files that begin with that format's header, in `dir` and the folders the export
 * writes into (not below them: another export's folder). Returns them, relative to `dir`.
 */
function removeStaleExports(dir: string, format: string, keep: Set<string>): string[] {
  const header = Buffer.from(exportHeader(format));
  const folders = new Set(['.', ...[...keep].map((p) => dirname(p))]);
  const removed: string[] = [];
  for (const folder of [...folders].sort()) {
    let names: string[];
    try {
      names = readdirSync(join(dir, folder)).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const rel = folder === '.' ? n : `${folder}/${n}`;
      const abs = join(dir, rel);
      if (keep.has(rel) || !lstatSync(abs).isFile()) continue;
      const head = Buffer.alloc(header.length);
      const fd = openSync(abs, 'r');
      try {
        if (readSync(fd, head, 0, head.length, 0) !== head.length) continue;
      } finally {
        closeSync(fd);
      }
      if (!head.equals(header)) continue;
      rmSync(abs, { force: true });
      removed.push(rel);
    }
  }
  return removed;
}

/** The target the export is compiled for, and every target of the project with its warehouse type (for the dialect warnings). */
function projectTargets(c: { target: ResolvedTarget; files: ProjectFiles }): { target: string; targets: Array<{ name: string; type: string }> } {
  const targets = (c.files.project.targets ?? {}) as Record<string, { type?: string }>;
  return { target: c.target.name, targets: Object.entries(targets).flatMap(([name, t]) => (t?.type ? [{ name, type: t.type }] : [])) };
}

/** `vigil dashboards publish --metabase URL`: create or update the collection, cards and dashboards (metabase-publish.ts). */
export async function runDashboardsPublish(o: Common & { metabase: string; metabaseDatabase?: string; collection?: string }): Promise<void> {
  const { metabaseAuth, credentialProblem, MetabaseClient, MetabaseError, MetabasePublisher, listDatabases, engineWarning } = await import('../dashboards/metabase-publish.js');
  const auth = metabaseAuth();
  if (!auth) throw new UsageError('publish needs Metabase credentials in the environment: METABASE_API_KEY (an API key, sent as X-API-KEY) or METABASE_SESSION (a session id, sent as X-Metabase-Session); they are never read from flags or files');
  const bad = credentialProblem(auth);
  if (bad) throw new UsageError(bad);
  let base: URL;
  try {
    base = new URL(o.metabase);
  } catch {
    throw new UsageError(`--metabase must be the URL of a Metabase instance (http:// or https://), got '${redact(o.metabase)}'`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new UsageError(`--metabase must be an http:// or https:// URL, got '${redact(o.metabase)}'`);
  if (base.username || base.password || base.search || base.hash) throw new UsageError('--metabase takes the instance URL only (no credentials, query or fragment: the credentials come from METABASE_API_KEY or METABASE_SESSION)');
  const url = base.toString().replace(/\/+$/, '');
  if (base.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(base.hostname)) err(`warning: ${url} is plain HTTP: the ${auth.variable} travels unencrypted`);
  if (o.collection !== undefined && !o.collection.trim()) throw new UsageError('--collection must not be empty');
  const c = await compiled(o);
  const ds = pick(c.result.dashboards, o.select);
  refusePii(await tilesPii(c, ds), ds);
  const { metabasePlans } = await import('../dashboards/export.js');
  const client = new MetabaseClient(url, auth, undefined, (m) => err(`  ${m}`));
  // the dashboards published in full so far, and the one being published (a failure names what was not)
  const published: string[] = [];
  let publishing: string | undefined;
  try {
    // the database: by id or name (case-insensitive), or the only one that is not a sample
    const dbs = await listDatabases(client);
    const names = dbs.map((x) => `${x.name} (#${x.id})`).join(', ') || 'none';
    let db: (typeof dbs)[number] | undefined;
    const want = o.metabaseDatabase?.trim();
    if (want === undefined) {
      const real = dbs.filter((x) => !x.is_sample);
      if (real.length !== 1) throw new UsageError(`--metabase-database <id|name> is needed: Metabase has ${real.length ? `${real.length} databases` : 'no database'} besides the sample (${names})`);
      db = real[0];
    } else if (/^[1-9]\d*$/.test(want)) {
      db = dbs.find((x) => x.id === Number(want));
      if (!db) throw new UsageError(`--metabase-database ${want}: Metabase has no database #${want} that this key can see (databases: ${names})`);
    } else {
      db = dbs.find((x) => x.name === want) ?? dbs.find((x) => x.name.toLowerCase() === want.toLowerCase());
      if (!db) {
        const hint = didYouMean(want, dbs.map((x) => x.name));
        throw new UsageError(`--metabase-database '${want}': no such database in Metabase${hint ? ` — did you mean '${hint}'?` : ''} (databases: ${names})`);
      }
    }
    const dialect = ds[0].dialect;
    const w = engineWarning(db, dialect, c.target.name, projectTargets(c).targets);
    if (w) err(w);
    const plans = metabasePlans(ds, { metabaseDatabase: db.id, collection: o.collection });
    const publisher = new MetabasePublisher(client, url, (m) => err(m), plans[0].project);
    const col = await publisher.collection(plans[0].collection);
    out(`Publishing ${ds.length} dashboard${ds.length === 1 ? '' : 's'} to ${url}: database '${db.name}' (#${db.id}), collection '${plans[0].collection.name}' (#${col.id}${col.created ? ', created' : ''})`);
    for (const plan of plans) {
      publishing = plan.key;
      const r = await publisher.dashboard(plan);
      published.push(plan.key);
      const n = plan.cards.length;
      out(`  ${plan.key}: ${n} card${n === 1 ? '' : 's'} (${r.cards.created} created, ${r.cards.updated} updated, ${r.cards.unchanged} unchanged), dashboard #${r.id} ${r.dashboard} -> ${r.url}`);
    }
    out(`Published ${ds.length} dashboard${ds.length === 1 ? '' : 's'}.`);
    // what Vigil published there before and nothing publishes now (a tile or dashboard removed or
    // renamed): left as it was, never updated again — said, not deleted (Metabase's own users may use it)
    const strays = publisher.strays(plans, o.select?.length ? new Set(plans.map((p) => p.key)) : undefined);
    if (strays.length) {
      const shown = strays.slice(0, 10).map((x) => `${x.model} #${x.id} ${x.marker}`).join(', ');
      err(`warning: collection '${plans[0].collection.name}' holds ${strays.length} item${strays.length === 1 ? '' : 's'} Vigil published before that no ${o.select?.length ? 'selected ' : ''}dashboard publishes now (a tile or dashboard removed, or its id or name changed): ${shown}${strays.length > 10 ? `, and ${strays.length - 10} more` : ''}; ${strays.length === 1 ? 'it is' : 'they are'} left as ${strays.length === 1 ? 'it is' : 'they are'} and no longer updated: archive ${strays.length === 1 ? 'it' : 'them'} in Metabase`);
    }
  } catch (e) {
    if (!(e instanceof MetabaseError)) throw e;
    err(`error: Metabase: ${redact(e.message)}`);
    if (publishing !== undefined) {
      const rest = ds.map((d) => d.dashboard.name).filter((k) => k !== publishing && !published.includes(k));
      err(`Published ${published.length} of ${ds.length} dashboard${ds.length === 1 ? '' : 's'}${published.length ? ` (${published.join(', ')})` : ''}; not published: ${publishing} (failed)${rest.length ? `, ${rest.join(', ')} (not attempted)` : ''}; publishing again (the cause fixed) finds what this run created by its marker, without creating it twice`);
    }
    process.exitCode = 1;
  }
}

/**
 * Tile queries on the target, side by side (at most the adapter's concurrency), each SQL run
 * once: a tile whose query (and previous period) is the same as one asked before — a drill-down
 * page's tile that its filter does not reach — gets that one's result.
 */
export class TileQueries {
  private readonly cache = new Map<string, Promise<TileData>>();
  private readonly run: ReturnType<typeof limiter>;
  /** The TimeZone of the adapter's sessions (Adapter.sessionZone), asked once. */
  private zone?: Promise<string>;
  /** Queries run, and tiles answered by one run before. */
  queries = 0;
  reused = 0;
  /**
   * `past`: `at` is a moment before the render (--at): said with each result (TileData.past).
   * `piiReads`: by model, the live PII its queries read: the values their errors quote are masked.
   */
  constructor(
    private readonly adapter: Adapter,
    private readonly at: Date,
    private readonly past = false,
    private readonly piiReads: Record<string, string[]> = {},
  ) {
    this.run = limiter(adapter.maxConcurrency);
  }

  /** The TimeZone of the adapter's sessions (Adapter.sessionZone; UTC without one), asked once. */
  sessionZone(): Promise<string> {
    return (this.zone ??= this.adapter.sessionZone?.() ?? Promise.resolve('UTC'));
  }

  /**
   * The zone the tiles' days are read in, when not UTC: the session's, if Intl has rules for it (a
   * POSIX 'UTC+3' has none: read as UTC, with a warning, walkSite); asked once.
   */
  private wall?: Promise<string | undefined>;
  wallZone(): Promise<string | undefined> {
    return (this.wall ??= this.sessionZone().then((z) => (z !== 'UTC' && zoneOffsetMs(z, this.at.getTime()) !== undefined ? z : undefined)));
  }

  /** `countFrom`: countSql runs only when the rows reach this many (its limit): fewer are all there are. */
  get(t: Pick<CompiledDashboard['tabs'][number]['tiles'][number], 'sql' | 'previousSql' | 'syncState' | 'countSql'> & { countFrom?: number; model?: string }): Promise<TileData> {
    const key = `${t.sql}\u0000${t.previousSql ?? ''}\u0000${t.countSql ?? ''}`;
    const known = this.cache.get(key);
    if (known) {
      this.reused++;
      return known;
    }
    this.queries++;
    const { adapter, at, past } = this;
    const reads = t.model === undefined ? undefined : this.piiReads[t.model];
    const p = this.run(async (): Promise<TileData> => {
      const t0 = performance.now();
      try {
        // (the session's zone: the days its current_date and date_trunc read, where the render marks the running one)
        const zone = await this.wallZone();
        const read = { at: at.toISOString(), ...(past ? { past } : {}), ...(zone ? { zone } : {}) };
        // vigil_sync_state before the first sync: no table, no rows ("not synced yet")
        if (t.syncState && !(await adapter.columns(t.syncState)).length) return { ok: true, rows: [], seconds: (performance.now() - t0) / 1000, ...read };
        const counting = t.countSql && t.countFrom === undefined;
        const [rows, prev, count] = await Promise.all([adapter.query(adapter.dialect.bindEvalTime(t.sql, at)), t.previousSql ? adapter.query(adapter.dialect.bindEvalTime(t.previousSql, at)) : Promise.resolve(undefined), counting ? adapter.query(adapter.dialect.bindEvalTime(t.countSql!, at)) : Promise.resolve(undefined)]);
        // (counted after the rows, only when they reach the limit: below it they are all there are)
        const after = t.countSql && t.countFrom !== undefined ? (rows.length >= t.countFrom ? await adapter.query(adapter.dialect.bindEvalTime(t.countSql, at)) : [{ n: rows.length }]) : undefined;
        const counted = count ?? after;
        const total = counted ? Number(counted[0]?.n ?? Object.values(counted[0] ?? {})[0]) : undefined;
        // (a secret's value among the cells, redacted before the page escapes or percent-encodes it, as `vigil show` prints it)
        return { ok: true, rows: redactCells(rows), previous: prev ? redactCells(prev)[0] : undefined, seconds: (performance.now() - t0) / 1000, ...read, ...(total !== undefined && Number.isFinite(total) ? { total } : {}) };
      } catch (e) {
        // (written into the page: the values it quotes masked when the model's query reads PII, check/pii-lineage.ts)
        const { redactedError } = await import('../check/pii-lineage.js');
        return { ok: false, error: redact(redactedError((e as Error).message, reads, [t.sql, t.previousSql ?? '', t.countSql ?? '']).split('\n')[0]) };
      }
    });
    this.cache.set(key, p);
    return p;
  }
}

/** Tile queries a render runs side by side (the adapter's pool, and TileQueries' limit). */
const RENDER_CONCURRENCY = 4;

type Tile = CompiledDashboard['tabs'][number]['tiles'][number];

/** What a render's walk over the site found. */
export interface SiteWalk {
  /** each page's tile results, by page file and tile id */
  data: Map<string, Map<string, TileData>>;
  /** the drill-down pages, as their source tiles registered them */
  filtered: Array<{ page: SitePage; d: CompiledDashboard }>;
  /** the raw-rows pages of table rows (raw_rows), each with its query and result */
  raws: Array<{ page: RawPage; d: CompiledDashboard; ct: Tile; sql: string; data?: TileData }>;
  warnings: string[];
  queries: TileQueries;
  /** tiles of the dashboards' own pages */
  mainTiles: number;
}

/**
 * The queries of a render: every tile of the dashboards' own pages, and the tiles of each
 * drill-down page, started as their source tile's rows arrive and register the page
 * (site.register). `onTile` gets each tile's result as it arrives (the render draws it then,
 * while the other queries still run). The adapter is left open.
 */
export async function walkSite(ds: CompiledDashboard[], site: Site, adapter: Adapter, at: Date, onTile?: (d: CompiledDashboard, file: string, ct: Tile, x: TileData) => void, past = false, piiReads: Record<string, string[]> = {}): Promise<SiteWalk> {
  const { compileTileWithFilters } = await import('../dashboards/tile-sql.js');
  const { rawRowsSql, rawRowsCountSql } = await import('../dashboards/raw-rows.js');
  const q = new TileQueries(adapter, at, past, piiReads);
  // (the session's zone: a row's day is that zone's day; a failure to ask is each tile's own error)
  const zone = await q.sessionZone().catch(() => undefined);
  // (a raw-rows day of an instant, a timestamptz's date_trunc: that zone's day, as the tile labels it)
  const wall = zone === undefined ? undefined : await q.wallZone();
  if (wall) site.zone = wall;
  const data = new Map<string, Map<string, TileData>>();
  const pending: Array<Promise<unknown>> = [];
  const warnings: string[] = [];
  // (a zone Intl has no rules for, a POSIX 'UTC+3' or '<+03>-03': its days cannot be told here)
  if (zone && zone !== 'UTC' && !wall) warnings.push(`warning: the target's sessions read dates in TimeZone '${zone}', which is no IANA zone name: the days marked running or "as built" and the raw-rows pages' days are UTC ones, not the tiles' (set one such as Europe/Berlin in the url's options)`);
  const filtered: SiteWalk['filtered'] = [];
  const raws: SiteWalk['raws'] = [];
  const tile = (d: CompiledDashboard, file: string, ct: Tile, onData?: (x: TileData) => void) => {
    if (!data.has(file)) data.set(file, new Map());
    pending.push(
      q.get(ct).then((x) => {
        data.get(file)!.set(ct.tile.id, x);
        onData?.(x);
        onTile?.(d, file, ct, x);
      }),
    );
  };
  // a drill-down page: its tab's tiles again with the filter values set (compiled as literals of the dialect)
  const startPage = (page: SitePage) => {
    const target = site.dashboards.get(page.dashboard)!;
    filtered.push({ page, d: target });
    for (const ct of target.tabs.find((t) => t.name === page.tab)!.tiles) tile(target, page.file, compileTileWithFilters(ct, target.dashboard.filters, page.values, adapter.dialect));
  };
  // a table row's raw rows (raw_rows): one query per page, through the same connections and cache as the tiles
  const startRaw = (d: CompiledDashboard, ct: Tile, page: RawPage) => {
    // (a render --at a past moment: the rows of its day up to that moment, as the page is "as of" it)
    const until = past ? at : undefined;
    const r: SiteWalk['raws'][number] = { page, d, ct, sql: rawRowsSql(ct.rawRows!, page.values, adapter.dialect, until, zone) };
    raws.push(r);
    // (and counted: the page says how many rows there are beyond its limit)
    pending.push(q.get({ sql: r.sql, countSql: rawRowsCountSql(ct.rawRows!, page.values, adapter.dialect, until, zone), countFrom: ct.rawRows!.limit, model: ct.rawRows!.model }).then((x) => (r.data = x)));
  };
  for (const d of ds) {
    for (const tab of d.tabs) {
      for (const ct of tab.tiles) {
        tile(d, `${d.dashboard.name}.html`, ct, (x) => {
          if (ct.rawRows && x.ok) {
            const { added, leftOut } = site.registerRaw(d, ct, x.rows);
            if (leftOut.length) warnings.push(`warning: ${d.file}: tile ${ct.tile.id}: raw-rows pages for ${site.cap} rows, the first of the tile; left out ${leftOut.length}: ${leftOut.slice(0, 20).join(', ')}${leftOut.length > 20 ? ', ...' : ''}`);
            for (const p of added) startRaw(d, ct, p);
          }
          if (!ct.tile.drilldown || !x.ok) return;
          const { added, leftOut } = site.register(d, ct, x.rows);
          if (leftOut.length) warnings.push(`warning: ${d.file}: tile ${ct.tile.id}: drill-down pages for ${site.cap} values, the most at the top of the tile; left out ${leftOut.length}: ${leftOut.slice(0, 20).join(', ')}${leftOut.length > 20 ? ', ...' : ''}`);
          for (const p of added) startPage(p);
        });
      }
    }
  }
  // (the drill-down and raw-rows pages start as their source tiles' rows arrive)
  const mainTiles = q.queries + q.reused;
  while (pending.length) await Promise.all(pending.splice(0));
  return { data, filtered, raws, warnings, queries: q, mainTiles };
}

/**
 * Every query `vigil dashboards render` would run (the benchmark's baseline runs exactly these,
 * bench/dashboards.js): the same walk over the site, with nothing drawn or written, each
 * statement the adapter is asked to run recorded in order (with its parameters), and the
 * concurrency the render runs them at.
 */
export async function renderQueries(o: Common & { at?: string }): Promise<{ concurrency: number; queries: Array<{ sql: string; params?: unknown[] }> }> {
  const c = await compiledForRender(o);
  const ds = pick(c.dashboards, o.select);
  refusePii(c.pii, ds);
  const { Site } = await import('../dashboards/site.js');
  const adapter = await open(c, RENDER_CONCURRENCY, { readOnly: true });
  const queries: Array<{ sql: string; params?: unknown[] }> = [];
  const query = adapter.query.bind(adapter);
  adapter.query = ((sql: string, params?: Parameters<Adapter['query']>[1]) => {
    queries.push(params?.length ? { sql, params } : { sql });
    return query(sql, params);
  }) as Adapter['query'];
  try {
    await walkSite(ds, new Site(ds, undefined), adapter, parseAt(o.at), undefined, false, c.piiReads);
  } finally {
    await adapter.close();
  }
  return { concurrency: adapter.maxConcurrency, queries };
}

/** The site's base URL: --base-url, else project.yaml `dashboards: { base_url }` (checked by its schema); undefined: relative links. */
async function baseUrlOf(flag: string | undefined, project: ProjectFiles['project']): Promise<string | undefined> {
  const { checkBaseUrl } = await import('../dashboards/site.js');
  const given = flag ?? project.dashboards?.base_url;
  if (given === undefined) return undefined;
  const r = checkBaseUrl(given);
  if ('error' in r) throw new UsageError(`${flag !== undefined ? '--base-url' : 'project.yaml dashboards.base_url'}: ${r.error}`);
  return r.url;
}

export async function runDashboardsRender(o: Common & { out: string; png?: boolean; pngDir?: string; at?: string; baseUrl?: string }): Promise<void> {
  const c = await compiledForRender(o);
  const ds = pick(c.dashboards, o.select);
  refusePii(c.pii, ds);
  const at = parseAt(o.at);
  // --at a moment already gone: a table's row of that day (a date) may hold rows written after it
  // (a moment less than a minute ago is now: `--at "$(date -u +%FT%TZ)"` is cut to the second)
  const past = o.at !== undefined && at.getTime() < Date.now() - 60_000;
  const baseUrl = await baseUrlOf(o.baseUrl, c.files.project);
  const dir = folderFlag('--out', o.out);
  refuseOverProject(dir, o.out, { site: true }, [SITE_LIST, 'index.html', ...ds.map((d) => `${d.dashboard.name}.html`)], c.files);
  // --png-dir says where the pictures go: it asks for them; under target/ unless asked (a render
  // never writes over files of the repository)
  const pngDir = o.png || o.pngDir !== undefined ? (o.pngDir !== undefined ? folderFlag('--png-dir', o.pngDir) : join(c.files.root, c.files.paths.target, 'screenshots')) : undefined;
  // (a VIGIL_CHROMIUM that is no browser is said before anything is queried)
  const chromium = pngDir === undefined ? undefined : (await import('../dashboards/screenshot.js')).findChromium();
  await requireDatabase(c, 'vigil dashboards render');
  mkdirSync(dir, { recursive: true });
  const tiles = ds.reduce((n, d) => n + d.tabs.reduce((m, t) => m + t.tiles.length, 0), 0);
  // DuckDB opens the file (in its own threads) while the renderer and ECharts load; read-only (a
  // render only reads), so a BI tool, a vigil show or another render reading it may have it open too
  const opening = open(c, RENDER_CONCURRENCY, { readOnly: true });
  opening.catch(() => {}); // (a failure is thrown where it is awaited, below: not an unhandled rejection while the renderer loads)
  let adapter: Adapter | undefined;
  let walk: SiteWalk;
  let cache: import('../dashboards/tile-cache.js').TileCache;
  let site: Site;
  const drawn = new Map<string, Map<string, string>>();
  let renderDashboardHtml: typeof import('../dashboards/render.js').renderDashboardHtml;
  let renderRawRowsHtml: typeof import('../dashboards/render.js').renderRawRowsHtml;
  let renderIndexHtml: typeof import('../dashboards/index-page.js').renderIndexHtml;
  let colors: import('../dashboards/category-colors.js').CategoryColors;
  const colorsFile = join(c.files.root, c.files.paths.target, '.cache', 'category-colors.json');
  let t0: number;
  try {
    const render = await import('../dashboards/render.js');
    renderDashboardHtml = render.renderDashboardHtml;
    renderRawRowsHtml = render.renderRawRowsHtml;
    const { renderTileHtml, tileCategories } = render;
    ({ renderIndexHtml } = await import('../dashboards/index-page.js'));
    const { Site } = await import('../dashboards/site.js');
    out(`Rendering ${ds.length} dashboard${ds.length === 1 ? '' : 's'} (${tiles} tiles) from ${c.target.name} (${c.target.type}) into ${o.out}`);
    const { TileCache } = await import('../dashboards/tile-cache.js');
    const { CategoryColors } = await import('../dashboards/category-colors.js');
    // a category keeps its color across pages and renders; drawings kept hold the colors of this book
    colors = CategoryColors.open(colorsFile);
    // tiles whose rows did not change since the last render are not drawn again
    cache = TileCache.open(join(c.files.root, c.files.paths.target, '.cache', 'dashboard-tiles.json'), `${render.renderStamp()}:${colors.id}`);
    site = new Site(ds, baseUrl);
    // root-relative tile links are app routes: without a base URL the site cannot link them
    if (!baseUrl) {
      for (const d of ds) for (const tab of d.tabs) for (const t of tab.tiles) for (const l of t.tile.links) if (isAppRoute(l.url)) err(`warning: ${d.file}: tile ${t.tile.id}: link '${l.label}' (${l.url}) is an app route: shown as text, not linked, without a base URL (--base-url, or dashboards.base_url in project.yaml)`);
    }
    adapter = await opening;
    /** tiles drawn last: a drill-down tile links to the pages every source tile registers */
    const last: Array<() => void> = [];
    /** categories no render has colored yet: given their colors together before the tiles drawn last */
    const fresh: Array<[string, string]> = [];
    const drawing: Array<Promise<void>> = [];
    t0 = performance.now();
    walk = await walkSite(ds, site, adapter, at, (d, file, ct, x) => {
      if (!drawn.has(file)) drawn.set(file, new Map());
      // a tile's drawing depends on its page only through its links: a drill-down tile's are
      // relative to its page and lead to the pages the site has (known once every source tile's
      // rows are in: drawn last); any other tile's links depend on the base URL only, so the same
      // tile with the same rows on several pages is drawn once
      const draw = (context: string) => drawn.get(file)!.set(ct.tile.id, cache.html(d, ct, x, context, () => renderTileHtml(d, ct, x, site.links(d, file), colors)));
      const unknown = tileCategories(ct, x, colors).filter(([scope, name]) => !colors.has(scope, name));
      fresh.push(...unknown);
      // (a table with raw_rows links its rows to the raw-rows pages the site has: drawn last too)
      if (ct.tile.drilldown || ct.rawRows) last.push(() => draw(`${file}\u0000${baseUrl ?? ''}\u0000${[...site.pages.keys(), ...site.rawPages.keys()].sort().join('\u0000')}`));
      // (a category new to the book: drawn once every new one has its color, whatever the order the rows arrived in)
      else if (unknown.length) last.push(() => draw(baseUrl ?? ''));
      // each tile is drawn as soon as its rows arrive, while the other queries still run: after
      // the next query has started (a drawing takes ~10 ms of this thread; DuckDB's are not kept waiting)
      else {
        const p = new Promise<void>((res, rej) => setImmediate(() => {
          try {
            draw(baseUrl ?? '');
            res();
          } catch (e) {
            rej(e as Error);
          }
        }));
        p.catch(() => undefined); // (thrown by the Promise.all below, once the queries are done)
        drawing.push(p);
      }
    }, past, c.piiReads);
    await Promise.all(drawing);
    colors.assign(fresh);
    for (const draw of last) draw();
  } finally {
    // (a failure to open is thrown above; after a failure before that, the adapter still opens: closed)
    await (adapter ?? (await opening.catch(() => undefined)))?.close();
  }
  const { data, filtered, raws, warnings, queries: q, mainTiles } = walk;
  for (const w of warnings.sort()) err(w);
  const tq = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const pages: Array<{ name: string; file: string }> = [];
  const meta = { generatedAt: at.toISOString(), target: `${c.target.name} (${c.target.type})` };
  let failed = 0;
  /** the site's pages, relative to `dir` */
  const written = new Set<string>(['index.html']);
  // applied values by filter name (the renderer formats them: '7d' -> 'last 7 days', none -> 'All')
  const defaults = (d: CompiledDashboard) => Object.fromEntries(d.dashboard.filters.map((f) => [f.name, f.default === undefined || f.default === null ? '' : String(f.default)]));
  try {
    for (const d of ds) {
      const own = `${d.dashboard.name}.html`;
      const m = data.get(own)!;
      failed += [...m.values()].filter((x) => !x.ok).length;
      const html = renderDashboardHtml(d, m, { ...meta, filters: defaults(d) }, drawn.get(own), { links: site.links(d, own), colors });
      const file = join(dir, own);
      writeProjectFile(file, html);
      written.add(own);
      pages.push({ name: d.dashboard.name, file });
      for (const [id, x] of m) if (!x.ok) err(`  ${d.file}: tile ${id}: ${x.error}`);
      const more = filtered.filter((f) => f.d === d).length;
      out(`  ${relative(process.cwd(), file) || file}  (${d.tabs.length} tab${d.tabs.length === 1 ? '' : 's'}, ${m.size} tiles${[...m.values()].some((x) => !x.ok) ? `, ${[...m.values()].filter((x) => !x.ok).length} failed` : ''}${more ? `; ${more} drill-down page${more === 1 ? '' : 's'} in ${join(o.out, d.dashboard.name)}/` : ''})`);
    }
    for (const { page, d } of filtered.sort((a, b) => a.page.file.localeCompare(b.page.file))) {
      const m = data.get(page.file)!;
      const bad = [...m].filter(([, x]) => !x.ok);
      failed += bad.length;
      for (const [id, x] of bad) if (!x.ok) err(`  ${d.file}: tile ${id} (${page.file}): ${x.error}`);
      const applied = Object.fromEntries(Object.entries(page.values).map(([k, v]) => [k, String(v)]));
      const html = renderDashboardHtml(d, m, { ...meta, filters: { ...defaults(d), ...applied } }, drawn.get(page.file), { links: site.links(d, page.file), tab: page.tab, applied, colors });
      writeProjectFile(join(dir, ...page.file.split('/')), html);
      written.add(page.file);
    }
    for (const r of raws.sort((a, b) => a.page.file.localeCompare(b.page.file))) {
      if (r.data && !r.data.ok) {
        failed++;
        err(`  ${r.d.file}: tile ${r.ct.tile.id} raw rows (${r.page.file}): ${r.data.error}`);
      }
      const html = renderRawRowsHtml({ d: r.d, ct: r.ct, values: r.page.values, sql: r.sql, data: r.data, links: site.links(r.d, r.page.file), generatedAt: meta.generatedAt, target: meta.target });
      writeProjectFile(join(dir, ...r.page.file.split('/')), html);
      written.add(r.page.file);
    }
    writeProjectFile(join(dir, 'index.html'), renderIndexHtml(ds, meta, (file, anchor) => site.links(ds[0], 'index.html').href(file, anchor)));
  } catch (e) {
    // the pages written before the failure are the site's too: listed, for the next render to replace or remove
    const { listWrittenSoFar } = await import('../dashboards/site-files.js');
    listWrittenSoFar(dir, written, ds);
    throw e;
  }
  // the pages of an earlier render this one did not write (a dashboard, tab or value gone, or left out by --select)
  const { replaceSitePages } = await import('../dashboards/site-files.js');
  const removed = replaceSitePages(dir, written, ds);
  if (removed.length) out(`  removed ${counted(removed.length, 'page')} an earlier render wrote into ${o.out} and this one did not${removed.length <= 5 ? `: ${removed.join(', ')}` : ''}`);
  cache.save();
  colors.save(colorsFile);
  const tr = (performance.now() - t1) / 1000;
  const more = q.queries + q.reused - mainTiles - raws.length;
  const extra = `${filtered.length ? ` and ${more} more for ${filtered.length} drill-down page${filtered.length === 1 ? '' : 's'}` : ''}${raws.length ? `${filtered.length ? ',' : ' and'} ${raws.length} raw-rows quer${raws.length === 1 ? 'y' : 'ies'} (one per page)` : ''}`;
  const reused = `${q.reused ? `; ${q.reused} answered by a query already run` : ''}${cache.hits ? `; ${cache.hits} unchanged since the last render, not drawn again` : ''}${cache.shared ? `; ${cache.shared} the same as on another page, drawn once` : ''}`;
  out(`Queried ${counted(tiles, 'tile')}${extra} in ${tq.toFixed(3)}s (drawing each as it arrived${reused}), assembled ${counted(pages.length + filtered.length + raws.length, 'page')} in ${tr.toFixed(3)}s -> ${join(o.out, 'index.html')}`);
  if (pngDir !== undefined && pages.length > 0) {
    const { openScreenshotSession, launchScreenshotBrowser, pngNames } = await import('../dashboards/screenshot.js');
    if (!chromium) throw new UsageError('--png needs Chromium: install Debian\'s package (apt-get install chromium) or set VIGIL_CHROMIUM to its path; vigil never downloads a browser');
    // named over all the project's dashboards, not only those rendered: a tab's picture has the
    // same name whatever else is rendered with it
    const { names, shared } = pngNames(c.dashboards.map((d) => ({ name: d.dashboard.name, tabs: d.tabs.map((t) => ({ name: t.name, title: t.title })) })));
    const rendered = new Set(pages.map((p) => p.name));
    for (const x of shared.filter((y) => y.tabs.some((t) => rendered.has(t.dashboard))))
      out(`  note: ${x.bare} would name ${counted(x.tabs.length, 'tab')} of the project (${x.tabs.map((t) => `${t.dashboard}.${t.tab}`).join(', ')}): each picture has its dashboard's name in front (${x.tabs.filter((t) => rendered.has(t.dashboard)).map((t) => t.file).join(', ')})`);
    // one browser, and one tab of it, for every page of the render
    const written: string[] = [];
    const browser = await launchScreenshotBrowser(chromium);
    try {
      const session = await openScreenshotSession(browser);
      try {
        for (const p of pages) {
          const shots = await session.shoot(p.file, pngDir, names.get(p.name));
          for (const s of shots) {
            written.push(s.file);
            out(`  ${relative(process.cwd(), s.file) || s.file} (${Math.round(s.bytes / 1024)} KB)`);
          }
        }
      } finally {
        await session.close();
      }
    } finally {
      await browser.close();
    }
    const current = new Set([...names.values()].flatMap((m) => [...m.values()]));
    for (const gone of staleScreenshots(join(c.files.root, c.files.paths.target, '.cache', 'screenshots.json'), pngDir, written, current))
      out(`  removed ${relative(process.cwd(), gone) || gone} (no tab of the project is named so any more: renamed or removed)`);
  }
  if (failed) {
    err(`${failed} tile${failed === 1 ? '' : 's'} failed to query (shown as errors on the page)`);
    process.exitCode = 1;
  }
}

/**
 * The pictures an earlier render wrote into `dir` whose tab is gone (a tab renamed or removed, a
 * dashboard deleted), removed: found in the record of what renders wrote there (`record`, in
 * target/.cache/), and only when the file is still the one written (same content), so a picture
 * of yours of that name is kept. The record is then what is in `dir` now. Returns the removed files.
 */
function staleScreenshots(record: string, dir: string, written: string[], current: ReadonlySet<string>): string[] {
  const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
  let all: Record<string, Record<string, string>> = {};
  try {
    const j = JSON.parse(readFileSync(record, 'utf8'));
    if (j && typeof j === 'object' && !Array.isArray(j)) all = j;
  } catch {
    // (none yet, or unreadable: nothing known to remove)
  }
  const key = resolve(dir);
  const before = all[key] && typeof all[key] === 'object' ? all[key] : {};
  const now: Record<string, string> = {};
  const removed: string[] = [];
  for (const [name, hash] of Object.entries(before)) {
    const file = join(dir, name);
    if (current.has(name) || name.includes('/') || name.includes(sep)) {
      if (!written.includes(file)) now[name] = hash;
      continue;
    }
    try {
      if (digest(file) === hash) {
        rmSync(file);
        removed.push(file);
      }
    } catch {
      // (gone already)
    }
  }
  for (const file of written) now[basename(file)] = digest(file);
  all[key] = now;
  writeProjectFile(record, `${JSON.stringify(all, null, 2)}\n`);
  return removed;
}
