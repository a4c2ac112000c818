/**
 * The docs site as files: index.html (overview, the lineage graph of the whole project, every
 * node by kind), nodes/<unique id>.html (one page per node: description, facts, columns with
 * types, policies, tests and column-level lineage, upstream/downstream graph, raw and compiled
 * SQL), search.js (the index the search box reads) and app.js (the search box). Graphs are
 * drawn here as SVG with links (no layout library in the browser); the only script is the
 * search. Deterministic for a given model: the same project gives the same bytes.
 */
import MarkdownIt from 'markdown-it';
import type { DocsColumn, DocsKind, DocsModel, DocsNode } from './collect.js';
import { fileNamePart } from '../file-names.js';
import { cutText } from '../format.js';

export const KIND_LABEL: Record<DocsKind, string> = {
  source: 'Sources',
  seed: 'Seeds',
  snapshot: 'Snapshots',
  model: 'Models',
  exposure: 'Dashboards',
  alert: 'Alerts',
  test: 'Data tests',
  unit_test: 'Unit tests',
};
const KIND_ONE: Record<DocsKind, string> = { source: 'source', seed: 'seed', snapshot: 'snapshot', model: 'model', exposure: 'dashboard', alert: 'alert', test: 'data test', unit_test: 'unit test' };
const COLOR: Record<DocsKind, string> = { source: '#0e9384', seed: '#4e5ba6', snapshot: '#b54708', model: '#5b3fd6', exposure: '#c11574', alert: '#d92d20', test: '#667085', unit_test: '#667085' };

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * The page of a node, relative to the site root: its unique id when that is a plain ASCII name
 * (letters, digits, `_`, `.`, `-`), else a slug and a hash of the id (file-names.ts): one page per
 * node, whatever its name (`model.p.売上` and `model.p.顧客` were both `model.p.__.html`).
 */
export function pagePath(id: string): string {
  return `nodes/${fileNamePart(id, (s) => /^[\w.-]+$/.test(s))}.html`;
}

/** A column's row id: its lower-cased name with each other byte as .XX (one id per name: "a b" and a_b differ). */
const colAnchor = (name: string) => `col-${[...Buffer.from(name.toLowerCase(), 'utf8')].map((b) => (/[a-z0-9_-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `.${b.toString(16).padStart(2, '0')}`)).join('')}`;
/** A column's place on its node's page: the row when the page lists the column, else the page (a source that declares no columns). */
const colHref = (n: DocsNode, column: string, base: string) => `${base}${pagePath(n.id)}${n.columns.some((c) => c.name.toLowerCase() === column.toLowerCase()) ? `#${colAnchor(column)}` : ''}`;

/**
 * Descriptions are Markdown (CommonMark with GFM tables and strikethrough, markdown-it): raw
 * HTML is escaped, only http(s) URLs become links or images (a `javascript:` or relative link
 * stays text), bare URLs are not linked, and a heading is one level under the page's own h1.
 */
const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false });
markdown.validateLink = (url: string) => /^https?:\/\//i.test(url.trim());
markdown.core.ruler.push('vigil_heading_level', (state) => {
  for (const t of state.tokens) if (t.type === 'heading_open' || t.type === 'heading_close') t.tag = `h${Math.min(6, Number(t.tag.slice(1)) + 1)}`;
});

/** each text once (a doc block is often the description of many columns); emptied by each renderSite (a watch renders again and again) */
const rendered = new Map<string, string>();

function prose(text: string | undefined): string {
  if (!text?.trim()) return '<p class="none">No description.</p>';
  let html = rendered.get(text);
  if (html === undefined) rendered.set(text, (html = markdown.render(text).trim()));
  return html;
}

