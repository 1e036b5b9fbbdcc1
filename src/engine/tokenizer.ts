import { Tokenizer } from '@huggingface/tokenizers';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SttError } from './errors';

/**
 * Whisper's tokenizer: byte-level BPE for text plus the special tokens that steer the decoder. Every special
 * id is read from the model folder, because the vocabularies differ: v2 multilingual (51865), v3 (51866, one
 * more language, so task and timestamp ids shift by one) and English-only (51864, GPT-2's base vocabulary).
 */
export interface SpecialTokens {
  readonly eot: number;
  readonly sot: number;
  readonly sotPrev: number;
  readonly sotLm: number;
  readonly noSpeech: number;
  readonly noTimestamps: number;
  readonly transcribe: number;
  readonly translate: number;
  /** `<|0.00|>`; timestamp k is timestampBegin + k, 0.02 s apart. Every id from here on is a timestamp. */
  readonly timestampBegin: number;
}

export type WhisperTask = 'transcribe' | 'translate';

/** The fields of generation_config.json the engine reads; all optional because folders in the wild vary. */
export interface GenerationConfig {
  readonly is_multilingual?: boolean;
  readonly suppress_tokens?: readonly number[];
  readonly begin_suppress_tokens?: readonly number[];
  readonly decoder_start_token_id?: number;
  readonly eos_token_id?: number;
  readonly no_timestamps_token_id?: number;
  readonly prev_sot_token_id?: number;
  readonly task_to_id?: Readonly<Record<string, number>>;
  readonly lang_to_id?: Readonly<Record<string, number>>;
}

interface AddedTokenJson {
  readonly id: number;
  readonly content: string;
  readonly special?: boolean;
}

interface TokenizerJson {
  readonly model: unknown;
  readonly added_tokens: readonly AddedTokenJson[];
  readonly [key: string]: unknown;
}

/** HF names the no-speech token `<|nocaptions|>` in v2 folders and `<|nospeech|>` from v3 on. */
const noSpeechNames = ['<|nospeech|>', '<|nocaptions|>'];

export class WhisperTokenizer {
  readonly special: SpecialTokens;
  /** Language codes (`en`, `zh`, …) and their token ids, in id order: the order the model was trained with. */
  readonly languages: ReadonlyMap<string, number>;
  readonly multilingual: boolean;
  /** OpenAI's `non_speech_tokens`, sorted (see `nonSpeechTokensOf`). */
  readonly nonSpeechTokens: readonly number[];
  /** What `' '` encodes to: with `<|endoftext|>`, what suppress_blank keeps from a segment's start. */
  readonly spaceTokens: readonly number[];
  private readonly bytesById: ByteTable;
  /**
   * The BPE encoder, held only while something asks for encode(): its vocabulary and merge ranks are 20 MiB of
   * heap (measured, tiny's tokenizer.json) that decoding never reads, and issue [10]'s memory target is tight.
   */
  private bpe: Tokenizer | undefined;

  private constructor(
    bpe: Tokenizer,
    private readonly loadBpe: () => Tokenizer,
    addedTokens: ReadonlyMap<string, number>,
    multilingual: boolean | undefined,
    generation: GenerationConfig,
  ) {
    this.special = specialTokensOf((content) => bpe.token_to_id(content), generation);
    this.languages = languagesOf(addedTokens, this.special);
    // OpenAI's rule (model.is_multilingual: n_vocab >= 51865) amounts to "the BPE base is the multilingual one",
    // whose <|endoftext|> sits at 50257 rather than GPT-2's 50256; generation_config says so explicitly when present.
    this.multilingual = multilingual ?? this.special.timestampBegin + timestampCount >= 51865;
    this.bytesById = ByteTable.of(bpe, addedTokens);
    const encode = (text: string) => bpe.encode(text, { add_special_tokens: false }).ids;
    this.nonSpeechTokens = nonSpeechTokensOf(encode);
    this.spaceTokens = encode(' ');
  }

  /** Reads tokenizer.json, or vocab.json + merges.txt (+ added_tokens.json), and generation_config.json. */
  static fromFolder(dir: string): WhisperTokenizer {
    const generation = readJsonIfPresent<GenerationConfig>(join(dir, 'generation_config.json')) ?? {};
    const { bpe, addedTokens } = readTokenizer(dir);
    return new WhisperTokenizer(
      bpe,
      () => readTokenizer(dir).bpe,
      addedTokens,
      generation.is_multilingual,
      generation,
    );
  }

  /** Plain text to token ids, no special tokens added (tiktoken's `encode` as OpenAI calls it). */
  encode(text: string): number[] {
    this.bpe ??= this.loadBpe();
    return this.bpe.encode(text, { add_special_tokens: false }).ids;
  }

  /** OpenAI's `Tokenizer.decode`: timestamps dropped, bytes joined, invalid UTF-8 replaced with U+FFFD. */
  decode(tokens: readonly number[]): string {
    const assembler = this.textAssembler();
    return assembler.push(tokens) + assembler.flush();
  }

