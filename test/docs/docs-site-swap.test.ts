/**
 * How `vigil docs generate` puts its site in place of target/docs beside other generates: one on
 * another host sharing target/ (NFS), whose folder this host cannot tell dead, and one swapping its
 * site in at the same moment (two generates at once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get, request } from 'node:http';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { makeProject, removeDir, VIGIL, vigil } from '../helpers.js';
import { swapEntries, swapIn } from '../../src/cli/docs-commands.js';
import { WarehouseError } from '../../src/errors.js';

let dir: string;
beforeAll(() => {
  dir = makeProject({ 'models/small.sql': 'select 1 as id' });
});
afterAll(() => {
  if (dir) removeDir(dir);
});

/** A folder as a generate in progress leaves it beside target/docs, with a page in it. */
function inProgress(name: string): string {
  const f = join(dir, 'target', name);
  mkdirSync(join(f, 'nodes'), { recursive: true });
  writeFileSync(join(f, 'index.html'), 'half');
  return f;
}

describe('vigil docs generate beside other generates', () => {
  it("keeps another host's folder in a shared target/ (its pid means nothing here) and removes this host's of a process gone", () => {
    mkdirSync(join(dir, 'target'), { recursive: true });
    // a process id no process on this host has (above the kernel's pid_max): on the other host, a live generate
    const theirs = inProgress('docs.build-2%2Eexample%2Ecom.4194399.0a1b2c3d.new');
    const ours = inProgress(`docs.${encodeURIComponent(hostname()).replace(/\./g, '%2E')}.4194399.0a1b2c3d.new`);
    const r = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(r.code, r.stderr).toBe(0);
    // (was: named by pid alone, another host's folder was removed under its live generate, which
    // then wrote on into a new folder missing the pages written before and swapped that in)
    expect(readFileSync(join(theirs, 'index.html'), 'utf8')).toBe('half');
    expect(existsSync(ours)).toBe(false);
    expect(readdirSync(join(dir, 'target')).filter((f) => f.startsWith('docs.'))).toEqual(['docs.build-2%2Eexample%2Ecom.4194399.0a1b2c3d.new']);
    expect(readFileSync(join(dir, 'target/docs/index.html'), 'utf8')).toContain('<html');    removeDir(theirs);
  });

  /** A site folder holding one page that says whose it is. */
  function site(path: string, who: string): void {
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'index.html'), who);
  }

  it('puts its site in when another generate swaps its own in between its two renames', () => {
    const base = join(dir, 'swap-a');
    site(join(base, 'docs'), 'previous');
    site(join(base, 'docs.h.1.aa.new'), 'mine');
    let renames = 0;
    swapIn(join(base, 'docs.h.1.aa.new'), join(base, 'docs'), join(base, 'docs.h.1.aa.old'), (from, to) => {
      // the other generate: right after this one moved the previous site aside, its own site goes in
      if (++renames === 2) site(join(base, 'docs'), 'other');
      renameSync(from, to);
    });
    expect(readFileSync(join(base, 'docs/index.html'), 'utf8')).toBe('mine');
    // the other generate's site moved aside, for the caller to remove; nothing else left
    expect(readdirSync(base).sort()).toEqual(['docs', 'docs.h.1.aa.old']);
  });

  it('gives up with a message, a whole site in place, when another generate puts its own in each time (was: an internal error with a stack trace)', () => {
    const base = join(dir, 'swap-c');
    site(join(base, 'docs'), 'previous');
    site(join(base, 'docs.h.1.aa.new'), 'mine');
    let others = 0;
    const e = (() => {
      try {
        swapIn(join(base, 'docs.h.1.aa.new'), join(base, 'docs'), join(base, 'docs.h.1.aa.old'), (from, to) => {
          if (from.endsWith('.new')) site(join(base, 'docs'), `other ${++others}`);
          renameSync(from, to);
        });
      } catch (x) {
        return x as Error;
      }
    })();
    expect(e).toBeInstanceOf(WarehouseError);
    expect(e!.message).toMatch(/another vigil docs generate put its own there during each of 10 tries/);
    expect(others).toBe(10);
    expect(readFileSync(join(base, 'docs/index.html'), 'utf8')).toBe('other 10');
    expect(readFileSync(join(base, 'docs.h.1.aa.new/index.html'), 'utf8')).toBe('mine');
  });

  it('puts its site in when another generate moved the previous site aside first', () => {
    const base = join(dir, 'swap-b');
    site(join(base, 'docs'), 'previous');
    site(join(base, 'docs.h.1.aa.new'), 'mine');
    let renames = 0;
    swapIn(join(base, 'docs.h.1.aa.new'), join(base, 'docs'), join(base, 'docs.h.1.aa.old'), (from, to) => {
      // the other generate moved the previous site to its own .old a moment before this one's rename
      if (++renames === 1) renameSync(join(base, 'docs'), join(base, 'docs.h.2.bb.old'));
      renameSync(from, to);
    });
    expect(readFileSync(join(base, 'docs/index.html'), 'utf8')).toBe('mine');
    expect(readdirSync(base).sort()).toEqual(['docs', 'docs.h.2.bb.old']);
  });
});

