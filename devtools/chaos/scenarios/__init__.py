"""The fault scenarios, one module each, by the name ``oms chaos --scenario`` takes."""
