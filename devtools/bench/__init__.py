"""The benchmark (`oms bench`, `make bench`): the order pipeline against the bare-Temporal floor
on a stack of its own; figures and targets in docs/benchmark.md."""
