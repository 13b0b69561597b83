"""The benchmark suite of the models and the chatbot chain (`mangaeval bench`), its regression rule against stored
baselines (`bench accept` / `bench compare`), and the cost model (`mangaeval cost estimate`). README "Benchmarks"."""
