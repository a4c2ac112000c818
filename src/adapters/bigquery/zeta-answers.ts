/**
 * The answers of Google's SQL analyzer, kept between `vigil check` runs in
 * `<paths.target>/.cache/zetasql-answers.bin` (`target/` unless project.yaml moves it). Every request Vigil sends is self-contained — the statement,
 * BigQuery's language options and, inline, the catalog of just the tables it names (zetasql.ts,
 * `catalogFor`) — and the analyzer answers it as a pure function of those bytes. So an answer
 * stands while the request is the same, serialized, and so is the analyzer (its package version
 * and this file's FORMAT are part of the key): a check after an edit asks only about the
 * statements whose text or inputs changed, and a check of an unchanged project does not start
 * the analyzer at all.
 *
 * Kept: answers and analysis errors (gRPC INVALID_ARGUMENT: the SQL is wrong); never a failure of
 * the analyzer itself, nor anything about a statement holding a secret's value. Each answer is
 * kept as its own serialized bytes (V8's structured clone), and every answer, fresh or kept, is
 * read back from such bytes, so what the checker reads cannot depend on where the answer came
 * from. Opening the file reads each entry's bytes without decoding them: a check decodes the
 * answers it uses, not the whole file (14 MB for the shipped project, ~180 ms to decode at once).
 * An entry that does not decode is a miss: the question is asked again. An answer not used in the
 * last GENERATIONS checks of the whole project is dropped when the file is written (atomically: a
 * temporary file renamed over it); a check of a selection (`-s`) asks about part of the project
 * only, so it ages nothing: what it uses counts as used in the last whole check, what it adds is
 * added, and nothing is dropped (five `-s` checks dropped every other answer, and the next whole
 * check asked them all again). A file that cannot be read is a cache miss, never an error.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { holdsSecret } from '../../secrets.js';

const FORMAT = 2;
/** Where, under the project's root, for the target folder `targetPath` (project.yaml `paths.target`), as every cache of the project. */
export const zetaAnswersFile = (targetPath = 'target') => `${targetPath}/.cache/zetasql-answers.bin`;
/** Where, under the project's root, with the default target folder. */
export const ZETA_ANSWERS_FILE = zetaAnswersFile();
const GENERATIONS = 5;

/* eslint-disable @typescript-eslint/no-explicit-any -- proto-loader objects are dynamic */
type Proto = any;

type Answer = { ok: Proto } | { error: { code: number; details: string } };
interface Entry {
  /** the Answer, serialized (node:v8) */
  answer: Uint8Array;
  /** the run that last used it */
  run: number;
}
interface Stored {
  format: number;
  analyzer: string;
  run: number;
  entries: Array<[string, Entry]>;
}

/** gRPC's INVALID_ARGUMENT: the analyzer refused the SQL (a result like any other). */
const ANALYSIS_ERROR = 3;

export class ZetaAnswers {
  private readonly entries = new Map<string, Entry>();
  private readonly run: number;
  hits = 0;
  misses = 0;

  private constructor(
    private readonly file: string | undefined,
    /** the file, relative to the project's root (for messages) */
    readonly where: string | undefined,
    private readonly analyzer: string,
    stored: Stored | undefined,
    /** a check of a selection: it starts no generation and drops nothing */
    private readonly partial = false,
  ) {
    this.run = (stored?.run ?? 0) + (partial ? 0 : 1);
    for (const [k, e] of stored?.entries ?? []) this.entries.set(k, e);
  }

  /**
   * The answers kept under `<projectRoot>/<targetPath>/.cache/` (targetPath: project.yaml's
   * `paths.target`, default `target`); `analyzer` names the analyzer's build (package and
   * version); `partial`: the check is of a selection (it ages no answer).
   */
  static open(projectRoot: string, analyzer: string, opts: { partial?: boolean; targetPath?: string } = {}): ZetaAnswers {
    const where = zetaAnswersFile(opts.targetPath);
    const file = join(projectRoot, where);
    let stored: Stored | undefined;
    try {
      const s = deserialize(readFileSync(file)) as Stored;
      if (s?.format === FORMAT && s.analyzer === analyzer && Array.isArray(s.entries)) stored = s;
    } catch {
      /* none yet, or unreadable: every question is asked */
    }
    return new ZetaAnswers(file, where, analyzer, stored, opts.partial === true);
  }

  /** Answers kept for this process only (nothing read or written). */
  static inMemory(analyzer: string): ZetaAnswers {
    return new ZetaAnswers(undefined, undefined, analyzer, undefined);
  }

  /** The answer to `request`: kept, or asked with `call` (and kept when it is an answer or an analysis error). */
  async ask(method: string, request: unknown, call: () => Promise<Proto>): Promise<Proto> {
    const text = JSON.stringify(request);
    // a statement with a secret's value in it (env_var of a secret, revealed for the analyzer) is
    // asked every time: neither its answer nor a hash of it is kept
    if (holdsSecret(Buffer.from(text))) {
      this.misses++;
      return deserialize(serialize(await call()));
    }
    const key = createHash('sha256').update(`${FORMAT}\0${this.analyzer}\0${method}\0`).update(text).digest('base64url');
    let kept = this.entries.get(key);
    let answer: Answer | undefined;
    if (kept) {
      try {
        answer = deserialize(kept.answer) as Answer;
        if (!answer || typeof answer !== 'object' || !('ok' in answer || 'error' in answer)) throw new Error('not an answer');
      } catch {
        // a damaged entry: asked again below, and replaced
        this.entries.delete(key);
        kept = undefined;
        answer = undefined;
      }
    }
    if (kept) {
      this.hits++;
      kept.run = this.run;
    } else {
      this.misses++;
      let fresh: Answer;
      try {
        fresh = { ok: await call() };
      } catch (e) {
        const err = e as { code?: unknown; details?: unknown };
        if (err.code !== ANALYSIS_ERROR || typeof err.details !== 'string') throw e;
        fresh = { error: { code: err.code, details: err.details } };
      }
      const bytes = serialize(fresh);
      this.entries.set(key, { answer: bytes, run: this.run });
      // each caller gets its own copy, read back from the bytes kept (the checker may annotate what it reads)
      answer = deserialize(bytes) as Answer;
    }
    if ('error' in answer!) throw Object.assign(new Error(answer.error.details), answer.error);
    return answer!.ok;
  }

  /** Write the answers used in the last GENERATIONS whole checks, or all of them after a check of a selection (when anything was asked this run). */
  save(): void {
    if (!this.file || this.misses === 0) return;
    const entries = this.partial ? [...this.entries] : [...this.entries].filter(([, e]) => e.run > this.run - GENERATIONS);
    const bytes = serialize({ format: FORMAT, analyzer: this.analyzer, run: this.run, entries } satisfies Stored);
    if (holdsSecret(bytes)) return;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, this.file);
    } catch {
      /* a read-only target/: only the next check is slower */
    }
  }
}
