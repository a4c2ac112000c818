/**
 * RecordMeter (src/sync/sync-types.ts): the longest CSV record of a stream fed in chunks, which
 * sizes DuckDB's read buffers for a batch file. Checked against a reference that parses the
 * whole text at once, on random files cut into random chunks.
 */
import { describe, expect, it } from 'vitest';
import { RecordMeter } from '../../src/sync/sync-types.js';

const Q = 0x1e;
const D = 0x1f;

/** The longest record of a whole file (newline included), by the CSV rules. */
function reference(bytes: Buffer): number {
  let longest = 0;
  let open = 0;
  let quoted = false;
  for (const b of bytes) {
    open++;
    if (b === Q) quoted = !quoted;
    else if (b === 0x0a && !quoted) {
      longest = Math.max(longest, open);
      open = 0;
    }
  }
  return Math.max(longest, open);
}

/** A deterministic random generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A file of records: plain fields, and now and then a quoted one holding newlines, separators and doubled quotes. */
function file(r: () => number, records: number, long: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < records; i++) {
    const fields: Buffer[] = [];
    for (let f = 0; f < 3; f++) {
      const n = Math.floor(r() * (r() < 0.05 ? long : 40));
      if (r() < 0.2) {
        const inner = Buffer.alloc(n, 0x61);
        for (let k = 0; k < n; k += 1 + Math.floor(r() * 30)) inner[k] = [0x0a, D, 0x62][Math.floor(r() * 3)];
        const withQuotes = r() < 0.3 ? Buffer.concat([inner, Buffer.from([Q, Q])]) : inner;
        fields.push(Buffer.concat([Buffer.from([Q]), withQuotes, Buffer.from([Q])]));
      } else fields.push(Buffer.alloc(n, 0x63));
    }
    parts.push(Buffer.concat(fields.flatMap((x, j) => (j ? [Buffer.from([D]), x] : [x]))), Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

describe('RecordMeter', () => {
  it('finds the longest record of random files cut into random chunks (within one chunk when it is shorter than the chunks)', () => {
    const r = rng(7);
    for (let round = 0; round < 200; round++) {
      const bytes = file(r, 1 + Math.floor(r() * 60), round % 3 === 0 ? 5000 : 300);
      const meter = new RecordMeter(Q);
      let maxChunk = 0;
      for (let at = 0; at < bytes.length; ) {
        const n = 1 + Math.floor(r() * (r() < 0.5 ? 16 : 2000));
        meter.add(bytes.subarray(at, at + n));
        maxChunk = Math.max(maxChunk, Math.min(n, bytes.length - at));
        at += n;
      }
      const want = reference(bytes);
      // never below the truth; above it by less than a chunk, and only when the truth is shorter than one
      expect(meter.max).toBeGreaterThanOrEqual(want);
      if (want >= maxChunk) expect(meter.max).toBe(want);
      else expect(meter.max).toBeLessThan(maxChunk + want);
    }
  });

  it('a record longer than every chunk is measured exactly, quoted newlines and a doubled quote included', () => {
    // one quoted field: 100,000 bytes, a newline, an escaped quote, a separator, 50,000 bytes
    const long = Buffer.concat([Buffer.from('1\x1f\x1e'), Buffer.alloc(100_000, 0x61), Buffer.from('\n\x1e\x1e\x1f'), Buffer.alloc(50_000, 0x62), Buffer.from('\x1e\n')]);
    const text = Buffer.concat([Buffer.from('short\x1fx\n'), long, Buffer.from('y\n')]);
    const meter = new RecordMeter(Q);
    for (let at = 0; at < text.length; at += 4096) meter.add(text.subarray(at, at + 4096));
    expect(meter.max).toBe(long.length);
    expect(reference(text)).toBe(long.length);
  });

  it('a last record without its newline counts', () => {
    const meter = new RecordMeter(Q);
    meter.add(Buffer.from('ab\n'));
    meter.add(Buffer.alloc(10_000, 0x61));
    expect(meter.max).toBe(10_000);
  });
});
