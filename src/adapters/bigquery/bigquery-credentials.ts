/**
 * Which credentials a BigQuery target will use, found BEFORE the client is made: the target's
 * `credentials` (a key file path or the key JSON itself), `VIGIL_BIGQUERY_ACCESS_TOKEN`, then
 * Google's application default credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's
 * application_default_credentials.json, the metadata server of a Google Cloud machine). When
 * none is usable the run stops at once with what was looked for and how to fix it, instead of
 * the client's MetadataLookupWarning noise and minutes of retries against a metadata server
 * that does not exist here.
 */
import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { homedir, platform } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';

export type CredentialSource =
  | { kind: 'key-json'; credentials: Record<string, unknown>; describe: string }
  | { kind: 'key-file'; path: string; describe: string }
  | { kind: 'access-token'; token: string; describe: string }
  | { kind: 'adc-file'; path: string; describe: string }
  | { kind: 'metadata'; describe: string };

/** The credential files google-auth-library reads (its fromJSON). */
const KEY_TYPES = ['service_account', 'authorized_user', 'external_account', 'external_account_authorized_user', 'impersonated_service_account', 'gdch_service_account'];

/** A parsed key: its type and who it is, for messages (never the key itself). */
function describeKey(json: Record<string, unknown>, where: string): string {
  const who = typeof json.client_email === 'string' ? json.client_email : typeof json.client_id === 'string' ? `client ${json.client_id}` : 'unknown account';
  return `${String(json.type ?? 'key')} ${who} (${where})`;
}

function parseKey(text: string, where: string): { json: Record<string, unknown> } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // the parser's message may quote the key's text: only its position is said
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    return { problem: `${where} is not valid JSON${at ? ` (at character ${at})` : ''}` };
  }
  if (!json || typeof json !== 'object') return { problem: `${where} is not a key (a JSON object)` };
  const o = json as Record<string, unknown>;
  if (o.type === 'service_account' && (typeof o.private_key !== 'string' || typeof o.client_email !== 'string')) return { problem: `${where} is a service-account key without private_key or client_email` };
  if (o.type === 'authorized_user' && (typeof o.refresh_token !== 'string' || typeof o.client_id !== 'string')) return { problem: `${where} is an authorized_user key without refresh_token or client_id` };
  if (!KEY_TYPES.includes(String(o.type))) return { problem: `${where} has type '${String(o.type)}', not a Google credential (${KEY_TYPES.join(', ')})` };
  // google-auth-library signs with it as it is, at the first job (ERR_OSSL_UNSUPPORTED): it is read now
  if (typeof o.private_key === 'string') {
    try {
      createPrivateKey(o.private_key);
    } catch {
      const escaped = !o.private_key.includes('\n') && o.private_key.includes('\\n');
      return {
        problem: `${where} has a private_key that is not a PEM private key${
          escaped
            ? ': its line breaks are the two characters \\n, not line breaks (the key JSON was escaped twice, e.g. by a secret store or a shell); use the key file\'s content exactly as Google gave it'
            : ' (one starts with -----BEGIN PRIVATE KEY----- and keeps the line breaks of the key file)'
        }`,
      };
    }
  }
  return { json: o };
}

/** gcloud's application default credentials file. */
function gcloudAdcPath(env: NodeJS.ProcessEnv): string {
  if (platform() === 'win32') return join(env.APPDATA ?? '', 'gcloud', 'application_default_credentials.json');
  return join(env.CLOUDSDK_CONFIG ?? join(homedir(), '.config', 'gcloud'), 'application_default_credentials.json');
}

