"""Erasing one person everywhere Crosswalk keeps them (the right to be forgotten).

`keys` turns a person (an e-mail, a D2C user id) into keyed hashes: the tombstone that keeps
them erased and the raw zone's per-batch person index. `lake` rewrites the raw zone's batches,
the Account snapshots and the dead letters without them. The saga that runs the steps is
`orchestrators/person_erasure.py`; its activities are `activities/erasure.py`.
"""
