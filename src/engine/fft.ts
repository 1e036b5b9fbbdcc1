/**
 * Exact discrete Fourier transforms for the sizes the audio front end needs. Whisper's STFT uses n_fft = 400,
 * which is not a power of two, so this is a mixed-radix Stockham FFT (natural-order output, no bit reversal)
 * with dedicated radix-2/4/5 butterflies and a generic odd-radix butterfly for any other factor. Everything is
 * float64: the mel front end must match a float32 torch reference to 1e-4 after a log, and doubles keep our
 * own error far below that.
 */

interface Stage {
  radix: number;
  /** Length of the sub-transforms this stage splits (n at the first stage). */
  spanLength: number;
  /** Stride between elements of one sub-transform (1 at the first stage). */
  stride: number;
  /** cos/sin of -2π·p·k/spanLength for p < spanLength/radix, k < radix, laid out [p][k]. */
  twiddleRe: Float64Array;
  twiddleIm: Float64Array;
}

function factorize(n: number): number[] {
  const factors: number[] = [];
  let rest = n;
  // Radix 4 first: fewest multiplications per point among the dedicated butterflies.
  for (const radix of [4, 2, 5, 3]) {
    while (rest % radix === 0) {
      factors.push(radix);
      rest /= radix;
    }
  }
  for (let radix = 7; rest > 1; radix += 2) {
    while (rest % radix === 0) {
      factors.push(radix);
      rest /= radix;
    }
  }
  return factors;
}

/** A complex FFT of one fixed length, planned once and reused (its scratch buffers make it non-reentrant). */
export class ComplexFft {
  private readonly stages: Stage[] = [];
  private readonly scratchRe: Float64Array;
  private readonly scratchIm: Float64Array;
  /** cos/sin of -2π·j/r for the generic odd radix r, indexed by (j mod r); empty when unused. */
  private readonly genericRootRe: Map<number, Float64Array> = new Map();
  private readonly genericRootIm: Map<number, Float64Array> = new Map();

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`FFT size must be a positive integer: ${size}`);
    this.scratchRe = new Float64Array(size);
    this.scratchIm = new Float64Array(size);
    let spanLength = size;
    let stride = 1;
    for (const radix of factorize(size)) {
      const subLength = spanLength / radix;
      const twiddleRe = new Float64Array(subLength * radix);
      const twiddleIm = new Float64Array(subLength * radix);
      for (let p = 0; p < subLength; p++) {
        for (let k = 0; k < radix; k++) {
          const angle = (-2 * Math.PI * p * k) / spanLength;
          twiddleRe[p * radix + k] = Math.cos(angle);
          twiddleIm[p * radix + k] = Math.sin(angle);
        }
      }
      this.stages.push({ radix, spanLength, stride, twiddleRe, twiddleIm });
      if (radix > 5 || radix === 3) this.addGenericRoots(radix);
      spanLength = subLength;
      stride *= radix;
    }
  }

  private addGenericRoots(radix: number): void {
    if (this.genericRootRe.has(radix)) return;
    const re = new Float64Array(radix);
    const im = new Float64Array(radix);
    for (let j = 0; j < radix; j++) {
      re[j] = Math.cos((-2 * Math.PI * j) / radix);
      im[j] = Math.sin((-2 * Math.PI * j) / radix);
    }
    this.genericRootRe.set(radix, re);
    this.genericRootIm.set(radix, im);
  }

  /** In-place forward transform X[k] = Σ x[j]·e^(-2πi·jk/n). */
  transform(re: Float64Array, im: Float64Array): void {
    if (re.length !== this.size || im.length !== this.size) {
      throw new RangeError(`FFT of size ${this.size} given arrays of ${re.length} and ${im.length}`);
    }
    let inRe = re;
    let inIm = im;
    let outRe = this.scratchRe;
    let outIm = this.scratchIm;
    for (const stage of this.stages) {
      switch (stage.radix) {
        case 2:
          radix2(stage, inRe, inIm, outRe, outIm);
          break;
        case 4:
          radix4(stage, inRe, inIm, outRe, outIm);
          break;
        case 5:
          radix5(stage, inRe, inIm, outRe, outIm);
          break;
        default:
          this.genericRadix(stage, inRe, inIm, outRe, outIm);
      }
      [inRe, outRe] = [outRe, inRe];
      [inIm, outIm] = [outIm, inIm];
    }
    if (inRe !== re) {
      re.set(inRe);
      im.set(inIm);
    }
  }

  private genericRadix(stage: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array) {
    const { radix, spanLength, stride, twiddleRe, twiddleIm } = stage;
    const rootRe = this.genericRootRe.get(radix)!;
    const rootIm = this.genericRootIm.get(radix)!;
    const m = spanLength / radix;
    for (let p = 0; p < m; p++) {
      for (let q = 0; q < stride; q++) {
        for (let k = 0; k < radix; k++) {
          let sumRe = 0;
          let sumIm = 0;
          for (let r = 0; r < radix; r++) {
            const at = q + stride * (p + r * m);
            const root = (r * k) % radix;
            sumRe += xr[at]! * rootRe[root]! - xi[at]! * rootIm[root]!;
            sumIm += xr[at]! * rootIm[root]! + xi[at]! * rootRe[root]!;
          }
          const wr = twiddleRe[p * radix + k]!;
          const wi = twiddleIm[p * radix + k]!;
          const to = q + stride * (radix * p + k);
          yr[to] = sumRe * wr - sumIm * wi;
          yi[to] = sumRe * wi + sumIm * wr;
        }
      }
    }
  }
}

