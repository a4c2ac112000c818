/**
 * `vigil dashboards validate | export | render`. Loaded lazily by main.ts.
 */
import { mkdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { didYouMean, formatDiagnostic, hasErrors, ProjectError, UsageError, type Diagnostic } from '../errors.js';
import { redact } from '../secrets.js';
import { writeProjectFile } from '../project/artifacts.js';
import { compileForCommand, err, keepSnapshot, open, out, parseAt, projectFromSnapshot } from './commands.js';
import type { ProjectFiles } from '../project/load-project.js';
import type { ResolvedTarget } from '../compile/compile-project.js';
import { globToRe } from '../compile/selector.js';
import { mapLimit } from '../run/concurrency.js';
import type { Adapter } from '../adapters/adapter.js';
import type { CompiledDashboard, TileData } from '../dashboards/types.js';


interface Common {
  projectDir: string;
  target?: string;
  vars?: string;
  select?: string[];
}

function pick(ds: CompiledDashboard[], select: string[] | undefined): CompiledDashboard[] {
  if (!select?.length) return ds;
  const picked = ds.filter((d) => select.some((s) => globToRe(s).test(d.dashboard.name)));
  if (!picked.length) throw new UsageError(`--select ${select.join(' ')} matched no dashboard (dashboards: ${ds.map((d) => d.dashboard.name).join(', ')})`);
  return picked;
}

function compiled(o: Common) {
  const c = compileForCommand(o, { writeArtifacts: false });
  someDashboards(c.result.dashboards, c.files.paths);
  return c;
}

function someDashboards(ds: CompiledDashboard[], paths: ProjectFiles['paths']): void {
  if (!ds.length) throw new UsageError(`no dashboards in ${paths.dashboards}/*.json (see docs/dashboards.md)`);
}

/** What `vigil dashboards render` needs of a compile, kept as snapshot `dashboards` (project/snapshot.ts). */
interface DashboardsSnapshot {
  project: ProjectFiles['project'];
  paths: ProjectFiles['paths'];
  dashboards: CompiledDashboard[];
  /** the compile's warnings, printed again on each use */
  warnings: string[];
}

/** The compiled dashboards: from the snapshot while nothing they depend on changed, else compiled (and a snapshot kept). */
async function compiledForRender(o: Common): Promise<{ files: ProjectFiles; target: ResolvedTarget; dashboards: CompiledDashboard[] }> {
  const { findProjectRoot } = await import('../project/paths.js');
  const { readSnapshot } = await import('../project/snapshot.js');
  const root = findProjectRoot(o.projectDir);
  const snap = root ? await readSnapshot<DashboardsSnapshot>(root, 'dashboards', o) : undefined;
  const p = root && snap ? projectFromSnapshot(root, snap, o) : undefined;
  if (snap && p) {
    for (const w of snap.warnings) err(w);
    someDashboards(snap.dashboards, p.files.paths);
    return { files: p.files, target: p.target, dashboards: snap.dashboards };
  }
  const c = compileForCommand(o, { writeArtifacts: false, snapshot: true });
  await keepSnapshot('dashboards', c, o, c.snapshot, (): DashboardsSnapshot => ({
    project: c.files.project,
    paths: c.files.paths,
    dashboards: c.result.dashboards,
    warnings: c.result.diagnostics.filter((x) => x.severity === 'warn').map(formatDiagnostic),
  }));
  someDashboards(c.result.dashboards, c.files.paths);
  return { files: c.files, target: c.target, dashboards: c.result.dashboards };
}


export async function runDashboardsValidate(o: Common & { warehouse?: boolean }): Promise<void> {
  const c = compiled(o);
  const ds = c.result.dashboards;
  const tiles = ds.reduce((n, d) => n + d.tabs.reduce((m, t) => m + t.tiles.length, 0), 0);
  out(`Validated ${ds.length} dashboard${ds.length === 1 ? '' : 's'} (${ds.reduce((n, d) => n + d.tabs.length, 0)} tabs, ${tiles} tiles) against the columns declared in YAML.`);
  if (!o.warehouse) return;
  // after a build: the warehouse's own catalog is the truth
  const adapter = await open(c, 1);
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
    compileDashboards({ parsed, manifest: c.result.manifest, dialect: adapter.dialect, project: c.files.project.name, catalog }, problems);
    for (const d of problems.filter((x) => x.severity === 'warn')) err(formatDiagnostic(d));
    if (hasErrors(problems)) throw new ProjectError(problems.filter((x) => x.severity === 'error'));
    out(`...and against the warehouse catalog of target ${c.target.name}: ${catalog.size} models, every column found.`);
  } finally {
    await adapter.close();
  }
}

