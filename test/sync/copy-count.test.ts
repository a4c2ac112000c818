/**
 * COPY's row count arrives after its data: pg-copy-streams ends the stream at CopyDone and reads
 * the count from the CommandComplete message that follows. A network that delays that message
 * (here a TCP proxy in front of the real server that holds everything after each CopyDone for
 * 300 ms) made `vigil sync` read a count of 0 for a full file: the batch ended there, its rows
 * were never loaded and the run said OK. Every source row must reach the copy whatever the
 * timing of the server's messages.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import net from 'node:net';
import pg from 'pg';
import { DuckDbAdapter } from '../../src/adapters/duckdb/duckdb-adapter.js';
import { uniqueSchema } from '../support/postgres.js';
import { makeProject, removeDir, vigilAsync } from '../helpers.js';

const url = inject('pgUrl');
let client: pg.Client;
let proxy: { url: string; close(): Promise<void>; held: number };
const dirs: string[] = [];

/** A proxy that forwards the server's messages, holding all that follows a CopyDone ('c') for `ms`. */
async function delayAfterCopyDone(target: URL, ms: number): Promise<typeof proxy> {
  const sockets = new Set<net.Socket>();
  const state = { held: 0 };
  const server = net.createServer((down) => {
    const up = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(down).add(up);
    down.pipe(up);
    let pending = Buffer.alloc(0);
    let holding = false;
    const queued: Buffer[] = [];
    const feed = (chunk: Buffer) => {
      if (holding) return void queued.push(chunk);
      pending = Buffer.concat([pending, chunk]);
      let off = 0;
      // messages: a type byte, then a length that counts itself and the body
      while (pending.length - off >= 5) {
        const type = pending[off];
        const len = pending.readUInt32BE(off + 1);
        if (pending.length - off < 1 + len) break;
        off += 1 + len;
        if (type === 0x63) {
          down.write(pending.subarray(0, off));
          const rest = pending.subarray(off);
          pending = Buffer.alloc(0);
          holding = true;
          state.held++;
          setTimeout(() => {
            holding = false;
            const all = Buffer.concat([rest, ...queued.splice(0)]);
            if (all.length) feed(all);
          }, ms);
          return;
        }
      }
      down.write(pending.subarray(0, off));
      pending = pending.subarray(off);
    };
    up.on('data', feed);
    for (const s of [down, up]) {
      s.on('error', () => {});
      s.on('close', () => (down.destroy(), up.destroy()));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const via = new URL(target.href);
  via.hostname = '127.0.0.1';
  via.port = String(port);
  return {
    url: via.href,
    get held() {
      return state.held;
    },
    close: () => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))),
  };
}

beforeAll(async () => {
  client = new pg.Client(url);
  await client.connect();
  proxy = await delayAfterCopyDone(new URL(url), 300);
});
afterAll(async () => {
  await client?.end();
  await proxy?.close();
  dirs.forEach(removeDir);
});

describe("COPY's row count", () => {
  it('is read after the server has sent it: every row is copied though the count comes late (was: a file counted 0, its rows lost, OK)', async () => {
    const s = uniqueSchema('sync_count');
    await client.query(`create schema ${s};
      create table ${s}.ev (id bigint primary key, payload text, updated_at timestamptz not null);
      create index on ${s}.ev (updated_at, id);
      insert into ${s}.ev select g, md5(g::text), timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second' from generate_series(1, 5000) g;`);
    const dir = makeProject({
      'project.yaml': `name: copycount
default_target: dev
targets:
  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }
  app: { type: postgres, url: "{{ env_var('DATABASE_URL') }}", schema: analytics }
`,
      'models/sources.yml': `sources:
  - name: raw
    schema: raw
    sync: { from: app, schema: ${s} }
    tables:
      - name: ev
        sync: { primary_key: id, cursor: updated_at, batch_size: 1000 }
`,
    });
    dirs.push(dir);
    const r = await vigilAsync(dir, ['sync'], { DATABASE_URL: proxy.url });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(proxy.held).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/OK raw\.ev: 5,000 rows/);
    const db = await DuckDbAdapter.open({ type: 'duckdb', path: '.vigil/dev.duckdb', schema: 'analytics' }, dir, 1);
    try {
      expect(await db.query('select count(*)::int as n, count(distinct id)::int as d, min(id)::int as lo, max(id)::int as hi from raw.ev')).toEqual([{ n: 5000, d: 5000, lo: 1, hi: 5000 }]);
    } finally {
      await db.close();
    }
  });
});
