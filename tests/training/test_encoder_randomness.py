"""Randomness per example: every random choice of encoder training derives from (seed, epoch, index), so a batch
is the same whatever the number of DataLoader workers or ranks, and epochs and seeds change it."""

import pytest
import torch
from accelerate.data_loader import prepare_data_loader, skip_first_batches
from torch.utils.data import DataLoader, SequentialSampler
from transformers import TrainingArguments

from tests.training.test_encoder_training import CLASSES, small_extractor, tiny_model
from transformers_bat.training import (
    ENCODER_LABEL_NAMES,
    EpochIndexSampler,
    ExampleList,
    RenderPlan,
    SpatialASTTrainer,
    SpatialAudioCollator,
    SpatialAudioDataset,
    examples_from_bank,
    multi_source_scenes,
)

LABEL2ID = {name: i for i, name in enumerate(CLASSES)}


@pytest.fixture(scope="module")
def examples(toy_catalogue, toy_bank):
    return examples_from_bank(toy_catalogue, toy_bank, 8, seed=1)


def collator(toy_catalogue, toy_bank, **options):
    return SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), LABEL2ID, **options)


def plan_keys(plans):
    """A collate function that keeps only what the loader handed over: (epoch, index) of each plan."""
    return torch.tensor([[plan.epoch, plan.index] for plan in plans])


class IndexedCollator:
    """Renders a batch and says which items it holds, so renderings can be compared item by item."""

    def __init__(self, collator):
        self.collator = collator

    def __call__(self, plans):
        return [plan.index for plan in plans], self.collator(plans)


def by_index(batches) -> dict[int, dict[str, torch.Tensor]]:
    return {i: {k: v[row] for k, v in batch.items()} for indices, batch in batches for row, i in enumerate(indices)}


def assert_same_items(expected, actual):
    assert set(actual) <= set(expected)
    for index, item in actual.items():
        for name, value in item.items():
            torch.testing.assert_close(value, expected[index][name], atol=1e-6, rtol=1e-6, msg=f"{index} {name}")


def test_plans_depend_on_seed_epoch_and_index_only():
    dataset = SpatialAudioDataset(range(40), seed=3)
    assert dataset[2] == SpatialAudioDataset(range(40), seed=3)[0, 2] and dataset[-1].index == 39
    dataset.set_epoch(4)
    assert dataset[2] == dataset[4, 2] != dataset[0, 2] and (dataset[2].item, dataset[2].epoch) == (2, 4)
    draws = [dataset[epoch, 2].generator(1).random() for epoch in (4, 4, 5)]
    assert draws[0] == draws[1] != draws[2]
    partners = [dataset[epoch, index].partner for epoch in range(4) for index in range(4)]
    assert partners != [SpatialAudioDataset(range(40), seed=4)[e, i].partner for e in range(4) for i in range(4)]
    assert set(partners) - set(range(4))  # drawn from the whole data set, not from the batch of items 0-3
    with pytest.raises(IndexError):
        dataset[40]


def test_renderings_repeat_per_seed_and_epoch_and_change_with_them(toy_catalogue, toy_bank, examples):
    train = collator(toy_catalogue, toy_bank, mixup_probability=0.5)

    def rendered(seed, epoch):
        dataset = SpatialAudioDataset(examples, seed=seed)
        return train([dataset[epoch, index] for index in range(len(dataset))])

    first = rendered(0, 0)
    again = collator(toy_catalogue, toy_bank, mixup_probability=0.5)([*SpatialAudioDataset(examples)])
    for name in first:
        assert torch.equal(first[name], again[name]), name
    assert not torch.equal(first["input_features"], rendered(0, 1)["input_features"])
    assert not torch.equal(first["labels"], rendered(0, 1)["labels"])  # other partners, lambdas
    assert not torch.equal(first["input_features"], rendered(1, 0)["input_features"])
    # plain items are planned as a data set of the batch alone at epoch 0, with the collator's seed
    plain = collator(toy_catalogue, toy_bank, mixup_probability=0.5, seed=2)
    planned = [*SpatialAudioDataset(examples, seed=2)]
    assert torch.equal(plain(examples)["input_features"], plain(planned)["input_features"])
    assert torch.equal(plain(examples)["labels"], plain(examples)["labels"])
    with pytest.raises(ValueError, match="mixes planned items"):
        plain(planned[:2] + examples[2:])
    evaluation = collator(toy_catalogue, toy_bank, train=False)
    assert torch.equal(evaluation(planned)["input_features"], evaluation(examples)["input_features"])


def test_batches_do_not_depend_on_the_number_of_workers(toy_catalogue, toy_bank, examples):
    dataset = SpatialAudioDataset(examples, seed=5)
    dataset.set_epoch(1)
    train = collator(toy_catalogue, toy_bank, mixup_probability=0.5)
    loaded = []
    for workers in (0, 2):
        sampler = EpochIndexSampler(dataset, SequentialSampler(dataset))
        loader = DataLoader(dataset, batch_size=3, sampler=sampler, collate_fn=train, num_workers=workers)
        loaded.append(list(loader))
    assert len(loaded[0]) == len(loaded[1]) == 3
    for single, parallel in zip(*loaded):
        for name in single:
            torch.testing.assert_close(parallel[name], single[name], atol=1e-6, rtol=1e-6, msg=name)


