/**
 * Unit tests of models, compiled (pure): each test's model is rendered with the test's vars,
 * env vars, frozen clock and is_incremental flag, in the spelling of the engine they run on — the
 * target's when its warehouse runs them (Warehouse.unitSession: Postgres), else the offline
 * engine's (DuckDB) — and every ref(), source() and `this` it reads is replaced by a CTE of the
 * test's given rows, typed from the columns declared in YAML. Ephemeral parents without a given
 * are inlined from their own SQL, rendered the same way. The runner (unit-runner.ts) executes
 * the result.
 */
import { diag, didYouMean, editDistance, type Diagnostic } from '../errors.js';
import { dialectOf, getWarehouse, offlineDialect } from '../adapters/index.js';
import { cutToBytes, ephemeralCte, literalStandard, loadColumnType, stripSemicolon, type Dialect } from '../adapters/dialect.js';
import { declaredType, offlineType, secondDigits, textLength, typeFamily } from '../adapters/type-family.js';
import { unvalidatedSourceNames, type ProjectFiles, type RawFile } from '../project/load-project.js';
import type { UnitTestProps } from '../project/schema.js';
import { stringTextAt, type YamlSource } from '../project/yaml-source.js';
import { inexactInteger } from '../project/yaml-lib.js';
import { dbtPlainScalar, sayYaml11Only, yaml11Only } from '../project/pyyaml-scalars.js';
import type { ColumnInfo, Manifest, ModelNode, SeedNode, SnapshotNode, SourceNode } from '../compile/manifest.js';
import { emptyCalls, isTemplateError, PLACEHOLDER_RE, TemplateEnv } from '../compile/template-env.js';
import { floatsAsWritten, pyFloatRepr } from '../compile/py-float.js';
import { pyRepr } from '../compile/py-values.js';
import { canonical, nullText, parseSeed, readCsv as readSeedCsv, readSeedFile, seedColumnTypes } from '../seeds/seed-csv.js';
import { parseTimestamp } from '../time/timestamp.js';
import { join } from 'node:path';
import { canonicalHash } from '../stable-json.js';

export type Scalar = string | number | boolean | null;
/** A given row's value: a list for an array column. */
export type GivenValue = Scalar | Scalar[];

export interface UnitTestNode {
  unique_id: string;
  resource_type: 'unit_test';
  name: string;
  /** unique id of the model under test */
  attached_to: string;
  model: string;
  file: string;
  line: number;
  description?: string;
  tags: string[];
  depends_on: string[];
  /** A hash of its definition and the fixture files it reads: state:modified. */
  checksum: string;
  /**
   * Each given input as a typed SELECT, with its YAML line and each row's (a fixture's rows:
   * lines of `row_file`), and `probe` (castProbe), for a clear error when a value does not cast.
   */
  givens: Array<{
    input: string;
    sql: string;
    line: number;
    row_lines?: number[];
    row_file?: string;
    probe?: string;
    cells?: GivenCell[];
    /**
     * A given of rows: its CTE in compiled_sql, its rows, the columns the compile typed them with
     * (declared, a seed's), and what it stands for (a node's or source's unique_id; `this`: the
     * model's), whose relation in the warehouse types them at run time as dbt does (typeGivens).
     */
    typing?: { cte: string; rows: Array<Record<string, GivenValue>>; columns: ColumnInfo[]; of: string; undeclared?: string[]; written?: Array<Record<string, string>> };
  }>;
  /** The dialect it was compiled in (`duckdb`: the offline engine's, whatever the target). */
  engine: string;
  /** The model's SELECT over the given CTEs. */
  compiled_sql: string;
  /**
   * compiled_sql with each given read from a seed's CSV reading the seed's relation instead: what
   * the PII lineage traces (the seed's data is not the test author's: its PII is masked in a diff)
   */
  pii_sql?: string;
  /** The test's env_vars: what its secrets' placeholders are revealed with (before the environment). */
  env_vars?: Record<string, string>;
  expect_rows: Array<Record<string, Scalar>>;
  expect_line: number;
  /** the text of each expect cell written as a YAML float whose text is not JavaScript's (`1.0`), by row and column: lossyValue's `written` */
  expect_written?: Array<Record<string, string>>;
  /** each expect row's line (a fixture's: in `expect_file`) */
  expect_lines?: number[];
  expect_file?: string;
  /** expect.where, appended to compiled_sql as its last line, and its YAML line (an error in it is said there) */
  expect_where?: { sql: string; line: number };
  ordered: boolean;
  tolerance: number;
  compiled_path: string;
}

export interface UnitCompileInput {
  files: ProjectFiles;
  manifest: Manifest;
  modelFiles: Map<string, RawFile>;
  vars: Record<string, unknown>;
  env: Record<string, string | undefined>;
  target: Record<string, unknown>;
  /** Models already reported broken: their unit tests are not compiled (one error per root cause). */
  broken?: Set<string>;
  /** The nodes enabled: false leaves out: a unit test of a disabled model is added to them (dbt disables it too). */
  disabled?: NonNullable<Manifest['disabled']>;
}

const FROZEN_DEFAULT = '2026-01-01T00:00:00Z';

/** Minimal RFC 4180 CSV: header line, quoted fields with "" escapes; empty fields are NULL. */
export function parseCsv(text: string): Array<Record<string, Scalar>> {
  return readCsv(text).rows;
}

/**
 * parseCsv with each row's line in the text (1-based, where its record starts), the rows
 * whose number of fields is not the header's (a missing or extra comma: a value in the wrong column),
 * and the header's names it has twice (`twice`: each later one's 1-based column and the first's): a
 * row keeps one value per name, so the other column's values would be dropped unsaid.
 */
export function readCsv(text: string): { rows: Array<Record<string, Scalar>>; lines: number[]; ragged: Array<{ row: number; line: number; fields: number; header: string[] }>; twice: Array<{ name: string; column: number; first: number; line: number }> } {
  const records: Array<{ fields: string[]; line: number }> = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let wasQuoted = false;
  let line = 1;
  let start = 1;
  const endField = () => {
    record.push(field === '' && !wasQuoted ? '\u0000NULL' : field);
    field = '';
    wasQuoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) line++;
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
      wasQuoted = true;
    } else if (ch === ',') endField();
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endField();
      if (record.some((f) => f !== '\u0000NULL') || record.length > 1) records.push({ fields: record, line: start });
      record = [];
      start = ++line;
    } else field += ch;
  }
  if (field !== '' || wasQuoted || record.length) {
    endField();
    records.push({ fields: record, line: start });
  }
  const [head, ...rest] = records;
  if (!head) return { rows: [], lines: [], ragged: [], twice: [] };
  const header = head.fields.map((h) => h.trim());
  const twice = header.flatMap((h, i) => (header.indexOf(h) < i ? [{ name: h, column: i + 1, first: header.indexOf(h) + 1, line: head.line }] : []));
  const ragged = rest.flatMap((r, row) => (r.fields.length === header.length ? [] : [{ row, line: r.line, fields: r.fields.length, header }]));
  const rows = rest.map((r) => Object.fromEntries(header.map((h, i) => [h, r.fields[i] === undefined || r.fields[i] === '\u0000NULL' ? null : r.fields[i]])));
  return { rows, lines: rest.map((r) => r.line), ragged, twice };
}

const literal = literalStandard;

/**
 * A typed given cell (not NULL), for a given that does not cast on an engine without a probe query
 * (castProbe is DuckDB's): `value` the SQL literal, `type` the column's type on the engine.
 */
export interface GivenCell {
  row: number;
  column: string;
  value: string;
  shown: string;
  type: string;
}

/**
 * The dialect unit tests of a target compile in: the target's when its warehouse runs them
 * (Warehouse.unitSession), else the offline engine's.
 */
export function unitDialect(targetType: string | undefined): Dialect {
  const w = targetType ? getWarehouse(targetType) : undefined;
  return w?.unitSession ? w.dialect : offlineDialect();
}

/** A declared column type as `d` creates it: the offline engine's stand-in (offlineType), or the target's own spelling. */
export function unitType(declared: string, d: Dialect = offlineDialect()): string {
  return d.name === offlineDialect().name ? offlineType(declared, d) : declaredType(declared, d, 'local');
}

