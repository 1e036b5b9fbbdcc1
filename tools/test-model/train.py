"""Trains the small Whisper-architecture test model on synthetic windows (synth.py) and saves a Hugging Face
checkpoint folder (config.json, model.safetensors, generation_config.json, tokenizer files) that
`quantum-stt convert` turns into ONNX.

The model is OpenAI's Whisper exactly (80 mels, two convolutions, sinusoidal encoder positions for 1500 audio
frames, pre-norm transformer blocks, key projections without bias, learned decoder positions for 448 tokens,
output tied to the 51865-token embedding), only narrow and shallow. Its modules carry Hugging Face's
WhisperForConditionalGeneration names, so the state dict is the checkpoint as is.

Training adds, and never saves, an auxiliary head on the encoder (`--aux`): per-frame token targets (default)
or CTC, to make the encoder carry words before the decoder has learned to look at it; and a curriculum
(`--easy-steps`) of windows with fewer utterances. README.md says what each did in the runs made so far.

  python3 train.py --pool data/pool.npz --out data/checkpoint --steps 1000 --batch 8

Seeded and deterministic on one machine (torch.use_deterministic_algorithms; windows are a function of the
seed and their index). See README.md for the settings of the real run.
"""

import argparse
import json
import math
import os
import shutil
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import synth

VOCAB_SIZE = 51865
N_MELS = 80
AUDIO_POSITIONS = 1500
TEXT_POSITIONS = 448
TEMPLATE_DIR = synth.TOKENIZER_DIR  # tiny-random: real v2 multilingual tokenizer and configs
TOKENIZER_FILES = ["added_tokens.json", "merges.txt", "normalizer.json", "special_tokens_map.json",
                   "tokenizer.json", "tokenizer_config.json", "vocab.json", "preprocessor_config.json"]


# ----------------------------------------------------------------------------------------------------------
# The model, with Hugging Face's parameter names.


