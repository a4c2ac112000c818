/**
 * The locks a build waits for on Postgres, and what it says about them: the per-relation advisory
 * lock two builds of one relation take (lockRelation), the swap's lock on a table and the views
 * that read it (lockForSwap: views first, as a reader takes them, each try bounded so readers do
 * not queue behind a long wait), a wait of more than a moment said in one line naming who holds
 * the lock (watchWait), and a wait cut by statement_timeout / lock_timeout said as that wait,
 * naming the holder, not as the model's SQL failing (lockWaitFailure).
 */
import type { PoolClient } from 'pg';
import { WarehouseError } from '../../errors.js';
import { redact } from '../../secrets.js';
import { pgError } from './postgres-adapter.js';

/** A backend holding a lock another waits for, as pg_stat_activity says it. */
export interface Holder {
  pid: number;
  application_name: string | null;
  client_addr: string | null;
  state: string | null;
  /** how long its transaction has run (outside one: how long it has been in its state) */
  seconds: number | null;
  query: string | null;
}

/** A connection of its own (the adapter's), to ask who holds a lock while the build's client waits. */
export interface SideConnection {
  query(sql: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
  end(): Promise<void>;
}

const HOLDER_COLUMNS = `a.pid, a.application_name, host(a.client_addr) as client_addr, a.state,
  extract(epoch from now() - coalesce(a.xact_start, a.state_change, a.backend_start))::float8 as seconds, left(a.query, 400) as query`;

/** The backends a backend ($1) waits for, the one waiting longest first. */
const BLOCKERS_SQL = `select ${HOLDER_COLUMNS} from pg_stat_activity a where a.pid = any(pg_blocking_pids($1)) order by coalesce(a.xact_start, a.backend_start) limit 1`;

/** Who holds the advisory lock of `key` ($1, lockRelation's). */
export const LOCK_HOLDER_SQL = `select ${HOLDER_COLUMNS} from pg_locks l join pg_stat_activity a on a.pid = l.pid
  where l.locktype = 'advisory' and l.granted and l.objsubid = 1 and ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0) limit 1`;

/** The oldest of the other backends ($2: this one) holding a lock on one of the relations $1 (as SQL names them). */
const RELATION_HOLDER_SQL = `select ${HOLDER_COLUMNS} from pg_stat_activity a
  where a.pid <> $2 and a.pid in (select l.pid from pg_locks l where l.granted and l.locktype = 'relation' and l.relation in (select to_regclass(x) from unnest($1::text[]) x))
  order by coalesce(a.xact_start, a.backend_start) limit 1`;

/**
 * A holder as a line says it: `backend pid 4242, vigil from 10.0.0.7, idle in transaction for
 * 20.1s, its last query: select ...` — the query's first characters, its string literals as '…'
 * and every known secret redacted (another session's SQL may carry either).
 */
export function describeHolder(h: Holder): string {
  const query = h.query ? redact(h.query.replace(/'(?:[^']|'')*'/g, "'…'").replace(/\s+/g, ' ').trim()) : '';
  const shown = query.length > 80 ? `${query.slice(0, 79)}…` : query;
  return [
    `backend pid ${h.pid}${h.application_name ? `, ${h.application_name}` : ''}${h.client_addr ? ` from ${h.client_addr}` : ''}`,
    ...(h.state ? [`${h.state}${h.seconds !== null && h.seconds !== undefined ? ` for ${Number(h.seconds).toFixed(1)}s` : ''}`] : []),
    ...(shown ? [`${h.state === 'active' ? 'running' : 'its last query'}: ${shown}`] : []),
  ].join(', ');
}

/** The backend id of a pool client (pg's, not in its types). */
export function backendPid(c: PoolClient): number | undefined {
  return (c as unknown as { processID?: number }).processID;
}

/** How long a lock statement waits before the wait is said (one line). */
export const WAIT_SAID_AFTER_MS = 2000;

/**
 * Watch a lock statement `c` is about to send: when it still waits after WAIT_SAID_AFTER_MS,
 * `say` gets one line naming `what` it waits for (a phrase naming the relation: `the lock on
 * analytics.t to swap the rebuilt table in`) and who holds it (asked on a connection of its
 * own: the build's client is busy waiting). `stop()` when the statement is done; `holder` is the
 * one it saw, if any.
 */
export function watchWait(open: (() => Promise<SideConnection>) | undefined, c: PoolClient, what: string, say: ((line: string) => void) | undefined): { stop(): Promise<void>; holder?: Holder } {
  const pid = backendPid(c);
  const w: { stop(): Promise<void>; holder?: Holder } = { stop: async () => undefined };
  if (!open || !say || pid === undefined) return w;
  const t0 = Date.now();
  let stopped = false;
  let side: Promise<SideConnection> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const look = async () => {
    timer = undefined;
    if (stopped) return;
    try {
      side ??= open();
      const h = (await (await side).query(BLOCKERS_SQL, [pid])).rows[0] as unknown as Holder | undefined;
      if (stopped) return;
      if (h) {
        w.holder = h;
        say(`waiting (${((Date.now() - t0) / 1000).toFixed(1)}s so far) for ${what}, held by ${describeHolder(h)}`);
        return;
      }
    } catch {
      // (a side connection refused, the pool's server gone: the wait goes on unsaid, as before)
      return;
    }
    // between two tries of a bounded wait (lockForSwap): looked at again a moment later
    timer = setTimeout(() => void look(), 250);
    timer.unref();
  };
  timer = setTimeout(() => void look(), WAIT_SAID_AFTER_MS);
  timer.unref();
  w.stop = async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    if (side) await side.then((s) => s.end()).catch(() => undefined);
  };
  return w;
}

