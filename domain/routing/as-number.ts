/**
 * `as_number(s)`: .NET `double.TryParse(s, NumberStyles.Any, CultureInfo.InvariantCulture)`.
 * Accepts surrounding white space, a leading or trailing sign, parentheses for negatives, the
 * invariant currency sign `¤`, `,` group separators, a decimal point, an exponent, and
 * `Infinity`/`∞`/`NaN`. Returns NaN (the language's undefined number) when parsing fails.
 */
export function parseDotNetNumber(text: string): number {
  // Fast path: plain decimal text (the usual case) is what JavaScript's Number() reads the same way.
  let plain = text.length > 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // 0-9 . + - e E
    if (!((c >= 48 && c <= 57) || c === 46 || c === 43 || c === 45 || c === 101 || c === 69)) {
      plain = false;
      break;
    }
  }
  if (plain) {
    const value = Number(text);
    if (value === value) return value;
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
