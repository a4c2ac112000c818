/**
 * Seeds: CSV files under `seeds/` loaded into the warehouse as tables (`vigil seed`, `vigil
 * build`). A seed is read in one pass (UTF-8 without NUL, RFC 4180, the configured delimiter,
 * CRLF or LF, a BOM dropped; csv-parse took 1.2 s for 100,000 rows with line numbers, 16x
 * DuckDB's reader), its column types taken from `column_types` or inferred from every value
 * (NULL, as dbt reads it: an empty field, quoted or not, a blank one, `null` in any case, is no
 * value: nullField), every value checked against its type, and loaded as it is when every
 * warehouse reads it alike, else written out as the normalized CSV every warehouse's bulk load reads (`Adapter.loadTable`:
 * no header, comma, RFC 4180 quoting, empty unquoted field = NULL). A mistake anywhere is
 * reported at file:line before anything is loaded.
 */
import { isUtf8 } from 'node:buffer';
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { CANONICAL_TYPES, type CanonicalType, type DecimalType } from '../adapters/dialect.js';
import { textLength } from '../adapters/type-family.js';
import { didYouMean } from '../errors.js';
import { redactedCut } from '../secrets.js';
import type { SeedConfig } from '../project/schema.js';

export interface SeedProblem {
  line: number;
  column?: number;
  message: string;
  hint?: string;
}


/** Spellings of the canonical types users bring from SQL (dbt's column_types are warehouse types). */
const TYPE_ALIASES: Record<string, CanonicalType> = {
  string: 'string', text: 'string', varchar: 'string', char: 'string', character: 'string', 'character varying': 'string',
  int: 'int', integer: 'int', bigint: 'int', int64: 'int', smallint: 'int', int4: 'int', int8: 'int', hugeint: 'int',
  float: 'float', double: 'float', 'double precision': 'float', float64: 'float', real: 'float', numeric: 'float', decimal: 'float', bignumeric: 'float',
  bool: 'bool', boolean: 'bool',
  date: 'date',
  timestamp: 'timestamp', timestamptz: 'timestamp', datetime: 'timestamp', 'timestamp with time zone': 'timestamp', 'timestamp without time zone': 'timestamp',
  json: 'json', jsonb: 'json',
};

/** A column_types value as a canonical type: `varchar(32)` is string, `decimal(10,2)` float (loaded exact: seedDecimal). */
export function seedType(spelled: string): CanonicalType | undefined {
  const t = spelled.trim().toLowerCase().replace(/\s*\(.*\)\s*$/, '');
  return TYPE_ALIASES[t];
}

/** The precision and scale of a column_types `decimal(10,2)`, `numeric(5)` (scale 0); undefined for any other type (`numeric` alone is a float). */
export function seedDecimal(spelled: string): DecimalType | undefined {
  const m = /^\s*(?:decimal|numeric)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)\s*$/i.exec(spelled);
  return m ? { precision: Number(m[1]), scale: m[2] === undefined ? 0 : Number(m[2]) } : undefined;
}

/** A decimal type as column_types spells it. */
const decimalName = (d: DecimalType) => `decimal(${d.precision},${d.scale})`;

/**
 * A number's text rounded to `d`'s scale (half away from zero, as Postgres and DuckDB round),
 * written plainly (`1.5e2` is `150.00`); undefined when it has more digits before the point than
 * `d` holds, or is not a number.
 */
export function decimalText(v: string, d: DecimalType): string | undefined {
  const m = /^([-+]?)(\d*)\.?(\d*)(?:[eE]([-+]?\d+))?$/.exec(v);
  if (!m || !(m[2] || m[3])) return undefined;
  // the digits without leading zeros, and how many of them come before the point
  let digits = m[2] + m[3];
  let before = m[2].length + Number(m[4] ?? 0);
  const lead = /^0*/.exec(digits)![0].length;
  digits = digits.slice(lead);
  before -= lead;
  if (before > d.precision - d.scale) return undefined;
  const keep = before + d.scale;
  let n: bigint;
  if (!digits || keep < 0) n = 0n;
  else if (keep >= digits.length) n = BigInt(digits + '0'.repeat(keep - digits.length));
  else n = BigInt(digits.slice(0, keep) || '0') + (digits.charCodeAt(keep) >= 53 ? 1n : 0n);
  if (n >= 10n ** BigInt(d.precision)) return undefined;
  const text = n.toString().padStart(d.scale + 1, '0');
  const whole = d.scale ? `${text.slice(0, -d.scale)}.${text.slice(-d.scale)}` : text;
  return n && m[1] === '-' ? `-${whole}` : whole;
}

/** A decimal value every warehouse's CSV reader takes as written: plain digits, no more decimals than the scale. */
const canonicalDecimal = (v: string, d: DecimalType) => /^-?\d+(\.\d+)?$/.test(v) && (!v.includes('.') || v.length - v.indexOf('.') - 1 <= d.scale);

const INT = /^[-+]?\d+$/;
const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const BOOL = /^(true|false)$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** An integer's digits fit a bigint (int64, every warehouse's integer): up to 18 digits always, more compared exactly. */
function inInt64(v: string, digits: number): boolean {
  if (digits <= 18) return true;
  const x = BigInt(v);
  return x >= INT64_MIN && x <= INT64_MAX;
}

/**
 * A float a double holds: not beyond ±1.8e308 (DuckDB loaded 1e400 as Infinity, Postgres
 * refused it), not a non-zero value below 5e-324 (DuckDB loaded 1e-400 as 0, Postgres refused).
 */
function finiteFloat(v: string): boolean {
  const x = Number(v);
  return Number.isFinite(x) && (x !== 0 || !/[1-9]/.test(v.replace(/[eE].*$/, '')));
}

/**
 * A number a double shows as written: its shortest form, what DuckDB, Postgres and BigQuery
 * print, is the same number. Up to 15 significant digits always (a double keeps 15); more only
 * when they come back (`0.30000000000000004`): `1.234567890123456789` would load as
 * 1.2345678901234568, and `9007199254740993` as 9007199254740992. Below the normal doubles
 * (2.2e-308) fewer digits are kept (`1.23456e-320` is 1.2346e-320, `2.5e-324` is 5e-324): there
 * only the shortest form decides. Without an exponent a number that small has 300 characters.
 */