  /** Incremental text: characters split across token (or segment) boundaries appear once whole. */
  textAssembler(): TextAssembler {
    return new TextAssembler((token) =>
      token < this.special.timestampBegin ? this.bytesById.get(token) : undefined,
    );
  }

  languageToken(code: string): number {
    const token = this.languages.get(code);
    if (token === undefined) {
      throw new SttError(
        'usage',
        `language "${code}" is not one this model knows (${[...this.languages.keys()].join(', ')})`,
      );
    }
    return token;
  }

  /** What the decoder is started with: sot, then language and task for multilingual models (OpenAI's sot_sequence). */
  sotSequence(language: string, task: WhisperTask): number[] {
    if (!this.multilingual) return [this.special.sot];
    const taskToken = task === 'transcribe' ? this.special.transcribe : this.special.translate;
    return [this.special.sot, this.languageToken(language), taskToken];
  }
}

/** Streams token bytes through one UTF-8 decoder so multi-byte characters split across tokens come out whole. */
export class TextAssembler {
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  constructor(private readonly bytesOf: (token: number) => Uint8Array | undefined) {}

  /** The text completed by these tokens; a trailing partial character waits for the next push. */
  push(tokens: readonly number[]): string {
    const parts = tokens.map(this.bytesOf).filter((bytes): bytes is Uint8Array => bytes !== undefined);
    return this.decoder.decode(Buffer.concat(parts), { stream: true });
  }

  /** Whatever is left; an incomplete character at the very end becomes U+FFFD, as it is not text. */
  flush(): string {
    return this.decoder.decode();
  }
}

/** `<|0.00|>` … `<|30.00|>`. */
const timestampCount = 1501;

function specialTokensOf(
  lookup: (content: string) => number | undefined,
  generation: GenerationConfig,
): SpecialTokens {
  const id = (content: string): number => {
    const token = lookup(content);
    if (token === undefined)
      throw new SttError('model', `the tokenizer has no ${content} token: not a Whisper tokenizer`);
    return token;
  };
  const noSpeechName = noSpeechNames.find((name) => lookup(name) !== undefined) ?? noSpeechNames[0]!;
  const noTimestamps = id('<|notimestamps|>');
  const special: SpecialTokens = {
    eot: id('<|endoftext|>'),
    sot: id('<|startoftranscript|>'),
    sotPrev: id('<|startofprev|>'),
    sotLm: id('<|startoflm|>'),
    noSpeech: id(noSpeechName),
    noTimestamps,
    transcribe: id('<|transcribe|>'),
    translate: id('<|translate|>'),
    // Older tokenizer files stop at <|notimestamps|>; the timestamps follow it directly, as HF also assumes.
    timestampBegin: lookup('<|0.00|>') ?? noTimestamps + 1,
  };
  checkAgreement(special, generation);
  return special;
}

/** A generation_config.json that contradicts the tokenizer means mixed-up files; decoding would go wrong silently. */
function checkAgreement(special: SpecialTokens, generation: GenerationConfig): void {
  const claims: [string, number | undefined, number][] = [
    ['decoder_start_token_id', generation.decoder_start_token_id, special.sot],
    ['eos_token_id', generation.eos_token_id, special.eot],
    ['no_timestamps_token_id', generation.no_timestamps_token_id, special.noTimestamps],
    ['prev_sot_token_id', generation.prev_sot_token_id, special.sotPrev],
    ['task_to_id.transcribe', generation.task_to_id?.['transcribe'], special.transcribe],
    ['task_to_id.translate', generation.task_to_id?.['translate'], special.translate],
  ];
  for (const [field, claimed, actual] of claims) {
    if (claimed !== undefined && claimed !== actual) {
      throw new SttError(
        'model',
        `generation_config.json ${field} is ${claimed} but the tokenizer has ${actual}: the files come from different models`,
      );
    }
  }
}

/** Language tokens sit between <|startoftranscript|> and <|translate|> in every Whisper vocabulary. */
function languagesOf(
  added: ReadonlyMap<string, number>,
  special: SpecialTokens,
): ReadonlyMap<string, number> {
  const languages = [...added]
    .filter(([content, id]) => id > special.sot && id < special.translate && /^<\|[a-z]+\|>$/.test(content))
    .sort(([, a], [, b]) => a - b)
    .map(([content, id]) => [content.slice(2, -2), id] as const);
  return new Map(languages);
}

/** GPT-2's byte ↔ printable-character table that byte-level BPE vocabularies are written in. */
function unicodeToByte(): ReadonlyMap<string, number> {
  const printable = (byte: number) =>
    (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  const table = new Map<string, number>();
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    table.set(String.fromCodePoint(printable(byte) ? byte : 256 + shifted++), byte);
  }
  return table;
}

/**
 * Every token's bytes in one buffer. As 51865 separate Uint8Arrays they held 10.9 MiB of the engine host's heap
 * for 0.3 MB of bytes (the memory target of issue [10] is tight).
 */
class ByteTable {
  private constructor(
    private readonly bytes: Uint8Array,
    /** Token t's bytes are bytes[starts[t] .. ends[t]); starts[t] < 0: t has none. */
    private readonly starts: Int32Array,
    private readonly ends: Int32Array,
  ) {}

