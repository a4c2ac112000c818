/**
 * `vigil source freshness`: the age of each source's newest `loaded_at_field` against its
 * warn/error limits.
 */
import type { Adapter } from '../adapters/adapter.js';
import type { Freshness } from '../project/schema.js';
import type { SourceNode } from '../compile/manifest.js';
import { parseTimestamp } from '../time/timestamp.js';

export interface FreshnessResult {
  unique_id: string;
  source: string;
  status: 'pass' | 'warn' | 'error' | 'runtime error' | 'no data';
  max_loaded_at: string | null;
  snapshotted_at: string;
  age_seconds: number | null;
  criteria: Freshness | undefined;
  message: string;
}

const PERIOD_S = { minute: 60, hour: 3600, day: 86400 } as const;

export function limitSeconds(rule: { count: number; period: keyof typeof PERIOD_S } | null | undefined): number | undefined {
  return rule ? rule.count * PERIOD_S[rule.period] : undefined;
}

/**
 * Each stream's own data-lag limit, its source's freshness `error_after`, in seconds, by stream
 * name (`source.table`): the shipped latency rule (`source_freshness: true`) and serve's /health
 * judge a stream by it. Streams that declare none are not in the map.
 */
export function errorAfterByStream(sources: Array<Pick<SourceNode, 'source_name' | 'name' | 'freshness'>>): Map<string, number> {
  const limits = new Map<string, number>();
  for (const s of sources) {
    const l = limitSeconds(s.freshness?.error_after);
    if (l !== undefined) limits.set(`${s.source_name}.${s.name}`, l);
  }
  return limits;
}

export function humanAge(s: number): string {
  if (s < 90) return `${Math.round(s)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${(s / 3600).toFixed(1)}h`;
  return `${(s / 86400).toFixed(1)}d`;
}

/** Status of one source given its newest timestamp (pure, for tests). */
export function freshnessStatus(ageSeconds: number, f: Freshness | undefined): 'pass' | 'warn' | 'error' {
  const err = limitSeconds(f?.error_after);
  const warn = limitSeconds(f?.warn_after);
  if (err !== undefined && ageSeconds > err) return 'error';
  if (warn !== undefined && ageSeconds > warn) return 'warn';
  return 'pass';
}

export async function checkFreshness(sources: SourceNode[], adapter: Adapter, now: () => Date = () => new Date()): Promise<FreshnessResult[]> {
  const out: FreshnessResult[] = [];
  for (const s of sources) {
    const name = `${s.source_name}.${s.name}`;
    const base = { unique_id: s.unique_id, source: name, criteria: s.freshness ?? undefined };
    const rel = adapter.dialect.relation(s.relation);
    const where = s.freshness?.filter ? ` where ${s.freshness.filter}` : '';
    try {
      const rows = await adapter.query<{ max_loaded_at: Date | null }>(`select max(${s.loaded_at_field}) as max_loaded_at from ${rel}${where}`);
      const snap = now();
      const max = rows[0]?.max_loaded_at ?? null;
      if (max === null) {
        out.push({ ...base, status: 'no data', max_loaded_at: null, snapshotted_at: snap.toISOString(), age_seconds: null, message: `${rel} has no rows${where ? ` where ${s.freshness!.filter}` : ''}` });
        continue;
      }
      const maxDate = loadedAt(max);
      if (!maxDate) {
        out.push({ ...base, status: 'runtime error', max_loaded_at: null, snapshotted_at: snap.toISOString(), age_seconds: null, message: `${s.file}:${s.line}: ${await notATimestamp(s, max, adapter)}` });
        continue;
      }
      const age = (snap.getTime() - maxDate.getTime()) / 1000;
      const limits = [s.freshness?.warn_after && `warn after ${s.freshness.warn_after.count} ${s.freshness.warn_after.period}`, s.freshness?.error_after && `error after ${s.freshness.error_after.count} ${s.freshness.error_after.period}`].filter(Boolean).join(', ');
      // newer than now (more than a minute of clock skew): a time zone or clock problem, not fresh data
      if (age < -60) {
        out.push({ ...base, status: 'warn', max_loaded_at: maxDate.toISOString(), snapshotted_at: snap.toISOString(), age_seconds: age, message: `newest ${s.loaded_at_field} ${maxDate.toISOString()} is ${humanAge(-age)} in the future: a time zone (a local time stored as UTC?) or clock problem${limits ? ` (${limits})` : ''}` });
        continue;
      }
      const status = freshnessStatus(age, s.freshness ?? undefined);
      out.push({ ...base, status, max_loaded_at: maxDate.toISOString(), snapshotted_at: snap.toISOString(), age_seconds: age, message: `newest ${s.loaded_at_field} ${maxDate.toISOString()} is ${humanAge(Math.max(0, age))} old${limits ? ` (${limits})` : ''}` });
    } catch (e) {
      out.push({ ...base, status: 'runtime error', max_loaded_at: null, snapshotted_at: now().toISOString(), age_seconds: null, message: `${s.file}:${s.line}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` });
    }
  }
  return out;
}

