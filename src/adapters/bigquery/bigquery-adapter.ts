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
import { partitionField, type Adapter, type Column, type LoadRequest, type MaterializeRequest, type MaterializeResult, type Row } from '../adapter.js';
import type { Relation, SqlParam } from '../dialect.js';
import type { SyncWriter } from '../../sync/sync-types.js';
import { bigQueryDialect, bigQueryHelpersSql } from './bigquery-dialect.js';
import type { BigQueryTargetConfig } from './bigquery-config.js';
import { warehouse } from './index.js';
import { formatBytes } from '../../format.js';
import { BigQuerySyncWriter } from './bigquery-sync-writer.js';

const RETRYABLE = new Set(['rateLimitExceeded', 'backendError', 'internalError']);

/** A BigQuery error, as the executor wants it: reason, message, `LINE n:` and the job id. */
export function bqError(e: unknown, sql: string, jobId?: string): WarehouseError {
  const err = e as { message?: string; code?: number; errors?: Array<{ reason?: string; message?: string; location?: string }> };
  const first = err.errors?.[0];
  const reason = first?.reason ?? (err.code ? `http ${err.code}` : 'error');
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
  const o = p as { field: string; data_type?: string; granularity?: string };
  const g = (o.granularity ?? 'day').toUpperCase();
  const t = (o.data_type ?? 'date').toLowerCase();
  const f = bigQueryDialect.quoteIdent(o.field);
  if (t === 'timestamp') return `TIMESTAMP_TRUNC(${f}, ${g})`;
  if (t === 'datetime') return `DATETIME_TRUNC(${f}, ${g})`;
  if (t === 'int64') return f;
  return g === 'DAY' ? f : `DATE_TRUNC(${f}, ${g})`;
}

const str = (v: string) => bigQueryDialect.literal(v);

/** BigQuery's type of a positional parameter (a NULL needs one too). */
function paramType(v: SqlParam): string {
  if (typeof v === 'boolean') return 'BOOL';
  if (typeof v === 'number') return Number.isInteger(v) ? 'INT64' : 'FLOAT64';
  return 'STRING';
}

export class BigQueryAdapter implements Adapter {
  readonly warehouse = warehouse;
  readonly type = 'bigquery';
  readonly dialect = bigQueryDialect;
  readonly maxConcurrency: number;
  private helpersReady?: Promise<void>;

  constructor(
    readonly client: BigQuery,
    readonly cfg: BigQueryTargetConfig,
    threads = 4,
  ) {
    this.maxConcurrency = threads;
  }

  static async open(cfg: BigQueryTargetConfig, threads = 4, client?: BigQuery): Promise<BigQueryAdapter> {
    if (client) return new BigQueryAdapter(client, cfg, threads);
    const { BigQuery: Client } = await import('@google-cloud/bigquery');
    const options: Record<string, unknown> = { projectId: cfg.project, location: cfg.location };
    const cred = cfg.credentials?.trim();
    if (cred) {
      if (cred.startsWith('{')) {
        try {
          options.credentials = JSON.parse(cred);
        } catch {
          throw new WarehouseError('credentials look like JSON but do not parse: check the service-account key in the environment variable', '');
        }
      } else options.keyFilename = cred;
    }
    // an emulator or proxy endpoint, and a plain access token (e.g. `gcloud auth print-access-token`)
    if (process.env.VIGIL_BIGQUERY_API_ENDPOINT) options.apiEndpoint = process.env.VIGIL_BIGQUERY_API_ENDPOINT;
    const token = process.env.VIGIL_BIGQUERY_ACCESS_TOKEN;
    if (token && !cred) {
      const { OAuth2Client } = await import('google-auth-library');
      const auth = new OAuth2Client();
      auth.setCredentials({ access_token: token, token_type: 'Bearer', expiry_date: Date.now() + 3600_000 });
      options.authClient = auth;
    }
    return new BigQueryAdapter(new Client(options), cfg, threads);
  }

