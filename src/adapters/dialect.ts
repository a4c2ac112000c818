/**
 * The pure SQL spelling of a warehouse: identifiers, literals, DDL strings and the
 * cross-database helpers models call (`json_number`, `percentile`, `rolling_median`, ...).
 * No I/O here: the compiler uses dialects to render models without touching a database.
 */
import { createHash } from 'node:crypto';

export interface Relation {
  database?: string;
  schema: string;
  identifier: string;
}

export type DatePart = 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'quarter' | 'year';
export const DATE_PARTS: readonly DatePart[] = ['second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'];

/**
 * A value sent to the warehouse as a bind parameter (never spliced into the SQL text).
 * Timestamps travel as ISO 8601 text and are cast in the statement.
 */
export type SqlParam = string | number | boolean | null;

/**
 * The types Vigil's own tables (sync state, alert state, demo and seed loads) are declared
 * with, spelled per warehouse by `Dialect.type`.
 */
export type CanonicalType = 'string' | 'int' | 'float' | 'bool' | 'timestamp' | 'date' | 'json';
export const CANONICAL_TYPES: readonly CanonicalType[] = ['string', 'int', 'float', 'bool', 'timestamp', 'date', 'json'];

/** An exact decimal a seed's column_types declares (`decimal(10,2)`): precision 1 to 38, scale 0 to the precision. */
export interface DecimalType {
  precision: number;
  scale: number;
}

export interface Dialect {
  /** The warehouse type this dialect spells (the `type:` of a target). */
  readonly name: string;
  /** How its SQL writes literals, quoted names and comments; default: STANDARD_LEXIS. */
  readonly lexis?: SqlLexis;
  /**
   * The longest schema or relation name the warehouse keeps, in bytes (Postgres: 63; it cuts a
   * longer one without a word). Absent: none a project reaches.
   */
  readonly maxIdentifierBytes?: number;
  /** The most columns a table holds (Postgres: 1600, BigQuery: 10,000). Absent: none a project reaches. */
  readonly maxTableColumns?: number;
  /**
   * A name in GROUP BY is read as the SELECT list's alias first (BigQuery): `group by
   * TIMESTAMP_TRUNC(d, DAY)` beside `... as d` truncates the alias, so generated SQL that groups by
   * an expression aliased as its own column groups by position instead. Absent: by expression.
   */
  readonly groupByReadsAliases?: boolean;
  quoteIdent(id: string): string;
  /** `"schema"."table"` in this warehouse's spelling. */
  relation(rel: Relation): string;
  /** A literal for DDL and generated SQL; runtime values go in as bind parameters (`param`). */
  literal(v: string | number | boolean | null): string;
  /** The placeholder of the `index`-th (1-based) bind parameter: `$1` or `?`. */
  param(index: number): string;
  /** A column type of Vigil's own tables. */
  type(t: CanonicalType): string;
  /** `alter table ... alter column ... type ...` in this warehouse's spelling; default: the standard one (DuckDB, Postgres). */
  alterColumnType?(relation: string, column: string, type: string): string;
  /**
   * `expr`, a column of warehouse type `type`, as a value `=`, `is distinct from` and GROUP BY
   * take (Postgres' json has no equality operator: compared as jsonb; BigQuery's JSON, ARRAY,
   * STRUCT and GEOGRAPHY none either: their JSON text); default: as it is.
   */
  comparable?(expr: string, type: string): string;
  /** Compiled SQL as the offline engine's parser reads it (column lineage of the docs site); default: as it is. */
  parsableSql?(sql: string): string;
  /** The name of a result column written without quotes (Postgres folds it to lower case); default: as written. */
  unquotedName?(name: string): string;
  /** The warehouse type a Postgres source column (as `format_type()` prints it) lands as in `vigil sync`. */
  syncColumnType(pgType: string): string;
  /** A parameter holding ISO 8601 text, as a timestamp with time zone. */
  timestampParam(index: number): string;
  /** A parameter holding JSON text, as this warehouse's JSON type (`type('json')`). */
  jsonParam(index: number): string;
  /**
   * `expr` — text holding a JSON array of strings (`["GDPR","SOC2"]`), or NULL — as this
   * warehouse's array of text (DuckDB VARCHAR[], Postgres text[], BigQuery ARRAY<STRING>); NULL
   * stays NULL. How `vigil sync` and `vigil demo` carry array columns through CSV files. `dims`:
   * the levels of nesting the column's type has (2: `[["a","b"],["c","d"]]` as VARCHAR[][]); a
   * value nested otherwise fails, naming `column`, where the warehouse's type fixes them (DuckDB).
   * `json`: the elements are json/jsonb, whose own text may start with '[': never read as a level.
   */
  jsonTextArray(expr: string, dims?: number, column?: string, json?: boolean): string;
  /**
   * `sql` with `current_date`/`current_timestamp` (as this dialect renders them) replaced by the
   * evaluation time, so alert and dashboard queries see `--at`'s day.
   */
  bindEvalTime(sql: string, at: Date): string;
  /**
   * The UTC day of a `timestamptz` expression, whatever the session's TimeZone (Postgres: a url's
   * options may set one). Absent: `cast(expr as date)`, the sessions being UTC.
   */
  utcDate?(expr: string): string;
  /** A DATE-valued window bound `expr`, made comparable with a column of `columnType`. */
  dateBound(expr: string, columnType: string | undefined): string;
  /**
   * A predicate every read of a relation built with model config `config` must carry (BigQuery:
   * `require_partition_filter` tables refuse queries without a filter on the partition column);
   * Vigil adds it to the queries it generates (data tests, dashboard tiles). Keeps every row.
   */
  readFilter?(config: Record<string, unknown> | undefined, alias?: string): string | undefined;
  /** A hash of `expr` and `seed` to order rows by: a deterministic random sample is the first n rows in this order. */
  sampleOrder(expr: string, seed: number): string;

