/**
 * Test support: is a screenshot blank? Decodes a PNG in a (playwright) browser page and returns
 * its size and the number of distinct colors among every 7th pixel.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

export async function pngStats(page: Page, file: string): Promise<{ w: number; h: number; colors: number }> {
  const b64 = readFileSync(file).toString('base64');
  return page.evaluate(async (src) => {
    const img = new Image();
    img.src = src;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, c.width, c.height).data;
    const colors = new Set<number>();
    for (let i = 0; i < px.length; i += 4 * 7) colors.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
    return { w: img.width, h: img.height, colors: colors.size };
  }, `data:image/png;base64,${b64}`);
}
