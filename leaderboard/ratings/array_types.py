"""Array aliases shared by the rating modules, and read-only copies for frozen results."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
Int32Array: TypeAlias = npt.NDArray[np.int32]
Int8Array: TypeAlias = npt.NDArray[np.int8]
BoolArray: TypeAlias = npt.NDArray[np.bool_]


def _frozen(array: npt.ArrayLike, dtype: npt.DTypeLike) -> npt.NDArray[np.generic]:
    # A copy, so a result never aliases an array the caller may still change.
    out = np.array(array, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


def frozen_float(array: npt.ArrayLike) -> FloatArray:
    return _frozen(array, np.float64).astype(np.float64, copy=False)


def frozen_int(array: npt.ArrayLike) -> IntArray:
    return _frozen(array, np.int64).astype(np.int64, copy=False)


def frozen_int32(array: npt.ArrayLike) -> Int32Array:
    return _frozen(array, np.int32).astype(np.int32, copy=False)


def frozen_int8(array: npt.ArrayLike) -> Int8Array:
    return _frozen(array, np.int8).astype(np.int8, copy=False)


def frozen_bool(array: npt.ArrayLike) -> BoolArray:
    return _frozen(array, np.bool_).astype(np.bool_, copy=False)