  // --- helpers available to models as template functions ---
  /** A JSON key as a number (NULL when missing or not numeric): jsonNumberSql's rule, the same on every warehouse. */
  json_number(column: string, key: string): string;
  /** A JSON key as text (NULL when missing). */
  json_text(column: string, key: string): string;
  /** True when the JSON object has the key. */
  json_has(column: string, key: string): string;
  /** Exact discrete percentile (`percentile_disc`), an aggregate. */
  percentile(expr: string, fraction: number): string;
  /** Median of the `n` rows before the current one in the window (the current row excluded). */
  rolling_median(expr: string, partitionBy: string, orderBy: string, n: number): string;
  count_if(condition: string): string;
  /** a / b as a floating point number, NULL when b is 0. */
  safe_divide(a: string, b: string): string;
  /** The warehouse's double-precision float type, for casts (dbt's type_float()). */
  type_float(): string;
  /**
   * A FROM-clause item that joins each row with one row per element of the array `expr`, the
   * element named `name` (`from t {{ cross_join_unnest('t.tags', 'tag') }}`); rows whose array is
   * empty or NULL drop out, as an inner join.
   */
  cross_join_unnest(expr: string, name: string): string;
  date_trunc(part: DatePart, expr: string): string;
  dateadd(part: DatePart, n: number | string, expr: string): string;
  datediff(part: DatePart, start: string, end: string): string;
  to_date(expr: string): string;
  /** A SELECT yielding one row per day from `start` to `end` inclusive, in a column named `date`. */
  date_spine(start: string, end: string): string;
  current_timestamp(): string;
  current_date(): string;

