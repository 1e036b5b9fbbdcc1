"""Synthetic speech for the test model: espeak-ng utterances, 30 s training windows packed from them, Whisper's
log-mel features and Whisper-format token targets.

Two stages, so that the slow part (espeak-ng + sox subprocesses) runs once and the training set is unlimited:

  pool      synthesise every training phrase many times (voice, variant, speed, pitch) into one .npz
  windows   (a library function, `WindowSampler`) packs a 30 s window from the pool: pauses, gain, noise,
            the token target; window i is a pure function of (seed, i), so train.py builds them on the fly
            and nothing big is stored. `dump` writes a few windows as WAV + JSON to look at.
  heldout   held-out clips: held-out sentences spoken by held-out voice variants (never used in training)
  selftest  checks the log-mel against OpenAI's own output and the phrase split

Run with Debian's python3 (python3-numpy, python3-torch), espeak-ng and sox on PATH; see README.md.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

import grammar
import phrases as phrase_table

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
TOKENIZER_DIR = os.path.join(REPO, "test", "fixtures", "reference", "tiny-random")
MEL_FILTERS = os.path.join(REPO, "test", "fixtures", "reference", "mel_filters", "mel_80.f32")

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
WINDOW_SAMPLES = 30 * SAMPLE_RATE  # 480000: Whisper's fixed 30 s input
WINDOW_FRAMES = WINDOW_SAMPLES // HOP  # 3000 mel frames -> 1500 encoder positions
TIME_PRECISION = 0.02  # one timestamp token step
MAX_TIMESTAMP = 1500  # <|30.00|>

# espeak-ng base voices per language (no mbrola voices: they are a separate, non-free Debian download).
BASE_VOICES = {
    "en": ["en-us", "en", "en-gb-scotland", "en-gb-x-rp"],
    "de": ["de"],
    "fr": ["fr", "fr-be"],
    "es": ["es", "es-419"],
}
# Voice variants (espeak-ng-data/voices/!v). "" is the base voice itself. Held-out variants are never used
# in training, so the held-out clips test unseen voices.
TRAIN_VARIANTS = ["", "m1", "m2", "m3", "m5", "m6", "f1", "f2", "f3", "f5", "klatt", "klatt3", "iven", "steph"]
HELD_OUT_VARIANTS = ["m4", "m7", "f4", "klatt2"]


# ----------------------------------------------------------------------------------------------------------
# Tokenizer: the project's own TypeScript tokenizer, called once through node (no Python tokenizer in Debian).


def tokenize(texts, tokenizer_dir=TOKENIZER_DIR):
    """Token ids of each text (no special tokens), plus the special ids and the language table."""
    script = os.path.join(HERE, "tokenize.ts")
    result = subprocess.run(
        ["node", "--import", "tsx", script, tokenizer_dir],
        input=json.dumps(texts).encode("utf-8"),
        capture_output=True,
        cwd=REPO,  # tsx and @huggingface/tokenizers resolve from the repository's node_modules
        check=True,
    )
    return json.loads(result.stdout)


class Vocabulary:
    """Token ids for every text the windows can contain, looked up by text."""

    def __init__(self, extra_items=(), tokenizer_dir=TOKENIZER_DIR):
        texts = set()
        for phrase in phrase_table.training_phrases() + phrase_table.held_out_sentences() + list(extra_items):
            # Whisper's segments start with a space; the token ids differ with and without it.
            texts.add(" " + phrase["text"])
            texts.add(" " + phrase["en"])
        self.texts = sorted(texts)
        result = tokenize(self.texts, tokenizer_dir)
        self.ids = dict(zip(self.texts, result["ids"]))
        self.special = result["special"]
        self.languages = result["languages"]
        with open(os.path.join(tokenizer_dir, "tokenizer.json"), encoding="utf-8") as file:
            pieces = json.load(file)["model"]["vocab"]
        # Byte-level BPE marks a leading space with "Ġ": these tokens start a word.
        self.word_starts = {token for piece, token in pieces.items() if piece.startswith("\u0120")}

    def text(self, text):
        return self.ids[" " + text]

    def word_positions(self, ids):
        """The positions in `ids` where a word starts."""
        return [i for i, token in enumerate(ids) if token in self.word_starts]

    def timestamp(self, seconds):
        index = int(round(seconds / TIME_PRECISION))
        return self.special["timestampBegin"] + min(max(index, 0), MAX_TIMESTAMP)


# ----------------------------------------------------------------------------------------------------------
# Whisper's log-mel (openai/whisper audio.py), in torch so it matches bit for bit in structure.

_filters = None


def mel_filters():
    global _filters
    if _filters is None:
        _filters = torch.from_numpy(np.fromfile(MEL_FILTERS, dtype="<f4").reshape(80, N_FFT // 2 + 1))
    return _filters


def log_mel(audio):
    """80 x 3000 log-mel of exactly 30 s of 16 kHz audio: periodic Hann, centred reflect-padded STFT, last
    frame dropped, Slaney filters, log10 clamped to 8 below the maximum, then (x + 4) / 4 as Whisper does."""
    audio = torch.as_tensor(audio, dtype=torch.float32)
    window = torch.hann_window(N_FFT)  # periodic by default, as torch.stft in Whisper uses it
    stft = torch.stft(audio, N_FFT, HOP, window=window, return_complex=True)
    magnitudes = stft[..., :-1].abs() ** 2
    mel = mel_filters() @ magnitudes
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


def pad_or_trim(audio, length=WINDOW_SAMPLES):
    if len(audio) >= length:
        return audio[:length]
    return np.pad(audio, (0, length - len(audio)))


# ----------------------------------------------------------------------------------------------------------
# espeak-ng utterances.


def speak(text, voice, speed, pitch):
    """16 kHz mono float32 audio of `text`; espeak-ng writes 22.05 kHz WAV, sox resamples it."""
    espeak = subprocess.Popen(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        stdout=subprocess.PIPE,
    )
    sox = subprocess.run(
        ["sox", "-t", "wav", "-", "-t", "raw", "-r", str(SAMPLE_RATE), "-e", "float", "-b", "32", "-c", "1", "-"],
        stdin=espeak.stdout,
        capture_output=True,
        check=True,
    )
    espeak.stdout.close()
    if espeak.wait() != 0:
        raise RuntimeError(f"espeak-ng failed for voice {voice}: {text!r}")
    return trim_silence(np.frombuffer(sox.stdout, dtype="<f4"))


def trim_silence(audio, threshold=0.01):
    """Cuts espeak's leading and trailing silence so a segment's timestamps are where the voice starts and
    stops (the test checks segment starts to 0.1 s)."""
    loud = np.flatnonzero(np.abs(audio) > threshold * max(np.abs(audio).max(), 1e-9))
    if len(loud) == 0:
        return audio[:0]
    return audio[loud[0] : loud[-1] + 1].copy()


def random_voice(rng, lang, variants):
    base = BASE_VOICES[lang][rng.integers(len(BASE_VOICES[lang]))]
    variant = variants[rng.integers(len(variants))]
    return base + ("+" + variant if variant else "")


def build_pool(out_path, renditions, seed, variants=TRAIN_VARIANTS, items=None, log=True):
    """Speaks every training phrase `renditions` times with random voices, speeds and pitches, and saves all
    utterances in one .npz (int16 audio concatenated, with offsets)."""
    rng = np.random.default_rng(seed)
    items = items if items is not None else phrase_table.training_phrases()
    chunks, meta = [], []
    started = time.time()
    for phrase in items:
        for _ in range(renditions):
            voice = random_voice(rng, phrase["lang"], variants)
            speed = int(rng.integers(130, 201))  # words per minute; espeak's default is 175
            pitch = int(rng.integers(25, 76))  # 0-99; default 50
            audio = speak(phrase["text"], voice, speed, pitch)
            chunks.append(np.clip(audio * 32767, -32768, 32767).astype("<i2"))
            meta.append({"id": phrase["id"], "lang": phrase["lang"], "text": phrase["text"], "en": phrase["en"],
                         "voice": voice, "speed": speed, "pitch": pitch})
    elapsed = time.time() - started
    offsets = np.cumsum([0] + [len(c) for c in chunks])
    np.savez(out_path, audio=np.concatenate(chunks), offsets=offsets, meta=json.dumps(meta))
    if log:
        seconds = offsets[-1] / SAMPLE_RATE
        print(f"pool: {len(meta)} utterances, {seconds:.0f} s of speech, {elapsed:.1f} s "
              f"({len(meta) / elapsed:.1f} utterances/s) -> {out_path}")
    return elapsed


class Pool:
    """The synthesised utterances of one or more pool files, grouped by language."""

    def __init__(self, paths):
        paths = [paths] if isinstance(paths, str) else paths
        audio, offsets, self.meta = [], [0], []
        for path in paths:
            data = np.load(path)
            audio.append(data["audio"])
            offsets += [offsets[-1] + int(o) for o in data["offsets"][1:]]
            self.meta += json.loads(str(data["meta"]))
        self.audio = np.concatenate(audio)
        self.offsets = np.array(offsets)
        self.by_lang = {lang: [i for i, m in enumerate(self.meta) if m["lang"] == lang]
                        for lang in phrase_table.LANGUAGES}

    def items(self):
        """Every distinct text with its language and translation, for `Vocabulary`."""
        return list({m["text"]: m for m in self.meta}.values())

    def utterance(self, index):
        start, end = self.offsets[index], self.offsets[index + 1]
        return self.audio[start:end].astype(np.float32) / 32768.0


# ----------------------------------------------------------------------------------------------------------
# 30 s windows and their Whisper targets.

# How often each kind of window occurs; the rest are ordinary timestamped transcriptions.
P_SILENT = 0.08  # no speech at all: teaches <|nospeech|> at the SOT position
P_NO_TIMESTAMPS = 0.2  # <|notimestamps|> mode
P_TRANSLATE = 0.3  # of non-English speech windows: task translate, English target
P_PROMPT = 0.5  # <|startofprev|> + previous text before <|startoftranscript|>
# Of prompts: the previous text holds the window's own sentences in another order (a recording that repeats
# itself, as the held-out long-form clips do), some misheard. Run 33, prompted with its own transcript of the first window,
# copied a sentence it had spliced there ("... pain frais dans le parc") when the audio said another, then
# ended the window 15 s early: five sentences lost (long-form WER 15.4% prompted, 9.8% not). Prompts of
# unrelated sentences never showed it a prompt that is wrong about what follows.
P_ECHO = 0.5
P_MISHEARD = 0.35  # of an echoed sentence: spliced with another, a word dropped, or another sentence instead
WEATHER_DRAWS = 5  # see WindowSampler._draws
P_TRUNCATE = 0.35  # of timestamped windows: the last utterance runs past 30 s
P_STOP = 0.12  # after each utterance: end the speech early (silence to the end of the window)
# Windows where utterances recur: each utterance after the first is, half the time, one already placed, the same
# recording again. A model that finds its place by what it hears rather than by where it is jumps to the later
# copy: on the held-out long-form clips (one voice, each sentence said about five times) run 24 ended a
# segment 17 s late, skipping five sentences.
P_REPEAT = 0.3
# The audio ends inside the window and its log-mel frames from there on are 0, as OpenAI's transcribe() (and the
# engine) decodes every clip shorter than 30 s and the last window of every file: `pad_or_trim` pads the mel
# slice with zeros, not the audio with silence. A model never trained on it went on past the speech there
# (run 20: short-clip WER 66.7% so, 31.8% with the clips padded with silence instead).
P_MEL_END = 0.3
MAX_TOKENS = 448
MAX_PROMPT_TOKENS = MAX_TOKENS // 2 - 1  # as OpenAI's decoding (and the engine) cut the previous text


def token_times(start, end, count):
    """Where each of `count` text tokens of an utterance from `start` to `end` s is heard: evenly spread, as
    espeak-ng speaks at an even pace."""
    step = (end - start) / count
    return [start + (k + 0.5) * step for k in range(count)]


class Window:
    """One training example: audio, the full token sequence, and which positions are trained."""

    def __init__(self, audio, tokens, trained, info, spoken=(), spans=(), guides=None, audio_seconds=None):
        self.audio = audio  # float32, exactly 30 s
        # Where the recording ends (P_MEL_END): the log-mel frames after it are zeros. None: it fills the window.
        self.audio_seconds = audio_seconds
        self.tokens = tokens  # list of ids, prompt included
        self.trained = trained  # trained[i]: tokens[i] is a loss target (predicted from tokens[:i])
        # guides[i]: where in the audio tokens[i] is heard, (centre s, half-width s, tolerance s), or None;
        # train.py's guided cross-attention. Absent (None) for windows without text.
        self.guides = guides if guides is not None else [None] * len(tokens)
        self.info = info
        # The text tokens of what is heard whole, in the spoken language and in order (also for translate
        # windows): the target of train.py's auxiliary CTC loss on the encoder.
        self.spoken = list(spoken)
        # (start s, end s or None when cut at the window's end, text token ids) per utterance heard: train.py's
        # frame targets.
        self.spans = list(spans)


class WindowSampler:
    """Window i is built from numpy's generator seeded with (seed, i): reproducible, any order, any count."""

    def __init__(self, pool, vocab, seed, stop_probability=P_STOP, window_seconds=30):
        self.pool = pool
        self.vocab = vocab
        self.seed = seed
        self.stop_probability = stop_probability  # train.py raises it for its first, easier windows
        # train.py's short windows (a curriculum, not Whisper's format): the encoder then sees fewer positions
        # and trains several times faster per window; no utterance is cut at their end.
        self.window_samples = int(window_seconds * SAMPLE_RATE)
        self.by_lang = {lang: [i for i in indices for _ in range(self._draws(pool.meta[i]))]
                        for lang, indices in pool.by_lang.items()}

    @staticmethod
    def _draws(meta):
        """How many times an utterance is in the draw. Generated weather sentences (grammar.py's rarest frame,
        1.4% of its rows) WEATHER_DRAWS times: run 33 heard held-out "Demain il fait froid" as the training
        phrase "Tomorrow we go to the city" (160 renditions in the pools, against 8 of "Tomorrow the weather
        ...")."""
        return WEATHER_DRAWS if meta["id"].startswith("gen-") and "weather" in meta["en"] else 1

    def window(self, index):
        rng = np.random.default_rng([self.seed, index])
        if rng.random() < P_SILENT:
            return self._silent(rng)
        lang = phrase_table.LANGUAGES[rng.integers(len(phrase_table.LANGUAGES))]
        task = "translate" if lang != "en" and rng.random() < P_TRANSLATE else "transcribe"
        timestamps = rng.random() >= P_NO_TIMESTAMPS
        # Recordings that end inside the window are mostly short (a clip, a file's last few seconds): their
        # windows stop after fewer utterances.
        mel_end = rng.random() < P_MEL_END
        truncate = (timestamps and not mel_end and rng.random() < P_TRUNCATE
                    and self.window_samples == WINDOW_SAMPLES)
        audio, placed = self._pack(rng, lang, truncate, 0.5 if mel_end else self.stop_probability)
        audio = self._degrade(rng, audio)
        body, body_guides = self._body(placed, task, timestamps)
        prefix = [self.vocab.special["sot"], self.vocab.languages[lang], self.vocab.special[task]]
        if not timestamps:
            prefix.append(self.vocab.special["noTimestamps"])
        prompt = self._prompt(rng, lang, placed) if rng.random() < P_PROMPT else []
        tokens = prompt + prefix + body + [self.vocab.special["eot"]]
        # Trained: the language (predicted at SOT: language id), then everything after the task and
        # <|notimestamps|>. Not trained: the prompt (as in Whisper), and the task / mode tokens, which the
        # caller chooses and the audio cannot predict.
        sot_at = len(prompt)
        trained = [False] * len(tokens)
        trained[sot_at + 1] = True
        for i in range(sot_at + len(prefix), len(tokens)):
            trained[i] = True
        info = {"kind": "speech", "lang": lang, "task": task, "timestamps": timestamps, "truncated": any(cut for *_, cut in placed),
                "prompt": len(prompt) > 0,
                "segments": [{"start": s, "end": e, "text": self.pool.meta[u]["text"], "en": self.pool.meta[u]["en"],
                              "voice": self.pool.meta[u]["voice"], "cut": cut} for u, s, e, cut in placed]}
        spans = [(start, end, self.vocab.text(self.pool.meta[u]["text"])) for u, start, end, _ in placed]
        spoken = [t for _, end, ids in spans if end is not None for t in ids]
        guides = [None] * (len(prompt) + len(prefix)) + body_guides + [None]
        audio_seconds = None
        if mel_end:
            last_end = placed[-1][2] if placed else 0.0
            audio_seconds = min(self.window_samples / SAMPLE_RATE, last_end + rng.uniform(0.0, 1.0))
            audio[int(audio_seconds * SAMPLE_RATE):] = 0.0  # nothing recorded after the end, not even noise
        return self._fit(Window(audio, tokens, trained, info, spoken, spans, guides, audio_seconds))

    def _pack(self, rng, lang, truncate, stop_probability):
        """Places utterances with pauses; returns the audio and (utterance, start s, end s, cut) per utterance.
        A window with no room for its first utterance holds none (short windows only).
        The first pause is mostly under 1 s because decoding allows no first timestamp after 1.0 s
        (max_initial_timestamp); in a long recording the next window starts where the last complete
        segment ended, so a pause of up to 2.5 s precedes its speech (the 15% with 1-3 s)."""
        window = self.window_samples
        audio = np.zeros(window, dtype=np.float32)
        t = rng.uniform(0.0, 1.0) if rng.random() < 0.85 else rng.uniform(1.0, 3.0)
        repeats = rng.random() < P_REPEAT
        placed = []
        while True:
            if repeats and placed and rng.random() < 0.5:
                index = placed[rng.integers(len(placed))][0]
            else:
                index = self.by_lang[lang][rng.integers(len(self.by_lang[lang]))]
            speech = self.pool.utterance(index) * 10 ** (rng.uniform(-6, 3) / 20)  # per-utterance level
            start = int(round(t * SAMPLE_RATE))
            end = start + len(speech)
            if end > window:
                # Cut only when at least 0.3 s of it is in the window, so the start is audible.
                if truncate and window - start > 0.3 * SAMPLE_RATE and placed:
                    audio[start:] += speech[: window - start]
                    placed.append((index, start / SAMPLE_RATE, None, True))
                break
            audio[start:end] += speech
            placed.append((index, start / SAMPLE_RATE, end / SAMPLE_RATE, False))
            if rng.random() < stop_probability and not truncate:
                break
            t = end / SAMPLE_RATE + rng.uniform(0.2, 2.5)
        return audio, placed

    def _degrade(self, rng, audio):
        """Overall gain and background noise at a random signal-to-noise ratio (sometimes none)."""
        audio = audio * 10 ** (rng.uniform(-12, 0) / 20)
        if rng.random() < 0.75:
            speech_rms = np.sqrt(np.mean(audio[np.abs(audio) > 1e-4] ** 2)) if np.any(np.abs(audio) > 1e-4) else 0.05
            snr_db = rng.uniform(5, 40)
            audio = audio + self._noise(rng, len(audio)) * speech_rms * 10 ** (-snr_db / 20)
        return np.clip(audio, -1.0, 1.0).astype(np.float32)

    @staticmethod
    def _noise(rng, n):
        """Unit-RMS white or pink-ish (integrated, high-passed) noise."""
        noise = rng.standard_normal(n).astype(np.float32)
        if rng.random() < 0.5:
            noise = np.cumsum(noise)
            noise -= np.convolve(noise, np.ones(401) / 401, mode="same")  # remove the random-walk drift
        return noise / max(np.sqrt(np.mean(noise ** 2)), 1e-9)

    def _body(self, placed, task, timestamps):
        """`<|start|> text <|end|>` per utterance; a cut utterance contributes only its start timestamp. A
        window that ends in a timestamp pair is unfinished: Whisper's seek rule (and our cutSegments) starts
        the next window at the last complete segment's end, where the cut utterance is heard whole.
        Also returns each token's guide: a text token of a transcription is heard near its share of the
        utterance's span (tokens spread evenly, as the frame targets; espeak-ng speaks at an even pace), a
        translation's tokens somewhere in the utterance (word order differs), a timestamp where the voice
        starts or stops."""
        body, guides = [], []
        for index, start, end, cut in placed:
            meta = self.pool.meta[index]
            text = self.vocab.text(meta["en"] if task == "translate" else meta["text"])
            at_start, at_end = (start, 0.0, 0.1), (end, 0.0, 0.1)
            if cut:
                body.append(self.vocab.timestamp(start))
                guides.append(at_start)
                continue
            if task == "translate":
                text_guides = [((start + end) / 2, (end - start) / 2, 0.1)] * len(text)
            else:
                step = (end - start) / len(text)
                text_guides = [(centre, step / 2, step + 0.1) for centre in token_times(start, end, len(text))]
            if timestamps:
                body += [self.vocab.timestamp(start)] + text + [self.vocab.timestamp(end)]
                guides += [at_start] + text_guides + [at_end]
            else:
                body += text
                guides += text_guides
        return body, guides

    def _prompt(self, rng, lang, placed):
        """`<|startofprev|>` and the text of made-up previous windows in the same language: plain text (like an
        initial prompt) or with timestamps (as the engine passes previous segments' tokens). Half are as long as
        the engine's in long-form: every token since the recording's start, the last MAX_PROMPT_TOKENS of them,
        several windows whose timestamps each start again near 0. Prompts of 1-3 utterances only (runs up to
        21) left later long-form windows continuing the prompt's text (long-form WER 62.4%, 48.5% without
        conditioning on previous text)."""
        candidates = self.by_lang[lang]
        with_times = rng.random() < 0.7  # the engine's previous text has them; an initial prompt has none
        count = rng.integers(4, 30) if rng.random() < 0.5 else rng.integers(1, 4)
        texts = [self.vocab.text(self.pool.meta[candidates[rng.integers(len(candidates))]]["text"])
                 for _ in range(count)]
        if placed and rng.random() < P_ECHO:
            heard = [placed[k][0] for k in rng.integers(len(placed), size=rng.integers(1, 2 * len(placed) + 1))]
            texts = texts[: rng.integers(0, 4)] + [self._misheard(rng, candidates, self.pool.meta[u]["text"])
                                                   for u in heard]
        tokens = []
        t = 0.0
        for text in texts:
            if with_times:
                t += rng.uniform(0.0, 2.0)
                length = rng.uniform(1.0, 3.5)
                if t + length > 30.0:  # the previous window's segments: timestamps relative to its start
                    t = rng.uniform(0.0, 1.0)
                tokens += [self.vocab.timestamp(t)] + text + [self.vocab.timestamp(t + length)]
                t += length
            else:
                tokens += text
        return [self.vocab.special["sotPrev"]] + tokens[-MAX_PROMPT_TOKENS:]

    def _misheard(self, rng, candidates, text):
        """The token ids of `text`, or (P_MISHEARD) of the kind of mistake a small model makes of it: its start
        joined at a word to another sentence's end, one word left out, or another sentence."""
        ids = self.vocab.text(text)
        if rng.random() >= P_MISHEARD:
            return ids
        other = self.vocab.text(self.pool.meta[candidates[rng.integers(len(candidates))]]["text"])
        kind = rng.random()
        if kind < 0.25:
            return other
        words = self.vocab.word_positions(ids)
        if kind < 0.5:
            if len(words) < 2:
                return other
            k = rng.integers(1, len(words))  # never the first word: the sentence keeps its capital
            end = words[k + 1] if k + 1 < len(words) else len(ids) - 1  # keep the final punctuation
            return ids[: words[k]] + ids[end:]
        other_words = self.vocab.word_positions(other)
        if len(words) < 2 or len(other_words) < 2:
            return other
        return ids[: words[rng.integers(1, len(words))]] + other[other_words[rng.integers(1, len(other_words))]:]

    def _silent(self, rng):
        """No speech: silence or noise only. Usually the target is Whisper's `<|startoftranscript|>
        <|nospeech|> <|endoftext|>` (OpenAI reads the no-speech probability at the SOT position,
        decoding.py `probs_at_sot`). Sometimes it is the continuation the engine meets when it has forced a
        language and task anyway: no text at all (`<|0.00|>` then end, or end after <|notimestamps|>)."""
        level = 0.0 if rng.random() < 0.2 else 10 ** (rng.uniform(-60, -20) / 20)
        audio = (self._noise(rng, self.window_samples) * level).astype(np.float32)
        special = self.vocab.special
        if rng.random() < 0.7:
            tokens = [special["sot"], special["noSpeech"], special["eot"]]
            trained = [False, True, True]
        else:
            lang = phrase_table.LANGUAGES[rng.integers(len(phrase_table.LANGUAGES))]
            task = "transcribe" if rng.random() < 0.7 else "translate"
            tokens = [special["sot"], self.vocab.languages[lang], special[task]]
            if rng.random() < 0.5:
                tokens += [special["noTimestamps"], special["eot"]]
            else:
                tokens += [self.vocab.timestamp(0.0), special["eot"]]
            # The language after SOT is not trained here: on silence the right answer there is <|nospeech|>.
            trained = [False, False, False] + [True] * (len(tokens) - 3)
            trained[3] = tokens[3] != special["noTimestamps"]
        audio_seconds = rng.uniform(0.2, self.window_samples / SAMPLE_RATE) if rng.random() < P_MEL_END else None
        if audio_seconds is not None:
            audio[int(audio_seconds * SAMPLE_RATE):] = 0.0
        return Window(audio.clip(-1, 1), tokens, trained, {"kind": "silent", "tokens": len(tokens)},
                      audio_seconds=audio_seconds)

    @staticmethod
    def _fit(window):
        """Drops prompt tokens from the front if the sequence exceeds the decoder's 448 positions."""
        excess = len(window.tokens) - MAX_TOKENS
        if excess > 0:
            sot_at = window.trained.index(True) - 1
            if excess > sot_at - 1:  # only prompt text (positions 1 .. sot_at-1) may go
                raise ValueError(f"a window's own tokens exceed {MAX_TOKENS} positions")
            keep = [0] + list(range(1 + excess, len(window.tokens)))  # keep <|startofprev|>
            window.tokens = [window.tokens[i] for i in keep]
            window.trained = [window.trained[i] for i in keep]
            window.guides = [window.guides[i] for i in keep]
        return window


