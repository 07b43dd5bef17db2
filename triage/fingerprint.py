"""Fingerprints of a post's text: what two copies of one post have in common however they were dressed up.

Pure functions (no Flask, no database). `sketch(text)` gives a post's `Sketch`:

- `key`: the text reduced to what a reader takes in, in one canonical spelling (see `normalise` and
  `compact`): Unicode NFKC, case folded, homoglyphs folded to the Latin letter they imitate (Unicode's
  confusables table, from the `confusable-homoglyphs` package), zero-width, bidi and other invisible
  characters and combining marks stripped, URLs and @mentions replaced by placeholders, the `#` of a
  hashtag dropped (its word kept: it is speech), emoji and other symbols dropped, leetspeak folded
  inside words that have a letter ("k1ll", "d3@d": numbers alone stay), and then everything
  that is not a letter, a digit or a placeholder dropped and runs of one character cut to one. So
  "I w i l l  k i l l", "I wіll kіll" (Cyrillic і), "I\u200bwill kill 🔪", "I w1ll k1ll" and "I wiiill KILL" share it.
- `fingerprint`: the SHA-256 of the key: exact copies, once normalised.
- `signature`: a MinHash (`datasketch`, NUM_PERM permutations, its default affine32 scheme) of the
  key's character SHINGLE-grams, and `band_keys`: LSH bands of it (BANDS bands of ROWS values, each
  hashed to a signed 64-bit key). `sketches(texts)` computes a batch's MinHash values at once with
  numpy from datasketch's own permutations; a test holds them equal to datasketch's update_batch.

**Which measure, and why Jaccard.** Two posts are near-duplicates when the Jaccard similarity of their
shingle sets, |A ∩ B| / |A ∪ B|, reaches the policy's `clusters.similarity` (default 0.6), estimated
from the signatures (the share of equal MinHash values; a standard error of about 0.04 at 128
permutations). Jaccard is symmetric and counts every shingle either post adds, so it can never exceed
the ratio of the shorter key's length to the longer's: a threat quoted inside counter-speech or news,
or a lawful post padded with a threat's words, carries all the text around it, and once that text is
more than 2/3 of the threat's own length (at 0.6) it cannot match, whatever it quotes. Containment
(|A ∩ B| / |A|, the share of one post found in the other) was rejected for that reason: a threat is
wholly contained in the article that quotes it, so containment calls them the same post, and either
direction harms someone (the article removed with the threat, or bare copies of the threat filed
under a kept article).

**The threshold, 0.6**, from the cases in tests/triage/test_fingerprint.py (a 120-character threat):
the evasions that only dress a text up (homoglyphs, zero-width and bidi characters, emoji, another
mention) score 1.0; copies with a link or hashtags or a sentence added, a word changed, or spaced out
letter by letter score 0.81-0.99, with two words changed 0.65; the threat quoted in counter-speech or
news scores 0.36-0.38, a lawful post built from the threat's words 0.27, unrelated posts under 0.01.
0.6 sits between the two groups. A quote with only a word or two of comment around it ("Reported:
<threat>") still scores about 0.78: to the matcher it is a copy, which is why the later steps that will
act on a cluster (items 2-3 of the clusters issue) ask a juror to confirm below a higher similarity.

**Shingles of 4 characters** over the key, which has no spaces, so "k i l l" and "kill" agree: 3-grams
made unrelated English posts share more, 5-grams let one changed word of a short post cost more.

**LSH bands.** A cluster is found by its band keys: two signatures of similarity s share at least one
of BANDS = 10 bands of ROWS = 2 values with probability 1 - (1 - s^2)^10: 0.94 at s = 0.5, 0.989 at
0.6, 0.999 at 0.7, so a policy similarity from 0.5 up finds nearly every cluster that reaches it;
unrelated posts (s under 0.1) are candidates of each other under 10 % of the time, and one signature
comparison in memory then rules them out. A lookup is 10 equality matches on a primary key, whatever
the number of clusters. Each new cluster writes one index entry per band, the main cost of
clustering at intake: 10 bands of 2 find as much as 20 bands of 3 (0.93 at 0.5, 0.99 at 0.6) or 32
of 4 (0.87, 0.99) for half or a third of the writes, at the price of more false candidates between
posts of similarity 0.2-0.4, which cost a comparison each, and of unrelated posts sharing a band key
more often (two intakes storing one key at once wait for each other: triage/clusters.py). The
parameters are part of the stored keys: changing NUM_PERM, BANDS, ROWS, SHINGLE, SEED or the
normalisation means recomputing them for every cluster.

Keys shorter than a shingle (an emoji, "ok", a bare link) get no signature: they would cluster
unrelated posts together.
"""
from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from confusable_homoglyphs.confusables import confusables_data
from datasketch import MinHash

