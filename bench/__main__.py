"""`python -m bench`: the whole benchmark (see bench/suite.py)."""

from bench.suite import main

main()