# ----------------------------------------------------------------------------------------------------------
# Held-out clips.


def build_held_out(out_dir, seed):
    """One WAV per held-out sentence, spoken by a held-out voice variant, plus long-form recordings, with a
    references.json (text, English translation, voice, speech start and end)."""
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    references = []
    for sentence in phrase_table.held_out_sentences():
        voice = random_voice(rng, sentence["lang"], HELD_OUT_VARIANTS)
        speed, pitch = int(rng.integers(140, 191)), int(rng.integers(30, 71))
        speech = speak(sentence["text"], voice, speed, pitch)
        lead = rng.uniform(0.2, 0.8)
        audio = np.concatenate([np.zeros(int(lead * SAMPLE_RATE), np.float32), speech,
                                np.zeros(int(0.5 * SAMPLE_RATE), np.float32)])
        name = sentence["id"] + ".wav"
        write_wav(os.path.join(out_dir, name), audio)
        references.append({**sentence, "file": name, "voice": voice, "speed": speed, "pitch": pitch,
                           "start": round(lead, 3), "end": round(lead + len(speech) / SAMPLE_RATE, 3)})
    references += build_long_form(out_dir, rng)
    with open(os.path.join(out_dir, "references.json"), "w", encoding="utf-8") as f:
        json.dump(references, f, ensure_ascii=False, indent=1)
    print(f"held-out: {len(references)} clips -> {out_dir}")


