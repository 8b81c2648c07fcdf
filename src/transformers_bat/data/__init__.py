"""SpatialSoundQA: balanced question-answer generation, parquet datasets, rendering on read, the authors' release.

Typical use::

    from transformers_bat.data import ScenePool, split_scene_pool, GenerationRequest, parse_per_type, write_dataset
    pools = split_scene_pool(ScenePool.from_sources(bank, catalogue), test_fraction=0.2, seed=0)
    write_dataset("ssqa", pools, GenerationRequest({"train": parse_per_type(1000), "test": parse_per_type(100)}))
    ds = load_spatial_sound_qa("ssqa", "stage3", "train", rir_bank=bank, catalogue=catalogue)  # checked
    ds = ds.with_transform(SceneRenderer(bank, catalogue))
"""

from .answers import NearTieError, derive_answer
from .authors_release import AuthorsRelease, export_release_layout, from_authors_records, read_qa_json, write_qa_json
from .combined_catalogue import CombinedCatalogue
from .dataset_folder import DatasetFolderError, ProvenanceError, check_sources, dataset_problems, load_spatial_sound_qa
from .dataset_writer import GenerationReport, GenerationRequest, parse_per_type, write_dataset, write_records_folder
from .materialized_audio import record_waveform
from .qa_generation import QuestionPlan, plan_question_type, plan_rng, plan_to_table
from .question_types import (
    QUESTION_TYPES,
    STAGES,
    QuestionParams,
    QuestionType,
    register,
    registered_types,
    stage_types,
)
from .records import AUTHORS_FIELDS, COLUMNS, authors_view, features, scene_of, upgrade_record
from .rendering import MissingAssetError, SceneRenderer, check_assets
from .scene_pool import ScenePool, split_scene_pool

__all__ = [
    "AUTHORS_FIELDS",
    "COLUMNS",
    "QUESTION_TYPES",
    "STAGES",
    "AuthorsRelease",
    "CombinedCatalogue",
    "DatasetFolderError",
    "GenerationReport",
    "GenerationRequest",
    "MissingAssetError",
    "NearTieError",
    "ProvenanceError",
    "QuestionParams",
    "QuestionPlan",
    "QuestionType",
    "SceneRenderer",
    "ScenePool",
    "check_assets",
    "check_sources",
    "dataset_problems",
    "derive_answer",
    "export_release_layout",
    "authors_view",
    "features",
    "from_authors_records",
    "load_spatial_sound_qa",
    "parse_per_type",
    "plan_question_type",
    "plan_rng",
    "plan_to_table",
    "read_qa_json",
    "record_waveform",
    "register",
    "registered_types",
    "scene_of",
    "split_scene_pool",
    "stage_types",
    "write_dataset",
    "write_qa_json",
    "upgrade_record",
    "write_records_folder",
]
