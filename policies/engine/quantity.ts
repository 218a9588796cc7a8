// Kubernetes resource quantities ("256Mi", "0.5", "250m", "1e3") as exact values.
// A quantity is stored as an integer count of nano-units (10^-9), which is exact for every
// suffix Kubernetes accepts; finer fractions round up, as the API server does.

import { RedlineError } from '../../core/errors.js';
import { memoize } from './memo.js';

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n,
};
const DECIMAL_EXP: Record<string, number> = {
  n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18,
};
const NANO = 9;
const PATTERN = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

export class Quantity {
  private formatted: string | undefined;

  private constructor(readonly nanos: bigint, text?: string) {
    this.formatted = text;
  }

  /** The text it was parsed from, or a canonical rendering for computed values. */
  get text(): string {
    this.formatted ??= formatNanos(this.nanos);
    return this.formatted;
  }

  static parse(text: string): Quantity {
    const parsed = Quantity.tryParse(text);
    if (!parsed) throw new RedlineError('quantity-invalid', `invalid quantity ${JSON.stringify(text)}`);
    return parsed;
  }

  /** Parses with a small cache: the same few strings ("256Mi", "1") recur in every request. */
  static tryParse(text: string): Quantity | undefined {
    return Quantity.cached(text);
  }

  private static readonly cached = memoize((text: string) => Quantity.parseUncached(text));

  private static parseUncached(text: string): Quantity | undefined {
    const m = PATTERN.exec(text.trim());
    if (!m) return undefined;
    const [, sign = '', number = '', suffix, exponent] = m;
    const [whole = '', fraction = ''] = number.split('.');
    const digits = BigInt((whole || '0') + fraction);
    let scale = -fraction.length; // value = digits * 10^scale * multiplier
    let multiplier = 1n;
    if (suffix && BINARY[suffix]) multiplier = BINARY[suffix];
    else if (suffix !== undefined) scale += DECIMAL_EXP[suffix] ?? 0;
    else if (exponent !== undefined) {
      const e = Number(exponent);
      if (!Number.isSafeInteger(e) || Math.abs(e) > 60) return undefined;
      scale += e;
    }
    const shift = scale + NANO;
    let nanos: bigint;
    if (shift >= 0) nanos = digits * multiplier * 10n ** BigInt(shift);
    else {
      const divisor = 10n ** BigInt(-shift);
      const product = digits * multiplier;
      nanos = product / divisor + (product % divisor === 0n ? 0n : 1n);
    }
    return new Quantity(sign === '-' ? -nanos : nanos, text);
  }

  static fromNanos(nanos: bigint): Quantity {
    return new Quantity(nanos);
  }

  compareTo(other: Quantity): number {
    return this.nanos < other.nanos ? -1 : this.nanos > other.nanos ? 1 : 0;
  }

  times(n: bigint): Quantity {
    return Quantity.fromNanos(this.nanos * n);
  }

  plus(other: Quantity): Quantity {
    return Quantity.fromNanos(this.nanos + other.nanos);
  }

  toString(): string {
    return this.text;
  }
}

/** Renders a value for humans: binary suffixes for whole multiples of 1Ki, else milli/plain. */
function formatNanos(nanos: bigint): string {
  const sign = nanos < 0n ? '-' : '';
  const abs = nanos < 0n ? -nanos : nanos;
  const units = 1_000_000_000n;
  if (abs % units === 0n) {
    const whole = abs / units;
    for (const suffix of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const) {
      const size = BINARY[suffix]!;
      if (whole !== 0n && whole % size === 0n) return `${sign}${whole / size}${suffix}`;
    }
    return `${sign}${whole}`;
  }
  if (abs % 1_000_000n === 0n) return `${sign}${abs / 1_000_000n}m`;
  return `${sign}${abs}n`;
}
