"""Pandas frames to Arrow tables, with time-zone-aware columns converted here, not in pyarrow.

Some pyarrow versions read such columns through a pandas API that pandas 3.1 deprecates, which
warns (an error in our tests); converting them ourselves gives the same instants on every version.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa


def utc_array(column: pd.Series) -> pa.Array:
    """A time-zone-aware column as an Arrow timestamp[us, UTC] array (missing values kept)."""
    utc = column.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    return pa.array(utc.to_numpy(), type=pa.timestamp("us", tz="UTC"), mask=utc.isna().to_numpy())


def frame_to_arrow(frame: pd.DataFrame) -> pa.Table:
    """``pa.Table.from_pandas`` without the index, safe for time-zone-aware columns."""
    aware = {
        str(c): utc_array(frame[c])
        for c in frame.columns
        if isinstance(frame[c].dtype, pd.DatetimeTZDtype)
    }
    rest = pa.Table.from_pandas(frame.drop(columns=list(aware)), preserve_index=False)
    columns = {**{n: rest.column(n) for n in rest.column_names}, **aware}
    return pa.table({str(c): columns[str(c)] for c in frame.columns})


__all__ = ["frame_to_arrow", "utc_array"]
