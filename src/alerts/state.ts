/**
 * Alert state: instances, per-rule runtime (seen values, last error), silences and the
 * outbox, as one JSON document with a version. Two backends, one protocol:
 *
 * - warehouse: table `vigil_alert_state` in the target schema (one row, `version` bumped by a
 *   compare-and-set UPDATE), so scheduled runs on different CI machines share it;
 * - file: `.vigil/alert-state.json`, replaced atomically (write + rename) under a short mutex.
 *
 * On top of compare-and-set sits a lease lock kept inside the document: an evaluation takes
 * it, and a second evaluation running at the same time sees it and stops before sending
 * anything. A lock whose lease ran out, or whose process is gone (same host), is taken over.
 *
 * Delivery marks each notification before and after its send (evaluate.ts deliverOutbox):
 * where the backend keeps a journal (the warehouse: one row per line, cas-document.ts), such a
 * save appends one line holding the outbox entries that changed since the last write (not their
 * items nor bodies) and the lock, rather than rewriting the whole document; the next whole write
 * (at the latest, releasing the lock) folds the lines in and drops their rows. Reading applies
 * the lines to the body they were written on.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Adapter } from '../adapters/adapter.js';
import { WarehouseError } from '../errors.js';
import { writeProjectFile } from '../project/artifacts.js';
import { casAppend, casWrite, HOST_NS, JournalUnavailableError, leaseLive, processGone, PROCESS_STARTED, thisProcess, warehouseCas, type CasBackend, type CasDocument } from '../run/cas-document.js';
import { redactStrings } from '../secrets.js';
import type { InstanceState, RuleRuntime } from './engine.js';
import type { AlertEvent } from './history.js';
import type { GroupState, OutboxEntry } from './notify.js';
import type { Silence } from './routing.js';

export interface LockInfo {
  owner: string;
  host: string;
  pid: number;
  /** when the holding process started (see leaseLive) */
  started?: string;
  /** its boot and PID namespace (HOST_NS): a container with this host's name and pids of its own is another host */
  ns?: string;
  acquiredAt: string;
  until: string;
  command: string;
}

export interface StateDoc {
  format: 1;
  instances: Record<string, InstanceState>;
  rules: Record<string, RuleRuntime>;
  silences: Silence[];
  outbox: OutboxEntry[];
  lock?: LockInfo;
  /** Per route and group: when it first fired and last notified (group_wait, group_interval). */
  groups?: Record<string, GroupState>;
  /** Alert events saved here before they are written to vigil_alert_events (history.ts): exactly once. */
  events?: AlertEvent[];
  /** Random id of the last write, to tell our compare-and-set from someone else's. */
  writeId?: string;
}

export function emptyState(): StateDoc {
  return { format: 1, instances: {}, rules: {}, silences: [], outbox: [] };
}

/** The first document: no lock, a fixed writeId, so every first run writes identical bytes. */
const INITIAL_BODY = JSON.stringify({ ...emptyState(), writeId: 'initial' });

/** A state problem the user can act on (exit 1, no stack trace). */
export class StateError extends WarehouseError {
  constructor(message: string) {
    super(message, '');
    this.name = 'StateError';
  }
}

export class LockBusyError extends StateError {
  constructor(public readonly lock: LockInfo) {
    super(`another vigil alerts command holds the state lock (${lock.command} on ${lock.host}, pid ${lock.pid}, since ${lock.acquiredAt}, lease until ${lock.until}); nothing was changed or sent`);
    this.name = 'LockBusyError';
  }
}

/** The state lock is a lease like any other: live while not run out and its process runs. */
export function lockLive(l: LockInfo | undefined, now = Date.now()): boolean {
  return leaseLive(l, now);
}

