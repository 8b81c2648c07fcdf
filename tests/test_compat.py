"""The version shims of `transformers_bat.compat`, and the rule that nothing else overrides private upstream methods.

Each shim test fails with a message naming the upstream change, so a transformers release that moves the internals
shows up here first (CI runs the suite on the newest releases and on the floor pins).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from types import FunctionType

import transformers
from transformers import GenerationMixin, Pipeline
from transformers.modeling_outputs import CausalLMOutputWithPast

import transformers_bat
from transformers_bat.compat import CACHE_KEY, pipeline_generate_kwargs

# Private-looking names that are the documented extension points of their base classes.
DOCUMENTED_HOOKS = {
    "_init_weights",  # PreTrainedModel: how every model initialises its own modules
    "_sanitize_parameters",  # Pipeline: the abstract hook that routes call arguments to the three steps
    "_forward",  # Pipeline: the abstract model step between preprocess and postprocess
}
UPSTREAM_PACKAGES = ("transformers", "datasets", "peft", "accelerate")


def test_cache_key_is_the_name_the_installed_transformers_uses():
    output_fields = {field.name for field in dataclasses.fields(CausalLMOutputWithPast)}
    generate_arguments = set(inspect.signature(GenerationMixin.prepare_inputs_for_generation).parameters)
    assert CACHE_KEY in output_fields and CACHE_KEY in generate_arguments, (
        f"transformers {transformers.__version__} names the key/value cache neither 'cache' (5.24+) nor "
        f"'past_key_values' (before 5.24) in CausalLMOutputWithPast {sorted(output_fields)} and "
        f"prepare_inputs_for_generation {sorted(generate_arguments)}: update transformers_bat.compat.CACHE_KEY."
    )


def test_pipeline_generate_kwargs_shim():
    assert callable(getattr(Pipeline, "_prepare_generate_kwargs", None)), (
        f"transformers {transformers.__version__} has no Pipeline._prepare_generate_kwargs (5.x), which "
        "transformers_bat.compat.pipeline_generate_kwargs calls: merge init-time and call-time generate() "
        "arguments another way there."
    )

    class Probe:
        def _prepare_generate_kwargs(self, generate_kwargs):
            return {"seen": generate_kwargs}

    assert pipeline_generate_kwargs(Probe(), {"num_beams": 2}) == {"seen": {"num_beams": 2}}


def _package_classes():
    for info in pkgutil.walk_packages(transformers_bat.__path__, prefix="transformers_bat."):
        if info.name.endswith(".__main__"):
            continue  # runs the command when imported, and defines no class
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == info.name:
                yield cls


def _upstream(cls) -> bool:
    root = cls.__module__.split(".")[0]
    return root in UPSTREAM_PACKAGES or (root == "torch" and cls.__module__.startswith("torch.utils.data"))


def private_overrides(classes) -> list[str]:
    """'module.Class.method overrides Base' for each private upstream method that a class redefines."""
    offences = []
    for cls in classes:
        upstream_bases = [base for base in cls.__mro__[1:] if _upstream(base)]
        for name, value in vars(cls).items():
            if not name.startswith("_") or name.startswith("__") or name in DOCUMENTED_HOOKS:
                continue
            if not isinstance(value, (FunctionType, classmethod, staticmethod, property)):
                continue  # class flags such as `_supports_sdpa` or `_load_processor` are the documented switches
            owners = [base for base in upstream_bases if name in vars(base)]
            if owners:
                offences.append(f"{cls.__module__}.{cls.__qualname__}.{name} overrides {owners[0].__qualname__}")
    return offences


def test_no_private_upstream_method_is_overridden():
    """Only `compat.py` may lean on private upstream internals; subclasses use public hooks."""
    classes = list(_package_classes())
    assert len(classes) > 20  # the walk found the package
    offences = private_overrides(classes)
    assert not offences, "private upstream methods overridden (use a public hook or a shim in compat.py):\n" + (
        "\n".join(offences)
    )


def test_the_guard_sees_an_override():
    class Offender(transformers.Trainer):
        def _get_train_sampler(self, *args, **kwargs):  # the kind of override the guard exists to refuse
            return None

    class Fine(transformers.Trainer):
        def _own_helper(self):  # not an upstream name
            return None

    expected = f"{__name__}.{Offender.__qualname__}._get_train_sampler overrides Trainer"
    assert private_overrides([Offender]) == [expected]
    assert private_overrides([Fine]) == []