  // --- governance (docs/governance.md) ---
  /** The lowercase hex SHA-256 of `expr` as text (NULL stays NULL): the `hash` masking policy. Default: DuckDB's `sha256(cast(x as varchar))`. */
  sha256Hex?(expr: string): string;
  /** A SELECT of one column, `column_name`, listing the columns of `rel` from the warehouse's catalog (the no_unmasked_pii test). */
  catalogColumns?(rel: Relation): string;
  /** Why `principal` cannot be granted to on this warehouse (a malformed role or member), or undefined when it can. Absent: no grants here. */
  principalProblem?(principal: string): string | undefined;
  /**
   * `principal` as the warehouse tells principals apart, for comparing the configured ones with
   * those it lists (BigQuery's IAM keeps e-mail members in lower case); default: as written.
   */
  principalKey?(principal: string): string;
  /**
   * Whether a view's readers also need read access to the relations it reads (BigQuery, unless the
   * view is authorized in the datasets it reads); absent: a view reads them as its owner (Postgres).
   */
  viewReadersNeedInputs?: boolean;
  /**
   * Whether a build writes a model's description and its columns' to the warehouse (BigQuery's
   * table and column descriptions): a change to them is `state:modified.persisted_descriptions`,
   * as dbt's with persist_docs; absent: descriptions stay in Vigil's docs (DuckDB, Postgres).
   */
  persistsDescriptions?: boolean;
  /** The statement giving `principals` read access to `rel` (a table or view). */
  grantSelect?(rel: Relation, kind: 'table' | 'view', principals: string[]): string;
  /** The statement taking read access to `rel` from `principals`. */
  revokeSelect?(rel: Relation, kind: 'table' | 'view', principals: string[]): string;

  // --- DDL/DML ---
  createSchema(schema: string): string;
  createView(rel: Relation, sql: string): string;
  createTableAs(rel: Relation, sql: string): string;
}

/** Names of helpers exposed to templates, checked by tests against every dialect. */
export const TEMPLATE_HELPERS = [
  'json_number',
  'json_text',
  'json_has',
  'percentile',
  'rolling_median',
  'count_if',
  'safe_divide',
  'type_float',
  'cross_join_unnest',
  'date_trunc',
  'dateadd',
  'datediff',
  'to_date',
  'date_spine',
  'current_timestamp',
  'current_date',
  'quote_ident',
] as const;

/**
 * Each helper's parameters, by the names a call may give them with (dbt's cross-database
 * macros' and dbt_utils' names where a helper is theirs): a call gives each, by position or name.
 */
export const TEMPLATE_HELPER_PARAMS: Record<(typeof TEMPLATE_HELPERS)[number], readonly string[]> = {
  json_number: ['column', 'key'],
  json_text: ['column', 'key'],
  json_has: ['column', 'key'],
  percentile: ['expr', 'fraction'],
  rolling_median: ['expr', 'partition_by', 'order_by', 'n'],
  count_if: ['condition'],
  safe_divide: ['numerator', 'denominator'],
  type_float: [],
  cross_join_unnest: ['expr', 'name'],
  date_trunc: ['datepart', 'date'],
  dateadd: ['datepart', 'interval', 'from_date_or_timestamp'],
  datediff: ['datepart', 'first_date', 'second_date'],
  to_date: ['expr'],
  date_spine: ['start_date', 'end_date'],
  current_timestamp: [],
  current_date: [],
  quote_ident: ['name'],
};

export function checkDatePart(part: string): DatePart {
  const p = String(part).toLowerCase() as DatePart;
  if (!DATE_PARTS.includes(p)) throw new Error(`unknown date part '${part}' (use one of ${DATE_PARTS.join(', ')})`);
  return p;
}

export function checkFraction(f: number): number {
  if (typeof f !== 'number' || !(f >= 0 && f <= 1)) throw new Error(`percentile fraction must be a number between 0 and 1, got ${String(f)}`);
  return f;
}

/** What every scratch relation's name has (scratchIdentifier), in any case (DuckDB's names are): a node's relation may not (compile refuses it). */
export const SCRATCH_INFIX = /__vigil_/i;

/**
 * The name of a scratch relation beside `identifier` (a table built before the swap):
 * `<identifier>__vigil_<tag>`, or, where that is longer than the dialect keeps, the identifier cut
 * with a hash of all of it: never the identifier itself, nor the scratch name of another.
 */
export function scratchIdentifier(d: Pick<Dialect, 'maxIdentifierBytes'>, identifier: string, tag: string): string {
  return boundedName(d, '', identifier, `__vigil_${tag}`);
}

/**
 * `prefix + name + suffix`, or, where that is longer than the dialect keeps, with the end of
 * `prefix + name` cut (at a character) for `_<8 hex of a hash of name>`: two long names alike in
 * their first bytes stay two.
 */
