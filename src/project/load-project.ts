/**
 * Finding and reading a project from disk. This is the only place the compile path touches
 * the filesystem: it returns plain data (texts and parsed YAML) that the pure compiler takes.
 */
import { existsSync, lstatSync, readlinkSync, statSync } from 'node:fs';
import { isAbsolute, join, posix, relative, resolve } from 'node:path';
import { diag, ProjectError, type Diagnostic } from '../errors.js';
import { readSelectorsFile } from './selectors-file.js';
import { EDITOR_TEMP, findProjectRoot, linkedFile, listFiles, PROJECT_FILE, readProjectText, SELECTORS_FILE, SOURCE_FOLDERS, SQL_FILE, toPosix, type Listed } from './paths.js';
import { keepSource, parseYaml, parseYamlKeeping, validateYaml, yamlFromTree, type YamlSource } from './yaml-source.js';
import { YamlCache } from './yaml-cache.js';
import { ProjectFileSchema, PropertiesFileSchema, type ProjectFile, type PropertiesFile } from './schema.js';

export interface RawFile {
  /** Path relative to the project root, with forward slashes. */
  path: string;
  /** The content. For models this is read on first access, so a recompile whose render cache
   * already knows the file (same size and modification time) never reads it. */
  text: string;
  /** Size and modification time, when the file came from disk. */
  stamp?: { size: number; mtimeMs: number };
}

export interface PropertiesSource {
  path: string;
  data: PropertiesFile;
  yaml: YamlSource;
}

export interface ProjectFiles {
  root: string;
  project: ProjectFile;
  projectYaml: YamlSource;
  paths: { models: string; macros: string; tests: string; alerts: string; dashboards: string; seeds: string; snapshots?: string; target: string };
  models: RawFile[];
  /** seeds/**.csv, not read (they can be large): stat only */
  seeds?: RawFile[];
  /** snapshots/**.sql */
  snapshots?: RawFile[];
  macros: RawFile[];
  singularTests: RawFile[];
  /** dashboards/**.json */
  dashboards?: RawFile[];
  /** .md files under models/, seeds/ and snapshots/: {% docs %} blocks */
  docs?: RawFile[];
  properties: PropertiesSource[];
  /**
   * By file: the sources (`source.table`) a properties file declares that failed validation (its
   * problems are in `diagnostics`, at their lines). Compile does not report each use of them as
   * "not found" too: one typo in a file would bury itself under an error per model.
   */
  unvalidatedSources?: Map<string, string[]>;
  /** Problems found while reading (bad YAML); compile reports them with its own. */
  diagnostics: Diagnostic[];
  /** Reads a fixture file (CSV) named by a unit test, relative to the root; undefined if missing. */
  readFixture?: (path: string) => string | undefined;
  /** The CSV files under `<paths.tests>/fixtures` (relative to the root): what dbt's fixture names (a file name without extension) name. */
  fixtureFiles?: () => string[];
  /** The paths readFixture was asked for (relative to the root, found or not): `--watch` compiles again when one changes. */
  fixturesRead?: Set<string>;
  /** The files that are symbolic links, with the real path of the file each points to: `--watch` watches those too. */
  links?: Map<string, string>;
}

export { findProjectRoot, listFiles, PROJECT_FILE, readProjectText, SOURCE_FOLDERS, SQL_FILE, toPosix };

function readAll(root: string, paths: string[]): RawFile[] {
  return paths.map((p) => ({ path: p, text: readProjectText(join(root, p)) }));
}

/** Files with their stamp and a lazily read `text`. */
function statAll(root: string, paths: string[]): RawFile[] {
  return paths.map((p) => {
    const abs = join(root, p);
    const st = statSync(abs);
    let text: string | undefined;
    return {
      path: p,
      stamp: { size: st.size, mtimeMs: st.mtimeMs },
      get text() {
        return (text ??= readProjectText(abs));
      },
    };
  });
}

