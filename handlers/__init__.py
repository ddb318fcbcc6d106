"""Translate what people send into calls of the core, one module per audience."""
