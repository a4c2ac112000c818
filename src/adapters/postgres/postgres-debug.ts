/**
 * `vigil debug` on Postgres: connection (server version, user), the target schema, and whether
 * the user may create relations in it.
 */
import type { DebugStep } from '../warehouse.js';
import type { PostgresTargetConfig } from './postgres-config.js';
import { PostgresAdapter } from './postgres-adapter.js';

export async function* debugPostgres(cfg: PostgresTargetConfig): AsyncGenerator<DebugStep> {
  let a: PostgresAdapter;
  try {
    a = await PostgresAdapter.open(cfg, 1, { helpers: false });
  } catch (e) {
    yield { check: 'connection', ok: false, detail: (e as Error).message.split('\n').join(' '), fatal: true };
    return;
  }
  try {
    const [v] = await a.query<{ version: string; who: string; db: string }>('select current_setting($1) as version, current_user as who, current_database() as db', ['server_version']);
    yield { check: 'connection', ok: true, detail: `PostgreSQL ${v.version}, database ${v.db}, user ${v.who}` };
    const [s] = await a.query<{ present: boolean; can_create: boolean | null; can_create_schema: boolean }>(
      `select exists (select 1 from pg_namespace where nspname = $1) as present,
              case when exists (select 1 from pg_namespace where nspname = $1) then has_schema_privilege($1, 'CREATE') end as can_create,
              has_database_privilege(current_database(), 'CREATE') as can_create_schema`,
      [cfg.schema],
    );
    if (s.present) yield { check: `schema ${cfg.schema}`, ok: !!s.can_create, detail: s.can_create ? 'exists; the user may create relations in it' : `exists, but ${v.who} may not create relations in it (GRANT CREATE ON SCHEMA ${cfg.schema} TO ${v.who})` };
    else yield { check: `schema ${cfg.schema}`, ok: s.can_create_schema, detail: s.can_create_schema ? 'does not exist yet: vigil build creates it' : `does not exist, and ${v.who} may not create schemas in ${v.db}` };
  } catch (e) {
    yield { check: 'connection', ok: false, detail: (e as Error).message.split('\n').join(' ') };
  } finally {
    await a.close();
  }
}
