/**
 * Test support: a fake Metabase REST API on 127.0.0.1 (random port), state in memory, for
 * driving `vigil dashboards publish` through the real CLI. It validates request shapes the way
 * Metabase's API schemas do (docs/api/card.md, dashboard.md, collection.md of metabase/metabase,
 * and the OpenAPI models of its v1.53 client), and is stricter in one respect: an unknown key in
 * a body is refused (Metabase ignores it), so a leftover of Vigil's own (card_key, card_ref,
 * vigil_tile) cannot slip through.
 *
 * - Auth: `X-API-KEY: <apiKey>` or `X-Metabase-Session: <session>`, else 401 "Unauthenticated".
 * - GET /api/database -> { data: [...], total } (Metabase >= 0.41's shape).
 * - GET /api/collection -> [collections] (non-archived, with a personal collection and a root-level
 *   "Other" one already there); POST /api/collection: `name` non-blank string, `description`
 *   nullable string, `parent_id` nullable positive int.
 * - PUT /api/collection/:id: `name`, `description`, `archived` (boolean), `parent_id`.
 * - GET /api/collection/:id/items -> { data: [{ id, model, name, description }], total }.
 * - POST /api/card: `name` non-blank string, `display` non-blank string, `visualization_settings`
 *   map, `dataset_query` map — native: { type: 'native', database: id of an existing database,
 *   native: { query: non-blank string, 'template-tags': map of { id, name, 'display-name', type } } }
 *   — `description` nullable NON-BLANK string, `collection_id` nullable id of an existing
 *   collection, `type` question|model; PUT /api/card/:id: the same keys, all optional, plus `archived`.
 * - POST /api/dashboard: `name` non-blank, `description` nullable string, `parameters` nullable
 *   array of maps with `id` and `type`, `collection_id`. PUT /api/dashboard/:id: those plus `tabs`
 *   (unique ids; an existing id of this dashboard's, or negative = create) and `dashcards`
 *   (unique ids; existing ids of this dashboard or negative = create; `card_id` an existing card;
 *   `row`/`col` integers >= 0, `size_x`/`size_y` integers > 0, within the 24-column grid;
 *   `dashboard_tab_id` one of the tabs sent, required when the dashboard has tabs;
 *   `parameter_mappings` each { parameter_id of a dashboard parameter, card_id = the dashcard's,
 *   target: an array }). Dashcards and tabs not sent are deleted, as Metabase does.
 * - GET /api/card/:id, GET /api/dashboard/:id (with `dashcards`, each with its `card`, and `tabs`). With `mbql5` set, GET
 *   /api/card/:id answers a native dataset_query as Metabase 0.57+ does (MBQL 5: `lib/type`, the SQL
 *   at stages[0].native; its API changelog: "serialized as MBQL 5 ... in REST API responses").
 * - `barrier(method, path, n)`: the next n requests matching are processed as they arrive (each sees
 *   the state of its moment), their answers held until all n have arrived: two publishes running at
 *   the same time made to read the same state (both find no collection, both find no cards).
 * Every request the handler processed is in `log` (method, path, body); scripted failures
 * (`script`, scripted-server.ts) are answered without processing and are not logged.
 */
import { loopbackTls } from './fake-pagerduty.js';
import { startScriptedServer, type Answer, type ScriptStep } from './scripted-server.js';

type Json = Record<string, any>;

export interface FakeMetabase {
  url: string;
  log: Array<{ method: string; path: string; body: Json | undefined; auth: string | undefined }>;
  state: { collections: Json[]; cards: Json[]; dashboards: Json[]; databases: Json[] };
  script(steps: ScriptStep[]): void;
  close(): Promise<void>;
  /** GET /api/card/:id answers its dataset_query in MBQL 5, as Metabase 0.57+ does */
  mbql5: boolean;
  /** Hold the answers of the next `n` requests `method path` (path a RegExp) until all n have arrived. */
  barrier(method: string, path: RegExp, n: number): void;
}

/** A native dataset_query as Metabase 0.57+ answers it (MBQL 5). */
const asMbql5 = (q: Json): Json => ({ 'lib/type': 'mbql/query', database: q.database, stages: [{ 'lib/type': 'mbql.stage/native', native: q.native.query, 'template-tags': q.native['template-tags'] ?? {} }] });

const json = (status: number, body: unknown): Answer => ({ status, body: JSON.stringify(body), contentType: 'application/json' });
const isMap = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);
const nonBlank = (v: unknown) => typeof v === 'string' && v.trim() !== '';
const posInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;

