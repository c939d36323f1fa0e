"""Import every built-in stage module so each registers itself (see pipeline._load_builtin_stages)."""

from . import parse  # noqa: F401
from . import attribution  # noqa: F401
from . import entities  # noqa: F401
from . import quantities  # noqa: F401
from . import dates  # noqa: F401
from . import claims  # noqa: F401
from . import techniques  # noqa: F401
