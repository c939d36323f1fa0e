"""Across sources: comparing claims and articles from different outlets (stance, claim embeddings)."""