const codeOf = (e: unknown) => (e as { code?: string; cause?: { code?: string } }).code ?? (e as { cause?: { code?: string } }).cause?.code;

/** A lock wait cut by statement_timeout (57014) or lock_timeout (55P03). */
export function isLockWaitCut(e: unknown): boolean {
  const code = codeOf(e);
  return code === '55P03' || (code === '57014' && /statement timeout/.test((e as Error).message));
}

/**
 * The failure of a lock wait the target's statement_timeout or lock_timeout cut: said as that
 * wait (how long, for what, who holds it), not as the model's SQL failing; `kept`: what stays as
 * it was. `sql`: the statement that waited.
 */
export function lockWaitFailure(e: unknown, waitedMs: number, what: string, holder: Holder | undefined, kept: string, sql: string): WarehouseError {
  const setting = codeOf(e) === '55P03' ? 'lock_timeout' : 'statement_timeout_ms';
  const who = holder ? ` (held by ${describeHolder(holder)})` : '';
  return new WarehouseError(`waited ${(waitedMs / 1000).toFixed(1)}s for ${what}${who}, and the target's ${setting} cut the wait: ${kept} (run it again once that session is done, or raise ${setting})`, sql, { cause: e });
}

/** Who holds a lock on one of `relations` (as SQL names them), asked on `c` (not waiting: after a rollback to a savepoint, or a side connection). */
export async function relationHolder(c: Pick<SideConnection, 'query'>, relations: string[], self: number | undefined): Promise<Holder | undefined> {
  return (await c.query(RELATION_HOLDER_SQL, [relations, self ?? 0]).then((r) => r.rows[0] as unknown as Holder | undefined, () => undefined)) ?? undefined;
}

/**
 * Take the session-level advisory lock `key` names on `c` (released with
 * `pg_advisory_unlock(hashtextextended(key, 0))`): held while a build, a snapshot or a seed's load
 * writes a relation, so two processes writing one relation run one after the other. A wait past a
 * moment is said (watchWait); one the target's statement_timeout_ms cuts names who holds it.
 */
export async function lockRelation(c: PoolClient, key: string, open?: () => Promise<SideConnection>, say?: (line: string) => void): Promise<void> {
  const t0 = Date.now();
  const name = key.replace(/^vigil:/, '');
  const watch = watchWait(open, c, `another build or load of ${name} to finish`, say);
  try {
    await c.query('select pg_advisory_lock(hashtextextended($1, 0))', [key]);
  } catch (e) {
    // the target's statement_timeout_ms bounds the wait too (a build hung elsewhere does not hold
    // this one for ever): said as a wait, not as the model's failure
    if (isLockWaitCut(e)) {
      const holder = (await c.query(LOCK_HOLDER_SQL, [key]).then((r) => r.rows[0] as unknown as Holder | undefined, () => undefined)) ?? watch.holder;
      const who = holder ? ` (${describeHolder(holder)})` : '';
      const setting = codeOf(e) === '55P03' ? 'lock_timeout' : 'statement_timeout_ms';
      throw new WarehouseError(`waited ${((Date.now() - t0) / 1000).toFixed(1)}s for another build of ${name}${who} to finish, and the target's ${setting} cut the wait: nothing was built (run it again once the other build is done, or raise ${setting})`, 'select pg_advisory_lock(...)', { cause: e });
    }
    // (another failure, a connection lost: as every statement's, with its SQL)
    throw pgError(e, 'select pg_advisory_lock(...)');
  } finally {
    await watch.stop();
  }
}

