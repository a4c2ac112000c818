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

/** The warehouse is held by another process (DuckDB's single-writer file lock). */
export class WarehouseBusyError extends WarehouseError {
  constructor(
    message: string,
    /** the holder's command line, when the system says (Linux /proc) */
    readonly holder?: string,
    options?: { cause?: unknown },
  ) {
    super(message, '', options);
    this.name = 'WarehouseBusyError';
  }
}

export function hasErrors(ds: Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}

/** Levenshtein distance, for did-you-mean hints. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  if (m === 0) return n;
  if (n === 0) return m;
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[n];
}

/** The closest candidate within a sensible distance, or undefined. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.max(2, Math.floor(name.length / 3));
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= limit ? best : undefined;
}