/** A given list: DuckDB's list literal, or (another engine) an array's text, `'{"a","b"}'`, which the column's type casts. */
function listLiteral(v: Scalar[], d: Dialect): string {
  if (d.name === offlineDialect().name) return `[${v.map((x) => literal(x)).join(', ')}]`;
  const item = (x: Scalar) => (x === null ? 'NULL' : `"${String(x).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  return literal(`{${v.map(item).join(',')}}`);
}

/**
 * A value a cast would change rather than refuse: a fraction or a fraction's text for an integer
 * type (DuckDB rounds 7.5 to 8), anything but true/false for a boolean (0 would read false), a
 * YAML integer past 2^53 for any type but a float (`type` undefined: a column of no declared type).
 * Undefined when the value is one of its type, or the type is not one of those.
 * `written`: the value as the YAML writes it, where the caller has it.
 */
export function lossyValue(v: unknown, type: string | undefined, written?: string, engine: string = offlineDialect().name): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) {
    // a list: each item as a value of the element type (DuckDB's cast rounds [1.5] to [2] for an
    // INTEGER[], where Postgres' refuses it)
    const item = type === undefined ? undefined : (/^\s*(.*?)\s*\[\d*\]\s*$/.exec(type) ?? /^\s*array\s*<(.*)>\s*$/i.exec(type))?.[1];
    for (const [i, x] of item === undefined ? [] : v.entries()) {
      const lossy = lossyValue(x, item, undefined, engine);
      if (lossy) return `item ${i + 1}: ${lossy}`;
    }
    return undefined;
  }
  const family = type === undefined ? undefined : typeFamily(type, 'local');
  // a YAML number past 2^53 was rounded as it was read (9007199254740993 is 9007199254740992,
  // 12345678901234567891 for a DECIMAL(38,0) 12345678901234567000); a double rounds it anyway
  const inexact = family === 'float' ? undefined : inexactInteger(v, written);
  if (inexact) return inexact;
  if (type === undefined) return undefined;
  if (family === 'int') {
    const ok = typeof v === 'number' ? Number.isInteger(v) : typeof v === 'string' ? /^\s*[-+]?\d+\s*$/.test(v) : false;
    if (ok) return undefined;
    // ('1.0': a whole number written with a fraction, which Postgres' cast refuses; DuckDB's reads it)
    const whole = typeof v === 'string' && /^\s*[-+]?\d+\.0*\s*$/.test(v);
    if (whole) return `${JSON.stringify(v)} is written with a fraction, which ${type} does not hold: write ${v.trim().replace(/\.0*$/, '')}`;
    return `${JSON.stringify(v)} is not a whole number, which ${type} holds (a cast would ${typeof v === 'number' || /^\s*[-+]?[\d.]+\s*$/.test(String(v)) ? 'round it' : 'refuse it'})`;
  }
  if (family === 'bool') {
    const ok = typeof v === 'boolean' || (typeof v === 'string' && /^(true|false)$/i.test(v.trim()));
    return ok ? undefined : `${JSON.stringify(v)} is not true or false, which ${type} holds`;
  }
  // more decimals than the type's scale (1.009 for a DECIMAL(10,2): kept as 1.01); a bare DECIMAL
  // or NUMERIC is DuckDB's (18,3), whatever the target's is (BigQuery's NUMERIC keeps 9)
  const written_ = family === 'numeric' ? /\(\s*\d+\s*(?:,\s*(\d+)\s*)?\)/.exec(type) : undefined;
  // (on Postgres a bare numeric keeps every decimal given)
  const bare = family === 'numeric' && !written_ && /^\s*(decimal|numeric)\s*$/i.test(type) && engine === offlineDialect().name;
  const scale = bare ? '3' : written_ ? (written_[1] ?? '0') : undefined;
  if (scale !== undefined && (typeof v === 'number' || typeof v === 'string')) {
    const decimals = /^\s*[-+]?\d*\.(\d+?)0*\s*$/.exec(String(v))?.[1]?.length ?? 0;
    if (decimals > Number(scale)) return `${JSON.stringify(v)} has ${decimals} decimal${decimals === 1 ? '' : 's'}, which ${type} keeps ${scale} of (a cast would round it)${bare ? `: unit tests run on DuckDB, where a bare ${type.trim()} is decimal(18,3); declare the column's scale (e.g. numeric(38,9), BigQuery's NUMERIC)` : ''}`;
  }
  // a time of day for a DATE (cut off), a fraction of a second finer than the type keeps for a
  // timestamp or a time (rounded): microseconds, or the precision its type writes (Postgres'
  // timestamp(0) keeps whole seconds: '10:00:00.7' is 10:00:01 after the cast)
  if (family === 'date' && typeof v === 'string' && /^\s*\d{4}-\d{2}-\d{2}[ T](?!00:00(:00(\.0+)?)?\s*(Z|[+-]00(:?00)?)?\s*$)\d/i.test(v)) return `${JSON.stringify(v)} has a time of day, which ${type} does not hold (a cast would cut it off)`;
  if ((family === 'local' || family === 'instant' || family === 'time') && typeof v === 'string') {
    const digits = (/:\d{2}\.(\d+)/.exec(v)?.[1] ?? '').replace(/0+$/, '').length;
    const kept = secondDigits(type);
    if (digits > kept) return kept === 6 ? `${JSON.stringify(v)} is finer than microseconds, which ${type} holds (a cast would round it)` : `${JSON.stringify(v)} has ${digits} digit${digits === 1 ? '' : 's'} of a second, which ${type} keeps ${kept} of (a cast would round it)`;
  }
  // a number written as a float for a text column: dbt casts what PyYAML read, Python's float, whose
  // text is not JavaScript's (1.0 is '1.0' there, '1' here; 1.0e+16 '1e+16'), or, with no point or
  // an unsigned exponent (1e3, 1e16), no float but the text as written: a test of '1' passed where dbt's fails
  const theirs = family === 'string' && typeof v === 'number' && written !== undefined ? dbtNumberText(v, written) : undefined;
  if (theirs !== undefined) {
    const w = written!.trim();
    return theirs === w && typeof dbtPlainScalar(w) === 'string'
      ? `${w} is the text '${w}' to dbt (YAML 1.1 reads no number without a point or with an unsigned exponent) but the number ${String(v)} here, '${String(v)}' as ${type}: quote the text meant ('${w}' or '${String(v)}')`
      : `${w} is a float, which as ${type} is '${String(v)}' here and '${theirs}' in dbt (Python's float): quote the text meant ('${String(v)}' or '${theirs}')`;
  }
  // a text longer than its type's length: Postgres' cast cuts 'USA' to 'US' for a varchar(2) or a
  // char(2), silently (a char's trailing blanks are padding)
  const length = family === 'string' ? textLength(type) : undefined;
  if (length !== undefined && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
    const text = /varying|varchar/i.test(type) ? String(v) : String(v).replace(/ +$/, '');
    const chars = [...text].length;
    if (chars > length) return `${JSON.stringify(v)} is ${chars} characters long, which ${type} holds ${length} of (a cast would cut it off)`;
  }
  return undefined;
}

/**
 * A given row's key as the input's column it names: the column of that spelling, else the one
 * column it names in another case (dbt lower-cases both: `USER_ID` is `user_id`). `missing`: none;
 * `ambiguous`: several differ only in case (a quoted `"Id"` beside `id`), none spelt so.
 */
export function givenColumn(key: string, columns: readonly string[]): { name: string } | { missing: true } | { ambiguous: string[] } {
  if (columns.includes(key)) return { name: key };
  const same = columns.filter((c) => c.toLowerCase() === key.toLowerCase());
  if (same.length === 1) return { name: same[0] };
  return same.length ? { ambiguous: same } : { missing: true };
}

/**
 * Given rows with each key spelt as the column it names (givenColumn; `keyOf`: per row, each
 * column's key as written), and what does not name one: a key that is no column (`missing`, each
 * with its row), or two keys of a row naming one column.
 */
export function givenRowsAs(rows: Array<Record<string, GivenValue>>, columns: readonly string[], said = { not: 'is not one of its columns', listed: 'its columns' }): { rows: Array<Record<string, GivenValue>>; keyOf: Array<Map<string, string>>; problems: Array<{ row: number; key: string; message: string; hint?: string }> } {
  const problems: Array<{ row: number; key: string; message: string; hint?: string }> = [];
  const keyOf: Array<Map<string, string>> = [];
  const out = rows.map((r, row) => {
    const named: Record<string, GivenValue> = {};
    const from = new Map<string, string>();
    keyOf.push(from);
    for (const [key, v] of Object.entries(r)) {
      const c = givenColumn(key, columns);
      if ('missing' in c) {
        // (the nearest of the columns the row does not give)
        const hint = didYouMean(key, columns.filter((x) => !(x in r)));
        problems.push({ row, key, message: `column '${key}' ${said.not}${hint ? ` — did you mean '${hint}'?` : ''}`, hint: `${said.listed}: ${columns.join(', ')}` });
      } else if ('ambiguous' in c) {
        problems.push({ row, key, message: `column '${key}' names ${c.ambiguous.map((x) => `'${x}'`).join(' and ')}, which differ only in case`, hint: 'spell the column exactly' });
      } else if (from.has(c.name)) {
        problems.push({ row, key, message: `'${from.get(c.name)}' and '${key}' are both column '${c.name}' (column names are matched whatever their case, as dbt matches them)`, hint: 'give it once' });
      } else {
        from.set(c.name, key);
        named[c.name] = v;
      }
    }
    return named;
  });
  return { rows: out, keyOf, problems };
}

/** expect.where as compiled_sql ends with it (the runner takes it off to tell its errors from the model's). */
export const expectFilter = (where: string): string => `\nwhere ${where}`;

/**
 * A row's value of column `k`, undefined when the row leaves it out: its own key only (a row
 * without a column named `toString` or `constructor` does not read Object's method as its value).
 */
export function cellOf<V>(r: Record<string, V>, k: string): V | undefined {
  return Object.hasOwn(r, k) ? r[k] : undefined;
}

/** A typed SELECT of rows: declared columns cast to their data_type, missing ones as typed NULLs. */
export function rowsSelect(rows: Array<Record<string, GivenValue>>, columns: ColumnInfo[], d: Dialect = offlineDialect()): string {
  const q = (id: string) => d.quoteIdent(id);
  const cols = columns.length ? columns : [...new Set(rows.flatMap((r) => Object.keys(r)))].map((name) => ({ name }) as ColumnInfo);
  if (!cols.length) return 'select 1 as __vigil_no_columns where false';
  const given = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cast = (expr: string, c: ColumnInfo) => (c.data_type ? `cast(${expr} as ${unitType(c.data_type, d)})` : expr);
  const select = cols.map((c) => `${given.includes(c.name) ? cast(`v.${q(c.name)}`, c) : cast('NULL', c)} as ${q(c.name)}`).join(', ');
  if (!rows.length || !given.length) return `select ${select} from (select 1) as v where ${rows.length ? 'true' : 'false'}`;
  const value = (v: GivenValue | undefined): string => (Array.isArray(v) ? listLiteral(v, d) : literal(v ?? null));
  // a typed column given values of more than one kind (1 in a row, 'abc' in another) has each cast
  // in its row: one VALUES types a column once across its rows ('abc' is no INTEGER: it failed)
  const kinds = (name: string) => new Set(rows.flatMap((r) => { const v = cellOf(r, name); return v === null || v === undefined ? [] : [Array.isArray(v) ? 'list' : typeof v]; }));
  const mixed = new Map(cols.filter((c) => c.data_type && kinds(c.name).size > 1).map((c) => [c.name, c]));
  const cell = (v: GivenValue | undefined, name: string): string => {
    const c = mixed.get(name);
    return c && v !== null && v !== undefined ? cast(value(v), c) : value(v);
  };
  const values = rows.map((r) => `(${given.map((g) => cell(cellOf(r, g), g)).join(', ')})`).join(',\n  ');
  return `select ${select}\nfrom (values\n  ${values}\n) as v(${given.map(q).join(', ')})`;
}

/** A seed's columns as `vigil seed` loads them: its CSV header (lower-cased unless quote_columns), typed by column_types or from its values. */
export function seedColumns(seed: SeedNode, root: string, d: Dialect = offlineDialect()): ColumnInfo[] {
  const cols = seedColumnTypes(join(root, seed.file), seed.config);
  if (!cols) return seed.columns;
  return cols.map((c) => ({ name: c.name, ...(c.type ? { data_type: loadColumnType(d, { type: c.type, decimal: c.decimal }) } : {}) }) as ColumnInfo);
}

/**
 * A query of the given rows with a value that does not cast to its column's declared type: each
 * one's index and what is wrong (`amount: "abc" does not cast to DECIMAL(10,2)`). Each row is its
 * own VALUES (one VALUES types a column once across its rows). Undefined: no typed column given.
 */
export function castProbe(rows: Array<Record<string, GivenValue>>, columns: ColumnInfo[]): string | undefined {
  const engine = offlineDialect();
  const q = (id: string) => engine.quoteIdent(id);
  const typed = new Map(columns.filter((c) => c.data_type).map((c) => [c.name, offlineType(c.data_type!, engine)]));
  const value = (v: GivenValue | undefined): string => (Array.isArray(v) ? listLiteral(v, engine) : literal(v ?? null));
  const selects = rows.flatMap((r, i) => {
    const cols = Object.keys(r).filter((c) => typed.has(c) && r[c] !== null);
    if (!cols.length) return [];
    const said = cols.map((c) => `case when try_cast(v.${q(c)} as ${typed.get(c)}) is null then ${literal(`${c}: `)} || cast(to_json(v.${q(c)}) as varchar) || ${literal(` does not cast to ${typed.get(c)}`)} end`);
    return [`select ${i} as i, concat_ws('; ', ${said.join(', ')}) as problem from (values (${cols.map((c) => value(r[c])).join(', ')})) as v(${cols.map(q).join(', ')})`];
  });
  return selects.length ? `select i, problem from (\n${selects.join('\nunion all\n')}\n) as p where problem <> '' order by i` : undefined;
}

/** The typed cells of given rows (GivenCell), for an engine that checks a given's casts cell by cell. */
export function givenCells(rows: Array<Record<string, GivenValue>>, columns: ColumnInfo[], d: Dialect): GivenCell[] {
  const typed = new Map(columns.filter((c) => c.data_type).map((c) => [c.name, unitType(c.data_type!, d)]));
  return rows.flatMap((r, row) =>
    Object.keys(r).flatMap((column) => {
      const v = r[column];
      const type = typed.get(column);
      if (!type || v === null || v === undefined) return [];
      return [{ row, column, value: Array.isArray(v) ? listLiteral(v, d) : literal(v), shown: JSON.stringify(v), type }];
    }),
  );
}

/**
 * A given's rows as its SELECT, with what finds the values that do not cast: on DuckDB one query
 * (`probe`: castProbe), on another engine a check per cell (`cells`: givenCells).
 */
function givenSql(rows: Array<Record<string, GivenValue>>, columns: ColumnInfo[], d: Dialect): { sql: string; probe?: string; cells: GivenCell[] } {
  const offline = d.name === offlineDialect().name;
  const probe = offline ? castProbe(rows, columns) : undefined;
  return { sql: rowsSelect(rows, columns, d), ...(probe ? { probe } : {}), cells: offline ? [] : givenCells(rows, columns, d) };
}

/**
 * What the warehouse holds of a given's input: its relation's columns, or why none were read
 * (`unreadable`: the target is there but could not be read — a DuckDB file another process holds).
 */
export type BuiltColumns = { columns: Array<{ name: string; data_type: string }> } | { why: string; unreadable?: boolean; ephemeral?: boolean };

/**
 * Text that reads as a number, a boolean or a date: a value whose column's type decides how it
 * compares (a timestamp with its zone too: '2026-01-01 23:00:00-05' sorts as text before
 * '2026-01-02 01:00:00+00', as an instant after it).
 */
const TYPED_TEXT = /^\s*(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|true|false|\d{4}-\d{2}-\d{2}(?:[ T][\d:.]+(?:\s*(?:z|utc|[-+]\d{1,2}(?::?\d{2})?))?)?)\s*$/i;

/**
 * Types the given rows of `t` as dbt does ("dbt takes the value you provide and attempts to cast
 * it to the data type as inferred from the input"): each cell is cast to its column's type in the
 * input's relation in the warehouse (`built`: its columns, when it is built), else to the type the
 * compile gave it (a declared data_type, a seed's); the given's CTE has the relation's columns, NULL
 * where no row gives one. A key that is none of the relation's columns (nor listed in the input's
 * YAML) is an error at its row with a did-you-mean — unless the input is in `rebuilt` (the nodes
 * this run builds, `vigil build`: its relation is the last build's, and the SQL that adds the column
 * may be new), where it is a column of the given, said by a warning. Rewrites the givens' SQL (and
 * compiled_sql) in place, from what the compile kept (typing): typing a test again starts over.
 * Returns errors (a value the warehouse type would round or misread, at its row) and warnings
 * (columns of no known type given values that read as numbers, booleans or dates: they are text,
 * and compare and sort as text).
 */
export function typeGivens(t: UnitTestNode, built: (of: string) => BuiltColumns, rebuilt: ReadonlySet<string> = new Set()): Diagnostic[] {
  const d = dialectOf(t.engine);
  const q = (id: string) => d.quoteIdent(id);
  const said: Diagnostic[] = [];
  for (const g of t.givens) {
    if (!g.typing) continue;
    const { cte, of, undeclared = [] } = g.typing;
    // (the columns its YAML lists, a seed's header; the given's own keys are among `given` below)
    const columns = g.typing.columns.filter((c) => !undeclared.includes(c.name));
    const b = built(of);
    const wh = new Map('columns' in b ? b.columns.map((c) => [c.name, c.data_type] as const) : []);
    // the input's columns known (its relation's, and the listed ones): a given key is one of
    // them, in any case, as dbt has it ("Invalid column name"); a key that is none would be a
    // column of the given alone, the real one reading NULL (the test passing on nothing)
    let rows = g.typing.rows;
    if (wh.size) {
      const known = [...new Set([...wh.keys(), ...columns.map((c) => c.name)])];
      // an input this run rebuilds: its relation is the last build's, which a column its SQL now
      // adds is not in yet (as dbt builds parents before a child's unit tests): such a key is a
      // column of the given, said once for the given
      const fresh: string[] = [];
      if (rebuilt.has(of)) for (const k of new Set(rows.flatMap((r) => Object.keys(r)))) if ('missing' in givenColumn(k, [...known, ...fresh])) fresh.push(k);
      const named = givenRowsAs(rows, [...known, ...fresh], { not: 'is not one of its columns in the warehouse', listed: 'its columns' });
      for (const p of named.problems) said.push(diag('E_UNIT', `given ${g.input}: ${p.message}`, { file: g.row_file ?? t.file, line: g.row_lines?.[p.row] ?? g.line }, p.hint));
      if (named.problems.length) continue;
      rows = named.rows;
      if (fresh.length) {
        const near = fresh.flatMap((k) => {
          const hint = didYouMean(k, known.filter((c) => !rows.some((r) => c in r)));
          return hint ? [`'${k}' — did you mean '${hint}'?`] : [];
        });
        const cols = fresh.map((k) => `'${k}'`).join(', ');
        said.push(
          diag(
            'W_UNIT_REBUILT',
            `unit test '${t.name}': given ${g.input}: ${fresh.length === 1 ? `column ${cols} is` : `columns ${cols} are`} not in its relation yet (as the last build left it); this run rebuilds it: taken as ${fresh.length === 1 ? 'a column' : 'columns'} of the given, typed as written${near.length ? ` (${near.join('; ')})` : ''}`,
            { file: t.file, line: g.line },
            `its relation's columns: ${[...wh.keys()].join(', ')}`,
            'warn',
          ),
        );
      }
    } else if (undeclared.length && columns.length) {
      // nothing built to judge the keys its YAML does not list by: one a letter from a listed
      // column the row does not give is said (it would be a column of its own, the listed one NULL)
      const near = undeclared.flatMap((k) => {
        const c = k.length >= 4 ? columns.find((x) => editDistance(k.toLowerCase(), x.name.toLowerCase()) === 1 && rows.some((r) => k in r && !(x.name in r))) : undefined;
        return c ? [`'${k}' (did you mean '${c.name}'?)`] : [];
      });
      if (near.length) {
        const why = 'why' in b && b.why ? ` (${b.why})` : '';
        said.push(diag('W_UNIT_UNDECLARED', `unit test '${t.name}': given ${g.input}: ${near.join(', ')} ${near.length === 1 ? 'is' : 'are'} not listed in its YAML, and its relation is not there to check against${why}: taken as the given's own column`, { file: t.file, line: g.line }, 'a misspelling would leave the listed column NULL in the given: fix it, or, a column of its own, list it in the YAML (then this is not said)', 'warn'));
      }
    }
    const given = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    // the relation's columns first (a model selecting * reads them all), then the listed and given
    // ones it lacks (a given key as the column it names: `PRODUCT_ID` is not a second column)
    const cols: ColumnInfo[] = wh.size
      ? [...new Set([...wh.keys(), ...columns.map((c) => c.name), ...given])].map((name) => {
          const type = wh.get(name) ?? columns.find((c) => c.name === name)?.data_type;
          return { ...columns.find((c) => c.name === name), name, ...(type ? { data_type: type } : {}) } as ColumnInfo;
        })
      : g.typing.columns;
    const typeOf = new Map(cols.filter((c) => c.data_type).map((c) => [c.name, unitType(c.data_type!, d)]));
    // (the compile refused the values their declared types would round or misread; the warehouse's types are checked here)
    rows.forEach((r, ri) => {
      for (const [col, v] of Object.entries(r)) {
        // (the text a float was written with, under its key as written: `USER_ID` for user_id)
        const w = g.typing?.written?.[ri];
        const text = w && (w[col] ?? Object.entries(w).find(([k]) => k.toLowerCase() === col.toLowerCase())?.[1]);
        const lossy = wh.has(col) ? lossyValue(v, typeOf.get(col), text, d.name) : undefined;
        if (lossy) said.push(diag('E_UNIT', `given ${g.input}: ${col}: ${lossy} (its type in the warehouse)`, { file: g.row_file ?? t.file, line: g.row_lines?.[ri] ?? g.line }));
      }
    });
    const untyped = given.filter((c) => !typeOf.has(c) && rows.some((r) => typeof r[c] === 'string' && TYPED_TEXT.test(r[c] as string)));
    if (untyped.length) {
      const shown = untyped.slice(0, 2).map((c) => `${c} ${JSON.stringify(rows.find((r) => typeof r[c] === 'string' && TYPED_TEXT.test(r[c] as string))![c])}`);
      const why = 'why' in b && b.why ? b.why : 'its relation has none of them';
      const input = parseInput(g.input);
      // a target that is there but cannot be read now would make the outcome depend on who else
      // has it open (text where the last run had numbers): an error, not a warning
      if ('unreadable' in b && b.unreadable) {
        said.push(diag('E_UNIT_UNREADABLE', `unit test '${t.name}': given ${g.input}: the types of ${untyped.join(', ')} are read from the built input, and ${why}: its values would be compared as text (${shown.join(', ')})`, { file: t.file, line: g.line }, 'run the unit tests again once the target can be read (a DuckDB file one process at a time: vigil serve, another vigil command), or declare data_type on those columns'));
        continue;
      }
      // (an ephemeral input is never built: its declared types are all there is; a snapshot is
      // built by vigil snapshot, a seed by vigil seed — vigil run -s of one runs nothing)
      const command = of.startsWith('snapshot.') ? 'snapshot' : of.startsWith('seed.') ? 'seed' : 'run';
      const build = input?.kind === 'ref' && !('ephemeral' in b && b.ephemeral) ? `build it first (vigil ${command} -s ${input.name}, or vigil build --empty), or ` : '';
      said.push(
        diag(
          'W_UNIT_UNTYPED',
          `unit test '${t.name}': given ${g.input}: no type is known for ${untyped.join(', ')} (${why}, and no data_type is declared): their values are text (${shown.join(', ')}), so they compare, sort and add up as text, not as the numbers or dates they read as`,
          { file: t.file, line: g.line },
          `dbt casts given values to the input's column types in the warehouse: ${build}declare data_type on its columns`,
          'warn',
        ),
      );
    }
    const { sql, probe, cells } = givenSql(rows, cols, d);
    const head = `${q(cte)} as (\n`;
    t.compiled_sql = t.compiled_sql.replace(`${head}${g.sql}\n)`, () => `${head}${sql}\n)`);
    g.sql = sql;
    if (probe) g.probe = probe;
    else delete g.probe;
    if (cells.length) g.cells = cells;
    else delete g.cells;
  }
  return said;
}

/** `ref('m')`, `source('s', 't')` or `this`, as written in a test's given: keys. */
export function parseInput(input: string): { kind: 'ref'; name: string } | { kind: 'source'; source: string; table: string } | { kind: 'this' } | undefined {
  const s = input.trim();
  if (s === 'this') return { kind: 'this' };
  const r = /^ref\(\s*['"]([^'"]+)['"]\s*\)$/.exec(s);
  if (r) return { kind: 'ref', name: r[1] };
  const src = /^source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)$/.exec(s);
  if (src) return { kind: 'source', source: src[1], table: src[2] };
  return undefined;
}

