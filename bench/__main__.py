"""``python -m bench``: run the benchmark and print its table."""

from bench.run import main

main()
