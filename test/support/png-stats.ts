/**
 * Test support: is a screenshot blank? Decodes a PNG in a (playwright) browser page and returns
 * its size and the number of distinct colors among every 7th pixel; with `pixel` ([x, y], a
 * negative one counted from the right or bottom edge) that pixel's [r, g, b] too.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

export async function pngStats(page: Page, file: string, pixel?: [number, number]): Promise<{ w: number; h: number; colors: number; rgb?: number[] }> {
  const b64 = readFileSync(file).toString('base64');
  return page.evaluate(async ([src, at]) => {
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
    const rgb = at ? [...ctx.getImageData(at[0] < 0 ? c.width + at[0] : at[0], at[1] < 0 ? c.height + at[1] : at[1], 1, 1).data.slice(0, 3)] : undefined;
    return { w: img.width, h: img.height, colors: colors.size, ...(rgb ? { rgb } : {}) };
  }, [`data:image/png;base64,${b64}`, pixel ?? null] as const);
}
