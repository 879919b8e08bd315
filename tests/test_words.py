from fer_desktop.words import count


def test_count_says_one_thing_in_the_singular_and_others_in_the_plural() -> None:
    assert [count(n, "epoch") for n in (0, 1, 2)] == ["0 epochs", "1 epoch", "2 epochs"]