describe('vigil docs generate into a target/docs that is a mount point or a link (its entries swapped one by one)', () => {
  /** The files under `root`, relative, with their text. */
  function tree(root: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string, pre: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name), `${pre}${e.name}/`);
        else out[`${pre}${e.name}`] = readFileSync(join(d, e.name), 'utf8');
      }
    };
    walk(root, '');
    return out;
  }

  function siteOf(path: string, who: string): void {
    mkdirSync(join(path, 'nodes'), { recursive: true });
    writeFileSync(join(path, 'index.html'), `${who} index`);
    writeFileSync(join(path, 'docs.json'), `${who} json`);
    writeFileSync(join(path, 'nodes/a.html'), `${who} a`);
  }

  it('puts the previous site back whole when a rename fails half-way (was: half of each site served)', () => {
    const base = join(dir, 'entries-a');
    siteOf(join(base, 'docs'), 'previous');
    mkdirSync(join(base, 'docs', '.docs.h.1.aa.new'), { recursive: true });
    siteOf(join(base, 'docs', '.docs.h.1.aa.new'), 'mine');
    const fresh = join(base, 'docs', '.docs.h.1.aa.new');
    const old = join(base, 'docs', '.docs.h.1.aa.old');
    const before = tree(join(base, 'docs'));
    let placedFresh = 0;
    const e = (() => {
      try {
        swapEntries(fresh, join(base, 'docs'), old, (f) => f.startsWith('.docs.'), (from, to) => {
          // the second of the fresh site's entries cannot be moved in
          if (from.startsWith(fresh) && ++placedFresh === 2) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
          renameSync(from, to);
        });
      } catch (x) {
        return x as NodeJS.ErrnoException;
      }
    })();
    expect(e?.code).toBe('EACCES');
    // the previous site as it was, the fresh one whole in its folder, `old` gone
    expect(tree(join(base, 'docs'))).toEqual(before);
    expect(existsSync(old)).toBe(false);
  });

  it('swaps every entry when nothing fails', () => {
    const base = join(dir, 'entries-b');
    siteOf(join(base, 'docs'), 'previous');
    writeFileSync(join(base, 'docs', 'stale.html'), 'stale');
    const fresh = join(base, 'docs', '.docs.h.1.aa.new');
    siteOf(fresh, 'mine');
    const old = join(base, 'docs', '.docs.h.1.aa.old');
    swapEntries(fresh, join(base, 'docs'), old, (f) => f.startsWith('.docs.'));
    const after = tree(join(base, 'docs'));
    expect(Object.entries(after).filter(([k]) => !k.startsWith('.docs.')).sort()).toEqual([
      ['docs.json', 'mine json'],
      ['index.html', 'mine index'],
      ['nodes/a.html', 'mine a'],
    ]);
    expect(Object.keys(after).filter((k) => k.startsWith('.docs.h.1.aa.old/')).length).toBe(4);
  });
});

/** HEAD `path` of the server on `port`: its status, or the error the connection ended with. */
function sendHead(port: number, path: string): Promise<number | string> {
  return new Promise((done) => {
    request({ host: '127.0.0.1', port, path, method: 'HEAD' }, (res) => {
      res.on('end', () => done(res.statusCode ?? 0));
      res.resume();
    })
      .on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message))
      .end();
  });
}

