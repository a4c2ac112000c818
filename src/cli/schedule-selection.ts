/**
 * What `vigil serve` refuses at its start about a job's selection, in one place for serve (at its
 * start) and `vigil check` (which said OK to a project whose serve then would not start).
 */
import { diag, UsageError, type Diagnostic } from '../errors.js';
import { readSelectorsFile } from '../project/selectors-file.js';
import { PROJECT_FILE, SELECTORS_FILE } from '../project/paths.js';
import type { ProjectFiles } from '../project/load-project.js';
import type { Manifest, SourceNode } from '../compile/manifest.js';
import type { JobSpec } from '../serve/config.js';
import type { Setup } from './alerts-commands.js';
import { plan, select } from './commands.js';

/**
 * Throws a UsageError (the caller says where) for: an alerts job without rules, or selecting none;
 * a selection with nothing its command runs (`command: test` of an ephemeral model without tests
 * failed at every slot); a sync job selecting no table with a sync block. `alerts` loads the rules
 * when the job is an alerts job. Returns the streams a sync job selects (none for other jobs).
 */
export async function checkJobSelection(manifest: Manifest, j: JobSpec, alerts: () => Promise<Pick<Setup, 'rules' | 'files'>>): Promise<SourceNode[]> {
  if (j.command === 'alerts') {
    const { selectRules, requireRules } = await import('./alerts-commands.js');
    const s = await alerts();
    // (as run-scheduler: without rules the job would "succeed" every minute, evaluating nothing)
    requireRules(s);
    selectRules(s.rules, j.select);
    return [];
  }
  // checked as the command checks it (a selection with nothing the command runs)
  if ((j.select || j.exclude) && j.command !== 'sync') await plan(manifest, { command: j.command, select: j.select, exclude: j.exclude });
  else if (j.select || j.exclude) select(manifest, { select: j.select, exclude: j.exclude });
  if (j.command !== 'sync') return [];
  const { ids } = select(manifest, { select: j.select });
  const streams = Object.values(manifest.sources).filter((s) => s.sync && ids.has(s.unique_id));
  if (!streams.length) throw new UsageError('no source table it selects has a sync block (sync: { primary_key, cursor } under a table, and sync: { from: <postgres target> } on its source)');
  return streams;
}

/** The job commands that, run as `vigil <command>` without -s/--exclude, select with selectors.yml's default selector. */
const DEFAULT_SELECTOR_JOBS = ['build', 'run', 'test', 'seed', 'snapshot'];

/**
 * Warnings at project.yaml's lines: a job of such a command without select/exclude selects the
 * whole project, where `vigil <command>` selects selectors.yml's default selector — serve does not
 * use it (said, not left for the day the schedule builds what the command line leaves out).
 */
export function defaultSelectorNotUsed(files: ProjectFiles, jobs: JobSpec[]): Diagnostic[] {
  const unselected = jobs.filter((j) => DEFAULT_SELECTOR_JOBS.includes(j.command) && !j.select && !j.exclude);
  if (!unselected.length) return [];
  const name = readSelectorsFile(files.root)?.defaultName;
  if (name === undefined) return [];
  return unselected.map((j) =>
    diag(
      'W_SCHEDULE',
      `schedules.${j.name}: ${j.command} of the whole project — vigil serve does not use ${SELECTORS_FILE}'s default selector '${name}', which vigil ${j.command} without -s does`,
      { file: PROJECT_FILE, ...files.projectYaml.locate(['schedules', j.name], true) },
      `give the job the selection it should have: select: (and exclude:) in the -s grammar; select: ["fqn:*"] for the whole project, said`,
      'warn',
    ),
  );
}