/** One journal line: what a save during delivery changed (StateStore.saveProgress). */
interface JournalLine {
  /** the writeId of the body it applies to (a line left on another body, written by a version that does not clear the journal, is skipped) */
  b: string;
  /** this write's writeId */
  w: string;
  lock?: LockInfo;
  /** outbox entries whose status, attempts, errors or times changed, without their items; hasBody false: their body was dropped (sent) */
  outbox: Array<Omit<OutboxEntry, 'items' | 'body'> & { hasBody: boolean }>;
  /** the events still to be written to the history, when they changed */
  events?: AlertEvent[];
}

/** What a journal line holds of an entry: every field but its items (fixed) and its body (only ever dropped). */
function entryMarks(e: OutboxEntry): JournalLine['outbox'][number] {
  const { items: _items, body, ...rest } = e;
  return { ...rest, hasBody: body !== undefined };
}

/**
 * Whether an entry's marks differ from `was` (its entryMarks as last written), compared field by
 * field: stringifying every entry of the outbox at every save made a burst of n notifications cost
 * n × the outbox (quadratic). The marks are strings, numbers and booleans; a field that is not is
 * taken as changed (written again, never missed).
 */
function marksDiffer(e: OutboxEntry, was: JournalLine['outbox'][number]): boolean {
  if (was.hasBody !== (e.body !== undefined)) return true;
  const w = was as unknown as Record<string, unknown>;
  const r = e as unknown as Record<string, unknown>;
  let n = 0;
  for (const k of Object.keys(r)) {
    const v = r[k];
    if (k === 'items' || k === 'body' || v === undefined) continue;
    n++;
    if (w[k] !== v || (v !== null && typeof v === 'object')) return true;
  }
  for (const k of Object.keys(w)) if (k !== 'hasBody' && w[k] !== undefined) n--;
  return n !== 0;
}