SHINGLE = 4
NUM_PERM = 128
BANDS = 10
ROWS = 2
SEED = 23
# The placeholders URLs and @mentions become, in the readable form and in the key.
URL = "<url>"
MENTION = "<user>"
_URL_MARK = "\ue000"
_MENTION_MARK = "\ue001"
# Longest text looked at: a post's first part carries its message; pasting a novel after it changes
# nothing to what a copy is, and the cost stays bounded.
MAX_CHARS = 20_000

# Invisible letters (category Lo, so not caught by the Cf rule below) used to pad or split words.
_INVISIBLE = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x180E, 0x034F}
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/\S*")
_MENTION_RE = re.compile(r"(?<![\w@])@[\w.]+(?:@[\w-]+(?:\.[\w-]+)+)?")
_HASHTAG_RE = re.compile(r"(?<![\w#])#(?=\w)")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _homoglyphs() -> dict[int, str]:
    """Each non-ASCII character that Unicode's confusables table says imitates ASCII text, mapped to
    that text: Cyrillic а → a, Greek ο → o, ℓ → l. ASCII characters are left alone (a 1 stays a 1)."""
    table: dict[int, str] = {}
    for char, glyphs in confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        target = next((glyph["c"] for glyph in glyphs if glyph["c"].isascii()), None)
        if target is not None:
            table[ord(char)] = target
    return table


@lru_cache(maxsize=1)
def _capitals() -> dict[int, str]:
    """The table's capitals that imitate an ASCII capital (Greek Κ → K; not Cyrillic І, which it maps
    to l, the shape of a capital I: case folding and the full table give it i)."""
    return {code: target for code, target in _homoglyphs().items()
            if chr(code).isupper() and len(target) == 1 and target.isupper()}


class _Fold(dict):
    """str.translate's table for the decomposed, case-folded text, filled one character at a time as
    texts bring new ones (so each costs a category lookup once per process): invisible characters and
    combining marks dropped, emoji and other symbols to a space, homoglyphs to the ASCII they imitate."""

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        category = unicodedata.category(char)
        if code in _INVISIBLE or category in ("Cf", "Mn", "Me", "Co", "Cs", "Cn"):
            target = None  # zero-width, bidi and tag characters, accents, private use, unassigned
        elif category in ("So", "Sk"):
            target = " "  # emoji, pictographs, skin-tone and other modifier symbols
        else:
            target = _homoglyphs().get(code, char)
        self[code] = target
        return target


_FOLD = _Fold()


def normalise(text: str) -> str:
    """The text as the matcher reads it: folded, invisible characters and emoji gone, URLs and
    mentions as placeholders, whitespace collapsed. Readable: for tests and for people."""
    text = text[:MAX_CHARS]
    if text.isascii():
        text = text.lower()  # nothing to fold but case (most posts)
    else:
        # Capitals first: the table knows some (Greek Κ → K) whose small letters it does not.
        text = unicodedata.normalize("NFKC", text).translate(_capitals())
        # Decomposed, so combining marks (accents, "zalgo" stacks) come apart from their letters and go.
        text = unicodedata.normalize("NFD", text.casefold()).translate(_FOLD).casefold()
        text = unicodedata.normalize("NFC", text)
    # Each pattern only where its sign appears: most posts have no link, mention or hashtag.
    if "." in text or "://" in text:
        text = _URL_RE.sub(f" {URL} ", text)
    if "@" in text:
        text = _MENTION_RE.sub(f" {MENTION} ", text)
    if "#" in text:
        text = _HASHTAG_RE.sub("", text)
    if _LEET_HINT.search(text):
        text = _LEET_WORD.sub(_unleet, text)
    return _SPACES.sub(" ", text).strip()


