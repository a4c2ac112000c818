/**
 * BigQuery adapter (`@google-cloud/bigquery` 8.x): the production warehouse. Query jobs with
 * the target's location, labels, maximum_bytes_billed, timeout and priority; dry runs for cost;
 * materializations in BigQuery DDL — views, tables with PARTITION BY / CLUSTER BY / OPTIONS
 * (recreated when partitioning or clustering changed), incremental merge / insert_overwrite /
 * append — and model and column descriptions from the YAML. Errors name the job and carry the
 * `LINE n:` of the statement so the executor can point at the compiled file.
 */
import type { BigQuery, Job } from '@google-cloud/bigquery';
import { WarehouseError } from '../../errors.js';
import { countReferencedTables, onDemandBytesBilled } from './bigquery-billing.js';
import { aroundTransaction, droppedColumnsFailure, mergeDuplicatesMessage, nullKeyWarning, storedDuplicatesWarning, builtDuplicatesWarning, duplicatesWarning, joinWarnings, newReplaceColumnFailure, ExactNumber, hooksOfRun, type Estimate, exactInteger, jsonValue, maskingDigest, withHooks, partitionField, schemaChangeFailure, type Adapter, type Column, type LoadRequest, type MaterializeRequest, type MaterializeResult, type Preview, type Row } from '../adapter.js';
import { loadColumnType, type Relation, type SqlParam } from '../dialect.js';
import { applyGrants } from '../grants.js';
import type { SyncWriter } from '../../sync/sync-types.js';
import { bigQueryDdlType, bigQueryDialect, bigQueryHelpersSql, type BqField } from './bigquery-dialect.js';
import { VIGIL_LABEL, type BigQueryTargetConfig } from './bigquery-config.js';
import { warehouse } from './index.js';
import { formatBytes } from '../../format.js';
import { resolveCredentials } from './bigquery-credentials.js';
import { BigQuerySyncWriter } from './bigquery-sync-writer.js';

/**
 * Reasons of a job DONE with an errorResult after which it may run again as a NEW job: a failed job
 * changed nothing ("you can safely retry the job without concerns about data consistency").
 * Also the reasons that make an HTTP answer transient (with 408, 429, 5xx and no answer at all).
 */
const RETRYABLE = new Set(['rateLimitExceeded', 'jobRateLimitExceeded', 'backendError', 'internalError', 'jobBackendError', 'jobInternalError']);

type ApiErrorLike = { message?: string; code?: number | string; errors?: Array<{ reason?: string; message?: string; location?: string }>; response?: unknown };
type JobResource = { jobReference?: { jobId?: string; location?: string }; status?: { state?: string; errorResult?: { reason?: string; message?: string; location?: string } }; statistics?: { query?: { numDmlAffectedRows?: string } } };

/** When and how often run() tries again (see docs/bigquery.md, "Errors and retries"). */
export interface BigQueryRetryPolicy {
  /** First wait before polling again / submitting again; doubles each time, up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Keep polling a job whose results cannot be fetched this long (from the first failure); default max(5 min, timeout_ms). */
  pollPatienceMs?: number;
  /** jobs.insert attempts under the same job id when the insert gets no (or a transient) answer and the job does not exist. */
  maxInserts: number;
  /** New jobs after a job ended with a retryable error (it changed nothing). */
  maxResubmits: number;
}

const reasonOf = (e: unknown): string => (e as ApiErrorLike)?.errors?.[0]?.reason ?? '';

/** The request got no answer (connection reset, timeout, DNS) or a transient one (408, 429, 5xx, a rate-limit or backend reason). */
function transient(e: unknown): boolean {
  const err = e as ApiErrorLike & { type?: string; name?: string };
  // node-fetch (under teeny-request) FetchError / AbortError, or a socket errno (ECONNRESET, ETIMEDOUT, EAI_AGAIN, ...)
  if (err?.name === 'FetchError' || err?.name === 'AbortError' || err?.type === 'system') return true;
  if (typeof err?.code === 'string' && /^(E[A-Z_]+|UND_ERR_[A-Z_]+|ERR_STREAM_PREMATURE_CLOSE)$/.test(err.code)) return true;
  const code = typeof err?.code === 'number' ? err.code : 0;
  return code === 408 || code === 429 || code >= 500 || RETRYABLE.has(reasonOf(e));
}

/** `503`, `403 rateLimitExceeded`, `ECONNRESET`: what went wrong with a request, in a few characters. */
function brief(e: unknown): string {
  const err = e as ApiErrorLike;
  const reason = reasonOf(e);
  if (typeof err?.code === 'number') return err.code >= 500 || err.code === 429 || !reason ? String(err.code) : `${err.code} ${reason}`;
  if (typeof err?.code === 'string') return err.code;
  return reason || (err?.message ?? String(e)).slice(0, 80);
}

/** The job resource a 200 jobs.insert answered with, when the client rejected it for its `status.errors`. */
function jobResourceOf(e: unknown): JobResource | undefined {
  const r = (e as ApiErrorLike)?.response as JobResource | undefined;
  return r && typeof r === 'object' && r.jobReference && r.status ? r : undefined;
}

/** A job's errorResult as an error bqError reads (the reason of the errorResult, not of the first of `errors`). */
function jobFailure(status: NonNullable<JobResource['status']>, cause?: unknown): ApiErrorLike & { cause?: unknown } {
  const r = status.errorResult!;
  return { message: r.message, errors: [r], cause };
}

/** Upload failures after which BigQuery had no job under the load's id: nothing was loaded. */
const loadNeverRan = new WeakSet<object>();
const loadedRows = (job: unknown): number => Number((job as { statistics?: { load?: { outputRows?: string } } } | undefined)?.statistics?.load?.outputRows ?? 0);

type DmlJobStats = { numChildJobs?: string; query?: { numDmlAffectedRows?: string; statementType?: string; dmlStats?: { insertedRowCount?: string; updatedRowCount?: string; deletedRowCount?: string } } };
/** The rows DML statements affected (numDmlAffectedRows), and, where every one that affected any says (dmlStats), how. */
type DmlCounts = { affected: number | undefined; inserted?: number; updated?: number; deleted?: number };

