/**
 * `vigil dashboards render --png`: one PNG per tab of a rendered dashboard page, taken with
 * the system's Chromium through playwright-core (which never downloads a browser).
 */
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { UsageError } from '../errors.js';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { pidAlive } from '../run/cas-document.js';
import { readableFileNamePart } from '../file-names.js';

/**
 * The Chromium to use: $VIGIL_CHROMIUM, else Debian's /usr/bin/chromium or chromium-browser. A
 * VIGIL_CHROMIUM set (not empty) to what is not an executable file is a UsageError naming it (it
 * was passed over for /usr/bin/chromium without a word: the pictures came from another browser).
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const set = env.VIGIL_CHROMIUM;
  if (set) {
    const st = statSync(set, { throwIfNoEntry: false });
    let why: string | undefined;
    if (!st) why = 'there is no such file';
    else if (!st.isFile()) why = 'it is not a file';
    else {
      try {
        accessSync(set, constants.X_OK);
      } catch {
        why = 'it is not executable';
      }
    }
    if (why) throw new UsageError(`VIGIL_CHROMIUM=${set}: ${why}; set it to the Chromium executable (e.g. /usr/bin/chromium), or unset it to use Debian's`);
    return set;
  }
  for (const c of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(c)) return c;
  return undefined;
}

export interface ScreenshotOptions {
  executablePath?: string;
  /** Viewport width in CSS pixels (default 1328: the 1280 px grid and the page's padding). */
  width?: number;
  /** Device pixel ratio (default 1; 2 for sharper, four times larger, images). */
  scale?: number;
}

export class ScreenshotError extends Error {
  constructor(
    message: string,
    readonly consoleErrors: string[],
    readonly shots: Array<{ tab: string; file: string; bytes: number }>,
  ) {
    super(message);
    this.name = 'ScreenshotError';
  }
}

/** A file name's part for a tab title or dashboard name (readableFileNamePart). */
function fileSafe(x: string): string {
  return readableFileNamePart(x, 'tab');
}

/** The tabs of a dashboard, as pngNames() names their pictures. */
export interface TabsOf {
  name: string;
  tabs: Array<{ name: string; title: string }>;
}

/** Pictures whose tab title several tabs share, each named with its dashboard (pngNames). */
export interface SharedTitle {
  /** the file name the title alone would give ("Overview.png") */
  bare: string;
  /** the tabs that have it: dashboard, tab name, and their pictures' names */
  tabs: Array<{ dashboard: string; tab: string; file: string }>;
}

/**
 * The names of the tabs' pictures, by dashboard and tab name: a tab's title, as a reader knows
 * it ('Overview' -> `Overview.png`, what seed 001 asks for), when no other tab of `dashboards`
 * (the project's, all of them: not only those rendered) has a title giving the same file name,
 * letter case aside; else, for every tab that shares it, the dashboard's name in front
 * (`cost_governance-Overview.png`), and `shared` lists them. A name taken after that, in the
 * order of the dashboards' names and then of their tabs (a title like another's prefixed name:
 * its dashboard's name in front; two tabs of one dashboard with the same title: a number). Which
 * picture has which name depends on the project's tabs only, never on what else a render draws.
 */
export function pngNames(dashboards: TabsOf[]): { names: Map<string, Map<string, string>>; shared: SharedTitle[] } {
  const ordered = [...dashboards].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const tabs = ordered.flatMap((d) => d.tabs.map((t) => ({ dashboard: d.name, tab: t.name, title: t.title, bare: `${fileSafe(t.title)}.png` })));
  const count = new Map<string, number>();
  for (const t of tabs) count.set(t.bare.toLowerCase(), (count.get(t.bare.toLowerCase()) ?? 0) + 1);
  const wanted = tabs.map((t) => ({ ...t, file: count.get(t.bare.toLowerCase())! > 1 ? `${fileSafe(t.dashboard)}-${t.bare}` : t.bare }));
  const taken = new Set<string>();
  const names = new Map<string, Map<string, string>>();
  const shared = new Map<string, SharedTitle>();
  for (const t of wanted) {
    let file = t.file;
    if (taken.has(file.toLowerCase())) file = `${fileSafe(t.dashboard)}-${t.bare}`;
    for (let i = 2; taken.has(file.toLowerCase()); i++) file = `${fileSafe(t.dashboard)}-${fileSafe(t.title)}-${i}.png`;
    taken.add(file.toLowerCase());
    if (!names.has(t.dashboard)) names.set(t.dashboard, new Map());
    names.get(t.dashboard)!.set(t.tab, file);
    if (count.get(t.bare.toLowerCase())! > 1) {
      const key = t.bare.toLowerCase();
      if (!shared.has(key)) shared.set(key, { bare: t.bare, tabs: [] });
      shared.get(key)!.tabs.push({ dashboard: t.dashboard, tab: t.tab, file });
    }
  }
  return { names, shared: [...shared.values()] };
}

