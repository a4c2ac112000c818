/**
 * Which nodes a command acts on: `-s`/`--exclude` checked (a selector that matches nothing is
 * an error unless --allow-empty) and the --state manifest. Light on imports: `vigil ls` answers
 * from the project snapshot with this and nothing of the compiler.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import { ProjectError, UsageError } from '../errors.js';
import { SELECTORS_FILE } from '../project/paths.js';
import { SelectorError, selectNodes, type IndirectSelection, type SelectionResult } from '../compile/selector.js';
import type { Manifest } from '../compile/manifest.js';
import { perCommandState } from './output.js';
import { err } from './output.js';
import { STATE_FORMAT, VIGIL_VERSION } from '../version.js';

export interface SelectionFlags {
  select?: string[];
  exclude?: string[];
  /** --allow-empty: a selector atom that matches nothing is a warning, not an error */
  allowEmpty?: boolean;
  /** --state: a folder holding a previous run's manifest.json (or that file), for state: selectors */
  state?: string;
  /** --indirect-selection: which tests selecting what they test selects (dbt's; eager when not given) */
  indirectSelection?: IndirectSelection;
}

/** the manifest last read for --state from each path, with the file's stamp then (a process may select more than once) */
const stateCache = new Map<string, { stamp: string; manifest: Manifest }>();

/**
 * `--state` naming the folder the compile writes its manifest to (`--state target`): the manifest
 * there before the compile overwrote it, the previous compile's (read after, it was this one's and
 * nothing was modified). The error when it could not be read, or undefined when there was none.
 */
const beforeCompile = new Map<string, { manifest?: Manifest; error?: unknown }>();
// (one command's: a later command of the process reads the file anew)
perCommandState(() => beforeCompile.clear());
/** the --state paths whose manifest of another Vigil this command has noted (once each) */
const noted = new Set<string>();
perCommandState(() => noted.clear());

/**
 * The note for a --state manifest another Vigil wrote (another version or state layout), or
 * undefined: comparisons leave out what only the layout or a default changed, and say which they
 * cannot make exactly.
 */
export function otherVigilNote(dir: string, m: Manifest): string | undefined {
  const format = m.metadata.state_format ?? 1;
  if (format === STATE_FORMAT && m.metadata.vigil_version === VIGIL_VERSION) return undefined;
  const inexact = [
    ...(format < 2
      ? [
          'a sync setting a source table leaves to its default (that manifest recorded the value it resolved, not whether it was declared: a default is not compared)',
          'macros, when that manifest kept one checksum per macro file (a Vigil before 290baa0: a change to one macro then modifies what calls any macro of its file; one per macro, as later ones kept, compares exactly)',
        ]
      : []),
    ...(format < 3 ? ["generic data tests, matched by their definition (that manifest's ids of them were their names, which another test could take; one without checksums: by test, node and column, where each has one such test): a test whose arguments changed is new"] : []),
    ...(format < 4 ? ['vars (that manifest did not record which vars each node read: state:modified.vars matches nothing)'] : []),
  ];
  const who = format < STATE_FORMAT ? 'an older Vigil' : format > STATE_FORMAT ? 'a newer Vigil' : 'another Vigil';
  return `note: --state ${dir}: its manifest was written by ${who} (${m.metadata.vigil_version}, state format ${format}; this is ${VIGIL_VERSION}, format ${STATE_FORMAT}): what only the format or a default changed is not a modification${inexact.length ? `; not compared exactly: ${inexact.join('; ')}` : ''}; compile with this Vigil and keep that target/ as the next --state`;
}

/** Called by a compile before it writes `<targetDir>/manifest.json`: keeps the --state manifest there as it is now. */
export function keepStateBeforeCompile(dir: string | undefined, targetDir: string): void {
  if (!dir) return;
  const path = statePath(dir);
  if (!samePath(path, resolvePath(targetDir, 'manifest.json'))) return;
  beforeCompile.delete(path);
  let kept: { manifest?: Manifest; error?: unknown };
  try {
    kept = { manifest: readState(dir, path) };
  } catch (e) {
    kept = { error: e };
  }
  beforeCompile.set(path, kept);
}

