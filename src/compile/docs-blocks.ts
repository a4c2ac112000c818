/**
 * dbt's documentation blocks: `{% docs name %} ... {% enddocs %}` in any `.md` file under the
 * models, seeds or snapshots folders, and `{{ doc('name') }}` in a description (of a model, seed,
 * snapshot, source, source table, column or unit test) replaced by the block's text. A block's own text is
 * rendered as a description is: `{% raw %}` kept as text, any other template an error at its
 * line of the .md file (dbt renders it; shown as written it would be wrong). A block named
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
      // (rendered as dbt renders a block, then trimmed: {% raw %} keeps braces as text; any other
      // template an error at its line of the .md file, as in a description)
      const bodyAt = m.index + m[0].length;
      const body = renderText(text.slice(bodyAt, end.index), {
        other: (tag, at) => ds.push(diag('E_DOC', `docs block '${name}' has ${shownTag(tag)}, which nothing renders: it would show as written`, { file: f.path, ...lineColAt(text, bodyAt + at) }, 'a docs block is text: write the text itself ({% raw %}...{% endraw %} keeps braces as text)')),
      });
      blocks.set(name, { name, text: body.trim(), file: f.path, line });
      OPEN.lastIndex = end.index + end[0].length;
    }
  }
  return blocks;
}

/** A template tag or expression in a description; an unclosed opening too (nothing renders it). */
const TAG = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|\{\{|\{%/g;
const RAW_OPEN = /^\{%-?\s*raw\s*-?%\}$/;
const RAW_CLOSE = /\{%-?\s*endraw\s*-?%\}/g;
const WHOLE_DOC_CALL = new RegExp(`^${DOC_CALL.source}$`);

/** The template tags of a description: a doc() call (its name), a raw block (its text) or what nothing renders (`other`). */
function descriptionTags(desc: string): Array<{ start: number; end: number; doc?: string; raw?: string; other?: string }> {
  const out: Array<{ start: number; end: number; doc?: string; raw?: string; other?: string }> = [];
  TAG.lastIndex = 0;
  for (let m = TAG.exec(desc); m; m = TAG.exec(desc)) {
    const end = m.index + m[0].length;
    const call = WHOLE_DOC_CALL.exec(m[0]);
    RAW_CLOSE.lastIndex = end;
    const close = RAW_OPEN.test(m[0]) ? RAW_CLOSE.exec(desc) : null;
    if (call) out.push({ start: m.index, end, doc: call[2] });
    else if (close) {
      out.push({ start: m.index, end: close.index + close[0].length, raw: desc.slice(end, close.index) });
      TAG.lastIndex = close.index + close[0].length;
    } else out.push({ start: m.index, end, other: m[0] });
  }
  return out;
}

/** The templates of a description that Vigil does not render (all but doc() calls and raw blocks). */
export function unrenderedTemplates(desc: string): string[] {
  return descriptionTags(desc).flatMap((t) => (t.other === undefined ? [] : [t.other]));
}

/** A template as an error shows it (a long one cut short). */
const shownTag = (tag: string) => (tag.length > 60 ? `${tag.slice(0, 59)}…` : tag);

/**
 * A description's or docs block's text as rendered: `{% raw %}...{% endraw %}` is its text, a
 * doc() call what `doc` makes of it (with no `doc`, as in a docs block, it is an `other`); any
 * other template stays as written, told to `other` with its offset in `text`.
 */
function renderText(text: string, on: { doc?: (whole: string, name: string) => string; other: (tag: string, at: number) => void }): string {
  if (!text.includes('{{') && !text.includes('{%')) return text;
  let out = '';
  let from = 0;
  for (const t of descriptionTags(text)) {
    out += text.slice(from, t.start);
    from = t.end;
    const whole = text.slice(t.start, t.end);
    if (t.doc !== undefined && on.doc) out += on.doc(whole, t.doc);
    else if (t.raw !== undefined) out += t.raw;
    else {
      on.other(t.other ?? whole, t.start);
      out += whole;
    }
  }
  return out + text.slice(from);
}

/**
 * Replace doc() calls in every description of the manifest (a source's own description too).
 * Any other template in a description is an error: it would show as written on the site, in the
 * manifest and in BigQuery, where dbt renders it (`{% raw %}...{% endraw %}` keeps braces as
 * text). `textOf` reads the file a description is written in, to say where.
 */
export function resolveDocCalls(manifest: Manifest, blocks: Map<string, DocBlock>, textOf: (file: string) => string | undefined, ds: Diagnostic[]): void {
  const names = [...blocks.keys()];
  const said = new Set<string>();
  const report = (file: string | undefined, find: (text: string) => number, message: string, hint?: string) => {
    const text = file ? textOf(file) : undefined;
    const at = text ? find(text) : -1;
    const d = diag('E_DOC', message, { file, ...(at >= 0 && text ? lineColAt(text, at) : {}) }, hint);
    // (a source's description is on each of its tables)
    const key = `${d.file}:${d.line}:${d.column}:${message}`;
    if (!said.has(key)) (said.add(key), ds.push(d));
  };
  const docCall = (whole: string, name: string, file: string | undefined): string => {
    const b = blocks.get(name);
    if (b) return b.text;
    const hint = didYouMean(name, names);
    report(file, (text) => text.search(new RegExp(`\\bdoc\\(\\s*['"]${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]`)), `doc('${name}') not found${hint ? ` — did you mean '${hint}'?` : ''}`, hint ? undefined : `write {% docs ${name} %}...{% enddocs %} in a .md file under models/`);
    return whole;
  };
  const leftOver = (tag: string, file: string | undefined) => {
    const shown = shownTag(tag);
    const called = /^\{\{-?\s*([A-Za-z_]\w*)/.exec(tag)?.[1];
    const like = called && called !== 'doc' ? didYouMean(called, ['doc']) : undefined;
    const message =
      called === 'doc'
        ? `${shown}: doc() takes one docs block name in quotes, doc('name')`
        : `description has ${shown}, which nothing renders${like ? ` — did you mean ${like}()?` : ': it would show as written'}`;
    // as written in the YAML; else up to its first quote (escaped in a double-quoted string)
    const find = (text: string) => {
      const i = text.indexOf(tag);
      const q = tag.search(/['"]/);
      return i >= 0 || q < 3 ? i : text.indexOf(tag.slice(0, q));
    };
    report(file, find, message, `only {{ doc('name') }} is replaced in a description${like ? '' : ': write the text itself ({% raw %}...{% endraw %} keeps braces as text)'}`);
  };
  const resolve = (desc: string | undefined, file: string | undefined): string | undefined =>
    desc && renderText(desc, { doc: (whole, name) => docCall(whole, name, file), other: (tag) => leftOver(tag, file) });
  for (const n of Object.values(manifest.nodes)) {
    // (a unit test's description is rendered as dbt renders it and shown on its page: never as written)
    if (n.resource_type === 'unit_test') n.description = resolve(n.description, n.file);
    if (n.resource_type !== 'model' && n.resource_type !== 'seed' && n.resource_type !== 'snapshot') continue;
    const file = ('properties_file' in n ? n.properties_file : undefined) ?? n.file;
    n.description = resolve(n.description, file);
    for (const c of n.columns) c.description = resolve(c.description, file);
  }
  for (const s of Object.values(manifest.sources)) {
    s.source_description = resolve(s.source_description, s.file);
    s.description = resolve(s.description, s.file);
    for (const c of s.columns) c.description = resolve(c.description, s.file);
  }
  if (blocks.size) manifest.docs = Object.fromEntries([...blocks].map(([k, b]) => [k, { file: b.file, line: b.line, text: b.text }]));
}
