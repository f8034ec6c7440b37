"""The synthetic VideoShop benchmark and the benches, outside the product (issue 15).

``bench.synth`` generates the benchmark (clips, ground truth, catalogues); ``bench.runner``
is `video2shop bench` (engine figures, matching, the player and soak benches in
``bench.player`` and ``bench.soak``); ``bench.index`` and ``bench.synthvec`` measure vector
indexes on realistic vectors. The runtime engine never imports this package (an import-linter
contract); the CLI reaches it for `video2shop synth` and `video2shop bench`.
"""