// Stockham decimation in frequency: each stage reads sub-transform element p + r·m (r < radix) at stride s,
// runs a radix-point DFT over r, multiplies output k by W_span^(p·k) and writes it to slot radix·p + k.

function radix2(stage: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { spanLength, stride: s, twiddleRe, twiddleIm } = stage;
  const m = spanLength / 2;
  for (let p = 0; p < m; p++) {
    const w1r = twiddleRe[p * 2 + 1]!;
    const w1i = twiddleIm[p * 2 + 1]!;
    for (let q = 0; q < s; q++) {
      const a = q + s * p;
      const b = a + s * m;
      const ar = xr[a]!;
      const ai = xi[a]!;
      const br = xr[b]!;
      const bi = xi[b]!;
      const to = q + s * 2 * p;
      yr[to] = ar + br;
      yi[to] = ai + bi;
      const dr = ar - br;
      const di = ai - bi;
      yr[to + s] = dr * w1r - di * w1i;
      yi[to + s] = dr * w1i + di * w1r;
    }
  }
}

function radix4(stage: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { spanLength, stride: s, twiddleRe, twiddleIm } = stage;
  const m = spanLength / 4;
  for (let p = 0; p < m; p++) {
    const t = p * 4;
    const w1r = twiddleRe[t + 1]!;
    const w1i = twiddleIm[t + 1]!;
    const w2r = twiddleRe[t + 2]!;
    const w2i = twiddleIm[t + 2]!;
    const w3r = twiddleRe[t + 3]!;
    const w3i = twiddleIm[t + 3]!;
    for (let q = 0; q < s; q++) {
      const i0 = q + s * p;
      const i1 = i0 + s * m;
      const i2 = i1 + s * m;
      const i3 = i2 + s * m;
      const s02r = xr[i0]! + xr[i2]!;
      const s02i = xi[i0]! + xi[i2]!;
      const d02r = xr[i0]! - xr[i2]!;
      const d02i = xi[i0]! - xi[i2]!;
      const s13r = xr[i1]! + xr[i3]!;
      const s13i = xi[i1]! + xi[i3]!;
      const d13r = xr[i1]! - xr[i3]!;
      const d13i = xi[i1]! - xi[i3]!;
      // Forward DFT-4: X1 = d02 - i·d13, X3 = d02 + i·d13.
      const x1r = d02r + d13i;
      const x1i = d02i - d13r;
      const x2r = s02r - s13r;
      const x2i = s02i - s13i;
      const x3r = d02r - d13i;
      const x3i = d02i + d13r;
      const to = q + s * 4 * p;
      yr[to] = s02r + s13r;
      yi[to] = s02i + s13i;
      yr[to + s] = x1r * w1r - x1i * w1i;
      yi[to + s] = x1r * w1i + x1i * w1r;
      yr[to + 2 * s] = x2r * w2r - x2i * w2i;
      yi[to + 2 * s] = x2r * w2i + x2i * w2r;
      yr[to + 3 * s] = x3r * w3r - x3i * w3i;
      yi[to + 3 * s] = x3r * w3i + x3i * w3r;
    }
  }
}

const C1 = Math.cos((2 * Math.PI) / 5);
const C2 = Math.cos((4 * Math.PI) / 5);
const S1 = Math.sin((2 * Math.PI) / 5);
const S2 = Math.sin((4 * Math.PI) / 5);

