"""Scoring throughput of the detoxify scorer at bert-base size, on CPU or CUDA.

What runs: a BertForSequenceClassification with bert-base dimensions (BertConfig defaults: 12
layers, hidden 768, 12 heads) and random weights, a WordPiece tokenizer built from a generated
30,000-token vocabulary (the most frequent words and word endings of the texts, then filler), saved
as a detoxify checkpoint in a temporary folder and loaded through DetoxifyScorer.from_checkpoint,
exactly as a deployed checkpoint is. Random weights cost the same to run as trained ones, so the
speed is that of the published "original" model; the scores themselves mean nothing.

The texts are tweets from ../shared/data/davidson-hate-offensive/labeled_data.csv (column
`tweet`, or JURY_SHARED_DATA/davidson-hate-offensive/...) when the file is there, else generated
sentences. One warm-up batch is scored first (not counted), then N texts in batches; the figure is
posts per second over the whole call to score(), cleaning and tokenising included.

Prints one JSON object on stdout (progress on stderr): posts/s, the device, torch threads, peak
RSS of the process (ru_maxrss: it includes building and saving the model, not only scoring) and,
on CUDA, torch.cuda.max_memory_allocated during scoring.

    .venv/bin/python benchmarks/scoring_detoxify.py [--texts 512] [--batch 32] [--device cpu|cuda] [--threads N]
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import platform
import random
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # `python benchmarks/x.py` puts benchmarks/ first on the path, not the project.
    sys.path.insert(0, str(ROOT))

# Everything the model needs is written locally; nothing may be fetched.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402 - after HF_HUB_OFFLINE is set, on purpose
import transformers  # noqa: E402

from classifiers.detoxify_model import DetoxifyScorer  # noqa: E402

VOCAB_SIZE = 30_000
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "gu", "he", "ji", "ba", "fe"]
WORDS = ("the", "vote", "jury", "weather", "today", "people", "think", "really", "never", "again", "news",
         "city", "police", "tonight", "game", "friend", "why", "would", "anyone", "believe", "this", "they",
         "said", "market", "price", "school", "video", "watch", "share", "truth", "free", "speech")
WORD_RE = re.compile(r"[a-z]+|[0-9]+|[^\sa-z0-9]")


def progress(message: str) -> None:
    """One progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def davidson_csv() -> Path:
    """Where the Davidson tweets live when the shared data is present."""
    shared = os.environ.get("JURY_SHARED_DATA") or ROOT.parent / "shared" / "data"
    return Path(shared) / "davidson-hate-offensive" / "labeled_data.csv"


def load_texts(count: int, rng: random.Random) -> tuple[list[str], str]:
    """count texts: a random sample of the Davidson tweets, or generated sentences."""
    path = davidson_csv()
    if path.is_file():
        # Tweets contain newlines inside quoted fields, hence the csv module.
        with path.open(newline="", encoding="utf-8") as fh:
            tweets = [row["tweet"] for row in csv.DictReader(fh) if row.get("tweet")]
        if tweets:
            picked = [tweets[rng.randrange(len(tweets))] for _ in range(count)]
            return picked, "davidson-hate-offensive/labeled_data.csv"
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40))) for _ in range(count)], "generated"


def build_vocab(texts: list[str]) -> list[str]:
    """A 30k WordPiece vocabulary: specials, characters, frequent words and word endings, then filler."""
    words = collections.Counter(w for text in texts for w in WORD_RE.findall(text.lower()))
    chars = sorted({c for w in words for c in w} | set("abcdefghijklmnopqrstuvwxyz0123456789"))
    vocab = SPECIAL + chars + [f"##{c}" for c in chars if c.isalnum()]
    endings = collections.Counter()
    for word, n in words.items():
        for size in (2, 3, 4):
            if len(word) > size:
                endings[f"##{word[-size:]}"] += n
    seen = set(vocab)
    for token, _ in [*words.most_common(), *endings.most_common()]:
        if len(vocab) >= VOCAB_SIZE:
            break
        if token not in seen:
            seen.add(token)
            vocab.append(token)
    filler = (a + b + c for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES)
    extra = 0
    while len(vocab) < VOCAB_SIZE:
        token = next(filler, None) or f"w{extra}"
        extra += 1
        if token not in seen:
            seen.add(token)
            vocab.append(token)
    return vocab


def build_checkpoint(folder: Path, vocab: list[str], seed: int) -> Path:
    """Save config + tokenizer in folder/config and a detoxify checkpoint in folder/model.ckpt."""
    config_dir = folder / "config"
    config_dir.mkdir()
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    transformers.BertTokenizer(str(vocab_file), model_max_length=512).save_pretrained(config_dir)
    config = transformers.BertConfig(vocab_size=len(vocab), num_labels=len(CLASSES))
    config.save_pretrained(config_dir)
    torch.manual_seed(seed)
    model = transformers.BertForSequenceClassification(config)
    checkpoint = {
        "config": {
            "arch": {"args": {"model_type": str(config_dir), "model_name": "BertForSequenceClassification",
                              "tokenizer_name": "BertTokenizer", "num_classes": len(CLASSES)}},
            "dataset": {"args": {"classes": CLASSES}},
        },
        "state_dict": model.state_dict(),
    }
    path = folder / "model.ckpt"
    torch.save(checkpoint, path)
    return path


def main() -> int:
    """Build, load, score, print the JSON figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=512, help="texts to score (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=32, help="batch size (default: %(default)s)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    load_before = [round(v, 2) for v in os.getloadavg()]
    rng = random.Random(args.seed)
    texts, source = load_texts(args.texts, rng)
    progress(f"{len(texts)} texts from {source}")

    with tempfile.TemporaryDirectory(prefix="jury-bench-detoxify-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        checkpoint = build_checkpoint(folder, build_vocab(texts), args.seed)
        build_s = time.perf_counter() - started
        progress(f"random bert-base checkpoint saved ({checkpoint.stat().st_size / 2**20:.0f} MiB, {build_s:.1f} s)")

        started = time.perf_counter()
        scorer = DetoxifyScorer.from_checkpoint(
            checkpoint, folder / "config", device=args.device, model_type="bench", batch_size=args.batch
        )
        load_s = time.perf_counter() - started
        progress(f"loaded on {scorer.device} in {load_s:.1f} s")

        tokenizer = scorer._model.tokenizer
        lengths = [len(ids) for ids in tokenizer(texts, truncation=True)["input_ids"]]

        cuda = scorer.device.startswith("cuda")
        scorer.score(texts[: args.batch])  # warm-up: first-call allocations, kernel selection
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        scores = scorer.score(texts)
        if cuda:
            torch.cuda.synchronize()
        score_s = time.perf_counter() - started
        progress(f"scored {len(scores)} texts in {score_s:.2f} s")

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    result = {
        "benchmark": "scoring_detoxify",
        "posts_per_s": round(len(texts) / score_s, 1),
        "texts": len(texts),
        "batch_size": args.batch,
        "text_source": source,
        "tokens_per_text_mean": round(sum(lengths) / len(lengths), 1),
        "tokens_per_text_max": max(lengths),
        "score_s": round(score_s, 3),
        "load_s": round(load_s, 2),
        "device": scorer.device,
        "device_name": torch.cuda.get_device_name() if cuda else platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "peak_rss_mib": round(peak_rss / 1024, 1),
        "cuda_max_memory_allocated_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
        "model": {"layers": 12, "hidden": 768, "vocab": VOCAB_SIZE, "weights": "random"},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__},
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
