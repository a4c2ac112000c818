/**
 * The site's index.html: a list of the rendered dashboards with their tabs and tile counts.
 */
import type { CompiledDashboard } from './types.js';
import { escapeHtml as esc } from './render.js';

/** `href`: a link to a page of the site (relative by default; absolute under a base URL). */
export function renderIndexHtml(ds: CompiledDashboard[], meta: { generatedAt: string; target: string }, href: (file: string, anchor?: string) => string = (f, a) => (a ? `${f}#${a}` : f)): string {
  const items = ds
    .map((d) => {
      const tabs = d.tabs.map((t) => `<a href="${esc(href(`${d.dashboard.name}.html`, `tab-${t.name}`))}">${esc(t.title)}</a>`).join(' · ');
      const tiles = d.tabs.reduce((n, t) => n + t.tiles.length, 0);
      return `<li><h2><a href="${esc(href(`${d.dashboard.name}.html`))}">${esc(d.dashboard.title)}</a></h2><p>${esc(d.dashboard.description ?? '')}</p><p class="meta">${tabs} — ${tiles} tiles, reads ${d.models.map(esc).join(', ')}</p></li>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><meta name="generator" content="vigil"><title>Dashboards</title>
<style>
body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;background:#f5f6f8;color:#101828}
header{background:#101828;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#c0c6d0;font-size:13px}
ul{list-style:none;padding:0 32px;max-width:960px}li{background:#fff;border:1px solid #e4e7ec;border-radius:10px;padding:16px 20px;margin:16px 0}
h2{margin:0 0 6px;font-size:18px}a{color:#5b3fd6;text-decoration:none}a:hover{text-decoration:underline}.meta{color:#667085;font-size:13px}
</style></head><body>
<header><h1>Dashboards</h1><p>Data from ${esc(meta.target)} as of ${esc(meta.generatedAt)} · rendered by vigil</p></header>
<ul>
${items}
</ul>
</body></html>
`;
}