function boundedName(d: Pick<Dialect, 'maxIdentifierBytes'>, prefix: string, name: string, suffix: string): string {
  const full = prefix + name + suffix;
  const max = d.maxIdentifierBytes ?? Infinity;
  if (Buffer.byteLength(full) <= max) return full;
  const tail = `_${createHash('sha256').update(name).digest('hex').slice(0, 8)}${suffix}`;
  return cutToBytes(prefix + name, max - Buffer.byteLength(tail)) + tail;
}

/** What an inlined ephemeral model's CTE is named (ephemeralCte) begins with. */
export const EPHEMERAL_CTE_PREFIX = '__vigil_eph_';

/**
 * The CTE an ephemeral model `name` is inlined as: `__vigil_eph_<name>`, or, where that is longer
 * than the dialect keeps (Postgres: 63 bytes, so a name of more than 51), the name cut with a
 * hash of all of it: two long names alike in their first bytes are two CTEs, not one that
 * Postgres refused ("WITH query name ... specified more than once").
 */
export function ephemeralCte(d: Pick<Dialect, 'maxIdentifierBytes'>, name: string): string {
  return boundedName(d, EPHEMERAL_CTE_PREFIX, name, '');
}

/**
 * `name` cut to at most `max` bytes of UTF-8 at a character's end: the name Postgres keeps of a
 * longer one (it cuts a name to its first NAMEDATALEN - 1 bytes, never inside a character).
 */
export function cutToBytes(name: string, max: number): string {
  if (Buffer.byteLength(name) <= max) return name;
  let out = '';
  let bytes = 0;
  for (const ch of name) {
    const b = Buffer.byteLength(ch);
    if (bytes + b > max) break;
    out += ch;
    bytes += b;
  }
  return out;
}

/** The functions jsonNumberSql is written with, in one warehouse's spelling. */
export interface NumberSpelling {
  /** Whether `text` contains a match of the regular expression `re` (a literal: no quote, no backslash). */
  matches(text: string, re: string): string;
  /** The first group of `re`'s first match in `text` ('' or NULL when none). */
  group(text: string, re: string): string;
  /** The double and integer types. */
  double: string;
  int: string;
}

/** A JSON number (RFC 8259): no spaces, `+`, leading zeros, NaN or Infinity. */
const JSON_NUMBER_RE = '^-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][-+]?[0-9]+)?$';
/** The common case, in range on its face (below 1e15, at most 250 fraction digits: Postgres' most): cast at once. */
const PLAIN_NUMBER_RE = '^-?(0|[1-9][0-9]{0,14})([.][0-9]{1,250})?$';

/**
 * json_number on every warehouse: `text` (a JSON value as its json_text reads it) as a double
 * when it is a JSON number or a JSON string whose whole text is one (RFC 8259's grammar, so
 * `" 5"`, `"+5"`, `"1_000"`, `"NaN"`, `"inf"` are NULL); NULL when its magnitude is 1e308 or more
 * (Postgres fails such a cast, DuckDB reads Infinity); 0 when it is below 1e-307 (DuckDB's JSON
 * reader has made such a number 0 already). The range is decided on the text, from the decimal
 * exponent of its first significant digit, so no cast sees a value a warehouse would read its own way.
 */
export function jsonNumberSql(text: string, s: NumberSpelling): string {
  const t = text;
  const d = s.double;
  // the digits and point, without sign or exponent: '0.0012', '120', '1.5'
  const m = s.group(t, '^-?([0-9.]+)');
  const point = `strpos(${m} || '.', '.')`;
  // the zeros (and the point) before the first significant digit
  const zeros = `(length(${m}) - length(ltrim(${m}, '0.')))`;
  const exponent = `cast(coalesce(nullif(${s.group(t, '[eE]([-+]?[0-9]+)$')}, ''), '0') as ${s.int})`;
  // the decimal exponent of the first significant digit (1.5e3: 3; 0.0012: -3)
  const lead = `${exponent} + ${point} - ${zeros} - 2 + least(${zeros}, 1)`;
  return [
    `(case when ${s.matches(t, PLAIN_NUMBER_RE)} then cast(${t} as ${d})`,
    ` when not coalesce(${s.matches(t, JSON_NUMBER_RE)}, false) then null`,
    ` when ltrim(${m}, '0.') = '' then cast(0 as ${d})`,
    // an exponent of 100000 or more: out of range
    ` when ${s.matches(t, '[eE][-+]?0*[1-9][0-9]{5}')} then (case when ${s.matches(t, '[eE]-')} then cast(0 as ${d}) end)`,
    ` else (case greatest(least(${lead}, 308), -308) when 308 then null when -308 then cast(0 as ${d}) else cast(${t} as ${d}) end) end)`,
  ].join('');
}

