/**
 * `as_number(s)`: .NET `double.TryParse(s, NumberStyles.Any, CultureInfo.InvariantCulture)`.
 * Accepts surrounding white space, a leading or trailing sign, parentheses for negatives, the
 * invariant currency sign `¤`, `,` group separators, a decimal point, an exponent, and
 * `Infinity`/`∞`/`NaN`. Returns NaN (the language's undefined number) when parsing fails.
 */
export function parseDotNetNumber(text: string): number {
  const fast = parseShortDecimal(text);
  if (fast === fast) return fast;
  // JavaScript's Number() agrees with .NET on plain decimal text. It differs on empty or blank
  // text (0 in JS), 0x/0b/0o prefixes and non-ASCII white space, which take the slow path.
  const first = text.charCodeAt(0);
  const last = text.charCodeAt(text.length - 1);
  if (first > 32 && first < 127 && last > 32 && last < 127) {
    const value = +text;
    if (value === value && value !== 0 && !(first === 48 && text.length > 2 && (text.charCodeAt(1) | 32) > 96)) return value;
  }
  return slowParse(text);
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * `-?digits[.digits]` with at most 15 digits, the shape of almost every sensor reading. The
 * integer mantissa and the power of ten are both exact doubles, so one division gives the
 * correctly rounded result (Clinger's fast path), without the generic string-to-double routine.
 * NaN when the text has another shape.
 */
function parseShortDecimal(text: string): number {
  const length = text.length;
  if (length === 0 || length > 17) return NaN;
  let i = 0;
  let negative = false;
  if (text.charCodeAt(0) === 45) {
    negative = true;
    i = 1;
  }
  let mantissa = 0;
  let digits = 0;
  let fraction = -1;
  for (; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
    } else if (c === 46 && fraction < 0 && digits > 0) {
      fraction = 0;
      continue;
    } else {
      return NaN;
    }
    if (fraction >= 0) fraction++;
  }
  if (digits === 0 || digits > 15 || fraction === 0) return NaN;
  const value = fraction > 0 ? mantissa / (POW10[fraction] as number) : mantissa;
  return negative ? -value : value;
}

const WHITE = /^[\t\n\v\f\r ]+|[\t\n\v\f\r ]+$/g;
const NUMBER = /^(\()?([+-])?(¤)?([+-])?((?:[0-9][0-9,]*)?(?:\.[0-9]*)?)(?:[eE]([+-]?[0-9]+))?([+-])?(¤)?(\))?$/;
const SPECIAL = /^([+-])?(infinity|∞|nan)$/i;

function slowParse(text: string): number {
  const s = text.replace(WHITE, '');
  const special = SPECIAL.exec(s);
  if (special !== null) {
    const word = (special[2] as string).toLowerCase();
    if (word === 'nan') return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  const m = NUMBER.exec(s);
  if (m === null) return NaN;
  const [, open, sign1, currency1, sign2, mantissa = '', exponent, sign3, currency2, close] = m;
  if (!/[0-9]/.test(mantissa)) return NaN;
  if ((open === undefined) !== (close === undefined)) return NaN;
  if (currency1 !== undefined && currency2 !== undefined) return NaN;
  const signs = [sign1, sign2, sign3].filter((x) => x !== undefined);
  if (signs.length > 1 || (open !== undefined && signs.length > 0)) return NaN;
  const value = Number(mantissa.replace(/,/g, '') + (exponent === undefined ? '' : `e${exponent}`));
  if (value !== value) return NaN;
  return open !== undefined || signs[0] === '-' ? -value : value;
}