def sinusoids(length, channels, max_timescale=10000):
    """OpenAI's fixed encoder position embedding (model.py `sinusoids`)."""
    log_timescale_increment = math.log(max_timescale) / (channels // 2 - 1)
    inv_timescales = torch.exp(-log_timescale_increment * torch.arange(channels // 2))
    scaled_time = torch.arange(length)[:, None] * inv_timescales[None, :]
    return torch.cat([torch.sin(scaled_time), torch.cos(scaled_time)], dim=1)


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(d, d)
        self.k_proj = nn.Linear(d, d, bias=False)  # Whisper's key projection has no bias
        self.v_proj = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)
        self.keep_weights = False  # train.py's guided cross-attention reads them
        self.weights = None

    def forward(self, x, source=None, causal=False):
        source = x if source is None else source
        b, t, d = x.shape
        h = self.heads
        q = self.q_proj(x).view(b, t, h, d // h).transpose(1, 2) * (d // h) ** -0.5
        k = self.k_proj(source).view(b, -1, h, d // h).transpose(1, 2)
        v = self.v_proj(source).view(b, -1, h, d // h).transpose(1, 2)
        scores = q @ k.transpose(-1, -2)
        if causal:
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(mask, float("-inf"))
        weights = scores.softmax(dim=-1)
        if self.keep_weights:
            self.weights = weights
        out = weights @ v
        return self.out_proj(out.transpose(1, 2).reshape(b, t, d))


class Layer(nn.Module):
    """A pre-norm block; with cross-attention for the decoder."""

    def __init__(self, d, heads, ffn, cross):
        super().__init__()
        self.self_attn = Attention(d, heads)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        if cross:
            self.encoder_attn = Attention(d, heads)
            self.encoder_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, ffn)
        self.fc2 = nn.Linear(ffn, d)
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, x, audio=None, causal=False):
        x = x + self.self_attn(self.self_attn_layer_norm(x), causal=causal)
        if audio is not None:
            x = x + self.encoder_attn(self.encoder_attn_layer_norm(x), source=audio)
        return x + self.fc2(F.gelu(self.fc1(self.final_layer_norm(x))))  # exact (erf) GELU, as HF "gelu"


class Encoder(nn.Module):
    def __init__(self, dims):
        super().__init__()
        d = dims["d_model"]
        self.conv1 = nn.Conv1d(N_MELS, d, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(d, d, kernel_size=3, stride=2, padding=1)
        self.embed_positions = nn.Embedding(AUDIO_POSITIONS, d)
        self.embed_positions.weight.data.copy_(sinusoids(AUDIO_POSITIONS, d))
        self.embed_positions.weight.requires_grad_(False)  # fixed in Whisper; stored because HF stores it
        self.layers = nn.ModuleList(
            Layer(d, dims["encoder_attention_heads"], dims["encoder_ffn_dim"], cross=False)
            for _ in range(dims["encoder_layers"]))
        self.layer_norm = nn.LayerNorm(d)

    def forward(self, mel):
        x = F.gelu(self.conv1(mel))
        x = F.gelu(self.conv2(x)).transpose(1, 2)
        x = x + self.embed_positions.weight[: x.shape[1]]  # fewer than 1500 only in --window-seconds training
        for layer in self.layers:
            x = layer(x)
        return self.layer_norm(x)


class Decoder(nn.Module):
    def __init__(self, dims):
        super().__init__()
        d = dims["d_model"]
        self.embed_tokens = nn.Embedding(VOCAB_SIZE, d)
        self.embed_positions = nn.Embedding(TEXT_POSITIONS, d)
        self.layers = nn.ModuleList(
            Layer(d, dims["decoder_attention_heads"], dims["decoder_ffn_dim"], cross=True)
            for _ in range(dims["decoder_layers"]))
        self.layer_norm = nn.LayerNorm(d)

    def forward(self, tokens, audio):
        x = self.embed_tokens(tokens) + self.embed_positions.weight[: tokens.shape[1]]
        for layer in self.layers:
            x = layer(x, audio=audio, causal=True)
        return self.layer_norm(x)


class WhisperModel(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.encoder = Encoder(dims)
        self.decoder = Decoder(dims)


class Whisper(nn.Module):
    """WhisperForConditionalGeneration's layout: `model.encoder.*`, `model.decoder.*`; proj_out is tied to
    the token embedding and, as transformers does, not stored."""

    def __init__(self, dims):
        super().__init__()
        self.dims = dims
        self.model = WhisperModel(dims)
        self.apply(self._init)
        self.model.encoder.embed_positions.weight.data.copy_(sinusoids(AUDIO_POSITIONS, dims["d_model"]))

    @staticmethod
    def _init(module):
        # transformers' WhisperPreTrainedModel init: normal(0, 0.02) for linear, conv and embedding weights.
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Embedding)):
            module.weight.data.normal_(0.0, 0.02)
            if getattr(module, "bias", None) is not None:
                module.bias.data.zero_()

    def hidden(self, mel, tokens):
        return self.model.decoder(tokens, self.model.encoder(mel))

    def logits(self, hidden):
        return hidden @ self.model.decoder.embed_tokens.weight.T


# ----------------------------------------------------------------------------------------------------------
# Batches.


class TokenHead(nn.Module):
    """Training only, never saved: a linear classifier of the encoder's frames over class 0 (CTC's blank, or no
    speech) and the text tokens the phrases use. `loss(audio, windows)` is the auxiliary loss."""

    def __init__(self, d, token_ids):
        super().__init__()
        self.classes = {token: i + 1 for i, token in enumerate(sorted(token_ids))}
        self.proj = nn.Linear(d, len(self.classes) + 1)


class CtcHead(TokenHead):
    """Training only, never saved: a linear classifier of the encoder's frames over the text tokens the
    phrases use (plus CTC's blank, class 0). A model trained by the decoder's loss alone first learns the
    phrases as a language model and long ignores the audio (measured here: loss flat at 1.6-1.8 and
    298% WER after 5100 windows); CTC's per-frame gradient makes the encoder carry words early, as in hybrid
    CTC/attention training (Watanabe et al., 2017)."""

    def loss(self, audio, windows):
        log_probs = F.log_softmax(self.proj(audio), dim=-1).transpose(0, 1)  # (frames, batch, classes)
        targets = [torch.tensor([self.classes[t] for t in w.spoken], dtype=torch.long) for w in windows]
        lengths = torch.tensor([len(t) for t in targets], dtype=torch.long)
        frames = torch.full((audio.shape[0],), audio.shape[1], dtype=torch.long)
        # Per audio frame: normalised per target token, a silent window (all blank, no tokens) or one with few
        # words made the loss jump 20-fold between batches, and the clipped gradient with it (measured here).
        total = F.ctc_loss(log_probs, torch.cat(targets).to(audio.device), frames, lengths, reduction="sum",
                           zero_infinity=True)
        return total / (audio.shape[0] * audio.shape[1])


class FrameHead(TokenHead):
    """Training only, never saved: classifies each encoder frame (20 ms) as no speech or as the text token
    being spoken, the tokens of an utterance spread evenly over its known span (synthetic speech has no
    forced alignment, and espeak-ng speaks at an even pace). A dense, alignment-free target: CTC's per-token
    loss stayed at its blank-only level for 1200 windows here, the decoder deaf all along."""

    IGNORE = -100

    def labels(self, spans, frames):
        labels = torch.zeros(frames, dtype=torch.long)
        for start, end, tokens in spans:
            first = int(round(start / 0.02))
            if end is None:  # cut at the window's end: spoken, but which token where is unknown
                labels[first:] = self.IGNORE
                continue
            last = min(frames, int(round(end / 0.02)))
            for frame in range(first, last):
                index = min(len(tokens) - 1, (frame - first) * len(tokens) // max(1, last - first))
                labels[frame] = self.classes[tokens[index]]
        return labels

    def loss(self, audio, windows):
        labels = torch.stack([self.labels(w.spans, audio.shape[1]) for w in windows])
        logits = self.proj(audio)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1).to(audio.device),
                               ignore_index=self.IGNORE)


def make_batch(windows, input_noise=0.0, first_special=None, generator=None):
    """Mel features, decoder inputs, labels, the loss mask, and the guides of the cross-attention (centre,
    half-width and tolerance in seconds of what each position predicts; `guided` where there is one), padded
    to the longest sequence. With `input_noise`, that share of the transcript's text tokens in the decoder's
    inputs (ids below `first_special`) is swapped for another text token of the same window; labels stay."""
    mel = torch.stack([synth.log_mel(w.audio) for w in windows])
    for row, w in enumerate(windows):
        if w.audio_seconds is not None:
            mel[row, :, int(round(w.audio_seconds * 100)):] = 0.0  # OpenAI's pad_or_trim of the mel (synth.P_MEL_END)
    length = max(len(w.tokens) for w in windows) - 1
    inputs = torch.zeros(len(windows), length, dtype=torch.long)
    labels = torch.zeros(len(windows), length, dtype=torch.long)
    mask = torch.zeros(len(windows), length, dtype=torch.bool)
    guide = torch.zeros(len(windows), length, 3)
    guided = torch.zeros(len(windows), length, dtype=torch.bool)
    for row, w in enumerate(windows):
        n = len(w.tokens) - 1
        inputs[row, :n] = torch.tensor(w.tokens[:-1])
        if input_noise > 0:
            _swap_text_tokens(inputs[row], w, input_noise, first_special, generator)
        labels[row, :n] = torch.tensor(w.tokens[1:])
        mask[row, :n] = torch.tensor(w.trained[1:])  # trained[i]: tokens[i] is predicted from tokens[:i]
        for i, g in enumerate(w.guides[1:]):  # position i's query predicts tokens[i + 1]
            if g is not None and w.trained[i + 1]:
                guide[row, i] = torch.tensor(g)
                guided[row, i] = True
    return mel, inputs, labels, mask, guide, guided


def _swap_text_tokens(row_inputs, window, share, first_special, generator):
    """Token-level input noise (word dropout): a decoder of two narrow layers, fed its own earlier words,
    comes to write what they make likely rather than what it hears (long-form windows: right timestamps,
    wrong sentences). Inputs that are sometimes wrong make the audio the more reliable evidence."""
    text = [i for i, t in enumerate(window.tokens[:-1]) if window.trained[i] and t < first_special]
    if len(text) < 2:
        return
    chosen = torch.rand(len(text), generator=generator) < share
    replacements = torch.randint(len(text), (len(text),), generator=generator)
    for k in torch.nonzero(chosen).flatten().tolist():
        row_inputs[text[k]] = window.tokens[text[replacements[k]]]


def guided_attention_loss(weights, guide, guided):
    """The cross-attention weight [batch, heads, positions, frames] that lies away from where each predicted
    token is heard: 0 within its half-width of the centre, rising to 1 over its tolerance beyond (a Gaussian
    flank). Guided attention (Tachibana et al., 2018) teaches a decoder to follow the audio in hundreds of steps
    rather than the many thousands an attention model otherwise needs; here the decoder got the first words of
    a sentence and then continued it as a language model. The last decoder layer's heads are OpenAI's default
    alignment heads, so word timestamps read the same weights."""
    if not guided.any():
        return torch.zeros(())
    frames = torch.arange(weights.shape[-1], device=weights.device) * 0.02  # seconds at each frame's start
    centre, half, tolerance = guide[..., 0:1], guide[..., 1:2], guide[..., 2:3]
    outside = (torch.abs(frames - centre) - half).clamp(min=0)
    penalty = 1 - torch.exp(-0.5 * (outside / tolerance.clamp(min=1e-3)) ** 2)  # [batch, positions, frames]
    away = (weights * penalty.unsqueeze(1)).sum(-1).mean(1)  # [batch, positions], averaged over heads
    return away[guided].mean()


def loss_of(model, batch, aux=None, windows=None, guide_weight=0.0):
    """The decoder's cross-entropy, the encoder's auxiliary loss on `windows` when `aux` is given, and the
    guided cross-attention loss when `guide_weight` is positive (0 where not computed)."""
    mel, inputs, labels, mask, guide, guided = batch
    cross = model.model.decoder.layers[-1].encoder_attn
    cross.keep_weights = guide_weight > 0
    audio = model.model.encoder(mel)
    hidden = model.model.decoder(inputs, audio)
    # Logits only where a target is trained: the 51865-way projection is a large share of the work.
    logits = model.logits(hidden[mask])
    aux_loss = aux.loss(audio, windows) if aux is not None else torch.zeros(())
    guide_loss = guided_attention_loss(cross.weights, guide, guided) if guide_weight > 0 else torch.zeros(())
    cross.weights = None
    return F.cross_entropy(logits, labels[mask]), aux_loss, guide_loss


def decoder_layer(name):
    """The decoder layer a parameter name (`model.decoder.layers.<index>.…`) belongs to, or None."""
    parts = name.split(".")
    return int(parts[3]) if parts[:3] == ["model", "decoder", "layers"] else None


def grown_state(model, saved):
    """`saved` as a state for `model`, which may have more decoder layers than the checkpoint: the checkpoint's
    layers become the last ones (the last stays the guided layer whose heads time the words) and each new layer
    below them starts as the identity, its attention outputs and second feed-forward projection zero, so the
    grown model computes what the checkpoint did and training adds what the extra depth is worth (zero-initialised
    residual branches, as in Goyal et al., 2017, and in stacking-based growth of transformers)."""
    old_layers = 1 + max(index for index in map(decoder_layer, saved) if index is not None)
    added = model.dims["decoder_layers"] - old_layers
    if added < 0:
        raise SystemExit(f"the checkpoint has {old_layers} decoder layers, more than --decoder-layers")
    state = {}
    for name, tensor in saved.items():
        index = decoder_layer(name)
        if index is not None:
            parts = name.split(".")
            parts[3] = str(index + added)
            name = ".".join(parts)
        state[name] = tensor
    for name, tensor in model.state_dict().items():
        index = decoder_layer(name)
        if index is not None and index < added:
            zero = name.split(".")[-2] in ("out_proj", "fc2")
            state[name] = torch.zeros_like(tensor) if zero else tensor.clone()
    if added:
        print(f"decoder grown from {old_layers} to {model.dims['decoder_layers']} layers, the new ones the identity")
    return state


def learning_rate(step, peak, warmup, total):
    """Linear warmup, then cosine decay to a tenth of the peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


# ----------------------------------------------------------------------------------------------------------
# Saving a Hugging Face checkpoint.


def write_safetensors(path, tensors, dtype):
    """safetensors by hand (Debian has no safetensors package): 8-byte little-endian header length, JSON
    header {name: {dtype, shape, data_offsets}}, padded with spaces to 8 bytes, then raw little-endian data."""
    torch_dtype, code = {"float32": (torch.float32, "F32"), "float16": (torch.float16, "F16")}[dtype]
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().cpu().to(torch_dtype).contiguous().numpy().astype(
            "<f4" if code == "F32" else "<f2").tobytes()
        header[name] = {"dtype": code, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def save_checkpoint(model, out_dir, dtype="float32", extra=None):
    """config.json (tiny-random's with this model's dims), model.safetensors, generation_config.json, and the
    tokenizer files, in Hugging Face's layout."""
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), model.state_dict(), dtype)
    with open(os.path.join(TEMPLATE_DIR, "config.json")) as f:
        config = json.load(f)
    config.update(model.dims)
    config.update({"_name_or_path": "quantum-stt-test-model", "num_hidden_layers": model.dims["encoder_layers"],
                   "torch_dtype": dtype, "vocab_size": VOCAB_SIZE, "num_mel_bins": N_MELS,
                   "max_source_positions": AUDIO_POSITIONS, "max_target_positions": TEXT_POSITIONS})
    write_json(os.path.join(out_dir, "config.json"), config)
    with open(os.path.join(TEMPLATE_DIR, "generation_config.json")) as f:
        generation = json.load(f)
    # The heads the guided cross-attention loss trains (the last decoder layer's) follow the words in time; with
    # two layers this is also OpenAI's default, every head of the upper half (model.py `alignment_heads`).
    layers, heads = model.dims["decoder_layers"], model.dims["decoder_attention_heads"]
    generation["alignment_heads"] = [[layers - 1, head] for head in range(heads)]
    write_json(os.path.join(out_dir, "generation_config.json"), generation)
    for name in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(TEMPLATE_DIR, name), os.path.join(out_dir, name))
    if extra is not None:
        write_json(os.path.join(out_dir, "training.json"), extra)


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")


