/**
 * `as_number(s)`: .NET `double.TryParse(s, NumberStyles.Any, CultureInfo.InvariantCulture)`.
 * Accepts surrounding white space, a leading or trailing sign, parentheses for negatives, the
 * invariant currency sign `¤`, `,` group separators, a decimal point, an exponent, and
 * `Infinity`/`∞`/`NaN`. Returns NaN (the language's undefined number) when parsing fails.
 */
export function parseDotNetNumber(text: string): number {
  // Fast path: JavaScript's Number() agrees with .NET on plain decimal text. It differs on empty or
  // blank text (0 in JS), 0x/0b/0o prefixes and non-ASCII white space, which take the slow path.
  const first = text.charCodeAt(0);
  const last = text.charCodeAt(text.length - 1);
  if (first > 32 && first < 127 && last > 32 && last < 127) {
    const value = +text;
    if (value === value && value !== 0 && !(first === 48 && text.length > 2 && (text.charCodeAt(1) | 32) > 96)) return value;
  }
  return slowParse(text);
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
