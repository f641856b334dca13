"""Runtime backends of the Re-ID embedder, all behind the ``Embedder`` interface:
``embed(crops) -> (N, D) float32, L2-normalised``, with the one preprocessing of ``export.preprocess``."""