/** Which files of the project feed a compile, by kind: folders, name pattern, stat only (read lazily) or read. */
interface FileKind {
  key: 'models' | 'macros' | 'singularTests' | 'dashboards' | 'seeds' | 'snapshots' | 'docs' | 'properties';
  dir: string[];
  re: RegExp;
  /** stat only (models: read when not cached; seeds: they can be large) */
  stat?: boolean;
}

function fileKinds(paths: ProjectFiles['paths']): FileKind[] {
  const described = [paths.models, paths.seeds, paths.snapshots ?? 'snapshots'];
  return [
    { key: 'models', dir: [paths.models], re: SQL_FILE, stat: true },
    { key: 'macros', dir: [paths.macros], re: SQL_FILE },
    { key: 'singularTests', dir: [paths.tests], re: SQL_FILE },
    { key: 'dashboards', dir: [paths.dashboards], re: /\.json$/ },
    { key: 'seeds', dir: [paths.seeds], re: /\.csv$/i, stat: true },
    { key: 'snapshots', dir: [paths.snapshots ?? 'snapshots'], re: SQL_FILE },
    { key: 'docs', dir: described, re: /\.md$/ },
    { key: 'properties', dir: [...described, `${paths.tests}/unit`], re: /\.ya?ml$/ },
  ];
}


/**
 * project.yaml `paths:` with their defaults, as plain relative paths (`./models/` is `models`):
 * file paths, the watcher's events and the snapshot's stamps all compare with them.
 */
export function projectPaths(p: ProjectFile['paths'] | undefined): Required<ProjectFiles['paths']> {
  const folder = (v: string | undefined, dflt: string) => (v === undefined ? dflt : posix.normalize(toPosix(v)).replace(/^(\.\/)+/, '').replace(/\/+$/, '') || '.');
  return {
    models: folder(p?.models, 'models'),
    macros: folder(p?.macros, 'macros'),
    tests: folder(p?.tests, 'tests'),
    alerts: folder(p?.alerts, 'alerts'),
    dashboards: folder(p?.dashboards, 'dashboards'),
    seeds: folder(p?.seeds, 'seeds'),
    snapshots: folder(p?.snapshots, 'snapshots'),
    target: folder(p?.target, 'target'),
  };
}

/**
 * Read project.yaml and every model, macro, test and properties file. A broken project.yaml
 * throws (nothing can be done without it); problems in other YAML files are collected.
 * `keepYaml`: also write the properties files read to the YAML cache (yaml-cache.ts) for the next
 * run — what the commands that compile ask for (they keep the render cache too); the others only
 * read it, so a command that promises to change nothing (`vigil debug`, `vigil clean`) does not
 * create target/.
 */
