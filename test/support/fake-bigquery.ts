/**
 * Test support: a fake BigQuery REST API v2 on 127.0.0.1, for driving the REAL
 * `@google-cloud/bigquery` 8.3 client (and the Vigil BigQuery adapter) with no network.
 *
 * Owns `startFakeBigQuery()` (node:http server on a random free loopback port, recording every
 * request), `fakeBigQueryClient()` (a real `BigQuery` pointed at it with a static bearer token)
 * and `blockNonLoopbackConnections()` (a guard that makes any TCP connect off 127.0.0.1 fail at
 * once instead of hanging). Tests: test/support/fake-bigquery.test.ts.
 *
 * Endpoints, as the 8.3 client calls them (base `${apiEndpoint}/bigquery/v2`):
 * - `createQueryJob(opts)` → `POST /projects/{p}/jobs` (jobs.insert). Body: `{ configuration:
 *   { query: { query, useLegacySql, priority?, maximumBytesBilled?, ... }, dryRun?, labels?,
 *   jobTimeoutMs? (stringified) }, jobReference: { projectId, jobId (client-side UUID unless
 *   `jobId` given; `jobPrefix` is prepended), location } }`. If the 200 answer has
 *   `status.errors`, the client rejects with an ApiError built from them (no `.code`; `.response` is
 *   the job resource). An insert whose job id exists answers 409 `duplicate` (checked first; no scripted
 *   answer is used up). The client handles a 409 itself (jobs.get, then resolves with that job) ONLY
 *   for ids it generated; with a `jobId` given it rejects with the 409.
 * - `job.getQueryResults()` → `GET /projects/{p}/queries/{jobId}?location=..&formatOptions.useInt64Timestamp=true`
 *   (jobs.getQueryResults); auto-paginates on `pageToken` and re-polls while `jobComplete:false`.
 *   It never calls jobs.get. A job that failed answers here with the job's error as an HTTP error.
 *   It resolves `[rows, nextQuery, apiResponse]` (the last page's answer, e.g. `numDmlAffectedRows`).
 * - `job.getMetadata()` / `job.promise()` polling (every 500 ms while not DONE) → `GET /projects/{p}/jobs/{jobId}?location=..` (jobs.get).
 * - `bigquery.query(q)` → `POST /projects/{p}/queries` (jobs.query, the "fast path", body `{ query,
 *   useLegacySql:false, requestId, formatOptions:{useInt64Timestamp:true}, location, labels,
 *   maximumBytesBilled, ... }`) unless the query has dryRun, jobId, jobTimeoutMs, a non-INTERACTIVE
 *   priority, destination, ... or `FAST_QUERY_PATH=DISABLED`; then it is jobs.insert + getQueryResults.
 *   A complete jobs.query answer is used as is (no further request).
 * - `dataset(d).get({autoCreate:true})` → `GET /projects/{p}/datasets/{d}` (extra get options go to
 *   the query string), on 404 `POST /projects/{p}/datasets` with `{ location?, projectId?, ...options,
 *   datasetReference: { datasetId } }`, on 409 it gets again. `dataset.create()` → the same POST.
 * - `dataset(d).table(t).get()/getMetadata()/exists()` → `GET /projects/{p}/datasets/{d}/tables/{t}`.
 *   Also served: tables.insert (`POST .../tables`), tables.delete, datasets.delete, jobs.cancel.
 * - Vigil's compare-and-set documents (src/run/cas-document.ts: the stream leases `vigil sync` and
 *   `vigil retention apply` hold) are kept as BigQuery would keep their rows, when no `onQuery` rule
 *   answers: its `select version, body ... where id = ?`, its first `insert ... where not exists`
 *   and its `update ... where id = ? and version = ?` read and write them, by table and id.
 *   Anything else answers 400 `invalid` "fake BigQuery does not implement ...", so gaps are loud
 *   (so do jobs.insert bodies with configuration.load/copy/extract: GCS loads are not faked).
 * - Load jobs from a LOCAL file: `table.load(path, meta)` / `table.createLoadJob(path, meta)` (and
 *   `createWriteStream`) → `createWriteStream_` → @google-cloud/common `util.makeWritableStream` →
 *   ONE `POST ${apiEndpoint}/upload/bigquery/v2/projects/{p}/jobs?uploadType=multipart` (always multipart,
 *   whatever the size: no resumable upload; the URL is built from the client's `apiEndpoint`, so the fake
 *   gets it; no `prettyPrint`; sent by teeny-request directly with maxRetries 0, i.e. NEVER retried, even on
 *   503). Body `multipart/related; boundary=<uuid>`: part 1 `application/json` = `{ configuration: { load:
 *   { destinationTable, ...meta } }, jobReference: { jobId (uuid, jobPrefix prepended, or meta.jobId),
 *   projectId, location: <the Table object's location> } }`, part 2 `application/octet-stream` = the file.
 *   Beware: a `location` given in the load metadata lands in `configuration.load.location`, NOT in
 *   jobReference (only the Table/Dataset/BigQuery object's location goes there); the job's location then
 *   comes from the answer's jobReference, which the fake takes from the destination dataset, as BigQuery
 *   does. The answer is the job resource; `createLoadJob` resolves `[Job, metadata]` from it WITHOUT looking
 *   at `status` (a failed job resolves too), `load()` then polls jobs.get (every 500 ms until DONE) and
 *   rejects with the job's `status.errors` as an ApiError (no `.code`). The fake records the upload with
 *   `body` = the JSON part and `upload` = the data; it answers 404 if the destination dataset is unknown
 *   (or in another location than jobReference.location), else a DONE LOAD job (`statistics.load.outputRows`
 *   = non-empty lines, minus CSV skipLeadingRows) and creates/truncates/appends the table; job errors for
 *   CREATE_NEVER on a missing table, no schema anywhere, WRITE_EMPTY on a non-empty table, and `onLoad`.
 *
 * Scripted trouble for a query job (`onQuery(match, { ..., runningPolls, failPolls, loseInsertAnswer })`,
 * see FakeJobScript): the job stays RUNNING for some polls (jobs.get RUNNING, getQueryResults
 * `jobComplete: false`); once DONE, N getQueryResults and/or jobs.get requests fail with an HTTP status
 * or a dropped connection; or jobs.insert stores (runs) the job but its answer is lost (5xx or dropped),
 * so the client's retry of the insert with the same id gets 409. `executions(match)` counts the distinct
 * query jobs for a statement that reached DONE (optionally only the succeeded or the failed ones): how
 * many times it actually ran. A job DONE with a retryable errorResult then a new job that succeeds:
 * `onQuery(re, { error: { httpStatus: 500, reason: 'backendError', ... }, as: 'job', times: 1 })`.
 *
 * Auth, made static: `new BigQuery({ authClient })` where authClient is google-auth-library's
 * `OAuth2Client` with `setCredentials({ access_token, expiry_date: far future })`. @google-cloud/common
 * wraps it in `GoogleAuth({ authClient })`, whose `getClient()` returns it as is, and
 * `OAuth2Client.getRequestHeaders()` returns `Bearer <token>` without refreshing when the token is not
 * expiring. With `projectId` given, no project-id discovery runs either: no metadata server, no ADC
 * file, no oauth2.googleapis.com. The fake answers 401 to any request without a Bearer token.
 * (google-auth-library is a transitive dependency via @google-cloud/common, hoisted to node_modules.)
 *
 * Retries (retry-request 8 via @google-cloud/common 6): the client retries by HTTP status only —
 * 408, 429, 500, 502, 503, 504 — and connection errors (`noResponseRetries`). The reason in the
 * body is NOT looked at (`shouldRetryFn` builds an ApiError with an empty `errors` array), so a 403
 * `rateLimitExceeded` is not retried by the library. Default: 3 retries; delay before retry n is
 * `min(2^n s + random 0..1 s, maxRetryDelay (64 s), time left of totalTimeout (600 s))`, i.e. the
 * first retry waits 2–3 s; `Retry-After` is ignored. POST jobs.insert is retried with the same jobId.
 * Connection errors (no answer) are retried the same way, counted separately (`noResponseRetries` =
 * maxRetries), and end as a node-fetch FetchError with a string `.code` (`ECONNRESET`), no `.errors`.
 * `fakeBigQueryClient` therefore defaults to `retryOptions: { maxRetryDelay: 0.005 }` (5 ms).
 * Beware: a computed delay <= 0 (maxRetryDelay: 0, or totalTimeout used up) makes retry-request
 * give up WITHOUT calling back — the request hangs forever. Keep maxRetryDelay > 0 and totalTimeout generous.
 *
 * Other surprises: `BIGQUERY_EMULATOR_HOST` overrides `apiEndpoint` (and drops the `/bigquery/v2`
 * prefix); `HTTP(S)_PROXY` would route even 127.0.0.1 through the proxy unless `NO_PROXY` names it.
 * `fakeBigQueryClient` neutralises both. Every request carries `?prettyPrint=false`. `get()` is typed
 * as `[object, HTTP response]` but the second element is the metadata. A TIMESTAMP comes back as a
 * BigQueryTimestamp whose `.value` has 9 fraction digits when µs are set (`...56.789123000Z`) and 3
 * otherwise (`...00.000Z`). Dry runs answer with a jobReference without jobId (as the real API). Rows in answers are plain objects; TIMESTAMP values are encoded per the request's
 * format options (int64 microseconds by default from this client), so microseconds survive.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { BigQuery, type BigQueryOptions } from '@google-cloud/bigquery';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll } from 'vitest';

export interface FakeRequest {
  method: string;
  /** URL path, e.g. `/bigquery/v2/projects/p/jobs`. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body, or undefined. */
  body: any;
  /** Request headers, lower-case names. */
  headers: Record<string, string>;
  /**
   * Load-job uploads only (`POST /upload/bigquery/v2/projects/{p}/jobs?uploadType=multipart`): the data
   * part of the multipart/related body, as UTF-8. `body` is then the parsed JSON part (the job resource).
   */
  upload?: string;
}

