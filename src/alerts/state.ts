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
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Adapter } from '../adapters/adapter.js';
import type { InstanceState, RuleRuntime } from './engine.js';
import type { OutboxEntry } from './notify.js';
import type { Silence } from './routing.js';

export interface LockInfo {
  owner: string;
  host: string;
  pid: number;
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
  /** Random id of the last write, to tell our compare-and-set from someone else's. */
  writeId?: string;
}

export function emptyState(): StateDoc {
  return { format: 1, instances: {}, rules: {}, silences: [], outbox: [] };
}

/** The storage primitive: read the current version, or replace it only if it is still `expected`. */
interface CasBackend {
  get(): Promise<{ version: number; body: string } | undefined>;
  cas(expected: number | undefined, body: string): Promise<boolean>;
  close(): Promise<void>;
}

export class LockBusyError extends Error {
  constructor(public readonly lock: LockInfo) {
    super(`another alert evaluation holds the state lock (${lock.command} on ${lock.host}, pid ${lock.pid}, since ${lock.acquiredAt}, lease until ${lock.until}); nothing was evaluated or sent`);
    this.name = 'LockBusyError';
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockLive(l: LockInfo | undefined, now = Date.now()): boolean {
  if (!l) return false;
  if (Date.parse(l.until) <= now) return false;
  if (l.host === hostname() && !pidAlive(l.pid)) return false;
  return true;
}

export class StateStore {
  private version: number | undefined;
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly backend: CasBackend,
    readonly description: string,
    private readonly leaseMs = 10 * 60_000,
  ) {}

  /** The current document, without locking (for listing). */
  async read(): Promise<StateDoc> {
    const cur = await this.backend.get();
    this.version = cur?.version;
    return cur ? parse(cur.body) : emptyState();
  }

  /** Take the lock, waiting up to `waitMs` for another holder to finish. */
  async lock(command: string, waitMs = 0): Promise<StateDoc> {
    const deadline = Date.now() + waitMs;
    for (let attempt = 0; ; attempt++) {
      const cur = await this.backend.get();
      const doc = cur ? parse(cur.body) : emptyState();
      if (doc.lock && doc.lock.owner !== this.owner && lockLive(doc.lock)) {
        if (Date.now() >= deadline) throw new LockBusyError(doc.lock);
        await sleep(Math.min(500, 50 * 2 ** attempt));
        continue;
      }
      doc.lock = { owner: this.owner, host: hostname(), pid: process.pid, acquiredAt: new Date().toISOString(), until: new Date(Date.now() + this.leaseMs).toISOString(), command };
      if (await this.write(cur?.version, doc)) return doc;
      if (Date.now() >= deadline && attempt > 5) throw new Error('could not take the alert state lock: the state kept changing under us');
    }
  }

  /** Persist while holding the lock (renews the lease). Throws if the lock was lost. */
  async save(doc: StateDoc): Promise<void> {
    if (doc.lock?.owner !== this.owner) throw new Error('internal: save() without holding the alert state lock');
    doc.lock.until = new Date(Date.now() + this.leaseMs).toISOString();
    if (!(await this.write(this.version, doc))) throw new Error('lost the alert state lock (its lease ran out and another run took it over); this run stops without sending more');
  }

  async unlock(doc: StateDoc): Promise<void> {
    if (doc.lock?.owner !== this.owner) return;
    const copy = { ...doc };
    delete copy.lock;
    if (!(await this.write(this.version, copy))) throw new Error('lost the alert state lock before releasing it');
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

  private async write(expected: number | undefined, doc: StateDoc): Promise<boolean> {
    doc.writeId = randomBytes(8).toString('hex');
    const ok = await this.backend.cas(expected, JSON.stringify(doc));
    if (!ok) return false;
    // confirm it is ours (a backend without affected-row counts re-reads)
    const now = await this.backend.get();
    if (!now || parse(now.body).writeId !== doc.writeId) return false;
    this.version = now.version;
    return true;
  }
}

function parse(body: string): StateDoc {
  const d = JSON.parse(body) as StateDoc;
  d.instances ??= {};
  d.rules ??= {};
  d.silences ??= [];
  d.outbox ??= [];
  return d;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- file backend

export function fileStore(path: string, leaseMs?: number): StateStore {
  const mutex = `${path}.lock`;
  const withMutex = async <T>(fn: () => T): Promise<T> => {
    mkdirSync(dirname(path), { recursive: true });
    for (let i = 0; ; i++) {
      try {
        const fd = openSync(mutex, 'wx');
        closeSync(fd);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        // a mutex older than 10 s belongs to a process that died inside the critical section
        try {
          if (Date.now() - statSync(mutex).mtimeMs > 10_000) unlinkSync(mutex);
        } catch {
          /* gone meanwhile */
        }
        if (i > 400) throw new Error(`alert state file ${path} stays locked by ${mutex}; remove it if no vigil process is running`);
        await sleep(25);
      }
    }
    try {
      return fn();
    } finally {
      try {
        unlinkSync(mutex);
      } catch {
        /* ignore */
      }
    }
  };
  const get = () => {
    if (!existsSync(path)) return undefined;
    const j = JSON.parse(readFileSync(path, 'utf8')) as { version: number; state: unknown };
    return { version: j.version, body: JSON.stringify(j.state) };
  };
  const backend: CasBackend = {
    get: async () => withMutex(get),
    cas: async (expected, body) =>
      withMutex(() => {
        if (get()?.version !== expected) return false;
        const tmp = `${path}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify({ version: (expected ?? 0) + 1, state: JSON.parse(body) }, null, 1));
        renameSync(tmp, path);
        return true;
      }),
    close: async () => {},
  };
  return new StateStore(backend, `file ${path}`, leaseMs);
}

// ---- warehouse backend

export const ALERT_STATE_TABLE = 'vigil_alert_state';

export async function warehouseStore(adapter: Adapter, schema: string, leaseMs?: number): Promise<StateStore> {
  const d = adapter.dialect;
  const rel = d.relation({ schema, identifier: ALERT_STATE_TABLE });
  const text = adapter.type === 'bigquery' ? 'STRING' : adapter.type === 'postgres' ? 'text' : 'varchar';
  const int = adapter.type === 'bigquery' ? 'INT64' : 'bigint';
  const ts = adapter.type === 'bigquery' ? 'TIMESTAMP' : 'timestamp';
  const pk = adapter.type === 'bigquery' ? '' : ' primary key';
  // created on the first write: reading (dry runs, status) leaves the warehouse untouched
  let exists = (await adapter.relationExists({ schema, identifier: ALERT_STATE_TABLE })) !== null;
  const create = async () => {
    if (exists) return;
    await adapter.ensureSchema(schema);
    await adapter.execute(`create table if not exists ${rel} (id ${text}${pk}, version ${int} not null, body ${text} not null, updated_at ${ts})`);
    exists = true;
  };
  const id = d.literal('state');
  const backend: CasBackend = {
    get: async () => {
      if (!exists) return undefined;
      const rows = await adapter.query<{ version: unknown; body: unknown }>(`select version, body from ${rel} where id = ${id} order by version desc limit 1`);
      return rows[0] ? { version: Number(rows[0].version), body: String(rows[0].body) } : undefined;
    },
    cas: async (expected, body) => {
      await create();
      const now = d.current_timestamp();
      try {
        if (expected === undefined) {
          // (BigQuery allows WHERE only after a FROM: select from a one-row subquery)
          await adapter.execute(
            `insert into ${rel} (id, version, body, updated_at) select * from (select ${id} as id, 1 as version, ${d.literal(body)} as body, ${now} as updated_at) as first_state where not exists (select 1 from ${rel} where id = ${id})`,
          );
        } else {
          await adapter.execute(`update ${rel} set version = ${expected + 1}, body = ${d.literal(body)}, updated_at = ${now} where id = ${id} and version = ${expected}`);
        }
      } catch (e) {
        // a concurrent insert of the first row: the primary key refused ours
        if (expected === undefined && /duplicate|unique|primary key|constraint/i.test((e as Error).message)) return false;
        throw e;
      }
      return true; // the caller re-reads to see whose write won
    },
    close: async () => {},
  };
  return new StateStore(backend, `table ${rel}`, leaseMs);
}
