/**
 * Secrets: which environment variables hold one, and the one redaction path every writer
 * (console, files under target/ and .vigil/, state tables, receiver errors) goes through.
 *
 * The rule (docs/models.md "Secrets"): a variable is secret when its name
 * - starts with VIGIL_SECRET_ (like dbt's DBT_ENV_SECRET_), or
 * - contains PASSWORD, PASSWD, PASSPHRASE, SECRET, TOKEN, CREDENTIAL, WEBHOOK or APIKEY, or
 * - has KEY, PASS, PWD, CREDS or PSW as one of its _-separated words (PAGERDUTY_ROUTING_KEY,
 *   API_KEY_PROD, DB_PASS, PG_PWD, Jenkins' SERVICE_CREDS_PSW; the shell's own PWD, the working
 *   directory, is no secret), or
 * - is DATABASE_URL or METABASE_SESSION,
 * but for a name whose last word is USR, USER or USERNAME (a user name: Jenkins' SERVICE_CREDS_USR)
 * other than VIGIL_SECRET_...,
 * or when its value is a URL carrying a password (scheme://user:password@host, or ?password=),
 * a Slack webhook URL or a Slack token (CREDENTIAL_VALUE).
 *
 * In templates, env_var() of a secret renders a placeholder (⟦secret:NAME⟧) into every
 * artifact; `reveal()` substitutes the value only into the statement sent to the warehouse.
 */
import { cutText } from './format.js';

export const SECRET_PREFIX = 'VIGIL_SECRET_';

const SECRET_NAME = /^VIGIL_SECRET_|PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|WEBHOOK|APIKEY|(?:^|_)(?:KEY|PASS|CREDS|PSW)(?:_|$)|_PWD(?:_|$)|^PWD_|^(?:DATABASE_URL|METABASE_SESSION)$/i;
/**
 * A name that says it holds a user name: no secret, whatever else it says (Jenkins' credentials()
 * binds SERVICE_CREDS_USR to the user name beside SERVICE_CREDS_PSW, the password: redacted, a
 * user name such as `analytics` went missing from every line that named the schema).
 */
const USER_NAME = /_(?:USR|USER|USERNAME)$/i;
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^@\s]+@/i;
/**
 * Values that are credentials whatever their variable is named (the alert receivers take any
 * variable name: `webhook_url_env: SLACK_HOOK`): a Slack incoming webhook or workflow URL, whose
 * path is the credential, and a Slack token (xoxb-, xoxp-, xapp- ...), the shapes secret scanners
 * look for.
 */
const CREDENTIAL_VALUE = /^\s*(?:https:\/\/hooks\.slack(?:-gov)?\.com\/(?:services|workflows|triggers)\/\S+|xox[abpeorsc]-[A-Za-z0-9-]{8,}|xapp-\d-[A-Za-z0-9-]{8,})\s*$/;

/** Shorter values are not searched for in text: they would match ordinary words and numbers. */
export const MIN_REDACTED_LENGTH = 6;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && (!USER_NAME.test(name) || name.toUpperCase().startsWith(SECRET_PREFIX));
}

/** A query parameter's name as the driver reads it: percent-decoded (pg's URL parser decodes `pass%77ord` to password). */
function paramName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/**
 * Whether a URL's query string holds a password (postgres://user@host/db?password=...: the driver,
 * as libpq, reads it there), its name as written or percent-encoded.
 */