export function loadProject(projectDir: string, opts: { keepYaml?: boolean } = {}): ProjectFiles {
  const root = findProjectRoot(projectDir);
  if (!root) {
    throw new ProjectError([
      diag('E_NO_PROJECT', `no ${PROJECT_FILE} found in ${resolve(projectDir)} or any parent folder`, {}, 'run `vigil init` to create a project, or pass --project-dir'),
    ]);
  }
  const diagnostics: Diagnostic[] = [];
  const projectYaml = parseYaml(readProjectText(join(root, PROJECT_FILE)), PROJECT_FILE, diagnostics);
  const project = projectYaml ? validateYaml(projectYaml, ProjectFileSchema, diagnostics) : undefined;
  if (!project || !projectYaml) throw new ProjectError(diagnostics);

  const paths = projectPaths(project.paths);
  // target/ is written and cleaned: inside the project, and not where the project's own files are
  // (compiled SQL under models/ would be read back as models)
  const t = paths.target;
  const own = SOURCE_FOLDERS.find((k) => t === paths[k] || t.startsWith(`${paths[k]}/`) || paths[k] === '.' || paths[k].startsWith(`${t}/`));
  if (t === '.' || t === '..' || t.startsWith('../') || isAbsolute(t) || own) {
    const at = projectYaml.locate(['paths', 'target']);
    throw new ProjectError([diag('E_PATHS', `paths.target: '${project.paths?.target}' ${own ? `overlaps the ${own} folder (${paths[own]})` : 'is not a folder inside the project'}: Vigil writes and cleans it`, { file: PROJECT_FILE, ...at }, "a folder of its own inside the project, e.g. target")]);
  }
  // each folder walked once, whatever kinds of files it holds
  const walked = new Map<string, string[]>();
  const found: Required<Listed> = { links: new Map(), dangling: [] };
  const list = (k: FileKind) =>
    k.dir.flatMap((d) => {
      if (!walked.has(d)) walked.set(d, listFiles(root, d, /./, found));
      return walked.get(d)!.filter((p) => k.re.test(p.slice(p.lastIndexOf('/') + 1)));
    });
  const kinds = new Map(fileKinds(paths).map((k) => [k.key, k]));
  const take = (key: FileKind['key']) => {
    const k = kinds.get(key)!;
    return k.stat ? statAll(root, list(k)) : readAll(root, list(k));
  };
  const models = take('models');
  const macros = take('macros');
  const singularTests = take('singularTests');
  const dashboards = take('dashboards');
  // a dashboard written in YAML, or named .JSON, would be left out without a word: dashboards are *.json
  for (const f of walked.get(paths.dashboards) ?? []) {
    if (/\.ya?ml$/i.test(f)) diagnostics.push(diag('E_DASHBOARD', `${f}: dashboards are JSON files (${paths.dashboards}/*.json): this one would not be read`, { file: f, line: 1, column: 1 }, 'convert it to JSON (the same keys), or move it out of the folder'));
    else if (/\.json$/i.test(f) && !f.endsWith('.json')) diagnostics.push(diag('E_DASHBOARD', `${f}: dashboards are read from ${paths.dashboards}/*.json, with the extension in lower case: this one would not be read`, { file: f, line: 1, column: 1 }, `rename it to ${f.replace(/\.json$/i, '.json')}`));
  }
  // a properties file under tests/ but tests/unit/ (dbt's place for singular tests' `data_tests:`
  // properties, and for unit tests in any file) was left out without a word: its severity: error,
  // its unit tests never applied, exit 0
  if (paths.tests !== '.') {
    const described = [paths.models, paths.seeds, paths.snapshots, paths.macros, paths.alerts, paths.dashboards, paths.target, `${paths.tests}/unit`];
    const within = (f: string, d: string) => d === '.' || f.startsWith(`${d}/`);
    for (const f of walked.get(paths.tests) ?? []) {
      if (!/\.ya?ml$/i.test(f) || described.some((d) => within(f, d))) continue;
      // (only a file with dbt's properties keys: a repository's own tests/ may hold other YAML, recorded HTTP cassettes, fixtures)
      let text: string;
      try {
        text = readProjectText(join(root, f));
      } catch {
        continue;
      }
      if (!/^(?:models|sources|seeds|snapshots|data_tests|tests|unit_tests|macros|exposures|metrics|semantic_models|analyses)[ \t]*:/m.test(text)) continue;
      diagnostics.push(diag('E_SCHEMA', `${f}: properties files under ${paths.tests}/ are read only in ${paths.tests}/unit/ (unit tests): this one would not be read`, { file: f, line: 1, column: 1 }, `unit tests: move it to ${paths.tests}/unit/; a singular test's severity, tags or enabled: {{ config(...) }} in its .sql file; models, seeds and sources: a properties file under ${paths.models}/`));
    }
  }
  diagnostics.push(...selectorsFileWarnings(root));
  const seeds = take('seeds');
  const snapshots = take('snapshots');
  const docs = take('docs');
  const properties: PropertiesSource[] = [];
  const unvalidatedSources = new Map<string, string[]>();
  // a properties file as the last run read it is not parsed or validated again (yaml-cache.ts)
  const yamlCache = YamlCache.open(root, paths.target);
  for (const f of take('properties')) {
    const p = parseProperties(f, diagnostics, unvalidatedSources, yamlCache);
    if (p) properties.push(p);
  }
  // dashboards are JSON read as YAML for the places of their nodes (compile-dashboards.ts): a file
  // the last run read cleanly is not parsed again either (~25 ms of each command on the shipped
  // project's five). Parsed here, a file the fast parser reads cleanly is kept; one it has anything
  // to say about is left to parseDashboards, which reports it as before
  for (const f of dashboards ?? []) {
    const kept = yamlCache.take(f.path, f.text);
    if (kept) {
      keepSource(f, yamlFromTree(f.path, f.text, kept.tree, kept.value));
      continue;
    }
    const { source, tree } = parseYamlKeeping(f.text, f.path, []);
    if (!source || tree === undefined) continue;
    yamlCache.keep(f.path, f.text, { value: source.value, tree, data: undefined });
    keepSource(f, source);
  }
  if (opts.keepYaml) yamlCache.save();
  // (every folder of a kind is walked by now)
  const kindList = [...kinds.values()];
  for (const p of found.dangling) if (kindOf(kindList, p)) diagnostics.push(danglingLink(root, p));
  const fixturesRead = new Set<string>();
  const readFixture = (p: string) => {
    const abs = resolve(root, p);
    fixturesRead.add(toPosix(relative(root, abs)));
    return existsSync(abs) ? readProjectText(abs) : undefined;
  };
  const fixtureFiles = () => listFiles(root, `${paths.tests}/fixtures`, /\.csv$/i);
  const links = new Map([...found.links].filter(([p]) => kindOf(kindList, p)));
  return { root, project, projectYaml, paths, models, seeds, snapshots, macros, singularTests, dashboards, docs, properties, unvalidatedSources, diagnostics, readFixture, fixtureFiles, fixturesRead, links };
}

