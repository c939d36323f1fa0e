"""Import every built-in stage module so each registers itself (see pipeline._load_builtin_stages)."""

from . import parse  # noqa: F401
from . import claims  # noqa: F401
