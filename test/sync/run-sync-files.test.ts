/**
 * How `vigil sync` cuts a stream into files and batches (run-sync.ts), against the real DuckDB
 * writer: a batch is one transaction of batch_size rows, read as the writer's filesPerBatch
 * files, the run's first file at most 20,000 rows. The source here is a table in memory that
 * writes the same CSV files (0x1F / 0x1E separated) the Postgres reader writes, so the split is
 * visible file by file; the Postgres reader itself is covered end to end in sync.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import type { SourceNode } from '../../src/compile/manifest.js';
import { removeStaleBatchDirs, syncStreams } from '../../src/sync/run-sync.js';
import { csvSeparators, type CursorBounds, type SourceBatch, type StreamSpec, type SyncColumn, type SyncReader, type WindowStart } from '../../src/sync/sync-types.js';
import { removeDir } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** `n` rows (id, created_at), ten per second, read in (created_at, id) order like the Postgres reader. */
class MemoryReader implements SyncReader {
  readonly sizes: number[] = [];
  /** the files that closed a batch's snapshot (endsBatch), by position */
  readonly ends: number[] = [];
  /** a batch's snapshot is open: from a batch's first file to its last, a short one, or release() */
  open = false;
  private readonly rows: Array<[string, string]>;
  constructor(n: number) {
    this.rows = Array.from({ length: n }, (_, i) => [String(i + 1), new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 10) * 1000).toISOString().replace('T', ' ').replace('Z', '+00')]);
  }
  async describe(): Promise<SyncColumn[]> {
    return [{ name: 'id', pgType: 'bigint', notNull: true }, { name: 'created_at', pgType: 'timestamp with time zone' }];
  }
  async cursorBounds(): Promise<CursorBounds> {
    return { clock: '2030-01-01 00:00:00+00', max: this.rows.at(-1)?.[1] ?? null, ahead: { rows: 0, latest: null }, savedAhead: false };
  }
  async keptRows(_spec: unknown, _columns: unknown, upto: string): Promise<number> {
    return this.rows.filter((r) => r[1] <= upto).length;
  }
  async retiredRows(): Promise<number> {
    return 0;
  }
  async lookbackFrom(cursor: string): Promise<string> {
    return cursor;
  }
  async windowStart(): Promise<WindowStart> {
    throw new Error('not used: these tests run deltas');
  }
  ordered = true;
  async nullCursorRows(): Promise<number> {
    return 0;
  }
  async keyOrdered(): Promise<boolean> {
    return this.ordered;
  }
  async uniqueKey(): Promise<boolean> {
    return true;
  }
  async nullKeyRows(): Promise<number> {
    return 0;
  }
  async release(): Promise<void> {
    this.open = false;
  }
  async readBatch(spec: StreamSpec, _columns: SyncColumn[], from: { lower: string | null; after: string[] | null }, size: number, file: string, endsBatch: boolean): Promise<SourceBatch> {
    if (endsBatch) this.ends.push(this.sizes.length);
    this.sizes.push(size);
    this.open = true;
    const start = from.after ? this.rows.findIndex((r) => r[0] === from.after![1]) + 1 : from.lower ? this.rows.findIndex((r) => r[1] >= from.lower!) : 0;
    const rows = this.rows.slice(start, start + size);
    const { delimiter } = csvSeparators(spec.separators);
    writeFileSync(file, rows.map((r) => `${r[0]}${delimiter}${r[1]}\n`).join(''));
    const key = (r: [string, string] | undefined) => (r ? [r[1], r[0]] : null);
    const upto = rows.length === size ? key(rows.at(-1)) : null;
    if (endsBatch || !upto) this.open = false;
    return { file, rows: rows.length, upto, last: key(rows.at(-1)) };
  }
}

const source = (batchSize: number): SourceNode => ({
  unique_id: 'source.p.raw.events',
  resource_type: 'source',
  name: 'events',
  source_name: 'raw',
  file: 'models/sources.yml',
  line: 1,
  relation: { schema: 'raw', identifier: 'events' },
  columns: [],
  tags: [],
  sync: { from: 'app', schema: 'app', primary_key: ['id'], cursor: 'created_at', batch_size: batchSize, lookback_seconds: 300 },
});

