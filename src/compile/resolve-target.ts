/**
 * The selected target of project.yaml, resolved: env_var() filled in from the environment, the
 * warehouse's config schema applied. Its own module: a command answered from the project
 * snapshot whose target was not kept with it (its config may hold a secret: command-kit.ts
 * keptTarget) resolves the target again without loading the compiler.
 */
import { diag, didYouMean, type Diagnostic } from '../errors.js';
import { getWarehouse, warehouseSchemas, warehouseTypes } from '../adapters/index.js';
import { explainIssues, showPath } from '../project/issues.js';
import type { ProjectFiles } from '../project/load-project.js';
import type { CompileOptions, ResolvedTarget } from './compile-project.js';
import { addSecret, isSecret, isSecretName } from '../secrets.js';

/**
 * `{{ env_var('NAME') }}` in a project.yaml string (a target's config, a var), with an optional
 * default (a string or a number) and Jinja's `{{-`/`-}}`: each filled in by `value(name, set)`
 * (`set`: the variable's value, else the default). The one place project.yaml's templates are
 * read; what else stands between braces is the caller's to judge.
 */
export function fillEnvVars(text: string, env: NodeJS.ProcessEnv, value: (name: string, set: string | undefined, fromEnv: boolean) => string): string {
  return text.replace(/\{\{-?\s*env_var\(\s*['"]([^'"]+)['"]\s*(?:,\s*(?:['"]([^'"]*)['"]|(-?\d+(?:\.\d+)?))\s*)?\)\s*-?\}\}/g, (_m, name: string, dflt?: string, num?: string) =>
    value(name, env[name] ?? dflt ?? num, env[name] !== undefined),
  );
}

/** The warehouses' config schemas (zod), imported with this module. */
const SCHEMAS = await warehouseSchemas();

/** Render the selected target's config: strings may use env_var(), at any depth (a label's value too). */
export function resolveTarget(files: ProjectFiles, opts: CompileOptions, ds: Diagnostic[]): ResolvedTarget | undefined {
  const targets = files.project.targets;
  const name = opts.target ?? files.project.default_target ?? Object.keys(targets)[0];
  const raw = targets[name];
  if (!raw) {
    const hint = didYouMean(name, Object.keys(targets));
    ds.push(diag('E_TARGET', `target '${name}' is not defined in project.yaml`, { file: 'project.yaml', ...files.projectYaml.locate(['targets']) }, hint ? `did you mean '${hint}'? (targets: ${Object.keys(targets).join(', ')})` : `targets: ${Object.keys(targets).join(', ')}`));
    return undefined;
  }
  const warehouse = getWarehouse(raw.type);
  if (!warehouse) {
    const hint = didYouMean(raw.type, warehouseTypes());
    ds.push(diag('E_TARGET', `target '${name}': unknown type '${raw.type}'${hint ? ` — did you mean '${hint}'?` : ''}`, { file: 'project.yaml', ...files.projectYaml.locate(['targets', name, 'type']) }, `supported types: ${warehouseTypes().join(', ')}`));
    return undefined;
  }
  // every string of the config, at any depth (BigQuery's labels, Postgres' ssl.ca), has its
  // env_var() filled in: a nested value was sent as its template text
  let unset = false;
  const fill = (v: unknown, path: Array<string | number>): unknown => {
    if (typeof v === 'string' && v.includes('{{')) {
      return fillEnvVars(v, opts.env, (key, val, fromEnv) => {
        if (val === undefined) {
          ds.push(diag('E_ENV_VAR', `target '${name}': environment variable ${key} is not set`, { file: 'project.yaml', ...files.projectYaml.locate(['targets', name, ...path]) }, `export ${key}=... or choose another target with --target`));
          unset = true;
          return '';
        }
        // labels go on every job and every table and view (BigQuery): anyone who may list jobs or
        // read a table's metadata reads them, as a view's definition (E_SECRET)
        if (path[0] === 'labels' && fromEnv && isSecret(key, val)) {
          ds.push(diag('E_TARGET', `${showPath(['targets', name, ...path])}: reads the secret ${key}: the warehouse would keep its value as a label of every job, table and view`, { file: 'project.yaml', ...files.projectYaml.locate(['targets', name, ...path]) }, `label with a value that is no secret (a team, an environment), or read it from a variable that is not secret`));
          unset = true;
          return '';
        }
        // a variable read into a key that holds a secret (BigQuery's credentials, a password, at
        // any depth) is redacted whatever its name (BQ_AUTH is no name redaction knows for a secret)
        if (path.some((k) => typeof k === 'string' && isSecretName(k))) addSecret(key, val);
        return val;
      });
    }
    if (Array.isArray(v)) return v.map((x, i) => fill(x, [...path, i]));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x, [...path, k])]));
    return v;
  };
  const config = fill(raw, []) as Record<string, unknown>;
  // the unset variable is the one root cause: its empty value is not reported again
  if (unset) return undefined;
  const schema = SCHEMAS.get(warehouse.type)!.config;
  const r = schema.safeParse(config);
  if (!r.success) {
    for (const p of explainIssues(schema, config, r.error.issues)) {
      const path = ['targets', name, ...p.path];
      ds.push(diag('E_TARGET', `${showPath(path)}: ${p.message}`, { file: 'project.yaml', ...files.projectYaml.locate(path, p.key) }));
    }
    return undefined;
  }
  Object.assign(config, r.data);
  const problems = warehouse.checkConfig?.(r.data) ?? [];
  for (const p of problems) ds.push(diag('E_TARGET', `target '${name}': ${p.message}`, { file: 'project.yaml', ...files.projectYaml.locate(['targets', name, p.key]) }, p.hint));
  if (problems.length) return undefined;
  const where = warehouse.location(r.data);
  return { name, type: raw.type, schema: where.schema, database: where.database, catalog: where.catalog ?? where.database, config };
}
