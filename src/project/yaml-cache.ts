/**
 * The properties YAML files of a project as the last run read them, kept in
 * `<target>/.cache/yaml.bin`: a file whose text is exactly what was read then is neither parsed
 * nor validated again. What is kept per file: the SHA-1 of its text (the key: the content, so an
 * edit within the same second or of the same size is never missed), its value, the places of its
 * nodes (`file:line` for every diagnostic and line number the compile records, yaml-source.ts
 * YamlTree, packed as arrays) and what validation made of it. Parsing and validating the shipped project's
 * 96 KB of properties YAML was ~130 ms of every command that compiles (docs/benchmarks.md).
 *
 * Only a file read cleanly is kept (the fast parser, nothing to report, valid): a file with a
 * problem is read again each time, so its diagnostics are always fresh. A new build of Vigil
 * starts over. Written through the one file-writing path: a cache holding a secret's value (a
 * literal in YAML) is not written. Nothing is lost without it: only a slower start.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { VIGIL_VERSION } from '../version.js';
import { writeProjectFile } from './artifacts.js';
import { BUILD } from './snapshot.js';
import { Kind } from '@stoplight/yaml';
import type { YamlTree } from './yaml-source.js';

const FORMAT = 1;

export interface KeptYaml {
  value: unknown;
  tree: YamlTree | null;
  /** the validated document (undefined: an empty file) */
  data: unknown;
}

/** What is written per file: a YamlTree as nested arrays (a third of the size as objects). */
interface Stored1 {
  sha1: string;
  value: unknown;
  tree: Packed | null;
  data: unknown;
}
/** [kind, start, end, children]: a map's children are [key, key start, value] triples, a sequence's its items */
type Packed = [number, number, number, unknown[]?];

interface Stored {
  format: number;
  build: string;
  files: Map<string, Stored1>;
}

const buildOf = () => `${VIGIL_VERSION} ${BUILD}`;
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

function pack(t: YamlTree | null): Packed | null {
  if (!t) return null;
  if (t.mappings) return [t.kind, t.startPosition, t.endPosition, t.mappings.flatMap((m) => [m.key ? m.key.value : null, m.key ? m.key.startPosition : -1, pack(m.value)])];
  if (t.items) return [t.kind, t.startPosition, t.endPosition, t.items.map(pack)];
  return [t.kind, t.startPosition, t.endPosition];
}

function unpack(p: Packed | null): YamlTree | null {
  if (!p) return null;
  const [kind, startPosition, endPosition, kids] = p;
  const t: YamlTree = { kind, startPosition, endPosition };
  if (kids && kind === Kind.MAP) {
    t.mappings = [];
    for (let i = 0; i < kids.length; i += 3) t.mappings.push({ key: kids[i + 1] === -1 ? null : { value: kids[i], startPosition: kids[i + 1] as number }, value: unpack(kids[i + 2] as Packed | null) });
  } else if (kids) t.items = kids.map((x) => unpack(x as Packed | null));
  return t;
}

export class YamlCache {
  private readonly used = new Map<string, Stored1>();
  private changed = false;

  private constructor(
    private readonly path: string,
    private readonly kept: Map<string, Stored1>,
  ) {}

  /** The cache of the project at `root` whose target folder is `target` (relative to it). */
  static open(root: string, target: string): YamlCache {
    const path = join(root, target, '.cache', 'yaml.bin');
    let kept = new Map<string, Stored1>();
    try {
      const s = deserialize(readFileSync(path)) as Stored;
      if (s.format === FORMAT && s.build === buildOf() && s.files instanceof Map) kept = s.files;
    } catch {
      // none yet, or unreadable: everything is read afresh
    }
    return new YamlCache(path, kept);
  }

  /** What was kept for the file at `path` when its text is `text` now, else undefined. */
  take(path: string, text: string): KeptYaml | undefined {
    const k = this.kept.get(path);
    if (!k || k.sha1 !== sha1(text)) return undefined;
    this.used.set(path, k);
    return { value: k.value, tree: unpack(k.tree), data: k.data };
  }

  /** Keep a file read cleanly (call before anything could change `data`). */
  keep(path: string, text: string, k: KeptYaml): void {
    this.used.set(path, { sha1: sha1(text), value: k.value, tree: pack(k.tree), data: k.data });
    this.changed = true;
  }

  /** Write what this load read, when it differs from what was kept (files gone are dropped). */
  save(): void {
    if (!this.changed && this.used.size === this.kept.size) return;
    try {
      writeProjectFile(this.path, serialize({ format: FORMAT, build: buildOf(), files: this.used } satisfies Stored));
    } catch {
      // a read-only checkout, or a value v8 cannot keep: no cache, only a slower next start
    }
  }
}
