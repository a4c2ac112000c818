/**
 * Generic data tests: each becomes a query that returns the failing rows. Pure.
 * not_null, unique, accepted_values, relationships, expression_is_true,
 * unique_combination_of_columns.
 */
import type { Dialect } from '../adapters/dialect.js';
import { pyStr } from './py-values.js';
import { TEST_RESULT_KEYS } from './test-results-config.js';

export const GENERIC_TESTS = ['not_null', 'unique', 'accepted_values', 'relationships', 'expression_is_true', 'unique_combination_of_columns', 'no_unmasked_pii'] as const;
export type GenericTestName = (typeof GENERIC_TESTS)[number];

/** Options every test accepts besides its own arguments. */
export const COMMON_TEST_KEYS = ['severity', 'where', 'name', 'tags', 'config', ...TEST_RESULT_KEYS];

export interface GenericTestInput {
  test: GenericTestName;
  /** Relation SQL (already resolved) of the model or source under test. */
  relation: string;
  column?: string;
  /** the column's `quote: true` (dbt's): its name written quoted, as the dialect quotes (`"ID"` on Postgres, not case-folded to id) */
  quoteColumn?: boolean;
  args: Record<string, unknown>;
  /** no_unmasked_pii: the model's masked columns and the column names its relation must not have (compile/masking.ts piiChecks). */
  pii?: { masked: Array<{ column: string; policy: 'mask' | 'hash' | 'redact' }>; forbidden: string[]; catalog?: string };
  /** Resolved relation SQL for relationships' `to`. */
  toRelation?: string;
  /** Predicates the warehouse requires on every read of the relation (and of `to`): see Dialect.readFilter. */
  relationFilter?: string;
  toRelationFilter?: string;
  dialect: Dialect;
}

export const REQUIRED_ARGS: Record<GenericTestName, string[]> = {
  not_null: [],
  unique: [],
  accepted_values: ['values'],
  relationships: ['to', 'field'],
  expression_is_true: ['expression'],
  unique_combination_of_columns: ['combination_of_columns'],
  no_unmasked_pii: [],
};

export const ALLOWED_ARGS: Record<GenericTestName, string[]> = {
  not_null: [],
  unique: [],
  accepted_values: ['values', 'quote'],
  relationships: ['to', 'field'],
  expression_is_true: ['expression'],
  unique_combination_of_columns: ['combination_of_columns'],
  no_unmasked_pii: [],
};

/** The arguments that are SQL (or a list of it): templates, rendered as a model is (var, env_var, ref, source). */
export const TEST_TEMPLATE_ARGS = ['where', 'expression', 'field', 'values', 'combination_of_columns'];

/** The configs dbt renders when they are templates (its test builder's string configs); rendered once, at compile. */
export const TEST_RENDERED_CONFIGS = ['severity', 'warn_if', 'error_if', 'fail_calc', 'limit', 'store_failures', 'store_failures_as', 'schema', 'tags'] as const;

/** Which tests need a column (defined under `columns:`) vs a model-level definition. */
export const NEEDS_COLUMN: Record<GenericTestName, boolean> = {
  not_null: true,
  unique: true,
  accepted_values: true,
  relationships: true,
  expression_is_true: false,
  unique_combination_of_columns: false,
  no_unmasked_pii: false,
};

function filtered(relation: string, ...where: unknown[]): string {
  const conds = where.filter((w): w is string => typeof w === 'string' && !!w.trim());
  return conds.length ? `(select * from ${relation} where ${conds.map((c) => (conds.length > 1 ? `(${c})` : c)).join(' and ')})` : relation;
}

/**
 * The functions a query calls without parentheses, which a bare column of that name is read as
 * instead of the column — Postgres' SQL-value functions (its documentation, "System Information
 * Functions", functions-info.html: current_catalog, current_role, current_schema, current_user,
 * session_user, system_user, user; "Current Date/Time", functions-datetime.html: current_date,
 * current_time, current_timestamp, localtime, localtimestamp), not all of them reserved words
 * (`current_schema` is not: `where current_schema is null` was `current_schema() is null`), and
 * BigQuery's (its documentation: "Parentheses are optional" for CURRENT_DATE, CURRENT_DATETIME,
 * CURRENT_TIME and CURRENT_TIMESTAMP, and "the column name and the function call without
 * parentheses are ambiguous"). DuckDB reads a column of any of these names as the column.
 */
