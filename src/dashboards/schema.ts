/**
 * Dashboards as code: the JSON schema of `dashboards/*.json` (zod, strict: a typo in a key is
 * reported at its line). A dashboard has filters and tabs; a tab has tiles; a tile reads one
 * model (ref) with dimensions and aggregated measures.
 */
import { z } from 'zod';

export const TILE_TYPES = ['kpi', 'line', 'area', 'bar', 'donut', 'heatmap', 'box', 'scatter', 'table', 'gauge'] as const;
export type TileType = (typeof TILE_TYPES)[number];

/**
 * Aggregations. `ratio`: sum(column) / sum(denominator). `share`: the fraction of rows where a
 * boolean column is true (an error rate over raw rows). `weighted_avg`: sum(column * weight) /
 * sum(weight). `age_minutes`: minutes from max(column) to the evaluation time; `oldest_age_minutes`:
 * from min(column) (the stalest of several streams). `none`: the raw
 * column (row-level tiles: table, scatter; needs a limit).
 */
export const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'count_distinct', 'median', 'p50', 'p90', 'p95', 'p99', 'ratio', 'share', 'weighted_avg', 'age_minutes', 'oldest_age_minutes', 'none'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

export const FORMATS = ['number', 'integer', 'percent', 'ms', 'usd', 'minutes', 'text', 'date'] as const;

/**
 * A name: of a dashboard, tab, tile, filter or measure. At most 63 characters: a measure's name is a
 * column alias, which PostgreSQL cuts to 63 bytes (the tile then found no value of that name), and
 * the others name the site's pages and the exports' files (a longer one failed the render with
 * ENAMETOOLONG).
 */
const Ident = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier (letters, digits, _)')
  .max(63, "must be at most 63 characters (PostgreSQL's limit for a column alias, which a measure's name is; the site's pages and the exports' files are named after these names)");
/**
 * A title or label: shown as written, on the site and in the exports, so never empty or blank
 * (Metabase refuses a blank card, dashboard or tab name; Looker would show an empty heading).
 */
const Text = z.string().refine((s) => s.trim() !== '', 'must not be empty or blank: it is shown as written, on the site and in the exports');
const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const DimensionSchema = z
  .object({
    column: z.string().min(1),
    label: Text.optional(),
    /** Dates: truncate to this grain. */
    granularity: z.enum(['day', 'week', 'month']).optional(),
    /** line/area/bar: `series` splits into one series per value (stacked for area). */
    role: z.enum(['x', 'series', 'y']).optional(),
  })
  .strict();

export const MeasureSchema = z
  .object({
    /** The output name (default: agg_column). */
    name: Ident.optional(),
    column: z.string().min(1),
    agg: z.enum(AGGREGATIONS),
    label: Text.optional(),
    /** ratio: the denominator column; weighted_avg: the weight column. */
    denominator: z.string().optional(),
    weight: z.string().optional(),
    format: z.enum(FORMATS).optional(),
    /** Which way is good news (kpi, heatmap): a KPI's change is green or red, a heatmap warm when lower is better; without it, neutral. */
    better: z.enum(['higher', 'lower']).optional(),
  })
  .strict();

const Op = z.enum(['=', '!=', '>', '>=', '<', '<=', 'in', 'not in', 'is null', 'is not null']);
export const TileFilterSchema = z
  .object({
    column: z.string().min(1),
    op: Op,
    /** A value, a list (in), or a relative date: "-1d", "-7d", "today". */
    value: z.union([Scalar, z.array(Scalar)]).optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    // a list is what in / not in compare with; any other operator takes one value (checked here:
    // the tile's SQL could not be written with it)
    if (Array.isArray(f.value) && f.op !== 'in' && f.op !== 'not in') ctx.addIssue({ code: 'custom', path: ['value'], message: `a list of values takes op 'in' or 'not in', not '${f.op}'` });
  });

/** A tile link: a URL template, or a project link template by name with its parameters. */
export const LinkSchema = z
  .object({
    label: Text,
    url: z.string().min(1).optional(),
    /** a name under project.yaml `dashboards.links` */
    template: Ident.optional(),
    /** the template's {{ params }}: text with {{ field }} templates over the row */
    params: z.record(z.string(), z.string()).optional(),
  })
  .strict()
  .superRefine((l, ctx) => {
    if ((l.url === undefined) === (l.template === undefined)) ctx.addIssue({ code: 'custom', message: 'a link has either url (a URL template) or template (a project link template by name)' });
    if (l.params && l.template === undefined) ctx.addIssue({ code: 'custom', path: ['params'], message: 'params fill a project link template: give template too' });
  });

/**
 * A table row's action that opens the raw rows behind it: the rows of `model` whose `match`
 * columns equal the row's values ({{ field }} templates) and, with `day`, whose timestamp
 * `column` falls on the row's day (`value`, a date field of the tile). Newest first, at most
 * `limit`. Columns holding content or PII are never selected (raw-rows.ts).
 */
export const RawRowsSchema = z
  .object({
    model: z.string().min(1),
    label: Text.default('Raw rows'),
    match: z.record(z.string(), z.string()).default({}),
    day: z.object({ column: z.string().min(1), value: z.string().min(1) }).strict().optional(),
    /** the columns shown (default: every declared column the masking policy allows) */
    columns: z.array(z.string().min(1)).min(1).optional(),
    limit: z.number().int().positive().max(1000).default(100),
  })
  .strict();
