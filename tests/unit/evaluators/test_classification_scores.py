"""A shard's class scores go into Parquet as one list per image and come back to the merge as
the same matrix; scores that do not give every image one value per class are refused."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from assay.core.errors import InvalidInput
from assay.evaluators.classification import _score_lists, _score_matrix


def test_scores_round_trip_across_shards() -> None:
    rng = np.random.default_rng(0)
    first, second = rng.random((5, 3)), rng.random((4, 3))
    column = pa.chunked_array([_score_lists(first), _score_lists(second)])
    assert column.type == pa.list_(pa.float64())
    assert column.to_pylist()[1] == first[1].tolist()
    assert np.array_equal(_score_matrix(column, 3), np.vstack([first, second]))
    # A slice (an offset into the lists) reads as the rows it holds.
    assert np.array_equal(_score_matrix(column.slice(3, 4), 3), np.vstack([first, second])[3:7])


def test_scores_of_the_wrong_width_are_refused() -> None:
    for rows in ([[0.1, 0.9], [0.2, 0.3, 0.5]], [[0.1, 0.9], [0.2, 0.3, 0.4, 0.1]]):
        ragged = pa.chunked_array([pa.array(rows, pa.list_(pa.float64()))])
        with pytest.raises(InvalidInput, match="not 3 per image"):  # even if the sum fits
            _score_matrix(ragged, 3)
