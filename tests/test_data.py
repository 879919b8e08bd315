"""FER-2013 readers on synthetic files: Kaggle folder, zip and csv, bad input, the decode cache."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from fer_fixtures import (  # noqa: F401  (private_cache is an autouse fixture)
    class_pattern, csv_row, private_cache, synthetic_fer, write_csv, write_tree, write_zip,
)

import trainer.data
from trainer.data import DataError, FerData, load_fer


def assert_split_matches(data: FerData, expected, split: str) -> None:
    images, labels = data.select(split)
    want_images, want_labels = expected.select(split)
    np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_array_equal(images, want_images)


def test_folder_zip_and_csv_read_into_the_same_arrays(tmp_path: Path) -> None:
    # test/ holds the PublicTest_ and PrivateTest_ files mixed in each class folder, as Kaggle ships it.
    syn = synthetic_fer(train=3, public=2, private=1)
    folder = write_tree(tmp_path / "kaggle", syn.files)
    archive = write_zip(tmp_path / "fer2013.zip", syn.files, top="fer2013", shuffle_seed=1)
    table = write_csv(tmp_path / "fer2013.csv", syn)
    csv_folder = tmp_path / "csv_only"
    csv_folder.mkdir()
    write_csv(csv_folder / "fer2013.csv", syn)

    loaded = {p.name: load_fer(p) for p in (folder, archive, table, csv_folder)}
    for name, data in loaded.items():
        assert data.counts() == {"train": 21, "public": 14, "private": 7, "test": 21}, name
        assert data.images.dtype == np.uint8 and data.images.shape[1:] == (48, 48)
        assert data.labels.dtype == np.int64
        assert (data.skipped, data.notes) == (0, []), name
        for split in ("train", "public", "private"):
            assert_split_matches(data, syn, split)
    # The zip was written in shuffled order; the reader's order must not depend on how the files are stored.
    for field in ("images", "labels", "splits"):
        np.testing.assert_array_equal(getattr(loaded["kaggle"], field), getattr(loaded["fer2013.zip"], field))
    test_images, _ = loaded["kaggle"].select("test")
    assert len(test_images) == 21


def test_test_folder_without_prefixes_becomes_public_with_a_note(tmp_path: Path) -> None:
    syn = synthetic_fer(train=1, public=2, private=0, prefixed=False)
    data = load_fer(write_tree(tmp_path / "kaggle", syn.files))
    assert data.counts() == {"train": 7, "public": 14, "private": 0, "test": 14}
    assert len(data.notes) == 1 and "prefix" in data.notes[0] and "PublicTest" in data.notes[0]
    assert_split_matches(data, syn, "public")


@pytest.mark.parametrize("content", [b"this is not an image", b""], ids=["garbage", "empty"])
def test_a_corrupt_image_is_skipped_and_counted(tmp_path: Path, content: bytes) -> None:
    syn = synthetic_fer(train=2, public=1, private=0)
    files = {**syn.files, "train/happy/Training_99999.jpg": content}
    for source in (write_tree(tmp_path / "kaggle", files), write_zip(tmp_path / "fer.zip", files)):
        data = load_fer(source)
        assert data.skipped == 1
        assert data.counts()["train"] == 14
        assert_split_matches(data, syn, "train")


def test_images_of_another_size_or_in_colour_are_resized_to_48(tmp_path: Path) -> None:
    face = class_pattern(3, np.random.default_rng(1))
    # Each pixel as a 2x2 block in three equal channels: area resampling gives the 48x48 face back exactly.
    big = np.repeat(np.repeat(face, 2, 0), 2, 1)
    files = {
        "train/happy/Training_1.png": cv2.imencode(".png", np.dstack([big] * 3))[1].tobytes(),
        "test/happy/PublicTest_2.png": cv2.imencode(".png", face)[1].tobytes(),
    }
    data = load_fer(write_tree(tmp_path / "kaggle", files))
    images, labels = data.select("train")
    assert images.shape == (1, 48, 48) and labels.tolist() == [3]
    np.testing.assert_array_equal(images[0], face)


def test_malformed_csv_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    syn = synthetic_fer(train=1, public=1, private=0)
    good = syn.images[0]
    bad_rows = [
        csv_row(0, good[:47]),  # 47x48 pixels
        csv_row("x", good),  # label not a number
        csv_row(7, good),  # label out of range
        csv_row(-1, good),
        [str(0), " ".join(["300"] * 48 * 48), "Training"],  # pixel out of range
        [str(0), " ".join(["1"] * (48 * 48 - 1) + ["a"]), "Training"],  # pixel not a number
        csv_row(0, good, "Validation"),  # unknown Usage
        ["0"],  # too few fields
    ]
    data = load_fer(write_csv(tmp_path / "fer2013.csv", syn, extra_rows=bad_rows))
    assert data.skipped == len(bad_rows)
    assert data.counts() == {"train": 7, "public": 7, "private": 0, "test": 7}
    assert_split_matches(data, syn, "train")
    assert_split_matches(data, syn, "public")


def test_a_binary_file_named_csv_is_named_in_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "fer2013.csv"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(DataError, match=f"{path}: not a text file that CSV can read"):
        load_fer(path)


def test_csv_without_usage_is_all_training_with_a_note(tmp_path: Path) -> None:
    syn = synthetic_fer(train=1, public=0, private=0)
    rows = [csv_row(label, img)[:2] for img, label in zip(syn.images, syn.labels)]
    data = load_fer(write_csv(tmp_path / "train.csv", header=("emotion", "pixels"), extra_rows=rows))
    assert data.counts()["train"] == 7 and data.counts()["test"] == 0
    assert len(data.notes) == 1 and "Usage" in data.notes[0]
    assert_split_matches(data, syn, "train")


def _wrong_columns(tmp: Path) -> Path:
    return write_csv(tmp / "fer2013.csv", header=("label", "image", "Usage"), extra_rows=[["0", "1 2 3", "Training"]])


def _only_bad_rows(tmp: Path) -> Path:
    return write_csv(tmp / "fer2013.csv", extra_rows=[["9", "1 2 3", "Training"]])


def _empty_folder(tmp: Path) -> Path:
    (tmp / "empty").mkdir()
    return tmp / "empty"


def _unknown_class(tmp: Path) -> Path:
    syn = synthetic_fer(train=1, public=0, private=0)
    return write_tree(tmp / "kaggle", {"train/joy/Training_1.jpg": syn.encoded[0], **syn.files})


def _no_images(tmp: Path) -> Path:
    return write_tree(tmp / "kaggle", {"README.txt": b"faces go here", "train/happy/notes.txt": b"none yet"})


def _not_a_dataset(tmp: Path) -> Path:
    (tmp / "faces.txt").write_text("hello")
    return tmp / "faces.txt"


def _cut_zip(tmp: Path) -> Path:
    """A download that stopped halfway: the zip's directory at its end is missing."""
    whole = write_zip(tmp / "whole.zip", {n: b"x" * 300 for n in ("train/happy/1.jpg", "test/sad/2.jpg")})
    cut = tmp / "fer2013.zip"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return cut


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_wrong_columns, ["emotion,pixels,Usage", "label,image,Usage"]),
        (_only_bad_rows, ["no readable", "1 unreadable"]),
        (_empty_folder, ["empty", "train/<class>"]),
        (_unknown_class, ["unknown class folder 'joy'", "angry", "neutral"]),
        (_no_images, ["no FER-2013 images", "train/<class>"]),
        (_not_a_dataset, ["not a folder, .zip or .csv"]),
        (lambda tmp: tmp / "missing.zip", ["no such file or folder"]),
        (_cut_zip, ["not a readable .zip", "cut short"]),
    ],
    ids=["csv-wrong-columns", "csv-only-bad-rows", "empty-folder", "unknown-class", "no-images", "text-file",
         "missing", "cut-zip"],
)
def test_unusable_data_raises_a_clear_data_error(tmp_path: Path, make, words: list[str]) -> None:
    path = make(tmp_path)
    with pytest.raises(DataError) as err:
        load_fer(path)
    message = str(err.value)
    assert str(path) in message
    for word in words:
        assert word in message