# Leetspeak: digits and signs written for the letters they look like ("k1ll", "d3@d", "$h00t"), folded
# only inside a word that has a letter too, so numbers ("10", "2021") stay as they are.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"})
_LEET_HINT = re.compile(r"[a-z][0134578@$]|[0134578@$][a-z]")
_LEET_WORD = re.compile(r"[\w@$]*[a-z][\w@$]*")


def _unleet(match: re.Match) -> str:
    return match.group(0).translate(_LEET)


_NOT_KEPT = re.compile(f"[^\\w{_URL_MARK}{_MENTION_MARK}]|_")
_RUNS = re.compile(r"(.)\1+", re.DOTALL)


def compact(normalised: str) -> str:
    """The key: letters, digits and placeholders only, each run of one character cut to one."""
    marked = normalised.replace(URL, _URL_MARK).replace(MENTION, _MENTION_MARK)
    return _RUNS.sub(r"\1", _NOT_KEPT.sub("", marked))


def shingles(key: str) -> set[str]:
    """The key's character SHINGLE-grams (empty for a key shorter than one)."""
    return {key[i:i + SHINGLE] for i in range(len(key) - SHINGLE + 1)}


def _identity(value: int) -> int:
    return value


_minhashes = threading.local()


def _minhash() -> MinHash:
    """This thread's MinHash, emptied: the permutations are drawn once (drawing them, or copying an
    empty MinHash, cost more than hashing a post). Its input is already one 32-bit hash per shingle
    (shingle_hashes), which datasketch pre-mixes (MurmurHash3's finalizer) before permuting."""
    minhash = getattr(_minhashes, "minhash", None)
    if minhash is None:
        minhash = _minhashes.minhash = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_identity)
    minhash.clear()
    return minhash


_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5,
                 0xFF51AFD7ED558CCD], dtype=np.uint64)