const PARENLESS_FUNCTIONS = ['current_catalog', 'current_date', 'current_datetime', 'current_role', 'current_schema', 'current_time', 'current_timestamp', 'current_user', 'localtime', 'localtimestamp', 'session_user', 'system_user', 'user'];

/**
 * SQL's reserved words (Postgres' list, which holds the standard's), DuckDB's reserved and
 * type-function key words (`where at is null` does not parse there: duckdb_keywords()) and
 * BigQuery's reserved key words (`where hash is null` does not parse there), and the
 * functions called without parentheses (PARENLESS_FUNCTIONS): a column named so, in any case,
 * is quoted in a generic test, where unquoted it would mean the key word or the function (`where
 * user is null` is `current_user is null` on Postgres: a not_null test that always passed).
 * Other names are written as the YAML has them (an expression stays one; `ID` stays
 * case-folded), unless the column says `quote: true`.
 */
const RESERVED = new Set(
  [
    ...PARENLESS_FUNCTIONS,
    'all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create current_catalog current_date current_role current_time current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign from grant group having in initially intersect into lateral leading limit localtime localtimestamp not null offset on only or order placing primary references returning select session_user some symmetric system_user table then to trailing true union unique user using variadic when where window with',
    'describe lambda pivot pivot_longer pivot_wider qualify show summarize unpivot',
    'anti asof at authorization binary by collation columns concurrently cross freeze full generated glob ilike inner is isnull join left like map natural notnull outer overlaps positional right semi similar struct tablesample try_cast unpack verbose',
    'assert_rows_modified between contains cube current define enum escape exclude exists extract following grouping groups hash if ignore interval lookup merge new no nulls of over partition preceding proto range recursive respect rollup rows set treat unbounded unnest within',
  ].join(' ').split(' '),
);

/** Whether `name` unquoted would be a key word or a parenless function of some warehouse (RESERVED) rather than a column. */
export const isReservedWord = (name: string): boolean => RESERVED.has(name.toLowerCase());

/** A name no warehouse needs quoted but for its case: letters, digits, `_` and `$`, not first a digit. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/**
 * Whether a test's `column` is written unquoted (dbt's way: no `quote: true`, no key word) and the
 * warehouse would not read it as the name written: not a plain identifier (`my col`, `a"b`, an
 * expression) or one the warehouse folds (`MyCol` is `mycol` on Postgres). Such a test is no error
 * at compile (the name may be an expression); a warehouse error of it says to quote it
 * (`unquotedColumnHint`).
 */
export function writtenUnquoted(column: string | undefined, dialect: Pick<Dialect, 'unquotedName'>, quote?: boolean): boolean {
  if (column === undefined || quote || RESERVED.has(column.toLowerCase())) return false;
  return !PLAIN_NAME.test(column) || (dialect.unquotedName?.(column) ?? column) !== column;
}

/**
 * The hint under a warehouse error (`error`, its message) of a generic test whose column is
 * `writtenUnquoted` — when the error is one the column written unquoted makes: a syntax error (a
 * name that is no plain identifier), or a column not found that is the name or a piece of it
 * (Postgres' `column "mycol" does not exist`, DuckDB's `Referenced column "my" not found`,
 * BigQuery's `Unrecognized name: my`). Another error (the relation not built, a `where:` naming
 * another column, a permission) gets none: the quoting is not what went wrong.
 */
