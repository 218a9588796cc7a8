import { describe, expect, it } from 'vitest';
import { Quantity } from '../../policies/engine/quantity.js';

const nanos = (text: string): bigint => Quantity.parse(text).nanos;
const NANO = 1_000_000_000n;

describe('Quantity.parse: suffixes', () => {
  it.each([
    ['1', NANO],
    ['0', 0n],
    ['1n', 1n],
    ['1u', 1_000n],
    ['1m', 1_000_000n],
    ['1k', 1_000n * NANO],
    ['1M', 1_000_000n * NANO],
    ['1G', 1_000_000_000n * NANO],
    ['1T', 10n ** 12n * NANO],
    ['1P', 10n ** 15n * NANO],
    ['1E', 10n ** 18n * NANO],
    ['1Ki', 1024n * NANO],
    ['1Mi', 1024n ** 2n * NANO],
    ['1Gi', 1024n ** 3n * NANO],
    ['1Ti', 1024n ** 4n * NANO],
    ['1Pi', 1024n ** 5n * NANO],
    ['1Ei', 1024n ** 6n * NANO],
    ['250m', 250_000_000n],
    ['256Mi', 256n * 1024n ** 2n * NANO],
  ])('%s', (text, expected) => {
    expect(nanos(text)).toBe(expected);
  });

  it('keeps the text as written', () => {
    expect(Quantity.parse('0.25Gi').text).toBe('0.25Gi');
    expect(Quantity.parse('1e3').toString()).toBe('1e3');
  });
});

describe('Quantity.parse: decimals, signs and exponents', () => {
  it.each([
    ['0.5', 500_000_000n],
    ['.5', 500_000_000n],
    ['1.', NANO],
    ['1.5Gi', 1536n * 1024n ** 2n * NANO],
    ['0.25Gi', 256n * 1024n ** 2n * NANO],
    ['0.1', 100_000_000n],
    ['2.5m', 2_500_000n],
    ['+1', NANO],
    ['-1', -NANO],
    ['-250m', -250_000_000n],
    ['1e3', 1_000n * NANO],
    ['1E3', 1_000n * NANO],
    ['1e+3', 1_000n * NANO],
    ['1e-3', 1_000_000n],
    ['1.5e2', 150n * NANO],
    ['1e0', NANO],
    ['5e-9', 5n],
    ['1e60', 10n ** 60n * NANO],
  ])('%s', (text, expected) => {
    expect(nanos(text)).toBe(expected);
  });

  it('reads "1E" as one exa and "1E3" as an exponent', () => {
    expect(nanos('1E')).toBe(10n ** 18n * NANO);
    expect(nanos('1E3')).toBe(1000n * NANO);
  });
});

describe('Quantity.parse: rounding below a nano-unit', () => {
  it.each([
    ['0.5n', 1n],
    ['1.1n', 2n],
    ['1.9n', 2n],
    ['0.0000000001', 1n],
    ['1e-10', 1n],
    ['1e-12', 1n],
    ['0.1u', 100n],
    ['0.0001u', 1n],
  ])('%s rounds up to %s nano', (text, expected) => {
    expect(nanos(text)).toBe(expected);
  });

  it('does not round exact values', () => {
    expect(nanos('1.000n')).toBe(1n);
    expect(nanos('0.001u')).toBe(1n);
  });
});

describe('Quantity.parse: invalid input', () => {
  it.each([
    '', ' ', 'abc', 'Gi', 'Mi1', '1 Gi', '1gi', '1GB', '1MB', '1KiB', '1Kii', '--1', '+-1', '1e', '1e+',
    '1.2.3', '0x10', '1e3Mi', '1Mi3', 'e3', '1,5', 'NaN', 'Infinity', '1e61', '1e-61', '١',
  ])('%j is not a quantity', (text) => {
    expect(Quantity.tryParse(text)).toBeUndefined();
    expect(() => Quantity.parse(text)).toThrow(expect.objectContaining({ kind: 'input', code: 'quantity-invalid' }));
  });

  it('the error names the input', () => {
    expect(() => Quantity.parse('256MB')).toThrow('invalid quantity "256MB"');
  });
});