export interface FakeField {
  name: string;
  type: string;
  mode?: string;
  description?: string;
  fields?: FakeField[];
  /** NUMERIC / BIGNUMERIC parameters, as strings as the API has them */
  precision?: string;
  scale?: string;
}

export interface FakeError {
  httpStatus: number;
  reason: string;
  message: string;
  /** BigQuery's `location` of the error, e.g. `query` (positions like `[3:5]` are in the message). */
  location?: string;
}

/**
 * A failed HTTP exchange: an HTTP error status (the reason follows the status: 403 `rateLimitExceeded`,
 * 429 `rateLimitExceeded`, 500 `internalError`, 502 `badGateway`, 503 `backendError`, 504/408 `timeout`,
 * else `invalid`), a full BigQuery error, or `'reset'`: the connection is dropped without an answer
 * (the client sees a FetchError `ECONNRESET`, "socket hang up").
 */
export type FakeFailure = number | FakeError | 'reset';

/** Scripted trouble for one query job created by jobs.insert (not dry runs, not jobs.query). */
export interface FakeJobScript {
  /**
   * The job stays RUNNING for this many polls: jobs.insert answers with it RUNNING, and each jobs.get
   * (RUNNING view) or getQueryResults (`jobComplete: false`) for it uses one poll. Then it is DONE.
   */
  runningPolls?: number;
  /**
   * Once the job is DONE, the next `times` getQueryResults and/or jobs.get requests for it (`on`,
   * default both; one shared count) fail with `with` (default 503). The job itself has run.
   */
  failPolls?: { times: number; with?: FakeFailure; on?: 'getQueryResults' | 'jobs.get' | 'both' };
  /**
   * While the job is RUNNING, its getQueryResults requests number `at` (1-based, counting every
   * getQueryResults request for the job) fail with `with` (default 503) instead of answering
   * `jobComplete: false`; they use up no running poll.
   */
  failRunningPolls?: { at: number[]; with?: FakeFailure };
  /**
   * Each `jobComplete: false` answer of getQueryResults comes after this many ms, as BigQuery holds
   * the request up to its `timeoutMs` (10 s by default) while the job runs.
   */
  runningHoldMs?: number;
  /**
   * The job is accepted (stored, and it runs) but the jobs.insert answer is lost: it fails with this
   * instead of 200. The client then retries the insert with the same job id and gets 409 `duplicate`,
   * as from BigQuery.
   */
  loseInsertAnswer?: FakeFailure;
}

export type FakeQueryAnswer =
  | ({
      rows?: Array<Record<string, unknown>>;
      /** Defaults to a schema inferred from the first row. */
      fields?: FakeField[];
      totalBytesProcessed?: number;
      /** The tables the statement reads, `project.dataset.table`: `statistics.query.referencedTables` of its job (a dry run's too), as TableReferences. */
      referencedTables?: string[];
      /** A DML statement's row count: `statistics.query.numDmlAffectedRows` of the job and `numDmlAffectedRows` of its results. */
      numDmlAffectedRows?: number;
      /**
       * A DML statement's `statistics.query.dmlStats` (BigQuery's DmlStats: a MERGE populates all
       * three), on the job or, for a script, on its last DML child; numDmlAffectedRows defaults to
       * their sum, as BigQuery counts a statement's affected rows.
       */
      dmlStats?: { inserted?: number; updated?: number; deleted?: number };
      /** Use this answer this many times, then fall back (default: for ever). */
      times?: number;
      /**
       * A statement of Vigil's compare-and-set documents (below) still takes effect, as it would
       * without this rule, its row count answered: the rule adds only its trouble (`failPolls`:
       * an UPDATE that committed but whose answer was lost).
       */
      takesEffect?: boolean;
      /** getQueryResults answers at most this many rows a page without maxResults (BigQuery pages a big result itself), with a pageToken for the rest. */
      pageRows?: number;
    } & FakeJobScript)
  | ({
      error: FakeError;
      times?: number;
      /**
       * `http`: jobs.insert answers with this HTTP error (no job is created, so the job script does not
       * apply). `job`: jobs.insert answers 200 with a job that is DONE with `status.errorResult` and
       * `status.errors` (and getQueryResults answers with the HTTP error). Default: `http` for dry runs,
       * 429, 5xx, rateLimitExceeded, userRateLimitExceeded, backendError, internalError; `job` otherwise.
       * jobs.query always `http`. A retryable job error (e.g. `backendError` with `as: 'job'`) means the
       * job failed and changed nothing: BigQuery says it is safe to run it again as a new job.
       */
      as?: 'http' | 'job';
      /**
       * A multi-statement script (`as: 'job'`) that fails at this statement (1-based): the statements
       * before it ran as child jobs that succeeded (and took effect), this one is a child job DONE
       * with the error, and the script's own job is DONE with it (as BigQuery fails a script).
       */
      failedStatement?: number;
    } & FakeJobScript)
  | { status429RetryAfterSeconds: number; times?: number };

export interface FakeLoadAnswer {
  /** Only loads into this table: `dataset.table`, or a RegExp tested against `dataset.table` (default: any load). */
  table?: string | RegExp;
  /** Use this answer this many times, then fall back (default: for ever). */
  times?: number;
  /**
   * Fail the load. `as: 'job'` (default unless httpStatus is 429/5xx): the upload answers 200 with a job
   * DONE with `status.errorResult` = error and `status.errors` = `errors ?? [error]`; the table is left
   * alone. `as: 'http'`: the upload answers with this HTTP error (httpStatus default 400).
   */
  error?: { reason: string; message: string; location?: string; httpStatus?: number };
  /** `status.errors` of a failed job (BigQuery lists errorResult first, then per-row errors). */
  errors?: Array<{ reason: string; message: string; location?: string }>;
  as?: 'http' | 'job';
  /** Answer the upload and this many jobs.get polls with a RUNNING job before it is DONE (default 0). */
  runningPolls?: number;
  /** Create the job, then answer the upload with this HTTP error (503: the answer lost on the way back). */
  loseAnswer?: number;
}

export interface FakeTableMeta {
  type?: 'TABLE' | 'VIEW';
  fields: FakeField[];
  timePartitioning?: object;
  rangePartitioning?: object;
  clustering?: { fields: string[] };
  /** The table's own requirePartitionFilter (as tables.get gives it). */
  requirePartitionFilter?: boolean;
  description?: string;
  labels?: Record<string, string>;
  /** For views; defaults to `SELECT 1` when type is VIEW. */
  view?: { query: string; useLegacySql?: boolean };
  numRows?: number;
}

export interface FakeBigQuery {
  /** `http://127.0.0.1:PORT` — pass as apiEndpoint. */
  url: string;
  /** jobs.list answers 403 accessDenied (a role without bigquery.jobs.list, as BigQuery Job User alone). */
  refuseJobList: boolean;
  /** Everything received, in order. */
  requests: FakeRequest[];
  /** How to answer query jobs whose SQL matches (newest rule first; default: a successful job with no rows). */
  onQuery(match: RegExp | ((sql: string) => boolean), answer: FakeQueryAnswer): void;
  /**
   * How to answer the next load jobs (local-file uploads), newest rule first. Default: the job is DONE,
   * `statistics.load.outputRows` = non-empty lines of the upload (minus `skipLeadingRows` for CSV), and the
   * destination table is created/replaced/appended to per create/writeDisposition.
   */
  onLoad(answer: FakeLoadAnswer): void;
  addTable(project: string, dataset: string, table: string, meta: FakeTableMeta): void;
  addDataset(project: string, dataset: string, meta?: { location?: string }): void;
  /** The stored job resource (as jobs.get returns it), if any. */
  job(project: string, jobId: string): any;
  /**
   * How many times a statement was EXECUTED: the distinct query jobs (jobs.insert or jobs.query, not dry
   * runs) whose SQL matches and that reached DONE. `outcome`: only those that succeeded (took effect) or
   * only those DONE with an errorResult (a failed job changes nothing). Default: all.
   */
  executions(match: RegExp | ((sql: string) => boolean), opts?: { outcome?: 'succeeded' | 'failed' }): number;
  /** The ids of those jobs, in creation order (same filter). */
  executedJobIds(match: RegExp | ((sql: string) => boolean), opts?: { outcome?: 'succeeded' | 'failed' }): string[];
  close(): Promise<void>;
}

