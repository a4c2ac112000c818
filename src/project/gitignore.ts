/**
 * The lines `vigil init` puts in a project's .gitignore (.vigil/, target/, ...): a new
 * .gitignore gets them all, an existing one only those it does not cover yet (`.vigil`,
 * `/target/`, `target/*` and `*` cover what they name, as git reads them).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';

/** Write or extend root/.gitignore; `added` lists the lines appended to an existing file. */
export function ensureIgnored(root: string, lines: string[]): { created: boolean; added: string[] } {
  const wanted = [...new Set(lines)];
  const file = join(root, '.gitignore');
  if (!existsSync(file)) {
    writeFileSync(file, `${wanted.join('\n')}\n`);
    return { created: true, added: [] };
  }
  const cur = readFileSync(file, 'utf8');
  const covered = ignoredByGit(root, wanted) ?? ignoredByLines(cur, wanted);
  const add = wanted.filter((l) => !covered.has(l));
  if (add.length) appendFileSync(file, `${cur && !cur.endsWith('\n') ? '\n' : ''}# Vigil\n${add.join('\n')}\n`);
  return { created: false, added: add };
}

/**
 * The paths a repository's .gitignore files ignore, as `git check-ignore` says (not a user's
 * global excludes or .git/info/exclude: those are nobody else's); undefined outside a repository
 * or without git.
 */
function ignoredByGit(root: string, paths: string[]): Set<string> | undefined {
  const inRepo = spawnSync('git', ['-C', root, 'rev-parse', '--is-inside-work-tree'], { encoding: 'utf8' });
  if (inRepo.status !== 0 || inRepo.stdout.trim() !== 'true') return undefined;
  const r = spawnSync('git', ['-C', root, 'check-ignore', '--no-index', '--verbose', '-z', '--stdin'], { input: paths.map((p) => `${p}\0`).join(''), encoding: 'utf8' });
  // exit 1: nothing ignored
  if (r.status !== 0 && r.status !== 1) return undefined;
  const f = r.stdout.split('\0');
  const out = new Set<string>();
  // source, line, pattern, path
  for (let i = 0; i + 3 < f.length; i += 4) {
    if (!f[i + 2].startsWith('!') && !isAbsolute(f[i]) && basename(f[i]) === '.gitignore') out.add(f[i + 3]);
  }
  return out;
}

/** Without git: the lines of `text` that ignore each path at the project's root, in the usual spellings. */
function ignoredByLines(text: string, paths: string[]): Set<string> {
  const have = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const out = new Set<string>();
  for (const p of paths) {
    const name = p.replace(/^\/|\/$/g, '');
    // (a negation naming it: left to the user, the line is added)
    if (have.some((l) => l.startsWith('!') && l.replace(/^!\/?|\/?\**$/g, '') === name)) continue;
    const forms = new Set(['*', '/*', name, `/${name}`, `**/${name}`]);
    if (p.endsWith('/')) for (const f of [`${name}/`, `/${name}/`, `${name}/*`, `/${name}/*`, `${name}/**`, `/${name}/**`, `**/${name}/`]) forms.add(f);
    if (have.some((l) => forms.has(l))) out.add(p);
  }
  return out;
}
