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
  const pw = pwKey ? o.secret(pwKey, `VIGIL_${o.envName}_PASSWORD`, `the password of the Postgres target '${o.name}'`) : undefined;
  const part = (x: { value: unknown; templated: boolean } | undefined) => (x === undefined ? '' : x.templated ? String(x.value) : encodeURIComponent(String(x.value)));
  if (!host || !db) {
    o.notConverted(undefined, `outputs.${o.name}: a Postgres output without host or dbname: not converted`);
    return undefined;
  }
  t.url = `postgres://${part(user)}${pw ? `:${pw}` : ''}${user || pw ? '@' : ''}${part(host)}${port ? `:${part(port)}` : ''}/${part(db)}`;
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
