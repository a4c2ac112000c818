/**
 * `vigil dashboards render --png`: one PNG per tab of a rendered dashboard page, taken with
 * the system's Chromium through playwright-core (which never downloads a browser).
 */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { createHash } from 'node:crypto';

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

/**
 * A tab's picture is named after its title, as a reader knows it: 'Overview' -> `Overview.png`
 * (what seed 001 asks for). Characters a file name cannot hold become '-'. A title already
 * taken in this render (`taken`: two dashboards with a tab of the same title) is prefixed with
 * its dashboard's name: `cost_governance-Overview.png`.
 */
export function pngName(title: string, dashboard: string, taken: Set<string>): string {
  // a file name holds 255 bytes: a longer title is cut (at a character) and told apart by a hash
  const short = (x: string) => {
    if (Buffer.byteLength(x) <= 100) return x;
    let cut = '';
    for (const ch of x) {
      if (Buffer.byteLength(cut + ch) > 80) break;
      cut += ch;
    }
    return `${cut.trimEnd()}~${createHash('sha256').update(x).digest('hex').slice(0, 8)}`;
  };
  const safe = (x: string) => short(x.trim().replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '-').replace(/\s+/g, ' ')) || 'tab';
  let name = `${safe(title)}.png`;
  if (taken.has(name.toLowerCase())) name = `${safe(dashboard)}-${name}`;
  for (let i = 2; taken.has(name.toLowerCase()); i++) name = `${safe(dashboard)}-${safe(title)}-${i}.png`;
  taken.add(name.toLowerCase());
  return name;
}

/**
 * Launches headless Chromium at `executablePath` (default: findChromium()) for screenshotTabs():
 * a launch costs ~2 s of CPU, so a render launches one for all its pages.
 */
export async function launchScreenshotBrowser(executablePath = findChromium() ?? '/usr/bin/chromium'): Promise<Browser> {
  if (!existsSync(executablePath)) throw new Error(`Chromium not found at ${executablePath} (install Debian's chromium or set VIGIL_CHROMIUM)`);
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath, args: ['--no-sandbox'] });
}

/**
 * One context and one tab of a browser of launchScreenshotBrowser(), kept for every page of a
 * render: each page is opened in the same tab, one after the other. A context per page started
 * a renderer process per page, and a first picture in a fresh renderer costs several times the
 * next one (the render's five shipped pages: 17.0 s of CPU in their own contexts, 7.6 s in one
 * tab; docs/benchmarks.md). The pages are the render's own static files.
 */
export interface ScreenshotSession {
  /** see screenshotTabs() */
  shoot(htmlFile: string, outDir: string, taken?: Set<string>): Promise<Array<{ tab: string; file: string; bytes: number }>>;
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
      async shoot(htmlFile, outDir, taken = new Set<string>()) {
        mkdirSync(outDir, { recursive: true });
        errors = [];
        const shots: Array<{ tab: string; file: string; bytes: number }> = [];
        await page.goto(pathToFileURL(resolve(htmlFile)).href, { waitUntil: 'load' });
        // the tab bar sticks to the top when scrolling; in a section's picture it would cover the top
        await page.addStyleTag({ content: 'nav.tabbar{position:static !important} html{scroll-behavior:auto !important}' });
        const dashboard = (await page.getAttribute('body', 'data-dashboard')) || basename(htmlFile).replace(/\.html?$/i, '');
        const tabs = await page.$$eval('section[id^="tab-"]', (els) => els.map((e) => ({ tab: e.id.slice('tab-'.length), title: e.getAttribute('data-title') || e.id.slice('tab-'.length) })));
        for (const { tab, title } of tabs) {
          const file = join(outDir, pngName(title, dashboard, taken));
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
 * `outDir`, each the whole section (which says as of when), named by pngName() after the tab's
 * `data-title`. The dashboard name is the page's `data-dashboard` (else the file name). Console
 * errors, page errors and failed requests make it throw a ScreenshotError (after all screenshots
 * are written) listing them. `opts.taken`: names used by earlier pages of the same render. A
 * render of several pages uses one openScreenshotSession() for all of them instead.
 */
export async function screenshotTabs(
  htmlFile: string,
  outDir: string,
  opts: ScreenshotOptions & { taken?: Set<string> } = {},
): Promise<Array<{ tab: string; file: string; bytes: number }>> {
  const browser = await launchScreenshotBrowser(opts.executablePath);
  try {
    const session = await openScreenshotSession(browser, opts);
    try {
      return await session.shoot(htmlFile, outDir, opts.taken);
    } finally {
      await session.close();
    }
  } finally {
    await browser.close();
  }
}
