/**
 * Seeds: CSV files under `seeds/` loaded into the warehouse as tables (`vigil seed`, `vigil
 * build`). A seed is read in one pass (RFC 4180, the configured delimiter, CRLF or LF, a BOM
 * dropped; csv-parse took 1.2 s for 100,000 rows with line numbers, 16x DuckDB's reader),
 * its column types taken from `column_types` or inferred from every value, every value checked
 * against its type, and written out as the normalized CSV every warehouse's bulk load reads
 * (`Adapter.loadTable`: no header, comma, RFC 4180 quoting, empty unquoted field = NULL). A
 * mistake anywhere is reported at file:line before anything is loaded.
 */
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { CANONICAL_TYPES, type CanonicalType } from '../adapters/dialect.js';
import { didYouMean } from '../errors.js';
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

/** A column_types value as a canonical type: `varchar(32)` is string, `decimal(10,2)` float. */
export function seedType(spelled: string): CanonicalType | undefined {
  const t = spelled.trim().toLowerCase().replace(/\s*\(.*\)\s*$/, '');
  return TYPE_ALIASES[t];
}

const INT = /^[-+]?\d{1,18}$/;
const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const BOOL = /^(true|false)$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

function validDate(y: string, m: string, d: string): boolean {
  const yy = +y;
  const mm = +m;
  const dd = +d;
  if (mm < 1 || mm > 12 || dd < 1) return false;
  const leap = (yy % 4 === 0 && yy % 100 !== 0) || yy % 400 === 0;
  return dd <= (mm === 2 ? (leap ? 29 : 28) : mm === 4 || mm === 6 || mm === 9 || mm === 11 ? 30 : 31);
}

/** Could be a date or a timestamp: 'YYYY-' at the start (a cheap test before the regex). */
const dateLike = (v: string) => v.length >= 10 && v.charCodeAt(4) === 45;

const CHECK: Record<CanonicalType, (v: string) => boolean> = {
  string: () => true,
  int: (v) => INT.test(v),
  float: (v) => FLOAT.test(v),
  bool: (v) => BOOL.test(v),
  date: (v) => {
    if (v.length !== 10 || !dateLike(v)) return false;
    const m = DATE.exec(v);
    return !!m && validDate(m[1], m[2], m[3]);
  },
  timestamp: (v) => {
    if (!dateLike(v)) return false;
    const m = TIMESTAMP.exec(v);
    return !!m && validDate(m[1], m[2], m[3]) && +m[4] < 24 && +m[5] < 60;
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


const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The header's column names, from the file's first 64 KB (compile checks column_types against them). */
export function readHeader(abs: string, delimiter = ','): string[] | undefined {
  let head: string;
  try {
    const fd = openSync(abs, 'r');
    try {
      const buf = Buffer.alloc(65536);
      head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    } finally {
      closeSync(fd);
    }
    const cut = head.length === 65536 ? head.slice(0, head.lastIndexOf('\n') + 1) : head;
    const r = readCsv(cut, delimiter, 1);
    return 'records' in r ? r.records[0]?.map((h) => (h ?? '').trim()) : undefined;
  } catch {
    return undefined; // the load reports what is wrong with the file, at its line
  }
}

/** Problems of a seed's column_types against its header: names not in it, types Vigil cannot load as. */
export function checkColumnTypes(header: string[] | undefined, config: SeedConfig): Array<{ column: string; key: 'name' | 'type'; message: string; hint?: string }> {
  const out: Array<{ column: string; key: 'name' | 'type'; message: string; hint?: string }> = [];
  for (const [col, spelled] of Object.entries(config.column_types ?? {})) {
    if (header && !header.some((h) => (config.quote_columns ? h === col : h.toLowerCase() === col.toLowerCase()))) {
      const hint = didYouMean(col, header);
      out.push({ column: col, key: 'name', message: `column_types names '${col}', which is not a column of the CSV's header (${header.join(', ')})`, hint: hint ? `did you mean '${hint}'?` : undefined });
    } else if (!seedType(spelled)) {
      const hint = didYouMean(spelled.toLowerCase(), Object.keys(TYPE_ALIASES));
      out.push({ column: col, key: 'type', message: `column_types: '${spelled}' (column '${col}') is not a type Vigil loads seeds as`, hint: `${hint ? `did you mean '${hint}'? ` : ''}types: ${CANONICAL_TYPES.join(', ')} (or their SQL spellings: varchar, bigint, double, boolean, timestamptz, ...)` });
    }
  }
  return out;
}

interface CsvSink {
  /** a field: null for an empty unquoted one */
  field(v: string | null, quoted: boolean): void;
  /** the end of a record that started on `line`; false stops the scan */
  end(line: number): boolean | void;
}

/** What a scan saw besides records: blank lines, carriage returns (outside quotes). */
interface ScanShape {
  blank: boolean;
  cr: boolean;
}

/** One pass over RFC 4180 text, records and fields to `sink`, nothing kept. A problem stops it. */
function scanCsv(text: string, delimiter: string, sink: CsvSink, shape: ScanShape = { blank: false, cr: false }): SeedProblem | undefined {
  const d = delimiter.charCodeAt(0);
  const QUOTE = 34;
  const LF = 10;
  const CR = 13;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  let line = 1;
  let records = 0;
  let blank = false;
  while (i < n) {
    const c0 = text.charCodeAt(i);
    if (c0 === LF || c0 === CR) {
      // an empty line is skipped (one after the last record is just the file's end)
      if (c0 === CR) shape.cr = true;
      if (c0 === CR && text.charCodeAt(i + 1) === LF) i++;
      i++;
      line++;
      blank = records > 0;
      continue;
    }
    if (blank) shape.blank = true;
    const startLine = line;
    for (;;) {
      if (text.charCodeAt(i) === QUOTE) {
        // quoted: "" is a quote; the field ends at a quote followed by the delimiter, a line break or the end
        let j = i + 1;
        let value = '';
        for (;;) {
          const q = text.indexOf('"', j);
          if (q < 0) return { line: startLine, message: 'not valid CSV: a quoted field is never closed' };
          for (let k = text.indexOf('\n', j); k >= 0 && k < q; k = text.indexOf('\n', k + 1)) line++;
          if (text.charCodeAt(q + 1) === QUOTE) {
            value += text.slice(j, q + 1);
            j = q + 2;
            continue;
          }
          value += text.slice(j, q);
          i = q + 1;
          break;
        }
        sink.field(value, true);
        const c = text.charCodeAt(i);
        if (i < n && c !== d && c !== LF && c !== CR) return { line, message: `not valid CSV: '${text[i]}' right after a closing quote (a field is quoted whole, or not at all)` };
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === d || c === LF || c === CR) break;
          if (c === QUOTE) return { line, message: 'not valid CSV: a quote inside an unquoted field (quote the whole field, and double the quotes in it)' };
          j++;
        }
        sink.field(j === i ? null : text.slice(i, j), false);
        i = j;
      }
      const c = text.charCodeAt(i);
      if (i < n && c === d) {
        i++;
        continue;
      }
      if (c === CR) {
        shape.cr = true;
        if (text.charCodeAt(i + 1) === LF) i++;
      }
      if (i < n) {
        i++;
        line++;
      }
      break;
    }
    records++;
    if (sink.end(startLine) === false) return undefined;
  }
  return undefined;
}

