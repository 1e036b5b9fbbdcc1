/**
 * Environment variables the engine host process starts with (read by glibc's allocator at process start,
 * ignored elsewhere). glibc raises its mmap threshold each time a large block is freed, up to 32 MiB; after
 * that, onnxruntime's per-run buffers (attention scores, logits, key/value caches) come from the heap and stay
 * resident when freed. A fixed 128 KiB threshold keeps every large buffer an mmap, returned to the system when
 * freed. Measured: a 2-hour file (sequential, tiny) peaked 50-65 MiB lower; large-v3-turbo's encoder alone (fp32,
 * CPU, three windows) 2695 instead of 3205 MiB. The price is page faults on every large buffer, paid mostly by
 * the encoder (tiny, 2 quiet cores): at 100 tokens per window (tools/bench) encoder 269 vs 252 ms per window,
 * real-time factor 26.4 vs 26.9, peak RSS 732 vs 780 MB; at 4 tokens per window, where the encoder is nearly
 * all the work, 18.0 vs 12.9 s for a 10-minute file. Larger thresholds lose the memory before the time:
 * 8 and 32 MiB kept the default's peak (586-601 vs 578 MB) at 14.3-13.8 s. In between (fp32 tiny, 2-hour
 * file): 512 KiB and 2 MiB peaked 12 and 21 MiB higher than 128 KiB, with the decoder step no faster in
 * tools/bench (5.20-5.22 vs 4.40-5.33 ms, alternating runs).
 */
export const engineHostEnv: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

/**
 * Node flags the engine host process starts with. V8's young generation grows to semi-spaces of 16 MiB by
 * default and holds whatever died since its last collection; capped at 2 MiB it is collected sooner.
 * Measured (tools/bench/memory.ts, 2-hour file, sequential, tiny with the 4-bit decoder): peak RSS model +
 * 289 → 249 MiB. No slowdown seen in tools/bench (tiny, fp32: real-time factor 27.5 with it, 26.4 in the
 * run before it; runs on a shared machine). The full collections before encoder runs need no flag
 * (`collectGarbage` in `src/engine/runtime.ts` exposes `gc` itself).
 */
export const engineHostNodeFlags: readonly string[] = ['--max-semi-space-size=2'];
