/**
 * The `vigil` command line: commander wiring only (main.ts runs it as the process's command).
 * Parses flags, calls a command, prints, and picks the exit code (0 ok, 1 a model/test/source failed, 2 usage or project error).
 * This is the one place that catches errors and turns them into text.
 */
import type { EventEmitter } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { didYouMean, formatDiagnostic, ProjectError, UsageError, WarehouseError } from '../errors.js';
import { VIGIL_VERSION } from '../version.js';
import { resetSecrets } from '../secrets.js';
import { INDIRECT_SELECTION, RESOURCE_TYPES, type IndirectSelection } from '../compile/selector.js';
import { findProjectRoot, SELECTORS_FILE } from '../project/paths.js';

import { err, pathFlag, shownPath, startCommand, withOutputFailure } from './output.js';
import { docRef } from '../install.js';

function intOption(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || n < min || n > max) throw new UsageError(`${name} must be a whole number between ${min} and ${max}, got '${v}'`);
    return n;
  };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** --resource-type: checked against the node kinds and collected (choices() would keep only the last of several). */
const resourceTypes = (v: string, previous: string[] | undefined): string[] => {
  // (dbt's `all` and `default`: every kind a Vigil project has)
  if (!RESOURCE_TYPES.includes(v) && v !== 'all' && v !== 'default') throw new InvalidArgumentError(`Allowed choices are ${[...RESOURCE_TYPES, 'all', 'default'].join(', ')}.`);
  return [...(previous ?? []), v];
};

/** --vars: one document (commander kept the last of several: the first's vars were silently dropped). */
const varsOnce = (v: string, previous: string | undefined): string => {
  if (previous !== undefined) throw new InvalidArgumentError("given twice: put every var in one --vars '{a: 1, b: 2}'");
  return v;
};

/** The parsers of options meant to be given several times (they collect), or that say themselves why not. */
const REPEATABLE = new Set<unknown>([collect, resourceTypes, varsOnce]);

/**
 * Commander keeps the last of a repeated option: `--threads 2 --threads 3`, `-t app -t dev` ran
 * with the second, without a word. Every option taking a value once refuses a second, different
 * value (exit 2); variadic options (-s, --exclude) and those whose parser collects are left to it.
 */
function refuseRepeatedOptions(c: Command): void {
  for (const o of c.options) {
    if (!(o.required || o.optional) || o.variadic || REPEATABLE.has(o.parseArg)) continue;
    let first: string | undefined;
    // before commander's own listener, which parses and stores the value
    (c as unknown as EventEmitter).prependListener(`option:${o.name()}`, (val: string | null) => {
      if (val == null) return;
      if (first !== undefined && first !== val) throw new UsageError(`${o.long ?? o.short} given twice (${first} and ${val}): give it once`);
      first = val;
    });
  }
  for (const sub of c.commands) refuseRepeatedOptions(sub);
}

/** --indirect-selection (ls, compile, test, build: the commands whose selection takes tests), as dbt's. */
const indirectSelection = (c: Command): Command =>
  c.addOption(
    new Option('--indirect-selection <mode>', "which tests selecting what they test selects, as dbt's: eager (default: each test that reads a selected node), cautious (each whose every node read is selected), buildable (each whose every node read is selected or upstream of it), empty (none: only the tests selected themselves)").choices([...INDIRECT_SELECTION]),
  );

/** A path flag or argument: an empty value is refused while parsing (output.ts pathFlag), in every command. */
const pathOption = (flag: string, kind: 'folder' | 'file' = 'file') => (v: string): string => pathFlag(flag, v, kind);

const SELECTOR_HELP =
  "a selector of the project's selectors.yml (dbt's YAML selectors): selects what its definition does; not with -s/--exclude. A selector with default: true is used by compile, seed, snapshot, run, test, build, ls and source freshness when none of -s, --exclude, --selector is given";

/** The commands that use selectors.yml's default selector when given no -s/--exclude/--selector, as dbt's do. */
const DEFAULT_SELECTOR_COMMANDS = new Set(['compile', 'seed', 'snapshot', 'run', 'test', 'build', 'ls', 'source freshness']);

/**
 * `--selector <name>` (or selectors.yml's default selector) turned into the -s, --exclude and
 * --indirect-selection it stands for, before the command's action reads its options.
 */
async function applyYamlSelector(cmd: Command): Promise<void> {
  const has = (flag: string) => cmd.options.some((o) => o.long === flag);
  if (!has('--selector')) return;
  // (`vigil sync status`: commander gives the options written after `status` to `sync`, which has
  // them too, and the command reads both — the parent's win: read and set on both)
  const holders = cmd.parent?.options.some((o) => o.long === '--selector') ? [cmd, cmd.parent] : [cmd];
  const value = (k: string): unknown => holders.map((h) => h.getOptionValue(k)).find((v) => v !== undefined);
  const set = (k: string, v: unknown) => {
    for (const h of holders) h.setOptionValue(k, v);
  };
  const given = value('selector') as string | undefined;
  const select = value('select') as string[] | undefined;
  const exclude = value('exclude') as string[] | undefined;
  const path = `${cmd.parent?.parent ? `${cmd.parent.name()} ` : ''}${cmd.name()}`;
  if (given !== undefined) {
    const also = [select !== undefined ? '-s/--select' : '', exclude !== undefined ? '--exclude' : ''].filter(Boolean);
    // (dbt runs the selector and ignores them without a word)
    if (also.length) throw new UsageError(`--selector ${given} does not combine with ${also.join(' or ')}: the selector is the whole selection — put what you add into its definition in ${SELECTORS_FILE}, or leave --selector out`);
  } else if (select !== undefined || exclude !== undefined || !DEFAULT_SELECTOR_COMMANDS.has(path)) return;
  const root = findProjectRoot(globals(cmd).projectDir);
  // (no project: the command says so)
  if (!root) return;
  if (given === undefined && !existsSync(join(root, SELECTORS_FILE))) return;
  const { readSelectorsFile } = await import('../project/selectors-file.js');
  const file = readSelectorsFile(root);
  // (a folder of that name: no file, as the compile reads it — was "--selector undefined: ..." for a command given none)
  if (!file && given === undefined) return;
  if (!file) throw new UsageError(`--selector ${given}: the project has no ${SELECTORS_FILE} (YAML selectors are defined in ${SELECTORS_FILE} beside project.yaml)`);
  let name = given;
  if (name === undefined) {
    // (a file that cannot be read may hide a default: not taken for "no default")
    file.check();
    if (file.defaultName === undefined) return;
    name = file.defaultName;
  }
  const indirect = has('--indirect-selection') ? (value('indirectSelection') as IndirectSelection | undefined) : undefined;
  const r = file.resolve(name, indirect);
  const { selectingWithYamlSelector } = await import('./selection.js');
  selectingWithYamlSelector(name, r.parts, given === undefined, indirect);
  if (given === undefined) err(`using the default selector '${name}' from ${SELECTORS_FILE} (give -s, --exclude or --selector to select otherwise)`);
  set('selector', undefined);
  set('select', r.select);
  set('exclude', r.exclude.length ? r.exclude : undefined);
  if (r.indirectSelection && has('--indirect-selection')) set('indirectSelection', r.indirectSelection);
}

