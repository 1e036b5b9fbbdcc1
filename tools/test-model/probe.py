"""A fast learnability probe (minutes, not hours): can the model learn to use the audio at all?

English only (or --langs), one utterance per window 0.2-0.8 s after its start, no noise, the encoder fed only the
first --seconds of the window, decoder loss only. Every 50 steps it prints the summed loss per phrase on unseen
renditions of the training phrases (a language model of the 24 English phrases gets ~3.2 nats: a model that
hears goes well below). `--tones` replaces each phrase's speech with a pure tone of its own (200 + 150 k Hz), the
simplest audio there is. README.md ("The third session") gives what it showed.

  python3 probe.py --steps 400                    # speech, the default convolution init (std 0.1)
  python3 probe.py --steps 150 --tones --conv-std 0.02
"""

import argparse
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import phrases
import synth
import train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", default="data/pool.npz")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seconds", type=float, default=4.0, help="encoder input: the window's first seconds")
    parser.add_argument("--langs", default="en")
    parser.add_argument("--conv-std", type=float, default=0.1)
    parser.add_argument("--tones", action="store_true", help="a pure tone per phrase instead of its speech")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    torch.backends.mkldnn.enabled = False
    dims = {"d_model": 256, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4,
            "decoder_attention_heads": 4, "encoder_ffn_dim": 1024, "decoder_ffn_dim": 1024}
    model = train.Whisper(dims)
    encoder = model.model.encoder
    for conv in (encoder.conv1, encoder.conv2):
        conv.weight.data.normal_(0.0, args.conv_std)
    vocab = synth.Vocabulary()
    pool = synth.Pool(args.pool)
    texts = [phrase["text"] for phrase in phrases.training_phrases()]
    fits = [i for lang in args.langs.split(",") for i in pool.by_lang[lang]
            if len(pool.utterance(i)) < (args.seconds - 1.0) * synth.SAMPLE_RATE]
    np.random.default_rng(0).shuffle(fits)
    unseen, seen = fits[:64], fits[200:]
    frames = int(args.seconds * 100)

    def example(index, rng):
        audio = np.zeros(synth.WINDOW_SAMPLES, np.float32)
        start = int(rng.uniform(0.2, 0.8) * synth.SAMPLE_RATE)
        meta = pool.meta[index]
        if args.tones:
            hz = 200 + 150 * texts.index(meta["text"])
            speech = (0.3 * np.sin(2 * np.pi * hz * np.arange(synth.SAMPLE_RATE) / synth.SAMPLE_RATE)).astype(np.float32)
        else:
            speech = pool.utterance(index) * 10 ** (rng.uniform(-6, 0) / 20)
        audio[start:start + len(speech)] = speech
        tokens = ([vocab.special["sot"], vocab.languages[meta["lang"]], vocab.special["transcribe"],
                   vocab.special["noTimestamps"]] + vocab.text(meta["text"]) + [vocab.special["eot"]])
        return synth.log_mel(audio)[:, :frames], tokens

    def batch(indices, rng):
        examples = [example(i, rng) for i in indices]
        length = max(len(t) for _, t in examples) - 1
        inputs = torch.zeros(len(examples), length, dtype=torch.long)
        labels = torch.full((len(examples), length), -100, dtype=torch.long)
        for row, (_, tokens) in enumerate(examples):
            inputs[row, :len(tokens) - 1] = torch.tensor(tokens[:-1])
            labels[row, 3:len(tokens) - 1] = torch.tensor(tokens[4:])  # the text and <|endoftext|>
        return torch.stack([mel for mel, _ in examples]), inputs, labels

    def encode(mel):  # the encoder on fewer than 1500 positions: the positions' first rows
        x = F.gelu(encoder.conv1(mel))
        x = F.gelu(encoder.conv2(x)).transpose(1, 2) + encoder.embed_positions.weight[:frames // 2]
        for layer in encoder.layers:
            x = layer(x)
        return encoder.layer_norm(x)

    def losses(mel, inputs, labels):
        logits = model.logits(model.model.decoder(inputs, encode(mel)))
        per_token = F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=-100, reduction="none")
        return per_token.sum() / (labels != -100).sum(), per_token.sum(1).mean().item()

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01)
    held_out = batch(unseen, np.random.default_rng(5))
    rng = np.random.default_rng(1)
    started = time.time()
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = args.lr * min(1.0, (step + 1) / 50)
        loss, _ = losses(*batch([seen[rng.integers(len(seen))] for _ in range(args.batch)], rng))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if (step + 1) % 50 == 0:
            with torch.no_grad():
                _, per_phrase = losses(*held_out)
            print(f"step {step + 1}: train {loss.item():.3f} per token; unseen renditions {per_phrase:.3f} nats per "
                  f"phrase; {time.time() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