@pytest.mark.parametrize("kind", ["mixup", "scenes"])
def test_ranks_render_each_item_as_one_process_does(toy_catalogue, toy_bank, examples, kind):
    """Two accelerate ranks (every other batch of a shuffled epoch): each item renders as in one process."""
    if kind == "mixup":
        items, options = examples, dict(mixup_probability=1.0)
    else:  # the per-source gains of multi-source scenes
        items, options = multi_source_scenes(examples, toy_bank, (0.0, 1.0), seed=0), dict(mixup_probability=0.0)
    dataset = SpatialAudioDataset(items, seed=7)
    render = IndexedCollator(collator(toy_catalogue, toy_bank, **options))
    dataset.set_epoch(2)
    single = by_index(DataLoader(dataset, batch_size=4, collate_fn=render))
    for rank in (0, 1):
        loader = DataLoader(dataset, batch_size=2, sampler=EpochIndexSampler(dataset, seed=1), collate_fn=render)
        shard = prepare_data_loader(loader, num_processes=2, process_index=rank, put_on_device=False)
        dataset.set_epoch(0)
        shard.set_epoch(2)
        assert_same_items(single, by_index(shard))


def test_accelerate_tells_the_epoch_in_every_set_up(examples):
    """The epoch reaches the keys whether accelerate tells it to the sampler (one process; several) or only to the
    dataset (a run resumed on several processes, whose batch sampler it wraps twice)."""
    dataset = SpatialAudioDataset(examples, seed=0)
    loader = DataLoader(dataset, batch_size=2, sampler=EpochIndexSampler(dataset), collate_fn=plan_keys)
    set_ups = {
        "one process": prepare_data_loader(loader, put_on_device=False),
        "rank 1 of 2": prepare_data_loader(loader, num_processes=2, process_index=1, put_on_device=False),
    }
    set_ups["resumed rank 1 of 2"] = skip_first_batches(set_ups["rank 1 of 2"], 1)
    set_ups["resumed, one process"] = skip_first_batches(set_ups["one process"], 1)
    for name, prepared in set_ups.items():
        for epoch in (3, 1):
            prepared.set_epoch(epoch)
            keys = torch.cat(list(prepared))
            assert len(keys) > 0 and keys[:, 0].tolist() == [epoch] * len(keys), name


def trainer_arguments(tmp_path, **overrides):
    return TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        num_train_epochs=2,
        use_cpu=True,
        report_to="none",
        remove_unused_columns=False,
        label_names=ENCODER_LABEL_NAMES,
        save_strategy="no",
        seed=0,
        **overrides,
    )


def test_persistent_workers_load_each_epochs_plans(tmp_path):
    """With persistent workers (they keep their copy of the dataset), the sampler still hands each worker the
    epoch of every index it loads: the same keys as in the main process."""
    runs = []
    for workers in (0, 2):
        options = dict(dataloader_num_workers=workers, dataloader_persistent_workers=workers > 0)
        trainer = SpatialASTTrainer(
            model=tiny_model(),
            args=trainer_arguments(tmp_path, **options),
            train_dataset=SpatialAudioDataset(range(10)),
            data_collator=plan_keys,
        )
        loader = trainer.get_train_dataloader()
        epochs = []
        for epoch in range(3):
            loader.set_epoch(epoch)
            epochs.append(torch.cat(list(loader)))
        runs.append(epochs)
        for epoch, keys in enumerate(epochs):
            assert keys[:, 0].tolist() == [epoch] * 10 and sorted(keys[:, 1].tolist()) == list(range(10))
        assert epochs[0][:, 1].tolist() != epochs[1][:, 1].tolist()  # a new shuffle each epoch
    assert all(torch.equal(a, b) for a, b in zip(*runs))


class RecordingCollator(SpatialAudioCollator):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[RenderPlan] = []

    def __call__(self, items):
        self.seen.extend(items)
        return super().__call__(items)


def test_trainer_epochs_reach_the_plans(toy_catalogue, toy_bank, examples, tmp_path):
    """A two-epoch Trainer run renders every item once per epoch, with that epoch's plans (other partners)."""
    recording = RecordingCollator(toy_catalogue, toy_bank, small_extractor(), LABEL2ID, mixup_probability=0.5)
    trainer = SpatialASTTrainer(
        model=tiny_model(),
        args=trainer_arguments(tmp_path, dataloader_num_workers=0),
        train_dataset=SpatialAudioDataset(examples, seed=0),
        data_collator=recording,
    )
    trainer.train()
    assert [plan.epoch for plan in recording.seen] == [0] * 8 + [1] * 8
    per_epoch = [{plan.index: plan.partner for plan in recording.seen if plan.epoch == e} for e in (0, 1)]
    assert sorted(per_epoch[0]) == sorted(per_epoch[1]) == list(range(8)) and per_epoch[0] != per_epoch[1]
    plain = SpatialASTTrainer(
        model=tiny_model(), args=trainer.args, train_dataset=ExampleList(examples), data_collator=recording
    )
    with pytest.raises(ValueError, match="SpatialAudioDataset"):
        plain.get_train_dataloader()
