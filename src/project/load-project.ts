/**
 * Finding and reading a project from disk. This is the only place the compile path touches
 * the filesystem: it returns plain data (texts and parsed YAML) that the pure compiler takes.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { diag, ProjectError, type Diagnostic } from '../errors.js';
import { parseYaml, validateYaml, type YamlSource } from './yaml-source.js';
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
  /** Problems found while reading (bad YAML); compile reports them with its own. */
  diagnostics: Diagnostic[];
  /** Reads a fixture file (CSV) named by a unit test, relative to the root; undefined if missing. */
  readFixture?: (path: string) => string | undefined;
}

export const PROJECT_FILE = 'project.yaml';

/** Walk up from `start` to the folder holding project.yaml. */
export function findProjectRoot(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, PROJECT_FILE))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

/** All files under `dir` (relative to root) whose name matches `re`, sorted for determinism. */
export function listFiles(root: string, dir: string, re: RegExp): string[] {
  if (!existsSync(join(root, dir))) return [];
  const out: string[] = [];
  // one readdir per folder with file types: Node 20's recursive readdir stats every entry
  const walk = (rel: string) => {
    for (const ent of readdirSync(join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${ent.name}`;
      if (ent.isDirectory()) walk(child);
      else if (re.test(ent.name) && (ent.isFile() || ent.isSymbolicLink())) out.push(child);
    }
  };
  walk(toPosix(dir).replace(/\/+$/, ''));
  return out.sort();
}

function readAll(root: string, paths: string[]): RawFile[] {
  return paths.map((p) => ({ path: p, text: readFileSync(join(root, p), 'utf8') }));
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
        return (text ??= readFileSync(abs, 'utf8'));
      },
    };
  });
}

/**
 * Read project.yaml and every model, macro, test and properties file. A broken project.yaml
 * throws (nothing can be done without it); problems in other YAML files are collected.
 */
export function loadProject(projectDir: string): ProjectFiles {
  const root = findProjectRoot(projectDir);
  if (!root) {
    throw new ProjectError([
      diag('E_NO_PROJECT', `no ${PROJECT_FILE} found in ${resolve(projectDir)} or any parent folder`, {}, 'run `vigil init` to create a project, or pass --project-dir'),
    ]);
  }
  const diagnostics: Diagnostic[] = [];
  const projectYaml = parseYaml(readFileSync(join(root, PROJECT_FILE), 'utf8'), PROJECT_FILE, diagnostics);
  const project = projectYaml ? validateYaml(projectYaml, ProjectFileSchema, diagnostics) : undefined;
  if (!project || !projectYaml) throw new ProjectError(diagnostics);

  const paths = {
    models: project.paths?.models ?? 'models',
    macros: project.paths?.macros ?? 'macros',
    tests: project.paths?.tests ?? 'tests',
    alerts: project.paths?.alerts ?? 'alerts',
    dashboards: project.paths?.dashboards ?? 'dashboards',
    seeds: project.paths?.seeds ?? 'seeds',
    snapshots: project.paths?.snapshots ?? 'snapshots',
    target: project.paths?.target ?? 'target',
  };
  const models = statAll(root, listFiles(root, paths.models, /\.sql$/));
  const macros = readAll(root, listFiles(root, paths.macros, /\.sql$/));
  const singularTests = readAll(root, listFiles(root, paths.tests, /\.sql$/));
  const dashboards = readAll(root, listFiles(root, paths.dashboards, /\.json$/));
  const seeds = statAll(root, listFiles(root, paths.seeds, /\.csv$/i));
  const snapshots = readAll(root, listFiles(root, paths.snapshots, /\.sql$/));
  const properties: PropertiesSource[] = [];
  const described = [paths.models, paths.seeds, paths.snapshots].flatMap((d) => listFiles(root, d, /\.(ya?ml|md)$/));
  const yamlFiles = [...described.filter((p) => !p.endsWith('.md')), ...listFiles(root, `${paths.tests}/unit`, /\.ya?ml$/)];
  const docs = readAll(root, described.filter((p) => p.endsWith('.md')));
  for (const f of readAll(root, yamlFiles)) {
    const y = parseYaml(f.text, f.path, diagnostics);
    if (!y) continue;
    if (y.value === null || y.value === undefined) continue; // empty file
    const data = validateYaml(y, PropertiesFileSchema, diagnostics);
    if (data) properties.push({ path: f.path, data, yaml: y });
  }
  const readFixture = (p: string) => {
    const abs = resolve(root, p);
    return existsSync(abs) ? readFileSync(abs, 'utf8') : undefined;
  };
  return { root, project, projectYaml, paths, models, seeds, snapshots, macros, singularTests, dashboards, docs, properties, diagnostics, readFixture };
}