export class StateStore {
  private version: number | undefined;
  /** as this store last wrote it: the body's writeId, each outbox entry's marks, the events' count */
  private written: { base: string; marks: Map<string, JournalLine['outbox'][number]>; events: number } | undefined;
  /** an append failed (its table could not be made): whole saves from then on */
  private journalOff = false;
  /** until when the lock is ours, as this store last wrote it (ms; undefined: not held, or a write of it failed) */
  private heldUntil: number | undefined;
  /** a save found the lock taken over: every later save fails the same, without asking the warehouse */
  private lost = false;
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly backend: CasBackend,
    readonly description: string,
    readonly leaseMs = 10 * 60_000,
    /** told once when delivery marks cannot be journal lines (whole writes from then on) */
    private readonly say?: (message: string) => void,
  ) {}

  /**
   * How long the lock is still ours by this process's clock, as last written: another run may take
   * the state over once it runs out, so a request that may still be under way then is not started
   * (evaluate.ts deliverOutbox renews first). -Infinity when not held, or after a write that found it lost.
   */
  leaseLeftMs(now = Date.now()): number {
    return this.heldUntil === undefined ? -Infinity : this.heldUntil - now;
  }

  /** The current document, without locking (for listing). */
  async read(): Promise<StateDoc> {
    const cur = await this.backend.get();
    return cur ? parse(cur, this.description) : emptyState();
  }

  /** Take the lock, waiting up to `waitMs` for another holder to finish. */
  async lock(command: string, waitMs = 0): Promise<StateDoc> {
    const deadline = Date.now() + waitMs;
    for (let attempt = 0; ; attempt++) {
      let cur = await this.backend.get();
      if (!cur) {
        await this.backend.init(INITIAL_BODY);
        cur = await this.backend.get();
        if (!cur) throw new StateError(`could not create the alert state in ${this.description}`);
      }
      const doc = parse(cur, this.description);
      if (doc.lock && doc.lock.owner !== this.owner && lockLive(doc.lock)) {
        if (Date.now() >= deadline) throw new LockBusyError(doc.lock);
        await sleep(Math.min(500, 50 * 2 ** attempt));
        continue;
      }
      doc.lock = { owner: this.owner, host: hostname(), pid: process.pid, started: PROCESS_STARTED, ...(HOST_NS ? { ns: HOST_NS } : {}), acquiredAt: new Date().toISOString(), until: new Date(Date.now() + this.leaseMs).toISOString(), command };
      if (await this.write(cur.version, doc)) return doc;
      if (Date.now() >= deadline && attempt > 5) throw new StateError(`could not take the alert state lock in ${this.description}: the state kept changing under us; try again`);
    }
  }

  /** Persist while holding the lock (renews the lease). Throws if the lock was lost. */
  async save(doc: StateDoc): Promise<void> {
    if (doc.lock?.owner !== this.owner) throw new Error('internal: save() without holding the alert state lock');
    if (this.lost) throw this.lostError();
    doc.lock.until = new Date(Date.now() + this.leaseMs).toISOString();
    if (this.version === undefined || !(await this.write(this.version, doc))) throw this.lostError();
  }

  /** The lock was taken over (found by a save): said so, and no save is tried again. */
  private lostError(): StateError {
    this.lost = true;
    this.heldUntil = undefined;
    return new StateError(`lost the alert state lock in ${this.description} (its lease ran out and another run took it over); this run stops without sending more`);
  }

  /**
   * save() for delivery's marks (and lease renewals): where the backend keeps a journal, and
   * only outbox entries' marks, the history's pending events and the lock changed since the last
   * write, one journal line holding those; else a whole save(). `touched`: the only entries that
   * may have changed since the last save (delivery knows them), so a save costs what changed; absent: every entry is compared.
   */
  async saveProgress(doc: StateDoc, touched?: readonly OutboxEntry[]): Promise<void> {
    if (doc.lock?.owner !== this.owner) throw new Error('internal: save() without holding the alert state lock');
    if (this.lost) throw this.lostError();
    const w = this.written;
    // (however long the journal: each line is a row of its own, so a line costs the same at the 10,000th; the next whole write folds them)
    const changed = w && this.backend.append && !this.journalOff ? this.changedMarks(doc, w, touched) : undefined;
    if (!w || !changed) return this.save(doc);
    doc.lock.until = new Date(Date.now() + this.leaseMs).toISOString();
    const events = (doc.events?.length ?? 0) !== w.events ? (doc.events ?? []) : undefined;
    const eventCount = doc.events?.length ?? 0;
    const until = Date.parse(doc.lock.until);
    // the marks as the line holds them, taken now: recorded as written below, after the append's
    // await, when delivery may have changed an entry again (its new mark then compared equal to
    // itself: never written, lost on a crash)
    const marks = changed.map(entryMarks);
    let id = '';
    const line = (writeId: string) => {
      const l: JournalLine = { b: w.base, w: (id = writeId), lock: doc.lock, outbox: marks, ...(events ? { events } : {}) };
      // (through the one redaction path, like the body)
      return JSON.stringify(redactStrings(l)) + '\n';
    };
    let version: number | undefined;
    try {
      version = await casAppend(this.backend, this.version!, line, (cur) => parse(cur, this.description));
    } catch (e) {
      if (!(e instanceof JournalUnavailableError)) {
        // the line's statements failed, and reading back showed they did not take (one that
        // committed although its answer was lost is read back as written, casAppend): the whole
        // document instead, its compare-and-set as ever (it fails as the line did if the warehouse is gone)
        this.say?.(`warning: a delivery mark could not be written as a line of the alert state's journal (${(e as Error).message.split('\n')[0]}); the whole state was written instead`);
        return this.save(doc);
      }
      // (the journal's table could not be made: whole writes from now on, said once)
      this.journalOff = true;
      this.say?.(`warning: ${e.message.split('\n')[0]}; each delivery mark of this run writes the whole alert state instead (${Math.round(JSON.stringify(doc).length / 1024)} KB each): a burst of notifications costs that many times its marks`);
      return this.save(doc);
    }
    if (version === undefined) throw this.lostError();
    this.version = version;
    this.heldUntil = until;
    doc.writeId = id;
    for (const m of marks) w.marks.set(m.id, m);
    w.events = eventCount;
  }

  /** The outbox entries whose marks differ from the last write; undefined when something a journal line cannot hold changed (entries added or removed). */
  private changedMarks(doc: StateDoc, w: NonNullable<StateStore['written']>, touched?: readonly OutboxEntry[]): OutboxEntry[] | undefined {
    if (doc.outbox.length !== w.marks.size) return undefined;
    const out: OutboxEntry[] = [];
    for (const e of touched ?? doc.outbox) {
      const was = w.marks.get(e.id);
      if (was === undefined) return undefined;
      if (marksDiffer(e, was)) out.push(e);
    }
    return out;
  }

  async unlock(doc: StateDoc): Promise<void> {
    if (doc.lock?.owner !== this.owner) return;
    const copy = { ...doc };
    delete copy.lock;
    if (this.version === undefined || !(await this.write(this.version, copy))) throw new StateError(`lost the alert state lock in ${this.description} before releasing it`);
    delete doc.lock;
  }

  /** Read-modify-write without holding the evaluation lock for long (silences): waits for a running evaluation. */
  async update(command: string, fn: (doc: StateDoc) => void, waitMs = 30_000): Promise<StateDoc> {
    const doc = await this.lock(command, waitMs);
    const before = structuredClone(doc);
    try {
      fn(doc);
    } catch (e) {
      await this.unlock(before).catch(() => {});
      throw e;
    }
    await this.unlock(doc);
    return doc;
  }

  async close(): Promise<void> {
    await this.backend.close();
  }

  private async write(expected: number, doc: StateDoc): Promise<boolean> {
    // (the marks as the body holds them, taken before the await: see saveProgress)
    const marks = this.backend.append ? new Map(doc.outbox.map((e) => [e.id, entryMarks(e)])) : undefined;
    const events = doc.events?.length ?? 0;
    const until = doc.lock?.owner === this.owner ? Date.parse(doc.lock.until) : undefined;
    // the state (file or table) goes through the one redaction path, like every file Vigil writes:
    // its strings, not its JSON text (a secret's digits inside a number made the state unreadable)
    const version = await casWrite(this.backend, expected, doc, (d) => JSON.stringify(redactStrings(d)), (cur) => parse(cur, this.description));
    if (version === undefined) {
      this.written = undefined;
      return false;
    }
    this.version = version;
    this.written = marks ? { base: doc.writeId!, marks, events } : undefined;
    this.heldUntil = until;
    // the lines this body folded in (and any an older body left): dropped. Only tidying: a line
    // left (this failed, or the process died first) names an older body and is skipped on reading
    await this.backend.compact?.(version).catch(() => {});
    return true;
  }

}

