/**
 * `vigil init [dir] [--template ...]`: write the template, one line per file (written, kept,
 * left out), then compile the result as every Vigil command would: "Next: vigil build" only when
 * it loads, else its errors and what to do.
 */
import { relative } from 'node:path';
import { formatDiagnostic, ProjectError, type Diagnostic } from '../errors.js';
import { counted } from '../format.js';
import { out } from './output.js';
import type { Template } from '../project/scaffold.js';

/** Compile the project in `root` as `vigil compile` would (nothing is written): its problems and what it holds. */
export async function compileWritten(root: string): Promise<{ problems: Diagnostic[]; summary: string }> {
  try {
    const { loadProject } = await import('../project/load-project.js');
    const { compileProject } = await import('../compile/compile-project.js');
    const c = compileProject(loadProject(root), { env: process.env });
    const count = (t: string) => Object.values(c.manifest.nodes).filter((n) => n.resource_type === t).length;
    return {
      problems: c.diagnostics,
      summary: `${counted(count('model'), 'model')}, ${counted(count('seed'), 'seed')}, ${counted(count('snapshot'), 'snapshot')}, ${counted(count('test'), 'data test')}, ${counted(count('unit_test'), 'unit test')}`,
    };
  } catch (e) {
    if (!(e instanceof ProjectError)) throw e;
    return { problems: e.diagnostics, summary: '' };
  }
}

export async function runInit(o: { dir: string; template: Template }): Promise<void> {
  const { scaffoldProject } = await import('../project/scaffold.js');
  const r = scaffoldProject(o.dir, o.template);
  out(`${r.existed ? 'Added a Vigil project to' : 'Created a Vigil project in'} ${r.root} (template ${o.template}):`);
  for (const f of r.files) out(`  ${f}`);
  for (const f of r.kept) out(`  ${f} (already there: kept as it was)`);
  for (const s of r.skipped) out(`  ${s.file} (not written: it needs the template's ${s.because}, and yours is kept)`);
  if (r.gitignore.length) out(`  .gitignore (added ${r.gitignore.join(', ')})`);
  const rel = relative(process.cwd(), r.root);
  const cd = rel === '' ? '' : `  cd ${o.dir}\n`;
  if (r.skipped.length) {
    out(`\n${counted(r.skipped.length, 'file')} of the template left out, since a file of yours has the name of one they read: vigil init <new folder> --template ${o.template} writes the whole template elsewhere, to copy from.`);
  }
  // the folder's own files load with the template's, or init says what is in the way
  const errors = (await compileWritten(r.root)).problems.filter((d) => d.severity === 'error');
  if (errors.length) {
    out(`\nvigil compile on the project: ${counted(errors.length, 'error')}; it does not build yet:`);
    for (const d of errors) out(`  ${formatDiagnostic(d)}`);
    out(`\nNext: fix the errors above (vigil compile says when it loads), then npx vigil ${o.template === 'ai-audit' ? 'demo && npx vigil ' : ''}build${rel ? `   (in ${rel})` : ''}`);
    // the files are written, but the project does not load: not a success for a script
    process.exitCode = 1;
    return;
  }
  const wrote = (f: string) => r.files.includes(f);
  if (o.template === 'ai-audit') {
    out(`\nNext:\n${cd}  npx vigil demo     # generate demo audit logs into .vigil/dev.duckdb\n  npx vigil build    # build the models and run their tests`);
    return;
  }
  const next = [
    wrote('seeds/sample_events.csv') && wrote('models/events_daily.sql') ? '  npx vigil build    # load the sample (seeds/), build the model, run the tests' : '  npx vigil build    # build what the project holds, run its tests',
    wrote('models/events_daily.sql') && '  npx vigil show -s events_daily',
    wrote('alerts/events.yaml') && '  npx vigil alerts evaluate --dry-run',
  ].filter(Boolean);
  out(`\nNext:\n${cd}${next.join('\n')}`);
}
