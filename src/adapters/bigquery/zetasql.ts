/**
 * Google's SQL analyzer, ZetaSQL, as an offline type checker of GoogleSQL (BigQuery's SQL): the
 * `@fivetrandevelopers/zetasql` package ships its gRPC server (`remote_server.so`) and a client.
 * This module owns the server's lifetime (one process per vigil run, killed with us even on
 * SIGKILL), BigQuery's language profile, the catalog (project -> dataset -> table, type aliases,
 * UDFs, script variables), and `analyze`, which returns the output columns of a statement or an
 * error at line:column of the text it was given.
 *
 * The analyzer differs from BigQuery in known ways, handled here on purpose:
 * - `` `p.d.t` `` (one backquoted token) is one identifier to ZetaSQL: split into `` `p`.`d`.`t` ``,
 *   positions mapped back;
 * - QUALIFY needs a WHERE/GROUP BY/HAVING beside it in ZetaSQL, not in BigQuery: `WHERE TRUE` is
 *   inserted and positions mapped back;
 * - BIGINT, INT, SMALLINT, INTEGER, TINYINT, BYTEINT are declared as INT64;
 * - OPTIONS(...) are type-checked against BigQuery's option list (ZetaSQL checks none by default);
 * - aggregate PERCENTILE_CONT/DISC (ZetaSQL has them, BigQuery does not) is refused after analysis;
 * - TABLESAMPLE other than SYSTEM (n PERCENT) on a table (ZetaSQL takes any method, ROWS,
 *   REPEATABLE, subqueries, views) is refused after analysis;
 * - language features BigQuery lacks (array equality, ...) are taken out of ZetaSQL's maximum set;
 * - scripts (DECLARE, SET, IF, BEGIN...END) are split with the Parse call; declared variables
 *   become typed catalog constants and each statement is analyzed in place.
 * The optional dependency is loaded lazily; without it `loadZetaSql` says how to install it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { UsageError } from '../../errors.js';
import type { ZetaAnswers } from './zeta-answers.js';
import { freePort } from '../../free-port.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- proto-loader objects are dynamic */
type Proto = any;

export const ZETASQL_PACKAGE = '@fivetrandevelopers/zetasql';

interface ZetaModule {
  ZetaSQLClient: Proto;
  TypeKind: Record<string, number>;
  enums: Record<'LanguageFeature' | 'ResolvedNodeKind' | 'ErrorMessageMode' | 'ProductMode' | 'ParameterMode' | 'ParseLocationRecordType' | 'SignatureArgumentKind', Record<string, number>>;
  serverBinary: string;
}

/** the analyzer package loaded, by the path of its package.json (projects may install their own) */
const loaded = new Map<string, ZetaModule>();

/**
 * The analyzer package, from the project's node_modules or Vigil's own; a UsageError (exit 2)
 * saying how to install it when it is missing or cannot run on this machine.
 */
export function loadZetaSql(projectRoot: string): ZetaModule {
  const requires = [createRequire(`${projectRoot}/package.json`), createRequire(import.meta.url)];
  let pkgJson: string | undefined;
  let req: NodeRequire | undefined;
  for (const r of requires) {
    try {
      pkgJson = r.resolve(`${ZETASQL_PACKAGE}/package.json`);
      req = r;
      break;
    } catch {
      /* try the next place */
    }
  }
  if (!pkgJson || !req) {
    throw new UsageError(`vigil check on BigQuery needs Google's SQL analyzer: npm install --save-dev ${ZETASQL_PACKAGE}@1.13.0 (an optional dependency of vigil; about 110 MB, nothing is downloaded at run time)`);
  }
  const hit = loaded.get(pkgJson);
  if (hit) return hit;
  const bin = platform() === 'linux' ? (arch() === 'arm64' ? 'remote_server_arm.so' : arch() === 'x64' ? 'remote_server.so' : undefined) : platform() === 'darwin' ? (arch() === 'arm64' ? 'remote_server_arm' : 'remote_server') : undefined;
  if (!bin) throw new UsageError(`${ZETASQL_PACKAGE} ships its analyzer for Linux and macOS (x64, arm64) only; this machine is ${platform()} ${arch()}`);
  const enumOf = (n: string) => (req!(`${ZETASQL_PACKAGE}/lib/types/zetasql/${n}`) as Record<string, Record<string, number>>)[n];
  let client: Proto;
  const zeta: ZetaModule = {
    // the client (gRPC and every generated type: ~70 ms to load) only when a question is asked;
    // a check whose answers are all kept needs the enums alone
    get ZetaSQLClient(): Proto {
      return (client ??= (req!(ZETASQL_PACKAGE) as Proto).ZetaSQLClient);
    },
    TypeKind: enumOf('TypeKind'),
    enums: {
      LanguageFeature: enumOf('LanguageFeature'),
      ResolvedNodeKind: enumOf('ResolvedNodeKind'),
      ErrorMessageMode: enumOf('ErrorMessageMode'),
      ProductMode: enumOf('ProductMode'),
      ParameterMode: enumOf('ParameterMode'),
      ParseLocationRecordType: enumOf('ParseLocationRecordType'),
      SignatureArgumentKind: enumOf('SignatureArgumentKind'),
    },
    serverBinary: pkgJson.replace(/package\.json$/, '') + 'lib/zetasql/' + bin,
  };
  loaded.set(pkgJson, zeta);
  return zeta;
}

// ---- the server


/** The analyzer's calls Vigil makes: each a request in, an answer out (or an error). */
export interface ZetaCalls {
  analyze(request: Proto): Promise<Proto>;
  extractTableNamesFromStatement(request: Proto): Promise<Proto>;
  getLanguageOptions(request: Proto): Promise<Proto>;
  parse(request: Proto): Promise<Proto>;
}

export interface ZetaServer {
  z: ZetaModule;
  client: ZetaCalls;
  stop(): Promise<void>;
}

const CALLS = ['analyze', 'extractTableNamesFromStatement', 'getLanguageOptions', 'parse'] as const;

/** The analyzer's package and version: what its answers depend on besides the request. */
export function zetaBuild(projectRoot: string): string {
  const z = loadZetaSql(projectRoot);
  try {
    return `${ZETASQL_PACKAGE}@${(JSON.parse(readFileSync(z.serverBinary.replace(/lib\/zetasql\/[^/]+$/, 'package.json'), 'utf8')) as { version?: string }).version ?? '?'}`;
  } catch {
    return `${ZETASQL_PACKAGE}@?`;
  }
}

/**
 * The analyzer through its kept answers (zeta-answers.ts): a question answered before is not
 * asked again, and the server is started on the first question that is new.
 */
export function zetaWithAnswers(projectRoot: string, answers: ZetaAnswers): ZetaServer {
  const z = loadZetaSql(projectRoot);
  const client = Object.fromEntries(
    CALLS.map((m) => [m, (request: Proto) => answers.ask(m, request, async () => (await startZetaServer(projectRoot)).client[m](request))]),
  ) as unknown as ZetaCalls;
  return { z, client, stop: () => stopZetaServer() };
}

let running: Promise<ZetaServer> | undefined;
/** Tests that check many projects in one process keep the analyzer up between checks. */
let keepAlive = false;

export function keepZetaServer(on: boolean): void {
  keepAlive = on;
}

/** Stop the analyzer started by this process, if any (it also dies with the process). */
export async function stopZetaServer(force = false): Promise<void> {
  if (keepAlive && !force) return;
  const r = running;
  running = undefined;
  if (r) await (await r.catch(() => undefined))?.stop();
}

