"""Labelled text from CSV/TSV files: any column layout, plus presets for public data sets.

A label column becomes 0/1 by one of three rules:

- ``positive=[...]``: values in the list are 1, everything else is 0;
- ``negative=[...]``: values in the list are 0, everything else is 1;
- both: values in ``positive`` are 1, in ``negative`` 0, and rows with any other value are left
  out (counted as ``excluded``), e.g. Davidson hate (0) against neither (2) without offensive (1);
- neither: numbers above 0.5 are 1 (so 0/1 columns and annotator fractions both work), as are
  ``true`` and ``yes``; anything else is 0.

Values are compared after stripping surrounding whitespace. Rows with an empty text or an empty
label cell are left out and counted; nothing is dropped silently.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Tweets and comments may be long, but a single field beyond this is a broken file.
MAX_FIELD_CHARS = 1_000_000
_TRUE_WORDS = frozenset({"1", "true", "yes"})
_TAB_SPELLINGS = frozenset({"tab", "\\t", "\t"})


class DatasetError(ValueError):
    """A labelled file cannot be used: unreadable, empty, or without the columns asked for."""


@dataclass(frozen=True)
class Format:
    """Where a known data set keeps its text and labels, and which values count as positive."""

    text_column: str
    label_columns: Mapping[str, str]  # our label -> the file's column
    positive: tuple[str, ...] | None = None
    negative: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()  # label values that mean "not labelled": the row is left out
    description: str = ""


FORMATS: dict[str, Format] = {
    "davidson": Format(
        text_column="tweet",
        label_columns={"toxicity": "class"},
        positive=("0", "1"),
        description="Davidson et al. 2017 labeled_data.csv: class 0 hate or 1 offensive = toxic, 2 neither = not.",
    ),
    "mlma": Format(
        text_column="tweet",
        label_columns={"toxicity": "sentiment"},
        negative=("normal",),
        description="MLMA (Ousidhoum et al. 2019) en/fr_dataset.csv: sentiment exactly 'normal' = not toxic, "
        "any other value (abusive, hateful, offensive_normal, ...) = toxic.",
    ),
    "jigsaw": Format(
        text_column="comment_text",
        label_columns={
            "toxicity": "toxic",
            "severe_toxicity": "severe_toxic",
            "obscene": "obscene",
            "threat": "threat",
            "insult": "insult",
            "identity_attack": "identity_hate",
        },
        ignore=("-1",),
        description="Jigsaw Toxic Comment Classification train.csv (or a test.csv joined with test_labels.csv): "
        "six 0/1 columns mapped to Jury's labels; rows marked -1 (not scored) are left out.",
    ),
}


class LabelledData(tuple):
    """(texts, label_rows), unpackable as a pair, with the load's ``summary`` alongside."""

    summary: dict[str, Any]

    def __new__(cls, texts: list[str], label_rows: list[dict[str, int]], summary: dict[str, Any]) -> LabelledData:
        """Build the pair and keep the summary as an attribute."""
        self = super().__new__(cls, (texts, label_rows))
        self.summary = summary
        return self

    @property
    def texts(self) -> list[str]:
        """The texts, in file order."""
        return self[0]

    @property
    def label_rows(self) -> list[dict[str, int]]:
        """One {label: 0 or 1} dict per text."""
        return self[1]


@dataclass
class _Rule:
    """How one label column's raw values become 0/1 (or None: leave the row out)."""

    positive: frozenset[str] | None
    negative: frozenset[str] | None
    ignore: frozenset[str] = field(default_factory=frozenset)

    def apply(self, raw: str) -> tuple[int | None, str | None]:
        """(value, None), or (None, reason the row is left out)."""
        value = raw.strip()
        if value in self.ignore:
            return None, "ignored_label"
        if self.positive is not None and value in self.positive:
            return 1, None
        if self.negative is not None and value in self.negative:
            return 0, None
        if self.positive is not None and self.negative is not None:
            return None, "excluded"
        if self.positive is not None:
            return (0, None) if value else (None, "missing_label")
        if self.negative is not None:
            return (1, None) if value else (None, "missing_label")
        return _auto_value(value)


def _auto_value(value: str) -> tuple[int | None, str | None]:
    """Numbers above 0.5, 'true' and 'yes' are positive; empty or NaN cells leave the row out."""
    if not value:
        return None, "missing_label"
    try:
        number = float(value)
    except ValueError:
        return int(value.lower() in _TRUE_WORDS), None
    if math.isnan(number):
        return None, "missing_label"
    return int(number > 0.5), None


def parse_sep(sep: str | None, path: str | os.PathLike[str] | None = None) -> str:
    """The delimiter to use: 'TAB' or '\\t' mean a tab; None picks tab for .tsv/.tab files, else a comma."""
    if sep is None:
        suffix = Path(path).suffix.lower() if path is not None else ""
        return "\t" if suffix in (".tsv", ".tab") else ","
    if sep.lower() in _TAB_SPELLINGS:
        return "\t"
    if len(sep) != 1:
        raise DatasetError(f"separator must be one character (or TAB), got {sep!r}")
    return sep


def _values(values: Iterable[Any] | None) -> frozenset[str] | None:
    if values is None:
        return None
    if isinstance(values, (str, bytes, int, float)):
        values = [values]
    return frozenset(str(v).strip() for v in values)