export function unquotedColumnHint(column: string, dialect: Pick<Dialect, 'quoteIdent' | 'unquotedName' | 'name'>, error: string): string | undefined {
  const plain = PLAIN_NAME.test(column);
  const m = /\bcolumn (?:"([^"]+)"|([\w$.]+)) does not exist|Referenced column "([^"]+)" not found|Unrecognized name: ([\w$]+)/i.exec(error);
  const named = m ? (m[1] ?? m[3] ?? m[4] ?? m[2].slice(m[2].lastIndexOf('.') + 1)) : undefined;
  const byIt = named !== undefined ? named !== '' && column.toLowerCase().includes(named.toLowerCase()) : !plain && /syntax error|unterminated quoted identifier/i.test(error);
  if (!byIt) return undefined;
  const read = plain ? ` (${dialect.name} reads it as ${dialect.unquotedName?.(column) ?? column})` : '';
  return `hint: the test writes the column ${column} unquoted, as dbt does${read}; if that is the column's name, give the column quote: true in its YAML, and the test writes it ${dialect.quoteIdent(column)} (docs/models.md#data-tests)`;
}

function columnSql(column: string | undefined, dialect: Dialect, quote?: boolean): string {
  const c = column ?? '';
  if (quote) return dialect.quoteIdent(c);
  // (a key word in any case is the key word unquoted: `USER` is the column user, as Postgres folds
  // it, quoted in lower case; DuckDB's and BigQuery's column names take any case)
  return RESERVED.has(c.toLowerCase()) ? dialect.quoteIdent(c.toLowerCase()) : c;
}

export function genericTestSql(i: GenericTestInput): string {
  const rel = filtered(i.relation, i.relationFilter, i.args.where);
  const col = columnSql(i.column, i.dialect, i.quoteColumn);
  switch (i.test) {
    case 'not_null':
      return `select *\nfrom ${rel} as t\nwhere ${col} is null`;
    case 'unique':
      return `select ${col} as unique_field, count(*) as n_records\nfrom ${rel} as t\nwhere ${col} is not null\ngroup by ${col}\nhaving count(*) > 1`;
    case 'accepted_values': {
      // each value as dbt's macro prints it ('{{ value }}'): Python's str(), so true is 'True',
      // a float written 1.0 is '1.0' (a PyFloat: compile-project.ts), null is 'None'
      const quote = i.args.quote !== false;
      const text = (v: unknown) => (v === null || v === undefined ? 'None' : String(pyStr(v)));
      const values = (i.args.values as unknown[]).map((v) => (quote ? i.dialect.literal(text(v)) : text(v))).join(', ');
      return `select ${col} as value_field, count(*) as n_records\nfrom ${rel} as t\nwhere ${col} is not null and ${col} not in (${values})\ngroup by ${col}`;
    }
    case 'relationships': {
      // as dbt's macro: each side selects its column (or expression) under its own name first, so
      // an expression (`lower(email)`, `field: "cast(id as text)"`) is read in its relation (was:
      // written after `child.`/`parent.`, a warehouse error where dbt's test ran)
      const field = columnSql(String(i.args.field), i.dialect);
      return (
        `select child.from_field\nfrom (select ${col} as from_field from ${rel} as t where ${col} is not null) as child\n` +
        `left join (select ${field} as to_field from ${filtered(i.toRelation!, i.toRelationFilter)} as t) as parent on child.from_field = parent.to_field\n` +
        `where parent.to_field is null`
      );
    }
    case 'expression_is_true':
      // under a column, the expression goes after it, as dbt_utils writes it (`expression: ">= 0"`)
      return `select *\nfrom ${rel} as t\nwhere not (${i.column === undefined ? '' : `${col} `}${String(i.args.expression)})`;
    case 'no_unmasked_pii': {
      // one row per column that shows PII: a masked column holding something its policy never
      // produces, or a column the relation must not have at all (dropped, or PII upstream)
      const str = i.dialect.type('string');
      const lit = (v: string) => `cast(${i.dialect.literal(v)} as ${str})`;
      const checks = (i.pii?.masked ?? []).map(({ column, policy }) => {
        const q = i.dialect.quoteIdent(column);
        const bad = policy === 'mask' ? `${q} <> ${i.dialect.literal('****')}` : policy === 'hash' ? `length(${q}) <> 64` : 'true';
        return `select ${lit(column)} as column_name, ${lit(`not ${policy}ed`)} as problem, count(*) as n_records from ${rel} as t where ${q} is not null and ${bad}`;
      });
      const forbidden = i.pii?.forbidden ?? [];
      if (forbidden.length && i.pii?.catalog) {
        checks.push(`select cast(column_name as ${str}) as column_name, ${lit('published')} as problem, count(*) as n_records from (${i.pii.catalog}) as c where lower(column_name) in (${forbidden.map((f) => i.dialect.literal(f.toLowerCase())).join(', ')}) group by column_name`);
      }
      if (!checks.length) return `select ${lit('')} as column_name, ${lit('')} as problem, 0 as n_records from ${rel} as t where 1 = 0`;
      return `select column_name, problem, n_records\nfrom (\n${checks.join('\nunion all\n')}\n) as checks\nwhere n_records > 0`;
    }
    case 'unique_combination_of_columns': {
      // (each written as a test's column is: `user` unquoted is current_user on Postgres, and
      // grouping by it merged every user's rows into false duplicates)
      const cols = (i.args.combination_of_columns as unknown[]).map((c) => columnSql(String(c), i.dialect)).join(', ');
      return `select ${cols}, count(*) as n_records\nfrom ${rel} as t\ngroup by ${cols}\nhaving count(*) > 1`;
    }
  }
}
