/**
 * Column-level lineage from compiled SQL, for the docs site: for each output column of a model,
 * the upstream columns (of models, seeds, snapshots, sources) it is derived from.
 *
 * The SQL is parsed (never executed) by DuckDB: `json_serialize_sql()` gives the parsed tree as
 * JSON, which is walked here with proper scopes (CTEs shadow tables, aliases, qualified and
 * unqualified columns, lateral column aliases, correlated subqueries). Whatever cannot be traced
 * is reported in `untraced`, never thrown.
 *
 * Traced: column references (qualified or not, struct fields), casts, functions, operators,
 * CASE, aggregates (with FILTER / ORDER BY), window functions (arguments, PARTITION BY, ORDER
 * BY), lambdas, scalar / IN / EXISTS subqueries (every column they read, their WHERE included),
 * CTEs (nested, chained, recursive; `__vigil_eph_*` CTEs of ephemeral models are references to
 * those models), subqueries in FROM, joins (USING, NATURAL, LATERAL, SEMI/ANTI, ASOF,
 * POSITIONAL), `*` / `t.*` with EXCLUDE / REPLACE / RENAME, set operations (by position, BY
 * NAME; EXCEPT keeps the left side's), VALUES, PIVOT / UNPIVOT with explicit lists,
 * range() / generate_series(), unnest(list) in FROM (its column derived from the list), a FROM
 * item's alias used as a value (`to_json(t)`: the whole row, all its columns; `(t).a` is t.a),
 * DuckDB's dot call (`x.f(a)` is f(x, a): the parser gives x as the function's schema),
 * `#n` (the n-th column of the FROM items, when their columns are all known).
 * Reported in `untraced`: other table functions (read_csv...), COLUMNS(...), `*` over a relation
 * whose columns are unknown or only partly known (LineageContext.partial), `#n` over such a
 * relation, ambiguous or unknown columns. A CTE or subquery whose `*` read such a relation is
 * partly known in turn: a name not among its columns is that relation's column (as written on it),
 * never its whole row.
 *
 * Unaliased expressions are named as DuckDB names them: the expression is turned back into SQL
 * by `json_deserialize_sql()` (its ToString), with what the JSON loses redone (quoted cast
 * types, `lambda x:` syntax); duplicate names get DuckDB's `_1`, `_2` suffixes.
 */
import { openOfflineEngine, WAREHOUSES } from '../adapters/index.js';
import { EPHEMERAL_CTE_PREFIX, ephemeralCte, type Dialect } from '../adapters/dialect.js';
import type { Manifest } from '../compile/manifest.js';

export interface ColumnRef { node: string; column: string }
export interface ColumnLineage {
  name: string;
  from: ColumnRef[];
  /** how: 'direct' when the column is a plain reference (possibly renamed/cast), 'derived' when an expression combines/transforms */
  kind: 'direct' | 'derived';
}
export interface NodeLineage {
  columns: ColumnLineage[];
  /** constructs not traced, human readable, e.g. "unnest() in FROM", "COLUMNS(...) expression" — empty when fully traced */
  untraced: string[];
  /** set when the SQL could not be parsed by DuckDB: the parser's message */
  error?: string;
  /** whether `columns` are all the query's output columns (no `*` or COLUMNS(...) left unexpanded, no unnamed one) */
  complete: boolean;
}
export interface LineageInput { unique_id: string; sql: string }
export interface LineageContext {
  /** resolves a table reference to a node's unique id: called with the parts as written, lower-cased: [catalog?, schema?, table], and the id of the node whose SQL reads it; return undefined if it is not a project node (then columns read from it are reported with node = 'relation:<as written>') */
  resolve(parts: string[], from: string): string | undefined;
  /** the columns of a node when known (from the warehouse catalog or declared YAML) — needed to expand `select *`; for nodes given in `inputs` earlier in the same call, their computed lineage columns are used instead */
  columnsOf(uniqueId: string): string[] | undefined;
  /**
   * whether the columns columnsOf gives are only some of the relation's (a source's declared
   * ones): `*` over it is then not fully traced, and a name not among them is still its column.
   * undefined: for a node traced earlier in the same call, whether its lineage was incomplete.
   * Without this function, every known column list is taken as complete.
   */
  partial?(uniqueId: string): boolean | undefined;
  /**
   * The name the warehouse gives a column whose name the query `sql` writes (an alias, a column
   * reference, a column alias list): Postgres folds one written unquoted to lower case. Names that
   * come from a relation (`*`, an upstream's columns) keep its spelling. Without it, names are
   * DuckDB's, as written.
   */
  spell?(name: string, sql: string): string;
}

/**
 * LineageContext.spell for a target's dialect: a name the SQL writes unquoted, as the warehouse
 * reads it (Postgres: lower case); one written quoted, or from `*`, keeps its spelling.
 */
export function lineageSpell(dialect: Pick<Dialect, 'quoteIdent' | 'unquotedName'>): LineageContext['spell'] {
  const unquoted = dialect.unquotedName?.bind(dialect);
  return unquoted ? (name, sql) => (sql.includes(dialect.quoteIdent(name)) ? name : unquoted(name)) : undefined;
}

/** A node of DuckDB's JSON parse tree (its shapes vary by node type; read defensively). */
type J = any;

/** Column sources by `node \0 lower(column)`; the first spelling seen is kept. */
type Refs = Map<string, ColumnRef>;
/** A column of a relation in scope (or of a query's output), with what it is derived from. */
interface Col { name: string; refs: Refs; direct: boolean; unnamed?: boolean }
interface Traced { refs: Refs; direct: boolean }

/** A FROM item. */
interface Rel {
  /** the qualifiers it answers to, lower-cased: [['t']] for an alias, [['t'], ['raw', 't']] for raw.t */
  quals: string[][];
  /** as written, for notes */
  label: string;
  /** its columns, when known */
  cols?: Col[];
  index?: Map<string, Col>;
  /** a column of a relation whose columns are unknown or partial (any name is accepted) */
  guess?: (name: string) => Col;
  /** its known columns may not be all of them (a source's declared ones) */
  partial?: boolean;
  /** the node (or `relation:...`) when it is a table */
  node?: string;
}
/** A column merged by JOIN ... USING / NATURAL JOIN: unqualified, it is one column. */
interface Merge { name: string; left: Rel[]; right: Rel[]; mode: 'left' | 'right' | 'both' }
interface Scope {
  rels: Rel[];
  merges: Merge[];
  /** the select list's aliases (DuckDB lets later expressions, WHERE, GROUP BY... use them) */
  aliases?: Map<string, Col>;
  /** the enclosing query's scope (correlated subqueries) or the FROM items to the left (lateral) */
  parent?: Scope;
}
interface Cte { name: string; def: J; aliases: string[]; env: CteEnv; cols?: Col[]; partial?: Col[]; busy?: boolean }
interface CteEnv { ctes: Map<string, Cte>; parent?: CteEnv }
/** FROM items: those in scope, USING merges, join conditions, and SEMI/ANTI joins' right sides (only read by their conditions) */
interface FromResult { rels: Rel[]; merges: Merge[]; conds: J[]; hidden: Rel[] }

