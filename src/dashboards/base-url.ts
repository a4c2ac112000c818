/**
 * The site's base URL (`vigil dashboards render --base-url`, project.yaml `dashboards: { base_url }`).
 * Its own module: project.yaml's schema checks it at start-up, without loading the renderer.
 */

/** Checks a base URL: http(s)://host[/path] or /path, no query or fragment. Returns it ending in '/', or an error message. */
export function checkBaseUrl(u: string): { url: string } | { error: string } {
  const s = u.trim();
  if (!s) return { error: 'is empty' };
  if (/[?#]/.test(s)) return { error: `'${u}' has a query or fragment; give the folder the site is served from` };
  if (s.startsWith('/') && !s.startsWith('//')) return /\s/.test(s) ? { error: `'${u}' has spaces` } : { url: s.endsWith('/') ? s : `${s}/` };
  let parsed: URL;
  try {
    parsed = new URL(s);
  } catch {
    return { error: `'${u}' is not a URL: give http(s)://host/path or an absolute path such as /dashboards/` };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return { error: `'${u}' is not an http(s) URL` };
  // every link of the site would carry them, in files anyone who opens the site can read (and
  // redacted in what Vigil writes, they would not even work)
  if (parsed.username || parsed.password) return { error: `'${parsed.protocol}//${parsed.host}${parsed.pathname}' with a user or password in it: the site's links would carry them; leave them out (the server asks for them)` };
  const href = parsed.href;
  return { url: href.endsWith('/') ? href : `${href}/` };
}

/** A root-relative tile link, an app route such as `/workspaces/{{ workspace_id }}` (one leading /: `//host` is protocol-relative, refused at compile). */
export const isAppRoute = (url: string): boolean => /^\s*\/(?!\/)/.test(url);

/** An app route under a base URL (checkBaseUrl's, ending in '/'), as the site and the LookML link it. */
export const appRouteUrl = (base: string, url: string): string => `${base}${url.trim().replace(/^\/+/, '')}`;

/** A {{ param }} placeholder of a project link template (project.yaml `dashboards.links`). */
export const LINK_PARAM_RE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Checks a project link template: an http(s) URL whose placeholders are {{ name }}. Returns an error message, or undefined. */
export function checkLinkTemplate(u: string): string | undefined {
  const s = u.trim();
  if (!/^https?:\/\/[^/\s{}]+/i.test(s)) return `'${u}' is not an http(s) URL with a host (placeholders go in the path or query: {{ title }})`;
  const rest = s.replace(LINK_PARAM_RE, '');
  if (/\{\{|\}\}/.test(rest)) return `'${u}' has a placeholder that is not {{ name }} (letters, digits, _)`;
  if (/\s/.test(rest)) return `'${u}' has spaces: URL-encode them (%20); the values filled in are encoded for you`;
  return undefined;
}
