"""Errors of the dataset store; each carries a message meant for the person at the terminal."""


class StoreError(Exception):
    """Base class: anything wrong with a dataset on disk."""


class DatasetNotFound(StoreError):
    pass


class DatasetLocked(StoreError):
    pass


class CorruptShard(StoreError):
    pass


class SchemaVersionError(StoreError):
    pass