const lower = (s: string): string => s.toLowerCase();
const key = (r: ColumnRef): string => `${r.node}\u0000${lower(r.column)}`;
const refsOf = (...rs: ColumnRef[]): Refs => new Map(rs.map((r) => [key(r), r]));
function addAll(into: Refs, from: Refs): Refs {
  for (const [k, v] of from) if (!into.has(k)) into.set(k, v);
  return into;
}
/** Several candidate columns as one: all their sources; direct only if each is. */
function union(cols: Array<Traced | undefined>): Traced {
  const refs: Refs = new Map();
  let direct = true;
  for (const c of cols) {
    if (!c) continue;
    addAll(refs, c.refs);
    direct &&= c.direct;
  }
  return { refs, direct };
}
/** Only the sources of a column (not its name). */
const traced = (v: Traced): Traced => ({ refs: v.refs, direct: v.direct });
function indexOf(rel: Rel): Map<string, Col> | undefined {
  if (!rel.cols) return undefined;
  if (!rel.index) {
    rel.index = new Map();
    for (const c of rel.cols) if (!c.unnamed && !rel.index.has(lower(c.name))) rel.index.set(lower(c.name), c);
  }
  return rel.index;
}
function colIn(rel: Rel, name: string): Col | undefined {
  return indexOf(rel)?.get(lower(name)) ?? rel.guess?.(name);
}
/** `its 2 known ones (a, b)`, for notes. */
function knownOnes(cols: Col[]): string {
  const names = cols.filter((c) => !c.unnamed).map((c) => c.name);
  if (!names.length) return 'its known ones (none)';
  return `its ${names.length === 1 ? 'known one' : `${names.length} known ones`} (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''})`;
}
/** Rename columns by position (`t(a, b)`, `with x(a, b) as`), each name as `spell` gives it; extra names are ignored. */
function renamed(cols: Col[], names: string[] | undefined, spell: (name: string) => string): Col[] {
  if (!names?.length) return cols;
  return cols.map((c, i) => (i < names.length ? { ...c, name: spell(names[i]), unnamed: false } : c));
}
const sameQual = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
/** The (last-part) names of the columns an expression references, lower-cased, into `into`. */
function columnNames(e: J, into: Set<string>): Set<string> {
  if (Array.isArray(e)) for (const x of e) columnNames(x, into);
  else if (e && typeof e === 'object') {
    if (e.class === 'COLUMN_REF' && Array.isArray(e.column_names)) into.add(lower(String(e.column_names[e.column_names.length - 1])));
    // (not a dot call's column, `x.f()`: DuckDB's PIVOT does not see it either, and groups by x)
    else for (const x of Object.values(e)) if (x && typeof x === 'object') columnNames(x, into);
  }
  return into;
}
/** `(t).a`, `(t.s).a`: a field of a column reference, read as `t.a` (the column a of FROM item t, or the field a of column t). */
function fieldPath(e: J): string[] | undefined {
  if (e?.class !== 'OPERATOR' || e.type !== 'STRUCT_EXTRACT' || !Array.isArray(e.children) || e.children.length !== 2) return undefined;
  const [of, field] = e.children;
  if (field?.class !== 'CONSTANT' || typeof field.value?.value !== 'string') return undefined;
  const base: string[] | undefined = of?.class === 'COLUMN_REF' && Array.isArray(of.column_names) ? of.column_names.map(String) : fieldPath(of);
  return base ? [...base, field.value.value] : undefined;
}
/** DuckDB's renaming of duplicate column names (case-insensitive): a, a_1, a_2... */
function deduplicated(cols: Col[]): Col[] {
  const seen = new Map<string, number>();
  let changed = false;
  const out = cols.map((c) => {
    if (c.unnamed) return c;
    const n = lower(c.name);
    const count = seen.get(n);
    if (count === undefined) {
      seen.set(n, 0);
      return c;
    }
    let k = count;
    let name: string;
    do name = `${c.name}_${++k}`;
    while (seen.has(lower(name)));
    seen.set(n, k);
    seen.set(lower(name), 0);
    changed = true;
    return { ...c, name };
  });
  return changed ? out : cols;
}
/** Table functions whose single column is named after them. */
const SERIES_FUNCTIONS = new Set(['range', 'generate_series']);
/** Names DuckDB reads as functions when no column has them (they parse as column references). */
const VALUE_FUNCTIONS = new Set(['current_catalog', 'current_date', 'current_schema', 'current_role', 'current_time', 'current_timestamp', 'current_user', 'localtime', 'localtimestamp', 'session_user', 'user']);
/** Functions whose `x -> ...` arguments are lambdas; elsewhere `->` is JSON extraction. */
const LAMBDA_FN = /(^|_)(transform|apply|filter|reduce|sort)$/;
/**
 * Cast target types that DuckDB quotes in the names it generates when the cast is written in the
 * SQL (`x::double` is named `CAST(x AS "DOUBLE")`); the JSON does not keep that distinction.
 */
const QUOTED_TYPES = new Set(['TIMESTAMP WITH TIME ZONE', 'TIME WITH TIME ZONE', 'TIMESTAMP_NS', 'TIMESTAMP_MS', 'TIMESTAMP_S', 'DOUBLE', 'DATE', 'TINYINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT', 'BLOB', 'UUID', 'BIGNUM']);
/** A location DuckDB gave (generated nodes have none: uint64 max, which JSON.parse rounds). */
const located = (v: J): boolean => Number.isSafeInteger(v?.query_location);

/**
 * Whether DuckDB prints a cast's type as written: all casts but those it generates with the
 * location of their operand (`interval 1 day` becomes `to_days(CAST(trunc(CAST(1 AS DOUBLE)) ...`).
 * Typed literals (`date '2020-01-01'`, no location) are printed as written too.
 */
const written = (c: J): boolean => !(located(c) && c.query_location === c.child?.query_location);

/** A type as DuckDB prints it in a written cast: some as unbound (quoted) type names. */
function writtenType(t: J): J {
  if (!t || typeof t !== 'object') return t;
  if (typeof t.id === 'string' && QUOTED_TYPES.has(t.id) && !t.type_info) return { id: 'UNBOUND', type_info: { type: 'UNBOUND_TYPE_INFO', name: t.id, catalog: '', schema: '' } };
  const info = t.type_info;
  if (!info || typeof info !== 'object') return t;
  const next = { ...info };
  if (info.child_type) next.child_type = writtenType(info.child_type);
  if (Array.isArray(info.child_types)) next.child_types = info.child_types.map((c: J) => (c && typeof c === 'object' && 'second' in c ? { ...c, second: writtenType(c.second) } : c));
  return { ...t, type_info: next };
}

/**
 * An unaliased expression's JSON, rewritten so that json_deserialize_sql prints it as DuckDB
 * names the column: written casts get their types as DuckDB prints them. The `cast_type`
 * keys appear in the text in the order a key-order walk of the parsed object reaches them.
 */
function printable(json: string, expr: J): string {
  const casts: J[] = [];
  const visit = (v: J): void => {
    if (Array.isArray(v)) for (const x of v) visit(x);
    else if (v && typeof v === 'object') {
      for (const k in v) {
        if (k === 'cast_type' && v.class === 'CAST') casts.push(v);
        else if (v[k] && typeof v[k] === 'object' && !(k === 'value' && v.class === 'CONSTANT')) visit(v[k]);
      }
    }
  };
  visit(expr);
  if (!casts.some(written)) return json;
  let out = '';
  let last = 0;
  let k = 0;
  const needle = '"cast_type":';
  for (let at = json.indexOf(needle); at >= 0; at = json.indexOf(needle, at + 1)) {
    const cast = casts[k++];
    if (!cast) return json;
    if (!written(cast)) continue;
    const start = at + needle.length;
    const end = valueEnd(json, start);
    out += json.slice(last, start) + JSON.stringify(writtenType(cast.cast_type));
    last = end;
  }
  return k === casts.length ? out + json.slice(last) : json;
}

/** DuckDB's generated name from the expression's SQL text as json_deserialize_sql prints it. */
function generatedName(sql: string, expr: J): string {
  let name = sql.replace(/^SELECT /, '').replace(/\bAS DECIMAL\((\d+),(\d+)\)/g, 'AS DECIMAL($1, $2)');
  // `lambda x: ...` (and list comprehensions) print as `(lambda x: ...)`, `x -> ...` as `(x -> ...)`;
  // deserialized, both print the second way. The new syntax's parameters have no location.
  const lambdas: J[] = [];
  const visit = (v: J): void => {
    if (Array.isArray(v)) for (const x of v) visit(x);
    else if (v && typeof v === 'object') {
      if (v.class === 'LAMBDA' && v.lhs && !located(v.lhs)) lambdas.push(v);
      for (const k in v) if (v[k] && typeof v[k] === 'object' && !(k === 'value' && v.class === 'CONSTANT')) visit(v[k]);
    }
  };
  visit(expr);
  let from = 0;
  for (const l of lambdas) {
    const params: J[] = l.lhs.class === 'COLUMN_REF' ? [l.lhs] : Array.isArray(l.lhs.children) ? l.lhs.children : [];
    const ps = params.map((p) => (Array.isArray(p?.column_names) ? p.column_names.join('.') : '?'));
    const old = l.lhs.class === 'COLUMN_REF' ? `(${ps[0]} -> ` : `(main."row"(${ps.join(', ')}) -> `;
    const at = name.indexOf(old, from);
    if (at < 0) continue;
    const repl = `(lambda ${ps.join(', ')}: `;
    name = name.slice(0, at) + repl + name.slice(at + old.length);
    from = at + repl.length;
  }
  return name;
}

