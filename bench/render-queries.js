// Writes (as JSON) every query `vigil dashboards render` runs on the project in the current
// folder, from the render's own walk over the site (renderQueries in
// src/cli/dashboards-commands.ts): the dashboards' tiles, the drill-down pages' tiles, the
// catalog lookups, in the order the render asks for them, and the concurrency it runs them at.
// Not a timed process: bench/dashboards.js bundles it from src/ (planQueries) and runs it once
// to give the baseline (bench/direct-dashboards.js) its list.
// Usage: node <bundle> <ISO time> <out.json>
import { writeFileSync } from 'node:fs';
import { renderQueries } from '../src/cli/dashboards-commands.js';

const [at, out] = process.argv.slice(2);
const plan = await renderQueries({ projectDir: process.cwd(), at });
writeFileSync(out, JSON.stringify(plan, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
process.stdout.write(`planned ${plan.queries.length} queries, ${plan.concurrency} at a time\n`);
