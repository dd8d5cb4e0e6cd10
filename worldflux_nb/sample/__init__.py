"""Bundled sample inputs: the reference profile and a realistic customer contract."""

from worldflux_nb.sample.reference import reference_contract, reference_profile

__all__ = ["reference_contract", "reference_profile"]