/** Traces one statement. Notes are collected per model. */
class Tracer {
  readonly notes = new Set<string>();
  /** > 0 while tracing what only filters rows (EXISTS): unknown `*` there is no loss */
  private quiet = 0;
  /** COLUMNS(...) met in expressions so far */
  private columnsSeen = 0;
  /**
   * Query outputs whose known columns may not be all of them (a `*` over a relation whose columns
   * are unknown or partly known, COLUMNS(...)): a name not among them, as far as it can be told —
   * the relation `*` expanded, which may have it. A CTE or subquery over one is a partial relation.
   */
  private readonly more = new WeakMap<Col[], (name: string) => Traced>();
  /** `to`, open as `from` is (the same query's columns renamed or deduplicated). */
  private keepOpen(from: Col[], to: Col[]): Col[] {
    const m = this.more.get(from);
    if (m && to !== from) this.more.set(to, m);
    return to;
  }
  /** Several open outputs' guesses as one: every one that can have the name. */
  private openAs(cols: Col[], parts: Array<Col[] | undefined>): Col[] {
    const fns = parts.flatMap((p) => (p && this.more.get(p) ? [this.more.get(p)!] : []));
    if (fns.length) this.more.set(cols, fns.length === 1 ? fns[0] : (name) => union(fns.map((f) => f(name))));
    return cols;
  }
  /** A CTE's or subquery's columns as a FROM item: partial when its query's are (a name not among them comes from what its `*` read). */
  private derivedRel(quals: string[][], label: string, cols: Col[]): Rel {
    const m = this.more.get(cols);
    return m ? { quals, label, cols, partial: true, guess: (name) => ({ name, ...traced(m(name)) }) } : { quals, label, cols };
  }

  constructor(
    /** the node whose SQL is traced */
    private readonly reader: string,
    private readonly ctx: LineageContext,
    private readonly columnsOf: (id: string) => string[] | undefined,
    private readonly names: WeakMap<object, string | null>,
    /** the name a column written in this SQL gets (LineageContext.spell) */
    private readonly spell: (name: string) => string = (name) => name,
  ) {}

  note(s: string): void {
    if (!this.quiet) this.notes.add(s);
  }

  /** A query node's output columns. `filters`, when given, receives the columns its WHERE, joins, GROUP BY... read. */
  query(node: J, env: CteEnv | undefined, parent: Scope | undefined, filters?: Refs): Col[] {
    if (!node || typeof node !== 'object') return [];
    const inner = this.withCtes(node.cte_map, env);
    switch (node.type) {
      case 'SELECT_NODE': {
        const cols = this.select(node, inner, parent, filters);
        return this.keepOpen(cols, deduplicated(cols));
      }
      case 'SET_OPERATION_NODE': {
        const cols = this.setOp(node, inner, parent, filters);
        return this.keepOpen(cols, deduplicated(cols));
      }
      case 'RECURSIVE_CTE_NODE': {
        const left = this.query(node.left, inner, parent, filters);
        const right = this.query(node.right, inner, parent, filters);
        return this.openAs(this.positional(left, right, 'recursive CTE'), [left, right]);
      }
      default:
        this.note(`${String(node.type)} query`);
        return [];
    }
  }

  private withCtes(cteMap: J, env: CteEnv | undefined): CteEnv | undefined {
    const entries: J[] = cteMap?.map ?? [];
    if (!entries.length) return env;
    const next: CteEnv = { ctes: new Map(), parent: env };
    for (const e of entries) {
      const name = String(e.key);
      next.ctes.set(lower(name), { name, def: e.value?.query?.node, aliases: e.value?.aliases ?? [], env: next });
    }
    return next;
  }

  private cteCols(cte: Cte): Col[] {
    if (cte.cols) return cte.cols;
    // a recursive CTE's reference to itself: the columns of its anchor (non-recursive) part
    if (cte.busy) return cte.partial ?? [];
    cte.busy = true;
    try {
      if (cte.def?.type === 'RECURSIVE_CTE_NODE') {
        const env = this.withCtes(cte.def.cte_map, cte.env);
        const anchor = this.query(cte.def.left, env, undefined);
        const left = this.keepOpen(anchor, renamed(anchor, cte.aliases, this.spell));
        cte.partial = left;
        const right = this.query(cte.def.right, env, undefined);
        const both = this.openAs(this.positional(left, right, `recursive CTE ${cte.name}`), [left, right]);
        cte.cols = this.keepOpen(both, renamed(both, cte.aliases, this.spell));
      } else {
        const cols = this.query(cte.def, cte.env, undefined);
        cte.cols = this.keepOpen(cols, renamed(cols, cte.aliases, this.spell));
      }
    } finally {
      cte.busy = false;
    }
    return cte.cols;
  }

  private select(node: J, env: CteEnv | undefined, parent: Scope | undefined, filters?: Refs): Col[] {
    const from = this.from(node.from_table, env, parent);
    const scope: Scope = { rels: from.rels, merges: from.merges, aliases: new Map(), parent };
    const out: Col[] = [];
    const list: J[] = Array.isArray(node.select_list) ? node.select_list : [];
    /** the `*`s that may stand for more columns than are known, and COLUMNS(...) (unknown ones) */
    const open: Col[][] = [];
    const unknownCols = (): Col[] => {
      const none: Col[] = [];
      this.more.set(none, () => ({ refs: new Map(), direct: false }));
      return none;
    };
    list.forEach((e, i) => {
      if (e?.class === 'STAR') {
        if (e.columns || e.expr) {
          this.note('COLUMNS(...) expression');
          open.push(unknownCols());
          return;
        }
        const cols = this.star(e, scope, env);
        out.push(...cols);
        open.push(cols);
        return;
      }
      const before = this.columnsSeen;
      const v = this.top(e, scope, env);
      // COLUMNS(...) inside an expression stands for several columns
      if (this.columnsSeen !== before) {
        open.push(unknownCols());
        return;
      }
      // (an alias or a column reference: written in this SQL)
      let name: string | undefined = e?.alias ? this.spell(e.alias) : undefined;
      if (!name && e?.class === 'COLUMN_REF') name = this.spell(String(e.column_names[e.column_names.length - 1]));
      // `#n` unaliased is named as the column it stands for
      if (!name && e?.class === 'POSITIONAL_REFERENCE') {
        const c = this.byPosition(e.index, scope);
        name = c && !c.unnamed ? c.name : undefined;
      } else if (!name) name = this.names.get(e) ?? undefined;
      const col: Col = name ? { name, refs: v.refs, direct: v.direct } : { name: `#${i + 1}`, refs: v.refs, direct: v.direct, unnamed: true };
      if (e?.alias) scope.aliases!.set(lower(e.alias), col);
      out.push(col);
    });
    if (filters) {
      const joinScope: Scope = from.hidden.length ? { ...scope, rels: [...scope.rels, ...from.hidden] } : scope;
      for (const c of from.conds) addAll(filters, this.expr(c, joinScope, env));
      for (const k of ['where_clause', 'having', 'qualify', 'groups', 'modifiers']) if (node[k]) addAll(filters, this.expr(node[k], scope, env));
    }
    return this.openAs(out, open);
  }

  private setOp(node: J, env: CteEnv | undefined, parent: Scope | undefined, filters?: Refs): Col[] {
    const left = this.query(node.left, env, parent, filters);
    const type = String(node.setop_type ?? '');
    if (type === 'EXCEPT') {
      // the values are the left side's; the right side only removes rows
      if (filters) {
        this.quiet++;
        try {
          for (const c of this.query(node.right, env, parent, filters)) addAll(filters, c.refs);
        } finally {
          this.quiet--;
        }
      }
      return left;
    }
    const right = this.query(node.right, env, parent, filters);
    return this.openAs(this.setOpCols(node, type, left, right), [left, right]);
  }

  private setOpCols(node: J, type: string, left: Col[], right: Col[]): Col[] {
    if (type === 'UNION_BY_NAME' || node.by_name) {
      const out = left.map((c) => ({ ...c }));
      const byName = new Map(out.filter((c) => !c.unnamed).map((c) => [lower(c.name), c]));
      for (const r of right) {
        const l = r.unnamed ? undefined : byName.get(lower(r.name));
        if (l) Object.assign(l, union([l, r]));
        else out.push({ ...r });
      }
      return out;
    }
    return this.positional(left, right, type ? `${type.replace(/_/g, ' ')}` : 'set operation');
  }