/** Compile every unit test of the project. Problems become diagnostics at their YAML line. */
export function compileUnitTests(input: UnitCompileInput, ds: Diagnostic[]): UnitTestNode[] {
  const { files, manifest } = input;
  const project = files.project.name;
  const unvalidated = unvalidatedSourceNames(files);
  const out: UnitTestNode[] = [];
  const names = new Map<string, string>();
  const models = new Map<string, ModelNode>();
  for (const n of Object.values(manifest.nodes)) if (n.resource_type === 'model') models.set(n.name, n);
  const seeds = new Map<string, SeedNode>();
  for (const n of Object.values(manifest.nodes)) if (n.resource_type === 'seed') seeds.set(n.name, n);
  // a snapshot is ref()'d as a model is, and given rows as one (dbt: a model reading a snapshot is unit tested)
  const snapshots = new Map<string, SnapshotNode>();
  for (const n of Object.values(manifest.nodes)) if (n.resource_type === 'snapshot') snapshots.set(n.name, n);
  const sources = new Map<string, SourceNode>(Object.values(manifest.sources).map((s) => [`${s.source_name}.${s.name}`, s]));
  const envCache = new Map<string, TemplateEnv>();
  // the dialect they are compiled in: the engine they run on
  const engine = unitDialect(input.target.type === undefined ? undefined : String(input.target.type));
  const q = (id: string) => engine.quoteIdent(id);
  // each seed's file is read once per compile
  const seedCols = new Map<string, ColumnInfo[]>();
  // and its rows, when a given reads them (once, however many tests read it)
  const seedRowsOf = new Map<string, ReturnType<typeof seedRows>>();
  const seedSqlOf = new Map<string, string>();

  // whether the test being rendered called the frozen clock (a now: it does not read changes
  // nothing), and the frozen clock's time: the test's now, set before each test renders. One
  // environment serves every test of the same vars and env_vars, whatever its now (an environment
  // is a nunjucks one with every filter and global, and the project's macros: 13 of them for the
  // shipped project's 29 tests, one per clock, was ~40 % of its unit tests' compile)
  const clock = { read: false, now: FROZEN_DEFAULT };
  const envFor = (t: UnitTestProps, vars: unknown): TemplateEnv => {
    clock.now = t.now ?? FROZEN_DEFAULT;
    // (vars as Python prints them: JSON writes 1.0 as 1)
    const key = JSON.stringify([pyRepr(vars, false), t.env_vars ?? {}]);
    // (an environment whose macro files read the clock as they load, a top-level
    // `{% set at = current_timestamp() %}`, holds that time: it serves its own now only)
    const clocked = JSON.stringify([key, clock.now]);
    let te = envCache.get(clocked) ?? envCache.get(key);
    if (te) return te;
    const frozen: Dialect = {
      ...engine,
      current_timestamp: () => ((clock.read = true), `cast('${clock.now.replace(/'/g, "''")}' as timestamptz)`),
      current_date: () => ((clock.read = true), `cast(cast('${clock.now.replace(/'/g, "''")}' as timestamptz) as date)`),
    };
    te = new TemplateEnv({ dialect: frozen, vars: { ...input.vars, ...(vars as Record<string, unknown>) }, env: overlayEnv(input.env, t.env_vars), target: input.target, registerSecrets: false, project });
    clock.read = false;
    for (const m of files.macros) te.addMacros(m.path, m.text);
    envCache.set(clock.read ? clocked : key, te);
    return te;
  };

  /** the checksums of the seeds whose CSV is a given's rows (none: nothing, so a test's checksum stays as it was) */
  const seedsRead = (given: UnitTestProps['given']): { seeds?: unknown[] } => {
    const read = given.flatMap((g) => {
      const p = g.rows === undefined && g.fixture === undefined ? parseInput(g.input) : undefined;
      const seed = p?.kind === 'ref' && !models.has(p.name) ? seeds.get(p.name) : undefined;
      // (and its config that decides what is read: another delimiter, column_types or quote_columns
      // is another given)
      return seed ? [seed.config.delimiter === undefined && seed.config.column_types === undefined && seed.config.quote_columns === undefined ? seed.checksum : { checksum: seed.checksum, delimiter: seed.config.delimiter, column_types: seed.config.column_types, quote_columns: seed.config.quote_columns }] : [];
    });
    return read.length ? { seeds: read } : {};
  };
  for (const pf of files.properties) {
    (pf.data.unit_tests ?? []).forEach((t, ti) => {
      const base: (string | number)[] = ['unit_tests', ti];
      const at = (path: (string | number)[] = []) => ({ file: pf.path, ...pf.yaml.locate([...base, ...path]) });
      const before = ds.length;
      const fail = (code: string, message: string, path: (string | number)[] = [], hint?: string, loc?: { file: string; line: number }) => ds.push(diag(code, message, loc ?? at(path), hint));
      const prev = names.get(t.name);
      if (prev) return fail('E_UNIT', `unit test '${t.name}' is defined twice (also in ${prev})`, ['name']);
      names.set(t.name, pf.path);
      if (input.broken?.has(t.model)) return;
      // a given from a source whose properties file failed validation: that file's error is the one to fix
      const fromUnvalidated = t.given.some((g) => {
        const p = parseInput(g.input);
        return p?.kind === 'source' && unvalidated.has(`${p.source}.${p.table}`);
      });
      if (fromUnvalidated) return;
      const off = Object.values(input.disabled ?? {}).find((d) => d.resource_type === 'model' && d.name === t.model);
      if (off && input.disabled) {
        input.disabled[`unit_test.${project}.${t.name}`] = { resource_type: 'unit_test', name: t.name, file: pf.path, model: t.model };
        return;
      }
      const model = models.get(t.model);
      const file = input.modelFiles.get(t.model);
      if (!model || !file) {
        const hint = didYouMean(t.model, models.keys());
        return fail('E_UNIT', `unit test '${t.name}': model '${t.model}' not found${hint ? ` — did you mean '${hint}'?` : ''}`, ['model']);
      }
      // the frozen clock: Vigil's one timestamp grammar (a date that does not exist is no time)
      if (t.now !== undefined) {
        const when = parseTimestamp('now', String(t.now));
        if (when instanceof Error) return fail('E_UNIT', `unit test '${t.name}': ${when.message}`, ['now']);
      }
      // (as in project.yaml's vars and --vars: a value dbt reads otherwise is said, not guessed)
      const [odd] = yaml11Only(pf.yaml, t.vars, [...base, 'vars']);
      if (odd) return fail('E_UNIT', `unit test '${t.name}': vars.${odd.path.slice(base.length + 1).join('.')}: ${sayYaml11Only(odd)}`, odd.path.slice(base.length) as (string | number)[]);
      // (and in the rows: yes given for a text column was 'yes' here, 'true' in dbt)
      const rowsAt: Array<[(string | number)[], unknown, string]> = [...t.given.map((g, gi): [(string | number)[], unknown, string] => [['given', gi, 'rows'], g.rows, `given ${g.input}`]), [['expect', 'rows'], t.expect.rows, 'expect']];
      for (const [at_, rows, what] of rowsAt) {
        if (!Array.isArray(rows)) continue;
        for (const d of yaml11Only(pf.yaml, rows, [...base, ...at_])) {
          const [ri, col] = d.path.slice(base.length + at_.length);
          fail('E_UNIT', `${what}: row ${Number(ri) + 1}, ${String(col)}: ${sayYaml11Only(d)}`, d.path.slice(base.length) as (string | number)[]);
        }
      }
      if (ds.length > before) return;
      const te = envFor(t, floatsAsWritten(t.vars ?? {}, (path) => pf.yaml.scalarAt([...base, 'vars', ...path])?.source));
      const usedGivens = new Set<number>();
      const givens: UnitTestNode['givens'] = [];
      const cteOf = new Map<string, string>();
      /** the givens read from a seed's CSV, by CTE: their seed */
      const fromSeed = new Map<string, SeedNode>();
      /** each input's given, by its index */
      const givenAt = new Map<string, number>();
      // given inputs -> typed CTEs
      // a seed the model reads (itself, or through an ephemeral parent the test does not give)
      // that no given names: its CSV is the given, as dbt's docs say ("If you don't supply an input
      // for a seed, we will use the seed as the input")
      const named = new Set(t.given.map((g) => parseInput(g.input)).flatMap((p) => (p?.kind === 'ref' ? [p.name] : [])));
      const implicitSeeds: string[] = [];
      const seedsReadBy = (m: ModelNode, seen: Set<string>) => {
        const hooksOnly = new Set(m.hook_depends_on ?? []);
        for (const id of m.depends_on) {
          if (hooksOnly.has(id)) continue;
          const node = manifest.nodes[id];
          if (!node || named.has(node.name) || seen.has(node.name)) continue;
          seen.add(node.name);
          if (node.resource_type === 'seed' && !models.has(node.name)) implicitSeeds.push(node.name);
          else if (node.resource_type === 'model' && node.config.materialized === 'ephemeral') seedsReadBy(node, seen);
        }
      };
      seedsReadBy(model, new Set([model.name]));
      const allGiven: UnitTestProps['given'] = [...t.given, ...implicitSeeds.map((name) => ({ input: `ref('${name}')` }))];
      allGiven.forEach((g, gi) => {
        // (an implicit seed's: at given:)
        const path = gi < t.given.length ? ['given', gi] : ['given'];
        const parsed = parseInput(g.input);
        if (!parsed) return fail('E_UNIT', `given input must be ref('model'), source('src', 'table') or this, got '${g.input}'`, [...path, 'input']);
        let columns: ColumnInfo[] = [];
        let key: string;
        if (parsed.kind === 'ref') {
          const m = models.get(parsed.name) ?? seeds.get(parsed.name) ?? snapshots.get(parsed.name);
          if (!m) {
            const hint = didYouMean(parsed.name, [...models.keys(), ...seeds.keys(), ...snapshots.keys()]);
            return fail('E_UNIT', `given ref('${parsed.name}'): no such model, seed or snapshot${hint ? ` — did you mean '${hint}'?` : ''}`, [...path, 'input']);
          }
          // a seed's columns are its CSV's, typed as it loads them (column_types, else its values), whatever its YAML lists
          if (m.resource_type === 'seed' && !seedCols.has(m.name)) seedCols.set(m.name, seedColumns(m, files.root, engine));
          columns = m.resource_type === 'seed' ? seedCols.get(m.name)! : m.columns;
          key = `ref:${parsed.name}`;
        } else if (parsed.kind === 'source') {
          const s = sources.get(`${parsed.source}.${parsed.table}`);
          if (!s) {
            // (the nearest table of that source; else the nearest source.table)
            const tables = [...sources.values()].filter((x) => x.source_name === parsed.source).map((x) => x.name);
            const table = didYouMean(parsed.table, tables);
            const both = tables.length ? undefined : didYouMean(`${parsed.source}.${parsed.table}`, sources.keys());
            const hint = table ? `source('${parsed.source}', '${table}')` : both ? `source('${both.slice(0, both.indexOf('.'))}', '${both.slice(both.indexOf('.') + 1)}')` : undefined;
            return fail('E_UNIT', `given source('${parsed.source}', '${parsed.table}'): no such source${hint ? ` — did you mean ${hint}?` : ''}`, [...path, 'input']);
          }
          columns = s.columns;
          key = `source:${parsed.source}.${parsed.table}`;
        } else {
          columns = model.columns;
          key = 'this';
        }
        // one input given twice: the second's rows replaced the first's without a word
        const twice = givenAt.get(key);
        if (twice !== undefined) return fail('E_UNIT', `given ${g.input} is given twice (also at line ${pf.yaml.locate([...base, 'given', twice, 'input']).line}): the test would read only one of them`, [...path, 'input'], 'put all its rows in one given');
        givenAt.set(key, gi);
        // no rows and no fixture: a seed's given is the seed's CSV, as dbt reads it; any other's is
        // refused, as dbt refuses it (it was no rows: a test expecting none passed on nothing)
        const seed = g.rows === undefined && g.fixture === undefined && parsed.kind === 'ref' && !models.has(parsed.name) ? seeds.get(parsed.name) : undefined;
        if (g.rows === undefined && g.fixture === undefined && !seed) {
          return fail('E_UNIT', `given ${g.input}: no rows and no fixture (only a seed's given may leave them out, as in dbt: it is the seed's CSV)`, path, 'write rows: [] for an input with no rows, or the rows the test needs');
        }
        let fromCsv: ReturnType<typeof seedRows> | undefined;
        if (seed && !seedRowsOf.has(seed.name)) seedRowsOf.set(seed.name, seedRows(seed, files.root));
        if (seed) fromCsv = seedRowsOf.get(seed.name)!;
        if (fromCsv && 'problem' in fromCsv) return fail('E_UNIT', `given ${g.input}: ${fromCsv.problem}`, path, undefined, fromCsv.at);
        const read = fromCsv ? fromCsv : readRows(g, files, pf.yaml, [...base, ...path], (m, p, loc) => fail('E_UNIT', `given ${g.input}: ${m}`, [...path, ...p], undefined, loc));
        if (!read) return;
        let rows = read.rows;
        // a cell's value as written (a YAML integer past 2^53 is said with its digits; CSV cells are text)
        const writtenAt = (cell: (string | number)[]) => (typeof g.rows === 'object' ? pf.yaml.scalarAt([...base, ...cell])?.source : undefined);
        // (CSV rows and fixtures: the block, or the row in its file; a mapping: the cell)
        // (a key cut to the name the engine keeps, below: the key as written)
        const written = new Map<string, string>();
        const cellAt = (ri: number, key: string): [(string | number)[], { file: string; line: number } | undefined] =>
          read.file ? [[...path, 'fixture'], { file: read.file, line: read.lines[ri] }] : [typeof g.rows === 'object' ? [...path, 'rows', ri, written.get(key) ?? key] : [...path, 'rows'], undefined];
        // a name longer than the engine keeps (Postgres: 63 bytes) is cut by it, as in the built
        // relation and the model's SQL (`as "<64 bytes>"` is the cut name there): the given's
        // columns are named so too — written whole, a key or declared name and the relation's cut
        // column were two columns of one name ("column reference ... is ambiguous"). Two keys that
        // cut to one name would be one column: refused
        const max = engine.maxIdentifierBytes;
        if (max) {
          const cut = (name: string) => cutToBytes(name, max);
          for (const [c, k] of oneNameOnceCut(rows, max, engine.name, `given ${g.input}`, (ri, k, message, hint) => {
            const [cell, loc] = cellAt(ri, k);
            fail('E_UNIT', message, cell, hint, loc);
          })) written.set(c, k);
          if (ds.length > before) return;
          if (rows.some((r) => Object.keys(r).some((k) => cut(k) !== k))) rows = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [cut(k), v])));
          if (columns.some((c) => cut(c.name) !== c.name)) {
            const seen = new Set<string>();
            columns = columns.map((c) => ({ ...c, name: cut(c.name) })).filter((c) => !seen.has(c.name) && !!seen.add(c.name));
          }
        }
        /** a model's, source's or `this`' keys its YAML does not list: its columns too */
        let undeclared: string[] = [];
        if (columns.length) {
          const listed = columns.map((c) => c.name);
          let declared = listed;
          // a model's or a source's YAML need not list every column (dbt's jaffle-shop gives
          // stg_supplies' product_id, its YAML listing supply_uuid only): a key it does not list is a
          // column of the given, judged by the built relation's columns when the tests run
          // (typeGivens) — not here by its likeness to a listed one: created_at beside a listed
          // updated_at is a column as real. A seed's columns are its CSV header's, all of them
          if (!(parsed.kind === 'ref' && seeds.has(parsed.name) && !models.has(parsed.name))) {
            // (one spelling per column: `Created_At` in a later row is the `created_at` of an earlier one)
            for (const k of new Set(rows.flatMap((r) => Object.keys(r)))) if ('missing' in givenColumn(k, [...listed, ...undeclared])) undeclared.push(k);
            if (undeclared.length) {
              columns = [...columns, ...undeclared.map((name) => ({ name }) as ColumnInfo)];
              declared = [...listed, ...undeclared];
            }
          }
          // a key names a declared column in any case, as dbt matches them (`USER_ID`: user_id)
          const named = givenRowsAs(rows, declared, { not: 'is not declared for it', listed: 'declared columns' });
          for (const p of named.problems) {
            const [cell, loc] = cellAt(p.row, p.key);
            fail('E_UNIT', `given ${g.input}: ${p.message}`, cell, p.hint, loc);
          }
          rows = named.rows;
          for (let ri = 0; ri < rows.length; ri++) {
            for (const col of Object.keys(rows[ri])) {
              const [cell, loc] = cellAt(ri, named.keyOf[ri].get(col) ?? col);
              // a value its declared type would round or misread: refused before anything runs
              const type = columns.find((c) => c.name === col)?.data_type;
              const lossy = lossyValue(rows[ri][col], type && unitType(type, engine), writtenAt(cell), engine.name);
              if (lossy) fail('E_UNIT', `given ${g.input}: ${col}: ${lossy}`, cell, undefined, loc);
            }
          }
        } else {
          for (const [ri, r] of rows.entries()) {
            for (const col of Object.keys(r)) {
              const cell = typeof g.rows === 'object' ? [...path, 'rows', ri, col] : [...path, 'rows'];
              const lossy = lossyValue(r[col], undefined, writtenAt(cell));
              if (lossy) fail('E_UNIT', `given ${g.input}: ${col}: ${lossy}`, cell);
            }
          }
          // no declared columns: the rows' keys are the columns. A key some rows spell one way
          // and the others another (never both in one row) is one column misspelled, which
          // would read NULL in the rows that spell it otherwise
          const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
          for (const col of keys) {
            const having = rows.filter((r) => col in r);
            if (having.length === rows.length) continue;
            const twin = didYouMean(col, keys.filter((k) => k !== col && !having.some((r) => k in r)));
            if (twin && rows.filter((r) => twin in r).length > having.length) {
              const ri = rows.findIndex((r) => col in r);
              fail('E_UNIT', `given ${g.input}: column '${col}' in ${having.length} of ${rows.length} rows, '${twin}' in the others — a misspelling of '${twin}'?`, typeof g.rows === 'object' ? [...path, 'rows', ri, col] : [...path, 'rows'], 'a row may leave a column out (it reads NULL); two spellings are two columns');
            }
          }
        }
        const cte = `__vigil_given_${gi}`;
        cteOf.set(key, cte);
        if (seed) fromSeed.set(cte, seed);
        // a seed's CSV read whole: its values were checked against their types as vigil seed checks
        // them (seedRows), no probe of each; its SELECT built once however many tests read it
        // (was: a cast probe of every row, 27 MB in manifest.json for 50,000 rows, per test)
        let csvSql = fromCsv ? seedSqlOf.get(seed!.name) : undefined;
        if (fromCsv && csvSql === undefined) seedSqlOf.set(seed!.name, (csvSql = rowsSelect(rows, columns, engine)));
        const { sql, probe, cells } = csvSql !== undefined ? { sql: csvSql, probe: undefined, cells: [] } : givenSql(rows, columns, engine);
        const of = parsed.kind === 'ref' ? (models.get(parsed.name) ?? seeds.get(parsed.name) ?? snapshots.get(parsed.name))!.unique_id : parsed.kind === 'source' ? sources.get(`${parsed.source}.${parsed.table}`)!.unique_id : model.unique_id;
        givens.push({ input: g.input, sql, line: at(path).line, row_lines: read.lines, ...(read.file ? { row_file: read.file } : {}), ...(probe ? { probe } : {}), ...(cells.length ? { cells } : {}), typing: { cte, rows, columns, of, ...(undeclared.length ? { undeclared } : {}), ...renamed(floatTexts(Array.isArray(g.rows) ? g.rows : [], Array.isArray(g.rows) ? (ri, col) => pf.yaml.scalarAt([...base, ...path, 'rows', ri, col])?.source : undefined)) } });
        void usedGivens;
      });
      if (ds.length > before) return;

      // render the model (and any ephemeral parents without a given) with the test's settings
      const reads = new Set<string>();
      const varsRead = new Set<string>();
      const envRead = new Set<string>();
      const extraCtes: Array<{ name: string; sql: string }> = [];
      const renderModel = (mf: RawFile, self: ModelNode, incremental: boolean, seen: Set<string>): string | undefined => {
        const tmpl = te.compileTemplate(mf.path, mf.text);
        if (isTemplateError(tmpl)) return void fail('E_UNIT', `${mf.path}: ${tmpl.message}`);
        const calls = emptyCalls();
        const sql = te.render(tmpl, mf.text, calls, incremental);
        for (const v of calls.varsRead ?? []) varsRead.add(v);
        for (const v of Object.keys(calls.envUsed)) envRead.add(v);
        if (typeof sql !== 'string') return void fail('E_UNIT', `${mf.path}${sql.line ? `:${sql.line}` : ''}: ${sql.message}`);
        for (const p of calls.problems) fail('E_UNIT', `${mf.path}: ${p.message}`, [], p.hint);
        let ok = true;
        const resolved = sql.replace(PLACEHOLDER_RE, (_m, kind: string, arg: string) => {
          const key = kind === 'this' ? 'this' : `${kind}:${arg}`;
          reads.add(key); // what the model reads, directly or through an inlined ephemeral parent
          const cte = cteOf.get(key);
          if (cte) return q(cte);
          if (kind === 'this') {
            // no rows given for `this`: an empty table with the model's declared columns; with
            // none declared and is_incremental there is no table to make (a stand-in column let a
            // filter on `this` bind to the model's own columns, or fail far from the cause)
            // (rendered without is_incremental, `this` is only named, in a comment or a label: the stand-in stays)
            if (!model.columns.length && t.is_incremental === true) {
              ok = false;
              fail('E_UNIT', `unit test '${t.name}': ${self.name} reads {{ this }} but the test gives no rows for it, and '${model.name}' declares no columns to make an empty one of`, ['given'], "add under given:  - input: this  with rows: [] (or the rows already in the table)");
              return '';
            }
            cteOf.set('this', '__vigil_given_this');
            givens.push({ input: 'this', sql: rowsSelect([], model.columns, engine), line: at().line });
            return q('__vigil_given_this');
          }
          if (kind === 'ref') {
            const parent = models.get(arg);
            const pf2 = input.modelFiles.get(arg);
            if (parent && pf2 && parent.config.materialized === 'ephemeral' && !seen.has(arg)) {
              const inner = renderModel(pf2, parent, false, new Set([...seen, arg]));
              if (inner === undefined) {
                ok = false;
                return '';
              }
              const name = ephemeralCte(engine, arg);
              extraCtes.push({ name, sql: inner });
              cteOf.set(key, name);
              return q(name);
            }
            ok = false;
            fail('E_UNIT', `unit test '${t.name}': ${self.name} reads ref('${arg}') but the test gives no rows for it`, ['given'], `add under given:  - input: ref('${arg}')  with rows: [] (or the rows the test needs)`);
            return '';
          }
          ok = false;
          const [s, tb] = arg.split('.');
          fail('E_UNIT', `unit test '${t.name}': ${self.name} reads source('${s}', '${tb}') but the test gives no rows for it`, ['given'], `add under given:  - input: source('${s}', '${tb}')`);
          return '';
        });
        return ok ? stripSemicolon(resolved, engine.lexis) : undefined;
      };
      const incremental = t.is_incremental === true;
      if (incremental && model.config.materialized !== 'incremental') fail('E_UNIT', `is_incremental: true, but '${model.name}' is materialized as ${model.config.materialized}`, ['is_incremental']);
      clock.read = false;
      const body = renderModel(file, model, incremental, new Set([model.name]));
      if (body === undefined || ds.length > before) return;
      // a var or environment variable the test sets that the model (as this test renders it)
      // never reads: a typo, or a test that tests less than it says
      const unread = (key: 'vars' | 'env_vars', set: Record<string, unknown> | undefined, read: Set<string>, what: string, none: string) => {
        for (const k of Object.keys(set ?? {})) {
          if (read.has(k)) continue;
          const hint = didYouMean(k, read);
          fail('E_UNIT', `${key}: '${model.name}' does not read ${what} '${k}' when this test renders it${hint ? ` — did you mean '${hint}'?` : ''}`, [key, k], read.size ? `it reads: ${[...read].join(', ')}` : none);
        }
      };
      unread('vars', t.vars, varsRead, 'var', 'it reads no var');
      unread('env_vars', t.env_vars, envRead, 'the environment variable', 'it reads no environment variable');
      if (t.now !== undefined && !clock.read) {
        fail('E_UNIT', `now: '${model.name}' does not call {{ current_date() }} or {{ current_timestamp() }} when this test renders it, so the frozen clock changes nothing`, ['now'], "SQL's own current_date, current_timestamp and now() read the wall clock, never the frozen one: write the helpers, or remove now:");
      }
      if (ds.length > before) return;
      t.given.forEach((g, gi) => {
        const parsed = parseInput(g.input)!;
        const key = parsed.kind === 'this' ? 'this' : parsed.kind === 'ref' ? `ref:${parsed.name}` : `source:${parsed.source}.${parsed.table}`;
        if (!reads.has(key)) fail('E_UNIT', `given ${g.input}: '${model.name}' does not read it${incremental ? '' : ' (without is_incremental)'}`, ['given', gi, 'input'], `${model.name} reads: ${[...reads].map((r) => r.replace(/^ref:(.*)$/, "ref('$1')").replace(/^source:([^.]*)\.(.*)$/, "source('$1', '$2')")).join(', ') || 'nothing'}`);
      });
      // (the expect columns are checked against what the model produces before the tests run,
      // when DuckDB binds its SQL: declared columns are documentation, maybe of some columns only)
      // (no rows and no fixture: dbt refuses it; taken as no rows, a model producing none passed)
      if (t.expect.rows === undefined && t.expect.fixture === undefined) return fail('E_UNIT', 'expect: no rows and no fixture: nothing says what the model should produce', ['expect'], 'write rows: [] to expect no rows');
      const expect = readRows(t.expect, files, pf.yaml, [...base, 'expect'], (m, p, loc) => fail('E_UNIT', `expect: ${m}`, ['expect', ...p], undefined, loc));
      if (!expect) return;
      // two expect keys one name once cut, as two given keys are: refused (was: merged, the last
      // key's value compared and the first's dropped)
      if (engine.maxIdentifierBytes)
        oneNameOnceCut(expect.rows, engine.maxIdentifierBytes, engine.name, 'expect', (ri, k, message, hint) =>
          fail('E_UNIT', message, expect.file ? ['expect', 'fixture'] : typeof t.expect.rows === 'object' ? ['expect', 'rows', ri, k] : ['expect', 'rows'], hint, expect.file ? { file: expect.file, line: expect.lines[ri] } : typeof t.expect.rows === 'object' ? undefined : { file: pf.path, line: expect.lines[ri] }),
        );
      if (ds.length > before) return;
      const withGivens = (given: (g: (typeof givens)[number]) => string) => {
        const ctes = [...givens.map((g) => `${q(g.typing?.cte ?? '__vigil_given_this')} as (\n${given(g)}\n)`), ...extraCtes.map((e) => `${q(e.name)} as (\n${e.sql}\n)`)];
        const filter = t.expect.where ? expectFilter(t.expect.where) : '';
        return `${ctes.length ? `with ${ctes.join(',\n')}\n` : ''}select * from (\n${body}\n) as __vigil_model${filter}`;
      };
      const sql = withGivens((g) => g.sql);
      const seedOf = (g: (typeof givens)[number]) => (g.typing ? fromSeed.get(g.typing.cte) : undefined);
      const piiSql = fromSeed.size ? withGivens((g) => (seedOf(g) ? `select * from ${engine.relation(seedOf(g)!.relation)}` : g.sql)) : undefined;
      out.push({
        unique_id: `unit_test.${project}.${t.name}`,
        resource_type: 'unit_test',
        name: t.name,
        attached_to: model.unique_id,
        model: model.name,
        file: pf.path,
        line: at().line,
        description: t.description,
        tags: t.tags ?? [],
        depends_on: [model.unique_id],
        engine: engine.name,
        // (a seed's given without rows reads its CSV: its content is the test's too)
        // (an expect of a fixture hashed with rows: [] as before rows: became required: the same
        // test is not state:modified after an upgrade)
        checksum: canonicalHash({ test: t.expect.rows === undefined ? { ...t, expect: { ...t.expect, rows: [] } } : t, fixtures: [...t.given, t.expect].map((g) => fixtureText(files, g.fixture)), ...seedsRead(allGiven) }),
        givens,
        compiled_sql: sql,
        ...(piiSql ? { pii_sql: piiSql } : {}),
        ...(t.env_vars ? { env_vars: t.env_vars } : {}),
        // expect: rows are scalars (schema.ts: lists are for given rows only)
        // (keys cut as the engine cuts the model's column names, as the givens' are)
        expect_rows: (engine.maxIdentifierBytes ? expect.rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [cutToBytes(k, engine.maxIdentifierBytes!), v]))) : expect.rows) as Array<Record<string, Scalar>>,
        expect_line: at(['expect']).line,
        ...floatTexts(expect.rows, typeof t.expect.rows === 'object' ? (ri, col) => pf.yaml.scalarAt([...base, 'expect', 'rows', ri, col])?.source : undefined),
        expect_lines: expect.lines,
        ...(expect.file ? { expect_file: expect.file } : {}),
        ...(t.expect.where ? { expect_where: { sql: t.expect.where, line: at(['expect', 'where']).line } } : {}),
        ordered: t.expect.ordered === true,
        tolerance: t.expect.tolerance ?? 1e-9,
        compiled_path: `${files.paths.target}/compiled/${project}/${pf.path}/unit/${t.name}.sql`,
      });
    });
  }
  return out;
}