interface Rule {
  match: (sql: string) => boolean;
  answer: FakeQueryAnswer;
  left?: number;
}

interface StoredJob {
  resource: any;
  rows: Array<Record<string, unknown>>;
  fields?: FakeField[];
  error?: FakeError;
  /** jobs.get answers this many more times with a RUNNING view of `resource`. */
  runningPolls?: number;
  /** Runs once, when the job is first seen DONE (load jobs: the change to the destination table). */
  onDone?: () => void;
  /** Query jobs: the statement (dry runs are not stored). */
  sql?: string;
  /** getQueryResults' page size without maxResults (FakeQueryAnswer.pageRows). */
  pageRows?: number;
  /** A child job of this script job (jobs.list with parentJobId lists it). */
  childOf?: string;
  /** getQueryResults / jobs.get failures left once DONE (FakeJobScript.failPolls). */
  failPolls?: { left: number; with: FakeFailure; on: 'getQueryResults' | 'jobs.get' | 'both' };
  /** FakeJobScript.failRunningPolls / runningHoldMs, and the getQueryResults requests seen so far. */
  failRunningPolls?: { at: number[]; with: FakeFailure };
  runningHoldMs?: number;
  resultsPolls?: number;
}

interface LoadRule {
  answer: FakeLoadAnswer;
  left?: number;
}

/** Split a `multipart/related` body (as teeny-request builds it) into its parts. */
function parseMultipart(contentType: string, buf: Buffer): Array<{ headers: Record<string, string>; data: Buffer }> | undefined {
  const m = /^multipart\/(?:related|mixed|form-data)\s*;.*?boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) return undefined;
  const delim = Buffer.from(`--${m[1]}`);
  const parts: Array<{ headers: Record<string, string>; data: Buffer }> = [];
  let at = buf.indexOf(delim);
  if (at < 0) return undefined;
  for (;;) {
    let start = at + delim.length;
    if (buf.subarray(start, start + 2).toString() === '--') break; // closing delimiter
    if (buf.subarray(start, start + 2).toString() === '\r\n') start += 2;
    const next = buf.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), start);
    if (next < 0) return undefined; // no closing delimiter
    const part = buf.subarray(start, next);
    const sep = part.indexOf('\r\n\r\n');
    const head = sep < 0 ? '' : part.subarray(0, sep).toString('utf8');
    const headers: Record<string, string> = {};
    for (const line of head.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    parts.push({ headers, data: sep < 0 ? part : part.subarray(sep + 4) });
    at = next + 2;
  }
  return parts;
}

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  502: 'BAD_GATEWAY',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const HTTP_BY_DEFAULT = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'backendError', 'internalError']);

const REASON_BY_STATUS: Record<number, string> = {
  403: 'rateLimitExceeded',
  408: 'timeout',
  429: 'rateLimitExceeded',
  500: 'internalError',
  502: 'badGateway',
  503: 'backendError',
  504: 'timeout',
};

/** A FakeFailure other than `'reset'`, as a full error. */
function failureError(f: number | FakeError): FakeError {
  if (typeof f !== 'number') return f;
  const reason = REASON_BY_STATUS[f] ?? 'invalid';
  const message =
    reason === 'backendError'
      ? 'Error encountered during execution. Retrying may solve the problem.'
      : reason === 'rateLimitExceeded'
        ? 'Exceeded rate limits: too many api requests per user per method for this user_method.'
        : `fake BigQuery: scripted HTTP ${f}`;
  return { httpStatus: f, reason, message };
}

/** The JSON body of a BigQuery API error. */
export function bigQueryErrorBody(httpStatus: number, reason: string, message: string, location?: string) {
  const inner: Record<string, string> = { message, domain: 'global', reason };
  if (location) inner.location = location;
  return { error: { code: httpStatus, message, errors: [inner], status: STATUS[httpStatus] ?? 'UNKNOWN' } };
}

function inferType(v: unknown): string {
  if (typeof v === 'bigint') return 'INTEGER';
  if (typeof v === 'number') return Number.isInteger(v) ? 'INTEGER' : 'FLOAT';
  if (typeof v === 'boolean') return 'BOOLEAN';
  if (v instanceof Date) return 'TIMESTAMP';
  if (Buffer.isBuffer(v)) return 'BYTES';
  if (v !== null && typeof v === 'object') return 'JSON';
  return 'STRING';
}

function inferFields(rows: Array<Record<string, unknown>>): FakeField[] {
  const first = rows[0] ?? {};
  return Object.keys(first).map((name) => ({ name, type: inferType(first[name]), mode: 'NULLABLE' }));
}

/** Microseconds since the epoch of a Date, ISO-ish string (keeps up to 6 fraction digits), epoch ms number, or bigint µs. */
function toMicros(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (v instanceof Date) return BigInt(v.getTime()) * 1000n;
  if (typeof v === 'number') return BigInt(Math.round(v * 1000));
  const s = String(v).trim();
  const m = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|UTC|[+-]\d\d(?::?\d\d)?)?$/i.exec(s);
  if (m) {
    let zone = (m[4] ?? 'Z').toUpperCase();
    if (zone === 'UTC') zone = 'Z';
    else if (/^[+-]\d\d$/.test(zone)) zone += ':00';
    else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
    const ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
    const frac = BigInt((m[3] ?? '').padEnd(6, '0').slice(0, 6));
    return BigInt(ms) * 1000n + frac;
  }
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) throw new Error(`fake BigQuery: cannot read ${JSON.stringify(v)} as a TIMESTAMP`);
  return BigInt(ms) * 1000n;
}

type TsFormat = 'int64' | 'float' | 'iso';

function formatTimestamp(micros: bigint, fmt: TsFormat): string {
  if (fmt === 'int64') return micros.toString();
  if (fmt === 'float') return (Number(micros) / 1e6).toExponential().replace('e+', 'E').replace('e-', 'E-');
  const ms = micros / 1000n;
  const frac = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  return new Date(Number(ms)).toISOString().slice(0, 19) + '.' + frac.toString().padStart(6, '0') + 'Z';
}

function encodeScalar(field: FakeField, v: unknown, fmt: TsFormat): unknown {
  if (v === null || v === undefined) return null;
  const type = field.type.toUpperCase();
  switch (type) {
    case 'RECORD':
    case 'STRUCT': {
      const o = v as Record<string, unknown>;
      return { f: (field.fields ?? []).map((sub) => ({ v: encodeValue(sub, o[sub.name], fmt) })) };
    }
    case 'BOOLEAN':
    case 'BOOL':
      return v ? 'true' : 'false';
    case 'TIMESTAMP':
      return formatTimestamp(toMicros(v), fmt);
    case 'DATE':
      return v instanceof Date ? v.toISOString().slice(0, 10) : String(v);
    case 'DATETIME':
      return v instanceof Date ? v.toISOString().slice(0, 23) : String(v);
    case 'JSON':
      return typeof v === 'string' ? v : JSON.stringify(v);
    case 'BYTES':
      return Buffer.isBuffer(v) ? v.toString('base64') : String(v);
    default:
      return typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : String(v);
  }
}

function encodeValue(field: FakeField, v: unknown, fmt: TsFormat): unknown {
  if ((field.mode ?? '').toUpperCase() === 'REPEATED') {
    return ((v as unknown[] | null | undefined) ?? []).map((x) => ({ v: encodeScalar(field, x, fmt) }));
  }
  return encodeScalar(field, v, fmt);
}

function encodeRows(fields: FakeField[], rows: Array<Record<string, unknown>>, fmt: TsFormat) {
  return rows.map((row) => ({ f: fields.map((field) => ({ v: encodeValue(field, row[field.name], fmt) })) }));
}

/** The statements of a script (split at `;` ending a line: the scripts Vigil sends put none inside a literal). */
function scriptStatements(sql: string): string[] {
  return sql.split(/;\s*\n/).map((x) => x.trim()).filter(Boolean);
}

/**
 * The statements of a script that run, each a child job: of an `IF c THEN a; ELSE b; END IF` the
 * THEN branch's (the fake evaluates no condition).
 */
function executedStatements(sql: string): string[] {
  const out: string[] = [];
  let skipping = false;
  for (const st of scriptStatements(sql)) {
    const then = /^IF\b[\s\S]*?\bTHEN\s+([\s\S]*)$/i.exec(st);
    if (then) out.push(then[1]);
    else if (/^ELSE\b/i.test(st)) skipping = true;
    else if (/^END\s+IF$/i.test(st)) skipping = false;
    else if (!skipping) out.push(st);
  }
  return out;
}