  /** Two queries' columns by position: names from the left, sources from both. */
  private positional(left: Col[], right: Col[], what: string): Col[] {
    if (left.length !== right.length) this.note(`${what}: the sides have ${left.length} and ${right.length} traced columns, matched by position as far as they go`);
    return left.map((c, i) => (right[i] ? { ...c, ...union([c, right[i]]) } : c));
  }

  // ---- FROM ----

  private from(t: J, env: CteEnv | undefined, lat: Scope | undefined): FromResult {
    const none: FromResult = { rels: [], merges: [], conds: [], hidden: [] };
    if (!t || typeof t !== 'object') return none;
    switch (t.type) {
      case 'EMPTY':
        return none;
      case 'BASE_TABLE':
        return { rels: [this.baseTable(t, env)], merges: [], conds: [], hidden: [] };
      case 'SUBQUERY': {
        const q = this.query(t.subquery?.node, env, lat);
        const cols = this.keepOpen(q, renamed(q, t.column_name_alias, this.spell));
        const alias = t.alias || 'unnamed_subquery';
        return { rels: [this.derivedRel([[lower(alias)]], alias, cols)], merges: [], conds: [], hidden: [] };
      }
      case 'JOIN':
        return this.join(t, env, lat);
      case 'TABLE_FUNCTION': {
        const fn = t.function ?? {};
        const fname = String(fn.function_name ?? 'table function');
        const series = SERIES_FUNCTIONS.has(lower(fname));
        // unnest(list): one column, each element derived from the list argument (traced through args)
        const unnest = lower(fname) === 'unnest';
        // range() and generate_series() read no table: their one column is traced
        if (!series && !unnest) this.note(`${fname}() in FROM`);
        const args = fn.class ? this.expr(fn, lat ?? { rels: [], merges: [] }, env) : new Map();
        const alias = t.alias || fname;
        const mk = (name: string): Col => ({ name, refs: new Map(args), direct: false });
        const names: string[] = t.column_name_alias?.length ? (t.column_name_alias as string[]).map(this.spell) : series || unnest ? [lower(fname)] : [];
        const rel: Rel = names.length ? { quals: [[lower(alias)]], label: alias, cols: names.map(mk) } : { quals: [[lower(alias)]], label: alias, guess: mk };
        return { rels: [rel], merges: [], conds: [], hidden: [] };
      }
      case 'EXPRESSION_LIST': {
        const rows: J[][] = Array.isArray(t.values) ? t.values : [];
        const width = Math.max(0, ...rows.map((r) => r.length));
        const scope = lat ?? { rels: [], merges: [] };
        const cols: Col[] = [];
        for (let i = 0; i < width; i++) cols.push({ name: `col${i}`, ...union(rows.map((r) => (r[i] ? { refs: this.expr(r[i], scope, env), direct: false } : undefined))), direct: false });
        const alias = t.alias || 'valueslist';
        return { rels: [{ quals: [[lower(alias)]], label: alias, cols: renamed(cols, t.column_name_alias, this.spell) }], merges: [], conds: [], hidden: [] };
      }
      case 'PIVOT':
        return { rels: [this.pivot(t, env, lat)], merges: [], conds: [], hidden: [] };
      default: {
        this.note(`${String(t.type)} in FROM`);
        const alias = t.alias || String(t.type);
        return { rels: [{ quals: [[lower(alias)]], label: alias, guess: (name) => ({ name, refs: new Map(), direct: false }) }], merges: [], conds: [], hidden: [] };
      }
    }
  }

  private baseTable(t: J, env: CteEnv | undefined): Rel {
    const parts: string[] = [t.catalog_name, t.schema_name, t.table_name].filter((p) => typeof p === 'string' && p !== '');
    const table = String(t.table_name ?? '');
    const alias: string = t.alias || '';
    let id: string | undefined;
    if (parts.length === 1) {
      const cte = this.findCte(env, lower(table));
      // an inlined ephemeral model is a reference to that model, not a query to descend into
      if (cte && lower(table).startsWith(EPHEMERAL_CTE_PREFIX)) id = this.ctx.resolve([lower(table)], this.reader);
      if (cte && !id) {
        const q = this.cteCols(cte);
        const cols = this.keepOpen(q, renamed(q, t.column_name_alias, this.spell));
        return this.derivedRel([[lower(alias || table)]], alias || table, cols);
      }
    }
    id ??= this.ctx.resolve(parts.map(lower), this.reader);
    const node = id ?? `relation:${parts.join('.')}`;
    const quals = alias ? [[lower(alias)]] : parts.map((_, i) => parts.slice(i).map(lower));
    const label = alias || parts.join('.');
    const known = id ? this.columnsOf(id) : undefined;
    const direct = (column: string): Col => ({ name: column, refs: refsOf({ node, column }), direct: true });
    if (known && id && this.ctx.partial?.(id)) {
      // declared columns: a name not among them is still one of its own
      if (t.column_name_alias?.length) this.note(`${label}(${(t.column_name_alias as string[]).join(', ')}): columns renamed by position, but only some columns of ${parts.join('.')} are known`);
      return { quals, label, node, cols: renamed(known.map(direct), t.column_name_alias, this.spell), guess: direct, partial: true };
    }
    if (known) return { quals, label, node, cols: renamed(known.map(direct), t.column_name_alias, this.spell) };
    if (t.column_name_alias?.length) this.note(`${label}(${(t.column_name_alias as string[]).join(', ')}): columns renamed by position, but the columns of ${parts.join('.')} are unknown`);
    return { quals, label, node, guess: direct };
  }

  private findCte(env: CteEnv | undefined, name: string): Cte | undefined {
    for (let e = env; e; e = e.parent) {
      const c = e.ctes.get(name);
      if (c) return c;
    }
    return undefined;
  }

  private join(t: J, env: CteEnv | undefined, lat: Scope | undefined): FromResult {
    const left = this.from(t.left, env, lat);
    // DuckDB joins are lateral: the right side may read the left side's columns
    const right = this.from(t.right, env, { rels: left.rels, merges: left.merges, parent: lat });
    const type = String(t.join_type ?? 'INNER');
    const conds = [...left.conds, ...right.conds];
    if (t.condition) conds.push(t.condition);
    const hidden = [...left.hidden, ...right.hidden];
    if (type === 'SEMI' || type === 'ANTI') {
      // only the left side's columns come out; the right side's are read by the condition
      return { rels: left.rels, merges: left.merges, conds, hidden: [...hidden, ...right.rels] };
    }
    const merges = [...left.merges, ...right.merges];
    const mode: Merge['mode'] = type === 'RIGHT' ? 'right' : type === 'FULL' || type === 'OUTER' ? 'both' : 'left';
    let using: string[] = Array.isArray(t.using_columns) ? t.using_columns.map(String) : [];
    if (t.ref_type === 'NATURAL') {
      const names = (rels: Rel[]): string[] | undefined => {
        const out: string[] = [];
        for (const r of rels) {
          if (!r.cols || r.partial) return undefined;
          out.push(...r.cols.filter((c) => !c.unnamed).map((c) => c.name));
        }
        return out;
      };
      const l = names(left.rels);
      const r = names(right.rels);
      if (l && r) {
        const rs = new Set(r.map(lower));
        using = [...new Set(l.filter((n) => rs.has(lower(n))).map(lower))];
      } else this.note('NATURAL JOIN with a side whose columns are unknown: the common columns are not merged');
    }
    for (const u of using) merges.push({ name: lower(u), left: left.rels, right: right.rels, mode });
    return { rels: [...left.rels, ...right.rels], merges, conds, hidden };
  }

