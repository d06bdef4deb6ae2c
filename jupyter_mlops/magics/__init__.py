"""IPython magics: one module per magic, each a thin adapter over the Python API.

`%load_ext jupyter_mlops` imports only these small modules; the API (and its pandas,
SQLAlchemy, plotly) loads when a magic first runs."""

from __future__ import annotations

from typing import Any


def register_all(ip: Any) -> None:
    from .automl import AutoMLMagics
    from .dataset import DatasetMagics
    from .drift import DriftMagics
    from .feature import FeatureMagics
    from .pipeline import PipelineMagics
    from .register import RegisterMagics
    from .track import TrackMagics

    ip.register_magics(TrackMagics)
    ip.register_magics(DatasetMagics)
    ip.register_magics(RegisterMagics)
    ip.register_magics(PipelineMagics)
    ip.register_magics(DriftMagics)
    ip.register_magics(FeatureMagics)
    ip.register_magics(AutoMLMagics)
