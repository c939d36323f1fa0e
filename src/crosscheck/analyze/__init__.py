"""Analysis stages over one parsed document (see :mod:`crosscheck.analyze.pipeline`)."""

from .pipeline import Document, Pipeline, build_pipeline, register_stage, registered_stages

__all__ = ["Document", "Pipeline", "build_pipeline", "register_stage", "registered_stages"]
