"""The Django side mirrors the library's vocabulary: each choice list has the library's values, in its order.

A method, data variant, output kind or backend added to `training/` and not here (or the reverse) fails here,
instead of as a run the admin refuses or a row the library cannot read."""

import pytest

from models_app.models import (
    OPTION_LABELS,
    DataVariant,
    GenerationRun,
    OutputKind,
    Teacher,
    TrainingMethod,
)
from training import config, cqa, generation, teacher, teacher_outputs


@pytest.mark.parametrize(
    ("choices", "library"),
    [
        (TrainingMethod.values, config.METHODS),
        (DataVariant.values, tuple(config.DATA_VARIANTS)),
        (OutputKind.values, teacher_outputs.KINDS),
        (Teacher.Backend.values, teacher.BACKENDS),
        (Teacher.Endpoint.values, teacher.ENDPOINTS),
        (GenerationRun.LAUNCHABLE_METHODS, generation.METHODS),
        (OPTION_LABELS, cqa.LABELS),
    ],
    ids=[
        "methods",
        "data variants",
        "output kinds",
        "backends",
        "endpoints",
        "generation methods",
        "options",
    ],
)
def test_every_choice_list_holds_the_library_values_in_its_order(choices, library):
    assert tuple(choices) == tuple(library)


def test_each_data_variant_trains_on_the_output_kind_of_the_same_name():
    assert set(config.DATA_VARIANTS.values()) <= set(OutputKind.values)