  private pivot(t: J, env: CteEnv | undefined, lat: Scope | undefined): Rel {
    const src = this.from(t.source, env, lat);
    const scope: Scope = { rels: src.rels, merges: src.merges, parent: lat };
    const unpivot = Array.isArray(t.unpivot_names) && t.unpivot_names.length > 0;
    const alias: string = t.alias || (unpivot ? 'unpivot' : 'pivot');
    const quals = [[lower(alias)]];
    const pivots: J[] = Array.isArray(t.pivots) ? t.pivots : [];
    const srcCol = (name: string): Col => ({ name, ...traced(this.column([name], scope, undefined)) });
    const srcNames = src.rels.every((r) => r.cols && !r.partial) ? this.star({ relation_name: '' }, scope, env).map((c) => c.name) : undefined;
    if (unpivot) {
      const valueNames: string[] = t.unpivot_names.map(String);
      const nameNames: string[] = pivots.flatMap((p) => (p.unpivot_names ?? []) as string[]).map(String);
      const perValue: Refs[] = valueNames.map(() => new Map());
      const unpivoted = new Set<string>();
      let complete = !!srcNames;
      for (const p of pivots)
        for (const e of p.entries ?? []) {
          if (e.star_expr) {
            if (e.star_expr.expr || !srcNames) {
              complete = false;
              continue;
            }
            for (const c of this.star({ ...e.star_expr, columns: false }, scope, env)) {
              unpivoted.add(lower(c.name));
              addAll(perValue[0], c.refs);
            }
            continue;
          }
          (e.values ?? []).forEach((v: J, j: number) => {
            if (typeof v?.value !== 'string') return;
            unpivoted.add(lower(v.value));
            addAll(perValue[Math.min(j, perValue.length - 1)], srcCol(v.value).refs);
          });
          if (e.expr) addAll(perValue[0], this.expr(e.expr, scope, env));
        }
      const valueCol = (name: string, j: number): Col => ({ name, refs: new Map(perValue[j]), direct: false });
      if (complete && srcNames) {
        const cols: Col[] = srcNames.filter((n) => !unpivoted.has(lower(n))).map(srcCol);
        for (const n of nameNames) cols.push({ name: n, refs: new Map(), direct: false });
        valueNames.forEach((n, j) => cols.push(valueCol(n, j)));
        return { quals, label: alias, cols };
      }
      this.note('UNPIVOT in FROM: its columns are not all known');
      return {
        quals,
        label: alias,
        guess: (name) => {
          const j = valueNames.findIndex((n) => lower(n) === lower(name));
          if (j >= 0) return valueCol(name, j);
          return nameNames.some((n) => lower(n) === lower(name)) ? { name, refs: new Map(), direct: false } : srcCol(name);
        },
      };
    }
    const aggs: J[] = Array.isArray(t.aggregates) ? t.aggregates : [];
    const aggRefs = aggs.map((a) => this.expr(a, scope, env));
    const pivotRefs: Refs = new Map();
    for (const p of pivots) for (const e of p.pivot_expressions ?? []) addAll(pivotRefs, this.expr(e, scope, env));
    const measured = union(aggRefs.map((r) => ({ refs: r, direct: false }))).refs;
    addAll(measured, pivotRefs);
    // the columns: the groups (given, else every source column not pivoted or aggregated), then one per IN value x aggregate
    let groups: string[] | undefined = Array.isArray(t.groups) && t.groups.length ? t.groups.map(String) : undefined;
    if (!groups && srcNames) {
      const used = new Set<string>();
      for (const p of pivots) columnNames(p.pivot_expressions, used);
      columnNames(aggs, used);
      groups = srcNames.filter((n) => !used.has(lower(n)));
    }
    let combos: string[] | undefined = [''];
    for (const p of pivots) {
      const entries: J[] = p.entries ?? [];
      if (!entries.length || !combos) {
        combos = undefined;
        break;
      }
      const names = entries.map((e) => (e.alias ? String(e.alias) : (e.values ?? []).map((v: J) => (v?.value === null || v?.value === undefined ? 'NULL' : String(v.value))).join('_')));
      combos = combos.flatMap((c) => names.map((n) => (c ? `${c}_${n}` : n)));
    }
    const suffixes = aggs.length > 1 || aggs[0]?.alias ? aggs.map((a) => (a.alias ? String(a.alias) : this.names.get(a) ?? undefined)) : [undefined];
    if (groups && combos && suffixes.every((x, i) => x !== undefined || (i === 0 && suffixes.length === 1))) {
      const cols: Col[] = groups.map(srcCol);
      for (const c of combos)
        suffixes.forEach((sfx, k) => {
          const refs = addAll(new Map(aggRefs[k] ?? new Map()), pivotRefs);
          cols.push({ name: sfx === undefined ? c : `${c}_${sfx}`, refs, direct: false });
        });
      return { quals, label: alias, cols };
    }
    this.note('PIVOT in FROM: its columns are not all known');
    const known = new Set((groups ?? []).map(lower));
    return {
      quals,
      label: alias,
      guess: (name) => (known.has(lower(name)) ? srcCol(name) : { name, refs: new Map(measured), direct: false }),
    };
  }

  // ---- select list ----

  private star(e: J, scope: Scope, env: CteEnv | undefined): Col[] {
    const qual: string = e.relation_name || '';
    let rels = scope.rels;
    if (qual) {
      const q = qual.split('.').map(lower);
      rels = scope.rels.filter((r) => r.quals.some((x) => sameQual(x, q)));
      if (!rels.length) {
        this.note(`${qual}.*: not a FROM item of its query (a struct's fields?)`);
        return [];
      }
    } else if (!rels.length) {
      this.note('* without a FROM clause');
      return [];
    }
    const excluded = new Set<string>();
    for (const x of e.exclude_list ?? []) excluded.add(lower(typeof x === 'string' ? x : String(x?.column ?? '')));
    for (const x of e.qualified_exclude_list ?? []) excluded.add(lower(typeof x === 'string' ? x : String(x?.column ?? '')));
    const replace = new Map<string, J>();
    for (const r of e.replace_list ?? []) replace.set(lower(String(r.key)), r.value);
    const rename = new Map<string, string>();
    for (const r of e.rename_list ?? []) rename.set(lower(String(typeof r.key === 'string' ? r.key : r.key?.column)), String(r.value));
    const out: Col[] = [];
    // the relations whose columns are not all known: a name not among the known ones is theirs
    const open = rels.filter((r) => (!r.cols || r.partial) && r.guess);
    if (open.length) {
      const gone = new Set([...excluded, ...rename.keys()]);
      this.more.set(out, (name) => (gone.has(lower(name)) ? { refs: new Map(), direct: false } : union(open.map((r) => r.guess!(name)))));
    }
    for (const rel of rels) {
      if (!rel.cols) {
        this.note(`${qual ? `${qual}.*` : '*'}: the columns of ${rel.label} are unknown`);
        continue;
      }
      if (rel.partial) this.note(`${qual ? `${qual}.*` : '*'}: ${rel.label} may have columns besides ${knownOnes(rel.cols)}`);
      for (const c of rel.cols) {
        if (c.unnamed) {
          this.note(`*: a column of ${rel.label} has a name DuckDB generates that could not be derived`);
          continue;
        }
        const n = lower(c.name);
        if (excluded.has(n)) continue;
        let col: Col = c;
        if (!qual) {
          const m = scope.merges.find((mm) => mm.name === n && (mm.left.includes(rel) || mm.right.includes(rel)));
          if (m) {
            // a USING column comes out once, where the left side has it
            if (m.right.includes(rel)) continue;
            col = { ...c, ...traced(this.mergeCol(m, c.name, scope)) };
          }
        }
        const rx = replace.get(n);
        if (rx) col = { ...col, ...traced(this.top(rx, scope, env)) };
        const rn = rename.get(n);
        out.push(rn ? { ...col, name: this.spell(rn) } : { ...col });
      }
    }
    return out;
  }

  /** An expression's sources; direct when it is a column reference, possibly cast. */
  private top(e: J, scope: Scope, env: CteEnv | undefined): Traced {
    if (e?.class === 'COLUMN_REF') return this.column(e.column_names ?? [], scope, undefined);
    const path = fieldPath(e);
    if (path) return this.column(path, scope, undefined);
    if (e?.class === 'CAST') return this.top(e.child, scope, env);
    if (e?.class === 'POSITIONAL_REFERENCE') {
      const c = this.byPosition(e.index, scope);
      return c ? traced(c) : { refs: new Map(), direct: false };
    }
    return { refs: this.expr(e, scope, env), direct: false };
  }