/**
 * Launches headless Chromium at `executablePath` (default: findChromium()) for screenshotTabs():
 * a launch costs ~2 s of CPU, so a render launches one for all its pages.
 */
export async function launchScreenshotBrowser(executablePath = findChromium() ?? '/usr/bin/chromium'): Promise<Browser> {
  if (!existsSync(executablePath)) throw new Error(`Chromium not found at ${executablePath} (install Debian's chromium or set VIGIL_CHROMIUM)`);
  const { chromium } = await import('playwright-core');
  // Chromium writes its crash-report settings under $XDG_CONFIG_HOME (~/.config/chromium) and GTK
  // its dconf cache under $XDG_CACHE_HOME, whatever profile playwright gives it: both go to a
  // folder of its own, removed when it closes (a render writes nothing outside its project).
  // (HOME is kept: fonts a user installed under it still draw.)
  const env = chromiumScratch();
  const gone = () => rmSync(env.scratch, { recursive: true, force: true });
  try {
    const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'], env: env.env });
    browser.on('disconnected', gone);
    return browser;
  } catch (e) {
    gone();
    throw e;
  }
}

/** The start of the name of a scratch folder of launchScreenshotBrowser(), in the temporary folder. */
const SCRATCH_PREFIX = 'vigil-chromium-';
/** The file of a scratch folder naming the process that uses it. */
const SCRATCH_OWNER = 'owner.pid';
/** A scratch folder older than this whose process is gone was left by a render killed (kill -9): removed at the next launch. */
const SCRATCH_STALE_MS = 24 * 60 * 60 * 1000;

/**
 * Chromium's environment for a render: $XDG_CONFIG_HOME and $XDG_CACHE_HOME in a scratch folder
 * of its own (`tmp`/vigil-chromium-*), where fontconfig's folders are links to the user's
 * (`fontconfig/` under $XDG_CONFIG_HOME and $XDG_CACHE_HOME, else ~/.config and ~/.cache), when
 * they exist: the user's fonts.conf (aliases, substitutions) still applies to the pictures and
 * fontconfig's cache stays warm. Scratch folders of renders killed before they closed (a day
 * old, their process gone) are removed first.
 */
export function chromiumScratch(base = process.env, tmp = tmpdir(), now = Date.now()): { scratch: string; env: Record<string, string> } {
  sweepScratch(tmp, now);
  const scratch = mkdtempSync(join(tmp, SCRATCH_PREFIX));
  writeFileSync(join(scratch, SCRATCH_OWNER), String(process.pid));
  const home = base.HOME || homedir();
  // (a relative XDG_* is not one, by the XDG spec: the default then)
  const xdg = (name: 'XDG_CONFIG_HOME' | 'XDG_CACHE_HOME', fallback: string) => {
    const set = base[name];
    return set && isAbsolute(set) ? set : join(home, fallback);
  };
  const env: Record<string, string> = { ...(base as Record<string, string>) };
  for (const [name, fallback, own] of [['XDG_CONFIG_HOME', '.config', 'config'], ['XDG_CACHE_HOME', '.cache', 'cache']] as const) {
    const dir = join(scratch, own);
    mkdirSync(dir);
    const users = join(xdg(name, fallback), 'fontconfig');
    if (existsSync(users)) symlinkSync(users, join(dir, 'fontconfig'));
    env[name] = dir;
  }
  return { scratch, env };
}

/** Removes the scratch folders in `tmp` (the user's own) of launches a day old whose process is gone (killed before Chromium closed); any it cannot, it leaves. */
function sweepScratch(tmp: string, now: number): void {
  let names: string[];
  try {
    names = readdirSync(tmp).filter((n) => n.startsWith(SCRATCH_PREFIX));
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const dir = join(tmp, name);
    try {
      const st = statSync(dir, { throwIfNoEntry: false });
      if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid) || now - st.mtimeMs < SCRATCH_STALE_MS) continue;
      // (one without its owner file is older than the file: its render is long gone)
      const owner = existsSync(join(dir, SCRATCH_OWNER)) ? Number(readFileSync(join(dir, SCRATCH_OWNER), 'utf8').trim()) : undefined;
      if (owner !== undefined && Number.isInteger(owner) && owner > 0 && pidAlive(owner)) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // (removed by another render meanwhile, or not ours to remove: left)
    }
  }
}