def build_long_form(out_dir, rng, per_language=1, min_seconds=60, max_seconds=150):
    """Long recordings (60-150 s) per language: held-out sentences in random order, one held-out voice per
    recording, pauses of 0.4-2.0 s; the references list every segment's text, translation and start."""
    references = []
    for lang in phrase_table.LANGUAGES:
        sentences = [s for s in phrase_table.held_out_sentences() if s["lang"] == lang]
        for k in range(per_language):
            voice = random_voice(rng, lang, HELD_OUT_VARIANTS)
            target = rng.uniform(min_seconds, max_seconds)
            parts, segments, t = [], [], 0.0
            while t < target - 5:
                sentence = sentences[rng.integers(len(sentences))]
                pause = rng.uniform(0.4, 2.0)
                speech = speak(sentence["text"], voice, int(rng.integers(140, 191)), int(rng.integers(30, 71)))
                parts += [np.zeros(int(pause * SAMPLE_RATE), np.float32), speech]
                t += pause
                segments.append({"id": sentence["id"], "text": sentence["text"], "en": sentence["en"],
                                 "start": round(t, 3), "end": round(t + len(speech) / SAMPLE_RATE, 3)})
                t += len(speech) / SAMPLE_RATE
            parts.append(np.zeros(SAMPLE_RATE, np.float32))
            name = f"long-{lang}-{k:02d}.wav"
            write_wav(os.path.join(out_dir, name), np.concatenate(parts))
            references.append({"id": f"long-{lang}-{k:02d}", "lang": lang, "file": name, "voice": voice,
                               "text": " ".join(s["text"] for s in segments),
                               "en": " ".join(s["en"] for s in segments), "segments": segments})
    return references


