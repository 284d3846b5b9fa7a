"""The Dialpad and MessageBird traffic simulator and the sample it ships (landing/, _expected/).

Regenerate the bundled sample with `python -m ingest.sample.simulate --events 3000 --seed 7`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SAMPLE_SECRET", "write_sample"]


def __getattr__(name: str) -> Any:
    # Imported lazily so that `python -m ingest.sample.simulate` runs the module only once.
    if name in __all__:
        from ingest.sample import simulate

        return getattr(simulate, name)
    raise AttributeError(name)