/** A Metabase database id given on the command line (a name is resolved only by publish, which can ask Metabase). */
function databaseId(v: string): number {
  if (!/^[1-9]\d*$/.test(v.trim())) throw new UsageError(`--metabase-database must be the database's id (a positive whole number) for export, got '${v}'; vigil dashboards publish also accepts its name (it asks Metabase for the id)`);
  return Number(v);
}

export async function runDashboardsExport(o: Common & { format: 'looker' | 'metabase' | 'json'; out: string; lookerConnection?: string; metabaseDatabase?: string; collection?: string }): Promise<void> {
  // a flag is refused where it would do nothing
  if (o.lookerConnection !== undefined && o.format !== 'looker') throw new UsageError(`--looker-connection applies to --format looker, not ${o.format}`);
  for (const [flag, v] of [['--metabase-database', o.metabaseDatabase], ['--collection', o.collection]] as const) if (v !== undefined && o.format !== 'metabase') throw new UsageError(`${flag} applies to --format metabase, not ${o.format}`);
  if (o.format === 'metabase' && o.metabaseDatabase === undefined) throw new UsageError('--format metabase needs --metabase-database ID: every card names the Metabase database it queries (Admin > Databases shows the id in the URL; vigil dashboards publish can look it up by name)');
  if (o.lookerConnection !== undefined && !/^[A-Za-z0-9_.-]+$/.test(o.lookerConnection)) throw new UsageError(`--looker-connection '${o.lookerConnection}' is not a Looker connection name (letters, digits, _ . -)`);
  if (o.collection !== undefined && !o.collection.trim()) throw new UsageError('--collection must not be empty');
  const c = compiled(o);
  const ds = pick(c.result.dashboards, o.select);
  const { exportDashboards, exportWarnings } = await import('../dashboards/export.js');
  const opts = { lookerConnection: o.lookerConnection, metabaseDatabase: o.metabaseDatabase === undefined ? undefined : databaseId(o.metabaseDatabase), collection: o.collection };
  for (const w of exportWarnings(ds, o.format, opts, projectTargets(c))) err(w);
  const files = exportDashboards(ds, o.format, opts);
  const dir = isAbsolute(o.out) ? o.out : resolve(process.cwd(), o.out);
  for (const [p, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const abs = join(dir, p);
    writeProjectFile(abs, text);
    out(`  ${relative(process.cwd(), abs) || abs}`);
  }
  out(`Exported ${ds.length} dashboard${ds.length === 1 ? '' : 's'} as ${o.format} (${files.size} files) to ${o.out}`);
}

/** The target the export is compiled for, and the project's BigQuery targets (for exportWarnings). */
function projectTargets(c: { target: ResolvedTarget; files: ProjectFiles }): { target: string; bigQueryTargets: string[] } {
  const targets = (c.files.project.targets ?? {}) as Record<string, { type?: string }>;
  return { target: c.target.name, bigQueryTargets: Object.entries(targets).filter(([, t]) => t?.type === 'bigquery').map(([n]) => n).sort() };
}

/** `vigil dashboards publish --metabase URL`: create or update the collection, cards and dashboards (metabase-publish.ts). */
export async function runDashboardsPublish(o: Common & { metabase: string; metabaseDatabase?: string; collection?: string }): Promise<void> {
  const { metabaseAuth, MetabaseClient, MetabaseError, MetabasePublisher, listDatabases, engineWarning } = await import('../dashboards/metabase-publish.js');
  const auth = metabaseAuth();
  if (!auth) throw new UsageError('publish needs Metabase credentials in the environment: METABASE_API_KEY (an API key, sent as X-API-KEY) or METABASE_SESSION (a session id, sent as X-Metabase-Session); they are never read from flags or files');
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
  const c = compiled(o);
  const ds = pick(c.result.dashboards, o.select);
  const { metabasePlans } = await import('../dashboards/export.js');
  const client = new MetabaseClient(url, auth, undefined, (m) => err(`  ${m}`));
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
    const w = engineWarning(db, dialect, c.target.name);
    if (w) err(w);
    const publisher = new MetabasePublisher(client, url, (m) => err(m));
    const plans = metabasePlans(ds, { metabaseDatabase: db.id, collection: o.collection });
    const col = await publisher.collection(plans[0].collection);
    out(`Publishing ${ds.length} dashboard${ds.length === 1 ? '' : 's'} to ${url}: database '${db.name}' (#${db.id}), collection '${plans[0].collection.name}' (#${col.id}${col.created ? ', created' : ''})`);
    for (const plan of plans) {
      const r = await publisher.dashboard(plan);
      const n = plan.cards.length;
      out(`  ${plan.key}: ${n} card${n === 1 ? '' : 's'} (${r.cards.created} created, ${r.cards.updated} updated, ${r.cards.unchanged} unchanged), dashboard #${r.id} ${r.dashboard} -> ${r.url}`);
    }
    out(`Published ${ds.length} dashboard${ds.length === 1 ? '' : 's'}.`);
  } catch (e) {
    if (!(e instanceof MetabaseError)) throw e;
    err(`error: Metabase: ${redact(e.message)}`);
    process.exitCode = 1;
  }
}

