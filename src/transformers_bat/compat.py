"""The places where the transformers releases we support differ, or where no public hook exists, in one module.

Supported: the floor pinned in `constraints/floor.txt` (transformers 5.23) to the newest 5.x; CI runs the suite at
both ends. Each shim names the upstream change it bridges, and `tests/test_compat.py` fails with that name when the
upstream side moves. Nothing else in the package touches a private (`_`-prefixed) transformers name.
"""

from __future__ import annotations

import dataclasses

from transformers.modeling_outputs import CausalLMOutputWithPast

# transformers 5.24 renamed the key/value cache of model inputs and outputs from `past_key_values` to `cache`
# (the old name is deprecated there). This is the name the installed release reads and writes.
CACHE_KEY: str = (
    "cache" if "cache" in {field.name for field in dataclasses.fields(CausalLMOutputWithPast)} else "past_key_values"
)


def pipeline_generate_kwargs(pipeline, generate_kwargs: dict) -> dict:
    """The `generate()` arguments of one pipeline call: the call's own on top of those given when the pipeline was
    built, plus the pipeline's defaults (pad token ...).

    transformers has no public hook for this: its generating pipelines call `Pipeline._prepare_generate_kwargs`
    (5.x), so a custom pipeline that wants the same behaviour calls it too, from here only.
    """
    return pipeline._prepare_generate_kwargs(generate_kwargs)


__all__ = ["CACHE_KEY", "pipeline_generate_kwargs"]
