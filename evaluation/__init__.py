"""Benchmarks: recipes (scenario x instruction x inferencer x metric), the built-in tiny-ehub, importers,
the analyses (multimodal gain, stability, modality importance, robustness, arena correlation)."""
