"""Stored results are unpickled only when their HMAC matches the install's secret."""

from __future__ import annotations

import pytest

from matcher import model_store
from matcher.model_store import ModelError


def test_a_signed_result_round_trips_and_a_changed_one_is_refused():
    data = model_store.dumps_signed({"kế hoạch": [1, 2, 3]}, b"secret")
    assert model_store.loads_signed(data, b"secret") == {"kế hoạch": [1, 2, 3]}
    with pytest.raises(ModelError, match="signature"):
        model_store.loads_signed(data, b"another install")
    flipped = data[:-1] + bytes([data[-1] ^ 1])
    with pytest.raises(ModelError, match="signature"):
        model_store.loads_signed(flipped, b"secret")