/**
 * The keys of `rows` the engine cuts (Postgres: to `max` bytes), by their cut names; two keys that
 * cut to one name would be one column: `clash` is called at the row of the second (`label`: where
 * the rows are, 'given ref(...)' or 'expect').
 */
function oneNameOnceCut(rows: ReadonlyArray<Record<string, unknown>>, max: number, engine: string, label: string, clash: (row: number, key: string, message: string, hint: string) => void): Map<string, string> {
  const byCut = new Map<string, string>();
  const cutKeys = new Map<string, string>();
  rows.forEach((r, ri) => {
    for (const k of Object.keys(r)) {
      const c = cutToBytes(k, max);
      const other = byCut.get(c);
      if (other !== undefined && other !== k) clash(ri, k, `${label}: columns '${other}' and '${k}' are one column to ${engine}, which keeps ${max} bytes of a name (both are '${c}')`, `rename one to differ in its first ${max} bytes`);
      byCut.set(c, k);
      if (c !== k) cutKeys.set(c, k);
    }
  });
  return cutKeys;
}

/**
 * A given's or expect's rows, with the YAML line of each (a CSV row's: in the block, or in its
 * fixture file, `file`); undefined when they cannot be read (said through `fail`).
 */
function readRows(
  g: { rows?: Array<Record<string, GivenValue>> | string; format?: 'dict' | 'csv'; fixture?: string },
  files: ProjectFiles,
  src: YamlSource,
  path: (string | number)[],
  fail: (message: string, path: (string | number)[], at?: { file: string; line: number }) => void,
): { rows: Array<Record<string, GivenValue>>; lines: number[]; file?: string } | undefined {
  const csv = (text: string, file: string | undefined, first: number) => {
    const r = readCsv(text);
    // (a row of more or fewer fields than the header: its values would land in other columns, or read NULL)
    for (const x of r.ragged) fail(`CSV row ${x.row + 1} has ${x.fields} field${x.fields === 1 ? '' : 's'}, its header ${x.header.length} (${x.header.join(', ')})`, file ? ['fixture'] : ['rows'], file ? { file, line: x.line } : { file: src.file, line: first + x.line - 1 });
    // (a name the header has twice: each row would keep the last column's value, the other's dropped)
    for (const x of r.twice) fail(`CSV header names column '${x.name}' twice (columns ${x.first} and ${x.column}): a row would keep only the last one's value`, file ? ['fixture'] : ['rows'], file ? { file, line: x.line } : { file: src.file, line: first + x.line - 1 });
    return r.ragged.length || r.twice.length ? undefined : { rows: r.rows, lines: r.lines.map((l) => first + l - 1), ...(file ? { file } : {}) };
  };
  // (both: dbt reads the fixture and drops the rows)
  if (g.fixture !== undefined && g.rows !== undefined) return void fail('rows and a fixture: one of them is the rows, the other would be dropped', ['fixture']);
  // (format: csv beside a list of mappings did nothing: the rows were read as the list)
  if (g.format === 'csv' && g.rows !== undefined && typeof g.rows !== 'string') return void fail('format: csv reads rows as CSV text, but these rows are a list of mappings: remove format: csv, or write them as CSV text', ['format']);
  if (g.fixture !== undefined) {
    const f = fixtureFile(files, g.fixture);
    if ('problem' in f) return void fail(f.problem, ['fixture']);
    return csv(f.text, f.path, 1);
  }
  if (typeof g.rows === 'string') {
    if (g.format !== 'csv') return void fail('rows is text: add format: csv, or write the rows as a list of mappings', ['rows']);
    return csv(g.rows, undefined, stringTextAt(src, [...path, 'rows']).line);
  }
  const rows = g.rows ?? [];
  return { rows, lines: rows.map((_, i) => src.locate([...path, 'rows', i]).line) };
}

