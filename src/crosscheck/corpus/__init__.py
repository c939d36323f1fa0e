"""Across-sources work: what one article shares with the others (text reuse, claim links, stories)."""