  private jobOptions(sql: string, dryRun: boolean, jobId?: string, params?: SqlParam[]): Record<string, unknown> {
    return {
      jobId,
      query: sql,
      ...(params?.length ? { params, types: params.map(paramType) } : {}),
      useLegacySql: false,
      location: this.cfg.location,
      labels: { ...(this.cfg.labels ?? {}), tool: 'vigil' },
      dryRun,
      maximumBytesBilled: this.cfg.maximum_bytes_billed ? String(this.cfg.maximum_bytes_billed) : undefined,
      jobTimeoutMs: this.cfg.timeout_ms,
      priority: this.cfg.priority === 'batch' ? 'BATCH' : 'INTERACTIVE',
    };
  }

  /** Run a query job, retrying rate limits and backend errors with backoff. */
  private async run(sql: string, params?: SqlParam[]): Promise<{ rows: Row[]; job: Job }> {
    let attempt = 0;
    for (;;) {
      // our own job id, so an error can always name the job a user can look up in the console
      const jobId = `vigil_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 10)}`;
      try {
        const [job] = await this.client.createQueryJob(this.jobOptions(sql, false, jobId, params));
        const [rows] = await job.getQueryResults();
        return { rows: rows as Row[], job };
      } catch (e) {
        const reason = (e as { errors?: Array<{ reason?: string }> }).errors?.[0]?.reason;
        const code = (e as { code?: number }).code ?? 0;
        if (attempt < 4 && (RETRYABLE.has(reason ?? '') || code === 429 || code >= 500)) {
          attempt++;
          await new Promise((r) => setTimeout(r, Math.min(8000, 250 * 2 ** attempt)));
          continue;
        }
        throw bqError(e, sql, jobId);
      }
    }
  }

  async execute(sql: string, params?: SqlParam[]): Promise<void> {
    await this.run(sql, params);
  }

  async query<T extends Row = Row>(sql: string, params?: SqlParam[]): Promise<T[]> {
    return (await this.run(sql, params)).rows as T[];
  }

  /** A statement's DML row count (`numDmlAffectedRows`). */
  async executeCounted(sql: string, params?: SqlParam[]): Promise<number> {
    const { job } = await this.run(sql, params);
    return Number((job.metadata as { statistics?: { query?: { numDmlAffectedRows?: string } } })?.statistics?.query?.numDmlAffectedRows ?? 0);
  }

  syncWriter(): SyncWriter {
    return new BigQuerySyncWriter(this);
  }

  /** A CSV load job into `rel` (its dataset in the target project). */
  async loadCsv(rel: Relation, fields: Array<{ name: string; type: string }>, file: string, writeDisposition: 'WRITE_TRUNCATE' | 'WRITE_APPEND'): Promise<number> {
    const table = this.client.dataset(rel.schema, { projectId: rel.database ?? this.cfg.project }).table(rel.identifier);
    try {
      const [job] = await table.load(file, {
        sourceFormat: 'CSV',
        schema: { fields },
        writeDisposition,
        createDisposition: 'CREATE_IF_NEEDED',
        allowQuotedNewlines: true,
        location: this.cfg.location,
      } as never);
      return Number((job as { statistics?: { load?: { outputRows?: string } } })?.statistics?.load?.outputRows ?? 0);
    } catch (e) {
      throw bqError(e, `load ${file} into ${this.dialect.relation(rel)}`);
    }
  }

  async loadTable(req: LoadRequest): Promise<number> {
    await this.ensureSchema(req.relation.schema);
    // BigQuery has no primary keys or indexes: a clustered table reads by the key quickly
    return this.loadCsv(req.relation, req.columns.map((c) => ({ name: c.name, type: this.dialect.type(c.type) })), req.file, 'WRITE_TRUNCATE');
  }

