/**
 * The alert history: every time an alert instance starts firing or resolves, one row in the
 * warehouse table `vigil_alert_events` (in the target schema), queryable by models and
 * dashboards as `{{ source('vigil', 'alert_events') }}` (a built-in source, see
 * compile-project.ts).
 *
 * Exactly once, crash or not: an evaluation records its events in the state document
 * (`doc.events`) and saves it before writing them to the table. Writing inserts only the events
 * whose `event_id` the table does not have yet (the writer holds the state lock, so no other
 * writer runs meanwhile), and the next save drops them from the document. A run killed between
 * the insert and that save leaves events the next run finds already written: none is lost, none
 * is doubled. A warehouse that refuses the insert keeps them in the document for the next run.
 */
import { createHash } from 'node:crypto';
import { createOwnTable, type Adapter } from '../adapters/adapter.js';
import type { CanonicalType } from '../adapters/dialect.js';
import type { ColumnInfo } from '../compile/manifest.js';
import { redact, redactStrings } from '../secrets.js';
import type { InstanceState } from './engine.js';

export const ALERT_EVENTS_TABLE = 'vigil_alert_events';

/** One row of `vigil_alert_events`. */
export interface AlertEvent {
  event_id: string;
  /** when the evaluation saw the change */
  event_at: string;
  /** `firing` (the incident starts) or `resolved` (it ends) */
  status: 'firing' | 'resolved';
  alert: string;
  severity: string;
  /** the instance key: `alert{label="value",...}` */
  instance: string;
  /** when the incident started firing: the same on both events of an incident */
  fired_at: string;
  resolved_at: string | null;
  summary: string;
  /** the instance's labels, JSON */
  labels: string;
  /** the row that made it fire (or the last one seen while firing), JSON */
  row_values: string;
  project: string;
  evaluated_by: string;
}

const COLUMNS: Array<{ name: keyof AlertEvent; type: CanonicalType; description: string }> = [
  { name: 'event_id', type: 'string', description: 'Unique id of the event (a hash of the instance, the firing time and the status).' },
  { name: 'event_at', type: 'timestamp', description: 'When the evaluation saw the change.' },
  { name: 'status', type: 'string', description: "'firing' (an incident starts) or 'resolved' (it ends)." },
  { name: 'alert', type: 'string', description: 'The alert rule (alertname).' },
  { name: 'severity', type: 'string', description: 'critical, error, warning or info.' },
  { name: 'instance', type: 'string', description: 'The instance key: the rule and its group_by labels.' },
  { name: 'fired_at', type: 'timestamp', description: 'When the incident started firing; the same on its firing and resolved events.' },
  { name: 'resolved_at', type: 'timestamp', description: 'When it resolved (NULL on the firing event).' },
  { name: 'summary', type: 'string', description: "The rule's summary, rendered with the row's values." },
  { name: 'labels', type: 'json', description: 'The labels of the instance (alertname, severity, the group_by values...).' },
  { name: 'row_values', type: 'json', description: 'The row of the query that made it fire (on resolve: the last one seen firing).' },
  { name: 'project', type: 'string', description: 'The Vigil project that evaluated it.' },
  { name: 'evaluated_by', type: 'string', description: 'The host of the evaluation.' },
];

/** How a source in YAML would declare them: the same on every target, as a project's own sources (unit tests run on DuckDB whatever the target). */
const DECLARED: Partial<Record<CanonicalType, string>> = { string: 'varchar', timestamp: 'timestamptz', json: 'json' };

/** The columns as the built-in source declares them. */
export function alertEventColumns(): ColumnInfo[] {
  return COLUMNS.map((c) => ({ name: c.name, data_type: DECLARED[c.type] ?? c.type, description: c.description }));
}

/** An instance as it was before an evaluation changed it (statusSnapshot). */
export interface InstanceBefore {
  status: string;
  firedAt?: string;
  alert: string;
  kind: InstanceState['kind'];
  labels: Record<string, string>;
  values?: InstanceState['values'];
}

/**
 * The events of one evaluation: instances that started firing, and firing ones that resolved or
 * went away. `after` holds the instances as the evaluation left them, resolved ones included
 * (planNotifications forgets those afterwards). A resolved row carries the instance's alert,
 * severity and labels, and the values it last fired with (those of the evaluation before).
 */