function radix5(stage: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { spanLength, stride: s, twiddleRe, twiddleIm } = stage;
  const m = spanLength / 5;
  for (let p = 0; p < m; p++) {
    const t = p * 5;
    for (let q = 0; q < s; q++) {
      const i0 = q + s * p;
      const i1 = i0 + s * m;
      const i2 = i1 + s * m;
      const i3 = i2 + s * m;
      const i4 = i3 + s * m;
      const x0r = xr[i0]!;
      const x0i = xi[i0]!;
      // Pair symmetric inputs so the DFT-5 needs 4 real products per output pair instead of 16.
      const a1r = xr[i1]! + xr[i4]!;
      const a1i = xi[i1]! + xi[i4]!;
      const b1r = xr[i1]! - xr[i4]!;
      const b1i = xi[i1]! - xi[i4]!;
      const a2r = xr[i2]! + xr[i3]!;
      const a2i = xi[i2]! + xi[i3]!;
      const b2r = xr[i2]! - xr[i3]!;
      const b2i = xi[i2]! - xi[i3]!;
      const c1r = x0r + C1 * a1r + C2 * a2r;
      const c1i = x0i + C1 * a1i + C2 * a2i;
      const c2r = x0r + C2 * a1r + C1 * a2r;
      const c2i = x0i + C2 * a1i + C1 * a2i;
      // -i·(S·b) terms of the forward transform.
      const d1r = S1 * b1i + S2 * b2i;
      const d1i = -(S1 * b1r + S2 * b2r);
      const d2r = S2 * b1i - S1 * b2i;
      const d2i = -(S2 * b1r - S1 * b2r);
      const to = q + s * 5 * p;
      yr[to] = x0r + a1r + a2r;
      yi[to] = x0i + a1i + a2i;
      twiddleStore(yr, yi, to + s, c1r + d1r, c1i + d1i, twiddleRe[t + 1]!, twiddleIm[t + 1]!);
      twiddleStore(yr, yi, to + 2 * s, c2r + d2r, c2i + d2i, twiddleRe[t + 2]!, twiddleIm[t + 2]!);
      twiddleStore(yr, yi, to + 3 * s, c2r - d2r, c2i - d2i, twiddleRe[t + 3]!, twiddleIm[t + 3]!);
      twiddleStore(yr, yi, to + 4 * s, c1r - d1r, c1i - d1i, twiddleRe[t + 4]!, twiddleIm[t + 4]!);
    }
  }
}

function twiddleStore(
  yr: Float64Array,
  yi: Float64Array,
  at: number,
  re: number,
  im: number,
  wr: number,
  wi: number,
): void {
  yr[at] = re * wr - im * wi;
  yi[at] = re * wi + im * wr;
}

/**
 * Power spectrum |X[k]|² (k = 0..n/2) of a real frame of even length n, through one complex FFT of n/2 points
 * (even samples as the real part, odd samples as the imaginary part) and the usual split into two spectra.
 */
export class RealPowerSpectrum {
  readonly bins: number;
  private readonly half: ComplexFft;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly splitRe: Float64Array;
  private readonly splitIm: Float64Array;

  constructor(readonly size: number) {
    if (size % 2 !== 0) throw new RangeError(`real FFT size must be even: ${size}`);
    const half = size / 2;
    this.bins = half + 1;
    this.half = new ComplexFft(half);
    this.re = new Float64Array(half);
    this.im = new Float64Array(half);
    this.splitRe = new Float64Array(half + 1);
    this.splitIm = new Float64Array(half + 1);
    for (let k = 0; k <= half; k++) {
      this.splitRe[k] = Math.cos((-2 * Math.PI * k) / size);
      this.splitIm[k] = Math.sin((-2 * Math.PI * k) / size);
    }
  }

  /** Writes |X[k]|² of `frame` (length n) to `power` (length n/2 + 1). */
  compute(frame: ArrayLike<number>, power: Float64Array): void {
    const half = this.size / 2;
    const { re, im, splitRe, splitIm } = this;
    for (let j = 0; j < half; j++) {
      re[j] = frame[2 * j]!;
      im[j] = frame[2 * j + 1]!;
    }
    this.half.transform(re, im);
    for (let k = 0; k <= half; k++) {
      const a = k % half;
      const b = (half - k) % half;
      // E[k] = (Z[k] + conj Z[h-k]) / 2 (even samples), O[k] = (Z[k] - conj Z[h-k]) / 2i (odd samples).
      const er = (re[a]! + re[b]!) / 2;
      const ei = (im[a]! - im[b]!) / 2;
      const or = (im[a]! + im[b]!) / 2;
      const oi = -(re[a]! - re[b]!) / 2;
      const wr = splitRe[k]!;
      const wi = splitIm[k]!;
      const xr = er + or * wr - oi * wi;
      const xi = ei + or * wi + oi * wr;
      power[k] = xr * xr + xi * xi;
    }
  }
}
