import numpy as np
import pytest

from transformers_bat.evaluation.gcc_phat import gcc_phat_lag, gcc_phat_lateral_words


def delayed_pair(delay: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    source = rng.standard_normal(32000 + 100)
    left = source[50 : 50 + 32000]
    right = source[50 - delay : 50 - delay + 32000]  # right[t] = source[t - delay]
    return np.stack([left, right])


@pytest.mark.parametrize("delay", [-20, -3, 0, 5, 17])
def test_recovers_the_interaural_lag(delay):
    assert gcc_phat_lag(delayed_pair(delay)) == delay


def test_words_follow_which_ear_hears_first():
    assert gcc_phat_lateral_words([delayed_pair(10), delayed_pair(-10)]) == ["left", "right"]


def test_bad_input():
    with pytest.raises(ValueError, match=r"\(2, T\) binaural"):
        gcc_phat_lag(np.zeros(100))
    with pytest.raises(ValueError, match="shorter than one"):
        gcc_phat_lag(np.zeros((2, 100)))
