"""The package version, in a leaf module so that modules inside tunekit can read it without
importing ``tunekit`` itself (its ``__init__`` loads the layers lazily)."""

from __future__ import annotations

__version__ = "0.1.0"