function samePath(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return realpathSync(dirname(a)) === realpathSync(dirname(b)) && basename(a) === basename(b);
  } catch {
    return false;
  }
}

/** The manifest file of `--state <dir>`: its manifest.json, or the file itself when --state names one (`--state prev/manifest.json`). */
function statePath(dir: string): string {
  const given = resolvePath(process.cwd(), dir);
  return statSync(given, { throwIfNoEntry: false })?.isFile() ? given : resolvePath(given, 'manifest.json');
}

/** The manifest --state points at, checked: there, JSON, a Vigil manifest of this project. */
export function loadStateManifest(dir: string | undefined, project: string): Manifest | undefined {
  if (!dir) return undefined;
  const path = statePath(dir);
  const kept = beforeCompile.get(path);
  if (kept?.error) throw kept.error;
  const m = kept?.manifest ?? readState(dir, path);
  if (m.metadata.project !== project) throw new UsageError(`--state ${dir}: that manifest is project '${m.metadata.project}', this is '${project}'`);
  const note = noted.has(path) ? undefined : otherVigilNote(dir, m);
  if (note) {
    noted.add(path);
    err(note);
  }
  return m;
}

function readState(dir: string, path: string): Manifest {
  let stamp: string;
  try {
    const st = statSync(path, { bigint: true });
    stamp = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    throw new UsageError(`--state ${dir}: no manifest.json there (give the folder of a previous run's target/, e.g. saved from the last deploy)`);
  }
  const kept = stateCache.get(path);
  let m = kept?.stamp === stamp ? kept.manifest : undefined;
  if (!m) {
    try {
      m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    } catch (e) {
      throw new UsageError(`--state ${dir}: ${basename(path)} is not valid JSON (${(e as Error).message.split('\n')[0]})`);
    }
    if (!m || typeof m !== 'object' || !m.metadata?.vigil_version || !m.nodes) throw new UsageError(`--state ${dir}: ${basename(path)} is not a Vigil manifest (no metadata.vigil_version or nodes); a dbt manifest cannot be compared`);
    stateCache.set(path, { stamp, manifest: m });
  }
  return m;
}

/**
 * The nodes `-s`/`--exclude` select. A selector mistake is a usage error (exit 2), and so is an
 * atom that matches nothing (a typo must not leave CI green), unless --allow-empty.
 */
export function select(manifest: Manifest, o: SelectionFlags): SelectionResult {
  let r: SelectionResult;
  try {
    r = selectNodes(manifest, o.select, o.exclude, loadStateManifest(o.state, manifest.metadata.project), o.indirectSelection);
  } catch (e) {
    if (e instanceof SelectorError) throw new UsageError(e.message);
    throw e;
  }
  checkUnmatched(r.unmatched, o.allowEmpty, r.ids.size);
  return r;
}

/**
 * The YAML selector this command's -s/--exclude come from (--selector, or selectors.yml's
 * default): its definition may come to several -s expressions (an intersection distributed over
 * a union), one of which may well select nothing — no mistake while the whole selects something.
 */
let yamlSelector: string | undefined;
/** its expressions that are parts of an intersection distributed over a union */
let distributedParts = new Set<string>();
/** the YAML selector is selectors.yml's default one, not a --selector given */
let yamlSelectorIsDefault = false;
/** the command line's --indirect-selection, which the selector's parts without their own take */
let yamlIndirect: IndirectSelection | undefined;
perCommandState(() => {
  yamlSelector = undefined;
  distributedParts = new Set();
  yamlSelectorIsDefault = false;
  yamlIndirect = undefined;
});
export function selectingWithYamlSelector(name: string, parts: string[] = [], isDefault = false, indirect?: IndirectSelection): void {
  yamlSelector = name;
  distributedParts = new Set(parts);
  yamlSelectorIsDefault = isDefault;
  yamlIndirect = indirect;
}