export function alertEvents(
  before: Map<string, InstanceBefore>,
  after: Record<string, InstanceState>,
  at: Date,
  describe: (inst: InstanceState) => string,
  ctx: { project: string; host: string },
): AlertEvent[] {
  const iso = at.toISOString();
  const out: AlertEvent[] = [];
  const event = (inst: Pick<InstanceState, 'key' | 'alert' | 'labels' | 'values' | 'resolvedAt'>, status: AlertEvent['status'], firedAt: string, summary: string): AlertEvent => ({
    event_id: createHash('sha256').update(`${inst.key}\n${firedAt}\n${status}`).digest('hex').slice(0, 32),
    event_at: iso,
    status,
    alert: inst.alert,
    severity: inst.labels.severity ?? '',
    instance: inst.key,
    fired_at: firedAt,
    resolved_at: status === 'resolved' ? (inst.resolvedAt ?? iso) : null,
    summary,
    labels: JSON.stringify(inst.labels),
    row_values: JSON.stringify(inst.values ?? {}),
    project: ctx.project,
    evaluated_by: ctx.host,
  });
  /** the resolve of the incident `was` was firing in: its labels, the values it fired with */
  const resolved = (key: string, was: InstanceBefore, inst: InstanceState | undefined): AlertEvent => {
    const last = { ...(inst ?? { kind: was.kind, status: 'resolved', consecutive: 0, notified: {}, activeSince: was.firedAt!, lastActiveAt: was.firedAt! }), key, alert: was.alert, labels: inst?.labels ?? was.labels, values: was.values ?? inst?.values ?? {}, resolvedAt: inst?.resolvedAt ?? iso } as InstanceState;
    return event(last, 'resolved', was.firedAt!, describe(last));
  };
  for (const inst of Object.values(after)) {
    const was = before.get(inst.key);
    const wasFiring = was?.status === 'firing';
    if (inst.status === 'firing' && inst.firedAt && (!wasFiring || was?.firedAt !== inst.firedAt)) {
      // fired anew (a firing instance that re-fired in between resolved first)
      if (wasFiring && was?.firedAt) out.push(resolved(inst.key, was, { ...inst, resolvedAt: iso }));
      out.push(event(inst, 'firing', inst.firedAt, describe(inst)));
    } else if (inst.status !== 'firing' && wasFiring && was?.firedAt) out.push(resolved(inst.key, was, inst));
  }
  // instances that were firing and are gone from the state
  for (const [key, was] of before) {
    if (was.status !== 'firing' || !was.firedAt || after[key]) continue;
    out.push(resolved(key, was, undefined));
  }
  return out;
}

/** What each instance was before an evaluation changed them. */
export function statusSnapshot(instances: Record<string, InstanceState>): Map<string, InstanceBefore> {
  return new Map(Object.values(instances).map((i) => [i.key, { status: i.status, firedAt: i.firedAt, alert: i.alert, kind: i.kind, labels: { ...i.labels }, values: i.values && { ...i.values } }]));
}

const INSERT_CHUNK = 100;
/** Event ids looked up per statement: on Postgres' index a lookup each; on DuckDB and BigQuery each statement reads the whole event_id column. */
const PROBE_CHUNK = 1000;

/**
 * Write `events` to `schema`.vigil_alert_events, creating it on first use; returns the events
 * written now and those the table had already (a run that died before dropping them from the
 * state). Call only while holding the alert state lock.
 */