def write_wav(path, audio):
    """16-bit PCM mono WAV (the engine reads WAV natively)."""
    import wave
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.clip(audio * 32767, -32768, 32767).astype("<i2").tobytes())


# ----------------------------------------------------------------------------------------------------------
# Commands.


def selftest():
    """The log-mel equals OpenAI's (reference computed with openai/whisper on the JFK clip) within 1e-4, and
    the held-out sentences only recombine training words."""
    reference_dir = os.path.join(REPO, "test", "fixtures", "reference", "tiny-random", "reference")
    audio = np.fromfile(os.path.join(reference_dir, "jfk_audio_16k.f32"), dtype="<f4")
    expected = np.fromfile(os.path.join(reference_dir, "mel_window.f32"), dtype="<f4").reshape(80, 3000)
    actual = log_mel(pad_or_trim(audio)).numpy()
    error = float(np.abs(actual - expected).max())
    print(f"log-mel vs openai/whisper: max abs error {error:.2e}")
    problems = phrase_table.check_vocabulary()
    print(f"phrases: {len(problems)} held-out words outside the training vocabulary")
    ok = error <= 1e-4 and not problems
    print("selftest", "passed" if ok else "FAILED")
    return ok


def dump(pool_path, out_dir, count, seed):
    """Writes windows 0..count-1 as WAV + JSON (tokens, decoded info), and reports the packing speed."""
    os.makedirs(out_dir, exist_ok=True)
    pool = Pool(pool_path)
    sampler = WindowSampler(pool, Vocabulary(pool.items()), seed)
    started = time.time()
    for i in range(count):
        window = sampler.window(i)
        log_mel(window.audio)  # timed too: training computes features on the fly
        write_wav(os.path.join(out_dir, f"window-{i:04d}.wav"), window.audio)
        with open(os.path.join(out_dir, f"window-{i:04d}.json"), "w", encoding="utf-8") as f:
            json.dump({"tokens": window.tokens, "trained": window.trained, "info": window.info}, f,
                      ensure_ascii=False)
    elapsed = time.time() - started
    print(f"windows: {count} in {elapsed:.1f} s ({count / elapsed:.2f} windows/s, features included) -> {out_dir}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pool", help="synthesise the utterance pool")
    p.add_argument("--out", default=os.path.join(HERE, "data", "pool.npz"))
    p.add_argument("--renditions", type=int, default=40, help="renditions per training phrase")
    p.add_argument("--generated", type=int, default=0, metavar="ROWS",
                   help="speak ROWS x 4 sentences generated by grammar.py instead of the training phrases")
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("dump", help="write a few windows as WAV + JSON")
    p.add_argument("--pool", nargs="+", default=[os.path.join(HERE, "data", "pool.npz")])
    p.add_argument("--out", default=os.path.join(HERE, "data", "windows"))
    p.add_argument("--count", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("heldout", help="synthesise the held-out clips")
    p.add_argument("--out", default=os.path.join(HERE, "data", "heldout"))
    p.add_argument("--seed", type=int, default=7)
    sub.add_parser("selftest", help="check the log-mel and the phrase split")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.command == "pool":
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        items = grammar.sentences(args.generated) if args.generated else None
        build_pool(args.out, args.renditions, args.seed, items=items)
    elif args.command == "dump":
        dump(args.pool, args.out, args.count, args.seed)
    elif args.command == "heldout":
        build_held_out(args.out, args.seed)
    elif args.command == "selftest":
        return 0 if selftest() else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