function doubleHolds(v: string): boolean {
  const m = /^[-+]?(\d*)\.?(\d*)(?:[eE]([-+]?\d+))?$/.exec(v);
  if (!m) return false;
  const significant = (m[1] + m[2]).replace(/^0+/, '').replace(/0+$/, '').length;
  if (significant <= 15 && ((m[3] === undefined && v.length < 300) || !subnormal(Number(v)))) return true;
  return decimalKey(v) === decimalKey(String(Number(v)));
}

/** Nearer 0 than the smallest normal double, not 0: a double keeps fewer than 15 digits of it. */
const subnormal = (x: number) => x !== 0 && Math.abs(x) < 2.2250738585072014e-308;

/** A decimal number as `digits e exponent`, without leading or trailing zeros: one text per number. */
function decimalKey(v: string): string {
  const m = /^([-+]?)(\d*)\.?(\d*)(?:[eE]([-+]?\d+))?$/.exec(v)!;
  const all = m[2] + m[3];
  const digits = all.replace(/^0+/, '').replace(/0+$/, '');
  if (!digits) return '0';
  const trailing = all.length - all.replace(/0+$/, '').length;
  return `${m[1] === '-' ? '-' : ''}${digits}e${(m[4] ? +m[4] : 0) - m[3].length + trailing}`;
}

function validDate(y: string, m: string, d: string): boolean {
  return validDay(+y, +m, +d);
}

/** A time of day every warehouse reads alike: no 24:00, no leap second (Postgres took 23:59:60 for the next day, DuckDB for NULL). */
const validTime = (hh: number, mi: number, ss: number) => hh < 24 && mi < 60 && ss < 60;

/**
 * A UTC offset within ±14:00, the range of the world's time zones, which every warehouse takes
 * (Postgres refused +16:00; DuckDB shifted +99:00 by 99 hours).
 */
function validOffset(off: string | undefined): boolean {
  if (off === undefined || off === 'Z') return true;
  const hh = +off.slice(1, 3);
  const mi = off.length > 3 ? +off.slice(-2) : 0;
  return mi < 60 && hh * 60 + mi <= 14 * 60;
}

function validDay(yy: number, mm: number, dd: number): boolean {
  // no year 0: Postgres refuses it, DuckDB reads 1 BC
  if (yy < 1 || mm < 1 || mm > 12 || dd < 1) return false;
  const leap = (yy % 4 === 0 && yy % 100 !== 0) || yy % 400 === 0;
  return dd <= (mm === 2 ? (leap ? 29 : 28) : mm === 4 || mm === 6 || mm === 9 || mm === 11 ? 30 : 31);
}

/** Could be a date or a timestamp: 'YYYY-' at the start (a cheap test before the regex). */
const dateLike = (v: string) => v.length >= 10 && v.charCodeAt(4) === 45;

const CHECK: Record<CanonicalType, (v: string) => boolean> = {
  string: () => true,
  int: (v) => INT.test(v) && inInt64(v, v.length - (v.charCodeAt(0) === 45 || v.charCodeAt(0) === 43 ? 1 : 0)),
  float: (v) => FLOAT.test(v) && finiteFloat(v),
  bool: (v) => BOOL.test(v),
  date: (v) => {
    if (v.length !== 10 || !dateLike(v)) return false;
    const m = DATE.exec(v);
    return !!m && validDate(m[1], m[2], m[3]);
  },
  timestamp: (v) => {
    if (!dateLike(v)) return false;
    const m = TIMESTAMP.exec(v);
    return !!m && validDate(m[1], m[2], m[3]) && validTime(+m[4], +m[5], m[6] ? +m[6].slice(1, 3) : 0) && validOffset(m[8]);
  },
  json: (v) => {
    try {
      JSON.parse(v);
      return true;
    } catch {
      return false;
    }
  },
};