def _avalanche(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, element-wise (a bijection that spreads every input bit)."""
    values = values ^ (values >> np.uint64(33))
    values = values * np.uint64(0xFF51AFD7ED558CCD)
    values = values ^ (values >> np.uint64(33))
    values = values * np.uint64(0xC4CEB9FE1A85EC53)
    return values ^ (values >> np.uint64(33))


def shingle_hashes(keys: list[str]) -> list[np.ndarray]:
    """A 32-bit hash of each SHINGLE-gram of each key, computed on the keys' code points at once."""
    codes = np.frombuffer("".join(keys).encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.uint64)
    count = len(codes) - SHINGLE + 1
    if count <= 0:
        return [np.empty(0, dtype=np.uint64) for _ in keys]
    mixed = np.zeros(count, dtype=np.uint64)
    for offset in range(SHINGLE):
        mixed = _avalanche(mixed ^ (codes[offset:offset + count] * _MIX[offset]))
    mixed &= np.uint64(0xFFFFFFFF)
    # Each key's own windows: those that end inside it (the others span two keys).
    hashes, start = [], 0
    for key in keys:
        hashes.append(mixed[start:start + max(0, len(key) - SHINGLE + 1)])
        start += len(key)
    return hashes


def signature_of(hashes: np.ndarray) -> np.ndarray:
    """The MinHash values (uint32) of a key's shingle hashes, as datasketch computes them."""
    minhash = _minhash()
    minhash.update_batch(hashes.tolist())
    return np.array(minhash.hashvalues, dtype=np.uint32)


_CHUNK = 1024  # shingles permuted at once: NUM_PERM x 4 bytes each, 512 KiB (a larger block left the CPU cache: slower)


def signatures_of(hashes: list[np.ndarray]) -> np.ndarray:
    """The MinHash values of many keys at once (one row each; every key has shingles): the same
    values as datasketch's update_batch (signature_of; a test holds them equal), with its
    permutations, computed for the whole batch in a few numpy operations instead of a dozen a key."""
    a, b = _minhash().permutations
    out = np.empty((len(hashes), NUM_PERM), dtype=np.uint32)
    start = 0
    while start < len(hashes):
        stop, size = start, 0
        while stop < len(hashes) and (stop == start or size + len(hashes[stop]) <= _CHUNK):
            size += len(hashes[stop])
            stop += 1
        values = _fmix32(np.concatenate(hashes[start:stop]).astype(np.uint32)).reshape(-1, 1)
        offsets = np.cumsum([0] + [len(h) for h in hashes[start:stop - 1]])
        out[start:stop] = np.minimum.reduceat(values * a + b, offsets, axis=0)
        start = stop
    return out


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, which datasketch applies to each input hash before permuting."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


_BAND_SALT = np.arange(1, BANDS + 1, dtype=np.uint64) * _MIX[4]


def band_keys(signatures: np.ndarray) -> np.ndarray:
    """One signed 64-bit key per LSH band of each signature (a row of `signatures`): the band's
    number and its ROWS values, hashed together."""
    rows = signatures[:, :BANDS * ROWS].astype(np.uint64).reshape(len(signatures), BANDS, ROWS)
    mixed = np.broadcast_to(_BAND_SALT, (len(signatures), BANDS))
    for row in range(ROWS):
        mixed = _avalanche(mixed ^ (rows[:, :, row] * _MIX[row]))
    return mixed.view(np.int64)


def similarity(first: np.ndarray | bytes, second: np.ndarray | bytes) -> float:
    """Estimated Jaccard similarity of two signatures: the share of their values that are equal."""
    a, b = as_signature(first), as_signature(second)
    return float(np.count_nonzero(a == b)) / NUM_PERM


def as_signature(value: np.ndarray | bytes) -> np.ndarray:
    """A signature from its stored bytes (or itself)."""
    if isinstance(value, np.ndarray):
        return value
    return np.frombuffer(value, dtype="<u4")


def signature_bytes(signature: np.ndarray) -> bytes:
    """How a signature is stored: NUM_PERM little-endian uint32 values."""
    return np.ascontiguousarray(signature, dtype="<u4").tobytes()


@dataclass(frozen=True)
class Sketch:
    """What the matcher keeps of one post: its key's hash, and its signature and band keys (None and
    empty for a key too short to shingle)."""

    fingerprint: str
    signature: np.ndarray | None
    band_keys: tuple[int, ...]

    @property
    def matchable(self) -> bool:
        """Whether the post can join a cluster (its key is at least one shingle long)."""
        return self.signature is not None


def sketch(text: str) -> Sketch:
    """The fingerprint, signature and band keys of a post's text."""
    return sketches([text])[0]


def sketches(texts: list[str]) -> list[Sketch]:
    """The sketch of each text, computed for the batch at once where numpy can."""
    keys = [compact(normalise(text)) for text in texts]
    prints = [hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest() for key in keys]
    hashes = shingle_hashes(keys)
    matchable = [index for index, values in enumerate(hashes) if len(values)]
    signatures = signatures_of([hashes[index] for index in matchable])
    bands = band_keys(signatures).tolist() if matchable else []
    result = [Sketch(fingerprint, None, ()) for fingerprint in prints]
    for index, signature, keys_ in zip(matchable, signatures, bands, strict=True):
        result[index] = Sketch(prints[index], signature, tuple(keys_))
    return result


def jaccard(first: str, second: str) -> float:
    """The exact Jaccard similarity of two texts' shingle sets (what the signatures estimate)."""
    a, b = shingles(compact(normalise(first))), shingles(compact(normalise(second)))
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