/**
 * The text dbt casts a number written so (`written`) for a text column, when it is not JavaScript's
 * String(v): Python's repr of the float PyYAML reads (`1.0`: '1.0'), or the text as written where
 * PyYAML reads none (`1e3`, `15e-1`: no point, or an unsigned exponent). Undefined for an integer
 * written so, or a float whose text is JavaScript's too (`1.5`).
 */
function dbtNumberText(v: number, written: string): string | undefined {
  const w = written.trim();
  if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(w) || !/[.eE]/.test(w)) return undefined;
  const dbt = dbtPlainScalar(w);
  const text = typeof dbt === 'string' ? dbt : typeof dbt === 'number' ? pyFloatRepr(dbt) : undefined;
  return text !== undefined && text !== String(v) ? text : undefined;
}

/** floatTexts' cells as a given's `written` */
const renamed = (f: { expect_written?: Array<Record<string, string>> }): { written?: Array<Record<string, string>> } => (f.expect_written ? { written: f.expect_written } : {});

/** The expect cells written as YAML floats whose text is not JavaScript's (`1.0`, `1e16`): `expect_written`, when any. */
function floatTexts(rows: Array<Record<string, GivenValue>>, written: ((ri: number, col: string) => string | undefined) | undefined): { expect_written?: Array<Record<string, string>> } {
  if (!written) return {};
  let any = false;
  const texts = rows.map((r, ri) => {
    const out: Record<string, string> = {};
    for (const [col, v] of Object.entries(r)) {
      const text = typeof v === 'number' ? written(ri, col) : undefined;
      if (text !== undefined && dbtNumberText(v as number, text) !== undefined) [out[col], any] = [text, true];
    }
    return out;
  });
  return any ? { expect_written: texts } : {};
}

