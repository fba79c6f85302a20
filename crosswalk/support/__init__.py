"""Support staff's view of Crosswalk: roles, lookups by any key, masking, timelines, audit.

Plain Python, testable without a host; `triggers/support*.py` only translates HTTP to it.
"""