/** `"name"`, with embedded quotes doubled: the standard SQL spelling DuckDB and Postgres share. */
export function quoteIdentStandard(id: string): string {
  return `"${id.replace(/"/g, '""')}"`;
}

/** `"db"."schema"."table"` from the parts that are set. */
export function relationStandard(rel: Relation): string {
  return [rel.database, rel.schema, rel.identifier]
    .filter((p): p is string => !!p)
    .map(quoteIdentStandard)
    .join('.');
}

/** How a dialect writes what is not SQL code: string literals, quoted identifiers, comments. */
export interface SqlLexis {
  /** the characters that open a string literal (`'`; BigQuery `'` and `"`, tripled too) */
  strings: string;
  /** the character that quotes an identifier (`"`; BigQuery's backtick) */
  identQuote: string;
  /** a backslash escapes in every literal (BigQuery); else only in Postgres' E'...' */
  backslash?: boolean;
  /** `#` starts a comment (BigQuery) */
  hashComments?: boolean;
  /** `$tag$ ... $tag$` quotes a literal (Postgres; DuckDB reads it too) */
  dollarQuotes?: boolean;
  /** a `/* ... *\/` comment nests (Postgres, DuckDB: `/* a /* b *\/ c *\/` is one comment) */
  nestedComments?: boolean;
}

export const STANDARD_LEXIS: SqlLexis = { strings: "'", identQuote: '"', dollarQuotes: true, nestedComments: true };

/**
 * `sql` with `code` applied to each run of SQL code: the text outside string literals, quoted
 * identifiers and comments, which are kept as written (a rewrite of keywords must not rewrite a
 * literal that spells one: `'current_date'`).
 */