/**
 * The instant a timestamp or date value stands for, as the warehouses give them: a Date (DuckDB,
 * Postgres; a timestamp without zone read as UTC), BigQuery's `{ value: '2026-…' }` (a DATETIME's
 * naive value read as UTC). Any other value (text, a number) is none: text is not guessed at.
 */
export function loadedAt(v: unknown): Date | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v;
  const value = v && typeof v === 'object' ? (v as { value?: unknown }).value : undefined;
  if (typeof value !== 'string') return undefined;
  const d = parseTimestamp('loaded_at_field', value);
  return d instanceof Error ? undefined : d;
}

/** Why a loaded_at_field's value is no timestamp: the column's type (an expression's kind of value) and how to make it one. */
async function notATimestamp(s: SourceNode, max: unknown, adapter: Adapter): Promise<string> {
  const field = s.loaded_at_field!;
  const shown = JSON.stringify(typeof max === 'bigint' ? String(max) : max);
  const column = /^["`]?([A-Za-z_][\w$]*)["`]?$/.exec(field.trim())?.[1];
  const type = column ? (await adapter.columns(s.relation).catch(() => [])).find((c) => c.name.toLowerCase() === column.toLowerCase())?.data_type : undefined;
  const kind = typeof max === 'string' ? 'text' : typeof max === 'number' || typeof max === 'bigint' ? 'a number' : typeof max === 'boolean' ? 'a boolean' : 'a value';
  // 'infinity' (Postgres' and DuckDB's timestamps and dates have it: a placeholder for "never"):
  // a timestamp, but no time anything was loaded, and the newest whatever else the table holds
  // (pg gives it as Infinity, which JSON would show as null; DuckDB as its text)
  const infinite = max === Infinity || max === -Infinity || (typeof max === 'string' && /^-?infinity$/i.test(max.trim()));
  if (infinite && (type === undefined || /date|time/i.test(type))) {
    const sign = max === -Infinity || (typeof max === 'string' && max.trim().startsWith('-')) ? '-' : '';
    const finite = `${field} < 'infinity'`;
    const filter = s.freshness?.filter ? `(${s.freshness.filter}) and ${finite}` : finite;
    return `loaded_at_field ${field}${type ? ` (${type})` : ''} is '${sign}infinity' at its newest, no time a row was loaded: leave such rows out with the freshness filter, e.g. filter: "${filter}"`;
  }
  const what = type ? `is a column of type ${type}` : `gives ${kind}`;
  const hint = typeof max === 'string' ? `cast it in loaded_at_field, e.g. loaded_at_field: "cast(${field} as timestamp)"` : 'convert it to a timestamp in loaded_at_field (an expression is allowed there)';
  return `loaded_at_field ${field} ${what} (newest ${shown}), not a timestamp or date: ${hint}`;
}
