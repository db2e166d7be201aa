"""Tools for developing and testing the OMS, not part of it: the process supervisor that
``oms dev``, the benchmark and the chaos suite start their processes with (``supervisor``).
The benchmark, the chaos suite and the floor workflow will move here too."""
