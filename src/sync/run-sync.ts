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
import type { Relation } from '../adapters/dialect.js';
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

function sqlLit(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

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
        let after: { cursor: string; id: string } | null = null;
        for (;;) {
          const conds: string[] = [];
          if (after) {
            // keyset pagination on (cursor, primary key): rows sharing a timestamp never fall between batches
            const ids = keys.length === 1 ? [after.id] : (JSON.parse(after.id) as string[]);
            conds.push(`(${order}) > (${[sqlLit(after.cursor), ...ids.map(sqlLit)].join(', ')})`);
          } else if (lower) conds.push(`${q(sync.cursor)} >= ${sqlLit(lower)}`);
          const select = `select ${columns.map((c) => q(c.name)).join(', ')} from ${srcRel}${conds.length ? ` where ${conds.join(' and ')}` : ''} order by ${order} limit ${sync.batch_size}`;
          const file = join(dir, `${stream}.${batches}.csv`);
          const client = await src.pool.connect();
          try {
            await client.query("set timezone = 'UTC'");
            await pipeline(client.query(copyTo(`copy (${select}) to stdout with (format csv)`)), createWriteStream(file));
          } catch (e) {
            throw pgError(e, select);
          } finally {
            client.release();
          }
          const b = await writer.applyBatch(rel, columns, file, sync.primary_key, sync.cursor, stateRel, stream, sourceMax);
          rmSync(file, { force: true });
          if (b.rows === 0) break;
          batches++;
          rows += b.rows;
          const secs = (performance.now() - t0) / 1000;
          opts.out(`  ${stream}: batch ${batches}, ${rows.toLocaleString('en-US')} rows, ${Math.round(rows / Math.max(secs, 1e-3)).toLocaleString('en-US')} rows/s`);
          if (b.rows < sync.batch_size || !b.lastCursor || !b.lastId) break;
          after = { cursor: b.lastCursor, id: b.lastId };
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