const STYLE = `
*{box-sizing:border-box}body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;background:#f5f6f8;color:#101828;font-size:14px}
header{background:#101828;color:#fff;padding:12px 28px;display:flex;gap:24px;align-items:center;flex-wrap:wrap}
header a.home{color:#fff;font-weight:600;font-size:17px;text-decoration:none}header .meta{color:#c0c6d0;font-size:12px}
.search{position:relative;margin-left:auto}.search input{width:320px;padding:7px 10px;border-radius:6px;border:0;font-size:14px}
#results{position:absolute;right:0;top:36px;width:460px;max-height:70vh;overflow:auto;background:#fff;color:#101828;border:1px solid #e4e7ec;border-radius:8px;list-style:none;margin:0;padding:4px 0;z-index:5;box-shadow:0 8px 24px rgba(16,24,40,.15)}
#results li a{display:block;padding:6px 12px;color:#101828;text-decoration:none}#results li a:hover{background:#f2f0fd}#results .k{display:inline-block;min-width:74px;color:#667085;font-size:12px}#results .d{display:block;color:#667085;font-size:12px;margin-left:74px}
main{padding:18px 28px;max-width:1400px}section{background:#fff;border:1px solid #e4e7ec;border-radius:10px;padding:14px 18px;margin:0 0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 10px}.kind{display:inline-block;font-size:12px;color:#fff;border-radius:4px;padding:1px 7px;margin-right:8px;vertical-align:middle}
a{color:#5b3fd6;text-decoration:none}a:hover{text-decoration:underline}.none{color:#98a2b3}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}th{font-size:12px;color:#667085;font-weight:600}
td>:first-child{margin-top:0}td>:last-child{margin-bottom:0}.facts td:first-child{color:#667085;width:170px}.tag{display:inline-block;background:#f2f4f7;border-radius:4px;padding:0 6px;margin:0 4px 2px 0;font-size:12px}
.policy{background:#fef3f2;color:#b42318}pre{background:#0c111d;color:#e4e7ec;padding:12px;border-radius:8px;overflow:auto;font-size:12px;line-height:1.45}
.graph{overflow:auto;border:1px solid #eef0f3;border-radius:8px;background:#fcfcfd}.graph svg text{font-size:12px;font-family:inherit}
main img{max-width:100%}.cols{columns:3 260px}.cols li{break-inside:avoid;overflow-wrap:anywhere}details summary{cursor:pointer;color:#5b3fd6;margin:6px 0}.note{color:#b54708;font-size:13px}
`;

function shell(title: string, base: string, body: string, model: DocsModel): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)} · ${esc(model.project)} docs</title>
<link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body data-base="${base}">
<header><a class="home" href="${base}index.html">${esc(model.project)} docs</a><span class="meta">target ${esc(model.target)} · generated ${esc(model.generated_at)} by vigil</span>
<div class="search"><input id="search" type="search" placeholder="Search models, columns, descriptions…" autocomplete="off" aria-label="Search"><ul id="results" hidden></ul></div></header>
<main>
${body}
</main>
<script src="${base}search.js"></script><script src="${base}app.js"></script>
</body></html>
`;
}

// ---- graphs

interface Placed {
  id: string;
  x: number;
  y: number;
}
const BOX_W = 190;
const BOX_H = 28;
const COL_W = 250;
const ROW_H = 38;
const PAD = 14;

/** Layers by longest path from the roots, each layer ordered by its parents' positions. */
export function layout(ids: string[], parentsOf: (id: string) => string[]): { placed: Map<string, Placed>; width: number; height: number } {
  const set = new Set(ids);
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const d = (id: string): number => {
    const hit = depth.get(id);
    if (hit !== undefined) return hit;
    if (visiting.has(id)) return 0; // a cycle cannot compile; guard anyway
    visiting.add(id);
    const ps = parentsOf(id).filter((p) => set.has(p));
    const v = ps.length ? 1 + Math.max(...ps.map(d)) : 0;
    visiting.delete(id);
    depth.set(id, v);
    return v;
  };
  const layers: string[][] = [];
  for (const id of ids) (layers[d(id)] ??= []).push(id);
  const index = new Map<string, number>();
  const placed = new Map<string, Placed>();
  let rows = 0;
  layers.forEach((layer, li) => {
    const bary = (id: string) => {
      const ps = parentsOf(id).filter((p) => index.has(p));
      return ps.length ? ps.reduce((s, p) => s + index.get(p)!, 0) / ps.length : -1;
    };
    const sorted = li === 0 ? [...layer].sort() : [...layer].sort((a, b) => bary(a) - bary(b) || a.localeCompare(b));
    sorted.forEach((id, i) => {
      index.set(id, i);
      placed.set(id, { id, x: PAD + li * COL_W, y: PAD + i * ROW_H });
    });
    rows = Math.max(rows, sorted.length);
  });
  return { placed, width: PAD * 2 + Math.max(0, layers.length - 1) * COL_W + BOX_W, height: PAD * 2 + Math.max(0, rows - 1) * ROW_H + BOX_H };
}

/** A lineage graph of `ids`: boxes linking to their pages, edges parent -> child. */
export function graphSvg(ids: string[], byId: Map<string, DocsNode>, base: string, current?: string): string {
  const { placed, width, height } = layout(ids, (id) => byId.get(id)?.parents ?? []);
  const edges: string[] = [];
  for (const id of ids) {
    const to = placed.get(id)!;
    for (const p of byId.get(id)!.parents) {
      const from = placed.get(p);
      if (!from) continue;
      const x1 = from.x + BOX_W;
      const y1 = from.y + BOX_H / 2;
      const x2 = to.x;
      const y2 = to.y + BOX_H / 2;
      edges.push(`<path d="M${x1} ${y1}C${x1 + 50} ${y1} ${x2 - 50} ${y2} ${x2} ${y2}" fill="none" stroke="#98a2b3" stroke-width="1.2" marker-end="url(#arrow)"/>`);
    }
  }
  const boxes = ids.map((id) => {
    const n = byId.get(id)!;
    const p = placed.get(id)!;
    const here = id === current;
    return `<a href="${base}${pagePath(id)}" data-node="${esc(id)}"><title>${esc(`${KIND_ONE[n.kind]} ${n.label}`)}</title><rect x="${p.x}" y="${p.y}" width="${BOX_W}" height="${BOX_H}" rx="6" fill="${here ? COLOR[n.kind] : '#fff'}" stroke="${COLOR[n.kind]}" stroke-width="${here ? 2 : 1.5}"/><text x="${p.x + 10}" y="${p.y + 18}" fill="${here ? '#fff' : '#101828'}">${esc(cutText(n.label, 27))}</text></a>`;
  });
  return `<div class="graph"><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="lineage graph"><defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L8 4L0 8z" fill="#98a2b3"/></marker></defs>${edges.join('')}${boxes.join('')}</svg></div>`;
}

