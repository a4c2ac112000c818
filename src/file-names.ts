/**
 * Names of the files of a generated site (the docs site's node pages, the dashboards' drill-down
 * pages) made from names a project chose: one file per name, whatever the name holds.
 */
import { createHash } from 'node:crypto';

/**
 * `s` as a part of a file name: itself when `plain` takes it, else a slug (its ASCII letters and
 * digits, lower-cased, the rest '-') and a hash of `s` after '~'. Two names never share a file:
 * a name with '~' is never plain, and names that are not differ in their hash
 * ('売上' and '顧客', 'café' and 'cafè').
 */
export function fileNamePart(s: string, plain: (s: string) => boolean): string {
  if (plain(s) && !s.includes('~')) return s;
  const slug = s
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return `${slug || 'v'}~${hashOf(s, 10)}`;
}

/**
 * `base + ext` as one file name: itself when it is one, else its first characters (printable
 * ASCII, no separator) and a hash of the whole after '~'. Made for names joined from several parts
 * (a drill-down page setting several filters, each value bounded by `fileNamePart`, a raw-rows
 * page naming its columns): their sum may pass the 255 bytes of ext4, APFS and NTFS (200 leave
 * room for the writer's `.<pid>.tmp`), and a column name may hold a '/'.
 */
export function safeFileName(base: string, ext: string): string {
  if (Buffer.byteLength(base + ext) <= 200 && !/[/\\\0]/.test(base)) return base + ext;
  return `${base.replace(/[^\x20-\x7e]|[/\\]/g, '-').slice(0, 100)}~${hashOf(base, 16)}${ext}`;
}

/**
 * A title as a part of a file name a reader recognises (a dashboard tab's picture,
 * `Overview.png`): the characters no file system takes in a name become '-', runs of white space
 * one space; a title over 100 bytes is cut at a character (80 bytes) and told apart by a hash of
 * the whole. `fallback` when nothing is left.
 */
export function readableFileNamePart(title: string, fallback: string): string {
  const y = title.trim().replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '-').replace(/\s+/g, ' ');
  if (Buffer.byteLength(y) <= 100) return y || fallback;
  let cut = '';
  for (const ch of y) {
    if (Buffer.byteLength(cut + ch) > 80) break;
    cut += ch;
  }
  return `${cut.trimEnd()}~${hashOf(y, 8)}`;
}

function hashOf(s: string, hexChars: number): string {
  return createHash('sha256').update(s).digest('hex').slice(0, hexChars);
}