/** GET `path` of the server on `port`: its status, or the error the connection ended with. */
function fetchStatus(port: number, path: string): Promise<number | string> {
  return new Promise((done) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      res.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
      res.on('end', () => done(res.statusCode ?? 0));
      res.resume();
    }).on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

// (a page whose read fails after its stat, as one a generate's swap took away between the two:
// here a link to the server's own /proc/self/mem, which stats as a file and reads as EIO)
describe.skipIf(process.platform !== 'linux')('vigil docs serve', () => {
  it('serves on when a page cannot be read after its stat', async () => {
    const r = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(r.code, r.stderr).toBe(0);
    symlinkSync('/proc/self/mem', join(dir, 'target/docs/gone.html'));
    // a generate's folder inside a mounted or linked target/docs: a site half written (was: served)
    const staging = join(dir, 'target/docs', `.docs.${encodeURIComponent(hostname()).replace(/\./g, '%2E')}.4194399.0a1b2c3d.new`);
    mkdirSync(staging);
    writeFileSync(join(staging, 'index.html'), 'half');
    const { server, port, stderr } = await startServe();
    try {
      expect(await fetchStatus(port, '/gone.html')).not.toBe(200);
      // (was: the stream's unhandled error stopped the server: ECONNREFUSED)
      expect(await fetchStatus(port, '/index.html')).toBe(200);
      expect(await fetchStatus(port, `/${basename(staging)}/index.html`)).toBe(404);
      expect(await fetchStatus(port, `/${basename(staging)}/`)).toBe(404);
      expect(server.exitCode).toBe(null);
      expect(stderr()).not.toMatch(/\n\s+at /);
    } finally {
      server.kill('SIGTERM');
    }
  });

  it('answers a page asked for while a generate swaps its site in once the site is back (was: 404 for a page there before and after)', async () => {
    const r = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(r.code, r.stderr).toBe(0);
    const { server, port } = await startServe();
    try {
      const site = join(dir, 'target/docs');
      const tag = `${encodeURIComponent(hostname()).replace(/\./g, '%2E')}.${process.pid}.0a1b2c3d`;
      // a generate's two renames, with a slow disk's pause between them
      const aside = `${site}.${tag}.old`;
      renameSync(site, aside);
      const during = [fetchStatus(port, '/index.html'), fetchStatus(port, '/docs.json')];
      await new Promise((r) => setTimeout(r, 300));
      renameSync(aside, site);
      expect(await Promise.all(during)).toEqual([200, 200]);
      // a page no site has: still 404, without waiting for a swap that is not there
      const t0 = Date.now();
      expect(await fetchStatus(port, '/no-such-page.html')).toBe(404);
      expect(Date.now() - t0).toBeLessThan(900);
      // a page asked for while a generate writes beside the site (no swap yet: its .new folder
      // alone), or beside what a killed generate left (a .old of a process gone): 404 at once
      // (was: a second late for as long as the generate wrote, and for good beside a killed one's)
      const gone = `${encodeURIComponent(hostname()).replace(/\./g, '%2E')}.4194399.0a1b2c3d`;
      for (const beside of [`${site}.${tag}.new`, `${site}.${gone}.old`, `${site}.${gone}.new`]) mkdirSync(beside);
      try {
        const t1 = Date.now();
        expect(await fetchStatus(port, '/favicon.ico')).toBe(404);
        expect(await sendHead(port, '/no-such-page.html')).toBe(404);
        expect(Date.now() - t1).toBeLessThan(500);
      } finally {
        for (const beside of [`${site}.${tag}.new`, `${site}.${gone}.old`, `${site}.${gone}.new`]) rmSync(beside, { recursive: true });
      }
      // a HEAD while the site is swapped: answered once it is back. The swap must be shorter than
      // the second serve waits: on a loaded machine the 200 ms pause can overrun it, a 404 then
      // being right — such a round is tried again (up to 3), one that kept to it must be 200
      let headStatus: Awaited<ReturnType<typeof sendHead>> | undefined;
      for (let round = 0; round < 3; round++) {
        const t2 = Date.now();
        renameSync(site, aside);
        const head = sendHead(port, '/index.html');
        await new Promise((r) => setTimeout(r, 200));
        renameSync(aside, site);
        const swapMs = Date.now() - t2;
        headStatus = await head;
        if (swapMs < 700 || headStatus === 200) break;
      }
      expect(headStatus).toBe(200);
    } finally {
      server.kill('SIGTERM');
    }
  });
});

