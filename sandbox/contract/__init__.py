"""The contract test: payloads checked against schemas generated from discord-api-types."""

from sandbox.contract.validate import Contract, ContractViolation, default_contract

__all__ = ["Contract", "ContractViolation", "default_contract"]