function statementType(sql: string): string {
  // more than one statement is a script, whatever it starts with
  if (scriptStatements(sql.replace(/;\s*$/, '')).length > 1) return 'SCRIPT';
  const s = sql.replace(/^(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)+/, '').toUpperCase();
  if (/^(SELECT|WITH|\()/.test(s)) return 'SELECT';
  if (/^CREATE\s+(OR\s+REPLACE\s+)?(MATERIALIZED\s+)?VIEW/.test(s)) return 'CREATE_VIEW';
  if (/^CREATE\s+(OR\s+REPLACE\s+)?(TEMP(ORARY)?\s+)?TABLE[\s\S]*\bAS\b/.test(s)) return 'CREATE_TABLE_AS_SELECT';
  if (/^CREATE\s+(OR\s+REPLACE\s+)?(TEMP(ORARY)?\s+)?TABLE/.test(s)) return 'CREATE_TABLE';
  if (/^CREATE\s+(OR\s+REPLACE\s+)?(TEMP(ORARY)?\s+)?FUNCTION/.test(s)) return 'CREATE_FUNCTION';
  if (/^CREATE\s+SCHEMA/.test(s)) return 'CREATE_SCHEMA';
  for (const k of ['INSERT', 'MERGE', 'DELETE', 'UPDATE', 'TRUNCATE']) if (s.startsWith(k)) return k === 'TRUNCATE' ? 'TRUNCATE_TABLE' : k;
  if (/^DROP\s+VIEW/.test(s)) return 'DROP_VIEW';
  if (/^DROP/.test(s)) return 'DROP_TABLE';
  if (/^ALTER/.test(s)) return 'ALTER_TABLE';
  return 'SCRIPT';
}

const nowMs = () => String(Date.now());

type OkAnswer = Extract<FakeQueryAnswer, { rows?: unknown }>;
const okAnswer = (a: FakeQueryAnswer): OkAnswer => ('error' in a || 'status429RetryAfterSeconds' in a ? {} : a);

export async function startFakeBigQuery(): Promise<FakeBigQuery> {
  const requests: FakeRequest[] = [];
  const rules: Rule[] = [];
  const loadRules: LoadRule[] = [];
  const datasets = new Map<string, any>(); // `${p}:${d}`
  const tables = new Map<string, any>(); // `${p}:${d}.${t}`
  const jobs = new Map<string, StoredJob>(); // `${p}:${jobId}`
  /**
   * A job as jobs.get, jobs.getQueryResults and jobs.cancel find it: in the `location` asked, and
   * without one only in the US or EU multi-region (BigQuery: "You must specify the location ... if
   * the job's location is in a single region"): a job in asia-northeast1 asked without a location
   * is 404 `notFound`, as if there were none.
   */
  const locatedJob = (key: string, location: unknown): StoredJob | undefined => {
    const job = jobs.get(key);
    const at = String(job?.resource?.jobReference?.location ?? 'US').toUpperCase();
    if (!job || (location === undefined ? !['US', 'EU'].includes(at) : String(location).toUpperCase() !== at)) return undefined;
    return job;
  };

  /**
   * Where a query job asked without a location runs: BigQuery "determines the location from the
   * datasets referenced in the request" — here the first `project`.`dataset`.`table` (or
   * `project.dataset.table`) of the SQL naming a known dataset, else the US.
   */
  const queryLocation = (sql: string): string => {
    for (const m of sql.matchAll(/`([\w-]+)`\.`(\w+)`\.`[^`]+`|`([\w-]+)\.(\w+)\.[^`]+`/g)) {
      const ds = datasets.get(`${m[1] ?? m[3]}:${m[2] ?? m[4]}`);
      if (ds?.location) return ds.location;
    }
    return 'US';
  };

  function takeAnswer(sql: string, params: unknown[] = [], dryRun = false): FakeQueryAnswer {
    for (let i = rules.length - 1; i >= 0; i--) {
      const rule = rules[i];
      if (!rule.match(sql)) continue;
      if (rule.left !== undefined && --rule.left <= 0) rules.splice(i, 1);
      if ('takesEffect' in rule.answer && rule.answer.takesEffect && !dryRun) return { ...(casAnswer(sql, params) ?? {}), ...rule.answer };
      return rule.answer;
    }
    return (!dryRun && casAnswer(sql, params)) || {};
  }

  /** Vigil's compare-and-set documents (cas-document.ts's statements; the alert state's journal too), by `table|id`. */
  const casDocs = new Map<string, { version: number; body: string; journal?: string | null }>();
  /** their journals' rows, by `journal table|id` */
  const casJournal = new Map<string, Array<{ seq: number; line: string }>>();
  function casAnswer(sql: string, params: unknown[]): FakeQueryAnswer | undefined {
    let m = /^select version, body(, journal)? from (\S+) where id = \? order by version desc limit 1$/.exec(sql);
    if (m) {
      const d = casDocs.get(`${m[2]}|${params[0]}`);
      const journal = !!m[1];
      return {
        rows: d ? [{ version: d.version, body: d.body, ...(journal ? { journal: d.journal ?? null } : {}) }] : [],
        fields: [{ name: 'version', type: 'INT64' }, { name: 'body', type: 'STRING' }, ...(journal ? [{ name: 'journal', type: 'STRING' }] : [])],
      };
    }
    // (a reader's check that no write came between the body and its lines)
    m = /^select version from (\S+) where id = \? order by version desc limit 1$/.exec(sql);
    if (m) {
      const d = casDocs.get(`${m[1]}|${params[0]}`);
      return { rows: d ? [{ version: d.version }] : [], fields: [{ name: 'version', type: 'INT64' }] };
    }
    m = /^update (\S+) set version = \?, journal = coalesce\(journal, ''\) \|\| cast\(\? as STRING\), updated_at = .* where id = \? and version = \?$/.exec(sql);
    if (m) {
      const key = `${m[1]}|${params[2]}`;
      const d = casDocs.get(key);
      const hit = !!d && d.version === Number(params[3]);
      if (hit) casDocs.set(key, { ...d, version: Number(params[0]), journal: (d.journal ?? '') + String(params[1]) });
      return { numDmlAffectedRows: hit ? 1 : 0 };
    }
    // the alert state's journal: a row per line, then the version moved alone (cas-document.ts)
    m = /^select line from (\S+) where id = \? and seq <= \? order by seq$/.exec(sql);
    if (m) {
      const rows = (casJournal.get(`${m[1]}|${params[0]}`) ?? []).filter((j) => j.seq <= Number(params[1])).map((j) => ({ line: j.line }));
      return { rows, fields: [{ name: 'line', type: 'STRING' }] };
    }
    m = /^insert into (\S+) \(id, seq, line\) values \(\?, \?, \?\)$/.exec(sql);
    if (m) {
      const key = `${m[1]}|${params[0]}`;
      casJournal.set(key, [...(casJournal.get(key) ?? []), { seq: Number(params[1]), line: String(params[2]) }]);
      return { numDmlAffectedRows: 1 };
    }
    m = /^delete from (\S+) where id = \? and seq <= \?$/.exec(sql);
    if (m) {
      const key = `${m[1]}|${params[0]}`;
      const before = casJournal.get(key) ?? [];
      const after = before.filter((j) => j.seq > Number(params[1]));
      casJournal.set(key, after);
      return { numDmlAffectedRows: before.length - after.length };
    }
    m = /^update (\S+) set version = \?, updated_at = \S+ where id = \? and version = \?$/.exec(sql);
    if (m) {
      const key = `${m[1]}|${params[1]}`;
      const d = casDocs.get(key);
      const hit = !!d && d.version === Number(params[2]);
      if (hit) casDocs.set(key, { ...d, version: Number(params[0]) });
      return { numDmlAffectedRows: hit ? 1 : 0 };
    }
    m = /^insert into (\S+) \(id, version, body, updated_at\) select \* from .* where not exists /.exec(sql);
    if (m) {
      const key = `${m[1]}|${params[0]}`;
      const fresh = !casDocs.has(key);
      if (fresh) casDocs.set(key, { version: 0, body: String(params[1]) });
      return { numDmlAffectedRows: fresh ? 1 : 0 };
    }
    m = /^update (\S+) set version = \?, body = \?, updated_at = \S+(, journal = null)? where id = \? and version = \?$/.exec(sql);
    if (m) {
      const key = `${m[1]}|${params[2]}`;
      const d = casDocs.get(key);
      const hit = !!d && d.version === Number(params[3]);
      if (hit) casDocs.set(key, { version: Number(params[0]), body: String(params[1]), journal: m[2] ? null : d.journal });
      return { numDmlAffectedRows: hit ? 1 : 0 };
    }
    return undefined;
  }
  /** A query's positional parameters' values, as the client sent them. */
  const paramValues = (qp: unknown): unknown[] => (Array.isArray(qp) ? qp.map((x: { parameterValue?: { value?: unknown } }) => x?.parameterValue?.value ?? null) : []);

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }
  const fail = (res: ServerResponse, status: number, reason: string, message: string, location?: string, headers?: Record<string, string>) =>
    send(res, status, bigQueryErrorBody(status, reason, message, location), headers);
  /** Answer with a scripted failure: an HTTP error, or drop the connection without answering. */
  function failWith(res: ServerResponse, f: FakeFailure) {
    if (f === 'reset') {
      res.socket?.destroy();
      return;
    }
    const e = failureError(f);
    fail(res, e.httpStatus, e.reason, e.message, e.location);
  }
  /** Whether this poll of a DONE job is one of its scripted failures (and answer it if so). */
  function failedPoll(res: ServerResponse, job: StoredJob, endpoint: 'getQueryResults' | 'jobs.get'): boolean {
    const f = job.failPolls;
    if (!f || f.left <= 0 || (f.on !== 'both' && f.on !== endpoint)) return false;
    f.left--;
    failWith(res, f.with);
    return true;
  }
  const matcher = (match: RegExp | ((sql: string) => boolean)) => (typeof match === 'function' ? match : (sql: string) => match.test(sql));
  function executedJobIds(match: RegExp | ((sql: string) => boolean), opts?: { outcome?: 'succeeded' | 'failed' }): string[] {
    const fn = matcher(match);
    const ids: string[] = [];
    for (const job of jobs.values()) {
      // (a script's child jobs are its statements running, not submissions of their own)
      if (job.sql === undefined || job.runningPolls || job.childOf !== undefined || !fn(job.sql)) continue;
      const failed = !!job.resource.status?.errorResult;
      if (opts?.outcome === 'succeeded' && failed) continue;
      if (opts?.outcome === 'failed' && !failed) continue;
      ids.push(job.resource.jobReference.jobId);
    }
    return ids;
  }

  function datasetResource(p: string, d: string, location = 'US', extra: Record<string, unknown> = {}) {
    const t = nowMs();
    return {
      ...extra,
      kind: 'bigquery#dataset',
      etag: randomUUID(),
      id: `${p}:${d}`,
      selfLink: `${server.url}/bigquery/v2/projects/${p}/datasets/${d}`,
      datasetReference: { datasetId: d, projectId: p },
      location,
      creationTime: t,
      lastModifiedTime: t,
      type: 'DEFAULT',
    };
  }

  function tableResource(p: string, d: string, t: string, meta: FakeTableMeta) {
    const now = nowMs();
    const type = meta.type ?? 'TABLE';
    const r: Record<string, unknown> = {
      kind: 'bigquery#table',
      etag: randomUUID(),
      id: `${p}:${d}.${t}`,
      selfLink: `${server.url}/bigquery/v2/projects/${p}/datasets/${d}/tables/${t}`,
      tableReference: { projectId: p, datasetId: d, tableId: t },
      schema: { fields: meta.fields },
      creationTime: now,
      lastModifiedTime: now,
      type,
      location: datasets.get(`${p}:${d}`)?.location ?? 'US',
    };
    if (type === 'VIEW') r.view = { query: meta.view?.query ?? 'SELECT 1', useLegacySql: meta.view?.useLegacySql ?? false };
    else Object.assign(r, { numBytes: '0', numLongTermBytes: '0', numRows: String(meta.numRows ?? 0) });
    if (meta.description !== undefined) r.description = meta.description;
    if (meta.labels) r.labels = meta.labels;
    if (meta.timePartitioning) r.timePartitioning = meta.timePartitioning;
    if (meta.rangePartitioning) r.rangePartitioning = meta.rangePartitioning;
    if (meta.clustering) r.clustering = meta.clustering;
    if (meta.requirePartitionFilter !== undefined) r.requirePartitionFilter = meta.requirePartitionFilter;
    return r;
  }

  function httpErrorFor(answer: FakeQueryAnswer, dryRun: boolean, endpoint: 'insert' | 'query') {
    if ('status429RetryAfterSeconds' in answer) return 'retry-after' as const;
    if (!('error' in answer)) return undefined;
    const e = answer.error;
    if (endpoint === 'query') return 'http' as const;
    const as = answer.as ?? (dryRun || e.httpStatus === 429 || e.httpStatus >= 500 || HTTP_BY_DEFAULT.has(e.reason) ? 'http' : 'job');
    return as;
  }

  function rateLimited429(res: ServerResponse, seconds: number) {
    fail(
      res,
      429,
      'rateLimitExceeded',
      'Exceeded rate limits: too many api requests per user per method for this user_method. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas',
      undefined,
      { 'Retry-After': String(seconds) },
    );
  }

  /** The job resource jobs.insert/jobs.get return. */
  function jobResource(p: string, jobId: string | undefined, location: string, configuration: any, sql: string, bytes: number, error?: FakeError, dmlRows?: number, dryRunFields?: FakeField[], referenced?: string[], dmlStats?: { inserted?: number; updated?: number; deleted?: number }) {
    const now = Date.now();
    const stats: any = {
      creationTime: String(now),
      totalBytesProcessed: String(bytes),
      query: { totalBytesProcessed: String(bytes), cacheHit: false, statementType: statementType(sql) },
    };
    if (referenced?.length) {
      stats.query.referencedTables = referenced.map((t) => {
        const [projectId, datasetId, tableId] = t.split('.');
        return { projectId, datasetId, tableId };
      });
    }
    const script = stats.query.statementType === 'SCRIPT';
    if (configuration?.dryRun) {
      stats.query.totalBytesProcessedAccuracy = 'PRECISE';
      // "the schema of the results; present only for successful dry run of non-legacy SQL queries"
      if (dryRunFields) stats.query.schema = { fields: dryRunFields };
    } else {
      Object.assign(stats, { startTime: String(now), endTime: String(now) });
      Object.assign(stats.query, { totalBytesBilled: String(bytes === 0 ? 0 : Math.max(bytes, 10 * 1024 * 1024)), totalSlotMs: '0', billingTier: 1 });
      // a script has no row count of its own: its child jobs have theirs (scriptChildren)
      if (dmlRows !== undefined && !error && !script) stats.query.numDmlAffectedRows = String(dmlRows);
      if (dmlStats && !error && !script) stats.query.dmlStats = { insertedRowCount: String(dmlStats.inserted ?? 0), updatedRowCount: String(dmlStats.updated ?? 0), deletedRowCount: String(dmlStats.deleted ?? 0) };
      if (script && !error) stats.numChildJobs = String(scriptStatements(sql).length);
    }
    const ref: any = { projectId: p, location };
    if (jobId !== undefined) ref.jobId = jobId;
    const status: any = { state: 'DONE' };
    if (error) {
      const e: any = { reason: error.reason, message: error.message };
      if (error.location) e.location = error.location;
      status.errorResult = e;
      status.errors = [e];
    }
    return {
      kind: 'bigquery#job',
      etag: randomUUID(),
      id: jobId !== undefined ? `${p}:${location}.${jobId}` : undefined,
      selfLink: jobId !== undefined ? `${server.url}/bigquery/v2/projects/${p}/jobs/${jobId}?location=${location}` : undefined,
      user_email: 'fake@vigil.test',
      configuration: { ...configuration, jobType: 'QUERY' },
      jobReference: ref,
      statistics: stats,
      status,
    };
  }

  function tsFormatFromQs(q: Record<string, string>): TsFormat {
    if (q['formatOptions.timestampOutputFormat'] === 'ISO8601_STRING') return 'iso';
    if (q['formatOptions.timestampOutputFormat'] === 'INT64' || q['formatOptions.useInt64Timestamp'] === 'true') return 'int64';
    return 'float';
  }

  /** Rows page of a stored job (maxResults/pageToken/startIndex), as getQueryResults/jobs.query return it. */
  function resultsBody(job: StoredJob, kind: string, fmt: TsFormat, maxResults?: number, start = 0) {
    const fields = job.fields ?? (job.rows.length ? inferFields(job.rows) : undefined);
    const end = maxResults && maxResults > 0 ? Math.min(job.rows.length, start + maxResults) : job.rows.length;
    const page = job.rows.slice(start, end);
    const body: any = {
      kind,
      etag: randomUUID(),
      jobReference: job.resource.jobReference,
      totalRows: String(job.rows.length),
      totalBytesProcessed: job.resource.statistics.totalBytesProcessed,
      jobComplete: true,
      cacheHit: false,
    };
    if (fields) body.schema = { fields };
    if (fields && page.length) body.rows = encodeRows(fields, page, fmt);
    const dml = job.resource.statistics?.query?.numDmlAffectedRows;
    if (dml !== undefined) body.numDmlAffectedRows = dml;
    if (end < job.rows.length) body.pageToken = `fake-page-${end}`;
    return body;
  }

  function createJob(p: string, jobId: string, location: string, configuration: any, sql: string, answer: FakeQueryAnswer, error?: FakeError): StoredJob {
    const ok = okAnswer(answer);
    const rows = ok.rows ?? [];
    const d = ok.dmlStats;
    const dmlRows = ok.numDmlAffectedRows ?? (d ? (d.inserted ?? 0) + (d.updated ?? 0) + (d.deleted ?? 0) : undefined);
    const job: StoredJob = {
      resource: jobResource(p, jobId, location, configuration, sql, ok.totalBytesProcessed ?? 0, error, dmlRows, undefined, ok.referencedTables, d),
      rows,
      fields: ok.fields ?? (rows.length ? inferFields(rows) : undefined),
      error,
      pageRows: ok.pageRows,
    };
    job.sql = sql;
    jobs.set(`${p}:${jobId}`, job);
    // a script that failed at one of its statements: those before it ran, each a child job
    const failedAt = error && 'failedStatement' in answer ? answer.failedStatement : undefined;
    if (failedAt && failedAt > 0) {
      job.resource.statistics.numChildJobs = String(failedAt);
      executedStatements(sql).slice(0, failedAt).forEach((st, i) => {
        const child = jobResource(p, `script_job_${randomUUID().replace(/-/g, '')}_${i}`, location, { query: { query: st } }, st, 0, i === failedAt - 1 ? error : undefined, i < failedAt - 1 && ['INSERT', 'MERGE', 'DELETE', 'UPDATE'].includes(statementType(st)) ? 1 : undefined);
        child.statistics.parentJobId = jobId;
        jobs.set(`${p}:${child.jobReference.jobId}`, { resource: child, rows: [], sql: st, childOf: jobId });
      });
    }
    // a script's statements ran as child jobs (jobs.list?parentJobId= lists them): the last DML one
    // carries the answer's row count, as BigQuery's children carry their own
    if (job.resource.statistics.numChildJobs && !error) {
      const statements = executedStatements(sql);
      const types = statements.map(statementType);
      let lastDml = -1;
      types.forEach((t, i) => ['INSERT', 'MERGE', 'DELETE', 'UPDATE'].includes(t) && (lastDml = i));
      statements.forEach((st, i) => {
        const child = jobResource(p, `script_job_${randomUUID().replace(/-/g, '')}_${i}`, location, { query: { query: st } }, st, 0, undefined, i === lastDml ? dmlRows : undefined, undefined, undefined, i === lastDml ? d : undefined);
        child.statistics.parentJobId = jobId;
        jobs.set(`${p}:${child.jobReference.jobId}`, { resource: child, rows: [], sql: st, childOf: jobId });
      });
    }
    return job;
  }

  function takeLoadAnswer(dataset: string, table: string): FakeLoadAnswer {
    const name = `${dataset}.${table}`;
    for (let i = loadRules.length - 1; i >= 0; i--) {
      const rule = loadRules[i];
      const t = rule.answer.table;
      if (t !== undefined && !(typeof t === 'string' ? t === name : t.test(name))) continue;
      if (rule.left !== undefined && --rule.left <= 0) loadRules.splice(i, 1);
      return rule.answer;
    }
    return {};
  }

  /** What jobs.get (and the upload) answer while a job is still RUNNING. */
  function runningView(resource: any) {
    const { creationTime, startTime } = resource.statistics ?? {};
    return { ...resource, status: { state: 'RUNNING' }, statistics: { creationTime, startTime } };
  }

  /**
   * `POST /upload/bigquery/v2/projects/{p}/jobs?uploadType=multipart`: a load job with its data. Checks the
   * destination dataset (and location) like jobs.insert does (HTTP errors), then makes a DONE load job;
   * data-level problems (CREATE_NEVER on a missing table, no schema, WRITE_EMPTY on a non-empty table,
   * a forced `onLoad` error) fail the JOB (status.errorResult), as BigQuery does.
   */
  function handleLoadUpload(res: ServerResponse, p: string, query: Record<string, string>, body: any, upload: string | undefined) {
    if (query.uploadType !== 'multipart') {
      return fail(res, 400, 'invalid', `fake BigQuery does not implement uploadType=${query.uploadType ?? '(none)'} (the 8.3 client only sends multipart)`);
    }
    if (upload === undefined || !body || typeof body !== 'object') {
      return fail(res, 400, 'invalid', 'fake BigQuery: expected a multipart/related body with a JSON job resource part and a data part');
    }
    const load = body.configuration?.load;
    if (!load) return fail(res, 400, 'invalid', 'fake BigQuery: an upload must carry configuration.load');
    const dest = load.destinationTable ?? {};
    const dp: string = dest.projectId ?? p;
    const d: string | undefined = dest.datasetId;
    const t: string | undefined = dest.tableId;
    if (!d || !t) return fail(res, 400, 'invalid', 'Required parameter is missing: configuration.load.destinationTable');
    const answer = takeLoadAnswer(d, t);
    const forced = answer.error;
    const forcedStatus = forced?.httpStatus ?? 400;
    const as = answer.as ?? (forced && (forcedStatus === 429 || forcedStatus >= 500) ? 'http' : 'job');
    if (forced && as === 'http') return fail(res, forcedStatus, forced.reason, forced.message, forced.location);

    const ds = datasets.get(`${dp}:${d}`);
    if (!ds) return fail(res, 404, 'notFound', `Not found: Dataset ${dp}:${d}`);
    const refLocation: string | undefined = body.jobReference?.location;
    if (refLocation && refLocation.toUpperCase() !== String(ds.location).toUpperCase()) {
      return fail(res, 404, 'notFound', `Not found: Dataset ${dp}:${d} was not found in location ${refLocation}`);
    }
    const location: string = refLocation ?? ds.location;
    const jobId: string = body.jobReference?.jobId ?? `job_${randomUUID().replace(/-/g, '')}`;
    if (jobs.has(`${p}:${jobId}`)) return fail(res, 409, 'duplicate', `Already Exists: Job ${p}:${location}.${jobId}`);

    const key = `${dp}:${d}.${t}`;
    const existing = tables.get(key);
    const bytes = Buffer.byteLength(upload);
    const lines = upload.split(/\r?\n/).filter((l) => l.trim() !== '').length;
    const skip = String(load.sourceFormat ?? 'CSV').toUpperCase() === 'CSV' ? Number(load.skipLeadingRows ?? 0) : 0;
    const outputRows = Math.max(0, lines - skip);
    const createDisposition = String(load.createDisposition ?? 'CREATE_IF_NEEDED').toUpperCase();
    const writeDisposition = String(load.writeDisposition ?? 'WRITE_APPEND').toUpperCase();
    const fields: FakeField[] | undefined = load.schema?.fields ?? existing?.schema?.fields ?? (load.autodetect ? [] : undefined);

    let jobErrors: Array<{ reason: string; message: string; location?: string }> | undefined;
    if (forced) jobErrors = answer.errors ?? [{ reason: forced.reason, message: forced.message, ...(forced.location ? { location: forced.location } : {}) }];
    else if (!existing && createDisposition === 'CREATE_NEVER') jobErrors = [{ reason: 'notFound', message: `Not found: Table ${dp}:${d}.${t}` }];
    else if (!fields) jobErrors = [{ reason: 'invalid', message: 'No schema specified on job or table.' }];
    else if (existing && writeDisposition === 'WRITE_EMPTY' && Number(existing.numRows ?? 0) > 0) {
      jobErrors = [{ reason: 'duplicate', message: `Already Exists: Table ${dp}:${d}.${t}` }];
    }
    const errorResult = forced
      ? { reason: forced.reason, message: forced.message, ...(forced.location ? { location: forced.location } : {}) }
      : jobErrors?.[0];

    const now = String(Date.now());
    const status: any = { state: 'DONE' };
    if (errorResult) Object.assign(status, { errorResult, errors: jobErrors });
    const resource = {
      kind: 'bigquery#job',
      etag: randomUUID(),
      id: `${p}:${location}.${jobId}`,
      selfLink: `${server.url}/bigquery/v2/projects/${p}/jobs/${jobId}?location=${location}`,
      user_email: 'fake@vigil.test',
      configuration: { load, jobType: 'LOAD' },
      jobReference: { projectId: p, jobId, location },
      statistics: {
        creationTime: now,
        startTime: now,
        endTime: now,
        totalSlotMs: '0',
        load: {
          inputFiles: '1',
          inputFileBytes: String(bytes),
          outputRows: errorResult ? '0' : String(outputRows),
          outputBytes: errorResult ? '0' : String(bytes),
          badRecords: '0',
        },
      },
      status,
    };
    const job: StoredJob = {
      resource,
      rows: [],
      error: errorResult ? { httpStatus: 400, ...errorResult } : undefined,
      runningPolls: answer.runningPolls && answer.runningPolls > 0 ? answer.runningPolls : undefined,
    };
    if (!errorResult) {
      job.onDone = () => {
        const cur = tables.get(key);
        const ms = String(Date.now());
        const extra = {
          timePartitioning: load.timePartitioning,
          rangePartitioning: load.rangePartitioning,
          clustering: load.clustering,
          description: load.destinationTableProperties?.description,
        };
        if (!cur) {
          const tb: any = tableResource(dp, d, t, { fields: fields ?? [], numRows: outputRows, ...extra });
          tb.numBytes = String(bytes);
          tables.set(key, tb);
          return;
        }
        const truncate = writeDisposition === 'WRITE_TRUNCATE';
        const next: any = { ...cur, etag: randomUUID(), lastModifiedTime: ms, schema: { fields: load.schema?.fields ?? cur.schema?.fields ?? [] } };
        next.numRows = String((truncate ? 0 : Number(cur.numRows ?? 0)) + outputRows);
        next.numBytes = String((truncate ? 0 : Number(cur.numBytes ?? 0)) + bytes);
        for (const [k, v] of Object.entries(extra)) if (v !== undefined) next[k] = v;
        tables.set(key, next);
      };
    }
    jobs.set(`${p}:${jobId}`, job);
    if (answer.loseAnswer) {
      if (!job.runningPolls) {
        job.onDone?.();
        job.onDone = undefined;
      }
      return fail(res, answer.loseAnswer, 'backendError', 'Service unavailable (the job was created)');
    }
    if (job.runningPolls) return send(res, 200, runningView(resource));
    job.onDone?.();
    job.onDone = undefined;
    return send(res, 200, resource);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const buf = Buffer.concat(chunks);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const query: Record<string, string> = {};
    u.searchParams.forEach((v, k) => (query[k] = v));
    const method = (req.method ?? 'GET').toUpperCase();
    let body: any;
    let upload: string | undefined;
    const parts = u.pathname.startsWith('/upload/') ? parseMultipart(headers['content-type'] ?? '', buf) : undefined;
    if (parts) {
      // teeny-request's multipart/related: part 1 the JSON job resource, part 2 the data
      const jsonPart = parts.find((x) => /json/i.test(x.headers['content-type'] ?? '')) ?? parts[0];
      const dataPart = parts.find((x) => x !== jsonPart);
      const text = jsonPart?.data.toString('utf8') ?? '';
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      upload = dataPart?.data.toString('utf8');
    } else {
      const raw = buf.toString('utf8');
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch {
          body = raw;
        }
      }
    }
    const record: FakeRequest = { method, path: u.pathname, query, body, headers };
    if (upload !== undefined) record.upload = upload;
    requests.push(record);

    if (!/^Bearer \S+/.test(headers.authorization ?? '')) {
      return fail(res, 401, 'required', 'Request is missing required authentication credential. Expected OAuth 2 access token.', 'Authorization');
    }
    const up = /^\/upload\/bigquery\/v2\/projects\/([^/]+)\/jobs$/.exec(u.pathname);
    if (up && method === 'POST') return handleLoadUpload(res, decodeURIComponent(up[1]), query, body, upload);
    const m = /^\/bigquery\/v2\/projects\/([^/]+)(\/.*)?$/.exec(u.pathname);
    if (!m) return fail(res, 400, 'invalid', `fake BigQuery does not implement ${method} ${u.pathname}`);
    const p = decodeURIComponent(m[1]);
    const rest = (m[2] ?? '').split('/').filter(Boolean).map(decodeURIComponent);
    const route = `${method} ${rest.map((s, i) => (i % 2 === 0 ? s : '*')).join('/')}`;

    switch (route) {
      // jobs.insert
      case 'POST jobs': {
        const configuration = body?.configuration ?? {};
        for (const kind of ['load', 'copy', 'extract']) {
          if (configuration[kind]) {
            return fail(res, 400, 'invalid', `fake BigQuery does not implement ${kind} jobs via jobs.insert (only query jobs, and load jobs uploading a local file)`);
          }
        }
        const sql: string = configuration.query?.query ?? '';
        const dryRun = !!configuration.dryRun;
        const location: string = body?.jobReference?.location ?? queryLocation(sql);
        const jobId: string = body?.jobReference?.jobId ?? randomUUID();
        // a job id that exists already (e.g. the client retrying an insert whose answer was lost) is a
        // 409 before anything else, and uses up no scripted answer
        if (!dryRun && jobs.has(`${p}:${jobId}`)) return fail(res, 409, 'duplicate', `Already Exists: Job ${p}:${location}.${jobId}`);
        const answer = takeAnswer(sql, paramValues(configuration.query?.queryParameters), dryRun);
        const mode = httpErrorFor(answer, dryRun, 'insert');
        if (mode === 'retry-after') return rateLimited429(res, (answer as { status429RetryAfterSeconds: number }).status429RetryAfterSeconds);
        const error = 'error' in answer ? answer.error : undefined;
        if (mode === 'http' && error) return fail(res, error.httpStatus, error.reason, error.message, error.location);
        if (dryRun) {
          const ok = okAnswer(answer);
          return send(res, 200, jobResource(p, undefined, location, configuration, sql, ok.totalBytesProcessed ?? 0, undefined, undefined, ok.fields ?? (ok.rows?.length ? inferFields(ok.rows) : undefined), ok.referencedTables));
        }
        const job = createJob(p, jobId, location, configuration, sql, answer, error);
        const script = answer as FakeJobScript;
        if (script.runningPolls && script.runningPolls > 0) job.runningPolls = script.runningPolls;
        if (script.failPolls && script.failPolls.times > 0) {
          job.failPolls = { left: script.failPolls.times, with: script.failPolls.with ?? 503, on: script.failPolls.on ?? 'both' };
        }
        if (script.failRunningPolls) job.failRunningPolls = { at: script.failRunningPolls.at, with: script.failRunningPolls.with ?? 503 };
        if (script.runningHoldMs) job.runningHoldMs = script.runningHoldMs;
        if (script.loseInsertAnswer !== undefined) return failWith(res, script.loseInsertAnswer);
        return send(res, 200, job.runningPolls ? runningView(job.resource) : job.resource);
      }
      // jobs.list: the child jobs of a script (parentJobId) — the only listing Vigil asks for
      case 'GET jobs': {
        if (!query.parentJobId) return fail(res, 400, 'invalid', 'fake BigQuery lists jobs by parentJobId only');
        if (server.refuseJobList) return fail(res, 403, 'accessDenied', `Access Denied: Project ${p}: User does not have bigquery.jobs.list permission in project ${p}.`);
        const children = [...jobs.entries()].filter(([k, j]) => k.startsWith(`${p}:`) && j.childOf === query.parentJobId).map(([, j]) => j.resource);
        return send(res, 200, { kind: 'bigquery#jobList', etag: randomUUID(), jobs: children.map((r) => ({ id: r.id, kind: r.kind, jobReference: r.jobReference, state: r.status.state, statistics: r.statistics, status: r.status, configuration: r.configuration, user_email: r.user_email })) });
      }
      // jobs.get
      case 'GET jobs/*': {
        const job = locatedJob(`${p}:${rest[1]}`, query.location);
        if (!job) return fail(res, 404, 'notFound', `Not found: Job ${p}:${query.location ?? 'US'}.${rest[1]}`);
        if (job.runningPolls) {
          job.runningPolls--;
          return send(res, 200, runningView(job.resource));
        }
        if (failedPoll(res, job, 'jobs.get')) return;
        if (job.onDone) {
          const done = job.onDone;
          job.onDone = undefined;
          done();
        }
        return send(res, 200, job.resource);
      }
      // jobs.cancel
      case 'POST jobs/*/cancel': {
        const job = locatedJob(`${p}:${rest[1]}`, query.location);
        if (!job) return fail(res, 404, 'notFound', `Not found: Job ${p}:${query.location ?? 'US'}.${rest[1]}`);
        return send(res, 200, { kind: 'bigquery#jobCancelResponse', job: job.resource });
      }
      // jobs.getQueryResults
      case 'GET queries/*': {
        const job = locatedJob(`${p}:${rest[1]}`, query.location);
        if (!job) return fail(res, 404, 'notFound', `Not found: Job ${p}:${query.location ?? 'US'}.${rest[1]}`);
        job.resultsPolls = (job.resultsPolls ?? 0) + 1;
        if (job.runningPolls && job.failRunningPolls?.at.includes(job.resultsPolls)) return failWith(res, job.failRunningPolls.with);
        if (job.runningPolls) {
          job.runningPolls--;
          if (job.runningHoldMs) await new Promise((r) => setTimeout(r, job.runningHoldMs));
          return send(res, 200, { kind: 'bigquery#getQueryResultsResponse', etag: randomUUID(), jobReference: job.resource.jobReference, jobComplete: false });
        }
        if (failedPoll(res, job, 'getQueryResults')) return;
        if (job.error) return fail(res, job.error.httpStatus, job.error.reason, job.error.message, job.error.location);
        const start = query.pageToken?.startsWith('fake-page-') ? Number(query.pageToken.slice(10)) : Number(query.startIndex ?? 0);
        const maxResults = query.maxResults ? Number(query.maxResults) : job.pageRows;
        return send(res, 200, resultsBody(job, 'bigquery#getQueryResultsResponse', tsFormatFromQs(query), maxResults, start));
      }
      // jobs.query
      case 'POST queries': {
        const sql: string = body?.query ?? '';
        const location: string = body?.location ?? 'US';
        const answer = takeAnswer(sql, paramValues(body?.queryParameters));
        const mode = httpErrorFor(answer, false, 'query');
        if (mode === 'retry-after') return rateLimited429(res, (answer as { status429RetryAfterSeconds: number }).status429RetryAfterSeconds);
        if ('error' in answer) return fail(res, answer.error.httpStatus, answer.error.reason, answer.error.message, answer.error.location);
        const configuration = {
          query: { query: sql, useLegacySql: body?.useLegacySql ?? false, maximumBytesBilled: body?.maximumBytesBilled },
          labels: body?.labels,
        };
        const job = createJob(p, `job_${randomUUID().replace(/-/g, '')}`, location, configuration, sql, answer);
        const fo = body?.formatOptions ?? {};
        const fmt: TsFormat = fo.timestampOutputFormat === 'ISO8601_STRING' ? 'iso' : fo.useInt64Timestamp || fo.timestampOutputFormat === 'INT64' ? 'int64' : 'float';
        return send(res, 200, resultsBody(job, 'bigquery#queryResponse', fmt, body?.maxResults ? Number(body.maxResults) : undefined));
      }
      // datasets.get
      case 'GET datasets/*': {
        const ds = datasets.get(`${p}:${rest[1]}`);
        if (!ds) return fail(res, 404, 'notFound', `Not found: Dataset ${p}:${rest[1]}`);
        return send(res, 200, ds);
      }
      // datasets.insert
      case 'POST datasets': {
        const d: string | undefined = body?.datasetReference?.datasetId;
        if (!d) return fail(res, 400, 'invalid', 'Missing required field: datasetReference.datasetId.');
        const dp: string = body?.datasetReference?.projectId ?? p;
        if (datasets.has(`${dp}:${d}`)) return fail(res, 409, 'duplicate', `Already Exists: Dataset ${dp}:${d}`);
        const { datasetReference: _ref, projectId: _p, ...extra } = body ?? {};
        const ds = datasetResource(dp, d, body?.location ?? 'US', extra);
        datasets.set(`${dp}:${d}`, ds);
        return send(res, 200, ds);
      }
      // datasets.delete
      case 'DELETE datasets/*': {
        if (!datasets.delete(`${p}:${rest[1]}`)) return fail(res, 404, 'notFound', `Not found: Dataset ${p}:${rest[1]}`);
        for (const k of [...tables.keys()]) if (k.startsWith(`${p}:${rest[1]}.`)) tables.delete(k);
        res.writeHead(204).end();
        return;
      }
      // tables.get
      case 'GET datasets/*/tables/*': {
        const [, d, , t] = rest;
        const tb = tables.get(`${p}:${d}.${t}`);
        if (tb) return send(res, 200, tb);
        if (!datasets.has(`${p}:${d}`)) return fail(res, 404, 'notFound', `Not found: Dataset ${p}:${d}`);
        return fail(res, 404, 'notFound', `Not found: Table ${p}:${d}.${t}`);
      }
      // tables.insert
      case 'POST datasets/*/tables': {
        const d = rest[1];
        const t: string | undefined = body?.tableReference?.tableId;
        if (!t) return fail(res, 400, 'invalid', 'Missing required field: tableReference.tableId.');
        if (!datasets.has(`${p}:${d}`)) return fail(res, 404, 'notFound', `Not found: Dataset ${p}:${d}`);
        if (tables.has(`${p}:${d}.${t}`)) return fail(res, 409, 'duplicate', `Already Exists: Table ${p}:${d}.${t}`);
        const tb = tableResource(p, d, t, {
          type: body?.view ? 'VIEW' : 'TABLE',
          fields: body?.schema?.fields ?? [],
          view: body?.view,
          timePartitioning: body?.timePartitioning,
          rangePartitioning: body?.rangePartitioning,
          clustering: body?.clustering,
          description: body?.description,
        });
        tables.set(`${p}:${d}.${t}`, tb);
        return send(res, 200, tb);
      }
      // tables.delete
      case 'DELETE datasets/*/tables/*': {
        const [, d, , t] = rest;
        if (!tables.delete(`${p}:${d}.${t}`)) return fail(res, 404, 'notFound', `Not found: Table ${p}:${d}.${t}`);
        res.writeHead(204).end();
        return;
      }
      default:
        return fail(res, 400, 'invalid', `fake BigQuery does not implement ${method} ${u.pathname}`);
    }
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) fail(res, 400, 'invalid', `fake BigQuery failed: ${(e as Error)?.message ?? String(e)}`);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (http.address() as AddressInfo).port;

  const server: FakeBigQuery = {
    url: `http://127.0.0.1:${port}`,
    refuseJobList: false,
    requests,
    onQuery(match, answer) {
      rules.push({ match: matcher(match), answer, left: answer.times });
    },
    onLoad(answer) {
      loadRules.push({ answer, left: answer.times });
    },
    addDataset(project, dataset, meta) {
      if (!datasets.has(`${project}:${dataset}`)) datasets.set(`${project}:${dataset}`, datasetResource(project, dataset, meta?.location));
    },
    addTable(project, dataset, table, meta) {
      server.addDataset(project, dataset);
      tables.set(`${project}:${dataset}.${table}`, tableResource(project, dataset, table, meta));
    },
    job(project, jobId) {
      return jobs.get(`${project}:${jobId}`)?.resource;
    },
    executions(match, opts) {
      return executedJobIds(match, opts).length;
    },
    executedJobIds,
    close() {
      return new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
  return server;
}

export interface FakeClientOptions {
  /** Default `vigil-test`. */
  projectId?: string;
  location?: string;
  /** Passed to the client; default `{ maxRetryDelay: 0.005 }` (5 ms between retries, 3 retries). */
  retryOptions?: BigQueryOptions['retryOptions'];
  /** Bearer token to send; default `fake-token`. */
  token?: string;
}

/** A BigQuery client from the real library pointed at the fake, with a static token, making no other network call. */
export async function fakeBigQueryClient(fake: FakeBigQuery, opts: FakeClientOptions = {}): Promise<BigQuery> {
  const retryOptions = { maxRetryDelay: 0.005, ...(opts.retryOptions ?? {}) };
  if (!(Number(retryOptions.maxRetryDelay) > 0) || (retryOptions.totalTimeout !== undefined && !(retryOptions.totalTimeout > 0))) {
    throw new Error('fakeBigQueryClient: retryOptions.maxRetryDelay and totalTimeout must be > 0 (a retry delay <= 0 makes retry-request hang instead of failing)');
  }
  const authClient = new OAuth2Client();
  authClient.setCredentials({
    access_token: opts.token ?? 'fake-token',
    token_type: 'Bearer',
    expiry_date: Date.now() + 10 * 365 * 24 * 3600 * 1000,
  });
  // teeny-request sends even 127.0.0.1 through HTTP(S)_PROXY unless NO_PROXY names it.
  if (process.env.HTTP_PROXY || process.env.http_proxy || process.env.HTTPS_PROXY || process.env.https_proxy) {
    const noProxy = process.env.NO_PROXY || process.env.no_proxy || '';
    if (!noProxy.split(',').map((s) => s.trim()).includes('127.0.0.1')) {
      process.env.NO_PROXY = noProxy ? `${noProxy},127.0.0.1` : '127.0.0.1';
    }
  }
  // BIGQUERY_EMULATOR_HOST would override apiEndpoint; it is only read in the constructor.
  const emulator = process.env.BIGQUERY_EMULATOR_HOST;
  delete process.env.BIGQUERY_EMULATOR_HOST;
  try {
    return new BigQuery({
      projectId: opts.projectId ?? 'vigil-test',
      location: opts.location,
      apiEndpoint: fake.url,
      authClient,
      retryOptions,
    });
  } finally {
    if (emulator !== undefined) process.env.BIGQUERY_EMULATOR_HOST = emulator;
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/i;

/**
 * Make every TCP/TLS connect to a host other than loopback fail immediately (ECONNREFUSED-like error)
 * and record it, so a stray call to Google (metadata server, oauth2, bigquery.googleapis.com) fails
 * fast and visibly instead of hanging. Patches `net.Socket.prototype.connect` for this process;
 * call `restore()` after the tests.
 */
export function blockNonLoopbackConnections(): { attempts: string[]; blocked: string[]; restore(): void } {
  const attempts: string[] = [];
  const blocked: string[] = [];
  const original = Socket.prototype.connect;
  const patched = function (this: Socket, ...args: unknown[]): Socket {
    let a = args[0];
    if (Array.isArray(a)) a = a[0];
    let host: string | undefined;
    let port: unknown;
    let path: string | undefined;
    if (a && typeof a === 'object') {
      const o = a as { host?: string; port?: unknown; path?: string };
      host = o.host;
      port = o.port;
      // net treats a non-empty `path` as an IPC socket; http.Agent passes `path: null`
      if (typeof o.path === 'string' && o.path !== '') path = o.path;
    } else if (typeof a === 'number' || (typeof a === 'string' && /^\d+$/.test(a))) {
      port = a;
      host = typeof args[1] === 'string' ? args[1] : undefined;
    } else if (typeof a === 'string') {
      path = a;
    }
    if (path === undefined) {
      const target = `${host ?? 'localhost'}:${String(port)}`;
      attempts.push(target);
      if (!LOOPBACK.test(host ?? 'localhost')) {
        blocked.push(target);
        const err = Object.assign(new Error(`blocked non-loopback connection to ${target} (test network guard)`), { code: 'ECONNREFUSED' });
        process.nextTick(() => this.destroy(err));
        return this;
      }
    }
    return (original as (...a: unknown[]) => Socket).apply(this, args);
  };
  Socket.prototype.connect = patched as typeof Socket.prototype.connect;
  return {
    attempts,
    blocked,
    restore() {
      if (Socket.prototype.connect === (patched as unknown)) Socket.prototype.connect = original;
    },
  };
}

/**
 * For a test file (or a describe block): the fake started and non-loopback connections blocked
 * before its tests, both undone after. Read `.fake` and `.guard` inside the tests.
 */
export function useFakeBigQuery(): { readonly fake: FakeBigQuery; readonly guard: ReturnType<typeof blockNonLoopbackConnections> } {
  const ctx = {} as { fake: FakeBigQuery; guard: ReturnType<typeof blockNonLoopbackConnections> };
  beforeAll(async () => {
    ctx.guard = blockNonLoopbackConnections();
    ctx.fake = await startFakeBigQuery();
  });
  afterAll(async () => {
    await ctx.fake?.close();
    ctx.guard?.restore();
  });
  return ctx;
}