export type RawRows = z.infer<typeof RawRowsSchema>;

export const TileSchema = z
  .object({
    id: Ident,
    type: z.enum(TILE_TYPES),
    title: Text,
    description: z.string().optional(),
    /** The model the tile reads: ref('model'). */
    model: z.string().min(1),
    dimensions: z.array(DimensionSchema).default([]),
    measures: z.array(MeasureSchema).default([]),
    filters: z.array(TileFilterSchema).default([]),
    sort: z.array(z.object({ field: z.string().min(1), dir: z.enum(['asc', 'desc']).default('asc') }).strict()).default([]),
    limit: z.number().int().positive().max(100_000).optional(),
    /** Keep only the `n` values of `column` with the largest first measure (a readable heatmap of the top workspaces). */
    top_n: z.object({ column: z.string().min(1), n: z.number().int().positive().max(1000) }).strict().optional(),
    stacked: z.boolean().optional(),
    /**
     * kpi: also show the change against the previous period of the same length (`previous_period`:
     * the whole period just before, e.g. all of yesterday), or against the previous period up to
     * the same point (`previous_period_to_date`: yesterday until this time of day — the fair
     * comparison while today is still running; needs a timestamp window).
     */
    compare: z.enum(['previous_period', 'previous_period_to_date']).optional(),
    thresholds: z.array(z.object({ value: z.number(), color: z.string(), label: Text.optional() }).strict()).default([]),
    /** A horizontal band (e.g. the 0–5 % error-rate target). */
    target_band: z.object({ min: z.number(), max: z.number(), label: Text.optional() }).strict().optional(),
    /** Table cells: color a column when the condition holds. */
    conditional_formatting: z.array(z.object({ field: z.string().min(1), op: z.enum(['>', '>=', '<', '<=', '=', '!=']), value: z.number(), color: z.string() }).strict()).default([]),
    /** Clicking a data point opens a tab (of this dashboard, or of `dashboard`) with filters set from the point's values. */
    drilldown: z.object({ dashboard: Ident.optional(), tab: Ident, filters: z.record(z.string(), z.string()).default({}) }).strict().optional(),
    /**
     * Links per row (tables) or of the tile: a `url` with {{ field }} templates over the row, or a
     * project link template (project.yaml `dashboards.links`, e.g. a PagerDuty incident draft)
     * by name with `params` filled from the row, each URL-encoded.
     */
    links: z.array(LinkSchema).default([]),
    /** table: each row opens the raw rows of `model` that match it (see RawRowsSchema). */
    raw_rows: RawRowsSchema.optional(),
    /** line: shade the band between each measure and the next (P50–P90–P99 percentile bands). */
    bands: z.boolean().optional(),
    /** Fixed colors for categories or series, by name ({"success": "#59a14f", "error": "#e15759"}); the others keep their stable color. */
    colors: z.record(z.string(), z.string()).optional(),
    /** Row-level tiles (agg none): a deterministic random sample of `rows` rows, ordered by a hash of the `key` column and `seed`, instead of the first rows. */
    sample: z.object({ rows: z.number().int().positive().max(100_000), key: z.string().min(1), seed: z.number().int().nonnegative().default(1) }).strict().optional(),
    /** scatter: logarithmic axes (values at or below 0 are left out, and the tile says how many). */
    scale: z.object({ x: z.enum(['linear', 'log']).optional(), y: z.enum(['linear', 'log']).optional() }).strict().optional(),
    /** Grid position: 12 columns wide. */
    layout: z.object({ x: z.number().int().min(0).max(11), y: z.number().int().min(0).max(999), w: z.number().int().min(1).max(12), h: z.number().int().min(1).max(20) }).strict(),
    /** gauge: the scale. */
    max: z.number().optional(),
  })
  .strict();
export type Tile = z.infer<typeof TileSchema>;
/** A tile as compiled: its links resolved to URL templates (project link templates filled in). */
export type ResolvedTile = Omit<Tile, 'links'> & { links: Array<{ label: string; url: string }> };

export const DashboardFilterSchema = z
  .object({
    name: Ident,
    label: Text.optional(),
    type: z.enum(['date_range', 'select']),
    /** The column it filters, in every tile whose model has it (or only `applies_to` models). */
    column: z.string().min(1),
    /** date_range: "7d", "30d"...; select: a value or null (all). */
    default: Scalar.optional(),
    applies_to: z.array(z.string().min(1)).optional(),
  })
  .strict();

export const TabSchema = z
  .object({
    name: Ident,
    title: Text,
    tiles: z.array(TileSchema).min(1),
  })
  .strict();

export const DashboardSchema = z
  .object({
    name: Ident,
    title: Text,
    description: z.string().optional(),
    filters: z.array(DashboardFilterSchema).default([]),
    tabs: z.array(TabSchema).min(1),
  })
  .strict();
export type Dashboard = z.infer<typeof DashboardSchema>;
export type DashboardFilter = z.infer<typeof DashboardFilterSchema>;
export type Measure = z.infer<typeof MeasureSchema>;
export type Dimension = z.infer<typeof DimensionSchema>;