function queryHoldsPassword(value: string): boolean {
  const query = /^[a-z][a-z0-9+.-]*:\/\/[^\s?#]*\?([^#\s]*)/i.exec(value)?.[1];
  return !!query && query.split('&').some((pair) => pair.indexOf('=') > 0 && pair.indexOf('=') < pair.length - 1 && /^[a-z_]*password$/i.test(paramName(pair.slice(0, pair.indexOf('=')))));
}

/** Whether the variable `name` holding `value` is a secret under the rule above. */
export function isSecret(name: string, value: string | undefined): boolean {
  return isSecretName(name) || (value !== undefined && (URL_WITH_PASSWORD.test(value) || queryHoldsPassword(value) || CREDENTIAL_VALUE.test(value)));
}

const PH = /\u27E6secret:([A-Za-z_][A-Za-z0-9_]*)\u27E7/g;

/** What env_var() of a secret renders in compiled SQL, manifest and caches. */
export function secretPlaceholder(name: string): string {
  return `\u27E6secret:${name}\u27E7`;
}

export function hasSecretPlaceholder(text: string): boolean {
  PH.lastIndex = 0;
  return PH.test(text);
}

/** The names of the secrets a text refers to by placeholder, in order of first use. */
export function secretNames(text: string): string[] {
  // (matchAll starts where the shared pattern's last test() stopped)
  PH.lastIndex = 0;
  return [...new Set([...text.matchAll(PH)].map((m) => m[1]))];
}

export class SecretMissingError extends Error {
  constructor(readonly variable: string) {
    super(`environment variable ${variable} is not set (the compiled SQL uses it as a secret: export it before running)`);
    this.name = 'SecretMissingError';
  }
}

/**
 * Put the secrets back into a statement just before it is sent to the warehouse. Values come
 * from `values` (a unit test's env_vars), else the secrets env_var() read at compile time in
 * this process, else the environment.
 */
export function reveal(sql: string, values?: Record<string, string | undefined>): string {
  if (!sql.includes('\u27E6secret:')) return sql;
  return sql.replace(PH, (_m, name: string) => {
    const v = values?.[name] ?? compiled.get(name) ?? process.env[name];
    if (v === undefined) throw new SecretMissingError(name);
    return v;
  });
}

/**
 * The inverse of reveal() for text that came back from the warehouse with a statement (an error's
 * SQL). Also the part of a secret beside a cut: a warehouse shows the statement around an error
 * cut to a window (DuckDB's `LINE 2: select ..., 'S3cr3tAbCd...`), which may end or start inside
 * the value. (Only here, where the statement is known to hold the secret: beside every `...` of
 * any output, the start of a URL secret, `postgres`, `https`, would be redacted from ordinary words.)
 */
export function conceal(text: string, sql: string): string {
  let out = text;
  const value = (name: string) => compiled.get(name) ?? process.env[name];
  // (the statement as sent: where a cut's neighbour shows it, it tells whether the secret is there)
  let sent: string | undefined;
  for (const name of secretNames(sql)) {
    const v = value(name);
    if (!v) continue;
    out = replaceAll(out, v, secretPlaceholder(name));
    if (out.includes('...') || out.includes('\u2026')) out = besideCuts(out, v, secretPlaceholder(name), (sent ??= sql.replace(PH, (m, n: string) => value(n) ?? m)));
  }
  return out;
}

/** The environment's secrets long enough to be redacted, as [name, value] (what redact() looks for there). */
export function environmentSecrets(env: NodeJS.ProcessEnv): Array<[string, string]> {
  return Object.entries(env).filter((e): e is [string, string] => !!e[1] && e[1].length >= MIN_REDACTED_LENGTH && isSecret(e[0], e[1]));
}

/** Values env_var() handed out as placeholders while compiling (the compile's env may not be process.env). */
const compiled = new Map<string, string>();
/** Secrets read from variables whose names do not look secret (a receiver's routing key variable). */
const extra = new Map<string, string>();

/** Remember a secret compiled into a placeholder, so `reveal()` and `redact()` know its value. */
export function registerCompiledSecret(name: string, value: string): void {
  if (compiled.get(name) === value) return;
  compiled.set(name, value);
  registered++;
}
/** counts changes to the registered secrets (known() answers again after one) */
let registered = 0;

/** Register a secret read from a variable whose name does not look secret (a receiver's routing key env var). */
export function addSecret(name: string, value: string | undefined): void {
  if (value && value.length >= MIN_REDACTED_LENGTH && extra.get(name) !== value) {
    extra.set(name, value);
    registered++;
  }
}

let scannedEnv: NodeJS.ProcessEnv | undefined;
let envSecrets: Array<[string, string]> = [];

/** Forget what was learned of the environment (tests that change process.env). */
export function resetSecrets(): void {
  scannedEnv = undefined;
  compiled.clear();
  extra.clear();
  knownList = undefined;
}

/** known()'s last answer, while neither the environment nor the registered secrets changed */
let knownList: Array<[string, string]> | undefined;
/** `registered` when knownList was built */
let knownAt = -1;
/** Counts the lists known() built: text redacted under one count needs no second pass. */
let knownVersion = 0;

function known(env: NodeJS.ProcessEnv): Array<[string, string]> {
  if (scannedEnv !== env) {
    scannedEnv = env;
    envSecrets = environmentSecrets(env);
    knownList = undefined;
  }
  if (knownList && knownAt === registered) return knownList;
  const all = [...envSecrets];
  for (const m of [compiled, extra]) for (const [k, v] of m) if (v.length >= MIN_REDACTED_LENGTH) all.push([k, v]);
  // the parts of a secret URL that carry its secret show without the rest: a receiver's error
  // echoes the request's path and query (docs/alerts.md "Secrets")
  for (const [k, v] of [...all]) for (const [part, x] of urlSecretParts(v)) if (x.length >= MIN_REDACTED_LENGTH) all.push([`${k}:${part}`, x]);
  // the password inside a connection URL is a secret of its own: a part of the URL (substr(),
  // split_part() in a model, a driver's message) can show it without the rest
  for (const [k, v] of [...all]) {
    const pw = /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:([^@\s]+)@/i.exec(v)?.[1];
    if (!pw) continue;
    let decoded = pw;
    try {
      decoded = decodeURIComponent(pw);
    } catch {
      // (not percent-encoded as it should be: the raw form only)
    }
    for (const x of new Set([pw, decoded])) if (x.length >= MIN_REDACTED_LENGTH) all.push([`${k}:password`, x]);
  }
  // a secret holding line breaks (a key file read with its trailing newline, a value pasted over
  // two lines, a PEM key): a message may show it trimmed, with its breaks as spaces (fetch's
  // invalid-header error), or one line of it — each a form of it too. (Split at line breaks only,
  // and lines of 16 characters or more: a passphrase's words, a JSON key's short lines are not
  // secrets on their own, and would be redacted from every output.)
  for (const [k, v] of [...all]) {
    if (!/[\r\n\x00-\x08\x0b-\x1f\x7f]/.test(v) && v.trim() === v) continue;
    const forms = new Set([v.trim(), v.replace(/\s*[\r\n]+\s*/g, ' ').trim(), ...v.split(/[\r\n]+/).map((x) => x.trim()).filter((x) => x.length >= 16)]);
    forms.delete(v);
    for (const x of forms) if (x.length >= MIN_REDACTED_LENGTH) all.push([k, x]);
  }
  knownAt = registered;
  knownVersion++;
  forms = undefined;
  return (knownList = all);
}

/**
 * What redact() looks for, per secret of known()'s list (built once per list): its value,
 * upper- and lower-cased, each as written and JSON-escaped; `inJson`: each of them as it shows inside a JSON string.
 */
let forms: { list: Array<{ by: string; values: string[] }>; shortest: number; inJson: string[] } | undefined;

const jsonEscaped = (v: string) => JSON.stringify(v).slice(1, -1);
const URL_CREDENTIALS = /(\w+:\/\/[^:@/\s]+:)[^@\s]+@/g;
// (the value ends where the URL does in a text: a quote, a bracket, a backslash escaping a quote in JSON)
const URL_QUERY_CREDENTIALS = /(\w+:\/\/[^\s?#"'<>]*\?(?:[^#\s"'<>]*?&)?\w*password=)[^&#\s"'<>\\]+/gi;

function redactedForms(env: NodeJS.ProcessEnv): NonNullable<typeof forms> {
  const list = known(env);
  if (forms) return forms;
  // upper- and lower-cased, as SQL's upper()/lower() leave it in an error the warehouse sends back,
  // each of them also JSON-escaped (a description holding the upper-cased value, in manifest.json)
  const out = list.map(([k, v]) => ({ by: `<redacted:${k}>`, values: [...new Set([v, v.toUpperCase(), v.toLowerCase()].flatMap((c) => [c, jsonEscaped(c)]))] }));
  const values = out.flatMap((f) => f.values);
  return (forms = { list: out, shortest: Math.min(...values.map((x) => x.length)), inJson: [...new Set(values.map(jsonEscaped))] });
}

/**
 * The parts of a URL held in a secret that hold its secret too, longest first: its path with
 * the query, each query value (as written and decoded), and for an http(s) URL its path and the
 * path's last segment (a webhook's token: Slack's /services/T../B../<token>). A database URL's
 * path is its database's name, not a secret, and its query values are settings but for one
 * whose name says secret (password=).
 */
export function urlSecretParts(value: string): Array<[part: string, value: string]> {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return [];
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return [];
  }
  const out: Array<[string, string]> = [];
  const web = u.protocol === 'http:' || u.protocol === 'https:';
  // as written: URL normalizes what it parses (percent-encoding, an empty query)
  const written = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^#]*)/i.exec(value)?.[1] ?? '';
  const query = written.includes('?') ? written.slice(written.indexOf('?') + 1) : '';
  const values: Array<[string, string]> = [];
  for (const pair of query.split('&')) {
    const raw = pair.slice(pair.indexOf('=') + 1);
    if (!pair.includes('=') || !raw) continue;
    const name = pair.slice(0, pair.indexOf('='));
    // a database URL's options are settings, not secrets (sslmode=require, application_name=etl):
    // redacted, their words went missing from every output and file (manifest.json's SQL, `vigil
    // show`'s cells); its password= is one
    // (the name as the driver reads it: pass%77ord= is its password)
    if (!web && !isSecretName(paramName(name))) continue;
    let decoded = raw;
    try {
      decoded = decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      // (not percent-encoded as it should be: the raw form only)
    }
    for (const x of new Set([raw, decoded])) values.push([`query:${name}`, x]);
  }
  if (query && (web || values.length)) out.push(['path', written], ['path', `${u.pathname}${u.search}`]);
  out.push(...values);
  if (web && u.pathname !== '/') {
    out.push(['path', u.pathname]);
    const last = u.pathname.split('/').filter(Boolean).at(-1);
    if (last && last.length >= 8) out.push(['token', last]);
  }
  return out;
}

/**
 * Register the query values of a URL from the environment that is not a secret as a whole (an
 * API or server URL: its host may show): a token in its query string is one.
 */
export function addUrlSecrets(name: string, url: string | undefined): void {
  if (!url) return;
  const used = new Map<string, number>();
  for (const [part, x] of urlSecretParts(url)) {
    if (!part.startsWith('query:')) continue;
    // (a value as written and decoded: two secrets under one label)
    const n = (used.get(part) ?? 0) + 1;
    used.set(part, n);
    addSecret(`${name}:${part}${n > 1 ? `#${n}` : ''}`, x);
  }
}

/**
 * A URL read from a file, to show (import-alertmanager lists the ones it cannot convert):
 * redact()ed, and each query value as `***`, the parts urlSecretParts() finds: a key in
 * `?apikey=...` is a secret no variable names.
 */
export function redactUrl(url: string, env: NodeJS.ProcessEnv = process.env): string {
  const values = new Set(urlSecretParts(url).flatMap(([part, x]) => (part.startsWith('query:') ? [x] : [])));
  if (!values.size) return redact(url, env);
  const q = url.indexOf('?');
  const hash = url.indexOf('#', q);
  const end = hash < 0 ? url.length : hash;
  const query = url
    .slice(q + 1, end)
    .split('&')
    .map((pair) => (pair.includes('=') && values.has(pair.slice(pair.indexOf('=') + 1)) ? `${pair.slice(0, pair.indexOf('=') + 1)}***` : pair))
    .join('&');
  return redact(`${url.slice(0, q + 1)}${query}${url.slice(end)}`, env);
}

function replaceAll(text: string, value: string, by: string): string {
  return text.includes(value) ? text.split(value).join(by) : text;
}

/**
 * Remove every secret value from text: as written, and as it appears inside a JSON string
 * (escaped quotes and backslashes), then the password of any URL. Everything Vigil prints,
 * writes under the project or stores in a state table passes through here.
 */
export function redact(text: string, env: NodeJS.ProcessEnv = process.env): string {
  const { list, shortest } = redactedForms(env);
  let out = text;
  // (a text shorter than every form holds none: most strings of a docs model)
  if (out.length >= shortest) for (const { by, values } of list) for (const x of values) out = replaceAll(out, x, by);
  // credentials inside connection URLs, whoever they belong to
  if (out.includes('://')) out = out.replace(URL_CREDENTIALS, '$1***@').replace(URL_QUERY_CREDENTIALS, '$1***');
  return out;
}

/** Fewer characters of a secret beside a cut mark are not searched for: ordinary text ends so. */
const MIN_CUT_PART = 3;

/**
 * Each cut mark's neighbours that are a cut `value`, replaced by `by`: the text before the mark
 * ending with the start of it (a window that ends inside it), the text after it beginning with
 * its end (a window that starts inside it). But not where the window shows the statement `sent`
 * holding that text without the secret: `...ri` + `sk_` of a column risk_score, beside a key
 * sk_live_..., is the column (it was shown as ri⟦secret:NAME⟧...). A neighbour the statement does
 * not show so (a message's own words, a window DuckDB changed) is replaced.
 */
function besideCuts(text: string, value: string, by: string, sent: string): string {
  // text, mark, text, mark, ..., text
  const parts = text.split(/(\.\.\.|\u2026)/);
  // (up to 24 characters of the line beside the piece, enough to find where the window is; not
  // past a placeholder conceal() put there, which the statement sent does not hold)
  const lineBefore = (t: string) => t.slice(Math.max(t.lastIndexOf('\n'), t.lastIndexOf('\u27E7')) + 1).slice(-24);
  const lineAfter = (t: string) => t.split(/[\n\u27E6]/, 1)[0].slice(0, 24);
  for (let m = 1; m < parts.length; m += 2) {
    const head = cutStart(parts[m - 1], value);
    if (head) {
      const before = lineBefore(parts[m - 1].slice(0, -head));
      const piece = parts[m - 1].slice(-head);
      if (!(sent.includes(before + piece) && !sent.includes(before + value))) parts[m - 1] = parts[m - 1].slice(0, -head) + by;
    }
    const tail = cutEnd(parts[m + 1], value);
    if (tail) {
      const after = lineAfter(parts[m + 1].slice(tail));
      const piece = parts[m + 1].slice(0, tail);
      if (!(sent.includes(piece + after) && !sent.includes(value + after))) parts[m + 1] = by + parts[m + 1].slice(tail);
    }
  }
  return parts.join('');
}

/** How many of the last characters of `text` are the start of `value` (not all of it), the most; 0 when fewer than MIN_CUT_PART. */
function cutStart(text: string, value: string): number {
  for (let j = Math.max(0, text.length - value.length + 1); j <= text.length - MIN_CUT_PART; j++) {
    if (text.charCodeAt(j) === value.charCodeAt(0) && value.startsWith(text.slice(j))) return text.length - j;
  }
  return 0;
}

/** How many of the first characters of `text` are the end of `value` (not all of it), the most; 0 when fewer than MIN_CUT_PART. */
function cutEnd(text: string, value: string): number {
  const last = value.charCodeAt(value.length - 1);
  for (let n = Math.min(text.length, value.length - 1); n >= MIN_CUT_PART; n--) {
    if (text.charCodeAt(n - 1) === last && value.endsWith(text.slice(0, n))) return n;
  }
  return 0;
}

/**
 * Text from outside (a receiver's answer, a message quoting one) shortened for a message to
 * `max` characters, the last an ellipsis — redacted FIRST: a cut through a secret leaves a part
 * of it (a routing key's first 20 characters) that redaction no longer recognizes. `clean`: the
 * caller's redaction when it knows secrets redact() may not (a delivery's own key), else redact().
 */
export function redactedCut(text: string, max: number, clean: (s: string) => string = (s) => redact(s)): string {
  return cutText(clean(text), max);
}

/**
 * redact() of every string (and key) in a value: for data that is escaped before it is written
 * (HTML, a script), where a value with `&`, `<` or a quote no longer shows as written. Each
 * distinct string is redacted once (a docs model repeats types, tests, column names).
 */
export function redactStrings<T>(value: T, env: NodeJS.ProcessEnv = process.env): T {
  // most often none is there: one search of the value serialized (a string holding a form holds
  // it JSON-escaped there, a URL's credentials still match) says so
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    // (not serializable: each string below)
  }
  if (json !== undefined && !redactedForms(env).inJson.some((x) => json.includes(x)) && !(json.includes('://') && (new RegExp(URL_CREDENTIALS.source).test(json) || new RegExp(URL_QUERY_CREDENTIALS.source, 'i').test(json)))) return value;
  const done = new Map<string, string>();
  const redactOnce = (s: string): string => {
    let r = done.get(s);
    if (r === undefined) done.set(s, (r = redact(s, env)));
    return r;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactOnce(v);
    if (Array.isArray(v)) return v.map(walk);
    // (a Date, a float box: what JSON would write of it, not an empty object)
    if (v && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') return walk((v as { toJSON: () => unknown }).toJSON());
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [redactOnce(k), walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/**
 * Rows a query returned, each text cell redact()ed (other values as they are: a Date stays a
 * Date): for cells that are escaped before they are written (a dashboard's HTML escapes `&`, `<`
 * and quotes, its links percent-encode a value), where the file's own redaction no longer finds
 * the value. The same rows when none holds a secret.
 */
export function redactCells<R extends Record<string, unknown>>(rows: R[], env: NodeJS.ProcessEnv = process.env): R[] {
  let out: R[] | undefined;
  rows.forEach((r, i) => {
    let row: R | undefined;
    for (const [k, v] of Object.entries(r)) {
      if (typeof v !== 'string') continue;
      const x = redact(v, env);
      if (x !== v) (row ??= { ...r })[k as keyof R] = x as R[keyof R];
    }
    if (row) (out ??= [...rows])[i] = row;
  });
  return out ?? rows;
}

/**
 * Which list of secrets redact() uses now, as a number that changes whenever the list may have
 * (the environment was scanned again, a secret was registered): text redacted under the same
 * version needs no second pass (the manifest's nodes, redacted once each in a long-lived process).
 */
export function redactionVersion(env: NodeJS.ProcessEnv = process.env): number {
  known(env);
  return knownVersion;
}

/**
 * Whether binary data (a cache) holds a secret value: such data is not written. Looked for as
 * UTF-8, and as v8's serializer writes strings: one byte per character (Latin-1) for a string
 * without characters above U+00FF, else UTF-16 — a secret inside a text with a `σ` is stored
 * as UTF-16.
 */
export function holdsSecret(data: Buffer, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const [k, v] of known(env)) {
    if (data.includes(v) || data.includes(v, 0, 'utf16le') || (/[\u0080-\u00ff]/.test(v) && !/[^\u0000-\u00ff]/.test(v) && data.includes(v, 0, 'latin1'))) return k;
  }
  return undefined;
}
