/**
 * A notification sent whose outcome the alert state cannot take (the disk filled, the folder went
 * away between the send and the save that records it): the run knows it went out, the next one
 * does not. The failing run says which notifications were sent and what the next run will make of
 * them — for a webhook that holds uncertain posts, the exact `outbox --drop` that settles one —
 * instead of only the file system's error; and the message is never posted twice.
 * Real HTTP server on 127.0.0.1; the fault is a file put where the state's folder was, by the
 * receiver, while it answers the post.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COUNTS_ALERT, makeProject, removeDir, vigil, vigilAsync, vigilProcessAsync } from '../helpers.js';

let dir: string;
let server: Server;
let url = '';
const posts: string[] = [];
/** set by the test: what the receiver does while a post arrives */
let onPost: () => void = () => {};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      posts.push(body);
      onPost();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T00000000/B00000000/unsavedtoken0123`;
  dir = makeProject({
    'project.yaml': `name: unsaved
default_target: dev
targets:
  dev: { type: duckdb, path: .vigil/dev.duckdb, schema: analytics }
alerts: { state: file, state_file: state/alert-state.json }
`,
    'models/counts.sql': "{{ config(materialized='table') }}\nselect 'chat' as capability, 12 as n",
    'alerts/a.yaml': COUNTS_ALERT,
    'alerts/routes.yaml': 'receivers:\n  - name: hook\n    slack: { webhook_url_env: SLACK_WEBHOOK_URL }\nroute:\n  receiver: hook\n',
  });
  expect(vigil(dir, ['build']).code).toBe(0);
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  if (dir) removeDir(dir);
});

describe('a sent notification the alert state cannot record', () => {
  it('says it was sent and how to settle it; the next run holds it, and the message is posted once', async () => {
    const state = join(dir, 'state');
    onPost = () => {
      // the state's folder gone, a file in its place: the save after the post fails
      renameSync(state, `${state}.away`);
      writeFileSync(state, '');
    };
    // (a process of its own, which ends: the lock it could not release is taken over at once, as after a real run)
    const r = await vigilProcessAsync(dir, ['alerts', 'evaluate', '--delivery-timeout', '4s'], { SLACK_WEBHOOK_URL: url });
    onPost = () => {};
    expect(posts).toHaveLength(1);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).not.toContain('internal error');
    const id = /could not record that this notification was sent \((\S+)\)/.exec(r.stderr)?.[1];
    // (was: only `error: cannot open state/alert-state.json.lock: a file is where a folder should be`)
    expect(id, r.stderr).toBeDefined();
    expect(r.stderr).toContain(`the next run holds it as uncertain although it was posted: then \`vigil alerts outbox --drop ${id}\` settles it`);

    // the folder back: the next run holds it (not posted again), and the drop the run named settles it
    rmSync(state);
    renameSync(`${state}.away`, state);
    const next = await vigilAsync(dir, ['alerts', 'evaluate', '--delivery-timeout', '4s'], { SLACK_WEBHOOK_URL: url });
    expect(next.code, `${r.stderr}\n---\n${next.stdout}${next.stderr}`).toBe(1);
    expect(next.stdout + next.stderr).toContain(`${id} uncertain`);
    expect(posts).toHaveLength(1);
    expect(vigil(dir, ['alerts', 'outbox', '--drop', id!]).code).toBe(0);
    const after = await vigilAsync(dir, ['alerts', 'evaluate', '--delivery-timeout', '4s'], { SLACK_WEBHOOK_URL: url });
    expect(after.code, after.stderr).toBe(0);
    expect(posts).toHaveLength(1);
  });
});