/** DmlCounts of the statistics of a statement, or of a script's child jobs. */
function dmlCounts(jobs: Array<DmlJobStats | undefined>): DmlCounts {
  const affected = jobs.reduce((n, s) => n + Number(s?.query?.numDmlAffectedRows ?? 0), 0);
  const dml = jobs.filter((s) => Number(s?.query?.numDmlAffectedRows ?? 0) > 0);
  if (!dml.every((s) => s?.query?.dmlStats)) return { affected };
  const sum = (k: 'insertedRowCount' | 'updatedRowCount' | 'deletedRowCount') => dml.reduce((n, s) => n + Number(s?.query?.dmlStats?.[k] ?? 0), 0);
  return { affected, inserted: sum('insertedRowCount'), updated: sum('updatedRowCount'), deleted: sum('deletedRowCount') };
}

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(3))} s`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A BigQuery error, as the executor wants it: reason, message, `LINE n:` and the job id. */
export function bqError(e: unknown, sql: string, jobId?: string): WarehouseError {
  const err = e as ApiErrorLike;
  const first = err.errors?.[0];
  // an HTTP status, or a connection error's code (ECONNRESET, ...)
  const reason = first?.reason ?? (typeof err.code === 'number' ? `http ${err.code}` : err.code ? String(err.code) : 'error');
  let message = `${reason}: ${first?.message ?? err.message ?? String(e)}`;
  const at = /at \[(\d+):(\d+)\]/.exec(message);
  if (at) message += `\nLINE ${at[1]}: ${(sql.split('\n')[Number(at[1]) - 1] ?? '').trim()}`;
  if (jobId) message += `\n(job ${jobId})`;
  if (reason === 'accessDenied') message += '\n(check the service account has BigQuery Data Editor and Job User on the project)';
  if (reason === 'notFound' && /Dataset|Table/.test(message)) message += '\n(an upstream model may not be built yet)';
  return new WarehouseError(message, sql, { cause: e, position: at ? { line: Number(at[1]), column: Number(at[2]) } : undefined });
}

function partitionExpr(p: unknown): string | undefined {
  if (p === undefined || p === null) return undefined;
  if (typeof p === 'string') return /^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? bigQueryDialect.quoteIdent(p) : p;
  const o = p as { field: string; data_type?: string; granularity?: string; range?: { start: number; end: number; interval: number } };
  const g = (o.granularity ?? 'day').toUpperCase();
  const t = (o.data_type ?? 'date').toLowerCase();
  const f = bigQueryDialect.quoteIdent(o.field);
  if (t === 'timestamp') return `TIMESTAMP_TRUNC(${f}, ${g})`;
  if (t === 'datetime') return `DATETIME_TRUNC(${f}, ${g})`;
  if (t === 'int64') return o.range ? `RANGE_BUCKET(${f}, GENERATE_ARRAY(${o.range.start}, ${o.range.end}, ${o.range.interval}))` : f;
  return g === 'DAY' ? f : `DATE_TRUNC(${f}, ${g})`;
}

/**
 * What insert_overwrite replaces by: the PARTITION BY expression, but for an integer-range
 * partition its column itself, as dbt-bigquery does (`id in unnest(dbt_partitions_for_replacement)`):
 * only the stored rows whose value is among the new rows' are replaced, not the other rows of
 * their RANGE_BUCKET (re-selecting id 5 erased ids 0 to 9 of its bucket of 10).
 */
function replacedPartitionExpr(p: unknown): string | undefined {
  const e = partitionExpr(p);
  return e !== undefined && partitionForm(e)?.fn === 'RANGE_BUCKET' ? bigQueryDialect.quoteIdent(partitionForm(e)!.field) : e;
}

/**
 * A PARTITION BY expression of a form BigQuery takes (its DDL reference): the column itself,
 * `DATE(col)`, `TIMESTAMP_TRUNC` / `DATETIME_TRUNC` / `DATE_TRUNC(col, unit)`, or
 * `RANGE_BUCKET(col, GENERATE_ARRAY(start, end, interval))`, in any case, quoted or not. `fn` is
 * undefined for the column itself. Undefined for an expression of another form (the unit is
 * HOUR, DAY, MONTH or YEAR here; which units and column types each function takes is not checked).
 */
export function partitionForm(expr: string): { fn?: 'DATE' | 'TIMESTAMP_TRUNC' | 'DATETIME_TRUNC' | 'DATE_TRUNC' | 'RANGE_BUCKET'; field: string; unit?: string; range?: [bigint, bigint, bigint] } | undefined {
  const id = '`?([A-Za-z_][A-Za-z0-9_]*)`?';
  const e = expr.trim();
  let m: RegExpExecArray | null;
  if ((m = new RegExp(`^${id}$`).exec(e))) return { field: m[1] };
  if ((m = new RegExp(`^DATE\\s*\\(\\s*${id}\\s*\\)$`, 'i').exec(e))) return { fn: 'DATE', field: m[1] };
  if ((m = new RegExp(`^(DATE|DATETIME|TIMESTAMP)_TRUNC\\s*\\(\\s*${id}\\s*,\\s*(HOUR|DAY|MONTH|YEAR)\\s*\\)$`, 'i').exec(e))) return { fn: `${m[1].toUpperCase() as 'DATE' | 'DATETIME' | 'TIMESTAMP'}_TRUNC`, field: m[2], unit: m[3].toUpperCase() };
  m = new RegExp(`^RANGE_BUCKET\\s*\\(\\s*${id}\\s*,\\s*GENERATE_ARRAY\\s*\\(\\s*(-?\\d+)\\s*,\\s*(-?\\d+)\\s*,\\s*(-?\\d+)\\s*\\)\\s*\\)$`, 'i').exec(e);
  return m ? { fn: 'RANGE_BUCKET', field: m[1], range: [BigInt(m[2]), BigInt(m[3]), BigInt(m[4])] } : undefined;
}

/**
 * A table's partitioning as one comparable text: `time:<TYPE>:<field>` (no field: ingestion
 * time) or `range:<field>:<start>:<end>:<interval>`; '' for none. From a PARTITION BY expression
 * as partitionExpr writes it (and the forms BigQuery takes), or from tables.get's metadata.
 * Undefined for an expression of another form.
 */
export function partitionSpec(expr: string | undefined): string | undefined {
  if (!expr) return '';
  const f = partitionForm(expr);
  if (!f) return undefined;
  if (f.range) return `range:${f.field.toLowerCase()}:${f.range.join(':')}`;
  return `time:${f.unit ?? 'DAY'}:${/^_PARTITION(TIME|DATE)$/i.test(f.field) ? '' : f.field.toLowerCase()}`;
}

/** partitionSpec of a table's metadata (tables.get). */
function tablePartitionSpec(meta: Record<string, unknown>): string {
  const t = meta.timePartitioning as { type?: string; field?: string } | undefined;
  if (t) return `time:${(t.type ?? 'DAY').toUpperCase()}:${(t.field ?? '').toLowerCase()}`;
  const r = meta.rangePartitioning as { field?: string; range?: { start?: string; end?: string; interval?: string } } | undefined;
  if (r) return `range:${(r.field ?? '').toLowerCase()}:${BigInt(r.range?.start ?? 0)}:${BigInt(r.range?.end ?? 0)}:${BigInt(r.range?.interval ?? 0)}`;
  return '';
}

const str = (v: string) => bigQueryDialect.literal(v);

/** The label of an incremental table holding the digest of the masking it was built with (maskingDigest). */
const MASKING_LABEL = 'vigil_masking';

/** The temp table an incremental script materializes the new rows in (a multi-statement query's own: gone when it ends). */
const NEW_ROWS = 'vigil_new_rows';
/** A keyed merge script's variable: how many new rows have a NULL in their key (the script's result). */
const KEY_CHECK = 'vigil_null_keys';

/**
 * A keyed merge's key check, an expression over the script's temp table (`keys` quoted, `names`
 * as the config gives them): the count of the new rows whose key holds a NULL, or ERROR() when a
 * key is held by more than one new row, naming how many and one of them (mergeDuplicatesMessage,
 * the words DuckDB and Postgres fail with).
 */
function mergeKeyCheck(rel: string, keys: string[], names: string[], group: (k: string) => string = (k) => k, matchesNothing: (k: string) => string = (k) => `${k} IS NULL`): string {
  const dup = 'vigil_n > 1 AND NOT vigil_has_null';
  // (FORMAT's text: a '%' of the names doubled, then the two placeholders)
  const message = mergeDuplicatesMessage(rel, names, '\u0000n', '\u0000k', false).replace(/%/g, '%%').replace('\u0000n', '%d').replace('\u0000k', '%s');
  return `(SELECT IF(COUNTIF(${dup}) > 0, ERROR(FORMAT(${str(message)}, COUNTIF(${dup}), MIN(IF(${dup}, vigil_key, NULL)))), IFNULL(SUM(IF(vigil_has_null, vigil_n, 0)), 0)) FROM (SELECT COUNT(*) AS vigil_n, LOGICAL_OR(${keys.map(matchesNothing).join(' OR ')}) AS vigil_has_null, MIN(${keyText(keys)}) AS vigil_key FROM ${NEW_ROWS} GROUP BY ${keys.map(group).join(', ')}))`;
}

/**
 * A key as the messages print it (`keys`: expressions). FORMAT's %t, not CAST AS STRING: a BYTES
 * key — SHA256's, MD5's — is rarely UTF-8, and the CAST failed the script on every run, duplicates
 * or not; %t prints any type (a STRUCT as `(1, a)`), a string as it is. Within an aggregate's
 * GROUP BY it must be aggregated (MIN) unless grouped by.
 */
function keyText(keys: string[]): string {
  const part = (k: string) => `FORMAT('%t', ${k})`;
  return keys.length === 1 ? part(keys[0]) : `CONCAT('(', ${keys.map(part).join(", ', ', ")}, ')')`;
}

/**
 * What a unique_key column is grouped by: itself, or, for a STRUCT (a RECORD), which MERGE
 * compares with `=` but BigQuery cannot GROUP BY ("Grouping by expressions of type STRUCT is not
 * allowed"), its TO_JSON_STRING — the same text for equal STRUCTs, field by field. `types`: the
 * key columns' types as BigQuery names them (a table's schema, the analyzer's columns), by lower
 * case name; a column not in it is grouped by itself.
 */
export function keyGrouping(types: Record<string, string> | undefined): (expr: string, name: string) => string {
  return (expr, name) => (structKey(types, name) ? `TO_JSON_STRING(${expr})` : expr);
}

/** Whether the unique_key column `name` is a STRUCT (a RECORD) by `types` (keyGrouping's). */
function structKey(types: Record<string, string> | undefined, name: string): boolean {
  return /^(STRUCT|RECORD)\b/i.test(types?.[name.toLowerCase()] ?? '');
}

/**
 * The condition under which a key part `expr` equals nothing, so that its row matches no stored
 * row and is inserted again on every run (the NULL-key count): NULL, or, for a STRUCT, a NULL in
 * any field (BigQuery's `=` on it is NULL: `(expr = expr) IS NOT TRUE`), which its
 * TO_JSON_STRING grouping would otherwise take for a key like any other.
 */
function keyMatchesNothing(types: Record<string, string> | undefined): (expr: string, name: string) => string {
  return (expr, name) => (structKey(types, name) ? `(${expr} = ${expr}) IS NOT TRUE` : `${expr} IS NULL`);
}

/** The types keyGrouping takes, of a table's schema fields. */
function fieldTypes(fields: BqField[] | undefined): Record<string, string> {
  return Object.fromEntries((fields ?? []).map((f) => [f.name.toLowerCase(), f.mode === 'REPEATED' ? `ARRAY<${f.type}>` : f.type]));
}

/** A keyed merge script's variable: how many of the new rows' keys the table holds in more than one row, and one of them (the script's result). */
const STORED_DUPS = 'vigil_stored_dups';

/** BigQuery's type of a positional parameter (a NULL needs one too). */
function paramType(v: SqlParam): string {
  if (typeof v === 'boolean') return 'BOOL';
  if (typeof v === 'number') return Number.isInteger(v) ? 'INT64' : 'FLOAT64';
  return 'STRING';
}

/** A page of jobs.getQueryResults: rows as the REST API sends them (`{ f: [{ v }] }`). */
type RawRow = { f: Array<{ v: unknown }> };
type ResultsPage = { jobComplete?: boolean; schema?: { fields: BqField[] }; rows?: RawRow[]; pageToken?: string; numDmlAffectedRows?: string };

/**
 * A TIMESTAMP sent as µs since the epoch (formatOptions.useInt64Timestamp), as the client spells
 * its .value: '2026-01-02T03:04:05.123456000Z', '1969-12-31T23:59:59.500Z'. The whole seconds by
 * floor division (the client's precise-date counts a negative fraction from the wrong second).
 */
export function timestampText(micros: string): string {
  const us = BigInt(micros);
  const s = us / 1_000_000n - (us % 1_000_000n < 0n ? 1n : 0n);
  const frac = Number(us - s * 1_000_000n);
  const fraction = frac % 1000 ? `${String(frac).padStart(6, '0')}000` : String(frac / 1000).padStart(3, '0');
  return `${new Date(Number(s) * 1000).toISOString().slice(0, 19)}.${fraction}Z`;
}

const hasTimestamp = (fields: BqField[] = []): boolean => fields.some((f) => f.type === 'TIMESTAMP' || hasTimestamp(f.fields));

/** Each TIMESTAMP of a converted row (top level, in arrays, in structs) read again from the raw row's µs. */
function readTimestamps(fields: BqField[], raw: RawRow, row: Row): void {
  fields.forEach((f, i) => {
    const v = raw.f[i]?.v;
    const out = row[f.name];
    if (v === null || v === undefined || out === null || out === undefined) return;
    const one = (x: unknown, o: unknown) => {
      if (f.type === 'TIMESTAMP') (o as { value: string }).value = timestampText(x as string);
      else if (f.fields && (f.type === 'RECORD' || f.type === 'STRUCT')) readTimestamps(f.fields, x as RawRow, o as Row);
    };
    if (f.mode === 'REPEATED') (v as Array<{ v: unknown }>).forEach((x, k) => x.v !== null && one(x.v, (out as unknown[])[k]));
    else one(v, out);
  });
}

/**
 * INT64 as DuckDB's reader hands BIGINT: a number while it is exact, a bigint past 2^53 (ids from
 * FARM_FINGERPRINT, nanosecond counts). The client's default is Number(), which rounds silently.
 */
const INT64_EXACT = { integerTypeCastFunction: exactInteger };

export class BigQueryAdapter implements Adapter {
  readonly warehouse = warehouse;
  readonly type = 'bigquery';
  readonly dialect = bigQueryDialect;
  readonly maxConcurrency: number;
  private helpersReady?: Promise<void>;
  /** Told every time a statement's job is polled again or submitted again (one line, e.g. for the CLI to print). */
  onRetry?: (message: string) => void;
  /** Which credentials it uses, for people (`vigil debug`): never the secret itself. */
  credentials?: string;
  /** The query jobs submitted and not yet seen to end (cancelRunning). */
  private readonly running = new Set<string>();
  /** Waits and bounds of run()'s retries (tests shorten them). */
  retry: BigQueryRetryPolicy = { initialDelayMs: 1000, maxDelayMs: 32_000, maxInserts: 5, maxResubmits: 4 };

  constructor(
    readonly client: BigQuery,
    readonly cfg: BigQueryTargetConfig,
    threads = 4,
  ) {
    this.maxConcurrency = threads;
  }

  /**
   * Connect. The credentials are found first (resolveCredentials): with none usable this stops at
   * once with what was looked for and how to fix it. `targetName` names the target in messages.
   */
  static async open(cfg: BigQueryTargetConfig, threads = 4, client?: BigQuery, targetName = 'prod', root?: string): Promise<BigQueryAdapter> {
    if (client) return new BigQueryAdapter(client, cfg, threads);
    const source = await resolveCredentials(cfg.credentials, process.env, `targets.${targetName}.credentials`, root);
    const { BigQuery: Client } = await import('@google-cloud/bigquery');
    const options: Record<string, unknown> = { projectId: cfg.project, location: cfg.location };
    if (source.kind === 'key-json') options.credentials = source.credentials;
    else if (source.kind === 'key-file' || source.kind === 'adc-file') options.keyFilename = source.path;
    else if (source.kind === 'access-token') {
      // a plain access token (e.g. `gcloud auth print-access-token`)
      const { OAuth2Client } = await import('google-auth-library');
      const auth = new OAuth2Client();
      auth.setCredentials({ access_token: source.token, token_type: 'Bearer', expiry_date: Date.now() + 3600_000 });
      options.authClient = auth;
    }
    // an emulator or proxy endpoint
    if (process.env.VIGIL_BIGQUERY_API_ENDPOINT) options.apiEndpoint = process.env.VIGIL_BIGQUERY_API_ENDPOINT;
    const a = new BigQueryAdapter(new Client(options), cfg, threads);
    a.credentials = source.describe;
    return a;
  }

  private jobOptions(sql: string, dryRun: boolean, jobId?: string, params?: SqlParam[]): Record<string, unknown> {
    return {
      jobId,
      query: sql,
      ...(params?.length ? { params, types: params.map(paramType) } : {}),
      useLegacySql: false,
      location: this.cfg.location,
      labels: this.labels(),
      dryRun,
      maximumBytesBilled: this.cfg.maximum_bytes_billed ? String(this.cfg.maximum_bytes_billed) : undefined,
      jobTimeoutMs: this.cfg.timeout_ms,
      priority: this.cfg.priority === 'batch' ? 'BATCH' : 'INTERACTIVE',
    };
  }

  /** The labels of a job, or (with a model's own) of a table or view it creates: the target's, the model's, tool=vigil (a key they may not set). */
  private labels(model?: Record<string, string>): Record<string, string> {
    return { ...(this.cfg.labels ?? {}), ...(model ?? {}), [VIGIL_LABEL]: 'vigil' };
  }

  /**
   * Run a statement as a query job that runs AT MOST ONCE per submission, and submit it again only
   * when BigQuery says the previous job failed (a failed job changed nothing):
   * - one job id per submission, ours (`vigil_...`); the client retries jobs.insert with it on
   *   transport errors/429/5xx, and an insert that still fails is resolved by looking the id up
   *   (jobs.get): the job exists → wait for it; 404 → insert again under the same id (a 409 then
   *   means an earlier attempt got in: wait for that job);
   * - results are fetched by polling the SAME job (getQueryResults); when that fails, jobs.get tells
   *   whether the job failed, and transient failures are polled again with backoff, for at most
   *   `retry.pollPatienceMs`, then it gives up saying the statement may have completed;
   * - only a job DONE with a retryable errorResult (RETRYABLE) is submitted again, as a new job.
   */
  private run(sql: string, params?: SqlParam[]): Promise<{ rows: Row[]; job: Job }> {
    const partly = new WeakMap<object, string>();
    return this.resubmitting<{ rows: Row[]; job: Job }>(
      async (jobId) => {
        // (from before its insert: an insert whose answer is lost may have started it)
        this.running.add(jobId);
        let outcome: Awaited<ReturnType<BigQueryAdapter['waitFor']>>;
        try {
          const submitted = await this.submit(sql, params, jobId);
          outcome = 'failed' in submitted ? submitted : await this.waitFor(submitted.job, sql);
        } finally {
          this.running.delete(jobId);
        }
        if ('rows' in outcome) return { ok: { rows: outcome.rows, job: outcome.job } };
        if (RETRYABLE.has(reasonOf(outcome.failed)) && outcome.failed && typeof outcome.failed === 'object') {
          const ran = await this.scriptWrites(outcome.job, sql);
          if (ran) partly.set(outcome.failed, ran);
        }
        return { failed: outcome.failed };
      },
      (failed) => (RETRYABLE.has(reasonOf(failed)) && !partly.has(failed as object) ? `the job failed with ${reasonOf(failed)} (a failed job changes nothing), running the statement again as a new job` : undefined),
      (failed, jobId) => {
        const e = bqError(failed, sql, jobId);
        const ran = partly.get(failed as object);
        if (ran) e.message += `\n(${ran}: it was not run again, which would repeat them; check job ${jobId} in the console)`;
        return e;
      },
    );
  }

  /**
   * Why a failed job cannot run again as a new job although its reason is retryable: a
   * multi-statement script outside one transaction whose statements before the failing one wrote
   * data (its child jobs: an INSERT, UPDATE, DELETE or MERGE that succeeded), or whose children
   * cannot be listed (bigquery.jobs.list). Undefined when running it again repeats nothing: a single
   * statement, one transaction (rolled back as a whole), or only DDL and queries before the failure
   * (a temp table is gone with the script).
   */
  private async scriptWrites(job: Job, sql: string): Promise<string | undefined> {
    if (/^\s*BEGIN\s+TRANSACTION\s*;[\s\S]*\bCOMMIT(\s+TRANSACTION)?\s*;?\s*$/i.test(sql)) return undefined;
    type Stats = { numChildJobs?: string; query?: { statementType?: string; numDmlAffectedRows?: string } };
    const stats = (job.metadata as { statistics?: Stats } | undefined)?.statistics;
    let children: Job[];
    try {
      [children] = (await this.client.getJobs({ parentJobId: job.id, autoPaginate: true } as never)) as unknown as [Job[]];
    } catch {
      return Number(stats?.numChildJobs ?? 0) > 0 || stats?.query?.statementType === 'SCRIPT' ? 'a multi-statement script: its statements before the failing one may have taken effect (its child jobs could not be listed)' : undefined;
    }
    const wrote = (children ?? []).filter((c) => {
      const m = c.metadata as { status?: JobResource['status']; statistics?: Stats } | undefined;
      const type = m?.statistics?.query?.statementType ?? '';
      return m?.status?.state === 'DONE' && !m.status.errorResult && (['INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(type) || m.statistics?.query?.numDmlAffectedRows !== undefined);
    });
    if (!wrote.length) return undefined;
    const what = [...new Set(wrote.map((c) => (c.metadata as { statistics?: Stats }).statistics?.query?.statementType ?? 'DML'))].join(', ');
    return `a multi-statement script: ${wrote.length === 1 ? 'its' : `${wrote.length} of its`} ${what} statement${wrote.length === 1 ? '' : 's'} before the failing one took effect`;
  }

  /**
   * The adapter's one loop of new jobs: `once` submits a job under `jobId` and says how it ended;
   * while `again` gives a reason to run it again as a new job (a retryable failure), that is done
   * with backoff, up to `retry.maxResubmits` times; any other failure is thrown as `fail` makes it.
   */
  private async resubmitting<T>(once: (jobId: string) => Promise<{ ok: T } | { failed: unknown }>, again: (failed: unknown) => string | undefined, fail: (failed: unknown, jobId: string) => Error): Promise<T> {
    let delay = this.retry.initialDelayMs;
    for (let submission = 1; ; submission++) {
      // our own job id, so an error can always name the job a user can look up in the console
      const jobId = `vigil_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 10)}`;
      const outcome = await once(jobId);
      if ('ok' in outcome) return outcome.ok;
      const why = submission <= this.retry.maxResubmits ? again(outcome.failed) : undefined;
      if (why === undefined) throw fail(outcome.failed, jobId);
      this.retried(`retrying BigQuery job ${jobId}: ${why} in ${seconds(delay)}`);
      await sleep(delay);
      delay = Math.min(this.retry.maxDelayMs, delay * 2);
    }
  }

  private retried(message: string): void {
    try {
      this.onRetry?.(message);
    } catch {
      // a hook that throws must not change what happens to the statement
    }
  }

  /** The client's handle on job `jobId` (in the target's location), without a request. */
  private jobHandle(jobId: string, resource?: JobResource): Job {
    const job = this.client.job(jobId, { location: resource?.jobReference?.location ?? this.cfg.location });
    if (resource) job.metadata = resource;
    return job;
  }

  /** How long a job is polled while its results (or, for a load, its state) cannot be had: default max(5 min, timeout_ms). */
  private pollPatience(): number {
    return this.retry.pollPatienceMs ?? Math.max(300_000, this.cfg.timeout_ms ?? 0);
  }

  /**
   * jobs.get: the job's resource (also kept as job.metadata), `missing` on 404, undefined when it
   * could not be asked. Asked without a location, BigQuery finds only jobs in the US and EU
   * multi-regions (a job in a single region, e.g. asia-northeast1, is 404): a 404 then proves
   * nothing, and is undefined too.
   */
  private async lookup(job: Job): Promise<JobResource | 'missing' | undefined> {
    try {
      const [m] = await job.getMetadata();
      return m as JobResource;
    } catch (e) {
      return (e as ApiErrorLike).code === 404 && job.location ? 'missing' : undefined;
    }
  }

  /**
   * Where job `jobId` of statement `sql` is, when the answer that said so was lost: in the target's
   * location; without one, where BigQuery ran it — a query runs in the location of the datasets it
   * references (those named in `sql`, the target's dataset), else in the US or EU multi-region
   * (asked without a location). `missing`: every place asked said 404 (a guess without a target
   * location: safe for a resubmission under the same id, which a job elsewhere refuses with 409).
   */
  private async locate(jobId: string, sql: string): Promise<{ job?: Job; missing: boolean; asked: string }> {
    const places: Array<string | undefined> = this.cfg.location ? [this.cfg.location] : [...new Set((await Promise.all(this.datasetsNamed(sql).map((d) => this.datasetLocation(d)))).filter((l): l is string => !!l)), undefined];
    let missing = true;
    const asked = places.map((l) => l ?? 'US/EU').join(', ');
    for (const location of places) {
      const job = this.client.job(jobId, { location });
      try {
        const [m] = await job.getMetadata();
        job.metadata = m;
        return { job, missing: false, asked };
      } catch (e) {
        if ((e as ApiErrorLike).code !== 404) missing = false;
      }
    }
    return { missing, asked };
  }

  /** The datasets a statement names (`project`.`dataset`.`table`, `project.dataset.table`), the target's first. */
  private datasetsNamed(sql: string): Relation[] {
    const seen = new Map<string, Relation>([[`${this.cfg.project}:${this.cfg.dataset}`, { database: this.cfg.project, schema: this.cfg.dataset, identifier: '' }]]);
    for (const m of sql.matchAll(/`([\w.:-]+)`\.`(\w+)`\.`[^`]+`|`([\w.:-]+)\.(\w+)\.[^`.]+`/g)) {
      const database = m[1] ?? m[3];
      const schema = m[2] ?? m[4];
      if (!seen.has(`${database}:${schema}`) && seen.size < 8) seen.set(`${database}:${schema}`, { database, schema, identifier: '' });
    }
    return [...seen.values()];
  }

  /**
   * jobs.insert under `jobId` until BigQuery has the job (from whichever attempt got in), or the job
   * is refused. Never creates a second job: every attempt carries the same id.
   */
  private async submit(sql: string, params: SqlParam[] | undefined, jobId: string): Promise<{ job: Job } | { failed: unknown; job: Job }> {
    let delay = this.retry.initialDelayMs;
    for (let attempt = 1; ; attempt++) {
      let err: unknown;
      try {
        const [job] = await this.client.createQueryJob(this.jobOptions(sql, false, jobId, params));
        return { job };
      } catch (e) {
        err = e;
      }
      // a 200 answer whose job has status.errors: the client rejects it, the job is known
      const resource = jobResourceOf(err);
      if (resource) {
        const job = this.jobHandle(jobId, resource);
        if (resource.status?.state === 'DONE' && resource.status.errorResult) return { failed: jobFailure(resource.status, err), job };
        return { job }; // errors that did not fail the job (warnings): wait for it
      }
      // an earlier attempt under this id got in (its answer was lost; the client retried the insert)
      if ((err as ApiErrorLike).code === 409) {
        const at = await this.locate(jobId, sql);
        if (at.job || this.cfg.location) return { job: at.job ?? this.jobHandle(jobId) };
        const w = bqError(err, sql, jobId);
        w.message += `\n(BigQuery has job ${jobId}: the statement may have run, and was not run again; but the job is in none of the locations asked (${at.asked}), so its outcome is unknown. Set \`location:\` on the target to its datasets' location, and check the job in the console before running the statement again)`;
        throw w;
      }
      // refused outright (invalid, access denied, quota, not found): nothing ran
      if (!transient(err)) throw bqError(err, sql, jobId);
      // no answer, or a transient one, even after the client's own retries: did any attempt get in?
      const at = await this.locate(jobId, sql);
      if (at.job) return { job: at.job };
      const found = at.missing ? 'missing' : undefined;
      if (attempt >= this.retry.maxInserts) {
        const w = bqError(err, sql, jobId);
        w.message +=
          found === 'missing'
            ? `\n(jobs.insert failed ${attempt} times and the job does not exist: the statement did not run)`
            : `\n(jobs.insert failed ${attempt} times and the job could not be looked up: check job ${jobId} in the console before running the statement again)`;
        throw w;
      }
      this.retried(`retrying BigQuery job ${jobId}: jobs.insert failed (${brief(err)}) and the job ${found === 'missing' ? 'does not exist' : 'could not be looked up'}, submitting it again with the same job id in ${seconds(delay)}`);
      await sleep(delay);
      delay = Math.min(this.retry.maxDelayMs, delay * 2);
    }
  }

  /**
   * Wait for the job and fetch its rows, polling the SAME job; never submits anything. Resolves with
   * the rows (job.metadata then the DONE job when it could be read), or with the job's own error.
   */
  private async waitFor(job: Job, sql: string): Promise<{ rows: Row[]; job: Job } | { failed: unknown; job: Job }> {
    const patience = this.pollPatience();
    let delay = this.retry.initialDelayMs;
    // the first failure since BigQuery last answered: a job that runs for an hour may have its
    // fetch fail now and then, and is given up on only after `patience` without any answer
    let firstFailure: number | undefined;
    const answered = () => {
      firstFailure = undefined;
      delay = this.retry.initialDelayMs;
    };
    for (;;) {
      let err: unknown;
      try {
        const { rows, response } = await this.results(job, answered);
        await this.finalMetadata(job, response);
        return { rows, job };
      } catch (e) {
        err = e;
      }
      // did the job fail, or only the fetch of its results?
      const found = await this.lookup(job);
      const status = found && found !== 'missing' ? found.status : undefined;
      if (status?.state === 'DONE' && status.errorResult) return { failed: jobFailure(status, err), job };
      if (!transient(err)) {
        const w = bqError(err, sql, job.id);
        if (status?.state) w.message += `\n(the job is ${status.state}: the statement may have taken effect; it was not run again)`;
        throw w;
      }
      const now = Date.now();
      firstFailure ??= now;
      if (now - firstFailure + delay > patience) {
        throw new WarehouseError(
          `BigQuery job ${job.id}: its results could not be fetched for ${seconds(now - firstFailure)} (${brief(err)}); the job was ${status?.state ?? 'in an unknown state'} at the last look. ` +
            `The statement may have completed: it was NOT run again. Check job ${job.id} in the console before running it again.`,
          sql,
          { cause: err },
        );
      }
      this.retried(`retrying BigQuery job ${job.id}: results fetch failed (${brief(err)})${status?.state ? `, the job is ${status.state}` : ''}, polling again in ${seconds(delay)}`);
      await sleep(delay);
      delay = Math.min(this.retry.maxDelayMs, delay * 2);
    }
  }

  /**
   * The rows of a job's results, every page (jobs.getQueryResults as job.getQueryResults asks it:
   * TIMESTAMPs in µs), and the last answer. Converted by the client, but for TIMESTAMPs (see
   * timestampText): its conversion puts an instant before 1970 with a fraction of a second 1 s late.
   * `answered` is told of every answer (a `jobComplete: false` one included).
   */
  private async results(job: Job, answered?: () => void): Promise<{ rows: Row[]; response: ResultsPage }> {
    const { BigQuery: Client } = await import('@google-cloud/bigquery');
    const rows: Row[] = [];
    for (let pageToken: string | undefined; ; ) {
      const qs = { location: job.location, 'formatOptions.useInt64Timestamp': true, ...(pageToken ? { pageToken } : {}) };
      const page = await new Promise<ResultsPage>((resolve, reject) => this.client.request({ uri: `/queries/${job.id}`, qs }, (e, body) => (e ? reject(e) : resolve(body as ResultsPage))));
      answered?.();
      // (not done yet: the answer came after its wait, ask again)
      if (page.jobComplete === false) continue;
      if (page.schema && page.rows) {
        const got = Client.mergeSchemaWithRows_(page.schema, page.rows, { wrapIntegers: INT64_EXACT }) as Row[];
        if (hasTimestamp(page.schema.fields)) got.forEach((r, i) => readTimestamps(page.schema!.fields, page.rows![i], r));
        rows.push(...got);
      }
      if (!page.pageToken) return { rows, response: page };
      pageToken = page.pageToken;
    }
  }

  /**
   * job.metadata as the DONE job (its statistics: numDmlAffectedRows for executeCounted). jobs.insert
   * usually answers before the job is DONE; when jobs.get cannot be read now, the row count of the
   * results' answer is kept instead.
   */
  private async finalMetadata(job: Job, response: { numDmlAffectedRows?: string } | undefined): Promise<void> {
    if ((job.metadata as JobResource | undefined)?.status?.state === 'DONE') return;
    const found = await this.lookup(job);
    if (found && found !== 'missing' && found.status?.state === 'DONE') return;
    const m = (job.metadata ?? {}) as JobResource;
    if (response?.numDmlAffectedRows !== undefined) {
      job.metadata = { ...m, statistics: { ...m.statistics, query: { ...m.statistics?.query, numDmlAffectedRows: response.numDmlAffectedRows } } };
    }
  }

  async execute(sql: string, params?: SqlParam[]): Promise<void> {
    await this.run(sql, params);
  }

  /**
   * jobs.cancel for every query job this adapter is waiting for (a second Ctrl-C): a job runs on in
   * BigQuery when the process that started it exits, and a rerun beside it could write its rows a
   * second time. BigQuery cancels asynchronously, and a job may still complete: the ids are
   * returned to be named. A job whose cancel request fails is named with why.
   */
  async cancelRunning(): Promise<string[]> {
    return Promise.all(
      [...this.running].map(async (id) => {
        try {
          await this.jobHandle(id).cancel();
          return id;
        } catch (e) {
          return `${id} (the cancel request failed: ${brief(e)})`;
        }
      }),
    );
  }

  async query<T extends Row = Row>(sql: string, params?: SqlParam[]): Promise<T[]> {
    return (await this.run(sql, params)).rows as T[];
  }

  async preview(sql: string): Promise<Preview> {
    // it only reads: a dry run first says what the statement is, and anything but one SELECT (a
    // script, `select 1) s; delete from t; select (1`, a DML) is refused before it runs
    const { statementType } = await this.dryJob(sql);
    if (statementType && statementType !== 'SELECT') throw new WarehouseError(`the query is ${statementType === 'SCRIPT' ? "more than one statement (a ';' ends one)" : `a ${statementType} statement`}: a preview runs one SELECT and only reads, so nothing was run`, sql);
    const { rows } = await this.run(sql);
    // the client's wrappers as BigQuery spells them (jsonValue): DATE, DATETIME, TIME and TIMESTAMP
    // their text (a TIMESTAMP to the µs), NUMERIC and BIGNUMERIC their exact digits
    const out = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, jsonValue(v)])));
    const names = out.length ? Object.keys(out[0]) : [];
    return { columns: names.map((name) => ({ name, numeric: out.every((r) => r[name] === null || typeof r[name] === 'number' || r[name] instanceof ExactNumber) })), rows: out };
  }

  /**
   * A statement's DML row count (`numDmlAffectedRows`). A script (`DECLARE ...; MERGE ...`) has
   * none of its own: its child jobs, one per statement, carry theirs (summed). Undefined when the
   * children cannot be listed (the role lacks bigquery.jobs.list): the statement has run all the same.
   */
  async executeCounted(sql: string, params?: SqlParam[]): Promise<number | undefined> {
    return (await this.executeDml(sql, params)).affected;
  }

  /**
   * executeCounted's count, and what it is made of where BigQuery says so (`dmlStats`: a MERGE's
   * inserted, updated and deleted rows, summed over a script's children). numDmlAffectedRows is
   * their total: an insert_overwrite's MERGE that replaces 100 stored rows by 100 new ones
   * affects 200, which is not the rows it wrote.
   */
  private async executeDml(sql: string, params?: SqlParam[]): Promise<DmlCounts & { rows: Row[] }> {
    const { job, rows } = await this.run(sql, params);
    const stats = (job.metadata as { statistics?: DmlJobStats } | undefined)?.statistics;
    if (stats?.query?.numDmlAffectedRows !== undefined) return { ...dmlCounts([stats]), rows };
    // a statement's own count missing: a script's children have it, else it is not known (the
    // DONE job could not be read)
    if (!Number(stats?.numChildJobs ?? 0) && stats?.query?.statementType !== 'SCRIPT') return { affected: stats?.query?.statementType ? 0 : undefined, rows };
    try {
      const [children] = await this.client.getJobs({ parentJobId: job.id, autoPaginate: true } as never);
      return { ...dmlCounts((children as Job[]).map((c) => (c.metadata as { statistics?: DmlJobStats } | undefined)?.statistics)), rows };
    } catch {
      return { affected: undefined, rows };
    }
  }

  syncWriter(): SyncWriter {
    return new BigQuerySyncWriter(this);
  }

  /**
   * A CSV load job into `rel` (its dataset in the target project). Run again as a new job (run()'s
   * policy) only when the job certainly loaded nothing: it ended with a retryable reason, or the
   * upload got no answer or a transient one (503, 429) and BigQuery has no job under its id. A job
   * that exists is waited for (the upload's answer or a poll was lost, the job may run on): a second
   * job beside it could land after the loads that follow it (the sync's stage: one WRITE_TRUNCATE,
   * then appends) and undo them. A job that cannot be looked up is not run again.
   */
  async loadCsv(rel: Relation, fields: Array<{ name: string; type: string }>, file: string, writeDisposition: 'WRITE_TRUNCATE' | 'WRITE_APPEND', csv: { header?: boolean; delimiter?: string } = {}): Promise<number> {
    const table = this.client.dataset(rel.schema, { projectId: rel.database ?? this.cfg.project }).table(rel.identifier);
    // NUMERIC(10, 2) as a schema field has it: the type, its precision and scale
    const schema = fields.map((f) => {
      const m = /^(BIG)?NUMERIC\((\d+), ?(\d+)\)$/i.exec(f.type);
      return m ? { name: f.name, type: `${m[1] ? 'BIG' : ''}NUMERIC`, precision: m[2], scale: m[3] } : f;
    });
    return this.resubmitting<number>(
      async (jobId) => {
        try {
          const [job] = await table.load(file, {
            jobId,
            sourceFormat: 'CSV',
            ...(csv.header ? { skipLeadingRows: 1 } : {}),
            ...(csv.delimiter && csv.delimiter !== ',' ? { fieldDelimiter: csv.delimiter } : {}),
            schema: { fields: schema },
            writeDisposition,
            createDisposition: 'CREATE_IF_NEEDED',
            allowQuotedNewlines: true,
            location: this.cfg.location,
          } as never);
          return { ok: loadedRows(job) };
        } catch (e) {
          // (a DONE job's failure carries no HTTP status)
          if ((typeof (e as ApiErrorLike)?.code !== 'number' && RETRYABLE.has(reasonOf(e))) || !transient(e)) return { failed: e };
          // a load job runs where its destination dataset is: without a target location, asked there
          return this.settleLoad(jobId, e, this.cfg.location ?? (await this.datasetLocation(rel)));
        }
      },
      (failed) => {
        if (loadNeverRan.has(failed as object)) return `the upload failed (${brief(failed)}) and BigQuery has no job under its id: nothing was loaded, loading the file again as a new job`;
        const reason = reasonOf(failed);
        if (typeof (failed as ApiErrorLike)?.code !== 'number' && RETRYABLE.has(reason)) return `the load job failed with ${reason} (a failed job changes nothing), loading the file again as a new job`;
        return undefined;
      },
      (failed, jobId) => bqError(failed, `load ${file} into ${this.dialect.relation(rel)}`, jobId),
    );
  }

  /**
   * What became of load job `jobId` after its upload or a poll failed with `err`: its rows when it
   * is DONE, its failure, or (no such job: it never ran) `err` marked as safe to run again. A job
   * still running is polled for as long as it runs; one that cannot be looked up for run()'s
   * patience is `err` unmarked.
   */
  private async settleLoad(jobId: string, err: unknown, location: string | undefined): Promise<{ ok: number } | { failed: unknown }> {
    const handle = this.client.job(jobId, { location });
    const patience = this.pollPatience();
    // (since BigQuery last answered: a big load may run for longer than the patience)
    let t0 = Date.now();
    for (let delay = this.retry.initialDelayMs; ; delay = Math.min(this.retry.maxDelayMs, delay * 2)) {
      const found = await this.lookup(handle);
      if (found === 'missing') {
        loadNeverRan.add(err as object);
        return { failed: err };
      }
      if (found?.status?.state === 'DONE') return found.status.errorResult ? { failed: jobFailure(found.status, err) } : { ok: loadedRows(found) };
      if (found) t0 = Date.now();
      if (Date.now() - t0 + delay > patience) return { failed: err };
      this.retried(`BigQuery load job ${jobId}: ${brief(err)}; the job is ${found?.status?.state ?? 'in an unknown state'}, looking again in ${seconds(delay)}`);
      await sleep(delay);
    }
  }

  /** Datasets' locations known (`project:dataset`): a dataset does not move, so each is asked once. */
  private readonly locations = new Map<string, string>();

  /**
   * datasets.get: the location of `rel`'s dataset, once per dataset (grants ask it for every table
   * of a build); undefined when it cannot be asked (asked again next time).
   */
  private async datasetLocation(rel: Relation): Promise<string | undefined> {
    const key = `${rel.database ?? this.cfg.project}:${rel.schema}`;
    const known = this.locations.get(key);
    if (known) return known;
    try {
      const [m] = await this.client.dataset(rel.schema, { projectId: rel.database ?? this.cfg.project }).getMetadata();
      const location = (m as { location?: string }).location || undefined;
      if (location) this.locations.set(key, location);
      return location;
    } catch {
      return undefined;
    }
  }

  async loadTable(req: LoadRequest): Promise<number> {
    await this.ensureSchema(req.relation.schema);
    // BigQuery has no primary keys or indexes: a clustered table reads by the key quickly
    return this.loadCsv(req.relation, req.columns.map((c) => ({ name: c.name, type: loadColumnType(this.dialect, c) })), req.file, 'WRITE_TRUNCATE', req);
  }

  /**
   * The bytes a statement would process, what on-demand pricing would bill for them
   * (onDemandBytesBilled: rounded up to the MB, at least 10 MB per table it references), and, for a
   * query, the schema of its result (`statistics.query.schema`).
   */
  async dryRun(sql: string): Promise<{ bytesProcessed: number; bytesBilled: number; fields?: BqField[] }> {
    const { bytesProcessed, bytesBilled, fields } = await this.dryJob(sql);
    return fields ? { bytesProcessed, bytesBilled, fields } : { bytesProcessed, bytesBilled };
  }

  /** A dry run's answer: dryRun()'s, and the statement's type (`SELECT`, `SCRIPT`, `DELETE`...). */
  private async dryJob(sql: string): Promise<{ bytesProcessed: number; bytesBilled: number; fields?: BqField[]; statementType?: string }> {
    try {
      const [job] = await this.client.createQueryJob(this.jobOptions(sql, true));
      type Stats = { totalBytesProcessed?: string; query?: { schema?: { fields?: BqField[] }; statementType?: string; referencedTables?: Array<{ projectId?: string; datasetId?: string; tableId?: string }> } };
      const stats = (job.metadata as { statistics?: Stats })?.statistics;
      const bytesProcessed = Number(stats?.totalBytesProcessed ?? 0);
      const statementType = stats?.query?.statementType;
      const bytesBilled = onDemandBytesBilled({ bytesProcessed, referencedTables: countReferencedTables(stats?.query?.referencedTables), statementType });
      return { bytesProcessed, bytesBilled, fields: stats?.query?.schema?.fields, statementType };
    } catch (e) {
      throw bqError(e, sql);
    }
  }

  private table(rel: Relation) {
    return this.client.dataset(rel.schema, rel.database ? { projectId: rel.database } : undefined).table(rel.identifier);
  }

  private async metadata(rel: Relation): Promise<Record<string, unknown> | null> {
    try {
      const [m] = await this.table(rel).getMetadata();
      return m as Record<string, unknown>;
    } catch (e) {
      if ((e as { code?: number }).code === 404) return null;
      throw bqError(e, `tables.get ${rel.schema}.${rel.identifier}`);
    }
  }

  async relationExists(rel: Relation): Promise<'table' | 'view' | null> {
    const m = await this.metadata(rel);
    if (!m) return null;
    return isView(m) ? 'view' : 'table';
  }

  async tableComment(rel: Relation): Promise<string | null> {
    const d = (await this.metadata(rel))?.description;
    return typeof d === 'string' ? d : null;
  }

  async commentTable(rel: Relation, comment: string): Promise<void> {
    await this.execute(`ALTER TABLE ${this.dialect.relation(rel)} SET OPTIONS(description=${this.dialect.literal(comment)})`);
  }

  async columns(rel: Relation): Promise<Column[]> {
    const m = await this.metadata(rel);
    // as DDL spells them (INT64, STRUCT<...>, ARRAY<...>): the REST API's legacy names (INTEGER,
    // RECORD without its fields, a REPEATED mode apart) are no type an ALTER TABLE takes
    const fields = ((m?.schema as { fields?: BqField[] })?.fields ?? []);
    return fields.map((f) => ({ name: f.name, data_type: bigQueryDdlType(f) }));
  }

  async ensureSchema(schema: string): Promise<void> {
    try {
      await this.client.dataset(schema).get({ autoCreate: true, location: this.cfg.location } as never);
    } catch (e) {
      throw bqError(e, `datasets.insert ${schema}`);
    }
  }

  /** The `vigil_internal.median` UDF rolling_median calls, created once per run when a model needs it. */
  private helpers(sql: string): Promise<void> {
    if (!sql.includes('`vigil_internal`.median(')) return Promise.resolve();
    this.helpersReady ??= this.execute(bigQueryHelpersSql(this.cfg.project));
    return this.helpersReady;
  }

  /** The DDL for a view with its description and labels (pure). */
  viewDdl(rel: Relation, sql: string, req: Pick<MaterializeRequest, 'config' | 'description' | 'kind' | 'masking'>): string {
    return `CREATE OR REPLACE VIEW ${this.dialect.relation(rel)}\n${this.options(req, true)}\nAS\n${sql}`;
  }

  /** Everything a full build of the model runs, as one script (pure; golden-tested). */
  buildScript(req: MaterializeRequest): string {
    const kind = req.kind === 'view' ? 'VIEW' : 'TABLE';
    return this.script([
      req.kind === 'view' ? this.viewDdl(req.relation, req.sql, req) : this.tableDdl(req.relation, req.sql, req),
      this.columnDescriptions(req.relation, kind, req.columns),
    ]);
  }

  /**
   * A keyed merge's first build (or --full-refresh) stores its rows as the query gives them, as
   * dbt does: the last statement of its script counts the unique_key values the built table holds
   * in more than one row (`n`) and names one (`key`), for the run's warning. Grouped by each key
   * part's TO_JSON_STRING, which takes any type (a STRUCT too; the query's types are not known
   * before the table is built): a FLOAT64 key's -0 and 0 are two keys there. Undefined for any
   * other model.
   */
  builtKeyCheck(req: MaterializeRequest): string | undefined {
    if (req.kind !== 'incremental' || appends(req) || req.strategy === 'insert_overwrite' || !req.uniqueKey?.length) return undefined;
    const d = this.dialect;
    const keys = req.uniqueKey.map((k) => `T.${d.quoteIdent(k)}`);
    const where = [...keys.map((k) => `${k} IS NOT NULL`), ...[d.readFilter?.(req.config, 'T')].filter(Boolean)].join(' AND ');
    return `SELECT COUNT(*) AS n, MIN(vigil_key) AS key FROM (SELECT MIN(${keyText(keys)}) AS vigil_key FROM ${d.relation(req.relation)} AS T WHERE ${where} GROUP BY ${keys.map((k) => `TO_JSON_STRING(${k})`).join(', ')} HAVING COUNT(*) > 1)`;
  }

  /** The DDL for a table with its partitioning, clustering and options. */
  tableDdl(rel: Relation, sql: string, req: Pick<MaterializeRequest, 'config' | 'description' | 'kind' | 'masking'>): string {
    const c = req.config ?? {};
    const parts = [`CREATE OR REPLACE TABLE ${this.dialect.relation(rel)}`];
    const p = partitionExpr(c.partition_by);
    if (p) parts.push(`PARTITION BY ${p}`);
    const cluster = c.cluster_by ? (Array.isArray(c.cluster_by) ? c.cluster_by : [c.cluster_by]) : [];
    if (cluster.length) parts.push(`CLUSTER BY ${cluster.map((x) => this.dialect.quoteIdent(String(x))).join(', ')}`);
    parts.push(this.options(req));
    return `${parts.join('\n')}\nAS\n${sql}`;
  }

  private options(req: Pick<MaterializeRequest, 'config' | 'description' | 'kind' | 'masking'>, forView = false): string {
    const c = req.config ?? {};
    const o: string[] = [];
    if (req.description) o.push(`description=${str(req.description)}`);
    const masking: Record<string, string> = !forView && req.kind === 'incremental' && req.masking ? { [MASKING_LABEL]: maskingDigest(req.masking) } : {};
    o.push(labelsOption(this.labels({ ...(c.labels as Record<string, string> | undefined), ...masking })));
    if (!forView && typeof c.partition_expiration_days === 'number') o.push(`partition_expiration_days=${c.partition_expiration_days}`);
    if (!forView && c.require_partition_filter === true) o.push('require_partition_filter=true');
    return `OPTIONS(${o.join(', ')})`;
  }

  /** Column descriptions, as one ALTER statement (none when no column is described). */
  columnDescriptions(rel: Relation, kind: 'TABLE' | 'VIEW', cols: MaterializeRequest['columns']): string | undefined {
    const described = (cols ?? []).filter((c) => c.description);
    if (!described.length) return undefined;
    return `ALTER ${kind} ${this.dialect.relation(rel)} ${described.map((c) => `ALTER COLUMN ${this.dialect.quoteIdent(c.name)} SET OPTIONS(description=${str(c.description!)})`).join(', ')}`;
  }

  private script(statements: Array<string | undefined>): string {
    return statements.filter(Boolean).join(';\n');
  }

  /**
   * With maximum_bytes_billed set, the build's query is dry-run first and the build refused when
   * it is over (a view's DDL processes nothing: not refused). BigQuery itself holds every job of
   * the build to the same limit (jobOptions): this is the early, free refusal. With `schema` the
   * incremental query's dry run also gives its result schema (on_schema_change), returned.
   */
  private async guard(req: MaterializeRequest, incremental: boolean, schema: boolean): Promise<BqField[] | undefined> {
    const max = this.cfg.maximum_bytes_billed;
    if ((!max || req.kind === 'view') && !schema) return undefined;
    const sql = incremental ? (req.incrementalSql ?? req.sql) : req.sql;
    const { bytesProcessed, bytesBilled, fields } = await this.dryRun(sql);
    // BigQuery holds the limit against the bytes billed, with their minimums ("Query exceeded limit
    // for bytes billed: 1000000. 10485760 or higher required."): so is this refusal
    if (max && req.kind !== 'view' && bytesBilled > max) {
      const minimum = bytesBilled > bytesProcessed ? ` (${formatBytes(bytesProcessed)} processed; BigQuery bills at least 10 MiB for each table a query reads)` : '';
      throw new WarehouseError(`would bill ${formatBytes(bytesBilled)}${minimum}, over maximum_bytes_billed (${formatBytes(max)}); refused before running. Raise the limit in project.yaml or filter the model`, sql);
    }
    if (schema && !fields) throw new WarehouseError('the dry run of the incremental query returned no result schema, which on_schema_change needs', sql);
    return fields;
  }

  /**
   * What building `req` would process, for `vigil build --dry-run`: a view's DDL nothing (its
   * query's bytes are said apart: its readers pay them); a table its query; an incremental run
   * into an existing table every statement of its script, each dry-run on its own (BigQuery does
   * not dry-run a CREATE TEMP TABLE, nor a script past its first DDL): the query that fills the
   * temp table, then the DECLARE's query and the MERGE (or INSERT) with the variable's query in
   * its place. The temp table's size is not known before it exists: its reads are counted as the
   * query that fills it. A dry run cannot prune the target by a value not known yet: the merge's
   * partition filter is replaced by one that keeps every partition (which a
   * require_partition_filter table accepts), and an insert_overwrite's partitions are a subquery
   * of the new rows: such a script (the ones with a temp table) is counted at its upper bound
   * (`upperBound`). One without (an append's INSERT, a merge whose key lacks the partition column)
   * is dry-run as the build sends it: exact. Each statement's bytes are returned too (`statements`):
   * BigQuery holds each to maximum_bytes_billed on its own, and bills each on its own (`billed`,
   * onDemandBytesBilled; a CREATE VIEW bills nothing; an ALTER a run sends is not counted). The
   * write names the columns the build's does (writeColumns).
   */
  async estimate(req: MaterializeRequest): Promise<Estimate> {
    // (CREATE VIEW processes nothing: free)
    if (req.kind === 'view') return { bytesProcessed: 0, bytesBilled: 0, viewReads: (await this.dryRun(req.sql)).bytesProcessed };
    const existing = await this.metadata(req.relation);
    // (a CREATE TABLE ... AS SELECT is billed as its query)
    if (req.kind !== 'incremental' || !existing || isView(existing) || req.fullRefresh) {
      const { bytesProcessed, bytesBilled } = await this.dryRun(req.sql);
      return { bytesProcessed, bytesBilled };
    }
    const pf = partitionField(req.config?.partition_by);
    const keepAll = this.dialect.readFilter?.({ ...(req.config ?? {}), require_partition_filter: true }, 'T') ?? 'TRUE';
    const src = req.incrementalSql ?? req.sql;
    const policy = req.onSchemaChange ?? 'ignore';
    // the columns the build writes, decided as the build decides them (writeColumns): with
    // on_schema_change, from the query's result schema; its ALTER is DDL, which a dry run does not
    // apply, so the write is dry-run with the columns the table has now (the added ones left out)
    const query = policy !== 'ignore' ? await this.dryRun(src) : undefined;
    if (query && !query.fields) throw new WarehouseError('the dry run of the incremental query returned no result schema, which on_schema_change needs', src);
    const { columns, added } = this.writeColumns(req, ((existing.schema as { fields?: BqField[] })?.fields) ?? [], query?.fields, holdsRows(existing));
    const { rows, declares = [], write } = this.incrementalParts(req, columns.filter((c) => !added.some((f) => f.name === c)), [], fieldTypes((existing.schema as { fields?: BqField[] })?.fields));
    // the variables' queries in their place, then the model's SQL in the temp table's
    const inline = (sql: string) => declares.reduce((out, x) => out.replace(new RegExp(`\\b${x.name}\\b`, 'g'), () => x.expr), sql).replace(new RegExp(`\\b${NEW_ROWS}\\b`, 'g'), () => `(\n${src}\n)`);
    const statements: Array<{ what: string; bytes: number; billed: number }> = [];
    const counted = (what: string, r: { bytesProcessed: number; bytesBilled: number }) => statements.push({ what, bytes: r.bytesProcessed, billed: r.bytesBilled });
    // (a script's CREATE TEMP TABLE ... AS SELECT is billed as its query)
    if (rows) counted('the query filling its temp table', query ?? (await this.dryRun(src)));
    for (const x of declares) counted(x.what, await this.dryRun(`SELECT ${inline(x.expr)}`));
    counted(`its ${/^MERGE /.test(write) ? 'MERGE' : 'INSERT'}`, await this.dryRun(inline(pf ? write.replace(`T.${this.dialect.quoteIdent(pf)} >= vigil_min`, keepAll) : write)));
    // an upper bound where the script has a temp table: its reads are counted as the query filling
    // it, and what the run prunes by (vigil_min, an insert_overwrite's partitions) is not known yet
    return { bytesProcessed: statements.reduce((n, x) => n + x.bytes, 0), bytesBilled: statements.reduce((n, x) => n + x.billed, 0), upperBound: !!rows, statements };
  }

  /**
   * BigQuery has no transaction across jobs: each hook is its own job, before and after the
   * build's; transaction: false only orders them as on the other warehouses. `req.grants` are
   * applied after the build's post-hooks, before those with transaction: false.
   */
  async materialize(req: MaterializeRequest): Promise<MaterializeResult> {
    // an incremental table's label records the masking it was built with (set by its CREATE; a
    // digest: any change is refused), checked before a hook runs: nothing would undo one
    if (req.kind === 'incremental' && req.masking && !req.fullRefresh) {
      const existing = await this.metadata(req.relation);
      const recorded = existing && !isView(existing) ? (existing.labels as Record<string, string> | undefined)?.[MASKING_LABEL] : undefined;
      if (recorded && recorded !== maskingDigest(req.masking)) {
        const now = Object.entries(req.masking).map(([c, p]) => `${c} (policy: ${p})`).join(', ') || 'no column masked';
        throw new WarehouseError(`the masking of ${this.dialect.relation(req.relation)} changed since it was built (its label ${MASKING_LABEL} records other policies than the model's: ${now}); its stored rows keep the masking they were written with (an incremental run would mix both, and a unique_key on such a column would not match them): run with --full-refresh to rebuild it`, '');
      }
    }
    // an incremental run cannot change what BigQuery cannot alter in place (partitioning,
    // clustering): refused before a hook runs, naming the key and --full-refresh
    if (req.kind === 'incremental' && !req.fullRefresh) {
      const existing = await this.metadata(req.relation);
      if (existing && !isView(existing)) {
        const changed = layoutChange(req.config ?? {}, existing);
        if (changed) {
          const key = changed.key;
          const at = req.configAt?.[key];
          const where = at ? ` (${at.file}${at.line ? `:${at.line}${at.column ? `:${at.column}` : ''}` : ''})` : '';
          throw new WarehouseError(`${(req.config ?? {})[key] === undefined ? `the model's config has no ${key}` : `${key}${where} says ${changed.want}`}, but ${this.dialect.relation(req.relation)} is ${changed.have}: BigQuery cannot change a table's ${key === 'partition_by' ? 'partitioning' : 'clustering'} in place, and an incremental run would keep writing it as it is; nothing was run. Run with --full-refresh to rebuild it (vigil run -s <model> --full-refresh), or set ${key} back`, '');
        }
      }
    }
    const run = (sql: string) => this.execute(sql);
    // the hooks as they render with the build's is_incremental(): true when it writes into the existing table
    const existing = req.kind === 'incremental' && !req.fullRefresh ? await this.metadata(req.relation) : undefined;
    const hooks = hooksOfRun(req, !!existing && !isView(existing));
    return aroundTransaction(hooks, run, async (inside) => {
      const r = await withHooks(inside, run, () => this.build(req));
      // the grants after the build's post-hooks and before those with transaction: false, as dbt
      // applies them and as the Postgres build does (in its transaction): a failing after_commit
      // post-hook leaves the new relation with its configured readers
      // (grants_mode add without grants: nothing to grant, nothing revoked, nothing carried over here)
      if (!req.grants || (req.grants.mode === 'add' && !req.grants.select.length)) return r;
      return { ...r, grants: await applyGrants(this, req.relation, req.kind === 'view' ? 'view' : 'table', req.grants.select, req.grants.mode) };
    });
  }

  private async build(req: MaterializeRequest): Promise<MaterializeResult> {
    const d = this.dialect;
    const rel = d.relation(req.relation);
    await this.helpers(req.incrementalSql ?? req.sql);
    const existing = await this.metadata(req.relation);
    const existingView = !!existing && isView(existing);
    const incremental = req.kind === 'incremental' && existing && !existingView && !req.fullRefresh;
    const policy = req.onSchemaChange ?? 'ignore';
    // on_schema_change other than ignore compares the query's schema (from its dry run) with the table's
    const incoming = await this.guard(req, !!incremental, !!incremental && policy !== 'ignore');
    if (req.kind === 'view') {
      await this.execute(this.script([existing && !existingView ? `DROP TABLE IF EXISTS ${rel}` : undefined, this.viewDdl(req.relation, req.sql, req), this.columnDescriptions(req.relation, 'VIEW', req.columns)]));
      return { message: 'created view' };
    }
    const c = req.config ?? {};
    if (!incremental) {
      // CREATE OR REPLACE cannot change a table's partitioning (column, granularity, integer
      // range) or clustering: drop it first
      const changed = !!existing && !existingView && !!layoutChange(c, existing);
      const check = this.builtKeyCheck(req);
      const { rows } = await this.run(
        this.script([
          existingView ? `DROP VIEW IF EXISTS ${rel}` : changed ? `DROP TABLE IF EXISTS ${rel}` : undefined,
          this.tableDdl(req.relation, req.sql, req),
          this.columnDescriptions(req.relation, 'TABLE', req.columns),
          check,
        ]),
      );
      // (a merge's: how many keys the built table holds in more than one row, the script's result)
      const built = check ? duplicatesWarning(rows[0] as { n: unknown; key: unknown } | undefined, (n, key) => builtDuplicatesWarning(rel, req.uniqueKey!, n, key)) : undefined;
      return { message: `${changed ? 'recreated' : 'created'} ${req.kind === 'incremental' ? 'incremental table' : 'table'}`, ...joinWarnings(built) };
    }
    const { columns, added } = this.writeColumns(req, ((existing!.schema as { fields?: BqField[] })?.fields) ?? [], incoming, holdsRows(existing!));
    // the options the config now gives (description, labels, partition expiration, the partition
    // filter requirement, column descriptions), set on the table before the write: a
    // require_partition_filter Vigil's own reads add their filter for (readFilter follows the
    // config) is then the table's too
    const options = this.optionChanges(req, existing!);
    for (const sql of options.statements) await this.execute(sql);
    const dml = await this.executeDml(this.incrementalStatement(req, columns, added, fieldTypes((existing!.schema as { fields?: BqField[] })?.fields)));
    const written = this.written(req, dml);
    const setting = options.changed.length ? `set ${options.changed.join(', ')} as the config now says, then ` : '';
    const adding = added.length ? `added column${added.length > 1 ? 's' : ''} ${added.map((f) => f.name).join(', ')} and ` : '';
    // (a keyed merge's script ends with the count of its new rows whose key holds a NULL)
    // (and how many of their keys the table held in more than one row, replaced by one: said too)
    const nullKeys = Number(dml.rows?.[0]?.[KEY_CHECK] ?? 0);
    const stored = duplicatesWarning({ n: dml.rows?.[0]?.[STORED_DUPS], key: dml.rows?.[0]?.vigil_stored_dup_key }, (n, key) => storedDuplicatesWarning(rel, req.uniqueKey ?? [], n, key));
    return { message: `${setting}${adding}${written.message}`, rows: written.rows, ...joinWarnings(nullKeys ? nullKeyWarning(nullKeys, req.uniqueKey ?? []) : undefined, stored) };
  }

  /**
   * What an incremental run wrote, as DuckDB and Postgres say it (incrementalMessage): the new
   * rows written (an insert_overwrite's inserted ones, a merge's inserted and updated ones), and
   * the stored rows they replaced. Without dmlStats only the statement's total is known: an
   * insert_overwrite's counts its deleted rows too, and says so.
   */
  private written(req: MaterializeRequest, n: DmlCounts): { message: string; rows: number | undefined } {
    if (n.inserted === undefined) {
      const overwrite = req.strategy === 'insert_overwrite' && n.affected !== undefined;
      return { message: overwrite ? `deleted and inserted ${n.affected} rows (together) in` : `${this.verb(req)} ${n.affected ?? 'an unknown number of'} rows into`, rows: overwrite ? undefined : n.affected };
    }
    if (appends(req)) return { message: `inserted ${n.inserted} rows into`, rows: n.inserted };
    if (req.strategy === 'insert_overwrite') return { message: `overwrote the new rows' partitions with ${n.inserted} rows (${n.deleted ?? 0} deleted) in`, rows: n.inserted };
    // (a key the table held twice: its stored rows deleted, its new row inserted, as DuckDB and Postgres count it)
    const rows = n.inserted + (n.updated ?? 0);
    const replaced = (n.updated ?? 0) + (n.deleted ?? 0);
    return { message: replaced ? `merged ${rows} rows (replacing ${replaced}) into` : `merged ${rows} rows into`, rows };
  }

  /**
   * What an incremental run changes in an existing table's options so that they are the config's
   * (a full build sets them in its CREATE): the ALTER statements and what they change, for the
   * progress line. The masking label is the table's own (it records what the rows were written
   * with): kept as it is.
   */
  optionChanges(req: MaterializeRequest, existing: Record<string, unknown>): { statements: string[]; changed: string[] } {
    const c = req.config ?? {};
    const rel = this.dialect.relation(req.relation);
    const set: string[] = [];
    const changed: string[] = [];
    const haveDescription = typeof existing.description === 'string' ? existing.description : '';
    if ((req.description ?? '') !== haveDescription) {
      set.push(`description=${req.description ? str(req.description) : 'NULL'}`);
      changed.push('description');
    }
    const haveLabels = (existing.labels ?? {}) as Record<string, string>;
    const masking: Record<string, string> = haveLabels[MASKING_LABEL] !== undefined ? { [MASKING_LABEL]: haveLabels[MASKING_LABEL] } : {};
    const wantLabels = this.labels({ ...(c.labels as Record<string, string> | undefined), ...masking });
    const sorted = (o: Record<string, string>) => JSON.stringify(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (sorted(wantLabels) !== sorted(haveLabels)) {
      set.push(labelsOption(wantLabels));
      changed.push('labels');
    }
    const time = existing.timePartitioning as { expirationMs?: string; requirePartitionFilter?: boolean } | undefined;
    const days = typeof c.partition_expiration_days === 'number' ? c.partition_expiration_days : undefined;
    const haveMs = time?.expirationMs !== undefined ? Number(time.expirationMs) : undefined;
    // only when the config gives one: a table without it in its config takes its dataset's default
    // partition expiration when it is created (defaultPartitionExpirationMs), which an incremental
    // run must not clear
    if (days !== undefined && Math.round(days * 86_400_000) !== haveMs) {
      set.push(`partition_expiration_days=${days}`);
      changed.push(`partition_expiration_days ${days}`);
    }
    const wantFilter = c.require_partition_filter === true;
    const haveFilter = existing.requirePartitionFilter === true || time?.requirePartitionFilter === true;
    if (wantFilter !== haveFilter) {
      set.push(`require_partition_filter=${wantFilter}`);
      changed.push(`require_partition_filter ${wantFilter}`);
    }
    const statements = set.length ? [`ALTER TABLE ${rel} SET OPTIONS(${set.join(', ')})`] : [];
    // column descriptions, of the columns the table has
    const fields = ((existing.schema as { fields?: Array<BqField & { description?: string }> })?.fields) ?? [];
    const described = (req.columns ?? []).filter((col) => {
      const f = fields.find((x) => x.name.toLowerCase() === col.name.toLowerCase());
      return f && col.description && col.description !== (f.description ?? '');
    });
    const columns = this.columnDescriptions(req.relation, 'TABLE', described);
    if (columns) {
      statements.push(columns);
      changed.push(`the description of ${described.map((x) => x.name).join(', ')}`);
    }
    return { statements, changed };
  }

  /**
   * The columns an incremental run writes into the existing table (`table`: its schema) and those
   * it adds first, for the build and its dry run alike. `incoming`: the query's result schema
   * (from its dry run) when on_schema_change is not ignore; without it, the table's columns.
   * Throws what on_schema_change refuses (fail: any difference; append_new_columns: a column
   * insert_overwrite would erase, or a key column it would add to a table that `holdsRows`).
   */
  private writeColumns(req: MaterializeRequest, table: BqField[], incoming: BqField[] | undefined, holdsRows = true): { columns: string[]; added: BqField[] } {
    if (!incoming) return { columns: table.map((f) => f.name), added: [] };
    const rel = this.dialect.relation(req.relation);
    const policy = req.onSchemaChange ?? 'ignore';
    // BigQuery's column names are case-insensitive: the query's columns in the table's spelling
    const spelled = new Map(table.map((f) => [f.name.toLowerCase(), f.name]));
    const query = incoming.map((f) => ({ ...f, name: spelled.get(f.name.toLowerCase()) ?? f.name }));
    if (policy === 'fail') {
      // types without their parameters (NUMERIC(10, 2), STRING(20)): a query's result schema has none
      const bare = (f: BqField): BqField => ({ ...f, precision: undefined, scale: undefined, maxLength: undefined, fields: f.fields?.map(bare) });
      const typed = (fs: BqField[]) => fs.map((f) => ({ name: f.name, type: bigQueryDdlType(bare(f)) }));
      const failure = schemaChangeFailure(rel, typed(table), typed(query));
      if (failure) throw new WarehouseError(failure, '');
    }
    // append_new_columns: ALTER TABLE adds what the table lacks (in the same script, before the write);
    // a column the query no longer selects is left out of the write (NULL in new rows; a merge
    // keeps stored rows' values), refused where insert_overwrite would erase it (ignore names the
    // table's columns: BigQuery itself refuses a query that lacks one)
    if (policy === 'append_new_columns') {
      const now = new Set(query.map((f) => f.name.toLowerCase()));
      const gone = droppedColumnsFailure(rel, table.filter((f) => !now.has(f.name.toLowerCase())).map((f) => f.name), policy, req.strategy === 'insert_overwrite');
      if (gone) throw new WarehouseError(gone, '');
      // (a key column added to a table that holds rows: NULL in each, the MERGE would match none of them)
      const field = req.strategy === 'insert_overwrite' ? partitionField(req.config?.partition_by) : undefined;
      const replace = appends(req) ? undefined : field ? { partition: { field } } : req.strategy === 'insert_overwrite' ? undefined : { keys: req.uniqueKey! };
      const fresh = holdsRows ? newReplaceColumnFailure(rel, query.filter((f) => !spelled.has(f.name.toLowerCase())).map((f) => f.name), replace) : undefined;
      if (fresh) throw new WarehouseError(fresh, '');
    }
    return { columns: query.map((f) => f.name), added: query.filter((f) => !spelled.has(f.name.toLowerCase())) };
  }

  /** What an incremental run did, as its message says it: an append inserts, the others merge. */
  private verb(req: MaterializeRequest): string {
    return appends(req) ? 'inserted' : 'merged';
  }

  /**
   * The statement an incremental run executes against an existing table with `columns` (pure).
   * When the script needs the new rows twice (the partitions to replace, or the lowest partition
   * value to prune by, then the write), the model's SQL runs once, into the script's temp table
   * (NEW_ROWS), and both read it: two evaluations would each see their own CURRENT_TIMESTAMP()
   * and the data committed by then, so a partition could be replaced by rows it did not compute,
   * or a row landing in between be written twice (dbt-bigquery does the same). BigQuery wants a
   * script's DECLAREs first: the rest is a BEGIN ... END block, whose DECLAREs may follow the
   * temp table. insert_overwrite merges only when the new rows have a partition to replace; else
   * (no new rows, or only rows with a NULL partition value) it inserts, reading none of the
   * table's partitions (a MERGE would, which a require_partition_filter table refuses).
   */
  incrementalStatement(req: MaterializeRequest, columns: string[], added: BqField[] = [], types?: Record<string, string>): string {
    const { rows, declares, alter, write, heal, tail } = this.incrementalParts(req, columns, added, types);
    const last = req.strategy === 'insert_overwrite' ? `IF IFNULL(ARRAY_LENGTH(vigil_partitions), 0) > 0 THEN\n${write};\nELSE\n${this.insertStatement(req, columns, NEW_ROWS)};\nEND IF` : heal ? `IF ${STORED_DUPS}.n > 0 THEN\n${heal};\nELSE\n${write};\nEND IF` : write;
    const body = this.script([...(declares ?? []).map((x) => `DECLARE ${x.name} DEFAULT ${x.expr}`), alter, last, tail]);
    return rows ? `${rows};\nBEGIN\n${body};\nEND` : body;
  }

  /** The new rows inserted as they are, from the model's SQL or from `from` (the temp table). */
  private insertStatement(req: MaterializeRequest, columns: string[], from?: string): string {
    const cols = columns.map((x) => this.dialect.quoteIdent(x)).join(', ');
    return `INSERT INTO ${this.dialect.relation(req.relation)} (${cols})\nSELECT ${cols} FROM ${from ?? `(\n${req.incrementalSql ?? req.sql}\n)`}`;
  }

  /**
   * incrementalStatement's parts: `rows`, the CREATE TEMP TABLE of the new rows (when the script
   * reads them twice); the variable computed from them; the ALTER adding columns; the write (an
   * insert_overwrite's MERGE without its IF).
   */
  private incrementalParts(req: MaterializeRequest, columns: string[], added: BqField[] = [], types?: Record<string, string>): { rows?: string; declares?: Array<{ name: string; expr: string; what: string }>; alter?: string; write: string; heal?: string; tail?: string } {
    const d = this.dialect;
    const rel = d.relation(req.relation);
    const c = req.config ?? {};
    const src = req.incrementalSql ?? req.sql;
    const cols = columns.map((x) => d.quoteIdent(x));
    const rows = `CREATE TEMP TABLE ${NEW_ROWS} AS (\n${src}\n)`;
    // after the script's DECLAREs (BigQuery wants them first), before the write
    const alter = added.length ? `ALTER TABLE ${rel} ${added.map((f) => `ADD COLUMN IF NOT EXISTS ${d.quoteIdent(f.name)} ${bigQueryDdlType(f)}`).join(', ')}` : undefined;
    if (appends(req)) return { alter, write: this.insertStatement(req, columns) };
    if (req.strategy === 'insert_overwrite') {
      const p = replacedPartitionExpr(c.partition_by);
      if (!p) throw new WarehouseError(`incremental_strategy insert_overwrite needs partition_by on ${rel}`, '');
      const pt = p.replace(/`([^`]+)`/g, 'T.`$1`');
      // replace exactly the partitions the new rows touch, in one statement; a NULL partition
      // value is no partition to replace (and BigQuery refuses an array holding NULL): its rows
      // are inserted, and the table's rows with one are kept
      return {
        rows,
        declares: [{ name: 'vigil_partitions', expr: `(SELECT ARRAY_AGG(DISTINCT ${p} IGNORE NULLS) FROM ${NEW_ROWS})`, what: 'its DECLARE' }],
        alter,
        write: `MERGE ${rel} AS T\nUSING ${NEW_ROWS} AS S\nON FALSE\nWHEN NOT MATCHED BY SOURCE AND ${pt} IN UNNEST(vigil_partitions) THEN DELETE\nWHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((x) => `S.${x}`).join(', ')})`,
      };
    }
    const pf = partitionField(c.partition_by);
    // The target's partitions are pruned to those the new rows reach only when the key holds
    // the partition column: a stored row with the same key then has the same partition value.
    // Otherwise a row stored in an older partition would not match and its key be inserted
    // twice; a require_partition_filter table gets a filter that keeps every row instead.
    const keyed = !!pf && req.uniqueKey!.some((k) => k.toLowerCase() === pf.toLowerCase());
    // (the stored rows `alias` of the table matching the new rows S: the key, and the pruning or the filter keeping every row)
    const matching = (alias: string, source = 'S') => {
      const keepAll = keyed ? undefined : d.readFilter?.(c, alias);
      return [...req.uniqueKey!.map((k) => `${alias}.${d.quoteIdent(k)} = ${source}.${d.quoteIdent(k)}`), ...(keyed ? [`${alias}.${d.quoteIdent(pf)} >= vigil_min`] : keepAll ? [keepAll] : [])].join(' AND ');
    };
    const on = matching('T');
    const whens = `WHEN MATCHED THEN UPDATE SET ${cols.map((x) => `${x} = S.${x}`).join(', ')}\nWHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((x) => `S.${x}`).join(', ')})`;
    const write = `MERGE ${rel} AS T\nUSING ${NEW_ROWS} AS S\nON ${on}\n${whens}`;
    // A key the table holds in more than one row (from a first build, an append, delete+insert,
    // another tool): a MERGE would update every one and keep them all; DuckDB and Postgres replace
    // them by the one new row. So does the script, only when there is such a key (the plain MERGE
    // otherwise): the new rows of such keys come twice, once matching (the stored rows deleted),
    // once matching nothing (inserted) — one statement, nothing lost if it fails. (Inside the
    // correlated subquery the table's columns are in scope: a column named s or t would hide a
    // one-letter alias, hence vigil_ ones.)
    const heal = `MERGE ${rel} AS T\nUSING (SELECT vigil_s.*, vigil_copy FROM (SELECT vigil_s.*, (SELECT COUNT(*) FROM ${rel} AS vigil_t WHERE ${matching('vigil_t', 'vigil_s')}) > 1 AS vigil_dup FROM ${NEW_ROWS} AS vigil_s) AS vigil_s, UNNEST(IF(vigil_s.vigil_dup, [0, 1], [0])) AS vigil_copy) AS S\nON ${on} AND S.vigil_copy = 0\nWHEN MATCHED AND S.vigil_dup THEN DELETE\n${whens}`;
    // The new rows are read twice, from the script's temp table: by the key check, then by the
    // MERGE. The check fails the script before anything is written when a key is held by more than
    // one new row (as on DuckDB and Postgres: the MERGE would fail on a stored one, and insert a new
    // one twice, failing the next run), and counts the rows whose key holds a NULL: they match
    // nothing and are inserted again on every run, which the script's result (its last SELECT)
    // brings back for the run's warning.
    const group = keyGrouping(types);
    const keys = req.uniqueKey!.map((k) => d.quoteIdent(k));
    const nothing = keyMatchesNothing(types);
    const keyCheck = { name: KEY_CHECK, expr: mergeKeyCheck(rel, keys, req.uniqueKey!, (k) => group(k, req.uniqueKey![keys.indexOf(k)]), (k) => nothing(k, req.uniqueKey![keys.indexOf(k)])), what: 'its key check' };
    const min = keyed ? [{ name: 'vigil_min', expr: `(SELECT MIN(${d.quoteIdent(pf)}) FROM ${NEW_ROWS})`, what: 'its DECLARE' }] : [];
    // (after the key check: each key once among the new rows, so a key's join rows are its stored rows)
    const stored = { name: STORED_DUPS, expr: `(SELECT AS STRUCT COUNT(*) AS n, MIN(vigil_key) AS key FROM (SELECT MIN(${keyText(keys.map((k) => `T.${k}`))}) AS vigil_key FROM ${rel} AS T JOIN ${NEW_ROWS} AS S ON ${on} GROUP BY ${keys.map((k, i) => group(`T.${k}`, req.uniqueKey![i])).join(', ')} HAVING COUNT(*) > 1))`, what: 'its search for keys the table holds twice' };
    return { rows, declares: [keyCheck, ...min, stored], alter, write, heal, tail: `SELECT ${KEY_CHECK} AS ${KEY_CHECK}, ${STORED_DUPS}.n AS ${STORED_DUPS}, ${STORED_DUPS}.key AS vigil_stored_dup_key` };
  }

  /**
   * IAM members holding roles/bigquery.dataViewer on `rel` itself (not inherited from the dataset or
   * project): the OBJECT_PRIVILEGES of its project and region (without a target location, its
   * dataset's: asked in the US, a dataset in asia-northeast1 had no grantees, and every build granted again).
   */
  async currentGrantees(rel: Relation): Promise<string[]> {
    const location = this.cfg.location ?? (await this.datasetLocation(rel));
    const rows = await this.query<{ grantee: string }>(grantedSql(rel.database ?? this.cfg.project, location), [rel.schema, rel.identifier]);
    return rows.map((r) => String(r.grantee));
  }

  async close(): Promise<void> {
    // the client holds no sockets between requests
  }
}

/**
 * The first of a table's partitioning and clustering that the config `c` changes (neither can be
 * altered in place: a build drops the table first, an incremental run refuses), as the config
 * and the table say it; undefined when both are the same. An expression of another form than
 * partitionSpec knows: its column alone is compared; clustering columns case-insensitively, as
 * BigQuery compares column names.
 */
function layoutChange(c: Record<string, unknown>, existing: Record<string, unknown>): { key: 'partition_by' | 'cluster_by'; want: string; have: string } | undefined {
  const wantSpec = partitionSpec(partitionExpr(c.partition_by));
  const haveSpec = tablePartitionSpec(existing);
  const haveField = haveSpec.split(':')[haveSpec.startsWith('range:') ? 1 : 2] ?? '';
  const partChanged = wantSpec !== undefined ? wantSpec !== haveSpec : (partitionField(c.partition_by) ?? '').toLowerCase() !== haveField;
  if (partChanged) {
    const t = existing.timePartitioning as { type?: string; field?: string } | undefined;
    const r = existing.rangePartitioning as { field?: string; range?: { start?: string; end?: string; interval?: string } } | undefined;
    const have = t ? `partitioned by ${(t.type ?? 'DAY').toUpperCase()} of ${t.field ?? 'ingestion time'}` : r ? `partitioned by RANGE_BUCKET(${r.field}, GENERATE_ARRAY(${r.range?.start}, ${r.range?.end}, ${r.range?.interval}))` : 'not partitioned';
    return { key: 'partition_by', want: partitionExpr(c.partition_by) !== undefined ? `PARTITION BY ${partitionExpr(c.partition_by)}` : 'no partitioning', have };
  }
  const wantCluster = (c.cluster_by ? (Array.isArray(c.cluster_by) ? c.cluster_by : [c.cluster_by]) : []).map((x) => String(x).toLowerCase());
  const haveCluster = ((existing.clustering as { fields?: string[] } | undefined)?.fields ?? []).map((x) => x.toLowerCase());
  if (JSON.stringify(wantCluster) !== JSON.stringify(haveCluster)) return { key: 'cluster_by', want: wantCluster.length ? `CLUSTER BY ${wantCluster.join(', ')}` : 'no clustering', have: haveCluster.length ? `clustered by ${haveCluster.join(', ')}` : 'not clustered' };
  return undefined;
}

/** A table's or view's labels as an OPTIONS item (CREATE and ALTER ... SET OPTIONS alike). */
function labelsOption(labels: Record<string, string>): string {
  return `labels=[${Object.entries(labels).map(([k, v]) => `(${str(k)}, ${str(v)})`).join(', ')}]`;
}

/** Whether a table's metadata (tables.get) is a view's. */
function isView(m: Record<string, unknown>): boolean {
  return m.type === 'VIEW' || m.type === 'MATERIALIZED_VIEW';
}

/** Whether a table's metadata (tables.get) says it holds rows (or rows still in its streaming buffer); unknown: it does. */
function holdsRows(m: Record<string, unknown>): boolean {
  return m.numRows === undefined || Number(m.numRows) > 0 || !!m.streamingBuffer;
}

/** An incremental run that only inserts: append, or a merge without a key (insert_overwrite replaces partitions). */
function appends(req: MaterializeRequest): boolean {
  return (req.strategy ?? (req.uniqueKey?.length ? 'merge' : 'append')) === 'append' || (!req.uniqueKey?.length && req.strategy !== 'insert_overwrite');
}

/** The query listing who holds roles/bigquery.dataViewer on a table or view (INFORMATION_SCHEMA.OBJECT_PRIVILEGES of the region). */
export function grantedSql(project: string | undefined, location: string | undefined): string {
  const region = `region-${(location ?? 'US').toLowerCase()}`;
  const from = [project, region].filter((p): p is string => !!p).map((p) => `\`${p}\``).join('.');
  return `SELECT grantee FROM ${from}.INFORMATION_SCHEMA.OBJECT_PRIVILEGES WHERE object_schema = ? AND object_name = ? AND privilege_type = 'roles/bigquery.dataViewer'`;
}