function selectionOptions(c: Command): Command {
  return c
    .option(
      '-s, --select <selector...>',
      'nodes to include: name, +name (and ancestors), name+ (and descendants), 2+name+1 (generations), @name (descendants and their ancestors), tag:x, path:models/marts (or just models/marts; * within a folder, ** across), file:orders.sql (or just orders.sql), source:raw.table, test_name:unique, test_type:singular, unit_test:ut_orders, resource_type:model, dashboard:overview, config.materialized:table, globs (stg_*, stg_[ab]*); spaces = union, commas = intersection. A selector that matches nothing is an error',
    )
    .option('--exclude <selector...>', 'nodes to leave out (same grammar as --select)')
    .option('--selector <name>', SELECTOR_HELP)
    .option('--state <dir>', 'a folder with a previous run\'s manifest.json (e.g. the last deploy\'s target/), or that file: enables state:new, state:old, state:modified[.body|.configs|.relation|.contract|.persisted_descriptions|.macros|.vars] and state:unmodified selectors', pathOption('--state', 'folder'))
    .option('--allow-empty', 'a selector that matches nothing is a warning instead of an error');
}

function targetOption(c: Command): Command {
  return c.option('-t, --target <name>', 'target from project.yaml (default: default_target)');
}

function commonOptions(c: Command): Command {
  return targetOption(c)
    .option('--vars <yaml>', "override vars, as YAML or JSON: --vars '{anomaly_spike_ratio: 2}'", varsOnce);
}

/**
 * The top-level command `argv` runs (`ls` for `vigil --project-dir x ls -s y`), or undefined when
 * help is asked for or no command is named (every command is defined then).
 */
function commandAsked(argv: string[]): string | undefined {
  const args = argv.slice(2);
  if (args.some((a) => a === '-h' || a === '--help')) return undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--project-dir') i++;
    else if (!a.startsWith('-')) return a === 'help' ? undefined : a;
  }
  return undefined;
}

/**
 * The command line. Given the process's `argv`, only the command it runs is defined with its
 * options and subcommands (the others by name and description: enough to name the nearest one
 * to a typo): defining all of them is ~15 ms of every start.
 */
