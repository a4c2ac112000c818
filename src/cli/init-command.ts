/**
 * `vigil init [dir] [--template ...]`: write the template, one line per file (written, kept,
 * left out), then compile the result as every Vigil command would: "Next: vigil build" only when
 * it loads, else its errors and what to do.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { installRoot } from '../install.js';
import { formatDiagnostic, ProjectError, type Diagnostic } from '../errors.js';
import { counted, shellWord } from '../format.js';
import { out } from './output.js';
import type { Template } from '../project/scaffold.js';

/** Compile the project in `root` as `vigil compile` would, and check its seeds' files as `vigil seed` would (nothing is written or loaded): its problems and what it holds. */
export async function compileWritten(root: string): Promise<{ problems: Diagnostic[]; summary: string }> {
  try {
    const { loadProject } = await import('../project/load-project.js');
    const { compileProject } = await import('../compile/compile-project.js');
    const { checkSeedFiles } = await import('../seeds/load-seeds.js');
    const c = compileProject(loadProject(root), { env: process.env });
    const count = (t: string) => Object.values(c.manifest.nodes).filter((n) => n.resource_type === t).length;
    return {
      // the seeds' CSVs as `vigil seed` checks them (a header name, a value of the wrong type)
      problems: [...c.diagnostics, ...checkSeedFiles(root, Object.values(c.manifest.nodes))],
      summary: `${counted(count('model'), 'model')}, ${counted(count('seed'), 'seed')}, ${counted(count('snapshot'), 'snapshot')}, ${counted(count('test'), 'data test')}, ${counted(count('unit_test'), 'unit test')}`,
    };
  } catch (e) {
    if (!(e instanceof ProjectError)) throw e;
    return { problems: e.diagnostics, summary: '' };
  }
}

/**
 * The command that runs this install of Vigil from `dir`: `npx vigil` when npx finds it there (the
 * node_modules/.bin/vigil of `dir` or a folder above it, or this repository itself), else
 * `node <this install's bin/vigil.js>` — `npx vigil` would download and run the unrelated npm
 * package `vigil`, and `npx --package vigil-analytics vigil` another copy, not this one.
 */
export function vigilCommand(dir: string): string {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return undefined;
    }
  };
  // this install: the folder above the bundle whose package.json is vigil-analytics'
  const root = installRoot();
  if (!root) return 'npx vigil';
  const bin = real(join(root, 'bin', 'vigil.js'));
  if (!bin) return 'npx vigil';
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (real(d) === root) return 'npx vigil';
    const link = join(d, 'node_modules', '.bin', 'vigil');
    // (the first one found is what npx runs: another install's, or another package's)
    if (existsSync(link)) {
      if (real(link) === bin) return 'npx vigil';
      break;
    }
    if (dirname(d) === d) break;
  }
  return `node ${shellWord(bin)}`;
}

export async function runInit(o: { dir: string; template: Template }): Promise<void> {
  const { scaffoldProject } = await import('../project/scaffold.js');
  const r = scaffoldProject(o.dir, o.template);
  out(`${r.existed ? 'Added a Vigil project to' : 'Created a Vigil project in'} ${r.root} (template ${o.template}):`);
  for (const f of r.files) out(`  ${f}`);
  for (const f of r.kept) out(`  ${f} (already there: kept as it was)`);
  for (const n of r.named) out(`  ${n.file} (not written: your ${n.by} has that name)`);
  for (const s of r.skipped) out(`  ${s.file} (not written: it needs the template's ${s.because}, and ${r.named.some((n) => n.file === s.because) ? 'that is left out' : 'yours is kept'})`);
  if (r.gitignore.length) out(`  .gitignore (added ${r.gitignore.join(', ')})`);
  const rel = relative(process.cwd(), r.root);
  // a line to copy into a shell: a folder with a space or a quote quoted, one starting with - not read as an option
  const cd = rel === '' ? '' : `  cd ${shellWord(o.dir.startsWith('-') ? `./${o.dir}` : o.dir)}\n`;
  const vigil = vigilCommand(r.root);
  if (r.skipped.length || r.named.length) {
    out(`\n${counted(r.skipped.length + r.named.length, 'file')} of the template left out, since a file of yours has the name of one they read${r.named.length ? ' or define' : ''}: vigil init <new folder> --template ${o.template} writes the whole template elsewhere, to copy from.`);
  }
  // the folder's own files load with the template's, or init says what is in the way
  const errors = (await compileWritten(r.root)).problems.filter((d) => d.severity === 'error');
  if (errors.length) {
    out(`\nvigil compile on the project: ${counted(errors.length, 'error')}; it does not build yet:`);
    for (const d of errors) out(`  ${formatDiagnostic(d)}`);
    out(`\nNext: fix the errors above (vigil compile says when it loads), then ${vigil} ${o.template === 'ai-audit' ? `demo && ${vigil} ` : ''}build${rel ? `   (in ${rel})` : ''}`);
    // the files are written, but the project does not load: not a success for a script
    process.exitCode = 1;
    return;
  }
  const wrote = (f: string) => r.files.includes(f);
  if (o.template === 'ai-audit') {
    out(`\nNext:\n${cd}  ${vigil} demo     # generate demo audit logs into .vigil/dev.duckdb\n  ${vigil} build    # build the models and run their tests`);
    return;
  }
  const next = [
    wrote('seeds/sample_events.csv') && wrote('models/events_daily.sql') ? `  ${vigil} build    # load the sample (seeds/), build the model, run the tests` : `  ${vigil} build    # build what the project holds, run its tests`,
    wrote('models/events_daily.sql') && `  ${vigil} show -s events_daily`,
    wrote('alerts/events.yaml') && `  ${vigil} alerts evaluate --dry-run`,
  ].filter(Boolean);
  out(`\nNext:\n${cd}${next.join('\n')}`);
}