const NOT_SYNCED = new Error('not synced yet');

/** Run every tile's query (and a KPI's previous period) on the target, side by side. */
export async function queryTiles(
  adapter: Adapter,
  ds: CompiledDashboard[],
  at: Date,
  /** Called as each tile's data arrives (rendering it while the other queries run). */
  onTile?: (d: CompiledDashboard, t: CompiledDashboard['tabs'][number]['tiles'][number], data: TileData) => void,
): Promise<Map<string, Map<string, TileData>>> {
  const result = new Map(ds.map((d) => [d.dashboard.name, new Map<string, TileData>()]));
  const tiles = ds.flatMap((d) => d.tabs.flatMap((tab) => tab.tiles.map((t) => ({ d, t }))));
  await mapLimit(tiles, adapter.maxConcurrency, async ({ d, t }) => {
    const t0 = performance.now();
    let data: TileData;
    try {
      // vigil_sync_state before the first sync: no table, no rows ("not synced yet")
      if (t.syncState && !(await adapter.columns(t.syncState)).length) throw NOT_SYNCED;
      const [rows, prev] = await Promise.all([adapter.query(adapter.dialect.bindEvalTime(t.sql, at)), t.previousSql ? adapter.query(adapter.dialect.bindEvalTime(t.previousSql, at)) : Promise.resolve(undefined)]);
      data = { ok: true, rows, previous: prev?.[0], seconds: (performance.now() - t0) / 1000, at: at.toISOString() };
    } catch (e) {
      data = e === NOT_SYNCED ? { ok: true, rows: [], seconds: (performance.now() - t0) / 1000, at: at.toISOString() } : { ok: false, error: redact((e as Error).message.split('\n')[0]) };
    }
    result.get(d.dashboard.name)!.set(t.tile.id, data);
    onTile?.(d, t, data);
  });
  return result;
}