/** Whether a Google Cloud metadata server answers (within `timeoutMs`): only on Google Cloud machines. */
export function metadataServerAnswers(env: NodeJS.ProcessEnv, timeoutMs = 400): Promise<boolean> {
  const host = env.GCE_METADATA_HOST ?? env.GCE_METADATA_IP ?? '169.254.169.254';
  return new Promise((resolve) => {
    const req = request({ host: host.split(':')[0], port: Number(host.split(':')[1] ?? 80), path: '/computeMetadata/v1/instance', headers: { 'Metadata-Flavor': 'Google' }, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.headers['metadata-flavor'] === 'Google');
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * The credentials to use, or a UsageError (exit 2) that lists, in order, every place looked at
 * and why each did not work, and how to fix it. `configKey`: where the target's credentials come
 * from, for the message (e.g. "targets.prod.credentials").
 */
export async function resolveCredentials(credentials: string | undefined, env: NodeJS.ProcessEnv, configKey: string, root = process.cwd()): Promise<CredentialSource> {
  const looked: string[] = [];
  let given = credentials?.trim();
  // key JSON encoded in base64 (how CI secret stores often hold a key file): decoded
  let encoded = false;
  // (a key file whose path happens to look like base64 is a file: looked for first)
  if (given && !given.startsWith('{') && !existsSync(resolve(root, given)) && /^[A-Za-z0-9+/_-]{64,}={0,2}$/.test(given.replace(/\s+/g, ''))) {
    const text = Buffer.from(given.replace(/\s+/g, ''), 'base64').toString('utf8').trim();
    if (text.startsWith('{')) {
      given = text;
      encoded = true;
    }
  }
  // a relative key file path is relative to the project, like every path in project.yaml
  const cred = given && !given.startsWith('{') ? resolve(root, given) : given;
  if (cred) {
    if (cred.startsWith('{')) {
      const k = parseKey(cred, `the ${encoded ? 'base64-encoded ' : ''}key JSON in ${configKey}`);
      if ('json' in k) return { kind: 'key-json', credentials: k.json, describe: describeKey(k.json, `${encoded ? 'base64-encoded ' : ''}key JSON from ${configKey}`) };
      throw new UsageError(`BigQuery credentials: ${k.problem}. Put a service-account key (the JSON file's content) or a key file path in the variable ${configKey} reads, or leave it empty to use application default credentials`);
    }
    // (a value that is no path — a key in some other encoding — is never repeated: it may be the secret)
    const pathLike = given!.length <= 512 && !/\s/.test(given!) && (/[/\\]/.test(given!) || /\.json$/i.test(given!));
    if (!existsSync(cred) && !pathLike) throw new UsageError(`BigQuery credentials: the value of ${configKey} (${given!.length} characters, not shown) is no key JSON, no base64-encoded key JSON and no key file path. Put a service-account key (the JSON file's content, or it in base64) or a key file path in the variable ${configKey} reads, or leave it empty to use application default credentials`);
    if (!existsSync(cred)) throw new UsageError(`BigQuery credentials: the key file ${cred} (from ${configKey}) does not exist. Point ${configKey} at a service-account key file, or leave it empty to use application default credentials (gcloud auth application-default login)`);
    const k = parseKey(readFileSync(cred, 'utf8'), `the key file ${cred} (from ${configKey})`);
    if ('problem' in k) throw new UsageError(`BigQuery credentials: ${k.problem}`);
    return { kind: 'key-file', path: cred, describe: describeKey(k.json, `key file ${cred}`) };
  }
  looked.push(`${configKey}: empty`);
  const token = env.VIGIL_BIGQUERY_ACCESS_TOKEN;
  if (token) return { kind: 'access-token', token, describe: 'an access token from VIGIL_BIGQUERY_ACCESS_TOKEN' };
  looked.push('VIGIL_BIGQUERY_ACCESS_TOKEN: not set');
  const gac = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (gac) {
    if (!existsSync(gac)) throw new UsageError(`BigQuery credentials: GOOGLE_APPLICATION_CREDENTIALS names ${gac}, which does not exist`);
    const k = parseKey(readFileSync(gac, 'utf8'), `the key file ${gac} (GOOGLE_APPLICATION_CREDENTIALS)`);
    if ('problem' in k) throw new UsageError(`BigQuery credentials: ${k.problem}`);
    return { kind: 'adc-file', path: gac, describe: describeKey(k.json, `GOOGLE_APPLICATION_CREDENTIALS=${gac}`) };
  }
  looked.push('GOOGLE_APPLICATION_CREDENTIALS: not set');
  const adc = gcloudAdcPath(env);
  if (existsSync(adc)) {
    const k = parseKey(readFileSync(adc, 'utf8'), `gcloud's application default credentials ${adc}`);
    if ('problem' in k) throw new UsageError(`BigQuery credentials: ${k.problem}; run gcloud auth application-default login again`);
    return { kind: 'adc-file', path: adc, describe: describeKey(k.json, adc) };
  }
  looked.push(`gcloud application default credentials: no ${adc}`);
  if (await metadataServerAnswers(env)) return { kind: 'metadata', describe: 'the Google Cloud metadata server (the machine\'s service account)' };
  looked.push('Google Cloud metadata server: none (not on a Google Cloud machine)');
  throw new UsageError(
    `no BigQuery credentials found. Looked at, in order:\n  - ${looked.join('\n  - ')}\nFix one of: set ${configKey} to a service-account key file path or the key JSON (usually through the environment variable it names, e.g. AI_AUDIT_BQ_CREDENTIALS); export GOOGLE_APPLICATION_CREDENTIALS=/path/to/key.json; run gcloud auth application-default login; or export VIGIL_BIGQUERY_ACCESS_TOKEN=$(gcloud auth print-access-token)`,
  );
}
