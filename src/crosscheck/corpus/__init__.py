"""Across sources: work over many articles at once (stories, claim links, text reuse), always incremental."""
