"""Model families: the plain network (more arrive with later chapters)."""

from .model import Model

__all__ = ["Model"]
