"""The OMS's version, one source: pyproject.toml, read back from the installed distribution.

Kept out of ``oms/__init__`` so that importing the core (as every workflow does) reads no
package metadata; the API's OpenAPI document and ``oms --version`` say the same.
"""

from importlib.metadata import version

VERSION = version("temporal-oms")
