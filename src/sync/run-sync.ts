/**
 * `vigil sync`: copy source tables from the application's Postgres into the target, exactly
 * once. Per stream: read batches in (cursor, primary key) order with keyset pagination —
 * ties on the cursor never straddle a batch edge — through `COPY (SELECT ...) TO STDOUT` into
 * a CSV file (no rows are parsed in JavaScript, memory stays flat), then apply each batch with
 * its new cursor in one warehouse transaction. Every delta run starts `lookback` behind the
 * saved cursor, so rows whose transaction committed late with an earlier timestamp are picked
 * up; replacing rows by primary key makes the re-read harmless.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Adapter } from '../adapters/adapter.js';
import { literalStandard, type Relation } from '../adapters/dialect.js';
import { pgError, type PostgresAdapter } from '../adapters/postgres/postgres-adapter.js';
import type { SourceNode } from '../compile/manifest.js';
import { redact, WarehouseError } from '../errors.js';
import { STATE_TABLE, syncWriterFor, type SyncColumn } from './sync-writer.js';

export interface SyncRunOptions {
  mode: 'delta' | 'full';
  /** delta: start here instead of the saved cursor */
  since?: Date;
  /** full: re-read this many seconds back from now (the nightly repair); default: everything */
  lookbackSeconds?: number;
  fullRefresh: boolean;
  out: (line: string) => void;
}

export interface StreamResult {
  stream: string;
  status: 'success' | 'error';
  rows: number;
  batches: number;
  seconds: number;
  message: string;
}

const TIME_TYPES = ['timestamp with time zone', 'timestamp without time zone', 'date'];

const sqlLit = literalStandard;

/** Check the source table and its columns; one clear message per problem. */
async function describeSource(src: PostgresAdapter, s: SourceNode): Promise<SyncColumn[]> {
  const sync = s.sync!;
  const rows = await src.query<{ name: string; type: string }>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = ${sqlLit(sync.schema)} and c.relname = ${sqlLit(s.relation.identifier)} and a.attnum > 0 and not a.attisdropped order by a.attnum`,
  );
  const stream = `${s.source_name}.${s.name}`;
  if (!rows.length) throw new WarehouseError(`stream ${stream}: table ${sync.schema}.${s.relation.identifier} does not exist in the source database (${s.file}:${s.line}); check the table name and the source's sync.schema`, '');
  const names = rows.map((r) => r.name);
  for (const col of [...sync.primary_key, sync.cursor]) {
    if (!names.includes(col)) throw new WarehouseError(`stream ${stream}: column '${col}' is not in ${sync.schema}.${s.relation.identifier} (${s.file}:${s.line}); it has: ${names.join(', ')}`, '');
  }
  const cursorType = rows.find((r) => r.name === sync.cursor)!.type;
  if (!TIME_TYPES.includes(cursorType)) throw new WarehouseError(`stream ${stream}: cursor column '${sync.cursor}' is ${cursorType}, not a timestamp (${s.file}:${s.line}); use created_at or updated_at`, '');
  return rows.map((r) => ({ name: r.name, pgType: r.type }));
}

