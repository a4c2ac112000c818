/**
 * dbt's documentation blocks: `{% docs name %} ... {% enddocs %}` in any `.md` file under the
 * models, seeds or snapshots folders, and `{{ doc('name') }}` in a description (of a model, seed,
 * snapshot, source, source table or column) replaced by the block's text. A block named
 * `__overview__` is the docs site's front page. An unknown name, a block defined twice or left
 * open is an error at its file:line (with the nearest name), never an empty description.
 */
import { diag, didYouMean, type Diagnostic } from '../errors.js';
import type { RawFile } from '../project/load-project.js';
import type { Manifest } from './manifest.js';
import { lineColAt } from './template-env.js';

export interface DocBlock {
  name: string;
  text: string;
  file: string;
  line: number;
}

const OPEN = /\{%-?\s*docs\s+([A-Za-z_][\w]*)\s*-?%\}/g;
const CLOSE = /\{%-?\s*enddocs\s*-?%\}/g;
const DOC_CALL = /\{\{-?\s*doc\(\s*(['"])([^'"]+)\1\s*\)\s*-?\}\}/g;

/** Every block of the .md files; problems go to `ds`. */
export function parseDocBlocks(files: RawFile[], ds: Diagnostic[]): Map<string, DocBlock> {
  const blocks = new Map<string, DocBlock>();
  for (const f of files) {
    const text = f.text;
    OPEN.lastIndex = 0;
    for (let m = OPEN.exec(text); m; m = OPEN.exec(text)) {
      const line = lineColAt(text, m.index).line;
      CLOSE.lastIndex = m.index + m[0].length;
      const end = CLOSE.exec(text);
      const nextOpen = text.slice(m.index + m[0].length).search(/\{%-?\s*docs\s/);
      if (!end || (nextOpen !== -1 && m.index + m[0].length + nextOpen < end.index)) {
        ds.push(diag('E_DOC', `docs block '${m[1]}' has no {% enddocs %}`, { file: f.path, line, column: 1 }, 'close it with {% enddocs %} before the next block'));
        continue;
      }
      const name = m[1];
      const prior = blocks.get(name);
      if (prior) {
        ds.push(diag('E_DOC', `docs block '${name}' is defined twice (first at ${prior.file}:${prior.line})`, { file: f.path, line, column: 1 }, 'rename one of them'));
        continue;
      }
      blocks.set(name, { name, text: text.slice(m.index + m[0].length, end.index).trim(), file: f.path, line });
      OPEN.lastIndex = end.index + end[0].length;
    }
  }
  return blocks;
}

/**
 * Replace doc() calls in every description of the manifest. `textOf` reads the file a
 * description is written in, to say where an unknown name is.
 */
export function resolveDocCalls(manifest: Manifest, blocks: Map<string, DocBlock>, textOf: (file: string) => string | undefined, ds: Diagnostic[]): void {
  const names = [...blocks.keys()];
  const resolve = (desc: string | undefined, file: string | undefined): string | undefined => {
    if (!desc || !desc.includes('doc(')) return desc;
    return desc.replace(DOC_CALL, (whole, _q: string, name: string) => {
      const b = blocks.get(name);
      if (b) return b.text;
      const text = file ? textOf(file) : undefined;
      const at = text ? text.search(new RegExp(`\\bdoc\\(\\s*['"]${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]`)) : -1;
      const hint = didYouMean(name, names);
      ds.push(
        diag('E_DOC', `doc('${name}') not found${hint ? ` — did you mean '${hint}'?` : ''}`, { file, ...(at >= 0 && text ? lineColAt(text, at) : {}) }, hint ? undefined : `write {% docs ${name} %}...{% enddocs %} in a .md file under models/`),
      );
      return whole;
    });
  };
  for (const n of Object.values(manifest.nodes)) {
    if (n.resource_type !== 'model' && n.resource_type !== 'seed' && n.resource_type !== 'snapshot') continue;
    const file = ('properties_file' in n ? n.properties_file : undefined) ?? n.file;
    n.description = resolve(n.description, file);
    for (const c of n.columns) c.description = resolve(c.description, file);
  }
  for (const s of Object.values(manifest.sources)) {
    s.description = resolve(s.description, s.file);
    for (const c of s.columns) c.description = resolve(c.description, s.file);
  }
  if (blocks.size) manifest.docs = Object.fromEntries([...blocks].map(([k, b]) => [k, { file: b.file, line: b.line, text: b.text }]));
}