/**
 * Watch mode, selectors.yml changed: the -s/--exclude/--indirect-selection the YAML selector in
 * use stands for now (`flags`), or why the selection stays what it was (`problem`: the file's
 * mistake, the default moved to another selector). undefined: no YAML selector in use.
 */
export async function yamlSelectorAgain(root: string): Promise<{ name: string; flags?: SelectionFlags; problem?: string } | undefined> {
  const name = yamlSelector;
  if (name === undefined) return undefined;
  const { readSelectorsFile } = await import('../project/selectors-file.js');
  try {
    const file = readSelectorsFile(root);
    if (!file) return { name, problem: `the project has no ${SELECTORS_FILE} now` };
    if (yamlSelectorIsDefault) {
      file.check();
      if (file.defaultName !== name) return { name, problem: `its default selector is ${file.defaultName ? `'${file.defaultName}'` : 'none'} now: restart the watch to select with that` };
    }
    const r = file.resolve(name, yamlIndirect);
    distributedParts = new Set(r.parts ?? []);
    return { name, flags: { select: r.select, exclude: r.exclude.length ? r.exclude : undefined, indirectSelection: r.indirectSelection ?? yamlIndirect } };
  } catch (e) {
    if (e instanceof ProjectError || e instanceof UsageError) return { name, problem: e.message };
    throw e;
  }
}

/**
 * The name of selectors.yml's default selector when this command's -s/--exclude come from it (the
 * command line gave none): the project's selection, not the command line's — as dbt, a command it
 * leaves nothing to run of is "Nothing to do", not a mistake (`vigil seed` under a default of models).
 */
export function defaultYamlSelector(): string | undefined {
  return yamlSelectorIsDefault ? yamlSelector : undefined;
}

/**
 * Unmatched selector atoms: an error naming each with its nearest match, or warnings with
 * --allow-empty. `selected`: how many nodes the whole selection selects (for a YAML selector's
 * expressions, which are one selection).
 */
export function checkUnmatched(unmatched: SelectionResult['unmatched'], allowEmpty: boolean | undefined, selected?: number): void {
  if (yamlSelector !== undefined && selected !== undefined) {
    // (an atom that matches nothing stays a mistake: a typo in selectors.yml)
    const part = (u: SelectionResult['unmatched'][number]) => !!(u.note || u.says) && distributedParts.has(u.atom);
    const parts = unmatched.filter(part);
    unmatched = unmatched.filter((u) => !part(u));
    if (parts.length && !selected) unmatched.push({ atom: yamlSelector, text: `selector '${yamlSelector}' of selectors.yml selects nothing (its parts: ${parts.map((u) => `'${u.atom}'`).join(', ')})` });
  }
  // with --allow-empty (and watch mode, which intersects each change with the selection) an
  // intersection that is empty is no mistake to warn about; an atom that matches nothing still is
  // (nor a selection its --exclude empties, nor a project --exclude empties)
  if (allowEmpty) unmatched = unmatched.filter((u) => !u.note && !u.says && !u.text);
  if (!unmatched.length) return;
  // (each said once: `-s "a a"`, or watch mode's intersections of each change with the selection,
  // said the same atom once per intersection)
  const lines = [...new Set(unmatched.map((u) => u.text ?? `selector '${u.atom}' ${u.says ?? 'matched nothing'}${u.disabled || u.why ? `: ${u.disabled ?? u.why}` : ''}${u.note ? ` (${u.note})` : ''}${u.hint ? ` — did you mean '${u.hint}'?` : ''}`))];
  if (allowEmpty) for (const l of lines) err(`warning: ${l}`);
  else throw new UsageError(`${lines.join('\n       ')}${yamlSelector !== undefined ? `\n(the selection of selector '${yamlSelector}' of selectors.yml)` : ''}\n(nothing was run; pass --allow-empty to go on when a selector selects nothing)`);
}