  /**
   * `#n` (DuckDB's positional reference): the n-th column of the query's FROM items, their
   * columns one after the other as they are written (a USING column once per side). Undefined,
   * noted, when a FROM item before it has columns that are unknown or not all known.
   */
  private byPosition(index: unknown, scope: Scope): Col | undefined {
    const n = Number(index);
    let k = n;
    for (const r of scope.rels) {
      if (!r.cols || r.partial) {
        this.note(`#${n}: the columns of ${r.label} are ${r.cols ? 'not all known' : 'unknown'}, so which one it is is unknown`);
        return undefined;
      }
      if (k >= 1 && k <= r.cols.length) return r.cols[k - 1];
      k -= r.cols.length;
    }
    this.note(`#${n}: its FROM items have fewer columns`);
    return undefined;
  }

  /** Every column an expression reads. */
  private expr(e: J, scope: Scope, env: CteEnv | undefined, lambda?: Set<string>, refs: Refs = new Map()): Refs {
    const walk = (v: J, lam: Set<string> | undefined, fn?: string): void => {
      if (Array.isArray(v)) {
        for (const x of v) walk(x, lam, fn);
        return;
      }
      if (!v || typeof v !== 'object') return;
      const path = fieldPath(v);
      if (path) {
        addAll(refs, this.column(path, scope, lam).refs);
        return;
      }
      switch (v.class) {
        case 'COLUMN_REF':
          addAll(refs, this.column(v.column_names ?? [], scope, lam).refs);
          return;
        case 'POSITIONAL_REFERENCE': {
          const c = this.byPosition(v.index, scope);
          if (c) addAll(refs, c.refs);
          return;
        }
        case 'SUBQUERY': {
          const kind = String(v.subquery_type ?? '');
          const filters: Refs = new Map();
          const exists = kind === 'EXISTS' || kind === 'NOT_EXISTS';
          if (exists) this.quiet++;
          try {
            const cols = this.query(v.subquery?.node, env, scope, filters);
            if (!exists) for (const c of cols) addAll(refs, c.refs);
          } finally {
            if (exists) this.quiet--;
          }
          addAll(refs, filters);
          if (v.child) walk(v.child, lam);
          return;
        }
        case 'LAMBDA': {
          if (fn && LAMBDA_FN.test(lower(fn))) {
            const params = new Set(lam);
            const lhs = v.lhs;
            const ps: J[] = lhs?.class === 'COLUMN_REF' ? [lhs] : Array.isArray(lhs?.children) ? lhs.children : [];
            for (const p of ps) if (p?.class === 'COLUMN_REF' && p.column_names?.length === 1) params.add(lower(String(p.column_names[0])));
            walk(v.expr, params);
          } else {
            // `j -> 'key'` outside a lambda function: JSON extraction
            walk(v.lhs, lam);
            walk(v.expr, lam);
          }
          return;
        }
        case 'STAR':
          if (v.columns || v.expr) {
            this.columnsSeen++;
            this.note('COLUMNS(...) expression');
          } else this.note(`${v.relation_name ? `${v.relation_name}.` : ''}* inside an expression`);
          return;
        case 'FUNCTION':
        case 'WINDOW': {
          // `email.trim()`, `p.email.lower()`: DuckDB's dot call, parsed as a function in schema
          // `email` (of catalog `p`), bound as trim(email) when that names a column
          const self = v.class === 'FUNCTION' ? this.dotCallee(v, scope, lam) : undefined;
          if (self) addAll(refs, this.column(self, scope, lam).refs);
          for (const [k, x] of Object.entries(v)) if (x && typeof x === 'object') walk(x, lam, k === 'children' ? String(v.function_name ?? '') : undefined);
          return;
        }
        default:
          for (const x of Object.values(v)) if (x && typeof x === 'object') walk(x, lam);
      }
    };
    walk(e, lambda);
    return refs;
  }

  /**
   * The column a function call is a method of (DuckDB's dot call: `x.f(a)` is `f(x, a)`,
   * `t.x.f()` is `f(t.x)`): the parser gives it as the function's schema (and catalog), and the
   * binder reads them as a column (`[catalog, schema]` as `table.column`) when a column or
   * select-list alias in scope has that name. Undefined for a function without a schema, and for
   * one whose schema names no column: a schema-qualified function (`main.f(x)`, a macro made in a
   * schema). A name a FROM item whose columns are not all known may have is taken as its column
   * (DuckDB binds the function in the schema first when both exist: then this only adds sources).
   */
  private dotCallee(f: J, scope: Scope, lambda: Set<string> | undefined): string[] | undefined {
    const schema = typeof f.schema === 'string' ? f.schema : '';
    if (!schema) return undefined;
    const catalog = typeof f.catalog === 'string' ? f.catalog : '';
    const parts = catalog ? [catalog, schema] : [schema];
    const [first, second] = parts.map(lower);
    if (parts.length === 1 && lambda?.has(first)) return parts;
    let open = false;
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      if (parts.length === 2) {
        for (const r of s.rels) {
          if (!r.quals.some((q) => q.length === 1 && q[0] === first)) continue;
          if (indexOf(r)?.has(second)) return parts;
          if (r.guess) open = true;
        }
        continue;
      }
      if (s.merges.some((m) => m.name === first) || s.aliases?.has(first)) return parts;
      for (const r of s.rels) {
        if (indexOf(r)?.has(first)) return parts;
        if (r.guess) open = true;
      }
    }
    return open ? parts : undefined;
  }

  // ---- column references ----

  /** A column reference's sources, looked up from the innermost scope out. */
  column(parts: string[], scope: Scope, lambda: Set<string> | undefined): Traced {
    const written = parts.join('.');
    if (!parts.length) return { refs: new Map(), direct: false };
    if (lambda?.has(lower(parts[0]))) return { refs: new Map(), direct: false };
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      const r = this.resolveIn(parts, s);
      if (r) return r;
    }
    // not found: attribute to the innermost FROM items (their known columns may be incomplete)
    const rels = scope.rels;
    if (rels.length) {
      this.note(`column ${written}: not among the known columns of ${rels.map((r) => r.label).join(', ')}${rels.length > 1 ? ' (attributed to each)' : ''}`);
      const u = union(rels.map((r) => this.assumed(r, parts[0])));
      return parts.length > 1 ? { refs: u.refs, direct: false } : u;
    }
    this.note(`column ${written}: no FROM item has it`);
    return { refs: new Map(), direct: false };
  }

  /** A column missing from a relation's known columns, taken to be one of its own. */
  private assumed(rel: Rel, name: string): Traced | undefined {
    // a table's column: its source is that table; of a CTE or subquery, nothing more is known
    return rel.node ? { refs: refsOf({ node: rel.node, column: name }), direct: true } : undefined;
  }

  private resolveIn(parts: string[], s: Scope): Traced | undefined {
    const n = parts.length;
    let missed: { rel: Rel; col: string; field: boolean } | undefined;
    // table.column[.field...], schema.table.column, catalog.schema.table.column: longest qualifier first
    for (let k = Math.min(n - 1, 3); k >= 1; k--) {
      const q = parts.slice(0, k).map(lower);
      const rel = s.rels.find((r) => r.quals.some((x) => sameQual(x, q)));
      if (!rel) continue;
      const c = colIn(rel, parts[k]);
      if (c) return n > k + 1 ? { refs: c.refs, direct: false } : c;
      missed ??= { rel, col: parts[k], field: n > k + 1 };
    }
    // a column (a struct) named as the qualifier, with a field; not the FROM item's whole row: its
    // field would be the column the qualified lookup did not find (that item's, unknown)
    const c = this.unqualified(parts[0], s, !missed);
    if (c) return n > 1 ? { refs: c.refs, direct: false } : c;
    if (missed) {
      this.note(`column ${parts.join('.')}: not among the known columns of ${missed.rel.label}`);
      const a = this.assumed(missed.rel, missed.col);
      return a ? { refs: a.refs, direct: a.direct && !missed.field } : { refs: new Map(), direct: false };
    }
    return undefined;
  }

  /** `row`: whether a FROM item's alias may stand for its whole row. */
  private unqualified(name: string, s: Scope, row = true): Traced | undefined {
    const n = lower(name);
    for (let i = s.merges.length - 1; i >= 0; i--) if (s.merges[i].name === n) return this.mergeCol(s.merges[i], name, s);
    const matches: Col[] = [];
    const unknown: Rel[] = [];
    const labels: string[] = [];
    for (const r of s.rels) {
      const c = indexOf(r)?.get(n);
      if (c) {
        matches.push(c);
        labels.push(r.label);
      } else if (r.guess) unknown.push(r);
    }
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) {
      this.note(`column ${name}: ambiguous between ${labels.join(', ')} (attributed to each)`);
      return union(matches);
    }
    // current_date, current_timestamp...: a column when one has the name, else DuckDB's function
    if (VALUE_FUNCTIONS.has(n)) return { refs: new Map(), direct: false };
    // a FROM item's alias as a value (`to_json(t)`, `t` as a struct): its whole row, when no
    // column has the name (a relation whose columns are not all known might: both, then)
    const item = row ? s.rels.find((r) => r.quals.some((q) => q.length === 1 && q[0] === n)) : undefined;
    if (item) {
      const whole = this.wholeRow(item);
      return unknown.length ? { refs: union([whole, ...unknown.map((r) => r.guess!(name))]).refs, direct: false } : whole;
    }
    if (unknown.length === 1) return unknown[0].guess!(name);
    if (unknown.length > 1) {
      this.note(`column ${name}: could come from any of ${unknown.map((r) => r.label).join(', ')}, whose columns are unknown (attributed to each)`);
      return union(unknown.map((r) => r.guess!(name)));
    }
    return s.aliases?.get(n);
  }

  /** A FROM item's whole row as one value: derived from all its columns. */
  private wholeRow(rel: Rel): Traced {
    if (!rel.cols) this.note(`${rel.label} as a value (its whole row): the columns of ${rel.label} are unknown`);
    else if (rel.partial) this.note(`${rel.label} as a value (its whole row): ${rel.label} may have columns besides ${knownOnes(rel.cols)}`);
    return { refs: union(rel.cols ?? []).refs, direct: false };
  }

  private mergeCol(m: Merge, name: string, s: Scope): Traced {
    const side = (rels: Rel[]): Traced | undefined => {
      const sub: Scope = { rels, merges: s.merges.filter((x) => x !== m && [...x.left, ...x.right].every((r) => rels.includes(r))) };
      return this.unqualified(name, sub);
    };
    if (m.mode === 'left') return side(m.left) ?? { refs: new Map(), direct: false };
    if (m.mode === 'right') return side(m.right) ?? { refs: new Map(), direct: false };
    return { refs: union([side(m.left), side(m.right)]).refs, direct: false };
  }
}

