/**
 * The steps a person takes in the admin UI, as the browser tests, the
 * screenshots and the dashboard bench take them: by labels and roles, the
 * way a screen reader finds them, not by CSS classes that change with styling.
 */
import type { Page } from 'playwright-core';

export interface Credentials {
  username: string;
  password: string;
}

/** Signs in through the login page and waits until the app has left it. */
export async function signIn(page: Page, baseUrl: string, who: Credentials): Promise<void> {
  await page.goto(new URL('ui/login', baseUrl).href);
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.endsWith('/login'));
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Goes to a UI path (without the /ui/ prefix) through the app's router, as a click on a link would. */
export async function open(page: Page, baseUrl: string, uiPath: string): Promise<void> {
  await page.goto(new URL(`ui/${uiPath.replace(/^\//, '')}`, baseUrl).href);
}

/**
 * Waits for the dashboard's totals to be on screen and returns the time
 * since the navigation started, in ms (the page's own clock: what the person
 * waited, parsing and API calls included).
 */
export async function waitForDashboardData(page: Page): Promise<number> {
  await page.locator('section[aria-label="Totals"] .stat').first().waitFor();
  await page.getByRole('heading', { name: 'Storage by provider' }).waitFor();
  return page.evaluate(() => {
    performance.mark('dashboard-data-rendered');
    return performance.getEntriesByName('dashboard-data-rendered')[0]!.startTime;
  });
}

/** The names of every enabled button and every form control that changes something, on the current page. */
export async function mutatingControls(page: Page): Promise<string[]> {
  // Buttons that only look (navigation, paging, filters, copying, theme) are not mutations.
  const harmless = /^(sign out|menu|theme|colour theme|search|filter|refresh|clear|previous|next|copy|try again|go to line|cancel|skip to content)/i;
  // A select that narrows a list (a status filter) changes nothing on the server; any other select (a role) does.
  const harmlessSelect = /^status\b/i;
  const names = await page.locator('button:visible, [role="button"]:visible').evaluateAll((els) =>
    els.map((e) => (e.getAttribute('aria-label') ?? e.textContent ?? '').trim()),
  );
  const selects = await page.locator('select:visible').evaluateAll((els) =>
    els
      .filter((e) => !e.closest('form[role="search"]'))
      .map((e) => (e.getAttribute('aria-label') ?? e.closest('label')?.textContent ?? '').trim()),
  );
  return [...names.filter((n) => !harmless.test(n)), ...selects.filter((n) => !harmlessSelect.test(n)).map((n) => `select: ${n}`)];
}
