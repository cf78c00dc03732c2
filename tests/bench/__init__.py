"""The benchmark (`make bench`): not collected by pytest (files are named bench_*.py)."""
