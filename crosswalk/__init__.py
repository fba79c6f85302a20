"""Crosswalk's domain: plain, typed Python shared by orchestrators, activities, entities and
triggers. Nothing here needs a Functions host, and nothing here imports devhost or sandbox."""
