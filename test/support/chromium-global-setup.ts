/**
 * Vitest global setup: starts ONE headless Chromium (Debian's, via playwright-core's
 * `launchServer`) for the whole test run and provides its WebSocket endpoint to tests as
 * `inject('chromiumWs')` (empty when there is no Chromium: the browser tests skip themselves).
 * Tests connect with `sharedBrowser()` (./browser.ts); each opens its own pages, and closing a
 * connected browser closes only what that test opened. A launch costs ~2 s of CPU on the 2-core
 * machine; six files launched their own before.
 */
import type { TestProject } from 'vitest/node';
import { findChromium } from '../../src/dashboards/screenshot.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** WebSocket endpoint of the shared headless Chromium, or '' when none is installed. */
    chromiumWs: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const executablePath = findChromium();
  if (!executablePath) {
    project.provide('chromiumWs', '');
    return async () => {};
  }
  const { chromium } = await import('playwright-core');
  // RenderDocument off: a navigation reuses its frame instead of building a new one; the docs
  // site's test loads ~210 pages one after another (80 against 97 ms a page, 15 % less CPU)
  const server = await chromium.launchServer({ executablePath, args: ['--no-sandbox', '--disable-features=RenderDocument'] });
  project.provide('chromiumWs', server.wsEndpoint());
  return async () => {
    await server.close();
  };
}
