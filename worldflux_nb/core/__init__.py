"""Core logic: pure functions over models and DataFrames, no file or network I/O."""
