//! Criterion benchmarks live under `benches/`.
