// Benchmarks module; see Benchmarks/README.md.