/**
 * One context and one tab of a browser of launchScreenshotBrowser(), kept for every page of a
 * render: each page is opened in the same tab, one after the other. A context per page started
 * a renderer process per page, and a first picture in a fresh renderer costs several times the
 * next one (the render's five shipped pages: 17.0 s of CPU in their own contexts, 7.6 s in one
 * tab; docs/benchmarks.md). The pages are the render's own static files.
 */
export interface ScreenshotSession {
  /** see screenshotTabs(); `names`: the pictures' names by tab name (pngNames()), else the page's own */
  shoot(htmlFile: string, outDir: string, names?: Map<string, string>): Promise<Array<{ tab: string; file: string; bytes: number }>>;
  close(): Promise<void>;
}

export async function openScreenshotSession(browser: Browser, opts: Pick<ScreenshotOptions, 'width' | 'scale'> = {}): Promise<ScreenshotSession> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1328, height: 900 }, deviceScaleFactor: opts.scale ?? 1 });
  try {
    const page = await context.newPage();
    // what the page being shot reports (reset for each page)
    let errors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
    });
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
    page.on('requestfailed', (req) => errors.push(`request failed: ${req.url()} (${req.failure()?.errorText ?? 'unknown'})`));
    return {
      async shoot(htmlFile, outDir, names) {
        mkdirSync(outDir, { recursive: true });
        errors = [];
        const shots: Array<{ tab: string; file: string; bytes: number }> = [];
        await page.goto(pathToFileURL(resolve(htmlFile)).href, { waitUntil: 'load' });
        // the tab bar sticks to the top when scrolling; in a section's picture it would cover the top
        await page.addStyleTag({ content: 'nav.tabbar{position:static !important} html{scroll-behavior:auto !important}' });
        const dashboard = (await page.getAttribute('body', 'data-dashboard')) || basename(htmlFile).replace(/\.html?$/i, '');
        const tabs = await page.$$eval('section[id^="tab-"]', (els) => els.map((e) => ({ tab: e.id.slice('tab-'.length), title: e.getAttribute('data-title') || e.id.slice('tab-'.length) })));
        // (names without one of the page's tabs were made for another page: its own tabs name them)
        const own = names && tabs.every((t) => names.has(t.tab)) ? names : pngNames([{ name: dashboard, tabs: tabs.map((t) => ({ name: t.tab, title: t.title })) }]).names.get(dashboard) ?? new Map<string, string>();
        for (const { tab } of tabs) {
          const file = join(outDir, own.get(tab)!);
          await page.locator(`[id="tab-${tab}"]`).screenshot({ path: file, animations: 'disabled' });
          shots.push({ tab, file, bytes: statSync(file).size });
        }
        const seen = errors;
        if (seen.length) throw new ScreenshotError(`${htmlFile}: ${seen.length} error(s) in the browser:\n${seen.join('\n')}`, seen, shots);
        return shots;
      },
      close: () => context.close(),
    };
  } catch (e) {
    await context.close();
    throw e;
  }
}

/**
 * Opens `htmlFile` in headless Chromium and writes one PNG per `<section id="tab-...">` into
 * `outDir`, each the whole section (which says as of when), named by `opts.names` (tab name ->
 * file name: pngNames() over the project's dashboards), else by pngNames() over the page's own
 * tabs (after their `data-title`). The dashboard name is the page's `data-dashboard` (else the
 * file name). Console errors, page errors and failed requests make it throw a ScreenshotError
 * (after all screenshots are written) listing them. A render of several pages uses one
 * openScreenshotSession() for all of them instead.
 */
export async function screenshotTabs(
  htmlFile: string,
  outDir: string,
  opts: ScreenshotOptions & { names?: Map<string, string> } = {},
): Promise<Array<{ tab: string; file: string; bytes: number }>> {
  const browser = await launchScreenshotBrowser(opts.executablePath);
  try {
    const session = await openScreenshotSession(browser, opts);
    try {
      return await session.shoot(htmlFile, outDir, opts.names);
    } finally {
      await session.close();
    }
  } finally {
    await browser.close();
  }
}
