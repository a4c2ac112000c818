/**
 * Errors and diagnostics. User mistakes are Diagnostics (collected, never thrown
 * from the pure core); ProjectError carries a batch of them to the CLI, which is the
 * only place that turns them into text and exit codes.
 */

export type Severity = 'error' | 'warn';

export interface Diagnostic {
  severity: Severity;
  /** Stable machine code, e.g. E_REF, E_CYCLE, E_YAML. */
  code: string;
  message: string;
  /** Path relative to the project root. */
  file?: string;
  line?: number;
  column?: number;
  hint?: string;
}

export function diag(
  code: string,
  message: string,
  loc: { file?: string; line?: number; column?: number } = {},
  hint?: string,
  severity: Severity = 'error',
): Diagnostic {
  return { severity, code, message, file: loc.file, line: loc.line, column: loc.column, hint };
}

export function formatDiagnostic(d: Diagnostic): string {
  let where = '';
  if (d.file) {
    where = d.file;
    if (d.line) where += `:${d.line}`;
    if (d.line && d.column) where += `:${d.column}`;
    where += ': ';
  }
  const sev = d.severity === 'warn' ? 'warning' : 'error';
  const hint = d.hint ? `\n  hint: ${d.hint}` : '';
  return `${where}${sev}: ${d.message} [${d.code}]${hint}`;
}

/** A batch of user-facing problems: exit code 2, no stack trace. */
export class ProjectError extends Error {
  constructor(public readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'ProjectError';
  }
}

/** A usage problem (bad flag value, unknown target): exit code 2, no stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A statement failed in the warehouse. Carries the failing SQL and the node's files so the
 * message names the model, not just the driver text; the driver error is the `cause`.
 */
export class WarehouseError extends Error {
  /** Where the warehouse says the error is, relative to `sql` (1-based), when it says. */
  readonly position?: { line: number; column?: number };
  constructor(
    message: string,
    /** The statement that failed (secrets in it shown as their placeholders). */
    public sql: string,
    options?: { cause?: unknown; position?: { line: number; column?: number } },
  ) {
    super(message, options);
    this.name = 'WarehouseError';
    this.position = options?.position;
  }
}

/**
 * The warehouse refused a statement for want of a privilege: Postgres' SQLSTATE 42501 ("permission
 * denied for schema x", "must be owner of table y"), BigQuery's reason `accessDenied` (an HTTP 403) — on the
 * error or its `cause` (a WarehouseError carries the driver's).
 */
export function isPermissionDenied(e: unknown): boolean {
  for (let x = e as { code?: unknown; errors?: Array<{ reason?: string }>; cause?: unknown } | undefined, depth = 0; x && typeof x === 'object' && depth < 5; x = x.cause as typeof x, depth++) {
    // (not any 403: BigQuery answers rateLimitExceeded and quotaExceeded with 403 too)
    if (x.code === '42501' || x.errors?.[0]?.reason === 'accessDenied') return true;
  }
  return false;
}

/** The warehouse is held by another process (DuckDB's single-writer file lock). */
export class WarehouseBusyError extends WarehouseError {
  constructor(
    message: string,
    /** the holder's command line, when the system says (Linux /proc) */
    readonly holder?: string,
    options?: { cause?: unknown },
    /** the holder's process id, when the lock says */
    readonly pid?: number,
  ) {
    super(message, '', options);
    this.name = 'WarehouseBusyError';
  }
}

export function hasErrors(ds: Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}

/** Levenshtein distance with a swap of two neighbours counting one (`=>` is one from `>=`), for did-you-mean hints. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  if (m === 0) return n;
  if (n === 0) return m;
  // rows i-2, i-1 and i
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) cur[j] = Math.min(cur[j], prev2[j - 2] + 1);
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n];
}

/**
 * The closest candidate within a sensible distance, or undefined. Of equally close ones, one
 * with the same characters (`=>`: `>=`, not `>`). Failing that, a candidate that is the name
 * and more words (`keep_firing`: `keep_firing_for`).
 */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  let bestSame = false;
  const low = name.toLowerCase();
  const sorted = (x: string) => [...x].sort().join('');
  const mine = sorted(low);
  const limit = Math.max(2, Math.floor(name.length / 3));
  const all = [...candidates];
  for (const c of all) {
    const d = editDistance(low, c.toLowerCase());
    const same = sorted(c.toLowerCase()) === mine;
    if (d < bestD || (d === bestD && same && !bestSame)) {
      bestD = d;
      best = c;
      bestSame = same;
    }
  }
  if (bestD <= limit) return best;
  return name.length >= 4 ? all.find((c) => c.toLowerCase().startsWith(`${low}_`)) : undefined;
}