class Invalid extends Error {
  constructor(readonly errors: Record<string, string>) {
    super('invalid');
  }
}

/** `tls`: HTTPS with the fake PagerDuty's self-signed certificate for 127.0.0.1 (FAKE_PD_CERT_PATH trusts it). */
export async function startFakeMetabase(opts: { apiKey?: string; session?: string; databases?: Json[]; tls?: boolean } = {}): Promise<FakeMetabase> {
  const state: FakeMetabase['state'] = {
    databases: opts.databases ?? [
      { id: 1, name: 'Sample Database', engine: 'h2', is_sample: true },
      { id: 2, name: 'Analytics', engine: 'duckdb', is_sample: false },
    ],
    collections: [
      { id: 1, name: "Admin's Personal Collection", location: '/', personal_owner_id: 1, archived: false },
      { id: 2, name: 'Other', location: '/', personal_owner_id: null, archived: false },
    ],
    cards: [],
    dashboards: [],
  };
  const log: FakeMetabase['log'] = [];
  let nextId = 100;

  const check = (errors: Record<string, string>) => {
    if (Object.keys(errors).length) throw new Invalid(errors);
  };
  const onlyKeys = (body: Json, allowed: string[], errors: Record<string, string>) => {
    for (const k of Object.keys(body)) if (!allowed.includes(k)) errors[k] = `unknown key (the fake refuses keys Metabase would ignore)`;
  };
  const collectionOk = (v: unknown) => v === null || v === undefined || (posInt(v) && state.collections.some((c) => c.id === v));

  function validateCard(b: Json, partial: boolean) {
    const errors: Record<string, string> = {};
    onlyKeys(b, ['name', 'description', 'display', 'dataset_query', 'visualization_settings', 'collection_id', 'type', 'parameters', 'parameter_mappings', 'collection_position', 'cache_ttl', 'result_metadata', ...(partial ? ['archived', 'enable_embedding', 'embedding_params'] : [])], errors);
    if ((!partial || b.name !== undefined) && !nonBlank(b.name)) errors.name = 'value must be a non-blank string.';
    if ((!partial || b.display !== undefined) && !nonBlank(b.display)) errors.display = 'value must be a non-blank string.';
    if ((!partial || b.visualization_settings !== undefined) && !isMap(b.visualization_settings)) errors.visualization_settings = 'Value must be a map.';
    if (b.description !== undefined && b.description !== null && !(partial ? typeof b.description === 'string' : nonBlank(b.description))) errors.description = partial ? 'nullable string' : 'nullable value must be a non-blank string.';
    if (!collectionOk(b.collection_id)) errors.collection_id = 'nullable value must be an integer greater than zero (of an existing collection).';
    if (b.type !== undefined && b.type !== null && !['question', 'model'].includes(b.type)) errors.type = 'nullable enum of model, question';
    if (b.archived !== undefined && typeof b.archived !== 'boolean') errors.archived = 'nullable boolean';
    if (!partial || b.dataset_query !== undefined) {
      const q = b.dataset_query;
      if (!isMap(q)) errors.dataset_query = 'Value must be a map.';
      else if (q.type !== 'native') errors.dataset_query = 'only native queries in this fake';
      else if (!posInt(q.database) || !state.databases.some((x) => x.id === q.database)) errors.dataset_query = `database must be the id of an existing database, got ${JSON.stringify(q.database)}`;
      else if (!isMap(q.native) || !nonBlank(q.native.query)) errors.dataset_query = 'native.query must be a non-blank string';
      else {
        const tags = q.native['template-tags'] ?? {};
        if (!isMap(tags)) errors.dataset_query = 'template-tags must be a map';
        else
          for (const [k, t] of Object.entries<Json>(tags)) {
            if (!isMap(t) || t.name !== k || !nonBlank(t.id) || !nonBlank(t['display-name']) || !['text', 'number', 'date', 'dimension'].includes(t.type)) errors.dataset_query = `template tag ${k}: needs id, name (= its key), display-name and a type`;
            else if (!q.native.query.includes(`{{${k}}}`)) errors.dataset_query = `template tag ${k} is not used by the query`;
          }
      }
    }
    check(errors);
  }

  function validateParameters(p: unknown, errors: Record<string, string>) {
    if (p === undefined || p === null) return;
    if (!Array.isArray(p) || !p.every((x) => isMap(x) && nonBlank(x.id) && nonBlank(x.type))) errors.parameters = 'nullable sequence of parameter must be a map with :id and :type keys';
  }

  function putDashboard(d: Json, b: Json) {
    const errors: Record<string, string> = {};
    onlyKeys(b, ['name', 'description', 'parameters', 'collection_id', 'tabs', 'dashcards', 'archived', 'collection_position', 'cache_ttl', 'width', 'caveats', 'points_of_interest', 'position', 'enable_embedding', 'embedding_params', 'show_in_getting_started'], errors);
    if (b.name !== undefined && !nonBlank(b.name)) errors.name = 'value must be a non-blank string.';
    if (b.description !== undefined && b.description !== null && typeof b.description !== 'string') errors.description = 'nullable string';
    if (!collectionOk(b.collection_id)) errors.collection_id = 'nullable value must be an integer greater than zero (of an existing collection).';
    validateParameters(b.parameters, errors);
    check(errors);
    const parameters: Json[] = b.parameters ?? d.parameters;
    // tabs: unique ids, existing ones of this dashboard or negative
    let tabs: Json[] = d.tabs;
    const tabIdMap = new Map<number, number>();
    if (b.tabs !== undefined) {
      if (!Array.isArray(b.tabs)) throw new Invalid({ tabs: 'value must be seq of maps in which ids are unique' });
      const ids = b.tabs.map((t: Json) => t?.id);
      if (new Set(ids).size !== ids.length) throw new Invalid({ tabs: 'value must be seq of maps in which ids are unique' });
      tabs = b.tabs.map((t: Json, i: number) => {
        if (!isMap(t) || !Number.isInteger(t.id) || !nonBlank(t.name)) throw new Invalid({ tabs: 'each tab needs an integer id and a name' });
        if (t.id > 0 && !d.tabs.some((x: Json) => x.id === t.id)) throw new Invalid({ tabs: `tab ${t.id} is not a tab of dashboard ${d.id}` });
        const id = t.id < 0 ? nextId++ : t.id;
        tabIdMap.set(t.id, id);
        return { id, name: t.name, position: i, dashboard_id: d.id };
      });
    } else for (const t of tabs) tabIdMap.set(t.id, t.id);
    let dashcards: Json[] = d.dashcards;
    if (b.dashcards !== undefined) {
      if (!Array.isArray(b.dashcards)) throw new Invalid({ dashcards: 'value must be seq of maps in which ids are unique' });
      const ids = b.dashcards.map((x: Json) => x?.id);
      if (new Set(ids).size !== ids.length) throw new Invalid({ dashcards: 'value must be seq of maps in which ids are unique' });
      dashcards = b.dashcards.map((dc: Json, i: number) => {
        const where = `dashcards[${i}]`;
        if (!isMap(dc) || !Number.isInteger(dc.id)) throw new Invalid({ [where]: 'id must be an integer' });
        const extra = Object.keys(dc).filter((k) => !['id', 'card_id', 'dashboard_tab_id', 'row', 'col', 'size_x', 'size_y', 'parameter_mappings', 'visualization_settings', 'series', 'action_id', 'inline_parameters'].includes(k));
        if (extra.length) throw new Invalid({ [where]: `unknown keys ${extra.join(', ')}` });
        if (dc.id > 0 && !d.dashcards.some((x: Json) => x.id === dc.id)) throw new Invalid({ [where]: `dashcard ${dc.id} is not on dashboard ${d.id}` });
        if (!posInt(dc.card_id) || !state.cards.some((c) => c.id === dc.card_id && !c.archived)) throw new Invalid({ [where]: `card_id must be the id of an existing card, got ${JSON.stringify(dc.card_id)}` });
        for (const k of ['row', 'col']) if (!Number.isInteger(dc[k]) || dc[k] < 0) throw new Invalid({ [where]: `${k}: value must be an integer greater or equal to than zero.` });
        for (const k of ['size_x', 'size_y']) if (!posInt(dc[k])) throw new Invalid({ [where]: `${k}: value must be an integer greater than zero.` });
        if (dc.col + dc.size_x > 24) throw new Invalid({ [where]: 'beyond the 24-column grid' });
        let tab: number | null = null;
        if (tabs.length) {
          if (!tabIdMap.has(dc.dashboard_tab_id)) throw new Invalid({ [where]: `dashboard_tab_id ${JSON.stringify(dc.dashboard_tab_id)} is not one of the dashboard's tabs` });
          tab = tabIdMap.get(dc.dashboard_tab_id)!;
        } else if (dc.dashboard_tab_id !== null && dc.dashboard_tab_id !== undefined) throw new Invalid({ [where]: 'dashboard_tab_id on a dashboard without tabs' });
        const pm = dc.parameter_mappings ?? [];
        if (!Array.isArray(pm)) throw new Invalid({ [where]: 'parameter_mappings must be an array' });
        for (const m of pm) {
          if (!isMap(m) || !nonBlank(m.parameter_id) || !Array.isArray(m.target)) throw new Invalid({ [where]: 'each parameter mapping needs parameter_id and target' });
          if (!parameters.some((p) => p.id === m.parameter_id)) throw new Invalid({ [where]: `parameter mapping to ${m.parameter_id}, which the dashboard does not have` });
          if (m.card_id !== dc.card_id) throw new Invalid({ [where]: `parameter mapping card_id ${m.card_id} is not the dashcard's card ${dc.card_id}` });
        }
        if (dc.visualization_settings !== undefined && !isMap(dc.visualization_settings)) throw new Invalid({ [where]: 'visualization_settings must be a map' });
        return { id: dc.id < 0 ? nextId++ : dc.id, card_id: dc.card_id, dashboard_tab_id: tab, row: dc.row, col: dc.col, size_x: dc.size_x, size_y: dc.size_y, parameter_mappings: pm, visualization_settings: dc.visualization_settings ?? {}, series: dc.series ?? [] };
      });
    }
    Object.assign(d, { name: b.name ?? d.name, description: b.description === undefined ? d.description : b.description, collection_id: b.collection_id === undefined ? d.collection_id : b.collection_id, parameters, tabs, dashcards });
    if (b.archived !== undefined) d.archived = b.archived;
    return d;
  }

  const barriers: Array<{ method: string; path: RegExp; left: number; release: () => void; held: Promise<void> }> = [];
  const barrier = (method: string, path: RegExp, n: number) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    barriers.push({ method, path, left: n, release, held });
  };
  /** The hold of a request a barrier takes (released when its last one arrives), if any. */
  const holdOf = (method: string, path: string): Promise<void> | undefined => {
    const b = barriers.find((x) => x.left > 0 && x.method === method && x.path.test(path));
    if (!b) return undefined;
    if (--b.left === 0) b.release();
    return b.held;
  };
  const fake: FakeMetabase = { url: '', log, state, script: (s) => server.script(s), close: () => server.close(), mbql5: false, barrier };
  const handle = (method: string, path: string, body: Json | undefined): Answer => {
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/api/database') return json(200, { data: state.databases, total: state.databases.length });
    if (method === 'GET' && path === '/api/collection') return json(200, state.collections.filter((c) => !c.archived));
    if (method === 'POST' && path === '/api/collection') {
      const errors: Record<string, string> = {};
      onlyKeys(body!, ['name', 'description', 'parent_id', 'namespace', 'authority_level'], errors);
      if (!nonBlank(body!.name)) errors.name = 'value must be a non-blank string.';
      if (body!.description !== undefined && body!.description !== null && typeof body!.description !== 'string') errors.description = 'nullable string';
      if (body!.parent_id !== undefined && body!.parent_id !== null && !state.collections.some((c) => c.id === body!.parent_id)) errors.parent_id = 'no such collection';
      check(errors);
      const c = { id: nextId++, name: body!.name, description: body!.description ?? null, location: '/', personal_owner_id: null, archived: false };
      state.collections.push(c);
      return json(200, c);
    }
    if (method === 'PUT' && (m = /^\/api\/collection\/(\d+)$/.exec(path))) {
      const c = state.collections.find((x) => x.id === Number(m![1]));
      if (!c) return json(404, 'Not found.');
      const errors: Record<string, string> = {};
      onlyKeys(body!, ['name', 'description', 'archived', 'parent_id', 'authority_level', 'namespace'], errors);
      if (body!.name !== undefined && !nonBlank(body!.name)) errors.name = 'value must be a non-blank string.';
      if (body!.archived !== undefined && typeof body!.archived !== 'boolean') errors.archived = 'nullable boolean';
      check(errors);
      Object.assign(c, body);
      return json(200, c);
    }
    if (method === 'GET' && (m = /^\/api\/collection\/(\d+)\/items$/.exec(path))) {
      const id = Number(m[1]);
      if (!state.collections.some((c) => c.id === id)) return json(404, 'Not found.');
      const items = [
        ...state.cards.filter((c) => c.collection_id === id && !c.archived).map((c) => ({ id: c.id, model: 'card', name: c.name, description: c.description })),
        ...state.dashboards.filter((d) => d.collection_id === id && !d.archived).map((d) => ({ id: d.id, model: 'dashboard', name: d.name, description: d.description })),
      ];
      return json(200, { data: items, total: items.length, models: ['card', 'dashboard'] });
    }
    if (method === 'POST' && path === '/api/card') {
      validateCard(body!, false);
      const c = { id: nextId++, archived: false, type: 'question', description: null, collection_id: null, ...body };
      state.cards.push(c);
      return json(200, c);
    }
    if ((m = /^\/api\/card\/(\d+)$/.exec(path))) {
      const c = state.cards.find((x) => x.id === Number(m![1]));
      if (!c) return json(404, 'Not found.');
      if (method === 'GET') return json(200, fake.mbql5 && isMap(c.dataset_query) ? { ...c, dataset_query: asMbql5(c.dataset_query) } : c);
      if (method === 'PUT') {
        validateCard(body!, true);
        Object.assign(c, body);
        return json(200, c);
      }
    }
    if (method === 'POST' && path === '/api/dashboard') {
      const errors: Record<string, string> = {};
      onlyKeys(body!, ['name', 'description', 'parameters', 'collection_id', 'collection_position', 'cache_ttl'], errors);
      if (!nonBlank(body!.name)) errors.name = 'value must be a non-blank string.';
      if (body!.description !== undefined && body!.description !== null && typeof body!.description !== 'string') errors.description = 'nullable string';
      if (!collectionOk(body!.collection_id)) errors.collection_id = 'nullable value must be an integer greater than zero (of an existing collection).';
      validateParameters(body!.parameters, errors);
      check(errors);
      const d = { id: nextId++, name: body!.name, description: body!.description ?? null, collection_id: body!.collection_id ?? null, parameters: body!.parameters ?? [], tabs: [], dashcards: [], archived: false };
      state.dashboards.push(d);
      return json(200, d);
    }
    if ((m = /^\/api\/dashboard\/(\d+)$/.exec(path))) {
      const d = state.dashboards.find((x) => x.id === Number(m![1]));
      if (!d) return json(404, 'Not found.');
      // each dashcard with its card, as Metabase answers (the fields a client reads of it)
      const withCards = (x: Json) => ({ ...x, dashcards: x.dashcards.map((dc: Json) => ({ ...dc, card: ((c) => (c ? { id: c.id, name: c.name, description: c.description, archived: c.archived, collection_id: c.collection_id, display: c.display } : null))(state.cards.find((c) => c.id === dc.card_id)) })) });
      if (method === 'GET') return json(200, withCards(d));
      if (method === 'PUT') return json(200, withCards(putDashboard(d, body!)));
    }
    return json(404, 'API endpoint does not exist.');
  };

  const server = await startScriptedServer({
    ...(opts.tls ? { tls: loopbackTls() } : {}),
    handle(ex) {
      const auth = (ex.headers['x-api-key'] as string | undefined) ?? (ex.headers['x-metabase-session'] as string | undefined);
      const ok = (opts.apiKey !== undefined && ex.headers['x-api-key'] === opts.apiKey) || (opts.session !== undefined && ex.headers['x-metabase-session'] === opts.session);
      if (!ok) return { status: 401, body: 'Unauthenticated', contentType: 'text/plain' };
      let body: Json | undefined;
      if (ex.body) {
        try {
          body = JSON.parse(ex.body);
        } catch {
          return json(400, { message: 'Malformed JSON in request body.' });
        }
      }
      if ((ex.method === 'POST' || ex.method === 'PUT') && !isMap(body)) return json(400, { message: 'the body must be a JSON object' });
      log.push({ method: ex.method, path: ex.path, body, auth });
      const hold = holdOf(ex.method, ex.path);
      try {
        return { ...handle(ex.method, ex.path, body), ...(hold ? { hold } : {}) };
      } catch (e) {
        if (e instanceof Invalid) return json(400, { errors: e.errors });
        throw e;
      }
    },
    scriptedAnswer: (status) => (status === 429 ? { status, body: 'Too many requests', contentType: 'text/plain' } : json(status, { message: `scripted ${status}` })),
  });
  fake.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${server.port}`;
  return fake;
}