/** Column-level lineage of one node: its upstream columns (grouped by node) on the left, its columns on the right. */
function columnGraphSvg(n: DocsNode, byId: Map<string, DocsNode>, base: string): string {
  const traced = n.columns.filter((c) => c.from.length);
  if (!traced.length) return '';
  const ups = new Map<string, string[]>();
  for (const c of traced) for (const f of c.from) if (!(ups.get(f.node) ?? []).includes(f.column)) ups.set(f.node, [...(ups.get(f.node) ?? []), f.column]);
  const leftY = new Map<string, number>();
  const rows: string[] = [];
  let y = PAD;
  const ROW = 22;
  const LW = 260;
  const RX = 520;
  for (const [node, cols] of [...ups].sort((a, b) => a[0].localeCompare(b[0]))) {
    const up = byId.get(node);
    const label = up ? up.label : node.replace(/^relation:/, '');
    rows.push(up ? `<a href="${base}${pagePath(node)}"><text x="${PAD}" y="${y + 14}" font-weight="600" fill="${COLOR[up.kind]}">${esc(cutText(label, 36))}</text></a>` : `<text x="${PAD}" y="${y + 14}" font-weight="600" fill="#667085">${esc(cutText(label, 36))}</text>`);
    y += ROW;
    for (const c of cols.sort()) {
      leftY.set(`${node}\u0000${c.toLowerCase()}`, y + 9);
      const href = up ? colHref(up, c, base) : undefined;
      const box = `<rect x="${PAD + 10}" y="${y}" width="${LW - 10}" height="18" rx="4" fill="#f9fafb" stroke="#d0d5dd"/><text x="${PAD + 18}" y="${y + 13}">${esc(cutText(c, 34))}</text>`;
      rows.push(href ? `<a href="${href}">${box}</a>` : box);
      y += ROW;
    }
    y += 6;
  }
  const rightY = new Map<string, number>();
  let ry = PAD;
  for (const c of n.columns) {
    rightY.set(c.name, ry + 9);
    rows.push(`<a href="#${colAnchor(c.name)}"><rect x="${RX}" y="${ry}" width="${LW}" height="18" rx="4" fill="${c.from.length ? '#f2f0fd' : '#fff'}" stroke="${COLOR[n.kind]}"/><text x="${RX + 8}" y="${ry + 13}">${esc(cutText(c.name, 34))}</text></a>`);
    ry += ROW;
  }
  const edges: string[] = [];
  for (const c of traced) {
    const y2 = rightY.get(c.name)!;
    for (const f of c.from) {
      const y1 = leftY.get(`${f.node}\u0000${f.column.toLowerCase()}`);
      if (y1 === undefined) continue;
      edges.push(`<path d="M${PAD + LW} ${y1}C${PAD + LW + 110} ${y1} ${RX - 110} ${y2} ${RX} ${y2}" fill="none" stroke="${c.how === 'direct' ? '#5b3fd6' : '#98a2b3'}" stroke-width="1.1"${c.how === 'direct' ? '' : ' stroke-dasharray="4 3"'}/>`);
    }
  }
  const height = Math.max(y, ry) + PAD;
  const width = RX + LW + PAD;
  return `<div class="graph"><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="column lineage">${edges.join('')}${rows.join('')}</svg></div><p class="none">Solid: the column is read as it is (maybe renamed or cast); dashed: computed from it.</p>`;
}

