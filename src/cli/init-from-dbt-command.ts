/**
 * `vigil init --from-dbt <path> [dir]`: convert, print one line per written file, what was not
 * converted (file:line) and what changed on the way, then compile the result, as every Vigil
 * command would, so what it still refuses is said now rather than at the first build.
 */
import { relative, resolve } from 'node:path';
import { formatDiagnostic } from '../errors.js';
import { out } from './output.js';

export async function runInitFromDbt(o: { dir: string; fromDbt: string; profiles?: string; force?: boolean }): Promise<void> {
  const { convertDbtProject, formatFinding } = await import('../project/from-dbt.js');
  const r = convertDbtProject(o.fromDbt, o.dir, { profiles: o.profiles, force: o.force });
  out(`Converted the dbt project ${r.name} (${r.source}) into ${r.root}:`);
  for (const f of r.files) out(`  ${f}`);
  for (const f of r.kept) out(`  ${f} (already there: kept as it was)`);
  for (const f of r.removed) out(`  ${f} (removed: an earlier conversion wrote it, this one does not)`);
  if (r.gitignore.length) out(`  .gitignore (added ${r.gitignore.join(', ')})`);
  // which profiles.yml the targets came from (dbt's search), or that none was found and what was written instead
  if (r.profiles) out(`\nTargets from ${r.profiles} (${r.profilesFrom}).`);
  else if (r.profilesSearched) out(`\nNo profiles.yml found (looked where dbt looks: ${r.profilesSearched.join(', ')}): project.yaml has a DuckDB target dev (.vigil/dev.duckdb), as vigil init writes; convert your targets with --profiles <file>.`);

  // what comes out must load: compile it as `vigil compile` would (nothing is written)
  const { compileWritten, vigilCommand } = await import('./init-command.js');
  const { summary, problems: found } = await compileWritten(r.root);
  let problems = found;
  // a problem the conversion listed already (same file and line) is not said twice
  const said = new Set(r.notConverted.filter((f) => f.file && f.line).map((f) => `${f.file}:${f.line}`));
  const errors = problems.filter((d) => d.severity === 'error').length;
  const warnings = problems.length - errors;
  const listed = problems.filter((d) => d.file && d.line && said.has(`${d.file}:${d.line}`)).length;
  problems = problems.filter((d) => !(d.file && d.line && said.has(`${d.file}:${d.line}`)));

  if (r.notConverted.length) {
    out('\nNot converted:');
    for (const f of r.notConverted) out(`  ${formatFinding(f)}`);
  }
  if (r.notes.length) {
    out('\nConverted, with a difference:');
    for (const f of r.notes) out(`  ${formatFinding(f)}`);
  }
  if (r.env.length) {
    out('\nEnvironment variables the targets read:');
    for (const e of r.env) out(`  ${e.name}: ${e.what}`);
  }
  if (errors || warnings) {
    const n = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;
    out(
      `\nvigil compile on the converted project: ${n(errors, 'error')}${warnings ? `, ${n(warnings, 'warning')}` : ''}${listed ? ` (${listed} at lines listed above)` : ''}${errors ? '; fix them before building' : ''}${problems.length ? ':' : ''}`,
    );
    for (const d of problems) out(`  ${formatDiagnostic(d)}`);
  } else if (summary) out(`\nvigil compile on the converted project: OK (${summary})`);
  const rel = relative(process.cwd(), resolve(o.dir)) || '.';
  const where = rel === '.' ? '' : `   (in ${rel})`;
  const vigil = vigilCommand(resolve(o.dir));
  if (errors) {
    // the files are written, but the project does not load yet: not a success for a script
    out(`\nNext: fix the errors above, then ${vigil} compile && ${vigil} seed && ${vigil} build${where}`);
    process.exitCode = 1;
  } else out(`\nNext: ${vigil} seed && ${vigil} build${where}`);
}
