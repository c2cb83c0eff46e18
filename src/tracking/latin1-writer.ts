import { jsonString, PLAIN, whenIso } from './event.ts';

/**
 * JSON text written character by character into a growing buffer of one-byte (Latin-1) characters,
 * read back as strings (`text`): what the embedded log's writer thread writes an event's
 * middle with (see `eventBatchMiddleBytes` in event-batch.ts). Built as strings, each middle was
 * some fifteen pieces concatenated, every number its own string first, and then copied once more
 * into its pack's value: 1.1–1.3 µs of a 3 µs event on the thread (200k events of 4 features,
 * measured in-process). Here no string is made for an event unless a number has no short form.
 *
 * Each method writes exactly what its string counterpart in event.ts writes (`number`:
 * `jsonNumber`, `string`: `jsonString`, `when`: `whenIso`); the tests hold them to it.
 * A character past U+00FF does not fit: `string` and `chars` then return false, and the caller
 * writes that text another way (the buffer holds part of it by then).
 */
export class Latin1Writer {
  buf: Buffer;
  /** Characters written. */
  len = 0;
  private whenSecond = Number.NaN;
  private whenPrefix: Uint8Array = new Uint8Array(0);

  constructor(capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  /** Makes room for `n` more characters. */
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.len + n, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** The characters from `start` to `end`, as one flat string. */
  text(start = 0, end = this.len): string {
    return this.buf.toString('latin1', start, end);
  }

  /** Writes one character (a code below 256). */
  byte(c: number): void {
    if (this.len >= this.buf.length) this.reserve(1);
    this.buf[this.len++] = c;
  }

  /** Writes a text of one-byte characters known in advance (see {@link latin1}). */
  bytes(b: Uint8Array): void {
    this.copy(b, 0, b.length);
  }

  /** Writes the characters `src[from..to)`. */
  copy(src: Uint8Array, from: number, to: number): void {
    this.reserve(to - from);
    const buf = this.buf;
    let p = this.len;
    for (let i = from; i < to; i++) buf[p++] = src[i]!;
    this.len = p;
  }

  /** Writes `s`; false at its first character past U+00FF. */
  chars(s: string): boolean {
    this.reserve(s.length);
    const buf = this.buf;
    let p = this.len;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) {
        this.len = p;
        return false;
      }
      buf[p++] = c;
    }
    this.len = p;
    return true;
  }

  /** Writes `jsonString(s)`; false when it holds a character past U+00FF. */
  string(s: string): boolean {
    if (s.length >= 128) return this.chars(jsonString(s));
    this.reserve(s.length + 2);
    const buf = this.buf;
    let p = this.len;
    buf[p++] = QUOTE;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (PLAIN[c] !== 1) return this.chars(jsonString(s));
      buf[p++] = c;
    }
    buf[p++] = QUOTE;
    this.len = p;
    return true;
  }

  /**
   * Writes `jsonNumber(n)`: finite numbers as String writes them, NaN and the infinities as null.
   * A number below 10^9 that is the double nearest a decimal of at most six places is written from
   * that decimal's digits, found as event.ts's `shortDecimal` finds them (the argument is there):
   * `r = Math.round(a · 10^6)`, good when `r / 10^6` gives `a` back, and its whole and fractional
   * parts as 32-bit integers (`%` on a double is a call to fmod, which made digit loops over
   * doubles slower than building strings). Other numbers are written as String writes them.
   */
  number(n: number): void {
    const a = n < 0 ? -n : n;
    if (Number.isInteger(n)) {
      if (a >= 1e15) {
        this.chars(String(n));
        return;
      }
      this.reserve(16);
      if (n < 0) this.buf[this.len++] = MINUS;
      if (a < 2 ** 31) {
        this.int(a | 0, digitCount(a));
      } else {
        const high = Math.floor(a / 1e8);
        this.int(high | 0, digitCount(high));
        this.int((a - high * 1e8) | 0, 8);
      }
      return;
    }
    if (!(a < 1e9)) {
      if (Number.isFinite(n)) this.chars(String(n));
      else this.bytes(NULL);
      return;
    }
    const r = Math.round(a * 1e6);
    if (r / 1e6 !== a) {
      this.chars(String(n));
      return;
    }
    const whole = Math.floor(r / 1e6);
    // Not 0: `a` is not a whole number.
    let frac = (r - whole * 1e6) | 0;
    let places = 6;
    for (let q = (frac / 10) | 0; frac !== 0 && frac === q * 10; q = (frac / 10) | 0) {
      frac = q;
      places -= 1;
    }
    this.reserve(18);
    const buf = this.buf;
    if (n < 0) buf[this.len++] = MINUS;
    this.int(whole | 0, digitCount(whole));
    buf[this.len++] = DOT;
    this.int(frac, places);
  }

  /** Writes `whenIso(ms)`. */
  when(ms: number): void {
    const whole = Math.floor(ms);
    const second = Math.floor(whole / 1000);
    if (second !== this.whenSecond) {
      const iso = whenIso(second * 1000); // ...ss.000000Z
      this.whenPrefix = latin1(iso.slice(0, iso.length - 7));
      this.whenSecond = second;
    }
    this.bytes(this.whenPrefix);
    this.reserve(7);
    this.int(whole - second * 1000, 3);
    this.int((Math.floor((ms - whole) * 1000) | 0) % 1000, 3);
    this.buf[this.len++] = Z;
  }

  /** Writes `x` (a 32-bit integer, 0 ≤ x) as `count` digits, zero-padded on the left. Room must have been reserved. */
  private int(x: number, count: number): void {
    const buf = this.buf;
    const end = this.len + count;
    for (let p = end - 1; p >= this.len; p--) {
      const q = (x / 10) | 0;
      buf[p] = ZERO + x - q * 10;
      x = q;
    }
    this.len = end;
  }
}

/** The one-byte characters of `s` (which has none past U+00FF), for {@link Latin1Writer.bytes}. */
export function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => {
    const code = c.charCodeAt(0);
    if (code > 0xff) throw new Error(`'${s}' has a character past U+00FF`);
    return code;
  });
}

const QUOTE = 0x22;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const Z = 0x5a;
const NULL = latin1('null');
const POW10 = Array.from({ length: 11 }, (_, i) => 10 ** i);

/** Digits of the whole number `m` (0 ≤ m < 10^10); 1 for 0. */
function digitCount(m: number): number {
  let d = 1;
  while (d < 10 && m >= POW10[d]!) d++;
  return d;
}