def test_unknown_split_is_a_data_error(tmp_path: Path) -> None:
    data = load_fer(write_csv(tmp_path / "fer2013.csv", synthetic_fer(train=1, public=0, private=0)))
    with pytest.raises(DataError, match="validation"):
        data.select("validation")


def _fail_if_decoding(*args, **kwargs):
    raise AssertionError("the data was decoded again instead of read from the cache")


@pytest.mark.parametrize("form", ["folder", "zip", "csv"])
def test_second_load_comes_from_the_cache(tmp_path: Path, private_cache: Path, monkeypatch, form: str) -> None:
    syn = synthetic_fer(train=2, public=1, private=0, prefixed=False)
    files = {**syn.files, "train/sad/Training_99999.jpg": b"broken"}
    if form == "folder":
        source = write_tree(tmp_path / "kaggle", files)
    elif form == "zip":
        source = write_zip(tmp_path / "fer2013.zip", files)
    else:
        source = write_csv(tmp_path / "fer2013.csv", syn, extra_rows=[["1", "2 3", "Training"]])
    first = load_fer(source)
    cached = list(private_cache.glob("*.npz"))
    assert len(cached) == 1

    with monkeypatch.context() as m:
        m.setattr(trainer.data, "_read_layout", _fail_if_decoding)
        m.setattr(trainer.data, "_read_csv", _fail_if_decoding)
        m.setattr(trainer.data, "_decode", _fail_if_decoding)
        second = load_fer(source)
    for field in ("images", "labels", "splits"):
        np.testing.assert_array_equal(getattr(second, field), getattr(first, field))
    assert second.skipped == first.skipped == 1
    assert second.notes == first.notes and len(first.notes) == (0 if form == "csv" else 1)