  /** Bytes the statement would process, without running it. */
  async dryRun(sql: string): Promise<{ bytesProcessed: number }> {
    try {
      const [job] = await this.client.createQueryJob(this.jobOptions(sql, true));
      const bytes = Number((job.metadata as { statistics?: { totalBytesProcessed?: string } })?.statistics?.totalBytesProcessed ?? 0);
      return { bytesProcessed: bytes };
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
    return m.type === 'VIEW' || m.type === 'MATERIALIZED_VIEW' ? 'view' : 'table';
  }

  async columns(rel: Relation): Promise<Column[]> {
    const m = await this.metadata(rel);
    const fields = ((m?.schema as { fields?: Array<{ name: string; type: string }> })?.fields ?? []);
    return fields.map((f) => ({ name: f.name, data_type: f.type }));
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
  viewDdl(rel: Relation, sql: string, req: Pick<MaterializeRequest, 'config' | 'description'>): string {
    const opts = this.options(req, true);
    return `CREATE OR REPLACE VIEW ${this.dialect.relation(rel)}${opts ? `\n${opts}` : ''}\nAS\n${sql}`;
  }

  /** Everything a full build of the model runs, as one script (pure; golden-tested). */
  buildScript(req: MaterializeRequest): string {
    const kind = req.kind === 'view' ? 'VIEW' : 'TABLE';
    return this.script([
      req.kind === 'view' ? this.viewDdl(req.relation, req.sql, req) : this.tableDdl(req.relation, req.sql, req),
      this.columnDescriptions(req.relation, kind, req.columns),
    ]);
  }

  /** The DDL for a table with its partitioning, clustering and options. */
  tableDdl(rel: Relation, sql: string, req: Pick<MaterializeRequest, 'config' | 'description'>): string {
    const c = req.config ?? {};
    const parts = [`CREATE OR REPLACE TABLE ${this.dialect.relation(rel)}`];
    const p = partitionExpr(c.partition_by);
    if (p) parts.push(`PARTITION BY ${p}`);
    const cluster = c.cluster_by ? (Array.isArray(c.cluster_by) ? c.cluster_by : [c.cluster_by]) : [];
    if (cluster.length) parts.push(`CLUSTER BY ${cluster.map((x) => this.dialect.quoteIdent(String(x))).join(', ')}`);
    const opts = this.options(req);
    if (opts) parts.push(opts);
    return `${parts.join('\n')}\nAS\n${sql}`;
  }

  private options(req: Pick<MaterializeRequest, 'config' | 'description'>, forView = false): string | undefined {
    const c = req.config ?? {};
    const o: string[] = [];
    if (req.description) o.push(`description=${str(req.description)}`);
    const labels = { ...(this.cfg.labels ?? {}), ...((c.labels as Record<string, string>) ?? {}) };
    if (Object.keys(labels).length) o.push(`labels=[${Object.entries(labels).map(([k, v]) => `(${str(k)}, ${str(v)})`).join(', ')}]`);
    if (!forView && typeof c.partition_expiration_days === 'number') o.push(`partition_expiration_days=${c.partition_expiration_days}`);
    if (!forView && c.require_partition_filter === true) o.push('require_partition_filter=true');
    return o.length ? `OPTIONS(${o.join(', ')})` : undefined;
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

  /** With maximum_bytes_billed set, a statement is dry-run first and refused when it is over. */
  private async guard(sql: string): Promise<void> {
    const max = this.cfg.maximum_bytes_billed;
    if (!max) return;
    const { bytesProcessed } = await this.dryRun(sql);
    if (bytesProcessed > max) {
      throw new WarehouseError(`would process ${formatBytes(bytesProcessed)}, over maximum_bytes_billed (${formatBytes(max)}); refused before running. Raise the limit in project.yaml or filter the model`, sql);
    }
  }

  async materialize(req: MaterializeRequest): Promise<MaterializeResult> {
    const d = this.dialect;
    const rel = d.relation(req.relation);
    await this.helpers(req.incrementalSql ?? req.sql);
    const existing = await this.metadata(req.relation);
    const isView = existing && (existing.type === 'VIEW' || existing.type === 'MATERIALIZED_VIEW');
    await this.guard(req.kind === 'incremental' && existing && !req.fullRefresh ? (req.incrementalSql ?? req.sql) : req.sql);
    if (req.kind === 'view') {
      await this.execute(this.script([existing && !isView ? `DROP TABLE ${rel}` : undefined, this.viewDdl(req.relation, req.sql, req), this.columnDescriptions(req.relation, 'VIEW', req.columns)]));
      return { message: 'created view' };
    }
    const c = req.config ?? {};
    const incremental = req.kind === 'incremental' && existing && !isView && !req.fullRefresh;
    if (!incremental) {
      // CREATE OR REPLACE cannot change a table's partitioning or clustering: drop it first
      const wantPart = partitionField(c.partition_by) ?? null;
      const havePart = (existing?.timePartitioning as { field?: string } | undefined)?.field ?? ((existing?.rangePartitioning as { field?: string } | undefined)?.field ?? null);
      const wantCluster = JSON.stringify(c.cluster_by ? (Array.isArray(c.cluster_by) ? c.cluster_by : [c.cluster_by]) : []);
      const haveCluster = JSON.stringify((existing?.clustering as { fields?: string[] } | undefined)?.fields ?? []);
      const changed = !!existing && !isView && (wantPart !== havePart || wantCluster !== haveCluster);
      await this.execute(
        this.script([
          isView ? `DROP VIEW ${rel}` : changed ? `DROP TABLE ${rel}` : undefined,
          this.tableDdl(req.relation, req.sql, req),
          this.columnDescriptions(req.relation, 'TABLE', req.columns),
        ]),
      );
      return { message: `${changed ? 'recreated' : 'created'} ${req.kind === 'incremental' ? 'incremental table' : 'table'}` };
    }
    const names = (((existing!.schema as { fields?: Array<{ name: string }> })?.fields) ?? []).map((f) => f.name);
    const rows = await this.executeCounted(this.incrementalStatement(req, names));
    return { message: `merged ${rows} rows into`, rows };
  }

  /** The statement an incremental run executes against an existing table with `columns` (pure). */
  incrementalStatement(req: MaterializeRequest, columns: string[]): string {
    const d = this.dialect;
    const rel = d.relation(req.relation);
    const c = req.config ?? {};
    const src = req.incrementalSql ?? req.sql;
    const cols = columns.map((x) => d.quoteIdent(x));
    const strategy = req.strategy ?? (req.uniqueKey?.length ? 'merge' : 'append');
    if (strategy === 'append' || (!req.uniqueKey?.length && strategy !== 'insert_overwrite')) {
      return `INSERT INTO ${rel} (${cols.join(', ')})\nSELECT ${cols.join(', ')} FROM (\n${src}\n)`;
    }
    if (strategy === 'insert_overwrite') {
      const p = partitionExpr(c.partition_by);
      if (!p) throw new WarehouseError(`incremental_strategy insert_overwrite needs partition_by on ${rel}`, '');
      const pt = p.replace(/`([^`]+)`/g, 'T.`$1`');
      // replace exactly the partitions the new rows touch, in one statement
      return this.script([
        `DECLARE vigil_partitions DEFAULT (SELECT ARRAY_AGG(DISTINCT ${p}) FROM (\n${src}\n))`,
        `MERGE ${rel} AS T\nUSING (\n${src}\n) AS S\nON FALSE\nWHEN NOT MATCHED BY SOURCE AND ${pt} IN UNNEST(vigil_partitions) THEN DELETE\nWHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((x) => `S.${x}`).join(', ')})`,
      ]);
    }
    const pf = partitionField(c.partition_by);
    // a partition filter on the target keeps require_partition_filter tables mergeable and the scan small
    const prune = pf ? `DECLARE vigil_min DEFAULT (SELECT MIN(${d.quoteIdent(pf)}) FROM (\n${src}\n))` : undefined;
    const on = [...req.uniqueKey!.map((k) => `T.${d.quoteIdent(k)} = S.${d.quoteIdent(k)}`), ...(pf ? [`T.${d.quoteIdent(pf)} >= vigil_min`] : [])].join(' AND ');
    return this.script([
      prune,
      `MERGE ${rel} AS T\nUSING (\n${src}\n) AS S\nON ${on}\nWHEN MATCHED THEN UPDATE SET ${cols.map((x) => `${x} = S.${x}`).join(', ')}\nWHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((x) => `S.${x}`).join(', ')})`,
    ]);
  }

  async close(): Promise<void> {
    // the client holds no sockets between requests
  }
}
