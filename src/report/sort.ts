/**
 * Sorting of float64 columns for the report: an LSD radix sort on the IEEE-754 bits (four
 * 16-bit passes, constant passes skipped), about 3× faster than `Float64Array#sort` on a
 * million values. The report sorts each numeric column once and shares the sorted array
 * between Wasserstein, Kolmogorov–Smirnov, binning and histograms.
 */

/** Below this length the built-in sort is faster than four radix passes. */
const RADIX_MIN = 2048;
const RADIX = 65536;

/** Reusable scratch space for {@link sortFloat64}, sized for the longest column seen. */
export class SortScratch {
  private buffer = new Uint32Array(0);
  private readonly counts = new Uint32Array(4 * RADIX);

  /** A scratch array of at least `words` 32-bit words (reallocated only when it grows). */
  words(words: number): Uint32Array {
    if (this.buffer.length < words) this.buffer = new Uint32Array(words);
    return this.buffer;
  }

  /** The four 16-bit digit histograms, zeroed. */
  histograms(): Uint32Array {
    this.counts.fill(0);
    return this.counts;
  }
}

/**
 * Sorts finite float64 values ascending, in place, and returns the same array. Values must
 * not be NaN (the report drops missing values first); −0 sorts before +0, as with
 * `Float64Array#sort`. Equal values are indistinguishable, so stability does not matter.
 *
 * @param scratch optional reusable buffers (saves 16 bytes per value of allocation per call).
 */
export function sortFloat64(values: Float64Array, scratch: SortScratch = new SortScratch()): Float64Array {
  const n = values.length;
  if (n < RADIX_MIN) return values.sort();
  // Typed-array views need 4-byte alignment; a Float64Array always has 8.
  const u = new Uint32Array(values.buffer, values.byteOffset, n * 2);
  const counts = scratch.histograms();
  // Map the bits to unsigned keys that sort like the numbers (little endian: lo, hi words):
  // negative → flip all bits; positive → set the sign bit. Count all four digits on the way.
  for (let j = 0; j < 2 * n; j += 2) {
    let lo = u[j] as number;
    let hi = u[j + 1] as number;
    if (hi >= 0x80000000) {
      hi = ~hi >>> 0;
      lo = ~lo >>> 0;
      u[j] = lo;
    } else {
      hi = (hi | 0x80000000) >>> 0;
    }
    u[j + 1] = hi;
    (counts[lo & 0xffff] as number)++;
    (counts[RADIX + (lo >>> 16)] as number)++;
    (counts[2 * RADIX + (hi & 0xffff)] as number)++;
    (counts[3 * RADIX + (hi >>> 16)] as number)++;
  }
  let src = u;
  let dst = scratch.words(2 * n);
  for (let pass = 0; pass < 4; pass++) {
    const base = pass * RADIX;
    if (!prefixSums(counts, base, n)) continue;
    scatter(src, dst, n, counts, base, pass);
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== u) u.set(src.subarray(0, 2 * n));
  for (let j = 0; j < 2 * n; j += 2) {
    const hi = u[j + 1] as number;
    if (hi >= 0x80000000) {
      u[j + 1] = hi & 0x7fffffff;
    } else {
      u[j + 1] = ~hi;
      u[j] = ~(u[j] as number);
    }
  }
  return values;
}

/** Turns digit counts into start offsets; false when one digit holds every value (skip the pass). */
function prefixSums(counts: Uint32Array, base: number, n: number): boolean {
  let sum = 0;
  for (let b = 0; b < RADIX; b++) {
    const c = counts[base + b] as number;
    if (c === n) return false;
    counts[base + b] = sum;
    sum += c;
  }
  return true;
}

/** One stable counting-sort pass on 16-bit digit `pass` (0: low word's low half ... 3: high word's high half). */
function scatter(src: Uint32Array, dst: Uint32Array, n: number, counts: Uint32Array, base: number, pass: number): void {
  const word = pass >> 1;
  const shift = (pass & 1) * 16;
  for (let j = 0; j < 2 * n; j += 2) {
    const lo = src[j] as number;
    const hi = src[j + 1] as number;
    const digit = ((word === 0 ? lo : hi) >>> shift) & 0xffff;
    const pos = 2 * (counts[base + digit] as number);
    counts[base + digit] = (counts[base + digit] as number) + 1;
    dst[pos] = lo;
    dst[pos + 1] = hi;
  }
}
