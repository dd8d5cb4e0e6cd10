"""Dictionary-encoded text columns handed to Arrow's Parquet writer as they are, in the bytes their text gives.

Given text, the writer dictionary-encodes it itself: every row's text hashed into a dictionary in
order of first appearance. The evidence table already keeps its text as codes into distinct values,
so decoding it only for the writer to encode it again was most of an audit input's write (the
metadata column alone is ~100 bytes a row). Given a dictionary array, the writer writes its
dictionary and codes as they are, which are the bytes the text gives when, in each row group:
- the dictionary holds the values used, each once, in order of first appearance (re-coded here);
- the first data page (at most FIRST_PAGE_ROWS rows) already holds enough distinct values for the
  codes' final bit width: the writer packs a page's codes in as many bits as the dictionary it has
  seen so far needs;
- the dictionary page stays well under the size where the writer falls back to plain encoding.
Any other column is handed over decoded, as before. tests/test_parquet.py compares the two byte by byte.
"""

from __future__ import annotations

from typing import Any

FIRST_PAGE_ROWS = 20_000  # Arrow's default max_rows_per_page: no data page holds more rows
DICTIONARY_PAGE_BYTES = 1 << 19  # half of Arrow's default dictionary_pagesize_limit (1 MiB): far from its fallback


def direct_columns(table: Any, names: list[str], rows: int) -> set[str]:
    """The text columns of `table` (as stored) that may go to the writer encoded, in row groups of `rows`."""
    import pyarrow as pa

    direct = set()
    for name in names:
        column = table.column(name)
        if not (pa.types.is_dictionary(column.type) and pa.types.is_string(column.type.value_type)):
            continue
        if all(_same_bytes(_combined(column.slice(start, rows))) for start in range(0, len(column), rows)):
            direct.add(name)
    return direct


def first_seen(column: Any) -> Any:
    """A row group's dictionary column as one dictionary array of int32 codes into its used values,
    in order of first appearance, as the writer would have built it from the text."""
    import numpy as np
    import pyarrow as pa

    from worldflux_nb.models.arrow_build import numpy_values

    part = _combined(column)
    used = _used(part.indices)
    remap = np.zeros(len(part.dictionary), dtype=np.int32)
    remap[numpy_values(used)] = np.arange(len(used), dtype=np.int32)
    codes = pa.Array.from_buffers(pa.int32(), len(remap), [None, pa.py_buffer(remap)]).take(part.indices)
    return pa.DictionaryArray.from_arrays(codes, part.dictionary.take(used))


def _same_bytes(part: Any) -> bool:
    """Whether this row group's column, handed over encoded, gives the bytes of its text (see above)."""
    import pyarrow.compute as pc

    used = _used(part.indices)
    if not len(used):
        return True
    values = part.dictionary.take(used)
    size = (pc.sum(pc.binary_length(values)).as_py() or 0) + 4 * len(values)  # the dictionary page's PLAIN bytes
    if size > DICTIONARY_PAGE_BYTES or values.null_count or pc.count_distinct(values).as_py() != len(values):
        return False  # (a null in the dictionary is a null row in the text, not a value)
    first_page = len(_used(part.indices.slice(0, FIRST_PAGE_ROWS)))
    return _bit_width(first_page) == _bit_width(len(used))


def _used(codes: Any) -> Any:
    """The non-null codes in order of first appearance (Arrow's hash kernel keeps that order), as int32."""
    import pyarrow as pa
    import pyarrow.compute as pc

    used = pc.unique(codes)
    if used.null_count:
        used = used.drop_null()
    return used.cast(pa.int32())


def _bit_width(entries: int) -> int:
    """Bits per code the writer uses for a dictionary of this many entries."""
    return 0 if entries == 0 else max(1, (entries - 1).bit_length())


def _combined(column: Any) -> Any:
    """One dictionary array (a chunked column's chunks joined over one dictionary)."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        if column.num_chunks == 1:
            return column.chunk(0)
        return column.unify_dictionaries().combine_chunks()
    return column