# ----------------------------------------------------------------------------------------------------------
# Training.


def check_blas(threads):
    """Debian's python3-torch multiplies matrices through the system libblas.so.3; the reference BLAS behind
    it by default is about 20 times slower than OpenBLAS (package libopenblas0-openmp). Warn, don't guess."""
    a, b = torch.randn(1500, 256), torch.randn(256, 1024)
    a @ b
    started = time.time()
    for _ in range(5):
        a @ b
    gflops = 5 * 2 * 1500 * 256 * 1024 / (time.time() - started) / 1e9
    print(f"matrix multiply: {gflops:.0f} GFLOPS on {threads} thread(s)")
    if gflops < 15 * threads:
        print("WARNING: slow BLAS; install libopenblas0-openmp (apt) for a ~20x faster run", flush=True)


def train(args):
    torch.manual_seed(args.seed)
    if args.device.startswith("cuda"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS needs it for determinism
    torch.use_deterministic_algorithms(True)
    # oneDNN's convolution backward differs in the last bits from one process to the next (measured here:
    # conv gradients ~1e-6 apart), and Adam's first steps amplify such noise into different weights.
    # PyTorch's own im2col + BLAS convolution is reproducible and costs little at these sizes.
    torch.backends.mkldnn.enabled = False
    dims = {"d_model": args.d_model, "encoder_layers": args.encoder_layers, "decoder_layers": args.decoder_layers,
            "encoder_attention_heads": args.heads, "decoder_attention_heads": args.heads,
            "encoder_ffn_dim": 4 * args.d_model, "decoder_ffn_dim": 4 * args.d_model}
    if args.device == "cpu":
        check_blas(args.threads)
    model = Whisper(dims)
    # transformers' normal(0, 0.02) leaves the convolutions' output ~14 times (estimated) smaller than the
    # sinusoidal positions it is added to: the encoder's output then hardly depends on the audio (2% apart for two
    # different pure tones, measured), and the decoder learns the phrases as a language model long before any
    # gradient makes the audio count. With std 0.1 the two are of one size: one utterance per window, English,
    # reached 0.09 nats per phrase on unseen renditions after 3200 windows, where 0.02 stayed at the language
    # model's 3.2 (and could not even learn 24 pure tones).
    for conv in (model.model.encoder.conv1, model.model.encoder.conv2):
        conv.weight.data.normal_(0.0, args.conv_std)
    if args.init:
        # Continues from a saved checkpoint's weights (the optimizer starts afresh: use a lower --lr).
        model.load_state_dict(grown_state(model, read_safetensors(os.path.join(args.init, "model.safetensors"))))
    model = model.to(args.device)
    print(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters, dims {dims}")
    pool = synth.Pool(args.pool)
    vocab = synth.Vocabulary(pool.items())
    if len(args.batch) not in (1, len(args.window_seconds)):
        raise SystemExit("--batch takes one size, or one per --window-seconds length")
    batches = args.batch * len(args.window_seconds) if len(args.batch) == 1 else args.batch
    samplers = [synth.WindowSampler(pool, vocab, args.seed, window_seconds=s) for s in args.window_seconds]
    # Curriculum: the first steps' windows hold one or two utterances on average, so that where the words are
    # in the 30 s is plain before windows fill up (a decoder facing ~7 utterances at once learned the phrases
    # as a language model and ignored the audio).
    easy_samplers = [synth.WindowSampler(pool, vocab, args.seed, stop_probability=0.6, window_seconds=s)
                     for s in args.window_seconds]
    aux = None
    aux_file = f"training-{args.aux}-head.pt"  # beside the fp32 checkpoint only, for --init; never converted
    if args.aux_weight > 0 and args.aux != "none":
        head_type = CtcHead if args.aux == "ctc" else FrameHead
        aux = head_type(args.d_model, {t for ids in vocab.ids.values() for t in ids}).to(args.device)
        saved_head = os.path.join(args.init, aux_file) if args.init else None
        loaded = False
        if saved_head and os.path.exists(saved_head):
            state = torch.load(saved_head)
            # A pool with more texts has more token classes: the saved head no longer fits; a new one learns
            # fast from an encoder that already carries the words.
            loaded = state["proj.weight"].shape == aux.proj.weight.shape
            if loaded:
                aux.load_state_dict(state)
        print(f"{args.aux} head: {len(aux.classes)} token classes + class 0, weight {args.aux_weight}"
              + (f", from {saved_head}" if loaded else ", new"))

    def save_head():
        if aux is not None:
            torch.save(aux.state_dict(), os.path.join(args.out, aux_file))

    parameters = list(model.named_parameters()) + ([("aux." + n, p) for n, p in aux.named_parameters()] if aux else [])
    trainable = [p for _, p in parameters if p.requires_grad]
    # No weight decay on biases, norms and embeddings, as usual for transformers.
    decay = [p for n, p in parameters if p.requires_grad and p.dim() >= 2 and "embed" not in n]
    rest = [p for n, p in parameters if p.requires_grad and not (p.dim() >= 2 and "embed" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                                  lr=args.lr, betas=(0.9, 0.98), eps=1e-6)
    noise = torch.Generator().manual_seed(args.seed)
    started = time.time()
    cpu_started = time.process_time()  # CPU seconds tell the cost apart from waiting on a busy machine
    data_seconds = 0.0
    window_count = 0
    history, aux_history, guide_history = [], [], []
    total_steps = args.steps
    for step in range(args.steps):
        if step >= total_steps:
            break
        t0 = time.time()
        # Several lengths take turns step by step; each length's windows are numbered on their own.
        kind = step % len(samplers)
        source = (easy_samplers if step < args.easy_steps else samplers)[kind]
        first = (step // len(samplers)) * batches[kind]
        windows = [source.window(first + i) for i in range(batches[kind])]
        window_count += len(windows)
        batch = tuple(t.to(args.device) for t in make_batch(windows, args.input_noise, vocab.special["eot"], noise))
        data_seconds += time.time() - t0
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args.lr, args.warmup, total_steps)
        loss, aux_loss, guide_loss = loss_of(model, batch, aux, windows, args.guide_weight)
        optimizer.zero_grad(set_to_none=True)
        (loss + args.aux_weight * aux_loss + args.guide_weight * guide_loss).backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        history.append(loss.item())
        aux_history.append(aux_loss.item())
        guide_history.append(guide_loss.item())
        if args.minutes and step + 1 >= args.warmup:
            # A wall-clock budget on a shared machine: shorten the cosine schedule to the steps that fit, so the
            # run still ends at a low learning rate. Such a run is not reproducible step for step.
            seconds_per_step = (time.time() - started) / (step + 1)
            fitting = step + 1 + int((args.minutes * 60 - (time.time() - started)) / seconds_per_step)
            total_steps = max(step + 1, min(args.steps, fitting))
        if (step + 1) % args.log_every == 0 or step + 1 == total_steps:
            elapsed = time.time() - started
            recent = history[-args.log_every:]
            aux_recent = aux_history[-args.log_every:]
            guide_recent = guide_history[-args.log_every:]
            print(f"step {step + 1}/{total_steps} loss {sum(recent) / len(recent):.3f} "
                  f"{args.aux} {sum(aux_recent) / len(aux_recent):.3f} "
                  + (f"guide {sum(guide_recent) / len(guide_recent):.3f} " if args.guide_weight else "")
                  + f"lr {optimizer.param_groups[0]['lr']:.2e} {elapsed:.0f} s "
                  f"({(step + 1) / elapsed:.3f} steps/s, {window_count / elapsed:.2f} windows/s, "
                  f"data {100 * data_seconds / elapsed:.0f}%, "
                  f"{(time.process_time() - cpu_started) / window_count:.2f} CPU s/window)", flush=True)
        if args.save_every and (step + 1) % args.save_every == 0 and step + 1 < total_steps:
            save_checkpoint(model, args.out, "float32")
            save_head()
    elapsed = time.time() - started
    summary = {"steps": len(history), "windows": window_count, "minutes_budget": args.minutes, "init": args.init, "batch": args.batch, "seed": args.seed, "lr": args.lr, "warmup": args.warmup,
               "aux": args.aux, "aux_weight": args.aux_weight, "guide_weight": args.guide_weight, "input_noise": args.input_noise, "easy_steps": args.easy_steps,
               "window_seconds": args.window_seconds,
               "dims": dims, "seconds": round(elapsed, 1), "threads": args.threads,
               "device": args.device,
               "final_loss": sum(history[-args.log_every:]) / len(history[-args.log_every:])}
    save_checkpoint(model, args.out, "float32", summary)
    save_head()
    if args.fp16_out:
        save_checkpoint(model, args.fp16_out, "float16", summary)
    print(f"saved {args.out}" + (f" and {args.fp16_out} (fp16)" if args.fp16_out else "")
          + f"; {elapsed:.0f} s training")
    return summary


def load_checkpoint(checkpoint_dir):
    """The model a saved checkpoint folder holds (its config.json dims, model.safetensors), in eval mode."""
    with open(os.path.join(checkpoint_dir, "config.json")) as f:
        config = json.load(f)
    dims = {key: config[key] for key in ("d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads",
                                         "decoder_attention_heads", "encoder_ffn_dim", "decoder_ffn_dim")}
    model = Whisper(dims)
    model.load_state_dict(read_safetensors(os.path.join(checkpoint_dir, "model.safetensors")))
    return model.eval()


def parity_dump(checkpoint_dir, pool, out_dir, seed=1, index=0):
    """Writes mel.f32, tokens.json and logits.f32 of one window for check_onnx.ts, from a saved checkpoint:
    proves the converted ONNX model computes what this PyTorch model computes."""
    model = load_checkpoint(checkpoint_dir)
    pool = synth.Pool(pool)
    window = synth.WindowSampler(pool, synth.Vocabulary(pool.items()), seed).window(index)
    mel = synth.log_mel(window.audio)
    with torch.no_grad():
        logits = model.logits(model.hidden(mel[None], torch.tensor([window.tokens])))[0]
    os.makedirs(out_dir, exist_ok=True)
    mel.numpy().astype("<f4").tofile(os.path.join(out_dir, "mel.f32"))
    logits.numpy().astype("<f4").tofile(os.path.join(out_dir, "logits.f32"))
    write_json(os.path.join(out_dir, "tokens.json"), window.tokens)
    print(f"parity dump: window {index}, {len(window.tokens)} tokens -> {out_dir}")


def read_safetensors(path):
    """The inverse of write_safetensors (F32 and F16), as float32 tensors."""
    with open(path, "rb") as f:
        length = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(length))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        array = np.frombuffer(data[start:end], dtype={"F32": "<f4", "F16": "<f2"}[entry["dtype"]])
        tensors[name] = torch.from_numpy(array.astype(np.float32).reshape(entry["shape"]))
    return tensors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--pool", nargs="+", default=[os.path.join(here, "data", "pool.npz")],
                        help="utterance pools (synth.py pool), merged")
    parser.add_argument("--out", default=os.path.join(here, "data", "checkpoint"))
    parser.add_argument("--fp16-out", default=None, help="also save an fp16 copy here (the fixture)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, nargs="+", default=[8],
                        help="windows per step: one size, or one per --window-seconds length")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--encoder-layers", type=int, default=2)
    parser.add_argument("--decoder-layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--conv-std", type=float, default=0.1, help="init std of the encoder's convolutions")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--easy-steps", type=int, default=0,
                        help="steps at the start whose windows hold fewer utterances (a curriculum)")
    parser.add_argument("--aux", choices=["frames", "ctc", "none"], default="frames",
                        help="the encoder's auxiliary target (training only): tokens per frame, or CTC")
    parser.add_argument("--aux-weight", type=float, default=1.0, help="weight of the auxiliary loss")
    parser.add_argument("--guide-weight", type=float, default=0.0,
                        help="weight of the guided cross-attention loss on the last decoder layer (0: off)")
    parser.add_argument("--input-noise", type=float, default=0.0,
                        help="share of the transcript's text tokens in the decoder's inputs swapped for another "
                             "of the window's (labels unchanged)")
    parser.add_argument("--window-seconds", type=float, nargs="+", default=[30],
                        help="training window lengths, taking turns step by step: shorter windows are a "
                             "curriculum (the encoder sees fewer positions); 30 s is the only length the model "
                             "runs on, so include it or finish with it")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--init", default=None, metavar="DIR", help="start from this checkpoint's weights")
    parser.add_argument("--minutes", type=float, default=None,
                        help="wall-clock budget: the schedule shrinks to the steps that fit (not reproducible)")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda where a GPU is available (untested)")
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--save-every", type=int, default=500)
    parser.add_argument("--parity-dump", metavar="DIR", default=None,
                        help="do not train: load --out and write one window's mel, tokens and logits to DIR")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.parity_dump:
        parity_dump(args.out, args.pool, args.parity_dump, args.seed)
    else:
        train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
