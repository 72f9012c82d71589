"""Ingestion: file -> Document (loaders) -> Chunks (chunker)."""