/** `vigil docs serve --port 0` in `dir`: the process, its port, what it wrote to stderr so far. */
async function startServe(): Promise<{ server: ReturnType<typeof spawn>; port: number; stderr: () => string }> {
  const server = spawn(process.execPath, [VIGIL, 'docs', 'serve', '--port', '0'], { cwd: dir });
  let stderr = '';
  server.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      server.stdout!.on('data', (b: Buffer) => {
        buf += b.toString();
        const m = /:(\d+)\//.exec(buf);
        if (m) resolve(Number(m[1]));
      });
      server.on('exit', () => reject(new Error(`docs serve ended: ${buf}${stderr}`)));
    });
    return { server, port, stderr: () => stderr };
  } catch (e) {
    server.kill('SIGTERM');
    throw e;
  }
}

// (a mount namespace of its own, where the test may mount: root, or a user namespace allowing it)
const canMount = (() => {
  const r = spawnSync('unshare', ['-m', 'sh', '-c', 'd=$(mktemp -d) && mount -t tmpfs none "$d" && umount "$d"; rc=$?; rmdir "$d"; [ $rc = 0 ] && echo ok'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === 'ok';
})();

describe.skipIf(!canMount)('vigil docs generate into a target/docs that is a mount point', () => {
  it('replaces the site in it (a volume cannot be renamed)', () => {
    const r = vigil(dir, ['docs', 'generate', '--empty-catalog']);
    expect(r.code, r.stderr).toBe(0);
    // (the mount lives as long as the shell: everything is looked at in it)
    const script = [
      'mount -t tmpfs none target/docs || exit 9',
      'echo stale > target/docs/stale.html',
      `"$0" "$1" docs generate --empty-catalog; echo "rc=$?"`,
      'ls -A target/docs',
      'echo --; ls -A target | grep "^docs"',
      'echo --; head -c 200 target/docs/index.html',
    ].join('\n');
    const run = spawnSync('unshare', ['-m', 'sh', '-c', script, process.execPath, VIGIL], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    const [listing, beside, index] = run.stdout.split('--\n');
    // (was: rename target/docs: EBUSY, an internal error with a stack trace)
    expect(listing, run.stderr).toContain('rc=0');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const entries = listing.trim().split('\n').slice(-20);
    expect(entries).toContain('index.html');
    expect(entries).toContain('nodes');
    // the site of this run, nothing of the one before it, no folder of the swap left
    expect(entries).not.toContain('stale.html');
    expect(entries.filter((e) => e.startsWith('.docs.'))).toEqual([]);
    expect(beside.trim().split('\n')).toEqual(['docs']);
    expect(index).toContain('<html');
  });
});

describe('vigil docs generate into a symlinked target/docs', () => {
  it('writes the site into the folder the link names, the link kept (was: the link replaced by a folder of its own, the folder a web server serves left with the old site)', () => {
    const p = makeProject({ 'models/small.sql': 'select 1 as id' });
    try {
      const served = join(p, 'served-site');
      mkdirSync(served);
      writeFileSync(join(served, 'index.html'), 'the old site');
      mkdirSync(join(p, 'target'), { recursive: true });
      symlinkSync(served, join(p, 'target', 'docs'));
      const r = vigil(p, ['docs', 'generate', '--empty-catalog']);
      expect(r.code, r.stderr).toBe(0);
      expect(lstatSync(join(p, 'target', 'docs')).isSymbolicLink()).toBe(true);
      expect(readFileSync(join(served, 'index.html'), 'utf8')).not.toBe('the old site');
      expect(existsSync(join(served, 'docs.json')) || readdirSync(served).length > 1).toBe(true);
      // nothing of the swap left in it or beside it
      expect(readdirSync(served).filter((f) => f.startsWith('.docs.'))).toEqual([]);
      expect(readdirSync(join(p, 'target')).filter((f) => f.startsWith('docs.'))).toEqual([]);
    } finally {
      removeDir(p);
    }
  });
});