export function buildProgram(argv: string[] = []): Command {
  const program = new Command();
  const asked = commandAsked(argv);
  /** A top-level command: `define` adds its arguments, options, subcommands and action when it is the one asked for. */
  const top = (name: string, description: string, define: (c: Command) => unknown): void => {
    const c = program.command(name).description(description);
    if (asked === undefined || asked === name) define(c);
  };
  program
    .name('vigil')
    .description('Version-controlled SQL and YAML into trustworthy analytics and alerts.\n\nQuick start:  vigil demo && vigil build')
    .version(VIGIL_VERSION)
    .option('--project-dir <dir>', 'project folder (default: the nearest folder with project.yaml, from the current one up)', pathOption('--project-dir', 'folder'))
    .showHelpAfterError('(run with --help for usage)')
    // a value outside an option's choices names the nearest choice (each command: below)
    .configureOutput({ outputError: (str, write) => write(withChoiceHint(str)) })
    .hook('preAction', (_program, action) => applyYamlSelector(action))
    .exitOverride();

  top('init', 'scaffold a working project: project.yaml (DuckDB target), a source, models with tests, an alert with its offline test, a dashboard on the model; the data: a sample as a seed (--template blank) or generated by vigil demo (--template ai-audit)', (c) => c
    .argument('[dir]', 'folder for the project: a new one, or an existing repository (only missing files are added, nothing is overwritten); without it, the global --project-dir when given', pathOption('[dir]', 'folder'), '.')
    .addOption(new Option('--template <name>', 'blank: generated app events as a seed (vigil build works at once); ai-audit: the AI-copilot audit domain (vigil demo, then vigil build)').choices(['blank', 'ai-audit']).default('blank'))
    .option('--from-dbt <path>', 'convert the dbt project in <path> (the folder with dbt_project.yml) into [dir]: models, macros, tests, snapshots and seeds copied, dbt_project.yml and profiles.yml turned into project.yaml, properties YAML into the keys Vigil accepts; what cannot be converted is listed with its file:line', pathOption('--from-dbt', 'folder'))
    .option('--profiles <file>', 'with --from-dbt: the profiles.yml whose outputs become targets (default: the one beside dbt_project.yml, if any)', pathOption('--profiles'))
    .option('--force', 'with --from-dbt: overwrite files that already exist in [dir]')
    .action(async (given: string, o: { template: 'blank' | 'ai-audit'; fromDbt?: string; profiles?: string; force?: boolean }, cmd: Command) => {
      const dir = initFolder(cmd, given);
      if (o.fromDbt === undefined && (o.profiles !== undefined || o.force)) throw new UsageError('--profiles and --force go with --from-dbt <path>');
      if (o.fromDbt !== undefined) {
        if (cmd.getOptionValueSource('template') === 'cli') throw new UsageError('--template and --from-dbt do not go together: --from-dbt converts the dbt project instead of writing a template');
        const { runInitFromDbt } = await import('./init-from-dbt-command.js');
        return runInitFromDbt({ dir, fromDbt: o.fromDbt, profiles: o.profiles, force: o.force });
      }
      const { runInit } = await import('./init-command.js');
      return runInit({ dir, template: o.template });
    }));

  // (demo and debug compile no model: no --vars)
  top('demo', 'generate realistic, deterministic AI-audit source data (ai_audit_logs, workflows, audit_trails, usage_log, audit_events, market_snapshots, workspace_data_snapshots) into the target', (c) => targetOption(
    c
      .addOption(new Option('--rows <n>', 'rows of ai_audit_logs').default(100_000).argParser(intOption('--rows', 1, 200_000_000)))
      .addOption(new Option('--days <n>', 'days of history, ending now').default(30).argParser(intOption('--days', 1, 3650)))
      .addOption(new Option('--seed <n>', 'random seed (same seed, same data)').default(42).argParser(intOption('--seed', 0, 2 ** 31 - 1)))
      .addOption(
        new Option('--scenario <name>', 'what the last complete day looks like: spike, drop, errors, new_capability in ai_audit_logs; compliance_red (red checks with critical issues for tenant ten_0001), pii_leak (PII in events classified public) in audit_events')
          .choices(['normal', 'spike', 'drop', 'errors', 'new_capability', 'compliance_red', 'pii_leak'])
          .default('normal'),
      )
      .addOption(new Option('--audit-events <n>', 'rows of audit_events (default: a quarter of --rows)').argParser(intOption('--audit-events', 1, 200_000_000)))
      .option('--schema <name>', 'schema to write the source tables to (default: demo.schema in project.yaml, else raw)')
      .option('--now <iso>', 'end of the generated window (default: now)')
      .option('--force', 'replace tables of the demo\'s names that vigil demo did not create (refused otherwise, exit 2)'),
  ).action(async (o, cmd: Command) => {
    const { runDemo } = await import('./commands.js');
    return runDemo({ ...globals(cmd), ...o });
  }));

  top('compile', 'render models to target/compiled/**.sql and target/manifest.json', (c) => indirectSelection(commonOptions(selectionOptions(c)))
    .option('--watch', 'keep running: recompile when a file of the project changes (errors are shown, the process goes on)')
    .action(async (o, cmd: Command) => {
      if (o.watch) {
        // (as for run, build and test: the watcher compares each compile with the one before)
        if (o.state) throw new UsageError('--watch does not combine with --state');
        const { runWatch } = await import('./watch-command.js');
        return runWatch('compile', { ...globals(cmd), ...o });
      }
      const { runCompile } = await import('./commands.js');
      return runCompile({ ...globals(cmd), ...o });
    }));

  top(
    'check',
    "type-check everything compiled for the target without touching its data: models (with the DDL/MERGE Vigil sends), declared column types (contracts), data tests, alert queries and dashboard tiles. BigQuery: offline, with Google's SQL analyzer (npm i -D @fivetrandevelopers/zetasql); DuckDB: an in-memory database; Postgres: a transaction on the target that is rolled back",
    (c) =>
      commonOptions(selectionOptions(c)).action(async (o, cmd: Command) => {
        const { runCheck } = await import('./check-commands.js');
        return runCheck({ ...globals(cmd), ...o });
      }),
  );

  top('debug', 'can Vigil use the target? its config, credentials (never printed), connection, schema or dataset, and a trivial query: one line each, OK or the reason', (c) =>
    targetOption(c).action(async (o, cmd: Command) => {
      const { runDebug } = await import('./commands.js');
      return runDebug({ ...globals(cmd), ...o });
    }),
  );

  const defineExecute = (name: 'seed' | 'snapshot' | 'run' | 'test' | 'build', command: Command): void => {
    const c = commonOptions(selectionOptions(command))
      .addOption(new Option('--threads <n>', 'statements to run at once').default(4).argParser(intOption('--threads', 1, 64)))
      .option('--fail-fast', 'stop scheduling new nodes after the first failure');
    if (name === 'run' || name === 'build') c.option('--full-refresh', 'rebuild incremental models from scratch');
    if (name === 'run' || name === 'build') c.option('--check', 'run vigil check first and build nothing if it finds a problem');
    if (name === 'run' || name === 'build') c.option('--empty', 'build every model with its columns and no rows (refs, sources and each model\'s query read as empty): a fast check in CI that everything builds; incremental tables that hold rows keep them, and one built empty is filled by the next build');
    if (name === 'run' || name === 'build') c.option('--dry-run', 'BigQuery: send every model as a dry-run job in DAG order and print bytes processed and billed and the on-demand cost; nothing is built');
    if (name !== 'seed') {
      c.option('--defer', "read the models, seeds and snapshots this run does not build from where the --state run built them (e.g. production), unless they exist in this target; needs --state <dir>");
      c.option('--favor-state', 'with --defer: read the state\'s relations even when this target has its own');
    }
    if (name === 'test' || name === 'build') indirectSelection(c);
    if (name === 'test') {
      c.option('--unit', 'only unit tests (models on given rows: on a Postgres target in the target, nothing created; else in an in-memory DuckDB, no warehouse needed)');
      c.option('--data', 'only data tests (queries against the built models)');
    }
    if (name === 'run' || name === 'test' || name === 'build') c.option('--watch', `keep running: on each change of the project, recompile and ${name} what changed and what depends on it (state:modified+ against the compile of the last run that started, within -s/--exclude)`);
    c.action(async (o, cmd: Command) => {
      if (o.watch) {
        for (const flag of ['dryRun', 'defer', 'state', 'check'] as const) if (o[flag]) throw new UsageError(`--watch does not combine with --${flag.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`);
        const { runWatch } = await import('./watch-command.js');
        return runWatch(name as 'run' | 'test' | 'build', { ...globals(cmd), ...o });
      }
      const { runExecute } = await import('./commands.js');
      await runExecute(name, { ...globals(cmd), ...o });
    });
  };
  for (const name of ['seed', 'snapshot', 'run', 'test', 'build'] as const) {
    const desc = {
      snapshot: 'record every version of the rows of each snapshot query (snapshots/*.sql: {% snapshot name %} ... {% endsnapshot %}): SCD type 2 with dbt_valid_from / dbt_valid_to, by unique_key, strategy timestamp or check',
      seed: `load the CSV files under seeds/ as tables (replaced whole each time); ref('name') reads them. Every file is read and checked first: a ragged row or a value that is not its column's type stops everything at file:line, before anything is loaded`,
      run: 'build the selected models in dependency order',
      test: 'run unit tests (models on given rows) and data tests (generic tests from YAML, SQL tests in tests/)',
      build: "load seeds, build models and snapshots, run their tests in DAG order (a model's unit tests first); a failing seed, model or error test skips everything downstream",
    }[name];
    top(name, desc, (cmd) => defineExecute(name, cmd));
  }

  top('retry', 'run the last run, test, build or seed again, for the nodes that failed or were skipped (from target/run_results.json)', (c) => commonOptions(c)
    .addOption(new Option('--threads <n>', 'statements to run at once').default(4).argParser(intOption('--threads', 1, 64)))
    .option('--fail-fast', 'stop scheduling new nodes after the first failure')
    .action(async (o, cmd: Command) => {
      const { runRetry } = await import('./commands.js');
      return runRetry({ ...globals(cmd), ...o, threadsGiven: cmd.getOptionValueSource('threads') === 'cli' });
    }));
  top('clean', 'remove the target folder (compiled SQL, manifest, run results, caches) and the folders clean_targets lists in project.yaml', (c) =>
    c.action(async (_o, cmd: Command) => {
      const { runClean } = await import('./commands.js');
      return runClean({ ...globals(cmd) });
    }),
  );

  top('sync', 'copy source tables from the application database (Postgres) into the target, exactly once', (sync) => {
    commonOptions(selectionOptions(sync))
      .addOption(new Option('--mode <mode>', "delta: from the saved cursor (minus lookback); full: everything, or --lookback back from the source's clock").choices(['delta', 'full']).default('delta'))
      .option('--since <iso>', "start at this instant (UTC without an offset; a timestamp cursor compares it as the source database's wall time) instead of the saved cursor, but never after where a delta would start (no row after the cursor is skipped)")
      .option('--lookback <duration>', "with --mode full: re-read this far back from the source's clock, e.g. 24h (the nightly repair); never from after where a delta would start")
      .option('--full-refresh', 'empty the synced tables and start over')
      .option('--wait <duration>', `how long to wait for a stream another process holds (on Postgres and BigQuery: vigil serve's sync job, a retention apply, by its lease in vigil_serve_leases; on DuckDB: the file, held by any process) before leaving it, exit 1 (default 60s, or serve.lease if shorter; 0s: not at all)`)
      // a word after `sync` is a mistyped subcommand (`vigil sync statu`), not "too many arguments"
      .allowExcessArguments(true)
      .action(async (o, cmd: Command) => {
        if (cmd.args.length) {
          const hint = didYouMean(cmd.args[0], cmd.commands.map((c) => c.name()));
          throw new UsageError(`unknown command '${cmd.args[0]}' for vigil sync${hint ? ` — did you mean '${hint}'?` : ''} (vigil sync takes no arguments: select streams with -s)`);
        }
        const { runSync } = await import('./sync-command.js');
        return runSync({ ...globals(cmd), ...o });
      });
    commonOptions(selectionOptions(sync.command('status').description("each stream's cursor, rows, last sync, lag and failures"))).action(async (_o, cmd: Command) => {
      const { runSyncStatus } = await import('./sync-command.js');
      // `sync` has the same options, so commander gives it those written after `status` (-s, -t, --vars):
      // read them from both, or `vigil sync status -t prod` quietly showed the default target
      const own = cmd.parent!;
      const runOnly = ['mode', 'since', 'lookback', 'fullRefresh', 'wait'].filter((k) => own.getOptionValueSource(k) === 'cli');
      if (runOnly.length) throw new UsageError(`${runOnly.map((k) => own.options.find((x) => x.attributeName() === k)!.long).join(', ')}: ${runOnly.length === 1 ? 'an option' : 'options'} of vigil sync, not of vigil sync status`);
      return runSyncStatus({ ...globals(cmd), ...cmd.optsWithGlobals() });
    });
  });

  top('retention', `retention as configuration (${docRef('governance.md#retention')}): rows older than a table's retention: { column, keep } are deleted — plan counts them, apply deletes exactly what the plan counted. Source tables are cleaned in the warehouse copy unless they say apply_to: source (the database vigil sync reads)`, (retention) => {
    commonOptions(
      selectionOptions(
        retention
          .command('plan')
          .description(
            "per table with a retention config: its cutoff (now minus keep; years on the calendar), the rows (on BigQuery also the partitions) that would be deleted, the oldest and newest of them; printed and written to target/retention_plan.json. Reads only. A column that is not a timestamp is an error at its YAML line (exit 2)",
          ),
      ),
    )
      .option('--at <iso>', 'plan as of this time instead of now (not in the future)')
      .action(async (o, cmd: Command) => {
        const { runRetentionPlan } = await import('./retention-command.js');
        return runRetentionPlan({ ...globals(cmd), ...o });
      });
    commonOptions(
      selectionOptions(
        retention
          .command('apply')
          .description(
            "delete what the plan (target/retention_plan.json) counted: the plan's fixed cutoffs, in batches, each committed with its count in vigil_retention_log (who: VIGIL_ACTOR or the OS user). Refuses, deleting nothing, when more rows fall before a cutoff than the plan counted (plan again), when the project's retention config changed since the plan, or when keep is shorter than project.yaml retention.minimum (default 30d) without --force. A rerun after a crash deletes only the remainder. SIGTERM/Ctrl-C stop after the batch in progress",
          ),
      ),
    )
      .option('--plan <file>', 'the plan to apply (default: target/retention_plan.json)', pathOption('--plan'))
      .option('--force', "apply a keep shorter than the project's retention.minimum")
      .option('--wait <duration>', `on Postgres and BigQuery, how long to wait for a synced stream another process holds (vigil sync, vigil serve's sync job: its lease in vigil_serve_leases) before refusing, exit 1 (default 60s, or serve.lease if shorter; 0s: not at all)`)
      .action(async (o, cmd: Command) => {
        const { runRetentionApply } = await import('./retention-command.js');
        return runRetentionApply({ ...globals(cmd), ...o });
      });
  });

  top('show', "preview data: run one model's compiled SQL (or a test's failing rows, or a source's table) or an inline query against the target, and print the first rows. Nothing is built in the warehouse (only Vigil's compile cache under target/ is written)", (c) => commonOptions(
    c
      .option('-s, --select <selector...>', 'the one model, test or source to show (same grammar as other commands; it must select exactly one)')
      .option('--selector <name>', SELECTOR_HELP)
      .option('--inline <sql>', "a query to compile and run instead, with ref()/source()/var(): --inline \"select * from {{ ref('orders') }} where amount > 100\"")
      .option('--limit <n>', 'rows to print (default 5)')
      .addOption(new Option('--output <format>', 'table (aligned, long cells cut), json or csv (whole values)').choices(['table', 'json', 'csv']).default('table'))
      .option('--allow-empty', 'a selector that matches nothing is a warning instead of an error'),
  ).action(async (o, cmd: Command) => {
    const { runShow } = await import('./show-command.js');
    return runShow({ ...globals(cmd), ...o });
  }));

  top('ls', 'list nodes (models, seeds, snapshots, data and unit tests, sources, dashboards)', (c) => indirectSelection(commonOptions(selectionOptions(c)))
    .addOption(
      // (choices() would keep only the last of several: the parser checks and collects)
      new Option('--resource-type <type>', 'only this kind of node: model, seed, snapshot, test, unit_test, source or exposure (all or default: every kind); give it again for several').argParser(resourceTypes),
    )
    .addOption(new Option('--exclude-resource-type <type>', 'not this kind of node (as --resource-type); give it again for several').argParser(resourceTypes))
    .addOption(new Option('--output <format>', "output format (selector: a selector of each node, as dbt's: its fqn, source:<project>.<source>.<table>, exposure:<project>.<name>, unit_test:<project>.<name>)").choices(['name', 'path', 'json', 'selector']).default('name'))
    .addOption(new Option('--output-keys <keys>', "with --output json, only these keys of each line (dbt's: unique_id, name, resource_type, package_name, original_file_path, alias, source_name, config, tags, depends_on; Vigil's too, and fqn): space- or comma-separated, or given again").argParser(collect))
    .action(async (o, cmd: Command) => {
      const { runLsFast } = await import('./ls-command.js');
      return runLsFast({ ...globals(cmd), ...o });
    }));

  top('source', 'commands about sources', (source) =>
    commonOptions(selectionOptions(source.command('freshness').description("age of each source's newest loaded_at_field against its warn/error limits"))).action(async (o, cmd: Command) => {
      const { runFreshness } = await import('./commands.js');
      return runFreshness({ ...globals(cmd), ...o });
    }),
  );

  top('alerts', 'declarative alerts in alerts/*.yaml: evaluate them on a schedule, keep their state, notify PagerDuty and Slack', (alerts) => {
    const alertOpts = (c: Command) => commonOptions(c).option('--state-file <path>', 'keep alert state in this JSON file (relative to the working folder) instead of the warehouse table vigil_alert_state (for development)', pathOption('--state-file'));
    // (check and test read no alert state: --state-file there did nothing)
    commonOptions(alerts.command('check').description('validate alert files and routes, compile every query, check the receivers\' environment variables'))
      .option('--warehouse', "also prepare every query in the target warehouse: unknown columns in the query, and columns the rule reads (group_by, condition, time) that the query does not return")
      .action(async (o, cmd: Command) => {
        const { runAlertsCheck } = await import('./alerts-commands.js');
        return runAlertsCheck({ ...globals(cmd), ...o });
      });
    alertOpts(alerts.command('evaluate').description('run the alerts once: query, update state, queue and send notifications (exit 1 if a query failed or a notification could not be delivered)'))
      .option('-s, --select <alert...>', 'alerts to evaluate: names, globs (ai_audit_*), or label=value')
      .option('--dry-run', 'print the notifications it would send (the payloads) without sending or saving state')
      .option('--at <iso>', "evaluate as of this time (default: now; not before the state's last evaluation, nor ahead of the clock, unless --dry-run)")
      .option('--delivery-timeout <duration>', 'time budget per notification, retries included (default 60s, or half alerts.lock_lease if shorter); what misses it stays in the outbox for the next run')
      .option('--wait <duration>', 'if another evaluation holds the state lock, wait this long for it (default: skip at once)')
      .action(async (o, cmd: Command) => {
        const { runAlertsEvaluate } = await import('./alerts-commands.js');
        return runAlertsEvaluate({ ...globals(cmd), ...o });
      });
    commonOptions(alerts.command('test').description('run the offline alert tests in alerts/tests/*.yaml (fixture rows, evaluation times, expected states and notifications) on an in-memory DuckDB'))
      .option('-s, --select <alert...>', 'only the tests of these alerts')
      .action(async (o, cmd: Command) => {
        const { runAlertsTest } = await import('./alerts-commands.js');
        return runAlertsTest({ ...globals(cmd), ...o });
      });
    alerts
      .command('route-test')
      .description('show which receivers an alert with these labels reaches, e.g. vigil alerts route-test severity=critical team=ml')
      .argument('[label=value...]', 'labels of the alert, as amtool reads them (name="value" or name=value; none: the root route\'s receiver); alertname=<rule> adds the rule\'s own labels')
      .action(async (labels: string[], o, cmd: Command) => {
        const { runAlertsRouteTest } = await import('./alerts-commands.js');
        return runAlertsRouteTest({ ...globals(cmd), ...o, labels });
      });
    alerts
      .command('import-alertmanager')
      .description("convert an Alertmanager configuration (alertmanager.yml) into alerts/routes.yaml: the routing tree, inhibit rules and time intervals as they are, PagerDuty and Slack receivers with environment variable names for their secrets; what cannot be converted is listed")
      .argument('<alertmanager.yml>', 'the Alertmanager configuration file', pathOption('<alertmanager.yml>'))
      .option('--out <file>', 'write the result there (refused if it exists, unless --force); default: print it', pathOption('--out'))
      .option('--force', 'overwrite --out')
      .option('--allow-partial', 'accept a conversion that loses deliveries (an integration other than PagerDuty and Slack, a second config of a receiver, http_config it cannot carry): written, exit 0')
      .action(async (file: string, o, cmd: Command) => {
        const { runAlertsImport } = await import('./alerts-commands.js');
        return runAlertsImport({ ...globals(cmd), ...o, file });
      });
    alerts
      .command('notify-test')
      .description('send a [TEST] trigger and its resolve to one receiver, to check its routing key or webhook')
      .argument('<receiver>', 'receiver name from alerts/routes.yaml')
      .option('--delivery-timeout <duration>', 'time budget per notification, retries included (default 30s)')
      .action(async (receiver: string, o, cmd: Command) => {
        const { runAlertsNotifyTest } = await import('./alerts-commands.js');
        return runAlertsNotifyTest({ ...globals(cmd), ...o, receiver });
      });
    alertOpts(alerts.command('silence').description('mute matching alert instances for a while: vigil alerts silence --match capability=draft --for 2h --comment "known backfill"'))
      .option('-m, --match <matcher>', 'label=value, label!=value or label=~regex; repeat for several (all must match)', collect)
      .option('--for <duration>', 'how long, e.g. 2h')
      .option('--until <iso>', 'or until when')
      .option('--comment <text>', 'why (required)')
      .option('--author <name>', 'who (default: the current user)')
      .option('--expire <id>', 'end the silence with this id now')
      .option('--force', 'create it though a --match names a label, alertname or severity no alert rule produces (refused otherwise, exit 2)')
      .action(async (o, cmd: Command) => {
        const { runAlertsSilence } = await import('./alerts-commands.js');
        return runAlertsSilence({ ...globals(cmd), ...o });
      });
    alertOpts(alerts.command('silences').description('list active silences'))
      .option('--all', 'include expired ones')
      .action(async (o, cmd: Command) => {
        const { runAlertsSilences } = await import('./alerts-commands.js');
        return runAlertsSilences({ ...globals(cmd), ...o });
      });
    alertOpts(alerts.command('status').description('alert instances, their state, and the outbox')).action(async (o, cmd: Command) => {
      const { runAlertsStatus } = await import('./alerts-commands.js');
      return runAlertsStatus({ ...globals(cmd), ...o });
    });
    alertOpts(alerts.command('outbox').description('notifications not delivered yet: list them, resend (--retry) or give them up (--drop)'))
      .option('--retry <id|all>', 'send this one (a whole id; uncertain or rejected too) or all (not the uncertain ones) again on the next evaluate')
      .option('--drop <id|all>', 'remove this unsent notification (a whole id), or all, for good')
      .action(async (o, cmd: Command) => {
        const { runAlertsOutbox } = await import('./alerts-commands.js');
        return runAlertsOutbox({ ...globals(cmd), ...o });
      });
    alertOpts(alerts.command('run-scheduler').description("long-running: evaluate each alert on its own cron schedule until SIGTERM; a failing alert never stops the others"))
      .option('-s, --select <alert...>', 'only these alerts')
      .option('--delivery-timeout <duration>', 'time budget per notification, retries included (default 60s, or half alerts.lock_lease if shorter)')
      .action(async (o, cmd: Command) => {
        const { runAlertsScheduler } = await import('./alerts-commands.js');
        return runAlertsScheduler({ ...globals(cmd), ...o });
      });
  });

  top('serve', `long-running: run the project's schedules (project.yaml schedules:) — sync, build, alerts — one job at a time, each slot once across serve processes sharing the target; answer /health, /internal/analytics-sync and /metrics. SIGTERM stops at a safe point (${docRef('operations.md')})`, (c) => commonOptions(
    c
      .option('--listen <host:port>', 'address of the HTTP server (default serve.listen in project.yaml, else 127.0.0.1:9464; port 0 picks a free one)')
      .option('--run-now', 'run every job once at start, then on its schedule (otherwise a job waits for its first slot, or catches up a slot missed while serve was down)')
      .option('--delivery-timeout <duration>', 'alerts jobs: time budget per notification, retries included (default 60s, or half alerts.lock_lease if shorter)'),
  ).action(async (o, cmd: Command) => {
    const { runServe } = await import('./serve-command.js');
    return runServe({ ...globals(cmd), ...o });
  }));

  top('docs', 'a static documentation site of the project: every node with descriptions, columns, tests and SQL, table- and column-level lineage, search', (docs) => {
    commonOptions(docs.command('generate').description("write target/docs/: a page per model, source, seed, snapshot, test, unit test, dashboard and alert, the lineage graph, column lineage traced from the compiled SQL; column types from the target's warehouse"))
      .option('--empty-catalog', 'do not open the warehouse: column types from YAML only')
      .action(async (o, cmd: Command) => {
        const { runDocsGenerate } = await import('./docs-commands.js');
        return runDocsGenerate({ ...globals(cmd), ...o });
      });
    docs
      .command('serve')
      .description('serve target/docs/ (from vigil docs generate) over HTTP until Ctrl-C')
      .option('--host <address>', 'address to listen on', '127.0.0.1')
      .addOption(new Option('--port <n>', 'port (0: any free port)').default(8080).argParser(intOption('--port', 0, 65535)))
      .action(async (o, cmd: Command) => {
        const { runDocsServe } = await import('./docs-commands.js');
        return runDocsServe({ ...globals(cmd), ...o });
      });
  });

  top('dashboards', 'dashboards as code in dashboards/*.json: validate them against the models, export them for BI tools or publish them to Metabase, render them', (dashboards) => {
    commonOptions(dashboards.command('validate').description('check every dashboard: models exist, every column exists (declared in YAML; with --warehouse, in the built tables too)'))
      .option('--warehouse', "also check the columns against the target warehouse's catalog (after vigil build)")
      .action(async (o, cmd: Command) => {
        const { runDashboardsValidate } = await import('./dashboards-commands.js');
        return runDashboardsValidate({ ...globals(cmd), ...o });
      });
    commonOptions(dashboards.command('export').description('write the dashboards for a BI tool: LookML dashboards + views, Metabase API payloads, or normalized JSON; deterministic. The SQL is written for the target (-t): a BI tool on BigQuery needs the BigQuery target (every format warns when the project has one and the SQL is of another warehouse; LookML also when --looker-connection is named for one)'))
      .addOption(new Option('--format <format>', 'looker, metabase or json (required)').choices(['looker', 'metabase', 'json']).makeOptionMandatory())
      .requiredOption('--out <dir>', 'folder to write to (required)', pathOption('--out', 'folder'))
      .option('-s, --select <dashboard...>', 'only these dashboards (names or globs)')
      .option('--looker-connection <name>', 'looker: the Looker connection the model uses (default: the project name)')
      .option('--metabase-database <id>', 'metabase (required): the id of the Metabase database the cards query')
      .option('--collection <name>', 'metabase: the collection the payloads name (default: the project name)')
      .option('--base-url <url>', "looker: export tile links that are app routes (root-relative, such as /workspaces/42) under this http(s):// URL; default: project.yaml dashboards.base_url, else they are not carried (the file's header lists them)")
      .action(async (o, cmd: Command) => {
        const { runDashboardsExport } = await import('./dashboards-commands.js');
        return runDashboardsExport({ ...globals(cmd), ...o });
      });
    commonOptions(
      dashboards
        .command('publish')
        .description(
          'create or update the dashboards in Metabase through its REST API: a collection, one native-SQL card per tile and the dashboards with their filters, tabs and layout. Idempotent: cards and dashboards are found again by a (vigil:<dashboard>/<tile>) line in their descriptions, changed ones updated, nothing created twice. Credentials from the environment only: METABASE_API_KEY (header X-API-KEY) or METABASE_SESSION (header X-Metabase-Session). Exit 1 if Metabase refuses a request',
        ),
    )
      .requiredOption('--metabase <url>', 'the Metabase instance, e.g. https://metabase.example.com (required)')
      .option('--metabase-database <id|name>', "the Metabase database the cards query, by id or name (default: the only one that is not Metabase's sample)")
      .option('--collection <name>', 'the top-level collection to publish into, created if missing (default: the project name)')
      .option('-s, --select <dashboard...>', 'only these dashboards (names or globs)')
      .action(async (o, cmd: Command) => {
        const { runDashboardsPublish } = await import('./dashboards-commands.js');
        return runDashboardsPublish({ ...globals(cmd), ...o });
      });
    commonOptions(dashboards.command('render').description('a static HTML site: one page per dashboard and one per drill-down target (the tab with the clicked value as its filter), charts drawn server-side as SVG, data from the target'))
      .requiredOption('--out <dir>', 'folder to write the site to (required)', pathOption('--out', 'folder'))
      .option('--base-url <url>', "make the site's links absolute under this URL (http(s)://host/path or /path), and link root-relative tile links (app routes such as /workspaces/42) under it; default: project.yaml dashboards.base_url, else relative links and app routes shown as text")
      .option('-s, --select <dashboard...>', 'only these dashboards (names or globs)')
      .option('--png', "also take one PNG per tab with headless Chromium (Debian's chromium; never downloaded)")
      .option('--png-dir <dir>', 'where the PNGs go, one per tab named after its title (default: target/screenshots; implies --png)', pathOption('--png-dir', 'folder'))
      .option('--at <iso>', 'render as of this time (default: now)')
      .action(async (o, cmd: Command) => {
        const { runDashboardsRender } = await import('./dashboards-commands.js');
        return runDashboardsRender({ ...globals(cmd), ...o });
      });
  });

  // an unknown option's hint depends on the command it was given to
  const withHints = (c: Command, path: string): void => {
    const flags = new Map(c.options.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f).map((f) => [f, o.required || o.optional] as const)));
    const subs = c.commands.map((x) => x.name());
    c.configureOutput({ outputError: (str, write) => write(withChoiceHint(str, path, flags, subs)) });
    for (const sub of c.commands) withHints(sub, `${path} ${sub.name()}`.trim());
  };
  withHints(program, '');
  refuseRepeatedOptions(program);
  return program;
}

