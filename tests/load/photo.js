// Draws a photograph-like picture (gradients, shapes and grain) in Debian's
// Chromium and writes it as a JPEG, for the picture benchmark.
//
//   node tests/load/photo.js OUT.jpg [WIDTH] [HEIGHT]    # default 4000 x 3000
const fs = require('node:fs');
const path = require('node:path');
const { launch } = require(path.join(__dirname, '..', 'e2e', 'tests', 'helpers'));

const [out, width = '4000', height = '3000'] = process.argv.slice(2);
(async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const dataUrl = await page.evaluate(([w, h]) => {
      const canvas = document.createElement('canvas');
      canvas.width = w;
      canvas.height = h;
      const g = canvas.getContext('2d');
      const sky = g.createLinearGradient(0, 0, 0, h);
      sky.addColorStop(0, '#3b6ea8');
      sky.addColorStop(0.6, '#e8c07a');
      sky.addColorStop(1, '#5a3d22');
      g.fillStyle = sky;
      g.fillRect(0, 0, w, h);
      let seed = 7;
      const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
      for (let i = 0; i < 400; i += 1) {
        g.fillStyle = `hsla(${random() * 360}, 60%, ${30 + random() * 40}%, 0.35)`;
        g.beginPath();
        g.arc(random() * w, random() * h, 20 + random() * w / 10, 0, Math.PI * 2);
        g.fill();
      }
      const grain = g.getImageData(0, 0, w, h);
      for (let i = 0; i < grain.data.length; i += 4) {
        const noise = (random() - 0.5) * 24;
        grain.data[i] += noise;
        grain.data[i + 1] += noise;
        grain.data[i + 2] += noise;
      }
      g.putImageData(grain, 0, 0);
      return canvas.toDataURL('image/jpeg', 0.9);
    }, [Number(width), Number(height)]);
    fs.writeFileSync(out, Buffer.from(dataUrl.split(',')[1], 'base64'));
  } finally {
    await browser.close();
  }
})();