/** One try of the swap's lock waits at most this long: readers queue behind a waiting ACCESS EXCLUSIVE request, so they wait no longer. */
const SWAP_TRY_MS = 1000;
/** Tries go on (with a pause between them, readers going meanwhile) for this long, then the lock is waited for as the session waits (statement_timeout_ms bounds it). */
const SWAP_TRIES_FOR_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What lockForSwap takes: the views (ACCESS EXCLUSIVE, the outermost first), and the relations they read besides the table (`shared`, ACCESS SHARE) with the table's oid (`oid`) to order them by. */
export interface SwapLocks {
  views: string[];
  shared?: Array<{ name: string; oid: number }>;
  oid?: number;
}

/**
 * The ACCESS EXCLUSIVE locks a swap of `rel` (dropped with cascade, the rebuilt table renamed in)
 * needs, taken in one `LOCK TABLE` in the transaction open on `c`: the views that read `rel`
 * first, the outermost first, then `rel` — the order a reader of a view takes them in (the view,
 * then what it reads). Dropping the table first locked it, then its views: a reader holding a
 * view and waiting for the table made a deadlock, and the build failed. Each try waits at most
 * SWAP_TRY_MS (readers arriving meanwhile queue behind it no longer), then lets go and tries
 * again after a pause, for SWAP_TRIES_FOR_MS; then waits as the session does. `views`: the
 * plain views (materialized ones cannot be locked; no reader of one reads the table).
 * A role that may not lock a view (not its owner, no grant) is left to the drop's own locking.
 */
export async function lockForSwap(c: PoolClient, rel: string, { views, shared = [], oid = 0 }: SwapLocks, o: { what: string; open?: () => Promise<SideConnection>; say?: (line: string) => void; kept: string }): Promise<void> {
  const names = [...views, rel];
  // what the views the drop takes read besides the table (`shared`), in ACCESS SHARE mode, and the
  // table, in the order of their oids: two swaps of tables a view joins take them in the same
  // order (each held its table and waited for the other's: a deadlock)
  const tail = [{ name: rel, oid, mode: 'access exclusive' }, ...shared.map((x) => ({ ...x, mode: 'access share' }))].sort((a, b) => a.oid - b.oid);
  const statements = shared.length ? [...(views.length ? [`lock table ${views.join(', ')} in access exclusive mode`] : []), ...tail.map((x) => `lock table ${x.name} in ${x.mode} mode`)] : [`lock table ${names.join(', ')} in access exclusive mode`];
  const sql = statements.join('; ');
  const t0 = Date.now();
  const watch = watchWait(o.open, c, o.what, o.say);
  try {
    const setting = (name: string) => c.query('select current_setting($1) as v', [name]).then((r) => String(r.rows[0].v));
    const ms = async (name: string) => Number((await c.query('select extract(epoch from current_setting($1)::interval) * 1000 as ms', [name])).rows[0].ms);
    const lockTimeout = await setting('lock_timeout');
    const statementMs = await ms('statement_timeout');
    const sessionLockMs = await ms('lock_timeout');
    // the tries stop where the session's own bound would have (statement_timeout_ms)
    const triesFor = statementMs > 0 ? Math.min(SWAP_TRIES_FOR_MS, statementMs) : SWAP_TRIES_FOR_MS;
    const tryMs = sessionLockMs > 0 ? Math.min(SWAP_TRY_MS, sessionLockMs) : SWAP_TRY_MS;
    for (let pause = 100; ; pause = Math.min(pause * 2, 2000)) {
      const last = Date.now() - t0 + tryMs >= triesFor;
      await c.query('savepoint vigil_lock');
      try {
        if (!last) await c.query('select set_config($1, $2, true)', ['lock_timeout', `${tryMs}ms`]);
        for (const x of statements) await c.query(x);
        await c.query('select set_config($1, $2, true)', ['lock_timeout', lockTimeout]);
        await c.query('release savepoint vigil_lock');
        return;
      } catch (e) {
        await c.query('rollback to savepoint vigil_lock');
        // not allowed to lock a view (or a server before 11, where views cannot be locked): the drop locks as it always did
        if (codeOf(e) === '42501' || codeOf(e) === '42809') return;
        if (!isLockWaitCut(e)) throw e;
        // the session's own bound (the last try), or statement_timeout_ms shorter than a try
        if (last || codeOf(e) === '57014') throw lockWaitFailure(e, Date.now() - t0, o.what, (await relationHolder(c, [...names, ...shared.map((x) => x.name)], backendPid(c))) ?? watch.holder, o.kept, sql);
        await sleep(pause);
      }
    }
  } finally {
    await watch.stop();
  }
}
