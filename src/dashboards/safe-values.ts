/**
 * What a dashboard definition may put into a page or an export as written, checked in one place
 * for the validator (an error at the line) and the renderer (anything else is dropped): colors
 * (tile colors, thresholds, conditional formatting: hex, rgb()/hsl(), or one of CSS's named
 * colors, so that a definition cannot inject CSS) and link URLs (http(s), mailto or relative on
 * the same host, so that it cannot inject script or lead off-site; the validator also refuses a
 * relative one the site cannot resolve, linkShapeProblem). The exports carry only what passed.
 */
import { didYouMean } from '../errors.js';

/** CSS Color Module Level 4's named colors (and `transparent`). */
const NAMED = new Set(
  (
    'aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet brown burlywood cadetblue chartreuse chocolate coral ' +
    'cornflowerblue cornsilk crimson cyan darkblue darkcyan darkgoldenrod darkgray darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange ' +
    'darkorchid darkred darksalmon darkseagreen darkslateblue darkslategray darkslategrey darkturquoise darkviolet deeppink deepskyblue dimgray dimgrey ' +
    'dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite gold goldenrod gray green greenyellow grey honeydew hotpink indianred indigo ' +
    'ivory khaki lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan lightgoldenrodyellow lightgray lightgreen lightgrey lightpink ' +
    'lightsalmon lightseagreen lightskyblue lightslategray lightslategrey lightsteelblue lightyellow lime limegreen linen magenta maroon mediumaquamarine ' +
    'mediumblue mediumorchid mediumpurple mediumseagreen mediumslateblue mediumspringgreen mediumturquoise mediumvioletred midnightblue mintcream mistyrose ' +
    'moccasin navajowhite navy oldlace olive olivedrab orange orangered orchid palegoldenrod palegreen paleturquoise palevioletred papayawhip peachpuff peru ' +
    'pink plum powderblue purple rebeccapurple red rosybrown royalblue saddlebrown salmon sandybrown seagreen seashell sienna silver skyblue slateblue ' +
    'slategray slategrey snow springgreen steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke yellow yellowgreen transparent'
  ).split(' '),
);

/** The color as written when it is one, else undefined. */
export function safeColor(c: string | undefined): string | undefined {
  if (!c) return undefined;
  const s = c.trim();
  if (/^#([0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/.test(s) || NAMED.has(s.toLowerCase()) || /^(rgb|rgba|hsl|hsla)\([0-9.,%\s/]+\)$/i.test(s)) return s;
  return undefined;
}

/** What is wrong with a color of a definition (for the validator), or undefined. */
export function colorProblem(c: string): string | undefined {
  if (safeColor(c)) return undefined;
  const hint = /^[a-z]+$/i.test(c.trim()) ? didYouMean(c.trim().toLowerCase(), NAMED) : undefined;
  return `'${c}' is not a color${hint ? ` — did you mean '${hint}'?` : ''}`;
}

/** A URL as a browser reads it: without control characters and spaces around it, nor tabs and newlines inside ("java\tscript:"). */
function browserRead(u: string): string {
  return u.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '').replace(/[\t\n\r]/g, '');
}

/** A protocol-relative URL (//host, and /\host, which browsers read alike): another site, with the page's scheme. */
const PROTOCOL_RELATIVE_RE = /^[/\\]{2}/;

/** Only http(s), mailto and relative URLs (on the same host) become links: the URL as written, else undefined. */
export function safeUrl(u: string): string | undefined {
  const s = u.trim();
  const read = browserRead(u);
  if (/^(https?:|mailto:)/i.test(read)) return s;
  if (/^[a-z][a-z0-9+.-]*:/i.test(read) || PROTOCOL_RELATIVE_RE.test(read)) return undefined;
  return s;
}

/** What is wrong with a URL safeUrl refuses (for the validator), or undefined. */
export function unsafeUrlProblem(u: string): { message: string; hint?: string } | undefined {
  if (safeUrl(u) !== undefined) return undefined;
  const read = browserRead(u);
  if (PROTOCOL_RELATIVE_RE.test(read)) return { message: `link '${u}' is protocol-relative (it starts with ${read.slice(0, 2)}): it leads to another site`, hint: `spell out the scheme (https://${read.slice(2)}); a link into the app starts with a single / (an app route)` };
  return { message: `a link is http(s)://, mailto: or a path, not ${/^([^:]*):/.exec(read)![1]}:` };
}

/** A link template that is one field ("{{ trace_url }}"): the field's name — the row's value is the whole URL. */
export function loneLinkField(tpl: string): string | undefined {
  return /^\s*\{\{\s*([A-Za-z_]\w*)\s*\}\}\s*$/.exec(tpl)?.[1];
}

/** A row's value as a whole link: an absolute http(s) URL as written, else undefined (not linked). */
export function absoluteHttpUrl(v: unknown): string | undefined {
  const s = typeof v === 'string' ? v.trim() : '';
  return /^https?:\/\/[^\s/]+/i.test(s) && !/\s/.test(s) ? s : undefined;
}

/**
 * What is wrong with the shape of a tile link template: on the site a relative link resolves
 * against the page's folder, where there is no such page. A link starts with http(s)://,
 * mailto: or / (an app route, linked under the base URL), or is one field holding an absolute
 * http(s) URL. Undefined when it is one of these (or not a safe URL at all: reported apart).
 */
export function linkShapeProblem(tpl: string): { message: string; hint: string } | undefined {
  const s = tpl.trim();
  if (safeUrl(s) === undefined || loneLinkField(s) || /^(https?:\/\/|mailto:|\/)/i.test(s)) return undefined;
  const hint = 'start it with http(s)://, mailto: or / (an app route, linked under the base URL), or make it one field whose values are http(s) URLs ("{{ url }}")';
  if (s.startsWith('{{')) return { message: `link '${tpl}' starts with a field, so it is relative: the field's value goes into it URL-encoded`, hint };
  return { message: `link '${tpl}' is relative: on the site it would lead to a page beside the dashboard's, which does not exist`, hint };
}
