"""Teacher-forced token errors by where the tokens fall in their 30 s window (tenth session, README.md).

Free-running long-form decoding compounds errors: one wrong word and the sentence goes elsewhere. Here every
text token is predicted from the reference tokens before it, so what is measured is how well the model hears at
each offset with a correct history:

- held-out long-form clips, windows of consecutive sentences from each sentence that starts a window (the first
  30 s, then the next sentence not yet in one) -- "in context";
- each of those sentences alone, its audio cut from 0.5 s before it to 0.3 s after it (a short clip) -- "alone",
  bucketed by where the sentence stood in its window;
- fresh training-like windows (transcription with timestamps, no prompt; utterances the pool holds).

  /usr/bin/python3 offsets.py data/checkpoint30 data/checkpoint32
"""

import argparse
import json
import os
import subprocess

import numpy as np
import torch

import synth
import train

HELDOUT = os.path.join(synth.REPO, "test", "fixtures", "test-model", "heldout")
BUCKET_SECONDS = 10


def read_audio(path):
    raw = subprocess.run(["sox", path, "-t", "f32", "-r", str(synth.SAMPLE_RATE), "-c", "1", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, "<f4").copy()


def window_tokens(vocab, lang, sentences, window_start):
    """The timestamped transcription of the sentences that end inside the window, and each text token's time
    in the window (None for the others)."""
    tokens = [vocab.special["sot"], vocab.languages[lang], vocab.special["transcribe"]]
    times = [None] * len(tokens)
    for s in sentences:
        start, end = s["start"] - window_start, s["end"] - window_start
        text = vocab.text(s["text"])
        tokens += [vocab.timestamp(start)] + text + [vocab.timestamp(end)]
        times += [None] + synth.token_times(start, end, len(text)) + [None]
    return tokens + [vocab.special["eot"]], times + [None]


def hits(model, audio, tokens, times):
    """(time, right?) per text token, the reference tokens fed as history; the mel is zero past the audio, as
    the engine pads a short clip."""
    mel = synth.log_mel(synth.pad_or_trim(audio))[None]
    mel[0, :, len(audio) // synth.HOP:] = 0.0
    with torch.no_grad():
        predicted = model.logits(model.hidden(mel, torch.tensor([tokens[:-1]])))[0].argmax(-1).tolist()
    return [(times[i + 1], predicted[i] == tokens[i + 1]) for i in range(len(tokens) - 1) if times[i + 1] is not None]


def held_out(model, vocab):
    in_context, alone = {}, {}
    rate = synth.SAMPLE_RATE
    with open(os.path.join(HELDOUT, "references.json"), encoding="utf-8") as f:
        clips = [c for c in json.load(f) if "segments" in c]
    for clip in clips:
        audio = read_audio(os.path.join(HELDOUT, clip["file"]))
        sentences = clip["segments"]
        i = 0
        while i < len(sentences):
            window_start = max(0.0, sentences[i]["start"] - 0.5)
            inside = [s for s in sentences[i:] if s["end"] - window_start <= 30]
            begin = int(window_start * rate)
            tokens, times = window_tokens(vocab, clip["lang"], inside, window_start)
            for time, right in hits(model, audio[begin:begin + synth.WINDOW_SAMPLES], tokens, times):
                in_context.setdefault(int(time // BUCKET_SECONDS), []).append(right)
            for s in inside:
                cut = s["start"] - 0.5
                tokens, times = window_tokens(vocab, clip["lang"], [s], cut)
                bucket = alone.setdefault(int((s["start"] - window_start) // BUCKET_SECONDS), [])
                bucket += [right for _, right in hits(model, audio[int(cut * rate):int((s["end"] + 0.3) * rate)],
                                                      tokens, times)]
            i += max(1, len(inside))
    return in_context, alone


def training_like(model, vocab, pool, count, seed):
    sampler = synth.WindowSampler(pool, vocab, seed)
    buckets, taken, index = {}, 0, 0
    while taken < count:
        window = sampler.window(index)
        index += 1
        info = window.info
        if info["kind"] != "speech" or not info["timestamps"] or info["prompt"] or info["task"] != "transcribe":
            continue
        taken += 1
        mel, inputs, labels, mask, guide, guided = train.make_batch([window])
        with torch.no_grad():
            predicted = model.logits(model.hidden(mel, inputs))[0].argmax(-1)
        for k in range(labels.shape[1]):
            if mask[0, k] and guided[0, k] and labels[0, k] < vocab.special["eot"]:  # text tokens
                buckets.setdefault(int(guide[0, k, 0].item() // BUCKET_SECONDS), []).append(bool(predicted[k] == labels[0, k]))
    return buckets


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--pool", nargs="+", default=["data/pool.npz", "data/pool-grammar.npz"])
    parser.add_argument("--windows", type=int, default=40, help="training-like windows")
    parser.add_argument("--seed", type=int, default=999, help="of the training-like windows (not a run's seed)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    pool = synth.Pool(args.pool)
    vocab = synth.Vocabulary(pool.items())
    error = lambda rights: f"{100 * (1 - np.mean(rights)):5.1f}% of {len(rights):4d}" if rights else "    -"
    for checkpoint in args.checkpoints:
        model = train.load_checkpoint(checkpoint)
        in_context, alone = held_out(model, vocab)
        trained = training_like(model, vocab, pool, args.windows, args.seed)
        print(f"{checkpoint}: teacher-forced text-token errors by offset in the window")
        for b in sorted(set(in_context) | set(alone) | set(trained)):
            print(f"  {b * BUCKET_SECONDS:2d}-{(b + 1) * BUCKET_SECONDS:2d} s  held-out in context {error(in_context.get(b))}"
                  f"  alone {error(alone.get(b))}  training-like {error(trained.get(b))}")


if __name__ == "__main__":
    main()
