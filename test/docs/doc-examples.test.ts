/**
 * The YAML and JSON examples of the docs, as a user copies them: each block is validated by the
 * schema of the file it belongs in (project.yaml, a properties file, an alert rule file, the routes,
 * an alert test file, a dashboard), so a key the docs show is one Vigil accepts.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers.js';
import { parseYaml, validateYaml } from '../../src/project/yaml-source.js';
import { ProjectFileSchema, PropertiesFileSchema } from '../../src/project/schema.js';
import { AlertFileSchema, AlertTestFileSchema, RoutesFileSchema } from '../../src/alerts/schema.js';
import { DashboardSchema } from '../../src/dashboards/schema.js';
import { formatDiagnostic, type Diagnostic } from '../../src/errors.js';
import { z, type ZodType } from 'zod';

const DOCS = ['models.md', 'alerts.md', 'dashboards.md', 'governance.md', 'sync.md', 'operations.md', 'bigquery.md'];

function blocks(file: string): Array<{ lang: string; line: number; text: string }> {
  const lines = readFileSync(join(REPO, 'docs', file), 'utf8').split('\n');
  const found: Array<{ lang: string; line: number; text: string }> = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    // (a block never closed: a broken page, said, not an endless loop)
    if (end < 0) throw new Error(`docs/${file}:${i + 1}: a code block that is never closed`);
    found.push({ lang: open[1], line: i + 1, text: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return found;
}

const PROJECT_BASE = { name: 'docs', targets: { dev: { type: 'duckdb' } } };

/** The top-level keys of Vigil's files: a block with few of them is another tool's (Kubernetes, GitHub Actions, Prometheus). */
const VIGIL_KEYS = new Set(
  [ProjectFileSchema, PropertiesFileSchema, AlertFileSchema, RoutesFileSchema, AlertTestFileSchema].flatMap((s) => Object.keys((s as unknown as z.ZodObject<z.ZodRawShape>).shape)),
);

/** The schema of the file a block belongs in, and the block as that file's whole content. */
function fileOf(value: Record<string, unknown>): [string, ZodType<unknown>, Record<string, unknown>] | undefined {
  const keys = Object.keys(value);
  if (keys.includes('alerts')) return ['alert rules', AlertFileSchema, value];
  if (keys.some((k) => ['receivers', 'route', 'inhibit_rules', 'time_intervals', 'outbox_alert_after'].includes(k))) return ['routes', RoutesFileSchema, value];
  if (keys.length === 1 && keys[0] === 'tests') return ['alert tests', AlertTestFileSchema, value];
  if (keys.every((k) => ['models', 'seeds', 'sources', 'snapshots', 'unit_tests'].includes(k)) && keys.every((k) => Array.isArray(value[k]))) return ['properties', PropertiesFileSchema, value];
  return ['project.yaml', ProjectFileSchema, { ...PROJECT_BASE, ...value }];
}

describe('docs examples', () => {
  for (const doc of DOCS) {
    for (const b of blocks(doc).filter((x) => ['yaml', 'json'].includes(x.lang))) {
      it(`docs/${doc}:${b.line} (${b.lang})`, () => {
        // a fragment of a dashboard's JSON (a key and its value) is read as an object
        const text = b.lang === 'json' && !b.text.trimStart().startsWith('{') ? `{${b.text}}` : b.text;
        const diagnostics: Diagnostic[] = [];
        const src = parseYaml(text, `docs/${doc}`, diagnostics)!;
        expect(diagnostics.map(formatDiagnostic)).toEqual([]);
        const value = src.value as Record<string, unknown>;
        if (b.lang === 'json') {
          if (!('tabs' in value)) return; // a tile's part: checked where a dashboard holds it
          validateYaml(src, DashboardSchema, diagnostics);
        } else {
          // another tool's file: most of its keys are not Vigil's (a GitHub workflow shares name:)
          if (Array.isArray(value) || Object.keys(value).filter((k) => VIGIL_KEYS.has(k)).length * 2 <= Object.keys(value).length) return;
          const [, schema, whole] = fileOf(value)!;
          validateYaml({ ...src, value: whole }, schema, diagnostics);
        }
        expect(diagnostics.map(formatDiagnostic)).toEqual([]);
      });
    }
  }
});