type Path = Array<string | number>;
/** Keys whose values hold no query and no expression. */
const LEAF_KEYS = new Set(['cast_type', 'column_names', 'type_info', 'sample', 'exclude_list', 'qualified_exclude_list', 'using_columns', 'column_name_alias']);

/**
 * The expressions DuckDB names itself (unaliased select-list items, unaliased PIVOT aggregates),
 * with their paths in the tree. The select list of a subquery expression is skipped: its names
 * are never seen.
 */
function unnamedExpressions(root: J): Array<{ expr: object; path: Path }> {
  const out: Array<{ expr: object; path: Path }> = [];
  const path: Path = [];
  /** named: whether the select list's names can matter; 'wrapper': the {node} of a subquery expression */
  const walk = (v: J, named: boolean | 'wrapper'): void => {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (x && typeof x === 'object') {
          path.push(i);
          walk(x, true);
          path.pop();
        }
      }
      return;
    }
    if (v.type === 'PIVOT' && Array.isArray(v.aggregates)) {
      v.aggregates.forEach((e: J, i: number) => {
        if (e && typeof e === 'object' && !e.alias) out.push({ expr: e, path: [...path, 'aggregates', i] });
      });
    }
    if (named === true && v.type === 'SELECT_NODE' && Array.isArray(v.select_list)) {
      v.select_list.forEach((e: J, i: number) => {
        if (e && typeof e === 'object' && !e.alias && e.class !== 'COLUMN_REF' && e.class !== 'STAR' && e.class !== 'POSITIONAL_REFERENCE') out.push({ expr: e, path: [...path, 'select_list', i] });
      });
    }
    for (const k in v) {
      const x = v[k];
      if (x && typeof x === 'object' && !LEAF_KEYS.has(k) && !(k === 'value' && v.class === 'CONSTANT')) {
        path.push(k);
        walk(x, v.class === 'SUBQUERY' && k === 'subquery' ? 'wrapper' : !(named === 'wrapper' && k === 'node'));
        path.pop();
      }
    }
  };
  walk(root, true);
  return out;
}

