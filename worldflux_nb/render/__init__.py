"""Presentation: one document per artifact kind, serialised to Markdown and HTML; charts; widgets."""