function globals(cmd: Command): { projectDir: string } {
  let c: Command | null = cmd;
  while (c?.parent) c = c.parent;
  const given = c?.opts().projectDir as string | undefined;
  if (given === undefined) return { projectDir: process.cwd() };
  // a folder given is the project's: looked for from there up, a typo (`analytcs`) ran the
  // project of a folder above it (`vigil clean` removed its target/)
  const abs = resolve(given);
  if (!existsSync(join(abs, 'project.yaml'))) {
    const why = !existsSync(abs) ? 'no such folder' : !statSync(abs).isDirectory() ? 'not a folder' : 'no project.yaml in it';
    const near = existsSync(dirname(abs)) ? didYouMean(basename(abs), readdirSync(dirname(abs)).filter((f) => existsSync(join(dirname(abs), f, 'project.yaml')))) : undefined;
    throw new UsageError(`--project-dir ${given}: ${why}${near ? ` — did you mean '${join(dirname(given), near)}'?` : ''} (give the folder that holds project.yaml; without --project-dir, vigil looks from the current folder up)`);
  }
  return { projectDir: abs };
}

/**
 * The folder `vigil init` writes the project to: its [dir], or the global --project-dir when no
 * [dir] is given (the folder to create the project in: it need not hold a project.yaml yet);
 * both, naming different folders, is a usage error (was: --project-dir ignored, the project
 * scaffolded into the current folder).
 */
