"""The benchmarks (bench/RESULTS.md); a package so that bench/load/ and bench/stack.py import as bench.*."""
