/**
 * The suite's command host (cli-host.mjs, cli-client.ts): commands run one after another in one
 * process answer as `vigil` processes do, whatever ran before them there — folders, environment,
 * secrets, --state manifests, template dialect — and a host that dies or hangs answers like a
 * process that did.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASIC_PROJECT_YAML, COUNTS_ALERT, hostEnv, makeProject, removeDir, vigil, vigilProcess } from '../helpers.js';
import { hostPid, runInHost, runInHostAsync } from './cli-client.js';
import { FAKE_PD_CERT_PATH, startFakePagerDuty } from './fake-pagerduty.js';
import { startFakeMetabase } from './fake-metabase.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function project(name: string, models: Record<string, string>): string {
  const files: Record<string, string> = { 'project.yaml': BASIC_PROJECT_YAML.replace('name: fixture', `name: ${name}`) };
  for (const [m, sql] of Object.entries(models)) files[`models/${m}.sql`] = sql;
  const dir = makeProject(files);
  dirs.push(dir);
  return dir;
}


describe('the command host answers as a process would', () => {
  it('each command in its own folder, with its own environment, and its own exit code', () => {
    const a = project('alpha', { one: 'select 1 as x' });
    const b = project('beta', { two: "select '{{ env_var(\"HOST_TEST_VALUE\") }}' as v" });
    for (const [dir, args, extra] of [
      [a, ['ls'], {}],
      [b, ['compile'], { HOST_TEST_VALUE: 'from-b' }],
      [a, ['ls', '-s', 'nope'], {}],
      [b, ['compile'], {}],
      [a, ['compile'], {}],
    ] as Array<[string, string[], Record<string, string>]>) {
      const inHost = runInHost(dir, args, hostEnv(extra), 60_000);
      const proc = vigilProcess(dir, args, extra);
      const same = (s: string) => s.replace(/in \d+\.\d+s/g, 'in Ns');
      expect({ code: inHost.code, stdout: same(inHost.stdout), stderr: same(inHost.stderr) }, `${args.join(' ')} in ${dir}`).toEqual({ code: proc.code, stdout: same(proc.stdout), stderr: same(proc.stderr) });
    }
  });

  it('a secret of this command is redacted though an earlier command in the host had another environment', () => {
    const dir = project('gamma', { one: 'select 1 as x' });
    expect(vigil(dir, ['ls', '-s', 'hostsecretvalue123']).stderr).toContain("'hostsecretvalue123'");
    const r = vigil(dir, ['ls', '-s', 'hostsecretvalue123'], { VIGIL_SECRET_HOST_TEST: 'hostsecretvalue123' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('<redacted:VIGIL_SECRET_HOST_TEST>');
    expect(r.stderr).not.toContain('hostsecretvalue123');
    // and the next command, without it, is not redacted on its account
    expect(vigil(dir, ['ls', '-s', 'hostsecretvalue123']).stderr).toContain("'hostsecretvalue123'");
  });

  it('--state reads the manifest of the folder it names now, not one read earlier from another project', () => {
    const p1 = project('p_one', { a: 'select 1 as x', b: 'select 2 as x' });
    const p2 = project('p_two', { a: 'select 10 as x' });
    const save = (p: string) => {
      expect(vigil(p, ['compile']).code).toBe(0);
      mkdirSync(join(p, 'prod'), { recursive: true });
      cpSync(join(p, 'target/manifest.json'), join(p, 'prod/manifest.json'));
    };
    save(p1);
    save(p2);
    for (const p of [p1, p2]) {
      const r = vigil(p, ['ls', '-s', 'state:modified', '--state', 'prod', '--allow-empty']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim(), p).toBe('');
    }
    // a model added: new against the saved manifest; the manifest saved again: read again
    writeFileSync(join(p2, 'models/c.sql'), 'select 3 as x');
    expect(vigil(p2, ['ls', '-s', 'state:new', '--state', 'prod']).stdout).toContain('c');
    save(p2);
    const again = vigil(p2, ['ls', '-s', 'state:new', '--state', 'prod', '--allow-empty']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe('');
    // another project's manifest is refused every time, not only the first
    cpSync(join(p1, 'prod/manifest.json'), join(p2, 'prod/manifest.json'));
    for (let i = 0; i < 2; i++) expect(vigil(p2, ['ls', '-s', 'state:new', '--state', 'prod']).stderr).toContain("that manifest is project 'p_one', this is 'p_two'");
  });

  it('an alert template may slice lists and say True whether or not a model was compiled first', () => {
    const dir = makeProject({
      'models/counts.sql': "select 'summarize' as capability, 12 as n",
      'alerts/a.yml': COUNTS_ALERT.replace('summary: "{{ capability }} has {{ n }}"', `summary: "{{ capability }} has {{ n }}{% if True %} ({{ [n, 1][0:1] | join(',') }}, {{ {'k': 1}.items() | length }}){% endif %}"`),
    });
    dirs.push(dir);
    // a fresh process that compiles nothing before reading the alert files
    const check = vigilProcess(dir, ['alerts', 'check']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(vigilProcess(dir, ['build']).code).toBe(0);
    const r = vigilProcess(dir, ['alerts', 'evaluate', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('summarize has 12 (12, 1)');
  });

  it('a command past its time is killed with its host and answers code -1; a host killed mid-command too; the next command gets a new host', () => {
    const dir = project('delta', { one: 'select 1 as x' });
    const slow = runInHost(dir, ['compile', '--watch'], hostEnv({}), 3_000);
    expect(slow.code).toBe(-1);
    expect(slow.stderr).toMatch(/vigil test host killed after 3000 ms running vigil compile --watch/);
    expect(runInHost(dir, ['ls'], hostEnv({}), 60_000).stdout).toContain('one');
    // the host is killed from outside while it runs a command (kill -9, the out-of-memory killer)
    const pid = hostPid()!;
    spawn('sh', ['-c', `sleep 1; kill -9 ${pid}`], { stdio: 'ignore' }).unref();
    const killed = runInHost(dir, ['compile', '--watch'], hostEnv({}), 60_000);
    expect(killed.code).toBe(-1);
    expect(killed.stderr).toMatch(/vigil test host died running vigil compile --watch/);
    const next = runInHost(dir, ['ls'], hostEnv({}), 60_000);
    expect(next.code).toBe(0);
    expect(hostPid()).not.toBe(pid);
  });

  it('NODE_EXTRA_CA_CERTS: a command trusts the certificates it names, as a process started with it does, and the next command without it does not', async () => {
    const pd = await startFakePagerDuty();
    try {
      const dir = project('epsilon', { counts: "select 'chat' as capability, 12 as n" });
      mkdirSync(join(dir, 'alerts'), { recursive: true });
      writeFileSync(join(dir, 'alerts', 'routes.yaml'), 'receivers:\n  - name: pd\n    pagerduty: { routing_key_env: PD_KEY, server_env: PD_SERVER }\nroute:\n  receiver: pd\n');
      const env = { PD_KEY: 'R0UT1NGKEY0123456789abcdefHOSTCA', PD_SERVER: pd.server };
      const args = ['alerts', 'notify-test', 'pd'];
      const trusted = await runInHostAsync(dir, args, hostEnv({ ...env, NODE_EXTRA_CA_CERTS: pd.caPath }), 60_000);
      expect(trusted.code, trusted.stderr).toBe(0);
      expect(trusted.stdout).toContain('sent [TEST] trigger to pd');
      expect(pd.events.map((e) => e.event_action)).toEqual(['trigger', 'resolve']);
      // without it the fake's self-signed certificate is refused, in the host as in a process
      const refused = await runInHostAsync(dir, args, hostEnv(env), 60_000);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/certificate/i);
      expect(pd.events).toHaveLength(2);
    } finally {
      await pd.close();
    }
  });

  it("NODE_EXTRA_CA_CERTS: fetch's pooled connections and TLS sessions of one command do not let the next, without the certificate, through", async () => {
    const mb = await startFakeMetabase({ apiKey: 'mb_api_key_hostca0123456789', tls: true });
    try {
      const dir = project('zeta', { daily: "select current_date as date, 12 as n" });
      mkdirSync(join(dir, 'dashboards'), { recursive: true });
      writeFileSync(join(dir, 'dashboards', 'ops.json'), JSON.stringify({ name: 'ops', title: 'Ops', tabs: [{ name: 'main', title: 'Main', tiles: [{ id: 'total', type: 'kpi', title: 'Total', model: 'daily', measures: [{ name: 'total', column: 'n', agg: 'sum' }], layout: { x: 0, y: 0, w: 4, h: 2 } }] }] }));
      const args = ['dashboards', 'publish', '--metabase', mb.url];
      const env = { METABASE_API_KEY: 'mb_api_key_hostca0123456789' };
      const trusted = await runInHostAsync(dir, args, hostEnv({ ...env, NODE_EXTRA_CA_CERTS: FAKE_PD_CERT_PATH }), 60_000);
      expect(trusted.code, trusted.stdout + trusted.stderr).toBe(0);
      const sent = mb.log.length;
      expect(sent).toBeGreaterThan(0);
      const refused = await runInHostAsync(dir, args, hostEnv(env), 60_000);
      expect(refused.code, refused.stdout + refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(/TLS verification failed \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
      expect(mb.log.length).toBe(sent);
    } finally {
      await mb.close();
    }
  });
});
