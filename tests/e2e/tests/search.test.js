// A shopper searching: the best match first, a typo forgiven, the found
// words marked, and counts beside the choices that narrow the results.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { launch, newPage, screenshot, accessibilityProblemsHere } = require('./helpers');

let browser;
before(async () => { browser = await launch(); });
after(async () => browser && browser.close());

for (const width of [1280, 390]) {
  test(`search ranks, forgives, marks and counts at ${width} px`, async () => {
    const page = await newPage(browser, { viewport: { width, height: 900 }, bypassCSP: true });
    // From the search box of every page.
    await page.goto('/');
    await page.getByRole('searchbox').first().fill('espreso');
    await page.getByRole('searchbox').first().press('Enter');
    await page.waitForURL(/\/search\?q=espreso/);
    const mean = page.locator('#did-you-mean');
    assert.match(await mean.textContent(), /Did you mean espresso\?/);
    const names = await page.locator('[data-live-list="items"] .item-name a').allTextContents();
    assert.ok(names.length > 0 && /espresso/i.test(names[0]), names.join(', '));
    assert.ok(await page.locator('mark').count() > 0, 'the found words are marked');

    // The suggestion's own search: best match first, with counts to narrow it.
    await mean.getByRole('link').click();
    await page.waitForURL(/q=espresso/);
    assert.equal(await page.locator('#sort').inputValue(), 'relevance');
    const facets = page.getByRole('navigation', { name: 'Narrow the results' });
    const choices = await facets.locator('li').allTextContents();
    assert.ok(choices.some((choice) => /\d+$/.test(choice.trim())), choices.join(' | '));
    const total = Number((await page.locator('[data-live-field="page-summary"]').textContent()).match(/of (\d+)/)[1]);
    // A price band promises how many remain; the list then holds that many.
    const band = facets.locator('li').filter({ hasText: ' to ' }).first();
    const promised = Number((await band.locator('.count').textContent()).trim());
    await band.getByRole('link').click();
    await page.waitForURL(/min_price=/);
    const summary = await page.locator('[data-live-field="page-summary"]').textContent();
    assert.match(summary, new RegExp(`of ${promised}$`));
    assert.ok(promised <= total);
    assert.deepEqual(await accessibilityProblemsHere(page, '/search'), []);
    await screenshot(page, `search-${width}`);
    await page.context().close();
  });
}
