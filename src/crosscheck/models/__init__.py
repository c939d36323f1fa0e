"""Shipped model files (package data) and the code that loads them for inference."""