export function mapSqlCode(sql: string, code: (text: string, at: number) => string, lex: SqlLexis): string {
  let out = '';
  let from = 0;
  let i = 0;
  const skip = (end: number) => {
    out += code(sql.slice(from, i), from) + sql.slice(i, end);
    from = i = end;
  };
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if ((c === '-' && next === '-') || (c === '#' && lex.hashComments)) {
      const nl = sql.indexOf('\n', i);
      skip(nl < 0 ? sql.length : nl);
    } else if (c === '/' && next === '*') {
      // (nested: the comment ends where its depth comes back to 0; an apostrophe inside is no string)
      let end = i + 2;
      for (let depth = 1; depth > 0 && end < sql.length; ) {
        const pair = sql.slice(end, end + 2);
        if (pair === '*/' || (pair === '/*' && lex.nestedComments)) {
          depth += pair === '*/' ? -1 : 1;
          end += 2;
        } else end++;
      }
      skip(Math.min(sql.length, end));
    } else if (c === lex.identQuote) {
      let j = i + 1;
      while (j < sql.length && (sql[j] !== c || sql[j + 1] === c)) j += sql[j] === c ? 2 : 1;
      skip(Math.min(sql.length, j + 1));
    } else if (lex.strings.includes(c)) {
      const triple = sql.startsWith(c.repeat(3), i);
      const close = triple ? c.repeat(3) : c;
      const backslash = lex.backslash || (/[eE]/.test(sql[i - 1] ?? '') && !/\w/.test(sql[i - 2] ?? ''));
      let j = i + close.length;
      while (j < sql.length) {
        if (backslash && sql[j] === '\\') j += 2;
        else if (sql.startsWith(close, j)) {
          // (a doubled quote is one quote in the literal, in the standard spelling)
          if (!triple && !lex.backslash && sql[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      skip(Math.min(sql.length, j + close.length));
    } else if (c === '$' && lex.dollarQuotes && /[A-Za-z_$]/.test(next ?? '') && !/[\w$]/.test(sql[i - 1] ?? '')) {
      const tag = /^\$[A-Za-z_]?\w*\$/.exec(sql.slice(i))?.[0];
      if (!tag) {
        i++;
        continue;
      }
      const end = sql.indexOf(tag, i + tag.length);
      skip(end < 0 ? sql.length : end + tag.length);
    } else i++;
  }
  return out + code(sql.slice(from), from);
}

/** A name as `sql` writes it, and where (its offset in `sql`). */
export interface WrittenName {
  name: string;
  at: number;
}

/**
 * The names of `sql` that a warehouse keeping `max` bytes of a name (Postgres: 63) reads as one
 * although they are written apart (`aaa…a1` and `aaa…a2`, alike in their first 63 bytes): each
 * such pair once, the first written and the first other one, with the name both are cut to. Names
 * are the code's unquoted words (`fold`ed as the warehouse folds them: Postgres to lower case) and
 * the quoted identifiers; literals and comments are not names. Postgres cuts them without an error:
 * two aliases of a model's SELECT were "column ... specified more than once", and two columns read
 * by such names read one column. Only names of one scope and one qualifier are compared: two
 * relations' columns (`a.<long>1`, `b.<long>2`), the columns of two parenthesized queries (CTEs,
 * subqueries: `(select ...`) and of a UNION's (INTERSECT's, EXCEPT's) branches are each their own
 * column; a function's parentheses are no scope (`coalesce(<long>1, 0), coalesce(<long>2, 0)`).
 */
export function namesAlikeOnceCut(sql: string, max: number, lex: SqlLexis = STANDARD_LEXIS, fold: (name: string) => string = (n) => n): Array<{ first: WrittenName; second: WrittenName; cut: string }> {
  // (only names that are, or may be, what a longer one is cut to: of at least max - 3 bytes, so at
  // least a quarter of that in characters)
  const least = Math.max(1, Math.ceil((max - 3) / 4));
  const word = new RegExp(`(?<![\\w$\\u0080-\\uffff])[A-Za-z_\\u0080-\\uffff][\\w$\\u0080-\\uffff]{${least - 1},}`, 'g');
  // first at a glance (every word, and every text between two quotes, as if a name): most SQL has
  // no two alike once cut, and is not scanned (the scan, mapSqlCode, takes ~10 times as long)
  const glance = new Map<string, string>();
  let alike = false;
  const seen = (name: string) => {
    if (alike || name.length < least || Buffer.byteLength(name) < max - 3) return;
    const cut = cutToBytes(name, max);
    const other = glance.get(cut);
    if (other === undefined) glance.set(cut, name);
    else alike ||= other !== name;
  };
  for (const m of sql.matchAll(word)) seen(fold(m[0]));
  // (a doubled quote is one quote in a quoted name: not where the name ends)
  const qq = lex.identQuote.repeat(2);
  for (const piece of (sql.includes(qq) ? sql.replaceAll(qq, '\u0001') : sql).split(lex.identQuote)) seen(piece.replaceAll('\u0001', lex.identQuote));
  if (!alike) return [];
  // each name with its scope (a parenthesized query's, a UNION branch's: a number) and qualifier
  const names: Array<WrittenName & { scope: number; qualifier: string }> = [];
  const scopes = [0];
  let scopeCount = 0;
  // (the name before a `.` ending at `to`, as the warehouse reads it: `a.` `"A".`, else '')
  const qualifier = (to: number): string => {
    const before = sql.slice(Math.max(0, to - 4 * max - 8), to);
    const m = /(?:([A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)|"((?:[^"]|"")*)")\s*\.\s*$/.exec(lex.identQuote === '"' ? before : before.replaceAll(lex.identQuote, '"'));
    if (!m) return '';
    return cutToBytes(m[1] !== undefined ? fold(m[1]) : m[2].replaceAll('""', '"'), max);
  };
  const add = (name: string, at: number) => {
    if (Buffer.byteLength(name) >= max - 3) names.push({ name, at, scope: scopes[scopes.length - 1], qualifier: qualifier(at) });
  };
  let end = 0;
  const quoted = (from: number, to: number) => {
    const text = sql.slice(from, to);
    if (text.length > least && text.startsWith(lex.identQuote) && text.endsWith(lex.identQuote)) add(text.slice(1, -1).replaceAll(lex.identQuote.repeat(2), lex.identQuote), from);
  };
  const token = new RegExp(`(\\()|(\\))|(?<![\\w$\\u0080-\\uffff])(?:union|intersect|except)(?![\\w$\\u0080-\\uffff])|${word.source}`, 'gi');
  mapSqlCode(
    sql,
    (code, at) => {
      // (between two runs of code: one literal, quoted name or comment)
      if (at > end) quoted(end, at);
      for (const m of code.matchAll(token)) {
        // (a parenthesized query is a scope of its own; a function's or expression's parentheses are not)
        if (m[1]) scopes.push(/^\s*(?:select|with|values)(?![\w$\u0080-\uffff])/i.test(sql.slice(at + m.index + 1, at + m.index + 64)) ? ++scopeCount : scopes[scopes.length - 1]);
        else if (m[2]) {
          if (scopes.length > 1) scopes.pop();
        } else if (m[0].length >= least) add(fold(m[0]), at + m.index);
        else scopes[scopes.length - 1] = ++scopeCount;
      }
      end = at + code.length;
      return code;
    },
    lex,
  );
  const byCut = new Map<string, WrittenName>();
  const out: Array<{ first: WrittenName; second: WrittenName; cut: string }> = [];
  const said = new Set<string>();
  for (const n of names) {
    // (a name within the bound is its own cut: another cut to it is the same name to the warehouse)
    const cut = cutToBytes(n.name, max);
    const key = `${n.scope}\u0000${n.qualifier}\u0000${cut}`;
    const first = byCut.get(key);
    if (!first) byCut.set(key, { name: n.name, at: n.at });
    else if (first.name !== n.name && !said.has(cut)) {
      said.add(cut);
      out.push({ first, second: n, cut });
    }
  }
  return out;
}

/**
 * `sql` without the `;` that ends it, and the comments after that `;` (a model's, a test's or a
 * snapshot's query is wrapped in a subquery or a CTE, which the `;` would end).
 */
export function stripSemicolon(sql: string, lex: SqlLexis = STANDARD_LEXIS): string {
  // the `;` ending the statement, and the comments after it (`select 1; -- note`, a `-- note`
  // line below it): kept, the `;` ended the subquery or CTE the SQL is wrapped in (a snapshot's
  // query, a singular test, an ephemeral model) — "syntax error at or near ';'"
  // (the last `;` of the code: not one in a literal, a quoted name or a comment, `'a; -- b'`, nor
  // after a quote in one, `-- the customer's orders`; each comment after it read one way only: to
  // its line's end, to its first `*/`)
  // (no `;` at all, most models: nothing to look for, and the text is not scanned)
  let end = -1;
  if (sql.includes(';')) {
    const code = mapSqlCode(sql, (c) => c.replaceAll(';', ' '), lex);
    end = sql.length - 1;
    while (end >= 0 && code[end] === sql[end]) end--;
  }
  const last = end >= 0 && /^(?:\s|(?:--|#)[^\n]*(?![^\n])|\/\*(?:[^*]|\*(?!\/))*\*\/)*$/.test(sql.slice(end + 1)) ? end : -1;
  const s = (last >= 0 ? sql.slice(0, last) : sql).replace(/\s+$/, '');
  // a last line ending in a comment (`-- note`, BigQuery's `# note`) would swallow what a statement
  // builder appends after the SQL on the same line (`;` before the next statement, a `)`)
  return /(--|#)[^\n]*$/.test(s) ? `${s}\n` : s;
}

/**
 * The clock of DuckDB and Postgres, bound to `at` (alert queries, dashboard tiles, offline tests:
 * `--at`'s moment, never the wall clock): `current_timestamp` (and `(n)`), `now()`,
 * `transaction_timestamp()`, `statement_timestamp()`, DuckDB's `get_current_timestamp()`;
 * `localtimestamp` (`(n)`), DuckDB's `current_localtimestamp()`; `current_date` (`()`), DuckDB's
 * `today()`; `current_time`, `localtime`, DuckDB's `get_current_time()`. Only in code: a literal or
 * a quoted name that spells one is kept. (`clock_timestamp()` is the wall clock on purpose.)
 * `sessionDate`: current_date is the day of `at` in the session's TimeZone (Postgres, whose url
 * may set one), not its UTC day (DuckDB's sessions are UTC).
 */
const PRECISION = String.raw`(?:\s*\(\s*(\d*)\s*\))?`;
const clock = (body: string) => new RegExp(String.raw`(?<![\w.$])(?:${body})(?![\w(])`, 'gi');
const STANDARD_CLOCK = {
  timestamptz: clock(String.raw`current_timestamp${PRECISION}|(?:now|transaction_timestamp|statement_timestamp|get_current_timestamp)\s*\(\s*\)`),
  timestamp: clock(String.raw`localtimestamp${PRECISION}|current_localtimestamp\s*\(\s*\)`),
  date: clock(String.raw`current_date(?:\s*\(\s*\))?|today\s*\(\s*\)`),
  timetz: clock(String.raw`current_time${PRECISION}|get_current_time\s*\(\s*\)`),
  time: clock(String.raw`localtime${PRECISION}`),
};

export function bindEvalTimeStandard(sql: string, at: Date, sessionDate = false): string {
  const iso = at.toISOString();
  const ts = `cast('${iso}' as timestamptz)`;
  // (a time of day by way of the session's timestamp: DuckDB casts no timestamptz to time)
  const typed = (type: string) => (_m: string, n: string | undefined) => (type === 'timestamptz' && !n ? ts : `cast(${type === 'time' ? `cast(${ts} as timestamp)` : ts} as ${type}${n ? `(${n})` : ''})`);
  const day = sessionDate ? `cast(${ts} as date)` : `cast('${iso.slice(0, 10)}' as date)`;
  const c = STANDARD_CLOCK;
  return mapSqlCode(sql, (code) => code.replace(c.timestamptz, typed('timestamptz')).replace(c.timestamp, typed('timestamp')).replace(c.date, day).replace(c.timetz, typed('timetz')).replace(c.time, typed('time')), STANDARD_LEXIS);
}

/** A SQL literal in the standard spelling (strings in single quotes, doubled). */
export function literalStandard(v: string | number | boolean | null): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  return `'${v.replace(/'/g, "''")}'`;
}

/**
 * The parts DuckDB and Postgres spell the same way; each dialect spreads this and adds its own.
 * (BigQuery differs in almost all of them.)
 */
export const standardSpelling = {
  quoteIdent: quoteIdentStandard,
  relation: relationStandard,
  literal: literalStandard,
  param: (i: number) => `$${i}`,
  timestampParam: (i: number) => `cast($${i} as timestamptz)`,
  bindEvalTime: bindEvalTimeStandard,
  dateBound: (expr: string) => expr,
  count_if: (cond: string) => `count(*) filter (where ${cond})`,
  to_date: (expr: string) => `cast(${expr} as date)`,
  current_timestamp: () => 'current_timestamp',
  current_date: () => 'current_date',
  createSchema: (schema: string) => `create schema if not exists ${quoteIdentStandard(schema)}`,
  createView: (rel: Relation, sql: string) => `create or replace view ${relationStandard(rel)} as\n${sql}`,
  cross_join_unnest: (expr: string, name: string) => `cross join unnest(${expr}) as ${quoteIdentStandard(`__unnest_${name}`)}(${quoteIdentStandard(name)})`,
  catalogColumns: (rel: Relation) =>
    `select column_name from information_schema.columns where table_schema = ${literalStandard(rel.schema)} and table_name = ${literalStandard(rel.identifier)}`,
} satisfies Partial<Dialect>;

/**
 * A loaded column's type in `d`'s spelling (seeds): its exact decimal as `vigil sync` lands a
 * Postgres numeric(p,s) (DuckDB DECIMAL(p,s), BigQuery NUMERIC or BIGNUMERIC); a column given its
 * Postgres type (the demo's integer) as sync lands that type; else its canonical type.
 */
export function loadColumnType(d: Dialect, c: { type: CanonicalType; decimal?: DecimalType; pgType?: string }): string {
  return c.decimal ? d.syncColumnType(`numeric(${c.decimal.precision},${c.decimal.scale})`) : c.pgType ? d.syncColumnType(c.pgType) : d.type(c.type);
}
