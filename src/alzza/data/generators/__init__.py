"""Generators: data alzza makes itself — the expression grammar of chapters 10–11, Korean
numeral readings (chapter 14), and the stand-in movie rendered from the flower photos."""