export async function syncStreams(sources: SourceNode[], sourceDbs: Map<string, PostgresAdapter>, target: Adapter, opts: SyncRunOptions): Promise<StreamResult[]> {
  const writer = syncWriterFor(target);
  const results: StreamResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'vigil-sync-'));
  const { to: copyTo } = await import('pg-copy-streams');
  try {
    for (const s of sources) {
      const sync = s.sync!;
      const stream = `${s.source_name}.${s.name}`;
      const t0 = performance.now();
      const rel: Relation = { schema: s.relation.schema, identifier: s.relation.identifier };
      const stateRel: Relation = { schema: s.relation.schema, identifier: STATE_TABLE };
      let rows = 0;
      let batches = 0;
      let sourceMax: string | null = null;
      try {
        await writer.ensureState(rel.schema);
        const src = sourceDbs.get(sync.from);
        if (!src) throw new WarehouseError(`stream ${stream}: the source database '${sync.from}' could not be opened`, '');
        const columns = await describeSource(src, s);
        await writer.ensureTables(rel, columns);
        if (opts.fullRefresh) await writer.reset(rel, stateRel, stream);
        const state = await writer.readState(stateRel, stream);
        const q = (c: string) => src.dialect.quoteIdent(c);
        const srcRel = `${q(sync.schema)}.${q(s.relation.identifier)}`;
        sourceMax = (await src.query<{ m: string | null }>(`select max(${q(sync.cursor)})::text as m from ${srcRel}`))[0]?.m ?? null;
        // where this run starts
        let lower: string | null = null;
        if (opts.since) lower = opts.since.toISOString();
        else if (opts.mode === 'full') lower = opts.lookbackSeconds ? new Date(Date.now() - opts.lookbackSeconds * 1000).toISOString() : null;
        else if (state?.cursor_value && !opts.fullRefresh) lower = (await src.query<{ t: string }>(`select (${sqlLit(state.cursor_value)}::timestamptz - interval '${sync.lookback_seconds} seconds')::text as t`))[0].t;
        opts.out(`  ${stream}: reading ${srcRel} from ${lower ? `${sync.cursor} >= ${lower}` : 'the beginning'} in batches of ${sync.batch_size.toLocaleString('en-US')}`);
        const keys = sync.primary_key.map(q);
        const order = [q(sync.cursor), ...keys].join(', ');
        // aliased: ORDER BY would otherwise sort by these text outputs instead of the columns
        const keyText = [`${q(sync.cursor)}::text`, ...keys.map((k) => `${k}::text`)].map((e, i) => `${e} as __vigil_k${i}`).join(', ');
        const tuple = (b: string[]) => `(${b.map(sqlLit).join(', ')})`;
        // a table that starts empty gets disjoint batches: nothing to replace, skip the deletes
        const replace = await writer.hasRows(rel);
        /**
         * Read one batch: find its last (cursor, key) with a cheap index-order query, then COPY
         * the rows up to it. Keyset pagination on (cursor, primary key): rows sharing a
         * timestamp never fall between batches. Returns null when there is nothing left.
         */
        type Batch = { file: string; upto: string[] | null; rows: number; last: string[] | null };
        // timestamps leave Postgres as ISO 8601 in UTC ('2026-01-01T10:00:00.000000Z'), a form every
        // warehouse's CSV reader parses the same way (Postgres' own '+00' suffix is not universal)
        const selectList = columns
          .map((c) => (c.pgType === 'timestamp with time zone' ? `to_char(${q(c.name)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as ${q(c.name)}` : q(c.name)))
          .join(', ');
        // a small first batch lets the warehouse start loading while Postgres reads the next, full one
        const sizeOf = (index: number) => (index === 0 ? Math.min(sync.batch_size, 20_000) : sync.batch_size);
        const readBatch = async (after: string[] | null, index: number): Promise<Batch> => {
          const from = after ? `(${order}) > ${tuple(after)}` : lower ? `${q(sync.cursor)} >= ${sqlLit(lower)}` : '';
          const bound = await src.pool
            .query({ text: `select ${keyText} from ${srcRel}${from ? ` where ${from}` : ''} order by ${order} offset ${sizeOf(index) - 1} limit 1`, rowMode: 'array' })
            .catch((e: unknown) => {
              throw pgError(e, 'batch bound');
            });
          const upto = bound.rows[0] ? (bound.rows[0] as unknown[]).map((v) => String(v)) : null;
          const conds = [from, upto ? `(${order}) <= ${tuple(upto)}` : ''].filter(Boolean);
          const select = `select ${selectList} from ${srcRel}${conds.length ? ` where ${conds.join(' and ')}` : ''} order by ${order}`;
          const file = join(dir, `${stream}.${index}.csv`);
          const client = await src.pool.connect();
          let rowsRead = 0;
          try {
            const copy = client.query(copyTo(`copy (${select}) to stdout with (format csv)`));
            await pipeline(copy, createWriteStream(file));
            rowsRead = Number((copy as unknown as { rowCount: number }).rowCount ?? 0);
          } catch (e) {
            throw pgError(e, select);
          } finally {
            client.release();
          }
          // the batch's last key becomes the stream's cursor when the batch commits
          let last = upto;
          if (!last && rowsRead > 0) {
            const desc = [q(sync.cursor), ...keys].map((k) => `${k} desc`).join(', ');
            const r = await src.pool.query({ text: `select ${keyText} from ${srcRel}${conds.length ? ` where ${conds.join(' and ')}` : ''} order by ${desc} limit 1`, rowMode: 'array' }).catch((e: unknown) => {
              throw pgError(e, 'last key');
            });
            last = r.rows[0] ? (r.rows[0] as unknown[]).map((v) => String(v)) : null;
          }
          return { file, upto, rows: rowsRead, last };
        };
        // read batch k+1 from Postgres while the warehouse applies batch k: both cores busy
        let pending: Promise<Batch> | null = readBatch(null, 0);
        try {
          while (pending) {
            const tRead = performance.now();
            const cur: Batch = await pending;
            pending = cur.upto ? readBatch(cur.upto, batches + 1) : null;
            pending?.catch(() => undefined); // awaited on the next turn; never an unhandled rejection
            if (cur.rows === 0 || !cur.last) {
              rmSync(cur.file, { force: true });
              break;
            }
            const tWrite = performance.now();
            const lastId = keys.length === 1 ? cur.last[1] : JSON.stringify(cur.last.slice(1));
            const b = await writer.applyBatch(rel, columns, cur.file, sync.primary_key, stateRel, stream, sourceMax, replace, { rows: cur.rows, lastCursor: cur.last[0], lastId });
            if (process.env.VIGIL_SYNC_TIMING) opts.out(`    waited for read ${(tWrite - tRead).toFixed(0)} ms, apply ${(performance.now() - tWrite).toFixed(0)} ms`);
            rmSync(cur.file, { force: true });
            batches++;
            rows += b.rows;
            const secs = (performance.now() - t0) / 1000;
            opts.out(`  ${stream}: batch ${batches}, ${rows.toLocaleString('en-US')} rows, ${Math.round(rows / Math.max(secs, 1e-3)).toLocaleString('en-US')} rows/s`);
          }
        } finally {
          await pending?.catch(() => undefined);
        }
        await writer.recordRun(stateRel, stream, 'success', null, sourceMax);
        const seconds = (performance.now() - t0) / 1000;
        results.push({ stream, status: 'success', rows, batches, seconds, message: `${rows.toLocaleString('en-US')} rows in ${batches} batch${batches === 1 ? '' : 'es'}` });
      } catch (e) {
        const message = redact(e instanceof Error ? e.message.split('\n')[0] : String(e));
        // the cursor stays where the last committed batch left it; the failure is counted
        await writer.recordRun(stateRel, stream, 'error', message, sourceMax).catch(() => undefined);
        results.push({ stream, status: 'error', rows, batches, seconds: (performance.now() - t0) / 1000, message });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
