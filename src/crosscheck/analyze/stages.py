"""Import every built-in stage module so each registers itself (see pipeline._load_builtin_stages)."""

from . import (  # noqa: F401
    attribution,
    claim_vectors,
    claims,
    dates,
    entities,
    parse,
    quantities,
    techniques,
)