/** Why a value of a type's shape is still not one, for the message. */
function whyNot(t: CanonicalType, v: string): string | undefined {
  if (t === 'int' && INT.test(v)) return 'beyond the bigint range (-9223372036854775808 to 9223372036854775807): make the column text (or float, losing digits)';
  if (t === 'float' && FLOAT.test(v)) return 'beyond the range of a double (about ±1.8e308, and no non-zero value nearer 0 than 5e-324)';
  if (t === 'date' && DATE.test(v)) return 'not a real date: a day the month has, a year from 0001';
  if (t === 'timestamp' && TIMESTAMP.test(v)) return 'not a real timestamp: a day the month has, a year from 0001, hours 00-23, minutes and seconds 00-59 (no leap second), a UTC offset within ±14:00';
  return undefined;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A header's name `vigil seed` keeps as written only with quote_columns: true (upper case, or not a plain identifier). */
export function keptOnlyQuoted(header: string): boolean {
  return header !== header.toLowerCase() || !IDENT.test(header);
}

/** The header's column names (compile checks column_types against them). */
export function readHeader(abs: string, delimiter = ','): string[] | undefined {
  return readHeaderAt(abs, delimiter)?.header;
}

/**
 * readHeader(), and the line the header is on (blank lines may come before it). Read from the
 * file's first 4 KB, and 4 times more while they hold no whole record (a header of 1,601 names of
 * 41 characters is past 64 KB: its column count and name lengths went unchecked); the compile's
 * PII check key reads every seed's header so, ~0.3 ms a seed when it parsed 64 KB.
 */
export function readHeaderAt(abs: string, delimiter = ','): { header: string[]; line: number } | undefined {
  try {
    const fd = openSync(abs, 'r');
    try {
      for (let size = 4096; ; size *= 4) {
        const buf = Buffer.alloc(size);
        const head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
        const whole = head.length < size;
        const r = readCsv(whole ? head : head.subarray(0, head.lastIndexOf(10) + 1), delimiter, 1);
        if ('records' in r && r.records.length) return { header: r.records[0].map((h) => (h ?? '').trim()), line: r.lines[0] };
        if (whole) return undefined; // the load reports what is wrong with the file, at its line
      }
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** Problems of a seed's column_types against its header: names not in it, types Vigil cannot load as. */
export function checkColumnTypes(header: string[] | undefined, config: SeedConfig): Array<{ column: string; key: 'name' | 'type'; message: string; hint?: string }> {
  const out: Array<{ column: string; key: 'name' | 'type'; message: string; hint?: string }> = [];
  // two keys for one column (names are lower-cased without quote_columns): one would be ignored
  const named = new Map<string, string>();
  for (const [col, spelled] of Object.entries(config.column_types ?? {})) {
    const first = named.get(seedColumnName(col, config));
    if (first !== undefined) {
      out.push({ column: col, key: 'name', message: `column_types names column '${seedColumnName(col, config)}' twice, as '${first}' and as '${col}'${config.quote_columns ? '' : ' (without quote_columns names are lower-cased)'}`, hint: 'keep one of them' });
      continue;
    }
    named.set(seedColumnName(col, config), col);
    if (header && !header.some((h) => (config.quote_columns ? h === col : h.toLowerCase() === col.toLowerCase()))) {
      const hint = didYouMean(col, header);
      out.push({ column: col, key: 'name', message: `column_types names '${col}', which is not a column of the CSV's header (${header.join(', ')})`, hint: hint ? `did you mean '${hint}'?` : undefined });
    } else if (!seedType(spelled)) {
      const hint = didYouMean(spelled.toLowerCase(), Object.keys(TYPE_ALIASES));
      out.push({ column: col, key: 'type', message: `column_types: '${spelled}' (column '${col}') is not a type Vigil loads seeds as`, hint: `${hint ? `did you mean '${hint}'? ` : ''}types: ${CANONICAL_TYPES.join(', ')} (or their SQL spellings: varchar, bigint, double, boolean, timestamptz, decimal(10,2), ...)` });
    } else {
      const d = seedDecimal(spelled);
      if (d && (d.precision < 1 || d.precision > 38 || d.scale > d.precision)) out.push({ column: col, key: 'type', message: `column_types: '${spelled}' (column '${col}') is not a decimal every warehouse holds`, hint: 'precision 1 to 38 (the most of DuckDB and BigQuery), scale 0 to the precision' });
    }
  }
  return out;
}

/**
 * Problems of a seed's properties `columns:` against its header (compile): a column the CSV has
 * not (dbt does not check: a test on it failed only when it ran), and a `data_type` that names
 * another type than the column's `column_types` (the load's type: data_type documents, it does
 * not type the load). A data_type that is not a seed type (`uuid`) is not compared.
 */
export function checkSeedColumns(header: string[] | undefined, config: SeedConfig, columns: ReadonlyArray<{ name: string; data_type?: string }>): Array<{ index: number; key: 'name' | 'data_type'; message: string; hint?: string }> {
  const out: Array<{ index: number; key: 'name' | 'data_type'; message: string; hint?: string }> = [];
  const same = (a: string, b: string) => (config.quote_columns ? a === b : a.toLowerCase() === b.toLowerCase());
  columns.forEach((c, index) => {
    if (header && !header.some((h) => same(h, c.name))) {
      const hint = didYouMean(c.name, header);
      out.push({ index, key: 'name', message: `column '${c.name}' is not a column of the CSV's header (${header.join(', ')})`, hint: hint ? `did you mean '${hint}'?` : 'a seed has the columns of its CSV: fix the name, or remove the entry' });
      return;
    }
    if (c.data_type === undefined) return;
    const typed = Object.entries(config.column_types ?? {}).find(([k]) => same(k, c.name));
    if (!typed) return;
    const [declared, loaded] = [c.data_type, typed[1]];
    const [dt, lt] = [seedType(declared), seedType(loaded)];
    const [dd, ld] = [seedDecimal(declared), seedDecimal(loaded)];
    if (dt && lt && (dt !== lt || (dd && ld && (dd.precision !== ld.precision || dd.scale !== ld.scale))))
      out.push({ index, key: 'data_type', message: `column '${c.name}': data_type '${declared}', but column_types loads it as '${loaded}': they disagree`, hint: 'column_types types the load; data_type only documents it: make them say the same, or remove data_type' });
  });
  return out;
}

/** Python's whitespace (str.isspace: what agate's strip() takes off), ASCII's and beyond. */
const PY_SPACE = '[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*';
/** A NULL as agate reads one: `null` in any case, or nothing, between Python's whitespace. */
const NULL_TEXT = new RegExp(`^${PY_SPACE}(?:null)?${PY_SPACE}$`, 'i');

/** A field's text that is NULL as dbt (and `vigil seed`) reads a seed: nullField's rule on decoded text. */
export function nullText(v: string): boolean {
  return NULL_TEXT.test(v);
}

/** An ASCII byte Python's strip() takes off: \t \n \v \f \r, \x1c-\x1f, space. */
const asciiSpace = (c: number) => c === 32 || (c >= 9 && c <= 13) || (c >= 28 && c <= 31);

/**
 * A field that is NULL, as dbt reads a seed (dbt-common's agate_helper gives every type, column_types'
 * text too, null_values ("null", ""), and agate compares the value stripped and lower-cased): empty
 * (quoted or not), blank, or `null` in any case between blanks. Bytes [start, end) of `b`.
 */
export function nullField(b: Buffer, start: number, end: number): boolean {
  let s = start;
  let e = end;
  while (s < e && asciiSpace(b[s])) s++;
  while (e > s && asciiSpace(b[e - 1])) e--;
  if (s === e) return true;
  if (e - s === 4 && (b[s] | 32) === 110 && (b[s + 1] | 32) === 117 && (b[s + 2] | 32) === 108 && (b[s + 3] | 32) === 108) return true;
  // only a wider blank (U+00A0, U+3000...) at either end can still make it one
  return (b[s] >= 0x80 || b[e - 1] >= 0x80) && NULL_TEXT.test(b.toString('utf8', s, e));
}

/**
 * Could the field at `b[start]` be NULL (nullField)? One look at its first byte, for the scan of
 * every value: a blank, `n`/`N`, or the first byte of a wider blank (U+0085, U+00A0: 0xC2; U+1680,
 * U+2000-U+3000: 0xE1-0xE3). An empty field is told apart before.
 */
const mayBeNull = (c: number) => c <= 32 || (c | 32) === 110 || c === 0xc2 || (c >= 0xe1 && c <= 0xe3);

interface CsvSink {
  /**
   * A field: bytes [start, end) of `b` (inside the quotes when `quoted`; `escaped` when it holds
   * "" pairs). Values are decoded only by a sink that needs them; which are NULL: nullField.
   */
  field(b: Buffer, start: number, end: number, quoted: boolean, escaped: boolean): void;
  /** the end of a record that started on `line`; false stops the scan */
  end(line: number): boolean | void;
}

/** What a scan saw besides records: blank lines; line breaks (outside quotes) of each kind. */
interface ScanShape {
  blank: boolean;
  /** LF alone, CRLF, CR alone */
  lf: boolean;
  crlf: boolean;
  cr: boolean;
  /** the bytes of the longest record, its line break included (DuckDB's read_csv takes 2,000,000 unless told more) */
  longest: number;
}

const noShape = (): ScanShape => ({ blank: false, lf: false, crlf: false, cr: false, longest: 0 });

/** A field's text: UTF-8, or Latin-1 where only ASCII matters (a type check: a wider byte fails it anyway, and is 3x cheaper). */
function fieldText(b: Buffer, start: number, end: number, escaped: boolean, latin1 = false): string {
  const v = b.toString(latin1 ? 'latin1' : 'utf8', start, end);
  return escaped ? v.replace(/""/g, '"') : v;
}

/** The character at byte `i`, for a message. */
function charAt(b: Buffer, i: number): string {
  return b[i] < 0x80 ? String.fromCharCode(b[i]) : [...b.toString('utf8', i, Math.min(b.length, i + 4))][0];
}

/**
 * One pass over RFC 4180 bytes (UTF-8: the delimiter, quotes and line breaks are ASCII, which no
 * byte of a multi-byte character can be), records and fields to `sink`, nothing kept. A
 * problem stops it.
 */
function scanCsv(b: Buffer, delimiter: string, sink: CsvSink, shape: ScanShape = noShape()): SeedProblem | undefined {
  const d = delimiter.charCodeAt(0);
  const QUOTE = 34;
  const LF = 10;
  const CR = 13;
  let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  const n = b.length;
  let line = 1;
  let records = 0;
  while (i < n) {
    const c0 = b[i];
    if (c0 === LF || c0 === CR) {
      // an empty line (a record takes its own line break) is skipped, and makes the file need the
      // rewrite wherever it is: before the header a reader told the file has a header takes it for
      // the header; after the last record Postgres' COPY reads it as a record (missing data),
      // DuckDB's read_csv as a row of NULLs in a one-column file
      if (c0 === LF) shape.lf = true;
      else if (b[i + 1] === LF) {
        shape.crlf = true;
        i++;
      } else shape.cr = true;
      i++;
      line++;
      shape.blank = true;
      continue;
    }
    const startLine = line;
    const startByte = i;
    for (;;) {
      if (b[i] === QUOTE) {
        // quoted: "" is a quote; the field ends at a quote followed by the delimiter, a line break or the end
        const start = i + 1;
        let j = start;
        let escaped = false;
        let end: number;
        for (;;) {
          // the next quote, counting line breaks on the way (a byte loop: fields are short, and
          // Buffer.indexOf costs more per call than it saves)
          let q = j;
          while (q < n && b[q] !== QUOTE) {
            if (b[q] === LF) line++;
            q++;
          }
          if (q >= n) return { line: startLine, message: 'not valid CSV: a quoted field is never closed' };
          if (b[q + 1] === QUOTE) {
            escaped = true;
            j = q + 2;
            continue;
          }
          end = q;
          i = q + 1;
          break;
        }
        sink.field(b, start, end, true, escaped);
        const c = b[i];
        if (i < n && c !== d && c !== LF && c !== CR) return { line, message: `not valid CSV: '${charAt(b, i)}' right after a closing quote (a field is quoted whole, or not at all)` };
      } else {
        let j = i;
        while (j < n) {
          const c = b[j];
          if (c === d || c === LF || c === CR) break;
          if (c === QUOTE) return { line, message: 'not valid CSV: a quote inside an unquoted field (quote the whole field, and double the quotes in it)' };
          j++;
        }
        sink.field(b, i, j, false, false);
        i = j;
      }
      const c = b[i];
      if (i < n && c === d) {
        i++;
        continue;
      }
      if (c === LF) shape.lf = true;
      else if (c === CR) {
        if (b[i + 1] === LF) {
          shape.crlf = true;
          i++;
        } else shape.cr = true;
      }
      if (i < n) {
        i++;
        line++;
      }
      break;
    }
    records++;
    if (i - startByte > shape.longest) shape.longest = i - startByte;
    if (sink.end(startLine) === false) return undefined;
  }
  return undefined;
}

/** The offset of the first byte that does not start a well-formed UTF-8 character (the Unicode standard's table: no overlong form, surrogate or code point above U+10FFFF); -1 when there is none. */
export function firstInvalidUtf8(b: Buffer): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    const more = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (!more || i + more >= n) return i;
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    if (b[i + 1] < lo || b[i + 1] > hi) return i;
    for (let k = 2; k <= more; k++) if ((b[i + k] & 0xc0) !== 0x80) return i;
    i += more + 1;
  }
  return -1;
}

/** Where byte `at` is: its line (line breaks before it, CRLF as one) and the field it is in (1-based, when the CSV up to it scans). */
function placeOf(b: Buffer, at: number, delimiter: string): { line: number; column?: number } {
  let line = 1;
  for (let i = 0; i < at; i++) if (b[i] === 10 || (b[i] === 13 && b[i + 1] !== 10)) line++;
  let col = 0;
  let column: number | undefined;
  scanCsv(b.subarray(0, b.indexOf(10, at) < 0 ? b.length : b.indexOf(10, at) + 1), delimiter, {
    field: (_b, start, end) => {
      col++;
      if (column === undefined && at >= start && at < end) column = col;
    },
    end: () => {
      col = 0;
      return column === undefined;
    },
  });
  return column === undefined ? { line } : { line, column };
}

/**
 * What the warehouses do not load alike, anywhere in the file: bytes that are not UTF-8 (DuckDB
 * refused them at the load, with its sniffer's dump, after other seeds were loaded) and NUL (DuckDB
 * loaded it, Postgres and BigQuery refuse it). Whole-buffer checks (isUtf8 is simdutf, indexOf
 * memchr): a few milliseconds for 20 MB; the byte is looked for only when there is one.
 */
function encodingProblem(b: Buffer, delimiter: string): SeedProblem | undefined {
  const nul = b.indexOf(0);
  const bad = isUtf8(b) ? -1 : firstInvalidUtf8(b);
  if (nul < 0 && bad < 0) return undefined;
  if (bad >= 0 && (nul < 0 || bad < nul)) {
    return { ...placeOf(b, bad, delimiter), message: `not UTF-8 (byte 0x${b[bad].toString(16).toUpperCase().padStart(2, '0')}): save the file as UTF-8`, hint: 'a spreadsheet saves it as "CSV UTF-8"; iconv -f latin1 -t utf-8 converts a Latin-1 file' };
  }
  return { ...placeOf(b, nul, delimiter), message: 'a NUL byte, which Postgres and BigQuery cannot store', hint: "remove it (tr -d '\\000' < in.csv > out.csv removes every one)" };
}

const asBytes = (text: string | Buffer): Buffer => (typeof text === 'string' ? Buffer.from(text, 'utf8') : text);

/** Every record of the text, each with the line it starts on (null: an empty unquoted field). */
export function readCsv(text: string | Buffer, delimiter = ',', limit = Infinity): { records: Array<Array<string | null>>; lines: number[] } | SeedProblem {
  const records: Array<Array<string | null>> = [];
  const lines: number[] = [];
  let cur: Array<string | null> = [];
  const problem = scanCsv(asBytes(text), delimiter, {
    field: (b, start, end, quoted, escaped) => void cur.push(!quoted && start === end ? null : fieldText(b, start, end, escaped)),
    end: (line) => {
      records.push(cur);
      lines.push(line);
      cur = [];
      return records.length < limit;
    },
  });
  return problem ?? { records, lines };
}

/**
 * The types a value fits (bits of TYPE_BITS) and those it fits only in a form some reader takes
 * differently (+1, .5, a timestamp without seconds): one look at its characters, regexes only for
 * what looks like a date.
 */
export function classify(v: string): { fits: number; odd: number } {
  const n = v.length;
  const c0 = v.charCodeAt(0);
  // numbers: [-+]digits[.digits][e[-+]digits]
  if ((c0 >= 48 && c0 <= 57) || c0 === 45 || c0 === 43 || c0 === 46) {
    let i = c0 === 45 || c0 === 43 ? 1 : 0;
    let digits = 0;
    while (i < n && v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57) i++, digits++;
    if (i === n && digits > 0) {
      // an integer in the int64 range; beyond it not (a double would drop digits); a float too
      // when a double holds it as written (a column of it and 1.5 is text, not rounded)
      if (!inInt64(v, digits)) return { fits: 0, odd: 0 };
      const fits = doubleHolds(v) ? 3 : 1;
      return { fits, odd: c0 === 43 ? fits : 0 };
    }
    if (i < n && v.charCodeAt(i) !== 45 && FLOAT.test(v)) return finiteFloat(v) && doubleHolds(v) ? { fits: 2, odd: CANONICAL.float!.test(v) ? 0 : 2 } : { fits: 0, odd: 0 };
    if (!dateLike(v)) return { fits: 0, odd: 0 };
    let fits = 0;
    let odd = 0;
    if (CHECK.date(v)) fits |= 8;
    else if (CHECK.timestamp(v)) {
      fits |= 16;
      if (!CANONICAL.timestamp!.test(v)) odd |= 16;
    }
    return { fits, odd };
  }
  if (n === 4 || n === 5) return { fits: BOOL.test(v) ? 4 : 0, odd: 0 };
  return { fits: 0, odd: 0 };
}

/** A double's shortest form (what the warehouses print) is the number as written: doubleHolds() without the string work. */
function shortestForm(b: Buffer, start: number, end: number): boolean {
  const v = b.toString('latin1', start, end);
  return String(Number(v)) === v;
}

const digitAt = (b: Buffer, i: number) => b[i] >= 48 && b[i] <= 57;
const two = (b: Buffer, i: number) => (b[i] - 48) * 10 + b[i + 1] - 48;
const four = (b: Buffer, i: number) => two(b, i) * 100 + two(b, i + 2);

/**
 * classify() of the common shapes, on the bytes, without making a string: an integer, a
 * [-]digits.digits float, YYYY-MM-DD, YYYY-MM-DD HH:MM:SS, true/false. `fits | odd << 8`, or -1
 * for any other shape (classify() decides).
 */
export function classifyBytes(b: Buffer, start: number, end: number): number {
  const n = end - start;
  const c0 = b[start];
  if ((c0 >= 48 && c0 <= 57) || c0 === 45) {
    let i = c0 === 45 ? start + 1 : start;
    const first = i;
    while (i < end && b[i] >= 48 && b[i] <= 57) i++;
    const digits = i - first;
    // (more than 15 digits: a double holds them when its shortest form is the text itself, the
    // common case of a float a program printed, 0.8444218515250481; else classify() decides)
    if (i === end) return digits === 0 || digits > 18 ? -1 : digits <= 15 ? 3 : shortestForm(b, start, end) ? 3 : -1;
    if (b[i] === 46 && digits > 0 && digits <= 18) {
      let k = i + 1;
      while (k < end && b[k] >= 48 && b[k] <= 57) k++;
      if (k !== end || k === i + 1) return -1;
      return digits + (k - i - 1) <= 15 ? 2 : digits + (k - i - 1) <= 18 && shortestForm(b, start, end) ? 2 : -1;
    }
    if (c0 === 45 || digits !== 4 || b[i] !== 45 || (n !== 10 && n !== 19)) return -1;
    const s = start;
    if (!(digitAt(b, s + 5) && digitAt(b, s + 6) && b[s + 7] === 45 && digitAt(b, s + 8) && digitAt(b, s + 9))) return -1;
    const ok = validDay(four(b, s), two(b, s + 5), two(b, s + 8));
    if (n === 10) return ok ? 8 : 0;
    const sep = b[s + 10];
    if (!((sep === 32 || sep === 84) && digitAt(b, s + 11) && digitAt(b, s + 12) && b[s + 13] === 58 && digitAt(b, s + 14) && digitAt(b, s + 15) && b[s + 16] === 58 && digitAt(b, s + 17) && digitAt(b, s + 18))) return -1;
    return ok && validTime(two(b, s + 11), two(b, s + 14), two(b, s + 17)) ? 16 : 0;
  }
  if (n === 4 || n === 5) {
    // true / false in any case
    const lower = (i: number) => b[start + i] | 0x20;
    if (n === 4 && lower(0) === 116 && lower(1) === 114 && lower(2) === 117 && lower(3) === 101) return 4;
    if (n === 5 && lower(0) === 102 && lower(1) === 97 && lower(2) === 108 && lower(3) === 115 && lower(4) === 101) return 4;
  }
  return -1;
}

const TYPE_BITS: Array<[CanonicalType, number]> = [
  ['int', 1],
  ['float', 2],
  ['bool', 4],
  ['date', 8],
  ['timestamp', 16],
];
const BIT = Object.fromEntries(TYPE_BITS) as Record<CanonicalType, number>;

/** Values every warehouse's CSV reader parses alike; others are rewritten (normalize) before loading. */
const CANONICAL: Partial<Record<CanonicalType, RegExp>> = {
  int: /^-?\d+$/,
  float: /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/,
  timestamp: /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?$/,
};

export interface ScannedSeed {
  /** `decimal`: an exact decimal column_types declares (its `type` is float) */
  columns: Array<{ name: string; type: CanonicalType; decimal?: DecimalType }>;
  rows: number;
  /**
   * The file loads as it is (header skipped): every value is in a form every warehouse reads
   * alike, no blank line, no NULL written other than as an empty unquoted field (`null`, `""`,
   * a blank: nullField), every record ending in one kind of line break
   * (`newline`). Otherwise it is rewritten first (loadFileFor).
   */
  asIs: boolean;
  /** How its records end: LF, or CRLF throughout (Windows, Excel), which only some bulk loads read as it is (`Adapter.loadsCrlf`). */
  newline: '\n' | '\r\n';
  /**
   * The bytes of the longest record of whatever file is loaded (`LoadRequest.maxRecordBytes`): the
   * file's own longest (the header's too), with room for what the rewrite adds to each field
   * (quotes, a timestamp's seconds and offset, a decimal written out in full).
   */
  maxRecordBytes: number;
}

/** The seed's file loads as it is into a warehouse whose bulk load reads CRLF records (`crlf`) or not. */
export const loadsAsIs = (seed: ScannedSeed, crlf: boolean | undefined): boolean => seed.asIs && (seed.newline === '\n' || !!crlf);

/** A header's column as `vigil seed` names it: as written with quote_columns, else lower-cased. */
export function seedColumnName(header: string, config: SeedConfig): string {
  return config.quote_columns ? header : header.toLowerCase();
}

/** A seed's columns as `vigil seed` names them, from its CSV's header (`abs`); undefined when the header cannot be read. */
export function seedHeaderNames(abs: string, config: SeedConfig): string[] | undefined {
  return readHeader(abs, config.delimiter ?? ',')?.map((h) => seedColumnName(h, config));
}

/**
 * What `read` makes of each column_types entry, by the index of its column in `names` (as
 * seedColumnName names them); undefined where it gives none or `read` reads nothing of it.
 */
function givenByColumn<T>(names: string[], config: SeedConfig, read: (spelled: string) => T | undefined): Array<T | undefined> {
  const given: Array<T | undefined> = names.map(() => undefined);
  for (const [col, spelled] of Object.entries(config.column_types ?? {})) {
    const idx = names.indexOf(seedColumnName(col, config));
    const v = read(spelled);
    if (idx >= 0 && v !== undefined) given[idx] = v;
  }
  return given;
}

/** The types column_types gives a seed's columns, by index; undefined where it gives none. */
export function givenSeedTypes(names: string[], config: SeedConfig): Array<CanonicalType | undefined> {
  return givenByColumn(names, config, seedType);
}

/** The exact decimals column_types gives a seed's columns, by index. */
function givenSeedDecimals(names: string[], config: SeedConfig): Array<DecimalType | undefined> {
  return givenByColumn(names, config, seedDecimal);
}

/**
 * The column_types spelling of each column that is `numeric`, `decimal` or `bignumeric` without a
 * precision, by index: loaded as a double (seedType), where dbt's warehouse keeps such a number
 * exact (Postgres' numeric), so a value a double does not hold as written is refused, not rounded.
 */
function givenLooseNumerics(names: string[], config: SeedConfig): Array<string | undefined> {
  return givenByColumn(names, config, (spelled) => (/^\s*(?:numeric|decimal|bignumeric)\s*$/i.test(spelled) ? spelled.trim() : undefined));
}

/** The length limits column_types gives a seed's text columns, by index. */
function givenSeedLengths(names: string[], config: SeedConfig): Array<{ max: number; spelled: string } | undefined> {
  return givenByColumn(names, config, (spelled) => {
    // (the column loads as text; a longer value is refused at its line, as the warehouse that keeps
    // the limit — Postgres, BigQuery — refuses it in dbt's load)
    const max = textLength(spelled);
    return max === undefined ? undefined : { max, spelled: spelled.trim() };
  });
}

/**
 * A seed's columns with the types `vigil seed` loads them as: column_types, else inferred from
 * every value (parseSeed). A file that would not load: its header's names, typed by column_types
 * only (the load reports what is wrong). Undefined when the file cannot be read.
 */
export function seedColumnTypes(abs: string, config: SeedConfig): Array<{ name: string; type?: CanonicalType; decimal?: DecimalType }> | undefined {
  let bytes: Buffer;
  try {
    bytes = readSeedFile(abs);
  } catch {
    return undefined;
  }
  const scanned = parseSeed(bytes, config);
  if (!Array.isArray(scanned)) return scanned.columns;
  const names = seedHeaderNames(abs, config);
  const types = names && givenSeedTypes(names, config);
  const exact = names && givenSeedDecimals(names, config);
  return names?.map((name, i) => ({ name, ...(types![i] ? { type: types![i] } : {}), ...(exact![i] ? { decimal: exact![i] } : {}) }));
}

/** Read and check one seed file in one pass, keeping nothing but per-column facts. Problems by line (the header is line 1). */
export function parseSeed(input: string | Buffer, config: SeedConfig = {}, opts: { maxRows?: number } = {}): ScannedSeed | SeedProblem[] {
  const maxRows = opts.maxRows ?? Infinity;
  const delimiter = config.delimiter ?? ',';
  const text = asBytes(input);
  const encoding = encodingProblem(text, delimiter);
  if (encoding) return [encoding];
  const head = readCsv(text, delimiter, 1);
  if (!('records' in head)) return [head];
  if (!head.records.length) return [{ line: 1, message: 'the file is empty: a seed needs a header line with its column names' }];
  const header = head.records[0].map((h) => (h ?? '').trim());
  // (blank lines may come before it)
  const headerLine = head.lines[0];
  const problems: SeedProblem[] = [];
  const names = header.map((h, i) => {
    if (!h) problems.push({ line: headerLine, column: i + 1, message: `column ${i + 1} has no name in the header` });
    if (!config.quote_columns && h && !IDENT.test(h)) {
      // one name holding another usual separator: the file is likely split by it (a spreadsheet's ';' CSV)
      // (',' too: a delimiter: set on a comma-separated file)
      const sep = header.length === 1 ? [',', ';', '\t', '|'].find((c) => c !== delimiter && h.includes(c)) : undefined;
      problems.push({ line: headerLine, column: i + 1, message: `column name '${h}' is not a plain identifier`, hint: sep ? `the header is one column holding '${sep === '\t' ? '\\t' : sep}': if the file's fields are separated by it, set delimiter: "${sep === '\t' ? '\\t' : sep}"${sep === ',' ? ' (the default: or drop delimiter:)' : ''} in the seed's config` : 'rename it (letters, digits, _), or set quote_columns: true to keep names exactly as written' });
    }
    return seedColumnName(h, config);
  });
  // names compared without case, quote_columns or not: DuckDB and BigQuery take 'a' and 'A' for
  // one column even quoted (the load failed "Column with name A already exists", without a line)
  const seen = new Map<string, number>();
  names.forEach((nm, i) => {
    if (!nm) return;
    const prev = seen.get(nm.toLowerCase());
    if (prev !== undefined) problems.push({ line: headerLine, column: i + 1, message: names[prev] === nm ? `column '${header[i]}' appears twice in the header (also column ${prev + 1})` : `column '${header[i]}' differs from column ${prev + 1} ('${header[prev]}') only in case: DuckDB and BigQuery take them for one column, quoted or not`, ...(names[prev] === nm ? {} : { hint: 'rename one of them' }) });
    seen.set(nm.toLowerCase(), i);
  });
  for (const p of checkColumnTypes(header, config)) problems.push({ line: headerLine, message: p.message, hint: p.hint });
  const given = givenSeedTypes(names, config);
  const exact = givenSeedDecimals(names, config);
  const lengths = givenSeedLengths(names, config);
  const loose = givenLooseNumerics(names, config);
  if (problems.length) return problems;

  // per column: candidate types still possible, types a value was not canonical for; a NULL
  // written other than as an empty unquoted field (what every bulk load reads as NULL)
  const width = header.length;
  const mask = new Array<number>(width).fill(31);
  const any = new Array<boolean>(width).fill(false);
  const odd = new Array<number>(width).fill(0);
  // (or a value the file as it is does not load as itself: a lone \.)
  let nullText = false;
  let col = 0;
  let rows = -1; // the header is the first record
  let bad: SeedProblem | undefined;
  const shape = noShape();
  const scanProblem = scanCsv(
    text,
    delimiter,
    {
      field: (b, start, end, quoted, escaped) => {
        const c = col++;
        if (rows < 0 || c >= width || bad) return;
        // a record that is \. alone, unquoted: COPY's end-of-data marker to Postgres before 18,
        // which dropped every row after it without a word; the rewrite quotes it
        if (width === 1 && !quoted && end - start === 2 && b[start] === 92 && b[start + 1] === 46) nullText = true;
        if (start === end) {
          if (quoted) nullText = true;
          return;
        }
        // `null`, `""`, a blank: NULL, as dbt reads them, whatever the column's type; no value to type
        if (mayBeNull(b[start]) && nullField(b, start, end)) {
          nullText = true;
          return;
        }
        const t = given[c];
        if (t) {
          if (t === 'string') {
            const limit = lengths[c];
            if (limit) {
              // (characters, as varchar(n) counts them)
              const v = fieldText(b, start, end, escaped);
              const chars = [...v].length;
              if (chars > limit.max) bad = { line: 0, column: c + 1, message: `column '${header[c]}' is ${limit.spelled} (column_types) but this row has '${redactedCut(v, 40)}', ${chars} characters`, hint: `widen it (varchar(${chars}) or more), or make the column text` };
            }
            return;
          }
          const v = fieldText(b, start, end, escaped, t !== 'json');
          const dec = exact[c];
          if (dec) {
            // a number with no more digits before the point than the decimal holds (more after it are rounded)
            if (!FLOAT.test(v) || decimalText(v, dec) === undefined) {
              const shown = fieldText(b, start, end, escaped);
              bad = { line: 0, column: c + 1, message: `column '${header[c]}' is ${decimalName(dec)} (column_types) but this row has '${redactedCut(shown, 40)}'`, hint: FLOAT.test(v) ? `${decimalName(dec)} holds at most ${dec.precision - dec.scale} digits before the decimal point: widen the precision` : undefined };
            } else if (!canonicalDecimal(v, dec)) odd[c] |= BIT.float;
            return;
          }
          if (!CHECK[t](v)) {
            const shown = fieldText(b, start, end, escaped);
            bad = { line: 0, column: c + 1, message: `column '${header[c]}' is ${t} (column_types) but this row has '${redactedCut(shown, 40)}'`, hint: whyNot(t, v) };
          } else if (loose[c] && (v.length > 15 || v.includes('e') || v.includes('E')) && !doubleHolds(v)) {
            // (checked past 15 characters, or with an exponent, only: fewer hold at most 15 digits,
            // which a double keeps unless it is nearer 0 than 2.2e-308, written with an exponent)
            bad = { line: 0, column: c + 1, message: `column '${header[c]}' is ${loose[c]} (column_types), loaded as a double, but this row has '${redactedCut(v, 40)}', which a double holds as ${redactedCut(String(Number(v)), 40)}`, hint: 'give it a precision and scale, decimal(p,s) (e.g. decimal(38,18)), to load it exact, or say double to round it' };
          } else if (CANONICAL[t] && !CANONICAL[t]!.test(v)) odd[c] |= BIT[t];
          return;
        }
        any[c] = true;
        const m = mask[c];
        if (!m) return;
        const fast = escaped ? -1 : classifyBytes(b, start, end);
        if (fast >= 0) {
          mask[c] = m & fast & 255;
          odd[c] |= (fast >> 8) & m;
          return;
        }
        const k = classify(fieldText(b, start, end, escaped, true));
        mask[c] = m & k.fits;
        odd[c] |= k.odd & m;
      },
      end: (line) => {
        if (rows >= 0 && col !== width && !bad) bad = { line, message: `a ragged row: ${col} fields where the header has ${width}`, hint: config.delimiter ? undefined : `quote fields that hold the delimiter (","), or set delimiter: in the seed's config` };
        else if (bad && bad.line === 0) bad.line = line;
        rows++;
        col = 0;
        return !bad && rows < maxRows;
      },
    },
    shape,
  );
  if (scanProblem) return [scanProblem];
  if (bad) return [bad];
  const columns = names.map((name, c) => ({ name, type: given[c] ?? ((any[c] && TYPE_BITS.find(([, bit]) => mask[c] & bit)?.[0]) || 'string'), ...(exact[c] ? { decimal: exact[c] } : {}) }));
  const newline = shape.crlf && !shape.lf ? '\r\n' : '\n';
  const asIs = !nullText && !shape.blank && !shape.cr && !(shape.crlf && shape.lf) && columns.every((cl, c) => !(odd[c] & (BIT[cl.type] ?? 0)));
  return { columns, rows: Math.max(0, rows), asIs, newline, maxRecordBytes: shape.longest + 48 * width };
}

/** A value as the rewritten CSV carries it: numbers without + or bare dots, a decimal rounded to its scale, timestamps with seconds and a colon in the offset. */
export function canonical(v: string, t: CanonicalType, d?: DecimalType): string {
  if (d) return decimalText(v, d)!;
  if (t === 'int') return v.replace(/^\+/, '');
  if (t === 'float') return v.replace(/^\+/, '').replace(/^(-?)\./, '$10.').replace(/\.(?=$|[eE])/, '');
  if (t === 'bool') return v.toLowerCase();
  if (t === 'timestamp') {
    const m = TIMESTAMP.exec(v)!;
    const frac = (m[7] ?? '').slice(0, 7); // at most microseconds
    const off = m[8] === undefined ? 'Z' : m[8] === 'Z' ? 'Z' : /^[+-]\d{2}$/.test(m[8]) ? `${m[8]}:00` : m[8].includes(':') ? m[8] : `${m[8].slice(0, 3)}:${m[8].slice(3)}`;
    return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}${m[6] ? m[6].slice(0, 3) : ':00'}${frac}${off}`;
  }
  return v;
}

/**
 * The file `Adapter.loadTable` reads for a seed: the CSV itself (header skipped) when it loads as
 * it is into the warehouse (`crlf`: its bulk load reads CRLF records), else a rewrite in the one
 * form every warehouse reads alike (no header, commas, RFC 4180 quoting, records ending in LF,
 * NULL as an empty unquoted field), written as it is scanned (was: every record in memory first,
 * 370 MB and 2x the time for a 200,000-row CRLF file). A quoted field keeps its line breaks as
 * written. Returns how to read it.
 */
export function loadFileFor(seed: ScannedSeed, text: string | Buffer, src: string, tmpPath: string, delimiter = ',', crlf = false): { file: string; header: boolean; delimiter: string; newline?: '\n' | '\r\n' } {
  if (loadsAsIs(seed, crlf)) return { file: src, header: true, delimiter, newline: seed.newline };
  const special = /[",\r\n]/;
  const field = (v: string | null, col: ScannedSeed['columns'][number]) => {
    if (v === null) return '';
    const x = canonical(v, col.type, col.decimal);
    // (\. alone on a line is the end of COPY's data to Postgres before 18; quoted it is the text)
    return special.test(x) || x === '\\.' ? `"${x.replace(/"/g, '""')}"` : x;
  };
  const fd = openSync(tmpPath, 'w');
  try {
    let out: string[] = [];
    let size = 0;
    let row: string[] = [];
    let records = 0;
    const problem = scanCsv(asBytes(text), delimiter, {
      field: (b, start, end, _quoted, escaped) => {
        // (the header is the first record: blank lines before it are no records)
        if (records) row.push(field(nullField(b, start, end) ? null : fieldText(b, start, end, escaped), seed.columns[row.length]));
      },
      end: () => {
        if (records++) {
          const line = row.join(',') + '\n';
          out.push(line);
          size += line.length;
          if (size >= 1 << 20) {
            writeSync(fd, out.join(''));
            out = [];
            size = 0;
          }
        }
        row = [];
      },
    });
    if (problem) throw new Error(problem.message);
    if (out.length) writeSync(fd, out.join(''));
  } finally {
    closeSync(fd);
  }
  return { file: tmpPath, header: false, delimiter: ',' };
}

/** A seed's bytes: scanned as they are (decoding the whole file to a string costs more than the scan). */
export function readSeedFile(abs: string): Buffer {
  return readFileSync(abs);
}
