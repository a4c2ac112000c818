/**
 * What a dashboard definition may put into a page or an export as written, checked in one place
 * for the validator (an error at the line) and the renderer (anything else is dropped): colors
 * (tile colors, thresholds, conditional formatting: hex, rgb()/hsl(), or one of CSS's named
 * colors, so that a definition cannot inject CSS) and link URLs (http(s), mailto or relative, so
 * that it cannot inject script). The exports carry only what passed.
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

/** Only http(s), mailto and relative URLs become links: the URL as written, else undefined. */
export function safeUrl(u: string): string | undefined {
  const s = u.trim();
  if (/^(https?:|mailto:)/i.test(s)) return s;
  if (/^[a-z][a-z0-9+.-]*:/i.test(s)) return undefined;
  return s;
}