/**
 * The wrapper the server runs under: it kills the server when our stdin pipe closes (vigil
 * ended, even by SIGKILL: the raw binary does not notice its parent dying), and exits when the
 * server does (a binary that cannot run here is noticed at once, not after a timeout).
 */
// (a background job's stdin is /dev/null unless redirected: the watcher reads ours through fd 3)
const WRAPPER = 'exec 3<&0; "$0" "$@" </dev/null & p=$!; ( while read -r _; do :; done; kill $p 2>/dev/null ) <&3 & c=$!; exec 3<&-; wait $p; s=$?; kill $c 2>/dev/null; exit $s';

/** Start the analyzer once per process. */
export function startZetaServer(projectRoot: string): Promise<ZetaServer> {
  if (running) return running;
  const starting = (async (): Promise<ZetaServer> => {
    const z = loadZetaSql(projectRoot);
    try {
      void z.ZetaSQLClient; // loaded on first use: before a server is started for it
    } catch (e) {
      throw new UsageError(`${ZETASQL_PACKAGE} is installed but its client does not load (reinstall it: npm install --save-dev ${ZETASQL_PACKAGE}@1.13.0): ${(e as Error).message.split('\n')[0]}`);
    }
    const port = await freePort();
    const child: ChildProcess = spawn('/bin/sh', ['-c', WRAPPER, z.serverBinary, 'localhost', String(port)], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += String(d)));
    let exited = false;
    child.on('exit', () => (exited = true));
    // the client loads its .proto files synchronously (~1 s) while the server boots
    z.ZetaSQLClient.init(port);
    const client = z.ZetaSQLClient.getInstance();
    const t0 = Date.now();
    for (;;) {
      try {
        await client.formatSql({ sql: 'SELECT 1' });
        break;
      } catch (e) {
        if ((e as { code?: number }).code !== 14 || exited || Date.now() - t0 > 30_000) {
          z.ZetaSQLClient.API.close();
          child.stdin?.end();
          throw new UsageError(`Google's SQL analyzer (${z.serverBinary}) did not start${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : exited ? ' (it exited at once: a binary for another system? it needs glibc 2.29 or newer)' : `: ${(e as Error).message}`}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    const calls: ZetaCalls = {
      analyze: (r) => client.analyze(r),
      extractTableNamesFromStatement: (r) => client.extractTableNamesFromStatement(r),
      getLanguageOptions: (r) => client.getLanguageOptions(r),
      parse: (r) => new Promise((res, rej) => z.ZetaSQLClient.API.parse(r, (e: unknown, a: Proto) => (e ? rej(e) : res(a)))),
    };
    return {
      z,
      client: calls,
      async stop() {
        z.ZetaSQLClient.API.close();
        if (exited) return;
        const done = new Promise((r) => child.once('exit', r));
        child.stdin?.end();
        await done;
      },
    };
  })();
  running = starting;
  // a start that failed is tried again by the next check in this process (a test host, serve)
  starting.catch(() => {
    if (running === starting) running = undefined;
  });
  return starting;
}

// ---- types

export type TypeProto = Proto;

export function typeBuilders(z: ZetaModule) {
  const k = (name: string): TypeProto => ({ typeKind: z.TypeKind[`TYPE_${name}`] });
  return {
    INT64: k('INT64'),
    STRING: k('STRING'),
    FLOAT64: k('DOUBLE'),
    NUMERIC: k('NUMERIC'),
    BOOL: k('BOOL'),
    DATE: k('DATE'),
    DATETIME: k('DATETIME'),
    TIMESTAMP: k('TIMESTAMP'),
    JSON: k('JSON'),
    BYTES: k('BYTES'),
    INTERVAL: k('INTERVAL'),
    ARRAY: (element: TypeProto): TypeProto => ({ typeKind: z.TypeKind.TYPE_ARRAY, arrayType: { elementType: element } }),
    STRUCT: (fields: Record<string, TypeProto>): TypeProto => ({ typeKind: z.TypeKind.TYPE_STRUCT, structType: { field: Object.entries(fields).map(([fieldName, fieldType]) => ({ fieldName, fieldType })) } }),
  };
}

/** A type as BigQuery spells it: INT64, FLOAT64, ARRAY<STRING>, STRUCT<a INT64>. */
export function typeToSql(z: ZetaModule, t: TypeProto): string {
  const name = Object.entries(z.TypeKind).find(([, v]) => v === t.typeKind)?.[0]?.replace(/^TYPE_/, '') ?? 'UNKNOWN';
  if (name === 'ARRAY') return `ARRAY<${typeToSql(z, t.arrayType.elementType)}>`;
  if (name === 'STRUCT') return `STRUCT<${(t.structType.field as Proto[]).map((f) => `${f.fieldName ? `${f.fieldName} ` : ''}${typeToSql(z, f.fieldType)}`).join(', ')}>`;
  if (name === 'RANGE') return `RANGE<${typeToSql(z, t.rangeType.elementType)}>`;
  return ({ DOUBLE: 'FLOAT64', FLOAT: 'FLOAT32' } as Record<string, string>)[name] ?? name;
}

// ---- BigQuery's language profile

const EXTRA_FEATURES = ['FEATURE_INTERVAL_TYPE', 'FEATURE_V_1_4_GROUPING_SETS', 'FEATURE_V_1_4_GROUPING_BUILTIN', 'FEATURE_CREATE_TABLE_CLONE', 'FEATURE_ALTER_COLUMN_SET_DATA_TYPE'];
/**
 * ZetaSQL behaviours BigQuery does not have: CONCAT of non-strings, ordering, grouping and
 * comparing (`=`, `!=`, IN) ARRAYs ("Equality is not defined for arguments of type ARRAY<...>"),
 * grouping STRUCTs (BigQuery's data types: ARRAY and STRUCT are not groupable, ARRAY not comparable).
 */
const REMOVED_FEATURES = ['FEATURE_V_1_3_CONCAT_MIXED_TYPES', 'FEATURE_V_1_3_ARRAY_ORDERING', 'FEATURE_V_1_2_GROUP_BY_ARRAY', 'FEATURE_V_1_2_GROUP_BY_STRUCT', 'FEATURE_V_1_1_ARRAY_EQUALITY'];
const STATEMENT_KINDS = [
  'QUERY', 'CREATE_TABLE', 'CREATE_TABLE_AS_SELECT', 'CREATE_VIEW', 'CREATE_MATERIALIZED_VIEW', 'CREATE_FUNCTION', 'CREATE_TABLE_FUNCTION',
  'CREATE_SCHEMA', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'TRUNCATE', 'ALTER_TABLE', 'ALTER_TABLE_SET_OPTIONS', 'ALTER_VIEW',
  'ALTER_MATERIALIZED_VIEW', 'ALTER_SCHEMA', 'RENAME', 'DROP', 'DROP_MATERIALIZED_VIEW', 'DROP_FUNCTION', 'BEGIN', 'COMMIT',
  'ROLLBACK', 'ASSERT', 'EXPORT_DATA', 'GRANT', 'REVOKE',
];
const INT_ALIASES = ['INT', 'SMALLINT', 'INTEGER', 'BIGINT', 'TINYINT', 'BYTEINT'];
const SYSTEM_VARIABLES: Record<string, string> = {
  current_job_id: 'STRING', dataset_id: 'STRING', dataset_project_id: 'STRING', last_job_id: 'STRING', location: 'STRING', project_id: 'STRING',
  query_label: 'STRING', reservation: 'STRING', row_count: 'INT64', session_id: 'STRING', time_zone: 'STRING', 'error.message': 'STRING',
  'script.bytes_billed': 'INT64', 'script.bytes_processed': 'INT64', 'script.job_id': 'STRING', 'script.num_child_jobs': 'INT64', 'script.slot_ms': 'INT64',
};

export async function bigQueryLanguageOptions(srv: ZetaServer): Promise<Proto> {
  const { z, client } = srv;
  const max = await client.getLanguageOptions({ maximumFeatures: true });
  const f = new Set<number>(max.enabledLanguageFeatures);
  for (const n of EXTRA_FEATURES) f.add(z.enums.LanguageFeature[n]);
  for (const n of REMOVED_FEATURES) {
    if (z.enums.LanguageFeature[n] === undefined) throw new Error(`internal: the analyzer has no language feature ${n}`);
    f.delete(z.enums.LanguageFeature[n]);
  }
  return {
    // FLOAT64 (not DOUBLE) in messages; no INT32/UINT64/FLOAT type names
    productMode: z.enums.ProductMode.PRODUCT_EXTERNAL,
    enabledLanguageFeatures: [...f].sort((a, b) => a - b),
    supportedStatementKinds: STATEMENT_KINDS.map((s) => z.enums.ResolvedNodeKind[`RESOLVED_${s}_STMT`]),
    reservedKeywords: ['QUALIFY'],
  };
}

/** BigQuery's OPTIONS(...) names and types: a known name with a value of another type is an error. */
function allowedOptions(z: ZetaModule): Proto {
  const T = typeBuilders(z);
  const labels = T.ARRAY(T.STRUCT({ key: T.STRING, value: T.STRING }));
  const options: Record<string, TypeProto> = {
    description: T.STRING, friendly_name: T.STRING, labels, expiration_timestamp: T.TIMESTAMP, partition_expiration_days: T.FLOAT64,
    require_partition_filter: T.BOOL, kms_key_name: T.STRING, default_rounding_mode: T.STRING, rounding_mode: T.STRING,
    enable_change_history: T.BOOL, max_staleness: T.INTERVAL, enable_refresh: T.BOOL, refresh_interval_minutes: T.FLOAT64,
    allow_non_incremental_definition: T.BOOL, default_table_expiration_days: T.FLOAT64, default_partition_expiration_days: T.FLOAT64,
    is_case_insensitive: T.BOOL, max_time_travel_hours: T.INT64, uri: T.STRING, uris: T.ARRAY(T.STRING), format: T.STRING,
    overwrite: T.BOOL, header: T.BOOL, field_delimiter: T.STRING, compression: T.STRING, skip_leading_rows: T.INT64,
    library: T.ARRAY(T.STRING), privacy_policy: T.JSON, storage_billing_model: T.STRING, location: T.STRING,
  };
  return { disallowUnknownOptions: true, option: Object.entries(options).map(([name, type]) => ({ name, type })) };
}

// ---- text positions (ZetaSQL counts code points; a tab moves to the next multiple of 8, plus 1:
// lineColToIndex reads its positions so. The positions Vigil reports count a tab as one column,
// as the DuckDB and Postgres checks, the compiled-to-template mapping and editors' file:line:col do.)

export function lineColToIndex(text: string, line: number, col: number): number {
  let i = 0;
  let l = 1;
  while (l < line && i < text.length) {
    const ch = text[i++];
    if (ch === '\n') l++;
    else if (ch === '\r') {
      l++;
      if (text[i] === '\n') i++;
    }
  }
  let c = 1;
  while (c < col && i < text.length && text[i] !== '\n' && text[i] !== '\r') {
    const cp = text.codePointAt(i)!;
    c = cp === 9 ? Math.floor((c - 1) / 8) * 8 + 9 : c + 1;
    i += cp > 0xffff ? 2 : 1;
  }
  return i;
}

export function indexToLineCol(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  for (let i = 0; i < index && i < text.length; ) {
    const cp = text.codePointAt(i)!;
    if (cp === 10 || cp === 13) {
      line++;
      column = 1;
      if (cp === 13 && text[i + 1] === '\n') i++;
    } else column++;
    i += cp > 0xffff ? 2 : 1;
  }
  return { line, column };
}

const byteToIndex = (text: string, byteOffset: number) => Buffer.from(text, 'utf8').subarray(0, byteOffset).toString('utf8').length;
const indexToByte = (text: string, index: number) => Buffer.byteLength(text.slice(0, index), 'utf8');

/** A text with recorded insertions, so positions in the rewritten text map back to the original. */
class Rewritten {
  text: string;
  private readonly ins: Array<{ at: number; len: number }> = [];
  constructor(readonly original: string) {
    this.text = original;
  }
  insert(at: number, s: string): void {
    for (const x of this.ins) if (x.at >= at) x.at += s.length;
    this.ins.push({ at, len: s.length });
    this.text = this.text.slice(0, at) + s + this.text.slice(at);
  }
  toOriginalIndex(i: number): number {
    let d = 0;
    for (const x of this.ins) if (x.at < i) d += Math.min(x.len, i - x.at);
    return i - d;
  }
  map(line: number, col: number): { line: number; column: number } {
    return indexToLineCol(this.original, this.toOriginalIndex(lineColToIndex(this.text, line, col)));
  }
}

/** `` `a.b.c` `` -> `` `a`.`b`.`c` `` outside strings and comments, insertions recorded. */
export function splitQuotedPaths(sql: string): Rewritten {
  const rw = new Rewritten(sql);
  const edits: number[] = [];
  const re = /--[^\n\r]*|#[^\n\r]*|\/\*[\s\S]*?\*\/|[rRbB]{0,2}(?:'''[\s\S]*?'''|"""[\s\S]*?"""|'(?:\\[\s\S]|[^'\\\n])*'|"(?:\\[\s\S]|[^"\\\n])*")|`(?:\\[\s\S]|[^`\\])*`/g;
  for (let m; (m = re.exec(sql)); ) {
    if (m[0][0] !== '`' || !m[0].includes('.')) continue;
    let pos = m.index;
    for (const ch of m[0].slice(0, -1)) {
      if (ch === '.') edits.push(pos);
      pos++;
    }
  }
  for (const p of edits.reverse()) {
    rw.insert(p + 1, '`');
    rw.insert(p, '`');
  }
  return rw;
}

// ---- the catalog

interface TableEntry {
  name: string;
  /** `project.dataset.table`: the name resolved trees carry, whichever path found the table */
  fullName: string;
  column: Array<{ name: string; type: TypeProto; isPseudoColumn?: boolean }>;
}
interface CatalogNode {
  name?: string;
  catalogs: Map<string, CatalogNode>;
  tables: Map<string, TableEntry>;
  /** functions of this dataset (namePath: their own name) */
  functions?: Map<string, Proto>;
}

/** project -> dataset -> table, plus functions (UDFs) and constants (script variables). */
export class ZetaCatalog {
  private root: CatalogNode = { catalogs: new Map(), tables: new Map() };
  private functions: Proto[] = [];
  private constants: Proto[] = [];

  constructor(
    private readonly z: ZetaModule,
    private readonly languageOptions: Proto,
    private readonly defaultProject?: string,
  ) {}

  addTable(parts: string[], column: TableEntry['column']): this {
    const fullName = parts.join('.');
    this.put(parts, column, fullName);
    // tables of the default project are also `dataset.table`
    if (this.defaultProject && parts.length >= 3 && parts[0] === this.defaultProject) this.put(parts.slice(1), column, fullName);
    return this;
  }

  hasTable(parts: string[]): boolean {
    let node: CatalogNode | undefined = this.root;
    for (const p of parts.slice(0, -1)) node = node?.catalogs.get(p.toLowerCase());
    return !!node?.tables.has(parts[parts.length - 1].toLowerCase());
  }

  /** INFORMATION_SCHEMA views of a dataset (`[project, dataset]`) or a region (`['region-us']`). */
  addInformationSchema(prefix: string[]): this {
    const T = typeBuilders(this.z);
    const S = T.STRING;
    const views: Record<string, Record<string, TypeProto>> = prefix[0].startsWith('region-')
      ? {
          JOBS: { creation_time: T.TIMESTAMP, project_id: S, user_email: S, job_id: S, job_type: S, statement_type: S, state: S, start_time: T.TIMESTAMP, end_time: T.TIMESTAMP, query: S, total_bytes_processed: T.INT64, total_bytes_billed: T.INT64, total_slot_ms: T.INT64, cache_hit: T.BOOL, error_result: T.STRUCT({ reason: S, location: S, debug_info: S, message: S }), destination_table: T.STRUCT({ project_id: S, dataset_id: S, table_id: S }), labels: T.ARRAY(T.STRUCT({ key: S, value: S })) },
        }
      : {
          COLUMNS: { table_catalog: S, table_schema: S, table_name: S, column_name: S, ordinal_position: T.INT64, is_nullable: S, data_type: S, is_generated: S, generation_expression: S, is_stored: S, is_hidden: S, is_updatable: S, is_system_defined: S, is_partitioning_column: S, clustering_ordinal_position: T.INT64, collation_name: S, column_default: S, rounding_mode: S },
          COLUMN_FIELD_PATHS: { table_catalog: S, table_schema: S, table_name: S, column_name: S, field_path: S, data_type: S, description: S, collation_name: S, rounding_mode: S },
          TABLES: { table_catalog: S, table_schema: S, table_name: S, table_type: S, is_insertable_into: S, is_typed: S, creation_time: T.TIMESTAMP, base_table_catalog: S, base_table_schema: S, base_table_name: S, snapshot_time_ms: T.TIMESTAMP, ddl: S, default_collation_name: S },
          PARTITIONS: { table_catalog: S, table_schema: S, table_name: S, partition_id: S, total_rows: T.INT64, total_logical_bytes: T.INT64, total_billable_bytes: T.INT64, last_modified_time: T.TIMESTAMP, storage_tier: S },
          VIEWS: { table_catalog: S, table_schema: S, table_name: S, view_definition: S, check_option: S, use_standard_sql: S },
          TABLE_OPTIONS: { table_catalog: S, table_schema: S, table_name: S, option_name: S, option_type: S, option_value: S },
        };
    for (const [view, cols] of Object.entries(views)) this.addTable([...prefix, 'INFORMATION_SCHEMA', view], Object.entries(cols).map(([name, type]) => ({ name, type })));
    return this;
  }

  /** A function; a qualified one (`dataset.f`, `project.dataset.f`) lives in its dataset's catalog. */
  addFunction(fn: Proto): this {
    const path = fn.namePath as string[];
    if (path.length === 1) {
      const key = (f: Proto) => String(f.namePath[0]).toLowerCase();
      this.functions = this.functions.filter((f) => key(f) !== key(fn));
      this.functions.push(fn);
      return this;
    }
    const put = (parts: string[]) => {
      const node = this.node(parts.slice(0, -1));
      (node.functions ??= new Map()).set(parts[parts.length - 1].toLowerCase(), { ...fn, namePath: [parts[parts.length - 1]] });
    };
    put(path);
    // functions of the default project are also `dataset.function`
    if (this.defaultProject && path.length === 3 && path[0] === this.defaultProject) put(path.slice(1));
    return this;
  }

  private node(parts: string[]): CatalogNode {
    let node = this.root;
    for (const p of parts) {
      const key = p.toLowerCase();
      if (!node.catalogs.has(key)) node.catalogs.set(key, { name: p, catalogs: new Map(), tables: new Map() });
      node = node.catalogs.get(key)!;
    }
    return node;
  }

  addConstant(name: string, type: TypeProto): this {
    this.constants = this.constants.filter((c) => String(c.namePath[0]).toLowerCase() !== name.toLowerCase());
    this.constants.push({ namePath: [name], type, value: {} });
    return this;
  }

  private put(parts: string[], column: TableEntry['column'], fullName: string): void {
    const node = this.node(parts.slice(0, -1));
    const name = parts[parts.length - 1];
    node.tables.set(name.toLowerCase(), { name, fullName, column });
  }

  /** SimpleCatalogProto; `only` (lower-cased dotted paths) keeps just those tables. */
  toProto(only?: Set<string>): Proto {
    const build = (node: CatalogNode, prefix: string[]): Proto => {
      const out: Proto = { name: node.name ?? 'root' };
      const tables = [...node.tables.values()].filter((t) => !only || only.has([...prefix, t.name].join('.').toLowerCase()));
      if (tables.length) out.table = tables.map((t) => ({ name: t.name, fullName: t.fullName, column: t.column }));
      if (node.functions?.size) out.customFunction = [...node.functions.values()];
      const subs = [...node.catalogs.values()].map((c) => build(c, [...prefix, c.name!])).filter((c) => c.table || c.catalog || c.customFunction);
      if (subs.length) out.catalog = subs;
      return out;
    };
    const proto = build(this.root, []);
    proto.name = 'root';
    proto.builtinFunctionOptions = { languageOptions: this.languageOptions };
    proto.customFunction = this.functions;
    proto.constant = this.constants;
    proto.namedType = INT_ALIASES.map((name) => ({ name, type: typeBuilders(this.z).INT64 }));
    return proto;
  }

  clone(): ZetaCatalog {
    const c = new ZetaCatalog(this.z, this.languageOptions, this.defaultProject);
    const copy = (n: CatalogNode): CatalogNode => ({ name: n.name, tables: new Map(n.tables), functions: n.functions && new Map(n.functions), catalogs: new Map([...n.catalogs].map(([k, v]) => [k, copy(v)])) });
    c.root = copy(this.root);
    c.functions = [...this.functions];
    c.constants = [...this.constants];
    return c;
  }
}

// ---- analysis

export type Analysis =
  | {
      ok: true;
      kind: string;
      columns?: Array<{ name: string; type: TypeProto; sql: string }>;
      namePath?: string[];
      resolved: Proto;
      /** a view's query (`reads: 'view'`) that reads require_partition_filter tables unfiltered: what its own readers must filter (PartitionRequirement) */
      passesOn?: PartitionRequirement;
    }
  | { ok: false; message: string; line?: number; column?: number };

const LOC_RE = /\s*\[at (\d+):(\d+)\]/;

function unwrap(any: Proto): { node: Proto; kind: string } {
  let o = any;
  let kind = '';
  while (o && typeof o.node === 'string' && o[o.node]) {
    kind = o.node;
    o = o[o.node];
  }
  return { node: o, kind };
}

function findDeep(o: Proto, key: string): Proto {
  for (let p = o, d = 0; p && d < 10; p = p.parent, d++) if (p[key] !== undefined && p[key] !== null) return p[key];
  return undefined;
}

function findRange(o: Proto): { start: number; end: number } | undefined {
  for (let p = o, d = 0; p && d < 12; p = p.parent, d++) if (p.parseLocationRange) return p.parseLocationRange;
  const { node } = unwrap(o);
  return node !== o ? findRange(node) : undefined;
}

const kindName = (k: string) => k.replace(/^resolved/, '').replace(/(Stmt)?Node$/, '').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** Positional parameter types by their BigQuery names (the statements Vigil sends bind `?`). */
export type ParamType = 'STRING' | 'INT64' | 'FLOAT64' | 'BOOL';

/**
 * The table an ALTER TABLE / ALTER VIEW statement changes, lower-cased `a.b.c`: the analyzer's
 * list of the tables a statement names leaves it out (it is not read), but resolving the
 * statement needs it in the catalog.
 */
function alteredTable(text: string): string[] {
  const m = /^\s*ALTER\s+(?:TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?((?:`[^`]+`|[A-Za-z_][\w-]*)(?:\s*\.\s*(?:`[^`]+`|[A-Za-z_][\w-]*))*)/i.exec(text);
  if (!m) return [];
  return [(m[1].match(/`[^`]+`|[A-Za-z_][\w-]*/g) ?? []).map((p) => p.replace(/^`|`$/g, '')).join('.').toLowerCase()];
}

/**
 * What BigQuery wants of a read of a table or view (`require_partition_filter`): a filter on one
 * column of each entry of `need` (the alternatives: the names a view exposes one partition column
 * under). `through`: for a view, the tables it reads unfiltered.
 */
export interface PartitionRequirement {
  need: string[][];
  through?: string[];
}

/** An unfiltered read of a table that requires a partition filter, as the error it is: the table, the columns it wants, the scan's id of the first, where. */
type UnfilteredScan = Extract<Analysis, { ok: false }> & { table: string; columns: string[]; id?: string };

/** A resolved column's id, as the resolved AST's column references give it. */
const columnIdKey = (c: Proto) => `${c?.columnId?.low}:${c?.columnId?.high}`;

/** The ids of the columns `expr` references (not those inside its subqueries). */
function columnRefs(expr: Proto): Set<string> {
  const out = new Set<string>();
  const walk = (o: Proto) => {
    if (!o || typeof o !== 'object') return;
    if (Array.isArray(o)) return o.forEach(walk);
    if (o.resolvedColumnRefNode) out.add(columnIdKey(o.resolvedColumnRefNode.column));
    for (const [k, v] of Object.entries(o)) if (!(k === 'subquery' && o.subqueryType !== undefined)) walk(v);
  };
  walk(expr);
  return out;
}

export class ZetaAnalyzer {
  readonly T: ReturnType<typeof typeBuilders>;
  /**
   * Tables BigQuery refuses to read without a filter on their partition column
   * (`require_partition_filter`), and views that read one unfiltered: lower-cased
   * `project.dataset.table` -> what a read must filter.
   */
  readonly requirePartitionFilter = new Map<string, PartitionRequirement>();
  /** Models built as views (lower-cased `project.dataset.table`): BigQuery samples no view. */
  readonly views = new Set<string>();

  constructor(
    readonly srv: ZetaServer,
    readonly catalog: ZetaCatalog,
    readonly languageOptions: Proto,
  ) {
    this.T = typeBuilders(srv.z);
  }

  /** Nothing is held on the server between statements (kept for symmetry with start). */
  async release(): Promise<void> {}

  private options(positional?: ParamType[]): Proto {
    const { enums } = this.srv.z;
    const o: Proto = {
      languageOptions: this.languageOptions,
      // the default mode (with payload) loses the error location over gRPC
      errorMessageMode: enums.ErrorMessageMode.ERROR_MESSAGE_ONE_LINE,
      parseLocationRecordType: enums.ParseLocationRecordType.PARSE_LOCATION_RECORD_FULL_NODE_SCOPE,
      defaultTimezone: 'UTC',
      ddlPseudoColumns: [
        { name: '_PARTITIONTIME', type: this.T.TIMESTAMP },
        { name: '_PARTITIONDATE', type: this.T.DATE },
      ],
      systemVariables: Object.entries(SYSTEM_VARIABLES).map(([name, t]) => ({ namePath: name.split('.'), type: (this.T as Record<string, TypeProto>)[t] })),
      allowedHintsAndOptions: allowedOptions(this.srv.z),
    };
    if (positional?.length) {
      o.parameterMode = enums.ParameterMode.PARAMETER_POSITIONAL;
      o.positionalQueryParameters = positional.map((p) => (this.T as Record<string, TypeProto>)[p]);
    }
    return o;
  }

  /**
   * The catalog to analyze `text` against: only the tables it names (asked of the analyzer),
   * sent inline with the functions and constants. Sending or registering a whole catalog costs
   * ~0.25 s per statement at 1,000 tables; this stays ~10 ms whatever the project's size.
   */
  private async catalogFor(text: string, catalog: ZetaCatalog = this.catalog, also: Iterable<string> = []): Promise<Proto> {
    try {
      const r = await this.srv.client.extractTableNamesFromStatement({ sqlStatement: text, options: this.languageOptions });
      const only = new Set<string>([...(r.tableName as Proto[]).map((t) => (t.tableNameSegment as string[]).join('.').toLowerCase()), ...also, ...alteredTable(text)]);
      return { simpleCatalog: catalog.toProto(only) };
    } catch {
      return { simpleCatalog: catalog.toProto() }; // a syntax error: the analysis reports it
    }
  }

  private error(e: unknown, rw: Rewritten, base?: { index: number; text: string }): Analysis {
    const err = e as { code?: number; details?: string };
    if (err.code !== 3 || typeof err.details !== 'string') throw e; // the analyzer itself failed, not the SQL
    const m = LOC_RE.exec(err.details);
    const message = err.details.replace(LOC_RE, '');
    if (!m) return { ok: false, message };
    if (base) {
      const idx = base.index + lineColToIndex(base.text, +m[1], +m[2]);
      return { ok: false, message, ...indexToLineCol(rw.original, rw.toOriginalIndex(idx)) };
    }
    return { ok: false, message, ...rw.map(+m[1], +m[2]) };
  }

  /** `reads`: check what the statement reads (true), nothing (false), or, for a view's query, what it passes on to its readers ('view'). */
  private result(stmt: Proto, rw: Rewritten, reads: boolean | 'view' = true): Analysis {
    const { node, kind } = unwrap(stmt);
    const cols: Array<{ name: string; type: TypeProto }> | undefined = node.outputColumnList?.length
      ? node.outputColumnList.map((c: Proto) => ({ name: c.name, type: c.column.type }))
      : findDeep(node, 'columnDefinitionList')?.map((c: Proto) => ({ name: c.name, type: c.type }));
    const namePath = findDeep(node, 'namePath');
    let passesOn: PartitionRequirement | undefined;
    let post = this.percentileAggregate(node, rw) ?? this.unsupportedSample(node, rw);
    if (!post && reads === true) post = this.unfilteredRead(node, rw)[0];
    if (!post && reads === 'view') {
      const v = this.viewRequirement(node, this.unfilteredRead(node, rw, true));
      if ('ok' in v) post = v;
      else passesOn = v;
    }
    if (post) return post;
    return {
      ok: true,
      kind: kindName(kind),
      resolved: node,
      ...(cols?.length ? { columns: cols.map((c) => ({ ...c, sql: typeToSql(this.srv.z, c.type) })) } : {}),
      ...(namePath?.length ? { namePath } : {}),
      ...(passesOn ? { passesOn } : {}),
    };
  }

  /**
   * What a view that reads require_partition_filter tables unfiltered (`scans`) passes on to its
   * readers. BigQuery inlines a view into the query that reads it, so a reader's filter on a
   * column of the view that is the partition column (renamed or not), or an expression of it
   * alone, is a filter on the partition column. A partition column the view does not select so
   * (not at all, or only combined with other columns, or through an aggregate) can be filtered by
   * no reader: BigQuery refuses every query over the view, an error at the scan.
   */
  private viewRequirement(root: Proto, scans: UnfilteredScan[]): PartitionRequirement | Extract<Analysis, { ok: false }> {
    if (!scans.length) return { need: [] };
    const idKey = columnIdKey;
    // column id -> the column ids it is computed from: a projection's expressions and GROUP BY
    // keys (a filter above them reaches the scan), a set operation's inputs by position (a
    // filter above it reaches each input: `branches`), a CTE's columns as its reads name them;
    // an aggregate's or window's result is a column of its own
    const from = new Map<string, Set<string>>();
    const branches = new Set<string>();
    const edge = (to: string, src: Iterable<string>) => {
      const s = from.get(to) ?? new Set<string>();
      for (const x of src) s.add(x);
      from.set(to, s);
    };
    const refsOf = columnRefs;
    const withColumns = new Map<string, Proto[]>();
    const withRefs: Proto[] = [];
    const visit = (o: Proto) => {
      if (!o || typeof o !== 'object') return;
      if (Array.isArray(o)) return o.forEach(visit);
      const computed = [...((o.resolvedProjectScanNode?.exprList ?? []) as Proto[]), ...((o.resolvedAggregateScanNode?.parent?.groupByList ?? []) as Proto[])];
      for (const c of computed) if (c?.column && c.expr) edge(idKey(c.column), refsOf(c.expr));
      const setOp = o.resolvedSetOperationScanNode;
      if (setOp) {
        const out = (setOp.parent?.columnList ?? []) as Proto[];
        for (const c of out) branches.add(idKey(c));
        for (const item of (setOp.inputItemList ?? []) as Proto[]) ((item.outputColumnList ?? []) as Proto[]).forEach((c, i) => out[i] && edge(idKey(out[i]), [idKey(c)]));
      }
      for (const e of (o.resolvedWithScanNode?.withEntryList ?? []) as Proto[]) withColumns.set(String(e.withQueryName), (unwrap(e.withSubquery).node?.parent?.columnList ?? []) as Proto[]);
      if (o.resolvedWithRefScanNode) withRefs.push(o.resolvedWithRefScanNode);
      for (const v of Object.values(o)) visit(v);
    };
    visit(root);
    for (const ref of withRefs) {
      const inner = withColumns.get(String(ref.withQueryName)) ?? [];
      ((ref.parent?.columnList ?? []) as Proto[]).forEach((c, i) => inner[i] && edge(idKey(c), [idKey(inner[i])]));
    }
    /** Is a filter on column `id` a filter on the scanned column `x` alone (an expression of it only; in a set operation, through one of its inputs)? */
    const exposes = (id: string, x: string, seen = new Set<string>()): boolean => {
      if (id === x) return true;
      const src = from.get(id);
      if (!src?.size || seen.has(id)) return false;
      seen.add(id);
      return branches.has(id) ? [...src].some((s) => exposes(s, x, seen)) : [...src].every((s) => exposes(s, x, seen));
    };
    const outputs = (root.outputColumnList ?? []) as Proto[];
    const need: string[][] = [];
    for (const s of scans) {
      const exposed = outputs.filter((o) => s.id !== undefined && exposes(idKey(o.column), s.id)).map((o) => String(o.name));
      if (!exposed.length) {
        const col = s.columns.length === 1 ? `'${s.columns[0]}'` : s.columns.map((c) => `'${c}'`).join(' or ');
        return {
          ok: false,
          message: `${s.table} requires a partition filter (require_partition_filter) on ${col}: this view reads it without one and does not select ${col} (as it is, renamed, or in an expression of it alone), so no query over the view can filter it, and BigQuery refuses every one. Filter ${col} in the view, or select it for the view's readers to filter`,
          line: s.line,
          column: s.column,
        };
      }
      need.push([...new Set(exposed)]);
    }
    return { need, through: [...new Set(scans.map((s) => s.table))] };
  }

  /**
   * A read of a `require_partition_filter` table with no filter on its partition column above it
   * (a WHERE of the query or a subquery around the scan; a MERGE's ON; a DELETE's or UPDATE's
   * WHERE). BigQuery refuses such a query before running it.
   */
  private unfilteredRead(root: Proto, rw: Rewritten, all = false): UnfilteredScan[] {
    const unfiltered: UnfilteredScan[] = [];
    if (!this.requirePartitionFilter.size) return unfiltered;
    const idKey = columnIdKey;
    /**
     * The columns some predicate of `expr` (its top-level ANDs) references alone. BigQuery's docs
     * ("Query partitioned tables", require a partition filter): "There must be at least one
     * predicate that only references a partitioning column"; `WHERE partition_id = "20221231" OR
     * f = "20221130"` is not sufficient. (Columns inside a subquery's own query are not counted.)
     */
    const alone = (expr: Proto, into: Set<string>): Set<string> => {
      const call = expr?.resolvedFunctionCallBaseNode?.resolvedFunctionCallNode?.parent;
      if (call?.function?.name === 'ZetaSQL:$and') {
        for (const arg of call.argumentList as Proto[]) alone(arg, into);
        return into;
      }
      const cols = columnRefs(expr);
      if (cols.size === 1) into.add([...cols][0]);
      return into;
    };
    let found = false;
    /** per CTE name: the output column positions filtered above every place it is read (undefined: not read yet) */
    const cteFilters: Array<Map<string, Set<number> | undefined>> = [];
    const visit = (o: Proto, filtered: Set<string>) => {
      if (found || !o || typeof o !== 'object') return;
      if (Array.isArray(o)) return o.forEach((x) => visit(x, filtered));
      const withScan = o.resolvedWithScanNode;
      if (withScan) {
        // the query first, to learn how each CTE is read; then each CTE, later ones first (they may read earlier ones)
        const scope = new Map<string, Set<number> | undefined>();
        const entries = (withScan.withEntryList ?? []) as Proto[];
        for (const e of entries) scope.set(String(e.withQueryName), undefined);
        cteFilters.push(scope);
        visit(withScan.query, filtered);
        for (const e of [...entries].reverse()) {
          const cols = (unwrap(e.withSubquery).node?.parent?.columnList ?? []) as Proto[];
          const at = scope.get(String(e.withQueryName)) ?? new Set<number>();
          visit(e.withSubquery, new Set([...filtered, ...cols.filter((_c, i) => at.has(i)).map(idKey)]));
        }
        cteFilters.pop();
        return;
      }
      const ref = o.resolvedWithRefScanNode;
      if (ref) {
        // a read of a CTE: which of its columns have a filter above this read
        const cols = (ref.parent?.columnList ?? []) as Proto[];
        const here = new Set(cols.map((c, i) => (filtered.has(idKey(c)) ? i : -1)).filter((i) => i >= 0));
        for (let k = cteFilters.length - 1; k >= 0; k--) {
          if (!cteFilters[k].has(String(ref.withQueryName))) continue;
          const before = cteFilters[k].get(String(ref.withQueryName));
          cteFilters[k].set(String(ref.withQueryName), before === undefined ? here : new Set([...before].filter((i) => here.has(i))));
          break;
        }
        return;
      }
      const filter = o.resolvedFilterScanNode;
      if (filter) {
        visit(filter.filterExpr, filtered);
        return visit(filter.inputScan, alone(filter.filterExpr, new Set(filtered)));
      }
      const dml = o.resolvedMergeStmtNode ?? o.resolvedDeleteStmtNode ?? o.resolvedUpdateStmtNode;
      if (dml?.tableScan) {
        const on = alone(dml.mergeExpr ?? dml.whereExpr, new Set(filtered));
        for (const [k, v] of Object.entries(dml)) visit(v, k === 'tableScan' ? on : filtered);
        return;
      }
      const scan = o.resolvedTableScanNode;
      if (scan) {
        const name = String(scan.table?.fullName || scan.table?.name || '').toLowerCase();
        const req = this.requirePartitionFilter.get(name);
        const scanned = (scan.parent?.columnList ?? []) as Proto[];
        const idOf = (col: string) => scanned.find((c) => String(c.name).toLowerCase() === col.toLowerCase());
        for (const alternatives of req?.need ?? []) {
          if (alternatives.some((col) => idOf(col) && filtered.has(idKey(idOf(col))))) continue;
          const loc = findRange(scan);
          const col = alternatives.length === 1 ? `'${alternatives[0]}'` : alternatives.map((c) => `'${c}'`).join(' or ');
          const what = req!.through ? ` (a view that reads ${req!.through.join(', ')} without its partition filter, which falls to its readers)` : ' (require_partition_filter)';
          const id = alternatives.map(idOf).find(Boolean);
          unfiltered.push({
            ok: false,
            table: String(scan.table.fullName),
            columns: alternatives,
            ...(id ? { id: idKey(id) } : {}),
            message: `${scan.table.fullName} requires a partition filter${what}: BigQuery refuses to read it without a WHERE on ${col} above this scan, e.g. WHERE ${alternatives[0]} IS NOT NULL or a date range`,
            ...indexToLineCol(rw.original, rw.toOriginalIndex(loc ? byteToIndex(rw.text, loc.start) : 0)),
          });
          if (!all) {
            found = true;
            return;
          }
        }
      }
      for (const v of Object.values(o)) visit(v, filtered);
    };
    visit(root, new Set());
    return unfiltered;
  }

  private percentileAggregate(root: Proto, rw: Rewritten): Analysis | undefined {
    let found: Analysis | undefined;
    const visit = (o: Proto) => {
      if (found || !o || typeof o !== 'object') return;
      if (Array.isArray(o)) return o.forEach(visit);
      const fn = o.resolvedAggregateFunctionCallNode?.parent?.parent?.function?.name;
      if (fn && /^ZetaSQL:percentile_(cont|disc)$/.test(fn)) {
        const loc = findRange(o.resolvedAggregateFunctionCallNode.parent.parent.parent);
        const idx = loc ? byteToIndex(rw.text, loc.start) : 0;
        found = { ok: false, message: `${String(fn).split(':')[1].toUpperCase()} is only an analytic function in BigQuery: it needs an OVER clause (an aggregate percentile is refused; use APPROX_QUANTILES, or vigil's percentile() helper)`, ...indexToLineCol(rw.original, rw.toOriginalIndex(idx)) };
        return;
      }
      for (const v of Object.values(o)) visit(v);
    };
    visit(root);
    return found;
  }

  /**
   * TABLESAMPLE as BigQuery takes it: `TABLESAMPLE SYSTEM (n PERCENT)` on a table. ZetaSQL
   * resolves any method name (BERNOULLI, RESERVOIR, even a typo), ROWS, REPEATABLE, and a
   * subquery or WITH table as the input; BigQuery's query syntax has SYSTEM and PERCENT only, and
   * its "Table sampling" limitations refuse sampling a subquery's result.
   */
  private unsupportedSample(root: Proto, rw: Rewritten): Analysis | undefined {
    let found: Analysis | undefined;
    const visit = (o: Proto) => {
      if (found || !o || typeof o !== 'object') return;
      if (Array.isArray(o)) return o.forEach(visit);
      const s = o.resolvedSampleScanNode;
      if (s) {
        const method = String(s.method ?? '').toUpperCase();
        const problem =
          method !== 'SYSTEM'
            ? `TABLESAMPLE ${method} is not BigQuery's: it samples with SYSTEM only`
            : s.unit !== 1 && s.unit !== 'PERCENT'
              ? 'TABLESAMPLE SYSTEM takes a percentage in BigQuery (n PERCENT), not ROWS'
              : s.repeatableArgument
                ? 'BigQuery has no REPEATABLE for TABLESAMPLE'
                : s.partitionByList?.length || s.weightColumn
                  ? 'BigQuery has no PARTITION BY or WITH WEIGHT for TABLESAMPLE'
                  : !unwrap(s.inputScan).kind.startsWith('resolvedTableScan')
                    ? 'BigQuery samples tables only: TABLESAMPLE of a subquery or WITH query is refused (sample the table inside it)'
                    : this.views.has(String(unwrap(s.inputScan).node.table?.fullName ?? '').toLowerCase())
                      ? `BigQuery samples tables only: ${unwrap(s.inputScan).node.table.fullName} is a view (sample the table it reads, or materialize it as a table)`
                      : undefined;
        if (problem) {
          // at its TABLESAMPLE keyword: the last one before the sample's size
          const size = findRange(s.size);
          const idx = size ? rw.text.slice(0, byteToIndex(rw.text, size.start)).search(/tablesample(?![\s\S]*tablesample)/i) : -1;
          found = { ok: false, message: `${problem}: write TABLESAMPLE SYSTEM (n PERCENT) after a table name`, ...indexToLineCol(rw.original, rw.toOriginalIndex(Math.max(idx, 0))) };
          return;
        }
      }
      for (const v of Object.values(o)) visit(v);
    };
    visit(root);
    return found;
  }

  /** Analyze one statement; positions refer to `sql` as given. */
  /** `reads: false`: skip the rules about what a statement may read (a view's body, an ephemeral model). */
  async analyze(sql: string, opts: { params?: ParamType[]; catalog?: ZetaCatalog; reads?: boolean | 'view' } = {}): Promise<Analysis> {
    const rw = splitQuotedPaths(sql);
    for (let attempt = 0; ; attempt++) {
      let res: Proto;
      try {
        res = await this.srv.client.analyze({ sqlStatement: rw.text, options: this.options(opts.params), ...(await this.catalogFor(rw.text, opts.catalog)) });
      } catch (e) {
        const err = this.error(e, rw);
        // ZetaSQL wants WHERE/GROUP BY/HAVING beside QUALIFY; BigQuery no longer does
        if (!err.ok && attempt < 5 && /^QUALIFY clause must be used in conjunction with WHERE/.test(err.message)) {
          const m = LOC_RE.exec((e as { details: string }).details)!;
          rw.insert(lineColToIndex(rw.text, +m[1], +m[2]), 'WHERE TRUE ');
          continue;
        }
        return err;
      }
      return this.result(res.resolvedStatement, rw, opts.reads ?? true);
    }
  }

  private async exprType(exprText: string, catalog: ZetaCatalog, rw: Rewritten, base: { index: number; text: string }): Promise<{ ok: true; type: TypeProto } | Extract<Analysis, { ok: false }>> {
    try {
      const r = await this.srv.client.analyze({ sqlExpression: exprText, options: this.options(), ...(await this.catalogFor(`SELECT (${exprText})`, catalog)) });
      const n = r.resolvedExpression[r.resolvedExpression.node];
      return { ok: true, type: n.parent?.type ?? findDeep(unwrap(r.resolvedExpression).node, 'type') };
    } catch (e) {
      return this.error(e, rw, base) as Extract<Analysis, { ok: false }>;
    }
  }

  /** A BigQuery type text as a TypeProto (ARRAY<STRUCT<...>>, aliases, NUMERIC(10, 2)); undefined when it is not a type. */
  async typeFromSql(typeText: string): Promise<{ type?: TypeProto; message?: string }> {
    const r = await this.analyze(`SELECT CAST(NULL AS ${typeText}) AS v`);
    return r.ok ? { type: r.columns![0].type } : { message: r.message };
  }

  /**
   * Type-check a script (statements separated by `;`, DECLARE/SET/IF/BEGIN...END). Returns the
   * first error (positions in `sql`), or the analysis of its last statement. `params`: the
   * positional parameters' types, in order of appearance in the whole script.
   */
  async script(sql: string, params: ParamType[] = [], opts: { reads?: boolean } = {}): Promise<Analysis> {
    // one plain statement needs no script machinery (a `;` inside a string literal only takes the longer path)
    if (!/;\s*\S/.test(sql) && !/^\s*(DECLARE|SET|IF|BEGIN|LOOP|WHILE|FOR|REPEAT|CASE)\b/i.test(sql)) return this.analyze(sql.replace(/;\s*$/, ''), { params, reads: opts.reads });
    const rw = splitQuotedPaths(sql);
    const text = rw.text;
    let parsed: Proto;
    try {
      parsed = await this.srv.client.parse({ sqlStatement: text, allowScript: true, options: this.languageOptions });
    } catch (e) {
      return this.error(e, rw);
    }
    const cat = this.catalog.clone();
    const created = new Set<string>();
    const vars = new Map<string, TypeProto>();
    let paramIndex = 0;
    let last: Analysis = { ok: true, kind: 'SCRIPT', resolved: undefined };
    const rangeOf = (o: Proto) => {
      const r = findRange(o);
      return r && { start: byteToIndex(text, r.start), end: byteToIndex(text, r.end) };
    };
    const paramsIn = (s: string) => (s.match(/\?/g) ?? []).length; // generated scripts: no '?' inside strings
    const checkExpr = async (exprNode: Proto, expected: TypeProto | undefined, what: string): Promise<TypeProto | Analysis> => {
      const r = rangeOf(exprNode)!;
      const exprText = text.slice(r.start, r.end);
      const t = await this.exprType(exprText, cat, rw, { index: r.start, text: exprText });
      if (!t.ok) return t;
      if (expected) {
        // assignable when [CAST(NULL AS T), (expr)] keeps element type T (ZetaSQL's supertype rule)
        const chk = await this.exprType(`[CAST(NULL AS ${typeToSql(this.srv.z, expected)}), (${exprText})]`, cat, rw, { index: r.start, text: exprText });
        if (!chk.ok || typeToSql(this.srv.z, chk.type.arrayType.elementType) !== typeToSql(this.srv.z, expected)) {
          return { ok: false, message: `Value of type ${typeToSql(this.srv.z, t.type)} cannot be used as ${what} of type ${typeToSql(this.srv.z, expected)}`, ...indexToLineCol(rw.original, rw.toOriginalIndex(r.start)) };
        }
      }
      return t.type;
    };
    const isError = (x: TypeProto | Analysis): x is Extract<Analysis, { ok: false }> => !!x && (x as Analysis).ok === false;
    const walkList = async (list: Proto): Promise<Analysis | undefined> => {
      for (const s of list?.statementList ?? []) {
        const r = await walkStmt(s);
        if (r && !r.ok) return r;
      }
      return undefined;
    };
    const walkStmt = async (anyStmt: Proto): Promise<Analysis | undefined> => {
      const { node: s, kind } = unwrap(anyStmt);
      const range = rangeOf(s)!;
      switch (kind) {
        case 'astVariableDeclarationNode': {
          const names: string[] = s.variableList.identifierList.map((i: Proto) => i.idString);
          let type: TypeProto | undefined;
          if (s.type) {
            const tr = rangeOf(s.type)!;
            const t = await this.typeFromSql(text.slice(tr.start, tr.end));
            if (!t.type) return { ok: false, message: t.message ?? 'unknown type', ...indexToLineCol(rw.original, rw.toOriginalIndex(tr.start)) };
            type = t.type;
          }
          if (s.defaultValue) {
            const t = await checkExpr(s.defaultValue, type, 'a variable');
            if (isError(t)) return t;
            type ??= t;
          }
          for (const n of names) {
            vars.set(n.toLowerCase(), type);
            cat.addConstant(n, type);
          }
          return undefined;
        }
        case 'astSingleAssignmentNode': {
          const v = s.variable.idString as string;
          const type = vars.get(v.toLowerCase());
          if (!type) return { ok: false, message: `Undeclared variable: ${v}`, ...indexToLineCol(rw.original, rw.toOriginalIndex(range.start)) };
          const t = await checkExpr(s.expression, type, 'a variable');
          return isError(t) ? t : undefined;
        }
        case 'astIfStatementNode': {
          const c = await checkExpr(s.condition, this.T.BOOL, 'an IF condition');
          if (isError(c)) return c;
          return (await walkList(s.thenList)) ?? (await walkList(s.elseList));
        }
        case 'astBeginEndBlockNode':
          return walkList(s.statementListNode);
        default: {
          const stmtText = text.slice(range.start, range.end);
          const n = paramsIn(stmtText);
          const stmtParams = params.slice(paramIndex, paramIndex + n);
          paramIndex += n;
          let r: Analysis;
          try {
            const res = await this.srv.client.analyze({
              parseResumeLocation: { input: text, bytePosition: indexToByte(text, range.start), allowResume: true },
              options: this.options(stmtParams),
              // tables the script created so far: a DDL target (ALTER) is not among a statement's read tables
              ...(await this.catalogFor(stmtText, cat, created)),
            });
            r = this.result(res.resolvedStatement, rw, opts.reads !== false);
          } catch (e) {
            r = this.error(e, rw);
          }
          if (r.ok) {
            this.learn(r, cat);
            if (r.namePath) {
              created.add(r.namePath.join('.').toLowerCase());
              created.add(r.namePath.slice(1).join('.').toLowerCase());
            }
            last = r;
          }
          return r.ok ? undefined : r;
        }
      }
    };
    return (await walkList(parsed.parsedScript.statementListNode)) ?? last;
  }

  /** After CREATE FUNCTION / TABLE / VIEW in a script: later statements see the object. */
  private learn(r: Extract<Analysis, { ok: true }>, cat: ZetaCatalog): void {
    if (r.kind === 'CREATE_FUNCTION') {
      const fn = r.resolved;
      cat.addFunction({ namePath: r.namePath, group: 'UDF', mode: fn.isAggregate ? 2 : 1, signature: [fn.signature] });
    } else if (/^CREATE_(TABLE|TABLE_AS_SELECT|VIEW|MATERIALIZED_VIEW)$/.test(r.kind) && r.columns && r.namePath) {
      cat.addTable(r.namePath, r.columns.map(({ name, type }) => ({ name, type })));
    }
  }

  /** Register a SQL UDF from its CREATE FUNCTION statement (so models may call it). */
  async addFunction(createSql: string): Promise<Analysis> {
    const r = await this.analyze(createSql.replace(/;\s*$/, ''));
    if (r.ok && r.kind === 'CREATE_FUNCTION') this.learn(r, this.catalog);
    return r;
  }
}