describe('vigil sync into DuckDB: files and batches', () => {
  /** `fn` with a DuckDB warehouse of its own, closed after. */
  const withDuck = async (fn: (db: DuckDbAdapter) => Promise<void>) => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-sync-files-'));
    dirs.push(dir);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: 'w.duckdb', schema: 'raw' }, dir, 1);
    try {
      await fn(db);
    } finally {
      await db.close();
    }
  };

  it('reads each batch as four files (the first of the run at most 20,000 rows) and commits each batch with its cursor', () =>
    withDuck(async (db) => {
      const reader = new MemoryReader(130_000);
      const lines: string[] = [];
      const [r] = await syncStreams([source(100_000)], new Map([['app', reader]]), db, { mode: 'delta', fullRefresh: false, out: (l) => lines.push(l) });
      expect(r).toMatchObject({ status: 'success', rows: 130_000, batches: 2 });
      // batch 1: 20,000 then files of 25,000 up to 100,000; batch 2: the 30,000 rows left
      expect(reader.sizes).toEqual([20_000, 25_000, 25_000, 25_000, 5_000, 25_000, 25_000]);
      // a first load (the table was empty) reads one snapshot of the source for the whole run
      expect(reader.ends).toEqual([]);
      expect(reader.open).toBe(false);
      expect(lines.filter((l) => /batch \d/.test(l)).map((l) => /batch \d+, [\d,]+ rows/.exec(l)![0])).toEqual(['batch 1, 100,000 rows', 'batch 2, 130,000 rows']);
      const [t] = await db.query<{ n: bigint; s: bigint; d: bigint }>('select count(*) as n, sum(id) as s, count(distinct id) as d from raw.events');
      expect([Number(t.n), Number(t.s), Number(t.d)]).toEqual([130_000, (130_000 * 130_001) / 2, 130_000]);
      const [st] = await db.query<{ c: string; id: string; n: bigint }>("select cast(cursor_value as varchar) as c, cursor_id as id, rows_synced as n from raw.vigil_sync_state where stream = 'raw.events'");
      expect({ ...st, n: Number(st.n) }).toEqual({ c: '2026-01-01 03:36:39+00', id: '130000', n: 130_000 });
      // the next run finds rows (each batch deletes by key what it replaces): a snapshot per batch
      const more = new MemoryReader(230_000);
      const [r2] = await syncStreams([source(100_000)], new Map([['app', more]]), db, { mode: 'delta', fullRefresh: false, out: () => undefined });
      // from the last cursor: its second's 10 rows again, then 100,000 new
      expect(r2).toMatchObject({ status: 'success', rows: 100_010, batches: 2 });
      expect(more.ends).toEqual([4]);
      expect(more.open).toBe(false);
    }));

  it('a source without an index on (cursor, key): a batch is one file (each read would sort the rest again), and the run says so', () =>
    withDuck(async (db) => {
      const reader = new MemoryReader(130_000);
      reader.ordered = false;
      const lines: string[] = [];
      const [r] = await syncStreams([source(100_000)], new Map([['app', reader]]), db, { mode: 'delta', fullRefresh: false, out: (l) => lines.push(l) });
      expect(r).toMatchObject({ status: 'success', rows: 130_000, batches: 3 });
      expect(reader.sizes).toEqual([20_000, 100_000, 100_000]);
      expect(lines.filter((l) => /warning/.test(l))).toEqual(['  raw.events: warning: app.events has no index on (created_at, id): every batch sorts the rows left to read (models/sources.yml:1); create index on app.events (created_at, id)']);
    }));

  it("the index advice quotes what Postgres would read otherwise (was: `(\"it's\", user)`: user unquoted is current_user, and Postgres refused the index)", async () => {
    const { indexAdvice } = await import('../../src/sync/run-sync.js');
    expect(indexAdvice('app', 'events', ['created_at', 'id'])).toBe('create index on app.events (created_at, id)');
    expect(indexAdvice('my-app', 'Order Lines', ["it's", 'user'])).toBe(`create index on "my-app"."Order Lines" ("it's", "user")`);
    expect(indexAdvice('app', 'ev', ['Order', 'a"b'])).toBe('create index on app.ev ("Order", "a""b")');
  });

  it('a file that fails to load rolls its whole batch back: the cursor stays at the last committed batch', () =>
    withDuck(async (db) => {
      const reader = new MemoryReader(40);
      const read = reader.readBatch.bind(reader);
      let files = 0;
      // the third file of the second batch (batch_size 16: files of 4) is not CSV
      reader.readBatch = async (...args) => {
        const b = await read(...args);
        if (++files === 7) writeFileSync(b.file, 'not\x1fa\x1fbatch\n');
        return b;
      };
      const [r] = await syncStreams([source(16)], new Map([['app', reader]]), db, { mode: 'delta', fullRefresh: false, out: () => undefined });
      expect(r.status).toBe('error');
      expect(r.rows).toBe(16);
      expect(await db.query('select count(*)::int as n, max(id)::int as m from raw.events')).toEqual([{ n: 16, m: 16 }]);
      expect(await db.query("select cursor_id as id, rows_synced::int as n, last_status as s from raw.vigil_sync_state")).toEqual([{ id: '16', n: 16, s: 'error' }]);
    }));
  it('a warehouse that takes a batch as one file: the first 20,000 rows are a batch of their own, one read ahead; a read that fails while a batch loads fails the stream (no crash), the loaded batch stays', () =>
    withDuck(async (db) => {
      const inner = db.syncWriter();
      // the DuckDB writer as one that loads a batch as one file (as the Postgres and BigQuery writers do)
      const single = Object.assign(Object.create(inner) as typeof inner, { filesPerBatch: undefined });
      const target = { syncWriter: () => single } as unknown as DuckDbAdapter;
      const reader = new MemoryReader(60_000);
      const read = reader.readBatch.bind(reader);
      reader.readBatch = async (...args) => {
        // the third read fails at once, while the second batch is being loaded
        if (reader.sizes.length === 2) {
          reader.sizes.push(args[3]);
          throw new Error('connection reset by the source');
        }
        return read(...args);
      };
      const lines: string[] = [];
      const [r] = await syncStreams([source(30_000)], new Map([['app', reader]]), target, { mode: 'delta', fullRefresh: false, out: (l) => lines.push(l) });
      expect(r).toMatchObject({ status: 'error', rows: 50_000, batches: 2, message: 'connection reset by the source' });
      expect(reader.sizes).toEqual([20_000, 30_000, 30_000]);
      expect(await db.query('select count(*)::int as n, max(id)::int as m from raw.events')).toEqual([{ n: 50_000, m: 50_000 }]);
      expect(await db.query('select cursor_id as id, rows_synced::int as n, last_status as s from raw.vigil_sync_state')).toEqual([{ id: '50000', n: 50_000, s: 'error' }]);
    }));

  it('stopped between batches: nothing read beyond the two files ahead, the snapshot closed, the next run goes on from the cursor', () =>
    withDuck(async (db) => {
      const reader = new MemoryReader(400);
      const stop = new AbortController();
      const out = (l: string) => {
        if (/batch 1,/.test(l)) stop.abort();
      };
      const [r] = await syncStreams([source(40)], new Map([['app', reader]]), db, { mode: 'delta', fullRefresh: false, out, signal: stop.signal });
      expect(r).toMatchObject({ status: 'interrupted', rows: 40, batches: 1 });
      // batch 1 (files 1-4) and at most the two read ahead of it
      expect(reader.sizes.length).toBeLessThanOrEqual(6);
      expect(reader.open).toBe(false);
      const [again] = await syncStreams([source(40)], new Map([['app', reader]]), db, { mode: 'delta', fullRefresh: false, out: () => undefined });
      // from the cursor (the 3rd second: its 10 rows again, as a lookback of 0 re-reads them), not from the start
      expect(again).toMatchObject({ status: 'success', rows: 370 });
      expect(await db.query('select count(*)::int as n, count(distinct id)::int as d from raw.events')).toEqual([{ n: 400, d: 400 }]);
    }));
  it("a sync removes the batch folders of syncs killed before they could (their process is gone), not a running one's", async () => {
    const base = mkdtempSync(join(tmpdir(), 'vigil-sync-base-'));
    dirs.push(base);
    const gone = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    const folder = (name: string) => {
      mkdirSync(join(base, name));
      writeFileSync(join(base, name, 'stream-0.3.csv'), '1\x1f2026-01-01 00:00:00+00\n');
      return join(base, name);
    };
    const killed = folder(`vigil-sync-${gone}-AbC123`);
    const running = folder(`vigil-sync-${process.pid}-XyZ789`);
    const unnamed = folder('vigil-sync-Qw12Er');
    const other = folder(`other-${gone}-x`);
    removeStaleBatchDirs(base);
    expect([killed, running, unnamed, other].map((d) => existsSync(d))).toEqual([false, true, true, true]);
    // and a sync does it in the temporary folder before it starts
    const left = join(tmpdir(), `vigil-sync-${gone}-Left01`);
    mkdirSync(left);
    await withDuck(async (db) => {
      const [r] = await syncStreams([source(10)], new Map([['app', new MemoryReader(5)]]), db, { mode: 'delta', fullRefresh: false, out: () => undefined });
      expect(r.status).toBe('success');
    });
    expect(existsSync(left)).toBe(false);
  });
  it("a killed sync's process left a zombie (a container whose first process reaps none keeps it for good): its batch folder is removed too (was: kept, with the rows it read, as long as the zombie stays)", async () => {
    const base = mkdtempSync(join(tmpdir(), 'vigil-sync-base-'));
    dirs.push(base);
    // sh starts a short child, then becomes sleep, which never collects it: a zombie until sleep ends
    const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((r) => parent.stdout!.once('data', (b: Buffer) => r(String(b).trim()))));
      const zombie = () => /\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      for (let i = 0; i < 250 && !zombie(); i++) await new Promise((r) => setTimeout(r, 20));
      expect(zombie()).toBe(true);
      const folder = join(base, `vigil-sync-${pid}-Zo1234`);
      mkdirSync(folder);
      writeFileSync(join(folder, 'stream-0.1.csv'), '1\n');
      removeStaleBatchDirs(base);
      expect(existsSync(folder)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
