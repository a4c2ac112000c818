/** A dbt-postgres profiles.yml output as a Postgres target (`vigil init --from-dbt`): host, port, user, dbname and password into one url. */
import type { DbtOutputReader } from '../warehouse.js';

export function postgresFromDbt(o: DbtOutputReader): Record<string, unknown> | undefined {
  const t: Record<string, unknown> = {};
  const host = o.val('host');
  const port = o.val('port');
  const user = o.val('user');
  const db = o.val('dbname') ?? o.val('database');
  o.use('dbname', 'database', 'pass', 'password');
  const pwKey = o.raw.password !== undefined ? 'password' : o.raw.pass !== undefined ? 'pass' : undefined;
  // a literal password goes into the url from its variable as it is: one with characters a URL
  // must percent-encode (# / @ : ...) is to be set encoded, which is said (its value never is)
  const literal = pwKey && (typeof o.raw[pwKey] === 'string' || typeof o.raw[pwKey] === 'number') && !/\{\{/.test(String(o.raw[pwKey])) ? String(o.raw[pwKey]) : undefined;
  const encode = literal !== undefined && encodeURIComponent(literal) !== literal;
  const varName = `VIGIL_${o.envName}_PASSWORD`;
  const pw = pwKey ? o.secret(pwKey, varName, `the password of the Postgres target '${o.name}'${encode ? ', percent-encoded (it goes into the url: # as %23, / as %2F, @ as %40, : as %3A, % as %25)' : ''}`) : undefined;
  if (encode) o.note(pwKey, `outputs.${o.name}.${pwKey} holds characters a URL must percent-encode: set ${varName} to it percent-encoded (# as %23, / as %2F, @ as %40, : as %3A, % as %25), or the target's url does not load`);
  const part = (x: { value: unknown; templated: boolean } | undefined) => (x === undefined ? '' : x.templated ? String(x.value) : encodeURIComponent(String(x.value)));
  if (!host || !db) {
    o.notConverted(undefined, `outputs.${o.name}: a Postgres output without host or dbname: not converted`);
    return undefined;
  }
  t.url = `postgres://${part(user)}${pw ? `:${pw}` : ''}${user || pw ? '@' : ''}${part(host)}${port ? `:${part(port)}` : ''}/${part(db)}`;
  // dbt-postgres sets no TimeZone: its sessions have the database's or role's (ALTER DATABASE ... SET timezone)
  o.note(undefined, `outputs.${o.name}: model SQL runs with TimeZone UTC on Vigil, where dbt-postgres takes the database's or role's TimeZone setting (now(), current_date, date_trunc and ::date of a timestamptz read it): to keep that zone, add it to the url: ?options=-c%20TimeZone%3DEurope%2FBerlin`);
  if (pw && pwKey && /\{\{/.test(String(o.raw[pwKey]))) o.note(pwKey, `outputs.${o.name}.${pwKey}: the variable's value goes into the target's url as is: percent-encode characters like @ / : # in it`);
  const schema = o.val('schema');
  if (schema) t.schema = schema.value;
  const app = o.val('application_name');
  if (app) t.application_name = app.value;
  const ssl = o.val('sslmode');
  if (ssl && !ssl.templated) {
    const m = String(ssl.value);
    if (m === 'disable') t.ssl = false;
    else if (m === 'require') t.ssl = { reject_unauthorized: false };
    else if (m === 'verify-ca' || m === 'verify-full') t.ssl = true;
    else o.notConverted('sslmode', `outputs.${o.name}.sslmode: ${m}: not converted (Vigil's ssl: false, true, or { reject_unauthorized: false })`);
  } else if (ssl) o.notConverted('sslmode', `outputs.${o.name}.sslmode from the environment: not converted`);
  return t;
}