/**
 * A seed's rows as `vigil seed` loads its CSV (its delimiter, its header's names as it names the
 * columns; NULL as dbt reads one, `null` in any case, `""` or a blank too; each value in the form
 * the load writes it, a decimal rounded to its scale, a timestamp without a zone in UTC), each
 * with its line in the file: the given of a seed that gives no rows, as dbt reads the seed's file
 * then. A file `vigil seed` refuses (a ragged row, an empty file, a value not of its column_types)
 * is refused here too, at its line: a test must not pass on rows the seed cannot load.
 */
function seedRows(seed: SeedNode, root: string): { rows: Array<Record<string, GivenValue>>; lines: number[]; file: string } | { problem: string; at?: { file: string; line: number } } {
  let bytes: Buffer;
  try {
    bytes = readSeedFile(join(root, seed.file));
  } catch (e) {
    return { problem: `the seed's file ${seed.file} cannot be read (${e instanceof Error ? e.message : String(e)})` };
  }
  const scanned = parseSeed(bytes, seed.config);
  if (Array.isArray(scanned)) {
    const [p] = scanned;
    return { problem: `the seed's CSV, its given, does not load (as vigil seed says): ${p.message}${p.hint ? ` (${p.hint})` : ''}`, at: { file: seed.file, line: p.line } };
  }
  const r = readSeedCsv(bytes, seed.config.delimiter ?? ',');
  if (!('records' in r)) return { problem: r.message, at: { file: seed.file, line: r.line } };
  const [, ...records] = r.records;
  const cols = scanned.columns;
  const value = (v: string | null | undefined, i: number): GivenValue => (v === null || v === undefined || nullText(v) ? null : canonical(v, cols[i].type, cols[i].decimal));
  return { rows: records.map((rec) => Object.fromEntries(cols.map((c, i) => [c.name, value(rec[i], i)]))), lines: r.lines.slice(1), file: seed.file };
}