def test_changed_data_is_decoded_again(tmp_path: Path, private_cache: Path) -> None:
    syn = synthetic_fer(train=2, public=1, private=0)
    folder = write_tree(tmp_path / "kaggle", syn.files)
    table = write_csv(tmp_path / "fer2013.csv", syn)
    assert load_fer(folder).counts()["train"] == 14
    assert load_fer(table).counts()["train"] == 14

    (folder / syn.names[0]).unlink()
    with open(table, "a", newline="") as f:
        f.write(",".join(csv_row(2, syn.images[0])) + "\n")
    assert load_fer(folder).counts()["train"] == 13
    assert load_fer(table).counts()["train"] == 15
    assert len(list(private_cache.glob("*.npz"))) == 4


def test_a_cache_folder_that_cannot_be_written_costs_only_the_cache(tmp_path: Path, capsys) -> None:
    (tmp_path / "a_file").write_text("x")  # the cache folder would have to be made inside a file
    synthetic = synthetic_fer(train=1, public=1, private=0)
    data = load_fer(write_csv(tmp_path / "fer2013.csv", synthetic), cache_dir=tmp_path / "a_file" / "cache")
    assert len(data.labels) == len(synthetic.labels)
    said = capsys.readouterr().err
    assert f"the decoded data cannot be kept in {tmp_path / 'a_file' / 'cache'} (Not a directory)" in said


def test_cache_can_be_turned_off(tmp_path: Path, private_cache: Path) -> None:
    data = load_fer(write_csv(tmp_path / "fer2013.csv", synthetic_fer(train=1, public=0, private=0)), cache_dir=False)
    assert data.counts()["train"] == 7
    assert not private_cache.exists() or not any(private_cache.iterdir())


def _labels_of(src: str, cache: str) -> int:
    return len(load_fer(src, cache_dir=Path(cache)).labels)


def test_two_processes_decoding_at_once_both_get_the_data(tmp_path: Path) -> None:
    """scripts/train_all.sh starts two runs on an empty cache: their cache writes must not collide."""
    import multiprocessing

    synthetic = synthetic_fer(train=30, public=5, private=5)
    # spawn, never fork: earlier tests have started ONNX Runtime and Qt threads, and a forked child hangs on their locks
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        for trial in range(3):  # each trial a new source and cache, written by both at once
            src = write_tree(tmp_path / f"kaggle{trial}", synthetic.files)
            cache = tmp_path / f"cache{trial}"
            assert pool.starmap(_labels_of, [(str(src), str(cache))] * 2) == [len(synthetic.labels)] * 2
            assert [p.name for p in cache.iterdir()] == [_cache_name(src, cache)]


def _cache_name(src: Path, cache: Path) -> str:
    return trainer.data._cache_file(src, cache).name