/** The JSON text of the value at `path` in `raw`, as DuckDB wrote it (JSON.parse loses 1.0 vs 1 and uint64s). */
/** Where the JSON value starting at `i` (after any white space) ends. */
function valueEnd(raw: string, i: number): number {
  const n = raw.length;
  while (i < n && raw.charCodeAt(i) <= 32) i++;
  const skipString = (): void => {
    for (i++; i < n; ) {
      const ch = raw.charCodeAt(i);
      if (ch === 92 /* \\ */) i += 2;
      else {
        i++;
        if (ch === 34 /* " */) return;
      }
    }
  };
  const ch = raw.charCodeAt(i);
  if (ch === 34) {
    skipString();
    return i;
  }
  if (ch === 123 /* { */ || ch === 91 /* [ */) {
    let depth = 0;
    while (i < n) {
      const c = raw.charCodeAt(i);
      if (c === 34) {
        skipString();
        continue;
      }
      if (c === 123 || c === 91) depth++;
      else if (c === 125 /* } */ || c === 93 /* ] */) {
        if (--depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  for (; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c === 44 || c === 125 || c === 93 || c <= 32) return i;
  }
  return i;
}

/** The JSON text of the value at `path` in `raw`, as DuckDB wrote it (JSON.parse loses 1.0 vs 1 and uint64s). */
function rawAt(raw: string, path: Path, from = 0): string | undefined {
  let i = from;
  const n = raw.length;
  const ws = (): void => {
    while (i < n && raw.charCodeAt(i) <= 32) i++;
  };
  for (const seg of path) {
    ws();
    if (typeof seg === 'number') {
      if (raw.charCodeAt(i) !== 91) return undefined;
      i++;
      for (let k = 0; ; k++) {
        ws();
        if (i >= n || raw.charCodeAt(i) === 93) return undefined;
        if (k === seg) break;
        i = valueEnd(raw, i);
        ws();
        if (raw.charCodeAt(i) === 44) i++;
      }
    } else {
      if (raw.charCodeAt(i) !== 123) return undefined;
      i++;
      for (;;) {
        ws();
        if (raw.charCodeAt(i) !== 34) return undefined;
        const s0 = i;
        i = valueEnd(raw, i);
        const found = i - s0 - 2 === seg.length && raw.startsWith(seg, s0 + 1);
        ws();
        if (raw.charCodeAt(i) !== 58 /* : */) return undefined;
        i++;
        if (found) break;
        i = valueEnd(raw, i);
        ws();
        if (raw.charCodeAt(i) === 44) i++;
      }
    }
  }
  ws();
  const start = i;
  const end = valueEnd(raw, i);
  return end > start ? raw.slice(start, end) : undefined;
}

/**
 * The JSON text of an expression: found by its query_location when that is unique in the
 * document (the usual case, and fast), else by walking the path.
 */
function rawOf(raw: string, expr: J, path: Path): string | undefined {
  const loc = expr.query_location;
  if (typeof loc === 'number' && Number.isSafeInteger(loc)) {
    const needle = `"query_location":${loc},`;
    const at = raw.indexOf(needle);
    if (at >= 0 && raw.indexOf(needle, at + 1) < 0) {
      const start = raw.lastIndexOf('{"class":', at);
      const head = raw.slice(start, at);
      if (start >= 0 && head.startsWith(`{"class":"${expr.class}","type":"${expr.type}"`) && !/[{}[\]]/.test(head.slice(1))) {
        const text = rawAt(raw, [], start);
        if (text) return text;
      }
    }
  }
  return rawAt(raw, path);
}

const SELECT_ONLY = (expr: string): string =>
  `'{"error":false,"statements":[{"node":{"type":"SELECT_NODE","modifiers":[],"cte_map":{"map":[]},"select_list":[' || ${expr} || '],"from_table":{"type":"EMPTY"},"aggregate_handling":"STANDARD_HANDLING"}}]}'`;

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Parsing on the offline engine (an in-memory DuckDB, a few connections); inputs in dependency order (parents first). */
export async function columnLineage(inputs: LineageInput[], ctx: LineageContext): Promise<Map<string, NodeLineage>> {
  const result = new Map<string, NodeLineage>();
  if (!inputs.length) return result;
  const chunks = Math.min(4, Math.ceil(inputs.length / 100));
  const engine = await openOfflineEngine(process.cwd(), 'main', chunks);
  try {
    const sqls = inputs.map((i) => String(i.sql ?? ''));
    // lists travel as one JSON text parameter, unpacked by position
    const listSql = (expr: string) => `select i, ${expr} as j from (select from_json($1::varchar, '["VARCHAR"]') as l), range(1, len(l) + 1) as t(i) order by i`;

    // 1. parse: in chunks on a few connections at once (DuckDB parses each list on one thread)
    const one = async (s: string): Promise<string> => {
      try {
        const r = await engine.query<{ j: string }>('select json_serialize_sql($1::varchar) as j', [s]);
        return String(r[0].j);
      } catch (e) {
        return JSON.stringify({ error: true, error_message: message(e) });
      }
    };
    const size = Math.ceil(sqls.length / chunks);
    const parts = await Promise.all(
      Array.from({ length: chunks }, async (_, k) => {
        const list = sqls.slice(k * size, (k + 1) * size);
        try {
          const r = await engine.query<{ j: string }>(listSql('json_serialize_sql(l[i])'), [JSON.stringify(list)]);
          const out = r.map((x) => String(x.j));
          if (out.length === list.length) return out;
        } catch {
          // one at a time below
        }
        const out: string[] = [];
        for (const s of list) out.push(await one(s));
        return out;
      }),
    );
    const raws = parts.flat();
    const trees: J[] = raws.map((raw) => {
      try {
        return JSON.parse(raw);
      } catch (e) {
        return { error: true, error_message: `unreadable parse tree: ${message(e)}` };
      }
    });

    // 2. the names DuckDB gives unaliased expressions: their SQL text, printed by DuckDB
    const names = new WeakMap<object, string | null>();
    const wanted: Array<{ expr: object; json: string }> = [];
    trees.forEach((t, doc) => {
      if (t?.error || !Array.isArray(t?.statements)) return;
      for (const u of unnamedExpressions(t.statements)) {
        const json = rawOf(raws[doc], u.expr, ['statements', ...u.path]);
        if (json) wanted.push({ expr: u.expr, json: printable(json, u.expr) });
        else names.set(u.expr, null);
      }
    });
    if (wanted.length) {
      const run = async (items: typeof wanted): Promise<void> => {
        const r = await engine.query<{ i: number | bigint; j: string }>(listSql(`json_deserialize_sql((${SELECT_ONLY('l[i]')})::json)`), [JSON.stringify(items.map((w) => w.json))]);
        for (const row of r) names.set(items[Number(row.i) - 1].expr, generatedName(String(row.j), items[Number(row.i) - 1].expr));
      };
      try {
        await run(wanted);
      } catch {
        for (const w of wanted) {
          try {
            await run([w]);
          } catch {
            names.set(w.expr, null);
          }
        }
      }
    }

    // 3. trace, parents first
    const computed = new Map<string, { names: string[]; complete: boolean }>();
    // a restricted companion has its model's columns (unmasked)
    const traced = (id: string) => computed.get(id) ?? computed.get(companionModel(id) ?? '');
    const columnsOf = (id: string): string[] | undefined => {
      const own = traced(id);
      if (own?.complete) return own.names;
      let declared: string[] | undefined;
      try {
        declared = ctx.columnsOf(id);
      } catch {
        declared = undefined;
      }
      return declared ?? own?.names;
    };
    const safeCtx: LineageContext = {
      resolve: (parts, from) => {
        try {
          return ctx.resolve(parts, from);
        } catch {
          return undefined;
        }
      },
      columnsOf,
      partial: (id) => {
        if (!ctx.partial) return false;
        let p: boolean | undefined;
        try {
          p = ctx.partial(id);
        } catch {
          p = undefined;
        }
        const own = traced(id);
        return p ?? (own ? !own.complete : false);
      },
    };
    inputs.forEach((input, i) => {
      const tree = trees[i];
      if (tree?.error) {
        result.set(input.unique_id, { columns: [], untraced: [], error: String(tree.error_message ?? 'could not be parsed'), complete: false });
        return;
      }
      const stmts: J[] = Array.isArray(tree?.statements) ? tree.statements : [];
      if (!stmts.length) {
        result.set(input.unique_id, { columns: [], untraced: [], error: 'no SQL statement', complete: false });
        return;
      }
      const tracer = new Tracer(input.unique_id, safeCtx, columnsOf, names, ctx.spell ? (name) => ctx.spell!(name, input.sql) : undefined);
      let cols: Col[] = [];
      try {
        cols = tracer.query(stmts[0].node, undefined, undefined);
      } catch (e) {
        tracer.note(`not traced: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (stmts.length > 1) tracer.note(`only the first of ${stmts.length} statements is traced`);
      const columns: ColumnLineage[] = [];
      for (const c of cols) {
        if (c.unnamed) {
          tracer.note(`column ${columns.length + 1}: an unaliased expression whose DuckDB name could not be derived`);
          continue;
        }
        const from = [...c.refs.values()];
        columns.push({ name: c.name, from, kind: c.direct && from.length > 0 ? 'direct' : 'derived' });
      }
      const untraced = [...tracer.notes];
      const complete = !untraced.some((n) => /^\*|\.\*|COLUMNS|unaliased|not traced/.test(n));
      computed.set(input.unique_id, { names: columns.map((x) => x.name), complete });
      result.set(input.unique_id, { columns, untraced, complete });
    });
    return result;
  } finally {
    await engine.close();
  }
}

/** The id a model's restricted companion (`<model>__restricted`, its unmasked rows) resolves to with `companions`. */
export const companionOf = (modelId: string): string => `${modelId}#restricted`;
/** The model of a companion id (companionOf), else undefined. */
export const companionModel = (id: string): string | undefined => (id.endsWith('#restricted') ? id.slice(0, -'#restricted'.length) : undefined);

/** The CTE names an ephemeral model is inlined as on the warehouses (ephemeralCte: cut where one keeps shorter names). */
const ephemeralCtes = (name: string): Set<string> => new Set(WAREHOUSES.map((w) => ephemeralCte(w.dialect, name)));

/**
 * LineageContext.resolve for a compiled project: a table reference as the source, model, seed or
 * snapshot whose relation it names (`__vigil_eph_<name>`: the ephemeral model inlined). A
 * relation two nodes name (a source declared on a seed's table) is the one the reading node
 * depends on (its source() or ref()), else the last declared. A model's restricted companion
 * resolves to the model, or with `companions` to companionOf(the model) (its unmasked rows).
 */
export function relationResolver(m: Pick<Manifest, 'nodes' | 'sources'>, opts: { companions?: boolean } = {}): (parts: string[], from: string) => string | undefined {
  const key = (parts: Array<string | undefined>) => parts.filter(Boolean).join('.').toLowerCase();
  const byRelation = new Map<string, string[]>();
  const add = (k: string, id: string) => byRelation.set(k, [...(byRelation.get(k) ?? []).filter((x) => x !== id), id]);
  for (const n of [...Object.values(m.sources), ...Object.values(m.nodes)]) {
    if (n.resource_type !== 'source' && n.resource_type !== 'model' && n.resource_type !== 'seed' && n.resource_type !== 'snapshot') continue;
    const r = n.relation;
    if (r) {
      add(key([r.schema, r.identifier]), n.unique_id);
      if (r.database) add(key([r.database, r.schema, r.identifier]), n.unique_id);
    } else for (const cte of ephemeralCtes(n.name)) add(cte.toLowerCase(), n.unique_id);
    const c = n.resource_type === 'model' ? n.restricted?.relation : undefined;
    if (c) {
      const id = opts.companions ? companionOf(n.unique_id) : n.unique_id;
      add(key([c.schema, c.identifier]), id);
      if (c.database) add(key([c.database, c.schema, c.identifier]), id);
    }
  }
  return (parts, from) => {
    const ids = byRelation.get(key(parts.slice(-2))) ?? byRelation.get(key(parts));
    if (!ids) return undefined;
    const parents = (m.nodes[from] as { depends_on?: string[] } | undefined)?.depends_on ?? [];
    return ids.find((id) => parents.includes(id)) ?? ids[ids.length - 1];
  };
}