describe('Quantity.compareTo across units', () => {
  const cmp = (a: string, b: string): number => Quantity.parse(a).compareTo(Quantity.parse(b));

  it('1Gi, 1024Mi, 1048576Ki and 1073741824 are equal', () => {
    for (const a of ['1Gi', '1024Mi', '1048576Ki', '1073741824', '1.073741824G', '1073741824000m']) {
      for (const b of ['1Gi', '1024Mi', '1073741824']) expect(cmp(a, b)).toBe(0);
    }
  });

  it('orders decimal and binary units', () => {
    expect(cmp('1G', '1Gi')).toBe(-1);
    expect(cmp('1Gi', '1G')).toBe(1);
    expect(cmp('1025Mi', '1Gi')).toBe(1);
    expect(cmp('1023Mi', '1Gi')).toBe(-1);
    expect(cmp('1k', '1Ki')).toBe(-1);
    expect(cmp('16Gi', '17179869184')).toBe(0);
  });

  it('compares CPU forms', () => {
    expect(cmp('1000m', '1')).toBe(0);
    expect(cmp('0.25', '250m')).toBe(0);
    expect(cmp('250m', '251m')).toBe(-1);
    expect(cmp('4', '4000m')).toBe(0);
    expect(cmp('2', '1999m')).toBe(1);
  });

  it('compares negatives and zero', () => {
    expect(cmp('-1', '0')).toBe(-1);
    expect(cmp('0', '0m')).toBe(0);
    expect(cmp('-1Gi', '-1024Mi')).toBe(0);
  });
});

describe('Quantity arithmetic', () => {
  it('times multiplies and renders binary units', () => {
    expect(Quantity.parse('256Mi').times(3n).text).toBe('768Mi');
    expect(Quantity.parse('16Gi').times(27n).text).toBe('432Gi');
    expect(Quantity.parse('4Gi').times(3n).text).toBe('12Gi');
    expect(Quantity.parse('512Mi').times(2n).text).toBe('1Gi');
    expect(Quantity.parse('1Gi').times(0n).text).toBe('0');
  });

  it('plus adds across units', () => {
    expect(Quantity.parse('1Gi').plus(Quantity.parse('1024Mi')).text).toBe('2Gi');
    expect(Quantity.parse('250m').plus(Quantity.parse('250m')).text).toBe('500m');
    expect(Quantity.parse('1').plus(Quantity.parse('500m')).text).toBe('1500m');
    expect(Quantity.parse('1n').plus(Quantity.parse('1n')).text).toBe('2n');
    expect(Quantity.parse('1').plus(Quantity.parse('-1')).text).toBe('0');
    expect(Quantity.parse('2Gi').plus(Quantity.parse('-1Gi')).text).toBe('1Gi');
  });

  it('renders whole numbers that are not multiples of 1Ki plainly, fractions in milli or nano', () => {
    expect(Quantity.fromNanos(1000n * NANO).text).toBe('1000');
    expect(Quantity.fromNanos(1536n * NANO).text).toBe('1536');
    expect(Quantity.fromNanos(1024n * NANO).text).toBe('1Ki');
    expect(Quantity.fromNanos(1500n * 1_000_000n).text).toBe('1500m');
    expect(Quantity.fromNanos(7n).text).toBe('7n');
    expect(Quantity.fromNanos(-2n * 1024n ** 2n * NANO).text).toBe('-2Mi');
    expect(Quantity.fromNanos(0n).text).toBe('0');
  });

  it('results re-parse to the same value', () => {
    for (const [a, b] of [['256Mi', '1'], ['1.5', '250m'], ['3n', '1u'], ['1Gi', '1G']] as const) {
      const sum = Quantity.parse(a).plus(Quantity.parse(b));
      expect(Quantity.parse(sum.text).compareTo(sum)).toBe(0);
    }
  });

  it('is exact far beyond double precision', () => {
    const big = Quantity.parse('8Ei').times(1000n);
    expect(big.nanos).toBe(8n * 1024n ** 6n * 1000n * NANO);
    expect(big.compareTo(Quantity.parse('8Ei'))).toBe(1);
  });
});
