"""Edges: reading and writing files, loading artifacts, running and exporting notebooks."""