function initFolder(cmd: Command, dir: string): string {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  const projectDir = root.opts().projectDir as string | undefined;
  if (projectDir === undefined) return dir;
  if (cmd.args.length > 0 && resolve(dir) !== resolve(projectDir)) {
    throw new UsageError(`--project-dir ${projectDir} and [dir] ${dir} name different folders: give one of them (the folder to create the project in)`);
  }
  return projectDir;
}

/**
 * `vigil help biuld`, `vigil alerts help evalute`, `vigil help alerts evalute`: commander shows
 * the group's help (exit 0, or 2 in a group); a name that is no command is an error with the one meant.
 */
function helpTypo(program: Command, args: string[]): { error: string } | { argv: string[] } | undefined {
  const at = args.indexOf('help');
  if (at < 0) return undefined;
  const find = (c: Command, name: string) => c.commands.find((x) => x.name() === name || x.aliases().includes(name));
  let c = program;
  // the groups before help, then the names after it
  for (const name of args.slice(0, at)) {
    const sub = find(c, name);
    if (!sub) return undefined;
    c = sub;
  }
  if (!c.commands.length) return undefined;
  const path: string[] = [];
  for (const name of args.slice(at + 1)) {
    if (name.startsWith('-')) break;
    const sub = find(c, name);
    if (!sub) {
      const hint = didYouMean(name, c.commands.flatMap((x) => [x.name(), ...x.aliases()]));
      return { error: `unknown command '${name}'${hint ? ` — did you mean '${hint}'?` : ''} (vigil ${[...parents(c), '--help'].join(' ')} lists the commands)` };
    }
    path.push(name);
    if (!sub.commands.length) break;
    c = sub;
  }
  // commander's help takes one name: `vigil help alerts evaluate` would show the alerts group's help
  return path.length > 1 ? { argv: [...args.slice(0, at), ...path, '--help'] } : undefined;
}