/** The kind of project file `p` is (by its folder and name), if any. */
function kindOf(kinds: FileKind[], p: string): FileKind | undefined {
  return kinds.find((k) => k.dir.some((d) => p.startsWith(`${d}/`)) && k.re.test(p));
}

/** A symbolic link to nothing where a project file would be: said, not read (a link to a file moved away, or not there yet). */
function danglingLink(root: string, p: string): Diagnostic {
  let to = '';
  try {
    to = ` (to ${readlinkSync(join(root, p))})`;
  } catch {
    /* (gone meanwhile) */
  }
  return diag('W_LINK', `a symbolic link to no file${to}: not read`, { file: p }, 'point it at the file, or delete it', 'warn');
}

/**
 * What is wrong with the project's selectors.yml, as warnings: a selector is checked when it is
 * used (--selector, or the default one: exit 2 at its line then), and one that cannot be used is
 * said by every compile before then. Not errors: the file may stay beside a dbt project.
 */
function selectorsFileWarnings(root: string): Diagnostic[] {
  const file = readSelectorsFile(root);
  return (file?.problems ?? []).map((d) => ({ ...d, code: 'W_SELECTORS', severity: 'warn' as const, message: `${d.message} (--selector refuses what this concerns until it is fixed)` }));
}

/**
 * A properties YAML file, parsed and checked (undefined: empty, or its problems are in
 * `diagnostics`; then the sources it declares, as far as they can be read, go to `unvalidated`).
 */
function parseProperties(f: RawFile, diagnostics: Diagnostic[], unvalidated: Map<string, string[]>, cache?: YamlCache): PropertiesSource | undefined {
  const kept = cache?.take(f.path, f.text);
  if (kept) return kept.data === undefined ? undefined : { path: f.path, data: kept.data as PropertiesFile, yaml: yamlFromTree(f.path, f.text, kept.tree, kept.value) };
  const { source: y, tree } = parseYamlKeeping(f.text, f.path, diagnostics);
  if (!y) return undefined;
  if (y.value === null || y.value === undefined) {
    if (tree !== undefined) cache?.keep(f.path, f.text, { value: y.value, tree, data: undefined });
    return undefined; // empty file
  }
  const data = validateYaml(y, PropertiesFileSchema, diagnostics);
  if (data) {
    if (tree !== undefined) cache?.keep(f.path, f.text, { value: y.value, tree, data });
    return { path: f.path, data, yaml: y };
  }
  const declared = sourcesDeclared(y.value);
  if (declared.length) unvalidated.set(f.path, declared);
  return undefined;
}