// ---- pages

/**
 * A node's page draws at most this many nodes of its lineage, the nearest first: every page drew
 * all its ancestors and descendants, so a chain of 1,000 models wrote 1,000 pages of 370 KB each
 * (362 MB, 1.6 GB of memory) and one of 3,000 ran out of memory. The index draws them all.
 */
export const PAGE_GRAPH_NODES = 100;

/**
 * The nodes of `start`'s lineage its page draws: itself, then its parents and children, their
 * parents and children, ... (each step sorted), while there is room for `max`. `cutUp`/`cutDown`:
 * there are more that way.
 */
export function nearestLineage(start: string, byId: Map<string, DocsNode>, max = PAGE_GRAPH_NODES): { ids: string[]; cutUp: boolean; cutDown: boolean } {
  const ids = [start];
  const seen = new Set(ids);
  const cut = { up: false, down: false };
  let frontier = { up: [start], down: [start] };
  while (frontier.up.length || frontier.down.length) {
    const next = { up: [] as string[], down: [] as string[] };
    const found = { up: [] as string[], down: [] as string[] };
    for (const way of ['up', 'down'] as const) {
      const at = new Set<string>();
      for (const id of frontier[way]) for (const x of (way === 'up' ? byId.get(id)?.parents : byId.get(id)?.children) ?? []) if (!seen.has(x) && inGraph(byId.get(x))) at.add(x);
      found[way] = [...at].sort();
    }
    // the room left shared between the ways, half each at least where both have more than that:
    // taken in turn, a model reading 150 sources drew 99 of them and none of what reads it
    const room = Math.max(0, max - ids.length);
    const half = Math.floor(room / 2);
    const upTake = Math.min(found.up.length, Math.max(room - half, room - found.down.length));
    const take = { up: upTake, down: Math.min(found.down.length, room - upTake) };
    for (const way of ['up', 'down'] as const) {
      if (found[way].length > take[way]) cut[way] = true;
      for (const x of found[way].slice(0, take[way])) {
        seen.add(x);
        ids.push(x);
        next[way].push(x);
      }
    }
    frontier = next;
  }
  return { ids, cutUp: cut.up, cutDown: cut.down };
}

const inGraph = (n: DocsNode | undefined) => !!n && n.kind !== 'test' && n.kind !== 'unit_test';

function refLink(r: { node: string; column: string }, byId: Map<string, DocsNode>, base: string): string {
  const n = byId.get(r.node);
  return n ? `<a href="${colHref(n, r.column, base)}">${esc(n.label)}.${esc(r.column)}</a>` : `<span class="none">${esc(r.node.replace(/^relation:/, ''))}.${esc(r.column)}</span>`;
}

