/**
 * Environment variables the engine host process starts with (read by glibc's allocator at process start,
 * ignored elsewhere). glibc raises its mmap threshold each time a large block is freed, up to 32 MiB; after
 * that, onnxruntime's per-run buffers (attention scores, logits, key/value caches) come from the heap and stay
 * resident when freed. A fixed 128 KiB threshold keeps every large buffer an mmap, returned to the system when
 * freed. Measured: a 2-hour file (sequential, tiny) peaked 50-65 MiB lower; large-v3-turbo's encoder alone (fp32,
 * CPU, three windows) 2695 instead of 3205 MiB; speed the same within run-to-run noise.
 */
export const engineHostEnv: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };
