"""Reading labelled CSV/TSV files: quoting, separators, value rules, presets and clear errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from classifiers import LABELS
from classifiers.datasets import FORMATS, DatasetError, load_labelled_csv, parse_sep


def write_rows(path: Path, header: list[str], rows: list[list[object]], delimiter: str = ",") -> Path:
    """Write a file through the csv module, as real exports are written."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_quoted_newlines_and_quotes_stay_inside_one_text(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "posts.csv", ["id", "text", "label"], [
        [1, 'first line\nsecond line, with a comma and "quotes"', 1],
        [2, "plain", 0],
    ])
    texts, rows = load_labelled_csv(path, "text", "label")
    assert texts == ['first line\nsecond line, with a comma and "quotes"', "plain"]
    assert rows == [{"toxicity": 1}, {"toxicity": 0}]


def test_result_carries_a_summary(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "posts.csv", ["text", "label"], [["a", 1], ["b", 0], ["", 1], ["   ", 0], ["c", 1]])
    data = load_labelled_csv(path, "text", "label", label="insult")
    assert data.texts == ["a", "b", "c"]
    assert data.label_rows == [{"insult": 1}, {"insult": 0}, {"insult": 1}]
    assert data.summary["rows"] == 3
    assert data.summary["positives"] == {"insult": 2}
    assert data.summary["skipped"] == 2
    assert data.summary["skipped_reasons"] == {"empty_text": 2}


def test_tsv_is_detected_by_suffix(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "posts.tsv", ["text", "label"], [["a, b", "1"], ["tab\tinside", "0"]], "\t")
    texts, rows = load_labelled_csv(path, "text", "label")
    assert texts == ["a, b", "tab\tinside"]
    assert rows == [{"toxicity": 1}, {"toxicity": 0}]


@pytest.mark.parametrize("spelling", ["TAB", "tab", "\\t", "\t"])
def test_tab_separator_spellings(tmp_path: Path, spelling: str) -> None:
    path = write_rows(tmp_path / "posts.txt", ["text", "label"], [["a, b", "1"], ["c", "0"]], "\t")
    texts, _ = load_labelled_csv(path, "text", "label", sep=spelling)
    assert texts == ["a, b", "c"]


def test_parse_sep() -> None:
    assert parse_sep(None, "x.TSV") == "\t"
    assert parse_sep(None, "x.tab") == "\t"
    assert parse_sep(None, "x.csv") == ","
    assert parse_sep(";") == ";"
    with pytest.raises(DatasetError, match="one character"):
        parse_sep(";;")


def test_missing_columns_are_all_named_with_the_columns_present(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "posts.csv", ["id", "body", "verdict"], [[1, "x", 1]])
    with pytest.raises(DatasetError) as info:
        load_labelled_csv(path, "text", "label")
    message = str(info.value)
    assert "'text'" in message and "'label'" in message
    assert "'id', 'body', 'verdict'" in message
    assert isinstance(info.value, ValueError)


def test_header_names_are_matched_without_surrounding_spaces_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_bytes("\ufefftext , label\nhello,1\n".encode())
    texts, rows = load_labelled_csv(path, "text", "label")
    assert texts == ["hello"] and rows == [{"toxicity": 1}]


@pytest.mark.parametrize(
    "value, expected",
    [("1", 1), ("0", 0), ("0.7", 1), ("0.5", 0), ("0.2", 0), ("2", 1), ("-1", 0),
     ("true", 1), ("TRUE", 1), (" yes ", 1), ("no", 0), ("false", 0), ("toxic", 0)],
)
def test_default_value_rule(tmp_path: Path, value: str, expected: int) -> None:
    path = write_rows(tmp_path / "posts.csv", ["text", "label"], [["x", value]])
    assert load_labelled_csv(path, "text", "label").label_rows == [{"toxicity": expected}]


def test_empty_or_nan_labels_leave_the_row_out(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "posts.csv", ["text", "label"], [["a", ""], ["b", "nan"], ["c", "1"]])
    data = load_labelled_csv(path, "text", "label")
    assert data.texts == ["c"]
    assert data.summary["skipped_reasons"] == {"missing_label": 2}


def test_positive_values_are_compared_after_strip(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "posts.csv", ["text", "class"], [["a", " 0"], ["b", "1 "], ["c", "2"]])
    _, rows = load_labelled_csv(path, "text", "class", positive=["0", " 1"])
    assert rows == [{"toxicity": 1}, {"toxicity": 1}, {"toxicity": 0}]
    _, rows = load_labelled_csv(path, "text", "class", positive=[2])
    assert rows == [{"toxicity": 0}, {"toxicity": 0}, {"toxicity": 1}]


def test_negative_values_make_everything_else_positive(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "posts.csv", ["tweet", "sentiment"], [
        ["a", "normal"], ["b", "offensive"], ["c", "hateful_normal"], ["d", " normal "], ["e", "fearful"],
    ])
    _, rows = load_labelled_csv(path, "tweet", "sentiment", negative=["normal"])
    assert [r["toxicity"] for r in rows] == [0, 1, 1, 0, 1]


def test_positive_and_negative_together_leave_other_values_out(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "posts.csv", ["tweet", "class"], [["a", "0"], ["b", "1"], ["c", "2"]])
    data = load_labelled_csv(path, "tweet", "class", positive=["0"], negative=["2"])
    assert data.texts == ["a", "c"]
    assert data.label_rows == [{"toxicity": 1}, {"toxicity": 0}]
    assert data.summary["skipped_reasons"] == {"excluded": 1}


def test_several_label_columns(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "posts.csv", ["text", "t", "i"], [["a", 1, 0], ["b", 1, 1]])
    _, rows = load_labelled_csv(path, "text", {"toxicity": "t", "insult": "i"})
    assert rows == [{"toxicity": 1, "insult": 0}, {"toxicity": 1, "insult": 1}]


@pytest.mark.parametrize("content", ["", "\n\n", "text,label\n", "text,label\n\n\n"])
def test_empty_files_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content)
    with pytest.raises(DatasetError, match="empty|no data rows"):
        load_labelled_csv(path, "text", "label")


def test_a_file_with_only_unusable_rows_is_refused(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "posts.csv", ["text", "label"], [["", 1], ["x", ""]])
    with pytest.raises(DatasetError, match="no usable rows"):
        load_labelled_csv(path, "text", "label")


def test_short_rows_are_counted_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text("id,text,label\n1,hello,1\n2,cut short\n3,bye,0\n")
    data = load_labelled_csv(path, "text", "label")
    assert data.texts == ["hello", "bye"]
    assert data.summary["skipped_reasons"] == {"short_row": 1}


def test_unreadable_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        load_labelled_csv(tmp_path / "nope.csv", "text", "label")
    with pytest.raises(DatasetError, match="cannot read"):
        load_labelled_csv(tmp_path, "text", "label")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(DatasetError, match="utf-8"):
        load_labelled_csv(latin, "text", "label")
    assert load_labelled_csv(latin, "text", "label", encoding="latin-1").texts == ["café"]


def test_columns_are_required_without_a_format(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "posts.csv", ["text", "label"], [["a", 1]])
    with pytest.raises(DatasetError, match="text column"):
        load_labelled_csv(path, label_column="label")
    with pytest.raises(DatasetError, match="label column"):
        load_labelled_csv(path, "text")
    with pytest.raises(DatasetError, match="unknown format"):
        load_labelled_csv(path, format="kaggle")


def test_davidson_preset(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "labeled_data.csv",
                      ["", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"],
                      [[0, 3, 0, 0, 3, 2, "nice day"],
                       [1, 3, 2, 1, 0, 0, "hateful\ntweet"],
                       [2, 3, 0, 3, 0, 1, "rude"]])
    data = load_labelled_csv(path, format="davidson")
    assert data.texts == ["nice day", "hateful\ntweet", "rude"]
    assert data.label_rows == [{"toxicity": 0}, {"toxicity": 1}, {"toxicity": 1}]
    # Hate alone: the preset's columns with explicit values.
    hate = load_labelled_csv(path, label_column="class", positive=["0"], format="davidson")
    assert [r["toxicity"] for r in hate.label_rows] == [0, 1, 0]


def test_mlma_preset(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "fr_dataset.csv", ["HITId", "tweet", "sentiment", "directness"], [
        [1, "bonne journée", "normal", "direct"],
        [2, "t'es qu'un abruti", "offensive", "direct"],
        [3, "sale type", "abusive_normal", "indirect"],
    ])
    data = load_labelled_csv(path, format="mlma")
    assert data.texts[0] == "bonne journée"
    assert [r["toxicity"] for r in data.label_rows] == [0, 1, 1]
    assert FORMATS["mlma"].negative == ("normal",)


def test_jigsaw_preset_is_multi_label(tmp_path: Path) -> None:
    header = ["id", "comment_text", "toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
    path = write_rows(tmp_path / "train.csv", header, [
        ["a1", "I will find you", 1, 0, 0, 1, 0, 0],
        ["a2", "thanks, fixed the typo", 0, 0, 0, 0, 0, 0],
        ["a3", "unscored test row", -1, -1, -1, -1, -1, -1],
    ])
    data = load_labelled_csv(path, format="jigsaw")
    assert data.texts == ["I will find you", "thanks, fixed the typo"]
    assert set(data.label_rows[0]) == set(LABELS)
    assert data.label_rows[0]["threat"] == 1 and data.label_rows[0]["identity_attack"] == 0
    assert data.summary["skipped_reasons"] == {"ignored_label": 1}
    # Naming one column makes it single-label again.
    single = load_labelled_csv(path, label_column="insult", format="jigsaw", label="insult")
    assert single.label_rows == [{"insult": 0}, {"insult": 0}]


def test_every_preset_maps_onto_known_labels() -> None:
    for name, preset in FORMATS.items():
        assert preset.description, name
        assert set(preset.label_columns) <= set(LABELS), name