/** Every `source.table` of `unvalidatedSources`, for compile's "not found" checks. */
export function unvalidatedSourceNames(files: Pick<ProjectFiles, 'unvalidatedSources'>): ReadonlySet<string> {
  return new Set([...(files.unvalidatedSources?.values() ?? [])].flat());
}

/** `source.table` of every source table a properties document names, read without its schema. */
function sourcesDeclared(doc: unknown): string[] {
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const name = (v: unknown): string | undefined => (v && typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string' ? (v as { name: string }).name : undefined);
  const out: string[] = [];
  for (const s of list((doc as { sources?: unknown } | null)?.sources)) {
    const sn = name(s);
    if (!sn) continue;
    for (const t of list((s as { tables?: unknown }).tables)) {
      const tn = name(t);
      if (tn) out.push(`${sn}.${tn}`);
    }
  }
  return out;
}

/**
 * The project again after the files `changed` (paths relative to the root) changed, reusing
 * everything else of `prev`: only the changed files are stat'ed, read or parsed (`--watch` on
 * 10,000 models). project.yaml, selectors.yml, a fixture a unit test read, a file of the
 * dashboards folder that is not a dashboard (loadProject's checks), a folder, or a path it cannot
 * place means a full reload.
 */
export function reloadProject(prev: ProjectFiles, changed: Iterable<string>): ProjectFiles {
  const { root, paths } = prev;
  const kinds = fileKinds(paths);
  const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  const next: ProjectFiles = { ...prev, diagnostics: [...prev.diagnostics] };
  for (const p of new Set(changed)) {
    if (p === PROJECT_FILE || p === SELECTORS_FILE || prev.fixturesRead?.has(p)) return loadProject(root);
    if (p.startsWith(`${paths.dashboards}/`) && !p.endsWith('.json') && /\.(json|ya?ml)$/i.test(p)) return loadProject(root);
    if (EDITOR_TEMP.test(p.slice(p.lastIndexOf('/') + 1))) continue;
    const abs = join(root, p);
    const st = statSync(abs, { throwIfNoEntry: false }); // (undefined: deleted, or a link to nothing)
    if (st?.isDirectory()) return loadProject(root);
    const kind = kindOf(kinds, p);
    // (a link: where it points; null: to nothing)
    const link = kind && lstatSync(abs, { throwIfNoEntry: false })?.isSymbolicLink() ? linkedFile(abs) : undefined;
    if (!st && link !== null) {
      // gone, and not a file we know: a folder moved or deleted (one event for all it held)
      const tracked = kinds.flatMap((k) => (next[k.key] ?? []) as Array<{ path: string }>).map((f) => f.path);
      if (!tracked.includes(p)) {
        if (tracked.some((t) => t.startsWith(`${p}/`))) return loadProject(root);
        // (a link to nothing, said when it came)
        next.diagnostics = next.diagnostics.filter((d) => d.file !== p);
        continue;
      }
    }
    if (!kind) continue; // not a file the compile reads (an alert)
    next.diagnostics = next.diagnostics.filter((d) => d.file !== p);
    if (link === null) next.diagnostics.push(danglingLink(root, p));
    if (link || prev.links?.has(p)) {
      next.links = new Map(next.links); // (prev's is left as it was)
      if (link) next.links.set(p, link);
      else next.links.delete(p);
    }
    if (kind.key === 'properties') {
      const props = next.properties.filter((x) => x.path !== p);
      next.unvalidatedSources = new Map(next.unvalidatedSources); // (prev's is left as it was)
      next.unvalidatedSources.delete(p);
      const parsed = st ? parseProperties({ path: p, text: readProjectText(abs) }, next.diagnostics, next.unvalidatedSources) : undefined;
      next.properties = (parsed ? [...props, parsed] : props).sort(byPath);
      continue;
    }
    const list = (next[kind.key] ?? []).filter((f) => f.path !== p);
    if (st) list.push(...(kind.stat ? statAll(root, [p]) : readAll(root, [p])));
    next[kind.key] = list.sort(byPath);
  }
  return next;
}
