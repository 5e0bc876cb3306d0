/**
 * The browser set-up of the console's end-to-end tests, in one place: Debian's Chromium launched
 * headless by playwright-core (each launch gets a fresh, temporary profile — its own user data
 * dir, removed on close), a page per user in its own context (cookies and sessionStorage apart)
 * that collects the page's uncaught errors, and the login a user does (the form, in Spanish).
 */
import fs from 'node:fs';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = (): boolean => fs.existsSync(CHROMIUM);
/** headless, no sandbox (root in CI), no GPU (software WebGL), nothing phoning home */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** A page whose uncaught errors are kept in `errors` (tests assert it stays empty). */
export type TestPage = Page & { errors: string[] };

/** A page in a new context (a fresh profile per user); `onPage` runs before anything loads. */
export async function openPage(browser: Browser, ctx: BrowserContextOptions = {}): Promise<TestPage> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, ...ctx });
  const page = (await context.newPage()) as TestPage;
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  return page;
}

/** Mexican Spanish and the city's time zone, as an operator's browser is set */
export const MX_BROWSER: BrowserContextOptions = { locale: 'es-MX', timezoneId: 'America/Mexico_City' };

/** Log in through the console's form, as a user does; resolves once the console's top bar is up. */
export async function logIn(page: Page, base: string, username: string, password: string, opts: { timeoutMs?: number } = {}): Promise<void> {
  await page.goto(base);
  await page.getByLabel(/Usuario/).fill(username);
  await page.getByLabel(/Contraseña/).fill(password);
  await page.getByRole('button', { name: 'Iniciar sesión' }).click();
  await page.locator('.topbar').waitFor({ timeout: opts.timeoutMs ?? 20_000 });
}

/** Wait until the live map is installed (its truck layer exists). */
export async function waitForLiveMap(page: Page, timeoutMs = 30_000): Promise<void> {
  await page.waitForFunction(() => !!(window as unknown as { __cityops?: { controller: { map: { getLayer(id: string): unknown } } } }).__cityops?.controller.map.getLayer('trucks'), null, {
    timeout: timeoutMs,
  });
}