def load_labelled_csv(
    path: str | os.PathLike[str],
    text_column: str | None = None,
    label_column: str | Mapping[str, str] | None = None,
    positive: Iterable[Any] | None = None,
    sep: str | None = None,
    label: str = "toxicity",
    *,
    negative: Iterable[Any] | None = None,
    format: str | None = None,  # noqa: A002 - the natural name, as on the command line
    encoding: str = "utf-8-sig",
) -> LabelledData:
    """Read labelled texts from a CSV/TSV file; returns (texts, label_rows) with a ``.summary``.

    ``label_column`` is one column (its 0/1 value goes under ``label``) or a {label: column}
    mapping for several labels. ``format`` (a key of FORMATS) fills in whatever is not given;
    a preset's value rules apply only while no column, ``positive`` or ``negative`` is given.
    """
    preset: Format | None = None
    if format is not None:
        try:
            preset = FORMATS[format]
        except KeyError:
            raise DatasetError(f"unknown format {format!r}; known: {', '.join(sorted(FORMATS))}") from None

    if text_column is None:
        if preset is None:
            raise DatasetError("no text column given (and no format to take it from)")
        text_column = preset.text_column

    columns, rule = _label_columns(preset, label_column, label, positive, negative)
    delimiter = parse_sep(sep, path)
    texts, label_rows, skipped = _read(Path(path), delimiter, encoding, text_column, columns, rule)

    summary = {
        "file": Path(path).name,
        "format": format,
        "text_column": text_column,
        "label_columns": columns,
        "rows": len(texts),
        "positives": {name: sum(row[name] for row in label_rows) for name in columns},
        "skipped": sum(skipped.values()),
        "skipped_reasons": {reason: n for reason, n in sorted(skipped.items()) if n},
    }
    if not texts:
        raise DatasetError(
            f"{Path(path).name}: no usable rows ({summary['skipped']} left out: {summary['skipped_reasons']})"
        )
    return LabelledData(texts, label_rows, summary)


def _label_columns(
    preset: Format | None,
    label_column: str | Mapping[str, str] | None,
    label: str,
    positive: Iterable[Any] | None,
    negative: Iterable[Any] | None,
) -> tuple[dict[str, str], _Rule]:
    """The {label: column} mapping to read, and the rule for its values (the preset's unless given)."""
    ignore: frozenset[str] = frozenset()
    if label_column is None:
        if preset is None:
            raise DatasetError("no label column given (and no format to take it from)")
        columns = dict(preset.label_columns)
        if positive is None and negative is None:
            positive, negative, ignore = preset.positive, preset.negative, frozenset(preset.ignore)
    elif isinstance(label_column, str):
        columns = {label: label_column}
        uses_preset_column = preset is not None and label_column in preset.label_columns.values()
        if uses_preset_column and positive is None and negative is None:
            positive, negative, ignore = preset.positive, preset.negative, frozenset(preset.ignore)
    else:
        columns = dict(label_column)
        if not columns:
            raise DatasetError("label_column mapping is empty")
    return columns, _Rule(_values(positive), _values(negative), ignore)


def _read(
    path: Path,
    delimiter: str,
    encoding: str,
    text_column: str,
    columns: Mapping[str, str],
    rule: _Rule,
) -> tuple[list[str], list[dict[str, int]], dict[str, int]]:
    """Stream the file once: (texts, label rows, counts of rows left out by reason)."""
    texts: list[str] = []
    label_rows: list[dict[str, int]] = []
    skipped = {"empty_text": 0, "missing_label": 0, "excluded": 0, "ignored_label": 0, "short_row": 0}
    previous_limit = csv.field_size_limit()
    try:
        # Field size limit is module-wide; it is restored on the way out.
        csv.field_size_limit(max(previous_limit, MAX_FIELD_CHARS))
        with path.open(newline="", encoding=encoding) as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            try:
                # Blank lines before the header are tolerated, as csv tools do.
                header = next((record for record in reader if record), None)
                if header is None:
                    raise DatasetError(f"{path.name} is empty")
                text_at, label_at = _locate(path, header, text_column, columns)
                needed = max(text_at, *label_at.values()) + 1
                for record in reader:
                    if not record:
                        continue  # a blank line
                    if len(record) < needed:
                        skipped["short_row"] += 1
                        continue
                    text = record[text_at]
                    if not text.strip():
                        skipped["empty_text"] += 1
                        continue
                    row: dict[str, int] = {}
                    reason = None
                    for name, index in label_at.items():
                        value, reason = rule.apply(record[index])
                        if value is None:
                            break
                        row[name] = value
                    if reason is not None:
                        skipped[reason] += 1
                        continue
                    texts.append(text)
                    label_rows.append(row)
            except csv.Error as exc:
                raise DatasetError(f"{path.name}, line {reader.line_num}: not valid CSV: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path.name} is not {encoding} text: {exc}") from exc
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from exc
    finally:
        csv.field_size_limit(previous_limit)
    if not texts and not any(skipped.values()):
        raise DatasetError(f"{path.name} has a header but no data rows")
    return texts, label_rows, skipped


def _locate(
    path: Path, header: Sequence[str], text_column: str, columns: Mapping[str, str]
) -> tuple[int, dict[str, int]]:
    """Column indexes by name (surrounding spaces ignored); every missing one is named at once."""
    names = [name.strip() for name in header]
    wanted = [text_column, *columns.values()]
    missing = [name for name in dict.fromkeys(wanted) if name.strip() not in names]
    if missing:
        present = ", ".join(repr(name) for name in names) or "none"
        plural = "s" if len(missing) > 1 else ""
        raise DatasetError(
            f"{path.name}: missing column{plural} {', '.join(repr(m) for m in missing)}; columns present: {present}"
        )
    return names.index(text_column.strip()), {label: names.index(col.strip()) for label, col in columns.items()}
