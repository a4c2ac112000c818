/**
 * Restricted companions left behind (docs/governance.md#the-restricted-companion): a companion
 * view (`<model>__restricted`) shows its model's rows unmasked to its grantees, a live view over
 * the model's inputs. A model renamed, given another alias, or removed builds its companion under
 * another name, or none: the old one would stay, granted, showing every new row unmasked under no
 * policy. Vigil marks each companion it builds with a comment naming its project and model
 * relation; a run or build finds the marked views of its project in the schemas it builds into
 * that no model of the project builds any more, and names them in a warning each (not dropped:
 * another target or checkout of the project sharing the schema may build them). An unmarked `*__restricted` view beside an orphaned relation
 * of the same base name (made before Vigil marked its companions) is named, not dropped.
 */
import type { Adapter } from '../adapters/adapter.js';
import type { Relation } from '../adapters/dialect.js';

const MARK = /^vigil restricted companion of (\S+) \(project (\S+)\)$/m;

/** The comment on a companion view of `model` (schema.identifier) built by `project`. */
export function companionMark(project: string, model: Relation): string {
  return `vigil restricted companion of ${model.schema}.${model.identifier} (project ${project})\nthe rows of ${model.schema}.${model.identifier}, unmasked; named in a warning by the project's builds once no model of it builds this view`;
}

/** The project and model (schema.identifier) a comment marks a view the companion of; undefined when it marks none. */
export function parseCompanionMark(comment: string | null): { project: string; model: string } | undefined {
  const m = comment ? MARK.exec(comment) : null;
  return m ? { model: m[1], project: m[2] } : undefined;
}

/**
 * Name the marked companions of `project` in `schemas` that are not in `companions` (every
 * companion the project's models build, schema.identifier), saying each in a line; `built`: every
 * relation the project builds (its old masked relation, not among them, is named as left).
 */
export async function warnStaleCompanions(
  adapter: Adapter,
  project: string,
  schemas: Iterable<string>,
  companions: Set<string>,
  built: Set<string>,
  out: (line: string) => void,
): Promise<void> {
  if (!adapter.viewComments) return;
  for (const schema of schemas) {
    const views = await adapter.viewComments(schema);
    const names = new Set(views.map((v) => v.identifier));
    for (const v of views) {
      const key = `${schema}.${v.identifier}`;
      if (companions.has(key) || built.has(key)) continue;
      const mark = parseCompanionMark(v.comment);
      if (mark && mark.project === project) {
        // named, not dropped: a target building into the same schema whose models differ (enabled
        // per target, another alias), a disabled model, another checkout of the project may still
        // build it — dropping it would take it from their grantees
        const rel: Relation = { schema, identifier: v.identifier };
        const why = built.has(mark.model) ? `whose restricted: is no longer in its config` : `which no model of this project builds here any more (renamed, given another alias, removed — or enabled on another target only)`;
        out(`warning: the restricted view ${key} shows the unmasked rows of ${mark.model}, ${why}, to its grantees under no policy: drop it (drop view ${adapter.dialect.relation(rel)}) unless another target or checkout of the project still builds it`);
      } else if (!mark && v.identifier.endsWith('__restricted')) {
        const base = v.identifier.slice(0, -'__restricted'.length);
        if (base && names.has(base) === false && !(await adapter.relationExists({ schema, identifier: base }).catch(() => null))) continue;
        if (built.has(`${schema}.${base}`)) continue;
        out(`warning: ${key} looks like the restricted companion (unmasked rows) of ${schema}.${base}, which no model of this project builds, but was not marked by Vigil (built before Vigil marked its companions, or not Vigil's): left as it is; drop it if it is the old companion (drop view ${adapter.dialect.relation({ schema, identifier: v.identifier })})`);
      }
    }
  }
}
