// Pictures as shoppers see them: thumbnails in a store's list and the item
// page's gallery, loaded for real, fitting a desktop and a phone.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  STAFF, launch, newPage, logIn, screenshot, accessibilityProblems, accessibilityProblemsHere,
} = require('./helpers');

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
    await page.locator('.card-picture img').first().evaluate((img) => img.decode());
    const thumbs = await page.$$eval('.card-picture img', (imgs, shownSource) => {
      const describe = new Function(`return (${shownSource})`)();
      return imgs.map(describe);
    }, shown.toString());
    assert.equal(thumbs.length, 12, 'every demo item of the store has its card picture');
    const first = thumbs[0];
    assert.ok(first.loaded, 'the first picture is loaded');
    assert.equal(first.loading, 'lazy');
    assert.equal(first.alt, '', 'above its name, a card picture is decorative');
    assert.ok(first.width && first.height && first.srcset.includes(' 160w') && first.srcset.includes(' 480w'), JSON.stringify(first));
    assert.ok(thumbs.every((thumb) => thumb.right <= width), 'pictures stay within the page');
    // Cards side by side on a desktop, fewer across on a phone.
    const across = await page.$$eval('.item-grid > li', (cards) => new Set(cards.map((c) => c.getBoundingClientRect().top)).size);
    assert.ok(width === 1280 ? across <= 3 : across >= 6, `rows of cards: ${across}`);
    assert.deepEqual(await accessibilityProblemsHere(page, '/stores/1'), []);
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

// A photograph-like JPEG drawn by the browser itself: gradients and noise,
// so that it compresses like a photo, not like a flat drawing.
async function photograph(browser, width, height, hue) {
  const page = await newPage(browser);
  const dataUrl = await page.evaluate(([w, h, hue]) => {
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const context = canvas.getContext('2d');
    const sky = context.createLinearGradient(0, 0, 0, h);
    sky.addColorStop(0, `hsl(${hue}, 60%, 75%)`);
    sky.addColorStop(1, `hsl(${hue + 40}, 50%, 35%)`);
    context.fillStyle = sky;
    context.fillRect(0, 0, w, h);
    const pixels = context.getImageData(0, 0, w, h);
    for (let i = 0; i < pixels.data.length; i += 4) {
      const grain = (Math.random() - 0.5) * 40;
      pixels.data[i] += grain; pixels.data[i + 1] += grain; pixels.data[i + 2] += grain;
    }
    context.putImageData(pixels, 0, 0);
    return canvas.toDataURL('image/jpeg', 0.9);
  }, [width, height, hue]);
  await page.context().close();
  return Buffer.from(dataUrl.split(',')[1], 'base64');
}

test('staff add, describe, reorder and remove pictures without JavaScript', async () => {
  const photos = [await photograph(browser, 1600, 1200, 20), await photograph(browser, 1200, 1600, 200)];
  const page = await newPage(browser, { javaScriptEnabled: false, bypassCSP: true });
  await logIn(page, STAFF.email, STAFF.password);
  await page.goto('/admin/items/2');
  await page.getByRole('link', { name: 'Pictures' }).click();
  assert.match(await page.getByRole('heading', { level: 1 }).textContent(), /^Pictures of /);
  const before = await page.locator('.picture-list > li').count();
  await page.getByLabel('Add pictures').setInputFiles([
    { name: 'front.jpg', mimeType: 'image/jpeg', buffer: photos[0] },
    { name: 'side.jpg', mimeType: 'image/jpeg', buffer: photos[1] },
    { name: 'notes.svg', mimeType: 'image/svg+xml', buffer: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>') },
  ]);
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.getByText('2 pictures added. Not added: “notes.svg”').waitFor();
  assert.equal(await page.locator('.picture-list > li').count(), before + 2);

  // The last one added (the upright one) goes first, described.
  const last = before + 2;
  await page.getByLabel(`Alt text of picture ${last}`).fill('The cover, upright');
  await page.getByLabel('Place').nth(last - 1).fill('1');
  await page.getByRole('button', { name: `Save picture ${last}` }).click();
  await page.getByText('Picture saved.').waitFor();
  assert.equal(await page.getByLabel('Alt text of picture 1').inputValue(), 'The cover, upright');
  await screenshot(page, 'pictures-panel');
  // axe needs script: the same page in a browser that runs it.
  const scanner = await newPage(browser, { bypassCSP: true });
  await logIn(scanner, STAFF.email, STAFF.password);
  assert.deepEqual(await accessibilityProblems(scanner, '/admin/items/2/pictures'), []);
  await scanner.context().close();

  await page.getByRole('button', { name: `Remove picture ${last}` }).click();
  await page.getByText('Picture removed.').waitFor();
  assert.equal(await page.locator('.picture-list > li').count(), before + 1);

  // The shop shows the new first picture, upright, with its words.
  const shopper = await newPage(browser);
  await shopper.goto('/items/2');
  const first = shopper.locator('.gallery img').first();
  await first.evaluate((img) => img.decode());
  assert.equal(await first.getAttribute('alt'), 'The cover, upright');
  const [w, h] = [Number(await first.getAttribute('width')), Number(await first.getAttribute('height'))];
  assert.ok(h > w, `upright: ${w}x${h}`);
  await shopper.context().close();
  await page.context().close();
});