/** A command's names from the top (`alerts` for vigil alerts; none for vigil itself). */
function parents(c: Command): string[] {
  return c.parent ? [...parents(c.parent), c.name()] : [];
}

export async function main(argv: string[]): Promise<number> {
  // a command starts from nothing another one learned in this process (the test suite's command
  // host runs many): no exit code set, no secret remembered from another environment
  process.exitCode = undefined;
  resetSecrets();
  const program = buildProgram(argv);
  const typo = helpTypo(program, argv.slice(2));
  if (typo && 'error' in typo) {
    err(`error: ${typo.error}`);
    return 2;
  }
  if (typo) argv = [...argv.slice(0, 2), ...typo.argv];
  let code = 0;
  startCommand();
  try {
    await program.parseAsync(argv);
    code = process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    code = reportError(e);
  }
  return withOutputFailure(code);
}

/**
 * Commander's "argument 'x' is invalid. Allowed choices are a, b." with the nearest choice added; an unknown option or command with how Vigil spells it (`command`: the command it was given to, e.g. 'retry', 'alerts test';
 * `flags`: its options, each with whether it takes a value).
 */
export function withChoiceHint(message: string, command = '', flags: ReadonlyMap<string, boolean> = new Map(), subcommands: readonly string[] = []): string {
  return message
    .replace(/argument '([^']*)' is invalid\. Allowed choices are ([^\n]*)\.(?=\n|$)/, (all, value: string, list: string) => {
      const hint = didYouMean(value, list.split(', '));
      return hint ? `${all} Did you mean '${hint}'?` : all;
    })
    .replace(/unknown (option|command) '([^'=]*)(=[^']*)?'(?=\n|$)(\n\(Did you mean --[^\n]*\))?/, (all, _kind: string, name: string, value: string | undefined, guess: string | undefined) => {
      // a flag of this command given a value (`--full-refresh=true`): commander calls it unknown
      if (value !== undefined && flags.get(name) === false) return `${guess ? all.slice(0, -guess.length) : all} (${name} takes no value: give ${name} alone)`;
      const spelled = DBT_SPELLINGS[name];
      const hint = typeof spelled === 'function' ? spelled(command, flags) : spelled;
      if (!hint) {
        // a subcommand cut short (vigil source fresh, vigil docs gen): commander's guess is by edit distance only
        const started = _kind === 'command' && name.length >= 2 && !message.includes('(Did you mean') ? subcommands.filter((x) => x.startsWith(name)) : [];
        return started.length === 1 ? `${all}\n(Did you mean ${started[0]}?)` : all;
      }
      // (where commander names the nearest option of the command, `vigil init --profile`: its own
      // hint; a hint for this very command, `vigil demo --vars`, replaces that guess)
      if (!guess) return `${all} (${hint})`;
      return typeof spelled === 'function' ? `${all.slice(0, -guess.length)} (${hint})` : all;
    });
}

