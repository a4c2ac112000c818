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
  return `${slug || 'v'}~${createHash('sha256').update(s).digest('hex').slice(0, 10)}`;
}