/**
 * The CSV file a `fixture:` names: a path relative to the project root, or as dbt names one, the
 * name of a CSV file (without `.csv`) under `<paths.tests>/fixtures`, in any folder there; with
 * its text (read once).
 */
export function fixtureFile(files: ProjectFiles, fixture: string): { path: string; text: string } | { problem: string } {
  const text = files.readFixture?.(fixture);
  if (text !== undefined) return { path: fixture, text };
  const all = files.fixtureFiles?.() ?? [];
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1).replace(/\.csv$/i, '');
  const named = /^[^/\\]+$/.test(fixture) ? all.filter((p) => base(p) === fixture.replace(/\.csv$/i, '')) : [];
  if (named.length === 1) {
    const found = files.readFixture?.(named[0]);
    return found === undefined ? { problem: `fixture file ${named[0]} could not be read` } : { path: named[0], text: found };
  }
  if (named.length > 1) return { problem: `fixture ${fixture} names ${named.length} files: ${named.join(', ')} — give the one meant by its path` };
  const dir = `${files.paths.tests}/fixtures`;
  const hint = didYouMean(fixture, [...all, ...all.map(base)]);
  return { problem: `fixture file ${fixture} not found (a path relative to the project root, or the name of a CSV file in ${dir}/ without .csv, as in dbt)${hint ? ` — did you mean '${hint}'?` : ''}` };
}

/** The text of the file a `fixture:` names (fixtureFile), for the test's checksum; null when none. */
function fixtureText(files: ProjectFiles, fixture: string | undefined): string | null {
  const f = fixture === undefined ? undefined : fixtureFile(files, fixture);
  return f && 'text' in f ? f.text : null;
}

export type { YamlSource };

/**
 * The environment a unit test renders with: its env_vars over the compile's environment, read
 * through (not copied: a copy would read, and make a compile depend on, every variable).
 */
function overlayEnv(env: NodeJS.ProcessEnv, over: Record<string, string> | undefined): NodeJS.ProcessEnv {
  if (!over || !Object.keys(over).length) return env;
  return Object.assign(Object.create(env) as NodeJS.ProcessEnv, over);
}