/** Every record of the text, each with the line it starts on (null: an empty unquoted field). */
export function readCsv(text: string, delimiter = ',', limit = Infinity): { records: Array<Array<string | null>>; lines: number[] } | SeedProblem {
  const records: Array<Array<string | null>> = [];
  const lines: number[] = [];
  let cur: Array<string | null> = [];
  const problem = scanCsv(text, delimiter, {
    field: (v) => void cur.push(v),
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
function classify(v: string): { fits: number; odd: number } {
  const n = v.length;
  const c0 = v.charCodeAt(0);
  // numbers: [-+]digits[.digits][e[-+]digits]
  if ((c0 >= 48 && c0 <= 57) || c0 === 45 || c0 === 43 || c0 === 46) {
    let i = c0 === 45 || c0 === 43 ? 1 : 0;
    let digits = 0;
    while (i < n && v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57) i++, digits++;
    if (i === n && digits > 0) {
      // an integer (a float too); beyond 18 digits only a float
      const odd = c0 === 43 ? 3 : 0;
      return digits <= 18 ? { fits: 3, odd } : { fits: 2, odd: c0 === 43 ? 2 : 0 };
    }
    if (i < n && v.charCodeAt(i) !== 45 && FLOAT.test(v)) return { fits: 2, odd: CANONICAL.float!.test(v) ? 0 : 2 };
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
  columns: Array<{ name: string; type: CanonicalType }>;
  rows: number;
  /**
   * The file loads as it is (header skipped): every value is in a form every warehouse reads
   * alike, no blank line, no CR, no "" in a typed column. Otherwise it is rewritten first.
   */
  asIs: boolean;
}

/** Read and check one seed file in one pass, keeping nothing but per-column facts. Problems by line (the header is line 1). */
export function parseSeed(text: string, config: SeedConfig = {}): ScannedSeed | SeedProblem[] {
  const delimiter = config.delimiter ?? ',';
  const head = readCsv(text, delimiter, 1);
  if (!('records' in head)) return [head];
  if (!head.records.length) return [{ line: 1, message: 'the file is empty: a seed needs a header line with its column names' }];
  const header = head.records[0].map((h) => (h ?? '').trim());
  const problems: SeedProblem[] = [];
  const names = header.map((h, i) => {
    if (!h) problems.push({ line: 1, column: i + 1, message: `column ${i + 1} has no name in the header` });
    if (config.quote_columns) return h;
    if (h && !IDENT.test(h)) problems.push({ line: 1, column: i + 1, message: `column name '${h}' is not a plain identifier`, hint: 'rename it (letters, digits, _), or set quote_columns: true to keep names exactly as written' });
    return h.toLowerCase();
  });
  const seen = new Map<string, number>();
  names.forEach((nm, i) => {
    if (!nm) return;
    const prev = seen.get(nm);
    if (prev !== undefined) problems.push({ line: 1, column: i + 1, message: `column '${header[i]}' appears twice in the header (also column ${prev + 1})` });
    seen.set(nm, i);
  });
  for (const p of checkColumnTypes(header, config)) problems.push({ line: 1, message: p.message, hint: p.hint });
  const given: Array<CanonicalType | undefined> = names.map(() => undefined);
  for (const [col, spelled] of Object.entries(config.column_types ?? {})) {
    const idx = names.indexOf(config.quote_columns ? col : col.toLowerCase());
    const t = seedType(spelled);
    if (idx >= 0 && t) given[idx] = t;
  }
  if (problems.length) return problems;

  // per column: candidate types still possible, types a value was not canonical for, a quoted ""
  const width = header.length;
  const mask = new Array<number>(width).fill(31);
  const any = new Array<boolean>(width).fill(false);
  const odd = new Array<number>(width).fill(0);
  const quotedEmpty = new Array<boolean>(width).fill(false);
  let col = 0;
  let rows = -1; // the header is the first record
  let bad: SeedProblem | undefined;
  const shape: ScanShape = { blank: false, cr: false };
  const scanProblem = scanCsv(
    text,
    delimiter,
    {
      field: (v, quoted) => {
        const c = col++;
        if (rows < 0 || c >= width || bad) return;
        if (v === null || v === '') {
          if (v === '' && quoted) quotedEmpty[c] = true;
          return;
        }
        const t = given[c];
        if (t) {
          if (!CHECK[t](v)) bad = { line: 0, column: c + 1, message: `column '${header[c]}' is ${t} (column_types) but this row has '${v.length > 40 ? v.slice(0, 39) + '…' : v}'` };
          else if (CANONICAL[t] && !CANONICAL[t]!.test(v)) odd[c] |= BIT[t];
          return;
        }
        any[c] = true;
        const m = mask[c];
        if (!m) return;
        const k = classify(v);
        mask[c] = m & k.fits;
        odd[c] |= k.odd & m;
      },
      end: (line) => {
        if (rows >= 0 && col !== width && !bad) bad = { line, message: `a ragged row: ${col} fields where the header has ${width}`, hint: config.delimiter ? undefined : `quote fields that hold the delimiter (","), or set delimiter: in the seed's config` };
        else if (bad && bad.line === 0) bad.line = line;
        rows++;
        col = 0;
        return !bad;
      },
    },
    shape,
  );
  if (scanProblem) return [scanProblem];
  if (bad) return [bad];
  const columns = names.map((name, c) => ({ name, type: given[c] ?? ((any[c] && TYPE_BITS.find(([, bit]) => mask[c] & bit)?.[0]) || 'string') }));
  const asIs = !shape.blank && !shape.cr && columns.every((cl, c) => !(cl.type !== 'string' && quotedEmpty[c]) && !(odd[c] & (BIT[cl.type] ?? 0)));
  return { columns, rows: Math.max(0, rows), asIs };
}

/** A value as the rewritten CSV carries it: numbers without + or bare dots, timestamps with seconds and a colon in the offset. */
function canonical(v: string, t: CanonicalType): string {
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
 * it is, else a rewrite in the one form every warehouse reads alike (no header, commas, RFC 4180
 * quoting, NULL as an empty unquoted field). Returns how to read it.
 */
export function loadFileFor(seed: ScannedSeed, text: string, src: string, tmpPath: string, delimiter = ','): { file: string; header: boolean; delimiter: string } {
  if (seed.asIs) return { file: src, header: true, delimiter };
  const r = readCsv(text, delimiter);
  if (!('records' in r)) throw new Error(r.message);
  const special = /[",\r\n]/;
  const field = (v: string | null, t: CanonicalType) => {
    if (v === null || (v === '' && t !== 'string')) return '';
    const x = canonical(v, t);
    return x === '' || special.test(x) ? `"${x.replace(/"/g, '""')}"` : x;
  };
  const out: string[] = [];
  for (const rec of r.records.slice(1)) out.push(rec.map((v, c) => field(v, seed.columns[c].type)).join(','));
  writeFileSync(tmpPath, out.length ? out.join('\n') + '\n' : '');
  return { file: tmpPath, header: false, delimiter: ',' };
}

export function readSeedFile(abs: string): string {
  return readFileSync(abs, 'utf8');
}