function parse(cur: CasDocument, where: string): StateDoc {
  let d: StateDoc;
  try {
    d = JSON.parse(cur.body) as StateDoc;
  } catch (e) {
    throw new StateError(`the alert state in ${where} is not valid JSON (${(e as Error).message}); restore it, or delete it to start over (firing alerts would be notified again)`);
  }
  d.instances ??= {};
  d.rules ??= {};
  d.silences ??= [];
  d.outbox ??= [];
  if (cur.journal) applyJournal(d, cur.journal, where);
  return d;
}

/** The marks a delivery appended since the body was written, in order (StateStore.saveProgress). */
function applyJournal(d: StateDoc, journal: string, where: string): void {
  const byId = new Map(d.outbox.map((e) => [e.id, e]));
  const base = d.writeId;
  for (const text of journal.split('\n')) {
    if (!text) continue;
    let l: JournalLine;
    try {
      l = JSON.parse(text) as JournalLine;
    } catch (e) {
      throw new StateError(`the alert state in ${where} has a journal line that is not valid JSON (${(e as Error).message}); restore it, or delete it to start over (firing alerts would be notified again)`);
    }
    // (lines written on another body: an earlier version of Vigil replaced the body without clearing them)
    if (l.b !== base) continue;
    d.writeId = l.w;
    if (l.lock) d.lock = l.lock;
    if (l.events) d.events = l.events;
    for (const m of l.outbox ?? []) {
      const e = byId.get(m.id);
      if (!e) continue;
      const { hasBody, ...marks } = m;
      const { items, body } = e;
      for (const k of Object.keys(e)) delete (e as unknown as Record<string, unknown>)[k];
      Object.assign(e, marks, { items }, hasBody && body !== undefined ? { body } : {});
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- file backend

/** A file state's mutex older than this belongs to a process that died inside the critical section (one whose holder is recorded and gone on this host is taken over at once). */
export const FILE_MUTEX_STALE_MS = 10_000;
/** How long a file state's mutex is waited for before saying so (a save holds it for milliseconds). */
const FILE_MUTEX_SAY_MS = 500;

/** The holder a file state's mutex records: this process (cas-document.ts's terms), and an id of this taking (no two mutexes read alike: removeMutexIf). */
function mutexHolder(): string {
  return JSON.stringify({ ...thisProcess(), id: randomBytes(6).toString('hex') });
}

/**
 * Remove the file mutex `mutex` if it is the one that read `text` (a holder judged gone, or our
 * own as we release it), atomically: it is renamed aside first (of two waiters that judged the
 * same stale mutex, only one renames it; a read then unlink would let the second delete the
 * lock the first had taken since), then removed if it holds `text`; if not, it is someone
 * else's, taken since `text` was read, and is linked back. Were the name taken meanwhile (a third
 * process, in the instant it was away), that one holds the mutex: the aside one is dropped (its
 * holder finishes its save; its release, by this function, leaves the other's alone). True if
 * it removed it. `interleave` runs before (tests: another process's steps in between).
 */
export function removeMutexIf(mutex: string, text: string, interleave?: () => void): boolean {
  interleave?.();
  const aside = `${mutex}.${randomBytes(6).toString('hex')}`;
  try {
    renameSync(mutex, aside);
  } catch {
    return false; // gone meanwhile
  }
  let held: string | undefined;
  try {
    held = readFileSync(aside, 'utf8');
  } catch {
    /* (unreadable: not the one judged) */
  }
  if (held !== text) {
    try {
      linkSync(aside, mutex);
    } catch {
      /* taken meanwhile (EEXIST): see above */
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    /* ignore */
  }
  return held === text;
}

/** Whose a mutex is, as recorded in it (an older Vigil's, or one killed before writing it, is empty), and whether that process is gone (on this host). */
function mutexOwner(text: string): { who: string; gone: boolean } | undefined {
  let h: { host?: unknown; pid?: unknown; proc_start?: unknown; ns?: unknown };
  try {
    h = JSON.parse(text) as typeof h;
  } catch {
    return undefined;
  }
  if (!h || typeof h.pid !== 'number' || typeof h.host !== 'string') return undefined;
  return { who: `pid ${h.pid} on ${h.host}`, gone: processGone({ host: h.host, pid: h.pid, proc_start: typeof h.proc_start === 'string' ? h.proc_start : undefined, ns: typeof h.ns === 'string' ? h.ns : undefined }) };
}

export function fileStore(path: string, leaseMs?: number, opts: { say?: (message: string) => void } = {}): StateStore {
  const mutex = `${path}.lock`;
  const withMutex = async <T>(fn: () => T): Promise<T> => {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (e) {
      throw new StateError(`cannot create the folder of the alert state file ${path}: ${(e as Error).message}`);
    }
    const t0 = Date.now();
    let said = false;
    let mine: string;
    for (;;) {
      try {
        const fd = openSync(mutex, 'wx');
        try {
          writeSync(fd, (mine = mutexHolder()));
        } finally {
          closeSync(fd);
        }
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new StateError(`cannot write next to the alert state file ${path}: ${(e as Error).message}`);
        let text: string;
        let age: number;
        try {
          text = readFileSync(mutex, 'utf8');
          age = Date.now() - statSync(mutex).mtimeMs;
        } catch {
          continue; // gone meanwhile
        }
        const owner = mutexOwner(text);
        // its holder was killed inside the critical section (a save): gone on this host, or a mutex older than FILE_MUTEX_STALE_MS
        if (owner?.gone || age > FILE_MUTEX_STALE_MS) {
          // (only the one judged: not the lock another waiter took it over with meanwhile)
          if (!removeMutexIf(mutex, text)) continue;
          opts.say?.(`the alert state file's lock ${mutex} was left by ${owner?.gone ? `${owner.who}, which is gone (killed while saving the state)` : `${owner ? owner.who : 'a process'}, held ${Math.round(age / 1000)} s (a process killed while saving the state)`}: taken over`);
          continue;
        }
        if (!said && Date.now() - t0 >= FILE_MUTEX_SAY_MS) {
          said = true;
          opts.say?.(`waiting for the alert state file's lock ${mutex}, held by ${owner ? owner.who : 'a process that did not record itself (an older Vigil, or one killed as it took the lock)'}: it is taken over once it is ${FILE_MUTEX_STALE_MS / 1000} s old${owner ? ' or its process is gone' : ''}`);
        }
        if (Date.now() - t0 > FILE_MUTEX_STALE_MS + 5_000) throw new StateError(`alert state file ${path} stays locked by ${mutex}${owner ? ` (held by ${owner.who})` : ''}; remove it if no vigil process is running`);
        await sleep(25);
      }
    }
    try {
      return fn();
    } finally {
      // (ours only: one taken over from us, held past FILE_MUTEX_STALE_MS, is left to its taker)
      removeMutexIf(mutex, mine);
    }
  };
  const get = () => {
    if (!existsSync(path)) return undefined;
    let j: { version: number; state: unknown };
    try {
      j = JSON.parse(readFileSync(path, 'utf8')) as { version: number; state: unknown };
    } catch (e) {
      throw new StateError(`the alert state file ${path} is not valid JSON (${(e as Error).message}); restore it, or delete it to start over (firing alerts would be notified again)`);
    }
    if (!j || typeof j !== 'object' || !Number.isInteger(j.version) || !j.state || typeof j.state !== 'object') throw new StateError(`the alert state file ${path} is not an alert state (expected {"version": N, "state": {...}} as vigil writes it); restore it, or delete it to start over (firing alerts would be notified again)`);
    return { version: j.version, body: JSON.stringify(j.state) };
  };
  // the version leads the file: a compare-and-set reads it from the first bytes, not the whole document
  const write = (version: number, body: string) => {
    // (the body's strings are redacted already: the file's text again would cut into its numbers)
    writeProjectFile(path, `{"version":${version},"state":${body}}\n`, { redacted: true });
  };
  const headVersion = (): number | undefined => {
    if (!existsSync(path)) return undefined;
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(64);
      const n = readSync(fd, buf, 0, 64, 0);
      const m = /^\{\s*"version":\s*(\d+)\s*,/.exec(buf.toString('utf8', 0, n));
      return m ? Number(m[1]) : get()?.version;
    } finally {
      closeSync(fd);
    }
  };
  const backend: CasBackend = {
    get: async () => withMutex(get),
    init: async (body) => withMutex(() => (get() ? undefined : write(0, body))),
    cas: async (expected, body) =>
      withMutex(() => {
        if (headVersion() !== expected) return 'lost' as const;
        write(expected + 1, body);
        return 'won' as const;
      }),
    close: async () => {},
  };
  return new StateStore(backend, `file ${path}`, leaseMs);
}

// ---- warehouse backend

export const ALERT_STATE_TABLE = 'vigil_alert_state';

export async function warehouseStore(adapter: Adapter, schema: string, leaseMs?: number, opts: { say?: (message: string) => void } = {}): Promise<StateStore> {
  // lines are appended only by the holder of the lock, on the body it wrote holding it: a body with
  // no lock (JSON-escaped strings never hold `"lock":{`) has none, and its journal is not read
  const backend = await warehouseCas(adapter, schema, ALERT_STATE_TABLE, 'state', { journal: true, linesFor: (body) => body.includes('"lock":{') });
  return new StateStore(backend, `table ${backend.relation}`, leaseMs, opts.say);
}