/** What a dbt user types where Vigil spells it otherwise (an unknown option or command says so), for every command or by command. */
const DBT_SPELLINGS: Record<string, string | ((command: string, flags: ReadonlyMap<string, boolean>) => string | undefined)> = {
  '-m': "dbt's -m/--models is -s/--select here",
  '--models': "dbt's -m/--models is -s/--select here",
  '--model': "dbt's -m/--models is -s/--select here",
  list: "dbt's list is vigil ls",
  parse: 'vigil compile parses and renders the project (vigil check also type-checks it)',
  'run-operation': 'Vigil has no run-operation: put the statement in a hook, on_run_start / on_run_end in project.yaml or a model\'s pre_hook / post_hook',
  '--store-failures': "Vigil has no --store-failures flag: give the tests store_failures: true (or store_failures_as: table|view) in their YAML or config(); vigil show -s <test> prints a failing test's rows",
  // (a CI line `dbt build --warn-error`: said, not only refused)
  '--warn-error': "Vigil has no --warn-error: a failing test of severity: warn prints WARN and exits 0; a test that must fail the run takes severity: error (the default)",
  '--warn-error-options': "Vigil has no --warn-error-options: a failing test of severity: warn prints WARN and exits 0; a test that must fail the run takes severity: error (the default)",
  '--profiles-dir': 'targets live in project.yaml; vigil init --from-dbt converts profiles.yml',
  '--profile': 'targets live in project.yaml: choose one with -t/--target',
  '-x': (_command, flags) => (flags.has('--fail-fast') ? "dbt's -x is --fail-fast here" : undefined),
  '--target-path': 'the target folder is paths.target in project.yaml',
  // (given to run, seed, snapshot, ...: the commands that take it have it)
  // (retry and serve do run tests: not said to run none)
  '--indirect-selection': (command) =>
    `${command === 'retry' ? 'vigil retry re-runs what the last run selected and did not finish (by unique_id, tests too): ' : command === 'serve' ? "vigil serve's test and build jobs select as vigil test and build do by default (eager; a job takes no indirect selection): " : command ? `vigil ${command} runs no data or unit tests: ` : ''}--indirect-selection goes with test, build, ls and compile`,
  // (given to a command without a node selection: alerts, dashboards, docs generate, retry)
  '--selector': (command) => `${command ? `vigil ${command} takes no --selector: ` : ''}YAML selectors (${SELECTORS_FILE}) go with the commands that take -s for nodes: compile, check, seed, snapshot, run, test, build, ls, show, source freshness, sync, retention`,
  deps: 'Vigil has no packages: macros live in macros/ (vigil init --from-dbt copies them)',
  '--full-refresh': (command) =>
    command === 'seed'
      ? 'vigil seed reloads every seed in full each time; --full-refresh goes with run and build (incremental models) and sync'
      : command === 'retry'
        ? 'vigil retry re-uses the --full-refresh of the run it retries, when that run had it'
        : `${command ? `vigil ${command} takes no --full-refresh: ` : ''}it goes with run and build (incremental models) and sync`,
  // (demo and debug take -t alone)
  '--vars': (command) => (command === 'demo' || command === 'debug' ? `vigil ${command} compiles no model, so --vars would change nothing: give --vars to build, run or compile` : undefined),
};