function columnsTable(n: DocsNode, byId: Map<string, DocsNode>, base: string): string {
  if (!n.columns.length) return '';
  const policies = (c: DocsColumn) =>
    [
      ...(c.policy ? [`<span class="tag policy">policy: ${esc(c.policy)}</span>`] : []),
      // PII it carries as it is, its YAML's meta or not (a snapshot's copy, an ephemeral model's)
      ...(c.pii && c.meta?.pii !== true ? [`<span class="tag policy" title="${esc(`PII: ${c.pii}`)}">pii</span>`] : []),
      ...Object.entries(c.meta ?? {}).map(([k, v]) => `<span class="tag policy">${esc(k)}${v === true ? '' : `: ${esc(typeof v === 'string' ? v : JSON.stringify(v))}`}</span>`), ...(c.tags ?? []).map((t) => `<span class="tag">${esc(t)}</span>`)].join('');
  const rows = n.columns.map(
    (c) => `<tr id="${colAnchor(c.name)}"><td><strong>${esc(c.name)}</strong></td><td>${esc(c.type ?? '')}${c.declared_type && c.declared_type.toLowerCase() !== (c.type ?? '').toLowerCase() ? `<br><span class="none">declared ${esc(c.declared_type)}</span>` : ''}</td><td>${c.description ? prose(c.description) : '<span class="none">—</span>'}</td><td>${policies(c)}</td><td>${c.tests.map((t) => `<a class="tag" href="${base}${pagePath(t.id)}">${esc(t.name)}</a>`).join('')}</td><td>${c.from.map((r) => refLink(r, byId, base)).join('<br>')}</td><td>${c.used_by.map((r) => refLink(r, byId, base)).join('<br>')}</td></tr>`,
  );
  return `<section><h2>Columns (${n.columns.length})</h2><table><thead><tr><th>Column</th><th>Type</th><th>Description</th><th>Policies</th><th>Tests</th><th>Derived from</th><th>Used by</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

function nodePage(n: DocsNode, byId: Map<string, DocsNode>, model: DocsModel): string {
  const base = '../';
  const { ids, cutUp, cutDown } = nearestLineage(n.id, byId);
  const cutWays = [...(cutUp ? ['upstream'] : []), ...(cutDown ? ['downstream'] : [])];
  const cutNote = cutWays.length ? `<p class="note">The graph shows the ${ids.length} nodes of its lineage nearest to this one; more ${cutWays.join(' and ')} are not drawn: the pages of the nodes at its edge show them, the index the whole project.</p>` : '';
  const list = (title: string, xs: string[]) => (xs.length ? `<p><strong>${title}:</strong> ${xs.map((id) => `<a href="${base}${pagePath(id)}">${esc(byId.get(id)?.label ?? id)}</a>`).join(', ')}</p>` : '');
  const facts = [...n.facts, ...(n.file ? ([['file', n.file]] as Array<[string, string]>) : []), ['unique id', n.id]] as Array<[string, string]>;
  const body = [
    `<section><h1><span class="kind" style="background:${COLOR[n.kind]}">${KIND_ONE[n.kind]}</span>${esc(n.label)}</h1>${n.tags.map((t) => `<span class="tag">${esc(t)}</span>`).join('')}${prose(n.description)}${n.source ? `<h2>Source ${esc(n.source.name)}</h2>${prose(n.source.description)}` : ''}<table class="facts">${facts.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table></section>`,
    `<section><h2>Lineage</h2>${list('Reads', n.parents)}${n.also_reads?.length ? `<p><strong>Also reads:</strong> ${n.also_reads.map(esc).join(', ')} — the sync state table vigil sync keeps, not a node of the project</p>` : ''}${list('Read by', n.children.filter((c) => inGraph(byId.get(c))))}${cutNote}${graphSvg(ids, byId, base, n.id)}</section>`,
    columnsTable(n, byId, base),
    n.kind === 'model' || n.kind === 'snapshot' ? `<section><h2>Column lineage</h2>${n.lineage_notes.map((x) => `<p class="note">${esc(x)}</p>`).join('')}${columnGraphSvg(n, byId, base) || '<p class="none">No column could be traced to an upstream column.</p>'}</section>` : '',
    n.tests.length ? `<section><h2>Tests (${n.tests.length})</h2><ul class="cols">${n.tests.map((t) => `<li><a href="${base}${pagePath(t)}">${esc(byId.get(t)?.name ?? t)}</a></li>`).join('')}</ul></section>` : '',
    n.raw_sql !== undefined ? `<section><h2>SQL</h2><pre><code>${esc(n.raw_sql)}</code></pre></section>` : '',
    n.compiled_sql !== undefined ? `<section><details${n.raw_sql === undefined ? ' open' : ''}><summary>Compiled SQL (target ${esc(model.target)})</summary><pre><code>${esc(n.compiled_sql)}</code></pre></details></section>` : '',
  ].join('\n');
  return shell(n.label, base, body, model);
}

function indexPage(model: DocsModel, byId: Map<string, DocsNode>): string {
  const kinds = Object.keys(KIND_LABEL) as DocsKind[];
  const counts = kinds.map((k) => [k, model.nodes.filter((n) => n.kind === k).length] as const).filter(([, c]) => c);
  const graphIds = model.nodes.filter(inGraph).map((n) => n.id);
  const lists = counts
    .map(([k, c]) => `<section id="kind-${k}"><h2>${KIND_LABEL[k]} (${c})</h2><ul class="cols">${model.nodes.filter((n) => n.kind === k).map((n) => `<li><a href="${pagePath(n.id)}">${esc(n.label)}</a></li>`).join('')}</ul></section>`)
    .join('\n');
  const body = [
    `<section><h1>${esc(model.project)}</h1>${model.overview ? prose(model.overview) : ''}<p>${counts.map(([k, c]) => `<a href="#kind-${k}">${c} ${esc(KIND_LABEL[k].toLowerCase())}</a>`).join(' · ')}${model.catalog ? '' : ' · <span class="note">column types from YAML only (generated with --empty-catalog or before the build)</span>'}</p></section>`,
    `<section><h2>Lineage: sources → models → dashboards and alerts</h2>${graphSvg(graphIds, byId, '')}</section>`,
    lists,
  ].join('\n');
  return shell('Overview', '', body, model);
}

const APP_JS = `(function () {
  var base = document.body.getAttribute('data-base') || '';
  var input = document.getElementById('search');
  var list = document.getElementById('results');
  function show(q) {
    q = q.trim().toLowerCase();
    list.innerHTML = '';
    if (!q) { list.hidden = true; return; }
    var first = [], rest = [];
    for (var i = 0; i < window.VIGIL_SEARCH.length; i++) {
      var e = window.VIGIL_SEARCH[i];
      if (e.n.toLowerCase().indexOf(q) !== -1) first.push(e);
      else if ((e.d || '').toLowerCase().indexOf(q) !== -1) rest.push(e);
    }
    var hits = first.concat(rest).slice(0, 60);
    if (!hits.length) { var li0 = document.createElement('li'); li0.textContent = 'Nothing matches “' + q + '”'; li0.className = 'none'; li0.style.padding = '6px 12px'; list.appendChild(li0); }
    hits.forEach(function (e) {
      var li = document.createElement('li');
      var a = document.createElement('a');
      a.href = base + e.u;
      var k = document.createElement('span'); k.className = 'k'; k.textContent = e.k;
      a.appendChild(k); a.appendChild(document.createTextNode(e.n));
      if (e.d) { var d = document.createElement('span'); d.className = 'd'; d.textContent = e.d; a.appendChild(d); }
      li.appendChild(a); list.appendChild(li);
    });
    list.hidden = false;
  }
  input.addEventListener('input', function () { show(input.value); });
  input.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') { var a = list.querySelector('a'); if (a) location.href = a.href; } if (ev.key === 'Escape') { input.value = ''; show(''); } });
  var q = new URLSearchParams(location.search).get('q');
  if (q) { input.value = q; show(q); }
})();
`;

/** Every file of the site: path relative to the site root -> content. */
export function renderSite(model: DocsModel): Map<string, string> {
  rendered.clear();
  const byId = new Map(model.nodes.map((n) => [n.id, n]));
  const files = new Map<string, string>();
  files.set('index.html', indexPage(model, byId));
  for (const n of model.nodes) {
    const path = pagePath(n.id);
    // (pagePath gives each id its own page: two on one would lose one without a word)
    if (files.has(path)) throw new Error(`docs site: two nodes on one page ${path} (${n.id})`);
    files.set(path, nodePage(n, byId, model));
  }
  const snippet = (s: string | undefined) => (s ? cutText(s.replace(/\s+/g, ' ').trim(), 140) : undefined);
  const search: Array<{ k: string; n: string; d?: string; u: string }> = [];
  for (const n of model.nodes) {
    search.push({ k: KIND_ONE[n.kind], n: n.label, d: snippet(n.description ?? n.source?.description), u: pagePath(n.id) });
    for (const c of n.columns) search.push({ k: 'column', n: `${n.label}.${c.name}`, d: snippet([c.type ?? c.declared_type, c.description].filter(Boolean).join(' — ')), u: `${pagePath(n.id)}#${colAnchor(c.name)}` });
  }
  files.set('search.js', `window.VIGIL_SEARCH = ${JSON.stringify(search).replace(/</g, '\\u003c')};\n`);
  files.set('app.js', APP_JS);
  files.set('docs.json', JSON.stringify(model, null, 1));
  return files;
}
