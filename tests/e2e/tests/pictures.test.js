// Pictures as shoppers see them: thumbnails in a store's list and the item
// page's gallery, loaded for real, fitting a desktop and a phone.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { launch, newPage, screenshot, accessibilityProblems } = require('./helpers');

let browser;
before(async () => { browser = await launch(); });
after(async () => browser && browser.close());

// What the browser made of an image: loaded, its size, where it sits.
function shown(img) {
  const box = img.getBoundingClientRect();
  return {
    loaded: img.complete && img.naturalWidth > 0,
    width: img.getAttribute('width'), height: img.getAttribute('height'),
    loading: img.getAttribute('loading'), srcset: img.getAttribute('srcset'),
    alt: img.getAttribute('alt'), right: box.right,
  };
}

for (const width of [1280, 390]) {
  test(`pictures load and fit at ${width} px`, async () => {
    const page = await newPage(browser, { viewport: { width, height: 900 }, bypassCSP: true });
    await page.goto('/stores/1');
    await page.locator('img.thumb').first().evaluate((img) => img.decode());
    const thumbs = await page.$$eval('img.thumb', (imgs, shownSource) => {
      const describe = new Function(`return (${shownSource})`)();
      return imgs.map(describe);
    }, shown.toString());
    assert.equal(thumbs.length, 12, 'every demo item of the store has its thumbnail');
    const first = thumbs[0];
    assert.ok(first.loaded, 'the first thumbnail is loaded');
    assert.equal(first.loading, 'lazy');
    assert.equal(first.alt, '', 'beside its name, a thumbnail is decorative');
    assert.ok(first.width && first.height && first.srcset.includes(' 160w'), JSON.stringify(first));
    assert.ok(thumbs.every((thumb) => thumb.right <= width), 'thumbnails stay within the page');
    await screenshot(page, `pictures-store-${width}`);

    await page.goto('/items/1');
    const picture = page.locator('.gallery img').first();
    await picture.evaluate((img) => img.decode());
    const big = await picture.evaluate((img, shownSource) => new Function(`return (${shownSource})`)()(img), shown.toString());
    assert.ok(big.loaded, 'the gallery picture is loaded');
    assert.equal(big.alt, 'Dune', "without alt text of its own, a picture is described by its item's name");
    assert.ok(big.right <= width, `the gallery fits: ${big.right} <= ${width}`);
    const og = await page.locator('meta[property="og:image"]').getAttribute('content');
    assert.match(og, /^http:\/\/127\.0\.0\.1:\d+\/pictures\/[0-9a-f]{64}\.jpg$/);
    assert.deepEqual(await accessibilityProblems(page, '/items/1'), []);
    await screenshot(page, `pictures-item-${width}`);
    await page.context().close();
  });
}