export async function runDashboardsRender(o: Common & { out: string; png?: boolean; pngDir?: string; at?: string }): Promise<void> {
  const c = await compiledForRender(o);
  const ds = pick(c.dashboards, o.select);
  const at = parseAt(o.at);
  const dir = isAbsolute(o.out) ? o.out : resolve(process.cwd(), o.out);
  mkdirSync(dir, { recursive: true });
  const { renderDashboardHtml } = await import('../dashboards/render.js');
  const { renderIndexHtml } = await import('../dashboards/index-page.js');
  const tiles = ds.reduce((n, d) => n + d.tabs.reduce((m, t) => m + t.tiles.length, 0), 0);
  out(`Rendering ${ds.length} dashboard${ds.length === 1 ? '' : 's'} (${tiles} tiles) from ${c.target.name} (${c.target.type}) into ${o.out}`);
  const { renderTileHtml, renderStamp } = await import('../dashboards/render.js');
  const { TileCache } = await import('../dashboards/tile-cache.js');
  // tiles whose rows did not change since the last render are not drawn again
  const cache = TileCache.open(join(c.files.root, c.files.paths.target, '.cache', 'dashboard-tiles.json'), renderStamp());
  const adapter = await open(c, 4);
  let data: Awaited<ReturnType<typeof queryTiles>>;
  // each tile is drawn as soon as its rows arrive, while the other queries still run
  const prerendered = new Map<string, Map<string, string>>(ds.map((d) => [d.dashboard.name, new Map()]));
  const t0 = performance.now();
  try {
    data = await queryTiles(adapter, ds, at, (d, t, x) => prerendered.get(d.dashboard.name)!.set(t.tile.id, cache.html(d, t, x, () => renderTileHtml(d, t, x))));
  } finally {
    await adapter.close();
  }
  const tq = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const pages: Array<{ name: string; file: string }> = [];
  let failed = 0;
  for (const d of ds) {
    const m = data.get(d.dashboard.name)!;
    failed += [...m.values()].filter((x) => !x.ok).length;
    // applied values by filter name (the renderer formats them: '7d' -> 'last 7 days', none -> 'All')
    const filters = Object.fromEntries(d.dashboard.filters.map((f) => [f.name, f.default === undefined || f.default === null ? '' : String(f.default)]));
    const html = renderDashboardHtml(d, m, { generatedAt: at.toISOString(), target: `${c.target.name} (${c.target.type})`, filters }, prerendered.get(d.dashboard.name));
    const file = join(dir, `${d.dashboard.name}.html`);
    writeProjectFile(file, html);
    pages.push({ name: d.dashboard.name, file });
    for (const [id, x] of m) if (!x.ok) err(`  ${d.file}: tile ${id}: ${x.error}`);
    out(`  ${relative(process.cwd(), file) || file}  (${d.tabs.length} tab${d.tabs.length === 1 ? '' : 's'}, ${m.size} tiles${[...m.values()].some((x) => !x.ok) ? `, ${[...m.values()].filter((x) => !x.ok).length} failed` : ''})`);
  }
  writeProjectFile(join(dir, 'index.html'), renderIndexHtml(ds, { generatedAt: at.toISOString(), target: `${c.target.name} (${c.target.type})` }));
  cache.save();
  const tr = (performance.now() - t1) / 1000;
  const reused = cache.hits ? `; ${cache.hits} unchanged since the last render, not drawn again` : '';
  out(`Queried ${tiles} tiles in ${tq.toFixed(3)}s (drawing each as it arrived${reused}), assembled ${pages.length} pages in ${tr.toFixed(3)}s -> ${join(o.out, 'index.html')}`);
  // --png-dir says where the pictures go: it asks for them
  if (o.png || o.pngDir !== undefined) {
    const { screenshotTabs, findChromium } = await import('../dashboards/screenshot.js');
    const chromium = findChromium();
    if (!chromium) throw new UsageError('--png needs Chromium: install Debian\'s package (apt-get install chromium) or set VIGIL_CHROMIUM to its path; vigil never downloads a browser');
    // under target/ unless asked: a render never writes over files of the repository
    const pngDir = o.pngDir ? resolve(process.cwd(), o.pngDir) : join(c.files.root, c.files.paths.target, 'screenshots');
    const taken = new Set<string>();
    for (const p of pages) {
      const shots = await screenshotTabs(p.file, pngDir, { executablePath: chromium, taken });
      for (const s of shots) out(`  ${relative(process.cwd(), s.file) || s.file} (${Math.round(s.bytes / 1024)} KB)`);
    }
  }
  if (failed) {
    err(`${failed} tile${failed === 1 ? '' : 's'} failed to query (shown as errors on the page)`);
    process.exitCode = 1;
  }
}