/** Errors of the file system that the machine or the project's layout causes, not vigil: what a user can act on. */
const FS_IN_THE_WAY: Record<string, string> = {
  ENOTDIR: 'a file is where a folder should be',
  EISDIR: 'a folder is where a file should be',
  EEXIST: 'a file is where a folder should be',
};
const FS_REFUSED: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  // (a file over the process's size limit, ulimit -f, or over what the file system holds)
  EFBIG: 'file too large for the file system or the file size limit (ulimit -f)',
};

/**
 * A file-system error on a path (a file named `target` where target/ goes, a read-only or full
 * disk) as one line and its exit code: 2 when the project's layout is in the way, 1 when the
 * machine refused; undefined for anything else (a bug of vigil's: the stack is printed).
 */
function fileSystemProblem(e: unknown): { message: string; code: number } | undefined {
  const x = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof x.code !== 'string') return undefined;
  // (a disk that fills during a write says no path: the machine refused all the same)
  if (typeof x.path !== 'string') return x.code in FS_REFUSED ? { message: `cannot ${x.syscall ?? 'write'}: ${FS_REFUSED[x.code]} (${x.code})`, code: 1 } : undefined;
  const why = x.code === 'EEXIST' && x.syscall !== 'mkdir' ? 'it exists already' : (FS_IN_THE_WAY[x.code] ?? FS_REFUSED[x.code]);
  if (!why) return undefined;
  // (a rename, copy or link names its source in `path` and the place it failed to write in `dest`)
  const where = (x as { dest?: unknown }).dest;
  return { message: `cannot ${x.syscall ?? 'use'} ${shownPath(typeof where === 'string' ? where : x.path)}: ${why} (${x.code})`, code: x.code in FS_IN_THE_WAY ? 2 : 1 };
}

export function reportError(e: unknown): number {
  if (e instanceof CommanderError) {
    // (commander.help with an error exit code: a command group without its subcommand, `vigil
    // alerts` from a script whose $SUBCMD is unset, or help for a typo: help shown, exit 2)
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    if (e.code === 'commander.help') return e.exitCode === 0 ? 0 : 2;
    return 2; // commander already printed the message
  }
  if (e instanceof ProjectError) {
    for (const d of e.diagnostics) err(formatDiagnostic(d));
    const n = e.diagnostics.filter((d) => d.severity === 'error').length;
    err(`\n${n} error${n === 1 ? '' : 's'} found; nothing was run.`);
    return 2;
  }
  if (e instanceof UsageError) {
    err(`error: ${e.message}`);
    return 2;
  }
  if (e instanceof WarehouseError) {
    err(`error: ${e.message}`);
    return 1;
  }
  const fsProblem = fileSystemProblem(e);
  if (fsProblem) {
    err(`error: ${fsProblem.message}`);
    return fsProblem.code;
  }
  const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
  err(`internal error (this is a bug in vigil, please report it):\n${msg}`);
  return 3;
}