  /**
   * Written straight into the buffer, no array per token even while building: byte-level BPE pieces spell one
   * byte per character; special tokens are their names in UTF-8.
   */
  static of(bpe: Tokenizer, added: ReadonlyMap<string, number>): ByteTable {
    const toByte = unicodeToByte();
    const encoder = new TextEncoder();
    const vocab = [...bpe.get_vocab(false)].filter(([piece]) => [...piece].every((char) => toByte.has(char)));
    const specials = [...added].map(([content, id]) => [encoder.encode(content), id] as const);
    const count = Math.max(-1, ...vocab.map(([, id]) => id), ...specials.map(([, id]) => id)) + 1;
    const starts = new Int32Array(count).fill(-1);
    const ends = new Int32Array(count);
    const vocabBytes = vocab.reduce((total, [piece]) => total + piece.length, 0);
    const bytes = new Uint8Array(vocabBytes + specials.reduce((total, [name]) => total + name.length, 0));
    let offset = 0;
    for (const [piece, id] of vocab) {
      starts[id] = offset;
      for (const char of piece) bytes[offset++] = toByte.get(char)!;
      ends[id] = offset;
    }
    // Special tokens decode to their names, as tiktoken does (only timestamps are dropped by decode); one that
    // shares an id with a vocabulary piece replaces it, as before.
    for (const [name, id] of specials) {
      starts[id] = offset;
      bytes.set(name, offset);
      offset += name.length;
      ends[id] = offset;
    }
    return new ByteTable(bytes, starts, ends);
  }

  get(id: number): Uint8Array | undefined {
    const start = this.starts[id];
    return start === undefined || start < 0 ? undefined : this.bytes.subarray(start, this.ends[id]);
  }
}

/** Reads tokenizer.json, or vocab.json + merges.txt, with added_tokens.json's tokens as well. */
function readTokenizer(dir: string): { bpe: Tokenizer; addedTokens: Map<string, number> } {
  const tokenizerJson =
    readJsonIfPresent<TokenizerJson>(join(dir, 'tokenizer.json')) ?? legacyTokenizerJson(dir);
  const config = readJsonIfPresent<Record<string, unknown>>(join(dir, 'tokenizer_config.json')) ?? {};
  const addedTokens = new Map(tokenizerJson.added_tokens.map((token) => [token.content, token.id]));
  // added_tokens.json can list tokens tokenizer.json lacks (and the reverse): the union is the vocabulary.
  const addedJson = readJsonIfPresent<Record<string, number>>(join(dir, 'added_tokens.json')) ?? {};
  for (const [content, id] of Object.entries(addedJson))
    if (!addedTokens.has(content)) addedTokens.set(content, id);
  const bpe = new Tokenizer(
    { ...tokenizerJson, added_tokens: [...addedTokens].map(([content, id]) => addedToken(content, id)) },
    config,
  );
  return { bpe, addedTokens };
}

/**
 * OpenAI's `non_speech_tokens`: symbols for speaker tags, music and sound annotations, found by encoding them
 * with this vocabulary, so the set is right for every tokenizer rather than copied from one.
 */
function nonSpeechTokensOf(encode: (text: string) => number[]): number[] {
  const symbols = [...'"#()*+/:;<=>@[\\]^_`{|}~「」『』'];
  symbols.push(...'<< >> <<< >>> -- --- -( -[ (\' (" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪'.split(' '));
  // These share their first two UTF-8 bytes, so suppressing the first token of each is safe.
  const miscellaneous = [...'♩♪♫♬♭♮♯'];
  // Hyphens and apostrophes stay allowed between words, just not to begin one.
  const result = new Set([encode(' -')[0], encode(" '")[0]]);
  for (const symbol of [...symbols, ...miscellaneous]) {
    for (const tokens of [encode(symbol), encode(` ${symbol}`)]) {
      if (tokens.length === 1 || miscellaneous.includes(symbol)) result.add(tokens[0]);
    }
  }
  return [...result].filter((token): token is number => token !== undefined).sort((a, b) => a - b);
}

function addedToken(content: string, id: number) {
  return { id, content, special: true, normalized: false, lstrip: false, rstrip: false, single_word: false };
}

/** The tokenizer.json that HF would build from the pre-tokenizer.json era files (English-only models ship these). */
function legacyTokenizerJson(dir: string): TokenizerJson {
  const vocabPath = join(dir, 'vocab.json');
  const mergesPath = join(dir, 'merges.txt');
  if (!existsSync(vocabPath) || !existsSync(mergesPath)) {
    throw new SttError(
      'model',
      `${dir} has no tokenizer: expected tokenizer.json, or vocab.json and merges.txt`,
    );
  }
  const merges = readFileSync(mergesPath, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#version'));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    model: {
      type: 'BPE',
      vocab: JSON.parse(readFileSync(vocabPath, 'utf8')),
      merges,
      fuse_unk: false,
      byte_fallback: false,
    },
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    added_tokens: [],
  };
}

export function readJsonIfPresent<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    throw new SttError('model', `${path} is not valid JSON`, { cause: error });
  }
}