export async function writeAlertEvents(adapter: Adapter, schema: string, events: AlertEvent[], warn?: (message: string) => void): Promise<{ written: number; already: number }> {
  if (!events.length) return { written: 0, already: 0 };
  await ensureAlertEventsTable(adapter, schema, warn);
  const d = adapter.dialect;
  const rel = d.relation({ schema, identifier: ALERT_EVENTS_TABLE });
  let written = 0;
  let already = 0;
  const have = new Set<string>();
  for (let i = 0; i < events.length; i += INSERT_CHUNK) {
    const chunk = events.slice(i, i + INSERT_CHUNK);
    if (i % PROBE_CHUNK === 0) {
      const ids = events.slice(i, i + PROBE_CHUNK).map((e) => e.event_id);
      for (const r of await adapter.query<{ event_id: unknown }>(`select event_id from ${rel} where event_id in (${ids.map((_, k) => d.param(k + 1)).join(', ')})`, ids)) have.add(String(r.event_id));
    }
    // (an id twice in the list is written once: the unique index would refuse the second)
    const fresh = chunk.filter((e) => !have.has(e.event_id) && !!have.add(e.event_id));
    already += chunk.length - fresh.length;
    if (!fresh.length) continue;
    const params: string[] = [];
    const value = (c: (typeof COLUMNS)[number], e: AlertEvent): string => {
      const v = e[c.name];
      if (v === null) return `cast(null as ${d.type(c.type)})`;
      // (a JSON column's strings: its text would have a secret's digits cut out of a number)
      params.push(c.type === 'json' ? JSON.stringify(redactStrings(JSON.parse(String(v)))) : redact(String(v)));
      const p = params.length;
      return c.type === 'timestamp' ? d.timestampParam(p) : c.type === 'json' ? d.jsonParam(p) : d.param(p);
    };
    const rows = fresh.map((e) => `(${COLUMNS.map((c) => value(c, e)).join(', ')})`);
    await adapter.execute(`insert into ${rel} (${COLUMNS.map((c) => d.quoteIdent(c.name)).join(', ')}) values ${rows.join(',\n  ')}`, params);
    written += fresh.length;
  }
  return { written, already };
}

/** The index each write's probe (`event_id in (...)`) looks its ids up by, where an index pays (capabilities.lookupIndexes: Postgres). */
export const EVENT_ID_INDEX = 'vigil_alert_events_event_id';

/**
 * Create the table if it is not there (the built-in source's relation; `vigil build` calls it
 * too, so models reading it build before any alert fired), and, where an index pays
 * (capabilities.lookupIndexes: Postgres), the unique index on `event_id` (also on a table an
 * earlier version created). A table holding an `event_id` twice (written by
 * hand, or by another tool) gets a plain index instead, with a warning: the probes stay fast.
 * Any other failure to index is a warning too: the history is written without it.
 */
export async function ensureAlertEventsTable(adapter: Adapter, schema: string, warn: (message: string) => void = () => {}): Promise<void> {
  const rel = { schema, identifier: ALERT_EVENTS_TABLE };
  const d = adapter.dialect;
  if ((await adapter.relationExists(rel)) === null) {
    await createOwnTable(adapter, rel, COLUMNS.map((c) => `${d.quoteIdent(c.name)} ${d.type(c.type)}${c.name === 'event_id' ? ' not null' : ''}`).join(', '));
  }
  // (Postgres; DuckDB scans the column in a few ms per million rows, and keeping an index costs it more, BigQuery has none)
  if (!adapter.warehouse.capabilities.lookupIndexes) return;
  const index = (unique: boolean) => adapter.execute(`create ${unique ? 'unique ' : ''}index if not exists ${d.quoteIdent(EVENT_ID_INDEX)} on ${d.relation(rel)} (${d.quoteIdent('event_id')})`);
  // (two processes creating it at once: Postgres' catalog refuses the second's name)
  const created = (e: unknown) => /already exists|pg_class_relname_nsp_index/i.test((e as Error).message);
  const first = (e: unknown) => redact((e as Error).message.split('\n')[0]).slice(0, 300);
  const where = `${d.relation(rel)}`;
  try {
    await index(true);
    return;
  } catch (e) {
    if (created(e)) return;
    if (!/duplicate|unique/i.test((e as Error).message)) {
      warn(`could not create the index ${EVENT_ID_INDEX} on ${where}: ${first(e)}; the history is written without it (each write looks its event ids up in the whole table)`);
      return;
    }
  }
  try {
    await index(false);
    warn(`${where} holds an event_id more than once (rows written by something other than vigil), so its event_id index is not unique: ${EVENT_ID_INDEX} indexes it without the constraint. Vigil never writes an event twice; to have the unique index, delete the extra rows and drop the index (the next write creates it)`);
  } catch (e) {
    if (!created(e)) warn(`could not create the index ${EVENT_ID_INDEX} on ${where}: ${first(e)}; the history is written without it (each write looks its event ids up in the whole table)`);
  }
}
