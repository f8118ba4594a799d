"""The catalog: typed models of `catalog/*.yaml`, loading, validation and derived numbers.

Data flows one way: YAML files -> `load_catalog` -> `Catalog` (pydantic models) -> generators.
Generators never read YAML themselves.
"""

from .loader import load_catalog
from .models import Catalog, MethodEntry, Paper, Taxonomy
from .problems import Problem

__all__ = ["Catalog", "MethodEntry", "Paper", "Problem", "Taxonomy", "load_catalog"]
